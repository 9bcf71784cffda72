import { describe, expect, it } from 'vitest';
import { isElephantError } from '@elephant/errors';
import type { Kafka } from '@elephant/kafka';
import { ConfigError } from '@elephant/config';
import { eventsOf, eventsOffered, latencyInputsIssues, markdownOf, offerLoad, runBench } from '@elephant/bench';
import { burstOf, reportOf, unreachableOptions } from './report.ts';

const options = unreachableOptions;

describe('latency runs the simulation cannot feed', () => {
  it('are refused, naming BENCH_PEOPLE, the rate, the seconds and the numbers (regression: the load ran out early and reported the window it had not offered)', () => {
    const defaults = { people: 500, latencyRate: 1000, latencyWarmupSeconds: 5, latencySeconds: 30 };
    expect(eventsOffered(1000, 5, 30)).toBe(35000);
    expect(latencyInputsIssues(defaults, 18533)).toEqual([
      {
        variable: 'BENCH_PEOPLE',
        problem: '500 simulated people carry 18533 events, fewer than the 35000 a latency run offers: BENCH_LATENCY_RATE 1000 × (BENCH_LATENCY_WARMUP_SECONDS 5 + BENCH_LATENCY_SECONDS 30); raise BENCH_PEOPLE (to about 945) or lower BENCH_LATENCY_RATE or BENCH_LATENCY_SECONDS',
      },
    ]);
    // The burst run offers the most: its extra events count too.
    expect(latencyInputsIssues(defaults, 35500, { factor: 2, seconds: 1, at: 10 })[0]?.problem).toContain('fewer than the 36000 a latency run offers: BENCH_LATENCY_RATE 1000 × (BENCH_LATENCY_WARMUP_SECONDS 5 + BENCH_LATENCY_SECONDS 30) + 1000 for the burst (BENCH_BURST_FACTOR 2, BENCH_BURST_SECONDS 1)');
    expect(latencyInputsIssues(defaults, 35000)).toEqual([]);
    expect(latencyInputsIssues(defaults, 36000, { factor: 2, seconds: 1, at: 10 })).toEqual([]);
  });

  it('are refused before anything runs, as a ConfigError', async () => {
    // One person's 43 raw messages against 100 events/s for 4 s and a 1 s burst at twice that.
    const refused = runBench(options);
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/BENCH_PEOPLE: 1 simulated people carry 43 events, fewer than the 500 a latency run offers: BENCH_LATENCY_RATE 100 × \(BENCH_LATENCY_WARMUP_SECONDS 0 \+ BENCH_LATENCY_SECONDS 4\) \+ 100 for the burst/);
  });

  it('stop the load generator before it connects, when its inputs were derived otherwise', async () => {
    const inputs = [{ topic: 't', message: { value: 'a' }, ids: ['a'], events: 3 }, { topic: 't', message: { value: 'b' }, ids: [] }];
    expect(eventsOf(inputs)).toBe(4);
    // No client is used: the check comes first.
    const kafka = {} as unknown as Kafka;
    const spec = { prefix: 'p.', inputs, rate: 2, warmupSeconds: 1, seconds: 2, output: 'out', idsOf: () => Promise.resolve([]), pids: {}, groups: [], progress: () => undefined, settleMs: 0 };
    const error: unknown = await offerLoad(kafka, spec).catch((caught: unknown) => caught);
    expect(isElephantError(error, 'BENCH_INPUTS_SHORT')).toBe(true);
    expect((error as Error).message).toBe('the latency run p. has inputs carrying 4 events, fewer than the 6 it offers (2 events/s for 1 s of warm-up and 2 s measured)');
  });
});

describe('the burst run in the report', () => {
  it('leaves out the seconds without samples from its per-second line (their p99 read 0)', () => {
    const perSecond = burstOf().perSecond.map((second) => (second.second === 12 ? { ...second, samples: 0, p50: 0, p95: 0, p99: 0, max: 0 } : second));
    const markdown = markdownOf(reportOf({ burst: burstOf({ perSecond }) }));
    expect(markdown).toContain('Per second due, p99: 8 s 50, 9 s 50, 10 s 165, 11 s 50, 13 s 50,');
    expect(markdown).not.toMatch(/ s 0[,.]/);
  });
});
