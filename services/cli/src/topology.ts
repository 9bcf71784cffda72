import { connectionSecurityEnv } from '@elephant/config';
import { CHANNELS, type Channel } from '@elephant/channels';
import { normalizerGroupOf, topicsOf as normalizerTopicsOf, loadConfig as loadNormalizerConfig, type NormalizerConfig } from '@elephant/normalizer';
import { topicsOf as resolverTopicsOf, loadConfig as loadResolverConfig, type ResolverConfig } from '@elephant/identity-resolver';
import { topicsOf as builderTopicsOf, loadConfig as loadBuilderConfig, type BuilderConfig } from '@elephant/profile-builder';
import type { CliConfig } from './config.ts';

/**
 * The services' own settings that `run` passes from its environment to every embedded service
 * unchanged: each service reads those of its schema and ignores the others, and each means the
 * same in every service that has it. Not passed: what the CLI sets for all of them (endpoints,
 * TOPIC_PREFIX, PARTITIONS, LOG_LEVEL, TENANT, ...) and what would clash when three services
 * share one environment (topic names, CONSUMER_GROUP, KAFKA_CLIENT_ID, HEALTH_PORT, a single
 * channel's NORMALIZER_* source settings).
 */
export const PASSED_SETTINGS = [
  // more than one service
  'PARTITIONS_CONCURRENTLY',
  'CREATE_TOPICS',
  'REDIS_SOCKET_TIMEOUT_MS',
  // normalizer
  'FOLD_GMAIL_ADDRESSES',
  'MAX_MESSAGE_BYTES',
  'TOUCHPOINT_MAX_BYTES',
  'NORMALIZER_TRUST',
  'SEGMENT_PREVIOUS_ID_TYPE',
  'SENDGRID_IDENTIFIER_ARGS',
  // identity resolver
  'EVENT_TTL_SECONDS',
  'COMMIT_INTERVAL_MS',
  // profile builder
  'OUTBOX_TTL_SECONDS',
  'APPLIED_TTL_SECONDS',
  'TRANSACTION_TIMEOUT_MS',
  'TRANSACTION_INTERVAL_MS',
  'TRANSACTIONAL_ID_PREFIX',
  'STATE_CACHE_PROFILES',
  'STATE_CACHE_MAX_BYTES',
  'MAX_PROFILE_BYTES',
  'MAX_RECORD_BYTES',
  'CONSENT_PURPOSE_ALIASES',
  'PROFILE_MAX_IDENTITIES',
  'PROFILE_MAX_PRODUCTS',
  'PROFILE_MAX_CONTENT',
] as const;

function passedSettings(config: CliConfig): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const name of PASSED_SETTINGS) {
    const value = config.env[name];
    if (value !== undefined) passed[name] = value;
  }
  return passed;
}

/** The environment one embedded service would get in its own Deployment. */
function serviceEnv(config: CliConfig): Record<string, string> {
  return {
    ...passedSettings(config),
    // The connections' TLS and SASL settings, as given: each service reads and checks them.
    ...connectionSecurityEnv(config.env),
    KAFKA_BROKERS: config.endpoints.kafkaBrokers,
    SCHEMA_REGISTRY_URL: config.endpoints.schemaRegistryUrl,
    REDIS_URL: config.endpoints.redisUrl,
    TOPIC_PREFIX: config.TOPIC_PREFIX,
    HEALTH_PORT: '0',
    LOG_LEVEL: config.LOG_LEVEL,
    PARTITIONS: String(config.PARTITIONS),
  };
}

/**
 * The embedded services' consumer groups: with CONSUMER_GROUP_PREFIX set, named with it in place
 * of TOPIC_PREFIX (`<CONSUMER_GROUP_PREFIX>elephant-identity-resolver`); without, the services'
 * own defaults, which TOPIC_PREFIX starts (`<TOPIC_PREFIX>elephant-identity-resolver`), as in a
 * deployment without the CLI.
 */
function groupOf(config: CliConfig, name: string): { CONSUMER_GROUP?: string } {
  return config.CONSUMER_GROUP_PREFIX === '' ? {} : { CONSUMER_GROUP: `${config.CONSUMER_GROUP_PREFIX}${name}` };
}

/** Every channel in one normalizer: one consumer and one producer for all eight raw topics. */
export function normalizerConfig(config: CliConfig): NormalizerConfig {
  return loadNormalizerConfig({ ...serviceEnv(config), ...groupOf(config, normalizerGroupOf('', CHANNELS)), NORMALIZER_CHANNELS: CHANNELS.join(','), PARTITIONS: String(config.PARTITIONS), TENANT: config.TENANT, DEFAULT_REGION: config.DEFAULT_REGION, DEFAULT_CURRENCY: config.DEFAULT_CURRENCY });
}

