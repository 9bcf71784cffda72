#!/usr/bin/env node
/**
 * `npm run stack -- up|down|status [--json] [--purge]`: the local stack without Docker.
 * Exit codes: 0 done, 1 failed (the message says what to do), 2 usage, 3 `status` found a
 * component not ready.
 */
import { describeError, isElephantError } from '@elephant/errors';
import { loadStackConfig } from './config.ts';
import { LocalStack } from './stack.ts';

const USAGE = `Usage: npm run stack -- <command> [options]

Commands:
  up        Start Kafka (KRaft), Apicurio Registry and Redis; no-op when already up.
  down      Stop them (data is kept). --purge also removes data and logs.
  status    Show each component (--json for machine-readable output).

Environment: ELEPHANT_STACK_DIR, ELEPHANT_STACK_CACHE_DIR, ELEPHANT_KAFKA_PORT, ELEPHANT_KAFKA_CONTROLLER_PORT, ELEPHANT_KAFKA_SECURE_PORT,
ELEPHANT_REGISTRY_PORT, ELEPHANT_REGISTRY_MANAGEMENT_PORT, ELEPHANT_REDIS_PORT, ELEPHANT_REDIS_TLS_PORT, ELEPHANT_KAFKA_HEAP, ELEPHANT_REGISTRY_HEAP,
ELEPHANT_REGISTRY_VERSION, ELEPHANT_JAVA_HOME, ELEPHANT_STACK_TIMEOUT_MS (see docs/operations.md).`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...flags] = argv;
  if (command === undefined || command === '--help' || command === '-h' || flags.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const report = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  try {
    const stack = new LocalStack(loadStackConfig(), report);
    switch (command) {
      case 'up': {
        const result = await stack.up();
        if (result.started.length === 0) report('stack: already up, nothing to do');
        else report(`stack: up in ${(result.totalMs / 1000).toFixed(1)} s`);
        process.stdout.write(`KAFKA_BROKERS=${result.urls.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${result.urls.schemaRegistryUrl}\nREDIS_URL=${result.urls.redisUrl}\n`);
        return 0;
      }
      case 'down':
        await stack.down({ purge: flags.includes('--purge') });
        return 0;
      case 'status': {
        const status = await stack.status();
        if (flags.includes('--json')) {
          process.stdout.write(`${JSON.stringify({ components: status, urls: stack.urls }, null, 2)}\n`);
        } else {
          for (const component of status) {
            const state = component.ready ? 'ready' : component.running ? 'running, not ready' : 'stopped';
            process.stdout.write(`${component.name.padEnd(9)} ${state.padEnd(19)} port ${String(component.port).padEnd(6)} ${component.pid ? `pid ${component.pid}` : ''}${component.detail ? `  ${component.detail}` : ''}\n`);
          }
        }
        return status.every((component) => component.ready) ? 0 : 3;
      }
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    process.stderr.write(`${isElephantError(error) ? error.message : describeError(error)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
