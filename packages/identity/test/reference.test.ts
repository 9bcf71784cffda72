import { describe, expect, it } from 'vitest';
import type { Identifier, Touchpoint } from '@elephant/channels';
import {
  applyOverrides,
  DEFAULT_RULES,
  DEFAULT_RULES_DOCUMENT,
  identifierKey,
  IdentityError,
  parseRulesDocument,
  profileIdNamespace,
  ReferenceResolver,
  unionFindClusters,
  type IdentityEvent,
} from '@elephant/identity';

const T0 = Date.UTC(2024, 4, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let counter = 0;
/** An event of tenant acme with identifiers given as [type, value] pairs. */
function event(identifiers: readonly (readonly [string, string])[], options: { time?: number; channel?: string; eventId?: string; tenant?: string } = {}): IdentityEvent {
  counter += 1;
  return {
    eventId: options.eventId ?? `evt-${counter}`,
    tenant: options.tenant ?? 'acme',
    channel: options.channel ?? 'web',
    eventTime: options.time ?? T0 + counter * 1000,
    identifiers: identifiers.map(([type, value]): Identifier => ({ type, value })),
  };
}

/** The id of tenant `tenant`'s `seq`-th profile. */
function pid(seq: number, tenant = 'acme'): string {
  return `p${seq}-${profileIdNamespace(tenant)}`;
}

function keysOf(resolver: ReferenceResolver, profileId: string | null): string[] {
  if (profileId === null) throw new Error('unresolved');
  return resolver.identifiersOf(profileId).map(identifierKey).sort();
}

describe('IdentityEvent', () => {
  it('is what a Touchpoint already is, so the resolver takes touchpoints as they come', () => {
    const asEvent = (touchpoint: Touchpoint): IdentityEvent => touchpoint;
    expect(asEvent).toBeTypeOf('function');
  });
});

describe('ReferenceResolver: anonymous to known', () => {
  it('attaches the login to the cookie’s profile, and later identifiers to the same profile', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const browse = resolver.process(event([['anonymous_id', 'a1']]));
    expect(browse).toMatchObject({ outcome: 'created', profileId: pid(1), attached: [{ type: 'anonymous_id', value: 'a1' }] });
    const login = resolver.process(event([['anonymous_id', 'a1'], ['user_id', 'u1']]));
    expect(login).toMatchObject({ outcome: 'matched', profileId: pid(1), attached: [{ type: 'user_id', value: 'u1' }], merge: null });
    const profile = resolver.process(event([['user_id', 'u1'], ['email', 'ann@shop.org']]));
    expect(profile.profileId).toBe(pid(1));
    expect(keysOf(resolver, pid(1))).toEqual(['anonymous_id:a1', 'email:ann@shop.org', 'user_id:u1']);
  });

  it('merges an anonymous profile and a known one when the cookie logs in; the older survives', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['anonymous_id', 'a1']]));
    resolver.process(event([['user_id', 'u1'], ['email', 'ann@shop.org']]));
    const login = resolver.process(event([['user_id', 'u1'], ['anonymous_id', 'a1']]));
    expect(login).toMatchObject({ outcome: 'merged', profileId: pid(1) });
    expect(login.merge).toMatchObject({ survivor: pid(1), absorbed: [pid(2)], linkedBy: [{ type: 'user_id', value: 'u1' }, { type: 'anonymous_id', value: 'a1' }], rule: 'match', eventId: login.eventId });
    expect(resolver.clusters()).toEqual([['anonymous_id:a1', 'email:ann@shop.org', 'user_id:u1']]);
  });
});

