/**
 * Reads against chain depth (bench/README.md, steps 1–3): the standard workload (docs/workload.md)
 * and a raw image of its top; per depth a chain checked against the expected hashes, chain opens,
 * sequential and random reads through the resolved map and the naive walk, the pread floor; the
 * same data as a qcow2 chain through `qemu-img bench` when qemu is installed.
 *
 * The machine is shared (2 vCPUs; other work may run at any time), so the measurements run in
 * interleaved rounds: each round takes one sample of every contestant at every depth, and the
 * figure is the median over the rounds. A burst of outside load then hits all of them alike, and
 * the ratios hold up better than the absolute figures.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkloadFiles } from '../src/engine/workload.js';
import { analyzeChain, Chain, type ChainT, dist, ioBuffer, MiB, NodeDiskStore, ParallelReader, type ParallelReaderT, sharedIoBuffer, wl } from './engine.js';
import { pieceTable, plan, runPlan, type Plan } from './floor.js';
import { DEPTHS, MAX_DEPTH, type Options } from './options.js';
import { buildQcow2Chain, findQemu, qcowHash, qemuBench, type QemuTools } from './qemu.js';
import { log, median, mibps, round, Samples, timed } from './timing.js';

export const SIZE = wl.WORKLOAD.virtualSize;
/** Sequential request size, as qemu-img bench -s 1M. */
export const REQ = MiB;

// Read buffers start 64 bytes into a larger allocation (ioBuffer: the kernel's page-cache copy is
// ~5x slower into a plain page-aligned `new Uint8Array`); every contestant gets the same buffer, and
// figures for a plain `new Uint8Array` are reported beside.
const seqBuf = ioBuffer(REQ);
const seqBufPlain = new Uint8Array(REQ);
const rndBuf = ioBuffer(wl.WORKLOAD.randomReadSize);
/**
 * Reads in parallel (bench/README.md, "Reads in parallel"): 4 MiB requests (read-vhd's:
 * src/cli/commands/disk.ts, CHUNK; also the size of cli.ts's process floor of read-vhd), above
 * Chain.read's threshold, on one thread (ioBuffer) and on two (sharedIoBuffer: the chain's
 * ParallelReader), and the pread floor of the same requests on one thread and on two.
 */
export const PAR_REQ = 4 * MiB;
/** First passes timed per depth, each on a chain opened afresh (their median is reported). */
const FIRST_PASSES = 5;
const parBuf1 = ioBuffer(PAR_REQ);
const parBuf2 = sharedIoBuffer(PAR_REQ);
const offsets = wl.randomReadOffsets();
export const NREAD = offsets.length;

// Random reads through qemu: 4 KiB at a stride of an odd number of pages coprime with the image's.
const QEMU_STRIDE = 40_499 * 4096;
/** Four whole-disk passes a run (qemu-img bench wraps around). */
export const QEMU_SEQ_COUNT = 4 * (SIZE / REQ);

export interface HashCheck {
  depth: number;
  expected: string;
  hvsim: boolean;
  qemu: boolean | null;
}

export interface DepthResult {
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
  /** 4 MiB requests: one thread, two threads (the chain's ParallelReader), the pread floor on one and on two. */
  /**
   * The first open in a new process (median over rounds; depths 1 and MAX_DEPTH only, else null):
   * what a command such as `hvsim read-vhd` pays, in code not yet compiled. openMs is a warm open
   * in a long-running process (`hvsim serve`, a library user).
   */
  coldOpenMs: number | null;
  par: { seq1MiBps: number; seq2MiBps: number; floor1MiBps: number; floor2MiBps: number };
  /** The same from the best round (smallest time) instead of the median. */
  best: { openMs: number; seqMiBps: number; randomUs: number; seqFloorMiBps: number; randomFloorUs: number; qemuSeqMiBps: number | null; qemuRandomUs: number | null };
}

/** The raw image of the top of the chain: the ceiling. */
export interface RawResult {
  bestRandomUs: number;
  seqMiBps: number;
  seqPlainBufMiBps: number;
  randomUs: number;
  qemuSeqMiBps: number | null;
  qemuRandomUs: number | null;
}

export interface BenchWorkload {
  dir: string;
  files: WorkloadFiles;
  makeMs: number;
  /** Raw image of the depth-MAX_DEPTH disk (the ceiling) and of the base (qemu's base). */
  rawTop: string;
  rawBase: string;
}

export interface ReadResults {
  raw: RawResult;
  depths: DepthResult[];
  hashChecks: HashCheck[];
  qemu: QemuTools | undefined;
  /** Chain opens per depth in each round. */
  opensPerRound: number;
}

