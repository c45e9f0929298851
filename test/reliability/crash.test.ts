/**
 * Crash consistency of every mutating operation, at every crash point (issue 8).
 *
 * One FaultBudget is shared by every file of a MemoryDiskStore: the power is cut after the k-th
 * write, flush, truncate, create, remove or journal update, for every k of the operation and in
 * each crash mode (keep-all, lose-unflushed, torn). Then, for what survived:
 *   1. reopen it (read-only: the VHDX log is replayed in memory; writable: replayed in place — both
 *      must read the same), and every point in time reads either its content before the
 *      operation or its content after it;
 *   2. the files pass the engine's check (checkTree over the folder: each file's own check(), its
 *      parent link, loops; the checks test-vhd runs), errors only;
 *   3. rerunning the operation (or, for the simulator, reopening the host and retrying what did
 *      not happen) completes it: every point in time reads its content after, and the files pass.
 * Each property is its own test, so a failure names the property and lists the crash points.
 *
 * Where the rest is covered (not repeated here):
 *   - VHDX image-level writes: test/vhd/vhdx-crash.test.ts (every op, 3 modes); VHD image-level writes:
 *     test/vhd/vhd-format.test.ts "footer copies and crashes" (every op, 3 modes); log writer:
 *     test/vhd/vhdx-log.test.ts "crash consistency".
 *   - merge-down through a middle layer (VHDX, VHD), remove a middle layer, remove a base with
 *     several children: test/engine/crash.test.ts (every op, 3 modes).
 *   - remove every checkpoint, checkpoint + restore: test/sim/storage.test.ts (every op, keep-all).
 *   - group checkpoint with a failing step (not a power cut): test/sim/group.test.ts.
 * This file adds, at every crash point and in all three modes: a write through a chain (VHDX and
 * VHD), create child of a differencing disk (VHDX, VHD), merge-down of a leaf into its parent
 * (the base; VHDX, VHD) and flatten (to VHDX, VHD, RAW); and, at every crash point in the two
 * harshest modes (lose-unflushed, torn), the simulator's checkpoint (a VM with two disks), remove
 * checkpoint (merged into its child; merged down into the base) and group checkpoint (plus: the
 * group is all or nothing after the restart). Crash points of different modes at the same index
 * that leave byte-identical files share one verification. A one-line summary per scenario goes
 * to stdout ("[reliability-crash] …").
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HvsimError } from '../../src/errors.js';
import { createDiskFile, openDiskFile } from '../../src/vhd/open.js';
import { parseHeader, type VhdxHeader } from '../../src/vhd/vhdx/header.js';
import { ZERO_GUID } from '../../src/vhd/common/guid.js';
import { faultBudget, type CrashMode, type FaultBudget } from '../../src/vhd/io/fault-file.js';
import { Chain } from '../../src/engine/chain.js';
import { createChild } from '../../src/engine/layers.js';
import { mergeDown, pendingJournals } from '../../src/engine/merge.js';
import { flatten, type FlattenFormat } from '../../src/engine/flatten.js';
import { MemoryDiskStore, type DiskStore } from '../../src/engine/store.js';
import { checkTree, isDiskFileName } from '../../src/engine/tree.js';
import { SnapStore } from '../helpers/snap-store.js';
import { memoryHost } from '../helpers/sim-host.js';
import { Simulator } from '../../src/sim/simulator.js';
import { MemoryStorage } from '../../src/sim/storage.js';
import { checkpointGroup, getGroups } from '../../src/host/group.js';
import type { HostState } from '../../src/sim/state.js';
import { fill, workerClock } from '../helpers/data.js';

/** CPU and wall time of this test file's worker, for the summary line. */
const cpuLine = workerClock();

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 4 * MiB;
const MODES: CrashMode[] = ['keep-all', 'lose-unflushed', 'torn'];
/**
 * The simulator's scenarios run in the two harshest modes only (to stay within the time bound):
 * lose-unflushed (what a power cut keeps) and torn (the last write half done); its file-level
 * effects are the engine's, swept in all three modes above and in engine-crash.test.ts.
 */
const SIM_MODES: CrashMode[] = ['lose-unflushed', 'torn'];
const START = Date.UTC(2024, 5, 1, 8, 0, 0);
const VMROOT = '/hvsim/vms';
/** The simulator's disks: two 1 MiB blocks keep a restart (records, merges, reads) cheap. */
const SIM_SIZE = 2 * MiB;

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

