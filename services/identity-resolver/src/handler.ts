import { createHash } from 'node:crypto';
import { boundedByIngest, type Touchpoint } from '@elephant/channels';
import { tenantProblem } from '@elephant/config';
import { isElephantError } from '@elephant/errors';
import { resolveRules, screenIdentifiers, type BlockedIdentifier, type RulesDocument, type TenantRules } from '@elephant/identity';
import { deadLetter, type BatchProducer, type ConsumedBatch, type KafkaMessage, type Message, type PartitionsHandler } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { HEADER_LENGTH, type AvroRegistry, type DecodeResult } from '@elephant/registry';
import type { ResolverTopics } from './config.ts';
import { scriptCallsFor, type GraphRules, type Identifier, type IdentityGraph, type ResolveResult } from './graph.ts';
import type { ResolverMetrics } from './metrics.ts';
import { touchpointKeysType, type ExcludedIdentifier, type IdentityAlert, type IdentityMerge, type TouchpointKeys } from './schemas.ts';

export interface SchemaIds {
  readonly resolved: number;
  readonly merge: number;
  readonly alert: number;
}

export interface ResolverDeps {
  readonly topics: ResolverTopics;
  readonly rules: RulesDocument;
  readonly eventTtlSeconds: number;
  readonly graph: IdentityGraph;
  readonly registry: AvroRegistry;
  readonly schemaIds: SchemaIds;
  readonly producer: BatchProducer;
  readonly metrics: ResolverMetrics;
  readonly logger: Logger;
  readonly now: () => number;
}

/** The graph's share of a tenant's rules. */
export function graphRulesOf(rules: TenantRules, eventTtlSeconds: number): GraphRules {
  return {
    limits: rules.limits,
    rank: Object.fromEntries(rules.priority.map((type, index) => [type, index])),
    nonMerging: rules.nonMergingTypes,
    maxProfilesPerValue: rules.quarantine.maxProfilesPerValue,
    maxMergesPerWindow: rules.quarantine.maxMergesPerWindow,
    windowMs: rules.quarantine.windowMs,
    eventTtlSeconds,
  };
}

/** Deterministic, so a redelivered merge carries the same id. */
export function mergeIdOf(eventId: string, merged: readonly string[]): string {
  return createHash('sha256').update(`${eventId}|${[...merged].sort().join(',')}`).digest('hex').slice(0, 32);
}

/** An output record with the input message it came from (dead-lettered if the broker refuses the record). */
interface Output {
  readonly record: Message;
  readonly source: KafkaMessage;
  readonly eventId: string;
}

interface Outputs {
  readonly resolved: Output[];
  readonly merges: Output[];
  readonly alerts: Output[];
  readonly deadLetters: Message[];
}

/**
 * What one event counts toward the metrics of resolution (countEvent), made once the batch's
 * send went through: what screening blocked, and the graph's result (none for an event that
 * never reached the graph).
 */
interface EventCounts {
  readonly blocked: readonly BlockedIdentifier[];
  readonly result: ResolveResult | undefined;
}

/** Most events whose counts a failed send left for the retry to make (beyond it, they are dropped: metrics only). */
const MAX_UNCOUNTED = 100_000;

/** Dead-letter code of an input whose output record the broker refused (too large for the topic, invalid). */
export const OUTPUT_REJECTED = 'OUTPUT_REJECTED';

interface Pending {
  readonly message: KafkaMessage;
  readonly touchpoint: TouchpointKeys;
  /** The touchpoint as written: its Avro payload, or (another writer schema) the decoded record to encode again. */
  readonly carried: { readonly payload: Buffer } | { readonly record: Touchpoint };
  /** Screened identifiers, strongest first. */
  readonly kept: readonly Identifier[];
  /** Blocked by the rules before resolution. */
  readonly excluded: readonly ExcludedIdentifier[];
  /** What screening blocked (`excluded` comes from it), counted by reason once the graph says the event is not a replay. */
  readonly blocked: readonly BlockedIdentifier[];
}

/**
 * The batch handler: decode touchpoints, screen their identifiers by the tenant's rules,
 * resolve each tenant's events in one Redis pipeline (one round trip), then produce resolved
 * touchpoints (keyed by profile id), merges and alerts in one acknowledged send.
 *
 * A record the broker refuses as such (KAFKA_RECORD_REJECTED: a resolved touchpoint larger than
 * the topic's max.message.bytes, say) would fail every retry, and after a restart the stored
 * result would be replayed and refused again: the partition would be stuck. The outputs are
 * then sent one record at a time, and the input of each record still refused is dead-lettered
 * as OUTPUT_REJECTED (its original bytes, the topic and the broker's reason); the rest go out.
 */
