import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isElephantError } from '@elephant/errors';
import { createInterface } from 'node:readline';
import { CHANNELS, isChannel, parseJsonKeepingNumbers, type Channel } from '@elephant/channels';
import { BatchProducer, ensureTopics, type Message } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { paced } from '@elephant/simulator';
import type { CliConfig } from '../config.ts';
import { commandKafka } from '../connect.ts';
import { CliError } from '../errors.ts';
import { progress } from '../progress.ts';
import { rawTopicOf } from '../topology.ts';

export interface PublishOptions {
  readonly file: string;
  /** Skip (and count) lines that are not `{"channel": ..., "payload": ...}` instead of stopping. */
  readonly skipInvalid: boolean;
  /** Messages per second; 0 = as fast as the broker takes them. */
  readonly rate: number;
}

export interface PublishResult {
  readonly published: number;
  readonly skipped: number;
  readonly perChannel: Partial<Record<Channel, number>>;
}

/** One raw channel message: the channel and the payload's JSON text (the bytes published). */
export interface RawMessage {
  readonly channel: Channel;
  readonly json: string;
}

const CHUNK = 1000;

/**
 * The one producer path to the raw channel topics, used by `publish` and `simulate --publish`:
 * creates missing topics (PARTITIONS partitions), batches messages per topic, and sends a
 * batch every CHUNK messages, or every tenth of a second's worth at a set rate so a paced
 * message waits at most ~100 ms in the buffer.
 */
export class RawPublisher {
  /** Each channel's raw topic, worked out once (the normalizer's configuration, files and all, is parsed for it). */
  readonly #topics: ReadonlyMap<Channel, string>;
  readonly #producer: BatchProducer;
  readonly #chunk: number;
  readonly #pending = new Map<string, Message[]>();
  #buffered = 0;
  published = 0;
  /** Messages the broker acknowledged (sent in a flush that succeeded); `published` counts those added. */
  sent = 0;
  readonly perChannel: Partial<Record<Channel, number>> = {};

  private constructor(topics: ReadonlyMap<Channel, string>, producer: BatchProducer, rate: number) {
    this.#topics = topics;
    this.#producer = producer;
    this.#chunk = rate > 0 ? Math.max(1, Math.min(CHUNK, Math.round(rate / 10))) : CHUNK;
  }

  static async connect(config: CliConfig, logger: Logger, rate: number): Promise<RawPublisher> {
    const kafka = commandKafka(config, logger);
    const topics = new Map(CHANNELS.map((channel) => [channel, rawTopicOf(config, channel)]));
    await ensureTopics(kafka, [...topics.values()].map((topic) => ({ topic, partitions: config.PARTITIONS })));
    return new RawPublisher(topics, await BatchProducer.connect(kafka), rate);
  }

