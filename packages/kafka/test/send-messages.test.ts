import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Message, PartitionMetadata, PartitionerArgs, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createSendMessages,
  kafkajsCreateSendMessages,
  type CreateSendMessages,
  type ProduceRequest,
  type ProduceResponse,
  type SendBroker,
  type SendCluster,
  type SendEosManager,
  type SendMessagesArgs,
  type SendRetrier,
} from '@elephant/kafka';

const require = createRequire(import.meta.url);
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => SendRetrier;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };
const { KafkaJSConnectionError } = require('kafkajs/src/errors.js') as { KafkaJSConnectionError: new (message: string) => Error };
const KafkajsCluster = require('kafkajs/src/cluster/index.js') as {
  prototype: { findLeaderForPartitions(this: { findTopicPartitionMetadata(topic: string): PartitionMetadata[] }, topic: string, partitions: number[]): Record<string, number[]> };
};

const NOT_LEADER_FOR_PARTITION = 6;
const MESSAGE_TOO_LARGE = 10;
const X = 1;
const Y = 2;

/** What a fake broker was asked to write: one entry per partition of a produce request. */
interface Written {
  readonly broker: number;
  readonly topic: string;
  readonly partition: number;
  readonly values: string[];
  readonly firstSequence: number | undefined;
}

/** A broker's answer to its next produce request: throw, wait, or (undefined) acknowledge. */
type Script = () => Promise<void>;

/**
 * Two brokers and the metadata of some topics, as much of kafkajs' Cluster, Broker and
 * EosManager as the send loop uses. Partition leaders come from `leaders`; `onRefresh` changes
 * them when the loop refreshes the metadata (the leader move the loop must follow). Sequences
 * are counted per partition as kafkajs' idempotent EosManager counts them.
 */
class World {
  readonly written: Written[] = [];
  readonly sequences = new Map<string, number>();
  readonly scripts = new Map<number, Script[]>();
  readonly offsets = new Map<string, number>();
  onRefresh: (() => void) | undefined;
  refreshes = 0;

  readonly leaders: Map<string, Map<number, number>>;

  constructor(leaders: Map<string, Map<number, number>>) {
    this.leaders = leaders;
  }

  readonly cluster: SendCluster = {
    targetTopics: new Set<string>(),
    addMultipleTargetTopics: async () => undefined,
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => {
      this.refreshes += 1;
      this.onRefresh?.();
      this.onRefresh = undefined;
    },
    findTopicPartitionMetadata: (topic) => this.metadata(topic),
    // kafkajs' own grouping of partitions by leader, over this world's metadata.
    findLeaderForPartitions: (topic, partitions) => KafkajsCluster.prototype.findLeaderForPartitions.call({ findTopicPartitionMetadata: (name) => this.metadata(name) }, topic, partitions),
    findBroker: async ({ nodeId }) => {
      const broker = this.brokers.get(Number(nodeId));
      if (!broker) throw new Error(`no broker ${nodeId}`);
      return broker;
    },
    isConnected: () => true,
    connect: async () => undefined,
    removeBroker: () => undefined,
  };

  readonly eosManager: SendEosManager = {
    isTransactional: () => false,
    addPartitionsToTransaction: async () => undefined,
    getSequence: (topic, partition) => this.sequences.get(`${topic}/${partition}`) ?? 0,
    updateSequence: (topic, partition, increment) => {
      this.sequences.set(`${topic}/${partition}`, (this.sequences.get(`${topic}/${partition}`) ?? 0) + increment);
    },
    getTransactionalId: () => '',
    getProducerId: () => 4000,
    getProducerEpoch: () => 0,
    acquireBrokerLock: async () => undefined,
    releaseBrokerLock: () => undefined,
  };

  readonly brokers = new Map<number, SendBroker>([X, Y].map((nodeId) => [nodeId, { nodeId, produce: async (request: ProduceRequest) => this.produce(nodeId, request) }]));

  metadata(topic: string): PartitionMetadata[] {
    return [...(this.leaders.get(topic) ?? new Map<number, number>())].map(([partitionId, leader]) => ({ partitionId, leader, partitionErrorCode: 0, replicas: [leader], isr: [leader] }));
  }

  /** The next answers of a broker, one per produce request. */
  script(broker: number, ...answers: Script[]): void {
    this.scripts.set(broker, [...(this.scripts.get(broker) ?? []), ...answers]);
  }

