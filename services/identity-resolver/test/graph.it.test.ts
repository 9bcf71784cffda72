import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES, ReferenceResolver, applyOverrides, generatePopulation, profileIdNamespace, screenIdentifiers, type IdentityEvent, type Resolution, type TenantRules } from '@elephant/identity';
import { connectRedis, type Redis } from '@elephant/redis';
import { createTestContext, waitUntil } from '@elephant/testing';
import { IdentityGraph, graphRulesOf, type Identifier, type ResolveInput, type ResolveResult } from '@elephant/identity-resolver';
import { graphWithoutVictims } from './refusing-graph.ts';

const ctx = createTestContext('graph');
let redis: Redis;
let graph: IdentityGraph;
let tenants = 0;

const rules: TenantRules = applyOverrides(DEFAULT_RULES, { limits: { email: 3 }, quarantine: { maxProfilesPerValue: 3, maxMergesPerWindow: 3 } });
const id = (type: string, value: string): Identifier => ({ type, value });
let eventSeq = 0;
const T0 = Date.UTC(2026, 10, 1);

/** A fresh tenant per test: its own graph. */
function newTenant(): string {
  tenants += 1;
  return `tenant-${tenants}`;
}

async function resolve(tenant: string, identifiers: Identifier[], options: { eventId?: string; rules?: TenantRules; channel?: string; source?: string } = {}): Promise<ResolveResult & { profileId: string }> {
  eventSeq += 1;
  const [result] = await graph.resolveBatch(tenant, [{ eventId: options.eventId ?? `ev-${eventSeq}`, eventTime: T0 + eventSeq, ingestTime: T0 + eventSeq, channel: options.channel ?? 'web', source: options.source ?? 'segment', identifiers }], graphRulesOf(options.rules ?? rules, 3600));
  if (!result?.profileId) throw new Error(`unresolved: ${JSON.stringify(result)}`);
  return { ...result, profileId: result.profileId };
}

/** What the script and the reference must agree on for one event. */
function graphView(result: ResolveResult | undefined): unknown {
  return (
    result && {
      profileId: result.profileId,
      outcome: result.replay ? 'replay' : result.outcome,
      merge: result.merge && { survivor: result.merge.survivor, absorbed: result.merge.absorbed },
      attached: result.attached,
      dropped: result.dropped.map((drop) => `${drop.type}:${drop.value}`),
      quarantined: result.quarantined.map((alert) => `${alert.type}:${alert.value}:${alert.reason}:${alert.observed}`),
    }
  );
}

function referenceView(expected: Resolution): unknown {
  return {
    profileId: expected.profileId,
    outcome: expected.duplicate ? 'replay' : expected.outcome,
    merge: expected.merge && { survivor: expected.merge.survivor, absorbed: expected.merge.absorbed },
    attached: expected.attached,
    dropped: expected.dropped.map((drop) => `${drop.type}:${drop.value}`),
    quarantined: expected.quarantined.map((alert) => `${alert.type}:${alert.value}:${alert.reason}:${alert.observed}`),
  };
}

beforeAll(async () => {
  redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  graph = new IdentityGraph(redis, ctx.keyPrefix);
});

afterAll(async () => {
  redis.disconnect();
  await ctx.cleanup();
});

