/**
 * Chaos: a generated stream processed while profile-builder processes are killed hard
 * (SIGKILL; CHAOS_SIGNAL=SIGTERM for graceful stops) and restarted, each processing its
 * partitions concurrently in shared transactions. Afterwards every profile's counters equal what the identity graph says
 * belongs to it, and a read_committed subscriber sees each profile's versions 1, 2, 3, ...
 * exactly once each: nothing skipped, nothing repeated. The same with
 * PROCESSING_GUARANTEE=at_least_once: counters exact, nothing skipped, and a version seen
 * again is the same record as the first time.
 *
 * The touchpoints go in four waves, one before each kill and the last after them, so that
 * every round has work left to make progress on (published at once, the builders had handled
 * nearly all of them by the third round in some runs, which then waited for progress in vain).
 * A builder that exits on its own (not one the test killed) fails the test at once, with its
 * exit code. CHAOS_LOG_DIR=/some/dir keeps each builder's log lines there (<guarantee>-<pid>.log).
 */
import { appendFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePopulation } from '@elephant/identity';
import { consumerGroupLag } from '@elephant/kafka';
import { createTestContext, waitUntil } from '@elephant/testing';
import { topicsOf } from '@elephant/profile-builder';
import { countedStream, expectCountersExact, expectVersionsInOrder } from './ground-truth.ts';
import { envOf, startPipeline, type Pipeline } from './harness.ts';

const ctx = createTestContext('builder-chaos');
const children: ChildProcess[] = [];
const pipelines: Pipeline[] = [];
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const signal: NodeJS.Signals = process.env.CHAOS_SIGNAL === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL';

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
  await ctx.cleanup();
});

describe.each(['exactly_once', 'at_least_once'] as const)('profile builder under chaos, %s', (guarantee) => {
  const scope = guarantee === 'exactly_once' ? 'chaos' : 'chaos-alo';
  it('keeps counters exact and versions increasing while builder processes are killed and restarted', async () => {
    const pipeline = await startPipeline(ctx, scope, { builderEnv: { PROCESSING_GUARANTEE: guarantee } });
    pipelines.push(pipeline);
    await Promise.all(pipeline.builders.map((builder) => builder.stop()));
    pipeline.builders.length = 0;
    const population = generatePopulation({ seed: 5, people: 800, tenant: 'acme' });
    const { touchpoints, amounts } = countedStream(population);
    const env = { ...process.env, ...envOf(ctx, scope), CONSUMER_GROUP: pipeline.config.CONSUMER_GROUP, PROCESSING_GUARANTEE: guarantee };
    // Recoveries from the outbox, as the builders log them (LOG_LEVEL info, JSON lines on stdout).
    let recoveries = 0;
    const killed = new Set<ChildProcess>();
    /** Builders that exited without being killed by the test. */
    const exitedOnTheirOwn: string[] = [];
    const launch = (): ChildProcess => {
      const child = spawn(process.execPath, [main], { env: { ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
      child.once('exit', (code, exitSignal) => {
        if (!killed.has(child)) exitedOnTheirOwn.push(`builder ${String(child.pid)} exited on its own (code ${String(code)}, signal ${String(exitSignal)})`);
      });
      let buffered = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        if (process.env['CHAOS_LOG_DIR']) appendFileSync(`${process.env['CHAOS_LOG_DIR']}/${guarantee}-${String(child.pid)}.log`, chunk);
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        recoveries += lines.filter((line) => line.includes('republishing updates of a transaction that did not commit')).length;
      });
      children.push(child);
      return child;
    };
    let builders = [launch(), launch()];
    const publish = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 2000) await pipeline.publish(touchpoints.slice(i, Math.min(i + 2000, to)));
    };
    const wave = Math.ceil(touchpoints.length / 4);

    const topics = topicsOf(pipeline.config);
    const updatesSeen = (): Promise<number> => offsetsEnd(topics.updates);
    for (let round = 0; round < 3; round += 1) {
      const before = await updatesSeen();
      await publish(round * wave, (round + 1) * wave);
      await waitUntil(async () => exitedOnTheirOwn.length > 0 || (await updatesSeen()) > before + 300, { message: `round ${round}: progress`, timeoutMs: 90000, intervalMs: 200 });
      expect(exitedOnTheirOwn).toEqual([]);
      const victim = builders[round % 2];
      if (victim) killed.add(victim);
      victim?.kill(signal);
      await new Promise<void>((resolve) => {
        if (!victim || victim.exitCode !== null) return resolve();
        // A graceful stop has 30 s; then it is a hard kill.
        const hard = setTimeout(() => victim.kill('SIGKILL'), 30000);
        victim.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
      });
      builders = builders.map((child) => (child === victim ? launch() : child));
    }
    await publish(3 * wave, touchpoints.length);
    await waitUntil(async () => exitedOnTheirOwn.length > 0 || (await consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.resolved, topics.merges])) === 0, { message: 'the builders to catch up', timeoutMs: 180000, intervalMs: 500 });
    expect(exitedOnTheirOwn).toEqual([]);
    await waitUntil(async () => (await consumerGroupLag(ctx.kafka, ctx.group(`${scope}-resolver`), [`${envOf(ctx, scope)['TOPIC_PREFIX'] ?? ''}touchpoints.v1`])) === 0, { timeoutMs: 60000 });
    await waitUntil(async () => exitedOnTheirOwn.length > 0 || (await consumerGroupLag(ctx.kafka, pipeline.config.CONSUMER_GROUP, [topics.resolved, topics.merges])) === 0, { message: 'the builders to catch up after the resolver', timeoutMs: 180000, intervalMs: 500 });
    expect(exitedOnTheirOwn).toEqual([]);

    const { live } = await expectCountersExact(ctx, pipeline, population, amounts);
    const { updates, repeated } = await expectVersionsInOrder(ctx, pipeline, guarantee, live);
    console.log(`chaos (${guarantee}): ${touchpoints.length} touchpoints, ${live.length} profiles, ${updates} updates, 3 builder kills (${signal}); counters exact, versions 1, 2, 3, ... ${guarantee === 'exactly_once' ? 'once each' : `each at least once, ${repeated} published again as the same record`}; ${recoveries} outbox recoveries`);
    if (guarantee === 'exactly_once') expect(repeated).toBe(0);
  }, 300000);
});

async function offsetsEnd(topic: string): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, end) => sum + Number(end.high), 0);
  } finally {
    await admin.disconnect();
  }
}
