/**
 * Figures shown beside a target's verdict. The verdict is decided on the unrounded value; the
 * figure is rounded toward missing the target, so that it never reads as met when the target
 * was missed, nor as missed when it was met (a target's threshold has no more digits than the
 * figure): 0.4953 against "≥ 0.50" shows 0.49, not 0.50; 1.0004 against "≤ 1" shows 1.001.
 */

/** `value` with `digits` decimals, rounded down (never more than `value`). */
export function floorTo(value: number, digits: number): string {
  const shown = value.toFixed(digits);
  return !Number.isFinite(value) || Number(shown) <= value ? shown : stepped(shown, digits, -1);
}

/** `value` with `digits` decimals, rounded up (never less than `value`). */
export function ceilTo(value: number, digits: number): string {
  const shown = value.toFixed(digits);
  return !Number.isFinite(value) || Number(shown) >= value ? shown : stepped(shown, digits, 1);
}

/**
 * `shown` (`toFixed(digits)` of a value, which is exact decimal rounding) one unit of its last
 * digit up or down: in integers of that unit, as `Math.floor(value * 10 ** digits)` is not
 * (0.29 × 100 is 28.999999999999996 in binary floating point).
 */
function stepped(shown: string, digits: number, step: 1 | -1): string {
  const scale = 10 ** digits;
  return ((Math.round(Number(shown) * scale) + step) / scale).toFixed(digits);
}

/** A "≥ `min`" target's verdict on `value`, and its figure with `digits` decimals. */
export function atLeast(value: number, min: number, digits: number): { readonly actual: string; readonly met: boolean } {
  return { actual: floorTo(value, digits), met: value >= min };
}

/** A "≤ `max`" target's verdict on `value`, and its figure with `digits` decimals. */
export function atMost(value: number, max: number, digits: number): { readonly actual: string; readonly met: boolean } {
  return { actual: ceilTo(value, digits), met: value <= max };
}
