import { describe, expect, it } from 'vitest';
import { loadConfig, topicsOf } from '@elephant/identity-resolver';

const base = { KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', REDIS_URL: 'redis://r:6379' };

describe('identity resolver configuration', () => {
  it('regression (environments sharing a cluster joined one group, whose leader assigned only its own topics: the other environment\'s resolvers got no partitions, still ready): TOPIC_PREFIX starts the default consumer group', () => {
    const config = loadConfig({ ...base, TOPIC_PREFIX: 'prod.' });
    expect(config.CONSUMER_GROUP).toBe('prod.elephant-identity-resolver');
    expect(topicsOf(config).touchpoints).toBe('prod.touchpoints.v1');
    expect(loadConfig({ ...base, TOPIC_PREFIX: 'stg.' }).CONSUMER_GROUP).toBe('stg.elephant-identity-resolver');
  });

  it('takes CONSUMER_GROUP as given, whatever the TOPIC_PREFIX (the way to keep a group\'s committed offsets)', () => {
    expect(loadConfig({ ...base, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP: 'elephant-identity-resolver' }).CONSUMER_GROUP).toBe('elephant-identity-resolver');
    expect(loadConfig({ ...base, CONSUMER_GROUP: 'mine' }).CONSUMER_GROUP).toBe('mine');
  });

  it('keeps the name it always had without a TOPIC_PREFIX (empty or unset), and with an empty CONSUMER_GROUP (unset)', () => {
    expect(loadConfig(base).CONSUMER_GROUP).toBe('elephant-identity-resolver');
    expect(loadConfig({ ...base, TOPIC_PREFIX: '' }).CONSUMER_GROUP).toBe('elephant-identity-resolver');
    expect(loadConfig({ ...base, TOPIC_PREFIX: 'prod.', CONSUMER_GROUP: '' }).CONSUMER_GROUP).toBe('prod.elephant-identity-resolver');
  });
});
