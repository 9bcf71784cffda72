/**
 * The normalizer's batch handler without a broker: the producer is the one seam faked (it
 * is where the broker would answer), the Avro encoding is avsc's with the real schema.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { MAX_EVENTS_PER_MESSAGE, MAX_REPORTED_DROPS, MAX_REPORTED_REJECTIONS, touchpointSchema, type Touchpoint } from '@elephant/channels';
import { DEAD_LETTER_HEADERS, headerText, KafkaError, type KafkaMessage, type OutboundBatch } from '@elephant/kafka';
import { createLogger, createMetricsRegistry, type Registry } from '@elephant/observability';
import { ElephantError } from '@elephant/errors';
import { createNormalizerHandler, createNormalizerMetrics, type NormalizerDeps, type TouchpointProducer } from '@elephant/normalizer';
import { segmentTrack } from './samples.ts';

const type = avro.Type.forSchema(touchpointSchema as avro.Schema);
const topics = { sources: [{ channel: 'web' as const, topic: 'raw.web' }, { channel: 'email' as const, topic: 'raw.email' }], touchpoints: 'touchpoints.v1', deadLetters: 'dlq.normalizer.v1', group: 'g' };

/** Records every send; `fail` decides per call whether (and how) it fails. */
class FakeProducer implements TouchpointProducer {
  readonly sent: OutboundBatch[][] = [];
  calls = 0;
  readonly #fail: (batches: readonly OutboundBatch[], call: number) => Error | undefined;
  constructor(fail: (batches: readonly OutboundBatch[], call: number) => Error | undefined = () => undefined) {
    this.#fail = fail;
  }
  send(batches: readonly OutboundBatch[]): Promise<unknown> {
    this.calls += 1;
    const error = this.#fail(batches, this.calls);
    if (error) return Promise.reject(error);
    this.sent.push([...batches]);
    return Promise.resolve([]);
  }
  messages(topic: string): OutboundBatch['messages'][number][] {
    return this.sent.flat().filter((batch) => batch.topic === topic).flatMap((batch) => [...batch.messages]);
  }
}

interface Setup {
  readonly deps: NormalizerDeps;
  readonly metrics: Registry;
  readonly logs: Record<string, unknown>[];
}

function setup(producer: TouchpointProducer, overrides: Partial<NormalizerDeps> = {}): Setup {
  const metrics = createMetricsRegistry({ service: 'normalizer-test' });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ name: 'test', level: 'debug', destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
  const deps: NormalizerDeps = {
    topics,
    context: { tenant: 'default', defaultRegion: 'US' },
    registry: { encode: (_id: number, value: unknown) => type.toBuffer(value) },
    touchpointSchemaId: 1,
    producer,
    metrics: createNormalizerMetrics(metrics),
    logger,
    now: () => 1_800_000_000_000,
    maxTouchpointBytes: 900 * 1024,
    ...overrides,
  };
  return { deps, metrics, logs };
}

function raw(values: readonly string[]): KafkaMessage[] {
  return values.map((value, index) => ({ key: null, value: Buffer.from(value), offset: String(index), timestamp: '1800000000000', attributes: 0, headers: {} }));
}

async function total(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
}

const signal = new AbortController().signal;
const context = { signal, groupId: 'g', nextOffset: '0' };

