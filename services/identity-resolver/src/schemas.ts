import { identityMergeSchema, resolvedTouchpointSchema } from '@elephant/identity';
import type { AvroSchema } from '@elephant/registry';
import { identityAlertSchema } from './generated/identity-alert.ts';

export { identityAlertSchema, identityMergeSchema };
export type { IdentityAlert } from './generated/identity-alert.ts';
export type { ExcludedIdentifier, IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';

/** touchpoints.resolved.v1 (the contract lives in @elephant/identity). */
export const resolvedTouchpointAvroSchema = resolvedTouchpointSchema as unknown as AvroSchema;
