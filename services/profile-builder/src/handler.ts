import { ElephantError } from '@elephant/errors';
import { deadLetter, type BatchHandler, type KafkaMessage, type Message, type TransactionalProducer } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { applyTouchpoint, emptyProfile, erasureUpdateOf, foldMerge, parseProfileState, snapshotOf, updateOf, type ProfileState, type ProfileUpdate } from '@elephant/profiles';
import type { AvroRegistry } from '@elephant/registry';
import type { IdentityMerge, ResolvedTouchpoint } from '@elephant/identity';
import type { BuilderTopics } from './config.ts';
import type { BuilderMetrics } from './metrics.ts';
import type { CommitRequest, LoadedProfile, ProfileStore } from './store.ts';
import type { ErasureRequest } from './generated/erasure-request.ts';

export interface SchemaIds {
  readonly update: number;
  readonly snapshot: number;
  /** Writer schemas used when forwarding records to another profile's partition. */
  readonly resolved: number;
  readonly merge: number;
  readonly erasure: number;
}

export interface BuilderDeps {
  readonly topics: BuilderTopics;
  readonly store: ProfileStore;
  readonly registry: AvroRegistry;
  readonly schemaIds: SchemaIds;
  /** One per lane; a batch of partition p uses producers[p % producers.length]. */
  readonly producers: readonly TransactionalProducer[];
  readonly metrics: BuilderMetrics;
  readonly logger: Logger;
  readonly now: () => number;
}

/** A batch must be processed again: another writer moved a profile underneath (rebalance, fold). */
export class ProfileConflictError extends ElephantError<'PROFILE_CONFLICT'> {
  constructor(profiles: readonly string[]) {
    super('PROFILE_CONFLICT', `Profiles changed while the batch was processed: ${profiles.join(', ')}`, { retryable: true });
  }
}

interface Outputs {
  /** tenant → profile → event ids whose kept updates this batch publishes, and the highest version. */
  readonly published: Map<string, Map<string, { eventIds: string[]; version: number }>>;
  readonly updates: Message[];
  readonly snapshots: Message[];
  readonly forwards: Map<string, Message[]>;
  readonly deadLetters: Message[];
}

/**
 * The builder's batch handler. Every batch ends in one Kafka transaction holding its profile
 * updates, snapshots, forwarded records and its input offsets; Redis state is committed just
 * before, per profile, with a version check. If the transaction aborts after Redis committed,
 * the batch comes again: its events are then known as applied, and their kept updates are
 * published instead of applying anything twice.
 */
export function createBuilderHandler(deps: BuilderDeps): BatchHandler {
  // Batches of one lane run one after another: the same partition number of the three input
  // topics holds the same profiles, and a transactional producer runs one transaction at a time.
  const lanes: Promise<void>[] = deps.producers.map(() => Promise.resolve());
  return (batch, context) => {
    const lane = batch.partition % deps.producers.length;
    const producer = deps.producers[lane] as TransactionalProducer;
    const run = (lanes[lane] ?? Promise.resolve()).then(() => handleBatch(deps, producer, batch, context));
    lanes[lane] = run.catch(() => undefined);
    return run;
  };
}

async function handleBatch(deps: BuilderDeps, producer: TransactionalProducer, batch: Parameters<BatchHandler>[0], context: Parameters<BatchHandler>[1]): Promise<void> {
  {
    const out: Outputs = { published: new Map(), updates: [], snapshots: [], forwards: new Map(), deadLetters: [] };
    const now = deps.now();
    if (batch.topic === deps.topics.resolved) await onTouchpoints(deps, out, batch.topic, batch.partition, batch.messages, now);
    else if (batch.topic === deps.topics.merges) await onMerges(deps, out, batch.topic, batch.partition, batch.messages, now);
    else await onErasures(deps, out, batch.topic, batch.partition, batch.messages);
    await producer.commit(
      [
        { topic: deps.topics.updates, messages: out.updates },
        { topic: deps.topics.snapshots, messages: out.snapshots },
        ...[...out.forwards].map(([topic, messages]) => ({ topic, messages })),
        { topic: deps.topics.deadLetters, messages: out.deadLetters },
      ],
      [{ groupId: context.groupId, topic: batch.topic, partition: batch.partition, offset: context.nextOffset }],
    );
    // If this fails (or the process dies first), the kept updates expire after UPDATE_TTL_SECONDS.
    for (const [tenant, byProfile] of out.published) await deps.store.forgetUpdates(tenant, byProfile);
  }
}

