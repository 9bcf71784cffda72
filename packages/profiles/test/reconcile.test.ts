import { describe, expect, it } from 'vitest';
import { withTimesBoundedByIngest } from '@elephant/channels';
import { applyTouchpoint, emptyProfile, foldMerge, normalizePurpose, snapshotOf, traitWins, consentWins, type TraitValue } from '@elephant/profiles';
import { applyAll, DAY, describeChanges, expectEncodes, HOUR, snapshotType, T0, touchpoint, traits } from './helpers.ts';

const crm = (eventId: string, eventTime: number, email: string) =>
  touchpoint({ eventId, channel: 'crm', source: { system: 'crm', eventId, trust: 50 }, eventType: 'contact_updated', eventTime, traits: traits({ email }) });
const esp = (eventId: string, eventTime: number, email: string) =>
  touchpoint({ eventId, channel: 'email', source: { system: 'sendgrid', eventId, trust: 80 }, eventType: 'email_opened', eventTime, traits: traits({ email }) });
const web = (eventId: string, eventTime: number, partial: Parameters<typeof traits>[0]) => touchpoint({ eventId, eventTime, traits: traits(partial) });

describe('trait reconciliation', () => {
  it('keeps the more trusted source even when a less trusted one is newer', () => {
    const { state, steps } = applyAll([esp('e-esp', T0, 'ann@example.com'), crm('e-crm', T0 + DAY, 'ann.typo@example.com')]);
    expect(snapshotOf(state).traits.email).toBe('ann@example.com');
    expect(snapshotOf(state).traits.provenance.email).toEqual({ source: 'sendgrid', trust: 80, eventTime: T0, eventId: 'e-esp' });
    expect(steps[1]?.some((change) => change.path === 'traits.email')).toBe(false);
  });

  it('lets a more trusted source replace a value, even with an older event', () => {
    const { state, steps } = applyAll([crm('e-crm', T0 + DAY, 'ann.typo@example.com'), esp('e-esp', T0, 'ann@example.com')]);
    expect(snapshotOf(state).traits.email).toBe('ann@example.com');
    expect(describeChanges(steps[1] ?? []).filter((line) => line.startsWith('traits.'))).toEqual(['traits.email: "ann.typo@example.com" → "ann@example.com"']);
  });

  it('takes the newer event at equal trust', () => {
    const { state, steps } = applyAll([web('e-1', T0, { firstName: 'Ann' }), web('e-2', T0 + HOUR, { firstName: 'Anna' })]);
    expect(snapshotOf(state).traits.firstName).toBe('Anna');
    expect(describeChanges(steps[1] ?? []).filter((line) => line.startsWith('traits.'))).toEqual(['traits.firstName: "Ann" → "Anna"']);
  });

  it('never lets a late, older event of equal trust overwrite a newer value', () => {
    // The newer statement arrives first; the older one is delivered late (a retry, a slow source).
    const { state, steps } = applyAll([web('e-new', T0 + DAY, { lastName: 'Lee-Smith', address: { street: null, city: 'Hamburg', postalCode: null, region: null, country: 'DE' } }), web('e-old', T0, { lastName: 'Lee', address: { street: 'Main St 1', city: 'Berlin', postalCode: null, region: null, country: 'DE' } })]);
    const snapshot = snapshotOf(state);
    expect(snapshot.traits.lastName).toBe('Lee-Smith');
    expect(snapshot.traits.address).toEqual({ street: 'Main St 1', city: 'Hamburg', postalCode: null, region: null, country: 'DE' });
    // Only the field nobody had stated yet comes from the late event.
    expect(describeChanges(steps[1] ?? []).filter((line) => line.startsWith('traits.'))).toEqual(['traits.address.street: ∅ → "Main St 1"']);
    expect(snapshot.traits.provenance['address.country']).toMatchObject({ eventId: 'e-new' });
  });

  it('breaks a tie of trust and time by eventId, whatever the arrival order', () => {
    const a = web('e-a', T0, { gender: 'f' });
    const b = web('e-b', T0, { gender: 'female' });
    expect(snapshotOf(applyAll([a, b]).state).traits.gender).toBe('female');
    expect(snapshotOf(applyAll([b, a]).state).traits.gender).toBe('female');
  });

  it('reconciles preferences key by key and ignores empty strings', () => {
    const { state } = applyAll([web('e-1', T0, { preferences: { language: 'de', channel: 'email' } }), web('e-2', T0 + HOUR, { preferences: { language: 'en' }, phone: '' })]);
    const snapshot = snapshotOf(state);
    expect(snapshot.traits.preferences).toEqual({ channel: 'email', language: 'en' });
    expect(snapshot.traits.phone).toBeNull();
  });

  it('keeps odd preference keys as plain entries, and drops __proto__, which decoders cannot represent', () => {
    const preferences = JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>;
    const { state } = applyAll([web('e-1', T0, { preferences })]);
    const snapshot = snapshotOf(state);
    expect(Object.getPrototypeOf(snapshot.traits.preferences)).toBe(Object.prototype);
    expect(Object.keys(snapshot.traits.preferences)).toEqual(['constructor']);
    expect(snapshot.traits.preferences.constructor).toBe('y');
    expectEncodes(snapshotType, snapshot);
  });

  it('orders candidates by trust, then event time, then eventId', () => {
    const base: TraitValue = { value: 'x', source: 's', trust: 50, eventTime: T0, eventId: 'e-5' };
    expect(traitWins({ ...base, trust: 60, eventTime: T0 - DAY }, base)).toBe(true);
    expect(traitWins({ ...base, trust: 40, eventTime: T0 + DAY }, base)).toBe(false);
    expect(traitWins({ ...base, eventTime: T0 + 1 }, base)).toBe(true);
    expect(traitWins({ ...base, eventTime: T0 - 1 }, base)).toBe(false);
    expect(traitWins({ ...base, eventId: 'e-6' }, base)).toBe(true);
    expect(traitWins(base, base)).toBe(false);
    expect(traitWins(base, undefined)).toBe(true);
  });
});

