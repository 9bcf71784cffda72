import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bool, brokerList, redisKeyPrefix, tenantName, httpUrl, logLevel, parseEnv, positiveInt, redisUrl, z, type Env, KAFKA_SECURITY_VARIABLES, kafkaSecurityIssues, REDIS_TLS_VARIABLES, redisTlsIssues } from '@elephant/config';
import { processingGuarantee } from '@elephant/profile-builder';
import { loadStackConfig, stackUrls } from '@elephant/stack';

const schema = z.object({
  KAFKA_BROKERS: brokerList.optional(),
  /** TLS and SASL of the Kafka connection (docs/operations.md, "A secured Kafka cluster"). */
  ...KAFKA_SECURITY_VARIABLES,
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  /** A private CA for a rediss:// REDIS_URL (docs/operations.md, "A secured Kafka cluster"). */
  REDIS_TLS_CA_FILE: REDIS_TLS_VARIABLES.REDIS_TLS_CA_FILE,
  TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'may contain only a-z A-Z 0-9 . _ -').default(''),
  /**
   * Starts the embedded services' consumer group names (elephant-normalizer-…,
   * elephant-identity-resolver, elephant-profile-builder) in place of TOPIC_PREFIX, for `run`
   * and for `drain`, which reads the same names. Empty (the default): the services' own
   * defaults, `<TOPIC_PREFIX>elephant-…`, which services deployed without the CLI use too.
   */
  CONSUMER_GROUP_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'may contain only a-z A-Z 0-9 . _ -').default(''),
  TENANT: tenantName.default('default'),
  DEFAULT_REGION: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code like US').default('US'),
  DEFAULT_CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD').default('USD'),
  REDIS_KEY_PREFIX: redisKeyPrefix.default('elephant:'),
  /**
   * Fold Gmail dots and +tags in e-mail identifiers, as the normalizer does with the same
   * setting: `profile` and `erase` normalize their identifier with it, and `run` passes it on to
   * the embedded normalizer (PASSED_SETTINGS). Set it as the normalizer's deployment does.
   */
  FOLD_GMAIL_ADDRESSES: bool.default(false),
  IDENTITY_RULES_FILE: z.string().optional(),
  /**
   * Partitions of every topic the services read or write (raw channel topics included): they
   * create missing topics with this many and refuse existing ones with another count.
   */
  PARTITIONS: positiveInt.default(8),
  /** The embedded profile builder's (exactly_once or at_least_once; unset: the builder's default; docs/operations.md). */
  PROCESSING_GUARANTEE: processingGuarantee.optional(),
  LOG_LEVEL: logLevel.default('warn'),
}).superRefine((config, context) => {
  for (const issue of [...kafkaSecurityIssues(config), ...redisTlsIssues(config)]) context.addIssue({ code: 'custom', ...issue });
  // Without KAFKA_BROKERS the CLI goes to the local stack's plaintext listener, which takes neither.
  if (config.KAFKA_BROKERS === undefined && (config.KAFKA_SSL || config.KAFKA_SASL_MECHANISM !== undefined)) {
    context.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'is required with KAFKA_SSL or KAFKA_SASL_MECHANISM: unset, the CLI uses the local stack, whose listener takes neither' });
  }
  if (config.REDIS_URL === undefined && config.REDIS_TLS_CA_FILE !== undefined) {
    context.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required with REDIS_TLS_CA_FILE (a rediss:// URL): unset, the CLI uses the local stack\'s plain Redis' });
  }
});

export type CliEnv = z.infer<typeof schema>;

/** Where the services are: the environment, else the local stack (its stack.env, else its defaults). */
export interface Endpoints {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly redisUrl: string;
}

export interface CliConfig extends CliEnv {
  readonly endpoints: Endpoints;
  /** The raw environment, for the embedded local stack's own parser. */
  readonly env: Env;
}

/** This process' environment: the one place the CLI reads it. */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

export function loadCliConfig(env: Env): CliConfig {
  const parsed = parseEnv('elephant', schema, env);
  const stack = loadStackConfig(env);
  const local = stackUrls(stack);
  const fromFile = readStackEnv(join(stack.ELEPHANT_STACK_DIR, 'stack.env'));
  return {
    ...parsed,
    env,
    endpoints: {
      kafkaBrokers: parsed.KAFKA_BROKERS?.join(',') ?? fromFile['KAFKA_BROKERS'] ?? local.kafkaBrokers,
      schemaRegistryUrl: parsed.SCHEMA_REGISTRY_URL ?? fromFile['SCHEMA_REGISTRY_URL'] ?? local.schemaRegistryUrl,
      redisUrl: parsed.REDIS_URL ?? fromFile['REDIS_URL'] ?? local.redisUrl,
    },
  };
}

function readStackEnv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.includes('=') && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}