describe('normalizer handler', () => {
  it('throws a retryable produce failure to the runner and dead-letters nothing; the retried batch goes through once', async () => {
    const producer = new FakeProducer((_batches, call) => (call === 1 ? new KafkaError('KAFKA_UNAVAILABLE', 'broker down', { retryable: true }) : undefined));
    const { deps, metrics } = setup(producer);
    const handler = createNormalizerHandler(deps);
    const batch = { topic: 'raw.web', partition: 0, messages: raw([segmentTrack('m-1', 'a-1'), segmentTrack('m-2', 'a-2')]) };
    await expect(handler([batch], context)).rejects.toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    expect(await total(metrics, 'elephant_normalizer_consumed_total')).toBe(0);
    // What the runner does with a retryable error: the same batch again.
    await handler([batch], context);
    expect(producer.messages(topics.touchpoints)).toHaveLength(2);
    expect(producer.messages(topics.deadLetters)).toHaveLength(0);
    expect(await total(metrics, 'elephant_normalizer_consumed_total')).toBe(2);
    expect(await total(metrics, 'elephant_normalizer_dead_lettered_total')).toBe(0);
  });

  it('normalizes the batches of several partitions and topics in one call: one send, each dead letter naming its own partition', async () => {
    const producer = new FakeProducer();
    const { deps, metrics } = setup(producer);
    const [bad] = raw(['not json']);
    await createNormalizerHandler(deps)(
      [
        { topic: 'raw.web', partition: 1, messages: raw([segmentTrack('w-1', 'a-1'), segmentTrack('w-2', 'a-2')]) },
        { topic: 'raw.web', partition: 5, messages: [bad as KafkaMessage] },
        { topic: 'raw.email', partition: 2, messages: raw([JSON.stringify([{ email: 'e@example.com', timestamp: 1793604600, event: 'open', sg_event_id: 'sg-9' }])]) },
      ],
      context,
    );
    expect(producer.calls).toBe(1);
    expect(producer.messages(topics.touchpoints).map((record) => (type.fromBuffer(record.value as Buffer) as Touchpoint).source.eventId)).toEqual(['w-1', 'w-2', 'sg-9']);
    const dead = producer.messages(topics.deadLetters);
    expect(dead.map((record) => [headerText(record.headers, DEAD_LETTER_HEADERS.topic), headerText(record.headers, DEAD_LETTER_HEADERS.partition)])).toEqual([['raw.web', '5']]);
    expect(await total(metrics, 'elephant_normalizer_consumed_total', { channel: 'web' })).toBe(3);
    expect(await total(metrics, 'elephant_normalizer_consumed_total', { channel: 'email' })).toBe(1);
  });

  it('sends n touchpoints and one dead letter for a SendGrid batch with one unusable event', async () => {
    const producer = new FakeProducer();
    const { deps, metrics } = setup(producer);
    const events = [
      { email: 'a@example.com', timestamp: 1793604600, event: 'delivered', sg_event_id: 'sg-1' },
      { email: 'b@example.com', timestamp: 1793604600, event: 'open', sg_event_id: 'sg-2' },
      { email: 'c@example.com', timestamp: 1793604600, event: 'account_status_change', sg_event_id: 'sg-3' },
      { email: 'd@example.com', timestamp: 1793604600, event: 'click', sg_event_id: 'sg-4' },
    ];
    const [message] = raw([JSON.stringify(events)]);
    await createNormalizerHandler(deps)([{ topic: 'raw.email', partition: 3, messages: [message as KafkaMessage] }], context);
    const touchpoints = producer.messages(topics.touchpoints).map((record) => type.fromBuffer(record.value as Buffer) as Touchpoint);
    expect(touchpoints.map((touchpoint) => touchpoint.source.eventId)).toEqual(['sg-1', 'sg-2', 'sg-4']);
    const [dead, ...others] = producer.messages(topics.deadLetters);
    expect(others).toEqual([]);
    expect(dead?.value).toEqual(message?.value);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('UNKNOWN_EVENT_TYPE');
    expect(JSON.parse(headerText(dead?.headers, DEAD_LETTER_HEADERS.details) ?? '{}')).toEqual({ rejected: [{ index: 2, code: 'UNKNOWN_EVENT_TYPE' }], emitted: 3 });
    expect(await total(metrics, 'elephant_normalizer_produced_total')).toBe(3);
    expect(await total(metrics, 'elephant_normalizer_dead_lettered_total', { reason: 'UNKNOWN_EVENT_TYPE' })).toBe(1);
  });

  it('regression (a megabyte of junk items in a SendGrid array took seconds and most of a gigabyte): a batch over MAX_EVENTS_PER_MESSAGE is refused whole, and a reason lists the first rejections, counting the rest', async () => {
    const producer = new FakeProducer();
    const { deps } = setup(producer);
    const good = { email: 'a@example.com', timestamp: 1793604600, event: 'open', sg_event_id: 'sg-1' };
    const [junk, partly] = raw([`[${Array(MAX_EVENTS_PER_MESSAGE + 1).fill('1').join(',')}]`, JSON.stringify([good, ...Array<number>(500).fill(1)])]);
    await createNormalizerHandler(deps)([{ topic: 'raw.email', partition: 0, messages: [junk as KafkaMessage, partly as KafkaMessage] }], context);
    const [refused, rejected, ...others] = producer.messages(topics.deadLetters);
    expect(others).toEqual([]);
    expect(headerText(refused?.headers, DEAD_LETTER_HEADERS.code)).toBe('MESSAGE_TOO_LARGE');
    expect(headerText(refused?.headers, DEAD_LETTER_HEADERS.message)).toBe(`A batch of ${MAX_EVENTS_PER_MESSAGE + 1} events exceeds the limit of ${MAX_EVENTS_PER_MESSAGE} events per message`);
    expect(refused?.value).toEqual(junk?.value);
    const details = JSON.parse(headerText(rejected?.headers, DEAD_LETTER_HEADERS.details) ?? '{}') as { rejected: unknown[]; rejectedOmitted: number; emitted: number };
    expect([details.rejected.length, details.rejectedOmitted, details.emitted]).toEqual([MAX_REPORTED_REJECTIONS, 500 - MAX_REPORTED_REJECTIONS, 1]);
    expect(headerText(rejected?.headers, DEAD_LETTER_HEADERS.message)).toMatch(/^500 of the message's events were rejected: \[1\] .*; and 490 more$/);
    expect(producer.messages(topics.touchpoints)).toHaveLength(1);
  });

  it('dead-letters a raw message whose touchpoint fails to encode, and the rest of the batch goes on', async () => {
    const producer = new FakeProducer();
    const { deps } = setup(producer, {
      registry: {
        encode: (_id: number, value: unknown) => {
          if ((value as Touchpoint).source.eventId === 'bad') throw new ElephantError('AVRO_ENCODE_FAILED', 'does not match the schema');
          return type.toBuffer(value);
        },
      },
    });
    await createNormalizerHandler(deps)([{ topic: 'raw.web', partition: 0, messages: raw([segmentTrack('ok-1', 'a'), segmentTrack('bad', 'b'), segmentTrack('ok-2', 'c')]) }], context);
    expect(producer.messages(topics.touchpoints)).toHaveLength(2);
    const dead = producer.messages(topics.deadLetters);
    expect(dead.map((record) => headerText(record.headers, DEAD_LETTER_HEADERS.code))).toEqual(['AVRO_ENCODE_FAILED']);
    expect(headerText(dead[0]?.headers, DEAD_LETTER_HEADERS.offset)).toBe('1');
  });

  it('regression (oversized touchpoint blocks the partition): a touchpoint over TOUCHPOINT_MAX_BYTES is dead-lettered, not produced', async () => {
    const producer = new FakeProducer();
    const { deps, metrics } = setup(producer, { maxTouchpointBytes: 2048 });
    await createNormalizerHandler(deps)([{ topic: 'raw.web', partition: 0, messages: raw([segmentTrack('small', 'a'), segmentTrack('big', 'b', 'x'.repeat(3000))]) }], context);
    expect(producer.messages(topics.touchpoints)).toHaveLength(1);
    const [dead] = producer.messages(topics.deadLetters);
    expect(headerText(dead?.headers, DEAD_LETTER_HEADERS.code)).toBe('TOUCHPOINT_TOO_LARGE');
    expect(await total(metrics, 'elephant_normalizer_dead_lettered_total', { reason: 'TOUCHPOINT_TOO_LARGE' })).toBe(1);
  });

  it('dead-letters only the raw message whose touchpoint the broker refuses (KAFKA_RECORD_REJECTED) instead of retrying forever', async () => {
    const refused = (batches: readonly OutboundBatch[]): boolean => batches.some((batch) => batch.topic === topics.touchpoints && batch.messages.some((record) => (type.fromBuffer(record.value as Buffer) as Touchpoint).source.eventId === 'refused'));
    const producer = new FakeProducer((batches) => (refused(batches) ? new KafkaError('KAFKA_RECORD_REJECTED', 'MESSAGE_TOO_LARGE', { retryable: false, details: { type: 'MESSAGE_TOO_LARGE' } }) : undefined));
    const { deps, metrics } = setup(producer);
    await createNormalizerHandler(deps)([{ topic: 'raw.web', partition: 0, messages: raw([segmentTrack('ok-1', 'a'), segmentTrack('refused', 'b'), segmentTrack('ok-2', 'c')]) }], context);
    const produced = producer.messages(topics.touchpoints).map((record) => (type.fromBuffer(record.value as Buffer) as Touchpoint).source.eventId);
    expect(produced).toEqual(['ok-1', 'ok-2']);
    const dead = producer.messages(topics.deadLetters);
    expect(dead.map((record) => [headerText(record.headers, DEAD_LETTER_HEADERS.code), headerText(record.headers, DEAD_LETTER_HEADERS.offset)])).toEqual([['TOUCHPOINT_REJECTED', '1']]);
    expect(await total(metrics, 'elephant_normalizer_produced_total')).toBe(2);
    expect(await total(metrics, 'elephant_normalizer_dead_lettered_total', { reason: 'TOUCHPOINT_REJECTED' })).toBe(1);
  });

  it('counts touchpoints whose source clock runs ahead (a time after the raw record\'s timestamp) per channel, and sends them with the times as reported', async () => {
    const producer = new FakeProducer();
    const { deps, metrics } = setup(producer);
    // The raw records' timestamp (their ingestTime) is 2027-01-15T08:00:00Z.
    const at = (messageId: string, timestamp: string): string => JSON.stringify({ type: 'track', event: 'Viewed', messageId, anonymousId: 'a-1', timestamp });
    await createNormalizerHandler(deps)([{ topic: 'raw.web', partition: 0, messages: raw([at('m-past', '2026-11-01T10:00:00Z'), at('m-ahead', '2030-01-01T00:00:00Z'), at('m-now', '2027-01-15T08:00:00Z')]) }], context);
    expect(await total(metrics, 'elephant_normalizer_future_times_total', { channel: 'web' })).toBe(1);
    const sent = producer.messages(topics.touchpoints).map((record) => type.fromBuffer(record.value as Buffer) as Touchpoint);
    expect(sent.find((touchpoint) => touchpoint.source.eventId === 'm-ahead')?.eventTime).toBe(Date.UTC(2030, 0, 1));
  });

  it('counts dropped identifiers by type and reason once a batch, logs each (debug) with its eventId and the batch (info), never the value', async () => {
    const producer = new FakeProducer();
    const { deps, metrics, logs } = setup(producer);
    const message = JSON.stringify({ type: 'identify', messageId: 'm-drop', anonymousId: 'a-1', timestamp: '2026-11-01T10:00:00Z', traits: { email: 'ann@', phone: '12' } });
    await createNormalizerHandler(deps)([{ topic: 'raw.web', partition: 0, messages: raw([message]) }], context);
    expect(await total(metrics, 'elephant_normalizer_dropped_identifiers_total', { type: 'email', reason: 'invalid_email' })).toBe(1);
    expect(await total(metrics, 'elephant_normalizer_dropped_identifiers_total', { type: 'phone', reason: 'invalid_phone' })).toBe(1);
    const [record] = producer.messages(topics.touchpoints);
    const eventId = (type.fromBuffer(record?.value as Buffer) as Touchpoint).eventId;
    const drops = logs.filter((line) => line['msg'] === 'identifier dropped by normalization');
    expect(drops.map((line) => [line['type'], line['reason'], line['eventId']])).toEqual([
      ['email', 'invalid_email', eventId],
      ['phone', 'invalid_phone', eventId],
    ]);
    expect(drops.map((line) => line['level'])).toEqual(['debug', 'debug']);
    // One summary per batch at info, counts by type and reason.
    const summaries = logs.filter((line) => line['msg'] === 'identifiers dropped by normalization');
    expect(summaries.map((line) => [line['level'], line['dropped']])).toEqual([['info', [{ type: 'email', reason: 'invalid_email', count: 1 }, { type: 'phone', reason: 'invalid_phone', count: 1 }]]]);
    expect(JSON.stringify(drops)).not.toContain('ann@');
    expect(JSON.stringify(summaries)).not.toContain('ann@');
  });

  it('regression (200,000 dropped identifiers of one message overflowed the stack, stopping the consumer for good): every drop is counted; past the property limits the message is dead-lettered', async () => {
    const producer = new FakeProducer();
    const crmTopics = { ...topics, sources: [...topics.sources, { channel: 'crm' as const, topic: 'raw.crm' }] };
    const { deps, metrics, logs } = setup(producer, { topics: crmTopics });
    // Since 2026-12-07 dropped values stay in properties: 999 fit PROPERTY_LIMITS.keys, 200,000 do not.
    const junk = JSON.stringify({ type: 'created', id: 'chg-junk', occurredAt: '2026-11-01T10:00:00Z', contact: { id: 'C-1', emails: Array.from({ length: 999 }, () => 1) } });
    const tooMuch = JSON.stringify({ type: 'created', id: 'chg-too-much', occurredAt: '2026-11-01T10:00:00Z', contact: { id: 'C-3', emails: Array.from({ length: 200_000 }, () => 1) } });
    expect(tooMuch.length).toBeGreaterThan(400_000);
    const good = JSON.stringify({ type: 'updated', id: 'chg-good', occurredAt: '2026-11-01T10:00:00Z', contact: { id: 'C-2', email: 'ann@example.com' } });
    await createNormalizerHandler(deps)([{ topic: 'raw.crm', partition: 0, messages: raw([junk, tooMuch, good]) }], context);
    const produced = producer.messages(topics.touchpoints).map((record) => type.fromBuffer(record.value as Buffer) as Touchpoint);
    expect(produced.map((touchpoint) => [touchpoint.source.eventId, touchpoint.identifiers])).toEqual([
      ['chg-junk', [{ type: 'crm_id', value: 'C-1' }]],
      ['chg-good', [{ type: 'crm_id', value: 'C-2' }, { type: 'email', value: 'ann@example.com' }]],
    ]);
    expect(Object.keys(produced[0]?.properties ?? {})).toHaveLength(999);
    expect(producer.messages(topics.deadLetters).map((record) => headerText(record.headers, DEAD_LETTER_HEADERS.code))).toEqual(['PROPERTIES_TOO_LARGE']);
    // Every drop is counted; only the first MAX_REPORTED_DROPS are logged one by one.
    expect(await total(metrics, 'elephant_normalizer_dropped_identifiers_total', { channel: 'crm', type: 'email', reason: 'wrong_type' })).toBe(999);
    expect(logs.filter((line) => line['msg'] === 'identifier dropped by normalization')).toHaveLength(MAX_REPORTED_DROPS);
    expect(logs.filter((line) => line['msg'] === 'identifiers dropped by normalization').map((line) => line['dropped'])).toEqual([[{ type: 'email', reason: 'wrong_type', count: 999 }]]);
    expect(await total(metrics, 'elephant_normalizer_consumed_total', { channel: 'crm' })).toBe(3);
  });

  it('dead-letters a message as ADAPTER_FAILED when handling it throws a plain error, and the rest of the batch goes on', async () => {
    const producer = new FakeProducer();
    const { deps } = setup(producer, {
      registry: {
        encode: (_id: number, value: unknown) => {
          if ((value as Touchpoint).source.eventId === 'bad') throw new RangeError('Maximum call stack size exceeded');
          return type.toBuffer(value);
        },
      },
    });
    await createNormalizerHandler(deps)([{ topic: 'raw.web', partition: 0, messages: raw([segmentTrack('ok-1', 'a'), segmentTrack('bad', 'b'), segmentTrack('ok-2', 'c')]) }], context);
    expect(producer.messages(topics.touchpoints)).toHaveLength(2);
    const dead = producer.messages(topics.deadLetters);
    expect(dead.map((record) => [headerText(record.headers, DEAD_LETTER_HEADERS.code), headerText(record.headers, DEAD_LETTER_HEADERS.offset)])).toEqual([['ADAPTER_FAILED', '1']]);
    expect(headerText(dead[0]?.headers, DEAD_LETTER_HEADERS.message)).toBe('Encoding the touchpoint failed: RangeError: Maximum call stack size exceeded');
  });

  it('dead-letters each message when adapting throws outside the adapter (a bug), instead of failing the batch', async () => {
    const producer = new FakeProducer();
    const { deps } = setup(producer);
    const broken = Object.defineProperty({ ...deps.context }, 'defaultRegion', {
      enumerable: true,
      get: (): string => {
        throw new TypeError('broken context');
      },
    });
    await createNormalizerHandler({ ...deps, context: broken })([{ topic: 'raw.web', partition: 0, messages: raw([segmentTrack('m-1', 'a'), segmentTrack('m-2', 'b')]) }], context);
    expect(producer.messages(topics.touchpoints)).toEqual([]);
    expect(producer.messages(topics.deadLetters).map((record) => [headerText(record.headers, DEAD_LETTER_HEADERS.code), headerText(record.headers, DEAD_LETTER_HEADERS.message)])).toEqual([
      ['ADAPTER_FAILED', 'The adapter failed: TypeError: broken context'],
      ['ADAPTER_FAILED', 'The adapter failed: TypeError: broken context'],
    ]);
  });
});