function isFault(e: unknown): boolean {
  return e instanceof HvsimError && e.code === 'FAULT_INJECTED';
}

function describeError(e: unknown): string {
  return e instanceof HvsimError ? `${e.code}: ${e.message}` : `untyped ${String(e)}`;
}

// ---------------------------------------------------------------------------------------------
// Points in time, and what a crash point found

/**
 * A point in time → what it reads: its bytes (compared sector by sector: a write may land sector
 * by sector), a short value (the list of files), ABSENT when it does not exist, or "error: …"
 * when it cannot be read.
 */
type Points = Map<string, string | Uint8Array>;
const SECTOR = 512;
const ABSENT = 'absent';

interface Files {
  files: Map<string, Uint8Array>;
  ro: Set<string>;
}

/** Byte-identical file sets (what two crash points left behind). */
function sameFiles(a: Files, b: Files): boolean {
  if (a.files.size !== b.files.size || a.ro.size !== b.ro.size) return false;
  for (const p of a.ro) if (!b.ro.has(p)) return false;
  for (const [p, x] of a.files) {
    const y = b.files.get(p);
    if (!y || !Buffer.from(x.buffer, x.byteOffset, x.length).equals(Buffer.from(y.buffer, y.byteOffset, y.length))) return false;
  }
  return true;
}

function snap(s: MemoryDiskStore): Files {
  return { files: s.snapshot(), ro: s.readOnlyPaths() };
}
function storeOf(f: Files, budget?: FaultBudget): MemoryDiskStore {
  return MemoryDiskStore.from(f.files, budget, f.ro);
}

interface CrashPoint {
  k: number;
  mode: CrashMode;
  /** Problems per property; absent when the property held. */
  unexpected?: string;
  points?: string;
  replay?: string;
  check?: string;
  rerun?: string;
  atomic?: string;
}

interface SweepResult {
  total: number;
  points: CrashPoint[];
  /** Crash points whose reopened state read exactly the before / the after state. */
  sawBefore: number;
  sawAfter: number;
  /** Crash points that left a VHDX log open (a replay is due on the next open). */
  dirtyLogs: number;
  /** Crash points whose surviving files differ from those of the other modes at the same index (the rest share a verdict). */
  distinct: number;
}

const show = (v: string | Uint8Array): string => (typeof v === 'string' ? v : digest(v));
function same(x: string | Uint8Array, y: string | Uint8Array): boolean {
  if (typeof x === 'string' || typeof y === 'string') return x === y;
  return Buffer.from(x.buffer, x.byteOffset, x.length).equals(Buffer.from(y.buffer, y.byteOffset, y.length));
}

/** Each point reads as before or after; byte values are compared sector by sector (the unit a disk promises). */
function comparePoints(got: Points, before: Points, after: Points): string | undefined {
  const keys = new Set([...before.keys(), ...after.keys(), ...got.keys()]);
  const bad: string[] = [];
  for (const key of [...keys].sort()) {
    const g = got.get(key) ?? ABSENT;
    const b = before.get(key) ?? ABSENT;
    const a = after.get(key) ?? ABSENT;
    if (same(g, b) || same(g, a)) continue;
    if (typeof g !== 'string' && typeof b !== 'string' && typeof a !== 'string' && g.length === b.length && g.length === a.length) {
      const sectors: number[] = [];
      for (let s = 0; s < g.length; s += SECTOR) {
        const gs = g.subarray(s, s + SECTOR);
        if (!same(gs, b.subarray(s, s + SECTOR)) && !same(gs, a.subarray(s, s + SECTOR))) sectors.push(s / SECTOR);
      }
      if (sectors.length) bad.push(`${key}: ${sectors.length} sectors read neither old nor new data (first: sector ${sectors[0]})`);
      continue;
    }
    bad.push(`${key} reads ${show(g)} (before ${show(b)}, after ${show(a)})`);
  }
  return bad.length ? bad.join('; ') : undefined;
}

function samePoints(x: Points, y: Points): boolean {
  const keys = new Set([...x.keys(), ...y.keys()]);
  return [...keys].every((k) => same(x.get(k) ?? ABSENT, y.get(k) ?? ABSENT));
}

/** Errors the engine's check finds in the folders (checkTree: file checks, links, loops). */
function checkErrors(store: DiskStore, dirs: string[]): string | undefined {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      const r = checkTree(store, d);
      for (const f of r.Findings) if (f.severity === 'error') out.push(`${f.code} ${f.message}`);
    } catch (e) {
      out.push(`checkTree threw ${describeError(e)}`);
    }
  }
  return out.length ? out.join('; ') : undefined;
}