describe('ReferenceResolver: cross-channel chain', () => {
  const chain = (): IdentityEvent[] => [
    event([['anonymous_id', 'cookie-1']], { channel: 'web' }),
    event([['anonymous_id', 'cookie-1'], ['email', 'ann@shop.org']], { channel: 'content' }),
    event([['phone', '+447700900123'], ['email', 'ann@shop.org']], { channel: 'support' }),
    event([['loyalty_member_id', 'M-1'], ['loyalty_card', '6000001'], ['phone', '+447700900123']], { channel: 'loyalty' }),
    event([['loyalty_card', '6000001'], ['payment_fingerprint', 'pf_1']], { channel: 'pos' }),
  ];

  it('links cookie → e-mail → phone → loyalty card → in-store purchase into one profile', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const results = resolver.processAll(chain());
    expect(new Set(results.map((result) => result.profileId))).toEqual(new Set([pid(1)]));
    expect(results.map((result) => result.outcome)).toEqual(['created', 'matched', 'matched', 'matched', 'matched']);
    expect(resolver.clusters()).toHaveLength(1);
  });

  it('ends with the same single profile when the links arrive after the fragments', () => {
    const events = chain();
    const fragments = [event([['payment_fingerprint', 'pf_1']], { channel: 'pos' }), event([['phone', '+447700900123']], { channel: 'support' }), event([['email', 'ann@shop.org']], { channel: 'email' })];
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.processAll([...fragments, ...events.reverse()]);
    expect(resolver.clusters()).toEqual(unionFindClusters([...fragments, ...events], DEFAULT_RULES));
    expect(resolver.clusters()).toHaveLength(1);
    const pos = resolver.profileOf('payment_fingerprint', 'pf_1');
    expect(pos).toBe(pid(1));
    expect(resolver.profileOf('anonymous_id', 'cookie-1')).toBe(pos);
    expect(resolver.stats()).toMatchObject({ liveProfiles: 1, merges: 2, absorbedProfiles: 2 });
  });
});

describe('ReferenceResolver: limits, drop and re-match', () => {
  it('keeps a second user_id out of the profile: the cookie is dropped and the new user gets a profile of their own', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['user_id', 'ann'], ['anonymous_id', 'shared-cookie']]));
    const other = resolver.process(event([['user_id', 'bob'], ['anonymous_id', 'shared-cookie'], ['email', 'bob@shop.org']]));
    expect(other).toMatchObject({
      outcome: 'created',
      profileId: pid(2),
      dropped: [{ type: 'anonymous_id', value: 'shared-cookie', reason: 'limit', violated: ['user_id'] }],
      attached: [{ type: 'user_id', value: 'bob' }, { type: 'email', value: 'bob@shop.org' }],
    });
    expect(resolver.profileOf('anonymous_id', 'shared-cookie')).toBe(pid(1));
    expect(resolver.stats().limitDrops).toBe(1);
  });

  it('refuses a merge of two accounts and sends the event to the stronger identifier’s profile', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['user_id', 'ann'], ['email', 'family@shop.org']]));
    resolver.process(event([['user_id', 'bob'], ['phone', '+447700900999']]));
    const result = resolver.process(event([['phone', '+447700900999'], ['email', 'family@shop.org']]));
    expect(result).toMatchObject({ outcome: 'matched', profileId: pid(1), merge: null, dropped: [{ type: 'phone', value: '+447700900999', violated: ['user_id'] }] });
    expect(resolver.clusters()).toHaveLength(2);
  });

  it('attaches e-mails up to the limit and drops the rest, lowest priority (last) first', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const emails = ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'].map((local) => ['email', `${local}@shop.org`] as const);
    const result = resolver.process(event([['crm_id', 'C1'], ...emails]));
    expect(result.attached).toHaveLength(6);
    expect(result.dropped.map((drop) => drop.value)).toEqual(['e7@shop.org', 'e6@shop.org']);
    expect(resolver.identifiersOf(pid(1)).filter((identifier) => identifier.type === 'email')).toHaveLength(5);
  });

  it('drops a non-merging identifier over its limit before any identifier that decides the match', () => {
    const rules = applyOverrides(DEFAULT_RULES, { limits: { device_id: 2 } });
    const resolver = new ReferenceResolver(rules);
    resolver.process(event([['anonymous_id', 'a1'], ['device_id', 'd1'], ['device_id', 'd2']]));
    const third = resolver.process(event([['anonymous_id', 'a1'], ['device_id', 'd3']]));
    expect(third).toMatchObject({ outcome: 'matched', profileId: pid(1), attached: [], dropped: [{ type: 'device_id', value: 'd3', violated: ['device_id'] }] });
  });

  it('never lets a profile exceed a limit through a merge', () => {
    const rules = applyOverrides(DEFAULT_RULES, { limits: { email: 2 } });
    const resolver = new ReferenceResolver(rules);
    resolver.process(event([['anonymous_id', 'a1'], ['email', 'x1@shop.org'], ['email', 'x2@shop.org']]));
    resolver.process(event([['anonymous_id', 'a2'], ['email', 'y1@shop.org']]));
    const result = resolver.process(event([['anonymous_id', 'a1'], ['anonymous_id', 'a2']]));
    expect(result).toMatchObject({ merge: null, dropped: [{ type: 'anonymous_id', value: 'a2', violated: ['email'] }], profileId: pid(1) });
    for (const cluster of resolver.clusters()) expect(cluster.filter((key) => key.startsWith('email:')).length).toBeLessThanOrEqual(2);
  });
});

