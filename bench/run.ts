/**
 * npm run bench: nested-chain read degradation against the alternatives (issue 7).
 *
 * Builds the standard workload (docs/workload.md) in a temporary folder, checks its
 * content hashes, then measures at depths 0, 1, 2, 4, 8, 16, 32, 64: sequential whole-disk reads
 * (1 MiB requests) and the 20,000 random 4 KiB reads through the resolved map and the naive walk,
 * chain open time; the same data as a qcow2 chain through `qemu-img bench` when qemu is installed;
 * a raw file read (the ceiling); merge throughput; checkpoint latency on the simulator. Figures are
 * medians over interleaved rounds (each round samples every contestant at every depth), files in
 * the page cache. Results: bench/results/results.json and chart.svg; a markdown table on stdout.
 *
 * Timing is direct (performance.now around whole passes) rather than benny: one sequential pass is
 * 20–100 ms, and a median of a few whole passes is what the reference figures use.
 * The engine is loaded from dist/ (what `npm run build` produced), not through tsx.
 *
 * Options: --quick (fewer runs), --keep (leave the temporary files), --no-qemu, --no-merge, --no-sim,
 * --out DIR (default bench/results), --tmp DIR (default: a new folder in os.tmpdir()).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as ChainMod from '../src/engine/chain.js';
import type * as AnalyzeMod from '../src/engine/analyze.js';
import type * as WorkloadMod from '../src/engine/workload.js';
import type * as StoreMod from '../src/engine/store.js';
import type * as NodeFileMod from '../src/vhd/io/node-file.js';
import type * as BytesMod from '../src/vhd/common/bytes.js';
import type { DiskStore } from '../src/engine/store.js';
import type { BlockFile } from '../src/vhd/io/block-file.js';
import { renderBenchChart, type Series } from './chart.js';
import { buildQcow2Chain, findQemu, qcowHash, qemuBench, type QemuTools } from './qemu.js';
import { runSimBench, type SimResult } from './sim.js';
import { runCliBench, type CliResult } from './cli.js';
import type * as SimulatorMod from '../src/sim/simulator.js';
import type * as GroupMod from '../src/host/group.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = (rel: string): string => pathToFileURL(path.join(root, 'dist', rel)).href;

const { Chain } = (await import(dist('engine/chain.js'))) as typeof ChainMod;
const { analyzeChain } = (await import(dist('engine/analyze.js'))) as typeof AnalyzeMod;
const wl = (await import(dist('engine/workload.js'))) as typeof WorkloadMod;
const { NodeDiskStore } = (await import(dist('engine/store.js'))) as typeof StoreMod;
const { NodeFile } = (await import(dist('vhd/io/node-file.js'))) as typeof NodeFileMod;
const { ioBuffer } = (await import(dist('vhd/common/bytes.js'))) as typeof BytesMod;

// ---- Options ----

const argv = process.argv.slice(2);
const flag = (f: string): boolean => argv.includes(f);
const opt = (f: string): string | undefined => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('--quick');
const RUNS = QUICK ? 3 : 7;
const OPEN_RUNS = QUICK ? 6 : 21; // chain opens per depth, spread over the rounds
const DEPTHS = [0, 1, 2, 4, 8, 16, 32, 64];
const MAX_DEPTH = DEPTHS[DEPTHS.length - 1]!;
const outDir = path.resolve(opt('--out') ?? path.join(here, 'results'));
const tmp = opt('--tmp') ? path.resolve(opt('--tmp')!) : fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-bench-'));
fs.mkdirSync(outDir, { recursive: true });
fs.mkdirSync(tmp, { recursive: true });

const MiB = 1024 * 1024;
const SIZE = wl.WORKLOAD.virtualSize;
const REQ = MiB; // sequential request size, as qemu-img bench -s 1M

// Read buffers start 64 bytes into a larger allocation (ioBuffer: the kernel's page-cache copy is
// ~5x slower into a plain page-aligned `new Uint8Array`); every contestant gets the same buffer, and
// figures for a plain `new Uint8Array` are reported beside.
const seqBuf = ioBuffer(REQ);
const seqBufPlain = new Uint8Array(REQ);
const rndBuf = ioBuffer(wl.WORKLOAD.randomReadSize);
const offsets = wl.randomReadOffsets();
const NREAD = offsets.length;

// ---- Timing ----

const log = (s: string): void => void process.stderr.write(s + '\n');

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const mibps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);
const round = (v: number, d = 2): number => Number(v.toFixed(d));

// ---- The workload ----

interface HashCheck {
  depth: number;
  expected: string;
  hvsim: boolean;
  qemu: boolean | null;
}

const loadStart = os.loadavg()[0]!;
log(`hvsim bench: workload in ${tmp}`);
if (loadStart > 1) log(`  warning: load average ${loadStart.toFixed(2)} at start: other processes share the CPUs, figures will be noisy`);
const wlDir = path.join(tmp, 'vhdx');
let t0 = performance.now();
const files = wl.makeWorkload(new NodeDiskStore(), { dir: wlDir, depth: MAX_DEPTH, overwrite: true });
const makeMs = performance.now() - t0;
log(`  make-workload --depth ${MAX_DEPTH}: ${(makeMs / 1000).toFixed(2)} s`);

// The raw image of the top of the chain (the ceiling), and of the base (qemu's base).
const rawTop = path.join(tmp, `raw-${MAX_DEPTH}.img`);
const rawBase = path.join(tmp, 'raw-0.img');
{
  const img = wl.workloadImage(MAX_DEPTH);
  fs.writeFileSync(rawTop, img);
  fs.writeFileSync(rawBase, wl.workloadImage(0, img));
}

// ---- Setup: open every chain, check content, plan the floor reads, build the qcow2 chain ----
//
// The machine is shared (2 vCPUs; other work may run at any time), so the measurements below run
// in interleaved rounds: each round takes one sample of every contestant at every depth, and the
// figure is the median over the rounds. A burst of outside load then hits all of them alike, and
// the ratios hold up better than the absolute figures.

function rawSeq(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < SIZE; off += REQ) fs.readSync(fd, buf, 0, REQ, off);
}
function rawRandom(fd: number): void {
  for (let i = 0; i < NREAD; i++) fs.readSync(fd, rndBuf, 0, rndBuf.length, offsets[i]!);
}

interface DepthResult {
  depth: number;
  openMs: number;
  openMsPerLayer: number;
  /** First whole-disk pass after open: builds the resolved map. */
  firstPassMs: number;
  seqMiBps: number;
  seqPlainBufMiBps: number;
  seqNaiveMiBps: number;
  /** One pread per piece of the layout, no engine: the best a synchronous reader can do here. */
  seqFloorMiBps: number;
  pieces: number;
  randomUs: number;
  randomNaiveUs: number;
  randomFloorUs: number;
  naiveProbesPerRead: number;
  expectedProbes: number;
  aboveBaseShare: number;
  qemuSeqMiBps: number | null;
  qemuRandomUs: number | null;
  qemuConvertMiBps: number | null;
  /** The same from the best round (smallest time) instead of the median. */
  best: { openMs: number; seqMiBps: number; randomUs: number; seqFloorMiBps: number; randomFloorUs: number; qemuSeqMiBps: number | null; qemuRandomUs: number | null };
}