function markPublished(out: Outputs, tenant: string, profileId: string, eventId: string, version: number): void {
  const byProfile = out.published.get(tenant) ?? new Map<string, { eventIds: string[]; version: number }>();
  const entry = byProfile.get(profileId) ?? { eventIds: [], version: 0 };
  byProfile.set(profileId, { eventIds: [...entry.eventIds, eventId], version: Math.max(entry.version, version) });
  out.published.set(tenant, byProfile);
}

function forward(out: Outputs, topic: string, message: Message): void {
  out.forwards.set(topic, [...(out.forwards.get(topic) ?? []), message]);
}

async function decode<T>(deps: BuilderDeps, out: Outputs, topic: string, partition: number, messages: readonly KafkaMessage[], now: number): Promise<{ message: KafkaMessage; value: T }[]> {
  const decoded = await deps.registry.decodeMany<T>(messages.map((message) => message.value ?? Buffer.alloc(0)));
  const good: { message: KafkaMessage; value: T }[] = [];
  decoded.forEach((result, index) => {
    const message = messages[index] as KafkaMessage;
    if (result.ok) good.push({ message, value: result.value });
    else {
      out.deadLetters.push(deadLetter({ topic, partition, message }, { code: result.error.code, message: result.error.message }, 'profile-builder', now));
      deps.metrics.deadLettered.inc({ reason: result.error.code });
    }
  });
  return good;
}

/** Follows merged-into links to the live survivor (usually one hop). */
async function survivorOf(deps: BuilderDeps, tenant: string, loaded: LoadedProfile): Promise<string> {
  let current = loaded.mergedInto ?? loaded.profileId;
  for (let hops = 0; hops < 64; hops += 1) {
    const { profiles } = await deps.store.load(tenant, [current], []);
    const next = profiles.get(current)?.mergedInto;
    if (!next) return current;
    current = next;
  }
  return current;
}

function parseState(loaded: LoadedProfile | undefined): ProfileState | undefined {
  return loaded?.stored ? parseProfileState(JSON.parse(loaded.stored.state)) : undefined;
}

function publishUpdate(deps: BuilderDeps, out: Outputs, update: ProfileUpdate): void {
  out.updates.push({ key: update.profileId, value: deps.registry.encode(deps.schemaIds.update, update) });
}

function publishSnapshot(deps: BuilderDeps, out: Outputs, state: ProfileState): void {
  out.snapshots.push({ key: state.profileId, value: deps.registry.encode(deps.schemaIds.snapshot, snapshotOf(state)) });
}

async function commitOrRetry(deps: BuilderDeps, tenant: string, requests: CommitRequest[]): Promise<void> {
  const outcomes = await deps.store.commit(tenant, requests);
  const failed = requests.filter((_, index) => outcomes[index] !== 'ok').map((request, index) => `${request.profileId} (${outcomes[index] ?? '?'})`);
  if (failed.length > 0) {
    deps.metrics.conflicts.inc(failed.length);
    throw new ProfileConflictError(failed);
  }
}