/** One depth's chain, its files for the floor, and what setup learnt about it. */
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
  /** The floor's 4 MiB requests as piece tables, and the reader that splits them between two threads. */
  parTables: Array<{ table: Float64Array; count: number }>;
  floorReader: ParallelReaderT;
}

type Kind = 'coldOpen' | 'open' | 'seq' | 'seqPlain' | 'seqNaive' | 'seqFloor' | 'rnd' | 'rndNaive' | 'rndFloor' | 'qemuSeq' | 'qemuRnd' | 'par1' | 'par2' | 'parFloor1' | 'parFloor2';

function rawSeq(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < SIZE; off += REQ) fs.readSync(fd, buf, 0, REQ, off);
}
function rawRandom(fd: number): void {
  for (let i = 0; i < NREAD; i++) fs.readSync(fd, rndBuf, 0, rndBuf.length, offsets[i]!);
}
function seqPass(chain: ChainT, buf: Uint8Array): void {
  for (let off = 0; off < SIZE; off += REQ) chain.read(buf, off);
}
function parPass(chain: ChainT, buf: Uint8Array): void {
  for (let off = 0; off < SIZE; off += PAR_REQ) chain.read(buf, off);
}
function parFloorPass(sj: Subject, buf: Uint8Array): void {
  for (const t of sj.parTables) sj.floorReader.read(buf, t.table, t.count);
}
/** Milliseconds of the first Chain.open + close of `leaf` in a new node process (the built engine). */
function coldOpen(leaf: string): number {
  const script = `const { Chain } = await import(${JSON.stringify(dist('engine/chain.js'))}); const t = performance.now(); Chain.open(${JSON.stringify(leaf)}).close(); console.log(performance.now() - t);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cold open of ${leaf} failed: ${r.stderr}`);
  return Number(r.stdout.trim());
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

/** SHA-256 of the whole virtual disk read through `chain`, in 1 MiB requests. */
export function chainSha256(chain: ChainT): string {
  const h = createHash('sha256');
  for (let off = 0; off < SIZE; off += REQ) {
    chain.read(seqBuf, off);
    h.update(seqBuf);
  }
  return h.digest('hex');
}

/** The depth-MAX_DEPTH workload in `tmp`/vhdx (as `hvsim make-workload`), and the raw images. */
export function makeBenchWorkload(tmp: string): BenchWorkload {
  const dir = path.join(tmp, 'vhdx');
  const t0 = performance.now();
  const files = wl.makeWorkload(new NodeDiskStore(), { dir, depth: MAX_DEPTH, overwrite: true });
  const makeMs = performance.now() - t0;
  log(`  make-workload --depth ${MAX_DEPTH}: ${(makeMs / 1000).toFixed(2)} s`);
  const rawTop = path.join(tmp, `raw-${MAX_DEPTH}.img`);
  const rawBase = path.join(tmp, 'raw-0.img');
  const img = wl.workloadImage(MAX_DEPTH);
  fs.writeFileSync(rawTop, img);
  fs.writeFileSync(rawBase, wl.workloadImage(0, img));
  return { dir, files, makeMs, rawTop, rawBase };
}

/** Open every depth's chain, check its content, plan its floor reads. */
function openSubjects(wlDir: string, hashChecks: HashCheck[]): Subject[] {
  const subjects: Subject[] = [];
  const reqs = Array.from({ length: SIZE / REQ }, (_, i) => i * REQ);
  for (const d of DEPTHS) {
    // The first pass (which builds the resolved map) on FIRST_PASSES freshly opened chains: one
    // pass is a single sample, the median of a few is steadier on a shared machine.
    const firstPass = (c: ChainT): number => {
      const t0 = performance.now();
      seqPass(c, seqBuf);
      return performance.now() - t0;
    };
    let chain = Chain.open(wl.workloadLayerPath(wlDir, d));
    const firstPasses = [firstPass(chain)];
    while (firstPasses.length < FIRST_PASSES) {
      chain.close();
      chain = Chain.open(wl.workloadLayerPath(wlDir, d));
      firstPasses.push(firstPass(chain));
    }
    const firstPassMs = median(firstPasses);
    const expected = wl.EXPECTED_SHA256[d] ?? '';
    hashChecks.push({ depth: d, expected, hvsim: chainSha256(chain) === expected, qemu: null });
    chain.stats.probes = 0;
    randomNaivePass(chain);
    const naiveProbesPerRead = chain.stats.probes / NREAD;
    const a = analyzeChain(chain, { bins: 64 });
    const fds = chain.paths.map((p) => fs.openSync(p, 'r'));
    const seqPlan = plan(chain, fds, reqs, REQ);
    const per = PAR_REQ / REQ;
    const parTables = Array.from({ length: SIZE / PAR_REQ }, (_, i) => pieceTable(seqPlan, fds, i * per, per, REQ));
    const floorReader = new ParallelReader(fds.map((fd, i) => ({ fd, name: chain.paths[i]! })));
    subjects.push({
      depth: d, chain, fds, seqPlan, parTables, floorReader, rndPlan: plan(chain, fds, offsets, rndBuf.length), qcow2: undefined,
      firstPassMs, naiveProbesPerRead, expectedProbes: a.expectedProbes, aboveBaseShare: 1 - a.layers[0]!.suppliedShare, qemuConvertMiBps: null,
    });
    log(`  depth ${String(d).padStart(2)}: ${hashChecks.at(-1)!.hvsim ? 'sha256 ok' : 'SHA256 MISMATCH'}, first pass ${firstPassMs.toFixed(1)} ms, naive walk ${naiveProbesPerRead.toFixed(2)} probes per random read (analysis: ${a.expectedProbes.toFixed(2)})`);
  }
  return subjects;
}