type ChainT = ChainMod.Chain;

function seqPass(chain: ChainT, buf: Uint8Array): void {
  for (let off = 0; off < SIZE; off += REQ) chain.read(buf, off);
}
function seqNaivePass(chain: ChainT): void {
  for (let off = 0; off < SIZE; off += REQ) chain.readNaive(seqBuf, off);
}
function randomPass(chain: ChainT): void {
  for (let i = 0; i < NREAD; i++) chain.read(rndBuf, offsets[i]!);
}
function randomNaivePass(chain: ChainT): void {
  for (let i = 0; i < NREAD; i++) chain.readNaive(rndBuf, offsets[i]!);
}

/** Every (file, file offset, length) the layout needs, per 1 MiB request, resolved in advance. */
interface Plan {
  fd: Int32Array;
  fileOff: Float64Array;
  len: Int32Array;
  bufOff: Int32Array;
  /** Index of the first piece of each request, plus the end. */
  start: Int32Array;
}
function plan(chain: ChainT, fds: number[], requests: ArrayLike<number>, reqLen: number): Plan {
  const p = { fd: [] as number[], fileOff: [] as number[], len: [] as number[], bufOff: [] as number[], start: [] as number[] };
  for (let r = 0; r < requests.length; r++) {
    const base = requests[r]!;
    p.start.push(p.fd.length);
    for (const s of chain.sources(base, reqLen)) {
      const l = chain.layers[s.layer]!;
      for (let off = s.offset; off < s.offset + s.length; ) {
        const k = Math.floor(off / l.blockSize);
        const n = Math.min(s.offset + s.length, (k + 1) * l.blockSize) - off;
        p.fd.push(fds[s.layer]!);
        p.fileOff.push(l.blockDataOffset(k) + off - k * l.blockSize);
        p.len.push(n);
        p.bufOff.push(off - base);
        off += n;
      }
    }
  }
  p.start.push(p.fd.length);
  return { fd: Int32Array.from(p.fd), fileOff: Float64Array.from(p.fileOff), len: Int32Array.from(p.len), bufOff: Int32Array.from(p.bufOff), start: Int32Array.from(p.start) };
}
function runPlan(pl: Plan, buf: Uint8Array): void {
  const n = pl.fd.length;
  for (let i = 0; i < n; i++) fs.readSync(pl.fd[i]!, buf, pl.bufOff[i]!, pl.len[i]!, pl.fileOff[i]!);
}

