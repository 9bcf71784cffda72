import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import type { ProfileSnapshot, ProfileUpdate } from '@elephant/profiles';
import { erasureRequestSchema, topicsOf, type BuilderTopics } from '@elephant/profile-builder';
import { BatchProducer, consumerGroupLag, readToEnd, type KafkaMessage } from '@elephant/kafka';
import { connectRedis } from '@elephant/redis';
import type { AvroSchema } from '@elephant/registry';
import { createTestContext, readTopic, waitUntil } from '@elephant/testing';
import { decodeAll, keyContents, startPipeline, touchpoint, type Pipeline } from './harness.ts';

const ctx = createTestContext('erase-first');

afterAll(async () => {
  await ctx.cleanup();
});

const at = (day: number): string => new Date(Date.UTC(2026, 9, day, 10)).toISOString();

interface Person {
  /** Lower case, in ids and the e-mail; capitalized as the first name. */
  readonly name: string;
  /** Prefix of the raw messages' ids. */
  readonly ids: string;
}

/** Two profiles of one person whose merge the resolver made and the test holds back, as if the merges topic lagged behind. */
interface HeldMerge {
  readonly pipeline: Pipeline;
  readonly producer: BatchProducer;
  readonly topics: BuilderTopics;
  readonly snapshots: () => Promise<Map<string, ProfileSnapshot | null>>;
  readonly updates: () => Promise<ProfileUpdate[]>;
  readonly heldMerge: KafkaMessage;
  readonly merge: IdentityMerge;
  readonly survivor: string;
  readonly absorbed: string;
  readonly erasure: (requestId: string, profileId: string) => { key: string; value: Buffer };
}

/**
 * A pipeline of its own (`scope`) with the person's CRM contact and browser as two built
 * profiles, then the identify that makes the resolver merge them, its merge record held back
 * and its touchpoint applied to the survivor; `work` runs with all of it, then everything stops.
 */
async function withHeldMerge(scope: string, person: Person, work: (held: HeldMerge) => Promise<void>): Promise<void> {
  const held = ctx.topic(`held-merges-${scope}`);
  const pipeline = await startPipeline(ctx, scope, { heldMerges: held });
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
      const firstName = `${person.name.charAt(0).toUpperCase()}${person.name.slice(1)}`;
      const email = `${person.name}@${scope}.dev`;
      const crmId = { type: 'crm_id', value: `crm-${person.name}` };
      const cookieId = { type: 'anonymous_id', value: `cookie-${person.name}` };

      // Two profiles of one person: the CRM contact, and the browser (with a first name).
      await pipeline.publish([
        touchpoint('crm', { type: 'created', id: `${person.ids}-1`, occurredAt: at(1), contact: { id: crmId.value, firstName, emails: [email] } }),
        touchpoint('web', { type: 'identify', messageId: `${person.ids}-2`, anonymousId: cookieId.value, timestamp: at(2), traits: { firstName } }),
      ]);
      const crm = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', crmId));
      const cookie = await waitUntil(() => pipeline.resolver.graph.profileOf('acme', cookieId));
      expect(crm).not.toBe(cookie);
      await waitUntil(async () => {
        const latest = await snapshots();
        return latest.get(crm)?.computed.eventsCount === 1 && latest.get(cookie)?.computed.eventsCount === 1;
      }, { timeoutMs: 60000, message: 'both profiles built' });

      // The browser identifies with the CRM's e-mail: the resolver merges, but its merge record
      // is held back (as if the merges topic lagged behind the erasures topic).
      await pipeline.publish([touchpoint('web', { type: 'identify', messageId: `${person.ids}-3`, anonymousId: cookieId.value, timestamp: at(3), traits: { email } })]);
      await waitUntil(async () => (await pipeline.resolver.graph.profileOf('acme', crmId)) === (await pipeline.resolver.graph.profileOf('acme', cookieId)), { message: 'the resolver to merge both profiles' });
      // readTopic, not readToEnd: readToEnd takes a partition holding a single record for read.
      const [heldMerge] = await readTopic(ctx.kafka, held, 1);
      if (heldMerge === undefined) throw new Error('no merge record held');
      const merge = await pipeline.registry.decode<IdentityMerge>(heldMerge.value ?? Buffer.alloc(0));
      const survivor = merge.survivorProfileId;
      expect(merge.mergedProfileIds).toHaveLength(1);
      const absorbed = merge.mergedProfileIds[0] ?? '';
      expect([survivor, absorbed].sort()).toEqual([crm, cookie].sort());
      await waitUntil(async () => (await snapshots()).get(survivor)?.computed.eventsCount === 2, { timeoutMs: 60000, message: 'the identify applied to the survivor' });

      const { id: erasureSchema } = await pipeline.registry.register(`${topics.erasures}-value`, erasureRequestSchema as unknown as AvroSchema);
      const erasure = (requestId: string, profileId: string): { key: string; value: Buffer } => ({ key: profileId, value: pipeline.registry.encode(erasureSchema, { requestId, tenant: 'acme', profileId, requestedAt: Date.now(), reason: null }) });
      await work({ pipeline, producer, topics, snapshots, updates, heldMerge, merge, survivor, absorbed, erasure });
    } finally {
      await producer.disconnect();
    }
  } finally {
    await pipeline.stop();
    expect(pipeline.fatal).toEqual([]);
  }
}

