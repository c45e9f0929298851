/**
 * The standard deep-chain workload (docs/workload.md): the generator against its check
 * values and a BigInt reference, the layers' regions, and real files that reproduce the table's
 * SHA-256 at depths 1, 2 and 4 (depth 64 is checked by `npm run bench`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Chain } from '../../src/engine/chain.js';
import { layerAllocation } from '../../src/engine/layers.js';
import { NodeDiskStore } from '../../src/engine/store.js';
import {
  EXPECTED_SHA256, layerRegions, makeWorkload, randomReadOffsets, regionContent, regionOwners, streamBytes, streamWords,
  workloadBytes, workloadImage, workloadLayerPath, WORKLOAD,
} from '../../src/engine/workload.js';
import { HvsimError } from '../../src/errors.js';

const M64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;

/** splitmix64 as docs/workload.md, "Generator", writes it, in BigInt: word i (from 1) of stream(seed). */
function refWord(seed: bigint, i: bigint): bigint {
  let z = (seed + i * GAMMA) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
function refBytes(seed: bigint, byteOffset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let p = 0; p < length; p++) {
    const abs = byteOffset + p;
    const w = refWord(seed, BigInt(Math.floor(abs / 8) + 1));
    out[p] = Number((w >> BigInt((abs % 8) * 8)) & 0xffn);
  }
  return out;
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('splitmix64 generator', () => {
  it('reproduces the check value of stream(42)', () => {
    const b = new Uint8Array(16);
    streamBytes(42, b);
    expect(hex(b)).toBe('956eeb2f2632d7bd03f166b233e3ef28');
  });

  it('first five regions of layer 1 are 21, 98, 117, 127, 141', () => {
    expect(layerRegions(1).slice(0, 5)).toEqual([21, 98, 117, 127, 141]);
  });

  it('agrees with a BigInt reference for any seed, offset and length (also across its 1 MiB chunks)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
        fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1024 * 1024 - 40, max: 1024 * 1024 + 40 }), fc.integer({ min: 0, max: 2 ** 40 })),
        fc.integer({ min: 0, max: 80 }),
        (seed, offset, length) => {
          const out = new Uint8Array(length);
          streamBytes(Number(seed), out, offset);
          expect(hex(out)).toBe(hex(refBytes(seed, offset, length)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a long run straddling chunk boundaries equals the reference at its ends', () => {
    const out = new Uint8Array(3 * 1024 * 1024 + 24);
    streamBytes(7, out, 8 * 1000 + 3);
    expect(hex(out.subarray(0, 40))).toBe(hex(refBytes(7n, 8 * 1000 + 3, 40)));
    expect(hex(out.subarray(out.length - 40))).toBe(hex(refBytes(7n, 8 * 1000 + 3 + out.length - 40, 40)));
    const mid = 1024 * 1024 - 5; // the generator's chunk edge
    expect(hex(out.subarray(mid, mid + 16))).toBe(hex(refBytes(7n, 8 * 1000 + 3 + mid, 16)));
  });

  it('streamWords gives each word as its low and high halves', () => {
    const w = streamWords(1001, 3, 5);
    for (let j = 0; j < 3; j++) {
      const ref = refWord(1001n, BigInt(5 + j));
      expect(w[2 * j]).toBe(Number(ref & 0xffffffffn));
      expect(w[2 * j + 1]).toBe(Number(ref >> 32n));
    }
  });

  it('refuses seeds that are not non-negative safe integers', () => {
    expect(() => streamBytes(-1, new Uint8Array(8))).toThrow(HvsimError);
    expect(() => streamBytes(2 ** 53, new Uint8Array(8))).toThrow(HvsimError);
  });
});