describe('ReferenceResolver: a limit lowered below what a profile holds', () => {
  // The profile filled up under the old rules; the rules change (setRules, as a resolver
  // restarted with a new rules file). The limit stops it growing and nothing else (regression:
  // its identifiers conflicted with its own e-mails, so its login came out unresolved, a new
  // cookie started a second profile, and every later event of the person was dead-lettered).
  const emails = ['e1', 'e2', 'e3', 'e4', 'e5'].map((local) => ['email', `${local}@shop.org`] as const);
  const lowered = applyOverrides(DEFAULT_RULES, { limits: { email: 3, device_id: 1 } });

  it('still matches the profile, attaches identifiers of other types, and refuses only another e-mail', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['user_id', 'u1'], ...emails]));
    resolver.setRules(lowered);
    expect(resolver.process(event([['user_id', 'u1']]))).toMatchObject({ outcome: 'matched', profileId: pid(1), dropped: [], attached: [] });
    expect(resolver.process(event([['user_id', 'u1'], ['anonymous_id', 'a-new']]))).toMatchObject({ outcome: 'matched', profileId: pid(1), dropped: [], attached: [{ type: 'anonymous_id', value: 'a-new' }] });
    expect(resolver.process(event([['email', 'e3@shop.org']]))).toMatchObject({ outcome: 'matched', profileId: pid(1), dropped: [] });
    const more = resolver.process(event([['user_id', 'u1'], ['email', 'e6@shop.org']]));
    expect(more).toMatchObject({ outcome: 'matched', profileId: pid(1), attached: [], dropped: [{ type: 'email', value: 'e6@shop.org', reason: 'limit', violated: ['email'] }] });
    expect(resolver.identifiersOf(pid(1)).filter((identifier) => identifier.type === 'email')).toHaveLength(5);
    expect(resolver.profileOf('email', 'e6@shop.org')).toBeUndefined();
    expect(resolver.stats()).toMatchObject({ profilesCreated: 1, unresolvedEvents: 0 });
  });

  it('merges in a profile holding no e-mail, and refuses a merge that would add one', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['user_id', 'u1'], ...emails]));
    resolver.process(event([['anonymous_id', 'a2'], ['phone', '+447700900123']]));
    resolver.process(event([['anonymous_id', 'a3'], ['email', 'other@shop.org']]));
    resolver.setRules(lowered);
    const merged = resolver.process(event([['user_id', 'u1'], ['anonymous_id', 'a2']]));
    expect(merged).toMatchObject({ outcome: 'merged', profileId: pid(1), dropped: [], merge: { survivor: pid(1), absorbed: [pid(2)] } });
    const refused = resolver.process(event([['user_id', 'u1'], ['anonymous_id', 'a3']]));
    expect(refused).toMatchObject({ outcome: 'matched', profileId: pid(1), merge: null, dropped: [{ type: 'anonymous_id', value: 'a3', violated: ['email'] }] });
    expect(resolver.profileOf('anonymous_id', 'a3')).toBe(pid(3));
  });

  it('still attributes a device-only event to a profile holding more devices than the new limit (weak match), without adding one', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['user_id', 'u1'], ['device_id', 'd1'], ['device_id', 'd2']]));
    resolver.setRules(lowered);
    expect(resolver.process(event([['device_id', 'd2']]))).toMatchObject({ outcome: 'weak_match', profileId: pid(1), dropped: [] });
    const another = resolver.process(event([['device_id', 'd1'], ['device_id', 'd3']]));
    expect(another).toMatchObject({ outcome: 'weak_match', profileId: pid(1), attached: [], dropped: [{ type: 'device_id', value: 'd3', violated: ['device_id'] }] });
  });

  it('takes a rules document as well: only the tenant whose limit changed is affected', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES_DOCUMENT);
    resolver.process(event([['user_id', 'u1'], ...emails]));
    resolver.process(event([['user_id', 'g1'], ...emails.slice(0, 3)], { tenant: 'globex' }));
    resolver.setRules({ ...DEFAULT_RULES_DOCUMENT, tenants: { acme: { limits: { email: 2 } } } });
    expect(resolver.process(event([['user_id', 'u1']]))).toMatchObject({ outcome: 'matched', dropped: [] });
    expect(resolver.process(event([['user_id', 'u1'], ['email', 'e6@shop.org']])).dropped).toEqual([{ type: 'email', value: 'e6@shop.org', reason: 'limit', violated: ['email'] }]);
    expect(resolver.process(event([['user_id', 'g1'], ['email', 'e6@shop.org']], { tenant: 'globex' })).attached).toEqual([{ type: 'email', value: 'e6@shop.org' }]);
  });
});

