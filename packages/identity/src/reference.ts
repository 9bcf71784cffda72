/**
 * The reference resolver: the identity-resolution algorithm in plain memory, one event at a
 * time. The Redis identity graph implements the same semantics (docs/identity.md, "Algorithm");
 * tests run both over the same events and compare. Nothing here is tuned for speed beyond
 * what tests over tens of thousands of events need.
 */
import type { Identifier } from '@elephant/channels';
import { IdentityError } from './errors.ts';
import { identifierKey, screenIdentifiers, type BlockedIdentifier } from './filter.ts';
import { profileIdNamespace, profileIdOf } from './profile-id.ts';
import { compileRules, resolveRules, type CompiledRules, type RulesDocument, type TenantRules } from './rules.ts';

/** The part of a Touchpoint identity resolution reads. A Touchpoint is one. */
export interface IdentityEvent {
  readonly eventId: string;
  readonly tenant: string;
  readonly channel?: string | undefined;
  /** Epoch milliseconds; the merge-rate window is measured in event time, so a replay behaves like the original run. */
  readonly eventTime: number;
  readonly identifiers: readonly Identifier[];
}

export const RESOLUTION_OUTCOMES = [
  /** No linking identifier was known: a new profile holds the event's identifiers. */
  'created',
  /** Every known linking identifier belongs to one profile; unknown ones were attached to it. */
  'matched',
  /** Known linking identifiers belonged to several profiles, now merged into the oldest. */
  'merged',
  /** No identifier could link; the event went to the owner of its strongest known non-merging identifier (e.g. a device). */
  'weak_match',
  /** Nothing usable was left (all blocked or quarantined): the event belongs to no profile. */
  'unresolved',
] as const;
export type ResolutionOutcome = (typeof RESOLUTION_OUTCOMES)[number];

/** An identifier the limits rule left out of matching, and the limits its match would have broken. */
export interface LimitDrop {
  readonly type: string;
  readonly value: string;
  readonly reason: 'limit';
  /** Types whose per-profile limit the union would have exceeded, e.g. ['user_id']. */
  readonly violated: readonly string[];
}

/** An identifier that was neither used for matching nor attached, and why. */
export interface IgnoredIdentifier {
  readonly type: string;
  readonly value: string;
  /** `quarantined`: a super-node value; `owned_elsewhere`: a non-merging value another profile holds. */
  readonly reason: 'quarantined' | 'owned_elsewhere';
}

export const QUARANTINE_REASONS = ['too_many_profiles', 'too_many_merges'] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

/** Raised once per value, when it is quarantined. */
export interface QuarantineAlert {
  readonly tenant: string;
  readonly type: string;
  readonly value: string;
  readonly reason: QuarantineReason;
  /** Distinct live profiles (too_many_profiles) or merges in the window including the refused one (too_many_merges). */
  readonly observed: number;
  readonly threshold: number;
  /** The event that tipped it over. */
  readonly eventId: string;
  readonly eventTime: number;
}

export interface MergeRecord {
  readonly tenant: string;
  readonly survivor: string;
  /** Profiles merged into the survivor, oldest first. They resolve to the survivor from now on. */
  readonly absorbed: readonly string[];
  /** The event's identifiers that matched (the linking identifiers after limits and quarantine). */
  readonly linkedBy: readonly Identifier[];
  readonly rule: 'match';
  readonly eventId: string;
  readonly eventTime: number;
}

export interface Resolution {
  readonly eventId: string;
  readonly tenant: string;
  readonly outcome: ResolutionOutcome;
  /**
   * True when the eventId was processed before. The graph is unchanged and the first result is
   * returned again (profileId re-resolved to its survivor), so a redelivered event re-emits the
   * same outputs.
   */
  readonly duplicate: boolean;
  /** The profile the event belongs to (for a duplicate: the survivor of the original's profile now); null when unresolved. */
  readonly profileId: string | null;
  readonly merge: MergeRecord | null;
  /** Identifiers newly added to the profile by this event. */
  readonly attached: readonly Identifier[];
  readonly blocked: readonly BlockedIdentifier[];
  readonly dropped: readonly LimitDrop[];
  readonly ignored: readonly IgnoredIdentifier[];
  /** Values this event caused to be quarantined. */
  readonly quarantined: readonly QuarantineAlert[];
}

