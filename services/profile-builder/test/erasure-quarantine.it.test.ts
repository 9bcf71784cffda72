/**
 * An erasure of the profile that holds a quarantined (shared) value, on a real Redis, with the
 * resolver's script and the builder's erasure script: the value's quarantine outlives the
 * erasure, and the value is not marked erased. Regression: the erasure deleted the value's
 * quarantine, partner set and merge history like the person's own identifiers and wrote an
 * erasure mark for it, so later events linked on it again (over-merging the people who carry
 * it), and other people's in-flight events carrying it were dropped whole as erased.
 * Then: erased profiles' ids and '#'-entries (identifiers seen with the value, maybe the
 * person's) stayed in the value's partner set, and with no mark on the value the erased
 * person's in-flight event carrying it and an identifier the graph did not know created a
 * profile (the value's own mark, xq:, drops it now). Then: any identifier a live profile owned
 * let such an event through, though routing may send it to no profile (a device id another
 * profile holds is held aside, a limit drops a cookie): it created a profile all the same. It is
 * dropped now unless routing sends it to an existing profile; and, the drop not being stored, a
 * redelivery was decided again on a changed graph (it is stored now).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '@elephant/identity';
import { IdentityGraph, graphRulesOf, type ResolveResult } from '@elephant/identity-resolver';
import { emptyProfile, type ProfileState } from '@elephant/profiles';
import { ProfileStore } from '@elephant/profile-builder';
import { connectRedis, type Redis } from '@elephant/redis';
import { createTestContext } from '@elephant/testing';
import { keyContents } from './harness.ts';

const ctx = createTestContext('erasure-quarantine');
let redis: Redis;
let store: ProfileStore;
let graph: IdentityGraph;

beforeAll(async () => {
  redis = await connectRedis({ url: ctx.stack.redisUrl, logger: ctx.logger });
  store = new ProfileStore(redis, ctx.keyPrefix, 3600);
  graph = new IdentityGraph(redis, ctx.keyPrefix);
});

afterAll(async () => {
  redis.disconnect();
  await ctx.cleanup();
});

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
// maxProfilesPerValue 5, user_id limit 1, email limit 5.
const rules = graphRulesOf(DEFAULT_RULES, 3600);
const STORE_PHONE = '+15550100200';
const PHONE = `phone:${STORE_PHONE}`;

type Resolve = (identifiers: [string, string][], ingestTime?: number) => Promise<ResolveResult>;

/**
 * In `tenant`: Ann's profile holds the store's phone, which a merge of her cookie profile and
 * walk-ins' events quarantine as shared; then Ann is erased. `beforeErasure` runs right before
 * the erasure, and the ids it returns are added to the phone's partner set (stale entries).
 */
