import { tenantProblem } from '@elephant/config';
import { ElephantError } from '@elephant/errors';
import { deadLetter, type BatchHandler, type GroupGeneration, type KafkaMessage, type Message, type TransactionGroup } from '@elephant/kafka';
import type { Logger } from '@elephant/observability';
import { applyTouchpoint, emptyProfile, erasureUpdateOf, foldMerge, parseProfileState, snapshotOf, updateOf, type AppliedTouchpoint, type ProfileOptions, type ProfileState, type ProfileUpdate } from '@elephant/profiles';
import { projectionWithout, type AvroRegistry, type AvroType } from '@elephant/registry';
import { resolvedTouchpointSchema, type IdentityMerge, type ResolvedTouchpoint } from '@elephant/identity';
import { DEFAULT_MAX_PROFILE_BYTES, DEFAULT_MAX_RECORD_BYTES, type BuilderTopics } from './config.ts';
import type { BuilderMetrics } from './metrics.ts';
import { outboxField, parseOutboxField, unpackOutbox, type CommitOutcome, type CommitRequest, type LoadedProfile, type ProfileStore, type PublishedEntry } from './store.ts';
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
  /**
   * Where a batch's outputs go. exactly_once: a transaction group, with the batch's input
   * offsets (batches of different partitions, processed at once, share transactions).
   * at_least_once: a producer; the offsets are then the consumer's to commit, after this.
   */
  readonly transactions: Pick<TransactionGroup, 'commit'>;
  readonly metrics: BuilderMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Decoded profile states of this process, by version. */
  readonly states: StateCache;
  /** The group's committed offset (next offset to read) of an input partition; -1 when none. */
  readonly committedOffset: (topic: string, partition: number) => Promise<bigint>;
  /**
   * The largest profile state (bytes of its JSON) a touchpoint may leave and update (bytes of
   * its Avro record) it may publish; a touchpoint that would go beyond either is dead-lettered
   * (PROFILE_TOO_LARGE) and the profile stays as it was. @default DEFAULT_MAX_PROFILE_BYTES
   */
  readonly maxProfileBytes?: number;
  /**
   * The largest update or snapshot (bytes of its Avro record) a merge may publish; a merge that
   * would publish a larger one is dead-lettered (MERGE_TOO_LARGE) and its profiles stay apart.
   * @default DEFAULT_MAX_RECORD_BYTES
   */
  readonly maxRecordBytes?: number;
  /** How profiles are built (list bounds, consent purpose aliases: profileOptionsOf). @default the library's defaults */
  readonly profileOptions?: ProfileOptions;
  /**
   * Where a batch leaves what it does after it returned (deleting its published outbox
   * entries, tombstoning profiles merged meanwhile: confirmAndSettle), so that the service's
   * stop waits for it before the producer and Redis close under it.
   */
  readonly background?: BackgroundWork;
}

/**
 * Work a batch leaves running when it returns. Untracked, a stop disconnected the producer
 * and Redis under it: the deletion failed (a warning; the entries were published again by the
 * next owner of the partition, as duplicates) or a tombstone's transaction was cut off (with
 * exactly_once, read_committed subscribers of the partition held back until it timed out).
 */
export class BackgroundWork {
  readonly #running = new Set<Promise<void>>();

  /** `work` must not reject (it handles its own failures). */
  track(work: Promise<void>): void {
    this.#running.add(work);
    const done = (): void => void this.#running.delete(work);
    work.then(done, done);
  }

  /** Work tracked and not finished yet. */
  get pending(): number {
    return this.#running.size;
  }