/** Provenance of one identifier's link to its profile. */
export interface Link {
  readonly type: string;
  readonly value: string;
  /** The live profile holding it now. */
  readonly profileId: string;
  /** The profile it was first attached to (it may since have been merged). */
  readonly attachedTo: string;
  /** `new_profile`: it started a profile; `attach`: it joined an existing one next to a known linking identifier; `weak_match`: it came with an event attributed through a non-merging identifier. */
  readonly rule: 'new_profile' | 'attach' | 'weak_match';
  readonly eventId: string;
  readonly channel: string | null;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly lastEventId: string;
}

export interface ResolverStats {
  readonly events: number;
  readonly duplicates: number;
  readonly profilesCreated: number;
  readonly liveProfiles: number;
  /** Merge operations (events that merged). */
  readonly merges: number;
  /** Profiles absorbed by merges. */
  readonly absorbedProfiles: number;
  /** Identifiers left out by the limits rule (linking drops and non-merging attachments refused). */
  readonly limitDrops: number;
  readonly blockedIdentifiers: number;
  readonly quarantinedValues: number;
  readonly weakMatches: number;
  readonly unresolvedEvents: number;
}

interface Profile {
  readonly id: string;
  readonly seq: number;
  mergedInto: Profile | null;
  /** Identifiers per type, kept on live profiles only (folded into the survivor on merge). */
  readonly counts: Map<string, number>;
}

/** Something a value was seen with: a profile, or the key of an identifier no profile holds. */
type Partner = Profile | string;

interface MutableLink {
  readonly attachedTo: Profile;
  readonly rule: Link['rule'];
  readonly eventId: string;
  readonly channel: string | null;
  firstSeen: number;
  lastSeen: number;
  lastEventId: string;
}

interface LimitPlan {
  /** Linking identifiers that survived the limits rule, in priority order. */
  readonly linking: readonly Identifier[];
  /** Distinct live profiles they belong to, oldest first. */
  readonly profiles: readonly Profile[];
  readonly dropped: readonly LimitDrop[];
}

function parseKey(key: string): Identifier {
  const colon = key.indexOf(':');
  return { type: key.slice(0, colon), value: key.slice(colon + 1) };
}

function sortClusters(clusters: string[][]): string[][] {
  for (const cluster of clusters) cluster.sort();
  return clusters.sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : (a[0] ?? '') > (b[0] ?? '') ? 1 : 0));
}

class TenantGraph {
  readonly tenant: string;
  /** The tenant's rules; replaced by ReferenceResolver.setRules (the graph stays). */
  rules: TenantRules;
  compiled: CompiledRules;
  /** profileIdNamespace(tenant): new profile ids are `p<seq>-<namespace>`, unique across tenants. */
  readonly namespace: string;
  seq = 0;
  readonly profiles = new Map<string, Profile>();
  readonly owners = new Map<string, Profile>();
  readonly links = new Map<string, MutableLink>();
  readonly quarantine = new Map<string, QuarantineAlert>();
  /** Per linking or held value: partners it appeared with other than its own profile (stored resolved at the last update). */
  readonly seen = new Map<string, Set<Partner>>();
  /** Per linking value: event time of every merge it took part in, once per absorbed profile. */
  readonly mergeTimes = new Map<string, number[]>();
  readonly results = new Map<string, Resolution>();
  readonly eventProfiles = new Map<string, Profile | null>();
  readonly history: Resolution[] = [];
  readonly merges: MergeRecord[] = [];

  constructor(tenant: string, rules: TenantRules) {
    this.tenant = tenant;
    this.rules = rules;
    this.compiled = compileRules(rules);
    this.namespace = profileIdNamespace(tenant);
  }

  setRules(rules: TenantRules): void {
    this.rules = rules;
    this.compiled = compileRules(rules);
  }

  root(profile: Profile): Profile {
    let root = profile;
    while (root.mergedInto !== null) root = root.mergedInto;
    let current = profile;
    while (current.mergedInto !== null && current.mergedInto !== root) {
      const next: Profile = current.mergedInto;
      current.mergedInto = root;
      current = next;
    }
    return root;
  }