async function quarantineThenErase(tenant: string, beforeErasure?: (setup: { P: string; resolve: Resolve; annId: string; walkIns: string[]; now: () => number }) => Promise<string[]>) {
  const P = store.tenantPrefix(tenant);
  let clock = Date.UTC(2026, 10, 1);
  let sequence = 0;
  const resolve: Resolve = async (identifiers, ingestTime) => {
    clock += 1000;
    sequence += 1;
    const [result] = await graph.resolveBatch(tenant, [{ eventId: `e-${sequence}`, eventTime: clock, ingestTime: ingestTime ?? clock, channel: 'pos', source: 'test', identifiers: identifiers.map(([type, value]) => ({ type, value })) }], rules);
    if (!result) throw new Error('no result');
    return result;
  };

  // Ann's account with the store's phone typed in, and a cookie profile of hers that the phone
  // merges into it (an entry of the phone's merge history).
  const ann = await resolve([['user_id', 'u-ann'], ['email', 'ann@mail.io'], ['phone', STORE_PHONE]]);
  const annId = ann.profileId ?? '';
  const cookie = await resolve([['anonymous_id', 'c-ann']]);
  const cookieId = cookie.profileId ?? '';
  expect(cookieId).not.toBe(annId);
  expect((await resolve([['anonymous_id', 'c-ann'], ['phone', STORE_PHONE]])).merge).toMatchObject({ survivor: annId, absorbed: [cookieId] });
  // The builder's state of Ann's profile, as its fold of that merge wrote it.
  const state: ProfileState = { ...emptyProfile(annId, tenant, clock), version: 2, mergedFrom: [cookieId] };
  expect(await store.commit(tenant, [{ profileId: annId, expectedVersion: undefined, version: 2, state: JSON.stringify(state), appliedEventIds: ['e-fold'], outbox: { partition: 0, field: `t|1|${annId}`, updates: [] }, absorbed: [] }])).toEqual(['ok']);
  // On an event of Ann's, Zed's user id is kept out by the limit: the phone's partner set names
  // it by its value (and sr:user_id:z-ed where it is named).
  await resolve([['user_id', 'u-ann'], ['user_id', 'z-ed'], ['phone', STORE_PHONE]]);
  // Walk-ins give their own user id and the store's phone: the limit keeps the phone out of
  // their new profiles, and the fourth brings it to six partners (Ann's profile, Zed's value,
  // four walk-ins): quarantined.
  const walkIns: string[] = [];
  for (let n = 1; n <= 4; n += 1) {
    const walkIn = await resolve([['user_id', `w-${n}`], ['phone', STORE_PHONE]]);
    walkIns.push(walkIn.profileId ?? '');
    expect(walkIn.quarantined).toMatchObject(n < 4 ? [] : [{ type: 'phone', value: STORE_PHONE, reason: 'too_many_profiles', observed: 6 }]);
  }
  const quarantine = await redis.hgetall(`${P}q:${PHONE}`);
  expect(quarantine).toMatchObject({ reason: 'too_many_profiles', event: `e-${sequence}` });
  expect(await redis.hget(`${P}i:${PHONE}`, 'p')).toBe(annId);
  const mergeHistory = await redis.zrange(`${P}mw:${PHONE}`, '0', '-1', 'WITHSCORES');
  expect(mergeHistory).toHaveLength(2);
  // Stale partners a set keeps until its next rewrite: Ann's profile and the one folded into it.
  await redis.sadd(`${P}sw:${PHONE}`, annId, cookieId);
  expect((await redis.smembers(`${P}sw:${PHONE}`)).sort()).toEqual([...walkIns, '#user_id:z-ed', annId, cookieId].sort());
  expect((await redis.smembers(`${P}sr:user_id:z-ed`)).sort()).toEqual([PHONE, 'user_id:u-ann']);
  const stale = beforeErasure ? await beforeErasure({ P, resolve, annId, walkIns, now: () => clock }) : [];
  if (stale.length > 0) await redis.sadd(`${P}sw:${PHONE}`, ...stale);

  const erasedAt = clock + 60_000;
  clock = erasedAt;
  const erasure = await store.erase(tenant, annId, erasedAt, erasedAt);
  expect(erasure).toMatchObject({ version: 3 });
  return { erasure, P, resolve, annId, cookieId, quarantine, mergeHistory, walkIns, erasedAt };
}

