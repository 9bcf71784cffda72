import { CHANNELS, checkAdapterContext, type AdapterContext, type Channel } from '@elephant/channels';
import { ConfigError, bool, tenantName, type ConfigIssue, brokerList, httpUrl, jsonMap, logLevel, nearMissWarnings, notSetProblem, parseEnv, positiveInt, topicName, z, type Env, type ParseEnvOptions, KAFKA_SECURITY_VARIABLES, kafkaSecurityIssues } from '@elephant/config';

/** The entries of a comma-separated list, trimmed, empty ones left out. */
function channelList(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
}

/** Touchpoints larger than this are dead-lettered: below the broker's message.max.bytes (1048588) and the producer's request size. */
export const DEFAULT_TOUCHPOINT_MAX_BYTES = 900 * 1024;

const schema = z.object({
  KAFKA_BROKERS: brokerList,
  /** TLS and SASL of the Kafka connection (docs/operations.md, "A secured Kafka cluster"). */
  ...KAFKA_SECURITY_VARIABLES,
  SCHEMA_REGISTRY_URL: httpUrl,
  /**
   * The channels this process normalizes, comma-separated: one per Deployment, or several
   * (all eight in `elephant run`) read by one consumer and written by one producer.
   */
  NORMALIZER_CHANNELS: z
    .string()
    .transform(channelList)
    .pipe(z.array(z.enum(CHANNELS, { error: `each channel must be one of ${CHANNELS.join(', ')}` })).min(1, 'must list at least one channel'))
    .optional(),
  /** One channel: the same as NORMALIZER_CHANNELS with one entry. Set one of the two. */
  NORMALIZER_CHANNEL: z.enum(CHANNELS, { error: `must be one of ${CHANNELS.join(', ')}` }).optional(),
  /** Prefix of every topic name, per environment or tenant, e.g. `prod.` */
  TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'may contain only a-z A-Z 0-9 . _ -').default(''),
  /** Source topic of a single channel; default `<prefix>raw.<channel>`. */
  NORMALIZER_SOURCE_TOPIC: topicName.optional(),
  /** Default `<prefix>touchpoints.v1`. */
  TOUCHPOINTS_TOPIC: topicName.optional(),
  /** Default `<prefix>dlq.normalizer.v1`. */
  DLQ_TOPIC: topicName.optional(),
  /**
   * Default `<prefix>elephant-normalizer-<channel>`, with several channels
   * `<prefix>elephant-normalizer-<channel>.<channel>...` (in the order of CHANNELS): TOPIC_PREFIX
   * starts it, so that environments sharing a cluster (`stg.`, `prod.`) never join one group
   * (before 2026-12-07 they did, and the leader assigned only its own environment's topics).
   */
  CONSUMER_GROUP: z.string().min(1).optional(),
  TENANT: tenantName.default('default'),
  /**
   * Name of the source system, part of every eventId: set it once per deployment and never
   * change it (default per channel: segment, sendgrid, the ad platform, else the channel).
   * Only with a single channel.
   */
  NORMALIZER_SOURCE_SYSTEM: z.string().min(1).optional(),
  /** ISO 3166-1 alpha-2 region for phone numbers without country code. */
  DEFAULT_REGION: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code like US or DE').optional(),
  /** ISO 4217 currency for amounts without one. */
  DEFAULT_CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD').optional(),
  /** Fold Gmail dots and +tags in e-mail identifiers. */
  FOLD_GMAIL_ADDRESSES: bool.default(false),
  /** Raw messages larger than this are dead-lettered as MESSAGE_TOO_LARGE. */
  MAX_MESSAGE_BYTES: positiveInt.default(1048576),
  /**
   * An encoded touchpoint (key, value, headers) larger than this dead-letters its raw
   * message as TOUCHPOINT_TOO_LARGE instead of being refused by the broker on every retry.
   * Keep it below the touchpoints topic's max.message.bytes.
   */
  TOUCHPOINT_MAX_BYTES: positiveInt.default(DEFAULT_TOUCHPOINT_MAX_BYTES),
  /** Trust (integer 0-100) per source system, overriding the defaults, e.g. `{"crm":55}`. */
  NORMALIZER_TRUST: jsonMap(z.number({ error: 'each trust must be a number' }), '{"crm":55}').optional(),
  /** Identifier type of a Segment alias call's previousId. */
  SEGMENT_PREVIOUS_ID_TYPE: z.enum(['anonymous_id', 'user_id'], { error: 'must be anonymous_id or user_id' }).optional(),
  /** SendGrid custom args carrying identifiers: arg name → identifier type, e.g. `{"uid":"user_id"}`. */
  SENDGRID_IDENTIFIER_ARGS: jsonMap(z.string({ error: 'each identifier type must be a string' }), '{"uid":"user_id"}').optional(),
  /** Create missing topics at start-up (source, touchpoints, dead letters). */
  CREATE_TOPICS: bool.default(true),
  /**
   * Partitions of the topics it creates (its raw topics and touchpoints.v1), the variable
   * every service reads for the topics it creates. Named TOUCHPOINTS_PARTITIONS before
   * 2026-12-07: that name is refused (see renamedIssues), not ignored.
   */
  PARTITIONS: positiveInt.default(8),
  /** Handler calls in flight at once, each with what waited in one or more partitions. */
  PARTITIONS_CONCURRENTLY: positiveInt.default(8),
  /** Port of /healthz, /readyz and /metrics; 0 picks a free one. */
  HEALTH_PORT: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0-65535').max(65535, 'must be 0-65535').default(8080),
  LOG_LEVEL: logLevel.default('info'),
}).superRefine((config, context) => {
  for (const issue of kafkaSecurityIssues(config)) context.addIssue({ code: 'custom', ...issue });
});

