/** Offsets of handled batches of one partition, waiting to be committed (BatchConsumer). */
export interface PendingCommit {
  readonly topic: string;
  readonly partition: number;
  /** The offset to commit: the one after the last record handled. */
  readonly offset: string;
  /** The group membership the batches were handled under. */
  readonly epoch: number;
  /** Batches and messages the offset covers, counted once it is committed. */
  readonly batches: number;
  readonly messages: number;
}

/**
 * Puts the entries of a commit that failed back among the `pending` ones (keyed
 * `topic|partition`) for the next commit.
 *
 * Only entries of the membership `epoch` are kept: an older membership's partitions may be
 * another member's now. Where a newer entry of the same partition was recorded meanwhile, its
 * offset covers the failed one (offsets are cumulative), and only the failed entry's batch and
 * message counts are added to it, so that the committed totals stay right.
 */
export function requeueFailedCommit<T extends PendingCommit>(pending: Map<string, T>, failed: readonly T[], epoch: number): void {
  for (const entry of failed) {
    if (entry.epoch !== epoch) continue;
    const key = `${entry.topic}|${entry.partition}`;
    const newer = pending.get(key);
    if (newer === undefined) pending.set(key, entry);
    else if (newer.epoch === epoch && BigInt(newer.offset) >= BigInt(entry.offset)) pending.set(key, { ...newer, batches: newer.batches + entry.batches, messages: newer.messages + entry.messages });
  }
}
