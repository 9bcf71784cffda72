import './read-committed.ts';
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { KafkaError } from './errors.ts';

export type { Message, RecordMetadata };

export interface ProducerOptions {
  /**
   * Idempotent delivery (acks=all, broker-side de-duplication of retries): a retry after a
   * lost acknowledgement never writes a message twice. @default true
   */
  readonly idempotent?: boolean;
  /** @default 'none' */
  readonly compression?: 'none' | 'gzip';
}

export interface OutboundBatch {
  readonly topic: string;
  readonly messages: readonly Message[];
}

/** A connected producer that sends whole batches and reports failures as KafkaError. */
export class BatchProducer {
  readonly #producer: Producer;
  readonly #compression: CompressionTypes;

  private constructor(producer: Producer, compression: CompressionTypes) {
    this.#producer = producer;
    this.#compression = compression;
  }

  static async connect(kafka: Kafka, options: ProducerOptions = {}): Promise<BatchProducer> {
    const idempotent = options.idempotent ?? true;
    // One request in flight keeps per-partition order without relying on sequence numbers
    // when idempotence is off; with it on, kafkajs enforces the same.
    // The default (Java-compatible murmur2) partitioner, named so kafkajs does not warn about it:
    // a key lands on the same partition as it would from a Java producer.
    const producer = kafka.producer({ idempotent, maxInFlightRequests: idempotent ? 1 : 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return new BatchProducer(producer, options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None);
  }

  /**
   * Sends every message of every batch and resolves once the broker acknowledged all of them
   * (acks=all). Retryable broker errors are retried by kafkajs first; what still fails is
   * thrown as a retryable KAFKA_UNAVAILABLE, so the caller re-runs the batch.
   */
  async send(batches: readonly OutboundBatch[]): Promise<RecordMetadata[]> {
    const topicMessages = batches.filter((batch) => batch.messages.length > 0).map((batch) => ({ topic: batch.topic, messages: [...batch.messages] }));
    if (topicMessages.length === 0) return [];
    try {
      return await this.#producer.sendBatch({ topicMessages, acks: -1, compression: this.#compression });
    } catch (error) {
      throw new KafkaError('KAFKA_UNAVAILABLE', `Producing to ${topicMessages.map((batch) => batch.topic).join(', ')} failed: ${(error as Error).message}`, {
        retryable: true,
        cause: error,
      });
    }
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}