  ownerOf(key: string): Profile | undefined {
    const owner = this.owners.get(key);
    return owner === undefined ? undefined : this.root(owner);
  }

  /** A partner as it stands now: a profile's survivor; an identifier's profile, or the identifier while no profile holds it. */
  resolvePartner(partner: Partner): Partner {
    return typeof partner === 'string' ? (this.ownerOf(partner) ?? partner) : this.root(partner);
  }

  create(): Profile {
    this.seq += 1;
    const profile: Profile = { id: profileIdOf(this.seq, this.namespace), seq: this.seq, mergedInto: null, counts: new Map() };
    this.profiles.set(profile.id, profile);
    return profile;
  }

  attach(identifier: Identifier, profile: Profile, event: IdentityEvent, rule: Link['rule']): void {
    const key = identifierKey(identifier);
    this.owners.set(key, profile);
    profile.counts.set(identifier.type, (profile.counts.get(identifier.type) ?? 0) + 1);
    this.links.set(key, {
      attachedTo: profile,
      rule,
      eventId: event.eventId,
      channel: event.channel ?? null,
      firstSeen: event.eventTime,
      lastSeen: event.eventTime,
      lastEventId: event.eventId,
    });
  }

  /** Whether a profile holds an identifier of a merging type (then its non-merging identifiers stop linking). */
  anchored(profile: Profile): boolean {
    for (const [type, count] of profile.counts) if (count > 0 && this.compiled.links(type)) return true;
    return false;
  }

  /**
   * The limits rule. While the union of the matched profiles and the unknown linking
   * identifiers would exceed a per-type limit, drop the lowest-priority conflicting
   * identifier and match again. Conflicting: an unknown identifier of a violated type, or a
   * known one whose profile holds identifiers of a violated type.
   *
   * A limit only stops growth: a type is violated when the union holds more of it than the
   * limit *and* more than any one of the matched profiles already holds. A profile over a
   * limit lowered (or added) after it filled up is still matched, and may still take
   * identifiers of other types and merge with profiles holding none of that type; the union
   * may not hold more of the type than it does. While every matched profile is within the
   * limits this is the plain rule (the largest count is at most the limit).
   */
  applyLimits(linking: readonly Identifier[]): LimitPlan {
    const current = [...linking];
    const dropped: LimitDrop[] = [];
    for (;;) {
      const owners = current.map((identifier) => this.ownerOf(identifierKey(identifier)));
      const profiles = [...new Set(owners.filter((owner) => owner !== undefined))].sort((a, b) => a.seq - b.seq);
      const counts = new Map<string, number>();
      /** Per type, the most one matched profile holds (0 when none holds it). */
      const largest = new Map<string, number>();
      for (const profile of profiles) {
        for (const [type, count] of profile.counts) {
          counts.set(type, (counts.get(type) ?? 0) + count);
          largest.set(type, Math.max(largest.get(type) ?? 0, count));
        }
      }
      current.forEach((identifier, index) => {
        if (owners[index] === undefined) counts.set(identifier.type, (counts.get(identifier.type) ?? 0) + 1);
      });
      const violated = [...counts]
        .filter(([type, count]) => {
          const limit = this.compiled.limit(type);
          return limit !== undefined && count > limit && count > (largest.get(type) ?? 0);
        })
        .map(([type]) => type)
        .sort((a, b) => this.compiled.rank(a) - this.compiled.rank(b) || (a < b ? -1 : 1));
      if (violated.length === 0) return { linking: current, profiles, dropped };
      // Victim: the lowest-priority conflicting identifier, taking non-merging ones first
      // (unknown, then known), since they never decide a match, then merging ones.
      let victim = -1;
      for (let pass = 0; pass < 3 && victim < 0; pass += 1) {
        for (let index = current.length - 1; index >= 0 && victim < 0; index -= 1) {
          const identifier = current[index];
          if (identifier === undefined) continue;
          const owner = owners[index];
          const passOf = this.compiled.links(identifier.type) ? 2 : owner === undefined ? 0 : 1;
          if (passOf !== pass) continue;
          const conflicting = owner === undefined ? violated.includes(identifier.type) : violated.some((type) => (owner.counts.get(type) ?? 0) > 0);
          if (conflicting) victim = index;
        }
      }
      // Unreachable: a violated type's count is above every matched profile's (and above 0), so
      // it takes an unknown identifier of that type or a second profile holding some, and
      // either conflicts. Kept as a guard, as in the script (LIMITS_UNSATISFIABLE).
      if (victim < 0) throw new Error(`limits violated by ${violated.join(', ')} without a conflicting identifier`);
      const [removed] = current.splice(victim, 1);
      if (removed !== undefined) dropped.push({ type: removed.type, value: removed.value, reason: 'limit', violated });
    }
  }

