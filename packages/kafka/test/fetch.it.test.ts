/**
 * Fetch sessions (packages/kafka/src/fetch.ts) against the real broker: it opens a session,
 * answers incremental requests for partitions the request did not name, and answers nothing
 * for partitions that have nothing new.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BatchProducer } from '@elephant/kafka';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('fetch-session');
afterAll(() => ctx.cleanup());

interface FetchedPartition {
  partition: number;
  messages: { offset: string; value: Buffer | null }[];
}
interface FetchResult {
  sessionId: number;
  responses: { topicName: string; partitions: FetchedPartition[] }[];
}
interface BrokerLike {
  fetch(args: { maxWaitTime: number; topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[] }): Promise<FetchResult>;
}
interface ClusterLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findBroker(args: { nodeId: number }): Promise<BrokerLike>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
}

/** A kafkajs cluster of the test's client (kafkajs keeps its factory private). */
function clusterOf(kafka: object): ClusterLike {
  const create = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  if (!create) throw new Error('kafkajs Kafka#createCluster not found');
  const factory = (kafka as Record<symbol, (options: object) => ClusterLike>)[create];
  if (!factory) throw new Error('kafkajs Kafka#createCluster not found');
  return factory({ metadataMaxAge: 300000 });
}

const records = (result: FetchResult) => result.responses.flatMap(({ partitions }) => partitions.flatMap(({ partition, messages }) => messages.map((message) => `${partition}:${message.value?.toString() ?? ''}`)));

describe('fetch sessions', () => {
  it('after a full fetch, incremental fetches bring what is new in any partition of the session and nothing for idle ones', async () => {
    const topic = ctx.topic('t');
    await ctx.createTopics([{ topic, partitions: 4 }]);
    const producer = await BatchProducer.connect(ctx.kafka);
    const cluster = clusterOf(ctx.kafka);
    await cluster.connect();
    try {
      await cluster.addTargetTopic(topic);
      await producer.send([{ topic, messages: [{ partition: 0, value: 'a' }] }]);
      const leaders = new Set(cluster.findTopicPartitionMetadata(topic).map(({ leader }) => leader));
      expect(leaders.size).toBe(1); // one broker (the local stack, or the test container)
      const broker = await cluster.findBroker({ nodeId: [...leaders][0] ?? -1 });
      const offsets = [0, 0, 0, 0];
      const fetch = async () => {
        const result = await broker.fetch({ maxWaitTime: 200, topics: [{ topic, partitions: offsets.map((offset, partition) => ({ partition, fetchOffset: String(offset), maxBytes: 1048576 })) }] });
        for (const { partitions } of result.responses) for (const { partition, messages } of partitions) if (messages.length > 0) offsets[partition] = Number(messages.at(-1)?.offset) + 1;
        return result;
      };

      const first = await fetch();
      expect(first.sessionId).toBeGreaterThan(0);
      expect(records(first)).toEqual(['0:a']);
      // Partition 2 is in the session but this request names only partition 0 (its offset moved).
      await producer.send([{ topic, messages: [{ partition: 2, value: 'b' }] }]);
      expect(records(await fetch())).toEqual(['2:b']);
      // Nothing new: no partition in the answer (after waiting maxWaitTime).
      const idle = await fetch();
      expect(idle.responses.flatMap(({ partitions }) => partitions)).toEqual([]);
      await producer.send([{ topic, messages: [{ partition: 0, value: 'c' }, { partition: 3, value: 'd' }] }]);
      expect(records(await fetch()).sort()).toEqual(['0:c', '3:d']);
    } finally {
      await cluster.disconnect();
      await producer.disconnect();
    }
  });
});