describe('identity graph rules (Lua on a real Redis)', () => {
  it('links an anonymous visitor to the known customer who logs in; the oldest profile survives', async () => {
    const t = newTenant();
    const anonymous = await resolve(t, [id('anonymous_id', 'cookie-1')]);
    const known = await resolve(t, [id('user_id', 'u-1')]);
    expect([anonymous.outcome, known.outcome]).toEqual(['created', 'created']);
    const login = await resolve(t, [id('user_id', 'u-1'), id('anonymous_id', 'cookie-1')]);
    expect(login.outcome).toBe('merged');
    expect(login.profileId).toBe(anonymous.profileId);
    expect(login.merge).toEqual({ survivor: anonymous.profileId, absorbed: [known.profileId], linkedBy: [id('user_id', 'u-1'), id('anonymous_id', 'cookie-1')], rule: 'match' });
    expect(await graph.profileOf(t, id('user_id', 'u-1'))).toBe(anonymous.profileId);
    expect(await graph.liveProfiles(t)).toEqual([anonymous.profileId]);
  });

  it('lists a tenant\'s live profiles a page at a time, each once (SSCAN, not one SMEMBERS over the whole set)', async () => {
    const t = newTenant();
    // Above Redis' listpack limit (128 by default), where SSCAN pages instead of returning the set whole.
    const ids = Array.from({ length: 300 }, (_, index) => `p${index + 1}`);
    await redis.sadd(`${graph.tenantPrefix(t)}live`, ...ids);
    const pages: string[][] = [];
    for await (const page of graph.scanLiveProfiles(t, 50)) pages.push(page);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat().sort()).toEqual([...ids].sort());
  });

  it('gives two tenants\' first profiles different ids, p<seq>-<namespace of the tenant> (regression: both were "p1", one Kafka key on the shared topics)', async () => {
    const acme = newTenant();
    const globex = newTenant();
    const first = await resolve(acme, [id('email', 'same@x.io')]);
    const other = await resolve(globex, [id('email', 'same@x.io')]);
    expect([first.outcome, other.outcome]).toEqual(['created', 'created']);
    expect(first.profileId).toBe(`p1-${profileIdNamespace(acme)}`);
    expect(other.profileId).toBe(`p1-${profileIdNamespace(globex)}`);
    expect(other.profileId).not.toBe(first.profileId);
    // The survivor rule reads the seq field, not the id.
    expect(await redis.hget(`${graph.tenantPrefix(acme)}p:${first.profileId}`, 'seq')).toBe('1');
  });

  it('keeps resolving to a profile created before ids carried a namespace ("p<seq>"), and merges by seq, not by id', async () => {
    const t = newTenant();
    const prefix = graph.tenantPrefix(t);
    // The graph as the previous version left it: profile "p1" holding one e-mail, seq at 1.
    await redis.hset(`${prefix}p:p1`, 'seq', 1, 'created', T0, 'firstEvent', 'old-event');
    await redis.sadd(`${prefix}live`, 'p1');
    await redis.sadd(`${prefix}p:p1:ids`, 'email:old@x.io');
    await redis.hset(`${prefix}p:p1:n`, 'email', 1);
    await redis.hset(`${prefix}i:email:old@x.io`, 'p', 'p1', 'to', 'p1', 'fs', T0, 'ls', T0, 'ev', 'old-event', 'lev', 'old-event', 'ch', 'web', 'src', 'segment', 'rule', 'new_profile');
    await redis.set(`${prefix}seq`, 1);
    const again = await resolve(t, [id('email', 'old@x.io')]);
    expect(again).toMatchObject({ outcome: 'matched', profileId: 'p1' });
    const created = await resolve(t, [id('phone', '+14155550188')]);
    expect(created.profileId).toBe(`p2-${profileIdNamespace(t)}`);
    const merged = await resolve(t, [id('phone', '+14155550188'), id('email', 'old@x.io')]);
    expect(merged.merge).toMatchObject({ survivor: 'p1', absorbed: [created.profileId] });
  });

  it('follows a cross-channel chain: cookie → e-mail → phone → loyalty card → in-store purchase, keeping each link\'s channel and source', async () => {
    const t = newTenant();
    // One event per channel, each from its own source system, as the normalizers emit them.
    const web = await resolve(t, [id('anonymous_id', 'c-9')], { channel: 'web', source: 'segment', eventId: `${t}-web` });
    const esp = await resolve(t, [id('email', 'ada@lovelace.dev'), id('anonymous_id', 'c-9')], { channel: 'email', source: 'esp', eventId: `${t}-esp` });
    const support = await resolve(t, [id('email', 'ada@lovelace.dev'), id('phone', '+14155550100')], { channel: 'support', source: 'zendesk', eventId: `${t}-support` });
    const loyalty = await resolve(t, [id('phone', '+14155550100'), id('loyalty_card', 'LC-1')], { channel: 'loyalty', source: 'loyalty-app', eventId: `${t}-loyalty` });
    const store = await resolve(t, [id('loyalty_card', 'LC-1'), id('payment_fingerprint', 'fp-1')], { channel: 'store', source: 'pos', eventId: `${t}-pos` });
    for (const step of [esp, support, loyalty, store]) expect(step).toMatchObject({ profileId: web.profileId, outcome: 'matched' });
    expect(store.attached).toEqual([id('payment_fingerprint', 'fp-1')]);
    const linked = await graph.identifiersOf(t, web.profileId);
    const byKey = new Map(linked.map((link) => [`${link.type}:${link.value}`, link]));
    expect([...byKey.keys()].sort()).toEqual(['anonymous_id:c-9', 'email:ada@lovelace.dev', 'loyalty_card:LC-1', 'payment_fingerprint:fp-1', 'phone:+14155550100']);
    // Each identifier keeps the event, channel and source of the step that attached it.
    expect(byKey.get('anonymous_id:c-9')).toMatchObject({ channel: 'web', source: 'segment', eventId: `${t}-web`, rule: 'new_profile', attachedTo: web.profileId });
    expect(byKey.get('email:ada@lovelace.dev')).toMatchObject({ channel: 'email', source: 'esp', eventId: `${t}-esp`, rule: 'attach', attachedTo: web.profileId });
    expect(byKey.get('phone:+14155550100')).toMatchObject({ channel: 'support', source: 'zendesk', eventId: `${t}-support`, rule: 'attach' });
    expect(byKey.get('loyalty_card:LC-1')).toMatchObject({ channel: 'loyalty', source: 'loyalty-app', eventId: `${t}-loyalty`, rule: 'attach' });
    expect(byKey.get('payment_fingerprint:fp-1')).toMatchObject({ channel: 'store', source: 'pos', eventId: `${t}-pos`, rule: 'attach' });
    // Seen again later by the store: last seen moves, the attaching event does not.
    expect(byKey.get('loyalty_card:LC-1')?.lastEventId).toBe(`${t}-pos`);
  });

  it('drops the lowest-priority conflicting identifier when a merge would break a limit, and matches again', async () => {
    const t = newTenant();
    const alice = await resolve(t, [id('user_id', 'alice'), id('email', 'family@home.net')]);
    const bob = await resolve(t, [id('user_id', 'bob')]);
    const event = await resolve(t, [id('user_id', 'bob'), id('email', 'family@home.net')]);
    expect(event.outcome).toBe('matched');
    expect(event.profileId).toBe(bob.profileId);
    expect(event.dropped).toEqual([{ type: 'email', value: 'family@home.net', reason: 'limit', violated: ['user_id'] }]);
    expect(await graph.profileOf(t, id('email', 'family@home.net'))).toBe(alice.profileId);
  });

  it('never attaches more identifiers of a type than its limit', async () => {
    const t = newTenant();
    const carol = await resolve(t, [id('user_id', 'carol'), id('email', 'a@x.io'), id('email', 'b@x.io'), id('email', 'c@x.io')]);
    const fourth = await resolve(t, [id('user_id', 'carol'), id('email', 'd@x.io')]);
    expect(fourth.profileId).toBe(carol.profileId);
    expect(fourth.dropped.map((dropped) => dropped.value)).toEqual(['d@x.io']);
    expect((await graph.identifiersOf(t, carol.profileId)).filter((link) => link.type === 'email')).toHaveLength(3);
  });

  it('lets a limit lowered below what a profile holds stop it growing, and nothing else, as the reference does (regression: the profile\'s own identifiers conflicted with it: its login came out unresolved, a new cookie split the person)', async () => {
    const t = newTenant();
    // The profile filled up under the old limits, then the tenant's rules lowered them.
    const before = applyOverrides(rules, { limits: { email: 5, device_id: 10 } });
    const lowered = applyOverrides(rules, { limits: { email: 3, device_id: 1 } });
    const reference = new ReferenceResolver(before);
    const run = async (eventRules: TenantRules, identifiers: Identifier[]): Promise<ResolveResult> => {
      eventSeq += 1;
      const event: IdentityEvent = { eventId: `${t}-${eventSeq}`, tenant: t, channel: 'web', eventTime: T0 + eventSeq, identifiers };
      reference.setRules(eventRules);
      const expected = reference.process(event);
      const input = { eventId: event.eventId, eventTime: event.eventTime, ingestTime: event.eventTime, channel: 'web', source: 'segment', identifiers: screenIdentifiers(identifiers, eventRules).kept };
      const [actual] = await graph.resolveBatch(t, [input], graphRulesOf(eventRules, 3600));
      expect(graphView(actual), event.eventId).toEqual(referenceView(expected));
      if (actual === undefined) throw new Error('no result');
      return actual;
    };
    const user = id('user_id', 'u-full');
    const emails = ['e1', 'e2', 'e3', 'e4', 'e5'].map((local) => id('email', `${local}@x.io`));
    const full = await run(before, [user, ...emails, id('device_id', 'd1'), id('device_id', 'd2')]);
    const cookieOnly = await run(before, [id('anonymous_id', 'a-2'), id('phone', '+14155550142')]);
    const otherMail = await run(before, [id('anonymous_id', 'a-3'), id('email', 'other@x.io')]);

    expect(await run(lowered, [user])).toMatchObject({ outcome: 'matched', profileId: full.profileId, dropped: [] });
    expect(await run(lowered, [user, id('anonymous_id', 'a-new')])).toMatchObject({ outcome: 'matched', profileId: full.profileId, attached: [id('anonymous_id', 'a-new')], dropped: [] });
    expect(await run(lowered, [user, id('email', 'e6@x.io')])).toMatchObject({ outcome: 'matched', profileId: full.profileId, attached: [], dropped: [{ type: 'email', value: 'e6@x.io', reason: 'limit', violated: ['email'] }] });
    // A merge that adds no e-mail goes ahead; one that would add an e-mail is refused.
    expect(await run(lowered, [user, id('anonymous_id', 'a-2')])).toMatchObject({ outcome: 'merged', profileId: full.profileId, merge: { survivor: full.profileId, absorbed: [cookieOnly.profileId] }, dropped: [] });
    expect(await run(lowered, [user, id('anonymous_id', 'a-3')])).toMatchObject({ outcome: 'matched', profileId: full.profileId, merge: null, dropped: [{ type: 'anonymous_id', value: 'a-3', violated: ['email'] }] });
    expect(await graph.profileOf(t, id('anonymous_id', 'a-3'))).toBe(otherMail.profileId);
    // Device-only events still reach the profile holding more devices than the new limit.
    expect(await run(lowered, [id('device_id', 'd2')])).toMatchObject({ outcome: 'weak_match', profileId: full.profileId, dropped: [] });
    expect(await run(lowered, [id('device_id', 'd1'), id('device_id', 'd3')])).toMatchObject({ outcome: 'weak_match', profileId: full.profileId, dropped: [{ type: 'device_id', value: 'd3' }] });
    const held = await graph.identifiersOf(t, full.profileId ?? '');
    expect(held.filter((link) => link.type === 'email')).toHaveLength(5);
    expect(held.filter((link) => link.type === 'device_id')).toHaveLength(2);
  });

  it('never merges through a shared device; a device-only event goes to its owner (weak match)', async () => {
    const t = newTenant();
    const dan = await resolve(t, [id('user_id', 'dan'), id('device_id', 'family-ipad')]);
    const eve = await resolve(t, [id('user_id', 'eve'), id('device_id', 'family-ipad')]);
    expect(eve.profileId).not.toBe(dan.profileId);
    expect(eve.merge).toBeNull();
    expect(eve.ignored).toEqual([{ type: 'device_id', value: 'family-ipad', reason: 'owned_elsewhere' }]);
    const deviceOnly = await resolve(t, [id('device_id', 'family-ipad')]);
    expect(deviceOnly).toMatchObject({ profileId: dan.profileId, outcome: 'weak_match' });
  });

  it('quarantines a value seen with too many distinct profiles; it then links nothing', async () => {
    const t = newTenant();
    const storePhone = id('phone', '+15555550142');
    const alerts: ResolveResult['quarantined'][number][] = [];
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) alerts.push(...(await resolve(t, [id('user_id', user), storePhone])).quarantined);
    expect(alerts).toEqual([{ ...storePhone, reason: 'too_many_profiles', observed: 4, threshold: 3 }]);
    expect(await graph.quarantineOf(t, storePhone)).toMatchObject({ reason: 'too_many_profiles' });
    const visitor = await resolve(t, [id('anonymous_id', 'c-x')]);
    const after = await resolve(t, [id('anonymous_id', 'c-x'), storePhone]);
    expect(after).toMatchObject({ outcome: 'matched', profileId: visitor.profileId, merge: null });
    expect(after.ignored).toEqual([{ ...storePhone, reason: 'quarantined' }]);
  });

  it('regression (an event whose limits kept many long identifiers out wrote every one to the partner set of each value it linked, half a megabyte an event, for good): a partner set keeps what decides, the quarantine still reports every partner, as the reference does', async () => {
    const t = newTenant();
    const reference = new ReferenceResolver(DEFAULT_RULES);
    // 30 device ids against a limit of 10: 20 kept out of every profile, each a partner of the
    // values the event links.
    const devices = Array.from({ length: 30 }, (_, index) => id('device_id', `device-${index}-${'x'.repeat(400)}`));
    const identifiers = [id('user_id', 'u-many-devices'), ...devices];
    const event: IdentityEvent = { eventId: 'ev-many-devices', tenant: t, channel: 'web', eventTime: T0, identifiers };
    const screened = screenIdentifiers(identifiers, DEFAULT_RULES).kept;
    const [result] = await graph.resolveBatch(t, [{ eventId: event.eventId, eventTime: T0, ingestTime: T0, channel: 'web', source: 'test', identifiers: screened }], graphRulesOf(DEFAULT_RULES, 3600));
    expect(graphView(result)).toEqual(referenceView(reference.process(event)));
    expect(result?.quarantined.map((alert) => [alert.type, alert.reason, alert.observed])).toContainEqual(['user_id', 'too_many_profiles', 21]);
    expect(await redis.scard(`${graph.tenantPrefix(t)}sw:user_id:u-many-devices`)).toBe(DEFAULT_RULES.quarantine.maxProfilesPerValue + 1);
  });

  it('quarantines a non-merging value one profile holds once events of more than maxProfilesPerValue profiles carried it, as the reference does; device-only events then weak-match nobody (regression: held values were never counted)', async () => {
    const t = newTenant();
    const reference = new ReferenceResolver(DEFAULT_RULES);
    const run = async (identifiers: Identifier[], time: number): Promise<ResolveResult> => {
      eventSeq += 1;
      const event: IdentityEvent = { eventId: `${t}-${eventSeq}`, tenant: t, channel: 'web', eventTime: time, identifiers };
      const expected = reference.process(event);
      const input = { eventId: event.eventId, eventTime: time, ingestTime: time, channel: 'web', source: 'segment', identifiers: screenIdentifiers(identifiers, DEFAULT_RULES).kept };
      const [actual] = await graph.resolveBatch(t, [input], graphRulesOf(DEFAULT_RULES, 3600));
      expect(graphView(actual), event.eventId).toEqual(referenceView(expected));
      expect(actual?.ignored, event.eventId).toEqual(expected.ignored);
      if (actual === undefined) throw new Error('no result');
      return actual;
    };
    const DAY = 86_400_000;
    // A kiosk tablet (or a junk device id the blocklist misses) that 20 people log in on.
    const kiosk = id('device_id', 'kiosk-tablet');
    const logins: ResolveResult[] = [];
    for (let user = 0; user < 20; user += 1) logins.push(await run([id('user_id', `u${user}`), kiosk], T0 + user));
    expect(logins.map((result) => result.outcome)).toEqual(Array.from({ length: 20 }, () => 'created'));
    expect(logins.flatMap((result) => result.quarantined)).toEqual([{ ...kiosk, reason: 'too_many_profiles', observed: 6, threshold: 5 }]);
    expect(logins[5]?.quarantined).toHaveLength(1);
    expect(await graph.quarantineOf(t, kiosk)).toMatchObject({ reason: 'too_many_profiles', event: logins[5]?.eventId });
    expect(await graph.profileOf(t, kiosk)).toBe(logins[0]?.profileId);
    expect(await run([kiosk], T0 + 100)).toMatchObject({ outcome: 'unresolved', profileId: null, ignored: [{ ...kiosk, reason: 'quarantined' }] });

    // A household computer: one person's cookies, each a profile until its login merges it,
    // count once. The partner set keeps merged profiles until it is resolved (when its size
    // reaches the threshold); it is then rewritten with the live ones.
    const pc = id('device_id', 'family-pc');
    const ann = await run([id('user_id', 'ann'), pc], T0);
    for (let cookie = 1; cookie <= 8; cookie += 1) {
      expect(await run([id('anonymous_id', `bob-${cookie}`), pc], T0 + cookie * 2 * DAY)).toMatchObject({ outcome: 'created', quarantined: [] });
      await run([id('anonymous_id', `bob-${cookie}`), id('user_id', 'bob')], T0 + cookie * 2 * DAY + 1000);
    }
    expect(await redis.scard(`${graph.tenantPrefix(t)}sw:device_id:family-pc`)).toBeLessThanOrEqual(5);
    expect(await run([pc], T0 + 20 * DAY)).toMatchObject({ outcome: 'weak_match', profileId: ann.profileId });
    expect(await graph.quarantineOf(t, pc)).toBeUndefined();
  });

  it('quarantines a value that would take part in too many merges within the window, before the merge', async () => {
    const t = newTenant();
    const kiosk = id('anonymous_id', 'kiosk-cookie');
    // Only the merge-rate rule may intervene: no e-mail limit, no profile-count quarantine.
    const wide = applyOverrides(rules, { limits: { email: null }, quarantine: { maxProfilesPerValue: 100 } });
    await resolve(t, [kiosk], { rules: wide });
    const results: ResolveResult[] = [];
    for (const email of ['p@x.io', 'q@x.io', 'r@x.io', 's@x.io', 't@x.io']) {
      await resolve(t, [id('email', email)], { rules: wide });
      results.push(await resolve(t, [id('email', email), kiosk], { rules: wide }));
    }
    expect(results.map((result) => result.outcome)).toEqual(['merged', 'merged', 'merged', 'matched', 'matched']);
    expect(results.flatMap((result) => result.quarantined)).toEqual([{ ...kiosk, reason: 'too_many_merges', observed: 4, threshold: 3 }]);
  });

  it('picks the oldest profile as survivor whatever the order of identifiers', async () => {
    const t = newTenant();
    const a = await resolve(t, [id('email', 'one@x.io')]);
    const b = await resolve(t, [id('phone', '+14155550111')]);
    const c = await resolve(t, [id('loyalty_card', 'L-77')]);
    const merge = await resolve(t, [id('email', 'one@x.io'), id('phone', '+14155550111'), id('loyalty_card', 'L-77')]);
    expect(merge.profileId).toBe(a.profileId);
    expect(merge.merge?.absorbed).toEqual([b.profileId, c.profileId]);
    for (const pid of [b.profileId, c.profileId]) expect(await graph.survivorOf(t, pid)).toBe(a.profileId);
  });

  it('keeps a chain of merges explainable: the profile an identifier was attached to, then each merge to the survivor', async () => {
    const t = newTenant();
    const oldest = await resolve(t, [id('email', 'chain@x.io')]);
    const middle = await resolve(t, [id('phone', '+14155550123')]);
    const newest = await resolve(t, [id('loyalty_card', 'L-chain')]);
    await resolve(t, [id('phone', '+14155550123'), id('loyalty_card', 'L-chain')], { eventId: `${t}-m1` });
    await resolve(t, [id('email', 'chain@x.io'), id('phone', '+14155550123')], { eventId: `${t}-m2` });
    const card = (await graph.identifiersOf(t, oldest.profileId)).find((link) => link.type === 'loyalty_card');
    // `mergedBy` is the latest merge only; the first one is on the chain from `attachedTo`.
    expect(card).toMatchObject({ attachedTo: newest.profileId, mergedBy: `${t}-m2`, eventId: newest.eventId });
    expect((await graph.mergeChainOf(t, card?.attachedTo ?? '')).map((hop) => [hop.profileId, hop.mergedInto, hop.mergedBy])).toEqual([
      [newest.profileId, middle.profileId, `${t}-m1`],
      [middle.profileId, oldest.profileId, `${t}-m2`],
    ]);
    expect(await graph.mergeChainOf(t, oldest.profileId)).toEqual([]);
  });

  it('LIMITS_UNSATISFIABLE: an event the limits step finds nothing to drop for is refused with a typed error, not left "unresolved" (regression)', async () => {
    const t = newTenant();
    // No graph data reaches the guard since a limit only stops growth (2026-12-06): a copy of
    // the script that never picks an identifier to drop does, on a connection of its own.
    const own = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
    try {
      const refusing = graphWithoutVictims(own, ctx.keyPrefix);
      const input = { eventId: `${t}-refused`, eventTime: T0, ingestTime: T0, channel: 'web', source: 'segment', identifiers: [id('user_id', 'one'), id('user_id', 'two')] };
      const [refused, next] = await refusing.resolveBatch(t, [input, { ...input, eventId: `${t}-next`, identifiers: [id('email', 'fine@x.io')] }], graphRulesOf(rules, 3600));
      expect(refused).toMatchObject({ outcome: 'rejected', profileId: null, eventId: input.eventId });
      expect(refused?.error).toMatchObject({ code: 'LIMITS_UNSATISFIABLE', retryable: false });
      expect(refused?.error?.message).toMatch(/limits violated by user_id/);
      // The other events of the call still ran; the refused event is not remembered as resolved.
      expect(next?.outcome).toBe('created');
      expect(await redis.exists(`${graph.tenantPrefix(t)}e:${input.eventId}`)).toBe(0);
    } finally {
      own.disconnect();
    }
  });

  it('finds something to drop for the former trigger of LIMITS_UNSATISFIABLE (a count left at zero, a limit below zero): the profile is matched', async () => {
    const t = newTenant();
    const owner = await resolve(t, [id('phone', '+14155550177')]);
    await redis.hset(`${graph.tenantPrefix(t)}p:${owner.profileId}:n`, 'email', 0);
    const broken: TenantRules = { ...rules, limits: { ...rules.limits, email: -1 } };
    expect(await resolve(t, [id('phone', '+14155550177')], { rules: broken })).toMatchObject({ outcome: 'matched', profileId: owner.profileId, dropped: [] });
  });

  it('a script failure on one event of a call (a key of the wrong type) fails the batch with REDIS_SCRIPT_FAILED naming the event; the events around it are resolved', async () => {
    const t = newTenant();
    await redis.set(`${graph.tenantPrefix(t)}i:email:broken@x.io`, 'not a hash');
    const input = (eventId: string, value: string) => ({ eventId, eventTime: T0, ingestTime: T0, channel: 'web', source: 'segment', identifiers: [id('email', value)] });
    const caught = await graph.resolveBatch(t, [input(`${t}-before`, 'fine@x.io'), input(`${t}-broken`, 'broken@x.io'), input(`${t}-after`, 'also-fine@x.io')], graphRulesOf(rules, 3600)).catch((error: unknown) => error);
    expect(caught).toMatchObject({ code: 'REDIS_SCRIPT_FAILED', retryable: false });
    expect((caught as Error).message).toContain(`${t}-broken`);
    expect((caught as Error).message).toMatch(/WRONGTYPE/);
    // Each event is resolved as if it had a call of its own: the failure of one stops neither.
    expect(await graph.profileOf(t, id('email', 'fine@x.io'))).toBeDefined();
    expect(await graph.profileOf(t, id('email', 'also-fine@x.io'))).toBeDefined();
  });

  it('resolves an event of 10,000 identifiers given to the script directly (regression: MGET/EXISTS of every key in one unpack failed beyond ~8,000: REDIS_SCRIPT_FAILED, the resolver stopped)', async () => {
    const t = newTenant();
    // click_id: unlimited and merging, so the script attaches every one (the resolver itself
    // never sends more than maxIdentifiersPerEvent; this is the script's own safety).
    const clicks = Array.from({ length: 10_000 }, (_, index) => id('click_id', `ck-${index}`));
    const input = { eventId: `${t}-wide`, eventTime: T0, ingestTime: T0, channel: 'web', source: 'segment', identifiers: clicks };
    const [wide] = await graph.resolveBatch(t, [input], graphRulesOf(rules, 3600));
    expect(wide).toMatchObject({ outcome: 'created', replay: false, error: null });
    expect(wide?.attached).toHaveLength(10_000);
    expect(await redis.scard(`${graph.tenantPrefix(t)}p:${wide?.profileId}:ids`)).toBe(10_000);
    const [again] = await graph.resolveBatch(t, [input], graphRulesOf(rules, 3600));
    expect(again).toMatchObject({ replay: true, profileId: wide?.profileId });
    // The erasure markers are read in chunks and matched to the right identifiers: one erased
    // after ingestion, deep in the last chunk, makes a later event a leftover.
    await redis.set(`${graph.tenantPrefix(t)}ex:${createHash('sha1').update('click_id:ck-9876').digest('hex')}`, T0 + 10);
    const [leftover] = await graph.resolveBatch(t, [{ ...input, eventId: `${t}-leftover`, ingestTime: T0 + 5 }], graphRulesOf(rules, 3600));
    expect(leftover?.outcome).toBe('erased');
    const [later] = await graph.resolveBatch(t, [{ ...input, eventId: `${t}-later`, ingestTime: T0 + 20 }], graphRulesOf(rules, 3600));
    expect(later).toMatchObject({ outcome: 'matched', profileId: wide?.profileId });
  });

  it('regression (a redelivered event of an erased person replayed its stored result, re-emitting their merges and alerts, while the builder had not deleted the results yet): the erasure marks are checked first', async () => {
    const t = newTenant();
    const email = id('email', 'erased@y.io');
    const input = { eventId: `${t}-resolved`, eventTime: T0, ingestTime: T0, channel: 'web', source: 'segment', identifiers: [email, id('anonymous_id', 'c-erased')] };
    const [first] = await graph.resolveBatch(t, [input], graphRulesOf(rules, 3600));
    expect(first).toMatchObject({ outcome: 'created', replay: false });
    // Erased after the event was ingested; its stored result (e:) still there.
    await redis.set(`${graph.tenantPrefix(t)}ex:${createHash('sha1').update('email:erased@y.io').digest('hex')}`, T0 + 10);
    expect(await redis.exists(`${graph.tenantPrefix(t)}e:${input.eventId}`)).toBe(1);
    const [again] = await graph.resolveBatch(t, [input], graphRulesOf(rules, 3600));
    expect(again).toMatchObject({ outcome: 'erased', profileId: null, replay: false });
  });

  it('changes nothing when an event is delivered again', async () => {
    const t = newTenant();
    await resolve(t, [id('email', 'x@y.io')]);
    await resolve(t, [id('phone', '+14155550199')]);
    const first = await resolve(t, [id('email', 'x@y.io'), id('phone', '+14155550199')], { eventId: 'same-event' });
    const dump = async (): Promise<Map<string, Buffer | null>> => {
      const keys = (await redis.keys(`${graph.tenantPrefix(t)}*`)).sort();
      return new Map(await Promise.all(keys.map(async (key) => [key, await redis.dumpBuffer(key)] as const)));
    };
    const before = await dump();
    const again = await resolve(t, [id('email', 'x@y.io'), id('phone', '+14155550199')], { eventId: 'same-event' });
    expect(again.replay).toBe(true);
    expect({ ...again, replay: false }).toEqual(first);
    expect(await dump()).toEqual(before);
  });

  it('keeps a plain match\'s result as "=<profileId>" and replays it as that match; a match that reports something keeps its JSON', async () => {
    const t = newTenant();
    const created = await resolve(t, [id('email', 'plain@y.io')]);
    const plain = await resolve(t, [id('email', 'plain@y.io')], { eventId: `${t}-plain` });
    expect(plain).toEqual({ eventId: `${t}-plain`, profileId: created.profileId, outcome: 'matched', replay: false, attached: [], dropped: [], ignored: [], merge: null, quarantined: [], error: null });
    expect(await redis.get(`${graph.tenantPrefix(t)}e:${t}-plain`)).toBe(`=${created.profileId}`);
    const again = await resolve(t, [id('email', 'plain@y.io')], { eventId: `${t}-plain` });
    expect({ ...again, replay: false }).toEqual(plain);
    expect(again.replay).toBe(true);

    const attaching = await resolve(t, [id('email', 'plain@y.io'), id('phone', '+14155550123')], { eventId: `${t}-attach` });
    expect(attaching.outcome).toBe('matched');
    expect(attaching.attached).toEqual([id('phone', '+14155550123')]);
    expect(JSON.parse((await redis.get(`${graph.tenantPrefix(t)}e:${t}-attach`)) ?? 'null')).toMatchObject({ outcome: 'matched', attached: [{ type: 'phone', value: '+14155550123' }] });
  });

  it('takes a known person\'s event (one profile owns every identifier, one of a merging type) as a plain match with its provenance, and only that event: a device alone is a weak match, an identifier of another profile merges, a quarantined one is ignored', async () => {
    const t = newTenant();
    const link = (type: string, value: string): Promise<Record<string, string>> => redis.hgetall(`${graph.tenantPrefix(t)}i:${type}:${value}`);
    const first = await resolve(t, [id('user_id', 'known-1'), id('device_id', 'dev-known-1')]);
    const later = await resolve(t, [id('user_id', 'known-1'), id('device_id', 'dev-known-1')], { eventId: `${t}-later` });
    expect(later).toMatchObject({ profileId: first.profileId, outcome: 'matched', attached: [], ignored: [], merge: null });
    expect(await redis.get(`${graph.tenantPrefix(t)}e:${t}-later`)).toBe(`=${first.profileId}`);
    for (const [type, value] of [['user_id', 'known-1'], ['device_id', 'dev-known-1']] as const) {
      expect(await link(type, value)).toMatchObject({ p: first.profileId, fs: String(T0 + eventSeq - 1), ls: String(T0 + eventSeq), lev: `${t}-later` });
    }
    // A late event (older than the first): first seen moves back, last seen stays.
    const [late] = await graph.resolveBatch(t, [{ eventId: `${t}-late`, eventTime: T0 - 5, ingestTime: T0 + eventSeq, channel: 'web', source: 'segment', identifiers: [id('user_id', 'known-1')] }], graphRulesOf(rules, 3600));
    expect(late).toMatchObject({ profileId: first.profileId, outcome: 'matched' });
    expect(await link('user_id', 'known-1')).toMatchObject({ fs: String(T0 - 5), lev: `${t}-later` });
    expect((await graph.eventsOf(t, [first.profileId])).get(first.profileId)).toEqual(expect.arrayContaining([`${t}-later`, `${t}-late`]));

    // Owned by that profile, but nothing of a merging type: a weak match, not a plain one.
    expect((await resolve(t, [id('device_id', 'dev-known-1')])).outcome).toBe('weak_match');
    // One identifier owned by another profile: the full path merges them.
    const other = await resolve(t, [id('email', 'known-1@y.io')]);
    const merging = await resolve(t, [id('user_id', 'known-1'), id('email', 'known-1@y.io')]);
    expect(merging).toMatchObject({ outcome: 'merged', profileId: first.profileId, merge: { absorbed: [other.profileId] } });
    // Quarantined: ignored by the full path though one profile owns it.
    await redis.hset(`${graph.tenantPrefix(t)}q:email:known-1@y.io`, 'reason', 'too_many_profiles');
    const quarantined = await resolve(t, [id('user_id', 'known-1'), id('email', 'known-1@y.io')]);
    expect(quarantined).toMatchObject({ outcome: 'matched', profileId: first.profileId, ignored: [{ type: 'email', value: 'known-1@y.io', reason: 'quarantined' }] });
  });

  it('writes a call\'s provenance once per identifier at its end, and a link lacking a field (not written by the script) neither fails the call nor gains the field', async () => {
    const t = newTenant();
    const first = await resolve(t, [id('user_id', 'lacking-1')]);
    const link = `${graph.tenantPrefix(t)}i:user_id:lacking-1`;
    await redis.hdel(link, 'lev');
    const event = (eventId: string, eventTime: number): ResolveInput => ({ eventId, eventTime, ingestTime: T0 + 1_000_000, channel: 'web', source: 'segment', identifiers: [id('user_id', 'lacking-1')] });
    // One call: an older event (first seen moves back), a newer one and an older one again.
    const results = await graph.resolveBatch(t, [event(`${t}-a`, T0 - 50), event(`${t}-b`, T0 + 500_000), event(`${t}-c`, T0 - 100)], graphRulesOf(rules, 3600));
    expect(results.map((result) => [result.outcome, result.profileId])).toEqual([['matched', first.profileId], ['matched', first.profileId], ['matched', first.profileId]]);
    expect(await redis.hgetall(link)).toMatchObject({ p: first.profileId, fs: String(T0 - 100), ls: String(T0 + 500_000), lev: `${t}-b` });
    await redis.hdel(link, 'lev');
    // Only first seen changes: the link stays without lev, as the script found it.
    await graph.resolveBatch(t, [event(`${t}-d`, T0 - 200)], graphRulesOf(rules, 3600));
    const after = await redis.hgetall(link);
    expect(after).toMatchObject({ fs: String(T0 - 200), ls: String(T0 + 500_000) });
    expect(after['lev']).toBeUndefined();
  });
});

