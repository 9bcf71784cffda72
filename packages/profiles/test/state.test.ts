import { describe, expect, it } from 'vitest';
import { isElephantError } from '@elephant/errors';
import { applyTouchpoint, emptyProfile, erasureUpdateOf, parseProfileState, PROFILE_ERROR_CODES, ProfileError, type ProfileState } from '@elephant/profiles';
import { applyAll, expectEncodes, T0, touchpoint, updateType } from './helpers.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ProfileError) return error.code;
    throw error;
  }
  return undefined;
}

describe('state', () => {
  it('is plain JSON and comes back from storage unchanged', () => {
    const { state } = applyAll([touchpoint({ eventId: 'e-1' })]);
    const stored = JSON.stringify(state);
    expect(parseProfileState(JSON.parse(stored))).toEqual(state);
    expect(state.stateVersion).toBe(1);
    expect(stored.length).toBeLessThan(1200);
  });

  it('refuses corrupt or foreign JSON with the bad paths', () => {
    const { state } = applyAll([touchpoint({ eventId: 'e-1' })]);
    const broken = { ...state, computed: { ...state.computed, ordersCount: -1 }, identities: 'x' };
    try {
      parseProfileState(broken);
      expect.unreachable();
    } catch (error) {
      expect(isElephantError(error, 'INVALID_STATE')).toBe(true);
      expect((error as ProfileError).details.paths).toEqual(['identities', 'computed.ordersCount']);
      expect((error as ProfileError).retryable).toBe(false);
    }
    expect(codeOf(() => parseProfileState('nope'))).toBe('INVALID_STATE');
  });

  it('refuses a state written by a newer format instead of misreading it', () => {
    const newer = { ...emptyProfile('p-1', 'acme', T0), stateVersion: 2 };
    expect(codeOf(() => parseProfileState(newer))).toBe('UNSUPPORTED_STATE_VERSION');
    expect(codeOf(() => applyTouchpoint(newer as unknown as ProfileState, touchpoint({ eventId: 'e-1' })))).toBe('UNSUPPORTED_STATE_VERSION');
  });

  it('refuses a touchpoint of another tenant and bad options', () => {
    const profile = emptyProfile('p-1', 'acme', T0);
    expect(codeOf(() => applyTouchpoint(profile, touchpoint({ eventId: 'e-1', tenant: 'globex' })))).toBe('TENANT_MISMATCH');
    expect(codeOf(() => applyTouchpoint(profile, touchpoint({ eventId: 'e-1' }), { maxProducts: 0 }))).toBe('INVALID_OPTIONS');
    expect(PROFILE_ERROR_CODES).toContain('INVALID_OPTIONS');
  });

  it('takes updatedAt from `now`, never moving it back', () => {
    const profile = emptyProfile('p-1', 'acme', T0);
    const later = applyTouchpoint(profile, touchpoint({ eventId: 'e-1' }), { now: T0 + 5000 }).state;
    expect(later.updatedAt).toBe(T0 + 5000);
    expect(applyTouchpoint(later, touchpoint({ eventId: 'e-2' }), { now: T0 + 1 }).state.updatedAt).toBe(T0 + 5000);
    expect(applyTouchpoint(later, touchpoint({ eventId: 'e-3', ingestTime: T0 + 9000 })).state.updatedAt).toBe(T0 + 9000);
  });

  it('does not mutate the state it is given', () => {
    const { state } = applyAll([touchpoint({ eventId: 'e-1' })]);
    const frozen = JSON.stringify(state);
    applyTouchpoint(state, touchpoint({ eventId: 'e-2', channel: 'pos', traits: null, commerce: { kind: 'purchase', orderId: 'o', returnId: null, currency: 'EUR', totalMinor: 5, lineItems: [] } }));
    expect(JSON.stringify(state)).toBe(frozen);
  });
});

describe('erasureUpdateOf', () => {
  it('announces the erasure without repeating any of the person’s data', () => {
    const update = erasureUpdateOf('p-1', 'acme', 8, { eventId: 'erase-1', at: T0 });
    expect(update).toEqual({ profileId: 'p-1', tenant: 'acme', version: 8, kind: 'erasure', causeEventId: 'erase-1', changes: [], mergedProfileIds: [], updatedAt: T0 });
    expectEncodes(updateType, update);
  });
});