export function createResolverHandler(deps: ResolverDeps): PartitionsHandler {
  // The Touchpoint as the resolved record embeds it: the current schema.
  const touchpointReader = deps.registry.fieldType(deps.schemaIds.resolved, 'touchpoint');
  /**
   * By event id: the counts of events whose batch's send failed. The retry finds them stored in
   * the graph, a replay, and makes these counts instead (created, matched, merged, excluded), so
   * a retried batch counts each event once, as it was resolved (until 2026-12-07 each attempt
   * counted: resolved and then again as a replay).
   */
  const uncounted = new Map<string, EventCounts>();
  return async (batches) => {
    const now = deps.now();
    // Every partition's batch in one pass: one Redis pipeline per tenant and one send for all
    // of them. Each partition's events keep their order (resolution is order-dependent only
    // within a person, whose events share a partition).
    const messages = batches.flatMap((batch) => batch.messages);
    deps.logger.debug({ partitions: batches.map((batch) => batch.partition), messages: messages.length }, 'resolving a batch');
    const out: Outputs = { resolved: [], merges: [], alerts: [], deadLetters: [] };
    /** Messages dead-lettered by this batch: each once. */
    const rejected = new Set<KafkaMessage>();
    /** The dead letters' codes, counted once the broker has them (a failed send is retried, and they are built again). */
    const deadReasons: string[] = [];
    /** Each event's counts, made after the send (`fresh`: its own, not a failed attempt's). */
    const tallies: { readonly eventId: string; readonly counts: EventCounts; readonly fresh: boolean }[] = [];
    const reject = (message: KafkaMessage, code: string, text: string, details?: Readonly<Record<string, unknown>>): void => {
      rejected.add(message);
      // The partition it came from, looked up only for the rare message dead-lettered.
      const batch = batches.find((candidate) => candidate.messages.includes(message)) as ConsumedBatch;
      out.deadLetters.push(deadLetter({ topic: batch.topic, partition: batch.partition, message }, { code, message: text, ...(details ? { details } : {}) }, 'identity-resolver', now));
      deadReasons.push(code);
    };

    // Only the fields resolution reads are decoded. A touchpoint written with the schema the
    // resolved record embeds is carried through as its payload bytes; one written with another
    // schema is decoded whole, into the current schema, and encoded again.
    const values = messages.map((message) => message.value ?? Buffer.alloc(0));
    const decoded = await deps.registry.decodeMany<TouchpointKeys>(values, touchpointKeysType);
    const carriable = new Map<number, boolean>(); // by writer schema id, for this batch
    const other = decoded.flatMap((result, index) => {
      if (!result.ok) return [];
      let carried = carriable.get(result.schemaId);
      if (carried === undefined) carriable.set(result.schemaId, (carried = deps.registry.embeds(deps.schemaIds.resolved, 'touchpoint', result.schemaId)));
      return carried ? [] : [index];
    });
    const records = new Map<number, DecodeResult<Touchpoint>>();
    if (other.length > 0) {
      const full = await deps.registry.decodeMany<Touchpoint>(other.map((index) => values[index] as Buffer), touchpointReader);
      other.forEach((index, at) => records.set(index, full[at] as DecodeResult<Touchpoint>));
    }
    const byTenant = new Map<string, Pending[]>();
    decoded.forEach((result, index) => {
      const message = messages[index] as KafkaMessage;
      if (!result.ok) return reject(message, result.error.code, result.error.message);
      const record = records.get(index);
      if (record && !record.ok) return reject(message, record.error.code, record.error.message);
      const carried = record ? { record: record.value } : { payload: (values[index] as Buffer).subarray(HEADER_LENGTH) };
      const touchpoint = result.value;
      // A tenant that cannot be its keys' hash tag would fail the graph's script on every retry.
      const badTenant = tenantProblem(touchpoint.tenant);
      if (badTenant !== undefined) return reject(message, 'INVALID_TENANT', `Event ${touchpoint.eventId}: tenant ${JSON.stringify(touchpoint.tenant)} ${badTenant}`, { field: 'tenant' });
      const rules = resolveRules(deps.rules, touchpoint.tenant);
      const screened = screenIdentifiers(touchpoint.identifiers, rules);
      const excluded = screened.blocked.map((blocked) => ({ type: blocked.type, value: blocked.value, reason: `${blocked.reason}:${blocked.rule}` }));
      let beyondCap = 0;
      for (const blocked of screened.blocked) if (blocked.reason === 'too_many_identifiers') beyondCap += 1;
      if (beyondCap > 0) {
        // A broken integration, most likely (no person carries that many): said once per event,
        // without the values (personal data).
        deps.logger.warn({ tenant: touchpoint.tenant, eventId: touchpoint.eventId, identifiers: touchpoint.identifiers.length, leftOut: beyondCap }, 'event carries more identifiers than maxIdentifiersPerEvent: the weakest were left out of resolution');
      }
      if (screened.kept.length === 0) {
        // Never reaches the graph, so a redelivery cannot be told apart: counted per delivery
        // (like the dead letter it writes again), once the send went through.
        tallies.push({ eventId: touchpoint.eventId, counts: { blocked: screened.blocked, result: undefined }, fresh: false });
        return reject(message, 'NO_RESOLVABLE_IDENTIFIER', `Every identifier of event ${touchpoint.eventId} is blocked: ${excluded.map((entry) => `${entry.type} (${entry.reason})`).join(', ')}`);
      }
      const list = byTenant.get(touchpoint.tenant) ?? [];
      list.push({ message, touchpoint, carried, kept: screened.kept, excluded, blocked: screened.blocked });
      byTenant.set(touchpoint.tenant, list);
    });

    for (const [tenant, pendings] of byTenant) {
      const rules = graphRulesOf(resolveRules(deps.rules, tenant), deps.eventTtlSeconds);
      const inputs = pendings.map((pending) => ({
        eventId: pending.touchpoint.eventId,
        // Ordered by: never after its ingestTime (a source clock set ahead; @elephant/channels, clock.ts).
        eventTime: boundedByIngest(pending.touchpoint.eventTime, pending.touchpoint.ingestTime),
        ingestTime: pending.touchpoint.ingestTime,
        channel: pending.touchpoint.channel,
        source: pending.touchpoint.source.system,
        identifiers: pending.kept,
      }));
      const results = await deps.graph.resolveBatch(tenant, inputs, rules);
      deps.metrics.redisRoundTrips.inc();
      deps.metrics.redisCommands.inc(scriptCallsFor(inputs.length));
      results.forEach((result, index) => {
        const pending = pendings[index] as Pending;
        const eventId = pending.touchpoint.eventId;
        // A failed attempt's counts, made instead of this replay's.
        const earlier = result.replay ? uncounted.get(eventId) : undefined;
        tallies.push(earlier ? { eventId, counts: earlier, fresh: false } : { eventId, counts: { blocked: pending.blocked, result }, fresh: !result.replay });
        // A leftover of an erased person: dropped, never dead-lettered (that would keep their data).
        if (result.outcome === 'erased') return;
        if (result.error) {
          // A refusal the graph raised on purpose (corrupt state or rules): dead-lettered with
          // its code, so the partition goes on and the event is kept for a person to look at.
          // Not retried: the same state gives the same refusal, which would loop forever.
          deps.logger.error({ tenant, eventId: pending.touchpoint.eventId, code: result.error.code, err: result.error }, 'identity graph refused an event');
          reject(pending.message, result.error.code, result.error.message);
          return;
        }
        if (result.profileId === null) {
          // Every identifier is quarantined (possibly by this very event), dropped by a limit or
          // held by another profile: nobody to attribute it to. The quarantines it caused still
          // raise their alerts (and a replay re-publishes them, as for a resolved event).
          alert(deps, out, tenant, pending, result, now);
          reject(pending.message, 'UNRESOLVED_IDENTITY', `Event ${pending.touchpoint.eventId} has no identifier that may link: ${describeExcluded(pending, result)}`);
          return;
        }
        collect(deps, out, tenant, pending, result, result.profileId, now);
      });
    }

    try {
      await sendOutputs(deps, batches, out, rejected, reject);
    } catch (error) {
      // Retried by the runner: these events come back as replays, counted then as resolved now.
      if (uncounted.size > MAX_UNCOUNTED) uncounted.clear();
      for (const { eventId, counts, fresh } of tallies) if (fresh) uncounted.set(eventId, counts);
      throw error;
    }
    for (const reason of deadReasons) deps.metrics.deadLettered.inc({ reason });
    for (const { eventId, counts } of tallies) {
      uncounted.delete(eventId);
      countEvent(deps, counts);
    }
  };
}

