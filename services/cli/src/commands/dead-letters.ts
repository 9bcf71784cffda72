import { describeError, isElephantError, isRetryable } from '@elephant/errors';
import { BatchProducer, deadLetterInfo, OPEN_TRANSACTION_WAIT_MS, readEach, recordSize, replayRecordOf, type DeadLetterInfo, type IHeaders, type Kafka, type Message, type ReadRecord } from '@elephant/kafka';
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

/** Records sent in one `BatchProducer.send` at most (recordSize): about one produce request each. */
const SEND_BYTES = 900 * 1024;

/** Every dead letter of `topic` that `filter` takes, in topic order. */
export async function listDeadLetters(config: CliConfig, logger: Logger, topic: string, filter: DeadLetterFilter): Promise<DeadLetterView[]> {
  // Only the views are kept: a record's key and value are dropped as soon as it is read.
  return readDeadLetters(commandKafka(config, logger), config, logger, topic, filter, viewOf);
}

/** A selected dead letter as it goes back: where it is in the dead-letter topic, and where it goes. */
interface Replay {
  readonly partition: number;
  readonly offset: string;
  readonly topic: string;
  readonly message: Message;
}

/**
 * Sends the dead letters of `topic` that `filter` takes back to the topics they came from,
 * each as the original record (key, value, headers without `elephant.dlq.*`, timestamp,
 * partition: `replayRecordOf`), in dead-letter order, once per source record and code. The
 * services handle a replayed record as any other: one that fails again is dead-lettered again.
 * Only the selected records are kept in memory (their key, value and headers copied out of the
 * fetch that brought them). They are sent in dead-letter order, in sends of about one produce
 * request; a send that fails stops the replay with a CliError that says how many were
 * acknowledged before it (`sendFailure`).
 */
export async function replayDeadLetters(config: CliConfig, logger: Logger, topic: string, filter: DeadLetterFilter, options: { readonly dryRun: boolean }): Promise<ReplayResult> {
  const kafka = commandKafka(config, logger);
  // Duplicates and unreplayable records are counted as they are read, and not kept. A record
  // copied more than once keeps its first copy read (the copies hold the same original).
  const seen = new Set<string>();
  let duplicates = 0;
  let unreplayable = 0;
  const replays = await readDeadLetters(kafka, config, logger, topic, filter, (record, info): Replay | undefined => {
    const replay = replayRecordOf(record);
    if (!replay) {
      unreplayable += 1;
      return undefined;
    }
    const identity = JSON.stringify([info.source?.topic, info.source?.partition, info.source?.offset, info.code]);
    if (seen.has(identity)) {
      duplicates += 1;
      return undefined;
    }
    seen.add(identity);
    return { partition: record.partition, offset: record.offset, topic: replay.topic, message: detached(replay.message) };
  });
  const byTopic = new Map<string, Message[]>();
  for (const replay of replays) {
    const list = byTopic.get(replay.topic);
    if (list) list.push(replay.message);
    else byTopic.set(replay.topic, [replay.message]);
  }
  const selected = replays.length;
  const counts = Object.fromEntries([...byTopic].map(([name, list]) => [name, list.length]));
  if (selected === 0) return { replayed: 0, selected, duplicates, unreplayable, byTopic: counts };
  // Partitions that are gone are dropped from the messages here (the same objects as in `replays`).
  // A dry run checks too: before 2026-12-07 it reported records the replay then refused (exit 4).
  await checkPartitions(kafka, byTopic);
  if (options.dryRun) return { replayed: 0, selected, duplicates, unreplayable, byTopic: counts };
  const producer = await BatchProducer.connect(kafka);
  try {
    let acknowledged = 0;
    for (const chunk of sends(replays)) {
      try {
        await producer.send(chunk.map(({ topic: name, message }) => ({ topic: name, messages: [message] })));
      } catch (error) {
        throw sendFailure(error, topic, replays, acknowledged, chunk.length);
      }
      acknowledged += chunk.length;
    }
  } finally {
    await producer.disconnect();
  }
  return { replayed: selected, selected, duplicates, unreplayable, byTopic: counts };
}

