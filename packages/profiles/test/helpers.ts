import avro from 'avsc';
import { expect } from 'vitest';
import type { AdapterContext, AdapterResult, Touchpoint, Traits } from '@elephant/channels';
import { applyTouchpoint, emptyProfile, profileSnapshotSchema, profileUpdateSchema, type ApplyOptions, type FieldChange, type ProfileSnapshot, type ProfileState, type ProfileUpdate } from '@elephant/profiles';

export const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const context: AdapterContext = { tenant: 'acme', ingestTime: T0, defaultRegion: 'DE', defaultCurrency: 'EUR' };

export const snapshotType = avro.Type.forSchema(profileSnapshotSchema as avro.Schema);
export const updateType = avro.Type.forSchema(profileUpdateSchema as avro.Schema);

function problems(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  return paths;
}

/** Asserts the record is valid Avro and survives an encode/decode round trip unchanged. */
export function expectEncodes(type: avro.Type, value: ProfileSnapshot | ProfileUpdate): void {
  expect(problems(type, value)).toEqual([]);
  const decoded = type.fromBuffer(type.toBuffer(value)) as unknown;
  expect(JSON.parse(JSON.stringify(decoded))).toEqual(JSON.parse(JSON.stringify(value)));
}

/** The single touchpoint of a successful adapter result. */
export function one(result: AdapterResult): Touchpoint {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  const [touchpoint, ...rest] = result.touchpoints;
  if (touchpoint === undefined || rest.length > 0) throw new Error(`expected one touchpoint, got ${result.touchpoints.length}`);
  return touchpoint;
}

export function traits(partial: Partial<Traits>): Traits {
  return { email: null, phone: null, firstName: null, lastName: null, company: null, address: null, birthDate: null, gender: null, preferences: {}, consent: [], ...partial };
}

/**
 * A hand-built touchpoint: a web page view of user u-1 at T0 unless overridden. Ingested at
 * its latest time (eventTime, consents' statedAt) unless overridden: profiles order
 * touchpoints by times bounded by their ingestTime.
 */
export function touchpoint(overrides: Partial<Touchpoint> & { readonly eventId: string }): Touchpoint {
  const times = [overrides.eventTime ?? T0, ...(overrides.traits?.consent ?? []).map((consent) => consent.statedAt)];
  return {
    tenant: 'acme',
    channel: 'web',
    source: { system: 'segment', eventId: overrides.eventId, trust: 70 },
    eventType: 'page_viewed',
    journeyStage: 'aware',
    eventTime: T0,
    ingestTime: Math.max(...times),
    identifiers: [{ type: 'user_id', value: 'u-1' }],
    traits: null,
    commerce: null,
    campaign: null,
    content: null,
    email: null,
    support: null,
    loyalty: null,
    store: null,
    properties: {},
    ...overrides,
  };
}

export interface Applied {
  readonly state: ProfileState;
  /** The state after each touchpoint. */
  readonly states: readonly ProfileState[];
  /** The changes of each touchpoint. */
  readonly steps: readonly (readonly FieldChange[])[];
}

/** Applies touchpoints in order to a fresh profile (or `from`), keeping each step's changes. */
export function applyAll(touchpoints: readonly Touchpoint[], options: ApplyOptions = {}, from: ProfileState = emptyProfile('p-1', 'acme', T0)): Applied {
  let state = from;
  const states: ProfileState[] = [];
  const steps: (readonly FieldChange[])[] = [];
  for (const touchpoint of touchpoints) {
    const result = applyTouchpoint(state, touchpoint, options);
    state = result.state;
    states.push(state);
    steps.push(result.changes);
  }
  return { state, states, steps };
}

/** The changes as `path: before → after`, for readable expectations. */
export function describeChanges(changes: readonly FieldChange[]): string[] {
  return changes.map((change) => `${change.path}: ${change.before ?? '∅'} → ${change.after ?? '∅'}`);
}
