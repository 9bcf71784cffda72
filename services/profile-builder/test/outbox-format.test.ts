import { describe, expect, it } from 'vitest';
import { packOutbox, unpackOutbox } from '@elephant/profile-builder';

describe('outbox entry format', () => {
  it('keeps the encoded update records as they were, in order (empty records and many of them included)', () => {
    const records = [Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]), Buffer.alloc(0), Buffer.alloc(70000, 0x5b)];
    const packed = packOutbox(records);
    expect(packed[0]).toBe(0);
    expect(unpackOutbox(packed)).toEqual({ records });
    expect(unpackOutbox(packOutbox([]))).toEqual({ records: [] });
  });

  it('reads an entry an earlier version wrote (a JSON array of updates) as such', () => {
    const updates = [{ profileId: 'p1', version: 3, kind: 'touchpoint' }];
    expect(unpackOutbox(Buffer.from(JSON.stringify(updates)))).toEqual({ legacy: updates });
  });

  it('refuses a cut-short entry with OUTBOX_ENTRY_MALFORMED instead of publishing part of it', () => {
    const packed = packOutbox([Buffer.from('abcdef')]);
    expect(() => unpackOutbox(packed.subarray(0, 7))).toThrow(expect.objectContaining({ code: 'OUTBOX_ENTRY_MALFORMED', retryable: false }));
    expect(() => unpackOutbox(Buffer.concat([packed, Buffer.from([0, 0])]))).toThrow(expect.objectContaining({ code: 'OUTBOX_ENTRY_MALFORMED' }));
  });
});