export type NormalizerConfig = z.infer<typeof schema> & {
  /** NORMALIZER_CHANNELS or NORMALIZER_CHANNEL, without repeats, in the order of CHANNELS. */
  readonly channels: readonly Channel[];
};

export interface NormalizerTopics {
  /** One raw topic per channel. */
  readonly sources: readonly { readonly channel: Channel; readonly topic: string }[];
  readonly touchpoints: string;
  readonly deadLetters: string;
  readonly group: string;
}

/** The adapter context of this deployment (the ingest time is set per message). */
export function adapterContextOf(config: NormalizerConfig): Omit<AdapterContext, 'ingestTime'> {
  return {
    tenant: config.TENANT,
    defaultRegion: config.DEFAULT_REGION,
    defaultCurrency: config.DEFAULT_CURRENCY,
    foldGmailAddresses: config.FOLD_GMAIL_ADDRESSES,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    sourceSystem: config.NORMALIZER_SOURCE_SYSTEM,
    trust: config.NORMALIZER_TRUST,
    segmentPreviousIdType: config.SEGMENT_PREVIOUS_ID_TYPE,
    sendgridIdentifierArgs: config.SENDGRID_IDENTIFIER_ARGS,
  };
}

const CONTEXT_VARIABLES: Readonly<Record<string, string>> = {
  tenant: 'TENANT',
  defaultRegion: 'DEFAULT_REGION',
  defaultCurrency: 'DEFAULT_CURRENCY',
  sourceSystem: 'NORMALIZER_SOURCE_SYSTEM',
  maxMessageBytes: 'MAX_MESSAGE_BYTES',
  trust: 'NORMALIZER_TRUST',
  sendgridIdentifierArgs: 'SENDGRID_IDENTIFIER_ARGS',
};

const isSet = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';

