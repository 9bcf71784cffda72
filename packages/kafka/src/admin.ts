import type { Admin, Kafka, ITopicConfig } from 'kafkajs';
import { endsCluster, partitionEndsOn, type EndsCluster, type PartitionEnd } from './ends.ts';
import { KafkaError, protocolErrorIn } from './errors.ts';
import { retryOnProtocolError } from './retry.ts';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /**
   * @default the broker's `default.replication.factor` (sent as -1, KIP-464, Kafka 2.4+): a
   * production cluster's usual 3, the local stack's 1.
   */
  readonly replicationFactor?: number;
  /** `delete` (default) or `compact` (latest value per key, tombstones delete). */
  readonly cleanupPolicy?: 'delete' | 'compact';
  /** -1 keeps messages forever. Ignored by compacted topics unless set. */
  readonly retentionMs?: number;
  /** Extra topic configs, e.g. `max.message.bytes`. */
  readonly configs?: Readonly<Record<string, string>>;
}

/**
 * Creates the topics that do not exist yet and checks the ones that do: an existing topic
 * with fewer partitions than asked is an error, because keys would land on other partitions
 * than the design assumes. Safe to call from every replica at start-up.
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length > 0) {
      // Leaders are waited for below. kafkajs' own wait (waitForLeaders) gives up at the first
      // UNKNOWN_TOPIC_OR_PARTITION in a metadata answer, which a broker that has just started
      // gives for topics it created a moment ago: the first test file on a fresh stack failed so.
      try {
        await admin.createTopics({ waitForLeaders: false, topics: missing.map(toTopicConfig) });
      } catch (error) {
        if (protocolErrorIn(error, CREATE_REFUSALS) !== undefined) throw creationFailed(error);
        // Another replica or service may have created some of them a moment ago (a broker's
        // topic list can lag behind its creations for a moment, too).
        const created = await withMetadataRetry(async () => {
          const now = new Set(await admin.listTopics());
          if (missing.every((spec) => now.has(spec.topic))) return true;
          throw Object.assign(new Error('topics not listed yet'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
        }).catch(() => false);
        if (!created) throw creationFailed(error);
      }
    }
    // A topic just created (here or by another process) may not be in this broker's metadata
    // cache yet, and its leader may answer NOT_LEADER for a moment, which makes an idempotent
    // producer's next batch fail with OUT_OF_ORDER_SEQUENCE_NUMBER and a subscribe fail with
    // UNKNOWN_TOPIC_OR_PARTITION: wait until every topic has leaders that answer.
    await withMetadataRetry(async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.topic) });
      const incomplete = metadata.topics.find((topic) => topic.partitions.length === 0 || topic.partitions.some((partition) => partition.leader < 0));
      if (incomplete) throw Object.assign(new Error(`topic ${incomplete.name} has no leaders yet`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
      return metadata;
    });
    for (const spec of specs) {
      await withMetadataRetry(async () => {
        try {
          return await admin.fetchTopicOffsets(spec.topic);
        } catch (error) {
          throw Object.assign(error as Error, { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
        }
      });
    }
    const present = specs.filter((spec) => existing.has(spec.topic));
    if (present.length > 0) {
      const metadata = await withMetadataRetry(() => admin.fetchTopicMetadata({ topics: present.map((spec) => spec.topic) }));
      for (const topic of metadata.topics) {
        const spec = present.find((candidate) => candidate.topic === topic.name);
        if (spec && topic.partitions.length < spec.partitions) {
          throw new KafkaError(
            'KAFKA_TOPIC_MISMATCH',
            `Topic ${topic.name} has ${topic.partitions.length} partitions; ${spec.partitions} are required. Add partitions with kafka-topics --alter, or point the service at another topic.`,
            { details: { topic: topic.name, partitions: topic.partitions.length, required: spec.partitions } },
          );
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * With CREATE_TOPICS=false (a platform team creates the topics): creates nothing, and checks
 * that every topic the service reads or writes exists (not its partition count: the platform
 * team's choice, as before; the builder's co-partitioned inputs are checked on their own). A missing output topic was otherwise found at the first send, as
 * UNKNOWN_TOPIC_OR_PARTITION, retried forever while the service stayed ready and published
 * nothing; a missing input left the consumer restarting.
 * @throws KAFKA_TOPIC_MISSING naming every missing topic
 */