describe('ReferenceResolver: blocked values', () => {
  it('never puts a blocked value in the graph, so it links nobody', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const first = resolver.process(event([['anonymous_id', 'a1'], ['email', 'test@test.com']]));
    resolver.process(event([['anonymous_id', 'a2'], ['email', 'TEST@test.com'], ['phone', '+10000000000']]));
    expect(first.blocked).toEqual([{ type: 'email', value: 'test@test.com', reason: 'blocked_value', rule: 'email "test@test.com"' }]);
    expect(resolver.clusters()).toEqual([['anonymous_id:a1'], ['anonymous_id:a2']]);
    expect(resolver.stats().blockedIdentifiers).toBe(3);
  });

  it('leaves an event of nothing but placeholders unresolved', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const result = resolver.process(event([['user_id', 'undefined'], ['device_id', '0']]));
    expect(result).toMatchObject({ outcome: 'unresolved', profileId: null, attached: [] });
    expect(resolver.eventClusters()).toEqual([]);
    expect(resolver.stats().unresolvedEvents).toBe(1);
  });
});

describe('ReferenceResolver: super-node quarantine', () => {
  it('quarantines a value seen on more than maxProfilesPerValue distinct profiles; then it links and attaches nothing', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const store = ['phone', '+442079460000'] as const;
    for (let person = 1; person <= 7; person += 1) resolver.process(event([['user_id', `u${person}`], ['loyalty_card', `card-${person}`]]));
    // The clerk types the store's number for walk-ins: it lands on the first walk-in's profile, then
    // every other walk-in's account keeps their card apart (user_id limit) and the number is seen on one more profile.
    const walkIns = [1, 2, 3, 4, 5, 6].map((person) => resolver.process(event([['loyalty_card', `card-${person}`], store], { channel: 'pos' })));
    expect(walkIns.slice(0, 5).flatMap((result) => result.quarantined)).toEqual([]);
    expect(walkIns[5]?.quarantined).toEqual([
      expect.objectContaining({ type: 'phone', value: '+442079460000', reason: 'too_many_profiles', observed: 6, threshold: 5, eventId: walkIns[5]?.eventId }),
    ]);
    expect(resolver.isQuarantined(...store)).toBe(true);
    // Quarantined: walk-ins go to their own profiles, and a new card does not join the number's profile.
    const later = resolver.process(event([['loyalty_card', 'card-7'], store], { channel: 'pos' }));
    expect(later).toMatchObject({ outcome: 'matched', profileId: resolver.profileOf('user_id', 'u7'), ignored: [{ type: 'phone', value: '+442079460000', reason: 'quarantined' }] });
    const stranger = resolver.process(event([['loyalty_card', 'card-new'], store], { channel: 'pos' }));
    expect(stranger.outcome).toBe('created');
    expect(resolver.profileOf('loyalty_card', 'card-new')).not.toBe(resolver.profileOf(...store));
    const alone = resolver.process(event([store], { channel: 'pos' }));
    expect(alone).toMatchObject({ outcome: 'unresolved', profileId: null });
    expect(resolver.alerts()).toHaveLength(1);
    expect(resolver.stats().quarantinedValues).toBe(1);
  });

  it('counts profiles merged together once: a person’s own fragments never make their e-mail a super-node', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    for (let cookie = 1; cookie <= 8; cookie += 1) {
      resolver.process(event([['anonymous_id', `a${cookie}`]], { time: T0 + cookie * 2 * DAY }));
      resolver.process(event([['anonymous_id', `a${cookie}`], ['email', 'ann@shop.org']], { time: T0 + cookie * 2 * DAY + HOUR }));
    }
    expect(resolver.alerts()).toEqual([]);
    expect(resolver.clusters()).toHaveLength(1);
  });

  it('quarantines a value that would take part in more than maxMergesPerWindow merges within the window, before the merge', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const wifi = ['click_id', 'hotel-wifi-portal'] as const;
    for (let guest = 1; guest <= 5; guest += 1) resolver.process(event([['anonymous_id', `guest-${guest}`]], { time: T0 }));
    const results = [1, 2, 3, 4, 5].map((guest) => resolver.process(event([['anonymous_id', `guest-${guest}`], wifi], { time: T0 + guest * HOUR })));
    expect(results.map((result) => result.outcome)).toEqual(['matched', 'merged', 'merged', 'merged', 'matched']);
    expect(results[4]?.quarantined).toEqual([expect.objectContaining({ reason: 'too_many_merges', observed: 4, threshold: 3 })]);
    expect(results[4]?.profileId).toBe(resolver.profileOf('anonymous_id', 'guest-5'));
    expect(resolver.clusters()).toHaveLength(2);
  });

  it('does not count merges outside the window', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const email = ['email', 'ann@shop.org'] as const;
    // Five phones (the limit), each first on a cookie's profile, each merged by the e-mail two days apart: four merges, never more than one a day.
    for (let cookie = 1; cookie <= 5; cookie += 1) {
      resolver.process(event([['anonymous_id', `a${cookie}`]], { time: T0 + cookie * 2 * DAY }));
      resolver.process(event([['anonymous_id', `a${cookie}`], ['phone', `+4477009001${cookie}0`]], { time: T0 + cookie * 2 * DAY }));
      resolver.process(event([['phone', `+4477009001${cookie}0`], email], { time: T0 + cookie * 2 * DAY + HOUR }));
    }
    expect(resolver.alerts()).toEqual([]);
    expect(resolver.stats()).toMatchObject({ liveProfiles: 1, merges: 4, limitDrops: 0 });
  });
});