/** Problems of the channel variables that no single variable's schema can see. */
function channelIssues(env: Env): ConfigIssue[] {
  if (isSet(env['NORMALIZER_CHANNELS']) && isSet(env['NORMALIZER_CHANNEL'])) return [{ variable: 'NORMALIZER_CHANNELS', problem: 'set either NORMALIZER_CHANNELS or NORMALIZER_CHANNEL, not both' }];
  if (!isSet(env['NORMALIZER_CHANNELS']) && !isSet(env['NORMALIZER_CHANNEL'])) {
    // Required here, not by the schema (either name will do): a near miss named as parseEnv names it.
    const nearMisses = nearMissWarnings('normalizer', Object.keys(schema.shape), env);
    return [{ variable: 'NORMALIZER_CHANNELS', problem: notSetProblem(['NORMALIZER_CHANNELS', 'NORMALIZER_CHANNEL'], nearMisses, ` (comma-separated, of ${CHANNELS.join(', ')})`) }];
  }
  const several = new Set(channelList(env['NORMALIZER_CHANNELS'] ?? '')).size > 1;
  return several ? ['NORMALIZER_SOURCE_TOPIC', 'NORMALIZER_SOURCE_SYSTEM'].filter((variable) => isSet(env[variable])).map((variable) => ({ variable, problem: 'applies to a single channel: set it only with one channel in NORMALIZER_CHANNELS' })) : [];
}

/**
 * Variables renamed: one still set would be ignored silently (a ConfigMap setting PARTITIONS
 * for every service, a normalizer still reading TOUCHPOINTS_PARTITIONS, created touchpoints.v1
 * with another partition count than the resolver wanted), so it stops start-up instead.
 */
const RENAMED: Readonly<Record<string, string>> = { TOUCHPOINTS_PARTITIONS: 'PARTITIONS' };

function renamedIssues(env: Env): ConfigIssue[] {
  return Object.entries(RENAMED)
    .filter(([old]) => isSet(env[old]))
    .map(([old, now]) => ({ variable: old, problem: `was renamed ${now} (the variable every service reads): set ${now}${isSet(env[now]) ? '' : ` to ${env[old]}`} and remove ${old}` }));
}

/** Parses the environment and checks the adapter context it implies (e.g. a region libphonenumber does not know). */
export function loadConfig(env: Env = process.env, options: ParseEnvOptions = {}): NormalizerConfig {
  const issues = [...channelIssues(env), ...renamedIssues(env)];
  let parsed: z.infer<typeof schema>;
  try {
    parsed = parseEnv('normalizer', schema, env, options);
  } catch (error) {
    if (error instanceof ConfigError && issues.length > 0) throw new ConfigError('normalizer', [...error.issues, ...issues]);
    throw error;
  }
  if (issues.length > 0) throw new ConfigError('normalizer', issues);
  const wanted = new Set<Channel>(parsed.NORMALIZER_CHANNELS ?? (parsed.NORMALIZER_CHANNEL ? [parsed.NORMALIZER_CHANNEL] : []));
  const config: NormalizerConfig = { ...parsed, channels: CHANNELS.filter((channel) => wanted.has(channel)) };
  const problems = checkAdapterContext({ ...adapterContextOf(config), ingestTime: 0 });
  if (problems.length > 0) {
    throw new ConfigError(
      'normalizer',
      problems.map((problem) => {
        // `trust.crm: ...` belongs to the variable of `trust`.
        const field = problem.split(':')[0] ?? '';
        const root = field.split('.')[0] ?? field;
        return { variable: CONTEXT_VARIABLES[root] ?? field, problem: root === field ? problem.slice(field.length + 1).trim() : problem };
      }),
    );
  }
  return config;
}

/** A normalizer's default consumer group: `<prefix>elephant-normalizer-<channel>.<channel>...`, the channels in the order given. */
export function normalizerGroupOf(prefix: string, channels: readonly Channel[]): string {
  return `${prefix}elephant-normalizer-${channels.join('.')}`;
}

export function topicsOf(config: NormalizerConfig): NormalizerTopics {
  const prefix = config.TOPIC_PREFIX;
  const single = config.channels.length === 1 ? config.NORMALIZER_SOURCE_TOPIC : undefined;
  return {
    sources: config.channels.map((channel) => ({ channel, topic: single ?? `${prefix}raw.${channel}` })),
    touchpoints: config.TOUCHPOINTS_TOPIC ?? `${prefix}touchpoints.v1`,
    deadLetters: config.DLQ_TOPIC ?? `${prefix}dlq.normalizer.v1`,
    group: config.CONSUMER_GROUP ?? normalizerGroupOf(prefix, config.channels),
  };
}
