import './read-committed.ts';
/**
 * kafkajs 2.2.4's fetch with incremental fetch sessions (KIP-227), grouped by topic, and
 * without the partitions that brought nothing.
 *
 * kafkajs sends every assigned partition in every fetch, and the broker answers for every one
 * of them, records or not. A consumer of many partitions at a low rate (the normalizer of all
 * eight channels: 64 partitions, about 100 fetches a second at 1,000 messages/s) spent most of
 * its fetching on partitions that had nothing. Like the Java client, this fetch opens a fetch
 * session with the broker: after the first (full) request, a request names only the
 * partitions whose fetch position changed (and forgets those no longer fetched), and the
 * broker answers only for partitions with something new. A session the broker no longer knows
 * (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH) or any failed fetch starts a new
 * one with a full request; a fetch that overlaps another on the same broker goes without a
 * session.
 *
 * kafkajs shuffles a full request's partitions one by one and merges only neighbours of the
 * same topic, so eight topics of eight partitions went as about 57 topic entries instead of
 * 8; the topics are shuffled here, and the partitions within each topic, keeping each topic's
 * partitions together, as the Java client does.
 *
 * kafkajs then makes a `Batch` of every partition of the response and runs each through its
 * worker queue (a promise, offset arithmetic on Long values, a heartbeat check). A partition
 * of the response without a record and without an error is dropped here: kafkajs' runner does
 * nothing with an empty batch but heartbeat, and it heartbeats after a fetch that returned no
 * batch too. packages/kafka/test/fetch.test.ts checks all of it against a stand-in broker,
 * and the consumer tests against a real one.
 */
import { kafkajsModule } from './internals.ts';

/** A partition of kafkajs' fetch request: `{ partition, fetchOffset, maxBytes }`. */
interface FetchPartition {
  readonly partition: number;
  readonly fetchOffset?: string;
  readonly maxBytes?: number;
  readonly logStartOffset?: number;
  readonly currentLeaderEpoch?: number;
}

interface FetchTopic {
  readonly topic: string;
  readonly partitions: readonly FetchPartition[];
}

export interface FetchArguments {
  readonly replicaId?: number;
  readonly isolationLevel?: number;
  readonly maxWaitTime?: number;
  readonly minBytes?: number;
  readonly maxBytes?: number;
  readonly topics: readonly FetchTopic[];
  readonly rackId?: string;
}

interface FetchedPartition {
  readonly errorCode: number;
  readonly preferredReadReplica?: number;
  readonly messages: readonly unknown[];
}

interface FetchResponse {
  readonly errorCode?: number;
  readonly sessionId?: number;
  readonly responses: readonly { readonly topicName: string; readonly partitions: readonly FetchedPartition[] }[];
}

interface FetchRequest extends FetchArguments {
  readonly sessionId: number;
  readonly sessionEpoch: number;
  readonly forgottenTopics: readonly { readonly topic: string; readonly partitions: readonly number[] }[];
}

type RequestFactory = (request: FetchRequest) => unknown;

export interface BrokerLike {
  lookupRequest(apiKey: number, definition: unknown): RequestFactory;
}

type SendRequest = (this: BrokerLike, request: unknown) => Promise<FetchResponse>;

/** A copy of `items` in random order (Fisher-Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    const swap = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = swap;
  }
  return copy;
}

/** Whether a fetched partition carries anything kafkajs acts on besides a heartbeat. */
function worthABatch(partition: FetchedPartition): boolean {
  return partition.messages.length > 0 || partition.errorCode !== 0 || (partition.preferredReadReplica !== undefined && partition.preferredReadReplica !== -1);
}

/** Fetch session errors (top-level): the broker does not know the session or its epoch. */
const FETCH_SESSION_ID_NOT_FOUND = 70;
const INVALID_FETCH_SESSION_EPOCH = 71;
/** Epoch 0 asks for a new session (closing the one named, if any); -1 fetches without one. */
const INITIAL_EPOCH = 0;
const FINAL_EPOCH = -1;

interface Session {
  /** 0: none yet (the next request is a full one that opens a session). */
  id: number;
  /** The epoch of the next incremental request. */
  epoch: number;
  /** What the session holds: `topic\u0000partition` → the partition as last sent. */
  readonly sent: Map<string, SessionPartition>;
  inFlight: boolean;
}

interface SessionPartition {
  readonly topic: string;
  readonly partition: FetchPartition;
}

/** Items collected per topic, in the shape of a request's topic list. */
function byTopic<T>() {
  const topics = new Map<string, T[]>();
  return {
    add(topic: string, item: T): void {
      const list = topics.get(topic);
      if (list) list.push(item);
      else topics.set(topic, [item]);
    },
    entries: (): { topic: string; partitions: T[] }[] => [...topics].map(([topic, partitions]) => ({ topic, partitions })),
  };
}

/** The next request is a full one, opening a new session (and closing this one, when `id` is kept). */
function restart(session: Session, keepId: boolean): void {
  if (!keepId) session.id = 0;
  session.epoch = INITIAL_EPOCH;
  session.sent.clear();
}

function samePartition(a: FetchPartition, b: FetchPartition): boolean {
  return a.fetchOffset === b.fetchOffset && a.maxBytes === b.maxBytes && a.logStartOffset === b.logStartOffset && a.currentLeaderEpoch === b.currentLeaderEpoch;
}