const hashChecks: HashCheck[] = [];
interface Subject {
  depth: number;
  chain: ChainT;
  fds: number[];
  seqPlan: Plan;
  rndPlan: Plan;
  qcow2: string | undefined;
  firstPassMs: number;
  naiveProbesPerRead: number;
  expectedProbes: number;
  aboveBaseShare: number;
  qemuConvertMiBps: number | null;
}
const subjects: Subject[] = [];
const reqs = Array.from({ length: SIZE / REQ }, (_, i) => i * REQ);
for (const d of DEPTHS) {
  const chain = Chain.open(wl.workloadLayerPath(wlDir, d));
  t0 = performance.now();
  seqPass(chain, seqBuf);
  const firstPassMs = performance.now() - t0;
  const h = createHash('sha256');
  for (let off = 0; off < SIZE; off += REQ) {
    chain.read(seqBuf, off);
    h.update(seqBuf);
  }
  const expected = wl.EXPECTED_SHA256[d] ?? '';
  hashChecks.push({ depth: d, expected, hvsim: h.digest('hex') === expected, qemu: null });
  chain.stats.probes = 0;
  randomNaivePass(chain);
  const naiveProbesPerRead = chain.stats.probes / NREAD;
  const a = analyzeChain(chain, { bins: 64 });
  const fds = chain.paths.map((p) => fs.openSync(p, 'r'));
  subjects.push({
    depth: d, chain, fds, seqPlan: plan(chain, fds, reqs, REQ), rndPlan: plan(chain, fds, offsets, rndBuf.length), qcow2: undefined,
    firstPassMs, naiveProbesPerRead, expectedProbes: a.expectedProbes, aboveBaseShare: 1 - a.layers[0]!.suppliedShare, qemuConvertMiBps: null,
  });
  log(`  depth ${String(d).padStart(2)}: ${hashChecks.at(-1)!.hvsim ? 'sha256 ok' : 'SHA256 MISMATCH'}, first pass ${firstPassMs.toFixed(1)} ms, naive walk ${naiveProbesPerRead.toFixed(2)} probes per random read (analysis: ${a.expectedProbes.toFixed(2)})`);
}

