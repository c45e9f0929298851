// CRC-32C over a zero tail is found by native compares and extended by x^(8n) mod P
// (src/vhd/common/crc32c.ts): it must equal the plain bit-by-bit definition (MS-VHDX 2.2.2) for
// any prefix, tail length, start CRC and buffer alignment.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '../../src/vhd/common/crc32c.js';

function reference(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('CRC-32C with zero tails', () => {
  it('matches the bit-by-bit definition', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (prefix, zeros, skew, start) => {
          const buf = new Uint8Array(skew + prefix.length + zeros);
          buf.set(prefix, skew);
          const data = buf.subarray(skew);
          expect(crc32c(data, start)).toBe(reference(data, start));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a tail of many 64 KiB search windows (3 MiB), and the same length again (cached operator)', () => {
    const data = new Uint8Array(3 * 1024 * 1024 + 5);
    data[1] = 0x5a;
    expect(crc32c(data)).toBe(reference(data));
    data[0] = 0x11;
    expect(crc32c(data)).toBe(reference(data));
  });
});
