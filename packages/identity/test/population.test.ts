import { describe, expect, it } from 'vitest';
import { isChannel, isEventType } from '@elephant/channels';
import {
  applyOverrides,
  DEFAULT_RULES,
  generatePopulation,
  identifierKey,
  IdentityError,
  pairwiseQuality,
  ReferenceResolver,
  screenIdentifiers,
  unionFindClusters,
  type Population,
  type Resolution,
} from '@elephant/identity';

// One population for the whole file: generating and resolving it is the expensive part.
const population = generatePopulation({ seed: 20240501, people: 5000 });
const resolver = new ReferenceResolver(DEFAULT_RULES);
const resolutions = resolver.processAll(population.events);

/** Identifier keys of every event the limits or quarantine touched: the only places the graph may differ from a plain union-find. */
function touchedKeys(events: Population['events'], results: readonly Resolution[]): Set<string> {
  const touched = new Set<string>();
  results.forEach((result, index) => {
    const limited = result.dropped.length > 0 || result.quarantined.length > 0 || result.ignored.some((ignored) => ignored.reason === 'quarantined');
    if (limited) for (const identifier of events[index]?.identifiers ?? []) touched.add(identifierKey(identifier));
  });
  return touched;
}

describe('generatePopulation', () => {
  it('is deterministic per seed', () => {
    const again = generatePopulation({ seed: 20240501, people: 300 });
    expect(generatePopulation({ seed: 20240501, people: 300 })).toEqual(again);
    expect(generatePopulation({ seed: 20240502, people: 300 }).events).not.toEqual(again.events);
  });

  it('generates about ten events per person', () => {
    // Speed is the benchmark's business (bench/), never a timed unit test's.
    const generated = generatePopulation({ seed: 7, people: 5000 });
    expect(generated.truth.size / 5000).toBeGreaterThan(9);
  });

  it('produces touchpoint-shaped events of known channels and event types, each owned by one person', () => {
    const ids = new Set(population.people.map((person) => person.id));
    const malformed = population.events.filter(
      (event) => !isChannel(event.channel) || !isEventType(event.eventType) || event.tenant !== 'acme' || event.identifiers.length === 0 || !ids.has(population.truth.get(event.eventId) ?? ''),
    );
    expect(malformed).toEqual([]);
  });

  it('delivers some events twice with the same eventId', () => {
    const duplicates = population.events.length - population.truth.size;
    expect(duplicates / population.truth.size).toBeGreaterThan(0.01);
    expect(duplicates / population.truth.size).toBeLessThan(0.03);
    expect(resolver.stats().duplicates).toBe(duplicates);
  });

  it('has households of 2-4 people sharing a computer, and placeholders the default rules block', () => {
    expect(population.sharedDevices.length).toBeGreaterThan(100);
    for (const device of population.sharedDevices) expect(device.people.length).toBeGreaterThanOrEqual(2);
    for (const device of population.sharedDevices) expect(device.people.length).toBeLessThanOrEqual(4);
    const junk = population.events.filter((event) => event.tags.includes('junk') || event.tags.includes('junk_only'));
    expect(junk.length).toBeGreaterThan(500);
    for (const event of junk) expect(screenIdentifiers(event.identifiers, DEFAULT_RULES).blocked.length).toBeGreaterThan(0);
    expect(population.events.some((event) => event.tags.includes('store_phone'))).toBe(false);
  });

  it('refuses options it cannot work with, naming them', () => {
    expect(() => generatePopulation({ seed: 1, people: -1 })).toThrow(IdentityError);
    expect(() => generatePopulation({ seed: 1, people: 10, junkRate: 2 })).toThrow(/junkRate must be between 0 and 1/);
  });
});

describe('the reference resolver on a generated population', () => {
  it('reaches precision ≥ 0.99 and recall ≥ 0.97 with the default rules', () => {
    const quality = pairwiseQuality(resolver.eventClusters(), population.truth);
    expect(quality.precision).toBeGreaterThanOrEqual(0.99);
    expect(quality.recall).toBeGreaterThanOrEqual(0.97);
    expect(quality.overMergedProfiles).toBe(0);
  });

  it('keeps every profile within the limits and every identifier on one profile', () => {
    const seen = new Set<string>();
    for (const cluster of resolver.clusters()) {
      const perType = new Map<string, number>();
      for (const key of cluster) {
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        const type = key.slice(0, key.indexOf(':'));
        perType.set(type, (perType.get(type) ?? 0) + 1);
      }
      for (const [type, count] of perType) expect(count).toBeLessThanOrEqual(DEFAULT_RULES.limits[type] ?? Infinity);
    }
  });

  it('equals a plain union-find wherever no limit or quarantine was involved', () => {
    const touched = touchedKeys(population.events, resolutions);
    const graph = new Set(resolver.clusters().map((cluster) => cluster.join(' ')));
    const untouched = unionFindClusters(population.events, DEFAULT_RULES).filter((cluster) => !cluster.some((key) => touched.has(key)));
    expect(untouched.length).toBeGreaterThan(4900);
    for (const cluster of untouched) expect(graph.has(cluster.join(' '))).toBe(true);
  });

  it('over-merges households when device ids may merge (why device_id and advertising_id are non-merging by default)', () => {
    const merging = new ReferenceResolver(applyOverrides(DEFAULT_RULES, { nonMergingTypes: [] }));
    merging.processAll(population.events);
    const quality = pairwiseQuality(merging.eventClusters(), population.truth);
    expect(quality.overMergedProfiles).toBeGreaterThan(population.sharedDevices.length / 2);
    expect(quality.precision).toBeLessThan(0.95);
  });

  it('quarantines every store phone typed in for walk-ins, and the damage stays bounded', () => {
    const withStores = generatePopulation({ seed: 20240501, people: 5000, stores: 3, storePhoneRate: 0.05 });
    const stores = new ReferenceResolver(DEFAULT_RULES);
    stores.processAll(withStores.events);
    for (const phone of withStores.storePhones) expect(stores.isQuarantined('phone', phone)).toBe(true);
    const quality = pairwiseQuality(stores.eventClusters(), withStores.truth);
    // Before a store's number is caught it has joined a few walk-ins (docs/identity.md, "What the defaults cannot catch").
    expect(quality.overMergedProfiles).toBeLessThanOrEqual(withStores.storePhones.length);
    expect(quality.precision).toBeGreaterThan(0.98);
    expect(quality.recall).toBeGreaterThanOrEqual(0.97);
  });
});
