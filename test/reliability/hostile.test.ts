/**
 * Hostile files (issue 8), the cases test/vhd/vhdx-fuzz.test.ts, test/vhd/vhd-format.test.ts ("hostile
 * files", truncations at every structure boundary) and test/vhd/vhdx-log.test.ts ("hostile logs", for
 * the log search alone) do not cover:
 *   - parent locators that name arbitrary paths: /etc/passwd, a directory, a non-disk file, a
 *     device, a FIFO, a disk of the wrong identity or size, the child itself, a loop A→B→A, a
 *     symlink loop, a chain one layer deeper than the cap — on real files, through every entry
 *     point that follows a chain (read, check, writable open, merge) and through the CLI;
 *   - whole VHDX files whose log holds an entry with hostile values that pass its checksum;
 *   - both header copies valid but pointing at different logs;
 *   - fast-check mutations of whole small files (any byte, chunk copies, truncation, extension,
 *     with and without resealed checksums);
 *   - test-vhd reporting every problem it finds.
 * Each case must end in a typed HvsimError with a one-line message naming the file, or in a
 * correct read, within a time bound and a memory bound (process.memoryUsage() deltas around the
 * case; the CLI's peak RSS), leaving every file unchanged. Summary lines go to stdout
 * ("[reliability-hostile] …").
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { HvsimError } from '../../src/errors.js';
import { crc32c, sealStructure } from '../../src/vhd/common/crc32c.js';
import { setU32be, setU32le, setU64le, u32le } from '../../src/vhd/common/bytes.js';
import { MemoryFile } from '../../src/vhd/io/memory-file.js';
import { FaultFile, faultBudget } from '../../src/vhd/io/fault-file.js';
import { readImage, type DiskImage } from '../../src/vhd/disk.js';
import { openDiskFile } from '../../src/vhd/open.js';
import { createVhdx, createVhdxDifferencing } from '../../src/vhd/vhdx/create.js';
import { openVhdx } from '../../src/vhd/vhdx/vhdx-image.js';
import { createVhd, createVhdDifferencing, openVhd } from '../../src/vhd/vhd/vhd-file.js';
import { vhdChecksum } from '../../src/vhd/vhd/footer.js';
import { parseHeader, serializeHeader, type VhdxHeader } from '../../src/vhd/vhdx/header.js';
import { encodeLogEntry, findActiveSequence } from '../../src/vhd/vhdx/log.js';
import { setEntry } from '../../src/vhd/vhdx/bat.js';
import { childLocatorEntries } from '../../src/vhd/vhdx/metadata.js';
import { ZERO_GUID } from '../../src/vhd/common/guid.js';
import { Chain, MAX_CHAIN_DEPTH } from '../../src/engine/chain.js';
import { checkChainFile } from '../../src/engine/check.js';
import { mergeDown } from '../../src/engine/merge.js';
import { MemoryDiskStore, NodeDiskStore } from '../../src/engine/store.js';
import { workerClock } from '../helpers/data.js';

/** CPU and wall time of this test file's worker, for the summary line. */
const cpuLine = workerClock();

const KiB = 1024;
const MiB = 1024 * KiB;
const H1 = 64 * KiB;
const H2 = 128 * KiB;
const RT1 = 192 * KiB;
const RT2 = 256 * KiB;
const LOG = MiB;
const BAT = 3 * MiB;
/** Every in-process case must finish within this (ms)… */
const TIME_BOUND = 3000;
/** …and grow ArrayBuffer memory by at most this plus four times the bytes of the files involved. */
const MEMORY_BOUND = 64 * MiB;
/** RSS may grow by at most this (heap growth, code, caches) in one case. */
const RSS_BOUND = 256 * MiB;
/** The CLI on a hostile file: wall time and peak RSS. */
const CLI_TIME_BOUND = 15_000;
const CLI_RSS_BOUND_KIB = 400 * 1024;

let work: string;

const figures = { pathCases: 0, logCases: 0, headerCases: 0, mutations: 0, reportCases: 0, cliRuns: 0, maxMs: 0, maxArrayBuffers: 0, maxRss: 0, maxCliRssKiB: 0 };

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-hostile-'));
});