/** How many VHDX files of the folders name an active log in their current header (a replay is due). */
function dirtyLogs(f: Files, dirs: string[]): number {
  let n = 0;
  for (const [p, b] of f.files) {
    if (!dirs.includes(path.posix.dirname(p)) || !isDiskFileName(p) || b.length < 192 * KiB) continue;
    const hs = [64 * KiB, 128 * KiB].map((o) => parseHeader(b.subarray(o, o + 4096))).filter((h): h is VhdxHeader => typeof h !== 'string');
    const cur = hs.sort((x, y) => y.sequenceNumber - x.sequenceNumber)[0];
    if (cur && cur.logGuid !== ZERO_GUID) n++;
  }
  return n;
}

/** Open every disk file writable once (replays a dirty VHDX log in place), then close it. */
function replayInPlace(store: MemoryDiskStore, dirs: string[]): string | undefined {
  const out: string[] = [];
  for (const d of dirs)
    for (const n of store.list(d)) {
      if (!isDiskFileName(n)) continue;
      const p = path.posix.join(d, n);
      try {
        openDiskFile(store.open(p, 'rw')).close();
      } catch (e) {
        out.push(`${p}: ${describeError(e)}`);
      }
    }
  return out.length ? out.join('; ') : undefined;
}

/** The crash points of a property that failed, for the assertion message. */
function failures(r: SweepResult, prop: keyof CrashPoint): string[] {
  return r.points.filter((p) => p[prop] !== undefined).map((p) => `crash at ${p.k}/${r.total} (${p.mode}): ${String(p[prop])}`);
}

function expectNone(r: SweepResult, prop: keyof CrashPoint, what: string): void {
  const bad = failures(r, prop);
  expect(bad.length, `${bad.length} of ${r.points.length} crash points: ${what}\n${bad.slice(0, 6).join('\n')}`).toBe(0);
}

// Figures for the summary line (and docs/reliability.md).
const figures = { scenarios: 0, crashPoints: 0, runs: 0, pointsInTimeChecked: 0 };
afterAll(() => {
  console.log(
    `[reliability-crash] total: ${figures.scenarios} scenarios, ${figures.crashPoints} crash points (operation index x mode), ` +
      `${figures.runs} runs including reruns, ${figures.pointsInTimeChecked} point-in-time reads compared; ${cpuLine()}`,
  );
});

function report(name: string, r: SweepResult, modes = MODES): void {
  figures.scenarios++;
  figures.crashPoints += r.points.length;
  const bad = r.points.filter((p) => p.unexpected || p.points || p.replay || p.check || p.rerun || p.atomic).length;
  console.log(
    `[reliability-crash] ${name}: ${r.total} operations x ${modes.length} modes = ${r.points.length} crash points; ` +
      `${r.distinct} distinct outcomes verified (of which ${r.sawBefore} read as before, ${r.sawAfter} as after, ${r.dirtyLogs} with a VHDX log left open); ${bad} crash points with a problem`,
  );
}

// ---------------------------------------------------------------------------------------------
// Engine scenarios (synchronous, MemoryDiskStore)

interface EngineScenario {
  name: string;
  dirs: string[];
  build(): MemoryDiskStore;
  run(store: MemoryDiskStore): void;
  /** The points in time this operation may change or must keep, read without writing. */
  points(store: DiskStore): Points;
  /** The operation's result is in place (so a rerun is not needed). */
  done(store: DiskStore): boolean;
}

/** What a leaf (or any layer) reads through its chain: its bytes, ABSENT, or "error: …". */
function viewOf(store: DiskStore, p: string): string | Uint8Array {
  if (!store.exists(p)) return ABSENT;
  try {
    const c = Chain.open(p, { store });
    try {
      const b = new Uint8Array(c.virtualSize);
      c.read(b, 0);
      return b;
    } finally {
      c.close();
    }
  } catch (e) {
    return `error: ${describeError(e)}`;
  }
}
const readable = (v: string | Uint8Array): boolean => typeof v !== 'string' || !v.startsWith('error');
/** The disk files of a folder, as one value (which exist). */
const fileList = (s: DiskStore, dir: string): string => s.list(dir).filter(isDiskFileName).join(',');