let qemu: QemuTools | undefined;
if (!flag('--no-qemu')) qemu = findQemu(rawBase);
// Random reads through qemu: 4 KiB at a stride of an odd number of pages coprime with the image's.
const QEMU_STRIDE = 40_499 * 4096;
const QEMU_SEQ_COUNT = 4 * (SIZE / REQ); // four whole-disk passes a run (qemu-img bench wraps around)
if (qemu) {
  log(`  qemu ${qemu.version} (aio ${qemu.aio}): building the qcow2 chain`);
  t0 = performance.now();
  const qpaths = buildQcow2Chain(wl, path.join(tmp, 'qcow2'), rawBase, MAX_DEPTH);
  log(`  qcow2 chain built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const sj of subjects) {
    sj.qcow2 = qpaths[sj.depth]!;
    const check = qcowHash(sj.qcow2, path.join(tmp, 'qcow-check.raw'));
    const ok = check.sha256 === wl.EXPECTED_SHA256[sj.depth];
    hashChecks.find((c) => c.depth === sj.depth)!.qemu = ok;
    sj.qemuConvertMiBps = SIZE / MiB / check.convertSeconds;
    if (!ok) log(`  qcow2 depth ${sj.depth}: SHA256 MISMATCH`);
  }
} else log('  qemu-img/qemu-io not installed (or --no-qemu): qemu comparison skipped');

// ---- Measurement rounds ----

type Kind = 'open' | 'seq' | 'seqPlain' | 'seqNaive' | 'seqFloor' | 'rnd' | 'rndNaive' | 'rndFloor' | 'qemuSeq' | 'qemuRnd';
const samples = new Map<string, number[]>(); // `${depth}:${kind}` or `raw:${kind}` → ms (qemu: its own seconds × 1000)
const put = (key: string, v: number): void => void (samples.get(key) ?? samples.set(key, []).get(key)!).push(v);
// A full collection before each sample, outside the timing: chain opens leave ~1 MiB of garbage
// per layer (the metadata region buffer), which would otherwise be collected inside the next pass.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const timed = (fn: () => void): number => {
  gc();
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const rawFd = fs.openSync(rawTop, 'r');
const OPENS_PER_ROUND = Math.ceil(OPEN_RUNS / RUNS);
for (let round = -1; round < RUNS; round++) {
  const keep = round >= 0; // round -1 warms everything up
  const rec = (key: string, v: number): void => {
    if (keep) put(key, v);
  };
  rec('raw:seq', timed(() => rawSeq(rawFd, seqBuf)));
  rec('raw:seqPlain', timed(() => rawSeq(rawFd, seqBufPlain)));
  rec('raw:rnd', timed(() => rawRandom(rawFd)));
  if (qemu) {
    rec('raw:qemuSeq', 1000 * qemuBench(qemu, rawTop, 'raw', { count: QEMU_SEQ_COUNT, size: REQ }));
    rec('raw:qemuRnd', 1000 * qemuBench(qemu, rawTop, 'raw', { count: NREAD, size: 4096, step: QEMU_STRIDE }));
  }
  for (const sj of subjects) {
    const k = (kind: Kind): string => `${sj.depth}:${kind}`;
    const leaf = sj.chain.paths[sj.chain.paths.length - 1]!;
    for (let i = 0; i < OPENS_PER_ROUND; i++) rec(k('open'), timed(() => Chain.open(leaf).close()));
    rec(k('seq'), timed(() => seqPass(sj.chain, seqBuf)));
    rec(k('seqPlain'), timed(() => seqPass(sj.chain, seqBufPlain)));
    rec(k('seqNaive'), timed(() => seqNaivePass(sj.chain)));
    rec(k('seqFloor'), timed(() => runPlan(sj.seqPlan, seqBuf)));
    rec(k('rnd'), timed(() => randomPass(sj.chain)));
    rec(k('rndNaive'), timed(() => randomNaivePass(sj.chain)));
    rec(k('rndFloor'), timed(() => runPlan(sj.rndPlan, rndBuf)));
    if (qemu && sj.qcow2) {
      rec(k('qemuSeq'), 1000 * qemuBench(qemu, sj.qcow2, 'qcow2', { count: QEMU_SEQ_COUNT, size: REQ }));
      rec(k('qemuRnd'), 1000 * qemuBench(qemu, sj.qcow2, 'qcow2', { count: NREAD, size: 4096, step: QEMU_STRIDE }));
    }
  }
  if (keep) log(`  round ${round + 1}/${RUNS} done (load ${os.loadavg()[0]!.toFixed(2)})`);
}
fs.closeSync(rawFd);

const med = (key: string): number | null => {
  const v = samples.get(key);
  return v && v.length ? median(v) : null;
};
/** Best (smallest) sample: the least disturbed by other work on a shared machine. */
const best = (key: string): number | null => {
  const v = samples.get(key);
  return v && v.length ? Math.min(...v) : null;
};
const seqRate = (key: string, bytes = SIZE): number | null => {
  const m = med(key);
  return m === null ? null : round(mibps(bytes, m), 0);
};
const perRead = (key: string): number | null => {
  const m = med(key);
  return m === null ? null : round((m * 1000) / NREAD, 3);
};
const raw = {
  bestRandomUs: round((best('raw:rnd')! * 1000) / NREAD, 3),
  seqMiBps: seqRate('raw:seq')!,
  seqPlainBufMiBps: seqRate('raw:seqPlain')!,
  randomUs: perRead('raw:rnd')!,
  qemuSeqMiBps: seqRate('raw:qemuSeq', QEMU_SEQ_COUNT * REQ),
  qemuRandomUs: perRead('raw:qemuRnd'),
};
log(`  raw file: ${raw.seqMiBps} MiB/s sequential (${raw.seqPlainBufMiBps} into a plain new Uint8Array), ${raw.randomUs} µs per 4 KiB pread`);
const depthResults: DepthResult[] = subjects.map((sj) => {
  const k = (kind: Kind): string => `${sj.depth}:${kind}`;
  const open = med(k('open'))!;
  const r: DepthResult = {
    depth: sj.depth,
    openMs: round(open, 3),
    openMsPerLayer: round(open / (sj.depth + 1), 3),
    firstPassMs: round(sj.firstPassMs, 1),
    seqMiBps: seqRate(k('seq'))!,
    seqPlainBufMiBps: seqRate(k('seqPlain'))!,
    seqNaiveMiBps: seqRate(k('seqNaive'))!,
    seqFloorMiBps: seqRate(k('seqFloor'))!,
    pieces: sj.seqPlan.fd.length,
    randomUs: perRead(k('rnd'))!,
    randomNaiveUs: perRead(k('rndNaive'))!,
    randomFloorUs: perRead(k('rndFloor'))!,
    naiveProbesPerRead: round(sj.naiveProbesPerRead, 3),
    expectedProbes: round(sj.expectedProbes, 3),
    aboveBaseShare: round(sj.aboveBaseShare, 4),
    qemuSeqMiBps: seqRate(k('qemuSeq'), QEMU_SEQ_COUNT * REQ),
    qemuRandomUs: perRead(k('qemuRnd')),
    qemuConvertMiBps: sj.qemuConvertMiBps === null ? null : round(sj.qemuConvertMiBps, 0),
    best: {
      openMs: round(best(k('open'))!, 3),
      seqMiBps: round(mibps(SIZE, best(k('seq'))!), 0),
      randomUs: round((best(k('rnd'))! * 1000) / NREAD, 3),
      seqFloorMiBps: round(mibps(SIZE, best(k('seqFloor'))!), 0),
      randomFloorUs: round((best(k('rndFloor'))! * 1000) / NREAD, 3),
      qemuSeqMiBps: best(k('qemuSeq')) === null ? null : round(mibps(QEMU_SEQ_COUNT * REQ, best(k('qemuSeq'))!), 0),
      qemuRandomUs: best(k('qemuRnd')) === null ? null : round((best(k('qemuRnd'))! * 1000) / NREAD, 3),
    },
  };
  log(
    `  depth ${String(r.depth).padStart(2)}: open ${r.openMs.toFixed(2)} ms, seq ${r.seqMiBps} MiB/s (naive ${r.seqNaiveMiBps}, floor ${r.seqFloorMiBps}, qemu ${r.qemuSeqMiBps ?? '–'}), ` +
      `random ${r.randomUs} µs (naive ${r.randomNaiveUs}, floor ${r.randomFloorUs}, qemu ${r.qemuRandomUs ?? '–'})`,
  );
  return r;
});
for (const sj of subjects) {
  for (const fd of sj.fds) fs.closeSync(fd);
  sj.chain.close();
}

// ---- Merge throughput ----

interface MergeResult {
  case: string;
  depth: number;
  durable: boolean;
  copyBytes: number;
  estimatedCopyBytes: number;
  seconds: number;
  MiBps: number;
  hashOk: boolean;
}
const merges: MergeResult[] = [];
let mergeNote: string | null = null;
const mergeJs = path.join(root, 'dist', 'engine', 'merge.js');
if (flag('--no-merge')) mergeNote = 'skipped (--no-merge)';
else if (!fs.existsSync(mergeJs)) mergeNote = 'src/engine/merge.ts not built: skipped';
else {
  const mod = (await import(pathToFileURL(mergeJs).href)) as { mergeDown?: (store: DiskStore, child: string, dest?: string) => unknown };
  if (typeof mod.mergeDown !== 'function') mergeNote = 'dist/engine/merge.js has no mergeDown: skipped';
  else {
    const mergeDown = mod.mergeDown;
    /** NodeDiskStore without fdatasync: the engine's own cost, apart from the disk's flush latency. */
    class VolatileStore extends NodeDiskStore {
      override open(p: string, mode: 'r' | 'rw'): BlockFile {
        return NodeFile.open(p, mode, { durable: false });
      }
      override create(p: string): BlockFile {
        return NodeFile.create(p, false, { durable: false });
      }
    }
    const cases: Array<{ name: string; depth: number; toBase: boolean; durable: boolean }> = [
      { name: 'leaf into its parent', depth: MAX_DEPTH, toBase: false, durable: true },
      { name: 'leaf into its parent', depth: MAX_DEPTH, toBase: false, durable: false },
      { name: 'whole chain into the base', depth: 8, toBase: true, durable: true },
      { name: 'whole chain into the base', depth: MAX_DEPTH, toBase: true, durable: true },
      { name: 'whole chain into the base', depth: MAX_DEPTH, toBase: true, durable: false },
    ];
    for (const c of cases) {
      const dir = path.join(tmp, 'merge');
      fs.rmSync(dir, { recursive: true, force: true });
      const f = wl.makeWorkload(new NodeDiskStore(), { dir, depth: c.depth });
      const ch = Chain.open(f.leaf);
      const a = analyzeChain(ch, { bins: 1 });
      ch.close();
      const est = c.toBase ? a.mergeToBase!.copyBytes : a.layers[c.depth]!.merge!.copyBytes;
      const store = c.durable ? new NodeDiskStore() : new VolatileStore();
      t0 = performance.now();
      mergeDown(store, f.leaf, c.toBase ? f.paths[0] : undefined);
      const seconds = (performance.now() - t0) / 1000;
      // The merged disk must read what the leaf read.
      const dest = c.toBase ? f.paths[0]! : f.paths[c.depth - 1]!;
      const mc = Chain.open(dest);
      const h = createHash('sha256');
      for (let off = 0; off < SIZE; off += REQ) {
        mc.read(seqBuf, off);
        h.update(seqBuf);
      }
      mc.close();
      const hashOk = h.digest('hex') === wl.EXPECTED_SHA256[c.depth];
      merges.push({ case: c.name, depth: c.depth, durable: c.durable, copyBytes: est, estimatedCopyBytes: est, seconds: round(seconds, 3), MiBps: round(est / MiB / seconds, 0), hashOk });
      log(`  merge ${c.name}, depth ${c.depth}${c.durable ? '' : ' (no fdatasync)'}: ${(est / MiB).toFixed(1)} MiB in ${seconds.toFixed(2)} s = ${(est / MiB / seconds).toFixed(0)} MiB/s ${hashOk ? 'content ok' : 'CONTENT MISMATCH'}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
if (mergeNote) log(`  merge: ${mergeNote}`);

// ---- Checkpoint creation / group checkpoints (the simulator) ----

const VM_COUNTS = [1, 2, 5, 10, 20, 50, 100];
let simResults: SimResult[] = [];
let simNote: string | null = null;
if (flag('--no-sim')) simNote = 'skipped (--no-sim)';
else if (!fs.existsSync(path.join(root, 'dist', 'sim', 'simulator.js')) || !fs.existsSync(path.join(root, 'dist', 'sim', 'group.js')))
  simNote = 'src/sim (simulator.ts, group.ts) not built: checkpoint benches not run';
else {
  const sim = (await import(dist('sim/simulator.js'))) as typeof SimulatorMod;
  const group = (await import(dist('host/group.js'))) as typeof GroupMod;
  simResults = await runSimBench(sim, group, VM_COUNTS, QUICK ? 1 : 3, log);
}
if (simNote) log(`  sim: ${simNote}`);

// ---- CLI start-up (whole processes) ----

const cliResults: CliResult[] = flag('--no-cli') ? [] : runCliBench(path.join(root, 'dist', 'cli', 'bin.js'), QUICK ? 3 : 7, log);

// ---- Goals, table, files ----

const at = (d: number): DepthResult => depthResults.find((r) => r.depth === d)!;
const top = at(MAX_DEPTH);
const one = at(1);
interface Goal {
  goal: string;
  target: string;
  measured: string;
  ok: boolean | null;
}
const goals: Goal[] = [
  {
    goal: `sequential read at depth ${MAX_DEPTH} within 10% of depth 1`,
    target: '≥ 0.90',
    measured: `${(top.seqMiBps / one.seqMiBps).toFixed(3)} (${top.seqMiBps} vs ${one.seqMiBps} MiB/s)`,
    ok: top.seqMiBps >= 0.9 * one.seqMiBps,
  },
  {
    goal: `sequential read at depth ${MAX_DEPTH} at least 1.5× qemu's`,
    target: '≥ 1.5',
    measured: top.qemuSeqMiBps ? `${(top.seqMiBps / top.qemuSeqMiBps).toFixed(2)} (${top.seqMiBps} vs ${top.qemuSeqMiBps} MiB/s; plain new Uint8Array buffer: ${(top.seqPlainBufMiBps / top.qemuSeqMiBps).toFixed(2)})` : 'qemu not run',
    ok: top.qemuSeqMiBps ? top.seqMiBps >= 1.5 * top.qemuSeqMiBps : null,
  },
  {
    goal: `random 4 KiB read at depth ${MAX_DEPTH} within 2× of one raw-file pread`,
    target: '≤ 2.0',
    measured: `${(top.randomUs / raw.randomUs).toFixed(2)} (${top.randomUs} vs ${raw.randomUs.toFixed(3)} µs)`,
    ok: top.randomUs <= 2 * raw.randomUs,
  },
  {
    goal: 'chain open under 1 ms per layer',
    target: '< 1 ms',
    measured: `${top.openMsPerLayer.toFixed(3)} ms (${top.openMs.toFixed(1)} ms for ${MAX_DEPTH + 1} files)`,
    ok: top.openMsPerLayer < 1,
  },
];

const cpu = os.cpus()[0]?.model ?? 'unknown';
const machine = {
  cpu: cpu.trim(),
  cpus: os.cpus().length,
  memoryGiB: round(os.totalmem() / 2 ** 30, 1),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  v8: process.versions.v8,
  /** 1-minute load average at the start and the end: above ~1 on 2 vCPUs, something else ran. */
  loadAverage: [round(loadStart, 2), round(os.loadavg()[0]!, 2)],
  qemu: qemu ? `${qemu.version} (aio ${qemu.aio})` : null,
};

const fx = (v: number | null, d = 0): string => (v === null ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ratio = (a: number | null, b: number | null, d = 2): string => (a === null || b === null || b === 0 ? '–' : `${(a / b).toFixed(d)}×`);
const md: string[] = [];
md.push(`Machine: ${machine.cpu}, ${machine.cpus} vCPU, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; load average ${machine.loadAverage.join(' → ')}${qemu ? `; qemu ${qemu.version}, \`qemu-img bench -d 1 -i ${qemu.aio}\`` : ''}. Medians of ${RUNS} interleaved rounds, files in the page cache.`);
md.push('');
md.push('| depth | above base | seq MiB/s (resolved) | seq naive | seq vs depth 1 | qemu seq | hvsim/qemu seq | random µs (resolved) | random naive | naive probes | random vs raw pread | qemu random µs | open ms | open ms/layer |');
md.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of depthResults) {
  md.push(
    `| ${r.depth} | ${(r.aboveBaseShare * 100).toFixed(1)}% | ${fx(r.seqMiBps)} | ${fx(r.seqNaiveMiBps)} | ${(r.seqMiBps / one.seqMiBps).toFixed(2)} | ${fx(r.qemuSeqMiBps)} | ${ratio(r.seqMiBps, r.qemuSeqMiBps)} | ` +
      `${r.randomUs.toFixed(2)} | ${r.randomNaiveUs.toFixed(2)} | ${r.naiveProbesPerRead.toFixed(1)} | ${ratio(r.randomUs, raw.randomUs)} | ${r.qemuRandomUs === null ? '–' : r.qemuRandomUs.toFixed(2)} | ${r.openMs.toFixed(2)} | ${r.openMsPerLayer.toFixed(3)} |`,
  );
}
md.push('');
md.push(
  `Ceilings: raw file ${fx(raw.seqMiBps)} MiB/s sequential with the same buffer (${fx(raw.seqPlainBufMiBps)} MiB/s into a plain \`new Uint8Array(1 MiB)\`), one 4 KiB pread ${raw.randomUs.toFixed(2)} µs` +
    (raw.qemuSeqMiBps !== null ? `; qemu-img bench on the raw file ${fx(raw.qemuSeqMiBps)} MiB/s, ${raw.qemuRandomUs?.toFixed(2)} µs per 4 KiB read.` : '.'),
);
md.push('');
md.push('| depth | pieces per pass | pread floor seq MiB/s | hvsim seq / floor | seq, plain new Uint8Array | first pass (builds the map) ms | pread floor random µs | hvsim random / floor |');
md.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of depthResults)
  md.push(`| ${r.depth} | ${r.pieces} | ${fx(r.seqFloorMiBps)} | ${(r.seqMiBps / r.seqFloorMiBps).toFixed(2)} | ${fx(r.seqPlainBufMiBps)} | ${r.firstPassMs.toFixed(1)} | ${r.randomFloorUs.toFixed(2)} | ${(r.randomUs / r.randomFloorUs).toFixed(2)} |`);
if (merges.length) {
  md.push('');
  md.push('| merge | depth | fdatasync | copied MiB | seconds | MiB/s | content |');
  md.push('|---|---:|---|---:|---:|---:|---|');
  for (const m of merges) md.push(`| ${m.case} | ${m.depth} | ${m.durable ? 'yes' : 'no'} | ${(m.copyBytes / MiB).toFixed(1)} | ${m.seconds.toFixed(2)} | ${fx(m.MiBps)} | ${m.hashOk ? 'ok' : 'MISMATCH'} |`);
}
if (simResults.length) {
  md.push('');
  md.push('| VMs | Checkpoint-VM, one VM: wall ms | simulated ms | checkpoint-group, all VMs: wall ms | simulated ms | freeze skew (simulated ms) |');
  md.push('|---:|---:|---:|---:|---:|---:|');
  for (const r of simResults) md.push(`| ${r.vms} | ${r.checkpointMs.toFixed(2)} | ${fx(r.checkpointSimMs)} | ${r.groupMs.toFixed(1)} | ${fx(r.groupSimMs)} | ${fx(r.groupSkewMs)} |`);
}
if (cliResults.length) {
  md.push('');
  md.push('| CLI process (start to exit) | median ms | vs an empty node process |');
  md.push('|---|---:|---:|');
  for (const r of cliResults) md.push(`| ${r.what} | ${r.ms.toFixed(0)} | ${r.vsNode.toFixed(1)}× |`);
}
md.push('');
md.push('| goal | target | measured | met |');
md.push('|---|---|---|---|');
for (const g of goals) md.push(`| ${g.goal} | ${g.target} | ${g.measured} | ${g.ok === null ? 'not measured' : g.ok ? 'yes' : '**no**'} |`);
{
  const b = top.best;
  md.push('');
  md.push(
    `Best round instead of the median (least disturbed by other work): depth ${MAX_DEPTH} / depth 1 sequential ${(b.seqMiBps / one.best.seqMiBps).toFixed(2)}, ` +
      `/ qemu ${b.qemuSeqMiBps ? (b.seqMiBps / b.qemuSeqMiBps).toFixed(2) : '–'}, random / raw pread ${(b.randomUs / raw.bestRandomUs).toFixed(2)}, open ${(b.openMs / (MAX_DEPTH + 1)).toFixed(3)} ms per layer.`,
  );
}
md.push('');
md.push(`make-workload --depth ${MAX_DEPTH}: ${(makeMs / 1000).toFixed(2)} s (${fx(mibps(files.bytesWritten, makeMs))} MiB/s of virtual data written). Content hashes: ${hashChecks.every((c) => c.hvsim) ? 'all hvsim depths match the table' : 'HVSIM MISMATCH'}${qemu ? (hashChecks.every((c) => c.qemu) ? '; all qcow2 depths match' : '; QCOW2 MISMATCH') : ''}.`);
const table = md.join('\n') + '\n';
process.stdout.write('\n' + table);

const results = {
  version: 1,
  date: new Date().toISOString(),
  machine,
  settings: { rounds: RUNS, opensPerRound: OPENS_PER_ROUND, sequentialRequestBytes: REQ, bufferSkewBytes: 64, randomReads: NREAD, depths: DEPTHS, quick: QUICK },
  workload: { makeSeconds: round(makeMs / 1000, 3), bytesWritten: files.bytesWritten, hashes: hashChecks },
  raw: { ...raw, seqMiBps: round(raw.seqMiBps, 0), seqPlainBufMiBps: round(raw.seqPlainBufMiBps, 0), randomUs: round(raw.randomUs, 3) },
  depths: depthResults,
  merge: merges.length ? merges : mergeNote,
  sim: simResults.length ? simResults : simNote,
  cli: cliResults.map((r) => ({ ...r, ms: round(r.ms, 1), vsNode: round(r.vsNode, 2) })),
  goals,
};
fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
fs.writeFileSync(path.join(outDir, 'results.md'), table);

const vals = (f: (r: DepthResult) => number | null): Array<number | null> => depthResults.map(f);
const flat = (v: number | null): Array<number | null> => depthResults.map(() => v);
const seqSeries: Series[] = [
  { name: 'hvsim (resolved map)', color: '#d62728', values: vals((r) => r.seqMiBps) },
  { name: 'hvsim naive walk', color: '#ff9896', values: vals((r) => r.seqNaiveMiBps) },
  { name: 'qemu-img bench, qcow2 chain', color: '#1f77b4', values: vals((r) => r.qemuSeqMiBps) },
  { name: 'pread floor of the layout', color: '#2ca02c', values: vals((r) => r.seqFloorMiBps), dashed: true },
  { name: 'raw file (readSync 1 MiB)', color: '#555555', values: flat(raw.seqMiBps), dashed: true },
];
const rndSeries: Series[] = [
  { name: 'hvsim (resolved map)', color: '#d62728', values: vals((r) => r.randomUs) },
  { name: 'hvsim naive walk', color: '#ff9896', values: vals((r) => r.randomNaiveUs) },
  { name: 'qemu-img bench, qcow2 chain', color: '#1f77b4', values: vals((r) => r.qemuRandomUs) },
  { name: 'one raw-file pread', color: '#555555', values: flat(raw.randomUs), dashed: true },
];
const openSeries: Series[] = [
  { name: 'Chain.open + close', color: '#9467bd', values: vals((r) => r.openMs) },
  { name: '1 ms per layer (goal)', color: '#555555', values: vals((r) => r.depth + 1), dashed: true },
];
fs.writeFileSync(
  path.join(outDir, 'chart.svg'),
  renderBenchChart(
    `hvsim: reading a deep differencing-disk chain (standard workload, 256 MiB, ${machine.cpu}, Node ${machine.node})`,
    `Medians of ${RUNS} interleaved rounds, page cache warm. Sequential: 1 MiB requests; random: 20,000 × 4 KiB (qemu: 4 KiB at a large stride). ${new Date().toISOString().slice(0, 10)}`,
    DEPTHS,
    [
      { title: 'Sequential read', yLabel: 'MiB/s', series: seqSeries },
      { title: 'Random 4 KiB read', yLabel: 'µs per read', series: rndSeries },
      { title: 'Chain open', yLabel: 'ms', series: openSeries },
    ],
  ),
);
log(`\nresults: ${path.relative(process.cwd(), path.join(outDir, 'results.json'))}, ${path.relative(process.cwd(), path.join(outDir, 'chart.svg'))}`);

if (!flag('--keep')) fs.rmSync(tmp, { recursive: true, force: true });
else log(`kept ${tmp}`);
const bad = hashChecks.some((c) => !c.hvsim || c.qemu === false) || merges.some((m) => !m.hashOk);
process.exitCode = bad ? 1 : 0;
