/**
 * `elephant dead-letters`: a dead-letter topic listed (why, from where, never the values) and
 * replayed to the topics its records came from, as they were, once per source record and code,
 * on the real broker.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchProducer, deadLetter, deadLetterTopic, readToEnd, type KafkaMessage } from '@elephant/kafka';
import { cliHarness } from './cli-harness.ts';

const { ctx, env, elephant, cleanup } = cliHarness('dead-letters');
afterAll(cleanup);

interface Listed {
  readonly offset: string;
  readonly code: string | null;
  readonly service: string | null;
  readonly source: { topic: string; partition: number; offset: string } | null;
  readonly details: unknown;
  readonly valueBytes: number;
}

describe('elephant dead-letters', () => {
  it('lists a dead-letter topic, and replays the records it selects to their source topics and partitions as they were', async () => {
    const source = ctx.topic('raw');
    const other = ctx.topic('merges');
    const dlq = ctx.topic('dlq');
    await ctx.createTopics([
      { topic: source, partitions: 3 },
      { topic: other, partitions: 1 },
      { topic: dlq, partitions: 1 },
    ]);
    const original = (offset: number, text: string): KafkaMessage => ({ key: Buffer.from(`k-${offset}`), value: Buffer.from(text), offset: String(offset), timestamp: String(Date.UTC(2026, 0, 1) + offset), attributes: 0, headers: { trace: Buffer.from(`t-${offset}`) } });
    const at = Date.UTC(2026, 11, 6);
    const letters = [
      deadLetter({ topic: source, partition: 2, message: original(7, '{"bad":1}') }, { code: 'TOUCHPOINT_TOO_LARGE', message: 'too large', details: { size: 10 } }, 'normalizer-web', at),
      deadLetter({ topic: source, partition: 0, message: original(3, 'not json') }, { code: 'INVALID_JSON', message: 'not JSON' }, 'normalizer-web', at),
      // The same dead letter again (a normalizer that restarted before committing): replayed once.
      deadLetter({ topic: source, partition: 2, message: original(7, '{"bad":1}') }, { code: 'TOUCHPOINT_TOO_LARGE', message: 'too large', details: { size: 10 } }, 'normalizer-web', at),
      deadLetter({ topic: other, partition: 0, message: original(9, 'merge') }, { code: 'MERGE_TOO_LARGE', message: 'merge too large' }, 'profile-builder', at),
      // Not one of Elephant's dead letters: listed, never replayed.
      { key: null, value: Buffer.from('stray'), headers: {} },
    ];
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await producer.send([{ topic: dlq, messages: letters }]);
    } finally {
      await producer.disconnect();
    }

    const listed = await elephant(['dead-letters', dlq]);
    expect(listed.code, listed.stderr).toBe(0);
    const all = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Listed);
    expect(all.map((entry) => [entry.offset, entry.code, entry.service])).toEqual([
      ['0', 'TOUCHPOINT_TOO_LARGE', 'normalizer-web'],
      ['1', 'INVALID_JSON', 'normalizer-web'],
      ['2', 'TOUCHPOINT_TOO_LARGE', 'normalizer-web'],
      ['3', 'MERGE_TOO_LARGE', 'profile-builder'],
      ['4', null, null],
    ]);
    expect(all[0]).toMatchObject({ source: { topic: source, partition: 2, offset: '7' }, details: { size: 10 }, valueBytes: 9 });
    expect(listed.stdout).not.toContain('bad');
    const filtered = await elephant(['dead-letters', dlq, '--service', 'normalizer-web', '--from-offset', '1', '--to-offset', '2']);
    expect(filtered.stdout.trim().split('\n').map((line) => (JSON.parse(line) as Listed).offset)).toEqual(['1', '2']);

    const dry = await elephant(['dead-letters', dlq, '--code', 'TOUCHPOINT_TOO_LARGE,MERGE_TOO_LARGE', '--replay', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ replayed: 0, selected: 2, duplicates: 1, unreplayable: 0, byTopic: { [source]: 1, [other]: 1 } });
    expect(await readToEnd(ctx.kafka, source)).toEqual([]);

    const replayed = await elephant(['dead-letters', dlq, '--code', 'TOUCHPOINT_TOO_LARGE,MERGE_TOO_LARGE', '--replay']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replayed: 2, duplicates: 1 });
    const [back, ...more] = await readToEnd(ctx.kafka, source);
    expect(more).toEqual([]);
    expect(back?.partition).toBe(2);
    expect(back?.key?.toString()).toBe('k-7');
    expect(back?.value?.toString()).toBe('{"bad":1}');
    expect(back?.timestamp).toBe(String(Date.UTC(2026, 0, 1) + 7));
    expect(Object.keys(back?.headers ?? {})).toEqual(['trace']);
    expect((await readToEnd(ctx.kafka, other)).map((record) => record.value?.toString())).toEqual(['merge']);
    // Everything else stays where it is; the stray record is never sent anywhere.
    const rest = await elephant(['dead-letters', dlq, '--replay', '--dry-run', '--from-offset', '4']);
    expect(JSON.parse(rest.stdout)).toMatchObject({ selected: 0, unreplayable: 1 });

    expect((await elephant(['dead-letters'])).code).toBe(2);
    expect((await elephant(['dead-letters', dlq, '--from-offset', 'soon'])).code).toBe(2);
    const missing = await elephant(['dead-letters', ctx.topic('nowhere')]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('does not exist');
  });

  it('regression (the listing printed a MISSING_IDENTIFIER\'s dropped identifier values, personal data): shows every `value` in details as [redacted], cut details too', async () => {
    const dlq = ctx.topic('dlq-pii');
    await ctx.createTopics([{ topic: dlq, partitions: 1 }]);
    const at = Date.UTC(2026, 11, 6);
    const original = { key: null, value: Buffer.from('{}'), offset: '1', timestamp: String(at), attributes: 0, headers: {} };
    const dropped = (count: number) => Array.from({ length: count }, (_, index) => ({ field: `traits.email[${index}]`, type: 'email', value: `secret-${index}-${'x'.repeat(180)}@example.com`, reason: 'invalid_email' }));
    const letters = [
      deadLetter({ topic: ctx.topic('raw'), partition: 0, message: original }, { code: 'MISSING_IDENTIFIER', message: 'No usable identifier; dropped: traits.email (invalid_email)', details: { path: '(message)', dropped: dropped(1) } }, 'normalizer-web', at),
      // Over 4,000 characters: written cut, not whole JSON, and listed as text.
      deadLetter({ topic: ctx.topic('raw'), partition: 0, message: original }, { code: 'MISSING_IDENTIFIER', message: 'No usable identifier', details: { note: 'a "value": "in a string" stays', path: '(message)', dropped: dropped(30) } }, 'normalizer-web', at),
    ];
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await producer.send([{ topic: dlq, messages: letters }]);
    } finally {
      await producer.disconnect();
    }
    const listed = await elephant(['dead-letters', dlq]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain('secret-');
    const [whole, cut] = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Listed);
    expect(whole?.details).toEqual({ path: '(message)', dropped: [{ field: 'traits.email[0]', type: 'email', value: '[redacted]', reason: 'invalid_email' }] });
    expect(typeof cut?.details).toBe('string');
    expect(cut?.details).toContain('"field":"traits.email[0]","type":"email","value":"[redacted]","reason":"invalid_email"');
    expect(cut?.details).toContain(String.raw`"note":"a \"value\": \"in a string\" stays"`);
  });

  it('regression (--replay --dry-run reported records as replayable that the replay refused, exit 4): the dry run checks the source topics too', async () => {
    const dlq = ctx.topic('dlq-gone');
    const gone = ctx.topic('gone');
    await ctx.createTopics([{ topic: dlq, partitions: 1 }]);
    const at = Date.UTC(2026, 11, 6);
    const letter = deadLetter({ topic: gone, partition: 0, message: { key: null, value: Buffer.from('x'), offset: '5', timestamp: String(at), attributes: 0, headers: {} } }, { code: 'INVALID_JSON', message: 'not JSON' }, 'normalizer-web', at);
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await producer.send([{ topic: dlq, messages: [letter] }]);
    } finally {
      await producer.disconnect();
    }
    const dry = await elephant(['dead-letters', dlq, '--replay', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(4);
    expect(dry.stderr).toContain(`Source topic ${gone} of the dead letters does not exist`);
    expect(dry.stdout).toBe('');
  });

  it('regression (TOPIC_PREFIX was ignored without a word, though the docs said every command applies it): a bare name whose prefixed topic exists says so (exit 4)', async () => {
    const prefix = env['TOPIC_PREFIX'] ?? '';
    await ctx.createTopics([{ topic: `${prefix}dlq.normalizer.v1`, partitions: 1 }]);
    const bare = await elephant(['dead-letters', 'dlq.normalizer.v1']);
    expect(bare.code).toBe(4);
    expect(bare.stderr).toContain(`Topic dlq.normalizer.v1 does not exist; ${prefix}dlq.normalizer.v1 does (TOPIC_PREFIX is ${JSON.stringify(prefix)})`);
    const full = await elephant(['dead-letters', `${prefix}dlq.normalizer.v1`]);
    expect([full.code, full.stdout]).toEqual([0, '']);
  });

  it('regression (a replay whose send failed partway exited 1 with the broker\'s error alone, saying nothing of what went through): stops with a typed error that counts the dead letters acknowledged before the failure', async () => {
    const open = ctx.topic('open');
    const strict = ctx.topic('strict');
    const dlq = ctx.topic('dlq-partial');
    await ctx.createTopics([
      { topic: open, partitions: 1 },
      // Refuses the 200 kB record below (MESSAGE_TOO_LARGE): a record that cannot go back as it is.
      { topic: strict, partitions: 1, configs: { 'max.message.bytes': '100000' } },
      deadLetterTopic(dlq),
    ]);
    const at = Date.UTC(2026, 11, 6);
    const letter = (topic: string, offset: number, fill: string, bytes: number) =>
      deadLetter({ topic, partition: 0, message: { key: Buffer.from(`k-${offset}`), value: Buffer.alloc(bytes, fill), offset: String(offset), timestamp: String(at), attributes: 0, headers: {} } }, { code: 'TOUCHPOINT_TOO_LARGE', message: 'too large' }, 'normalizer-web', at);
    // Sent about 900 kB at a time, in dead-letter order: [a], [b, c] (refused for c), [d].
    const letters = [letter(open, 0, 'a', 600 * 1024), letter(open, 1, 'b', 600 * 1024), letter(strict, 2, 'c', 200 * 1024), letter(open, 3, 'd', 600 * 1024)];
    const producer = await BatchProducer.connect(ctx.kafka);
    try {
      await producer.send([{ topic: dlq, messages: letters }]);
    } finally {
      await producer.disconnect();
    }

    const replayed = await elephant(['dead-letters', dlq, '--replay']);
    expect(replayed.code, replayed.stderr).toBe(65); // INVALID_INPUT: the broker refused a record as such
    expect(replayed.stdout).toBe('');
    expect(replayed.stderr).toContain(`1 of 4 dead letters were replayed (the first in ${dlq}, up to partition 0 offset 0)`);
    expect(replayed.stderr).toContain(`sending 2 more to ${open}, ${strict} failed`);
    expect(replayed.stderr).toContain('MESSAGE_TOO_LARGE');
    expect(replayed.stderr).toContain('the other 1 were not sent');
    // What it says went through did; what it says was not sent was not.
    const fills = (await readToEnd(ctx.kafka, open)).map((record) => record.value?.toString().slice(0, 1));
    expect(fills[0]).toBe('a');
    expect(fills).not.toContain('d');
    expect(await readToEnd(ctx.kafka, strict)).toEqual([]);
  });

  // Only the local stack serves a SASL_SSL listener (infra/local/tls/).
  it.skipIf(ctx.stack.secureKafka === undefined)('reads over a secured listener with the KAFKA_SSL* and KAFKA_SASL_* settings, and exits 78 naming what Kafka refused (regression: "Cannot reach Kafka ... elephant stack up", exit 69)', async () => {
    const dlq = ctx.topic('secure-dlq');
    await ctx.createTopics([{ topic: dlq, partitions: 1 }]);
    const secure = ctx.stack.secureKafka;
    const settings = { KAFKA_BROKERS: secure?.brokers, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: secure?.caFile, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: secure?.username, KAFKA_SASL_PASSWORD: secure?.password };
    const listed = await elephant(['dead-letters', dlq], settings);
    expect([listed.code, listed.stdout, listed.stderr]).toEqual([0, '', '']);
    const denied = await elephant(['dead-letters', dlq], { ...settings, KAFKA_SASL_PASSWORD: 'wrong' });
    expect(denied.code).toBe(78);
    expect(denied.stderr).toMatch(/Kafka refused the connection \(KAFKA_BROKERS=127\.0\.0\.1:\d+\): SASL PLAIN authentication failed/);
    const untrusted = await elephant(['dead-letters', dlq], { ...settings, KAFKA_SSL_CA_FILE: undefined });
    expect(untrusted.code).toBe(78);
    expect(untrusted.stderr).toMatch(/Kafka refused the connection .*certificate/);
  });
});
