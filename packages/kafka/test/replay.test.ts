/** What a dead letter says about itself, and the record it goes back to its source as. */
import { describe, expect, it } from 'vitest';
import { deadLetter, deadLetterInfo, headerText, replayRecordOf, type KafkaMessage } from '@elephant/kafka';

const original: KafkaMessage = {
  key: Buffer.from('k-1'),
  value: Buffer.from([0xc3, 0x28, 0x7b]),
  offset: '41',
  timestamp: '1767225600000',
  attributes: 0,
  headers: { 'elephant.source.topic': Buffer.from('raw.web.v1'), repeated: [Buffer.from('a'), Buffer.from('b')] },
};

/** A dead letter as the broker gives it back: header values as Buffers. */
function asRead(message: ReturnType<typeof deadLetter>): Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'timestamp'> {
  const headers: KafkaMessage['headers'] = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = typeof value === 'string' ? Buffer.from(value) : value;
  return { key: message.key as Buffer, value: message.value as Buffer, headers, timestamp: message.timestamp ?? '0' };
}

describe('dead-letter replay', () => {
  const dead = asRead(deadLetter({ topic: 'elephant.raw.web.v1', partition: 5, message: original }, { code: 'SCHEMA_VIOLATION', message: 'bad', details: { field: 'userId' } }, 'normalizer-web', Date.UTC(2026, 11, 6)));

  it('reads why and from where', () => {
    expect(deadLetterInfo(dead)).toEqual({
      code: 'SCHEMA_VIOLATION',
      message: 'bad',
      service: 'normalizer-web',
      time: '2026-12-06T00:00:00.000Z',
      source: { topic: 'elephant.raw.web.v1', partition: 5, offset: '41' },
      details: '{"field":"userId"}',
    });
  });

  it('gives back the original record: key, value, timestamp, partition, and its own headers only', () => {
    const replay = replayRecordOf(dead);
    expect(replay?.topic).toBe('elephant.raw.web.v1');
    expect(replay?.message.key).toEqual(original.key);
    expect(replay?.message.value).toEqual(original.value);
    expect(replay?.message.timestamp).toBe(original.timestamp);
    expect(replay?.message.partition).toBe(5);
    expect({ ...replay?.message.headers }).toEqual({ 'elephant.source.topic': Buffer.from('raw.web.v1'), repeated: [Buffer.from('a'), Buffer.from('b')] });
  });

  it('regression (a dead letter of an old record could go at the next retention check): is stamped with when it was written, the original timestamp in a header that the replay restores', () => {
    expect(dead.timestamp).toBe(String(Date.UTC(2026, 11, 6)));
    expect(dead.headers?.['elephant.dlq.source.timestamp']?.toString()).toBe(original.timestamp);
    // Written before the header existed: the dead letter's own timestamp was the original's.
    const { 'elephant.dlq.source.timestamp': _dropped, ...older } = dead.headers ?? {};
    expect(replayRecordOf({ ...dead, headers: older, timestamp: original.timestamp })?.message.timestamp).toBe(original.timestamp);
  });

  it('regression (a listing or replay threw on it): reads a header without a value as absent', () => {
    // As the record decoder gives a header the Java client wrote without a value.
    const headers = { ...dead.headers, 'elephant.dlq.error.details': null, 'elephant.dlq.service': [null, Buffer.from('x')] } as unknown as KafkaMessage['headers'];
    expect(deadLetterInfo({ headers })).toMatchObject({ code: 'SCHEMA_VIOLATION', service: undefined, details: undefined });
    expect(replayRecordOf({ ...dead, headers })?.topic).toBe('elephant.raw.web.v1');
    expect(headerText({ name: null } as unknown as KafkaMessage['headers'], 'name')).toBeUndefined();
  });

  it('takes nothing that does not name its source', () => {
    expect(replayRecordOf({ key: null, value: Buffer.from('x'), headers: {}, timestamp: '0' })).toBeUndefined();
    const noPartition = { ...dead, headers: { ...dead.headers, 'elephant.dlq.source.partition': Buffer.from('-1') } };
    expect(deadLetterInfo(noPartition).source).toBeUndefined();
    expect(replayRecordOf(noPartition)).toBeUndefined();
  });
});