/** `replays` in order, cut into sends of at most SEND_BYTES (recordSize); a larger record goes alone. */
function* sends(replays: readonly Replay[]): Generator<readonly Replay[]> {
  let chunk: Replay[] = [];
  let bytes = 0;
  for (const replay of replays) {
    const size = recordSize(replay.message);
    if (chunk.length > 0 && bytes + size > SEND_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(replay);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The CliError for a send of `failed` records that failed after the first `acknowledged` of
 * `replays` went through (every send before it, acknowledged by the broker: the first in
 * dead-letter order). Of the failed send the broker may have written some records (the
 * partitions it did not refuse) and does not say which: they are counted apart. A record the
 * broker refuses as such (too large for its source topic) is INVALID_INPUT (exit 65); any other
 * failure, UNAVAILABLE (exit 69).
 */
function sendFailure(error: unknown, topic: string, replays: readonly Replay[], acknowledged: number, failed: number): CliError {
  const last = acknowledged > 0 ? replays[acknowledged - 1] : undefined;
  const topics = [...new Set(replays.slice(acknowledged, acknowledged + failed).map((replay) => replay.topic))];
  const notSent = replays.length - acknowledged - failed;
  const upTo = last === undefined ? '' : ` (the first in ${topic}, up to partition ${last.partition} offset ${last.offset})`;
  return new CliError(
    isElephantError(error, 'KAFKA_RECORD_REJECTED') ? 'INVALID_INPUT' : 'UNAVAILABLE',
    `Replay stopped: ${acknowledged} of ${replays.length} dead letters were replayed${upTo}, then sending ${failed} more to ${topics.join(', ')} failed: ${describeError(error)}. ` +
      `The broker may have written some of those ${failed}; the other ${notSent} were not sent. Running the same replay again sends all ${replays.length} again (at-least-once; docs/cli.md).`,
    {
      cause: error,
      retryable: isRetryable(error),
      details: { selected: replays.length, replayed: acknowledged, inFailedSend: failed, notSent, ...(last === undefined ? {} : { lastReplayed: { partition: last.partition, offset: last.offset } }) },
    },
  );
}

/**
 * What `take` makes of each record of `topic` that `filter` takes (undefined: nothing), in topic order (partition,
 * then offset); nothing else is kept. `--from-offset` is where the read starts in every
 * partition, `--to-offset` where it ends (it read to each partition's end before).
 */
async function readDeadLetters<T>(kafka: Kafka, config: CliConfig, logger: Logger, topic: string, filter: DeadLetterFilter, take: (record: ReadRecord, info: DeadLetterInfo) => T | undefined): Promise<T[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) throw new CliError('NOT_FOUND', `Topic ${topic} does not exist${prefixHint(config.TOPIC_PREFIX, topic, topics)} (dead-letter topics are <TOPIC_PREFIX>dlq.<service>.v1: dlq.normalizer.v1, dlq.identity-resolver.v1, dlq.profile-builder.v1; docs/operations.md).`);
  } finally {
    await admin.disconnect();
  }
  const taken: { readonly partition: number; readonly offset: bigint; readonly item: T }[] = [];
  const { heldBack } = await readEach(
    kafka,
    topic,
    (record) => {
      const info = deadLetterInfo(record);
      if (!matches(record, info, filter)) return;
      const item = take(record, info);
      if (item !== undefined) taken.push({ partition: record.partition, offset: BigInt(record.offset), item });
    },
    {
      groupPrefix: 'elephant-cli-dead-letters',
      ...(filter.fromOffset === undefined ? {} : { fromOffsets: filter.fromOffset }),
      ...(filter.toOffset === undefined ? {} : { toOffset: filter.toOffset }),
      onWait: (partitions) => logger.info({ topic, partitions }, `waiting up to ${OPEN_TRANSACTION_WAIT_MS} ms for transactions still open in ${topic}`),
    },
  );
  // A producer that died mid-transaction (a builder, exactly_once) holds the rest of its
  // partition back until the broker aborts it (its transaction timeout): said, not hidden.
  for (const { partition, from, to } of heldBack) logger.warn({ topic, partition, from: from.toString(), to: to.toString() }, `offsets ${from}-${to - 1n} of ${topic}/${partition} were not read: a transaction still open holds them back; run the command again once the broker has aborted it`);
  return taken.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0)).map((entry) => entry.item);
}

