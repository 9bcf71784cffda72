import type { Kafka, KafkaMessage } from 'kafkajs';
import { KafkaError } from './errors.ts';

export interface ReadToEndOptions {
  /** @default 60000 */
  readonly timeoutMs?: number;
  /** Prefix of the throw-away consumer group. @default `<topic>.reader` */
  readonly groupPrefix?: string;
}

/**
 * Every record of `topic` (read_committed), from the beginning to each partition's end as it
 * was when the call began. Progress is tracked from kafkajs' end-of-batch events, which also
 * fire for fetches that held only transaction markers or aborted records, so a partition whose
 * tail is a marker still counts as read. For tests, tools and the benchmark, not for services.
 */
/** A record read by `readToEnd`, with the partition it was read from. */
export type ReadRecord = KafkaMessage & { readonly partition: number };

export async function readToEnd(kafka: Kafka, topic: string, options: ReadToEndOptions = {}): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; high: string; low: string }[];
  try {
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  // A partition whose records retention deleted (low = high) has nothing to read: a fetch of it
  // comes back empty and fires no end-of-batch event, and waiting for one timed out (a quiet
  // dead-letter topic read as "Kafka unreachable").
  const pending = ends.filter((end) => Number(end.high) > Number(end.low));
  if (pending.length === 0) return [];
  const consumer = kafka.consumer({ groupId: `${options.groupPrefix ?? `${topic}.reader`}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, maxWaitTimeInMs: 50 });
  const messages: ReadRecord[] = [];
  const position = new Map<number, number>();
  const done = (): boolean => pending.every((end) => (position.get(end.partition) ?? 0) >= Number(end.high));
  await consumer.connect();
  try {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      position.set(payload.partition, Math.max(position.get(payload.partition) ?? 0, Number(payload.lastOffset) + 1));
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      // A throw-away group: committed offsets would keep it listed (and lagging) for days.
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) messages.push({ ...message, partition: batch.partition });
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + (options.timeoutMs ?? 60000);
    while (!done()) {
      if (Date.now() > deadline) throw new KafkaError('KAFKA_UNAVAILABLE', `Could not read ${topic} to its end within ${options.timeoutMs ?? 60000} ms`, { retryable: true });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
