import { BatchProducer, deadLetterInfo, readToEnd, replayRecordOf, type DeadLetterInfo, type Kafka, type Message, type ReadRecord } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import type { CliConfig } from '../config.ts';
import { commandKafka } from '../connect.ts';
import { CliError } from '../errors.ts';

/** Which dead letters a command takes; every field given must match. */
export interface DeadLetterFilter {
  /** Error codes (`elephant.dlq.error.code`), any of them. */
  readonly codes?: readonly string[];
  /** The service that dead-lettered the record (`elephant.dlq.service`). */
  readonly service?: string;
  /** The topic the original record was read from (`elephant.dlq.source.topic`). */
  readonly sourceTopic?: string;
  /** Offsets in the dead-letter topic, inclusive. */
  readonly fromOffset?: bigint;
  readonly toOffset?: bigint;
}

/** One dead letter as `elephant dead-letters` lists it: what and why, never the value (personal data). */
export interface DeadLetterView {
  readonly partition: number;
  readonly offset: string;
  readonly code: string | null;
  readonly message: string | null;
  readonly service: string | null;
  readonly time: string | null;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string } | null;
  /** Parsed when it is whole JSON, else the text as stored (cut at 4,000 characters). */
  readonly details: unknown;
  readonly valueBytes: number;
}

export interface ReplayResult {
  /** Records sent back to their source topics (0 with dryRun). */
  readonly replayed: number;
  /** Records that would be sent (dryRun) or were. */
  readonly selected: number;
  /** Copies of a record already selected (same source record and code): dead letters are at-least-once. */
  readonly duplicates: number;
  /** Selected records whose headers name no source: left alone. */
  readonly unreplayable: number;
  readonly byTopic: Record<string, number>;
}

/** A record of a dead-letter topic, with what its headers say (read once). */
interface DeadLetterRecord {
  readonly record: ReadRecord;
  readonly info: DeadLetterInfo;
}

/** Every dead letter of `topic` that `filter` takes, in topic order. */
export async function listDeadLetters(config: CliConfig, logger: Logger, topic: string, filter: DeadLetterFilter): Promise<DeadLetterView[]> {
  return (await readDeadLetters(commandKafka(config, logger), topic, filter)).map(viewOf);
}

/**
 * Sends the dead letters of `topic` that `filter` takes back to the topics they came from,
 * each as the original record (key, value, headers without `elephant.dlq.*`, timestamp,
 * partition: `replayRecordOf`), in dead-letter order, once per source record and code. The
 * services handle a replayed record as any other: one that fails again is dead-lettered again.
 */
export async function replayDeadLetters(config: CliConfig, logger: Logger, topic: string, filter: DeadLetterFilter, options: { readonly dryRun: boolean }): Promise<ReplayResult> {
  const kafka = commandKafka(config, logger);
  const records = await readDeadLetters(kafka, topic, filter);
  const seen = new Set<string>();
  const byTopic = new Map<string, Message[]>();
  let duplicates = 0;
  let unreplayable = 0;
  for (const { record, info } of records) {
    const replay = replayRecordOf(record);
    if (!replay) {
      unreplayable += 1;
      continue;
    }
    const identity = JSON.stringify([info.source?.topic, info.source?.partition, info.source?.offset, info.code]);
    if (seen.has(identity)) {
      duplicates += 1;
      continue;
    }
    seen.add(identity);
    const list = byTopic.get(replay.topic);
    if (list) list.push(replay.message);
    else byTopic.set(replay.topic, [replay.message]);
  }
  const selected = [...byTopic.values()].reduce((sum, list) => sum + list.length, 0);
  const counts = Object.fromEntries([...byTopic].map(([name, list]) => [name, list.length]));
  if (options.dryRun || selected === 0) return { replayed: 0, selected, duplicates, unreplayable, byTopic: counts };
  await checkPartitions(kafka, byTopic);
  const producer = await BatchProducer.connect(kafka);
  try {
    await producer.send([...byTopic].map(([name, messages]) => ({ topic: name, messages })));
  } finally {
    await producer.disconnect();
  }
  return { replayed: selected, selected, duplicates, unreplayable, byTopic: counts };
}

/** The records of `topic` that `filter` takes, in topic order. */
async function readDeadLetters(kafka: Kafka, topic: string, filter: DeadLetterFilter): Promise<DeadLetterRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new CliError('NOT_FOUND', `Topic ${topic} does not exist (dead-letter topics are <prefix>dlq.<service>[.<channel>].v1; docs/operations.md).`);
  } finally {
    await admin.disconnect();
  }
  const records = await readToEnd(kafka, topic, { groupPrefix: 'elephant-cli-dead-letters' });
  return records
    .sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))
    .map((record) => ({ record, info: deadLetterInfo(record) }))
    .filter((entry) => matches(entry, filter));
}

/**
 * A source topic must still exist, with the partition the record came from: a record sent to a
 * partition that is gone would fail the whole send. Missing topics stop the command before
 * anything is sent.
 */
async function checkPartitions(kafka: Kafka, byTopic: ReadonlyMap<string, Message[]>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...byTopic.keys()].filter((name) => !existing.has(name));
    if (missing.length > 0) throw new CliError('NOT_FOUND', `Source topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of the dead letters ${missing.length > 1 ? 'do' : 'does'} not exist; nothing was replayed.`);
    const { topics } = await admin.fetchTopicMetadata({ topics: [...byTopic.keys()] });
    for (const { name, partitions } of topics) {
      // Fewer partitions than when the record was read: placed by its key instead.
      for (const message of byTopic.get(name) ?? []) if (message.partition !== undefined && message.partition >= partitions.length) delete message.partition;
    }
  } finally {
    await admin.disconnect();
  }
}

function matches({ record, info }: DeadLetterRecord, filter: DeadLetterFilter): boolean {
  const offset = BigInt(record.offset);
  if (filter.codes && filter.codes.length > 0 && !filter.codes.includes(info.code ?? '')) return false;
  if (filter.service !== undefined && info.service !== filter.service) return false;
  if (filter.sourceTopic !== undefined && info.source?.topic !== filter.sourceTopic) return false;
  if (filter.fromOffset !== undefined && offset < filter.fromOffset) return false;
  if (filter.toOffset !== undefined && offset > filter.toOffset) return false;
  return true;
}

function viewOf({ record, info }: DeadLetterRecord): DeadLetterView {
  let details: unknown = info.details ?? null;
  if (info.details !== undefined) {
    try {
      details = JSON.parse(info.details);
    } catch {
      // Cut at 4,000 characters when written: kept as text.
    }
  }
  return {
    partition: record.partition,
    offset: record.offset,
    code: info.code ?? null,
    message: info.message ?? null,
    service: info.service ?? null,
    time: info.time ?? null,
    source: info.source ?? null,
    details,
    valueBytes: record.value?.length ?? 0,
  };
}
