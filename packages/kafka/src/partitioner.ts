/**
 * The Java client's default partitioning of keyed records (murmur2 of the key's bytes, made
 * positive, modulo the topic's partition count), computed in 32-bit integer arithmetic.
 *
 * kafkajs' DefaultPartitioner computes the same hash on BigInt-backed 64-bit longs, allocates
 * a Buffer for every string key and filters the partition list for every record; profiled in
 * the benchmark, that was 6% of a normalizer's busy time. Every Elephant producer uses this
 * one, so a key lands on the partition a Java (or librdkafka murmur2) producer would choose and
 * on the same partition from every stage (the builder's co-partitioned topics rely on it).
 * packages/kafka/test/partitioner.test.ts checks it against kafkajs' own.
 */
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

let scratch = Buffer.allocUnsafe(1024);

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2) of `data[0, length)`, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array, length = data.length): number {
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= (data[whole + 2] as number) << 16;
  if (tail >= 2) h ^= (data[whole + 1] as number) << 8;
  if (tail >= 1) h = Math.imul(h ^ (data[whole] as number), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** murmur2 of a key as kafkajs sends it: a Buffer as is, anything else as the UTF-8 of `String(key)`. */
export function keyHash(key: Buffer | string): number {
  if (Buffer.isBuffer(key)) return murmur2(key);
  const text = String(key);
  // At most three bytes per UTF-16 unit: a key that fits is encoded without allocating.
  if (text.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(text.length * 3, scratch.length * 2));
  return murmur2(scratch, scratch.write(text, 0));
}

/** Partition of a keyed record on a topic of `partitions` partitions, as the Java client's default partitioner picks it. */
export function partitionOf(key: Buffer | string, partitions: number): number {
  return (keyHash(key) & 0x7fffffff) % partitions;
}

/**
 * A kafkajs partitioner with the semantics of kafkajs' DefaultPartitioner: an explicit
 * partition wins; a keyed record goes to murmur2(key) over all partitions; a record without a
 * key goes round-robin over the partitions that have a leader.
 */
export const FastPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  const available = new WeakMap<PartitionerArgs['partitionMetadata'], number[]>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return partitionOf(message.key, partitionMetadata.length);
    let leaders = available.get(partitionMetadata);
    if (!leaders) {
      leaders = partitionMetadata.filter((partition) => partition.leader >= 0).map((partition) => partition.partitionId);
      available.set(partitionMetadata, leaders);
    }
    const next = ((counters.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1) & 0x7fffffff;
    counters.set(topic, next);
    return leaders.length > 0 ? (leaders[next % leaders.length] as number) : next % partitionMetadata.length;
  };
};