/** The qcow2 chain of the same content, each depth's hash checked through qemu-img convert. */
function addQemuSubjects(qemu: QemuTools, subjects: Subject[], hashChecks: HashCheck[], tmp: string, rawBase: string): void {
  log(`  qemu ${qemu.version} (aio ${qemu.aio}): building the qcow2 chain`);
  const t0 = performance.now();
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
}

/** The interleaved rounds (round -1 warms everything up): `${depth}:${kind}` or `raw:${kind}` → ms (qemu: its own seconds × 1000). */
function measure(runs: number, opensPerRound: number, subjects: Subject[], rawTop: string, qemu: QemuTools | undefined): Samples {
  const samples = new Samples();
  const rawFd = fs.openSync(rawTop, 'r');
  for (let round = -1; round < runs; round++) {
    const keep = round >= 0;
    const rec = (key: string, v: number): void => {
      if (keep) samples.put(key, v);
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
      for (let i = 0; i < opensPerRound; i++) rec(k('open'), timed(() => Chain.open(leaf).close()));
      if (sj.depth === 1 || sj.depth === MAX_DEPTH) rec(k('coldOpen'), coldOpen(leaf));
      rec(k('seq'), timed(() => seqPass(sj.chain, seqBuf)));
      rec(k('seqPlain'), timed(() => seqPass(sj.chain, seqBufPlain)));
      rec(k('seqNaive'), timed(() => seqNaivePass(sj.chain)));
      rec(k('seqFloor'), timed(() => runPlan(sj.seqPlan, seqBuf)));
      rec(k('par1'), timed(() => parPass(sj.chain, parBuf1)));
      rec(k('par2'), timed(() => parPass(sj.chain, parBuf2)));
      rec(k('parFloor1'), timed(() => parFloorPass(sj, parBuf1)));
      rec(k('parFloor2'), timed(() => parFloorPass(sj, parBuf2)));
      rec(k('rnd'), timed(() => randomPass(sj.chain)));
      rec(k('rndNaive'), timed(() => randomNaivePass(sj.chain)));
      rec(k('rndFloor'), timed(() => runPlan(sj.rndPlan, rndBuf)));
      if (qemu && sj.qcow2) {
        rec(k('qemuSeq'), 1000 * qemuBench(qemu, sj.qcow2, 'qcow2', { count: QEMU_SEQ_COUNT, size: REQ }));
        rec(k('qemuRnd'), 1000 * qemuBench(qemu, sj.qcow2, 'qcow2', { count: NREAD, size: 4096, step: QEMU_STRIDE }));
      }
    }
    if (keep) log(`  round ${round + 1}/${runs} done (load ${os.loadavg()[0]!.toFixed(2)})`);
  }
  fs.closeSync(rawFd);
  return samples;
}

function rawResult(s: Samples): RawResult {
  const raw: RawResult = {
    bestRandomUs: round((s.best('raw:rnd')! * 1000) / NREAD, 3),
    seqMiBps: s.rate('raw:seq', SIZE)!,
    seqPlainBufMiBps: s.rate('raw:seqPlain', SIZE)!,
    randomUs: s.perOp('raw:rnd', NREAD)!,
    qemuSeqMiBps: s.rate('raw:qemuSeq', QEMU_SEQ_COUNT * REQ),
    qemuRandomUs: s.perOp('raw:qemuRnd', NREAD),
  };
  log(`  raw file: ${raw.seqMiBps} MiB/s sequential (${raw.seqPlainBufMiBps} into a plain new Uint8Array), ${raw.randomUs} µs per 4 KiB pread`);
  return raw;
}