describe('ReferenceResolver: survivor and merged ids', () => {
  const build = (order: readonly (readonly [string, string])[]): ReferenceResolver => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['anonymous_id', 'x']]));
    resolver.process(event([['email', 'y@shop.org']]));
    resolver.process(event([['phone', '+447700900123']]));
    const result = resolver.process(event(order));
    expect(result.merge).toMatchObject({ survivor: pid(1), absorbed: [pid(2), pid(3)] });
    return resolver;
  };

  it.each([
    ['oldest first', [['anonymous_id', 'x'], ['email', 'y@shop.org'], ['phone', '+447700900123']]],
    ['newest first', [['phone', '+447700900123'], ['email', 'y@shop.org'], ['anonymous_id', 'x']]],
    ['mixed', [['email', 'y@shop.org'], ['anonymous_id', 'x'], ['phone', '+447700900123']]],
  ] as const)('keeps the oldest profile whatever the identifier order (%s)', (_name, order) => {
    build(order);
  });

  it('resolves merged profile ids to the survivor for good, also through chains of merges', () => {
    const resolver = build([['anonymous_id', 'x'], ['email', 'y@shop.org'], ['phone', '+447700900123']]);
    expect(resolver.resolveProfile(pid(2))).toBe(pid(1));
    expect(resolver.resolveProfile(pid(3))).toBe(pid(1));
    resolver.process(event([['anonymous_id', 'z']]));
    resolver.process(event([['anonymous_id', 'z'], ['phone', '+447700900123']]));
    expect(resolver.resolveProfile(pid(4))).toBe(pid(1));
    expect(resolver.profileOf('anonymous_id', 'z')).toBe(pid(1));
    expect(resolver.identifiersOf(pid(3)).map(identifierKey).sort()).toEqual(['anonymous_id:x', 'anonymous_id:z', 'email:y@shop.org', 'phone:+447700900123']);
    expect(resolver.resolveProfile(pid(99))).toBeUndefined();
  });
});