  async produce(broker: number, request: ProduceRequest): Promise<ProduceResponse> {
    for (const { topic, partitions } of request.topicData) {
      for (const { partition, messages, firstSequence } of partitions) this.written.push({ broker, topic, partition, values: messages.map((message) => String(message.value)), firstSequence });
    }
    await this.scripts.get(broker)?.shift()?.();
    return {
      topics: request.topicData.map(({ topic, partitions }) => ({
        topicName: topic,
        partitions: partitions.map(({ partition, messages }) => {
          const base = this.offsets.get(`${topic}/${partition}`) ?? 0;
          this.offsets.set(`${topic}/${partition}`, base + messages.length);
          return { partition, errorCode: 0, baseOffset: String(base), logAppendTime: '-1', logStartOffset: '0' };
        }),
      })),
    };
  }

  /** The send loop under test, built as kafkajs' messageProducer builds it. */
  sender(create: CreateSendMessages): (args: SendMessagesArgs) => Promise<RecordMetadata[]> {
    return create({
      logger: { debug: () => undefined, error: () => undefined },
      cluster: this.cluster,
      partitioner: ({ message }: PartitionerArgs) => message.partition ?? 0,
      eosManager: this.eosManager,
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5, factor: 0, multiplier: 1 }),
    });
  }

  writtenTo(broker: number): string[] {
    return this.written.filter((entry) => entry.broker === broker).map((entry) => `${entry.topic}/${entry.partition}:${entry.values.join(',')}`);
  }
}

const TOPIC = 'touchpoints';
const fail = (error: () => Error): Script => async () => {
  throw error();
};
const slow = (ms: number): Script => () => new Promise((resolve) => setTimeout(resolve, ms));
const messages = (partition: number, ...values: string[]): Message[] => values.map((value) => ({ key: `k-${value}`, value, partition }));
const partitionsOf = (metadata: readonly RecordMetadata[]): string[] => metadata.map((entry) => `${entry.topicName}/${entry.partition}@${entry.baseOffset}`).sort();

/** p1 led by X, p2 by Y; Y answers NOT_LEADER_FOR_PARTITION and the refreshed metadata has p2 on X. */
function leaderMove(): World {
  const world = new World(new Map([[TOPIC, new Map([[0, X], [1, X], [2, Y]])]]));
  world.script(Y, fail(() => createErrorFromCode(NOT_LEADER_FOR_PARTITION)));
  world.onRefresh = () => world.leaders.get(TOPIC)?.set(2, X);
  return world;
}

const leaderMoveSend: SendMessagesArgs = { acks: -1, topicMessages: [{ topic: TOPIC, messages: [...messages(1, 'a', 'b'), ...messages(2, 'c')] }] };