async function onTouchpoints(deps: BuilderDeps, out: Outputs, topic: string, partition: number, messages: readonly KafkaMessage[], now: number): Promise<void> {
  const records = await decode<ResolvedTouchpoint>(deps, out, topic, partition, messages, now);
  const byTenant = new Map<string, ResolvedTouchpoint[]>();
  for (const { value } of records) byTenant.set(value.touchpoint.tenant, [...(byTenant.get(value.touchpoint.tenant) ?? []), value]);
  for (const [tenant, list] of byTenant) {
    const profileIds = [...new Set(list.map((record) => record.profileId))];
    const { profiles, applied } = await deps.store.load(tenant, profileIds, list.map((record) => ({ profileId: record.profileId, eventId: record.touchpoint.eventId })));
    const working = new Map<string, ProfileState>();
    // A touchpoint delivered twice within one batch counts once too.
    const seenInBatch = new Set<string>();
    const pending = new Map<string, { events: string[]; updates: Record<string, string>; republished: boolean }>();
    for (const record of list) {
      const loaded = profiles.get(record.profileId);
      const eventId = record.touchpoint.eventId;
      if (loaded?.erasedAt !== undefined) {
        deps.metrics.touchpoints.inc({ outcome: 'erased' });
        continue;
      }
      if (loaded?.mergedInto !== undefined) {
        // In flight when its profile was merged: it belongs to the survivor, whose writer applies it.
        const survivor = await survivorOf(deps, tenant, loaded);
        forward(out, deps.topics.resolved, { key: survivor, value: deps.registry.encode(deps.schemaIds.resolved, { ...record, profileId: survivor }) });
        deps.metrics.touchpoints.inc({ outcome: 'forwarded' });
        continue;
      }
      const entry = pending.get(record.profileId) ?? { events: [], updates: {}, republished: false };
      pending.set(record.profileId, entry);
      if (seenInBatch.has(eventId)) {
        deps.metrics.touchpoints.inc({ outcome: 'duplicate' });
        continue;
      }
      seenInBatch.add(eventId);
      if (applied.has(eventId)) {
        // Applied by an attempt whose transaction did not commit: publish what it produced.
        // Published only if newer than what is known to be published: a kept update left over
        // from a crash after its transaction committed must not come out again, behind newer ones.
        const kept = applied.get(eventId);
        const update = kept ? (JSON.parse(kept) as ProfileUpdate) : undefined;
        if (update && update.version > (loaded?.publishedVersion ?? 0)) {
          publishUpdate(deps, out, update);
          markPublished(out, tenant, record.profileId, eventId, update.version);
          entry.republished = true;
        }
        deps.metrics.touchpoints.inc({ outcome: 'duplicate' });
        continue;
      }
      const state = working.get(record.profileId) ?? parseState(loaded) ?? emptyProfile(record.profileId, tenant, record.touchpoint.ingestTime);
      const change = applyTouchpoint(state, record.touchpoint, { excludedIdentifiers: record.excludedIdentifiers, now });
      working.set(record.profileId, change.state);
      const update = updateOf(change.state, change.changes, { kind: 'touchpoint', eventId });
      entry.events.push(eventId);
      entry.updates[eventId] = JSON.stringify(update);
      publishUpdate(deps, out, update);
      markPublished(out, tenant, record.profileId, eventId, update.version);
      deps.metrics.touchpoints.inc({ outcome: 'applied' });
    }
    const requests: CommitRequest[] = [];
    for (const [profileId, entry] of pending) {
      const state = working.get(profileId);
      if (state) {
        requests.push({ profileId, expectedVersion: profiles.get(profileId)?.stored?.version, version: state.version, state: JSON.stringify(state), appliedEventIds: entry.events, updates: entry.updates, absorbed: [] });
        publishSnapshot(deps, out, state);
      } else if (entry.republished) {
        const current = parseState(profiles.get(profileId));
        if (current) publishSnapshot(deps, out, current);
      }
    }
    await commitOrRetry(deps, tenant, requests);
  }
}

