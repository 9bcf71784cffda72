/**
 * Access to kafkajs 2.2.4's internal CommonJS modules, for the corrections in this package
 * (read-committed.ts, encoder.ts, rejoin.ts, coordinator-cache.ts). Each is guarded by tests.
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
