// ascendingOrder (src/vhd/common/order.ts) sorts span starts natively when key * n + index is
// exact (in an Int32Array below 2^31, else a Float64Array), else with a comparator: all must give a
// stable ascending order.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ascendingOrder } from '../../src/vhd/common/order.js';

function reference(keys: number[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b);
}

describe('ascendingOrder', () => {
  it('small integers (the native sort), with ties', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (keys) => {
        expect([...ascendingOrder(keys)]).toEqual(reference(keys));
      }),
      { numRuns: 200 },
    );
  });

  it('keys packed past 2^31 (the Float64Array sort), with ties and the first n keys only', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 2 ** 31, max: 2 ** 40 }), { minLength: 1, maxLength: 200 }), fc.nat(), (keys, cut) => {
        const n = cut % (keys.length + 1);
        const withTies = [...keys, ...keys.slice(0, 3)];
        expect([...ascendingOrder(withTies)]).toEqual(reference(withTies));
        expect([...ascendingOrder(keys, n)]).toEqual(reference(keys.slice(0, n)));
      }),
      { numRuns: 200 },
    );
  });

  it('keys too large to pack exactly, and fractions (the comparator)', () => {
    const big = [2 ** 52, 3, 2 ** 52 - 1, 3, 0];
    expect([...ascendingOrder(big)]).toEqual(reference(big));
    const frac = [1.5, 0.25, 1.5, 7];
    expect([...ascendingOrder(frac)]).toEqual(reference(frac));
  });
});
