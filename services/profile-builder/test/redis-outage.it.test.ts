/**
 * Redis going away under the identity resolver and the profile builder, and coming back (a
 * failover, a restart, a network partition): each reaches Redis through a TCP proxy of its own
 * that the test cuts (open connections closed, new ones refused) and restores. While Redis is
 * unreachable, batches fail with the retryable REDIS_UNAVAILABLE and are retried with backoff:
 * no process stops, nothing is skipped. Once it is back, the counters of every profile are
 * exact and every profile's versions come 1, 2, 3, ... as after the builder chaos test. The
 * third outage cuts both while the last wave is under way (until one of them retries a batch;
 * in the runs so far, the builder). The last one closes nothing: every
 * connection goes silent (a lost host, a failover that moved the address), and each client
 * must give up on its connection on its own (REDIS_SOCKET_TIMEOUT_MS) and connect again; before
 * that setting, a client waited for the kernel to give up on the connection (a quarter of an
 * hour with Linux' defaults; here, where the proxy keeps it open, for ever).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generatePopulation } from '@elephant/identity';
import { consumerGroupLag } from '@elephant/kafka';
import type { Registry } from '@elephant/observability';
import { topicsOf } from '@elephant/profile-builder';
import { createTestContext, TcpProxy, waitUntil } from '@elephant/testing';
import { countedStream, expectCountersExact, expectVersionsInOrder } from './ground-truth.ts';
import { envOf, startPipeline, type Pipeline } from './harness.ts';

const ctx = createTestContext('redis-outage');
const proxies: TcpProxy[] = [];
const pipelines: Pipeline[] = [];

afterAll(async () => {
  await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
  for (const proxy of proxies) await proxy.close();
  await ctx.cleanup();
});

/** A proxy in front of the stack's Redis, and the URL that reaches Redis through it. */
async function redisProxy(): Promise<{ proxy: TcpProxy; url: string }> {
  const upstream = new URL(ctx.stack.redisUrl);
  const proxy = await TcpProxy.start(upstream.hostname, Number(upstream.port || 6379));
  proxies.push(proxy);
  const url = new URL(ctx.stack.redisUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}

/** Batches a service's consumer retried so far. */
async function retried(metrics: Registry): Promise<number> {
  const values = (await metrics.getSingleMetric('elephant_consumer_batches_total')?.get())?.values ?? [];
  return values.filter((value) => value.labels['outcome'] === 'retried').reduce((sum, value) => sum + value.value, 0);
}

describe('identity resolver and profile builder through Redis outages', () => {
  it('retry while Redis is unreachable, stop for nothing, and end with exact counters and every version in order', async () => {
    const forResolver = await redisProxy();
    const forBuilder = await redisProxy();
    const scope = 'outage';
    const pipeline = await startPipeline(ctx, scope, { builderEnv: { REDIS_URL: forBuilder.url }, env: { REDIS_URL: forResolver.url, REDIS_SOCKET_TIMEOUT_MS: '1000' } });
    pipelines.push(pipeline);
    const [builder] = pipeline.builders;
    if (!builder) throw new Error('no builder');
    const topics = topicsOf(pipeline.config);
    const rawTopic = `${envOf(ctx, scope)['TOPIC_PREFIX'] ?? ''}touchpoints.v1`;
    const resolverLag = (): Promise<number> => consumerGroupLag(ctx.kafka, ctx.group(`${scope}-resolver`), [rawTopic]);
    const builderLag = (): Promise<number> => consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.resolved, topics.merges]);
    const noFatal = (): void => expect(pipeline.fatal.map((error) => error.message)).toEqual([]);

    const population = generatePopulation({ seed: 11, people: 400, tenant: 'acme' });
    const { touchpoints, amounts } = countedStream(population);
    const wave = Math.ceil(touchpoints.length / 5);
    /** Touchpoints [from, to) of the stream, 2,000 at a time. */
    const publishRange = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 2000) await pipeline.publish(touchpoints.slice(i, Math.min(i + 2000, to)));
    };
    const publish = (index: number): Promise<void> => publishRange(index * wave, Math.min((index + 1) * wave, touchpoints.length));

    // 1. Everything up: the first wave through both.
    await publish(0);
    await waitUntil(async () => pipeline.fatal.length > 0 || ((await resolverLag()) === 0 && (await builderLag()) === 0), { message: 'wave 0 through both services', timeoutMs: 60000, intervalMs: 200 });
    noFatal();

    // 2. The builder cut off: the resolver goes on, the builder retries its batches.
    await forBuilder.proxy.cut();
    const builderRetries = await retried(builder.metrics);
    await publish(1);
    await waitUntil(async () => pipeline.fatal.length > 0 || ((await resolverLag()) === 0 && (await retried(builder.metrics)) >= builderRetries + 2), { message: 'the builder to retry while the resolver goes on', timeoutMs: 60000, intervalMs: 200 });
    noFatal();
    await forBuilder.proxy.restore();

    // 3. The resolver cut off: it retries; the builder catches up with what it resolved before.
    await forResolver.proxy.cut();
    const resolverRetries = await retried(pipeline.resolver.metrics);
    await publish(2);
    await waitUntil(async () => pipeline.fatal.length > 0 || ((await retried(pipeline.resolver.metrics)) >= resolverRetries + 2 && (await builderLag()) === 0), { message: 'the resolver to retry while the builder catches up', timeoutMs: 60000, intervalMs: 200 });
    noFatal();
    await forResolver.proxy.restore();

    // 4. Both cut off while the last wave is in flight: its first half published before the cut,
    // its second after, so the resolver has work while Redis is away (when the cut came after
    // a lag reading, both could finish the wave in between, and no retry came).
    const half = 3 * wave + Math.floor(wave / 2);
    await publishRange(3 * wave, half);
    await waitUntil(async () => (await resolverLag()) < wave / 4, { message: 'the last wave under way', timeoutMs: 60000, intervalMs: 20 });
    await Promise.all([forResolver.proxy.cut(), forBuilder.proxy.cut()]);
    await publishRange(half, Math.min(4 * wave, touchpoints.length));
    const [resolverBefore, builderBefore] = await Promise.all([retried(pipeline.resolver.metrics), retried(builder.metrics)]);
    await waitUntil(async () => pipeline.fatal.length > 0 || (await retried(pipeline.resolver.metrics)) > resolverBefore || (await retried(builder.metrics)) > builderBefore, { message: 'a retry during the last outage', timeoutMs: 60000, intervalMs: 200 });
    noFatal();
    await Promise.all([forResolver.proxy.restore(), forBuilder.proxy.restore()]);
    await waitUntil(async () => pipeline.fatal.length > 0 || ((await resolverLag()) === 0 && (await builderLag()) === 0), { message: 'both services to catch up after the cut', timeoutMs: 120000, intervalMs: 500 });
    noFatal();

    // 5. Both black-holed: the resolver, which has work, gives up its silent connection after
    // REDIS_SOCKET_TIMEOUT_MS and connects again; after the restore both go on.
    const resolverConnections = forResolver.proxy.accepted;
    forResolver.proxy.blackhole();
    forBuilder.proxy.blackhole();
    await publish(4);
    await waitUntil(() => pipeline.fatal.length > 0 || forResolver.proxy.accepted > resolverConnections, { message: 'the resolver to give up its silent connection and connect again', timeoutMs: 30000, intervalMs: 100 });
    noFatal();
    await Promise.all([forResolver.proxy.restore(), forBuilder.proxy.restore()]);

    await waitUntil(async () => pipeline.fatal.length > 0 || ((await resolverLag()) === 0 && (await builderLag()) === 0), { message: 'both services to catch up after the black hole', timeoutMs: 120000, intervalMs: 500 });
    noFatal();
    const { live } = await expectCountersExact(ctx, pipeline, population, amounts);
    const { updates, repeated } = await expectVersionsInOrder(ctx, pipeline, 'at_least_once', live);
    console.log(
      `redis outages: ${touchpoints.length} touchpoints, ${live.length} profiles, ${updates} updates (${repeated} published again as the same record); retries: resolver ${await retried(pipeline.resolver.metrics)}, builder ${await retried(builder.metrics)}`,
    );
  }, 300000);
});
