export { createKafka, type KafkaClientOptions } from './client.ts';
export { ensureTopics, consumerGroupLag, type TopicSpec } from './admin.ts';
export { BatchProducer, type OutboundBatch, type ProducerOptions, type Message, type RecordMetadata } from './producer.ts';
export { BatchConsumer, type BatchConsumerOptions, type BatchContext, type BatchHandler, type ConsumedBatch, type KafkaMessage } from './consumer.ts';
export { KafkaError, KAFKA_ERROR_CODES, type KafkaErrorCode } from './errors.ts';
export type { Kafka } from 'kafkajs';
export { deadLetter, headerText, DEAD_LETTER_HEADERS, type DeadLetterReason, type DeadLetterSource } from './dead-letters.ts';
export type { IHeaders } from 'kafkajs';