  mergesInWindow(key: string, time: number): number {
    const times = this.mergeTimes.get(key);
    if (times === undefined) return 0;
    const window = this.rules.quarantine.windowMs;
    let count = 0;
    for (const at of times) if (Math.abs(at - time) < window) count += 1;
    return count;
  }

  quarantineValue(identifier: Identifier, reason: QuarantineReason, observed: number, threshold: number, event: IdentityEvent): QuarantineAlert {
    const alert: QuarantineAlert = { tenant: this.tenant, type: identifier.type, value: identifier.value, reason, observed, threshold, eventId: event.eventId, eventTime: event.eventTime };
    this.quarantine.set(identifierKey(identifier), alert);
    return alert;
  }
}

/**
 * In-memory identity resolution with the same semantics as the Redis graph: the oracle of
 * the graph's tests and the baseline of the benchmarks. Keeps one graph per tenant.
 *
 * @example
 * const resolver = new ReferenceResolver(DEFAULT_RULES);
 * for (const event of events) resolver.process(event);
 * pairwiseQuality(resolver.eventClusters(), truth);
 */
export class ReferenceResolver {
  #rulesFor: (tenant: string) => TenantRules;
  readonly #graphs = new Map<string, TenantGraph>();
  #events = 0;
  #duplicates = 0;
  #limitDrops = 0;
  #blocked = 0;
  #weakMatches = 0;
  #unresolved = 0;

  /** @param rules one rule set for every tenant, or a rules document resolved per tenant. */
  constructor(rules: TenantRules | RulesDocument) {
    this.#rulesFor = 'version' in rules ? (tenant) => resolveRules(rules, tenant) : () => rules;
  }

  /**
   * Changes the rules from the next event on, as a resolver restarted with a changed rules
   * file does: every tenant's graph (profiles, quarantines, merge history) stays as it is and
   * is resolved with its new rules, e.g. a limit lowered below what some profiles hold.
   */
  setRules(rules: TenantRules | RulesDocument): void {
    this.#rulesFor = 'version' in rules ? (tenant) => resolveRules(rules, tenant) : () => rules;
    for (const [tenant, graph] of this.#graphs) graph.setRules(this.#rulesFor(tenant));
  }

  #graph(tenant: string): TenantGraph {
    let graph = this.#graphs.get(tenant);
    if (graph === undefined) {
      graph = new TenantGraph(tenant, this.#rulesFor(tenant));
      this.#graphs.set(tenant, graph);
    }
    return graph;
  }

  #query(tenant: string | undefined): TenantGraph | undefined {
    if (tenant !== undefined) return this.#graphs.get(tenant);
    if (this.#graphs.size > 1) throw new IdentityError('TENANT_REQUIRED', `The resolver holds ${this.#graphs.size} tenants; say which one`);
    return this.#graphs.values().next().value;
  }

  /**
   * The identifiers that may link in this event, in priority order: every merging-type
   * identifier, and every non-merging one that no anchored profile (one holding a merging
   * identifier) holds yet. Non-merging identifiers an anchored profile holds are `held`: they
   * never link; but when nothing of a merging type is left, the strongest held one is promoted
   * so the event goes to its owner (a weak match). Quarantined values are in neither list.
   */
  #selectLinking(graph: TenantGraph, kept: readonly Identifier[]): { linking: Identifier[]; held: Identifier[]; weakMatch: boolean } {
    const compiled = graph.compiled;
    const linking: Identifier[] = [];
    const held: Identifier[] = [];
    let merging = false;
    for (const identifier of kept) {
      const key = identifierKey(identifier);
      if (graph.quarantine.has(key)) continue;
      if (compiled.links(identifier.type)) {
        linking.push(identifier);
        merging = true;
        continue;
      }
      const owner = graph.ownerOf(key);
      if (owner !== undefined && graph.anchored(owner)) held.push(identifier);
      else linking.push(identifier);
    }
    const [strongest] = held;
    if (merging || strongest === undefined) return { linking, held, weakMatch: false };
    // Keep priority order: the promoted identifier goes where screening put it.
    const promoted = new Set<Identifier>([...linking, strongest]);
    return { linking: kept.filter((identifier) => promoted.has(identifier)), held: held.slice(1), weakMatch: true };
  }