  async add(message: RawMessage): Promise<void> {
    const topic = this.#topics.get(message.channel);
    if (topic === undefined) throw new Error(`no raw topic for channel ${message.channel}`);
    const list = this.#pending.get(topic) ?? [];
    list.push({ value: message.json });
    this.#pending.set(topic, list);
    this.perChannel[message.channel] = (this.perChannel[message.channel] ?? 0) + 1;
    this.published += 1;
    this.#buffered += 1;
    if (this.#buffered >= this.#chunk) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffered === 0) return;
    const batches = [...this.#pending].map(([topic, messages]) => ({ topic, messages }));
    const count = this.#buffered;
    this.#pending.clear();
    this.#buffered = 0;
    await this.#producer.send(batches);
    this.sent += count;
  }

  /** Flushes what is buffered (unless the work failed: the failure is what the caller reports) and disconnects. */
  async close(options: { readonly flush: boolean } = { flush: true }): Promise<void> {
    try {
      if (options.flush) await this.flush();
    } finally {
      await this.#producer.disconnect();
    }
  }
}

/** Publishes an NDJSON file of `{"channel": ..., "payload": ...}` lines to the channel topics. */
export async function publish(config: CliConfig, logger: Logger, options: PublishOptions): Promise<PublishResult> {
  const size = await inputFileSize(options.file);
  const publisher = await RawPublisher.connect(config, logger, options.rate);
  const bar = progress('publish', size);
  let skipped = 0;
  let bytes = 0;
  let lineNumber = 0;
  async function* messages(): AsyncGenerator<RawMessage> {
    const lines = createInterface({ input: createReadStream(options.file, 'utf8'), crlfDelay: Infinity });
    for await (const read of lines) {
      lineNumber += 1;
      bytes += Buffer.byteLength(read) + 1;
      // A byte order mark some editors write at the start of a UTF-8 file (before 2026-12-07: "not JSON" on line 1).
      const line = lineNumber === 1 && read.startsWith('\uFEFF') ? read.slice(1) : read;
      if (line.trim() === '') continue;
      const parsed = parsePublishLine(line);
      if (typeof parsed === 'string') {
        if (!options.skipInvalid) throw new CliError('INVALID_INPUT', `${options.file}:${lineNumber}: ${parsed}.`, { details: { line: lineNumber } });
        skipped += 1;
        continue;
      }
      yield parsed;
    }
  }
  let completed = false;
  let badLine: CliError | undefined;
  try {
    for await (const message of paced(messages(), { rate: options.rate })) {
      await publisher.add(message);
      bar.update(bytes, size, `${publisher.published} messages`);
    }
    completed = true;
  } catch (error) {
    // The lines before a bad one are good: they are sent (and counted) before the command stops.
    if (!isElephantError(error, 'INVALID_INPUT')) throw error;
    badLine = error;
    completed = true;
  } finally {
    await publisher.close({ flush: completed });
  }
  if (badLine !== undefined) {
    // Before 2026-12-07 the message named the line only, and the messages of the lines before it
    // were published (up to the last 1,000 of them) without saying so.
    throw new CliError(
      'INVALID_INPUT',
      `${badLine.message} The ${publisher.sent} messages of the lines before it were published. Fix the line and publish the file again (the messages are published again too, and get the same event ids, which the services take as redeliveries: docs/channels.md), or pass --skip-invalid to skip such lines.`,
      { details: { ...badLine.details, published: publisher.sent } },
    );
  }
  bar.finish(`${publisher.published} messages${skipped > 0 ? `, ${skipped} invalid lines skipped` : ''}`);
  return { published: publisher.published, skipped, perChannel: publisher.perChannel };
}

/**
 * The size of the file `publish` reads, which must be a readable file: FILE_NOT_FOUND (exit 66)
 * if it is missing, a directory (before 2026-12-07: EISDIR, exit 1) or not readable. A pipe
 * (`--file <(...)`) is taken.
 */
async function inputFileSize(file: string): Promise<number> {
  const stats = await stat(file).catch(() => undefined);
  if (stats === undefined) throw new CliError('FILE_NOT_FOUND', `No file at ${file}. Create one with \`elephant simulate --out ${file}\`.`);
  if (stats.isDirectory()) throw new CliError('FILE_NOT_FOUND', `${file} is a directory: --file takes an NDJSON file (one per run).`);
  const readable = await access(file, constants.R_OK).then(() => true, () => false);
  if (!readable) throw new CliError('FILE_NOT_FOUND', `${file} cannot be read (permission denied).`);
  return stats.size;
}

/** One line of a publish file: the message, or why the line is not one. */
export function parsePublishLine(line: string): RawMessage | string {
  let value: unknown;
  try {
    // The payload is sent as JSON written again: its numbers as the line wrote them (an id past
    // 2^53 went out rounded before 2026-12-07, which the normalizer keeps exact from the source).
    value = parseJsonKeepingNumbers(line);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object {"channel": ..., "payload": ...}';
  const record = value as Record<string, unknown>;
  if (typeof record['channel'] !== 'string' || !isChannel(record['channel'])) return `"channel" must be one of ${CHANNELS.join(', ')}`;
  if (!('payload' in record)) return '"payload" is missing';
  return { channel: record['channel'], json: JSON.stringify(record['payload']) };
}
