/**
 * Redis access for Elephant: one ioredis factory with bounded retries and readable errors,
 * and Lua scripts loaded by name (EVALSHA, falling back to EVAL after a SCRIPT FLUSH or on
 * a fresh replica, which ioredis' defineCommand handles).
 */
import { Redis, type RedisOptions, type ChainableCommander } from 'ioredis';
import { ElephantError, redactUserInfo } from '@elephant/errors';
import type { Logger } from '@elephant/observability';

export { Redis, type ChainableCommander };

export const REDIS_ERROR_CODES = ['REDIS_UNAVAILABLE', 'REDIS_SCRIPT_FAILED'] as const;
export type RedisErrorCode = (typeof REDIS_ERROR_CODES)[number];

export class RedisError extends ElephantError<RedisErrorCode> {
  constructor(code: RedisErrorCode, message: string, options: ConstructorParameters<typeof ElephantError>[2] = {}) {
    super(code, message, { retryable: code === 'REDIS_UNAVAILABLE', ...options });
    this.name = 'RedisError';
  }
}

export interface RedisClientOptions {
  /** redis://[user:password@]host:port[/db] */
  readonly url: string;
  readonly logger: Logger;
  /** Prefix added by ioredis to every key (tests use one per test). @default '' */
  readonly keyPrefix?: string;
  /** Connection name shown by CLIENT LIST. */
  readonly name?: string;
  /** Attempts per command while disconnected before it fails. @default 3 */
  readonly maxRetriesPerRequest?: number;
  /**
   * How long a connection with commands waiting for replies may stay silent before it is
   * taken for dead: closed, reconnected, and its unanswered commands sent again on the new
   * connection. @default DEFAULT_REDIS_SOCKET_TIMEOUT_MS
   */
  readonly socketTimeoutMs?: number;
  /**
   * TLS options for a rediss:// URL whose server certificate a private CA signed
   * (redisTlsOf in @elephant/config reads REDIS_TLS_CA_FILE). @default Node's CAs for rediss://
   */
  readonly tls?: { readonly ca: Buffer[] } | undefined;
}

/**
 * 5 s: far above any reply Elephant waits for (a resolve call of 100 events takes about 5 ms,
 * and Redis answers other clients BUSY once a script has run for 5 s). Without a bound, a
 * connection whose peer vanished without a reset (a failover that moved the address, a node
 * lost) waits for the kernel to give up on it: a quarter of an hour of retransmissions with
 * Linux' defaults, the partition stalled all along.
 */
export const DEFAULT_REDIS_SOCKET_TIMEOUT_MS = 5000;

/**
 * A connected client. Reconnects with capped exponential backoff (50 ms doubling to 2 s);
 * commands issued while disconnected are queued and fail after `maxRetriesPerRequest`
 * reconnect attempts, so callers see a retryable REDIS_UNAVAILABLE instead of hanging. A
 * connection silent for `socketTimeoutMs` while replies are due is closed and made again
 * (ioredis sends its unanswered commands again, as after any dropped connection; Elephant's
 * writes are safe to repeat, as a batch delivered again repeats them).
 */
export async function connectRedis(options: RedisClientOptions): Promise<Redis> {
  const log = options.logger.child({ component: 'redis' });
  const redisOptions: RedisOptions = {
    keyPrefix: options.keyPrefix ?? '',
    connectionName: options.name ?? 'elephant',
    lazyConnect: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3,
    socketTimeout: options.socketTimeoutMs ?? DEFAULT_REDIS_SOCKET_TIMEOUT_MS,
    enableAutoPipelining: false,
    retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6)),
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    ...(options.tls ? { tls: { ca: options.tls.ca } } : {}),
  };
  const client = new Redis(options.url, redisOptions);
  let lastError = '';
  client.on('error', (error: Error) => {
    // ioredis emits one error per failed reconnect; log each distinct cause once.
    if (error.message !== lastError) log.warn({ err: error }, 'redis connection error');
    lastError = error.message;
  });
  client.on('ready', () => {
    lastError = '';
  });
  // Every connection (ioredis makes a new socket on each reconnect), before its first command.
  client.on('connect', () => coalesceWrites(client.stream));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new RedisError('REDIS_UNAVAILABLE', `Cannot connect to Redis at ${redactUserInfo(options.url)}: ${(error as Error).message}`, { cause: error });
  }
  return client;
}

/** The part of a socket coalesceWrites uses. */
export interface CorkableSocket {
  write(...args: never[]): boolean;
  cork(): void;
  uncork(): void;
}

const COALESCED = Symbol('elephant:coalescedWrites');

/**
 * Makes the writes of one turn of the event loop leave as one system call: the first write of
 * a turn corks the socket, and the socket is uncorked once the turn's callbacks and promise
 * continuations have run (`process.nextTick` runs after them), which hands everything written
 * meanwhile to the kernel in one `writev`. ioredis writes each command and each pipeline on its
 * own; a service handling several partitions at once sends one pipeline per partition in the
 * same turn, and on a loopback socket every write costs the writer a system call and wakes
 * Redis. Nothing waits longer than the turn that wrote it. Applied to every connection
 * connectRedis makes; idempotent.
 */
export function coalesceWrites(socket: CorkableSocket): void {
  const marked = socket as CorkableSocket & { [COALESCED]?: true };
  if (marked[COALESCED]) return;
  marked[COALESCED] = true;
  const write = socket.write.bind(socket);
  let corked = false;
  const flush = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = (...args: never[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(flush);
    }
    return write(...args);
  };
}

/**
 * Replies in which Redis says it cannot run the command now, not that the command is wrong:
 * out of memory (maxmemory reached: eviction or a bigger instance will make room), busy with
 * a long script, loading its dataset, a replica promoted or demoted during a failover, a
 * cluster slot migrating. Inside a script Redis 7 appends "script: <sha>, on @user_script:<line>"
 * to the same reply (`OOM command not allowed when used memory > 'maxmemory'. script: ...`); a
 * script that catches it per event (the resolver's) passes it on after a colon.
 */
const TRANSIENT_REPLY = /(^|: )(OOM|BUSY|LOADING|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN) /;

/**
 * Wraps a failed Redis call: connection problems and transient replies (TRANSIENT_REPLY) are
 * retryable (REDIS_UNAVAILABLE); a script's own error is not (REDIS_SCRIPT_FAILED: the same
 * input fails the same way).
 */
export function toRedisError(error: unknown, what: string): RedisError {
  if (error instanceof RedisError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const isScript = !TRANSIENT_REPLY.test(message) && /ERR .*script|ERR Error running script|user_script/i.test(message);
  return new RedisError(isScript ? 'REDIS_SCRIPT_FAILED' : 'REDIS_UNAVAILABLE', `${what}: ${message}`, { cause: error });
}

export interface ScriptDefinition {
  readonly lua: string;
  readonly numberOfKeys: number;
}

/**
 * Registers Lua scripts on a client as custom commands (EVALSHA with automatic EVAL
 * fallback). Call `client.<name>(...keys, ...args)` or `pipeline.<name>(...)` afterwards.
 */
export function defineScripts<Names extends string>(client: Redis, scripts: Readonly<Record<Names, ScriptDefinition>>): void {
  for (const [name, script] of Object.entries(scripts) as [Names, ScriptDefinition][]) {
    client.defineCommand(name, { lua: script.lua, numberOfKeys: script.numberOfKeys });
  }
}


/**
 * Deletes every key whose full name starts with `prefix` (SCAN, then UNLINK: the memory is
 * freed off the main thread), on a client without a keyPrefix; returns how many. For tools and
 * tests that clean up what they created under a prefix of their own.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}
