import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CHANNELS, isChannel, type Channel } from '@elephant/channels';
import { BatchProducer, createKafka, ensureTopics, type Message } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import type { CliConfig } from '../config.ts';
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

const CHUNK = 1000;

/** Publishes an NDJSON file of `{"channel": ..., "payload": ...}` lines to the channel topics. */
export async function publish(config: CliConfig, logger: Logger, options: PublishOptions): Promise<PublishResult> {
  const size = (await stat(options.file).catch(() => undefined))?.size;
  if (size === undefined) throw new CliError('FILE_NOT_FOUND', `No file at ${options.file}. Create one with \`elephant simulate --out ${options.file}\`.`);
  const kafka = createKafka({ brokers: config.endpoints.kafkaBrokers.split(','), clientId: 'elephant-cli', logger });
  await ensureTopics(kafka, CHANNELS.map((channel) => ({ topic: rawTopicOf(config, channel), partitions: 8 })));
  const producer = await BatchProducer.connect(kafka);
  const bar = progress('publish', size);
  const perChannel: Partial<Record<Channel, number>> = {};
  const pending = new Map<string, Message[]>();
  let published = 0;
  let skipped = 0;
  let bytes = 0;
  let lineNumber = 0;
  const started = Date.now();
  const flush = async (): Promise<void> => {
    const batches = [...pending].map(([topic, messages]) => ({ topic, messages }));
    pending.clear();
    await producer.send(batches);
    if (options.rate > 0) {
      const due = started + (published / options.rate) * 1000;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
  };
  try {
    const lines = createInterface({ input: createReadStream(options.file, 'utf8'), crlfDelay: Infinity });
    let buffered = 0;
    for await (const line of lines) {
      lineNumber += 1;
      bytes += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      const parsed = parseLine(line);
      if (typeof parsed === 'string') {
        if (!options.skipInvalid) throw new CliError('INVALID_INPUT', `${options.file}:${lineNumber}: ${parsed}. Fix the line, or pass --skip-invalid to skip such lines.`);
        skipped += 1;
        continue;
      }
      const topic = rawTopicOf(config, parsed.channel);
      const list = pending.get(topic) ?? [];
      list.push({ value: JSON.stringify(parsed.payload) });
      pending.set(topic, list);
      perChannel[parsed.channel] = (perChannel[parsed.channel] ?? 0) + 1;
      published += 1;
      buffered += 1;
      const chunk = options.rate > 0 ? Math.max(1, Math.min(CHUNK, Math.round(options.rate / 10))) : CHUNK;
      if (buffered >= chunk) {
        await flush();
        buffered = 0;
      }
      bar.update(bytes, size, `${published} messages`);
    }
    await flush();
    bar.finish(`${published} messages${skipped > 0 ? `, ${skipped} invalid lines skipped` : ''}`);
    return { published, skipped, perChannel };
  } finally {
    await producer.disconnect();
  }
}

function parseLine(line: string): { channel: Channel; payload: unknown } | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object {"channel": ..., "payload": ...}';
  const record = value as Record<string, unknown>;
  if (typeof record['channel'] !== 'string' || !isChannel(record['channel'])) return `"channel" must be one of ${CHANNELS.join(', ')}`;
  if (!('payload' in record)) return '"payload" is missing';
  return { channel: record['channel'], payload: record['payload'] };
}
