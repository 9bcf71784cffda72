#!/usr/bin/env node
/**
 * The passthrough baseline as a process of its own, for the benchmark's latency runs (the
 * stages run as `elephant run --only <stage>`): BENCH_PASSTHROUGH_FROM → BENCH_PASSTHROUGH_TO
 * in group BENCH_PASSTHROUGH_GROUP on KAFKA_BROKERS, until SIGTERM.
 */
import { brokerList, parseEnv, z } from '@elephant/config';
import { describeError } from '@elephant/errors';
import { createKafka } from '@elephant/kafka';
import { createLogger } from '@elephant/observability';
import { startPassthrough } from './passthrough.ts';

const name = z.string().min(1, 'must not be empty');
const logger = createLogger({ name: 'passthrough', level: 'error', destination: process.stderr });
try {
  const config = parseEnv('the passthrough', z.object({ KAFKA_BROKERS: brokerList, BENCH_PASSTHROUGH_FROM: name, BENCH_PASSTHROUGH_TO: name, BENCH_PASSTHROUGH_GROUP: name }), process.env);
  const running = await startPassthrough({
    kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'elephant-bench-passthrough', logger }),
    from: config.BENCH_PASSTHROUGH_FROM,
    to: config.BENCH_PASSTHROUGH_TO,
    groupId: config.BENCH_PASSTHROUGH_GROUP,
    logger,
  });
  process.once('SIGTERM', () => {
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`passthrough: ${describeError(error)}\n`);
        process.exit(1);
      },
    );
  });
} catch (error) {
  process.stderr.write(`passthrough: ${describeError(error)}\n`);
  process.exitCode = 1;
}