describe('erasing the profile that holds a quarantined shared value', () => {
  it('keeps the quarantine, the other people\'s partners and merge history of the value, takes its link, the erased profiles and the identifiers seen with it out, marks the person\'s own identifiers erased and the value with a mark of its own, and keeps nothing else of them', async () => {
    const { P, annId, cookieId, quarantine, mergeHistory, walkIns, erasedAt } = await quarantineThenErase('kept');
    expect(await redis.hgetall(`${P}q:${PHONE}`)).toEqual(quarantine);
    expect(await redis.exists(`${P}i:${PHONE}`)).toBe(0);
    expect(await redis.exists(`${P}ex:${sha1(PHONE)}`)).toBe(0);
    expect(await redis.get(`${P}xq:${sha1(PHONE)}`)).toBe(String(erasedAt));
    // Zed's user id, kept out by the limit on an event of Ann's, is out of the phone's partner
    // set, and its record of where it is named is gone: which '#'-entry came from whose event
    // is not kept (regression: both stayed).
    expect((await redis.smembers(`${P}sw:${PHONE}`)).sort()).toEqual([...walkIns].sort());
    expect(await redis.exists(`${P}sr:user_id:z-ed`)).toBe(0);
    expect(await redis.zrange(`${P}mw:${PHONE}`, '0', '-1', 'WITHSCORES')).toEqual(mergeHistory);
    // Ann's own identifiers: erased and marked, with their partner sets and merge history.
    for (const own of ['user_id:u-ann', 'email:ann@mail.io', 'anonymous_id:c-ann']) {
      expect(await redis.get(`${P}ex:${sha1(own)}`)).toBe(String(erasedAt));
      expect(await redis.exists(`${P}i:${own}`, `${P}sw:${own}`, `${P}mw:${own}`, `${P}sr:${own}`)).toBe(0);
    }
    // Nothing names Ann's values; Zed's only its own partner set (Ann's profile id, the
    // pseudonym, as for any value another person's profile was seen with: nothing to do with
    // the quarantine); her profiles' ids only their erasure marks and the partner sets of other
    // people's values seen with her profile (pseudonyms, docs/profiles.md).
    const leaks: string[] = [];
    for (const key of await redis.keys(`${P}*`)) {
      const content = await keyContents(redis, key);
      const items = [key, ...content];
      const named = items.some((item) => item?.includes('ann') === true || (item?.includes('z-ed') === true && key !== `${P}sw:user_id:z-ed`));
      const pseudonym = items.some((item) => item === annId || item === cookieId || item?.endsWith(`:${annId}`) === true || item?.endsWith(`:${cookieId}`) === true);
      const allowed = key === `${P}px:${annId}` || key === `${P}px:${cookieId}` || (key.startsWith(`${P}sw:user_id:`) && !key.includes('ann'));
      if (named || (pseudonym && !allowed)) leaks.push(`${key.slice(P.length)}: ${JSON.stringify(content)}`);
    }
    expect(leaks).toEqual([]);
  });

  it('regression (erased profiles\' ids stayed in the value\'s partner set): one the resolver merged into the erased profile that the builder has not folded, one held apart from it, and one erased earlier are taken out too', async () => {
    let merged = '';
    let heldApart = '';
    let erasedEarlier = '';
    const { P, walkIns, erasure } = await quarantineThenErase('stale', async ({ P, resolve, annId, walkIns, now }) => {
      // Two more cookie profiles of Ann's that the resolver merges into hers: the builder has
      // not folded the first yet, and it holds the second apart (a merge dead-lettered as too
      // large).
      merged = (await resolve([['anonymous_id', 'c-ann-2']])).profileId ?? '';
      expect((await resolve([['anonymous_id', 'c-ann-2'], ['email', 'ann@mail.io']])).merge).toMatchObject({ survivor: annId, absorbed: [merged] });
      heldApart = (await resolve([['anonymous_id', 'c-ann-3']])).profileId ?? '';
      expect((await resolve([['anonymous_id', 'c-ann-3'], ['email', 'ann@mail.io']])).merge).toMatchObject({ survivor: annId, absorbed: [heldApart] });
      expect(await store.holdApart('stale', annId, [heldApart])).toBeUndefined();
      // A walk-in erased before Ann: their erasure leaves their id in the phone's partner set
      // (the phone is not their value), where Ann's erasure finds it.
      erasedEarlier = walkIns[0] ?? '';
      expect(await store.erase('stale', erasedEarlier, now(), now())).toMatchObject({ version: 1 });
      expect(await redis.exists(`${P}px:${erasedEarlier}`)).toBe(1);
      return [merged, heldApart];
    });
    expect(erasure).toMatchObject({ heldApart: [heldApart] });
    expect((await redis.smembers(`${P}sw:${PHONE}`)).sort()).toEqual(walkIns.filter((id) => id !== erasedEarlier).sort());
  });

  it('regression (the quarantine went with the erasure): later events carrying the value and distinct people\'s identifiers do not merge those people', async () => {
    const { resolve, quarantine, P } = await quarantineThenErase('later');
    const yves = await resolve([['email', 'yves@mail.io']]);
    const yuri = await resolve([['email', 'yuri@mail.io']]);
    const first = await resolve([['email', 'yves@mail.io'], ['phone', STORE_PHONE]]);
    const second = await resolve([['email', 'yuri@mail.io'], ['phone', STORE_PHONE]]);
    expect([first.profileId, first.merge, second.profileId, second.merge]).toEqual([yves.profileId, null, yuri.profileId, null]);
    expect(second.ignored).toEqual([{ type: 'phone', value: STORE_PHONE, reason: 'quarantined' }]);
    expect(await redis.exists(`${P}i:${PHONE}`)).toBe(0);
    expect(await graph.quarantineOf('later', { type: 'phone', value: STORE_PHONE })).toEqual(quarantine);
  });

  it('regression (the value was marked erased): another person\'s in-flight event carrying it with an identifier of their profile goes on to it; one with nothing a live profile owns, and the erased person\'s own, are dropped as erased', async () => {
    let vera: ResolveResult | undefined;
    const { resolve, erasedAt } = await quarantineThenErase('in-flight', async ({ resolve }) => {
      vera = await resolve([['email', 'vera@mail.io']]);
      expect(vera.outcome).toBe('created');
      return [];
    });
    // Ingested before the erasure.
    expect(await resolve([['email', 'vera@mail.io'], ['phone', STORE_PHONE]], erasedAt - 1000)).toMatchObject({ outcome: 'matched', profileId: vera?.profileId, ignored: [{ type: 'phone', value: STORE_PHONE, reason: 'quarantined' }] });
    expect(await resolve([['email', 'ann@mail.io'], ['phone', STORE_PHONE]], erasedAt - 500)).toMatchObject({ outcome: 'erased', profileId: null });
    // Carrying the value and nothing a live profile owns: the erased person's, for all the
    // resolver can tell (their new cookie, or the value alone), or another's (the trade-off:
    // the erasure wins). Dropped as erased, not created and not dead-lettered with the value.
    expect(await resolve([['phone', STORE_PHONE], ['anonymous_id', 'c-new']], erasedAt - 500)).toMatchObject({ outcome: 'erased', profileId: null });
    expect(await resolve([['email', 'wes@mail.io'], ['phone', STORE_PHONE]], erasedAt - 500)).toMatchObject({ outcome: 'erased', profileId: null });
    expect(await resolve([['phone', STORE_PHONE]], erasedAt - 500)).toMatchObject({ outcome: 'erased', profileId: null });
    // Ingested after the erasure: a new contact, the value ignored.
    expect(await resolve([['phone', STORE_PHONE], ['anonymous_id', 'c-new']], erasedAt)).toMatchObject({ outcome: 'created', attached: [{ type: 'anonymous_id', value: 'c-new' }], ignored: [{ type: 'phone', value: STORE_PHONE, reason: 'quarantined' }] });
    expect(await resolve([['phone', STORE_PHONE]], erasedAt + 1)).toMatchObject({ outcome: 'unresolved', profileId: null });
  });
});

