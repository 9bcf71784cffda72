import { touchpointSchema, type Touchpoint } from '@elephant/channels';
import type { AvroSchema } from '@elephant/registry';
import { identityAlertSchema } from './generated/identity-alert.ts';
import { identityMergeSchema } from './generated/identity-merge.ts';

export { identityAlertSchema, identityMergeSchema };
export type { IdentityAlert } from './generated/identity-alert.ts';
export type { IdentityMerge } from './generated/identity-merge.ts';

/**
 * touchpoints.resolved.v1: the touchpoint as the normalizer wrote it, plus the profile it
 * resolved to and what resolution left out. Composed from schemas/touchpoint.avsc here, so
 * the embedded Touchpoint can never differ from the normalizers' contract.
 */
export const resolvedTouchpointSchema = {
  type: 'record',
  name: 'ResolvedTouchpoint',
  namespace: 'dev.elephant.identity',
  doc: 'A touchpoint with the profile it belongs to. Keyed by profileId.',
  fields: [
    { name: 'profileId', type: 'string', doc: 'The live profile at resolution time; a later merge is announced on identity.merges.v1.' },
    { name: 'touchpoint', type: touchpointSchema },
    {
      name: 'excludedIdentifiers',
      doc: 'Identifiers of the touchpoint that did not take part in resolution, and why (blocked:<rule>, limit:<type>, quarantined).',
      type: { type: 'array', items: { type: 'record', name: 'ExcludedIdentifier', fields: [{ name: 'type', type: 'string' }, { name: 'value', type: 'string' }, { name: 'reason', type: 'string' }] } },
      default: [],
    },
    { name: 'resolvedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
} as unknown as AvroSchema;

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