/** The fetch method (exported for the test): `send` is the broker's private request sender. */
export function sessionFetch(fetchApiKey: number, fetchDefinition: unknown, send: SendRequest) {
  const sessions = new WeakMap<BrokerLike, Session>();
  return async function fetch(this: BrokerLike, args: FetchArguments): Promise<FetchResponse> {
    let session = sessions.get(this);
    if (!session) {
      session = { id: 0, epoch: INITIAL_EPOCH, sent: new Map(), inFlight: false };
      sessions.set(this, session);
    }
    if (session.inFlight) return filtered(await fetchOnce(this, args, undefined));
    session.inFlight = true;
    try {
      let response = await fetchOnce(this, args, session);
      // A session the broker lost (restart, eviction): again at once, with a full request.
      if (response.errorCode === FETCH_SESSION_ID_NOT_FOUND || response.errorCode === INVALID_FETCH_SESSION_EPOCH) response = await fetchOnce(this, args, session);
      return filtered(response);
    } catch (error) {
      // Whatever the broker made of the request, start over with a full one (closing this
      // session, if the broker still has it).
      restart(session, true);
      throw error;
    } finally {
      session.inFlight = false;
    }
  };

  /** One request: full (opening a session, or without one), or incremental. */
  async function fetchOnce(broker: BrokerLike, args: FetchArguments, session: Session | undefined): Promise<FetchResponse> {
    const wanted = new Map<string, SessionPartition>();
    for (const { topic, partitions } of args.topics) for (const partition of partitions) wanted.set(`${topic}\u0000${partition.partition}`, { topic, partition });
    const full = session === undefined || session.epoch === INITIAL_EPOCH;
    let topics: FetchTopic[];
    let forgottenTopics: { topic: string; partitions: number[] }[] = [];
    if (full) {
      topics = shuffled(args.topics).map(({ topic, partitions }) => ({ topic, partitions: shuffled(partitions) }));
    } else {
      const changed = byTopic<FetchPartition>();
      for (const [key, partition] of wanted) {
        const before = session.sent.get(key);
        if (!before || !samePartition(before.partition, partition.partition)) changed.add(partition.topic, partition.partition);
      }
      topics = changed.entries();
      const forgotten = byTopic<number>();
      for (const [key, { topic, partition }] of session.sent) if (!wanted.has(key)) forgotten.add(topic, partition.partition);
      forgottenTopics = forgotten.entries();
    }
    const request = broker.lookupRequest(fetchApiKey, fetchDefinition);
    const response = await send.call(
      broker,
      // The defaults of kafkajs' Broker#fetch; the others are the request's own.
      request({
        replicaId: args.replicaId,
        isolationLevel: args.isolationLevel,
        maxWaitTime: args.maxWaitTime ?? 5000,
        minBytes: args.minBytes ?? 1,
        maxBytes: args.maxBytes ?? 10485760,
        topics,
        rackId: args.rackId ?? '',
        sessionId: session?.id ?? 0,
        sessionEpoch: session === undefined ? FINAL_EPOCH : session.epoch,
        forgottenTopics,
      }),
    );
    if (!session) return response;
    if ((response.errorCode ?? 0) !== 0) {
      // The session is not usable as it is: a new one next time (closing this one, unless the
      // broker has lost it).
      restart(session, response.errorCode !== FETCH_SESSION_ID_NOT_FOUND && response.errorCode !== INVALID_FETCH_SESSION_EPOCH);
    } else {
      if (full) session.id = response.sessionId ?? 0;
      // No session given (the broker's cache is full): the next request asks again.
      session.epoch = session.id === 0 ? INITIAL_EPOCH : session.epoch >= 0x7fffffff ? 1 : session.epoch + 1;
      session.sent.clear();
      for (const [key, partition] of wanted) session.sent.set(key, partition);
    }
    return response;
  }
}

function filtered(response: FetchResponse): FetchResponse {
  const responses = [];
  for (const topic of response.responses) {
    const partitions = topic.partitions.filter(worthABatch);
    if (partitions.length > 0) responses.push(partitions.length === topic.partitions.length ? topic : { ...topic, partitions });
  }
  return { ...response, responses };
}

interface BrokerClass {
  prototype: BrokerLike & { fetch: unknown } & Record<symbol, unknown>;
}

const Broker = kafkajsModule<BrokerClass>('broker/index.js');
const apiKeys = kafkajsModule<{ Fetch?: number }>('protocol/requests/apiKeys.js');
const { requests } = kafkajsModule<{ requests: { Fetch?: unknown } }>('protocol/requests/index.js');
const sendSymbol = Object.getOwnPropertySymbols(Broker.prototype).find((symbol) => symbol.description === 'private:Broker:sendRequest');
const send = sendSymbol === undefined ? undefined : Broker.prototype[sendSymbol];
if (typeof Broker.prototype.fetch !== 'function' || typeof send !== 'function' || apiKeys.Fetch === undefined || requests.Fetch === undefined) {
  throw new Error('kafkajs Broker#fetch not as expected: the fetch patch needs kafkajs 2.2.x');
}
Broker.prototype.fetch = sessionFetch(apiKeys.Fetch, requests.Fetch, send as SendRequest);