function chainWrite(store: DiskStore, p: string, data: Uint8Array, offset: number): void {
  const c = Chain.open(p, { store, writable: true });
  try {
    c.write(data, offset);
  } finally {
    c.close();
  }
}

/**
 * base ← leaf in /e, data in both (partial blocks, across a block edge, whole blocks). Kept small:
 * every crash point copies every file a few times, and a VHDX file holds 4 MiB of structures.
 */
function buildChain(ext: 'vhdx' | 'vhd'): MemoryDiskStore {
  const store = new MemoryDiskStore();
  const x = ext === 'vhdx';
  const files = [`/e/base.${ext}`, `/e/leaf.a${ext}`];
  createDiskFile(store.create(files[0]!), x ? 'VHDX' : 'VHD', { virtualSize: SIZE, blockSize: x ? MiB : 512 * KiB }).close();
  chainWrite(store, files[0]!, fill(MiB + 1536, 1), 0);
  chainWrite(store, files[0]!, fill(7000, 2), 3 * MiB + 100);
  for (let i = 1; i < files.length; i++) {
    createChild(store, files[i - 1]!, files[i]!, x ? MiB : undefined);
    chainWrite(store, files[i]!, fill(5000, 10 + i), 600 * i);
    chainWrite(store, files[i]!, fill(9000, 20 + i), MiB - 4096 * i); // across a block edge
    chainWrite(store, files[i]!, fill(MiB, 30 + i), 2 * MiB); // a whole block the base does not have
  }
  return store;
}

function sweepEngine(sc: EngineScenario): () => SweepResult {
  let memo: SweepResult | undefined;
  return () => {
    if (memo) return memo;
    const built = snap(sc.build());
    const before = sc.points(SnapStore.of(built));
    const straight = storeOf(built);
    sc.run(straight);
    const after = sc.points(SnapStore.of(snap(straight)));
    expect(samePoints(before, after), `${sc.name}: the operation changes something`).toBe(false);
    expect(checkErrors(straight, sc.dirs), `${sc.name}: straight run passes the check`).toBeUndefined();
    const counter = faultBudget();
    sc.run(storeOf(built, counter));
    const total = counter.ops;
    const result: SweepResult = { total, points: [], sawBefore: 0, sawAfter: 0, dirtyLogs: 0, distinct: 0 };
    for (let k = 0; k < total; k++) {
      const seen: Array<{ files: Files; cp: CrashPoint }> = [];
      for (const mode of MODES) {
        const cp: CrashPoint = { k, mode };
        result.points.push(cp);
        figures.runs++;
        const s = storeOf(built, faultBudget(k, mode));
        try {
          sc.run(s);
          cp.unexpected = 'the operation finished although the power was cut';
        } catch (e) {
          if (!isFault(e)) cp.unexpected = describeError(e);
        }
        const survived = snap(s);
        // Another mode at this k left exactly these bytes: same files, same verdict.
        const twin = seen.find((x) => sameFiles(x.files, survived));
        if (twin) {
          Object.assign(cp, { ...twin.cp, k, mode, unexpected: cp.unexpected });
          continue;
        }
        seen.push({ files: survived, cp });
        result.distinct++;
        // 1. Read-only reopen (a dirty log replayed in memory).
        const view = SnapStore.of(survived);
        const got = sc.points(view);
        figures.pointsInTimeChecked += got.size;
        cp.points = comparePoints(got, before, after);
        if (samePoints(got, before)) result.sawBefore++;
        if (samePoints(got, after)) result.sawAfter++;
        // 2. The check, on the files as they survived.
        cp.check = checkErrors(view, sc.dirs);
        // 1b. Writable reopen (a dirty log replayed in place) reads the same.
        const rw = storeOf(survived);
        const dirty = dirtyLogs(survived, sc.dirs);
        const replayErr = replayInPlace(rw, sc.dirs);
        if (dirty > 0) {
          result.dirtyLogs += 1;
          const again = sc.points(SnapStore.of(snap(rw)));
          if (!samePoints(again, got)) cp.replay = `after replay in place: ${comparePoints(again, got, got)}`;
        }
        if (replayErr && !cp.check) cp.replay = `a writable open fails where the check found no error: ${replayErr}`;
        // 3. Rerun on the reopened files (when nothing is left to do and no log was replayed in
        // place, the files are those read above).
        let rerunErr: string | undefined;
        let final = got;
        let finalCheck = cp.check;
        let finalView: DiskStore = view;
        if (!sc.done(rw) || dirty > 0) {
          if (!sc.done(rw)) {
            figures.runs++;
            try {
              sc.run(rw);
            } catch (e) {
              rerunErr = describeError(e);
            }
          }
          finalView = SnapStore.of(snap(rw));
          final = sc.points(finalView);
          finalCheck = checkErrors(finalView, sc.dirs);
        }
        const journals = sc.dirs.flatMap((d) => pendingJournals(finalView, d).map((j) => j.path));
        if (!samePoints(final, after) || finalCheck || journals.length)
          cp.rerun = [rerunErr && `rerun failed: ${rerunErr}`, !samePoints(final, after) && comparePoints(final, after, after), finalCheck, journals.length && `journals left: ${journals.join(', ')}`]
            .filter(Boolean)
            .join('; ');
      }
    }
    memo = result;
    return result;
  };
}

