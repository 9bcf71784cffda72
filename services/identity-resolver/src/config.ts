import { bool, brokerList, redisKeyPrefix, httpUrl, logLevel, parseEnv, positiveInt, redisUrl, topicName, z, type Env, type ParseEnvOptions, KAFKA_SECURITY_VARIABLES, kafkaSecurityIssues, REDIS_TLS_VARIABLES, redisTlsIssues } from '@elephant/config';
import { DEFAULT_REDIS_SOCKET_TIMEOUT_MS } from '@elephant/redis';

const schema = z.object({
  KAFKA_BROKERS: brokerList,
  /** TLS and SASL of the Kafka connection (docs/operations.md, "A secured Kafka cluster"). */
  ...KAFKA_SECURITY_VARIABLES,
  SCHEMA_REGISTRY_URL: httpUrl,
  REDIS_URL: redisUrl,
  /** A private CA for a rediss:// REDIS_URL (docs/operations.md, "A secured Kafka cluster"). */
  REDIS_TLS_CA_FILE: REDIS_TLS_VARIABLES.REDIS_TLS_CA_FILE,
  /** How long a Redis connection with replies due may stay silent before it is made again (a peer gone without a reset). */
  REDIS_SOCKET_TIMEOUT_MS: positiveInt.default(DEFAULT_REDIS_SOCKET_TIMEOUT_MS),
  /** Prefix of every topic name, per environment, e.g. `prod.` */
  TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'may contain only a-z A-Z 0-9 . _ -').default(''),
  /** Input; default `<prefix>touchpoints.v1`. */
  TOUCHPOINTS_TOPIC: topicName.optional(),
  /** Default `<prefix>touchpoints.resolved.v1`. */
  RESOLVED_TOPIC: topicName.optional(),
  /** Default `<prefix>identity.merges.v1`. */
  MERGES_TOPIC: topicName.optional(),
  /** Default `<prefix>identity.alerts.v1`. */
  ALERTS_TOPIC: topicName.optional(),
  /** Default `<prefix>dlq.identity-resolver.v1`. */
  DLQ_TOPIC: topicName.optional(),
  /**
   * Default `<prefix>elephant-identity-resolver`: TOPIC_PREFIX starts it, so that environments
   * sharing a cluster (`stg.`, `prod.`) never join one group (before 2026-12-07 they did, and the
   * leader assigned only its own environment's topics: the other's pipeline stopped, still ready).
   */
  CONSUMER_GROUP: z.string().min(1).optional(),
  /** Kafka client id; one per pod (e.g. the pod name) tells group members apart in the broker's tools. */
  KAFKA_CLIENT_ID: z.string().min(1).default('elephant-identity-resolver'),
  /** The identity rules document (JSON, see docs/identity.md); default: the built-in defaults. */
  IDENTITY_RULES_FILE: z.string().min(1).optional(),
  /** Prefix of every Redis key; each tenant's graph adds the hash tag `{<tenant>}`. */
  REDIS_KEY_PREFIX: redisKeyPrefix.default('elephant:'),
  /** How long an event's resolution is remembered for redelivery. */
  EVENT_TTL_SECONDS: positiveInt.default(7 * 24 * 3600),
  CREATE_TOPICS: bool.default(true),
  PARTITIONS: positiveInt.default(8),
  /** Handler calls in flight at once, each with what waited in one or more partitions. */
  PARTITIONS_CONCURRENTLY: positiveInt.default(8),
  /**
   * Offsets are committed at most this often (and at once on stop and rebalance). Longer means
   * fewer commit requests and more redelivered (idempotently skipped) events after a crash.
   */
  COMMIT_INTERVAL_MS: positiveInt.default(100),
  /** Port of /healthz, /readyz and /metrics; 0 picks a free one. */
  HEALTH_PORT: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0-65535').max(65535, 'must be 0-65535').default(8080),
  LOG_LEVEL: logLevel.default('info'),
}).superRefine((config, context) => {
  for (const issue of [...kafkaSecurityIssues(config), ...redisTlsIssues(config)]) context.addIssue({ code: 'custom', ...issue });
});

export type ResolverConfig = Omit<z.infer<typeof schema>, 'CONSUMER_GROUP'> & {
  /** CONSUMER_GROUP, else `<TOPIC_PREFIX>elephant-identity-resolver`. */
  CONSUMER_GROUP: string;
};

export interface ResolverTopics {
  readonly touchpoints: string;
  readonly resolved: string;
  readonly merges: string;
  readonly alerts: string;
  readonly deadLetters: string;
}

export function loadConfig(env: Env = process.env, options: ParseEnvOptions = {}): ResolverConfig {
  const parsed = parseEnv('identity-resolver', schema, env, options);
  return { ...parsed, CONSUMER_GROUP: parsed.CONSUMER_GROUP ?? `${parsed.TOPIC_PREFIX}elephant-identity-resolver` };
}

export function topicsOf(config: ResolverConfig): ResolverTopics {
  const prefix = config.TOPIC_PREFIX;
  return {
    touchpoints: config.TOUCHPOINTS_TOPIC ?? `${prefix}touchpoints.v1`,
    resolved: config.RESOLVED_TOPIC ?? `${prefix}touchpoints.resolved.v1`,
    merges: config.MERGES_TOPIC ?? `${prefix}identity.merges.v1`,
    alerts: config.ALERTS_TOPIC ?? `${prefix}identity.alerts.v1`,
    deadLetters: config.DLQ_TOPIC ?? `${prefix}dlq.identity-resolver.v1`,
  };
}
