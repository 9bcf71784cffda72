import { describe, expect, it } from 'vitest';
import { adaptMessage, CHANNELS, isEventType, type Touchpoint } from '@elephant/channels';
import { DEFAULT_RULES, ReferenceResolver } from '@elephant/identity';
import { simulate } from '@elephant/simulator';
import { adaptAll, contextOf } from './helpers.ts';

const population = simulate({ seed: 20250101 });
const context = contextOf(population);
const adapted = adaptAll(population.records, context);

describe('every generated message adapts as its channel expects', () => {
  it('adapts without error or rejected batch item', () => {
    const failures = adapted.results.flatMap((result, index) => {
      if (!result.ok) return [`record ${index} (${population.records[index]?.channel}): ${result.error.code} ${result.error.message}`];
      return result.rejected.map((rejected) => `record ${index} item ${rejected.index}: ${rejected.error.message}`);
    });
    expect(failures).toEqual([]);
  });

  it('yields exactly the truth\'s eventIds, with the simulator\'s facts', () => {
    expect(new Set(adapted.byEventId.keys())).toEqual(new Set(population.truth.keys()));
    const mismatches: string[] = [];
    for (const facts of population.events) {
      const touchpoint = adapted.byEventId.get(facts.eventId);
      if (touchpoint === undefined) continue;
      const keys = new Set(touchpoint.identifiers.map((identifier) => `${identifier.type}:${identifier.value}`));
      const missing = facts.identifiers.filter((identifier) => !keys.has(`${identifier.type}:${identifier.value}`));
      const commerce = touchpoint.commerce === null ? null : { kind: touchpoint.commerce.kind, currency: touchpoint.commerce.currency, totalMinor: touchpoint.commerce.totalMinor };
      const expectedCommerce = facts.commerce === null ? null : { kind: facts.commerce.kind, currency: facts.commerce.currency, totalMinor: facts.commerce.totalMinor };
      if (
        touchpoint.channel !== facts.channel ||
        touchpoint.eventType !== facts.eventType ||
        touchpoint.eventTime !== facts.eventTime ||
        touchpoint.source.system !== facts.sourceSystem ||
        touchpoint.source.eventId !== facts.sourceEventId ||
        missing.length > 0 ||
        JSON.stringify(commerce) !== JSON.stringify(expectedCommerce) ||
        (touchpoint.support?.satisfactionScore ?? null) !== facts.satisfactionScore
      ) {
        mismatches.push(`${facts.eventId} ${facts.channel}/${facts.eventType}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('writes formatting variants that normalize to the person\'s own values', () => {
    const variants = population.events.filter((facts) => facts.tags.includes('variant'));
    expect(variants.length).toBeGreaterThan(1000);
    const raw = population.records.map((record) => JSON.stringify(record.payload)).join('\n');
    // Upper case, padded and national spellings all occur in the raw messages.
    expect(raw).toMatch(/"[A-Z0-9._]+@[A-Z0-9.-]+\.[A-Z]{2,}"/);
    expect(raw).toMatch(/" [^" ]+@[^" ]+ "/);
    expect(raw).toMatch(/"\(\d{3}\) \d{3}-\d{4}"/);
    expect(raw).toMatch(/"\+1 \d{3}-\d{3}-\d{4}"/);
    expect(raw).toMatch(/"6001[ -]\d{4}[ -]\d{4}[ -]\d{4}"/);
  });

  it('puts placeholders only next to real identifiers: each is blocked or dropped, never the only identifier', () => {
    const junk = population.events.filter((facts) => facts.tags.includes('junk'));
    expect(junk.length).toBeGreaterThan(300);
    expect(junk.every((facts) => facts.identifiers.length > 0)).toBe(true);
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    const blocked = new Set<string>();
    for (const facts of junk) {
      const touchpoint = adapted.byEventId.get(facts.eventId);
      if (touchpoint === undefined) throw new Error(`no touchpoint for ${facts.eventId}`);
      for (const entry of resolver.process(touchpoint).blocked) blocked.add(entry.value);
    }
    const placeholders = ['test@test.com', 'noemail@noemail.com', 'unknown@unknown.com', 'none@none.com', 'no@email.com', 'unknown', '00000000-0000-0000-0000-000000000000'];
    expect([...blocked].filter((value) => !placeholders.includes(value))).toEqual([]);
    expect([...blocked]).toEqual(expect.arrayContaining(['test@test.com', 'noemail@noemail.com', '00000000-0000-0000-0000-000000000000']));
  });

  it('uses real event types of every channel', () => {
    const seen = new Set(adapted.touchpoints.map((touchpoint: Touchpoint) => touchpoint.channel));
    expect([...seen].sort()).toEqual([...CHANNELS].sort());
    expect(adapted.touchpoints.every((touchpoint) => isEventType(touchpoint.eventType))).toBe(true);
  });
});

describe('options that change the messages', () => {
  it('badRate adds malformed messages that fail with the documented codes, and nothing else', () => {
    const withBad = simulate({ seed: 5, people: 300, badRate: 0.05 });
    expect(withBad.malformed.length).toBeGreaterThan(20);
    const result = adaptAll(withBad.records, contextOf(withBad));
    const bad = new Map(withBad.malformed.map((entry) => [entry.record, entry]));
    const wrong: string[] = [];
    result.results.forEach((outcome, index) => {
      const expected = bad.get(index);
      if (expected === undefined) {
        if (!outcome.ok || outcome.rejected.length > 0) wrong.push(`record ${index} should adapt`);
      } else if (expected.batchIndex === null) {
        if (outcome.ok || outcome.error.code !== expected.code) wrong.push(`record ${index} should fail with ${expected.code}`);
      } else if (!outcome.ok || outcome.rejected.length !== 1 || outcome.rejected[0]?.index !== expected.batchIndex || outcome.rejected[0].error.code !== expected.code) {
        wrong.push(`record ${index} should reject item ${expected.batchIndex} with ${expected.code}`);
      }
    });
    expect(wrong).toEqual([]);
    expect(new Set(result.byEventId.keys())).toEqual(new Set(withBad.truth.keys()));
    expect(new Set(withBad.malformed.map((entry) => entry.channel)).size).toBe(CHANNELS.length);
  });

  it('junkOnlyRate adds store sales with placeholders only: they adapt, resolve to no one and are not in the truth', () => {
    const withJunk = simulate({ seed: 6, people: 500, junkOnlyRate: 0.2 });
    expect(withJunk.unresolvable.length).toBeGreaterThan(10);
    const result = adaptAll(withJunk.records, contextOf(withJunk));
    expect(result.results.every((outcome) => outcome.ok)).toBe(true);
    const resolver = new ReferenceResolver(DEFAULT_RULES);
    for (const facts of withJunk.unresolvable) {
      expect(withJunk.truth.has(facts.eventId)).toBe(false);
      const touchpoint = result.byEventId.get(facts.eventId);
      if (touchpoint === undefined) throw new Error(`no touchpoint for ${facts.eventId}`);
      expect(resolver.process(touchpoint).outcome).toBe('unresolved');
    }
  });

  it('defaultRegion null writes every phone number with +1, readable by a normalizer without DEFAULT_REGION', () => {
    const international = simulate({ seed: 7, people: 300, defaultRegion: null });
    const result = adaptAll(international.records, contextOf(international, { defaultRegion: undefined }));
    expect(result.results.filter((outcome) => !outcome.ok)).toEqual([]);
    expect(new Set(result.byEventId.keys())).toEqual(new Set(international.truth.keys()));
    // Only placeholders (0000000000) are dropped; every real number survives.
    const lost = international.events.flatMap((facts) => {
      const keys = new Set(result.byEventId.get(facts.eventId)?.identifiers.map((identifier) => `${identifier.type}:${identifier.value}`));
      return facts.identifiers.filter((identifier) => !keys.has(`${identifier.type}:${identifier.value}`)).map((identifier) => identifier.value);
    });
    expect(lost).toEqual([]);
  });

  it('defaultRegion outside North America also writes every number with +1', () => {
    const german = simulate({ seed: 7, people: 200, defaultRegion: 'DE' });
    const raw = german.records.map((record) => record.json).join('\n');
    expect(raw).not.toMatch(/"\(\d{3}\) \d{3}-\d{4}"/);
    const result = adaptAll(german.records, contextOf(german, { defaultRegion: 'DE' }));
    expect(new Set(result.byEventId.keys())).toEqual(new Set(german.truth.keys()));
  });

  it('defaultCurrency lets some tills leave the house currency out; the normalizer fills it in', () => {
    const house = simulate({ seed: 9, people: 400, defaultCurrency: 'USD' });
    const pos = house.records.filter((record) => record.channel === 'pos').map((record) => record.payload as Record<string, unknown>);
    expect(pos.filter((payload) => payload.currency === undefined).length).toBeGreaterThan(20);
    expect(pos.filter((payload) => payload.currency === 'USD').length).toBeGreaterThan(20);
    expect(pos.filter((payload) => payload.currency === undefined).every((payload) => ['nyc-soho', 'sea-pike-place', 'atx-domain'].includes(String(payload.storeId)))).toBe(true);
    const result = adaptAll(house.records, contextOf(house, { defaultCurrency: 'USD' }));
    for (const facts of house.events) {
      if (facts.commerce !== null) expect(result.byEventId.get(facts.eventId)?.commerce?.currency).toBe(facts.commerce.currency);
    }
    // Without the option every message states its currency: a deployment without DEFAULT_CURRENCY reads them all.
    const stated = simulate({ seed: 9, people: 400 });
    expect(adaptAll(stated.records, contextOf(stated, { defaultCurrency: undefined })).results.every((outcome) => outcome.ok)).toBe(true);
  });

  it('tenant and sourceSystems change the eventIds exactly as the normalizer deployments would', () => {
    const custom = simulate({ seed: 8, people: 100, tenant: 'acme', sourceSystems: { web: 'segment-prod', ads: 'ads-export' } });
    const eventIds = new Set<string>();
    for (const record of custom.records) {
      const system = record.channel === 'web' ? 'segment-prod' : record.channel === 'ads' ? 'ads-export' : undefined;
      const result = adaptMessage(record.channel, Buffer.from(JSON.stringify(record.payload)), contextOf(custom, { sourceSystem: system }));
      if (!result.ok) throw result.error;
      for (const touchpoint of result.touchpoints) eventIds.add(touchpoint.eventId);
    }
    expect(eventIds).toEqual(new Set(custom.truth.keys()));
    const plain = new Set(simulate({ seed: 8, people: 100 }).truth.keys());
    expect(custom.events.filter((facts) => plain.has(facts.eventId))).toEqual([]);
  });
});