/**
 * In `tenant`: Ann's account (u-ann, ann@mail.io) and Noah's (noah@mail.io); four cookie
 * profiles of Ann's, each merged into hers by her e-mail, the fourth merge one too many within
 * the window (maxMergesPerWindow 3): her e-mail is quarantined `too_many_merges`. Then Ann is
 * erased. `beforeErasure` runs right before the erasure (other people's profiles).
 */
async function eraseWithOwnEmailQuarantined(tenant: string, beforeErasure?: (resolve: Resolve) => Promise<void>) {
  let clock = Date.UTC(2026, 10, 1);
  let sequence = 0;
  const resolve = async (identifiers: [string, string][], ingestTime?: number, eventId?: string): Promise<ResolveResult> => {
    clock += 1000;
    sequence += 1;
    const [result] = await graph.resolveBatch(tenant, [{ eventId: eventId ?? `e-${sequence}`, eventTime: clock, ingestTime: ingestTime ?? clock, channel: 'web', source: 'test', identifiers: identifiers.map(([type, value]) => ({ type, value })) }], rules);
    if (!result) throw new Error('no result');
    return result;
  };
  const ann = await resolve([['user_id', 'u-ann'], ['email', 'ann@mail.io']]);
  const annId = ann.profileId ?? '';
  const noah = await resolve([['email', 'noah@mail.io']]);
  const folded: string[] = [];
  for (let n = 1; n <= 4; n += 1) {
    const cookie = (await resolve([['anonymous_id', `c-ann-${n}`]])).profileId ?? '';
    const merge = await resolve([['anonymous_id', `c-ann-${n}`], ['email', 'ann@mail.io']]);
    if (n < 4) {
      expect(merge.merge).toMatchObject({ survivor: annId, absorbed: [cookie] });
      folded.push(cookie);
    } else {
      expect(merge).toMatchObject({ merge: null, quarantined: [{ type: 'email', value: 'ann@mail.io', reason: 'too_many_merges' }] });
    }
  }
  if (beforeErasure) await beforeErasure(resolve);
  const state: ProfileState = { ...emptyProfile(annId, tenant, clock), version: 4, mergedFrom: folded };
  expect(await store.commit(tenant, [{ profileId: annId, expectedVersion: undefined, version: 4, state: JSON.stringify(state), appliedEventIds: ['e-fold'], outbox: { partition: 0, field: `t|1|${annId}`, updates: [] }, absorbed: [] }])).toEqual(['ok']);
  const erasedAt = clock + 60_000;
  clock = erasedAt;
  expect(await store.erase(tenant, annId, erasedAt, erasedAt)).toMatchObject({ version: 5 });
  const P = store.tenantPrefix(tenant);
  expect(await redis.exists(`${P}q:email:ann@mail.io`)).toBe(1);
  expect(await redis.get(`${P}xq:${sha1('email:ann@mail.io')}`)).toBe(String(erasedAt));
  return { resolve, erasedAt, P, noah };
}