describe('ReferenceResolver: redelivery', () => {
  it('changes nothing when an eventId comes again, and returns the first result with the profile’s survivor', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const first = event([['anonymous_id', 'a1']], { eventId: 'fixed-1' });
    const original = resolver.process(first);
    resolver.process(event([['user_id', 'u1']]));
    const merging = event([['user_id', 'u1'], ['anonymous_id', 'a1']], { eventId: 'fixed-2' });
    const merged = resolver.process(merging);
    const before = { clusters: resolver.clusters(), events: resolver.eventClusters(), merges: resolver.merges().length };

    const again = resolver.process(first);
    expect(again).toEqual({ ...original, duplicate: true, profileId: pid(1) });
    expect(resolver.process(merging)).toEqual({ ...merged, duplicate: true });
    // Even with different identifiers: the eventId decides.
    expect(resolver.process({ ...merging, identifiers: [{ type: 'user_id', value: 'someone-else' }] }).profileId).toBe(pid(1));
    expect({ clusters: resolver.clusters(), events: resolver.eventClusters(), merges: resolver.merges().length }).toEqual(before);
    expect(resolver.stats()).toMatchObject({ events: 3, duplicates: 3 });
  });

  it('does not count a redelivered merge twice towards the merge-rate window', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const merges: IdentityEvent[] = [];
    for (let guest = 1; guest <= 3; guest += 1) {
      resolver.process(event([['anonymous_id', `g${guest}`]], { time: T0 }));
      merges.push(event([['anonymous_id', `g${guest}`], ['click_id', 'portal']], { time: T0 + guest * HOUR }));
    }
    for (let round = 0; round < 3; round += 1) resolver.processAll(merges);
    expect(resolver.alerts()).toEqual([]);
  });
});

