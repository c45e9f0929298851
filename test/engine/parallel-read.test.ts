// Reads split between the calling thread and a helper thread (src/vhd/io/parallel-read.ts, used by
// Chain.read for large reads into a SharedArrayBuffer): the same bytes as a read on one thread at
// piece, block and cut boundaries, zeros past a file's end, a failed read on either thread surfacing
// as the typed error naming the file, and the helper ending when the chain closes (a process that
// never closes it still exits).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Chain, PARALLEL_PASS_MIN, PARALLEL_READ_MIN, passBuffer } from '../../src/engine/chain.js';
import { flatten } from '../../src/engine/flatten.js';
import { createBaseDisk, createChild } from '../../src/engine/layers.js';
import { NodeDiskStore } from '../../src/engine/store.js';
import { ioBuffer, sharedIoBuffer } from '../../src/vhd/common/bytes.js';
import type { BlockFile, PieceReader } from '../../src/vhd/io/block-file.js';
import { NodeFile } from '../../src/vhd/io/node-file.js';
import { ParallelReader } from '../../src/vhd/io/parallel-read.js';
import { expectError, fill } from '../helpers/data.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 8 * MiB;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A NodeDiskStore that keeps the readers it makes (and can make them leave all pieces to the helper). */
class ReaderStore extends NodeDiskStore {
  readers: ParallelReader[] = [];
  constructor(private readonly callerReads = true) {
    super();
  }
  override pieceReader(files: readonly BlockFile[]): PieceReader | undefined {
    const r = new ParallelReader(files.map((f) => ({ fd: (f as NodeFile).descriptor, name: f.name })), { callerReads: this.callerReads });
    this.readers.push(r);
    return r;
  }
}

let dir: string;
let leaf: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-parallel-read-'));
  const store = new NodeDiskStore();
  const base = createBaseDisk(store, path.join(dir, 'base.vhdx'), { virtualSize: SIZE, blockSize: MiB });
  let c = Chain.open(base, { writable: true });
  c.write(fill(5 * MiB, 1), 0); // the last 3 MiB hold nothing: zeros through the chain
  c.close();
  const mid = createChild(store, base, path.join(dir, 'mid.avhdx'));
  c = Chain.open(mid, { writable: true });
  // Single sectors and short runs: partially present blocks, pieces of 512 bytes and up.
  for (let i = 0; i < 64; i++) c.write(fill(512 * (1 + (i % 5)), 100 + i), i * 97 * KiB + 512 * (i % 3));
  c.close();
  leaf = createChild(store, mid, path.join(dir, 'leaf.avhdx'));
  c = Chain.open(leaf, { writable: true });
  c.write(fill(MiB + 4 * KiB, 7), 3 * MiB - 2 * KiB); // across block boundaries
  c.write(fill(1536, 8), 6 * MiB + 512); // in the hole
  c.zero(2 * MiB, 64 * KiB);
  c.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Ranges of at least PARALLEL_READ_MIN: whole disk, unaligned starts and ends, across the hole. */
const RANGES: Array<[number, number]> = [
  [0, SIZE],
  [12345, 5 * MiB + 77],
  [MiB - 512, 3 * MiB + 1536],
  [SIZE - PARALLEL_READ_MIN, PARALLEL_READ_MIN],
  [256 * KiB - 1, 2 * MiB + 3], // the reader cuts pieces at 256 KiB
];

