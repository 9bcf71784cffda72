import { describe, expect, it } from 'vitest';
import { pairwiseQuality } from '@elephant/identity';

const truth = new Map([
  ['e1', 'ann'],
  ['e2', 'ann'],
  ['e3', 'ann'],
  ['e4', 'bob'],
  ['e5', 'bob'],
]);

describe('pairwiseQuality', () => {
  it('is perfect for the true clustering', () => {
    expect(pairwiseQuality([['e1', 'e2', 'e3'], ['e4', 'e5']], truth)).toMatchObject({ precision: 1, recall: 1, f1: 1, overMergedProfiles: 0, splitPeople: 0, truePairs: 4 });
  });

  it('counts pairs: one cluster of everything has all true pairs and 6 false ones', () => {
    const quality = pairwiseQuality([['e1', 'e2', 'e3', 'e4', 'e5']], truth);
    expect(quality).toMatchObject({ predictedPairs: 10, correctPairs: 4, precision: 0.4, recall: 1, overMergedProfiles: 1, splitPeople: 0 });
  });

  it('treats items in no cluster as singletons and ignores items without a label', () => {
    const quality = pairwiseQuality([['e1', 'e2', 'x9'], ['e4', 'e5']], truth);
    expect(quality).toMatchObject({ predictedPairs: 2, correctPairs: 2, precision: 1, recall: 0.5, splitPeople: 1, items: 5 });
    expect(quality.f1).toBeCloseTo(2 / 3);
  });

  it('counts an item found in more than one cluster (an event on two profiles), whose pairs depend on the clusters\' order otherwise (regression: not reported)', () => {
    const small = new Map([['a', 'p1'], ['b', 'p1'], ['c', 'p2']]);
    expect(pairwiseQuality([['a', 'b'], ['b', 'c']], small)).toMatchObject({ itemsInSeveralClusters: 1 });
    expect(pairwiseQuality([['b', 'c'], ['a', 'b']], small)).toMatchObject({ itemsInSeveralClusters: 1 });
    expect(pairwiseQuality([['a', 'b', 'b'], ['c']], small)).toMatchObject({ itemsInSeveralClusters: 0, precision: 1, recall: 1 });
  });

  it('is 1/1 for nothing at all', () => {
    expect(pairwiseQuality([], new Map())).toMatchObject({ precision: 1, recall: 1 });
  });
});