describe('ReferenceResolver: shared and personal devices', () => {
  it('keeps a household computer from merging its users: the device stays with the first, each cookie with its person', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['anonymous_id', 'ann-cookie'], ['device_id', 'family-pc']]));
    const bob = resolver.process(event([['anonymous_id', 'bob-cookie'], ['device_id', 'family-pc']]));
    expect(bob).toMatchObject({ outcome: 'created', profileId: pid(2), ignored: [{ type: 'device_id', value: 'family-pc', reason: 'owned_elsewhere' }] });
    resolver.process(event([['anonymous_id', 'bob-cookie'], ['device_id', 'family-pc'], ['user_id', 'bob']]));
    expect(resolver.clusters()).toEqual([['anonymous_id:ann-cookie', 'device_id:family-pc'], ['anonymous_id:bob-cookie', 'user_id:bob']]);
  });

  it('would merge them if device_id were a merging type (why it is not by default)', () => {
    const resolver = new ReferenceResolver(applyOverrides(DEFAULT_RULES, { nonMergingTypes: [] }));
    resolver.process(event([['anonymous_id', 'ann-cookie'], ['device_id', 'family-pc']]));
    resolver.process(event([['anonymous_id', 'bob-cookie'], ['device_id', 'family-pc']]));
    expect(resolver.clusters()).toHaveLength(1);
  });

  it('attributes an event with nothing but a known device to the device’s profile, linking nothing', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['anonymous_id', 'app-1'], ['device_id', 'phone-1'], ['user_id', 'ann']]));
    const push = resolver.process(event([['device_id', 'phone-1'], ['advertising_id', 'idfa-1']]));
    expect(push).toMatchObject({ outcome: 'weak_match', profileId: pid(1), attached: [{ type: 'advertising_id', value: 'idfa-1' }] });
    expect(resolver.linkOf('advertising_id', 'idfa-1')?.rule).toBe('weak_match');
    expect(resolver.stats().weakMatches).toBe(1);
  });

  it('lets a device first seen alone join the first profile an event links it to', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['device_id', 'phone-1']]));
    const login = resolver.process(event([['user_id', 'ann'], ['device_id', 'phone-1']]));
    expect(login).toMatchObject({ outcome: 'matched', profileId: pid(1), attached: [{ type: 'user_id', value: 'ann' }] });
  });

  it('merges a device-only profile into a known one when an event links the two, oldest surviving', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['user_id', 'ann']]));
    resolver.process(event([['device_id', 'phone-1']]));
    resolver.process(event([['device_id', 'phone-1']]));
    const login = resolver.process(event([['user_id', 'ann'], ['device_id', 'phone-1']]));
    expect(login).toMatchObject({ outcome: 'merged', profileId: pid(1), merge: { survivor: pid(1), absorbed: [pid(2)] } });
    // From now on the device is held by a profile with a merging identifier: it links no one else.
    const other = resolver.process(event([['user_id', 'bob'], ['device_id', 'phone-1']]));
    expect(other).toMatchObject({ outcome: 'created', profileId: pid(3), ignored: [{ type: 'device_id', value: 'phone-1', reason: 'owned_elsewhere' }] });
    expect(resolver.eventClusters().map((cluster) => cluster.length).sort()).toEqual([1, 4]);
  });

  it('quarantines a device held by one profile once events of more than maxProfilesPerValue profiles carried it; device-only events then weak-match nobody (regression: held values were never counted, a kiosk tablet routed strangers to its first user forever)', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const kiosk = ['device_id', 'kiosk-tablet'] as const;
    const logins = Array.from({ length: 20 }, (_, user) => resolver.process(event([['user_id', `u${user}`], kiosk])));
    expect(logins.map((result) => result.outcome)).toEqual(Array.from({ length: 20 }, () => 'created'));
    // u0's profile holds it; u1..u5 are five more profiles: the sixth profile is over the threshold.
    expect(logins.slice(0, 5).flatMap((result) => result.quarantined)).toEqual([]);
    expect(logins[5]?.quarantined).toEqual([expect.objectContaining({ type: 'device_id', value: 'kiosk-tablet', reason: 'too_many_profiles', observed: 6, threshold: 5, eventId: logins[5]?.eventId })]);
    expect(logins[6]?.ignored).toEqual([{ type: 'device_id', value: 'kiosk-tablet', reason: 'quarantined' }]);
    expect(resolver.alerts()).toHaveLength(1);
    // It stays on u0's profile (for the explanation), but routes nothing any more.
    expect(resolver.profileOf(...kiosk)).toBe(resolver.profileOf('user_id', 'u0'));
    const deviceOnly = resolver.process(event([kiosk]));
    expect(deviceOnly).toMatchObject({ outcome: 'unresolved', profileId: null, ignored: [{ type: 'device_id', value: 'kiosk-tablet', reason: 'quarantined' }] });
  });

  it('counts a held device\'s profiles merged together once: one person\'s cookies on a household computer never quarantine it', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const pc = ['device_id', 'family-pc'] as const;
    resolver.process(event([['user_id', 'ann'], pc]));
    // Bob browses anonymously with a new cookie every other day (each a profile of its own
    // until he logs in with it, two days apart: no merge-rate quarantine).
    for (let cookie = 1; cookie <= 8; cookie += 1) {
      const visit = resolver.process(event([['anonymous_id', `bob-${cookie}`], pc], { time: T0 + cookie * 2 * DAY }));
      expect(visit).toMatchObject({ outcome: 'created', quarantined: [] });
      resolver.process(event([['anonymous_id', `bob-${cookie}`], ['user_id', 'bob']], { time: T0 + cookie * 2 * DAY + HOUR }));
    }
    expect(resolver.alerts()).toEqual([]);
    expect(resolver.clusters()).toHaveLength(2);
    expect(resolver.process(event([pc]))).toMatchObject({ outcome: 'weak_match', profileId: resolver.profileOf('user_id', 'ann') });
  });
});

