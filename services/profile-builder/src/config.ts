import { bool, brokerList, redisKeyPrefix, httpUrl, jsonMap, logLevel, parseEnv, positiveInt, redisUrl, topicName, z, type Env, type ParseEnvOptions, KAFKA_SECURITY_VARIABLES, kafkaSecurityIssues, REDIS_TLS_VARIABLES, redisTlsIssues } from '@elephant/config';
import { DEFAULT_MAX_CONTENT, DEFAULT_MAX_IDENTITIES, DEFAULT_MAX_PRODUCTS, normalizePurpose, type ProfileOptions } from '@elephant/profiles';
import { DEFAULT_REDIS_SOCKET_TIMEOUT_MS } from '@elephant/redis';

/** PROCESSING_GUARANTEE's values (the builder's, and the CLI's `run`, which passes it on). */
export const processingGuarantee = z.enum(['exactly_once', 'at_least_once'], { error: 'must be exactly_once or at_least_once' });

/**
 * 256 KiB: 70 times the simulated profiles' 3.7 KB of state, and under the broker's default
 * 1 MB record limit for the snapshot (Avro, smaller than the JSON state) and every update.
 * Without a bound, a profile that grew past that limit (a source sending huge trait values, or
 * ever new preference keys) failed every batch of its partition.
 */
export const DEFAULT_MAX_PROFILE_BYTES = 262144;

/**
 * 1,000,000 bytes: an update or snapshot record's value that still fits the broker's default
 * record limit (max.message.bytes 1,048,588, which counts the record batch's 61 bytes, the key
 * and the headers too) with room to spare.
 */
