/**
 * `elephant erase` on the real stack: the request goes to the erasure topic the deployment's
 * profile builder reads, keyed by the profile, and only for an identifier that names one person.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, screenIdentifiers } from '@elephant/identity';
import { graphRulesOf, IdentityGraph } from '@elephant/identity-resolver';
import { readToEnd } from '@elephant/kafka';
import { connectRedis } from '@elephant/redis';
import { AvroRegistry } from '@elephant/registry';
import { cliHarness } from './cli-harness.ts';

const { ctx, env, elephant, cleanup } = cliHarness('erase');
afterAll(cleanup);

describe('elephant erase', () => {
  it('refuses a quarantined (shared) identifier and a missing erasure topic (regression: it created the topic of another prefix, which no builder reads, and exited 0), and sends one request keyed by the profile otherwise', async () => {
    // One person in the graph (tenant "default", the CLI's), and a store phone the resolver quarantined.
    const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    try {
      const graph = new IdentityGraph(redis, ctx.keyPrefix);
      const identifiers = screenIdentifiers([{ type: 'email', value: 'ines@erase.dev' }, { type: 'phone', value: '+14155550100' }], DEFAULT_RULES).kept;
      const [result] = await graph.resolveBatch('default', [{ eventId: 'erase-1', eventTime: Date.UTC(2026, 10, 1), ingestTime: Date.UTC(2026, 10, 1), channel: 'pos', source: 'pos', identifiers }], graphRulesOf(DEFAULT_RULES, 3600));
      const profileId = result?.profileId ?? '';
      expect(profileId).not.toBe('');
      await redis.hset(`${graph.tenantPrefix('default')}q:phone:+14155550100`, { reason: 'too_many_profiles', observed: '12', threshold: '10', event: 'erase-x', at: String(Date.UTC(2026, 10, 2)) });

      const erasures = `${env['TOPIC_PREFIX'] ?? ''}profiles.erasures.v1`;
      const missing = await elephant(['erase', 'email', 'ines@erase.dev']);
      expect(missing.code, missing.stderr).toBe(78);
      expect(missing.stderr).toContain(`The erasure topic ${erasures} does not exist`);
      expect(missing.stderr).toContain('TOPIC_PREFIX');

      await ctx.createTopics([{ topic: erasures, partitions: 8 }]);
      const shared = await elephant(['erase', 'phone', '+1 415 555 0100']);
      expect(shared.code, shared.stderr).toBe(2);
      expect(shared.stderr).toContain('is quarantined by the identity resolver (too_many_profiles: 12 against a threshold of 10)');

      const erased = await elephant(['erase', 'email', 'INES@erase.dev']);
      expect(erased.code, erased.stderr).toBe(0);
      expect(JSON.parse(erased.stdout)).toMatchObject({ profileId });
      const sent = await readToEnd(ctx.kafka, erasures);
      expect(sent.map((message) => message.key?.toString())).toEqual([profileId]);
      const request = await new AvroRegistry({ url: ctx.stack.schemaRegistryUrl }).decode<{ profileId: string; tenant: string }>(sent[0]?.value ?? Buffer.alloc(0));
      expect(request).toMatchObject({ profileId, tenant: 'default' });
    } finally {
      redis.disconnect();
    }
  });
});