describe('parallel chain reads', () => {
  for (const callerReads of [true, false]) {
    it(`read the same bytes as one thread (${callerReads ? 'both threads' : 'the helper alone'})`, async () => {
      const store = new ReaderStore(callerReads);
      const chain = Chain.open(leaf, { store });
      try {
        const expected = RANGES.map(([o, n]) => {
          const b = ioBuffer(n);
          chain.read(b, o);
          const naive = new Uint8Array(n);
          chain.readNaive(naive, o);
          expect(Buffer.from(b).equals(naive)).toBe(true);
          return b;
        });
        expect(store.readers).toHaveLength(0); // not shared: no reader
        chain.read(sharedIoBuffer(PARALLEL_READ_MIN), 0); // starts the helper (this read is the caller's alone)
        const reader = store.readers[0]!;
        await vi.waitFor(() => expect(reader.helperReady).toBe(true));
        for (let round = 0; round < 3; round++)
          RANGES.forEach(([o, n], i) => {
            const b = sharedIoBuffer(n);
            b.fill(0xee); // stale bytes must all be overwritten
            chain.read(b, o);
            expect(Buffer.from(b).equals(expected[i]!), `range ${o}+${n}`).toBe(true);
          });
        if (!callerReads) expect(reader.helperPieces).toBeGreaterThan(0);
        // A read below the threshold stays on this thread.
        const before = reader.helperPieces;
        const small = sharedIoBuffer(PARALLEL_READ_MIN - 512);
        chain.read(small, 512);
        expect(reader.helperPieces).toBe(before);
        expect(Buffer.from(small).equals(expected[0]!.subarray(512, PARALLEL_READ_MIN))).toBe(true);
      } finally {
        chain.close();
      }
      // The helper ends with the chain.
      await store.readers[0]!.ended();
    });
  }

  it('a pass over PARALLEL_PASS_MIN bytes or more reads into a shared buffer; convert-vhd of such a disk copies the right bytes', () => {
    expect(passBuffer(4096, PARALLEL_PASS_MIN - 1).buffer).toBeInstanceOf(ArrayBuffer);
    expect(passBuffer(4096, PARALLEL_PASS_MIN).buffer).toBeInstanceOf(SharedArrayBuffer);
    // A sparse 4 GiB + 1 MiB chain (a few MiB of data; flatten skips windows no layer holds).
    const plain = new NodeDiskStore();
    const size = PARALLEL_PASS_MIN + MiB;
    const base = createBaseDisk(plain, path.join(dir, 'big.vhdx'), { virtualSize: size, blockSize: MiB });
    let c = Chain.open(base, { writable: true });
    const spots = [0, 3 * MiB - 700, 2 * 1024 * MiB + 123 * KiB, size - 3 * MiB];
    spots.forEach((o, i) => c.write(fill(2 * MiB + 4 * KiB * i, 50 + i), o));
    c.close();
    const top = createChild(plain, base, path.join(dir, 'big.avhdx'));
    c = Chain.open(top, { writable: true });
    spots.forEach((o, i) => c.write(fill(512 * (i + 1), 60 + i), o + MiB + 512 * i));
    c.close();
    const store = new ReaderStore();
    const chain = Chain.open(top, { store });
    try {
      const out = flatten(store, chain, path.join(dir, 'big-copy.vhdx'), 'VHDX');
      expect(store.readers).toHaveLength(1); // the pass read through the parallel reader
      const copy = Chain.open(out.path);
      try {
        for (const o of spots) {
          const want = new Uint8Array(3 * MiB);
          chain.readNaive(want, o);
          const got = new Uint8Array(3 * MiB);
          copy.read(got, o);
          expect(Buffer.from(got).equals(want), `at ${o}`).toBe(true);
        }
      } finally {
        copy.close();
      }
    } finally {
      chain.close();
    }
  });

  it('a store without a piece reader reads shared buffers on one thread', () => {
    class Plain extends NodeDiskStore {}
    Object.defineProperty(Plain.prototype, 'pieceReader', { value: undefined });
    const chain = Chain.open(leaf, { store: new Plain() });
    try {
      const a = sharedIoBuffer(SIZE);
      chain.read(a, 0);
      const b = new Uint8Array(SIZE);
      chain.readNaive(b, 0);
      expect(Buffer.from(a).equals(b)).toBe(true);
    } finally {
      chain.close();
    }
  });
});