const engineScenarios: EngineScenario[] = [];

for (const ext of ['vhdx', 'vhd'] as const) {
  const W_OFF = MiB + 2048 + 512; // partial block, whole block, into a new block
  const W = fill(2 * MiB + 1536, 77);
  engineScenarios.push({
    name: `write through a chain (${ext.toUpperCase()} base ← leaf)`,
    dirs: ['/e'],
    build: () => buildChain(ext),
    run: (s) => chainWrite(s, `/e/leaf.a${ext}`, W, W_OFF),
    points: (s) => new Map([`/e/base.${ext}`, `/e/leaf.a${ext}`].map((p) => [p, viewOf(s, p)])),
    done: () => false, // a write is simply repeated
  });
}

for (const ext of ['vhdx', 'vhd'] as const) {
  const parent = `/e/leaf.a${ext}`;
  const child = `/e/new.a${ext}`;
  engineScenarios.push({
    name: `create child of a differencing disk (${ext.toUpperCase()})`,
    dirs: ['/e'],
    build: () => buildChain(ext),
    run: (s) => createChild(s, parent, child, ext === 'vhdx' ? MiB : undefined),
    points: (s) => new Map([`/e/base.${ext}`, parent, child].map((p) => [p, viewOf(s, p)])),
    // Done when the child exists and opens on its parent (a complete child of it).
    done: (s) => s.exists(child) && readable(viewOf(s, child)),
  });
}

for (const ext of ['vhdx', 'vhd'] as const) {
  const base = `/e/base.${ext}`;
  const leaf = `/e/leaf.a${ext}`;
  engineScenarios.push({
    name: `merge-down of a leaf into its parent, the base (${ext.toUpperCase()})`,
    dirs: ['/e'],
    build: () => buildChain(ext),
    run: (s) => void mergeDown(s, leaf),
    // The leaf's point in time lives in the leaf until it is removed, then in its parent (whose
    // own old content is given up when the merge starts, as with Merge-VHD).
    points: (s) => new Map([['leaf point in time', viewOf(s, s.exists(leaf) ? leaf : base)], ['files', fileList(s, '/e')]]),
    done: (s) => !s.exists(leaf) && pendingJournals(s, '/e').length === 0,
  });
}

for (const [format, ext] of [['VHDX', 'vhdx'], ['VHD', 'vhd'], ['RAW', 'raw']] as Array<[FlattenFormat, string]>) {
  const dest = `/out/flat.${ext}`;
  engineScenarios.push({
    name: `flatten a VHDX chain to ${format}`,
    dirs: ['/e', '/out'],
    build: () => buildChain('vhdx'),
    run: (s) => {
      const c = Chain.open('/e/leaf.avhdx', { store: s });
      try {
        flatten(s, c, dest, format);
      } finally {
        c.close();
      }
    },
    points: (s) => {
      const m: Points = new Map(['/e/base.vhdx', '/e/leaf.avhdx'].map((p) => [p, viewOf(s, p)]));
      if (format !== 'RAW') m.set(dest, viewOf(s, dest));
      else if (!s.exists(dest)) m.set(dest, ABSENT);
      else {
        const f = s.open(dest, 'r');
        const b = new Uint8Array(SIZE);
        const n = f.read(b, 0);
        f.close();
        m.set(dest, n === SIZE && f.size() === SIZE ? b : `raw image of ${f.size()} bytes`);
      }
      return m;
    },
    done: (s) => s.exists(dest) && readable(viewOf(s, dest)),
  });
}

