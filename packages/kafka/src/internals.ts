/**
 * Access to kafkajs 2.2.4's internal CommonJS modules, for the corrections in this package
 * (read-committed.ts, encoder.ts, rejoin.ts, coordinator-cache.ts, committed-offsets.ts, ...).
 * Each is guarded by tests.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Loads `kafkajs/src/<path>` (the instance kafkajs itself uses). */
export function kafkajsModule<T>(path: string): T {
  return require(`kafkajs/src/${path}`) as T;
}

/**
 * Makes every later `require` of `kafkajs/src/<path>` return `exports`. Only modules loaded
 * after this see it: call it before kafkajs loads the module's users.
 */
export function replaceKafkajsModule(path: string, exports: unknown): void {
  const resolved = require.resolve(`kafkajs/src/${path}`);
  require(resolved);
  const cached = require.cache[resolved];
  if (!cached) throw new Error(`kafkajs module ${resolved} is not in the CommonJS cache`);
  cached.exports = exports;
}

/** Whether something already required `kafkajs/src/<path>` (a module keeps what it required when it loaded). */
export function kafkajsModuleLoaded(path: string): boolean {
  return require.cache[require.resolve(`kafkajs/src/${path}`)] !== undefined;
}

/**
 * A new kafkajs Cluster of `kafka`'s client (its brokers, TLS, SASL, timeouts and retry), from
 * the client's private factory: for requests kafkajs' admin does not make (committed-offsets.ts,
 * the read_uncommitted ends of ends.ts). `T` is the part of kafkajs' Cluster the caller uses.
 */
export function kafkajsCluster<T>(kafka: object, options: { readonly allowAutoTopicCreation?: boolean; readonly isolationLevel?: number } = {}): T {
  let key: symbol | undefined;
  // Up the prototype chain: a client wrapped with Object.create (tests count its admins) holds it there.
  for (let holder: object | null = kafka; key === undefined && holder !== null; holder = Object.getPrototypeOf(holder) as object | null) {
    key = Object.getOwnPropertySymbols(holder).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  }
  const create = key === undefined ? undefined : (kafka as Record<symbol, unknown>)[key];
  if (typeof create !== 'function') throw new Error('kafkajs Kafka#[private:Kafka:createCluster] not found: Elephant needs kafkajs 2.2.x');
  return (create as (this: object, clusterOptions: object) => T).call(kafka, { allowAutoTopicCreation: false, ...options });
}