  /** Resolves when everything tracked, including work tracked meanwhile, has finished. */
  async drained(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}


/** A batch must be processed again: another writer moved a profile underneath (rebalance, fold). */
export class ProfileConflictError extends ElephantError<'PROFILE_CONFLICT'> {
  constructor(profiles: readonly string[]) {
    super('PROFILE_CONFLICT', `Profiles changed while the batch was processed: ${profiles.join(', ')}`, { retryable: true });
  }
}

interface Outputs {
  /** tenant → outbox fields to delete once this batch's transaction committed. */
  readonly confirm: Map<string, PublishedEntry[]>;
  /** tenant → profiles whose snapshot (not a tombstone) this batch publishes (checked after it, see confirmAndSettle). */
  readonly live: Map<string, Set<string>>;
  /** Outputs of earlier attempts whose transaction did not commit: published first. */
  readonly republished: Message[];
  readonly republishedSnapshots: Message[];
  readonly updates: Message[];
  readonly snapshots: Message[];
  readonly forwards: Map<string, Message[]>;
  readonly deadLetters: Message[];
  /** What the batch's attempts committed to Redis: shared by them. */
  readonly memory: BatchMemory;
  /** Counter increments of this attempt: made once its transaction committed, so an attempt a profile conflict ended counts nothing twice. */
  readonly tally: (() => void)[];
}

/**
 * What the attempts at one batch committed to Redis. An attempt that a profile conflict ended
 * after some of its profiles committed leaves their updates in the outbox and their events
 * applied; the next attempt publishes those updates from the outbox. They are this batch's own
 * (not a transaction that did not commit: not counted in elephant_builder_republished_total),
 * and their touchpoints count as applied, not duplicate.
 */
interface BatchMemory {
  /**
   * The touchpoints committed: event id → ingestTime (elephant_builder_update_delay_seconds,
   * observed once the updates are published).
   */
  readonly applied: Map<string, number>;
  /** `<tenant> <outbox field>` of the outbox entries committed. */
  readonly committed: Set<string>;
  /**
   * Counter increments of merges and erasures committed (made once the batch's outputs are
   * sent): an attempt after the one that committed them finds them applied and counts nothing.
   */
  readonly tally: (() => void)[];
}

const committedKey = (tenant: string, field: string): string => `${tenant} ${field}`;

/** A resolved touchpoint as the builder reads it: without the touchpoint's properties, which the profile does not keep. */
type AppliedRecord = Omit<ResolvedTouchpoint, 'touchpoint'> & { readonly touchpoint: AppliedTouchpoint };

/**
 * Reader of AppliedRecord: decoding with it skips each touchpoint's properties map instead of
 * building it (in the builder's CPU profile, reading maps and their strings was about 4% of its
 * busy time). A touchpoint forwarded to a survivor is decoded whole again, from its bytes.
 */
const appliedRecordType: AvroType = projectionWithout(resolvedTouchpointSchema, ['touchpoint.properties']);

interface BatchInput {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  readonly nextOffset: string;
  /** Aborted when the membership the batch was fetched under ended (BatchContext.membership). */
  readonly membership?: AbortSignal | undefined;
  /** That membership's generation (BatchContext.generation): its transaction's offsets are fenced by it. */
  readonly generation?: GroupGeneration | undefined;
}

/**
 * The batch's partition may be another member's now (the rejoin's wait for it timed out, or
 * kafkajs crashed the member out of its group): its outputs and offsets are not sent. What it
 * committed to Redis waits in the outbox, which the partition's owner publishes (recoverOutbox).
 */
export class MembershipEndedError extends ElephantError<'MEMBERSHIP_ENDED'> {
  constructor(topic: string, partition: number) {
    super('MEMBERSHIP_ENDED', `The group membership ${topic}[${partition}] was fetched under ended while its batch ran; its outputs are left to the partition's owner`, { retryable: true });
  }
}

/**
 * The builder's batch handler. Every batch ends in one Kafka transaction holding its profile
 * updates, snapshots, forwarded records and its input offsets (at_least_once: those records
 * are sent, and the consumer commits the offsets after). Redis state is committed just
 * before, per profile, with a version check, together with the updates the transaction will
 * publish (the outbox of the input partition). If the transaction does not commit, the next
 * batch of that partition publishes them from the outbox, in front of its own; the events
 * themselves are then known as applied and are not applied again.
 */
export function createBuilderHandler(deps: BuilderDeps): BatchHandler {
  // Batches of one partition number run one after another: the same partition number of the
  // three input topics holds the same profiles. Different partition numbers run at once.
  const partitions = new Map<number, Promise<void>>();
  const retained = new Map<string, RetainedMemory>();
  return (batch, context) => {
    const run = (partitions.get(batch.partition) ?? Promise.resolve()).then(() => handleBatch(deps, { topic: batch.topic, partition: batch.partition, messages: batch.messages, nextOffset: context.nextOffset, membership: context.membership, generation: context.generation }, context.groupId, retained));
    partitions.set(batch.partition, run.catch(() => undefined));
    return run;
  };
}

/**
 * How many times the handler processes a batch at once when another writer moved one of its
 * profiles (PROFILE_CONFLICT) before it lets the error reach the consumer, which retries after
 * its backoff (200 ms, doubling). A conflict is routine: a merge or a forwarded touchpoint
 * changed a profile of this partition from another one, in Redis, before this batch's checked
 * write; reading again settles it. Measured with the builder alone at 1,000 events/s: about
 * five conflicts a second, each holding its partition for the 200 ms backoff, were the
 * builder's p99 (docs/benchmarks.md).
 */
const CONFLICT_ATTEMPTS = 3;

/** What a batch whose attempts failed had committed to Redis, kept for the consumer's retry of the same batch. */
interface RetainedMemory {
  /** The batch: its first offset and the offset after it. */
  readonly range: string;
  readonly memory: BatchMemory;
  /** Its last attempt ended before any transaction (a profile conflict, a membership that ended): its outbox entries are its own, not a failed transaction's. */
  readonly conflicted: boolean;
}

async function handleBatch(deps: BuilderDeps, batch: BatchInput, groupId: string, retained: Map<string, RetainedMemory>): Promise<void> {
  // The consumer retries a failed batch (a transaction that did not commit, Redis away) with
  // the same records: what its attempts committed to Redis still counts once, as applied
  // (merges, erasures), in the update delay when it is published. Their outbox entries are
  // published again as those of a transaction that did not commit (counted as republished).
  const lane = `${batch.topic}|${batch.partition}`;
  const range = `${batch.messages[0]?.offset ?? ''}-${batch.nextOffset}`;
  const kept = retained.get(lane);
  retained.delete(lane);
  const memory: BatchMemory = kept?.range === range ? { ...kept.memory, committed: kept.conflicted ? kept.memory.committed : new Set() } : { applied: new Map(), committed: new Set(), tally: [] };
  for (let attempt = 1; ; attempt += 1) {
    try {
      // A conflict's next attempt is not made for a partition that is another member's now.
      if (attempt > 1 && batch.membership?.aborted === true) throw new MembershipEndedError(batch.topic, batch.partition);
      await attemptBatch(deps, batch, groupId, memory);
      return;
    } catch (error) {
      if (!(error instanceof ProfileConflictError) || attempt >= CONFLICT_ATTEMPTS) {
        // Ended before any transaction was sent (a conflict, a membership that ended): the
        // outbox entries it wrote are its own, published by the next attempt, not republished.
        retained.set(lane, { range, memory, conflicted: error instanceof ProfileConflictError || error instanceof MembershipEndedError });
        throw error;
      }
      // Nothing of this attempt reached Kafka (the conflict is found before the transaction);
      // what it wrote to Redis is found again as applied or in the outbox.
      deps.logger.debug({ err: error, topic: batch.topic, partition: batch.partition, attempt }, 'profiles moved underneath the batch; processing it again');
    }
  }
}

async function attemptBatch(deps: BuilderDeps, batch: BatchInput, groupId: string, memory: BatchMemory): Promise<void> {
  const out: Outputs = { confirm: new Map(), live: new Map(), republished: [], republishedSnapshots: [], updates: [], snapshots: [], forwards: new Map(), deadLetters: [], memory, tally: [] };
  const now = deps.now();
  if (batch.topic === deps.topics.resolved) await onTouchpoints(deps, out, batch, now);
  else if (batch.topic === deps.topics.merges) await onMerges(deps, out, batch, now);
  else await onErasures(deps, out, batch, now);
  // Sent under a membership that ended, the transaction would be refused by the coordinator
  // (its offsets carry the generation, KAFKA_MEMBERSHIP_FENCED) after its records went out
  // and were aborted; at least once, its records would be published for a partition that is
  // another member's now. Known here, it sends nothing.
  if (batch.membership?.aborted === true) throw new MembershipEndedError(batch.topic, batch.partition);
  await deps.transactions.commit(
    [
      { topic: deps.topics.updates, messages: [...out.republished, ...out.updates] },
      { topic: deps.topics.snapshots, messages: [...out.republishedSnapshots, ...out.snapshots] },
      ...[...out.forwards].map(([topic, messages]) => ({ topic, messages })),
      { topic: deps.topics.deadLetters, messages: out.deadLetters },
    ],
    [{ groupId, topic: batch.topic, partition: batch.partition, offset: batch.nextOffset, generation: batch.generation }],
  );
  const published = deps.now();
  for (const ingestTime of memory.applied.values()) deps.metrics.updateDelay.observe(Math.max(0, published - ingestTime) / 1000);
  if (memory.applied.size > 0) deps.metrics.touchpoints.inc({ outcome: 'applied' }, memory.applied.size);
  for (const count of memory.tally) count();
  for (const count of out.tally) count();
  // Not awaited: the next batch of the partition need not wait for it. Redis runs one
  // connection's commands in order, so that batch's load (same connection) sees the entries
  // gone. A failure is harmless: that batch sees from the committed offsets that these
  // entries were published and deletes them then (after tombstoning their profiles if they
  // were merged or erased meanwhile, see confirmAndSettle).
  for (const tenant of new Set([...out.confirm.keys(), ...out.live.keys()])) confirmAndSettle(deps, batch.partition, tenant, out.confirm.get(tenant) ?? [], out.live.get(tenant) ?? new Set());
}

/**
 * Deletes the batch's published outbox entries, and asks in the same round trip whether any
 * profile whose snapshot the batch published was merged into another or erased meanwhile. Such
 * a fold or erasure runs on the survivor's partition, usually in another process, and
 * tombstones the profile's snapshot from there: it may have loaded the profile after this
 * batch's Redis commit and published its tombstone before this batch's snapshot reached the
 * broker, which compaction would then keep for good (a merged profile back in the snapshots
 * topic; an erased person's data). The profile's own partition is the one place that orders
 * its records, so it publishes the tombstone again, after its snapshot, and only then deletes
 * the outbox entry that published the snapshot: if the process dies first, or the send or the
 * deletion fails, the next batch of the partition finds the entry published, its profile gone,
 * and sends the tombstone in its own transaction (recoverOutbox). Not awaited, like the
 * deletion; tracked in deps.background, which the service's stop waits for.
 */
function confirmAndSettle(deps: BuilderDeps, partition: number, tenant: string, entries: readonly PublishedEntry[], live: ReadonlySet<string>): void {
  // The profiles of the entries are checked with them: each profile is sent once.
  const others = new Set(live);
  for (const entry of entries) if (entry.profile !== undefined) others.delete(entry.profile);
  const work = deps.store
    .confirm(tenant, partition, entries, [...others])
    .then(async (gone) => {
      if (gone.length === 0) return;
      deps.logger.info({ tenant, partition, profiles: gone }, 'profiles merged or erased while their snapshots were being published: tombstoned again');
      await deps.transactions.commit([{ topic: deps.topics.snapshots, messages: gone.map((profileId) => ({ key: profileId, value: null })) }], []);
      const kept = new Set(gone);
      await deps.store.confirm(tenant, partition, entries.filter((entry) => entry.profile !== undefined && kept.has(entry.profile)).map((entry) => ({ field: entry.field })));
    })
    .catch((error: unknown) => {
      deps.logger.warn({ err: error, tenant, partition }, 'could not delete published outbox entries or tombstone profiles merged meanwhile');
    });
  deps.background?.track(work);
}

function liveSnapshot(out: Outputs, tenant: string, profileId: string): void {
  const set = out.live.get(tenant);
  if (set) set.add(profileId);
  else out.live.set(tenant, new Set([profileId]));
}

function confirmLater(out: Outputs, tenant: string, entries: readonly PublishedEntry[]): void {
  if (entries.length === 0) return;
  const list = out.confirm.get(tenant);
  if (list) for (const entry of entries) list.push(entry);
  else out.confirm.set(tenant, [...entries]);
}

/** The profile a touchpoint batch's outbox entry published, from its field (adopted ones included), or undefined for another entry. */
function profileOfEntry(deps: BuilderDeps, field: string): string | undefined {
  const parts = field.split('|');
  return parts.length >= 3 && parts[parts.length - 3] === deps.topics.resolved ? parts[parts.length - 1] : undefined;
}

/**
 * Publishes what an earlier attempt on this partition committed to Redis but not to Kafka.
 * An outbox entry was published iff the group's committed offset of the input partition its
 * field names reached the field's offset (offsets commit in the same transaction as the
 * outputs).
 *
 * An entry republished here is first renamed after this batch (adopted): this transaction
 * commits this batch's offset, not the entry's. Left under its old name, an entry of another
 * input topic (a merge batch recovering a failed touchpoint batch's entries) or of a later
 * offset (other batch boundaries after a rebalance) would still look unpublished if the
 * builder died after this transaction and before deleting it, and would be published twice.
 * The renamed entry is safe the same way the original was: this batch holds records of the
 * tenant, and the first batch whose commit passes such a record's offset contains that record,
 * so it recovers the tenant's outbox (adopting the entry) before the offset can pass the entry's.
 */
async function recoverOutbox(deps: BuilderDeps, out: Outputs, tenant: string, batch: BatchInput, outbox: ReadonlyMap<string, Buffer>): Promise<void> {
  if (outbox.size === 0) return;
  const partition = batch.partition;
  const committed = new Map<string, bigint>();
  /** Each update with the record the transaction sends (the bytes kept in the outbox), and whether an earlier attempt at this batch wrote it. */
  const pending: { update: ProfileUpdate; record: Buffer; own: boolean }[] = [];
  /** Entries published already: deleted after this batch's transaction (their profiles' tombstones, if gone, are in it). */
  const deleteAfter: string[] = [];
  /** Entries this batch publishes that already name it (an earlier attempt at it wrote them). */
  const republishing: string[] = [];
  /** Profiles whose snapshots entries published already, left over by a confirmation that did not run or failed. */
  const published: string[] = [];
  const adopted: [string, string][] = [];
  const ownOffset = BigInt(batch.nextOffset);
  for (const [field, updates] of outbox) {
    const { topic, nextOffset } = parseOutboxField(field);
    let offset = committed.get(topic);
    if (offset === undefined) {
      offset = await deps.committedOffset(topic, partition);
      committed.set(topic, offset);
    }
    if (offset >= nextOffset) {
      deleteAfter.push(field);
      const profile = profileOfEntry(deps, field);
      if (profile !== undefined) published.push(profile);
      continue;
    }
    const own = out.memory.committed.has(committedKey(tenant, field));
    for (const entry of await updatesOf(deps, updates)) pending.push({ ...entry, own });
    if (topic === batch.topic && nextOffset === ownOffset) republishing.push(field); // already named after this batch
    else adopted.push([field, outboxField(batch.topic, batch.nextOffset, field)]);
  }
  await deps.store.adoptOutbox(tenant, partition, adopted);
  confirmLater(out, tenant, deleteAfter.map((field) => ({ field })));
  // Each with the profile whose snapshot it publishes again (a touchpoint batch's entry, adopted
  // or not): merged or erased by the time this transaction committed, its entry stays until the
  // tombstone sent again after that snapshot went out (confirmAndSettle); if that send fails,
  // the next batch finds the entry published, its profile gone, and tombstones it. Without the
  // profile the entry was deleted whatever became of it, and a failed send left the snapshot last.
  confirmLater(out, tenant, [...republishing, ...adopted.map(([, renamed]) => renamed)].map((field) => ({ field, profile: profileOfEntry(deps, field) })));
  // Merged or erased since their snapshots went out (confirmAndSettle did not get to tombstone
  // them again): tombstoned in this batch's transaction, after those snapshots.
  for (const profileId of await deps.store.gone(tenant, [...new Set(published)])) out.republishedSnapshots.push({ key: profileId, value: null });
  if (pending.length === 0) return;
  pending.sort(({ update: a }, { update: b }) => (a.profileId < b.profileId ? -1 : a.profileId > b.profileId ? 1 : a.version - b.version));
  const profileIds = [...new Set(pending.map(({ update }) => update.profileId))];
  const { profiles } = await deps.store.load(tenant, profileIds, [], { held: heldStates(deps, tenant, profileIds) });
  let count = 0;
  let own = 0;
  for (const { update, record, own: ours } of pending) {
    // A merge's absorbed profiles are tombstoned even when its survivor was erased since:
    // nothing else tombstones them (docs/profiles.md, "Each touchpoint applied once, each update
    // published once", step 2).
    if (update.kind === 'merge') for (const id of update.mergedProfileIds) out.republishedSnapshots.push({ key: id, value: null });
    // An erased person's updates are never published again, except the erasure itself (of a
    // profile merged into an erased one, written to the outbox by eraseAbsorbed).
    if (profiles.get(update.profileId)?.erasedAt !== undefined && update.kind !== 'erasure') continue;
    out.republished.push({ key: update.profileId, value: record });
    if (update.kind === 'erasure') out.republishedSnapshots.push({ key: update.profileId, value: null });
    if (ours) own += 1;
    else count += 1;
  }
  for (const profileId of profileIds) {
    const current = parseState(deps, tenant, profiles.get(profileId));
    if (current && profiles.get(profileId)?.mergedInto === undefined) {
      out.republishedSnapshots.push({ key: profileId, value: deps.registry.encode(deps.schemaIds.snapshot, snapshotOf(current)) });
      liveSnapshot(out, tenant, profileId);
    }
  }
  if (count > 0) {
    out.tally.push(() => deps.metrics.republished.inc(count));
    deps.logger.info({ tenant, partition, updates: count, profiles: profileIds.length }, 'republishing updates of a transaction that did not commit');
  }
  if (own > 0) deps.logger.debug({ tenant, partition, updates: own }, 'publishing updates an attempt ended by a profile conflict committed');
}

/** The updates of one outbox entry, each with the record to publish. */
async function updatesOf(deps: BuilderDeps, value: Buffer): Promise<{ update: ProfileUpdate; record: Buffer }[]> {
  const entry = unpackOutbox(value);
  if ('legacy' in entry) return entry.legacy.map((update) => ({ update, record: deps.registry.encode(deps.schemaIds.update, update) }));
  const decoded = await deps.registry.decodeMany<ProfileUpdate>(entry.records);
  return decoded.map((result, index) => {
    if (!result.ok) throw result.error;
    return { update: result.value, record: entry.records[index] as Buffer };
  });
}

function forward(out: Outputs, topic: string, message: Message): void {
  const list = out.forwards.get(topic);
  if (list) list.push(message);
  else out.forwards.set(topic, [message]);
}

/**
 * Decodes a batch's records; one that does not decode, or whose tenant (`tenantOf`) cannot be
 * its Redis keys' hash tag (its scripts would fail on every retry), is dead-lettered.
 */
async function decode<T>(deps: BuilderDeps, out: Outputs, topic: string, partition: number, messages: readonly KafkaMessage[], now: number, tenantOf: (value: T) => string, reader?: AvroType): Promise<{ message: KafkaMessage; value: T }[]> {
  const decoded = await deps.registry.decodeMany<T>(
    messages.map((message) => message.value ?? Buffer.alloc(0)),
    reader,
  );
  const good: { message: KafkaMessage; value: T }[] = [];
  const refuse = (message: KafkaMessage, code: string, text: string, details?: Readonly<Record<string, unknown>>): void => {
    out.deadLetters.push(deadLetter({ topic, partition, message }, { code, message: text, ...(details ? { details } : {}) }, 'profile-builder', now));
    out.tally.push(() => deps.metrics.deadLettered.inc({ reason: code }));
  };
  decoded.forEach((result, index) => {
    const message = messages[index] as KafkaMessage;
    if (!result.ok) return refuse(message, result.error.code, result.error.message);
    const tenant = tenantOf(result.value);
    const problem = tenantProblem(tenant);
    if (problem !== undefined) return refuse(message, 'INVALID_TENANT', `Record at offset ${message.offset} of ${topic}/${partition}: tenant ${JSON.stringify(tenant)} ${problem}`, { field: 'tenant' });
    good.push({ message, value: result.value });
  });
  return good;
}

/** Follows merged-into links to the live survivor (usually one hop). */
async function survivorOf(deps: BuilderDeps, tenant: string, loaded: LoadedProfile): Promise<string> {
  return (await survivorsOf(deps, tenant, [loaded])).get(loaded.profileId) ?? loaded.profileId;
}

/**
 * The live survivor of each merged profile in `loaded`, by its id: merged-into links followed
 * for all of them at once, one Redis round trip per hop (usually one), not one per profile.
 */
async function survivorsOf(deps: BuilderDeps, tenant: string, loaded: readonly LoadedProfile[]): Promise<Map<string, string>> {
  const survivors = new Map<string, string>();
  /** merged profile → where its chain has got to */
  let chains = new Map<string, string>();
  for (const profile of loaded) if (profile.mergedInto !== undefined) chains.set(profile.profileId, profile.mergedInto);
  for (let hops = 0; hops < 64 && chains.size > 0; hops += 1) {
    const { profiles } = await deps.store.load(tenant, [...new Set(chains.values())], [], { states: false });
    const next = new Map<string, string>();
    for (const [start, current] of chains) {
      const further = profiles.get(current)?.mergedInto;
      if (further === undefined) survivors.set(start, current);
      else next.set(start, further);
    }
    chains = next;
  }
  for (const [start, current] of chains) survivors.set(start, current); // a chain longer than 64: as far as it got
  return survivors;
}

/**
 * Decoded states by tenant and profile id, valid for the version they were decoded or written
 * at. A version names one state of one tenant's profile for good (every write increments it),
 * so a hit skips JSON parsing and validation of a state this process already holds. Profile
 * ids made before they carried their tenant's namespace (`p<seq>`, docs/identity.md) repeat
 * across tenants (two tenants' `p1` share a partition and this cache), hence the tenant in
 * the key. Least recently used entries go first.
 */
export class StateCache {
  readonly #entries = new Map<string, { readonly state: ProfileState; readonly bytes: number }>();
  readonly #capacity: number;
  readonly #maxBytes: number;
  #bytes = 0;

