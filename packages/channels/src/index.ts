/**
 * @elephant/channels — raw channel messages → Touchpoints (schemas/touchpoint.avsc), and
 * identifier normalization. Pure: no I/O, deterministic for the same input and context.
 */
export { adaptMessage, ADAPTERS } from './adapt.ts';
export { adaptWeb } from './adapters/web.ts';
export { adaptEmail, SENDGRID_EVENTS } from './adapters/email.ts';
export { adaptAds } from './adapters/ads.ts';
export { adaptPos } from './adapters/pos.ts';
export { adaptSupport } from './adapters/support.ts';
export { adaptCrm } from './adapters/crm.ts';
export { adaptLoyalty } from './adapters/loyalty.ts';
export { adaptContent } from './adapters/content.ts';
export { boundedByIngest, statesFutureTime, withTimesBoundedByIngest } from './clock.ts';
export { checkAdapterContext, DEFAULT_MAX_MESSAGE_BYTES, type Adapter, type AdapterContext, type AdapterResult, type RejectedEvent } from './context.ts';
export { ChannelError, CHANNEL_ERROR_CODES, type ChannelErrorCode } from './errors.ts';
export { conversionScope, deriveEventId, EVENT_ID_NAMESPACE, touchpointEventId } from './event-id.ts';
export {
  DROP_REASONS,
  IdentifierCollector,
  isIdentifierType,
  isSupportedRegion,
  DROP_PROBLEMS,
  MAX_IDENTIFIER_LENGTH,
  MAX_REPORTED_DROPS,
  normalizeEmail,
  normalizeIdentifier,
  normalizePhone,
  type DropReason,
  type DroppedIdentifier,
  type NormalizeOptions,
  type NormalizeResult,
  type OmittedDrops,
} from './identifiers.ts';
export { parseJsonKeepingNumbers, setOwn, PROPERTY_LIMITS } from './fields.ts';
export { MAX_EVENTS_PER_MESSAGE, MAX_REPORTED_REJECTIONS } from './build.ts';
export { touchpointKey, TOUCHPOINTS_TOPIC_MAX_BYTES } from './key.ts';
export { currencyExponent, MAX_AMOUNT_MINOR } from './values.ts';
export { CHANNEL_DEFAULT_TRUST, DEFAULT_SOURCE_SYSTEMS, DEFAULT_SOURCE_TRUST, sourceTrust } from './trust.ts';
export {
  CHANNELS,
  CUSTOM_IDENTIFIER_TYPE,
  defaultJourneyStage,
  EVENT_TYPE_STAGES,
  EVENT_TYPES,
  IDENTIFIER_TYPES,
  isChannel,
  isEventType,
  JOURNEY_STAGES,
  type BuiltInIdentifierType,
  type Channel,
  type EventType,
  type JourneyStage,
} from './vocabulary.ts';
export { touchpointSchema, type AvroRecordSchemaJson } from './generated/touchpoint.ts';
export type { Address, Campaign, Commerce, Consent, Content, Email, Identifier, LineItem, Loyalty, Source, Store, Support, Touchpoint, Traits } from './generated/touchpoint.ts';
