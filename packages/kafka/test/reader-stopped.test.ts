import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KafkaJSNonRetriableError } from 'kafkajs';
import { readerStopped } from '@elephant/kafka';

/** kafkajs' error for a broker response's error code, as its request decoders build it. */
const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };
const GROUP_AUTHORIZATION_FAILED = 30;
const INVALID_SESSION_TIMEOUT = 26;

describe('readerStopped: the error a read ends with when kafkajs stops its consumer for good', () => {
  it('names an ACL refusal of the reader\'s group KAFKA_REFUSED, with what the operator can do', () => {
    const error = readerStopped('elephant.dlq.normalizer', createErrorFromCode(GROUP_AUTHORIZATION_FAILED));
    expect(error.code).toBe('KAFKA_REFUSED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^Could not read elephant\.dlq\.normalizer: the broker refuses it \(GROUP_AUTHORIZATION_FAILED\); grant the principal/);
    expect(error.details).toEqual({ reason: 'GROUP_AUTHORIZATION_FAILED' });
  });

  it('finds the refusal under kafkajs\' wrapping', () => {
    const cause = createErrorFromCode(GROUP_AUTHORIZATION_FAILED);
    const wrapped = new KafkaJSNonRetriableError(cause);
    Object.assign(wrapped, { cause });
    expect(readerStopped('t', wrapped).code).toBe('KAFKA_REFUSED');
  });

  it('calls any other stop KAFKA_CONSUMER_CRASHED, not retryable, naming the topic and the cause', () => {
    const error = readerStopped('t', createErrorFromCode(INVALID_SESSION_TIMEOUT));
    expect(error.code).toBe('KAFKA_CONSUMER_CRASHED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^Could not read t: its consumer stopped: .*session timeout/i);
  });
});