describe('consent', () => {
  const statement = (eventId: string, trust: number, statedAt: number, purpose: string, granted: boolean, eventTime = statedAt) =>
    touchpoint({ eventId, source: { system: `s-${trust}`, eventId, trust }, eventTime, traits: traits({ consent: [{ purpose, granted, statedAt }] }) });

  it('keeps the most recent statement per purpose, whatever the source trust', () => {
    const { state, steps } = applyAll([statement('e-pos', 90, T0, 'email_marketing', true), statement('e-form', 40, T0 + DAY, 'email_marketing', false)]);
    expect(snapshotOf(state).consent).toEqual([{ purpose: 'email_marketing', granted: false, statedAt: T0 + DAY, source: 's-40', eventId: 'e-form' }]);
    expect(describeChanges(steps[1] ?? []).filter((line) => line.startsWith('consent.'))).toEqual(['consent.email_marketing: true → false']);
  });

  it('ignores a late statement older than the one held', () => {
    const { state, steps } = applyAll([statement('e-new', 40, T0 + DAY, 'ads', false), statement('e-old', 90, T0, 'ads', true, T0 + 2 * DAY)]);
    expect(snapshotOf(state).consent).toMatchObject([{ purpose: 'ads', granted: false, eventId: 'e-new' }]);
    expect(steps[1]?.some((change) => change.path.startsWith('consent.'))).toBe(false);
  });

  it('lets a denial win a tie within one event', () => {
    const event = touchpoint({
      eventId: 'e-1',
      traits: traits({
        consent: [
          { purpose: 'Analytics', granted: true, statedAt: T0 },
          { purpose: 'analytics', granted: false, statedAt: T0 },
        ],
      }),
    });
    expect(snapshotOf(applyAll([event]).state).consent).toMatchObject([{ purpose: 'analytics', granted: false }]);
    expect(consentWins({ granted: true, statedAt: T0, source: 's', eventId: 'e' }, { granted: false, statedAt: T0, source: 's', eventId: 'e' })).toBe(false);
  });

  it('normalizes purposes and applies aliases', () => {
    expect(normalizePurpose(' Email Marketing ')).toBe('email_marketing');
    expect(normalizePurpose('__proto__')).toBe('proto');
    expect(normalizePurpose('marketing-email', { marketing_email: 'email_marketing' })).toBe('email_marketing');
    expect(normalizePurpose(' - ')).toBeNull();
    const { state } = applyAll([statement('e-1', 50, T0, 'Marketing Email', true)], { purposeAliases: { marketing_email: 'email_marketing' } });
    expect(Object.keys(state.consent)).toEqual(['email_marketing']);
  });
});

describe('consent purposes renamed by an alias set after they were stored', () => {
  const stated = (eventId: string, purpose: string, granted: boolean, statedAt: number) => touchpoint({ eventId, eventTime: statedAt, traits: traits({ consent: [{ purpose, granted, statedAt }] }) });
  const aliases = { marketing_email: 'email_marketing' };

  it('move to the new name the next time the profile changes, the later statement winning (regression: the old grant stayed beside the new revocation)', () => {
    const before = applyAll([stated('e-1', 'marketing_email', true, T0)]).state;
    const revoked = applyAll([stated('e-2', 'Marketing Email', false, T0 + DAY)], { purposeAliases: aliases }, before).state;
    expect(snapshotOf(revoked).consent.map((entry) => [entry.purpose, entry.granted])).toEqual([['email_marketing', false]]);
    // A touchpoint that states no consent moves it too, and says so in its changes.
    const { state, steps } = applyAll([touchpoint({ eventId: 'e-3', eventTime: T0 + DAY })], { purposeAliases: aliases }, before);
    expect(snapshotOf(state).consent.map((entry) => [entry.purpose, entry.granted])).toEqual([['email_marketing', true]]);
    expect(describeChanges(steps[0] ?? []).filter((line) => line.startsWith('consent.'))).toEqual(['consent.email_marketing: ∅ → true', 'consent.marketing_email: true → ∅']);
  });

  it('move in a merge too', () => {
    const old = applyAll([stated('e-1', 'marketing_email', true, T0 + DAY)], {}, emptyProfile('p-2', 'acme', T0)).state;
    const current = applyAll([stated('e-2', 'email_marketing', false, T0)]).state;
    const { state } = foldMerge(current, [old], { purposeAliases: aliases });
    expect(snapshotOf(state).consent.map((entry) => [entry.purpose, entry.granted])).toEqual([['email_marketing', true]]);
  });
});

