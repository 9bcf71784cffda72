import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import type { ProfileSnapshot, ProfileUpdate } from '@elephant/profiles';
import { erasureRequestSchema, topicsOf } from '@elephant/profile-builder';
import { BatchProducer, consumerGroupLag, readToEnd, type KafkaMessage } from '@elephant/kafka';
import { connectRedis } from '@elephant/redis';
import type { AvroSchema } from '@elephant/registry';
import { createTestContext, readTopic, waitUntil } from '@elephant/testing';
import { decodeAll, startPipeline, touchpoint } from './harness.ts';

const ctx = createTestContext('erase-first');

afterAll(async () => {
  await ctx.cleanup();
});

const at = (day: number): string => new Date(Date.UTC(2026, 9, day, 10)).toISOString();

describe('erasure and merges', () => {
  it('erasure before its merge leaves the absorbed profile alive (regression): the absorbed profile is erased too, once', async () => {
    const held = ctx.topic('held-merges');
    const pipeline = await startPipeline(ctx, 'erase-first', { heldMerges: held });
    try {
      const topics = topicsOf(pipeline.config);
      const producer = await BatchProducer.connect(ctx.kafka);
      try {
        const snapshots = async (): Promise<Map<string, ProfileSnapshot | null>> => {
          const latest = new Map<string, ProfileSnapshot | null>();
          for (const message of await readToEnd(ctx.kafka, topics.snapshots)) latest.set(message.key?.toString() ?? '', message.value ? await pipeline.registry.decode<ProfileSnapshot>(message.value) : null);
          return latest;
        };
        const updates = async (): Promise<ProfileUpdate[]> => decodeAll<ProfileUpdate>(pipeline.registry, await readToEnd(ctx.kafka, topics.updates));

        // Two profiles of one person: the CRM contact, and the browser (with a first name).
        await pipeline.publish([
          touchpoint('crm', { type: 'created', id: 'ef-1', occurredAt: at(1), contact: { id: 'crm-mia', firstName: 'Mia', emails: ['mia@erase-first.dev'] } }),
          touchpoint('web', { type: 'identify', messageId: 'ef-2', anonymousId: 'cookie-mia', timestamp: at(2), traits: { firstName: 'Mia' } }),
        ]);
        const crm = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', { type: 'crm_id', value: 'crm-mia' }));
        const cookie = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', { type: 'anonymous_id', value: 'cookie-mia' }));
        expect(crm).not.toBe(cookie);
        await waitUntil(async () => {
          const latest = await snapshots();
          return latest.get(crm)?.computed.eventsCount === 1 && latest.get(cookie)?.computed.eventsCount === 1;
        }, { timeoutMs: 60000, message: 'both profiles built' });

        // The browser identifies with the CRM's e-mail: the resolver merges, but its merge record
        // is held back (as if the merges topic lagged behind the erasures topic).
        await pipeline.publish([touchpoint('web', { type: 'identify', messageId: 'ef-3', anonymousId: 'cookie-mia', timestamp: at(3), traits: { email: 'mia@erase-first.dev' } })]);
        await waitUntil(async () => (await pipeline.resolver.graph.profileOf('acme', { type: 'crm_id', value: 'crm-mia' })) === (await pipeline.resolver.graph.profileOf('acme', { type: 'anonymous_id', value: 'cookie-mia' })), { message: 'the resolver to merge both profiles' });
        // readTopic, not readToEnd: readToEnd takes a partition holding a single record for read.
        const [heldMerge] = await readTopic(ctx.kafka, held, 1);
        const merge = await pipeline.registry.decode<IdentityMerge>((heldMerge as KafkaMessage).value ?? Buffer.alloc(0));
        const survivor = merge.survivorProfileId;
        expect(merge.mergedProfileIds).toHaveLength(1);
        const absorbed = merge.mergedProfileIds[0] ?? '';
        expect([survivor, absorbed].sort()).toEqual([crm, cookie].sort());
        await waitUntil(async () => (await snapshots()).get(survivor)?.computed.eventsCount === 2, { timeoutMs: 60000, message: 'the identify applied to the survivor' });

        // The erasure of the survivor is processed first...
        const { id: erasureSchema } = await pipeline.registry.register(`${topics.erasures}-value`, erasureRequestSchema as unknown as AvroSchema);
        await producer.send([{ topic: topics.erasures, messages: [{ key: survivor, value: pipeline.registry.encode(erasureSchema, { requestId: 'gdpr-ef', tenant: 'acme', profileId: survivor, requestedAt: Date.now(), reason: null }) }] }]);
        await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === survivor), { timeoutMs: 60000, message: "the survivor's erasure" });

        // ...then the merge arrives: the absorbed profile is the same person and goes too.
        const lastBefore = Math.max(...(await updates()).filter((update) => update.profileId === absorbed).map((update) => update.version));
        await producer.send([{ topic: topics.merges, messages: [{ key: survivor, value: (heldMerge as KafkaMessage).value }] }]);
        const all = await waitUntil(async () => {
          const list = await updates();
          return list.some((update) => update.kind === 'erasure' && update.profileId === absorbed) ? list : undefined;
        }, { timeoutMs: 60000, message: "the absorbed profile's erasure" });
        const erasure = all.find((update) => update.kind === 'erasure' && update.profileId === absorbed);
        expect(erasure).toMatchObject({ version: lastBefore + 1, causeEventId: merge.mergeId, changes: [], mergedProfileIds: [] });
        await waitUntil(async () => {
          const latest = await snapshots();
          return latest.has(absorbed) && latest.get(absorbed) === null && latest.get(survivor) === null;
        }, { timeoutMs: 60000, message: 'both snapshots tombstoned' });

        // A touchpoint of the absorbed profile still in flight is dropped, not applied to it.
        const resolved = await readTopic(ctx.kafka, topics.resolved, 3);
        const ofAbsorbed = resolved.find((message) => message.key?.toString() === absorbed);
        expect(ofAbsorbed).toBeDefined();
        const record = await pipeline.registry.decode<ResolvedTouchpoint>(ofAbsorbed?.value ?? Buffer.alloc(0));
        const schemaId = (ofAbsorbed?.value ?? Buffer.alloc(5)).readInt32BE(1);
        await producer.send([{ topic: topics.resolved, messages: [{ key: absorbed, value: pipeline.registry.encode(schemaId, { ...record, touchpoint: { ...record.touchpoint, eventId: 'ef-in-flight' } }) }] }]);

        // The resolver re-emits a merge it sees again: the copy erases and announces nothing more.
        await producer.send([{ topic: topics.merges, messages: [{ key: survivor, value: (heldMerge as KafkaMessage).value }] }]);
        const builder = pipeline.builders[0];
        await waitUntil(async () => (await builder?.metrics.getSingleMetricAsString('elephant_builder_touchpoints_total'))?.includes('outcome="erased"'), { timeoutMs: 60000, message: 'the in-flight touchpoint dropped' });
        await waitUntil(async () => (await consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.merges])) === 0, { timeoutMs: 60000, message: 'both merge copies committed' });
        const final = await updates();
        expect(final.filter((update) => update.profileId === absorbed && update.kind === 'erasure')).toHaveLength(1);
        expect(final.filter((update) => update.profileId === absorbed && update.version > lastBefore + 1)).toEqual([]);

        // Nothing of the person is left in Redis: no state, no graph, no trait value.
        const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
        try {
          const keys = await redis.keys(`${ctx.keyPrefix}erase-first:*`);
          const leaks: string[] = [];
          const secret = ['mia@erase-first.dev', 'cookie-mia', 'crm-mia', 'Mia'];
          for (const key of keys) {
            const type = await redis.type(key);
            const content = type === 'string' ? [await redis.get(key)] : type === 'hash' ? Object.entries(await redis.hgetall(key)).flat() : type === 'set' ? await redis.smembers(key) : type === 'zset' ? await redis.zrange(key, '0', '-1') : [];
            for (const value of secret) if (key.includes(value) || content.some((item) => item?.includes(value))) leaks.push(`${key} holds ${value}`);
            for (const id of [survivor, absorbed]) {
              if (key.endsWith(`ps:${id}`) || key.endsWith(`pm:${id}`) || key.endsWith(`p:${id}`) || key.includes(`p:${id}:`)) leaks.push(`${key} still exists`);
            }
          }
          expect(leaks).toEqual([]);
          const P = `${ctx.keyPrefix}erase-first:{acme}:`;
          expect(await redis.hget(`${P}px:${absorbed}`, 'v')).toBe(String(lastBefore + 1));
        } finally {
          redis.disconnect();
        }
      } finally {
        await producer.disconnect();
      }
    } finally {
      await pipeline.stop();
      expect(pipeline.fatal).toEqual([]);
    }
  });
  it('regression (an erasure of the absorbed profile before its merge left the person in the survivor): the merge then erases the survivor, which holds the erased profile\'s identifiers', async () => {
    const held = ctx.topic('held-merges-absorbed');
    const pipeline = await startPipeline(ctx, 'erase-absorbed', { heldMerges: held });
    try {
      const topics = topicsOf(pipeline.config);
      const producer = await BatchProducer.connect(ctx.kafka);
      try {
        const snapshots = async (): Promise<Map<string, ProfileSnapshot | null>> => {
          const latest = new Map<string, ProfileSnapshot | null>();
          for (const message of await readToEnd(ctx.kafka, topics.snapshots)) latest.set(message.key?.toString() ?? '', message.value ? await pipeline.registry.decode<ProfileSnapshot>(message.value) : null);
          return latest;
        };
        const updates = async (): Promise<ProfileUpdate[]> => decodeAll<ProfileUpdate>(pipeline.registry, await readToEnd(ctx.kafka, topics.updates));
        await pipeline.publish([
          touchpoint('crm', { type: 'created', id: 'ea-1', occurredAt: at(1), contact: { id: 'crm-lea', firstName: 'Lea', emails: ['lea@erase-absorbed.dev'] } }),
          touchpoint('web', { type: 'identify', messageId: 'ea-2', anonymousId: 'cookie-lea', timestamp: at(2), traits: { firstName: 'Lea' } }),
        ]);
        const crm = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', { type: 'crm_id', value: 'crm-lea' }));
        const cookie = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', { type: 'anonymous_id', value: 'cookie-lea' }));
        await waitUntil(async () => {
          const latest = await snapshots();
          return latest.get(crm)?.computed.eventsCount === 1 && latest.get(cookie)?.computed.eventsCount === 1;
        }, { timeoutMs: 60000, message: 'both profiles built' });

        // The resolver merges; its merge record is held back.
        await pipeline.publish([touchpoint('web', { type: 'identify', messageId: 'ea-3', anonymousId: 'cookie-lea', timestamp: at(3), traits: { email: 'lea@erase-absorbed.dev' } })]);
        const [heldMerge] = await readTopic(ctx.kafka, held, 1);
        const merge = await pipeline.registry.decode<IdentityMerge>((heldMerge as KafkaMessage).value ?? Buffer.alloc(0));
        const survivor = merge.survivorProfileId;
        const absorbed = merge.mergedProfileIds[0] ?? '';
        await waitUntil(async () => (await snapshots()).get(survivor)?.computed.eventsCount === 2, { timeoutMs: 60000, message: 'the identify applied to the survivor' });

        // The erasure of the absorbed profile (looked up before the merge) is processed first...
        const { id: erasureSchema } = await pipeline.registry.register(`${topics.erasures}-value`, erasureRequestSchema as unknown as AvroSchema);
        await producer.send([{ topic: topics.erasures, messages: [{ key: absorbed, value: pipeline.registry.encode(erasureSchema, { requestId: 'gdpr-ea', tenant: 'acme', profileId: absorbed, requestedAt: Date.now(), reason: null }) }] }]);
        await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === absorbed), { timeoutMs: 60000, message: "the absorbed profile's erasure" });

        // ...then the merge arrives: the survivor holds the erased profile's identifiers and goes too.
        await producer.send([{ topic: topics.merges, messages: [{ key: survivor, value: (heldMerge as KafkaMessage).value }] }]);
        await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === survivor), { timeoutMs: 60000, message: "the survivor's erasure" });
        await waitUntil(async () => {
          const latest = await snapshots();
          return latest.get(absorbed) === null && latest.get(survivor) === null;
        }, { timeoutMs: 60000, message: 'both snapshots tombstoned' });
        expect((await updates()).filter((update) => update.kind === 'merge')).toEqual([]);
        expect(await pipeline.resolver.graph.profileOf('acme', { type: 'email', value: 'lea@erase-absorbed.dev' })).toBeUndefined();

        const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
        try {
          const leaks: string[] = [];
          for (const key of await redis.keys(`${ctx.keyPrefix}erase-absorbed:*`)) {
            const type = await redis.type(key);
            const content = type === 'string' ? [await redis.get(key)] : type === 'hash' ? Object.entries(await redis.hgetall(key)).flat() : type === 'set' ? await redis.smembers(key) : type === 'zset' ? await redis.zrange(key, '0', '-1') : [];
            for (const value of ['lea@erase-absorbed.dev', 'cookie-lea', 'crm-lea', 'Lea']) if (key.includes(value) || content.some((item) => item?.includes(value))) leaks.push(`${key} holds ${value}`);
          }
          expect(leaks).toEqual([]);
        } finally {
          redis.disconnect();
        }
      } finally {
        await producer.disconnect();
      }
    } finally {
      await pipeline.stop();
      expect(pipeline.fatal).toEqual([]);
    }
  });

  it('erasing a survivor also erases the profiles folded into it earlier: no pm: link left, their own mark, their in-flight touchpoints dropped', async () => {
    const pipeline = await startPipeline(ctx, 'erase-folded');
    try {
      const topics = topicsOf(pipeline.config);
      const producer = await BatchProducer.connect(ctx.kafka);
      try {
        const updates = async (): Promise<ProfileUpdate[]> => decodeAll<ProfileUpdate>(pipeline.registry, await readToEnd(ctx.kafka, topics.updates));
        await pipeline.publish([
          touchpoint('crm', { type: 'created', id: 'ff-1', occurredAt: at(1), contact: { id: 'crm-noa', firstName: 'Noa', emails: ['noa@erase-folded.dev'] } }),
          touchpoint('web', { type: 'page', messageId: 'ff-2', anonymousId: 'cookie-noa', timestamp: at(2), properties: { url: 'https://shop.test/' } }),
        ]);
        const cookie = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', { type: 'anonymous_id', value: 'cookie-noa' }));
        await waitUntil(async () => (await updates()).some((update) => update.profileId === cookie), { timeoutMs: 60000, message: "the browser's profile built" });
        await pipeline.publish([touchpoint('web', { type: 'identify', messageId: 'ff-3', anonymousId: 'cookie-noa', timestamp: at(3), traits: { email: 'noa@erase-folded.dev' } })]);
        const merge = await waitUntil(async () => (await updates()).find((update) => update.kind === 'merge'), { timeoutMs: 60000, message: 'the merge folded' });
        const survivor = merge.profileId;
        const [absorbed = ''] = merge.mergedProfileIds;
        expect(absorbed).not.toBe('');

        const { id: erasureSchema } = await pipeline.registry.register(`${topics.erasures}-value`, erasureRequestSchema as unknown as AvroSchema);
        const request = (requestId: string, profileId: string): { key: string; value: Buffer } => ({ key: profileId, value: pipeline.registry.encode(erasureSchema, { requestId, tenant: 'acme', profileId, requestedAt: Date.now(), reason: null }) });
        await producer.send([{ topic: topics.erasures, messages: [request('gdpr-ff', survivor)] }]);
        await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === survivor), { timeoutMs: 60000, message: "the survivor's erasure" });

        const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
        try {
          const P = `${ctx.keyPrefix}erase-folded:{acme}:`;
          expect(await redis.exists(`${P}pm:${absorbed}`, `${P}p:${absorbed}`, `${P}p:${survivor}`, `${P}ps:${survivor}`)).toBe(0);
          expect(await redis.hgetall(`${P}px:${absorbed}`)).toEqual({ at: expect.any(String) as unknown });

          // A touchpoint of the folded profile still in flight is dropped, not forwarded and not applied.
          const ofAbsorbed = await waitUntil(async () => (await readToEnd(ctx.kafka, topics.resolved)).find((message) => message.key?.toString() === absorbed), { message: 'a resolved record of the folded profile' });
          const record = await pipeline.registry.decode<ResolvedTouchpoint>(ofAbsorbed.value ?? Buffer.alloc(0));
          await producer.send([{ topic: topics.resolved, messages: [{ key: absorbed, value: pipeline.registry.encode((ofAbsorbed.value ?? Buffer.alloc(5)).readInt32BE(1), { ...record, touchpoint: { ...record.touchpoint, eventId: 'ff-in-flight' } }) }] }]);
          // A request naming the folded profile: erased already, announced by the survivor's erasure.
          await producer.send([{ topic: topics.erasures, messages: [request('gdpr-ff-2', absorbed)] }]);
          await waitUntil(async () => (await pipeline.builders[0]?.metrics.getSingleMetricAsString('elephant_builder_touchpoints_total'))?.includes('outcome="erased"'), { timeoutMs: 60000, message: 'the in-flight touchpoint dropped' });
          await waitUntil(async () => (await consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.erasures])) === 0, { timeoutMs: 60000, message: 'both requests committed' });
          const final = await updates();
          expect(final.filter((update) => update.kind === 'erasure').map((update) => update.profileId)).toEqual([survivor]);
          expect(final.filter((update) => update.causeEventId === 'ff-in-flight')).toEqual([]);
          expect(await redis.exists(`${P}ps:${absorbed}`, `${P}pm:${absorbed}`, `${P}ps:${survivor}`)).toBe(0);
        } finally {
          redis.disconnect();
        }
      } finally {
        await producer.disconnect();
      }
    } finally {
      await pipeline.stop();
      expect(pipeline.fatal).toEqual([]);
    }
  });
});