/** Every identifier of the event that was not resolved, and why: blocked by screening, dropped by a limit, ignored by the graph. */
function excludedOf(pending: Pending, result: ResolveResult): ExcludedIdentifier[] {
  return [
    ...pending.excluded,
    ...result.dropped.map((dropped) => ({ type: dropped.type, value: dropped.value, reason: `limit:${dropped.violated.join(',')}` })),
    ...result.ignored.map((ignored) => ({ type: ignored.type, value: ignored.value, reason: ignored.reason })),
  ];
}

/**
 * What an unresolved event lost, by type and reason (no values: the message is logged and
 * shown), e.g. `email (quarantined now: too_many_merges), anonymous_id (quarantined now:
 * too_many_merges), device_id (owned_elsewhere)`. A value this event quarantined says so.
 */
function describeExcluded(pending: Pending, result: ResolveResult): string {
  const fresh = new Map(result.quarantined.map((entry) => [`${entry.type}:${entry.value}`, entry]));
  const parts = excludedOf(pending, result).map((entry) => {
    const key = `${entry.type}:${entry.value}`;
    const quarantined = fresh.get(key);
    if (quarantined === undefined) return `${entry.type} (${entry.reason})`;
    fresh.delete(key);
    return `${entry.type} (quarantined now: ${quarantined.reason})`;
  });
  // The graph reports a value quarantined now as ignored too; this covers a result that does not.
  for (const entry of fresh.values()) parts.push(`${entry.type} (quarantined now: ${entry.reason})`);
  return parts.length > 0 ? parts.join(', ') : 'none was reported excluded';
}

