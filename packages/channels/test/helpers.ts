import avro from 'avsc';
import { expect } from 'vitest';
import { touchpointSchema, type AdapterContext, type AdapterResult, type ChannelErrorCode, type Touchpoint } from '@elephant/channels';

export const context: AdapterContext = { tenant: 'acme', ingestTime: 1_714_600_000_000, defaultRegion: 'DE' };

export const touchpointType = avro.Type.forSchema(touchpointSchema as avro.Schema);

/** Paths of the fields of `value` that do not match the Avro schema (empty when valid). */
export function avroProblems(value: unknown): string[] {
  const paths: string[] = [];
  touchpointType.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  return paths;
}

/** Asserts the touchpoint is valid Avro and survives an encode/decode round trip unchanged. */
export function expectEncodable(touchpoint: Touchpoint): void {
  expect(avroProblems(touchpoint)).toEqual([]);
  const decoded = touchpointType.fromBuffer(touchpointType.toBuffer(touchpoint)) as unknown;
  expect(JSON.parse(JSON.stringify(decoded))).toEqual(JSON.parse(JSON.stringify(touchpoint)));
}

/** The single touchpoint of a successful one-event result (and checks it encodes). */
export function one(result: AdapterResult): Touchpoint {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  expect(result.touchpoints).toHaveLength(1);
  const [touchpoint] = result.touchpoints;
  if (touchpoint === undefined) throw new Error('no touchpoint');
  expectEncodable(touchpoint);
  return touchpoint;
}

/** Asserts a failed result with `code`; returns its message. */
export function failure(result: AdapterResult, code: ChannelErrorCode): string {
  if (result.ok) throw new Error(`expected ${code}, got ${result.touchpoints.length} touchpoints`);
  expect(result.error.code).toBe(code);
  expect(result.error.retryable).toBe(false);
  return result.error.message;
}

export function bytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
