import './read-committed.ts';
/**
 * Transactional offset commits fenced by consumer-group generation (KIP-447), which kafkajs
 * 2.2.4 lacks.
 *
 * kafkajs commits a transaction's input offsets with TxnOffsetCommit v0-v1, which names the
 * group but not the member: a consumer that lost its partitions without noticing (paused past
 * the session timeout, cut off from the coordinator) could still commit a transaction for
 * them, after the partitions' new owner had processed the same records, and its outputs were
 * published twice. TxnOffsetCommit v3 (Kafka 2.5+) carries the generation and member id the
 * consumer joined with, and the group coordinator refuses a commit of a generation the group
 * has moved past (ILLEGAL_GENERATION) or of a member it no longer has (UNKNOWN_MEMBER_ID):
 * the transaction then aborts, nothing of it becomes visible.
 *
 * kafkajs' transaction passes the `topics` of `sendOffsets` through to Broker#txnOffsetCommit
 * untouched; TransactionalProducer attaches the batch's generation to them (withGeneration),
 * and this module's Broker#txnOffsetCommit sends v3 with it, encoded here (a flexible version,
 * see flexible.ts), over the broker's connection. Offsets without a generation, or a broker
 * without v3, go through kafkajs' own request as before.
 * packages/kafka/test/txn-offset-commit.test.ts checks the bytes,
 * packages/kafka/test/transactions.it.test.ts the fencing against a real broker.
 */
import { decodeFlexible, flexibleBody, noTaggedFields, rawRequest, readCompactArrayLength, skipTaggedFields, supports, writeCompactArrayLength, type RawBroker } from './flexible.ts';
import { kafkajsModule } from './internals.ts';

const TXN_OFFSET_COMMIT = 28;
const FENCED_VERSION = 3;

/** The group membership a batch was fetched under, as the coordinator knows it. */
export interface GroupGeneration {
  readonly generationId: number;
  readonly memberId: string;
  /** Static membership (group.instance.id); kafkajs has none. @default null */
  readonly groupInstanceId?: string | null;
}

export interface TxnOffsetCommitPartitionArgs {
  readonly partition: number;
  readonly offset: string;
  readonly metadata?: string | null;
}

export interface TxnOffsetCommitTopicArgs {
  readonly topic: string;
  readonly partitions: readonly TxnOffsetCommitPartitionArgs[];
}

export interface TxnOffsetCommitArgs {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: number | string;
  readonly producerEpoch: number;
  readonly topics: readonly TxnOffsetCommitTopicArgs[];
}

export interface TxnOffsetCommitResult {
  /** throttle_time_ms, which kafkajs' connection waits out (KIP-219). */
  readonly clientSideThrottleTime: number;
  readonly partitions: readonly { readonly topic: string; readonly partition: number; readonly errorCode: number }[];
}

const GENERATION = Symbol('elephant:groupGeneration');

/** `topics` for kafkajs' `transaction.sendOffsets`, carrying `generation` to the request (unchanged without one). */
export function withGeneration<T extends object>(topics: T[], generation: GroupGeneration | undefined): T[] {
  if (generation !== undefined) Object.defineProperty(topics, GENERATION, { value: generation, enumerable: false });
  return topics;
}

function generationOf(topics: readonly object[]): GroupGeneration | undefined {
  return (topics as unknown as Record<symbol, GroupGeneration | undefined>)[GENERATION];
}

/** The body of a TxnOffsetCommit v3 request (see flexible.ts). */
export function encodeTxnOffsetCommitV3(args: TxnOffsetCommitArgs, generation: GroupGeneration): Buffer {
  return flexibleBody((encoder) => {
    encoder
      .writeUVarIntString(args.transactionalId)
      .writeUVarIntString(args.groupId)
      .writeInt64(String(args.producerId))
      .writeInt16(args.producerEpoch)
      .writeInt32(generation.generationId)
      .writeUVarIntString(generation.memberId)
      .writeUVarIntString(generation.groupInstanceId ?? null);
    writeCompactArrayLength(encoder, args.topics.length);
    for (const { topic, partitions } of args.topics) {
      writeCompactArrayLength(encoder.writeUVarIntString(topic), partitions.length);
      for (const { partition, offset, metadata } of partitions) {
        // committed_leader_epoch -1: unknown, as kafkajs' consumer does not track it.
        noTaggedFields(encoder.writeInt32(partition).writeInt64(offset).writeInt32(-1).writeUVarIntString(metadata ?? null));
      }
      noTaggedFields(encoder);
    }
    noTaggedFields(encoder);
  });
}

/** Decodes a TxnOffsetCommit v3 response as kafkajs hands it over (after the correlation id). */
export function decodeTxnOffsetCommitV3(payload: Buffer): TxnOffsetCommitResult {
  return decodeFlexible(payload, 'TxnOffsetCommit v3', (decoder) => {
    const clientSideThrottleTime = decoder.readInt32();
    const partitions: { topic: string; partition: number; errorCode: number }[] = [];
    for (let topics = readCompactArrayLength(decoder); topics > 0; topics -= 1) {
      const topic = decoder.readUVarIntString() ?? '';
      for (let count = readCompactArrayLength(decoder); count > 0; count -= 1) {
        const partition = decoder.readInt32();
        const errorCode = decoder.readInt16();
        skipTaggedFields(decoder);
        partitions.push({ topic, partition, errorCode });
      }
      skipTaggedFields(decoder);
    }
    skipTaggedFields(decoder);
    return { clientSideThrottleTime, partitions };
  });
}

type TxnOffsetCommit = (this: FencingBroker, args: TxnOffsetCommitArgs) => Promise<unknown>;

interface FencingBroker extends RawBroker {
  disconnect(): Promise<void>;
}

interface BrokerClass {
  prototype: { txnOffsetCommit: TxnOffsetCommit };
}

const Broker = kafkajsModule<BrokerClass>('broker/index.js');
const original = Broker.prototype.txnOffsetCommit;
if (typeof original !== 'function') throw new Error('kafkajs Broker#txnOffsetCommit not found: fenced transactional commits need kafkajs 2.2.x');

Broker.prototype.txnOffsetCommit = async function txnOffsetCommit(this: FencingBroker, args: TxnOffsetCommitArgs): Promise<unknown> {
  const generation = generationOf(args.topics);
  if (generation === undefined || !supports(this, TXN_OFFSET_COMMIT, FENCED_VERSION)) return original.call(this, args);
  const request = rawRequest(TXN_OFFSET_COMMIT, FENCED_VERSION, 'TxnOffsetCommit', encodeTxnOffsetCommitV3(args, generation), decodeTxnOffsetCommitV3, (decoded) => decoded.partitions.find((entry) => entry.errorCode !== 0)?.errorCode);
  try {
    return await this.connectionPool.send(request);
  } catch (error) {
    // As kafkajs' Broker does for its own requests: a closed connection is opened anew next time.
    if ((error as { name?: unknown }).name === 'KafkaJSConnectionClosedError') await this.disconnect();
    throw error;
  }
};