  /**
   * At most `capacity` states, whose JSON together is at most `maxBytes` characters (a decoded
   * state takes about 1.4 times its JSON on the heap, measured on simulated profiles): counted
   * alone, 20,000 profiles near MAX_PROFILE_BYTES would take gigabytes.
   */
  constructor(capacity: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#capacity = capacity;
    this.#maxBytes = maxBytes;
  }

  /** States held, and their JSON's characters together. */
  get size(): { readonly states: number; readonly bytes: number } {
    return { states: this.#entries.size, bytes: this.#bytes };
  }

  /** The state held for a tenant's profile, whatever its version, without making it more recent. */
  peek(tenant: string, profileId: string): ProfileState | undefined {
    return this.#entries.get(cacheKey(tenant, profileId))?.state;
  }

  get(tenant: string, profileId: string, version: number): ProfileState | undefined {
    const key = cacheKey(tenant, profileId);
    const entry = this.#entries.get(key);
    if (entry?.state.version !== version) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.state;
  }

  /** Holds `state`, whose JSON is `bytes` characters long; one over the byte bound alone is not held (an older version of it neither). */
  set(state: ProfileState, bytes: number): void {
    const key = cacheKey(state.tenant, state.profileId);
    this.#remove(key);
    if (bytes > this.#maxBytes) return;
    this.#entries.set(key, { state, bytes });
    this.#bytes += bytes;
    while (this.#entries.size > this.#capacity || this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#remove(oldest.value);
    }
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

// The tenant's length first: unambiguous whatever characters the two hold.
function cacheKey(tenant: string, profileId: string): string {
  return `${tenant.length}:${tenant}${profileId}`;
}

/** The decoded states this process holds of a tenant's `profileIds`, to load them without their JSON. */
function heldStates(deps: BuilderDeps, tenant: string, profileIds: readonly string[]): Map<string, ProfileState> {
  const held = new Map<string, ProfileState>();
  for (const profileId of profileIds) {
    const state = deps.states.peek(tenant, profileId);
    if (state) held.set(profileId, state);
  }
  return held;
}

function parseState(deps: BuilderDeps, tenant: string, loaded: LoadedProfile | undefined): ProfileState | undefined {
  if (!loaded?.stored) return undefined;
  if (loaded.stored.decoded) return loaded.stored.decoded;
  const cached = deps.states.get(tenant, loaded.profileId, loaded.stored.version);
  if (cached) return cached;
  if (loaded.stored.state === null) throw new ElephantError('PROFILE_STATE_NOT_LOADED', `Profile ${loaded.profileId} was loaded without its state`, { retryable: false });
  const state = parseProfileState(JSON.parse(loaded.stored.state));
  deps.states.set(state, loaded.stored.state.length);
  return state;
}

/** Encodes an update (as sent, and as kept in the outbox). */
function encodeUpdate(deps: BuilderDeps, update: ProfileUpdate): Buffer {
  return deps.registry.encode(deps.schemaIds.update, update);
}

function publishUpdate(out: Outputs, profileId: string, record: Buffer): void {
  out.updates.push({ key: profileId, value: record });
}

function encodeSnapshot(deps: BuilderDeps, state: ProfileState): Buffer {
  return deps.registry.encode(deps.schemaIds.snapshot, snapshotOf(state));
}

function publishSnapshot(deps: BuilderDeps, out: Outputs, state: ProfileState): void {
  out.snapshots.push({ key: state.profileId, value: encodeSnapshot(deps, state) });
  liveSnapshot(out, state.tenant, state.profileId);
}

/**
 * Commits a touchpoint batch's profiles. A commit refused because its profile was merged or
 * erased since the batch loaded it needs no second pass over the batch: nothing of that
 * profile was written, the other profiles' commits stand, and the caller sends its touchpoints
 * where a fresh load would (to the survivor; nowhere for an erased profile). Only a moved
 * version or an event applied elsewhere ('conflict', 'duplicate') fails the batch, which is
 * then processed again.
 */
async function commitTouchpoints(deps: BuilderDeps, out: Outputs, tenant: string, requests: CommitRequest[], pending: ReadonlyMap<string, AppliedToProfile>): Promise<CommitOutcome[]> {
  const outcomes = await deps.store.commit(tenant, requests);
  // Before anything can fail: a profile committed is published, by this attempt or the next.
  requests.forEach((request, index) => {
    if (outcomes[index] !== 'ok') return;
    out.memory.committed.add(committedKey(tenant, request.outbox.field));
    for (const record of pending.get(request.profileId)?.records ?? []) {
      out.memory.applied.set(record.touchpoint.eventId, record.touchpoint.ingestTime);
    }
  });
  const failed = requests.flatMap((request, index) => {
    const outcome = outcomes[index] ?? 'conflict';
    return outcome === 'conflict' || outcome === 'duplicate' ? [`${request.profileId} (${outcome})`] : [];
  });
  if (failed.length > 0) {
    deps.metrics.conflicts.inc(failed.length);
    throw new ProfileConflictError(failed);
  }
  return outcomes;
}

/** A touchpoint in flight for a profile merged since: to the survivor, whose writer applies it (decoded whole, properties included). */
async function forwardTouchpoint(deps: BuilderDeps, out: Outputs, message: KafkaMessage, survivor: string): Promise<void> {
  const whole = await deps.registry.decode<ResolvedTouchpoint>(message.value ?? Buffer.alloc(0));
  forward(out, deps.topics.resolved, { key: survivor, value: deps.registry.encode(deps.schemaIds.resolved, { ...whole, profileId: survivor }) });
  out.tally.push(() => deps.metrics.touchpoints.inc({ outcome: 'forwarded' }));
}

async function onTouchpoints(deps: BuilderDeps, out: Outputs, batch: BatchInput, now: number): Promise<void> {
  const records = await decode<AppliedRecord>(deps, out, batch.topic, batch.partition, batch.messages, now, (record) => record.touchpoint.tenant, appliedRecordType);
  const byTenant = new Map<string, { message: KafkaMessage; value: AppliedRecord }[]>();
  for (const record of records) {
    const list = byTenant.get(record.value.touchpoint.tenant);
    if (list) list.push(record);
    else byTenant.set(record.value.touchpoint.tenant, [record]);
  }
  for (const [tenant, list] of byTenant) {
    const profileIds = [...new Set(list.map(({ value }) => value.profileId))];
    const { profiles, applied, outbox } = await deps.store.load(tenant, profileIds, [...new Set(list.map(({ value }) => value.touchpoint.eventId))], { partition: batch.partition, held: heldStates(deps, tenant, profileIds) });
    await recoverOutbox(deps, out, tenant, batch, outbox);
    // Touchpoints of profiles merged away meanwhile go to the survivors: looked up together.
    const survivors = await survivorsOf(deps, tenant, [...profiles.values()].filter((loaded) => loaded.mergedInto !== undefined && loaded.erasedAt === undefined));
    const working = new Map<string, ProfileState>();
    // A touchpoint delivered twice within one batch counts once too.
    const seenInBatch = new Set<string>();
    const pending = new Map<string, AppliedToProfile>();
    const limit = deps.maxProfileBytes ?? DEFAULT_MAX_PROFILE_BYTES;
    /** Profiles with an update over the limit in this batch: applied again one by one below. */
    const oversized = new Set<string>();
    for (const { message, value: record } of list) {
      const loaded = profiles.get(record.profileId);
      const eventId = record.touchpoint.eventId;
      if (loaded?.erasedAt !== undefined) {
        out.tally.push(() => deps.metrics.touchpoints.inc({ outcome: 'erased' }));
        continue;
      }
      if (loaded?.mergedInto !== undefined) {
        await forwardTouchpoint(deps, out, message, survivors.get(loaded.profileId) ?? loaded.mergedInto);
        continue;
      }
      if (seenInBatch.has(eventId) || applied.has(eventId)) {
        // Applied before (its update was published, or is in the outbox being republished),
        // unless an earlier attempt at this batch applied it: counted as applied then.
        if (seenInBatch.has(eventId) || !out.memory.applied.has(eventId)) out.tally.push(() => deps.metrics.touchpoints.inc({ outcome: 'duplicate' }));
        seenInBatch.add(eventId);
        continue;
      }
      seenInBatch.add(eventId);
      const state = working.get(record.profileId) ?? parseState(deps, tenant, loaded) ?? emptyProfile(record.profileId, tenant, record.touchpoint.ingestTime);
      const change = applyTouchpoint(state, record.touchpoint, { ...deps.profileOptions, excludedIdentifiers: record.excludedIdentifiers, now });
      working.set(record.profileId, change.state);
      const update = updateOf(change.state, change.changes, { kind: 'touchpoint', eventId });
      const entry = pending.get(record.profileId) ?? { events: [], messages: [], updates: [], records: [], refused: [] };
      pending.set(record.profileId, entry);
      entry.events.push(eventId);
      entry.messages.push(message);
      const encoded = encodeUpdate(deps, update);
      if (encoded.length > limit) oversized.add(record.profileId);
      entry.updates.push(encoded);
      entry.records.push(record);
    }
    const requests: CommitRequest[] = [];
    for (const [profileId, entry] of pending) {
      let state = working.get(profileId) as ProfileState;
      let json = JSON.stringify(state);
      if (oversized.has(profileId) || jsonBytesOver(json, limit)) {
        const within = applyWithinLimit(deps, tenant, profiles.get(profileId), profileId, entry, now, limit);
        if (within === undefined) {
          // Nothing to commit: the profile stays as loaded (live), and the refused touchpoints go to the dead letters now.
          deadLetterRefused(deps, out, batch, tenant, profileId, entry.refused, now);
          pending.delete(profileId);
          continue;
        }
        ({ state, json } = within);
        working.set(profileId, state);
      }
      requests.push({
        profileId,
        expectedVersion: profiles.get(profileId)?.stored?.version,
        version: state.version,
        state: json,
        appliedEventIds: entry.events,
        outbox: { partition: batch.partition, field: outboxField(batch.topic, batch.nextOffset, profileId), updates: entry.updates },
        absorbed: [],
      });
    }
    const outcomes = await commitTouchpoints(deps, out, tenant, requests, pending);
    // Published only for the profiles whose commit went through; each profile's updates in order.
    const confirmed: PublishedEntry[] = [];
    for (const [index, request] of requests.entries()) {
      const entry = pending.get(request.profileId) as AppliedToProfile;
      const outcome = outcomes[index] as CommitOutcome;
      if (outcome === 'ok') {
        const state = working.get(request.profileId) as ProfileState;
        for (const record of entry.updates) publishUpdate(out, request.profileId, record);
        publishSnapshot(deps, out, state);
        deps.states.set(state, request.state.length);
        confirmed.push({ field: request.outbox.field, profile: request.profileId });
        deadLetterRefused(deps, out, batch, tenant, request.profileId, entry.refused, now);
      } else if (outcome === 'erased') {
        // The touchpoints the size limit refused too: a dead letter would keep the erased person's data.
        out.tally.push(() => deps.metrics.touchpoints.inc({ outcome: 'erased' }, entry.events.length + entry.refused.length));
      } else {
        // Merged since the load: to the live survivor, as a fresh load would have sent them,
        // the ones the size limit refused against this profile too (the survivor's writer
        // judges them against the survivor).
        const merged: LoadedProfile = { profileId: request.profileId, stored: undefined, mergedInto: outcome.slice('merged:'.length), erasedAt: undefined };
        const survivor = await survivorOf(deps, tenant, merged);
        for (const message of [...entry.messages, ...entry.refused.map((refused) => refused.message)]) await forwardTouchpoint(deps, out, message, survivor);
      }
    }
    confirmLater(out, tenant, confirmed);
  }
}

/** What a touchpoint batch applied to one profile: its events, their messages, its updates (encoded, in order), their records. */
interface AppliedToProfile {
  readonly events: string[];
  readonly messages: KafkaMessage[];
  readonly updates: Buffer[];
  readonly records: AppliedRecord[];
  /** Touchpoints the size limit refused (applyWithinLimit): dead-lettered once the profile's commit went through. */
  readonly refused: RefusedTouchpoint[];
}

/** A touchpoint that would take its profile over MAX_PROFILE_BYTES. */
interface RefusedTouchpoint {
  readonly message: KafkaMessage;
  readonly eventId: string;
  readonly stateBytes: number;
  readonly updateBytes: number;
  readonly limit: number;
}

/**
 * Dead-letters the touchpoints the size limit refused for a profile (PROFILE_TOO_LARGE, with
 * the sizes), once its commit went through or when nothing of it was to be committed. Not when
 * the commit found the profile erased or merged since its load (before 2026-12-07 they were
 * dead-lettered then too: the erased person's touchpoints kept in the dead-letter topic, and a
 * merged profile's not sent on to the survivor with the rest).
 */
function deadLetterRefused(deps: BuilderDeps, out: Outputs, batch: BatchInput, tenant: string, profileId: string, refused: readonly RefusedTouchpoint[], now: number): void {
  for (const { message, eventId, stateBytes, updateBytes, limit } of refused) {
    const what = stateBytes > limit ? `a profile state of ${stateBytes} bytes` : `an update of ${updateBytes} bytes`;
    const reason = { code: 'PROFILE_TOO_LARGE', message: `Touchpoint ${eventId} would make ${what} for profile ${profileId}, over the limit of ${limit} (MAX_PROFILE_BYTES)`, details: { profileId, eventId, stateBytes, updateBytes, limit } };
    out.deadLetters.push(deadLetter({ topic: batch.topic, partition: batch.partition, message }, reason, 'profile-builder', now));
    out.tally.push(() => deps.metrics.deadLettered.inc({ reason: reason.code }));
    deps.logger.warn({ tenant, profileId, eventId, stateBytes, updateBytes, limit }, 'touchpoint dead-lettered: the profile would grow over MAX_PROFILE_BYTES');
  }
}

/** Whether a JSON text takes more than `limit` bytes in UTF-8 (counted only when it might). */
function jsonBytesOver(json: string, limit: number): boolean {
  return json.length * 3 > limit && Buffer.byteLength(json) > limit;
}

/**
 * The slow path of a profile that went over the size limit in this batch (its state, or one
 * of its updates): its touchpoints applied again one by one from the loaded state, each one
 * that would leave the state or publish an update over the limit left out, in `entry.refused`
 * (dead-lettered as PROFILE_TOO_LARGE once the commit went through: deadLetterRefused), so the
 * partition moves on and the touchpoint can be replayed once the limit is raised. `entry` is
 * rewritten to what was kept.
 * Undefined when nothing was kept.
 */
function applyWithinLimit(deps: BuilderDeps, tenant: string, loaded: LoadedProfile | undefined, profileId: string, entry: AppliedToProfile, now: number, limit: number): { state: ProfileState; json: string } | undefined {
  const records = entry.records.splice(0);
  const messages = entry.messages.splice(0);
  entry.events.length = 0;
  entry.updates.length = 0;
  let kept: { state: ProfileState; json: string } | undefined;
  records.forEach((record, index) => {
    const message = messages[index] as KafkaMessage;
    const eventId = record.touchpoint.eventId;
    const base = kept?.state ?? parseState(deps, tenant, loaded) ?? emptyProfile(profileId, tenant, record.touchpoint.ingestTime);
    const change = applyTouchpoint(base, record.touchpoint, { ...deps.profileOptions, excludedIdentifiers: record.excludedIdentifiers, now });
    const json = JSON.stringify(change.state);
    const update = encodeUpdate(deps, updateOf(change.state, change.changes, { kind: 'touchpoint', eventId }));
    const stateBytes = Buffer.byteLength(json);
    if (stateBytes > limit || update.length > limit) {
      entry.refused.push({ message, eventId, stateBytes, updateBytes: update.length, limit });
      return;
    }
    kept = { state: change.state, json };
    entry.events.push(eventId);
    entry.messages.push(message);
    entry.updates.push(update);
    entry.records.push(record);
  });
  return kept;
}

/** Outbox entries of every tenant in the batch are published before anything new of the partition. */
async function recoverTenants(deps: BuilderDeps, out: Outputs, batch: BatchInput, tenants: Iterable<string>): Promise<void> {
  for (const tenant of new Set(tenants)) await recoverOutbox(deps, out, tenant, batch, await deps.store.outbox(tenant, batch.partition));
}

async function onMerges(deps: BuilderDeps, out: Outputs, batch: BatchInput, now: number): Promise<void> {
  const merges = await decode<IdentityMerge>(deps, out, batch.topic, batch.partition, batch.messages, now, (merge) => merge.tenant);
  await recoverTenants(deps, out, batch, merges.map(({ value }) => value.tenant));
  const seenInBatch = new Set<string>();
  for (const { message, value: merge } of merges) {
    // The resolver re-emits a merge when it sees its touchpoint again: once per batch is enough.
    if (seenInBatch.has(merge.mergeId)) continue;
    seenInBatch.add(merge.mergeId);
    if (merge.mergedProfileIds.includes(merge.survivorProfileId)) {
      // Not a merge the resolver makes; folding it would fail the same way on every retry
      // (INVALID_MERGE from foldMerge) and stop the partition.
      const reason = { code: 'INVALID_MERGE', message: `Merge ${merge.mergeId}: mergedProfileIds names the survivor ${merge.survivorProfileId}`, details: { field: 'mergedProfileIds', survivorProfileId: merge.survivorProfileId } };
      out.deadLetters.push(deadLetter({ topic: batch.topic, partition: batch.partition, message }, reason, 'profile-builder', now));
      out.tally.push(() => deps.metrics.deadLettered.inc({ reason: reason.code }));
      deps.logger.warn({ tenant: merge.tenant, mergeId: merge.mergeId, survivor: merge.survivorProfileId }, 'merge dead-lettered: it names its survivor among the merged profiles');
      continue;
    }
    // A fold refused because a profile moved since it was loaded (routinely: the absorbed
    // profile's touchpoints committed on their own partition meanwhile) is loaded and folded
    // again at once, alone: nothing of it was written, and the merges before it in the batch
    // stand. Only after CONFLICT_ATTEMPTS does the batch fail with PROFILE_CONFLICT.
    for (let attempt = 1; ; attempt += 1) {
      const refused = await applyMerge(deps, out, batch, message, merge, now);
      if (refused === undefined) break;
      deps.metrics.conflicts.inc();
      if (attempt >= CONFLICT_ATTEMPTS) throw new ProfileConflictError([refused]);
    }
  }
}

/**
 * Applies one merge from a fresh load; returns the refused profile (with the commit's answer)
 * when its checked write was refused and nothing was written, undefined when it is done.
 */
async function applyMerge(deps: BuilderDeps, out: Outputs, batch: BatchInput, message: KafkaMessage, merge: IdentityMerge, now: number): Promise<string | undefined> {
  const tenant = merge.tenant;
  const ids = [merge.survivorProfileId, ...merge.mergedProfileIds];
  const { profiles, applied } = await deps.store.load(tenant, ids, [merge.mergeId], { held: heldStates(deps, tenant, ids) });
  const survivor = profiles.get(merge.survivorProfileId);
  if (!survivor) return undefined;
  if (survivor.erasedAt !== undefined) {
    // The erasure overtook the merge (another input topic): the absorbed profiles are the
    // erased person too, and skipping the merge would leave them alive.
    await eraseAbsorbed(deps, out, batch, merge, { profiles, applied, erasedAt: survivor.erasedAt }, now);
    return undefined;
  }
  if (survivor.mergedInto !== undefined) {
    const root = await survivorOf(deps, tenant, survivor);
    forward(out, deps.topics.merges, { key: root, value: deps.registry.encode(deps.schemaIds.merge, { ...merge, survivorProfileId: root }) });
    return undefined;
  }
  // Folded before: its update was published, or is in the outbox being republished.
  if (applied.has(merge.mergeId)) return undefined;
  const loadedAbsorbed = merge.mergedProfileIds.map((id) => profiles.get(id)).filter((loaded): loaded is LoadedProfile => loaded !== undefined && loaded.mergedInto === undefined);
  const absorbed = loadedAbsorbed.filter((loaded) => loaded.erasedAt === undefined);
  const erasedFirst = loadedAbsorbed.find((loaded) => loaded.erasedAt !== undefined);
  if (erasedFirst?.erasedAt !== undefined) {
    // An absorbed profile was erased before this merge reached the builder (the erasure
    // overtook it from the erasures topic): the resolver had already moved its identifiers to
    // the survivor, which is the same person, holding them. Folding the others and skipping the
    // erased one left that person alive in the survivor; the survivor and the others are erased
    // instead (requests on the erasures topic, keyed by each: the survivor's partition is this
    // one). Nothing is folded; a redelivered merge asks again, and an erasure repeated is a no-op.
    deps.logger.info({ tenant, mergeId: merge.mergeId, erased: erasedFirst.profileId, survivor: merge.survivorProfileId }, 'merge of a profile erased before it: the survivor is erased too');
    forwardErasures(deps, out, { requestId: merge.mergeId, tenant, requestedAt: erasedFirst.erasedAt, reason: null }, [merge.survivorProfileId, ...absorbed.map((loaded) => loaded.profileId)]);
    return undefined;
  }
  const base = parseState(deps, tenant, survivor) ?? emptyProfile(merge.survivorProfileId, tenant, merge.mergedAt);
  // A merged profile whose touchpoints the builder has not seen yet still joins mergedFrom;
  // its touchpoints will be forwarded here.
  // `now`: the update's updatedAt is when the builder applied it, as for a touchpoint (without
  // it, the latest updatedAt of the folded states: days old for two quiet profiles).
  const change = foldMerge(base, absorbed.map((loaded) => parseState(deps, tenant, loaded) ?? emptyProfile(loaded.profileId, tenant, merge.mergedAt)), { ...deps.profileOptions, now });
  if (change.folded.length === 0) return undefined; // all folded before (a redelivered or chained merge): nothing new to announce
  const update = updateOf(change.state, change.changes, { kind: 'merge', eventId: merge.mergeId, mergedProfileIds: change.folded });
  const record = encodeUpdate(deps, update);
  const snapshot = encodeSnapshot(deps, change.state);
  const limit = deps.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (record.length > limit || snapshot.length > limit) {
    // The broker would refuse the record on every retry (and, once in the outbox, on every
    // recovery): the partition would stop. The profiles stay apart until the merge is replayed
    // with a higher limit; nothing was written.
    const details = { survivorProfileId: merge.survivorProfileId, mergedProfileIds: change.folded, updateBytes: record.length, snapshotBytes: snapshot.length, limit };
    const what = record.length > limit ? `an update of ${record.length} bytes` : `a snapshot of ${snapshot.length} bytes`;
    const reason = { code: 'MERGE_TOO_LARGE', message: `Merge ${merge.mergeId} would publish ${what} for profile ${merge.survivorProfileId}, over the limit of ${limit} (MAX_RECORD_BYTES)`, details };
    // Apart, but the same person: an erasure of any of them must reach the others (erase.lua);
    // one applied since the merge was loaded is followed now.
    const erased = await deps.store.holdApart(tenant, merge.survivorProfileId, change.folded);
    if (erased) forwardErasures(deps, out, { requestId: merge.mergeId, tenant, requestedAt: erased.erasedAt, reason: null }, erased.toErase);
    out.deadLetters.push(deadLetter({ topic: batch.topic, partition: batch.partition, message }, reason, 'profile-builder', now));
    out.tally.push(() => deps.metrics.deadLettered.inc({ reason: reason.code }));
    deps.logger.warn({ tenant, mergeId: merge.mergeId, ...details }, 'merge dead-lettered: its update or snapshot would be over MAX_RECORD_BYTES');
    return undefined;
  }
  const field = outboxField(batch.topic, batch.nextOffset, merge.mergeId);
  const json = JSON.stringify(change.state);
  const [outcome] = await deps.store.commit(tenant, [
    {
      profileId: merge.survivorProfileId,
      expectedVersion: survivor.stored?.version,
      version: change.state.version,
      state: json,
      appliedEventIds: [merge.mergeId],
      outbox: { partition: batch.partition, field, updates: [record] },
      absorbed: absorbed.map((loaded) => ({ profileId: loaded.profileId, expectedVersion: loaded.stored?.version })),
    },
  ]);
  if (outcome !== 'ok') return `${merge.survivorProfileId} (${outcome ?? '?'})`;
  deps.states.set(change.state, json.length);
  out.memory.committed.add(committedKey(tenant, field));
  confirmLater(out, tenant, [{ field }]);
  publishUpdate(out, update.profileId, record);
  out.snapshots.push({ key: change.state.profileId, value: snapshot });
  liveSnapshot(out, tenant, change.state.profileId);
  // The absorbed profiles publish nothing more: their snapshots are tombstoned.
  for (const loaded of absorbed) out.snapshots.push({ key: loaded.profileId, value: null });
  out.memory.tally.push(() => deps.metrics.merges.inc());
  return undefined;
}

/**
 * Erases the live profiles a merge names as absorbed into an erased survivor, as an erasure
 * request for each would: erasure mark, state and graph deleted, an erasure update and a
 * snapshot tombstone each. Once per merge id: the erasure joins `applied` and its updates go
 * through the outbox, so a redelivered merge (or the resolver's re-emitted copy) erases and
 * announces nothing more, and a transaction that did not commit is published by recovery.
 */
async function eraseAbsorbed(
  deps: BuilderDeps,
  out: Outputs,
  batch: BatchInput,
  merge: IdentityMerge,
  found: { readonly profiles: ReadonlyMap<string, LoadedProfile>; readonly applied: ReadonlySet<string>; readonly erasedAt: number },
  now: number,
): Promise<void> {
  const { profiles, applied } = found;
  // Profiles a dead-lettered merge held apart from these (docs/profiles.md, "Size"): erased by
  // requests of their own, sent again when the merge is read again and they are not erased yet.
  const eraseHeldApart = (profileIds: readonly string[]): void => forwardErasures(deps, out, { requestId: merge.mergeId, tenant: merge.tenant, requestedAt: found.erasedAt, reason: null }, profileIds);
  if (applied.has(merge.mergeId)) {
    eraseHeldApart(await deps.store.heldApartOf(merge.tenant, merge.survivorProfileId));
    // The erasure this merge made may have left event results queued (a builder that stopped
    // after it): deleted before the batch publishes it again.
    await deps.store.purgeErased(merge.tenant);
    return;
  }
  const absorbed = merge.mergedProfileIds.map((id) => profiles.get(id)).filter((loaded): loaded is LoadedProfile => loaded !== undefined && loaded.mergedInto === undefined && loaded.erasedAt === undefined);
  if (absorbed.length === 0) {
    await deps.store.purgeErased(merge.tenant);
    return;
  }
  const updates = absorbed.map((loaded) => erasureUpdateOf(loaded.profileId, merge.tenant, (loaded.stored?.version ?? 0) + 1, { eventId: merge.mergeId, at: now }));
  const records = updates.map((update) => encodeUpdate(deps, update));
  const field = outboxField(batch.topic, batch.nextOffset, merge.mergeId);
  const { outcome, heldApart } = await deps.store.eraseAbsorbed(
    merge.tenant,
    merge.mergeId,
    merge.survivorProfileId,
    absorbed.map((profile) => ({ profileId: profile.profileId, expectedVersion: profile.stored?.version })),
    // The survivor's erasure time: the absorbed profiles are the same person, erased then.
    found.erasedAt,
    now,
    { partition: batch.partition, field, updates: records },
  );
  eraseHeldApart(heldApart);
  if (outcome === 'duplicate') return;
  if (outcome === 'conflict') {
    deps.metrics.conflicts.inc(absorbed.length);
    throw new ProfileConflictError(absorbed.map((loaded) => loaded.profileId));
  }
  out.memory.committed.add(committedKey(merge.tenant, field));
  confirmLater(out, merge.tenant, [{ field }]);
  updates.forEach((update, index) => {
    publishUpdate(out, update.profileId, records[index] as Buffer);
    out.snapshots.push({ key: update.profileId, value: null });
  });
  out.memory.tally.push(() => deps.metrics.erasures.inc(updates.length));
  deps.logger.info({ tenant: merge.tenant, survivor: merge.survivorProfileId, erased: absorbed.map((loaded) => loaded.profileId), mergeId: merge.mergeId }, 'profiles merged into an erased profile erased');
}

/** Sends `request` again for each of `profileIds`, keyed by it (docs/profiles.md, "Erasure"). */
function forwardErasures(deps: BuilderDeps, out: Outputs, request: Omit<ErasureRequest, 'profileId'>, profileIds: readonly string[]): void {
  for (const profileId of profileIds) forward(out, deps.topics.erasures, { key: profileId, value: deps.registry.encode(deps.schemaIds.erasure, { ...request, profileId }) });
}

async function onErasures(deps: BuilderDeps, out: Outputs, batch: BatchInput, now: number): Promise<void> {
  const requests = await decode<ErasureRequest>(deps, out, batch.topic, batch.partition, batch.messages, now, (request) => request.tenant);
  await recoverTenants(deps, out, batch, requests.map(({ value }) => value.tenant));
  for (const { value: request } of requests) {
    // Idempotent: a request read again erases nothing more and announces the same version at
    // the same time (the same record). Marks carry the request's time (events ingested before
    // it are the person's leftovers); the update says when the builder first applied it.
    const result = await deps.store.erase(request.tenant, request.profileId, request.requestedAt, now);
    if ('mergedInto' in result) {
      forward(out, deps.topics.erasures, { key: result.mergedInto, value: deps.registry.encode(deps.schemaIds.erasure, { ...request, profileId: result.mergedInto }) });
      continue;
    }
    // Erased with the profile it had been folded into, whose erasure update was the announcement.
    if ('absorbed' in result) continue;
    const update = erasureUpdateOf(request.profileId, request.tenant, result.version, { eventId: request.requestId, at: result.appliedAt });
    publishUpdate(out, update.profileId, encodeUpdate(deps, update));
    out.snapshots.push({ key: request.profileId, value: null });
    // Profiles a dead-lettered merge held apart from this one, or this one from: the same
    // person, each erased by a request of its own on its own partition (its single writer),
    // sent again while the request is repeated and it is not erased yet.
    forwardErasures(deps, out, request, result.heldApart);
    out.tally.push(() => deps.metrics.erasures.inc());
    deps.logger.info({ tenant: request.tenant, profileId: request.profileId, requestId: request.requestId, heldApart: result.heldApart }, 'profile erased');
  }
}