export const DEFAULT_MAX_RECORD_BYTES = 1000000;

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
  TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'may contain only a-z A-Z 0-9 . _ -').default(''),
  /** Inputs; defaults `<prefix>touchpoints.resolved.v1`, `<prefix>identity.merges.v1`, `<prefix>profiles.erasures.v1`. */
  RESOLVED_TOPIC: topicName.optional(),
  MERGES_TOPIC: topicName.optional(),
  ERASURES_TOPIC: topicName.optional(),
  /** Outputs; defaults `<prefix>profiles.updates.v1`, `<prefix>profiles.snapshots.v1` (compacted). */
  UPDATES_TOPIC: topicName.optional(),
  SNAPSHOTS_TOPIC: topicName.optional(),
  DLQ_TOPIC: topicName.optional(),
  /**
   * Default `<prefix>elephant-profile-builder`: TOPIC_PREFIX starts it, so that environments
   * sharing a cluster (`stg.`, `prod.`) never join one group (before 2026-12-07 they did, and the
   * leader assigned only its own environment's topics: the other's pipeline stopped, still ready).
   */
  CONSUMER_GROUP: z.string().min(1).optional(),
  /** Must match the identity resolver's: profiles live next to the graph of their tenant. */
  REDIS_KEY_PREFIX: redisKeyPrefix.default('elephant:'),
  /**
   * How long the outbox of an input partition outlives its last write. An entry is normally
   * deleted right after its transaction commits; one left by a crash waits for the next batch
   * of its tenant on that partition, which publishes it.
   */
  OUTBOX_TTL_SECONDS: positiveInt.default(604800),
  /**
   * How long the ids of applied touchpoints and merges are remembered, so that one delivered
   * again is not applied twice: at least this long, at most twice (docs/profiles.md). Keep it
   * at or above the retention of the builder's input topics.
   */
  APPLIED_TTL_SECONDS: positiveInt.default(604800),
  /**
   * `at_least_once` (the default): a batch's updates, snapshots and forwarded records are sent
   * (acks=all, idempotent producer) and the offsets committed by the consumer after them; after
   * a crash or a failed send an update can be published again, byte for byte the same (same
   * profile, same version), which subscribers skip by version as they must anyway.
   * `exactly_once`: they and the input offsets commit in one Kafka transaction, and
   * read_committed subscribers see each update once (outside the zombie cases
   * docs/profiles.md names), at about twice the latency and a third of a core more broker CPU
   * at 1,000 events/s on the benchmark machine. Redis state is applied once either way. As
   * Kafka Streams' processing.guarantee.
   */
  PROCESSING_GUARANTEE: processingGuarantee.default('at_least_once'),
  /**
   * The broker aborts a transaction left open this long. It bounds how long a builder that died
   * mid-transaction holds back read_committed readers of its output and forwarded records.
   */
  TRANSACTION_TIMEOUT_MS: positiveInt.default(15000),
  /** Prefix of this process's transactional id (a random suffix makes it unique per process). */
  TRANSACTIONAL_ID_PREFIX: z.string().min(1).default('elephant-profile-builder'),
  /**
   * Partitions processed at once. Batches of one partition number (of the three co-partitioned
   * inputs) still run one after another; batches that finish together share one transaction.
   */
  PARTITIONS_CONCURRENTLY: positiveInt.default(8),
  /**
   * Shortest time between the starts of two transactions, in ms: the batches that finish
   * meanwhile share the next one. Each transaction costs the broker about seven requests
   * whatever it holds; longer means fewer of them, and up to this much more latency.
   */
  TRANSACTION_INTERVAL_MS: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0 or more').default(0),
  /** Decoded profile states kept in memory (by version; a stale entry is never used). */
  STATE_CACHE_PROFILES: positiveInt.default(20000),
  /**
   * Characters of stored JSON the decoded states kept in memory may hold together (about 1.4
   * times that on the heap): 128 Mi by default, so that a cache full of large profiles stays well
   * inside the builder's memory (20,000 simulated profiles take about 74 MB of JSON).
   */
  STATE_CACHE_MAX_BYTES: positiveInt.default(134217728),
  /**
   * The largest profile state (bytes of its stored JSON) a touchpoint may leave, and the
   * largest update (bytes of its Avro record) it may publish; a touchpoint that would go beyond
   * either is dead-lettered (PROFILE_TOO_LARGE) and the profile stays as it was.
   */
  MAX_PROFILE_BYTES: positiveInt.default(DEFAULT_MAX_PROFILE_BYTES),
  /**
   * The largest update or snapshot (bytes of its Avro record) the builder publishes: at most the
   * updates and snapshots topics' max.message.bytes. A merge would otherwise be the one way
   * over it (MAX_PROFILE_BYTES bounds touchpoints, not the union of several profiles): a merge
   * that would publish a larger record is dead-lettered (MERGE_TOO_LARGE) and its profiles stay
   * apart, instead of failing its partition on every retry.
   */
  MAX_RECORD_BYTES: positiveInt.default(DEFAULT_MAX_RECORD_BYTES),
  /**
   * Consent purposes under another name, as a JSON object: `{"marketing_email":"email_marketing"}`
   * keeps what sources call "Marketing Email" or "marketing-email" under `email_marketing`.
   * Both sides are normalized first (docs/profiles.md, "Consent, per purpose"); a chain is
   * followed to its last name, a circle refused. A purpose a profile holds under a renamed name
   * moves to the new one the next time the profile changes.
   */
  CONSENT_PURPOSE_ALIASES: jsonMap(z.string({ error: 'each purpose must be a string' }), '{"marketing_email":"email_marketing"}').optional(),
  /** Identities a profile keeps (the most recently seen). */
  PROFILE_MAX_IDENTITIES: positiveInt.default(DEFAULT_MAX_IDENTITIES),
  /** Products a profile keeps in computed.products (the most recently bought). */
  PROFILE_MAX_PRODUCTS: positiveInt.default(DEFAULT_MAX_PRODUCTS),
  /** Content entries a profile keeps in computed.content (the most recently consumed). */
  PROFILE_MAX_CONTENT: positiveInt.default(DEFAULT_MAX_CONTENT),
  CREATE_TOPICS: bool.default(true),
  PARTITIONS: positiveInt.default(8),
  /** Port of /healthz, /readyz and /metrics; 0 picks a free one. */
  HEALTH_PORT: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0-65535').max(65535, 'must be 0-65535').default(8080),
  LOG_LEVEL: logLevel.default('info'),
}).superRefine((config, context) => {
  for (const issue of [...kafkaSecurityIssues(config), ...redisTlsIssues(config)]) context.addIssue({ code: 'custom', ...issue });
  if (config.MAX_PROFILE_BYTES > config.MAX_RECORD_BYTES) {
    context.addIssue({ code: 'custom', path: ['MAX_PROFILE_BYTES'], message: `must be at most MAX_RECORD_BYTES (${config.MAX_RECORD_BYTES}): a profile at the limit publishes a snapshot about its size` });
  }
  for (const [from, to] of Object.entries(config.CONSENT_PURPOSE_ALIASES ?? {})) {
    for (const purpose of [from, to]) {
      if (normalizePurpose(purpose) === null) context.addIssue({ code: 'custom', path: ['CONSENT_PURPOSE_ALIASES'], message: `${JSON.stringify(purpose)} is no purpose: nothing is left of it after normalization` });
    }
  }
  const { cycle } = purposeAliasesOf(config.CONSENT_PURPOSE_ALIASES ?? {});
  if (cycle !== undefined) context.addIssue({ code: 'custom', path: ['CONSENT_PURPOSE_ALIASES'], message: `renames in a circle: ${cycle.join(' → ')}` });
});

