/**
 * kafkajs 2.2.4's producer/sendMessages.js (the produce loop behind `send` and `sendBatch`),
 * put in place of its own before kafkajs' producer loads it (read-committed.ts, which every
 * module of this package that loads kafkajs imports first, imports this one).
 *
 * kafkajs keeps one response per broker across its retries and, on a retry, sends only to the
 * brokers that have none yet (tulios/kafkajs#1303). When a send covers partitions led by two
 * brokers X and Y, X answers and Y answers NOT_LEADER_FOR_PARTITION (a leader move, as in any
 * rolling restart), the metadata is refreshed and Y's partitions are now led by X: X has a
 * response, so the retry sends nothing, and the send resolves as if Y's partitions' messages
 * had been written. Elephant's stages then commit the input offsets of outputs that do not
 * exist. Here the acknowledgement is per partition: a retry sends every partition whose
 * messages no broker acknowledged yet, to the partition's leader in the refreshed metadata,
 * and keeps the responses of the acknowledged ones.
 *
 * Otherwise this is kafkajs' loop: same arguments, same resolved value (the produce responses'
 * partitions with their topic name), the same retrier and the same decisions on errors, the
 * same idempotent sequence handling (a partition's sequence advances before its request and
 * goes back when the request fails) and transaction registration, under the same per-broker
 * lock. Two differences, both on retries:
 * - A send's messages are grouped by partition once, on its first attempt with metadata, and
 *   a retry keeps each message's partition (as the Java producer does). kafkajs groups again
 *   each attempt; keyless messages then go round-robin to other partitions, and an idempotent
 *   producer's retry of a request that was in fact written is not recognized as a duplicate.
 *   A pending partition that the refreshed metadata lacks fails the attempt (retryably, with a
 *   metadata refresh) instead of being dropped as kafkajs' findLeaderForPartitions drops it.
 * - An attempt ends when all its requests have settled, not at the first failure: kafkajs
 *   retried while a slower broker's request was still in flight and sent its partitions again.
 *
 * packages/kafka/test/send-messages.test.ts drives both with the same fake cluster: the leader
 * move loses the partition with kafkajs' module and not with this one.
 */
import type { Logger, Message, PartitionerArgs, PartitionMetadata, RecordMetadata } from 'kafkajs';
import { groupMessagesPerPartition } from './group-per-partition.ts';
import { kafkajsModule, kafkajsModuleLoaded, replaceKafkajsModule } from './internals.ts';

/** One partition's messages in a produce request (kafkajs' createTopicData shape). */
export interface ProducePartition {
  readonly partition: number;
  readonly messages: Message[];
  firstSequence?: number;
}

export interface ProduceTopic {
  readonly topic: string;
  readonly partitions: ProducePartition[];
}

/** A produce response as kafkajs' Broker#produce resolves it (acks ≠ 0). */
export interface ProduceResponse {
  readonly topics: readonly { readonly topicName: string; readonly partitions: readonly Omit<RecordMetadata, 'topicName'>[] }[];
}

export interface ProduceRequest {
  readonly transactionalId: string | undefined;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly acks: number;
  readonly timeout: number | undefined;
  readonly compression: number | undefined;
  readonly topicData: ProduceTopic[];
}

/** What of kafkajs' Broker the loop uses. */
export interface SendBroker {
  readonly nodeId: number;
  produce(request: ProduceRequest): Promise<ProduceResponse>;
}

/** What of kafkajs' Cluster the loop uses. */
export interface SendCluster {
  readonly targetTopics: ReadonlySet<string>;
  addMultipleTargetTopics(topics: string[]): Promise<unknown>;
  refreshMetadataIfNecessary(): Promise<unknown>;
  refreshMetadata(): Promise<unknown>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  /** Leader node id → partitions; partitions the metadata lacks are left out. */
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<SendBroker>;
  isConnected(): boolean;
  connect(): Promise<unknown>;
  removeBroker(args: { host: unknown; port: unknown }): void;
}

/** What of kafkajs' EosManager the loop uses. */
export interface SendEosManager {
  isTransactional(): boolean;
  addPartitionsToTransaction(topicData: ProduceTopic[]): Promise<unknown>;
  getSequence(topic: string, partition: number): number;
  updateSequence(topic: string, partition: number, increment: number): void;
  getTransactionalId(): string;
  getProducerId(): number;
  getProducerEpoch(): number;
  acquireBrokerLock(broker: SendBroker): Promise<unknown>;
  releaseBrokerLock(broker: SendBroker): unknown;
}