afterAll(() => {
  console.log(
    `[reliability-hostile] total: ${figures.pathCases} parent-path cases, ${figures.logCases} hostile log entries, ${figures.headerCases} header-pair cases, ` +
      `${figures.mutations} random whole-file mutations, ${figures.reportCases} test-vhd report cases, ${figures.cliRuns} CLI runs; ` +
      `slowest case ${Math.round(figures.maxMs)} ms, largest ArrayBuffer growth ${(figures.maxArrayBuffers / MiB).toFixed(1)} MiB, ` +
      `largest RSS growth ${(figures.maxRss / MiB).toFixed(1)} MiB, largest CLI peak RSS ${(figures.maxCliRssKiB / 1024).toFixed(0)} MiB; ${cpuLine()} (CLI processes not counted)`,
  );
  if (work) {
    for (const d of walk(work)) fs.chmodSync(d, 0o755);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

function walk(d: string): string[] {
  const out = [d];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) out.push(...walk(path.join(d, e.name)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Measuring a case

interface Measured<T> {
  value?: T;
  error?: unknown;
  ms: number;
  arrayBuffers: number;
  rss: number;
}

function measure<T>(fn: () => T): Measured<T> {
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  const out: Measured<T> = { ms: 0, arrayBuffers: 0, rss: 0 };
  try {
    out.value = fn();
  } catch (e) {
    out.error = e;
  }
  out.ms = performance.now() - t0;
  const m1 = process.memoryUsage();
  out.arrayBuffers = m1.arrayBuffers - m0.arrayBuffers;
  out.rss = m1.rss - m0.rss;
  figures.maxMs = Math.max(figures.maxMs, out.ms);
  figures.maxArrayBuffers = Math.max(figures.maxArrayBuffers, out.arrayBuffers);
  figures.maxRss = Math.max(figures.maxRss, out.rss);
  return out;
}

function expectBounded(m: Measured<unknown>, what: string, fileBytes = 0): void {
  expect(m.ms, `${what}: ${Math.round(m.ms)} ms`).toBeLessThan(TIME_BOUND);
  expect(m.arrayBuffers, `${what}: ArrayBuffers grew by ${m.arrayBuffers} bytes`).toBeLessThan(MEMORY_BOUND + 4 * fileBytes);
  expect(m.rss, `${what}: RSS grew by ${m.rss} bytes`).toBeLessThan(RSS_BOUND + 4 * fileBytes);
}

/** A typed error with a one-line message that names one of `files`. */
function expectTyped(e: unknown, what: string, files: string[], codes?: string[]): HvsimError {
  if (!(e instanceof HvsimError)) throw new Error(`${what}: expected a typed HvsimError, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
  expect(e.message, `${what}: one line`).not.toContain('\n');
  expect(e.message.length, `${what}: a short line`).toBeLessThan(600);
  expect(files.some((f) => e.message.includes(f)), `${what}: "${e.message}" names one of ${files.join(', ')}`).toBe(true);
  if (codes) expect(codes, `${what}: ${e.code} ${e.message}`).toContain(e.code);
  return e;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A file's content digest (for huge sparse files: size, mtime and the first and last MiB). */
function contentId(p: string): string {
  const st = fs.statSync(p);
  if (st.size <= 64 * MiB) return sha(fs.readFileSync(p));
  const fd = fs.openSync(p, 'r');
  const b = Buffer.alloc(2 * MiB);
  fs.readSync(fd, b, 0, MiB, 0);
  fs.readSync(fd, b, MiB, MiB, st.size - MiB);
  fs.closeSync(fd);
  return `${st.size} ${st.mtimeMs} ${sha(b)}`;
}

/** Content digest of every regular file under `dir` (and of `extra` files), and the listing. */
function fingerprint(dir: string, extra: string[] = []): string {
  const parts: string[] = [];
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        parts.push(`dir ${p}`);
        visit(p);
      } else if (e.isFile()) parts.push(`${p} ${contentId(p)} ${fs.statSync(p).mode.toString(8)}`);
      else parts.push(`other ${p}`);
    }
  };
  visit(dir);
  for (const x of extra) parts.push(`${x} ${contentId(x)}`);
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The CLI, run from a private copy, with its peak RSS

interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  maxRssKiB: number | undefined;
}

const RSS_HOOK = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nHVSIM_MAXRSS="+process.resourceUsage().maxRSS+"\\n"))';

function hv(args: string[], timeout = CLI_TIME_BOUND): CliResult {
  figures.cliRuns++;
  const t0 = performance.now();
  const r = runCli(args, { nodeArgs: ['--import', RSS_HOOK], cwd: work, timeout, killSignal: 'SIGKILL', env: { HVSIM_ROOT: path.join(work, 'state') } });
  const ms = performance.now() - t0;
  // The hook also runs in a worker thread (merge-vhd, convert-vhd… run their engine work in one): the largest figure counts.
  const all = [...r.stderr.matchAll(/\nHVSIM_MAXRSS=(\d+)\n/g)].map((x) => Number(x[1]));
  const maxRssKiB = all.length > 0 ? Math.max(...all) : undefined;
  if (maxRssKiB !== undefined) figures.maxCliRssKiB = Math.max(figures.maxCliRssKiB, maxRssKiB);
  return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr.replace(/\n?HVSIM_MAXRSS=\d+\n/g, ''), ms, maxRssKiB };
}

/** A failing CLI run: ended by itself in time, non-zero, one "hvsim: …" line naming a file, bounded memory. */
function expectCliError(r: CliResult, what: string, files: string[]): void {
  expect(r.signal, `${what}: killed after ${Math.round(r.ms)} ms (hung)`).toBeNull();
  expect(r.code, `${what}: exit status (stderr: ${r.stderr})`).not.toBe(0);
  expect(r.code, `${what}: not an internal error (stderr: ${r.stderr})`).not.toBe(70);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines.length, `${what}: one line on stderr: ${r.stderr}`).toBe(1);
  expect(lines[0]!.startsWith('hvsim: '), `${what}: ${lines[0]}`).toBe(true);
  expect(files.some((f) => lines[0]!.includes(f)), `${what}: "${lines[0]}" names one of ${files.join(', ')}`).toBe(true);
  expect(r.maxRssKiB ?? 0, `${what}: peak RSS`).toBeLessThan(CLI_RSS_BOUND_KIB);
}

// ---------------------------------------------------------------------------------------------
// Building disks

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

/** A VHDX base of `size` with data, as bytes (closed cleanly). */
function vhdxBase(name: string, size: number, data = true): Uint8Array {
  const img = createVhdx(new MemoryFile(name), { virtualSize: size, blockSize: MiB });
  if (data) img.writeSectors(fill(2 * MiB, 0x31), MiB);
  img.close();
  return (img.file as MemoryFile).bytes();
}

/** A VHDX child of `parent` (opened from `parentBytes`) that records `parentPath` as its parent. */
function vhdxChild(childPath: string, parentBytes: Uint8Array, parentName: string, parentPath: string): Uint8Array {
  const parent = openVhdx(new MemoryFile(parentName, parentBytes, true));
  const c = createVhdxDifferencing(new MemoryFile(childPath), { parent, parentPath, childPath, blockSize: MiB });
  c.writeSectors(fill(8192, 0x42), MiB + 4096);
  c.close();
  return (c.file as MemoryFile).bytes();
}

/** Rewrite a VHDX child's parent locator in place (its own identity stays). */
function setLocatorBytes(bytes: Uint8Array, name: string, entries: Array<[string, string]>): Uint8Array {
  const img = openVhdx(new MemoryFile(name, bytes), { keepIdentity: true });
  img.setParentLocator(entries);
  img.close();
  return (img.file as MemoryFile).bytes();
}

function identityOf(bytes: Uint8Array): string {
  return openDiskFile(new MemoryFile('x', bytes, true)).identity;
}

// ---------------------------------------------------------------------------------------------
// 1. Parent locators naming arbitrary paths

interface PathCase {
  name: string;
  /** Builds the files in `dir`; returns the leaf to open and files outside `dir` that must stay unchanged. */
  setup(dir: string): { leaf: string; outside?: string[] };
  codes: string[];
  /** Files the error message may name (default: the leaf). */
  names?(dir: string): string[];
}

const SIZE = 8 * MiB;
const PARENT_BYTES = vhdxBase('/p.vhdx', SIZE);

/** A child in `dir` whose locator (relative and absolute) names `target`. */
function childNaming(dir: string, target: string, file = 'child.avhdx'): string {
  const leaf = path.join(dir, file);
  fs.writeFileSync(leaf, vhdxChild(leaf, PARENT_BYTES, '/p.vhdx', target));
  return leaf;
}

const pathCases: PathCase[] = [
  { name: '/etc/passwd (a text file outside the folder)', setup: (d) => ({ leaf: childNaming(d, '/etc/passwd'), outside: ['/etc/passwd'] }), codes: ['PARENT_MISMATCH'] },
  {
    name: 'a relative path climbing out of the folder to /etc/passwd',
    setup: (d) => {
      const leaf = childNaming(d, path.join(d, 'missing.vhdx'));
      const up = path.relative(d, '/etc/passwd').split(path.sep).join('\\');
      fs.writeFileSync(leaf, setLocatorBytes(fs.readFileSync(leaf), leaf, childLocatorEntries(identityOf(PARENT_BYTES), up, 'C:\\nowhere\\missing.vhdx')));
      return { leaf, outside: ['/etc/passwd'] };
    },
    codes: ['PARENT_MISMATCH'],
  },
  {
    name: 'a directory',
    setup: (d) => {
      fs.mkdirSync(path.join(d, 'folder.vhdx'));
      return { leaf: childNaming(d, path.join(d, 'folder.vhdx')) };
    },
    codes: ['PARENT_MISMATCH'],
  },
  {
    name: 'a non-disk file with a disk name',
    setup: (d) => {
      fs.writeFileSync(path.join(d, 'notes.vhdx'), 'not a disk\n'.repeat(1000));
      return { leaf: childNaming(d, path.join(d, 'notes.vhdx')) };
    },
    codes: ['PARENT_MISMATCH'],
  },
  {
    name: 'a 1 TiB sparse non-disk file',
    setup: (d) => {
      const fd = fs.openSync(path.join(d, 'huge.vhdx'), 'w');
      fs.ftruncateSync(fd, 2 ** 40);
      fs.closeSync(fd);
      return { leaf: childNaming(d, path.join(d, 'huge.vhdx')) };
    },
    codes: ['PARENT_MISMATCH'],
  },
  { name: '/dev/zero (a device that reads zeros forever)', setup: (d) => ({ leaf: childNaming(d, '/dev/zero') }), codes: ['PARENT_MISMATCH'] },
  { name: '/dev/urandom', setup: (d) => ({ leaf: childNaming(d, '/dev/urandom') }), codes: ['PARENT_MISMATCH'] },
  {
    name: 'a disk of the wrong identity (same size)',
    setup: (d) => {
      fs.writeFileSync(path.join(d, 'other.vhdx'), vhdxBase('/other.vhdx', SIZE));
      return { leaf: childNaming(d, path.join(d, 'other.vhdx')) };
    },
    codes: ['PARENT_MISMATCH'],
  },
  {
    name: 'a VHD where a VHDX parent is expected',
    setup: (d) => {
      const v = createVhd(new MemoryFile('/o.vhd'), { virtualSize: SIZE });
      fs.writeFileSync(path.join(d, 'other.vhd'), (v.file as MemoryFile).bytes());
      return { leaf: childNaming(d, path.join(d, 'other.vhd')) };
    },
    codes: ['PARENT_MISMATCH'],
  },
  {
    name: 'a disk of the right identity but another size',
    setup: (d) => {
      // The parent's bytes with a larger virtual size in its metadata (identity unchanged).
      const b = PARENT_BYTES.slice();
      const md = 2 * MiB;
      const count = b[md + 10]! | (b[md + 11]! << 8);
      for (let i = 0; i < count; i++) {
        const e = md + 32 + i * 32;
        if (Buffer.from(b.subarray(e, e + 4)).equals(Buffer.from([0x24, 0x42, 0xa5, 0x2f]))) setU64le(b, md + u32le(b, e + 16), 2 * SIZE);
      }
      fs.writeFileSync(path.join(d, 'bigger.vhdx'), b);
      return { leaf: childNaming(d, path.join(d, 'bigger.vhdx')) };
    },
    codes: ['CHAIN'],
  },
  {
    name: 'the child itself',
    setup: (d) => {
      const leaf = childNaming(d, path.join(d, 'self.avhdx'), 'self.avhdx');
      return { leaf };
    },
    codes: ['CHAIN'],
  },
  {
    name: 'a loop A → B → A',
    setup: (d) => {
      fs.writeFileSync(path.join(d, 'base.vhdx'), PARENT_BYTES);
      const a = path.join(d, 'a.avhdx');
      const b = path.join(d, 'b.avhdx');
      const aBytes = vhdxChild(a, PARENT_BYTES, path.join(d, 'base.vhdx'), path.join(d, 'base.vhdx'));
      const bBytes = vhdxChild(b, aBytes, a, a);
      // a now names b (with b's identity): b → a → b.
      fs.writeFileSync(a, setLocatorBytes(aBytes, a, childLocatorEntries(identityOf(bBytes), '.\\b.avhdx', b)));
      fs.writeFileSync(b, bBytes);
      return { leaf: b };
    },
    codes: ['CHAIN'],
    names: (d) => [path.join(d, 'a.avhdx'), path.join(d, 'b.avhdx')],
  },
  {
    name: 'a symlink loop',
    setup: (d) => {
      fs.symlinkSync(path.join(d, 'l2.vhdx'), path.join(d, 'l1.vhdx'));
      fs.symlinkSync(path.join(d, 'l1.vhdx'), path.join(d, 'l2.vhdx'));
      return { leaf: childNaming(d, path.join(d, 'l1.vhdx')) };
    },
    codes: ['PARENT_MISSING', 'PARENT_MISMATCH'],
  },
  {
    name: `a chain of ${MAX_CHAIN_DEPTH + 1} VHD layers (one deeper than the cap)`,
    setup: (d) => {
      let prevName = path.join(d, 'd0.vhd');
      let prev = (createVhd(new MemoryFile(prevName), { virtualSize: MiB, blockSize: 512 * KiB }).file as MemoryFile).bytes();
      fs.writeFileSync(prevName, prev);
      for (let i = 1; i <= MAX_CHAIN_DEPTH; i++) {
        const name = path.join(d, `d${i}.avhd`);
        const parent = openVhd(new MemoryFile(prevName, prev, true));
        const c = createVhdDifferencing(new MemoryFile(name), { parent, parentPath: prevName, childPath: name, blockSize: 512 * KiB });
        c.close();
        prev = (c.file as MemoryFile).bytes();
        prevName = name;
        fs.writeFileSync(name, prev);
      }
      return { leaf: prevName };
    },
    codes: ['CHAIN'],
  },
];

describe('parent locators that name arbitrary paths', () => {
  it.each(pathCases)('$name: every way in ends in a typed one-line error naming the file, bounded, with nothing written', (pc) => {
    figures.pathCases++;
    const dir = fs.mkdtempSync(path.join(work, 'path-'));
    const { leaf, outside = [] } = pc.setup(dir);
    const names = pc.names?.(dir) ?? [leaf];
    const before = fingerprint(dir, outside);
    const store = new NodeDiskStore();
    const ways: Array<[string, () => unknown]> = [
      ['Chain.open + read', () => {
        const c = Chain.open(leaf);
        const b = new Uint8Array(c.virtualSize);
        c.read(b, 0);
        c.close();
      }],
      ['a writable chain', () => {
        const c = Chain.open(leaf, { writable: true });
        c.write(fill(4096, 9), 0);
        c.close();
      }],
      ['merge-down', () => mergeDown(store, leaf)],
    ];
    for (const [way, fn] of ways) {
      const m = measure(fn);
      expectTyped(m.error, `${pc.name} / ${way}`, names, pc.codes);
      expectBounded(m, `${pc.name} / ${way}`);
    }
    // test-vhd reports it (and does not throw).
    const m = measure(() => checkChainFile(leaf));
    expectBounded(m, `${pc.name} / test-vhd`);
    expect(m.error, `${pc.name} / test-vhd threw`).toBeUndefined();
    const report = m.value!;
    expect(report.Valid).toBe(false);
    const errors = report.Findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => f.code).some((c) => pc.codes.includes(c)), JSON.stringify(errors)).toBe(true);
    for (const f of errors) expect(f.message).not.toContain('\n');
    // Nothing was written, created or left behind (no lock, no journal), inside or outside.
    expect(fingerprint(dir, outside)).toBe(before);
  });

  it('the CLI on these chains: one line on stderr naming the file, exit status, bounded time and memory, nothing written', () => {
    const dir = fs.mkdtempSync(path.join(work, 'cli-path-'));
    const picks = [pathCases[0]!, pathCases[2]!, pathCases[11]!, pathCases[13]!];
    for (const pc of picks) {
      const sub = fs.mkdtempSync(path.join(dir, 'c-'));
      const { leaf, outside = [] } = pc.setup(sub);
      const names = pc.names?.(sub) ?? [leaf];
      const before = fingerprint(sub, outside);
      for (const args of [['get-vhd', leaf, '--chain'], ['read-vhd', leaf, '--length', '4096'], ['merge-vhd', '--path', leaf]]) expectCliError(hv(args), `${pc.name}: ${args[0]}`, names);
      const t = hv(['test-vhd', leaf]);
      expect(t.signal).toBeNull();
      expect(t.code, t.stderr).toBe(1);
      expect(t.stdout.trim().split('\n').pop()).toBe('False');
      expect(fingerprint(sub, outside)).toBe(before);
    }
  });

  it('a FIFO named as a parent (or opened directly) does not hang hvsim', () => {
    const dir = fs.mkdtempSync(path.join(work, 'fifo-'));
    const fifo = path.join(dir, 'pipe.vhdx');
    const mk = spawnSync('mkfifo', [fifo]);
    expect(mk.status, 'mkfifo').toBe(0);
    const leaf = childNaming(dir, fifo);
    const before = fingerprint(dir);
    // Run in a child process: a blocking open of a FIFO would hang the test worker for good.
    const runs: Array<[string, string[], string[]]> = [
      ['test-vhd CHILD', ['test-vhd', leaf], [leaf]],
      ['get-vhd FIFO', ['get-vhd', fifo], [fifo]],
    ];
    const hung: string[] = [];
    for (const [what, args, names] of runs) {
      const r = hv(args, 6000);
      if (r.signal !== null) {
        hung.push(`${what}: still running after ${Math.round(r.ms)} ms`);
        continue;
      }
      if (args[0] === 'test-vhd') expect(r.code, r.stderr).toBe(1);
      else expectCliError(r, what, names);
    }
    expect(hung, 'hvsim blocks for ever opening a FIFO (fs.openSync without O_NONBLOCK)').toEqual([]);
    expect(fingerprint(dir)).toBe(before);
  }, 60_000);

  it('a locator whose first path names a disk of the wrong identity: hvsim skips it, uses the right parent, and writes only the leaf', () => {
    const dir = fs.mkdtempSync(path.join(work, 'skip-'));
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub);
    const right = path.join(dir, 'right.vhdx');
    const wrong = path.join(sub, 'right.vhdx'); // what the relative path ".\right.vhdx" names
    fs.writeFileSync(right, PARENT_BYTES);
    fs.writeFileSync(wrong, vhdxBase('/w.vhdx', SIZE));
    fs.chmodSync(right, 0o444);
    const leaf = path.join(sub, 'leaf.avhdx');
    const bytes = vhdxChild(leaf, PARENT_BYTES, right, right);
    fs.writeFileSync(leaf, setLocatorBytes(bytes, leaf, childLocatorEntries(identityOf(PARENT_BYTES), '.\\right.vhdx', right)));
    const untouched = [right, wrong].map((p) => sha(fs.readFileSync(p)));
    const c = Chain.open(leaf, { writable: true });
    expect(c.paths).toEqual([right, leaf]);
    c.write(fill(MiB, 0x77), 4 * MiB);
    const got = new Uint8Array(SIZE);
    c.read(got, 0);
    c.close();
    expect(got[MiB]).toBe(0x31); // from the right parent
    expect(got[MiB + 4096]).toBe(0x42); // the leaf's own
    expect(got[4 * MiB]).toBe(0x77);
    expect([right, wrong].map((p) => sha(fs.readFileSync(p)))).toEqual(untouched);
    expect(fs.readdirSync(dir).sort()).toEqual(['right.vhdx', 'sub']);
    expect(fs.readdirSync(sub).sort()).toEqual(['leaf.avhdx', 'right.vhdx']);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Log entries with hostile values that pass their checksum (whole files)

const LOG_GUID = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
/** An 8 MiB VHDX with data in blocks 1-2 (file of 6 MiB), closed cleanly. */
const CLEAN = vhdxBase('/l/d.vhdx', SIZE);
const cleanView = (() => {
  const b = new Uint8Array(SIZE);
  readImage(openVhdx(new MemoryFile('/l/d.vhdx', CLEAN, true)), b, 0);
  return b;
})();

function headerOf(b: Uint8Array, off: number): VhdxHeader {
  const h = parseHeader(b.subarray(off, off + 4096));
  if (typeof h === 'string') throw new Error(h);
  return h;
}

/** CLEAN with both headers naming LOG_GUID and `entry` at the start of the log. */
function withLogEntry(entry: Uint8Array): Uint8Array {
  const b = CLEAN.slice();
  const h = headerOf(b, H1);
  const n = { ...h, logGuid: LOG_GUID, sequenceNumber: h.sequenceNumber + 2 };
  b.set(serializeHeader({ ...n, sequenceNumber: n.sequenceNumber - 1 }), H1);
  b.set(serializeHeader(n), H2);
  b.set(entry, LOG);
  return b;
}

interface EntryParams {
  sequenceNumber?: number;
  flushedFileOffset?: number;
  lastFileOffset?: number;
  zeros?: Array<{ offset: number; length: number }>;
  pages?: Array<{ offset: number; data: Uint8Array }>;
}
function entry(p: EntryParams): Uint8Array {
  return encodeLogEntry({ sequenceNumber: 7, tail: 0, logGuid: LOG_GUID, flushedFileOffset: CLEAN.length, lastFileOffset: CLEAN.length, zeros: [], pages: [], ...p });
}
/** Recompute an entry's checksum after patching a field the encoder would refuse. */
function reseal(e: Uint8Array): Uint8Array {
  e.fill(0, 4, 8);
  setU32le(e, 4, crc32c(e));
  return e;
}
const page = (v: number): Uint8Array => fill(4096, v);

/** Open read-only (as test-vhd, get-vhd, read-vhd do) and read everything: 'ok' or the error code. */
function attemptReadOnly(bytes: Uint8Array, name = '/l/d.vhdx', parent?: DiskImage): { result: string; view?: Uint8Array } {
  const file = new MemoryFile(name, bytes, true);
  const m = measure(() => {
    const img = openDiskFile(file);
    const size = Math.min(img.virtualSize, 16 * MiB);
    const buf = new Uint8Array(size);
    const parentRead = parent ? (b: Uint8Array, o: number): void => (o + b.length <= parent.virtualSize ? readImage(parent, b, o) : b.fill(0), undefined) : undefined;
    if (img.virtualSize <= 16 * MiB) readImage(img, buf, 0, parentRead);
    else {
      readImage(img, buf.subarray(0, MiB), 0, parentRead);
      readImage(img, buf.subarray(MiB, 2 * MiB), img.virtualSize - MiB, parentRead);
    }
    img.check();
    img.info();
    // test-vhd's lenient open must not throw anything untyped either.
    try {
      openDiskFile(new MemoryFile(name, bytes, true), { lenient: true }).check();
    } catch (e) {
      if (!(e instanceof HvsimError)) throw e;
    }
    return buf;
  });
  expectBounded(m, `${name} (${bytes.length} bytes)`, bytes.length);
  expect(Buffer.from(file.bytes()).equals(Buffer.from(bytes)), 'a read-only open changed the file').toBe(true);
  if (m.error !== undefined) {
    const e = expectTyped(m.error, name, [name]);
    return { result: e.code };
  }
  return { result: 'ok', view: m.value! };
}

interface LogCase {
  name: string;
  bytes: () => Uint8Array;
  /**
   * The outcomes allowed: 'ok-old' (reads as before the entry: it was ignored), 'ok' (any read:
   * the entry was applied), or error codes.
   */
  expect: string[];
}

const logCases: LogCase[] = [
  // A log entry may not grow the file far past what it holds (a crafted 6 MiB file must not become
  // terabytes long when opened for writing): refused, or ignored.
  { name: 'a zero range of 2^47 bytes (128 TiB) over the data', bytes: () => withLogEntry(entry({ zeros: [{ offset: 4 * MiB, length: 2 ** 47 }] })), expect: ['CORRUPT', 'ok-old'] },
  { name: 'LastFileOffset 2^48 (256 TiB)', bytes: () => withLogEntry(entry({ lastFileOffset: 2 ** 48 })), expect: ['CORRUPT', 'ok-old'] },
  { name: 'a page 2^45 bytes past the end of the file', bytes: () => withLogEntry(entry({ pages: [{ offset: 2 ** 45, data: page(1) }], lastFileOffset: 2 ** 45 + 4096 })), expect: ['CORRUPT', 'ok-old'] },
  { name: 'a page of 0xff over the BAT', bytes: () => withLogEntry(entry({ pages: [{ offset: BAT, data: page(0xff) }] })), expect: ['CORRUPT'] },
  { name: 'a page of garbage over the metadata table', bytes: () => withLogEntry(entry({ pages: [{ offset: 2 * MiB, data: page(0x44) }] })), expect: ['CORRUPT'] },
  { name: 'a page of garbage over region table 1 (table 2 takes over)', bytes: () => withLogEntry(entry({ pages: [{ offset: RT1, data: page(0x33) }] })), expect: ['ok-old'] },
  { name: 'a page of garbage over both region tables', bytes: () => withLogEntry(entry({ pages: [{ offset: RT1, data: page(0x33) }, { offset: RT2, data: page(0x33) }] })), expect: ['CORRUPT'] },
  { name: '100 pages all aimed at one offset', bytes: () => withLogEntry(entry({ pages: Array.from({ length: 100 }, (_, i) => ({ offset: 5 * MiB, data: page(i) })), lastFileOffset: 6 * MiB })), expect: ['ok'] },
  { name: 'FlushedFileOffset past the end of the file', bytes: () => withLogEntry(entry({ flushedFileOffset: 64 * MiB })), expect: ['CORRUPT'] },
  {
    name: 'a page aimed at header 1 (patched past the encoder, resealed)',
    bytes: () => {
      const e = entry({ pages: [{ offset: 4 * MiB, data: page(0x55) }] });
      setU64le(e, 64 + 16, H1);
      return withLogEntry(reseal(e));
    },
    expect: ['ok-old'],
  },
  {
    name: 'a page aimed inside the log itself (patched, resealed)',
    bytes: () => {
      const e = entry({ pages: [{ offset: 4 * MiB, data: page(0x55) }] });
      setU64le(e, 64 + 16, LOG + 64 * KiB);
      return withLogEntry(reseal(e));
    },
    expect: ['ok-old'],
  },
  {
    name: 'SequenceNumber 2^64-1 (patched, resealed)',
    bytes: () => {
      const e = entry({ pages: [{ offset: 4 * MiB, data: page(0x55) }] });
      setU32le(e, 16, 0xffffffff);
      setU32le(e, 20, 0xffffffff);
      return withLogEntry(reseal(e));
    },
    expect: ['ok-old'],
  },
  {
    name: 'LastFileOffset 2^64-4096 (patched, resealed)',
    bytes: () => {
      const e = entry({});
      setU32le(e, 56, 0xfffff000);
      setU32le(e, 60, 0xffffffff);
      return withLogEntry(reseal(e));
    },
    expect: ['ok-old'],
  },
  {
    name: 'an entry that claims the whole log (EntryLength = log length, resealed over its claim)',
    bytes: () => {
      const e = new Uint8Array(MiB);
      e.set(entry({ pages: [{ offset: 4 * MiB, data: page(0x55) }] }));
      setU32le(e, 8, MiB);
      return withLogEntry(reseal(e));
    },
    expect: ['ok-old'],
  },
];

describe('VHDX files whose log holds an entry with hostile values that pass its checksum', () => {
  it.each(logCases)('$name: a read-only open ends in a typed error or a correct read, bounded, file unchanged', (lc) => {
    figures.logCases++;
    const bytes = lc.bytes();
    const { result, view } = attemptReadOnly(bytes);
    const outcome = result === 'ok' && Buffer.from(view!).equals(Buffer.from(cleanView.subarray(0, view!.length))) ? 'ok-old' : result;
    const allowed = lc.expect.includes('ok') && outcome === 'ok-old' ? [...lc.expect, 'ok-old'] : lc.expect;
    expect(allowed, `outcome ${outcome}`).toContain(outcome);
  });

  it('test-vhd (CLI) on each: exit status and one line per finding, bounded, file unchanged', () => {
    const dir = fs.mkdtempSync(path.join(work, 'log-'));
    for (const [i, lc] of logCases.entries()) {
      const p = path.join(dir, `l${i}.vhdx`);
      const bytes = lc.bytes();
      fs.writeFileSync(p, bytes);
      const r = hv(['test-vhd', p, '--json']);
      expect(r.signal, lc.name).toBeNull();
      expect([0, 1], `${lc.name}: ${r.stderr}`).toContain(r.code);
      const report = JSON.parse(r.stdout) as { Valid: boolean; Findings: Array<{ message: string; severity: string }> };
      expect(report.Valid, lc.name).toBe(r.code === 0);
      if (!lc.expect.some((x) => x.startsWith('ok'))) expect(report.Valid, `${lc.name}: ${r.stdout}`).toBe(false);
      for (const f of report.Findings) expect(f.message.startsWith(`${p}: `), f.message).toBe(true);
      expect(r.maxRssKiB ?? 0).toBeLessThan(CLI_RSS_BOUND_KIB);
      expect(sha(fs.readFileSync(p))).toBe(sha(bytes));
      expect(fs.statSync(p).size).toBe(bytes.length);
    }
  });

  const growers: Array<[string, () => Uint8Array]> = [
    ['LastFileOffset 2^40', () => withLogEntry(entry({ lastFileOffset: 2 ** 40 }))],
    ['a zero range of 2^47 bytes', () => withLogEntry(entry({ zeros: [{ offset: 4 * MiB, length: 2 ** 47 }] }))],
    ['a page at 2^45', () => withLogEntry(entry({ pages: [{ offset: 2 ** 45, data: page(1) }], lastFileOffset: 2 ** 45 + 4096 }))],
  ];

  it.each(growers)('%s: a writable open in memory (MemoryDiskStore, the simulator\'s host) ends in a typed error, not a RangeError', (_what, make) => {
    const store = MemoryDiskStore.from(new Map([['/l/d.vhdx', make()]]));
    const m = measure(() => {
      const c = Chain.open('/l/d.vhdx', { store, writable: true });
      c.write(fill(512, 1), 0);
      c.close();
    });
    expectBounded(m, 'writable open in memory');
    if (m.error !== undefined) expectTyped(m.error, 'writable open in memory', ['/l/d.vhdx']);
  });

  it.each(growers)('%s: a writable open of a real file (write-vhd) does not make a 6 MiB file terabytes long', (_what, make) => {
    const dir = fs.mkdtempSync(path.join(work, 'grow-'));
    const p = path.join(dir, 'd.vhdx');
    const bytes = make();
    fs.writeFileSync(p, bytes);
    const input = path.join(dir, 'in.bin');
    fs.writeFileSync(input, fill(4096, 7));
    const r = hv(['write-vhd', p, '--offset', '0', '--input', input]);
    expect(r.signal).toBeNull();
    const size = fs.statSync(p).size;
    if (r.code === 0) expect(size, `write-vhd succeeded and left a ${size}-byte file`).toBeLessThan(64 * MiB);
    else {
      expectCliError(r, 'write-vhd', [p]);
      expect(contentId(p), `write-vhd refused (${r.stderr.trim()}) but changed the file (now ${size} bytes)`).toBe(sha(bytes));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Both header copies valid, pointing at different logs

/** CLEAN after a write cut off with its log entry durable but not applied (a dirty log). */
const DIRTY = (() => {
  for (let k = 1; k < 60; k++) {
    const f = new FaultFile('/h/d.vhdx', CLEAN, faultBudget(k, 'keep-all'));
    try {
      openVhdx(f).writeSectors(fill(MiB, 0xab), 5 * MiB);
    } catch {
      // the cut
    }
    const b = f.image();
    const ro = openVhdx(new MemoryFile('/h/d.vhdx', b, true));
    const got = new Uint8Array(MiB);
    readImage(ro, got, 5 * MiB);
    if (ro.logStatus === 'replayed-in-memory' && got[0] === 0xab) return b;
  }
  throw new Error('no crash point left a dirty log');
})();

function withHeaders(base: Uint8Array, h1: VhdxHeader, h2: VhdxHeader): Uint8Array {
  const b = base.slice();
  b.set(serializeHeader(h1), H1);
  b.set(serializeHeader(h2), H2);
  return b;
}

function readBoth(bytes: Uint8Array): { ro: string; rw: string } {
  const one = (readOnly: boolean): string => {
    try {
      const img = openVhdx(new MemoryFile('/h/d.vhdx', bytes, readOnly));
      const b = new Uint8Array(MiB);
      readImage(img, b, 5 * MiB);
      return `reads ${b[0]!.toString(16)} (${img.logStatus})`;
    } catch (e) {
      expectTyped(e, 'header pair', ['/h/d.vhdx']);
      return (e as HvsimError).code;
    }
  };
  return { ro: one(true), rw: one(false) };
}

describe('both header copies valid but pointing at different logs', () => {
  const cur = ((): VhdxHeader => {
    const a = headerOf(DIRTY, H1);
    const b = headerOf(DIRTY, H2);
    return a.sequenceNumber > b.sequenceNumber ? a : b;
  })();
  const noLog: VhdxHeader = { ...cur, logGuid: ZERO_GUID };
  const otherLog: VhdxHeader = { ...cur, logGuid: '0badf00d-0000-4000-8000-000000000001' };

  it('the same sequence number, one with the dirty log and one without: no current header, so CORRUPT (MS-VHDX §2.2.2.1) whichever slot holds which', () => {
    figures.headerCases += 2;
    const a = readBoth(withHeaders(DIRTY, cur, noLog));
    const b = readBoth(withHeaders(DIRTY, noLog, cur));
    // Today hvsim takes header 1 on a tie: the same two headers read 0xab or 0 depending on the slot.
    expect({ a, b }).toEqual({ a: { ro: 'CORRUPT', rw: 'CORRUPT' }, b: { ro: 'CORRUPT', rw: 'CORRUPT' } });
  });

  it('identical copies with the same sequence number (Disk2VHD writes them) open normally', () => {
    figures.headerCases++;
    expect(readBoth(withHeaders(DIRTY, cur, cur))).toEqual({ ro: 'reads ab (replayed-in-memory)', rw: 'reads ab (replayed-in-place)' });
  });

  it('the newer copy without a log, the older with the dirty log: the old log is never replayed, read-only and writable agree', () => {
    figures.headerCases += 2;
    const newer = { ...noLog, sequenceNumber: cur.sequenceNumber + 1 };
    for (const bytes of [withHeaders(DIRTY, newer, cur), withHeaders(DIRTY, cur, newer)]) {
      const r = readBoth(bytes);
      expect(r).toEqual({ ro: 'reads 0 (clean)', rw: 'reads 0 (clean)' });
      expect(attemptReadOnly(bytes, '/h/d.vhdx').result).toBe('ok');
    }
  });

  it('the newer copy names another log GUID: the entries of the older log are ignored', () => {
    figures.headerCases++;
    const newer = { ...otherLog, sequenceNumber: cur.sequenceNumber + 1 };
    expect(readBoth(withHeaders(DIRTY, cur, newer))).toEqual({ ro: 'reads 0 (empty-guid-set)', rw: 'reads 0 (empty-guid-set)' });
  });

  it('the newer copy puts its log over the BAT or the metadata region: CORRUPT', () => {
    for (const logOffset of [BAT, 2 * MiB]) {
      figures.headerCases++;
      const newer = { ...cur, sequenceNumber: cur.sequenceNumber + 1, logOffset };
      expect(readBoth(withHeaders(DIRTY, cur, newer))).toEqual({ ro: 'CORRUPT', rw: 'CORRUPT' });
    }
  });

  it('the dirty log of the current header is found (sanity of the fixture)', () => {
    const h = headerOf(DIRTY, H2).sequenceNumber > headerOf(DIRTY, H1).sequenceNumber ? headerOf(DIRTY, H2) : headerOf(DIRTY, H1);
    expect(findActiveSequence(new MemoryFile('/h/d.vhdx', DIRTY, true), { offset: h.logOffset, length: h.logLength }, h.logGuid)).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Random mutations of whole small files

/** A small VHDX child (8 MiB disk, 1 MiB blocks; partial and whole blocks) and its parent. */
const VHDX_PARENT = vhdxBase('/m/p.vhdx', SIZE);
const VHDX_PARENT_IMG = openVhdx(new MemoryFile('/m/p.vhdx', VHDX_PARENT, true));
const VHDX_CHILD = (() => {
  const c = createVhdxDifferencing(new MemoryFile('/m/c.avhdx'), { parent: VHDX_PARENT_IMG, parentPath: '/m/p.vhdx', childPath: '/m/c.avhdx', blockSize: MiB });
  c.writeSectors(fill(8192, 0x42), MiB + 8192);
  c.writeSectors(fill(MiB, 0x43), 5 * MiB);
  c.close();
  return (c.file as MemoryFile).bytes();
})();
/** A small VHD child (256 KiB disk, 64 KiB blocks) and its parent. */
const VHD_PARENT_IMG = (() => {
  const p = createVhd(new MemoryFile('/m/p.vhd'), { virtualSize: 256 * KiB, blockSize: 64 * KiB });
  p.writeSectors(fill(256 * KiB, 0x21), 0);
  return openVhd(new MemoryFile('/m/p.vhd', (p.file as MemoryFile).bytes(), true));
})();
const VHD_CHILD = (() => {
  const c = createVhdDifferencing(new MemoryFile('/m/c.avhd'), { parent: VHD_PARENT_IMG, parentPath: '/m/p.vhd', childPath: '/m/c.avhd', blockSize: 64 * KiB });
  c.writeSectors(fill(8192, 0x22), 4096);
  c.writeSectors(fill(64 * KiB, 0x23), 128 * KiB);
  return (c.file as MemoryFile).bytes();
})();

type Mutation =
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'copy'; from: number; to: number; len: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; len: number; value: number };

function arbMutation(size: number, hot: number[]): fc.Arbitrary<Mutation> {
  const where = fc.oneof({ weight: 2, arbitrary: fc.nat({ max: size - 1 }) }, { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...hot), fc.nat({ max: 4095 })).map(([b, o]) => Math.min(size - 1, b + o)) });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('byte' as const), at: where, value: fc.integer({ min: 0, max: 255 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('copy' as const), from: where, to: where, len: fc.constantFrom(8, 64, 512, 4096) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: where }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), len: fc.constantFrom(1, 511, 4096, MiB), value: fc.integer({ min: 0, max: 255 }) }) },
  );
}

function applyMutations(base: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = base.slice();
  for (const m of ms) {
    if (m.kind === 'byte') {
      if (m.at < b.length) b[m.at] = m.value;
    } else if (m.kind === 'copy') {
      if (m.from + m.len <= b.length && m.to + m.len <= b.length) b.copyWithin(m.to, m.from, m.from + m.len);
    } else if (m.kind === 'truncate') b = b.slice(0, Math.min(b.length, m.at));
    else {
      const n = new Uint8Array(b.length + m.len).fill(m.value);
      n.set(b);
      b = n;
    }
  }
  return b;
}

function resealVhdx(b: Uint8Array): void {
  for (const off of [H1, H2]) if (b.length >= off + 4096) sealStructure(b.subarray(off, off + 4096), 4);
  for (const off of [RT1, RT2]) if (b.length >= off + 64 * KiB) sealStructure(b.subarray(off, off + 64 * KiB), 4);
}

function resealVhd(b: Uint8Array): void {
  const fix = (off: number, len: number, field: number): void => {
    if (off < 0 || off + len > b.length) return;
    const s = b.subarray(off, off + len);
    setU32be(s, field, vhdChecksum(s, field));
  };
  fix(0, 512, 64); // footer copy
  fix(b.length - 512, 512, 64); // footer
  fix(512, 1024, 36); // dynamic header
}

describe('fast-check: random mutations of whole small files', () => {
  const runs: Array<[string, Uint8Array, string, DiskImage, number[], (b: Uint8Array) => void, number, number]> = [
    ['VHDX differencing (7 MiB file)', VHDX_CHILD, '/m/c.avhdx', VHDX_PARENT_IMG, [0, H1, H2, RT1, RT2, LOG, 2 * MiB, 2 * MiB + 64 * KiB, BAT, 4 * MiB, VHDX_CHILD.length - 4096], resealVhdx, 0x5eed01, 150],
    ['VHD differencing', VHD_CHILD, '/m/c.avhd', VHD_PARENT_IMG, [0, 512, 1024, 0x1000, 0x2000, VHD_CHILD.length - 512, VHD_CHILD.length - 4096], resealVhd, 0x5eed02, 400],
  ];
  it.each(runs)('%s: every mutation ends in a typed one-line error naming the file or a read, bounded, file unchanged', (_what, base, name, parent, hot, reseal, seed, numRuns) => {
    const codes = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(arbMutation(base.length, hot), { minLength: 1, maxLength: 10 }), fc.boolean(), (ms, doReseal) => {
        figures.mutations++;
        const b = applyMutations(base, ms);
        if (doReseal) reseal(b);
        const r = attemptReadOnly(b, name, parent).result;
        codes.set(r, (codes.get(r) ?? 0) + 1);
      }),
      { seed, numRuns },
    );
    console.log(`[reliability-hostile] ${_what}: ${numRuns} mutated files (seed ${seed}): ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    expect(codes.size).toBeGreaterThan(1);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. test-vhd reports every problem it finds

describe('test-vhd reports every problem it finds', () => {
  /** The VHDX child with five independent problems. */
  function damagedChild(): Uint8Array {
    const b = VHDX_CHILD.slice();
    b[H1 + 100]! ^= 1; // header 1 checksum
    b[RT2 + 100]! ^= 1; // region table 2 checksum
    setEntry(b.subarray(BAT), 2, 6, 2 ** 30); // block 2 past the end of the file
    setEntry(b.subarray(BAT), 3, 4, 0); // block 3: reserved state 4
    return b;
  }
  /** The parent with a problem of its own: block 2 shares block 1's space. */
  function damagedParent(): Uint8Array {
    const b = VHDX_PARENT.slice();
    b.copyWithin(BAT + 16, BAT + 8, BAT + 16);
    return b;
  }

  it('a VHDX file with five problems: each is reported, once, with the file named', () => {
    figures.reportCases++;
    const dir = fs.mkdtempSync(path.join(work, 'report-'));
    const p = path.join(dir, 'p.vhdx');
    const c = path.join(dir, 'c.avhdx');
    fs.writeFileSync(p, VHDX_PARENT);
    fs.writeFileSync(c, vhdxChild(c, VHDX_PARENT, p, p));
    const b = damagedChild();
    // Re-point the damaged bytes at the real parent on disk (same identity).
    const good = fs.readFileSync(c);
    b.set(good.subarray(2 * MiB, 3 * MiB), 2 * MiB);
    fs.writeFileSync(c, b);
    const r = checkChainFile(c);
    const codes = r.Findings.map((f) => `${f.severity} ${f.code}`).sort();
    expect(codes).toEqual(['error BAT_ENTRY', 'error BAT_ENTRY', 'warning HEADER_COPY', 'warning REGION_TABLE_COPY']);
    for (const f of r.Findings) expect(f.message.startsWith(`${c}: `)).toBe(true);
    // The CLI prints each, one per line, then False, exit 1.
    const t = hv(['test-vhd', c]);
    expect(t.code).toBe(1);
    const lines = t.stdout.trim().split('\n');
    expect(lines.length).toBe(5);
    expect(lines[4]).toBe('False');
  });

  it('a child and its parent each with a problem: test-vhd on the child reports both', () => {
    figures.reportCases++;
    const dir = fs.mkdtempSync(path.join(work, 'report2-'));
    const p = path.join(dir, 'p.vhdx');
    const c = path.join(dir, 'c.avhdx');
    fs.writeFileSync(p, VHDX_PARENT);
    const childBytes = vhdxChild(c, VHDX_PARENT, p, p);
    // Only the parent damaged: reported through the chain.
    fs.writeFileSync(c, childBytes);
    fs.writeFileSync(p, damagedParent());
    const parentOnly = checkChainFile(c);
    expect(parentOnly.Findings.map((f) => `${f.path === p ? 'parent' : 'child'} ${f.code}`)).toEqual(['parent BAT_OVERLAP']);
    // Both damaged: the child's own error must not hide the parent's.
    const both = childBytes.slice();
    setEntry(both.subarray(BAT), 3, 4, 0);
    fs.writeFileSync(c, both);
    const r = checkChainFile(c);
    const found = r.Findings.filter((f) => f.severity === 'error').map((f) => `${f.path === p ? 'parent' : 'child'} ${f.code}`).sort();
    expect(found, 'checkChainFile stops at the child\'s own errors and never looks at the parent').toEqual(['child BAT_ENTRY', 'parent BAT_OVERLAP']);
  });

  it('a VHD file with several problems: each is reported', () => {
    figures.reportCases++;
    const b = VHD_CHILD.slice();
    const tableOffset = 0x2000;
    setU32be(b, tableOffset + 4, 0x100000); // block 1 past the end of the file
    b.copyWithin(tableOffset + 12, tableOffset + 8, tableOffset + 12); // blocks 2 and 3 share space
    b[40]! ^= 1; // the footer copy at 0 no longer matches
    const img = openVhd(new MemoryFile('/m/c.avhd', b, true), { lenient: true });
    const codes = new Set(img.check().map((f) => f.code));
    for (const want of ['BAT_ENTRY_PAST_EOF', 'BAT_ENTRY_OVERLAP']) expect([...codes], want).toContain(want);
    expect([...codes].some((c) => c.startsWith('FOOTER')), [...codes].join(', ')).toBe(true);
  });
});
