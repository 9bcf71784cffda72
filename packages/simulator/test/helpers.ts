import { adaptMessage, type AdapterContext, type AdapterResult, type Touchpoint } from '@elephant/channels';
import type { SimRecord, Simulation } from '@elephant/simulator';

/** The adapter context of the brief's normalizer deployment (the CLI's defaults). */
export function contextOf(simulation: Simulation, overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { tenant: simulation.options.tenant, ingestTime: 0, defaultRegion: 'US', defaultCurrency: 'USD', ...overrides };
}

export interface Adapted {
  /** Every touchpoint, duplicates included, in delivery order. */
  readonly touchpoints: Touchpoint[];
  /** The first touchpoint per eventId. */
  readonly byEventId: Map<string, Touchpoint>;
  readonly results: AdapterResult[];
}

/** Runs every record through the channel adapters, as the normalizer does (payload → JSON bytes → adaptMessage). */
export function adaptAll(records: readonly SimRecord[], context: AdapterContext): Adapted {
  const touchpoints: Touchpoint[] = [];
  const byEventId = new Map<string, Touchpoint>();
  const results = records.map((record) => {
    const result = adaptMessage(record.channel, Buffer.from(JSON.stringify(record.payload)), context);
    if (result.ok) {
      for (const touchpoint of result.touchpoints) {
        touchpoints.push(touchpoint);
        if (!byEventId.has(touchpoint.eventId)) byEventId.set(touchpoint.eventId, touchpoint);
      }
    }
    return result;
  });
  return { touchpoints, byEventId, results };
}

/** A deterministic shuffle (Fisher-Yates over a linear congruential generator). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  for (let index = out.length - 1; index > 0; index -= 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const other = state % (index + 1);
    const a = out[index];
    const b = out[other];
    if (a === undefined || b === undefined) continue;
    out[index] = b;
    out[other] = a;
  }
  return out;
}
