import { identityMergeSchema, resolvedTouchpointSchema } from '@elephant/identity';
import { touchpointSchema, type Touchpoint } from '@elephant/channels';
import { projection, type AvroSchema, type AvroType } from '@elephant/registry';
import { identityAlertSchema } from './generated/identity-alert.ts';

export { identityAlertSchema, identityMergeSchema };
export type { IdentityAlert } from './generated/identity-alert.ts';
export type { ExcludedIdentifier, IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';

/** touchpoints.resolved.v1 (the contract lives in @elephant/identity). */
export const resolvedTouchpointAvroSchema = resolvedTouchpointSchema as unknown as AvroSchema;

/** What resolution reads of a touchpoint; the rest is carried through as bytes. */
export type TouchpointKeys = Pick<Touchpoint, 'eventId' | 'tenant' | 'channel' | 'eventTime' | 'ingestTime' | 'identifiers'> & { readonly source: Pick<Touchpoint['source'], 'system'> };

/** Reader of TouchpointKeys: decoding with it skips every other field of the touchpoint. */
export const touchpointKeysType: AvroType = projection(touchpointSchema, ['eventId', 'tenant', 'channel', 'source.system', 'eventTime', 'ingestTime', 'identifiers']);
