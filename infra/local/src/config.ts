import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parseEnv, port, positiveInt, z, type Env } from '@elephant/config';

/** The repository root (infra/local/src/ is three levels down). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const schema = z.object({
  /** Where downloads, data, logs and the state file live. Git-ignored. */
  ELEPHANT_STACK_DIR: z.string().default(resolve(REPO_ROOT, '.elephant')),
  /**
   * Where the Maven outputs (downloads/, dist/) live; unset: ELEPHANT_STACK_DIR. A second
   * stack (the lifecycle test's) points it at the first one's folder to reuse its downloads.
   */
  ELEPHANT_STACK_CACHE_DIR: z.string().optional(),
  ELEPHANT_KAFKA_PORT: port.default(19092),
  ELEPHANT_KAFKA_CONTROLLER_PORT: port.default(19093),
  /** The broker's SASL_SSL listener (TLS with infra/local/tls/, user elephant with SASL/PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512): what tests of secured connections use. */
  ELEPHANT_KAFKA_SECURE_PORT: port.default(19094),
  ELEPHANT_REGISTRY_PORT: port.default(18081),
  /** Quarkus management interface of the registry (health, metrics). */
  ELEPHANT_REGISTRY_MANAGEMENT_PORT: port.default(18082),
  ELEPHANT_REDIS_PORT: port.default(16379),
  /** redis-server's TLS port (the test-only material of infra/local/tls/): what tests of rediss:// use. */
  ELEPHANT_REDIS_TLS_PORT: port.default(16380),
  /** Max heap of the Kafka JVM. */
  ELEPHANT_KAFKA_HEAP: z.string().regex(/^\d+[mg]$/, 'must look like 512m or 1g').default('512m'),
  /** Max heap of the registry JVM. */
  ELEPHANT_REGISTRY_HEAP: z.string().regex(/^\d+[mg]$/, 'must look like 384m or 1g').default('384m'),
  /**
   * Apicurio Registry version from Maven Central. Unset: 3.3.3 when a Java 21+ JDK is
   * found, else 3.0.9 (the newest line that runs on Java 17).
   */
  ELEPHANT_REGISTRY_VERSION: z.string().regex(/^3\.\d+\.\d+$/, 'must be an Apicurio Registry 3.x version').optional(),
  /** A JDK for the registry; by default the newest JDK found (JAVA_HOME, /usr/lib/jvm/*, PATH). */
  ELEPHANT_JAVA_HOME: z.string().optional(),
  JAVA_HOME: z.string().optional(),
  /** Where java, mvn and redis-server are looked up. */
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  /** How long `up` waits for each service to become ready. */
  ELEPHANT_STACK_TIMEOUT_MS: positiveInt.default(120000),
});

export type StackConfig = z.infer<typeof schema>;

export function loadStackConfig(env: Env = process.env): StackConfig {
  return parseEnv('the local stack', schema, env);
}

export interface StackUrls {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly redisUrl: string;
  /** The broker's SASL_SSL listener and how to connect to it. */
  readonly kafkaSecure: SecureKafkaEndpoint;
  /** redis-server's TLS port as a rediss:// URL, and the CA file its certificate chains to. */
  readonly redisTls: { readonly url: string; readonly caFile: string };
}

/** A SASL_SSL listener: its brokers, the CA file its certificate chains to, a user it accepts with SASL/PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, a client certificate it accepts. */
export interface SecureKafkaEndpoint {
  readonly brokers: string;
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  /** A client certificate and its key (PEM files) the listener accepts (it asks for one; mutual TLS). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

/** Test-only TLS material of the local stack's SASL_SSL listener (infra/local/tls/README.md). */
export const LOCAL_TLS_DIR = resolve(REPO_ROOT, 'infra/local/tls');
/** The local stack's Kafka user, for SASL/PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (test-only, like its TLS material). */
export const LOCAL_SASL_USER = { username: 'elephant', password: 'elephant-local-secret' } as const;

export function stackUrls(config: StackConfig): StackUrls {
  return {
    kafkaBrokers: `127.0.0.1:${config.ELEPHANT_KAFKA_PORT}`,
    schemaRegistryUrl: `http://127.0.0.1:${config.ELEPHANT_REGISTRY_PORT}/apis/ccompat/v7`,
    redisUrl: `redis://127.0.0.1:${config.ELEPHANT_REDIS_PORT}`,
    kafkaSecure: {
      brokers: `127.0.0.1:${config.ELEPHANT_KAFKA_SECURE_PORT}`,
      caFile: resolve(LOCAL_TLS_DIR, 'ca.pem'),
      ...LOCAL_SASL_USER,
      clientCertFile: resolve(LOCAL_TLS_DIR, 'client-cert.pem'),
      clientKeyFile: resolve(LOCAL_TLS_DIR, 'client-key.pem'),
    },
    redisTls: { url: `rediss://127.0.0.1:${config.ELEPHANT_REDIS_TLS_PORT}`, caFile: resolve(LOCAL_TLS_DIR, 'ca.pem') },
  };
}
