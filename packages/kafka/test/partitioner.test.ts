import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { FastPartitioner, murmur2, partitionOf } from '@elephant/kafka';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

const metadata = (count: number, leaderless: readonly number[] = []): { partitionId: number; leader: number; partitionErrorCode: number; replicas: number[]; isr: number[] }[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: leaderless.includes(partitionId) ? -1 : 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));

describe('the Java-compatible partitioner', () => {
  it('hashes like Kafka\'s murmur2 (the Java client\'s published values)', () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).toBe(hash);
  });

  it('agrees with kafkajs\' own murmur2 on random keys of every length, as strings and as buffers', () => {
    for (let length = 0; length < 80; length += 1) {
      const bytes = randomBytes(length);
      expect(murmur2(bytes), `buffer of ${length}`).toBe(kafkajsMurmur2(bytes));
      const text = `${bytes.toString('base64').slice(0, length)}é€😀`;
      expect(partitionOf(text, 1 << 30), text).toBe((kafkajsMurmur2(text) & 0x7fffffff) % (1 << 30));
    }
    const long = 'x'.repeat(5000);
    expect(partitionOf(long, 97)).toBe((kafkajsMurmur2(long) & 0x7fffffff) % 97);
  });

  it('picks the partition kafkajs\' DefaultPartitioner picks for keyed records, and honours explicit ones', () => {
    const ours = FastPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const partitionMetadata = metadata(8, [3]);
    for (let i = 0; i < 500; i += 1) {
      const message = { key: i % 2 === 0 ? `profile-${i}` : Buffer.from(`device-${i}`), value: null };
      expect(ours({ topic: 't', partitionMetadata, message })).toBe(theirs({ topic: 't', partitionMetadata, message }));
    }
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 5 } })).toBe(5);
  });

  it('spreads records without a key round-robin over the partitions that have a leader', () => {
    const partitioner = FastPartitioner();
    const partitionMetadata = metadata(4, [1]);
    const seen = Array.from({ length: 9 }, () => partitioner({ topic: 't', partitionMetadata, message: { value: 'v' } }));
    expect(new Set(seen)).toEqual(new Set([0, 2, 3]));
    for (let i = 1; i < seen.length; i += 1) expect(seen[i]).not.toBe(seen[i - 1]);
  });
});
