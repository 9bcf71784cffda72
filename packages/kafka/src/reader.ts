import type { Kafka, KafkaMessage } from 'kafkajs';
import { describeError } from '@elephant/errors';
import { KafkaError, refusal, refusalHint } from './errors.ts';
import { partitionEnds } from './ends.ts';

export interface ReadEachOptions {
  /** How long the read may go without progress (no record fetched) before it fails (KAFKA_UNAVAILABLE). @default 60000 */
  readonly timeoutMs?: number;
  /** Prefix of the throw-away consumer group. @default `<topic>.reader` */
  readonly groupPrefix?: string;
  /**
   * Where to start: one offset for every partition (a bigint), or one per partition (a map;
   * a partition it does not name is read from its beginning). The reader seeks there instead
   * of reading from the beginning, and hands over nothing before it. A start below what
   * retention left reads from the first record left; a partition whose end is at or before its
   * start has nothing to read and is not waited for. @default every partition from its beginning
   */
  readonly fromOffsets?: bigint | ReadonlyMap<number, bigint>;
  /**
   * The last offset to read, in every partition: the read ends there (or at the partition's
   * end, if sooner) and hands over nothing after it. @default each partition's end
   */
  readonly toOffset?: bigint;
  /** Told, once, the partitions whose end a transaction open when the call began holds back, when the read starts waiting for them (OPEN_TRANSACTION_WAIT_MS). */
  readonly onWait?: (partitions: readonly number[]) => void;
}

/** A record read by `readToEnd`, with the partition it was read from. */
export type ReadRecord = KafkaMessage & { readonly partition: number };

export interface ReadToEndOptions extends ReadEachOptions {
  /**
   * Which records to keep: the others are dropped as they are read, so the result holds only
   * what it takes. A kept record's key and value may share memory with the rest of the fetch
   * that brought it; copy them to keep a few out of many for long. @default every record
   */
  readonly keep?: (record: ReadRecord) => boolean;
}

/**
 * The records of `topic` (read_committed) from the beginning, or from `fromOffsets`, to each
 * partition's end as it was when the call began, that `keep` takes (every one without it),
 * in the order read: each partition's in offset order. For tests, tools and the benchmark,
 * not for services; see `readEach` to keep less than whole records, and to learn what a
 * transaction still open held back.
 */
export async function readToEnd(kafka: Kafka, topic: string, options: ReadToEndOptions = {}): Promise<ReadRecord[]> {
  const { keep } = options;
  const records: ReadRecord[] = [];
  await readEach(kafka, topic, (record) => {
    if (!keep || keep(record)) records.push(record);
  }, options);
  return records;
}

/**
 * Hands each record of `topic` (read_committed) from the beginning, or from `fromOffsets`, to
 * each partition's end as it was when the call began to `visit`, once, each partition's in
 * offset order (partitions interleave), and keeps none: what is kept is what `visit` keeps.
 * The end is the high watermark: every record written by then. A read_committed reader
 * cannot pass a transaction still open, so the transactions open then are waited for, up to
 * OPEN_TRANSACTION_WAIT_MS (a transaction whose commit returned but whose marker the broker was
 * still writing is read); the read then ends where the oldest one still open begins (a
 * producer that died mid-transaction holds it open until the broker aborts it, a minute by
 * default), and says so: `heldBack` names each partition cut short and the offsets it did not
 * reach, committed records of other producers after that transaction included. Records a
 * fetch brings from beyond the end (written since) are handed over too, up to `toOffset`. Progress is tracked from kafkajs'
 * end-of-batch events, which also fire for fetches that held only transaction markers or
 * aborted records, so a partition whose tail is a marker still counts as read. What `visit`
 * throws ends the read and is thrown; a consumer kafkajs stops without restarting ends it too
 * (`readerStopped`: KAFKA_REFUSED or KAFKA_CONSUMER_CRASHED). For tests and tools, not for services.
 */