/** Every key under `pattern`, and which of them name or hold one of `secrets` (as "<key> holds <secret>"). */
async function scanFor(pattern: string, secrets: readonly string[]): Promise<{ keys: string[]; leaks: string[] }> {
  const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  try {
    const keys = await redis.keys(pattern);
    const leaks: string[] = [];
    for (const key of keys) {
      const content = await keyContents(redis, key);
      for (const value of secrets) if (key.includes(value) || content.some((item) => item?.includes(value))) leaks.push(`${key} holds ${value}`);
    }
    return { keys, leaks };
  } finally {
    redis.disconnect();
  }
}

describe('erasure and merges', () => {
  it('erasure before its merge leaves the absorbed profile alive (regression): the absorbed profile is erased too, once', async () => {
    await withHeldMerge('erase-first', { name: 'mia', ids: 'ef' }, async ({ pipeline, producer, topics, snapshots, updates, heldMerge, merge, survivor, absorbed, erasure }) => {
      // The erasure of the survivor is processed first...
      await producer.send([{ topic: topics.erasures, messages: [erasure('gdpr-ef', survivor)] }]);
      await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === survivor), { timeoutMs: 60000, message: "the survivor's erasure" });

      // ...then the merge arrives: the absorbed profile is the same person and goes too.
      const lastBefore = Math.max(...(await updates()).filter((update) => update.profileId === absorbed).map((update) => update.version));
      await producer.send([{ topic: topics.merges, messages: [{ key: survivor, value: heldMerge.value }] }]);
      const all = await waitUntil(async () => {
        const list = await updates();
        return list.some((update) => update.kind === 'erasure' && update.profileId === absorbed) ? list : undefined;
      }, { timeoutMs: 60000, message: "the absorbed profile's erasure" });
      const erased = all.find((update) => update.kind === 'erasure' && update.profileId === absorbed);
      expect(erased).toMatchObject({ version: lastBefore + 1, causeEventId: merge.mergeId, changes: [], mergedProfileIds: [] });
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
      await producer.send([{ topic: topics.merges, messages: [{ key: survivor, value: heldMerge.value }] }]);
      const builder = pipeline.builders[0];
      await waitUntil(async () => (await builder?.metrics.getSingleMetricAsString('elephant_builder_touchpoints_total'))?.includes('outcome="erased"'), { timeoutMs: 60000, message: 'the in-flight touchpoint dropped' });
      await waitUntil(async () => (await consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.merges])) === 0, { timeoutMs: 60000, message: 'both merge copies committed' });
      const final = await updates();
      expect(final.filter((update) => update.profileId === absorbed && update.kind === 'erasure')).toHaveLength(1);
      expect(final.filter((update) => update.profileId === absorbed && update.version > lastBefore + 1)).toEqual([]);

      // Nothing of the person is left in Redis: no state, no graph, no trait value.
      const { keys, leaks } = await scanFor(`${ctx.keyPrefix}erase-first:*`, ['mia@erase-first.dev', 'cookie-mia', 'crm-mia', 'Mia']);
      for (const key of keys) {
        for (const id of [survivor, absorbed]) {
          if (key.endsWith(`ps:${id}`) || key.endsWith(`pm:${id}`) || key.endsWith(`p:${id}`) || key.includes(`p:${id}:`)) leaks.push(`${key} still exists`);
        }
      }
      expect(leaks).toEqual([]);
      const redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
      try {
        expect(await redis.hget(`${ctx.keyPrefix}erase-first:{acme}:px:${absorbed}`, 'v')).toBe(String(lastBefore + 1));
      } finally {
        redis.disconnect();
      }
    });
  });

  it('regression (an erasure of the absorbed profile before its merge left the person in the survivor): the merge then erases the survivor, which holds the erased profile\'s identifiers', async () => {
    await withHeldMerge('erase-absorbed', { name: 'lea', ids: 'ea' }, async ({ pipeline, producer, topics, snapshots, updates, heldMerge, survivor, absorbed, erasure }) => {
      // The erasure of the absorbed profile (looked up before the merge) is processed first...
      await producer.send([{ topic: topics.erasures, messages: [erasure('gdpr-ea', absorbed)] }]);
      await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === absorbed), { timeoutMs: 60000, message: "the absorbed profile's erasure" });

      // ...then the merge arrives: the survivor holds the erased profile's identifiers and goes too.
      await producer.send([{ topic: topics.merges, messages: [{ key: survivor, value: heldMerge.value }] }]);
      await waitUntil(async () => (await updates()).some((update) => update.kind === 'erasure' && update.profileId === survivor), { timeoutMs: 60000, message: "the survivor's erasure" });
      await waitUntil(async () => {
        const latest = await snapshots();
        return latest.get(absorbed) === null && latest.get(survivor) === null;
      }, { timeoutMs: 60000, message: 'both snapshots tombstoned' });
      expect((await updates()).filter((update) => update.kind === 'merge')).toEqual([]);
      expect(await pipeline.resolver.graph.profileOf('acme', { type: 'email', value: 'lea@erase-absorbed.dev' })).toBeUndefined();
      expect((await scanFor(`${ctx.keyPrefix}erase-absorbed:*`, ['lea@erase-absorbed.dev', 'cookie-lea', 'crm-lea', 'Lea'])).leaks).toEqual([]);
    });
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