describe.each(engineScenarios)('$name: a crash at every operation', (sc) => {
  const sweep = sweepEngine(sc);
  it('the operation runs straight, and a power cut at any point surfaces only as FAULT_INJECTED', () => {
    const r = sweep();
    expect(r.total).toBeGreaterThan(3);
    report(sc.name, r);
    expectNone(r, 'unexpected', 'the interrupted operation threw something other than FAULT_INJECTED');
  });
  it('after reopening, every point in time reads its content before or after the operation', () => {
    const r = sweep();
    expectNone(r, 'points', 'a point in time reads neither its old nor its new content');
    expect(r.sawBefore + r.sawAfter).toBeGreaterThan(0);
  });
  it('replaying the log in place reads the same as replaying it in memory', () => {
    expectNone(sweep(), 'replay', 'a writable reopen reads differently from a read-only one');
  });
  it('the files pass the check (test-vhd) at every crash point', () => {
    expectNone(sweep(), 'check', 'the surviving files have check errors');
  });
  it('rerunning the operation completes it', () => {
    expectNone(sweep(), 'rerun', 'rerunning did not reach the state of a straight run');
  });
});

// ---------------------------------------------------------------------------------------------
// Simulator scenarios (a host in memory: records in a state string, disks in a MemoryDiskStore)

interface SimWorld extends Files {
  json: string;
}

interface SimScenario {
  name: string;
  vms: string[];
  build(): Promise<SimWorld>;
  run(h: Simulator): Promise<unknown>;
  /** Whether the operation's result is there (else the rerun retries it). */
  done(h: Simulator): Promise<boolean>;
  /** Group checkpoints: the group must be all there or not at all after a crash. */
  group?: string;
}

const diskDir = (vm: string): string => `${VMROOT}/${vm}/Virtual Hard Disks`;

/**
 * Every point in time of the VMs: each drive's Now, each checkpoint (by name, numbered if
 * repeated), read the way guestRead reads them (Chain.open of the recorded file) but over one
 * zero-copy snapshot of the store; plus the errors the engine's check finds in the VMs' folders.
 */
async function simPoints(h: Simulator, store: MemoryDiskStore, vms: string[]): Promise<{ points: Points; check: string | undefined }> {
  await h.waitVM(vms); // background merges finish first, as any command would
  const view = SnapStore.of(snap(store));
  const state = h.snapshotState();
  const m: Points = new Map();
  for (const vm of vms) {
    const rec = state.vms.find((v) => v.name === vm)!;
    rec.drives.forEach((d, i) => m.set(`${vm}/Now/disk${i}`, viewOf(view, d.path)));
    const seen = new Map<string, number>();
    for (const s of rec.snapshots) {
      const n = (seen.get(s.name) ?? 0) + 1;
      seen.set(s.name, n);
      s.drives.forEach((p, i) => m.set(`${vm}/${s.name}#${n}/disk${i}`, viewOf(view, p)));
    }
  }
  return { points: m, check: checkErrors(view, vms.map(diskDir)) };
}

function tag(t: string, len = 64 * KiB): Uint8Array {
  const b = fill(len, t.length * 31 + t.charCodeAt(0));
  b.set(new TextEncoder().encode(t));
  return b;
}

async function newHost(store: MemoryDiskStore): Promise<{ h: Simulator; storage: MemoryStorage }> {
  const { h, storage } = memoryHost({ store, vmRoot: VMROOT, startTime: START, defaultDiskSize: SIM_SIZE, diskBlockSize: MiB });
  return { h, storage };
}

/** A running VM (one or two disks) with data, then checkpoints with more data after each. */
async function buildSimVM(vm: string, checkpoints: string[], disks: 1 | 2): Promise<SimWorld> {
  const store = new MemoryDiskStore();
  const { h, storage } = await newHost(store);
  await h.newVM({ name: vm, checkpointType: 'Standard' });
  if (disks === 2) await h.addVMHardDiskDrive(vm, { size: SIM_SIZE });
  await h.startVM([vm]);
  await h.writeGuest(vm, tag(`${vm} base`, MiB + 8192), 0);
  if (disks === 2) await h.writeGuest(vm, tag(`${vm} d1 base`), 0, 1);
  for (const [i, c] of checkpoints.entries()) {
    await h.checkpointVM([vm], { snapshotName: c });
    await h.writeGuest(vm, tag(`${vm} after ${c}`, 300 * KiB), MiB - 4096 * (i + 1)); // across the block edge
    if (disks === 2) await h.writeGuest(vm, tag(`${vm} d1 after ${c}`), (i + 1) * 512 * KiB, 1);
  }
  h.close();
  return { ...snap(store), json: storage.savedJson! };
}

