/**
 * The standard deep-chain workload (docs/workload.md): a splitmix64 generator, the
 * content of every layer, and writing the chain as files through a DiskStore — a dynamic `.vhdx`
 * base and differencing `.avhdx` layers numbered by depth.
 *
 * The generator runs in a 180-byte WebAssembly function (native 64-bit multiplies, ~0.3 ns a byte);
 * everything crossing the JS boundary is 32-bit, so no BigInt is used at run time. The same
 * arithmetic in JS on 32-bit halves runs about 15× slower (256 MiB: ~1.2 s against ~80 ms).
 */
import * as path from 'node:path';
import { ioBuffer, KiB, MiB } from '../vhd/common/bytes.js';
import { invalidArgument } from '../errors.js';
import type { DiskImage } from '../vhd/disk.js';
import { createDifferencingDiskFile, createDiskFile } from '../vhd/open.js';
import { MAX_CHAIN_DEPTH } from './chain.js';
import type { DiskStore } from './store.js';


/** The workload's constants (docs/workload.md, "Disk and layers"). */
export const WORKLOAD = {
  virtualSize: 256 * MiB,
  regionSize: 64 * KiB,
  regionCount: 4096,
  regionsPerLayer: 82,
  /** Deepest layer the document defines; the generator itself goes on (up to MAX_CHAIN_DEPTH - 1). */
  depth: 64,
  baseSeed: 42,
  /** Layer k draws its regions from stream(layerSeedBase + k). */
  layerSeedBase: 1000,
  randomReadSeed: 12345,
  randomReadCount: 20_000,
  randomReadSize: 4 * KiB,
} as const;

/** SHA-256 of the whole virtual disk read from the top of the depth-N chain (docs/workload.md, "Expected hashes"). */
export const EXPECTED_SHA256: Readonly<Record<number, string>> = {
  0: '9b894cb32688636558cec8c739aeb256631b8cf55fb32aa9a00ccea327ae8310',
  1: '7fd139a082cd1b4378bfba749db40cad882ddf7842d06cc50268d58f68284404',
  2: '12e2c0e62a87e8c3afdbc9539cb40f2e8e56364454993dfac31caae1d014a63b',
  4: 'e6d1ec52f84724670ef3b5bd0cb3dca303e2c046dad771b870f76a16dec8f4d4',
  8: '52cf0e130162f360204ddeff2e74a0c9e2d9bdb01184c7b78cbe15eaadc967c9',
  16: '85652a923c8c39634eddb84bc7a9095aec3ada955189587a92b2aed0471f2e05',
  32: '8d5e4b5c4e34c9f6d6d6ae2b017407facdcec5fdab65d9760de5815373ffb38d',
  64: '1798f3c02858f34f4607c2141060e48c9d47bf19822217ea7f4a396e936203dd',
};

// ---- splitmix64 ----

/**
 * fill(seedHi, seedLo, firstHi, firstLo, n): with s = seed + first * GAMMA (mod 2^64), writes
 * words first+1 … first+n of stream(seed) to memory at 0, each 8 bytes little-endian (WebAssembly
 * memory is little-endian on every platform). n must be at least 1.
 */