describe('the producer\'s send loop', () => {
  it('kafkajs#1303: kafkajs\' own loop loses a partition whose leader moved to a broker that already answered', async () => {
    const world = leaderMove();
    const metadata = await world.sender(kafkajsCreateSendMessages)(leaderMoveSend);
    // It resolves, as if c had been written; nobody wrote it.
    expect(partitionsOf(metadata)).toEqual([`${TOPIC}/1@0`]);
    expect(world.writtenTo(X)).toEqual([`${TOPIC}/1:a,b`]);
    expect(world.writtenTo(Y)).toEqual([`${TOPIC}/2:c`]);
    expect(world.refreshes).toBe(1);
  });

  it('kafkajs#1303: sends the moved partition to its new leader and resolves with both partitions', async () => {
    const world = leaderMove();
    const metadata = await world.sender(createSendMessages)(leaderMoveSend);
    expect(partitionsOf(metadata)).toEqual([`${TOPIC}/1@0`, `${TOPIC}/2@0`]);
    // X is not sent p1 again: its acknowledgement was kept.
    expect(world.writtenTo(X)).toEqual([`${TOPIC}/1:a,b`, `${TOPIC}/2:c`]);
    expect(world.writtenTo(Y)).toEqual([`${TOPIC}/2:c`]);
    // The failed request's sequence went back: the retry has the same first sequence, and
    // each partition ends counted once (what an idempotent broker expects next).
    expect(world.written.filter((entry) => entry.partition === 2).map((entry) => entry.firstSequence)).toEqual([0, 0]);
    expect(Object.fromEntries(world.sequences)).toEqual({ [`${TOPIC}/1`]: 2, [`${TOPIC}/2`]: 1 });
  });

  it('kafkajs#1303: is the loop kafkajs\' producer sends with (messageProducer, in this process and in a fresh one)', async () => {
    const world = leaderMove();
    const createMessageProducer = require('kafkajs/src/producer/messageProducer.js') as (options: object) => { sendBatch(args: object): Promise<RecordMetadata[]> };
    const producer = createMessageProducer({
      logger: { debug: () => undefined, error: () => undefined },
      cluster: world.cluster,
      partitioner: ({ message }: PartitionerArgs) => message.partition ?? 0,
      eosManager: world.eosManager,
      idempotent: true,
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5, factor: 0, multiplier: 1 }),
      getConnectionStatus: () => 'connected',
    });
    expect(partitionsOf(await producer.sendBatch({ topicMessages: leaderMoveSend.topicMessages }))).toEqual([`${TOPIC}/1@0`, `${TOPIC}/2@0`]);
    expect(world.writtenTo(X)).toEqual([`${TOPIC}/1:a,b`, `${TOPIC}/2:c`]);

    expect(require('kafkajs/src/producer/sendMessages.js')).toBe(createSendMessages);
    const script = "const k = await import('@elephant/kafka'); const { createRequire } = await import('node:module'); const r = createRequire(import.meta.url); console.log(JSON.stringify({ before: k.sendMessagesReplacedBeforeProducer, same: r('kafkajs/src/producer/sendMessages.js') === k.createSendMessages }));";
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '{}')).toEqual({ before: true, same: true });
  });

  it('sends and resolves as kafkajs\' loop does when nothing fails (two brokers, two topics)', async () => {
    const send: SendMessagesArgs = {
      acks: -1,
      topicMessages: [
        { topic: TOPIC, messages: [...messages(0, 'a'), ...messages(2, 'b', 'c'), ...messages(1, 'd'), ...messages(0, 'e')] },
        { topic: 'profiles', messages: messages(1, 'f', 'g') },
        { topic: 'empty', messages: [] },
      ],
    };
    const leaders = (): Map<string, Map<number, number>> => new Map([[TOPIC, new Map([[0, X], [1, Y], [2, X]])], ['profiles', new Map([[0, Y], [1, X]])], ['empty', new Map([[0, Y]])]]);
    const ours = new World(leaders());
    const theirs = new World(leaders());
    const mine = await ours.sender(createSendMessages)(send);
    const kafkajs = await theirs.sender(kafkajsCreateSendMessages)(send);
    expect(mine).toEqual(kafkajs);
    expect(ours.written).toEqual(theirs.written);
    expect(Object.fromEntries(ours.sequences)).toEqual(Object.fromEntries(theirs.sequences));
    expect(mine).toHaveLength(4);

    // acks=0: nothing to resolve with, as in kafkajs.
    expect(await new World(leaders()).sender(createSendMessages)({ ...send, acks: 0 })).toEqual([]);
  });

  it('does not send again the partitions of a request still in flight when another broker fails', async () => {
    const build = (): World => {
      const world = new World(new Map([[TOPIC, new Map([[1, X], [2, Y]])]]));
      world.script(X, slow(40));
      world.script(Y, fail(() => new KafkaJSConnectionError('Connection error: ECONNRESET')));
      return world;
    };
    const ours = build();
    expect(partitionsOf(await ours.sender(createSendMessages)(leaderMoveSend))).toEqual([`${TOPIC}/1@0`, `${TOPIC}/2@0`]);
    expect(ours.writtenTo(X)).toEqual([`${TOPIC}/1:a,b`]);
    expect(ours.writtenTo(Y)).toEqual([`${TOPIC}/2:c`, `${TOPIC}/2:c`]);
    // kafkajs retries while X's request is in flight and writes a and b twice.
    const theirs = build();
    await theirs.sender(kafkajsCreateSendMessages)(leaderMoveSend);
    expect(theirs.writtenTo(X)).toEqual([`${TOPIC}/1:a,b`, `${TOPIC}/1:a,b`]);
  });

  it('fails the send, instead of resolving without it, when a pending partition is missing from the refreshed metadata', async () => {
    const world = leaderMove();
    world.onRefresh = () => world.leaders.get(TOPIC)?.delete(2);
    await expect(world.sender(createSendMessages)(leaderMoveSend)).rejects.toMatchObject({ name: 'KafkaJSNumberOfRetriesExceeded', cause: { name: 'KafkaJSMetadataNotLoaded' } });
    expect(world.writtenTo(X)).toEqual([`${TOPIC}/1:a,b`]);
  });

  it('does not retry what the broker refuses for good (bails as kafkajs does)', async () => {
    const world = new World(new Map([[TOPIC, new Map([[1, X], [2, Y]])]]));
    world.script(Y, fail(() => createErrorFromCode(MESSAGE_TOO_LARGE)));
    await expect(world.sender(createSendMessages)(leaderMoveSend)).rejects.toMatchObject({ name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', retriable: false });
    expect(world.writtenTo(Y)).toEqual([`${TOPIC}/2:c`]);
    expect(world.sequences.get(`${TOPIC}/2`)).toBe(0);
  });
});
