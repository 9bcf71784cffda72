import { describe, expect, it } from 'vitest';
import { requeueFailedCommit, type PendingCommit } from '@elephant/kafka';

const entry = (partition: number, offset: number, epoch = 1, batches = 1, messages = 10): PendingCommit => ({ topic: 't', partition, offset: String(offset), epoch, batches, messages });

describe('requeueFailedCommit (offsets of a failed commit put back for a retry)', () => {
  it('puts back the entries of the current membership', () => {
    const pending = new Map<string, PendingCommit>();
    requeueFailedCommit(pending, [entry(0, 5), entry(1, 7)], 1);
    expect([...pending]).toEqual([
      ['t|0', entry(0, 5)],
      ['t|1', entry(1, 7)],
    ]);
  });

  it('drops the entries of a membership that ended: the partition may be another member\'s', () => {
    const pending = new Map<string, PendingCommit>();
    requeueFailedCommit(pending, [entry(0, 5, 1)], 2);
    expect(pending.size).toBe(0);
  });

  it('keeps a newer entry of the same partition, which covers the failed offset, and adds the failed counts to it', () => {
    const pending = new Map<string, PendingCommit>([['t|0', entry(0, 9, 1, 2, 4)]]);
    requeueFailedCommit(pending, [entry(0, 5, 1, 3, 30), entry(1, 7, 1, 1, 1)], 1);
    expect(pending.get('t|0')).toEqual(entry(0, 9, 1, 5, 34));
    expect(pending.get('t|1')).toEqual(entry(1, 7, 1, 1, 1));
  });

  it('keeps the extra fields of the entries it puts back or merges', () => {
    const pending = new Map([['t|0', { ...entry(0, 9), offsetLag: '0' }]]);
    requeueFailedCommit(pending, [{ ...entry(0, 5), offsetLag: '4' }], 1);
    expect(pending.get('t|0')?.offsetLag).toBe('0');
  });
});
