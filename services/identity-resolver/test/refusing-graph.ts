/**
 * An IdentityGraph whose script never finds an identifier to drop, to reach the guard of the
 * limits step (LIMITS_UNSATISFIABLE) on a real Redis. Since 2026-12-06 no graph data reaches
 * it: a type is violated only when the union holds more of it than every matched profile, so
 * an unknown identifier of that type or a second profile holding some is always there to
 * drop (docs/identity.md, Algorithm, step 4). The guard, graph.ts' typed rejection and the
 * handler's dead letter stay, and these tests keep them working.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from '@elephant/redis';
import { IdentityGraph } from '@elephant/identity-resolver';

/** The line of resolve.lua that picks the identifier to drop. */
const VICTIM_CHOICE = 'if conflicting then victim = index break end';

/** resolve.lua with the victim choice turned off: any limit violation reaches the guard. */
export function scriptWithoutVictims(): string {
  const script = readFileSync(new URL('../src/resolve.lua', import.meta.url), 'utf8');
  if (!script.includes(VICTIM_CHOICE)) throw new Error(`resolve.lua no longer has "${VICTIM_CHOICE}": update the test helper`);
  return script.replace(VICTIM_CHOICE, 'if false and conflicting then victim = index break end');
}

/**
 * An IdentityGraph on `redis` that runs scriptWithoutVictims(). It redefines the graph's
 * script command on that connection: give it a connection of its own.
 */
export function graphWithoutVictims(redis: Redis, prefix: string): IdentityGraph {
  const graph = new IdentityGraph(redis, prefix);
  redis.defineCommand('elephantResolve', { lua: scriptWithoutVictims(), numberOfKeys: 1 });
  return graph;
}