describe('identities', () => {
  it('records the identifiers touchpoints carry, except those identity resolution excluded', () => {
    const event = touchpoint({
      eventId: 'e-1',
      identifiers: [
        { type: 'user_id', value: 'u-1' },
        { type: 'phone', value: '+493012345678' },
      ],
    });
    const { state } = applyTouchpoint(emptyProfile('p-1', 'acme', T0), event, { excludedIdentifiers: [{ type: 'phone', value: '+493012345678' }] });
    expect(state.identities).toEqual([{ type: 'user_id', value: 'u-1', lastSeen: T0 }]);
  });

  it('keeps the most recently seen identities when over the bound', () => {
    const events = [0, 1, 2, 3].map((index) => touchpoint({ eventId: `e-${index}`, eventTime: T0 + index, identifiers: [{ type: 'anonymous_id', value: `a-${index}` }] }));
    const forward = applyAll(events, { maxIdentities: 2 });
    const backward = applyAll([...events].reverse(), { maxIdentities: 2 });
    expect(forward.state.identities.map((identity) => identity.value)).toEqual(['a-2', 'a-3']);
    expect(backward.state.identities).toEqual(forward.state.identities);
    expect(describeChanges(forward.steps[2] ?? []).filter((line) => line.startsWith('identities.'))).toEqual(['identities.anonymous_id.a-0: "a-0" → ∅', 'identities.anonymous_id.a-2: ∅ → "a-2"']);
  });
});

describe('a source whose clock runs ahead', () => {
  const YEAR = 365 * DAY;

  it('cannot lock consent: a statement dated after its ingestTime counts as stated at its ingestTime, so a later opt-out replaces it', () => {
    const ahead = touchpoint({ eventId: 'e-ahead', eventTime: T0 + YEAR, ingestTime: T0, traits: traits({ consent: [{ purpose: 'email_marketing', granted: true, statedAt: T0 + YEAR }] }) });
    const optOut = touchpoint({ eventId: 'e-opt-out', eventTime: T0 + DAY, traits: traits({ consent: [{ purpose: 'email_marketing', granted: false, statedAt: T0 + DAY }] }) });
    const { state } = applyAll([ahead, optOut]);
    expect(snapshotOf(state).consent).toEqual([{ purpose: 'email_marketing', granted: false, statedAt: T0 + DAY, source: 'segment', eventId: 'e-opt-out' }]);
    // Alone, the statement is kept with the time it counts at.
    expect(snapshotOf(applyAll([ahead]).state).consent).toMatchObject([{ granted: true, statedAt: T0 }]);
  });

  it('cannot lock a subscription, a trait or the profile\'s times: its eventTime counts as its ingestTime', () => {
    const unsubscribed = touchpoint({ eventId: 'e-unsub', channel: 'email', eventType: 'email_unsubscribed', eventTime: T0 + YEAR, ingestTime: T0, traits: traits({ firstName: 'Future' }) });
    const resubscribed = touchpoint({ eventId: 'e-resub', channel: 'email', eventType: 'email_resubscribed', eventTime: T0 + HOUR, traits: traits({ firstName: 'Ann' }) });
    const { state } = applyAll([unsubscribed, resubscribed]);
    expect(state.computed.email).toMatchObject({ unsubscribed: false, subscriptionChangedAt: T0 + HOUR });
    expect(state.traits.firstName).toMatchObject({ value: 'Ann', eventTime: T0 + HOUR });
    expect(state.computed.lastSeen).toBe(T0 + HOUR);
    expect(state.identities).toEqual([{ type: 'user_id', value: 'u-1', lastSeen: T0 + HOUR }]);
  });

  it('keeps the touchpoint object as it is when no time is after its ingestTime', () => {
    const onTime = touchpoint({ eventId: 'e-1', eventTime: T0, ingestTime: T0 + 5, traits: traits({ consent: [{ purpose: 'ads', granted: true, statedAt: T0 - DAY }] }) });
    expect(withTimesBoundedByIngest(onTime)).toBe(onTime);
    const ahead = { ...onTime, traits: traits({ consent: [{ purpose: 'ads', granted: true, statedAt: T0 + DAY }] }) };
    expect(withTimesBoundedByIngest(ahead).traits?.consent).toEqual([{ purpose: 'ads', granted: true, statedAt: T0 + 5 }]);
    expect(ahead.traits.consent[0]?.statedAt).toBe(T0 + DAY);
  });
});
