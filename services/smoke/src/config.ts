import { brokerList, httpUrl, logLevel, parseEnv, positiveInt, redisUrl, topicName, z, type Env, type ParseEnvOptions, KAFKA_SECURITY_VARIABLES, kafkaSecurityIssues, REDIS_TLS_VARIABLES, redisTlsIssues } from '@elephant/config';

const schema = z.object({
  KAFKA_BROKERS: brokerList,
  /** TLS and SASL of the Kafka connection (docs/operations.md, "A secured Kafka cluster"). */
  ...KAFKA_SECURITY_VARIABLES,
  SCHEMA_REGISTRY_URL: httpUrl,
  REDIS_URL: redisUrl,
  /** A private CA for a rediss:// REDIS_URL (docs/operations.md, "A secured Kafka cluster"). */
  REDIS_TLS_CA_FILE: REDIS_TLS_VARIABLES.REDIS_TLS_CA_FILE,
  SMOKE_TOPIC: topicName.default('elephant.smoke.v1'),
  SMOKE_TIMEOUT_MS: positiveInt.default(60000),
  LOG_LEVEL: logLevel.default('warn'),
}).superRefine((config, context) => {
  for (const issue of [...kafkaSecurityIssues(config), ...redisTlsIssues(config)]) context.addIssue({ code: 'custom', ...issue });
});

export type SmokeConfig = z.infer<typeof schema>;

export function loadConfig(env: Env = process.env, options: ParseEnvOptions = {}): SmokeConfig {
  return parseEnv('smoke', schema, env, options);
}