function buildModule(): Uint8Array {
  const uleb = (n: number): number[] => {
    const o: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      o.push(b);
    } while (n);
    return o;
  };
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  // i64.const with the constants as signed LEB128 (precomputed to keep BigInt out).
  const GAMMA = [0x42, 0x95, 0xf8, 0xa9, 0xfa, 0x97, 0xb7, 0xde, 0x9b, 0x9e, 0x7f]; // 0x9E3779B97F4A7C15
  const MUL1 = [0x42, 0xb9, 0xcb, 0x93, 0xe7, 0xd1, 0xed, 0x91, 0xac, 0xbf, 0x7f]; // 0xBF58476D1CE4E5B9
  const MUL2 = [0x42, 0xeb, 0xa3, 0xc4, 0x99, 0xb1, 0xb7, 0x92, 0xe8, 0x94, 0x7f]; // 0x94D049BB133111EB
  // (u64)hi << 32 | (u64)lo from two i32 locals: local.get, i64.extend_i32_u, i64.const 32, i64.shl, …, i64.or
  const u64 = (hi: number, lo: number): number[] => [0x20, hi, 0xad, 0x42, 32, 0x86, 0x20, lo, 0xad, 0x84];
  // params 0 seedHi, 1 seedLo, 2 firstHi, 3 firstLo, 4 n (i32); locals 5 p, 6 end (i32), 7 s, 8 z (i64)
  const body = [
    0x02, 0x02, 0x7f, 0x02, 0x7e,
    ...u64(0, 1), ...u64(2, 3), ...GAMMA, 0x7e, 0x7c, 0x21, 7, // s = seed + first * GAMMA
    0x20, 4, 0x41, 3, 0x74, 0x21, 6, // end = n << 3
    0x03, 0x40, // loop
    0x20, 7, ...GAMMA, 0x7c, 0x22, 7, // s += GAMMA; z = s
    0x42, 30, 0x88, 0x20, 7, 0x85, ...MUL1, 0x7e, 0x22, 8, // z = (z >> 30 ^ z) * MUL1
    0x20, 8, 0x42, 27, 0x88, 0x85, ...MUL2, 0x7e, 0x22, 8, // z = (z ^ z >> 27) * MUL2
    0x20, 8, 0x42, 31, 0x88, 0x85, 0x21, 8, // z ^= z >> 31
    0x20, 5, 0x20, 8, 0x37, 3, 0, // store z at p
    0x20, 5, 0x41, 8, 0x6a, 0x22, 5, 0x20, 6, 0x49, 0x0d, 0, // p += 8; loop while p < end
    0x0b,
    0x0b,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, GEN_PAGES]),
    ...section(7, [2, ...name('fill'), 0, 0, ...name('mem'), 2, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

const GEN_PAGES = 16; // 1 MiB of WebAssembly memory: the generator's chunk
const GEN_CHUNK = GEN_PAGES * 64 * KiB;

/** The little of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

interface Generator {
  fill: (seedHi: number, seedLo: number, firstHi: number, firstLo: number, n: number) => void;
  heap: Uint8Array;
}
let generator: Generator | undefined;

function gen(): Generator {
  if (!generator) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const inst = new wasm.Instance(new wasm.Module(buildModule()));
    const mem = inst.exports['mem'] as { buffer: ArrayBuffer };
    generator = { fill: inst.exports['fill'] as Generator['fill'], heap: new Uint8Array(mem.buffer) };
  }
  return generator;
}

const TWO32 = 2 ** 32;

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArgument(`splitmix64 seed must be a non-negative safe integer, not ${seed}`);
}

/**
 * Fill `out` with the bytes of stream(seed) starting at byte `byteOffset` of the stream
 * (the bytes of word i, counting from 1, are stream bytes 8(i-1) … 8i-1).
 */
export function streamBytes(seed: number, out: Uint8Array, byteOffset = 0): void {
  checkSeed(seed);
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0) throw invalidArgument(`stream offset must be a non-negative integer, not ${byteOffset}`);
  const g = gen();
  const seedHi = Math.floor(seed / TWO32);
  const seedLo = seed >>> 0;
  let done = 0;
  while (done < out.length) {
    const p = byteOffset + done;
    const word = Math.floor(p / 8);
    const skip = p - word * 8;
    const n = Math.min(out.length - done, GEN_CHUNK - skip);
    g.fill(seedHi, seedLo, Math.floor(word / TWO32), word >>> 0, Math.ceil((skip + n) / 8));
    out.set(g.heap.subarray(skip, skip + n), done);
    done += n;
  }
}

/**
 * `count` words of stream(seed) from word `first` (counting from 1) as uint32 pairs:
 * element 2j is the low half of word first+j, element 2j+1 its high half.
 */
export function streamWords(seed: number, count: number, first = 1): Uint32Array {
  const out = new Uint32Array(count * 2);
  streamBytes(seed, new Uint8Array(out.buffer), (first - 1) * 8);
  if (!littleEndian) for (let i = 0; i < out.length; i++) out[i] = swap32(out[i]!);
  return out;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

// ---- The layers ----

/** Regions written by layer k (k ≥ 1), ascending (docs/workload.md: first 82 distinct `x mod 4096`). */
export function layerRegions(k: number): number[] {
  if (!Number.isSafeInteger(k) || k < 1) throw invalidArgument(`workload layer must be 1 or more, not ${k}`);
  const seen = new Uint8Array(WORKLOAD.regionCount);
  const out: number[] = [];
  let first = 1;
  while (out.length < WORKLOAD.regionsPerLayer) {
    const words = streamWords(WORKLOAD.layerSeedBase + k, 256, first);
    first += 256;
    for (let j = 0; j < words.length && out.length < WORKLOAD.regionsPerLayer; j += 2) {
      const r = words[j]! % WORKLOAD.regionCount; // 4096 divides 2^32: the low half decides
      if (seen[r]) continue;
      seen[r] = 1;
      out.push(r);
    }
  }
  return out.sort((a, b) => a - b);
}

/** Seed of region r's content in layer k: (k << 32) + r. */
export function regionSeed(k: number, r: number): number {
  return k * TWO32 + r;
}

/** Content of region r in layer k ≥ 1 (the first 65,536 bytes of stream((k << 32) + r)). */
export function regionContent(k: number, r: number, out: Uint8Array = new Uint8Array(WORKLOAD.regionSize)): Uint8Array {
  streamBytes(regionSeed(k, r), out.subarray(0, WORKLOAD.regionSize));
  return out;
}

/** Bytes of the base (layer 0) at a virtual offset: the first 256 MiB of stream(42). */
export function baseContent(out: Uint8Array, offset: number): void {
  streamBytes(WORKLOAD.baseSeed, out, offset);
}

/** Byte offsets of the standard random reads (`(x_i mod 65536) * 4096`, x from stream(12345)). */
export function randomReadOffsets(count: number = WORKLOAD.randomReadCount): Float64Array {
  const words = streamWords(WORKLOAD.randomReadSeed, count);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = (words[2 * i]! & 0xffff) * WORKLOAD.randomReadSize;
  return out;
}

/** Which layer holds the newest copy of each region at depth N (0 = the base). */
export function regionOwners(depth: number): Int16Array {
  const owners = new Int16Array(WORKLOAD.regionCount);
  for (let k = 1; k <= depth; k++) for (const r of layerRegions(k)) owners[r] = k;
  return owners;
}

/** The whole virtual disk of the depth-N chain, computed in memory (256 MiB). */
export function workloadImage(depth: number, out: Uint8Array = new Uint8Array(WORKLOAD.virtualSize)): Uint8Array {
  checkDepth(depth);
  if (out.length !== WORKLOAD.virtualSize) throw invalidArgument(`workload image buffer must be ${WORKLOAD.virtualSize} bytes`);
  baseContent(out, 0);
  const owners = regionOwners(depth);
  owners.forEach((k, r) => {
    if (k > 0) regionContent(k, r, out.subarray(r * WORKLOAD.regionSize, (r + 1) * WORKLOAD.regionSize));
  });
  return out;
}

function checkDepth(depth: number): void {
  if (!Number.isSafeInteger(depth) || depth < 0 || depth >= MAX_CHAIN_DEPTH)
    throw invalidArgument(`workload depth must be an integer from 0 to ${MAX_CHAIN_DEPTH - 1}, not ${depth}`);
}

// ---- Files ----

/** File of layer k: `<name>.vhdx` for the base, `<name>-01.avhdx` … for the layers above it. */
export function workloadLayerPath(dir: string, k: number, name = 'workload'): string {
  return path.join(dir, k === 0 ? `${name}.vhdx` : `${name}-${String(k).padStart(2, '0')}.avhdx`);
}

export interface MakeWorkloadOptions {
  dir: string;
  depth: number;
  /** File name stem (default "workload"). */
  name?: string;
  /** Replace existing files of the same names (otherwise they are refused). */
  overwrite?: boolean;
  /** Block sizes (defaults: Hyper-V's 32 MiB for the base, 2 MiB for differencing disks). */
  baseBlockSize?: number;
  childBlockSize?: number;
  /**
   * Make every write durable (fdatasync). Off by default: a generated workload is worth nothing
   * after a crash and can be made again (DiskStore.create `durable: false`).
   */
  durable?: boolean;
  /** Called after each piece is written: virtual bytes written so far, and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface WorkloadFiles {
  /** Absolute paths, base first; the last one is the leaf. */
  paths: string[];
  leaf: string;
  depth: number;
  /** Virtual-disk bytes written (base plus every layer's regions). */
  bytesWritten: number;
}

/** Virtual bytes make-workload writes for a depth (what its progress counts to). */
export function workloadBytes(depth: number): number {
  return WORKLOAD.virtualSize + depth * WORKLOAD.regionsPerLayer * WORKLOAD.regionSize;
}

/**
 * Write the depth-N chain into `dir`. Each parent is marked read-only once its child exists, as a
 * checkpoint leaves it. Large writes are batched (one call per base block, one per run of adjacent
 * regions), because each write call journals its BAT and bitmap pages.
 */
export function makeWorkload(store: DiskStore, opts: MakeWorkloadOptions): WorkloadFiles {
  checkDepth(opts.depth);
  const name = opts.name ?? 'workload';
  if (!/^[^/\\]+$/.test(name)) throw invalidArgument(`workload name must be a plain file name, not "${name}"`);
  const dir = store.absolutePath(opts.dir);
  store.mkdirp(dir);
  const paths = Array.from({ length: opts.depth + 1 }, (_, k) => workloadLayerPath(dir, k, name));
  for (const p of paths) {
    if (!store.exists(p)) continue;
    if (!opts.overwrite) throw invalidArgument(`${p} already exists (remove it or overwrite)`, p);
    store.setReadOnly(p, false);
    store.remove(p);
  }
  const durable = opts.durable ?? false;
  const total = workloadBytes(opts.depth);
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    opts.onProgress?.(done, total);
  };
  opts.onProgress?.(0, total);

  let prev: DiskImage | undefined;
  const made: string[] = [];
  try {
    // Layer 0: every byte, one write per base block.
    const baseFile = store.create(paths[0]!, { durable });
    made.push(paths[0]!);
    try {
      prev = createDiskFile(baseFile, 'VHDX', { virtualSize: WORKLOAD.virtualSize, ...(opts.baseBlockSize ? { blockSize: opts.baseBlockSize } : {}) });
    } catch (e) {
      baseFile.close();
      throw e;
    }
    const chunk = ioBuffer(Math.min(WORKLOAD.virtualSize, Math.max(prev.blockSize, 4 * MiB)));
    for (let off = 0; off < WORKLOAD.virtualSize; off += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, WORKLOAD.virtualSize - off));
      baseContent(part, off);
      prev.writeSectors(part, off);
      progress(part.length);
    }
    // Layers 1..N.
    const rs = WORKLOAD.regionSize;
    const runBuf = new Uint8Array(WORKLOAD.regionsPerLayer * rs);
    for (let k = 1; k <= opts.depth; k++) {
      const f = store.create(paths[k]!, { durable });
      made.push(paths[k]!);
      let child: DiskImage;
      try {
        child = createDifferencingDiskFile(f, prev, paths[k - 1]!, paths[k]!, opts.childBlockSize);
      } catch (e) {
        f.close();
        throw e;
      }
      prev.close();
      store.setReadOnly(paths[k - 1]!, true);
      prev = child;
      const regions = layerRegions(k);
      for (let i = 0; i < regions.length; ) {
        let j = i + 1;
        while (j < regions.length && regions[j] === regions[j - 1]! + 1) j++;
        const run = runBuf.subarray(0, (j - i) * rs);
        for (let t = i; t < j; t++) regionContent(k, regions[t]!, run.subarray((t - i) * rs, (t - i + 1) * rs));
        child.writeSectors(run, regions[i]! * rs);
        progress(run.length);
        i = j;
      }
    }
    prev.flush();
    prev.close();
    prev = undefined;
  } catch (e) {
    // An unfinished workload is of no use: remove the files this call created (interrupted too).
    try {
      prev?.close();
      for (const p of made) store.remove(p);
    } catch {
      // already failing: what is left is named by the error and replaced by --force
    }
    throw e;
  }
  return { paths, leaf: paths[paths.length - 1]!, depth: opts.depth, bytesWritten: done };
}
