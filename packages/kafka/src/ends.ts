/**
 * Partitions' ends as a producer left them: the high watermark, not the last stable offset.
 *
 * kafkajs' admin (fetchTopicOffsets) asks for read_committed ends, the last stable offset: the
 * offset of the first record of the oldest transaction still open (or whose marker the broker
 * is still writing). Records written after it did not count: a read right after a commit
 * missed the committed transaction's records (reader.ts; tests met it now and then,
 * 2026-12-07), and a consumer group behind an open transaction read as caught up (LagPoller).
 * The high watermark includes every record written, so a read waits for such a transaction's
 * marker, and a lag counts the records behind it until it completes.
 */
import type { Kafka } from 'kafkajs';
import { kafkajsCluster } from './internals.ts';
import { retryOnProtocolError } from './retry.ts';

/** The part of kafkajs' Cluster the ends are read with. */
export interface EndsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): readonly { readonly partitionId: number }[];
  fetchTopicsOffset(topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[]): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

export interface PartitionEnd {
  readonly partition: number;
  /** The high watermark: the offset after the last record written. */
  readonly high: string;
  /** The first offset still in the log. */
  readonly low: string;
}

const READ_UNCOMMITTED = 0;

/** A cluster connection of `kafka`'s client whose offset look-ups ask for read_uncommitted ends (not connected yet). */
export function endsCluster(kafka: Kafka): EndsCluster {
  return kafkajsCluster<EndsCluster>(kafka, { isolationLevel: READ_UNCOMMITTED });
}

/** Each partition of `topic`, its first offset and high watermark, over a connected `cluster` (endsCluster). */
export function partitionEndsOn(cluster: EndsCluster, topic: string): Promise<PartitionEnd[]> {
  return retryOnProtocolError('UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await cluster.addTargetTopic(topic);
    const partitions = cluster.findTopicPartitionMetadata(topic).map(({ partitionId }) => ({ partition: partitionId }));
    if (partitions.length === 0) {
      await cluster.refreshMetadata();
      throw Object.assign(new Error(`Topic ${topic} not found in the metadata`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    }
    const [highs] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]);
    const [lows] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: true, partitions }]);
    return partitions.map(({ partition }) => ({
      partition,
      high: highs?.partitions.find((entry) => entry.partition === partition)?.offset ?? '0',
      low: lows?.partitions.find((entry) => entry.partition === partition)?.offset ?? '0',
    }));
  }, 20, () => 250);
}

/** Each partition of `topic`, its first offset and high watermark, over a connection of its own. */
export async function partitionEnds(kafka: Kafka, topic: string): Promise<PartitionEnd[]> {
  const cluster = endsCluster(kafka);
  try {
    await cluster.connect();
    return await partitionEndsOn(cluster, topic);
  } finally {
    await cluster.disconnect();
  }
}