export function resolverConfig(config: CliConfig): ResolverConfig {
  return loadResolverConfig({ ...serviceEnv(config), ...groupOf(config, 'elephant-identity-resolver'), REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX, ...(config.IDENTITY_RULES_FILE ? { IDENTITY_RULES_FILE: config.IDENTITY_RULES_FILE } : {}) });
}

export function builderConfig(config: CliConfig): BuilderConfig {
  return loadBuilderConfig({ ...serviceEnv(config), ...groupOf(config, 'elephant-profile-builder'), REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX, ...(config.PROCESSING_GUARANTEE ? { PROCESSING_GUARANTEE: config.PROCESSING_GUARANTEE } : {}) });
}

/** Every consumer group of Elephant and the topics it reads: what `run` joins and, without a deployment's own groups, what `drain` waits for. */
export function consumerGroups(config: CliConfig): { group: string; topics: string[] }[] {
  const normalizer = normalizerTopicsOf(normalizerConfig(config));
  const groups = [{ group: normalizer.group, topics: normalizer.sources.map(({ topic }) => topic) }];
  const resolver = resolverConfig(config);
  groups.push({ group: resolver.CONSUMER_GROUP, topics: [resolverTopicsOf(resolver).touchpoints] });
  const builder = builderConfig(config);
  const builderTopics = builderTopicsOf(builder);
  groups.push({ group: builder.CONSUMER_GROUP, topics: [builderTopics.resolved, builderTopics.merges, builderTopics.erasures] });
  return groups;
}

/** The channels of a normalizer group named `<stem><channels joined by .>`; undefined for any other name. */
function normalizerChannelsOf(group: string, stem: string): Channel[] | undefined {
  if (!group.startsWith(stem)) return undefined;
  const channels = group.slice(stem.length).split('.');
  return channels.every((channel) => (CHANNELS as readonly string[]).includes(channel)) ? (channels as Channel[]) : undefined;
}

/**
 * consumerGroups with the normalizer groups that exist on the cluster (`existing`, the names
 * its listGroups gives) in place of the CLI's own: a deployment runs a normalizer per channel
 * (infra/k8s: prod.elephant-normalizer-web, prod.elephant-normalizer-email, ...) or one for
 * several (prod.elephant-normalizer-email.ads.pos), each group reading the raw topics of its
 * channels. A channel no existing group serves keeps the CLI's all-channel group, whose lag
 * (everything, when it does not exist) names what nobody consumes.
 *
 * Only names the CLI's configuration gives are read (`<CONSUMER_GROUP_PREFIX, else
 * TOPIC_PREFIX>elephant-…`), never another name that happens to exist: an unprefixed
 * `elephant-identity-resolver` is also the current group of an environment with an empty
 * TOPIC_PREFIX on the same cluster (a demo), and a stale group's offsets are no measure of the
 * groups actually consuming. (A fallback to the names from before TOPIC_PREFIX started the
 * defaults, read where the new name did not exist, was removed on 2026-12-07 for that reason.)
 */
export function deployedConsumerGroups(config: CliConfig, existing: readonly string[]): { group: string; topics: string[] }[] {
  const [cliNormalizer, ...rest] = consumerGroups(config);
  const sources = normalizerTopicsOf(normalizerConfig(config)).sources;
  // The name without its channels: what a normalizer group of this environment starts with.
  const stem = normalizerGroupOf(config.CONSUMER_GROUP_PREFIX === '' ? config.TOPIC_PREFIX : config.CONSUMER_GROUP_PREFIX, []);
  const served = new Set<Channel>();
  const normalizers: { group: string; topics: string[] }[] = [];
  for (const group of [...existing].sort()) {
    const channels = normalizerChannelsOf(group, stem);
    if (channels === undefined) continue;
    for (const channel of channels) served.add(channel);
    normalizers.push({ group, topics: sources.filter((source) => channels.includes(source.channel)).map((source) => source.topic) });
  }
  const unserved = sources.filter((source) => !served.has(source.channel));
  if (unserved.length > 0 && cliNormalizer) normalizers.push({ group: cliNormalizer.group, topics: unserved.map((source) => source.topic) });
  return [...normalizers, ...rest];
}

export function rawTopicOf(config: CliConfig, channel: Channel): string {
  const source = normalizerTopicsOf(normalizerConfig(config)).sources.find((entry) => entry.channel === channel);
  if (!source) throw new Error(`no raw topic for channel ${channel}`);
  return source.topic;
}
