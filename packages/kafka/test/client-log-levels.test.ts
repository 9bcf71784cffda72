import { describe, expect, it } from 'vitest';
import { logLevel } from 'kafkajs';
import { kafkajsLogLevel as levelOf } from '@elephant/kafka';

describe('kafkajs log levels', () => {
  it('a response with a retriable broker error is debug: kafkajs retries it (the demo printed these as errors on a fresh broker)', () => {
    expect(levelOf(logLevel.ERROR, 'Response ListOffsets(key: 2, version: 3)', 'This server is not the leader for that topic-partition')).toBe('debug');
    expect(levelOf(logLevel.ERROR, 'Response JoinGroup(key: 11, version: 5)', "The coordinator is loading and hence can't process requests for this group")).toBe('debug');
  });

  it('regression (services starting together logged "Topic creation errors" as an error, though each went on): a CreateTopics answer with topic errors is debug; ensureTopics throws a real failure', () => {
    expect(levelOf(logLevel.ERROR, 'Response CreateTopics(key: 19, version: 3)', 'Topic creation errors')).toBe('debug');
    expect(levelOf(logLevel.ERROR, 'Response CreateTopics(key: 19, version: 3)', 'Replication-factor is invalid')).toBe('error');
  });

  it('a response with a non-retriable broker error stays an error', () => {
    expect(levelOf(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', 'The request included a message larger than the max message size the server will accept')).toBe('error');
  });

  it('the consumer restarting itself is a warning; other entries keep their level', () => {
    expect(levelOf(logLevel.ERROR, 'Restarting the consumer in 100ms', undefined)).toBe('warn');
    expect(levelOf(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: x', undefined)).toBe('error');
    // A crash on a retriable broker error, which kafkajs restarts from (a fresh broker's coordinator).
    expect(levelOf(logLevel.ERROR, "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group", undefined)).toBe('warn');
    expect(levelOf(logLevel.WARN, 'something', undefined)).toBe('warn');
  });
});