function sweepSim(sc: SimScenario): () => Promise<SweepResult> {
  let memo: Promise<SweepResult> | undefined;
  return () => (memo ??= (async () => {
    const world = await sc.build();
    const open = (store: MemoryDiskStore, json: string | undefined, storage?: MemoryStorage): Simulator =>
      Simulator.open({ storage: storage ?? new MemoryStorage(store, VMROOT, json), timeZone: 'UTC' });
    const beforeStore = storeOf(world);
    const before = (await simPoints(open(beforeStore, world.json), beforeStore, sc.vms)).points;
    const straightStore = storeOf(world);
    const straight = open(straightStore, world.json);
    await sc.run(straight);
    const afterRead = await simPoints(straight, straightStore, sc.vms);
    const after = afterRead.points;
    expect(samePoints(before, after), `${sc.name}: the operation changes something`).toBe(false);
    expect(afterRead.check).toBeUndefined();

    /** Run with the power cut after `crashAfter` store operations; what a restarted host sees. */
    const crashRun = async (budget: FaultBudget): Promise<{ files: Files; json: string | undefined; error?: unknown }> => {
      const store = storeOf(world, budget);
      // A dead process saves nothing more.
      class CrashStorage extends MemoryStorage {
        override save(state: HostState): void {
          if (!budget.crashed) super.save(state);
        }
      }
      const storage = new CrashStorage(store, VMROOT, world.json);
      let error: unknown;
      try {
        await sc.run(open(store, undefined, storage));
      } catch (e) {
        error = e;
      }
      return { files: snap(store), json: storage.savedJson, error };
    };
    const counter = faultBudget();
    await crashRun(counter);
    const total = counter.ops;
    const result: SweepResult = { total, points: [], sawBefore: 0, sawAfter: 0, dirtyLogs: 0, distinct: 0 };
    for (let k = 0; k < total; k++) {
      const seen: Array<{ files: Files; json: string | undefined; cp: CrashPoint }> = [];
      for (const mode of SIM_MODES) {
        const cp: CrashPoint = { k, mode };
        result.points.push(cp);
        figures.runs++;
        const budget = faultBudget(k, mode);
        const run = await crashRun(budget);
        if (run.error === undefined) cp.unexpected = 'the operation finished although the power was cut';
        else if (!isFault(run.error) && !(run.error instanceof HvsimError && run.error.message.includes('simulated crash'))) cp.unexpected = describeError(run.error);
        const twin = seen.find((x) => x.json === run.json && sameFiles(x.files, run.files));
        if (twin) {
          Object.assign(cp, { ...twin.cp, k, mode, unexpected: cp.unexpected });
          continue;
        }
        seen.push({ files: run.files, json: run.json, cp });
        result.distinct++;
        if (dirtyLogs(run.files, sc.vms.map(diskDir)) > 0) result.dirtyLogs++;
        // Restart the host: it resumes interrupted merges and reconciles its records with the files.
        const store = storeOf(run.files);
        let h: Simulator;
        try {
          h = open(store, run.json);
        } catch (e) {
          cp.points = `the host does not reopen: ${describeError(e)}`;
          continue;
        }
        let got: Points;
        try {
          const read = await simPoints(h, store, sc.vms);
          got = read.points;
          cp.check = read.check;
        } catch (e) {
          cp.points = `reading the points in time failed: ${describeError(e)}`;
          continue;
        }
        figures.pointsInTimeChecked += got.size;
        cp.points = comparePoints(got, before, after);
        if (samePoints(got, before)) result.sawBefore++;
        if (samePoints(got, after)) result.sawAfter++;
        if (sc.group) {
          const groups = (await getGroups(h, sc.vms)).filter((g) => g.SnapshotName === sc.group);
          const partial = groups.filter((g) => g.Missing.length > 0);
          if (partial.length) cp.atomic = partial.map((g) => `group ${g.GroupId} has ${g.VMNames.length - g.Missing.length} of ${g.VMNames.length} checkpoints (missing ${g.Missing.join(', ')})`).join('; ');
        }
        // Retry what did not happen (when it all happened, what was read above is the final state).
        let rerunErr: string | undefined;
        let final: Points | undefined = got;
        let finalCheck = cp.check;
        try {
          if (!(await sc.done(h))) {
            figures.runs++;
            await sc.run(h);
            const read = await simPoints(h, store, sc.vms);
            final = read.points;
            finalCheck = read.check;
          }
        } catch (e) {
          rerunErr = describeError(e);
        }
        const finalOk = final !== undefined && [...after.keys()].every((key) => same(final!.get(key) ?? ABSENT, after.get(key)!));
        if (!finalOk || finalCheck || rerunErr)
          cp.rerun = [rerunErr && `rerun failed: ${rerunErr}`, final && !finalOk && comparePoints(final, after, after), finalCheck].filter(Boolean).join('; ');
        h.close();
      }
    }
    return result;
  })());
}