/** kafkajs' retrier (src/retry): runs `fn` again on retriable errors, with backoff. */
export type SendRetrier = <T>(fn: (bail: (error: unknown) => void, retryCount: number, retryTime: number) => Promise<T>) => Promise<T>;

export interface SendMessagesOptions {
  readonly logger: Pick<Logger, 'debug' | 'error'>;
  readonly cluster: SendCluster;
  readonly partitioner: (args: PartitionerArgs) => number;
  readonly eosManager: SendEosManager;
  readonly retrier: SendRetrier;
}

export interface SendMessagesArgs {
  readonly acks: number;
  readonly timeout?: number;
  readonly compression?: number;
  readonly topicMessages: readonly { readonly topic: string; readonly messages: readonly Message[] }[];
}

export type SendMessages = (args: SendMessagesArgs) => Promise<RecordMetadata[]>;
export type CreateSendMessages = (options: SendMessagesOptions) => SendMessages;

interface KafkajsErrors {
  readonly KafkaJSMetadataNotLoaded: new (message: string) => Error;
}

interface KafkajsProtocolErrors {
  readonly staleMetadata: (error: unknown) => boolean;
}

/** A topic of the send: its messages by partition (once grouped) and the partitions a broker acknowledged. */
interface TopicProgress {
  readonly topic: string;
  readonly messages: readonly Message[];
  byPartition: Record<number, Message[]> | undefined;
  readonly acknowledged: Set<number>;
}

/** One produce request of an attempt: a broker and, per topic of the send, its partitions there. */
interface BrokerRequest {
  readonly broker: SendBroker;
  readonly topics: { readonly progress: TopicProgress; readonly partitions: number[] }[];
}

/** The fields of a thrown kafkajs error that the loop reads. */
interface ErrorFacts {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly retriable?: unknown;
  readonly host?: unknown;
  readonly port?: unknown;
}

function factsOf(error: unknown): ErrorFacts {
  return typeof error === 'object' && error !== null ? error : {};
}

const MODULE = 'producer/sendMessages.js';

const { KafkaJSMetadataNotLoaded } = kafkajsModule<KafkajsErrors>('errors.js');
const { staleMetadata } = kafkajsModule<KafkajsProtocolErrors>('protocol/error.js');
if (typeof KafkaJSMetadataNotLoaded !== 'function' || typeof staleMetadata !== 'function') {
  throw new Error('kafkajs errors not as expected: the send patch needs kafkajs 2.2.x');
}