/**
 * The topic is named in full: TOPIC_PREFIX is not prepended (a name that already carries it
 * would get it twice). When the prefixed name exists, the message says so (since 2026-12-07).
 */
function prefixHint(prefix: string, topic: string, existing: readonly string[]): string {
  const prefixed = `${prefix}${topic}`;
  return prefix !== '' && !topic.startsWith(prefix) && existing.includes(prefixed) ? `; ${prefixed} does (TOPIC_PREFIX is ${JSON.stringify(prefix)}): the command takes the topic's full name` : '';
}

/**
 * `message` with its own copies of key, value and header values: a fetched record's share the
 * buffer of the whole fetch, which would stay in memory for each record kept.
 */
function detached(message: Message): Message {
  const copy = <V extends Buffer | string | null | undefined>(value: V): V => (Buffer.isBuffer(value) ? (Buffer.from(value) as V) : value);
  const headers = Object.create(null) as IHeaders;
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = Array.isArray(value) ? value.map(copy) : copy(value);
  return { ...message, key: copy(message.key), value: copy(message.value), headers };
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

function matches(record: ReadRecord, info: DeadLetterInfo, filter: DeadLetterFilter): boolean {
  const offset = BigInt(record.offset);
  if (filter.codes && filter.codes.length > 0 && !filter.codes.includes(info.code ?? '')) return false;
  if (filter.service !== undefined && info.service !== filter.service) return false;
  if (filter.sourceTopic !== undefined && info.source?.topic !== filter.sourceTopic) return false;
  if (filter.fromOffset !== undefined && offset < filter.fromOffset) return false;
  if (filter.toOffset !== undefined && offset > filter.toOffset) return false;
  return true;
}

/** What a redacted value shows in the listing. */
export const REDACTED = '[redacted]';

/**
 * `details` without the values of the original record: every field named `value`, at any
 * depth, shows as REDACTED. The normalizer's MISSING_IDENTIFIER (and a batch's, under the same
 * name) lists the identifiers it dropped in `dropped`, each with its raw `value`: personal data;
 * the other codes' details hold sizes, limits, paths, codes, event and profile ids. Before
 * 2026-12-07 the listing printed them as written.
 */
export function redactDetails(details: unknown): unknown {
  if (Array.isArray(details)) return details.map(redactDetails);
  if (typeof details !== 'object' || details === null) return details;
  return Object.fromEntries(Object.entries(details).map(([name, value]) => [name, name === 'value' ? REDACTED : redactDetails(value)]));
}

/**
 * Details cut at 4,000 characters when written (not whole JSON), with the string after each
 * `"value":` key replaced by REDACTED: JSON's strings are read as tokens, so text inside
 * another string is left alone. A value cut off at the end is redacted too.
 */
export function redactDetailsText(text: string): string {
  let result = '';
  let index = 0;
  let afterValueKey = false;
  while (index < text.length) {
    const char = text[index] as string;
    if (char !== '"') {
      result += char;
      if (!/\s/.test(char) && char !== ':') afterValueKey = false;
      index += 1;
      continue;
    }
    // A JSON string: up to the next quote not escaped, or the end of the text (cut).
    let end = index + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    const token = text.slice(index, Math.min(end + 1, text.length));
    if (afterValueKey) {
      result += JSON.stringify(REDACTED);
      afterValueKey = false;
    } else {
      result += token;
      // A key: the string is followed by a colon.
      afterValueKey = token === '"value"' && /^\s*:/.test(text.slice(end + 1));
    }
    index = end + 1;
  }
  return result;
}

function viewOf(record: ReadRecord, info: DeadLetterInfo): DeadLetterView {
  let details: unknown = info.details ?? null;
  if (info.details !== undefined) {
    try {
      details = redactDetails(JSON.parse(info.details));
    } catch {
      // Cut at 4,000 characters when written: kept as text, its values redacted.
      details = redactDetailsText(info.details);
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