const simScenarios: SimScenario[] = [
  {
    name: 'checkpoint a running VM with two disks',
    vms: ['v'],
    build: () => buildSimVM('v', ['c1'], 2),
    run: (h) => h.checkpointVM(['v'], { snapshotName: 'c2' }),
    done: async (h) => (await h.getVMSnapshot({ vmNames: ['v'] })).some((s) => s.Name === 'c2'),
  },
  {
    // c2's disk has one child (the running disk): it is merged into that child (removeLayer).
    name: 'remove the newer of two checkpoints (its disk merged into its child)',
    vms: ['v'],
    build: () => buildSimVM('v', ['c1', 'c2'], 1),
    run: (h) => h.removeVMSnapshot({ vmNames: ['v'], name: 'c2' }),
    done: async (h) => !(await h.getVMSnapshot({ vmNames: ['v'] })).some((s) => s.Name === 'c2'),
  },
  {
    // The base disk is no longer owned: the running disk is merged down into it (mergeDown).
    name: 'remove the only checkpoint (the running disk merged down into the base)',
    vms: ['v'],
    build: () => buildSimVM('v', ['c1'], 1),
    run: (h) => h.removeVMSnapshot({ vmNames: ['v'], name: 'c1' }),
    done: async (h) => !(await h.getVMSnapshot({ vmNames: ['v'] })).some((s) => s.Name === 'c1'),
  },
  {
    name: 'group checkpoint of two VMs',
    vms: ['a', 'b'],
    group: 'farm',
    build: () => buildGroupHost(),
    run: (h) => checkpointGroup(h, ['a', 'b'], { snapshotName: 'farm' }),
    done: async (h) => (await getGroups(h, ['a', 'b'])).some((g) => g.SnapshotName === 'farm' && g.Missing.length === 0),
  },
];

/** Two VMs in one host: "a" running with a checkpoint and data after it, "b" saved. */
async function buildGroupHost(): Promise<SimWorld> {
  const store = new MemoryDiskStore();
  const { h, storage } = await newHost(store);
  for (const vm of ['a', 'b']) {
    await h.newVM({ name: vm, checkpointType: 'Standard' });
    await h.startVM([vm]);
    await h.writeGuest(vm, tag(`${vm} base`), 0);
  }
  await h.checkpointVM(['a'], { snapshotName: 'a1' });
  await h.writeGuest('a', tag('a after a1', 200 * KiB), MiB - 4096);
  await h.saveVM(['b']);
  h.close();
  return { ...snap(store), json: storage.savedJson! };
}

describe.each(simScenarios)('simulator: $name — a crash at every operation', (sc) => {
  const sweep = sweepSim(sc);
  it('a power cut at any point surfaces only as FAULT_INJECTED', async () => {
    const r = await sweep();
    expect(r.total).toBeGreaterThan(3);
    report(`simulator: ${sc.name}`, r, SIM_MODES);
    expectNone(r, 'unexpected', 'the interrupted operation threw something other than FAULT_INJECTED');
  });
  it('after restarting the host, every point in time reads its content before or after the operation', async () => {
    const r = await sweep();
    expectNone(r, 'points', 'a point in time reads neither its old nor its new content');
  });
  it('the files pass the check (test-vhd) at every crash point, after the restart', async () => {
    expectNone(await sweep(), 'check', 'the files have check errors after the restart');
  });
  it('retrying the operation after the restart completes it', async () => {
    expectNone(await sweep(), 'rerun', 'retrying did not reach the state of a straight run');
  });
  // Only group scenarios have this property (declared, not skipped, elsewhere).
  if (sc.group !== undefined)
    it('the group is all or nothing after the restart', async () => {
      expectNone(await sweep(), 'atomic', 'a partial group checkpoint survived the restart');
    });
});
