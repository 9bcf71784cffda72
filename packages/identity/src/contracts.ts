/**
 * The identity resolver's output contracts, shared with their consumers (the profile builder,
 * subscribers): merges (schemas/identity-merge.avsc) and resolved touchpoints, whose schema is
 * composed from schemas/touchpoint.avsc so the embedded Touchpoint never differs from the
 * normalizers' contract.
 */
import { touchpointSchema, type Touchpoint } from '@elephant/channels';

export { identityMergeSchema, type IdentityMerge, type LinkingIdentifier } from './generated/identity-merge.ts';

export const resolvedTouchpointSchema = {
  type: 'record',
  name: 'ResolvedTouchpoint',
  namespace: 'dev.elephant.identity',
  doc: 'A touchpoint with the profile it belongs to. Published on touchpoints.resolved.v1, keyed by profileId.',
  fields: [
    { name: 'profileId', type: 'string', doc: 'The live profile at resolution time; a later merge is announced on identity.merges.v1.' },
    { name: 'touchpoint', type: touchpointSchema },
    {
      name: 'excludedIdentifiers',
      doc: 'Identifiers of the touchpoint that did not take part in resolution, and why (blocked_value:<rule>, blocked_pattern:<rule>, too_many_identifiers:<rule>, limit:<types>, quarantined, owned_elsewhere).',
      type: { type: 'array', items: { type: 'record', name: 'ExcludedIdentifier', fields: [{ name: 'type', type: 'string' }, { name: 'value', type: 'string' }, { name: 'reason', type: 'string' }] } },
      default: [],
    },
    { name: 'resolvedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
} as const;

export interface ExcludedIdentifier {
  type: string;
  value: string;
  reason: string;
}

export interface ResolvedTouchpoint {
  profileId: string;
  touchpoint: Touchpoint;
  excludedIdentifiers: ExcludedIdentifier[];
  resolvedAt: number;
}
