/**
 * The smoke check over a secured Kafka listener, as a production cluster serves one: TLS with
 * a CA of its own and SASL/PLAIN or SCRAM (the local stack's SASL_SSL listener, infra/local/tls/). The
 * settings are read from the environment the way every service reads them
 * (KAFKA_SECURITY_VARIABLES); before them, no service could connect to such a cluster.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, runSmoke } from '@elephant/smoke';
import { createTestContext } from '@elephant/testing';

const ctx = createTestContext('secure');
const secure = ctx.stack.secureKafka;
const secureRedis = ctx.stack.secureRedis;
const schema = JSON.parse(readFileSync(new URL('../../../schemas/smoke-ping.avsc', import.meta.url), 'utf8')) as object;

afterAll(async () => {
  await ctx.cleanup();
});

/** The smoke service's environment for the secured listener, with `overrides`. */
function envFor(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    KAFKA_BROKERS: secure?.brokers,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: secure?.caFile,
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: secure?.username,
    KAFKA_SASL_PASSWORD: secure?.password,
    SCHEMA_REGISTRY_URL: ctx.stack.schemaRegistryUrl,
    REDIS_URL: ctx.stack.redisUrl,
    SMOKE_TOPIC: ctx.topic('smoke'),
    SMOKE_TIMEOUT_MS: '30000',
    ...overrides,
  };
}

// Only the local stack serves a SASL_SSL listener; a cluster named in the environment or
// testcontainers' broker have none to test against.
describe.skipIf(secure === undefined)('a secured Kafka cluster (SASL_SSL)', () => {
  it('produces, consumes and decodes over TLS checked against KAFKA_SSL_CA_FILE, authenticated with SASL/PLAIN', async () => {
    const result = await runSmoke(loadConfig(envFor({})), ctx.logger, schema, randomUUID());
    expect(result.topic).toBe(ctx.topic('smoke'));
    expect(result.decoded).toMatchObject({ note: 'elephant smoke round trip' });
  });

  // What managed clusters commonly offer (Amazon MSK: SCRAM-SHA-512). The broker checks the
  // credentials kept in its metadata, not a JAAS list; kafkajs runs the SCRAM exchange.
  it.each(['scram-sha-256', 'scram-sha-512'])('authenticates with KAFKA_SASL_MECHANISM=%s, and fails on a wrong password', async (mechanism) => {
    const result = await runSmoke(loadConfig(envFor({ KAFKA_SASL_MECHANISM: mechanism, SMOKE_TOPIC: ctx.topic(`smoke-${mechanism}`) })), ctx.logger, schema, randomUUID());
    expect(result.decoded).toMatchObject({ note: 'elephant smoke round trip' });
    await expect(runSmoke(loadConfig(envFor({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_PASSWORD: 'wrong', SMOKE_TOPIC: ctx.topic(`smoke-${mechanism}-denied`) })), ctx.logger, schema, randomUUID())).rejects.toThrow(/SASL SCRAM SHA(256|512) authentication failed/);
  });

  it.skipIf(secureRedis === undefined)('writes and reads Redis over TLS checked against REDIS_TLS_CA_FILE (rediss://), and fails without the CA', async () => {
    const result = await runSmoke(loadConfig(envFor({ REDIS_URL: secureRedis?.url, REDIS_TLS_CA_FILE: secureRedis?.caFile, SMOKE_TOPIC: ctx.topic('smoke-redis') })), ctx.logger, schema, randomUUID());
    expect(result.redisKey).toMatch(/^elephant:smoke:/);
    await expect(runSmoke(loadConfig(envFor({ REDIS_URL: secureRedis?.url, SMOKE_TOPIC: ctx.topic('smoke-redis-untrusted') })), ctx.logger, schema, randomUUID())).rejects.toThrow(/Cannot connect to Redis at rediss:/);
  });

  // Mutual TLS: the listener asks for a client certificate and checks one it is sent against
  // the local stack's client CA, so a certificate the service did not present, or one that CA
  // does not sign, would show here.
  it('presents the client certificate of KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE, and fails with one the broker\'s client CAs do not sign', async () => {
    const result = await runSmoke(loadConfig(envFor({ KAFKA_SSL_CERT_FILE: secure?.clientCertFile, KAFKA_SSL_KEY_FILE: secure?.clientKeyFile, SMOKE_TOPIC: ctx.topic('smoke-mtls') })), ctx.logger, schema, randomUUID());
    expect(result.decoded).toMatchObject({ note: 'elephant smoke round trip' });
    // The server's own certificate and key: signed by the server CA, which the listener does not trust for clients.
    const serverPem = join(dirname(secure?.caFile ?? ''), 'server.pem');
    await expect(runSmoke(loadConfig(envFor({ KAFKA_SSL_CERT_FILE: serverPem, KAFKA_SSL_KEY_FILE: serverPem, SMOKE_TOPIC: ctx.topic('smoke-mtls-untrusted') })), ctx.logger, schema, randomUUID())).rejects.toThrow(/alert certificate unknown/);
  });

  it('fails on a wrong password with the broker\'s SASL error, and on a certificate the CAs it trusts do not sign', async () => {
    await expect(runSmoke(loadConfig(envFor({ KAFKA_SASL_PASSWORD: 'wrong', SMOKE_TOPIC: ctx.topic('smoke-denied') })), ctx.logger, schema, randomUUID())).rejects.toThrow(/SASL PLAIN authentication failed/);
    // Node's default CAs do not include the local stack's own.
    await expect(runSmoke(loadConfig(envFor({ KAFKA_SSL_CA_FILE: undefined, SMOKE_TOPIC: ctx.topic('smoke-untrusted') })), ctx.logger, schema, randomUUID())).rejects.toThrow(/certificate/);
  });
});
