/**
 * How a service connects to a secured Kafka cluster: TLS (KAFKA_SSL, with a CA and an optional
 * client certificate for mutual TLS) and SASL (PLAIN or SCRAM), as managed clusters require
 * them (Confluent Cloud: SASL_SSL with PLAIN; Amazon MSK and Aiven: SCRAM or mutual TLS). Every
 * service that talks to Kafka spreads KAFKA_SECURITY_VARIABLES into its schema, checks
 * kafkaSecurityIssues in its superRefine, and hands kafkaSecurityOf(config) to createKafka.
 */
import { z } from 'zod';
import { bool as flag } from './bool.ts';
import { pemFile } from './pem.ts';
import { REDIS_TLS_VARIABLES } from './redis-tls.ts';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export const KAFKA_SECURITY_VARIABLES = {
  /** Connect to the brokers over TLS (a SSL or SASL_SSL listener). */
  KAFKA_SSL: flag.default(false),
  /** PEM file of the CA(s) the brokers' certificates chain to; unset: Node's default CAs (public ones, as managed clusters use). */
  KAFKA_SSL_CA_FILE: pemFile('certificate').optional(),
  /** PEM files of this client's certificate and private key, for brokers that require mutual TLS (ssl.client.auth=required). */
  KAFKA_SSL_CERT_FILE: pemFile('certificate').optional(),
  /** Unencrypted (PKCS#8 or the older PEM forms). */
  KAFKA_SSL_KEY_FILE: pemFile('private key').optional(),
  /** Check the brokers' certificates (chain and host name); default true. Turn off only to diagnose. */
  KAFKA_SSL_REJECT_UNAUTHORIZED: flag.optional(),
  /** SASL mechanism: plain, scram-sha-256 or scram-sha-512; unset: no SASL. */
  KAFKA_SASL_MECHANISM: z.enum(SASL_MECHANISMS, { error: `must be one of ${SASL_MECHANISMS.join(', ')}` }).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  /** Never shown in configuration errors (its name ends in PASSWORD). */
  KAFKA_SASL_PASSWORD: z.string().optional(),
};

export interface KafkaSecuritySettings {
  readonly KAFKA_SSL: boolean;
  readonly KAFKA_SSL_CA_FILE?: Buffer | undefined;
  readonly KAFKA_SSL_CERT_FILE?: Buffer | undefined;
  readonly KAFKA_SSL_KEY_FILE?: Buffer | undefined;
  readonly KAFKA_SSL_REJECT_UNAUTHORIZED?: boolean | undefined;
  readonly KAFKA_SASL_MECHANISM?: SaslMechanism | undefined;
  readonly KAFKA_SASL_USERNAME?: string | undefined;
  readonly KAFKA_SASL_PASSWORD?: string | undefined;
}

/** What settings of KAFKA_SECURITY_VARIABLES contradict each other, by variable (for a superRefine). */
export function kafkaSecurityIssues(config: KafkaSecuritySettings): { readonly path: [string]; readonly message: string }[] {
  const issues: { path: [string]; message: string }[] = [];
  if (!config.KAFKA_SSL) {
    for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_REJECT_UNAUTHORIZED'] as const) {
      if (config[name] !== undefined) issues.push({ path: [name], message: 'is set but KAFKA_SSL is not true: set KAFKA_SSL=true to connect over TLS' });
    }
  }
  if ((config.KAFKA_SSL_CERT_FILE === undefined) !== (config.KAFKA_SSL_KEY_FILE === undefined)) {
    const missing = config.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    issues.push({ path: [missing], message: 'is required with the other one: a client certificate goes with its private key (mutual TLS)' });
  }
  if (config.KAFKA_SASL_MECHANISM === undefined) {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[name] !== undefined) issues.push({ path: [name], message: `is set but KAFKA_SASL_MECHANISM is not: set it to ${SASL_MECHANISMS.join(', ')}` });
    }
  } else {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[name] === undefined) issues.push({ path: [name], message: `is required with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}` });
    }
  }
  return issues;
}

/** How to connect: kafkajs' `ssl` and `sasl` options (structurally), from parsed settings. */
export interface KafkaSecurity {
  readonly ssl?: boolean | { readonly ca?: Buffer[]; readonly cert?: Buffer; readonly key?: Buffer; readonly rejectUnauthorized: boolean };
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
}

export function kafkaSecurityOf(config: KafkaSecuritySettings): KafkaSecurity {
  const ssl = config.KAFKA_SSL
    ? {
        rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED ?? true,
        ...(config.KAFKA_SSL_CA_FILE ? { ca: [config.KAFKA_SSL_CA_FILE] } : {}),
        ...(config.KAFKA_SSL_CERT_FILE ? { cert: config.KAFKA_SSL_CERT_FILE } : {}),
        ...(config.KAFKA_SSL_KEY_FILE ? { key: config.KAFKA_SSL_KEY_FILE } : {}),
      }
    : undefined;
  const sasl =
    config.KAFKA_SASL_MECHANISM !== undefined && config.KAFKA_SASL_USERNAME !== undefined && config.KAFKA_SASL_PASSWORD !== undefined
      ? { mechanism: config.KAFKA_SASL_MECHANISM, username: config.KAFKA_SASL_USERNAME, password: config.KAFKA_SASL_PASSWORD }
      : undefined;
  return { ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) };
}

/**
 * The variables of KAFKA_SECURITY_VARIABLES and REDIS_TLS_VARIABLES set in `env`, as given:
 * what `elephant run` passes to each embedded service.
 */
export function connectionSecurityEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...Object.keys(KAFKA_SECURITY_VARIABLES), ...Object.keys(REDIS_TLS_VARIABLES)]) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') out[name] = value;
  }
  return out;
}