async function onMerges(deps: BuilderDeps, out: Outputs, topic: string, partition: number, messages: readonly KafkaMessage[], now: number): Promise<void> {
  const seenInBatch = new Set<string>();
  for (const { value: merge } of await decode<IdentityMerge>(deps, out, topic, partition, messages, now)) {
    // The resolver re-emits a merge when it sees its touchpoint again: once per batch is enough.
    if (seenInBatch.has(merge.mergeId)) continue;
    seenInBatch.add(merge.mergeId);
    const tenant = merge.tenant;
    const ids = [merge.survivorProfileId, ...merge.mergedProfileIds];
    const { profiles, applied } = await deps.store.load(tenant, ids, [{ profileId: merge.survivorProfileId, eventId: merge.mergeId }]);
    const survivor = profiles.get(merge.survivorProfileId);
    if (!survivor || survivor.erasedAt !== undefined) continue;
    if (survivor.mergedInto !== undefined) {
      const root = await survivorOf(deps, tenant, survivor);
      forward(out, deps.topics.merges, { key: root, value: deps.registry.encode(deps.schemaIds.merge, { ...merge, survivorProfileId: root }) });
      continue;
    }
    if (applied.has(merge.mergeId)) {
      const kept = applied.get(merge.mergeId);
      const update = kept ? (JSON.parse(kept) as ProfileUpdate) : undefined;
      if (update && update.version > survivor.publishedVersion) {
        publishUpdate(deps, out, update);
        markPublished(out, tenant, merge.survivorProfileId, merge.mergeId, update.version);
        const current = parseState(survivor);
        if (current) publishSnapshot(deps, out, current);
      }
      continue;
    }
    const absorbed = merge.mergedProfileIds.map((id) => profiles.get(id)).filter((loaded): loaded is LoadedProfile => loaded !== undefined && loaded.mergedInto === undefined && loaded.erasedAt === undefined);
    const base = parseState(survivor) ?? emptyProfile(merge.survivorProfileId, tenant, merge.mergedAt);
    // A merged profile whose touchpoints the builder has not seen yet still joins mergedFrom;
    // its touchpoints will be forwarded here.
    const change = foldMerge(base, absorbed.map((loaded) => parseState(loaded) ?? emptyProfile(loaded.profileId, tenant, merge.mergedAt)));
    if (change.folded.length === 0) continue; // all folded before (a redelivered or chained merge): nothing new to announce
    const update = updateOf(change.state, change.changes, { kind: 'merge', eventId: merge.mergeId, mergedProfileIds: change.folded });
    await commitOrRetry(deps, tenant, [
      {
        profileId: merge.survivorProfileId,
        expectedVersion: survivor.stored?.version,
        version: change.state.version,
        state: JSON.stringify(change.state),
        appliedEventIds: [merge.mergeId],
        updates: { [merge.mergeId]: JSON.stringify(update) },
        absorbed: absorbed.map((loaded) => ({ profileId: loaded.profileId, expectedVersion: loaded.stored?.version })),
      },
    ]);
    publishUpdate(deps, out, update);
    markPublished(out, tenant, merge.survivorProfileId, merge.mergeId, update.version);
    publishSnapshot(deps, out, change.state);
    // The absorbed profiles publish nothing more: their snapshots are tombstoned.
    for (const loaded of absorbed) out.snapshots.push({ key: loaded.profileId, value: null });
    deps.metrics.merges.inc();
  }
}

async function onErasures(deps: BuilderDeps, out: Outputs, topic: string, partition: number, messages: readonly KafkaMessage[]): Promise<void> {
  for (const { value: request } of await decode<ErasureRequest>(deps, out, topic, partition, messages, deps.now())) {
    const result = await deps.store.erase(request.tenant, request.profileId, request.requestedAt);
    if ('mergedInto' in result) {
      forward(out, deps.topics.erasures, { key: result.mergedInto, value: deps.registry.encode(deps.schemaIds.erasure, { ...request, profileId: result.mergedInto }) });
      continue;
    }
    publishUpdate(deps, out, erasureUpdateOf(request.profileId, request.tenant, result.version, { eventId: request.requestId, at: request.requestedAt }));
    out.snapshots.push({ key: request.profileId, value: null });
    deps.metrics.erasures.inc();
    deps.logger.info({ tenant: request.tenant, profileId: request.profileId, requestId: request.requestId }, 'profile erased');
  }
}
