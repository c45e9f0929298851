/**
 * Hostile VHDX files: mutated headers, region tables, metadata, parent locators and BAT entries
 * that still pass their checksums, truncations, and random byte mutations. Every case ends in a
 * typed error or a completed read, quickly, without touching the file.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { openVhdx } from '../../src/vhd/vhdx/vhdx-image.js';
import { readImage } from '../../src/vhd/disk.js';
import { HvsimError } from '../../src/errors.js';
import { sealStructure } from '../../src/vhd/common/crc32c.js';
import { setU16le, setU32le, setU64le, u32le } from '../../src/vhd/common/bytes.js';
import { setEntry } from '../../src/vhd/vhdx/bat.js';
import { smallVhdxPair } from '../helpers/vhdx-pair.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const H1 = 64 * 1024;
const H2 = 128 * 1024;
const RT1 = 192 * 1024;
const RT2 = 256 * 1024;
const MD = 2 * MiB;
const BAT = 3 * MiB;

const { parent, childBytes } = smallVhdxPair((c) => {
  c.writeSectors(new Uint8Array(4096).fill(0x42), MiB + 8192);
  c.writeSectors(new Uint8Array(MiB).fill(0x43), 5 * MiB);
});

/** Open read-only and read everything; returns 'ok' or the error code. Anything else fails the test. */
function attempt(bytes: Uint8Array): string {
  const file = new MemoryFile('/f/c.avhdx', bytes, true);
  const t0 = performance.now();
  try {
    const img = openVhdx(file);
    const buf = new Uint8Array(Math.min(img.virtualSize, 16 * MiB));
    readImage(img, buf, 0, (b, o) => readImage(parent, b, o));
    img.check();
    img.info();
    return 'ok';
  } catch (e) {
    if (!(e instanceof HvsimError)) throw new Error(`not a typed error: ${String(e)}`);
    expect(e.message).not.toContain('\n');
    expect(e.message.length).toBeLessThan(400);
    return e.code;
  } finally {
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(Buffer.compare(Buffer.from(file.bytes()), Buffer.from(bytes))).toBe(0);
  }
}

function mutate(fn: (b: Uint8Array) => void): Uint8Array {
  const b = childBytes.slice();
  fn(b);
  return b;
}

function resealHeaders(b: Uint8Array): void {
  sealStructure(b.subarray(H1, H1 + 4096), 4);
  sealStructure(b.subarray(H2, H2 + 4096), 4);
}
function resealRegions(b: Uint8Array): void {
  b.copyWithin(RT2, RT1, RT1 + 65536);
  sealStructure(b.subarray(RT1, RT1 + 65536), 4);
  sealStructure(b.subarray(RT2, RT2 + 65536), 4);
}
function bothHeaders(b: Uint8Array, fn: (h: Uint8Array) => void): void {
  fn(b.subarray(H1, H1 + 4096));
  fn(b.subarray(H2, H2 + 4096));
  resealHeaders(b);
}

