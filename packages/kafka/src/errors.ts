import { ElephantError } from '@elephant/errors';

export const KAFKA_ERROR_CODES = ['KAFKA_UNAVAILABLE', 'KAFKA_TOPIC_MISMATCH', 'KAFKA_CONSUMER_CRASHED', 'KAFKA_HANDLER_FAILED'] as const;
export type KafkaErrorCode = (typeof KAFKA_ERROR_CODES)[number];

export class KafkaError extends ElephantError<KafkaErrorCode> {
  constructor(code: KafkaErrorCode, message: string, options: ConstructorParameters<typeof ElephantError>[2] = {}) {
    super(code, message, options);
    this.name = 'KafkaError';
  }
}
