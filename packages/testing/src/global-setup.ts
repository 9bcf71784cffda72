/**
 * Vitest global setup for integration tests. Hands every test KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL and REDIS_URL (through `inject('stack')`), taken from:
 *   1. the environment, when all three are set (an existing cluster);
 *   2. testcontainers, when a Docker engine is reachable;
 *   3. the local stack (infra/local), started here and stopped at the end if this run
 *      started it.
 */
import type { TestProject } from 'vitest/node';
import { LocalStack, loadStackConfig } from '@elephant/stack';
import { loadTestHarnessEnv, processEnv, type StackEndpoints } from './config.ts';
import { dockerAvailable, startContainers } from './containers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEndpoints;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = loadTestHarnessEnv();
  const log = (line: string): void => {
    process.stderr.write(`[stack] ${line}\n`);
  };
  if (env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL && env.REDIS_URL) {
    project.provide('stack', { kafkaBrokers: env.KAFKA_BROKERS.join(','), schemaRegistryUrl: env.SCHEMA_REGISTRY_URL, redisUrl: env.REDIS_URL, source: 'environment' });
    log('using the services named in the environment');
    return async () => undefined;
  }
  if (env.ELEPHANT_TEST_TESTCONTAINERS === 'auto' && (await dockerAvailable(env.DOCKER_HOST))) {
    log('Docker engine found: starting Kafka, Apicurio Registry and Redis with testcontainers');
    const containers = await startContainers();
    project.provide('stack', { ...containers.endpoints, source: 'testcontainers' });
    return () => containers.stop();
  }
  const stack = new LocalStack(loadStackConfig(processEnv()), log);
  const result = await stack.up();
  log(result.started.length === 0 ? 'local stack already up' : `local stack up in ${(result.totalMs / 1000).toFixed(1)} s`);
  project.provide('stack', { kafkaBrokers: result.urls.kafkaBrokers, schemaRegistryUrl: result.urls.schemaRegistryUrl, redisUrl: result.urls.redisUrl, source: 'local-stack', secureKafka: result.urls.kafkaSecure, secureRedis: result.urls.redisTls });
  return async () => {
    // Leave a stack the developer started alone; stop the one this run started.
    if (result.started.length > 0) await stack.down();
  };
}