describe('erasing a person whose own e-mail a quarantine caught', () => {
  it('regression (the person came back): their in-flight event with the e-mail and a cookie the graph does not know is dropped as erased, not created; another person\'s with it and their own known e-mail goes on to their profile; one ingested after the erasure creates a profile', async () => {
    const { resolve, erasedAt, P, noah } = await eraseWithOwnEmailQuarantined('own-email');
    // In flight: Ann's event from a new device, ingested before the erasure.
    expect(await resolve([['email', 'ann@mail.io'], ['anonymous_id', 'c-ann-new']], erasedAt - 2000)).toMatchObject({ outcome: 'erased', profileId: null, attached: [] });
    expect(await redis.exists(`${P}i:anonymous_id:c-ann-new`)).toBe(0);
    // Noah's, carrying her e-mail (typed in by mistake) and his own, known: his.
    expect(await resolve([['email', 'noah@mail.io'], ['email', 'ann@mail.io']], erasedAt - 1000)).toMatchObject({ outcome: 'matched', profileId: noah.profileId, ignored: [{ type: 'email', value: 'ann@mail.io', reason: 'quarantined' }] });
    // Ingested after the erasure: a new contact.
    expect(await resolve([['email', 'ann@mail.io'], ['anonymous_id', 'c-ann-new']], erasedAt + 1000)).toMatchObject({ outcome: 'created', attached: [{ type: 'anonymous_id', value: 'c-ann-new' }] });
  });

  it('regression (an identifier of a live profile let the event through whatever routing did): her in-flight event with a new cookie and a device id Bob\'s profile holds (held: non-merging) is dropped as erased, not created; with the device id alone it goes on to Bob\'s profile as a weak match', async () => {
    let bob: ResolveResult | undefined;
    const { resolve, erasedAt, P } = await eraseWithOwnEmailQuarantined('held-device', async (resolve) => {
      // Bob's profile is anchored (an e-mail, a merging type): his device id links nothing more.
      bob = await resolve([['email', 'bob@mail.io'], ['device_id', 'd-bob']]);
      expect(bob.outcome).toBe('created');
    });
    const bobIds = await redis.smembers(`${P}p:${bob?.profileId ?? ''}:ids`);
    // Before the fix: `created`, Ann's new cookie on a new profile (the device id, owned, cleared
    // the mark; selectLinking held it and the cookie alone created the profile).
    expect(await resolve([['email', 'ann@mail.io'], ['device_id', 'd-bob'], ['anonymous_id', 'c-ann-new']], erasedAt - 2000)).toMatchObject({ outcome: 'erased', profileId: null, attached: [] });
    expect(await redis.exists(`${P}i:anonymous_id:c-ann-new`)).toBe(0);
    expect((await redis.smembers(`${P}p:${bob?.profileId ?? ''}:ids`)).sort()).toEqual(bobIds.sort());
    // Routed to an existing profile: it goes on there, the e-mail ignored.
    expect(await resolve([['email', 'ann@mail.io'], ['device_id', 'd-bob']], erasedAt - 1000)).toMatchObject({ outcome: 'weak_match', profileId: bob?.profileId, ignored: [{ type: 'email', value: 'ann@mail.io', reason: 'quarantined' }] });
  });

  it('regression (an identifier of a live profile let the event through whatever routing did): her in-flight event with a new user id and a cookie of Bob\'s, whose profile has a user id (the limit drops the cookie), is dropped as erased, not created; Bob\'s own goes on to his profile', async () => {
    let bob: ResolveResult | undefined;
    const { resolve, erasedAt, P } = await eraseWithOwnEmailQuarantined('limit-dropped', async (resolve) => {
      bob = await resolve([['user_id', 'u-bob'], ['anonymous_id', 'c-bob']]);
      expect(bob.outcome).toBe('created');
    });
    // Before the fix: `created` with u-new (the cookie, owned, cleared the mark; the user_id
    // limit dropped it, and the new user id alone created the profile).
    expect(await resolve([['user_id', 'u-new'], ['email', 'ann@mail.io'], ['anonymous_id', 'c-bob']], erasedAt - 2000)).toMatchObject({ outcome: 'erased', profileId: null, attached: [], dropped: [] });
    expect(await redis.exists(`${P}i:user_id:u-new`)).toBe(0);
    expect(await resolve([['user_id', 'u-bob'], ['email', 'ann@mail.io'], ['anonymous_id', 'c-bob']], erasedAt - 1000)).toMatchObject({ outcome: 'matched', profileId: bob?.profileId, ignored: [{ type: 'email', value: 'ann@mail.io', reason: 'quarantined' }] });
  });

  it('regression (the drop was not stored, and the decision depends on the graph): her in-flight event, delivered again after a later event created a profile owning its cookie, is erased again, not matched to that profile', async () => {
    const tenant = 'redelivered';
    const { resolve, erasedAt, P } = await eraseWithOwnEmailQuarantined(tenant);
    const inFlight = { eventId: 'e-in-flight', eventTime: erasedAt - 3000, ingestTime: erasedAt - 2000, channel: 'web', source: 'test', identifiers: [{ type: 'email', value: 'ann@mail.io' }, { type: 'anonymous_id', value: 'c-ann-new' }] };
    expect(await graph.resolveBatch(tenant, [inFlight], rules)).toMatchObject([{ outcome: 'erased', profileId: null, replay: false }]);
    // After the erasure, the e-mail with the same cookie: a new contact, whose profile owns it.
    const later = await resolve([['email', 'ann@mail.io'], ['anonymous_id', 'c-ann-new']], erasedAt + 1000);
    expect(later).toMatchObject({ outcome: 'created', attached: [{ type: 'anonymous_id', value: 'c-ann-new' }] });
    // Delivered again: the same answer (before: `matched` to the new profile).
    expect(await graph.resolveBatch(tenant, [inFlight], rules)).toMatchObject([{ outcome: 'erased', profileId: null, replay: true }]);
    // Its result is stored for redelivery like any other, for EVENT_TTL_SECONDS: no identifier
    // and no profile in it, and no profile lists the event (pe:).
    const stored = await redis.get(`${P}e:e-in-flight`);
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ eventId: 'e-in-flight', outcome: 'erased', profileId: '', attached: {}, dropped: {}, ignored: {}, quarantined: {} });
    expect(stored).not.toMatch(/ann|@/);
    const ttl = await redis.ttl(`${P}e:e-in-flight`);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await redis.zscore(`${P}pe:${later.profileId ?? ''}`, 'e-in-flight')).toBeNull();
  });

  it('an in-flight event with the e-mail that reaches two profiles, whose merge the merge-rate quarantine stops, leaving it none, is dropped as erased, not created, and leaves no quarantine behind (regression: the ones it decided stayed, and could name the new cookie of the erased person for good)', async () => {
    const { resolve, erasedAt, P } = await eraseWithOwnEmailQuarantined('merge-rate', async (resolve) => {
      // Xena's and Yann's e-mails each merged three cookie profiles within the window: a fourth
      // merge is one too many for both.
      for (const person of ['xena', 'yann']) {
        const own = (await resolve([['email', `${person}@mail.io`]])).profileId;
        for (let n = 1; n <= 3; n += 1) {
          await resolve([['anonymous_id', `c-${person}-${n}`]]);
          expect((await resolve([['email', `${person}@mail.io`], ['anonymous_id', `c-${person}-${n}`]])).merge).toMatchObject({ survivor: own });
        }
      }
    });
    expect(await resolve([['email', 'ann@mail.io'], ['email', 'xena@mail.io'], ['email', 'yann@mail.io'], ['anonymous_id', 'c-ann-new']], erasedAt - 2000)).toMatchObject({ outcome: 'erased', profileId: null, attached: [], quarantined: [] });
    expect(await redis.exists(`${P}i:anonymous_id:c-ann-new`)).toBe(0);
    // The quarantines it decided are not written: the event was dropped; a later one decides again.
    expect(await redis.exists(`${P}q:email:xena@mail.io`, `${P}q:email:yann@mail.io`, `${P}q:anonymous_id:c-ann-new`)).toBe(0);
    // The same event ingested after the erasure is no leftover: its quarantines are written.
    expect((await resolve([['email', 'ann@mail.io'], ['email', 'xena@mail.io'], ['email', 'yann@mail.io'], ['anonymous_id', 'c-ann-new-2']], erasedAt + 2000)).outcome).not.toBe('erased');
    expect(await redis.hget(`${P}q:email:xena@mail.io`, 'reason')).toBe('too_many_merges');
  });
});