export const createSendMessages: CreateSendMessages = ({ logger, cluster, partitioner, eosManager, retrier }) => {
  return async ({ acks, timeout, compression, topicMessages }) => {
    const progress: TopicProgress[] = topicMessages.map(({ topic, messages }) => ({ topic, messages, byPartition: undefined, acknowledged: new Set<number>() }));
    // Responses of acknowledged requests, in the order of their attempt's requests.
    const responses: RecordMetadata[][] = [];

    /** This attempt's requests: the unacknowledged partitions, by their leader now. */
    const planRequests = async (): Promise<BrokerRequest[]> => {
      await cluster.refreshMetadataIfNecessary();
      const requests = new Map<string, BrokerRequest>();
      for (const topicProgress of progress) {
        const { topic, messages, acknowledged } = topicProgress;
        if (topicProgress.byPartition && Object.keys(topicProgress.byPartition).every((partition) => acknowledged.has(Number(partition)))) continue;
        const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
        if (partitionMetadata.length === 0) {
          logger.debug('Producing to topic without metadata', { topic, targetTopics: Array.from(cluster.targetTopics) });
          throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata');
        }
        topicProgress.byPartition ??= groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner });
        const pending = Object.keys(topicProgress.byPartition).map(Number).filter((partition) => !acknowledged.has(partition));
        if (pending.length === 0) continue;
        const perLeader = cluster.findLeaderForPartitions(topic, pending);
        const led = new Set(Object.values(perLeader).flat());
        const unled = pending.filter((partition) => !led.has(partition));
        if (unled.length > 0) throw new KafkaJSMetadataNotLoaded(`Producing to partitions ${unled.join(', ')} of topic ${topic}, which the metadata does not list`);
        for (const [nodeId, partitions] of Object.entries(perLeader)) {
          let request = requests.get(nodeId);
          if (!request) {
            request = { broker: await cluster.findBroker({ nodeId }), topics: [] };
            requests.set(nodeId, request);
          }
          request.topics.push({ progress: topicProgress, partitions });
        }
      }
      return [...requests.values()];
    };

    /** Sends one request; resolves with its partitions' responses once the broker acknowledged them. */
    const produce = async ({ broker, topics }: BrokerRequest): Promise<RecordMetadata[]> => {
      const topicData: ProduceTopic[] = topics.map(({ progress: { topic, byPartition }, partitions }) => ({
        topic,
        partitions: partitions.map((partition) => ({ partition, messages: byPartition?.[partition] ?? [] })),
      }));
      await eosManager.acquireBrokerLock(broker);
      try {
        if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
        for (const { topic, partitions } of topicData) {
          for (const entry of partitions) {
            entry.firstSequence = eosManager.getSequence(topic, entry.partition);
            eosManager.updateSequence(topic, entry.partition, entry.messages.length);
          }
        }
        let response: ProduceResponse;
        try {
          response = await broker.produce({
            transactionalId: eosManager.isTransactional() ? eosManager.getTransactionalId() : undefined,
            producerId: eosManager.getProducerId(),
            producerEpoch: eosManager.getProducerEpoch(),
            acks,
            timeout,
            compression,
            topicData,
          });
        } catch (error) {
          for (const { topic, partitions } of topicData) {
            for (const entry of partitions) eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
          }
          throw error;
        }
        if (acks === 0) return [];
        return response.topics.flatMap(({ topicName, partitions }) => partitions.map((partition) => ({ topicName, ...partition })));
      } finally {
        await eosManager.releaseBrokerLock(broker);
      }
    };

    return retrier(async (bail, retryCount, retryTime) => {
      await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
      try {
        const requests = await planRequests();
        const failures: unknown[] = []; // in the order they happened, as Promise.all would reject
        const outcomes = await Promise.all(
          requests.map(async (request) => {
            try {
              return await produce(request);
            } catch (error) {
              failures.push(error);
              return undefined;
            }
          }),
        );
        outcomes.forEach((outcome, index) => {
          const request = requests[index];
          if (outcome === undefined || request === undefined) return;
          for (const { progress: { acknowledged }, partitions } of request.topics) for (const partition of partitions) acknowledged.add(partition);
          responses.push(outcome);
        });
        if (failures.length > 0) throw failures[0];
        return responses.flat();
      } catch (error) {
        const facts = factsOf(error);
        const message = String(facts.message);
        if (facts.name === 'KafkaJSConnectionClosedError') cluster.removeBroker({ host: facts.host, port: facts.port });

        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${message}`, { retryCount, retryTime });
          await cluster.connect();
          await cluster.refreshMetadata();
          throw error;
        }

        // Stale metadata, or more partitions than the metadata knew: refresh before the retry.
        if (
          staleMetadata(error) ||
          facts.name === 'KafkaJSMetadataNotLoaded' ||
          facts.name === 'KafkaJSConnectionError' ||
          facts.name === 'KafkaJSConnectionClosedError' ||
          (facts.name === 'KafkaJSProtocolError' && Boolean(facts.retriable))
        ) {
          logger.error(`Failed to send messages: ${message}`, { retryCount, retryTime });
          await cluster.refreshMetadata();
          throw error;
        }

        logger.error(message, { retryCount, retryTime });
        if (facts.retriable) throw error;
        bail(error);
        return []; // not seen: bail has rejected the retrier's promise already
      }
    });
  };
};

/**
 * Whether kafkajs' producer had not loaded its send loop yet when this one replaced it: its
 * messageProducer keeps the function it required, so only then does it use this one (the test
 * runs a fresh process and checks this).
 */
export const sendMessagesReplacedBeforeProducer = !kafkajsModuleLoaded('producer/messageProducer.js');

const original = kafkajsModule<CreateSendMessages>(MODULE);
if (typeof original !== 'function') throw new Error('kafkajs send loop not as expected: the send patch needs kafkajs 2.2.x');

/** kafkajs' own send loop (for the test that pins its bug). */
export const kafkajsCreateSendMessages: CreateSendMessages = original;

replaceKafkajsModule(MODULE, createSendMessages);