describe('the workload definition', () => {
  it('each layer writes 82 distinct regions in ascending order, drawn as the document says', () => {
    for (const k of [1, 2, 17, 64]) {
      const r = layerRegions(k);
      expect(r).toHaveLength(82);
      expect(new Set(r).size).toBe(82);
      expect([...r].sort((a, b) => a - b)).toEqual(r);
      // The first draws, in order, from the reference.
      const seen = new Set<number>();
      for (let i = 1n; seen.size < 82; i++) seen.add(Number(refWord(1000n + BigInt(k), i) % 4096n));
      expect(r).toEqual([...seen].sort((a, b) => a - b));
    }
  });

  it('region content is the start of stream((k << 32) + r)', () => {
    const c = regionContent(64, 4095);
    expect(c).toHaveLength(65536);
    expect(hex(c.subarray(0, 24))).toBe(hex(refBytes((64n << 32n) + 4095n, 0, 24)));
    expect(hex(c.subarray(65536 - 8))).toBe(hex(refBytes((64n << 32n) + 4095n, 65536 - 8, 8)));
  });

  it('random reads are at (x mod 65536) * 4096 for the words of stream(12345)', () => {
    const o = randomReadOffsets();
    expect(o).toHaveLength(20_000);
    for (const i of [0, 1, 19_999]) expect(o[i]).toBe(Number(refWord(12345n, BigInt(i + 1)) % 65536n) * 4096);
    expect(Math.max(...o)).toBeLessThanOrEqual(WORKLOAD.virtualSize - 4096);
  });

  it('shares of regions above the base match the document (2%, 15%, 72%)', () => {
    const above = (d: number): number => regionOwners(d).filter((k) => k > 0).length;
    expect(above(1)).toBe(82);
    expect(above(8)).toBe(612); // 14.9%
    expect(above(64)).toBe(2979); // 72.7%
    expect(Math.abs(above(8) / 4096 - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(above(64) / 4096 - 0.72)).toBeLessThan(0.01);
  });

  it('the in-memory image of depth 0 and 4 has the expected SHA-256', () => {
    const img = workloadImage(0);
    expect(sha256(img)).toBe(EXPECTED_SHA256[0]);
    expect(sha256(workloadImage(4, img))).toBe(EXPECTED_SHA256[4]);
  });
});

describe('make-workload files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-workload-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a dynamic base and numbered layers whose chains reproduce the table at depths 1, 2 and 4', () => {
    const progress: number[] = [];
    const r = makeWorkload(new NodeDiskStore(), { dir, depth: 4, onProgress: (done, total) => {
      expect(total).toBe(workloadBytes(4));
      progress.push(done);
    } });
    expect(r.paths.map((p) => path.basename(p))).toEqual(['workload.vhdx', 'workload-01.avhdx', 'workload-02.avhdx', 'workload-03.avhdx', 'workload-04.avhdx']);
    expect(r.leaf).toBe(workloadLayerPath(dir, 4));
    expect(r.bytesWritten).toBe(WORKLOAD.virtualSize + 4 * 82 * 65536);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(r.bytesWritten);
    expect(progress.every((v, i) => i === 0 || v >= progress[i - 1]!)).toBe(true);
    // Parents are frozen as a checkpoint leaves them; the leaf stays writable.
    for (const p of r.paths.slice(0, -1)) expect(fs.statSync(p).mode & 0o222).toBe(0);
    expect(fs.statSync(r.leaf).mode & 0o200).not.toBe(0);

    const buf = new Uint8Array(4 * 1024 * 1024);
    for (const d of [1, 2, 4]) {
      const chain = Chain.open(workloadLayerPath(dir, d));
      try {
        expect(chain.depth).toBe(d + 1);
        expect(chain.base.type).toBe('Dynamic');
        expect(chain.leaf.type).toBe('Differencing');
        expect(layerAllocation(chain.leaf).dataBytes).toBe(82 * 65536);
        const h = createHash('sha256');
        for (let off = 0; off < chain.virtualSize; off += buf.length) {
          chain.read(buf, off);
          h.update(buf);
        }
        expect(h.digest('hex')).toBe(EXPECTED_SHA256[d]);
      } finally {
        chain.close();
      }
    }
  });

  it('refuses to replace existing files unless asked to', () => {
    expect(() => makeWorkload(new NodeDiskStore(), { dir, depth: 1 })).toThrow(/already exists/);
    const r = makeWorkload(new NodeDiskStore(), { dir, depth: 0, name: 'other' });
    expect(path.basename(r.leaf)).toBe('other.vhdx');
    const again = makeWorkload(new NodeDiskStore(), { dir, depth: 0, name: 'other', overwrite: true });
    expect(again.paths).toEqual(r.paths);
  });

  it('refuses depths outside 0..255 and names with a path in them', () => {
    expect(() => makeWorkload(new NodeDiskStore(), { dir, depth: -1 })).toThrow(HvsimError);
    expect(() => makeWorkload(new NodeDiskStore(), { dir, depth: 256 })).toThrow(HvsimError);
    expect(() => makeWorkload(new NodeDiskStore(), { dir, depth: 0, name: '../x' })).toThrow(HvsimError);
  });
});