/**
 * One event's metrics of resolution. The screening's exclusions, the graph's, quarantines and
 * merges are counted once per event: not again when the graph answers a redelivery with the
 * stored result (an event that never reached the graph is counted per delivery, like the dead
 * letter it writes again). An erased leftover counts as `erased`, a refused one not at all.
 */
function countEvent(deps: ResolverDeps, { blocked, result }: EventCounts): void {
  const fresh = result?.replay !== true;
  if (fresh) for (const { reason } of blocked) deps.metrics.excluded.inc({ reason });
  if (result === undefined) return;
  if (result.outcome === 'erased') {
    deps.metrics.resolved.inc({ outcome: 'erased' });
    return;
  }
  if (result.error) return;
  if (result.profileId !== null) deps.metrics.resolved.inc({ outcome: fresh ? result.outcome : 'replay' });
  if (!fresh) return;
  if (result.dropped.length > 0) deps.metrics.excluded.inc({ reason: 'limit' }, result.dropped.length);
  for (const ignored of result.ignored) deps.metrics.excluded.inc({ reason: ignored.reason });
  for (const entry of result.quarantined) deps.metrics.quarantined.inc({ reason: entry.reason });
  if (result.profileId !== null && result.merge) deps.metrics.merges.inc(result.merge.absorbed.length);
}

/**
 * The batch's outputs and dead letters in one acknowledged send. A record the broker refuses as
 * such (KAFKA_RECORD_REJECTED) would fail every retry: the outputs then go one record at a
 * time, in the original order (per partition, order is kept), and the input of each record
 * still refused is dead-lettered as OUTPUT_REJECTED. Records the first send wrote may be written
 * twice (at-least-once; subscribers de-duplicate merges and alerts by id, the builder
 * touchpoints by event id). A merge or alert is sent even when its event's resolved touchpoint
 * is refused: the graph did merge.
 */
