/**
 * Pairwise clustering quality against ground truth: of all pairs of items put in one cluster,
 * how many belong to one person (precision), and of all pairs belonging to one person, how
 * many were put in one cluster (recall). Counted per cluster and per label, not by listing
 * pairs, so it is linear in the number of items.
 */

export interface PairwiseQuality {
  /** Correct pairs / predicted pairs (1 when nothing was clustered together). */
  readonly precision: number;
  /** Correct pairs / true pairs (1 when no two items share a label). */
  readonly recall: number;
  readonly f1: number;
  readonly predictedPairs: number;
  readonly truePairs: number;
  readonly correctPairs: number;
  /** Clusters holding items of more than one label (over-merged profiles). */
  readonly overMergedProfiles: number;
  /** Labels whose items are spread over more than one cluster (split people); an unclustered item counts as its own cluster. */
  readonly splitPeople: number;
  /**
   * Items found in more than one cluster (an event on two profiles: a resolver bug). Each counts
   * in the first cluster that holds it only, so the figures above depend on the clusters' order
   * when this is not 0: a caller treats it as a failure.
   */
  readonly itemsInSeveralClusters: number;
  /** Items counted (clustered or not) that have a label. */
  readonly items: number;
}

const pairs = (count: number): number => (count * (count - 1)) / 2;

/**
 * @param clusters groups of item ids (e.g. eventIds per profile). Items missing from every
 *   cluster are treated as singletons; items without a label in `truth` are ignored.
 * @param truth item id → label (e.g. eventId → personId).
 */
export function pairwiseQuality(clusters: readonly (readonly string[])[], truth: ReadonlyMap<string, string>): PairwiseQuality {
  let predictedPairs = 0;
  let correctPairs = 0;
  let overMergedProfiles = 0;
  const clustered = new Set<string>();
  const repeated = new Set<string>();
  const clustersPerLabel = new Map<string, number>();
  for (const cluster of clusters) {
    const byLabel = new Map<string, number>();
    let size = 0;
    for (const item of new Set(cluster)) {
      const label = truth.get(item);
      if (label === undefined) continue;
      if (clustered.has(item)) {
        repeated.add(item);
        continue;
      }
      clustered.add(item);
      size += 1;
      byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
    }
    predictedPairs += pairs(size);
    for (const [label, count] of byLabel) {
      correctPairs += pairs(count);
      clustersPerLabel.set(label, (clustersPerLabel.get(label) ?? 0) + 1);
    }
    if (byLabel.size > 1) overMergedProfiles += 1;
  }
  const itemsPerLabel = new Map<string, number>();
  for (const [item, label] of truth) {
    itemsPerLabel.set(label, (itemsPerLabel.get(label) ?? 0) + 1);
    if (!clustered.has(item)) clustersPerLabel.set(label, (clustersPerLabel.get(label) ?? 0) + 1);
  }
  let truePairs = 0;
  for (const count of itemsPerLabel.values()) truePairs += pairs(count);
  let splitPeople = 0;
  for (const count of clustersPerLabel.values()) if (count > 1) splitPeople += 1;
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, predictedPairs, truePairs, correctPairs, overMergedProfiles, splitPeople, itemsInSeveralClusters: repeated.size, items: truth.size };
}
