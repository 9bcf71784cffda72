import { describe, expect, it } from 'vitest';
import { burstFiguresOf, burstOf, dueAt, eventsDue, loadBenchConfig, runBench, type Sample } from '@elephant/bench';
import { unreachableOptions } from './report.ts';

describe('a burst in a latency run', () => {
  it('is paced as the steady rate plus the burst\'s extra, only while it lasts', () => {
    const burst = burstOf(3, 1, 30);
    expect(burst).toEqual({ factor: 3, seconds: 1, at: 10 });
    // 5 s of warm-up: the burst runs from 15 s to 16 s after the load started.
    expect(eventsDue(15000, 1000, 5, burst)).toBe(15000);
    expect(eventsDue(15500, 1000, 5, burst)).toBe(15500 + 1000);
    expect(eventsDue(16000, 1000, 5, burst)).toBe(16000 + 2000);
    expect(eventsDue(35000, 1000, 5, burst)).toBe(35000 + 2000);
    expect(eventsDue(35000, 1000, 5)).toBe(35000);
    // When each event is due: the inverse, before, during and after the burst.
    for (const ms of [0, 7000, 15000, 15250, 15999, 16000, 20000, 35000]) {
      expect(dueAt(eventsDue(ms, 1000, 5, burst), 1000, 5, burst)).toBeCloseTo(ms, 6);
      expect(dueAt(eventsDue(ms, 1000, 5), 1000, 5)).toBeCloseTo(ms, 6);
    }
  });

  it('reports before, during and after, and when the latency was back under the p99 before it', () => {
    const timeline: Sample[] = [];
    // 1,000 samples a second over 30 s: 10 ms before the burst (one in 200 at 40 ms), 300 ms
    // during it (10 s to 11 s), 150 ms for the 1.2 s after, then 10 ms again.
    for (let sent = 0; sent < 30000; sent += 1) {
      const latency = sent < 10000 ? (sent % 200 === 0 ? 40 : 10) : sent < 11000 ? 300 : sent < 12200 ? 150 : 10;
      timeline.push([sent, latency]);
    }
    const figures = burstFiguresOf(timeline, { factor: 2, seconds: 1, at: 10 }, 1000, 30);
    expect(figures.before).toEqual({ samples: 10000, p50: 10, p95: 10, p99: 10, max: 40 });
    expect(figures.during).toMatchObject({ samples: 1000, p50: 300, max: 300 });
    expect(figures.after).toMatchObject({ samples: 19000, p50: 10, max: 150 });
    expect(figures.recoverySeconds).toBe(1.2);
    expect(figures.perSecond).toHaveLength(30);
    expect(figures.perSecond[10]).toMatchObject({ second: 10, samples: 1000, p99: 300 });
    expect(figures.perSecond[12]).toMatchObject({ second: 12, p99: 150 });
    expect(figures.perSecond[13]).toMatchObject({ second: 13, p99: 10 });
  });

  it('is not back when no half-second after it was under the p99 before it', () => {
    const timeline: Sample[] = Array.from({ length: 3000 }, (_, sent): Sample => [sent * 10, sent * 10 < 10000 ? 10 : 80]);
    expect(burstFiguresOf(timeline, { factor: 2, seconds: 1, at: 10 }, 100, 30).recoverySeconds).toBeNull();
  });

  it('is not back on one fast sample while the others still wait', () => {
    const timeline: Sample[] = [];
    for (let sent = 0; sent < 30000; sent += 10) timeline.push([sent, sent < 10000 ? 10 : sent < 13000 && sent !== 11500 ? 90 : 10]);
    expect(burstFiguresOf(timeline, { factor: 2, seconds: 1, at: 10 }, 100, 30).recoverySeconds).toBe(2);
  });

  it('is back only for five whole steps inside the window, each with a sample, compared as the histogram rounds', () => {
    const steady = (latency: (due: number) => number): Sample[] => Array.from({ length: 3000 }, (_, index): Sample => [index * 10, index * 10 < 10000 ? 10 : latency(index * 10)]);
    const burst = { factor: 2, seconds: 1, at: 10 };
    // 10.4 ms rounds to the p99 before the burst (10): back at once.
    expect(burstFiguresOf(steady(() => 10.4), burst, 100, 30).recoverySeconds).toBe(0);
    // No sample due from 11.0 to 11.1 s: the first span is not back, the one after it is.
    const gap = steady(() => 10).filter(([due]) => due < 11000 || due >= 11100);
    expect(burstFiguresOf(gap, burst, 100, 30).recoverySeconds).toBe(0.1);
    // Back only in the last 0.3 s of the window: too short a span.
    expect(burstFiguresOf(steady((due) => (due < 29700 ? 50 : 10)), burst, 100, 30).recoverySeconds).toBeNull();
  });

  it('is refused, naming the variable, when it is not a burst or too long for the window', async () => {
    expect(() => loadBenchConfig({ BENCH_BURST_FACTOR: '1' })).toThrow(/BENCH_BURST_FACTOR: must be greater than 1/);
    expect(() => loadBenchConfig({ BENCH_BURST_SECONDS: '0' })).toThrow(/BENCH_BURST_SECONDS/);
    const options = unreachableOptions;
    // Refused before anything runs (nothing listens on these addresses).
    await expect(runBench({ ...options, burstSeconds: 3 })).rejects.toThrow(/BENCH_BURST_SECONDS: must be more than 0 and at most half of BENCH_LATENCY_SECONDS, 4 \(got 3\)/);
    await expect(runBench({ ...options, burstFactor: 0.5 })).rejects.toThrow(/BENCH_BURST_FACTOR: must be greater than 1 \(got 0.5\)/);
  });
});