describe('ParallelReader', () => {
  /** A file of `n` known bytes, open for reading. */
  function dataFile(name: string, n: number): { file: NodeFile; bytes: Uint8Array } {
    const p = path.join(dir, name);
    const bytes = fill(n, n);
    fs.writeFileSync(p, bytes);
    return { file: NodeFile.open(p, 'r'), bytes };
  }

  async function ready(r: Pick<ParallelReader, 'read' | 'helperReady'>): Promise<void> {
    r.read(sharedIoBuffer(16), Float64Array.of(-1, -1, 16, 0), 1);
    await vi.waitFor(() => expect(r.helperReady).toBe(true));
  }

  it('reads pieces of several files, zero pieces and zeros past a file end, on the helper', async () => {
    const a = dataFile('a.bin', 3 * MiB + 5);
    const b = dataFile('b.bin', 1000);
    const r = new ParallelReader([{ fd: a.file.descriptor, name: a.file.name }, { fd: b.file.descriptor, name: b.file.name }], { callerReads: false });
    try {
      await ready(r);
      // (file, file offset, length, buffer offset): a piece over the 256 KiB cut, one of b running
      // 200 bytes past its end, a zero piece, a 1-byte piece.
      const pieces = Float64Array.of(0, 7, 600 * KiB, 0, 1, 900, 300, 600 * KiB, -1, -1, 4096, 600 * KiB + 300, 0, 3 * MiB + 4, 1, 600 * KiB + 4396);
      const total = 600 * KiB + 4397;
      const buf = sharedIoBuffer(total);
      buf.fill(0xee);
      const before = r.helperPieces;
      r.read(buf, pieces, 4);
      expect(r.helperPieces - before).toBe(6); // 600 KiB is cut in 3
      const want = new Uint8Array(total);
      want.set(a.bytes.subarray(7, 7 + 600 * KiB), 0);
      want.set(b.bytes.subarray(900, 1000), 600 * KiB);
      want[600 * KiB + 4396] = a.bytes[3 * MiB + 4]!;
      expect(Buffer.from(buf).equals(want)).toBe(true);
    } finally {
      r.close();
      a.file.close();
      b.file.close();
    }
    await r.ended();
  });

  it('a failed read, on the helper or on the caller, is the typed error naming the file', async () => {
    const a = dataFile('c.bin', MiB);
    const folder = path.join(dir, 'a-folder');
    fs.mkdirSync(folder);
    const fd = fs.openSync(folder, 'r');
    const files = [{ fd: a.file.descriptor, name: a.file.name }, { fd, name: folder }];
    const pieces = Float64Array.of(0, 0, 4096, 0, 1, 0, 4096, 4096);
    try {
      for (const callerReads of [false, true]) {
        const r = new ParallelReader(files, { callerReads });
        try {
          await ready(r);
          for (const buf of [sharedIoBuffer(8192), ioBuffer(8192)]) {
            expectError(() => r.read(buf, pieces, 2), 'INVALID_ARGUMENT', folder, 'is a folder');
            // The reader is usable after a failure.
            r.read(buf, pieces, 1);
            expect(Buffer.from(buf.subarray(0, 4096)).equals(a.bytes.subarray(0, 4096))).toBe(true);
          }
        } finally {
          r.close();
        }
        await r.ended();
      }
    } finally {
      fs.closeSync(fd);
      a.file.close();
    }
  });

  for (const [what, minify] of [
    ['as scripts/build-cli.mjs compiles it (minified syntax and whitespace, names kept)', { minifyWhitespace: true, minifySyntax: true, keepNames: true }],
    ['fully minified (names too)', { minify: true }],
  ] as const) {
    it(`works ${what}: the helper runs its functions' source text`, async () => {
      const { build } = await import('esbuild');
      const out = path.join(dir, `bundled-parallel-read-${'keepNames' in minify ? 'kept' : 'min'}.mjs`);
      await build({
        entryPoints: [path.join(repo, 'src/vhd/io/parallel-read.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20',
        ...minify, logLevel: 'silent',
      });
      const mod = (await import(out)) as typeof import('../../src/vhd/io/parallel-read.js');
      const a = dataFile(`d-${'keepNames' in minify ? 'kept' : 'min'}.bin`, MiB);
      const r = new mod.ParallelReader([{ fd: a.file.descriptor, name: a.file.name }], { callerReads: false });
      try {
        await ready(r);
        const buf = sharedIoBuffer(MiB);
        r.read(buf, Float64Array.of(0, 0, MiB, 0), 1);
        expect(r.helperPieces).toBe(4);
        expect(Buffer.from(buf).equals(a.bytes)).toBe(true);
      } finally {
        r.close();
        a.file.close();
      }
      await r.ended();
    });
  }

  it('a process that reads in parallel and never closes the chain still exits', () => {
    const script = path.join(dir, 'no-close.ts');
    fs.writeFileSync(
      script,
      `import { Chain } from ${JSON.stringify(path.join(repo, 'src/engine/chain.ts'))};\n` +
        `import { sharedIoBuffer } from ${JSON.stringify(path.join(repo, 'src/vhd/common/bytes.ts'))};\n` +
        `const c = Chain.open(${JSON.stringify(leaf)});\n` +
        `const b = sharedIoBuffer(${SIZE});\n` +
        `c.read(b, 0);\n` +
        `setTimeout(() => { c.read(b, 0); process.stdout.write('read ' + b.length); }, 300);\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined(); // a hang would end in ETIMEDOUT
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`read ${SIZE}`);
    expect(r.status).toBe(0);
  });
});
