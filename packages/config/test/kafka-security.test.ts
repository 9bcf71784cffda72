import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, KAFKA_SECURITY_VARIABLES, REDIS_TLS_VARIABLES, connectionSecurityEnv, kafkaSecurityIssues, kafkaSecurityOf, parseEnv, redisTlsIssues, redisTlsOf, z } from '@elephant/config';

const schema = z.object({ ...KAFKA_SECURITY_VARIABLES }).superRefine((config, context) => {
  for (const issue of kafkaSecurityIssues(config)) context.addIssue({ code: 'custom', ...issue });
});
const parse = (env: Record<string, string>) => parseEnv('test', schema, env);

function problems(env: Record<string, string>): Record<string, string> {
  try {
    parse(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return Object.fromEntries((error as ConfigError).issues.map((issue) => [issue.variable, issue.problem]));
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'elephant-kafka-security-'));
/** The local stack's test-only CA certificate, and its server's unencrypted key (with its certificate after it). */
const ca = new URL('../../../infra/local/tls/ca.pem', import.meta.url).pathname;
const key = new URL('../../../infra/local/tls/server.pem', import.meta.url).pathname;
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, 'not a certificate\n');
const encrypted = join(dir, 'encrypted.pem');
writeFileSync(encrypted, generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey);

describe('Kafka TLS and SASL settings', () => {
  it('are plaintext without SASL by default', () => {
    expect(kafkaSecurityOf(parse({}))).toEqual({});
  });

  it('read the CA file at start and map to kafkajs\' ssl and sasl options', () => {
    const security = kafkaSecurityOf(parse({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' }));
    expect(security.ssl).toEqual({ rejectUnauthorized: true, ca: [readFileSync(ca)] });
    expect(security.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'pw' });
    expect(kafkaSecurityOf(parse({ KAFKA_SSL: 'true' })).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('name each variable that contradicts another or cannot be read, never echoing the password', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: ca })['KAFKA_SSL_CA_FILE']).toMatch(/^is set but KAFKA_SSL is not true: set KAFKA_SSL=true to connect over TLS/);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') })['KAFKA_SSL_CA_FILE']).toMatch(/^cannot be read: ENOENT \(got ".*missing\.pem"\)/);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: notPem })['KAFKA_SSL_CA_FILE']).toMatch(/^holds no PEM certificate/);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: ca, KAFKA_SSL_KEY_FILE: encrypted })['KAFKA_SSL_KEY_FILE']).toMatch(/^holds no PEM private key that can be read without a passphrase \(an encrypted key: decrypt it/);
    expect(kafkaSecurityOf(parse({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: ca, KAFKA_SSL_KEY_FILE: key })).ssl).toMatchObject({ cert: readFileSync(ca), key: readFileSync(key) });
    expect(Object.keys(problems({ KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }))).toEqual(['KAFKA_SSL_REJECT_UNAUTHORIZED']);
    expect(Object.keys(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: ca }))).toEqual(['KAFKA_SSL_KEY_FILE']);
    expect(problems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc' })).toEqual({ KAFKA_SASL_PASSWORD: 'is required with KAFKA_SASL_MECHANISM=plain' });
    expect(problems({ KAFKA_SASL_PASSWORD: 'hunter2' })).toEqual({ KAFKA_SASL_PASSWORD: 'is set but KAFKA_SASL_MECHANISM is not: set it to plain, scram-sha-256, scram-sha-512 (value not shown)' });
    const bad = problems({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(bad['KAFKA_SASL_MECHANISM']).toMatch(/must be one of plain, scram-sha-256, scram-sha-512/);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
  });

  it('pass on as given to the services `elephant run` embeds (set ones only)', () => {
    expect(connectionSecurityEnv({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: '', OTHER: 'x' })).toEqual({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain' });
  });
});

describe('Redis TLS settings', () => {
  const redis = z.object({ REDIS_URL: z.string().optional(), ...REDIS_TLS_VARIABLES }).superRefine((config, context) => {
    for (const issue of redisTlsIssues(config)) context.addIssue({ code: 'custom', ...issue });
  });

  it('give ioredis the CA of a rediss:// URL, and refuse one for a plain redis:// URL', () => {
    expect(redisTlsOf(parseEnv('test', redis, { REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: ca }))).toEqual({ ca: [readFileSync(ca)] });
    expect(redisTlsOf(parseEnv('test', redis, { REDIS_URL: 'rediss://r:6380' }))).toBeUndefined();
    expect(() => parseEnv('test', redis, { REDIS_URL: 'redis://r:6379', REDIS_TLS_CA_FILE: ca })).toThrow(/REDIS_TLS_CA_FILE: is set but REDIS_URL is not rediss:\/\//);
    expect(connectionSecurityEnv({ REDIS_TLS_CA_FILE: ca })).toEqual({ REDIS_TLS_CA_FILE: ca });
  });
});
