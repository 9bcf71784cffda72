import { brokerList, httpUrl, parseEnv, redisUrl, z, type Env } from '@elephant/config';

/** Where integration tests find the services, as handed to them by the global setup. */
/** The process environment, for the local stack's own config parser. */
export function processEnv(): Env {
  return process.env;
}

export interface StackEndpoints {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly redisUrl: string;
  /** environment (an existing cluster), testcontainers, or the local stack. */
  readonly source: 'environment' | 'testcontainers' | 'local-stack';
  /**
   * A SASL_SSL listener of the same broker, for tests of secured connections: the local
   * stack's (infra/local/tls/). Undefined for the other sources.
   */
  readonly secureKafka?: { readonly brokers: string; readonly caFile: string; readonly username: string; readonly password: string; readonly clientCertFile: string; readonly clientKeyFile: string };
  /** The same Redis over TLS (a rediss:// URL) and the CA its certificate chains to: the local stack's. Undefined for the other sources. */
  readonly secureRedis?: { readonly url: string; readonly caFile: string };
}

const externalSchema = z.object({
  KAFKA_BROKERS: brokerList.optional(),
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  /** Set to `false` to never try Docker even when an engine is reachable. */
  ELEPHANT_TEST_TESTCONTAINERS: z.enum(['auto', 'false']).default('auto'),
  /** Log level of the loggers tests hand to the code under test. */
  ELEPHANT_TEST_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('silent'),
  /** Docker engine to probe; testcontainers reads the same variable. */
  DOCKER_HOST: z.string().optional(),
});

export type TestHarnessEnv = z.infer<typeof externalSchema>;

/** Parses the harness' variables from `env` (default: this process' environment). */
export function loadTestHarnessEnv(env: Env = process.env): TestHarnessEnv {
  const parsed = parseEnv('the integration-test harness', externalSchema, env);
  const given = [parsed.KAFKA_BROKERS, parsed.SCHEMA_REGISTRY_URL, parsed.REDIS_URL].filter((value) => value !== undefined).length;
  if (given !== 0 && given !== 3) {
    // Half an external cluster is a mistake, not a request for the local stack.
    parseEnv('the integration-test harness (set all three or none)', z.object({ KAFKA_BROKERS: z.string(), SCHEMA_REGISTRY_URL: z.string(), REDIS_URL: z.string() }), env);
  }
  return parsed;
}
