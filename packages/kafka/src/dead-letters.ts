import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { TopicSpec } from './admin.ts';

/**
 * Dead-letter records keep the original key, value and headers byte for byte and add
 * headers that say why (in the spirit of Kafka Connect's `__connect.errors.*`), so an
 * operator can inspect, fix and replay them.
 */
export const DEAD_LETTER_HEADERS = {
  code: 'elephant.dlq.error.code',
  message: 'elephant.dlq.error.message',
  topic: 'elephant.dlq.source.topic',
  partition: 'elephant.dlq.source.partition',
  offset: 'elephant.dlq.source.offset',
  /** The original record's timestamp (epoch ms): the dead letter's own is when it was written. */
  timestamp: 'elephant.dlq.source.timestamp',
  service: 'elephant.dlq.service',
  time: 'elephant.dlq.time',
  details: 'elephant.dlq.error.details',
} as const;

/**
 * A dead-letter topic as the services create it: one partition, and records of up to 10 MB
 * (`max.message.bytes`), since a dead letter keeps its original record whole, whatever size the
 * topic it came from accepts, or the service refused it for.
 */
export function deadLetterTopic(topic: string): TopicSpec {
  return { topic, partitions: 1, configs: { 'max.message.bytes': String(10 * 1024 * 1024) } };
}

export interface DeadLetterReason {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface DeadLetterSource {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * The dead-letter record for `source`, failed for `reason` in `service` at `now`. Its
 * timestamp is `now`, the original's goes in a header: the broker's time-based retention
 * looks at record timestamps, and a dead letter of an old record (a backlog, a topic replayed
 * from the start) kept the original's, so it could be deleted at the next retention check,
 * right after it was written.
 */
export function deadLetter(source: DeadLetterSource, reason: DeadLetterReason, service: string, now: number): Message {
  const headers = originalHeaders(source.message.headers);
  headers[DEAD_LETTER_HEADERS.code] = reason.code;
  // Header values are bytes on the wire; keep them readable but bounded.
  headers[DEAD_LETTER_HEADERS.message] = reason.message.slice(0, 2000);
  headers[DEAD_LETTER_HEADERS.topic] = source.topic;
  headers[DEAD_LETTER_HEADERS.partition] = String(source.partition);
  headers[DEAD_LETTER_HEADERS.offset] = source.message.offset;
  headers[DEAD_LETTER_HEADERS.timestamp] = source.message.timestamp;
  headers[DEAD_LETTER_HEADERS.service] = service;
  headers[DEAD_LETTER_HEADERS.time] = new Date(now).toISOString();
  if (reason.details && Object.keys(reason.details).length > 0) headers[DEAD_LETTER_HEADERS.details] = JSON.stringify(reason.details).slice(0, 4000);
  return { key: source.message.key, value: source.message.value, headers, timestamp: String(now) };
}

/**
 * The record's headers to copy: its own, with values the producer can write (bytes, strings,
 * or null: a header without a value). The record decoder gives nothing else (record-decoder.ts); a value of another
 * kind would make the dead-letter send throw, again on every retry, and block the partition.
 */
function originalHeaders(source: IHeaders | undefined): IHeaders {
  // No prototype: a header named `__proto__` is a header like any other.
  const headers = Object.create(null) as IHeaders;
  if (!source) return headers;
  for (const name of Object.keys(source)) {
    const value = source[name];
    if (isHeaderValue(value)) headers[name] = value;
    else if (Array.isArray(value)) headers[name] = value.filter(isHeaderValue);
  }
  return headers;
}

function isHeaderValue(value: unknown): value is Buffer | string | null {
  return value === null || typeof value === 'string' || Buffer.isBuffer(value);
}

/**
 * Reads a header as a string (Kafka delivers header values as Buffers); undefined when absent
 * or without a value (null: Kafka's record format allows it, the Java client writes it, and
 * @elephant/kafka's record decoder gives it as null, which kafkajs' types do not show).
 */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first: Buffer | string | null | undefined = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === null ? undefined : first.toString();
}

/** What a dead letter says about itself, read from its headers. */
export interface DeadLetterInfo {
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly service: string | undefined;
  readonly time: string | undefined;
  /** Where the original record was read; undefined when the headers do not say. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string } | undefined;
  /** The details as written (JSON, at most 4,000 characters: may be cut). */
  readonly details: string | undefined;
}

export function deadLetterInfo(record: Pick<KafkaMessage, 'headers'>): DeadLetterInfo {
  const text = (name: string): string | undefined => headerText(record.headers, name);
  const topic = text(DEAD_LETTER_HEADERS.topic);
  const partition = Number(text(DEAD_LETTER_HEADERS.partition));
  const offset = text(DEAD_LETTER_HEADERS.offset);
  return {
    code: text(DEAD_LETTER_HEADERS.code),
    message: text(DEAD_LETTER_HEADERS.message),
    service: text(DEAD_LETTER_HEADERS.service),
    time: text(DEAD_LETTER_HEADERS.time),
    source: topic !== undefined && topic !== '' && Number.isSafeInteger(partition) && partition >= 0 && offset !== undefined ? { topic, partition, offset } : undefined,
    details: text(DEAD_LETTER_HEADERS.details),
  };
}

/**
 * The record a dead letter was made from, as it goes back to its source topic: the same key,
 * value, timestamp (the `elephant.dlq.source.timestamp` header; a dead letter written before
 * 2026-12-06 has none and carries the original's as its own) and partition, and its own
 * headers without the `elephant.dlq.*` ones.
 * Undefined for a record whose headers name no source (not one of Elephant's dead letters).
 * The timestamp matters: a normalizer takes a raw message's ingest time from it, and with it
 * the event ids, so a replayed message that goes through yields the ids it would have had.
 */
export function replayRecordOf(record: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'timestamp'>): { readonly topic: string; readonly message: Message } | undefined {
  const { source } = deadLetterInfo(record);
  if (!source) return undefined;
  const headers = originalHeaders(record.headers);
  for (const name of Object.keys(headers)) if (name.startsWith('elephant.dlq.')) delete headers[name];
  const timestamp = headerText(record.headers, DEAD_LETTER_HEADERS.timestamp);
  return { topic: source.topic, message: { key: record.key, value: record.value, headers, timestamp: timestamp !== undefined && /^\d+$/.test(timestamp) ? timestamp : record.timestamp, partition: source.partition } };
}