export async function readEach(kafka: Kafka, topic: string, visit: (record: ReadRecord) => void, options: ReadEachOptions = {}): Promise<ReadEnd> {
  const { fromOffsets, toOffset } = options;
  const requested = (partition: number): bigint | undefined => (typeof fromOffsets === 'bigint' ? fromOffsets : fromOffsets?.get(partition));
  /** Per partition: the offsets to hand over, [start, end). */
  const windows = new Map<number, { readonly start: bigint; readonly end: bigint }>();
  for (const { partition, high, low } of await partitionEnds(kafka, topic)) {
    const watermark = BigInt(high);
    const end = toOffset !== undefined && toOffset + 1n < watermark ? toOffset + 1n : watermark;
    const first = BigInt(low);
    const from = requested(partition) ?? first;
    windows.set(partition, { start: from < first ? first : from > end ? end : from, end });
  }
  /** Per partition cut short: the end it had before the cut. */
  const cut = new Map<number, bigint>();
  const stable = await stableOffsets(kafka, topic, windows, options.onWait);
  for (const [partition, window] of windows) {
    const last = stable.get(partition) ?? window.end;
    if (last >= window.end) continue;
    // A transaction still open holds the rest back: a read_committed reader cannot pass it.
    cut.set(partition, window.end);
    windows.set(partition, { start: window.start, end: last > window.start ? last : window.start });
  }
  /**
   * What the cut kept from being read, as it stands after the read: the transaction may have
   * completed meanwhile, and fetches brought (and handed over) records past the cut.
   */
  const heldBack = (position: ReadonlyMap<number, bigint>): ReadEnd => ({
    heldBack: [...cut].flatMap(([partition, to]) => {
      const window = windows.get(partition);
      const reached = position.get(partition) ?? 0n;
      let from = window?.end ?? to;
      if (reached > from) from = reached;
      return from < to ? [{ partition, from, to }] : [];
    }),
  });
  // A partition whose records retention deleted (low = high) has nothing to read: a fetch of it
  // comes back empty and fires no end-of-batch event, and waiting for one timed out (a quiet
  // dead-letter topic read as "Kafka unreachable"). So has one whose end is at or before the
  // start asked for.
  const pending = [...windows].filter(([, window]) => window.end > window.start).map(([partition]) => partition);
  if (pending.length === 0) return heldBack(new Map());
  const consumer = kafka.consumer({ groupId: `${options.groupPrefix ?? `${topic}.reader`}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, maxWaitTimeInMs: 50 });
  /** Per partition: the offset after the last record fetched (end-of-batch events). */
  const position = new Map<number, bigint>();
  /** Per partition: the next offset to hand over; anything below was handed over or skipped. */
  const next = new Map<number, bigint>([...windows].map(([partition, window]) => [partition, window.start]));
  const done = (): boolean => pending.every((partition) => (position.get(partition) ?? 0n) >= (windows.get(partition)?.end ?? 0n));
  let failure: { readonly error: unknown } | undefined;
  try {
    await consumer.connect();
    // kafkajs restarts its consumer after a failure it deems transient (the read goes on, or
    // ends without progress as KAFKA_UNAVAILABLE); after any other (an ACL refusing the topic
    // or the reader's group) it stops for good, and the read waited out its timeout to call
    // the broker unreachable. It ends at once now, with what the broker said.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && failure === undefined) failure = { error: readerStopped(topic, payload.error) };
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const after = BigInt(payload.lastOffset) + 1n;
      if (after > (position.get(payload.partition) ?? 0n)) position.set(payload.partition, after);
    });
    // On every join (a rebalance starts the group's consumers over from the committed offsets,
    // and this group commits none): each partition from where it is to go on, before the first
    // fetch. The group is subscribed from the beginning, which only partitions the topic gained
    // since the call began keep (they are not handed over).
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, from] of next) consumer.seek({ topic, partition, offset: from.toString() });
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      // A throw-away group: committed offsets would keep it listed (and lagging) for days.
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const window = windows.get(batch.partition);
        if (failure !== undefined || window === undefined) return Promise.resolve();
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          // Before the start (a fetch begun before a seek took effect), or handed over already
          // (fetched again after a rebalance). Records past the end the call began with
          // (written since) are handed over too.
          if (offset < (next.get(batch.partition) ?? window.start) || (toOffset !== undefined && offset > toOffset)) continue;
          next.set(batch.partition, offset + 1n);
          try {
            visit({ ...message, partition: batch.partition });
          } catch (error) {
            failure = { error };
            break;
          }
        }
        return Promise.resolve();
      },
    });
    // A deadline without progress, not for the whole read: a large topic read at full speed
    // takes as long as it takes (a dead-letter topic of some GB after an incident).
    const timeoutMs = options.timeoutMs ?? 60000;
    const progress = (): string => pending.map((partition) => `${position.get(partition) ?? -1n}/${next.get(partition) ?? -1n}`).join(',');
    let seen = progress();
    let deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (failure !== undefined) break;
      const now = progress();
      if (now !== seen) {
        seen = now;
        deadline = Date.now() + timeoutMs;
      } else if (Date.now() > deadline) {
        throw new KafkaError('KAFKA_UNAVAILABLE', `Could not read ${topic} to its end: no progress for ${timeoutMs} ms`, { retryable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await consumer.disconnect();
  }
  if (failure !== undefined) throw failure.error;
  return heldBack(position);
}

/**
 * The error a read ends with when kafkajs stopped its consumer without restarting it: KAFKA_REFUSED
 * for a refusal the broker repeats until reconfigured (an ACL), KAFKA_CONSUMER_CRASHED otherwise;
 * neither retryable.
 */
export function readerStopped(topic: string, error: unknown): KafkaError {
  const refused = refusal(error);
  if (refused !== undefined) return new KafkaError('KAFKA_REFUSED', `Could not read ${topic}: the broker refuses it (${refused}); ${refusalHint(refused)}: ${describeError(error)}`, { retryable: false, cause: error, details: { reason: refused } });
  return new KafkaError('KAFKA_CONSUMER_CRASHED', `Could not read ${topic}: its consumer stopped: ${describeError(error)}`, { retryable: false, cause: error });
}

/**
 * How long a read waits for the transactions open when it began to complete (a commit marker
 * not written yet takes milliseconds), before it ends where the oldest one still open begins.
 */
export const OPEN_TRANSACTION_WAIT_MS = 5000;

/** Records a read did not reach: a transaction still open after OPEN_TRANSACTION_WAIT_MS holds back [from, to). */
export interface HeldBack {
  readonly partition: number;
  readonly from: bigint;
  readonly to: bigint;
}

/** How a read ended. */
export interface ReadEnd {
  /** Partitions whose end was held back by a transaction still open (and from where), none for a complete read. */
  readonly heldBack: readonly HeldBack[];
}

/**
 * The last stable offset of each partition whose window it cuts short, once the transactions
 * open when the call began completed, or OPEN_TRANSACTION_WAIT_MS passed: polled from 20 ms,
 * doubling, up to 500 ms.
 */
async function stableOffsets(kafka: Kafka, topic: string, windows: ReadonlyMap<number, { readonly start: bigint; readonly end: bigint }>, onWait: ((partitions: readonly number[]) => void) | undefined): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const deadline = Date.now() + OPEN_TRANSACTION_WAIT_MS;
    for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
      // kafkajs' admin asks for read_committed offsets: its "high" is the last stable offset.
      const stable = new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, BigInt(high)]));
      const waiting = [...windows].filter(([partition, window]) => window.end > window.start && (stable.get(partition) ?? window.end) < window.end).map(([partition]) => partition);
      if (waiting.length === 0 || Date.now() >= deadline) return stable;
      if (delay === 20) onWait?.(waiting);
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    await admin.disconnect();
  }
}
