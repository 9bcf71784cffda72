import { describe, expect, it } from 'vitest';
import { Grouped } from '@elephant/kafka';

/** A run that records its items and finishes when told to. */
function recorder(): { runs: string[][]; finish: () => void; grouped: Grouped<string, string> } {
  const runs: string[][] = [];
  const waiting: (() => void)[] = [];
  const grouped = new Grouped<string, string>(
    async (items) => {
      runs.push([...items]);
      await new Promise<void>((resolve) => waiting.push(resolve));
      return items.map((item) => `${item}!`);
    },
    { weight: (item) => item.length, max: 6 },
  );
  return { runs, finish: () => waiting.shift()?.(), grouped };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('sends what was submitted in one event-loop turn together, and what came during a run in the next', async () => {
    const { runs, finish, grouped } = recorder();
    // Submitted by callbacks of one turn (as batches of one fetch are): one run, not three.
    const first = [grouped.submit('a'), grouped.submit('b')];
    await Promise.resolve();
    first.push(grouped.submit('c'));
    await turn();
    expect(runs).toEqual([['a', 'b', 'c']]);
    const second = [grouped.submit('d'), grouped.submit('e')];
    await turn();
    expect(runs).toHaveLength(1); // one run at a time
    finish();
    await expect(Promise.all(first)).resolves.toEqual(['a!', 'b!', 'c!']);
    await turn();
    expect(runs[1]).toEqual(['d', 'e']);
    finish();
    await expect(Promise.all(second)).resolves.toEqual(['d!', 'e!']);
  });

  it('keeps a run within the weight limit (at least one item) and fails every item of a failed run', async () => {
    const { runs, finish, grouped } = recorder();
    const results = [grouped.submit('aaaa'), grouped.submit('bbbbbbbb'), grouped.submit('c'), grouped.submit('d')];
    await turn();
    expect(runs).toEqual([['aaaa']]);
    finish();
    await turn();
    expect(runs[1]).toEqual(['bbbbbbbb']);
    finish();
    await turn();
    expect(runs[2]).toEqual(['c', 'd']);
    finish();
    await expect(Promise.all(results)).resolves.toEqual(['aaaa!', 'bbbbbbbb!', 'c!', 'd!']);

    const failing = new Grouped<string, string>(() => Promise.reject(new Error('broker gone')));
    await expect(Promise.allSettled([failing.submit('x'), failing.submit('y')])).resolves.toEqual([
      { status: 'rejected', reason: new Error('broker gone') },
      { status: 'rejected', reason: new Error('broker gone') },
    ]);
  });
  it('with minIntervalMs, starts a run no sooner than that after the previous start, and an idle group at once', async () => {
    const starts: number[] = [];
    const runs: string[][] = [];
    const grouped = new Grouped<string, string>(
      (items) => {
        starts.push(performance.now());
        runs.push([...items]);
        return Promise.resolve(items.map((item) => `${item}!`));
      },
      undefined,
      60,
    );
    const submitted = performance.now();
    await grouped.submit('a');
    expect((starts[0] ?? Infinity) - submitted).toBeLessThan(50); // idle: no wait
    const later = [grouped.submit('b')];
    await turn();
    later.push(grouped.submit('c'));
    await expect(Promise.all(later)).resolves.toEqual(['b!', 'c!']);
    // b and c waited out the interval and went together.
    expect(runs).toEqual([['a'], ['b', 'c']]);
    expect((starts[1] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(59);
  });
});