  /** Resolves one event. Processing the same eventId again returns the first result and changes nothing. */
  process(event: IdentityEvent): Resolution {
    const graph = this.#graph(event.tenant);
    const prior = graph.results.get(event.eventId);
    if (prior !== undefined) {
      this.#duplicates += 1;
      const profile = graph.eventProfiles.get(event.eventId) ?? null;
      return { ...prior, duplicate: true, profileId: profile === null ? null : graph.root(profile).id };
    }
    this.#events += 1;
    const quarantineRules = graph.rules.quarantine;
    const { kept, blocked } = screenIdentifiers(event.identifiers, graph.rules);
    this.#blocked += blocked.length;
    const alerts: QuarantineAlert[] = [];

    // 1. Linking identifiers (see selectLinking). Values that would take part in too many
    //    merges within the window are quarantined before the merge, and the event is matched again.
    let selection = this.#selectLinking(graph, kept);
    let plan = graph.applyLimits(selection.linking);
    while (plan.profiles.length >= 2) {
      const absorbed = plan.profiles.length - 1;
      const violators = plan.linking.filter((identifier) => graph.mergesInWindow(identifierKey(identifier), event.eventTime) + absorbed > quarantineRules.maxMergesPerWindow);
      if (violators.length === 0) break;
      for (const identifier of violators) {
        const observed = graph.mergesInWindow(identifierKey(identifier), event.eventTime) + absorbed;
        alerts.push(graph.quarantineValue(identifier, 'too_many_merges', observed, quarantineRules.maxMergesPerWindow, event));
      }
      selection = this.#selectLinking(graph, kept);
      plan = graph.applyLimits(selection.linking);
    }
    const linking = selection.linking;
    // The profiles the linking identifiers pointed at before limits: what each value "was seen with".
    const candidates = new Set(linking.map((identifier) => graph.ownerOf(identifierKey(identifier))).filter((owner) => owner !== undefined));

    // 2. Target profile: new, matched, or merged (survivor = oldest); none when nothing can link.
    let target: Profile | null = null;
    let outcome: ResolutionOutcome = 'unresolved';
    let merge: MergeRecord | null = null;
    const attached: Identifier[] = [];
    const [survivor, ...absorbed] = plan.profiles;
    if (plan.linking.length === 0) {
      this.#unresolved += 1;
    } else if (survivor === undefined) {
      target = graph.create();
      outcome = 'created';
    } else {
      target = survivor;
      outcome = absorbed.length > 0 ? 'merged' : selection.weakMatch ? 'weak_match' : 'matched';
      if (absorbed.length > 0) {
        for (const profile of absorbed) {
          profile.mergedInto = survivor;
          for (const [type, count] of profile.counts) survivor.counts.set(type, (survivor.counts.get(type) ?? 0) + count);
          profile.counts.clear();
        }
        for (const identifier of plan.linking) {
          const key = identifierKey(identifier);
          const times = graph.mergeTimes.get(key) ?? [];
          for (let index = 0; index < absorbed.length; index += 1) times.push(event.eventTime);
          graph.mergeTimes.set(key, times);
        }
        merge = {
          tenant: graph.tenant,
          survivor: survivor.id,
          absorbed: absorbed.map((profile) => profile.id),
          linkedBy: plan.linking,
          rule: 'match',
          eventId: event.eventId,
          eventTime: event.eventTime,
        };
        graph.merges.push(merge);
      }
    }
    if (selection.weakMatch && target !== null) this.#weakMatches += 1;
    if (target !== null) {
      for (const identifier of plan.linking) {
        if (graph.owners.has(identifierKey(identifier))) continue;
        graph.attach(identifier, target, event, outcome === 'created' ? 'new_profile' : selection.weakMatch ? 'weak_match' : 'attach');
        attached.push(identifier);
      }
    }

    // 3. What was neither matched nor attached, and why.
    const dropped: LimitDrop[] = [...plan.dropped];
    this.#limitDrops += dropped.length;
    const ignored: IgnoredIdentifier[] = [];
    for (const identifier of kept) {
      const key = identifierKey(identifier);
      if (graph.quarantine.has(key)) ignored.push({ ...identifier, reason: 'quarantined' });
      else if (selection.held.includes(identifier) && graph.ownerOf(key) !== target) ignored.push({ ...identifier, reason: 'owned_elsewhere' });
    }

    // 4. Super-node check: the distinct live profiles each linking value has been seen on,
    //    counted after the merge (merged profiles are one), so only partners the value could
    //    not join make it grow. A partner is a profile, or an identifier the limits kept out of
    //    every profile (it stands for the profile it would have started). A held value (a
    //    non-merging one another anchored profile holds: a shared tablet, a junk device id the
    //    blocklist misses) links nothing, but the event's profile is its partner: it is
    //    quarantined like any other value once seen on too many profiles.
    const partnersNow: Partner[] = [...candidates].map((profile) => graph.root(profile));
    if (target !== null) partnersNow.push(target);
    for (const drop of plan.dropped) {
      const key = identifierKey(drop);
      if (!graph.owners.has(key)) partnersNow.push(key);
    }
    const recordPartners = (identifier: Identifier, partners: readonly Partner[]): void => {
      const key = identifierKey(identifier);
      if (graph.quarantine.has(key)) return;
      const own = graph.ownerOf(key);
      const others = partners.filter((partner) => partner !== key && graph.resolvePartner(partner) !== own);
      if (others.length === 0) return;
      const distinctPartners = new Set<Partner>();
      for (const partner of [...(graph.seen.get(key) ?? []), ...others]) {
        const resolved = graph.resolvePartner(partner);
        if (resolved !== own && resolved !== key) distinctPartners.add(resolved);
      }
      graph.seen.set(key, distinctPartners);
      const distinct = distinctPartners.size + (own === undefined ? 0 : 1);
      if (distinct > quarantineRules.maxProfilesPerValue) {
        alerts.push(graph.quarantineValue(identifier, 'too_many_profiles', distinct, quarantineRules.maxProfilesPerValue, event));
      }
    };
    for (const identifier of linking) recordPartners(identifier, partnersNow);
    if (target !== null) for (const identifier of selection.held) recordPartners(identifier, [target]);

    // 5. Provenance: last seen of every identifier the event carried that a profile holds.
    for (const identifier of kept) {
      const link = graph.links.get(identifierKey(identifier));
      if (link === undefined || link.lastEventId === event.eventId) continue;
      link.firstSeen = Math.min(link.firstSeen, event.eventTime);
      if (event.eventTime >= link.lastSeen) {
        link.lastSeen = event.eventTime;
        link.lastEventId = event.eventId;
      }
    }

    const resolution: Resolution = {
      eventId: event.eventId,
      tenant: event.tenant,
      outcome,
      duplicate: false,
      profileId: target?.id ?? null,
      merge,
      attached,
      blocked,
      dropped,
      ignored,
      quarantined: alerts,
    };
    graph.results.set(event.eventId, resolution);
    graph.eventProfiles.set(event.eventId, target);
    graph.history.push(resolution);
    return resolution;
  }

