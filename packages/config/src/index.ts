/**
 * Environment parsing: each service describes its whole environment as one zod object and
 * parses it once, in its composition root. Every bad or missing variable is reported in one
 * error that names each of them, so an operator fixes a Deployment in one pass.
 */
import { z } from 'zod';
import { ElephantError, redactUserInfo } from '@elephant/errors';
import { nearMissWarnings, type ConfigWarning } from './near-miss.ts';

export { z };

export const CONFIG_ERROR_CODES = ['CONFIG_INVALID'] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export interface ConfigIssue {
  readonly variable: string;
  readonly problem: string;
}

export class ConfigError extends ElephantError<ConfigErrorCode> {
  readonly issues: readonly ConfigIssue[];

  constructor(scope: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.variable}: ${issue.problem}`);
    super('CONFIG_INVALID', `Invalid configuration for ${scope} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
      retryable: false,
      details: { scope, variables: issues.map((issue) => issue.variable) },
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export { nearMissWarnings, type ConfigWarning } from './near-miss.ts';

export interface ParseEnvOptions {
  /**
   * Told of each variable that looks like a misspelling of one of the schema's (nearMissWarnings):
   * not an error, since environments carry other programs' variables, but ignored, so worth a
   * warning once the service has its logger (runService logs them).
   */
  readonly onWarning?: (warning: ConfigWarning) => void;
}

/**
 * Parses `env` against `schema` (whose keys are variable names).
 * Empty strings count as unset, as they do for most operators' intuition about `FOO=`.
 * A required variable that is not set, with a near miss of it set, names the near miss.
 * @throws ConfigError naming every bad or missing variable.
 */
export function parseEnv<Shape extends z.ZodRawShape>(
  scope: string,
  schema: z.ZodObject<Shape>,
  env: Env,
  options: ParseEnvOptions = {},
): z.infer<z.ZodObject<Shape>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value;
  }
  const nearMisses = nearMissWarnings(scope, Object.keys(schema.shape), env);
  const result = schema.safeParse(input);
  if (result.success) {
    for (const warning of nearMisses) options.onWarning?.(warning);
    return result.data;
  }
  const byVariable = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    // The variable is the first path element; deeper elements (a list entry) stay in the text.
    const variable = issue.path.length > 0 ? String(issue.path[0]) : '(environment)';
    const problem = issue.code === 'invalid_type' && input[variable] === undefined ? notSetProblem([variable], nearMisses) : describeIssue(issue, variable, input[variable]);
    byVariable.set(variable, [...(byVariable.get(variable) ?? []), problem]);
  }
  const issues = [...byVariable].map(([variable, problems]) => ({ variable, problem: problems.join('; ') }));
  throw new ConfigError(scope, issues);
}

/**
 * The problem of a required variable that is not set (any of `variables`, for one that may be
 * set under either name), `hint` after it, naming the near misses of it that are set
 * (nearMissWarnings): `NORMALIZER_CHANNLES` set for `NORMALIZER_CHANNELS`.
 */
export function notSetProblem(variables: readonly string[], nearMisses: readonly ConfigWarning[], hint = ''): string {
  const misspelt = nearMisses.filter((warning) => variables.includes(warning.suggestion)).map((warning) => warning.variable);
  return `is required but not set${hint}${misspelt.length > 0 ? ` (${misspelt.join(', ')} is set: misspelt?)` : ''}`;
}

/**
 * Variables whose value is never echoed in an error: it lands in stderr and container logs.
 * `KEY` only at the end (API_KEY, SIGNING_KEY), not REDIS_KEY_PREFIX.
 */
const SECRET_VARIABLE = /PASSWORD|SECRET|TOKEN|CREDENTIAL|KEY$/i;

function describeIssue(issue: z.core.$ZodIssue, variable: string, raw: string | undefined): string {
  if (raw === undefined) return issue.message;
  if (SECRET_VARIABLE.test(variable)) return `${issue.message} (value not shown)`;
  const redacted = redactUserInfo(raw);
  return `${issue.message} (got ${JSON.stringify(redacted.length > 80 ? `${redacted.slice(0, 77)}...` : redacted)})`;
}

// Reusable variable types. Each accepts the string form an operator writes in a manifest.

/**
 * A JSON object in one variable, each value checked by `value`: a map setting such as
 * NORMALIZER_TRUST='{"crm":55}'. Unparsable JSON is an issue of the variable, not a crash.
 */
export function jsonMap<Value extends z.ZodType>(value: Value, example: string) {
  return z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a JSON object like ${example}` });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), value, { error: `must be a JSON object like ${example}` }));
}

/**
 * One broker of a list: host:port, the port 1-65535. Port 0 or 99999 used to pass, and the
 * service then retried the connection for 15 s and exited 1 instead of 78 naming the variable.
 */
const broker = z.string().superRefine((entry, context) => {
  const match = /^[^\s:]+:(\d+)$/.exec(entry);
  if (match === null) {
    context.addIssue({ code: 'custom', message: 'each broker must be host:port' });
    return;
  }
  const brokerPort = Number(match[1]);
  if (brokerPort < 1 || brokerPort > 65535) context.addIssue({ code: 'custom', message: `the port of broker ${JSON.stringify(entry)} must be 1-65535` });
});

/** A comma-separated list of host:port pairs, e.g. `kafka-0:9092,kafka-1:9092`. */
export const brokerList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0))
  .pipe(z.array(broker).min(1, 'must list at least one host:port'));

/** An absolute http(s) URL. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** A redis:// or rediss:// URL. */
export const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });

/** A TCP port. */
export const port = z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

/** A positive integer, e.g. a batch size or a timeout in milliseconds. */
export const positiveInt = z.coerce.number({ error: 'must be a number' }).int('must be an integer').positive('must be positive');

export { bool } from './bool.ts';

/** A pino log level. */
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Why `tenant` cannot name a tenant, or undefined. Each tenant's Redis keys carry the hash tag
 * `{<tenant>}`, which keeps them in one cluster slot, as the scripts that touch several of them
 * need: a brace inside would end the tag early or leave it empty, and Redis would then hash
 * each whole key, spreading the tenant over the slots (the scripts then fail, not retryable).
 */
export function tenantProblem(tenant: string): string | undefined {
  if (tenant.length === 0) return 'must not be empty';
  if (tenant.includes('{') || tenant.includes('}')) return 'must not contain { or } (it is the hash tag {<tenant>} of its Redis keys)';
  return undefined;
}

/** A tenant's name (see tenantProblem). */
export const tenantName = z.string().superRefine((value, context) => {
  const problem = tenantProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});

/** The prefix of every Redis key: no braces, as each tenant's keys add the hash tag `{<tenant>}` after it. */
export const redisKeyPrefix = z.string().regex(/^[^{}]*$/, 'must not contain { or } (each tenant adds its hash tag {<tenant>} after it)');

/** A Kafka topic name (legal characters and length). */
export const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters of a-z A-Z 0-9 . _ -');

export { KAFKA_SECURITY_VARIABLES, connectionSecurityEnv, kafkaSecurityIssues, kafkaSecurityOf, SASL_MECHANISMS, type KafkaSecurity, type KafkaSecuritySettings, type SaslMechanism } from './kafka-security.ts';
export { REDIS_TLS_VARIABLES, redisTlsIssues, redisTlsOf, type RedisTlsSettings } from './redis-tls.ts';