/**
 * The aliases with both names normalized as purposes are, each followed to its last name
 * (`{"a":"b","b":"c"}`: a and b both become c), and the first circle found, if any.
 */
function purposeAliasesOf(raw: Readonly<Record<string, string>>): { readonly aliases: Record<string, string>; readonly cycle?: string[] } {
  const direct = new Map<string, string>();
  for (const [from, to] of Object.entries(raw)) {
    const name = normalizePurpose(from);
    const target = normalizePurpose(to);
    if (name !== null && target !== null && name !== target) direct.set(name, target);
  }
  const aliases: Record<string, string> = {};
  for (const name of direct.keys()) {
    const path = [name];
    let target = direct.get(name) as string;
    while (direct.has(target)) {
      if (path.includes(target)) return { aliases, cycle: [...path, target] };
      path.push(target);
      target = direct.get(target) as string;
    }
    aliases[name] = target;
  }
  return { aliases };
}

export type BuilderConfig = Omit<z.infer<typeof schema>, 'CONSUMER_GROUP'> & {
  /** CONSUMER_GROUP, else `<TOPIC_PREFIX>elephant-profile-builder`. */
  CONSUMER_GROUP: string;
};

export interface BuilderTopics {
  readonly resolved: string;
  readonly merges: string;
  readonly erasures: string;
  readonly updates: string;
  readonly snapshots: string;
  readonly deadLetters: string;
}

export function loadConfig(env: Env = process.env, options: ParseEnvOptions = {}): BuilderConfig {
  const parsed = parseEnv('profile-builder', schema, env, options);
  return { ...parsed, CONSUMER_GROUP: parsed.CONSUMER_GROUP ?? `${parsed.TOPIC_PREFIX}elephant-profile-builder` };
}

/**
 * How the builder builds profiles: the bounds of its lists and the consent purpose aliases,
 * their names normalized as the purposes they match are, each to its last name.
 */
export function profileOptionsOf(config: BuilderConfig): ProfileOptions {
  return { maxIdentities: config.PROFILE_MAX_IDENTITIES, maxProducts: config.PROFILE_MAX_PRODUCTS, maxContent: config.PROFILE_MAX_CONTENT, purposeAliases: purposeAliasesOf(config.CONSENT_PURPOSE_ALIASES ?? {}).aliases };
}

export function topicsOf(config: BuilderConfig): BuilderTopics {
  const prefix = config.TOPIC_PREFIX;
  return {
    resolved: config.RESOLVED_TOPIC ?? `${prefix}touchpoints.resolved.v1`,
    merges: config.MERGES_TOPIC ?? `${prefix}identity.merges.v1`,
    erasures: config.ERASURES_TOPIC ?? `${prefix}profiles.erasures.v1`,
    updates: config.UPDATES_TOPIC ?? `${prefix}profiles.updates.v1`,
    snapshots: config.SNAPSHOTS_TOPIC ?? `${prefix}profiles.snapshots.v1`,
    deadLetters: config.DLQ_TOPIC ?? `${prefix}dlq.profile-builder.v1`,
  };
}
