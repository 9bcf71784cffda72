#!/usr/bin/env node
/**
 * The smoke round trip: registers a schema, produces one Avro message through the
 * registry, consumes and decodes it with the batch consumer runner, and writes and reads
 * Redis. Exit code 0 means Kafka, the registry and Redis work together; 1 that one failed
 * (the message says which); 78 (EX_CONFIG) a bad environment.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describeError, redactUserInfo } from '@elephant/errors';
import { ConfigError, type ConfigWarning } from '@elephant/config';
import { createLogger } from '@elephant/observability';
import { runSmoke } from './smoke.ts';
import { loadConfig } from './config.ts';

async function main(): Promise<number> {
  let config;
  const warnings: ConfigWarning[] = [];
  try {
    config = loadConfig(undefined, { onWarning: (warning) => warnings.push(warning) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
    throw error;
  }
  const logger = createLogger({ name: 'smoke', level: config.LOG_LEVEL });
  for (const warning of warnings) logger.warn({ variable: warning.variable, suggestion: warning.suggestion }, warning.message);
  const schema = JSON.parse(readFileSync(new URL('../../../schemas/smoke-ping.avsc', import.meta.url), 'utf8')) as object;
  try {
    const result = await runSmoke(config, logger, schema, randomUUID());
    process.stdout.write(
      [
        `Kafka     ${config.KAFKA_BROKERS.join(',')}: produced and consumed ${result.topic} (partition ${result.partition}, offset ${result.offset})`,
        `Registry  ${redactUserInfo(config.SCHEMA_REGISTRY_URL)}: subject ${result.subject}, schema id ${result.schemaId}, decoded ${JSON.stringify(result.decoded)}`,
        `Redis     ${redactUserInfo(config.REDIS_URL)}: wrote and read ${result.redisKey}`,
        `Round trip OK in ${result.elapsedMs} ms`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    process.stderr.write(`Smoke round trip failed: ${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await main();