function depthResult(s: Samples, sj: Subject): DepthResult {
  const k = (kind: Kind): string => `${sj.depth}:${kind}`;
  const open = s.median(k('open'))!;
  const best = (kind: Kind): number | null => s.best(k(kind));
  const r: DepthResult = {
    depth: sj.depth,
    openMs: round(open, 3),
    openMsPerLayer: round(open / (sj.depth + 1), 3),
    firstPassMs: round(sj.firstPassMs, 1),
    coldOpenMs: s.median(k('coldOpen')) === null ? null : round(s.median(k('coldOpen'))!, 2),
    seqMiBps: s.rate(k('seq'), SIZE)!,
    seqPlainBufMiBps: s.rate(k('seqPlain'), SIZE)!,
    seqNaiveMiBps: s.rate(k('seqNaive'), SIZE)!,
    seqFloorMiBps: s.rate(k('seqFloor'), SIZE)!,
    pieces: sj.seqPlan.fd.length,
    randomUs: s.perOp(k('rnd'), NREAD)!,
    randomNaiveUs: s.perOp(k('rndNaive'), NREAD)!,
    randomFloorUs: s.perOp(k('rndFloor'), NREAD)!,
    naiveProbesPerRead: round(sj.naiveProbesPerRead, 3),
    expectedProbes: round(sj.expectedProbes, 3),
    aboveBaseShare: round(sj.aboveBaseShare, 4),
    qemuSeqMiBps: s.rate(k('qemuSeq'), QEMU_SEQ_COUNT * REQ),
    qemuRandomUs: s.perOp(k('qemuRnd'), NREAD),
    qemuConvertMiBps: sj.qemuConvertMiBps === null ? null : round(sj.qemuConvertMiBps, 0),
    par: {
      seq1MiBps: s.rate(k('par1'), SIZE)!,
      seq2MiBps: s.rate(k('par2'), SIZE)!,
      floor1MiBps: s.rate(k('parFloor1'), SIZE)!,
      floor2MiBps: s.rate(k('parFloor2'), SIZE)!,
    },
    best: {
      openMs: round(best('open')!, 3),
      seqMiBps: round(mibps(SIZE, best('seq')!), 0),
      randomUs: round((best('rnd')! * 1000) / NREAD, 3),
      seqFloorMiBps: round(mibps(SIZE, best('seqFloor')!), 0),
      randomFloorUs: round((best('rndFloor')! * 1000) / NREAD, 3),
      qemuSeqMiBps: best('qemuSeq') === null ? null : round(mibps(QEMU_SEQ_COUNT * REQ, best('qemuSeq')!), 0),
      qemuRandomUs: best('qemuRnd') === null ? null : round((best('qemuRnd')! * 1000) / NREAD, 3),
    },
  };
  log(
    `  depth ${String(r.depth).padStart(2)}: open ${r.openMs.toFixed(2)} ms${r.coldOpenMs !== null ? ` (first in a new process ${r.coldOpenMs.toFixed(1)} ms)` : ''}, seq ${r.seqMiBps} MiB/s (naive ${r.seqNaiveMiBps}, floor ${r.seqFloorMiBps}, qemu ${r.qemuSeqMiBps ?? '–'}), ` +
      `4 MiB requests ${r.par.seq1MiBps} MiB/s on one thread, ${r.par.seq2MiBps} on two (floor ${r.par.floor1MiBps}, ${r.par.floor2MiBps}), ` +
      `random ${r.randomUs} µs (naive ${r.randomNaiveUs}, floor ${r.randomFloorUs}, qemu ${r.qemuRandomUs ?? '–'})`,
  );
  return r;
}

/** Steps 2 and 3 of bench/README.md on the workload `w` (in `tmp`). */
export function measureReads(o: Options, tmp: string, w: BenchWorkload): ReadResults {
  const hashChecks: HashCheck[] = [];
  const subjects = openSubjects(w.dir, hashChecks);
  const qemu = o.qemu ? findQemu(w.rawBase) : undefined;
  if (qemu) addQemuSubjects(qemu, subjects, hashChecks, tmp, w.rawBase);
  else log('  qemu-img/qemu-io not installed (or --no-qemu): qemu comparison skipped');
  const opensPerRound = Math.ceil(o.openRuns / o.runs);
  const samples = measure(o.runs, opensPerRound, subjects, w.rawTop, qemu);
  const raw = rawResult(samples);
  const depths = subjects.map((sj) => depthResult(samples, sj));
  for (const sj of subjects) {
    sj.floorReader.close();
    for (const fd of sj.fds) fs.closeSync(fd);
    sj.chain.close();
  }
  return { raw, depths, hashChecks, qemu, opensPerRound };
}