  /** Processes events in order; returns their resolutions. */
  processAll(events: Iterable<IdentityEvent>): Resolution[] {
    const out: Resolution[] = [];
    for (const event of events) out.push(this.process(event));
    return out;
  }

  /** The live profile holding `type:value`, if any. `tenant` may be left out while the resolver holds one tenant. */
  profileOf(type: string, value: string, tenant?: string): string | undefined {
    return this.#query(tenant)?.ownerOf(`${type}:${value}`)?.id;
  }

  /** The live profile a (possibly merged) profile id resolves to; undefined for an id never issued. */
  resolveProfile(profileId: string, tenant?: string): string | undefined {
    const graph = this.#query(tenant);
    const profile = graph?.profiles.get(profileId);
    return profile === undefined || graph === undefined ? undefined : graph.root(profile).id;
  }

  /** The identifiers (`type:value`) each live profile holds, sorted; clusters sorted by first key. Left out `tenant`: every tenant's clusters. */
  clusters(tenant?: string): string[][] {
    const graphs = tenant === undefined ? [...this.#graphs.values()] : [this.#graphs.get(tenant)].filter((graph) => graph !== undefined);
    const out: string[][] = [];
    for (const graph of graphs) {
      const byProfile = new Map<Profile, string[]>();
      for (const key of graph.owners.keys()) {
        const owner = graph.ownerOf(key);
        if (owner === undefined) continue;
        const list = byProfile.get(owner);
        if (list === undefined) byProfile.set(owner, [key]);
        else list.push(key);
      }
      out.push(...byProfile.values());
    }
    return sortClusters(out);
  }

  /** The eventIds each live profile holds (unresolved events are in none); sorted like clusters(). */
  eventClusters(tenant?: string): string[][] {
    const graphs = tenant === undefined ? [...this.#graphs.values()] : [this.#graphs.get(tenant)].filter((graph) => graph !== undefined);
    const out: string[][] = [];
    for (const graph of graphs) {
      const byProfile = new Map<Profile, string[]>();
      for (const [eventId, profile] of graph.eventProfiles) {
        if (profile === null) continue;
        const root = graph.root(profile);
        const list = byProfile.get(root);
        if (list === undefined) byProfile.set(root, [eventId]);
        else list.push(eventId);
      }
      out.push(...byProfile.values());
    }
    return sortClusters(out);
  }

  /** The identifiers a live (or merged: its survivor's) profile holds. */
  identifiersOf(profileId: string, tenant?: string): Identifier[] {
    const graph = this.#query(tenant);
    const profile = graph?.profiles.get(profileId);
    if (graph === undefined || profile === undefined) return [];
    const root = graph.root(profile);
    return [...graph.owners.keys()].filter((key) => graph.ownerOf(key) === root).map(parseKey);
  }

  /** Why `type:value` is on its profile: the event, channel and rule that attached it, first and last seen. */
  linkOf(type: string, value: string, tenant?: string): Link | undefined {
    const graph = this.#query(tenant);
    const key = `${type}:${value}`;
    const link = graph?.links.get(key);
    if (graph === undefined || link === undefined) return undefined;
    return {
      type,
      value,
      profileId: graph.root(link.attachedTo).id,
      attachedTo: link.attachedTo.id,
      rule: link.rule,
      eventId: link.eventId,
      channel: link.channel,
      firstSeen: link.firstSeen,
      lastSeen: link.lastSeen,
      lastEventId: link.lastEventId,
    };
  }

  isQuarantined(type: string, value: string, tenant?: string): boolean {
    return this.#query(tenant)?.quarantine.has(`${type}:${value}`) ?? false;
  }

  /** Every quarantine alert, in the order raised. */
  alerts(tenant?: string): QuarantineAlert[] {
    const graphs = tenant === undefined ? [...this.#graphs.values()] : [this.#graphs.get(tenant)].filter((graph) => graph !== undefined);
    return graphs.flatMap((graph) => [...graph.quarantine.values()]);
  }

  /** Every merge, in order. */
  merges(tenant?: string): MergeRecord[] {
    const graphs = tenant === undefined ? [...this.#graphs.values()] : [this.#graphs.get(tenant)].filter((graph) => graph !== undefined);
    return graphs.flatMap((graph) => graph.merges);
  }

  /** Every first-time resolution, in processing order (duplicates are not repeated). */
  resolutions(tenant?: string): Resolution[] {
    const graphs = tenant === undefined ? [...this.#graphs.values()] : [this.#graphs.get(tenant)].filter((graph) => graph !== undefined);
    return graphs.flatMap((graph) => graph.history);
  }

  stats(): ResolverStats {
    let profilesCreated = 0;
    let liveProfiles = 0;
    let merges = 0;
    let absorbedProfiles = 0;
    let quarantinedValues = 0;
    for (const graph of this.#graphs.values()) {
      profilesCreated += graph.seq;
      for (const profile of graph.profiles.values()) if (profile.mergedInto === null) liveProfiles += 1;
      merges += graph.merges.length;
      for (const merge of graph.merges) absorbedProfiles += merge.absorbed.length;
      quarantinedValues += graph.quarantine.size;
    }
    return {
      events: this.#events,
      duplicates: this.#duplicates,
      profilesCreated,
      liveProfiles,
      merges,
      absorbedProfiles,
      limitDrops: this.#limitDrops,
      blockedIdentifiers: this.#blocked,
      quarantinedValues,
      weakMatches: this.#weakMatches,
      unresolvedEvents: this.#unresolved,
    };
  }
}

/**
 * Plain union-find over each event's screened identifiers: no limits, no quarantine, and the
 * same notion of which identifiers link as the resolver (merging types always; a non-merging
 * one only while its cluster holds no merging identifier; with nothing merging left, the
 * strongest held non-merging one). Wherever no limit or quarantine was involved, the resolver's
 * clusters equal these. Events of several tenants are kept apart (their clusters are listed together).
 */
export function unionFindClusters(events: Iterable<IdentityEvent>, rules: TenantRules | RulesDocument): string[][] {
  const rulesFor = 'version' in rules ? (tenant: string) => resolveRules(rules, tenant) : () => rules;
  const parent = new Map<string, string>();
  /** Roots whose cluster holds an identifier of a merging type. */
  const anchored = new Set<string>();
  const find = (node: string): string => {
    let root = node;
    for (let next = parent.get(root); next !== undefined && next !== root; next = parent.get(root)) root = next;
    let current = node;
    while (current !== root) {
      const next = parent.get(current) ?? root;
      parent.set(current, root);
      current = next;
    }
    return root;
  };
  const union = (a: string, b: string): void => {
    const rootA = find(a);
    const rootB = find(b);
    if (rootA === rootB) return;
    parent.set(rootB, rootA);
    if (anchored.delete(rootB)) anchored.add(rootA);
  };
  const tenantRules = new Map<string, TenantRules>();
  for (const event of events) {
    let eventRules = tenantRules.get(event.tenant);
    if (eventRules === undefined) {
      eventRules = rulesFor(event.tenant);
      tenantRules.set(event.tenant, eventRules);
    }
    const compiled = compileRules(eventRules);
    const node = (identifier: Identifier): string => `${event.tenant}\u0000${identifierKey(identifier)}`;
    const { kept } = screenIdentifiers(event.identifiers, eventRules);
    let linking: Identifier[] = [];
    const held: Identifier[] = [];
    for (const identifier of kept) {
      const key = node(identifier);
      if (compiled.links(identifier.type) || !parent.has(key) || !anchored.has(find(key))) linking.push(identifier);
      else held.push(identifier);
    }
    const [strongest] = held;
    if (strongest !== undefined && !linking.some((identifier) => compiled.links(identifier.type))) {
      const promoted = new Set<Identifier>([...linking, strongest]);
      linking = kept.filter((identifier) => promoted.has(identifier));
    }
    const [first] = linking;
    if (first === undefined) continue;
    for (const identifier of linking) {
      const key = node(identifier);
      if (!parent.has(key)) {
        parent.set(key, key);
        if (compiled.links(identifier.type)) anchored.add(key);
      }
      union(node(first), key);
    }
  }
  const byRoot = new Map<string, string[]>();
  for (const key of parent.keys()) {
    const root = find(key);
    const list = byRoot.get(root);
    const bare = key.slice(key.indexOf('\u0000') + 1);
    if (list === undefined) byRoot.set(root, [bare]);
    else list.push(bare);
  }
  return sortClusters([...byRoot.values()]);
}