describe('a profile\'s events (pe:<id>)', () => {
  const eventsKey = (t: string, profileId: string): string => `${graph.tenantPrefix(t)}pe:${profileId}`;
  const resolveWithTtl = async (t: string, eventId: string, identifiers: Identifier[], ttlSeconds: number): Promise<ResolveResult> => {
    const [result] = await graph.resolveBatch(t, [{ eventId, eventTime: T0, ingestTime: T0, channel: 'web', source: 'segment', identifiers }], graphRulesOf(rules, ttlSeconds));
    if (!result?.profileId) throw new Error(`unresolved: ${JSON.stringify(result)}`);
    return result;
  };

  it('are a sorted set scored by when each event\'s result expires, and the key lives as long as its latest member', async () => {
    const t = newTenant();
    const before = Date.now();
    const created = await resolveWithTtl(t, `${t}-a`, [id('email', 'keep@x.io')], 3600);
    const key = eventsKey(t, created.profileId ?? '');
    expect(await redis.type(key)).toBe('zset');
    const score = Number(await redis.zscore(key, `${t}-a`));
    expect(score).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(score).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    expect(Math.abs((await redis.pexpiretime(key)) - score)).toBeLessThan(1000);
    // A later event with a longer TTL moves the key's expiry on; a shorter one never shortens it.
    await resolveWithTtl(t, `${t}-b`, [id('email', 'keep@x.io')], 7200);
    const later = Number(await redis.zscore(key, `${t}-b`));
    expect(await redis.pexpiretime(key)).toBe(later);
    await resolveWithTtl(t, `${t}-c`, [id('email', 'keep@x.io')], 60);
    expect(await redis.pexpiretime(key)).toBe(later);
    expect(await graph.eventsOf(t, [created.profileId ?? ''])).toEqual(new Map([[created.profileId, [`${t}-a`, `${t}-b`, `${t}-c`]]]));
  });

  it('keep the expiry of their latest member when one script call adds several events of a profile and merges it', async () => {
    const t = newTenant();
    const event = (eventId: string, identifiers: Identifier[]): ResolveInput => ({ eventId, eventTime: T0, ingestTime: T0, channel: 'web', source: 'segment', identifiers });
    const results = await graph.resolveBatch(
      t,
      [
        event(`${t}-1`, [id('email', 'one@x.io')]),
        event(`${t}-2`, [id('email', 'one@x.io')]),
        event(`${t}-3`, [id('phone', '+14155550122')]),
        // The merge rebuilds the survivor's key (ZUNIONSTORE: no expiry); the next event must
        // give it one again, though this call gave the key one already.
        event(`${t}-4`, [id('email', 'one@x.io'), id('phone', '+14155550122')]),
        event(`${t}-5`, [id('email', 'one@x.io')]),
      ],
      graphRulesOf(rules, 3600),
    );
    expect(results.map((result) => result.outcome)).toEqual(['created', 'matched', 'created', 'merged', 'matched']);
    const survivor = results[0]?.profileId ?? '';
    const key = eventsKey(t, survivor);
    expect((await graph.eventsOf(t, [survivor])).get(survivor)).toEqual([1, 2, 3, 4, 5].map((n) => `${t}-${n}`));
    const latest = await redis.zrange(key, '-1', '-1', 'WITHSCORES');
    expect(await redis.pexpiretime(key)).toBe(Number(latest[1]));
  });

  it('drop an event once its result has expired (regression: every event id of all time stayed), and go with the last one', async () => {
    const t = newTenant();
    const first = await resolveWithTtl(t, `${t}-long`, [id('email', 'trim@x.io')], 3600);
    const profileId = first.profileId ?? '';
    await resolveWithTtl(t, `${t}-short`, [id('email', 'trim@x.io')], 1);
    await waitUntil(async () => (await redis.exists(`${graph.tenantPrefix(t)}e:${t}-short`)) === 0, { message: 'the short-lived result to expire' });
    // Still listed (nothing wrote to the profile since), until an event that trims (one in
    // eight: the last character's code divisible by 8, "0" here) comes; "1" does not trim.
    expect(await redis.zcard(eventsKey(t, profileId))).toBe(2);
    await resolveWithTtl(t, `${t}-next-1`, [id('email', 'trim@x.io')], 3600);
    expect(await redis.zcard(eventsKey(t, profileId))).toBe(3);
    await resolveWithTtl(t, `${t}-next-0`, [id('email', 'trim@x.io')], 3600);
    expect((await redis.zrange(eventsKey(t, profileId), '0', '-1')).sort()).toEqual([`${t}-long`, `${t}-next-0`, `${t}-next-1`]);

    // A profile nothing writes to any more loses the key with its last event's result.
    const idle = newTenant();
    const alone = await resolveWithTtl(idle, `${idle}-only`, [id('email', 'idle@x.io')], 1);
    await waitUntil(async () => (await redis.exists(eventsKey(idle, alone.profileId ?? ''))) === 0, { message: 'the idle profile\'s events to expire' });
    expect(await graph.profileOf(idle, id('email', 'idle@x.io'))).toBe(alone.profileId);
  });

  it('written as a plain set before 2026-12-06 are read as they are, and become a sorted set the next time an event or a merge writes them, losing no id', async () => {
    const t = newTenant();
    const mail = await resolveWithTtl(t, `${t}-1`, [id('email', 'old@x.io')], 3600);
    const phone = await resolveWithTtl(t, `${t}-2`, [id('phone', '+14155550111')], 3600);
    const cookie = await resolveWithTtl(t, `${t}-3`, [id('anonymous_id', 'old-cookie')], 3600);
    const asPlainSet = async (profileId: string, members: string[]): Promise<void> => {
      await redis.del(eventsKey(t, profileId));
      await redis.sadd(eventsKey(t, profileId), ...members);
    };
    await asPlainSet(mail.profileId ?? '', [`${t}-1`, 'old-a', 'old-b']);
    await asPlainSet(phone.profileId ?? '', [`${t}-2`, 'old-c']);
    await asPlainSet(cookie.profileId ?? '', [`${t}-3`, 'old-d']);
    expect(await graph.eventsOf(t, [mail.profileId ?? '', phone.profileId ?? ''])).toEqual(
      new Map([
        [mail.profileId, [`${t}-1`, 'old-a', 'old-b'].sort()],
        [phone.profileId, [`${t}-2`, 'old-c'].sort()],
      ]),
    );

    // An event of the profile: converted, then added.
    await resolveWithTtl(t, `${t}-4`, [id('anonymous_id', 'old-cookie')], 3600);
    expect(await redis.type(eventsKey(t, cookie.profileId ?? ''))).toBe('zset');
    expect(await redis.zrange(eventsKey(t, cookie.profileId ?? ''), '0', '-1')).toEqual(expect.arrayContaining([`${t}-3`, 'old-d', `${t}-4`]));
    expect(await redis.pexpiretime(eventsKey(t, cookie.profileId ?? ''))).toBeGreaterThan(Date.now());

    // A merge of two plain sets: both converted, the union on the survivor, with an expiry.
    const merged = await resolveWithTtl(t, `${t}-5`, [id('email', 'old@x.io'), id('phone', '+14155550111')], 3600);
    expect(merged.outcome).toBe('merged');
    expect(merged.profileId).toBe(mail.profileId);
    expect((await graph.eventsOf(t, [mail.profileId ?? ''])).get(mail.profileId ?? '')).toEqual([`${t}-1`, `${t}-2`, `${t}-5`, 'old-a', 'old-b', 'old-c'].sort());
    expect(await redis.type(eventsKey(t, mail.profileId ?? ''))).toBe('zset');
    expect(await redis.exists(eventsKey(t, phone.profileId ?? ''))).toBe(0);
    expect(await redis.pexpiretime(eventsKey(t, mail.profileId ?? ''))).toBeGreaterThan(Date.now());
  });
});

