/** How `elephant profile` (and the demo's profile) show a lifetime value: in the currency's own minor-unit digits. */
import { describe, expect, it } from 'vitest';
import { majorUnits } from '@elephant/cli';

describe('majorUnits: minor units → the amount as people read it', () => {
  it('gives each currency the digits ISO 4217 gives it (two unless it says otherwise)', () => {
    expect(majorUnits(1500, 'EUR')).toBe('15.00');
    expect(majorUnits(1500, 'JPY')).toBe('1500');
    expect(majorUnits(1500, 'KWD')).toBe('1.500');
    expect(majorUnits(1500, 'CLF')).toBe('0.1500');
  });

  it('keeps small and negative amounts exact (returns exceed orders)', () => {
    expect(majorUnits(5, 'USD')).toBe('0.05');
    expect(majorUnits(0, 'USD')).toBe('0.00');
    expect(majorUnits(-1999, 'USD')).toBe('-19.99');
    expect(majorUnits(-7, 'KWD')).toBe('-0.007');
    expect(majorUnits(-7, 'JPY')).toBe('-7');
  });

  it('rounds no amount, however large (up to the largest safe integer)', () => {
    expect(majorUnits(Number.MAX_SAFE_INTEGER, 'USD')).toBe('90071992547409.91');
  });
});