export async function requireTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  let missing: string[];
  try {
    const existing = new Set(await withMetadataRetry(() => admin.listTopics()));
    missing = [...new Set(specs.map((spec) => spec.topic).filter((topic) => !existing.has(topic)))];
  } finally {
    await admin.disconnect();
  }
  if (missing.length > 0) {
    throw new KafkaError('KAFKA_TOPIC_MISSING', `Topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} do${missing.length === 1 ? 'es' : ''} not exist and CREATE_TOPICS is false: create ${missing.length === 1 ? 'it' : 'them'} (docs/operations.md lists each service's topics and their settings), or set CREATE_TOPICS=true.`, { details: { topics: missing } });
  }
}

/**
 * Checks that co-partitioned topics (read together by key: one key's records of every topic
 * must be on the same partition number, hence one consumer) have the same number of
 * partitions. Producers place a key by its hash modulo a topic's partition count, so with
 * different counts a key's records of two topics land on different partition numbers, and the
 * co-partitioned assigner gives them to different members: two writers of one profile, with
 * no error anywhere. Topics that do not exist (yet) are not compared.
 * @throws KAFKA_TOPIC_MISMATCH naming every topic and its count
 */
export async function checkCoPartitioned(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length < 2) return;
    const metadata = await withMetadataRetry(() => admin.fetchTopicMetadata({ topics: present }));
    const counts = metadata.topics.map((topic) => ({ topic: topic.name, partitions: topic.partitions.length }));
    if (new Set(counts.map((count) => count.partitions)).size > 1) {
      throw new KafkaError(
        'KAFKA_TOPIC_MISMATCH',
        `Topics ${counts.map((count) => `${count.topic} (${count.partitions} partitions)`).join(', ')} are read together by key and need the same number of partitions. Add partitions with kafka-topics --alter so that they match.`,
        { details: { topics: counts } },
      );
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * A topic another client just created may not be in this broker's metadata cache yet
 * (UNKNOWN_TOPIC_OR_PARTITION): retry for a few seconds before giving up.
 */
async function withMetadataRetry<T>(fetch: () => Promise<T>): Promise<T> {
  return retryOnProtocolError('UNKNOWN_TOPIC_OR_PARTITION', fetch, 20, () => 250);
}

/**
 * The broker's answers to a topic creation it will give again until a setting, a policy or an
 * ACL changes (the topic's or the cluster's), not about the moment.
 */
const CREATE_REFUSALS = new Set(['INVALID_REPLICATION_FACTOR', 'INVALID_REPLICA_ASSIGNMENT', 'INVALID_PARTITIONS', 'INVALID_CONFIG', 'INVALID_TOPIC_EXCEPTION', 'POLICY_VIOLATION', 'TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED']);

/**
 * A failed CreateTopics as a KafkaError naming each topic the broker refused and why. kafkajs
 * throws an aggregate ("Topic creation errors") whose message names neither, and a service
 * stopped with only that line. A refusal (CREATE_REFUSALS) is KAFKA_REFUSED, not retryable
 * (the services exit 78, bad configuration); anything else KAFKA_UNAVAILABLE, retryable.
 */
function creationFailed(error: unknown): KafkaError {
  const { errors } = error as { errors?: unknown };
  const causes = (Array.isArray(errors) ? errors : [error]) as { topic?: unknown; type?: unknown; message?: unknown }[];
  const reasons = causes.map((cause) => `${typeof cause.topic === 'string' ? cause.topic : '(topic not named)'}: ${typeof cause.type === 'string' ? cause.type : 'error'} (${String(cause.message)})`);
  const topics = causes.flatMap((cause) => (typeof cause.topic === 'string' ? [cause.topic] : []));
  const refused = protocolErrorIn(error, CREATE_REFUSALS);
  if (refused !== undefined) {
    return new KafkaError('KAFKA_REFUSED', `The broker refused to create topics: ${reasons.join('; ')}. Fix what it names (a replication factor above the number of brokers, a topic config its policy or version does not accept, the principal's Create ACL), or create the topics yourself and start with CREATE_TOPICS=false`, { retryable: false, cause: error, details: { topics, reason: refused } });
  }
  return new KafkaError('KAFKA_UNAVAILABLE', `Creating topics failed: ${reasons.join('; ')}`, { retryable: true, cause: error, details: { topics } });
}

function toTopicConfig(spec: TopicSpec): ITopicConfig {
  const configEntries: { name: string; value: string }[] = [];
  if (spec.cleanupPolicy) configEntries.push({ name: 'cleanup.policy', value: spec.cleanupPolicy });
  if (spec.retentionMs !== undefined) configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
  for (const [name, value] of Object.entries(spec.configs ?? {})) configEntries.push({ name, value });
  return {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor ?? -1,
    configEntries,
  };
}

/**
 * A group's committed offsets. Right after a broker starts, its group coordinator loads the
 * offsets topic for a few seconds and answers COORDINATOR_LOAD_IN_PROGRESS (kafkajs' type
 * GROUP_LOAD_IN_PROGRESS), which kafkajs' admin does not retry: the benchmark's first lag poll
 * on a fresh stack failed on it. Retried for up to 10 s.
 */
function fetchGroupOffsets(admin: Admin, groupId: string, topics: readonly string[]): ReturnType<Admin['fetchOffsets']> {
  return retryOnProtocolError('GROUP_LOAD_IN_PROGRESS', () => admin.fetchOffsets({ groupId, topics: [...topics] }), 40, () => 250);
}

export interface GroupTopics {
  readonly group: string;
  readonly topics: readonly string[];
}

/** One group's lag over its topics (consumerGroupsLags). */
export interface GroupLag {
  readonly group: string;
  /** Messages of the existing topics not consumed yet. */
  readonly lag: number;
  /** Topics of the group that do not exist (yet): nothing to count there, and not caught up either. */
  readonly missingTopics: readonly string[];
}

/**
 * Messages not yet consumed by each group: per partition, the high watermark minus the
 * committed offset (the low watermark when the group never committed). The high watermark,
 * not the last stable offset kafkajs' admin reads (ends.ts): the records behind a transaction
 * still open count until it completes and the group consumed past it. Until 2026-12-07 they
 * did not, and `elephant drain` could report a group caught up with records still to come
 * (a builder killed mid-transaction, `exactly_once`, holds its partitions of
 * touchpoints.resolved back for up to TRANSACTION_TIMEOUT_MS). Each topic's ends are
 * fetched once a poll. A topic that does not exist is named in the group's `missingTopics`:
 * kafkajs' offset fetch failed on it with UNKNOWN_TOPIC_OR_PARTITION ("This server does not
 * host this topic-partition"), and `elephant drain` started before the services had created
 * their topics exited 1 with that.
 *
 * One admin connection for the polls of up to KEPT_ADMIN_MS, opened at the first and again after
 * that or after a poll that failed (the broker away: `elephant drain` asks until its deadline).
 * Opening one for each poll, as until 2026-12-07, took 110–140 ms a poll on the local stack
 * (connection, API versions, metadata, coordinator look-up) against under 10 with the
 * connection kept: the benchmark, polling every 20 ms for the end of a run at saturation, read
 * it up to 140 ms late. A kept connection's metadata (partition leaders, the group's
 * coordinator, a topic's partitions) is kafkajs' cached copy, which a leader move makes stale
 * (a rolling restart: NOT_LEADER_FOR_PARTITION, which kafkajs' offset look-ups do not retry):
 * a poll that fails on a kept connection is made once more on a new one, which reads the
 * metadata afresh, as every poll did before; and a connection is kept for KEPT_ADMIN_MS at
 * most, so that partitions added or a topic deleted meanwhile are seen within that.
 */
export class LagPoller {
  readonly #kafka: Kafka;
  #admin: { readonly admin: Admin; readonly ends: EndsCluster; readonly openedAt: number } | undefined;

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  /** Each group's lag. One poll at a time. */
  async lags(groups: readonly GroupTopics[]): Promise<GroupLag[]> {
    const kept = this.#admin !== undefined && performance.now() - this.#admin.openedAt < KEPT_ADMIN_MS;
    if (!kept) await this.close();
    try {
      return await this.#poll(groups);
    } catch (error) {
      if (!kept) throw error;
      return await this.#poll(groups);
    }
  }

  async #poll(groups: readonly GroupTopics[]): Promise<GroupLag[]> {
    const kept = this.#admin;
    const admin = kept?.admin ?? this.#kafka.admin();
    const ends = kept?.ends ?? endsCluster(this.#kafka);
    try {
      if (!kept) {
        this.#admin = { admin, ends, openedAt: performance.now() };
        await admin.connect();
        await ends.connect();
      }
      return await groupsLags(admin, ends, groups);
    } catch (error) {
      this.#admin = undefined;
      await disconnectBoth(admin, ends);
      throw error;
    }
  }

  /**
   * The messages not yet consumed by the groups together.
   * @throws KAFKA_TOPIC_MISSING (retryable: the topic may be created soon) naming every topic that does not exist
   */
  async lag(groups: readonly GroupTopics[]): Promise<number> {
    const lags = await this.lags(groups);
    const missing = [...new Set(lags.flatMap((lag) => lag.missingTopics))];
    if (missing.length > 0) {
      throw new KafkaError('KAFKA_TOPIC_MISSING', `Cannot measure consumer lag: topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} do${missing.length === 1 ? 'es' : ''} not exist (yet).`, { retryable: true, details: { topics: missing } });
    }
    return lags.reduce((sum, lag) => sum + lag.lag, 0);
  }

  /** Closes the connection; never throws (it runs in `finally` blocks, after the error that matters). */
  async close(): Promise<void> {
    const kept = this.#admin;
    this.#admin = undefined;
    if (kept) await disconnectBoth(kept.admin, kept.ends);
  }
}

async function disconnectBoth(admin: Admin, ends: EndsCluster): Promise<void> {
  await Promise.all([admin.disconnect().catch(() => undefined), ends.disconnect().catch(() => undefined)]);
}

/** How long LagPoller keeps an admin connection (and kafkajs' metadata with it). */
const KEPT_ADMIN_MS = 10000;

async function groupsLags(admin: Admin, cluster: EndsCluster, groups: readonly GroupTopics[]): Promise<GroupLag[]> {
  // Listed only when an offset fetch names a topic the broker does not host: a poll of
  // topics that exist asks no metadata of every topic of the cluster.
  let existing: Set<string> | undefined;
  const ends = new Map<string, PartitionEnd[]>();
  const lags: GroupLag[] = [];
  for (const { group, topics } of groups) {
    let present = topics;
    let offsets: Awaited<ReturnType<typeof fetchGroupOffsets>>;
    try {
      offsets = await fetchGroupOffsets(admin, group, topics);
    } catch (error) {
      if ((error as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
      existing ??= new Set(await admin.listTopics());
      const listed = existing;
      present = topics.filter((topic) => listed.has(topic));
      // A topic created a moment ago may be listed before every broker has its metadata.
      offsets = present.length === 0 ? [] : await withMetadataRetry(() => fetchGroupOffsets(admin, group, present));
    }
    let lag = 0;
    for (const { topic, partitions } of offsets) {
      let topicEnds = ends.get(topic);
      // partitionEndsOn waits out a topic missing from the metadata itself.
      if (!topicEnds) ends.set(topic, (topicEnds = await partitionEndsOn(cluster, topic)));
      for (const end of topicEnds) {
        const offset = Number(partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1');
        lag += Math.max(0, Number(end.high) - (offset < 0 ? Number(end.low) : offset));
      }
    }
    lags.push({ group, lag, missingTopics: topics.filter((topic) => !present.includes(topic)) });
  }
  return lags;
}

/** One poll of each group's lag (LagPoller#lags) over a connection of its own. */
export async function consumerGroupsLags(kafka: Kafka, groups: readonly GroupTopics[]): Promise<GroupLag[]> {
  const poller = new LagPoller(kafka);
  try {
    return await poller.lags(groups);
  } finally {
    await poller.close();
  }
}

/** One poll of the groups' lag together (LagPoller#lag) over a connection of its own. */
export async function consumerGroupsLag(kafka: Kafka, groups: readonly GroupTopics[]): Promise<number> {
  const poller = new LagPoller(kafka);
  try {
    return await poller.lag(groups);
  } finally {
    await poller.close();
  }
}

/** The lag of one group over `topics` (see consumerGroupsLag). */
export function consumerGroupLag(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<number> {
  return consumerGroupsLag(kafka, [{ group: groupId, topics }]);
}