describe('identity graph against the reference resolver', () => {
  it('keeps every identifier\'s provenance (profile, first and last seen, last event, attaching event and rule) as the reference does, with a call\'s provenance written once per identifier at its end', async () => {
    const tenant = newTenant();
    const population = generatePopulation({ seed: 79, people: 300, tenant, storePhoneRate: 0.05 });
    const reference = new ReferenceResolver(DEFAULT_RULES);
    // Late events too: every tenth event is delivered an hour early in event time, so first seen moves back within a call.
    const events = population.events.map((event, index) => (index % 10 === 9 ? { ...event, eventTime: event.eventTime - 3_600_000 } : event));
    for (let i = 0; i < events.length; i += 500) {
      const slice = events.slice(i, i + 500);
      await graph.resolveBatch(tenant, slice.map((event) => ({ eventId: event.eventId, eventTime: event.eventTime, ingestTime: event.eventTime + 3_600_000, channel: event.channel, source: 'test', identifiers: screenIdentifiers(event.identifiers, DEFAULT_RULES).kept })), graphRulesOf(DEFAULT_RULES, 3600));
    }
    for (const event of events) reference.process(event);
    let links = 0;
    for (const profileId of await graph.liveProfiles(tenant)) {
      for (const link of await graph.identifiersOf(tenant, profileId)) {
        const expected = reference.linkOf(link.type, link.value, tenant);
        expect({ profileId, firstSeen: link.firstSeen, lastSeen: link.lastSeen, lastEventId: link.lastEventId, eventId: link.eventId, rule: link.rule }, `${link.type}:${link.value}`).toEqual(
          expected && { profileId: expected.profileId, firstSeen: expected.firstSeen, lastSeen: expected.lastSeen, lastEventId: expected.lastEventId, eventId: expected.eventId, rule: expected.rule },
        );
        links += 1;
      }
    }
    expect(links).toBeGreaterThan(1000);
  });

  it('resolves a generated population exactly as the in-memory reference does (same profiles, merges, drops, quarantines)', async () => {
    const tenant = newTenant();
    const population = generatePopulation({ seed: 77, people: 1500, tenant, storePhoneRate: 0.05 });
    const reference = new ReferenceResolver(DEFAULT_RULES);
    const graphRules = graphRulesOf(DEFAULT_RULES, 3600);
    const results: ResolveResult[] = [];
    for (let i = 0; i < population.events.length; i += 500) {
      const slice = population.events.slice(i, i + 500);
      results.push(
        ...(await graph.resolveBatch(
          tenant,
          slice.map((event) => ({ eventId: event.eventId, eventTime: event.eventTime, ingestTime: event.eventTime, channel: event.channel, source: 'test', identifiers: screenIdentifiers(event.identifiers, DEFAULT_RULES).kept })),
          graphRules,
        )),
      );
    }
    let compared = 0;
    population.events.forEach((event, index) => {
      const expected = reference.process(event);
      const actual = results[index];
      if (expected.duplicate) {
        expect(actual?.profileId, `redelivered ${event.eventId}`).toBe(expected.profileId);
      } else {
        expect(graphView(actual), `event #${index} ${event.eventId}`).toEqual(referenceView(expected));
      }
      compared += 1;
    });
    const stats = reference.stats();
    console.log(`graph = reference over ${compared} events: ${JSON.stringify(stats)}`);
    expect(reference.alerts().length).toBeGreaterThan(0);
    expect(reference.merges().length).toBeGreaterThan(0);
    const clusters = await Promise.all((await graph.liveProfiles(tenant)).map(async (profile) => (await graph.identifiersOf(tenant, profile)).map((link) => `${link.type}:${link.value}`).sort()));
    const sorted = (list: string[][]): string[] => list.map((cluster) => [...cluster].sort().join(' ')).sort();
    expect(sorted(clusters)).toEqual(sorted(reference.clusters(tenant)));
  });

  it('regression (one script call held Redis, every client of it, for seconds): a call stops once it spent its time budget and the rest goes again, in order, resolving exactly as the reference does', async () => {
    const tenant = newTenant();
    const population = generatePopulation({ seed: 78, people: 200, tenant, storePhoneRate: 0.05 });
    const reference = new ReferenceResolver(DEFAULT_RULES);
    let stops = 0;
    // No budget at all: every call stops after its first event, and the calls after it in the pipeline resolve none.
    const budgeted = new IdentityGraph(redis, ctx.keyPrefix, { callBudgetMs: 0, onBudgetSpent: () => (stops += 1) });
    const slice = population.events.slice(0, 250);
    const results = await budgeted.resolveBatch(tenant, slice.map((event) => ({ eventId: event.eventId, eventTime: event.eventTime, ingestTime: event.eventTime, channel: event.channel, source: 'test', identifiers: screenIdentifiers(event.identifiers, DEFAULT_RULES).kept })), graphRulesOf(DEFAULT_RULES, 3600));
    expect(results).toHaveLength(slice.length);
    expect(stops).toBe(slice.length - 1);
    slice.forEach((event, index) => {
      const expected = reference.process(event);
      if (expected.duplicate) expect(results[index]?.profileId, `redelivered ${event.eventId}`).toBe(expected.profileId);
      else expect(graphView(results[index]), `event #${index} ${event.eventId}`).toEqual(referenceView(expected));
    });
  });

  it('regression (over maxmemory, Redis refused one event of a call half-way and let the events after it through, out of order): the script is refused whole, and a call whose predecessor in the pipeline did not finish resolves nothing', async () => {
    const script = readFileSync(new URL('../src/resolve.lua', import.meta.url), 'utf8');
    // Redis 7 script flags: a script with a shebang is refused before it runs while Redis is over maxmemory.
    expect(script.split('\n')[0]).toBe('#!lua');
    const tenant = newTenant();
    const prefix = graph.tenantPrefix(tenant);
    const events = JSON.stringify([['ev-chained', T0, 'web', 'segment', [['user_id', 'u-chained']], T0]]);
    const rulesJson = JSON.stringify({ limits: {}, rank: {}, nonMerging: {}, maxProfilesPerValue: 5, maxMergesPerWindow: 3, windowMs: 86_400_000, eventTtlSeconds: 3600 });
    const call = redis as unknown as { elephantResolve(...args: string[]): Promise<string[]> };
    // The second call of a pipeline whose first call did not finish (refused, or stopped on its budget).
    expect(await call.elephantResolve(`${prefix}seq`, prefix, rulesJson, events, 'ns', '20', 'tok-1', '1', '0')).toEqual([]);
    expect(await redis.exists(`${prefix}e:ev-chained`)).toBe(0);
    // The first call finishes and lets the second run.
    expect(await call.elephantResolve(`${prefix}seq`, prefix, rulesJson, JSON.stringify([['ev-first', T0, 'web', 'segment', [['user_id', 'u-first']], T0]]), 'ns', '20', 'tok-1', '0', '1')).toHaveLength(1);
    expect(await call.elephantResolve(`${prefix}seq`, prefix, rulesJson, events, 'ns', '20', 'tok-1', '1', '0')).toHaveLength(1);
  });

  it('resolves a population exactly as the reference does when the limits are lowered half-way; profiles over the new limits keep their events and only stop growing', async () => {
    const tenant = newTenant();
    const population = generatePopulation({ seed: 78, people: 800, tenant });
    const lowered = applyOverrides(DEFAULT_RULES, { limits: { email: 1, phone: 1, payment_fingerprint: 1, device_id: 1, anonymous_id: 2 } });
    const limited = ['email', 'phone', 'payment_fingerprint', 'device_id', 'anonymous_id'];
    const half = Math.floor(population.events.length / 2);
    const reference = new ReferenceResolver(DEFAULT_RULES);
    const resolveWith = async (events: readonly IdentityEvent[], eventRules: TenantRules): Promise<ResolveResult[]> =>
      graph.resolveBatch(
        tenant,
        events.map((event) => ({ eventId: event.eventId, eventTime: event.eventTime, ingestTime: event.eventTime, channel: event.channel ?? 'web', source: 'test', identifiers: screenIdentifiers(event.identifiers, eventRules).kept })),
        graphRulesOf(eventRules, 3600),
      );
    const compare = (events: readonly IdentityEvent[], results: readonly ResolveResult[]): Resolution[] =>
      events.map((event, index) => {
        const expected = reference.process(event);
        if (expected.duplicate) expect(results[index]?.profileId, `redelivered ${event.eventId}`).toBe(expected.profileId);
        else expect(graphView(results[index]), `event ${event.eventId}`).toEqual(referenceView(expected));
        return expected;
      });
    const countOf = (cluster: readonly string[], type: string): number => cluster.filter((key) => key.startsWith(`${type}:`)).length;

    compare(population.events.slice(0, half), await resolveWith(population.events.slice(0, half), DEFAULT_RULES));
    // The profiles as the new limits find them: many hold more than the new limits allow.
    const atSwitch = reference.clusters(tenant);
    const clusterAtSwitch = new Map(atSwitch.flatMap((cluster, index) => cluster.map((key) => [key, index] as const)));
    expect(atSwitch.filter((cluster) => limited.some((type) => countOf(cluster, type) > (lowered.limits[type] ?? Infinity))).length).toBeGreaterThan(100);

    reference.setRules(lowered);
    const second = population.events.slice(half);
    const resolutions = compare(second, await resolveWith(second, lowered));
    // No limit leaves an event of theirs unresolved (345 of its 4,289 events were, before the fix).
    expect(resolutions.filter((resolution) => resolution.outcome === 'unresolved' && resolution.dropped.length > 0)).toEqual([]);
    expect(resolutions.filter((resolution) => resolution.dropped.length > 0).length).toBeGreaterThan(0);
    const clusters = await Promise.all((await graph.liveProfiles(tenant)).map(async (profile) => (await graph.identifiersOf(tenant, profile)).map((link) => `${link.type}:${link.value}`)));
    const sorted = (list: string[][]): string[] => list.map((cluster) => [...cluster].sort().join(' ')).sort();
    expect(sorted(clusters)).toEqual(sorted(reference.clusters(tenant)));
    // Growth only: no profile holds more of a limited type than the new limit or than the most
    // any one profile it is made of held when the limit changed.
    for (const cluster of clusters) {
      const parts = [...new Set(cluster.map((key) => clusterAtSwitch.get(key)).filter((index) => index !== undefined))].map((index) => atSwitch[index] ?? []);
      for (const type of limited) {
        const bound = Math.max(lowered.limits[type] ?? Infinity, ...parts.map((part) => countOf(part, type)));
        expect(countOf(cluster, type), `${type} of ${cluster.join(' ')}`).toBeLessThanOrEqual(bound);
      }
    }
  });
});
