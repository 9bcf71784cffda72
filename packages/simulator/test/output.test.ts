import { describe, expect, it } from 'vitest';
import { CHANNELS } from '@elephant/channels';
import { computeCounters, counterEventOf, expectationLines, paced, parseExpectations, parseTruth, parseTruthLines, simulate, toNdjson, truthLines } from '@elephant/simulator';

const small = simulate({ seed: 11, people: 50 });

describe('toNdjson', () => {
  it('writes one {"channel", "payload"} line per record, the bytes JSON.stringify gives', () => {
    for (const record of small.records) {
      const line = toNdjson(record);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(line).toBe(`${JSON.stringify({ channel: record.channel, payload: record.payload })}\n`);
      const parsed = JSON.parse(line) as { channel: string; payload: unknown };
      expect(Object.keys(parsed)).toEqual(['channel', 'payload']);
      expect(CHANNELS).toContain(parsed.channel);
    }
    expect(toNdjson({ channel: 'pos', payload: { a: 1 } })).toBe('{"channel":"pos","payload":{"a":1}}\n');
  });

  it('serializes a record with JSON.stringify the same way', () => {
    const [record] = small.records;
    if (record === undefined) throw new Error('no records');
    expect(`${JSON.stringify(record)}\n`).toBe(toNdjson(record));
  });
});

describe('ground truth files', () => {
  it('truth.ndjson: one line per distinct touchpoint, read back into the map pairwiseQuality takes', () => {
    const text = [...truthLines(small)].join('');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(small.truth.size);
    expect(Object.keys(JSON.parse(lines[0] ?? '{}') as object)).toEqual(['eventId', 'personId', 'channel', 'eventType', 'stage', 'eventTime', 'tags', 'commerce', 'satisfactionScore', 'points']);
    expect(parseTruth(text)).toEqual(small.truth);
    expect(() => parseTruth('{"eventId": 1}\n')).toThrow(TypeError);
  });

  it('truth.ndjson carries what the counters need: any set of its lines gives the counters the truth implies', () => {
    const lines = parseTruthLines([...truthLines(small)].join(''));
    expect(lines).toHaveLength(small.truth.size);
    for (const person of small.expectations) {
      const own = lines.filter((line) => line.personId === person.personId);
      expect(computeCounters(own.map(counterEventOf))).toEqual(person.counters);
    }
    expect(() => parseTruthLines('{"eventId":"e","personId":"p","eventType":"page_viewed","eventTime":1}\n')).toThrow(/this version of the simulator/);
  });

  it('people.ndjson: one expectation per person, read back equal', () => {
    const text = [...expectationLines(small)].join('');
    expect(text.trimEnd().split('\n')).toHaveLength(50);
    expect(parseExpectations(text)).toEqual(JSON.parse(JSON.stringify(small.expectations)));
  });
});

describe('paced', () => {
  it('yields at the target rate on an absolute schedule', async () => {
    let clock = 0;
    const waits: number[] = [];
    const out: number[] = [];
    const items = Array.from({ length: 10 }, (_, index) => index);
    for await (const item of paced(items, { rate: 100, now: () => clock, wait: async (ms) => { waits.push(ms); clock += ms; } })) out.push(item);
    expect(out).toEqual(items);
    // 10 ms apart: nine waits of 10 ms, the first item at once.
    expect(waits).toEqual(Array.from({ length: 9 }, () => 10));
    expect(clock).toBe(90);
  });

  it('does not wait when the consumer is slower than the rate, and never with rate 0', async () => {
    let clock = 0;
    const waits: number[] = [];
    for await (const _ of paced([1, 2, 3], { rate: 10, now: () => clock, wait: async (ms) => { waits.push(ms); } })) clock += 500;
    expect(waits).toEqual([]);
    for await (const _ of paced([1, 2, 3], { rate: 0, now: () => clock, wait: async (ms) => { waits.push(ms); } })) clock += 0;
    expect(waits).toEqual([]);
    await expect(async () => {
      for await (const _ of paced([1], { rate: -1 })) break;
    }).rejects.toThrow(RangeError);
  });

  it('paces real time and stops on abort', async () => {
    const started = performance.now();
    const seen: number[] = [];
    for await (const item of paced([1, 2, 3, 4, 5], { rate: 200 })) seen.push(item);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    const controller = new AbortController();
    const run = async (): Promise<number> => {
      let count = 0;
      for await (const _ of paced(Array.from({ length: 1000 }, (_, index) => index), { rate: 50, signal: controller.signal })) {
        count += 1;
        if (count === 3) controller.abort(new Error('stopped'));
      }
      return count;
    };
    await expect(run()).rejects.toThrow('stopped');
  });
});