describe('hostile VHDX fields that pass their checksums', () => {
  it('the untouched file reads fine', () => {
    expect(attempt(childBytes)).toBe('ok');
  });

  const huge = 2 ** 62;
  const cases: Array<[string, (b: Uint8Array) => void, string | RegExp]> = [
    ['both headers with a bad signature', (b) => { b[H1] = 0; b[H2] = 0; }, 'CORRUPT'],
    ['header version 2', (b) => bothHeaders(b, (h) => setU16le(h, 66, 2)), 'CORRUPT'],
    ['log offset inside the header area', (b) => bothHeaders(b, (h) => { setU64le(h, 72, 4096); h[48] = 1; }), 'CORRUPT'],
    ['log length 2^31 (past the end)', (b) => bothHeaders(b, (h) => { setU32le(h, 68, 2 ** 31); h[48] = 1; }), 'CORRUPT'],
    ['log GUID set but the log is empty', (b) => bothHeaders(b, (h) => { h[48] = 7; }), 'ok'],
    ['sequence number 2^63', (b) => bothHeaders(b, (h) => setU64le(h, 8, huge)), 'CORRUPT'],
    ['one header damaged: the other is used', (b) => { b[H1 + 100] = b[H1 + 100]! ^ 1; }, 'ok'],
    ['region count 65535', (b) => { setU32le(b, RT1 + 8, 65535); resealRegions(b); }, 'CORRUPT'],
    ['region count 2047 with garbage entries', (b) => { setU32le(b, RT1 + 8, 2047); for (let i = 2; i < 2047; i++) b.fill(0xee, RT1 + 16 + 32 * i, RT1 + 48 + 32 * i); resealRegions(b); }, 'CORRUPT'],
    ['BAT region offset past the end', (b) => { setU64le(b, RT1 + 16 + 16, 2 ** 40); resealRegions(b); }, 'CORRUPT'],
    ['BAT region unaligned', (b) => { setU64le(b, RT1 + 16 + 16, 3 * MiB + 512); resealRegions(b); }, 'CORRUPT'],
    ['BAT region overlaps the metadata region', (b) => { setU64le(b, RT1 + 16 + 16, 2 * MiB); resealRegions(b); }, 'CORRUPT'],
    ['BAT region inside the header area', (b) => { setU64le(b, RT1 + 16 + 16, 0); resealRegions(b); }, 'CORRUPT'],
    ['region length zero', (b) => { setU32le(b, RT1 + 16 + 24, 0); resealRegions(b); }, 'CORRUPT'],
    ['unknown required region', (b) => { setU32le(b, RT1 + 8, 3); b.fill(0x5a, RT1 + 16 + 64, RT1 + 16 + 80); setU64le(b, RT1 + 16 + 64 + 16, 100 * MiB); setU32le(b, RT1 + 16 + 64 + 24, MiB); setU32le(b, RT1 + 16 + 64 + 28, 1); resealRegions(b); }, 'UNSUPPORTED'],
    ['metadata entry count 65535', (b) => setU16le(b, MD + 10, 65535), 'CORRUPT'],
    ['metadata item offset past the region', (b) => setU32le(b, MD + 32 + 16, 4 * MiB), 'CORRUPT'],
    ['metadata item inside the table', (b) => setU32le(b, MD + 32 + 16, 100), 'CORRUPT'],
    ['metadata item length 2^32-1', (b) => setU32le(b, MD + 32 + 20, 0xffffffff), 'CORRUPT'],
    ['two metadata items overlapping', (b) => setU32le(b, MD + 64 + 16, u32le(b, MD + 32 + 16)), 'CORRUPT'],
    ['unknown required system item', (b) => { b[MD + 32] = b[MD + 32]! ^ 0xff; }, 'UNSUPPORTED'],
    ['block size 3 MiB', (b) => setU32le(b, MD + 0x10000, 3 * MiB), 'CORRUPT'],
    ['block size 0', (b) => setU32le(b, MD + 0x10000, 0), 'CORRUPT'],
    ['block size 2^31', (b) => setU32le(b, MD + 0x10000, 2 ** 31), 'CORRUPT'],
    ['virtual size 2^62', (b) => setU64le(b, MD + 0x10008, huge), 'CORRUPT'],
    ['virtual size 0', (b) => setU64le(b, MD + 0x10008, 0), 'CORRUPT'],
    ['virtual size larger than the BAT covers', (b) => setU64le(b, MD + 0x10008, 1024 * 1024 * MiB), 'CORRUPT'],
    ['virtual size unaligned', (b) => setU64le(b, MD + 0x10008, SIZE + 100), 'CORRUPT'],
    ['logical sector size 1024', (b) => setU32le(b, MD + 0x10010, 1024), 'CORRUPT'],
    ['parent locator entry count 65535', (b) => setU16le(b, MD + 0x10028 + 18, 65535), 'CORRUPT'],
    ['parent locator key offset past the item', (b) => setU32le(b, MD + 0x10028 + 20, 0xfffffff0), 'CORRUPT'],
    ['parent locator key length odd', (b) => setU16le(b, MD + 0x10028 + 20 + 8, 3), 'CORRUPT'],
    ['parent locator of an unknown type', (b) => { b[MD + 0x10028] = b[MD + 0x10028]! ^ 1; }, 'UNSUPPORTED'],
    ['payload block past the end of the file', (b) => setEntry(b.subarray(BAT), 0, 6, 2 ** 40), 'CORRUPT'],
    ['payload block inside the header area', (b) => setEntry(b.subarray(BAT), 0, 6, 0), 'CORRUPT'],
    ['payload block on the BAT itself', (b) => setEntry(b.subarray(BAT), 0, 6, 3), 'CORRUPT'],
    ['two blocks sharing space', (b) => { const e = b.subarray(BAT + 5 * 8, BAT + 6 * 8); b.set(e, BAT); }, 'CORRUPT'],
    ['reserved payload state 4', (b) => setEntry(b.subarray(BAT), 2, 4, 0), 'CORRUPT'],
    ['v0.95 unmapped state 5 reads as zeros', (b) => setEntry(b.subarray(BAT), 2, 5, 0), 'ok'],
    ['partial block whose bitmap block is missing', (b) => { const sbIdx = 4096 * 8; b.fill(0, BAT + sbIdx, BAT + sbIdx + 8); }, 'CORRUPT'],
    ['bitmap block past the end', (b) => setEntry(b.subarray(BAT), 4096, 6, 2 ** 30), 'CORRUPT'],
  ];
  for (const [name, fn, expected] of cases) {
    it(name, () => {
      const got = attempt(mutate(fn));
      if (typeof expected === 'string') expect(got).toBe(expected);
      else expect(got).toMatch(expected);
    });
  }
});

describe('truncations', () => {
  it('cut at every structure boundary and every MiB', () => {
    const cuts = [0, 8, 512, H1, H1 + 4096, H2, RT1, RT2, 1 * MiB, MD, MD + 65536, BAT, BAT + 4096];
    for (let c = 4 * MiB; c < childBytes.length; c += MiB) cuts.push(c, c - 512);
    for (const c of cuts) {
      const got = attempt(childBytes.slice(0, c));
      expect(['CORRUPT', 'ok']).toContain(got);
    }
  });
});

describe('random mutations', () => {
  it('bytes flipped anywhere in the structures (checksums resealed or not)', () => {
    const hot = [H1, H2, RT1, MD, MD + 0x10000, BAT];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...hot), fc.nat(4095), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (edits, reseal) => {
          const b = childBytes.slice();
          for (const [base, off, v] of edits) b[base + off] = v;
          if (reseal) {
            resealHeaders(b);
            resealRegions(b);
          }
          attempt(b);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('BAT entries replaced with arbitrary 64-bit values', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(12), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = childBytes.slice();
        const dv = new DataView(b.buffer);
        for (const [i, v] of edits) dv.setBigUint64(BAT + i * 8, v, true);
        attempt(b);
      }),
      { numRuns: 300 },
    );
  });
});
