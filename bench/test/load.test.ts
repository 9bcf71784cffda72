import { describe, expect, it } from 'vitest';
import { settle, settledText } from '@elephant/bench';

describe('the wait for a quiet machine', () => {
  it('does not wait with no time to wait, and says so', async () => {
    const quiet = await settle(0);
    expect(quiet.coresBusy).toBeNull();
    expect(settledText(quiet)).toMatch(/^no wait for a quiet machine, [\d.]+ s flushing dirty pages$/);
  });

  it('says how busy the machine was and how long it waited', () => {
    expect(settledText({ seconds: 3.5, coresBusy: 0.21 })).toBe('the machine 0.21 cores busy before it, after 3.5 s of waiting for it to be quiet');
  });
});