async function sendOutputs(deps: ResolverDeps, batches: readonly ConsumedBatch[], out: Outputs, rejected: ReadonlySet<KafkaMessage>, reject: (message: KafkaMessage, code: string, text: string, details?: Readonly<Record<string, unknown>>) => void): Promise<void> {
  const outputs = [
    { topic: deps.topics.resolved, kind: 'resolved touchpoint', list: out.resolved },
    { topic: deps.topics.merges, kind: 'merge', list: out.merges },
    { topic: deps.topics.alerts, kind: 'alert', list: out.alerts },
  ] as const;
  try {
    await deps.producer.send([...outputs.map(({ topic, list }) => ({ topic, messages: list.map((output) => output.record) })), { topic: deps.topics.deadLetters, messages: out.deadLetters }]);
    return;
  } catch (error) {
    if (!isElephantError(error, 'KAFKA_RECORD_REJECTED')) throw error;
    deps.logger.warn({ partitions: batches.map((batch) => `${batch.topic}|${batch.partition}`), err: error }, 'the broker refused a record of the batch; sending the outputs one record at a time');
  }
  for (const { topic, kind, list } of outputs) {
    for (const output of list) {
      try {
        await deps.producer.send([{ topic, messages: [output.record] }]);
      } catch (alone) {
        if (!isElephantError(alone, 'KAFKA_RECORD_REJECTED')) throw alone;
        deps.logger.error({ eventId: output.eventId, topic, bytes: output.record.value?.length, err: alone }, `the broker refused the ${kind} of an event: its touchpoint is dead-lettered`);
        // Dead-lettered once: for another refused output of it, or already for another
        // reason (an unresolved event whose quarantine alert was refused).
        if (rejected.has(output.source)) continue;
        reject(output.source, OUTPUT_REJECTED, `The broker refused the ${kind} of event ${output.eventId} (${output.record.value?.length ?? 0} bytes) on ${topic}: ${alone.message}`, { ...alone.details, topic, kind });
      }
    }
  }
  await deps.producer.send([{ topic: deps.topics.deadLetters, messages: out.deadLetters }]);
}

/**
 * An IdentityAlert for each value the event quarantined (counted in countEvent: not on a replay,
 * which re-publishes the alerts with the same ids: the first attempt's send may not have reached
 * the broker). Resolved or not: a quarantine can leave its event with nothing that links.
 */
function alert(deps: ResolverDeps, out: Outputs, tenant: string, pending: Pending, result: ResolveResult, now: number): void {
  const { touchpoint } = pending;
  for (const entry of result.quarantined) {
    const value: IdentityAlert = {
      // The triggering event in it too: a value released by hand and quarantined again by a later
      // event is a new alert (until 2026-12-07 it had the first one's id, and subscribers that
      // de-duplicate by it dropped it); a replay of the same event keeps the id.
      alertId: createHash('sha256').update(`${tenant}|${entry.type}|${entry.value}|${entry.reason}|${touchpoint.eventId}`).digest('hex').slice(0, 32),
      tenant,
      kind: 'identifier_quarantined',
      identifierType: entry.type,
      identifierValue: entry.value,
      reason: entry.reason,
      observed: entry.observed,
      threshold: entry.threshold,
      triggeringEventId: touchpoint.eventId,
      raisedAt: now,
    };
    out.alerts.push({ record: { key: `${entry.type}:${entry.value}`, value: deps.registry.encode(deps.schemaIds.alert, value) }, source: pending.message, eventId: touchpoint.eventId });
    deps.logger.warn({ tenant, eventId: touchpoint.eventId, identifierType: entry.type, reason: entry.reason, observed: entry.observed, threshold: entry.threshold }, 'identifier quarantined');
  }
}

function collect(deps: ResolverDeps, out: Outputs, tenant: string, pending: Pending, result: ResolveResult, profileId: string, now: number): void {
  const { touchpoint } = pending;
  const resolved = { profileId, excludedIdentifiers: excludedOf(pending, result), resolvedAt: now };
  const encoded = 'payload' in pending.carried ? deps.registry.encodeSpliced(deps.schemaIds.resolved, resolved, 'touchpoint', pending.carried.payload) : deps.registry.encode(deps.schemaIds.resolved, { ...resolved, touchpoint: pending.carried.record });
  const source = { source: pending.message, eventId: touchpoint.eventId };
  out.resolved.push({ record: { key: profileId, value: encoded }, ...source });
  // A replay re-emits the original merges and alerts (same ids): the first attempt's send
  // may not have reached the broker. Subscribers de-duplicate by mergeId / alertId.
  const merge = result.merge;
  if (merge) {
    const value: IdentityMerge = {
      mergeId: mergeIdOf(touchpoint.eventId, merge.absorbed),
      tenant,
      survivorProfileId: merge.survivor,
      mergedProfileIds: [...merge.absorbed],
      linkingIdentifiers: merge.linkedBy.map((id) => ({ type: id.type, value: id.value })),
      rule: merge.rule,
      triggeringEventId: touchpoint.eventId,
      // Event time, as the graph records it (bounded by the ingestTime): a replay re-emits the merge unchanged.
      mergedAt: boundedByIngest(touchpoint.eventTime, touchpoint.ingestTime),
    };
    out.merges.push({ record: { key: merge.survivor, value: deps.registry.encode(deps.schemaIds.merge, value) }, ...source });
  }
  alert(deps, out, tenant, pending, result, now);
}