describe('ReferenceResolver: an event with thousands of identifiers', () => {
  it('resolves the strongest maxIdentifiersPerEvent (100) and reports the rest as blocked, too_many_identifiers', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const clicks = Array.from({ length: 10_000 }, (_, index) => ['click_id', `ck-${index}`] as const);
    const result = resolver.process(event([...clicks, ['user_id', 'u1']]));
    expect(result).toMatchObject({ outcome: 'created', profileId: pid(1) });
    expect(result.attached).toHaveLength(100);
    expect(result.attached[0]).toEqual({ type: 'user_id', value: 'u1' });
    expect(result.blocked).toHaveLength(9_901);
    expect(result.blocked.every((blocked) => blocked.reason === 'too_many_identifiers' && blocked.rule === 'maxIdentifiersPerEvent 100')).toBe(true);
    expect(resolver.profileOf('click_id', 'ck-9999')).toBeUndefined();
  });
});

describe('ReferenceResolver: provenance and tenants', () => {
  it('records which event, channel and rule attached an identifier, and when it was first and last seen', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    resolver.process(event([['anonymous_id', 'a1']], { eventId: 'e-1', channel: 'web', time: T0 }));
    resolver.process(event([['anonymous_id', 'a1'], ['email', 'ann@shop.org']], { eventId: 'e-2', channel: 'content', time: T0 + HOUR }));
    resolver.process(event([['email', 'ann@shop.org']], { eventId: 'e-3', channel: 'email', time: T0 + DAY }));
    expect(resolver.linkOf('email', 'ann@shop.org')).toEqual({
      type: 'email',
      value: 'ann@shop.org',
      profileId: pid(1),
      attachedTo: pid(1),
      rule: 'attach',
      eventId: 'e-2',
      channel: 'content',
      firstSeen: T0 + HOUR,
      lastSeen: T0 + DAY,
      lastEventId: 'e-3',
    });
    expect(resolver.linkOf('anonymous_id', 'a1')).toMatchObject({ rule: 'new_profile', eventId: 'e-1', lastEventId: 'e-2' });
    expect(resolver.linkOf('anonymous_id', 'nope')).toBeUndefined();
  });

  it('keeps tenants apart and resolves each with its own rules', () => {
    const document = parseRulesDocument({ ...DEFAULT_RULES_DOCUMENT, tenants: { globex: { blocked: { values: { phone: ['+442079460000'] } } } } });
    const resolver = new ReferenceResolver(document);
    resolver.process(event([['email', 'ann@shop.org'], ['phone', '+442079460000']], { tenant: 'acme' }));
    resolver.process(event([['email', 'ann@shop.org'], ['phone', '+442079460000']], { tenant: 'globex' }));
    expect(resolver.clusters('acme')).toEqual([['email:ann@shop.org', 'phone:+442079460000']]);
    expect(resolver.clusters('globex')).toEqual([['email:ann@shop.org']]);
    expect(resolver.profileOf('email', 'ann@shop.org', 'globex')).toBe(pid(1, 'globex'));
    let caught: unknown;
    try {
      resolver.profileOf('email', 'ann@shop.org');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IdentityError);
    expect(caught).toMatchObject({ code: 'TENANT_REQUIRED' });
  });

  it('gives two tenants\' first profiles different ids (ids share the topics, keyed by profile id alone; regression: both were "p1")', () => {
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const acme = resolver.process(event([['email', 'ann@shop.org']], { tenant: 'acme' }));
    const globex = resolver.process(event([['email', 'ann@shop.org']], { tenant: 'globex' }));
    expect(acme.profileId).toBe('p1-293abb6b76d7');
    expect(globex.profileId).toMatch(/^p1-[0-9a-f]{12}$/);
    expect(globex.profileId).not.toBe(acme.profileId);
  });
});
