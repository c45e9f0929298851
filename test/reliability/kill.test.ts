/**
 * A real hvsim process killed with SIGKILL at random moments (issue 8): a large write-vhd, a
 * merge-vhd, and a remove-vmsnapshot on the CLI's state directory (HVSIM_ROOT). The kill moments
 * are seeded (the same delays every run; where they land in the operation depends on the
 * machine) and counted from the moment the operation starts (its lock file or its merge journal
 * appears). After each kill, what a restarted user sees:
 *   - the files open, and test-vhd passes (the CLI, a fresh process; the state directory is
 *     reopened by the CLI, which resumes interrupted merges);
 *   - the point in time being changed reads, sector by sector, its old or its new content, and
 *     every other point in time reads exactly as before (read in-process from the files);
 *   - running the same command again (the CLI) completes the operation; the folder then passes
 *     the engine's tree check (test-tree, in-process).
 * A summary line per scenario goes to stdout ("[reliability-kill] …").
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../helpers/state-dir.js';
import { okStdout, runCli, SIM_ENV, spawnCli, type CliOptions, type CliResult } from '../helpers/cli.js';
import { checkChainFile } from '../../src/engine/check.js';
import { NodeDiskStore } from '../../src/engine/store.js';
import { checkTree } from '../../src/engine/tree.js';
import { readChain, workerClock } from '../helpers/data.js';

/** CPU and wall time of this test file's worker, for the summary line. */
const cpuLine = workerClock();

const KiB = 1024;
const MiB = 1024 * KiB;
const SECTOR = 512;
const TRIALS = 6;
const SEED = 0x6b111;

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-kill-'));
});

const summary: string[] = [];
afterAll(() => {
  for (const s of summary) console.log(s);
  console.log(`[reliability-kill] ${cpuLine()} (the hvsim processes not counted)`);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** mulberry32: a small seeded PRNG, so the kill delays are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes whose every sector differs from every other sector of every other pattern. */
function pattern(len: number, tag: number): Buffer {
  const b = Buffer.alloc(len);
  for (let s = 0; s < len; s += SECTOR) {
    b.writeUInt32LE(tag, s);
    b.writeUInt32LE(s / SECTOR, s + 4);
    b.fill((tag * 31 + s / SECTOR) & 0xff, s + 8, s + SECTOR);
  }
  return b;
}

/** The simulator's environment (a 2024 start), in `work`. */
function opts(extra: Record<string, string>): CliOptions {
  return { cwd: work, env: { ...SIM_ENV, HVSIM_START_TIME: '2024-03-01T10:00:00Z', ...extra } };
}

function hv(args: string[], extra: Record<string, string> = {}): CliResult {
  return runCli(args, { ...opts(extra), timeout: 60_000 });
}

function ok(args: string[], extra: Record<string, string> = {}): string {
  return okStdout(args, hv(args, extra));
}

interface KillRun {
  /** The process was still running when it was killed. */
  killed: boolean;
  /** ms from the operation's start (the trigger) to the kill (or to its exit). */
  at: number;
  code: number | null;
  stderr: string;
}

/**
 * Start hvsim, wait until `started()` (the operation has begun: its lock file or journal exists),
 * then SIGKILL it `delay` ms later — unless it exits first.
 */
function runAndKill(args: string[], started: () => boolean, delay: number, extra: Record<string, string> = {}): Promise<KillRun> {
  return new Promise((resolve) => {
    const p = spawnCli(args, { ...opts(extra), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    let exited = false;
    let t0 = 0;
    let killed = false;
    let killTimer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (exited || t0) return;
      if (started()) {
        t0 = performance.now();
        clearInterval(poll);
        killTimer = setTimeout(() => {
          if (!exited) {
            killed = p.kill('SIGKILL');
          }
        }, delay);
      }
    }, 1);
    p.on('exit', (code) => {
      exited = true;
      clearInterval(poll);
      if (killTimer) clearTimeout(killTimer);
      const at = t0 ? performance.now() - t0 : 0;
      // stderr may still be flushing; give it a moment.
      setTimeout(() => resolve({ killed, at, code, stderr }), 5);
    });
  });
}

/** How long the operation runs once started (trigger to exit), from a run that is not killed. */
async function window(args: string[], started: () => boolean, extra: Record<string, string> = {}): Promise<number> {
  const r = await runAndKill(args, started, 60_000, extra);
  if (r.code !== 0) throw new Error(`dry run of hvsim ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.at;
}

/** Every sector of `got` equals the same sector of `oldB` or of `newB`: the count of each, or the first bad sector. */
function sectorsOldOrNew(got: Buffer, oldB: Buffer, newB: Buffer): { old: number; new: number; bad: number; firstBad?: number } {
  const out = { old: 0, new: 0, bad: 0 } as { old: number; new: number; bad: number; firstBad?: number };
  for (let s = 0; s < got.length; s += SECTOR) {
    const g = got.subarray(s, s + SECTOR);
    const same = g.equals(newB.subarray(s, s + SECTOR));
    if (g.equals(oldB.subarray(s, s + SECTOR))) {
      if (same) continue; // unchanged by the operation
      out.old++;
    } else if (same) out.new++;
    else {
      out.bad++;
      out.firstBad ??= s / SECTOR;
    }
  }
  return out;
}

/** test-vhd through the CLI: exit 0 and "True". */
function expectTestVhd(p: string, what: string): void {
  const r = hv(['test-vhd', p]);
  expect(r.code, `${what}: test-vhd ${p}: ${r.stdout}${r.stderr}`).toBe(0);
  expect(r.stdout.trim().split('\n').pop()).toBe('True');
}

function restore(pristine: string, dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(pristine, dir, { recursive: true });
}

function report(name: string, runs: KillRun[], extra: string): void {
  const killed = runs.filter((r) => r.killed);
  summary.push(
    `[reliability-kill] ${name}: ${runs.length} SIGKILLs (seed ${SEED}), ${killed.length} while running ` +
      `(at ${killed.map((r) => Math.round(r.at)).join(', ')} ms after the start), ${runs.length - killed.length} after it finished; ${extra}; nothing lost`,
  );
}

// ---------------------------------------------------------------------------------------------

describe('SIGKILL during a large write-vhd', () => {
  it(`${TRIALS} kills: the chain opens, test-vhd passes, each sector reads old or new, the parent is intact, a rerun completes`, async () => {
    const SIZE = 32 * MiB;
    const OFF = 3 * MiB + 4096 + 512; // unaligned to blocks: partial blocks at both ends
    const LEN = 24 * MiB;
    const pristine = path.join(work, 'write-pristine');
    fs.mkdirSync(pristine);
    const base = path.join(pristine, 'base.vhdx');
    ok(['new-vhd', base, '--size', '32M', '--block-size', '1M']);
    const baseData = path.join(work, 'base.bin');
    fs.writeFileSync(baseData, pattern(SIZE, 1));
    ok(['write-vhd', base, '--offset', '0', '--input', baseData]);
    ok(['new-vhd', path.join(pristine, 'leaf.avhdx'), '--parent', base, '--block-size', '1M']);
    const leafData = path.join(work, 'leaf.bin');
    fs.writeFileSync(leafData, pattern(8 * MiB, 2));
    ok(['write-vhd', path.join(pristine, 'leaf.avhdx'), '--offset', String(6 * MiB + 1024), '--input', leafData]);
    const input = path.join(work, 'new.bin');
    const newData = pattern(LEN, 3);
    fs.writeFileSync(input, newData);

    const dir = path.join(work, 'write');
    const leaf = path.join(dir, 'leaf.avhdx');
    const lock = path.join(dir, '.leaf.avhdx.hvsim-lock');
    const args = ['write-vhd', leaf, '--offset', String(OFF), '--input', input];
    restore(pristine, dir);
    const oldView = readChain(leaf);
    const baseView = readChain(path.join(dir, 'base.vhdx'));
    const newView = Buffer.from(oldView);
    newData.copy(newView, OFF);
    const win = await window(args, () => fs.existsSync(lock));
    const random = rng(SEED);
    const runs: KillRun[] = [];
    let oldSectors = 0;
    let newSectors = 0;
    for (let t = 0; t < TRIALS; t++) {
      restore(pristine, dir);
      const delay = Math.floor(random() * win * 0.9);
      const r = await runAndKill(args, () => fs.existsSync(lock), delay);
      runs.push(r);
      const what = `trial ${t} (kill ${delay} ms after the start${r.killed ? '' : ', it had finished'})`;
      // Reopen: the files open and test-vhd passes (a dirty log is replayed in memory, read-only).
      expectTestVhd(leaf, what);
      const got = readChain(leaf);
      const c = sectorsOldOrNew(got, oldView, newView);
      expect(c.bad, `${what}: ${c.bad} sectors read neither old nor new (first: sector ${c.firstBad})`).toBe(0);
      oldSectors += c.old;
      newSectors += c.new;
      expect(readChain(path.join(dir, 'base.vhdx')).equals(baseView), `${what}: the parent changed`).toBe(true);
      // Rerun: completes and reads the new content; the stale writer's lock is taken over.
      ok(args);
      expect(readChain(leaf).equals(newView), `${what}: the rerun did not complete the write`).toBe(true);
      expect(checkChainFile(leaf).Valid, `${what}: test-vhd after the rerun`).toBe(true);
    }
    expect(runs.filter((r) => r.killed).length, 'most kills land while hvsim runs').toBeGreaterThanOrEqual(TRIALS / 2);
    report('write-vhd of 24 MiB into a 32 MiB differencing VHDX', runs, `${oldSectors} sectors still old and ${newSectors} already new across the kills, 0 torn`);
  }, 120_000);
});

describe('SIGKILL during merge-vhd', () => {
  it(`${TRIALS} kills: the leaf's point in time reads exactly as before (leaf or destination), the base is intact, test-vhd passes, a rerun completes`, async () => {
    const pristine = path.join(work, 'merge-pristine');
    fs.mkdirSync(pristine);
    const p = (d: string, n: string): string => path.join(d, n);
    ok(['new-vhd', p(pristine, 'base.vhdx'), '--size', '32M', '--block-size', '1M']);
    const f1 = path.join(work, 'm1.bin');
    fs.writeFileSync(f1, pattern(12 * MiB, 11));
    ok(['write-vhd', p(pristine, 'base.vhdx'), '--offset', '0', '--input', f1]);
    ok(['new-vhd', p(pristine, 'mid.avhdx'), '--parent', p(pristine, 'base.vhdx'), '--block-size', '1M']);
    const f2 = path.join(work, 'm2.bin');
    fs.writeFileSync(f2, pattern(8 * MiB, 12));
    ok(['write-vhd', p(pristine, 'mid.avhdx'), '--offset', String(6 * MiB + 512), '--input', f2]);
    ok(['new-vhd', p(pristine, 'leaf.avhdx'), '--parent', p(pristine, 'mid.avhdx'), '--block-size', '1M']);
    const f3 = path.join(work, 'm3.bin');
    fs.writeFileSync(f3, pattern(20 * MiB, 13));
    ok(['write-vhd', p(pristine, 'leaf.avhdx'), '--offset', String(10 * MiB + 4096), '--input', f3]);

    const dir = path.join(work, 'merge');
    const leaf = p(dir, 'leaf.avhdx');
    const mid = p(dir, 'mid.avhdx');
    const base = p(dir, 'base.vhdx');
    const journal = `${mid}.hvsim-merge.json`;
    const lock = p(dir, '.mid.avhdx.hvsim-lock');
    const started = (): boolean => fs.existsSync(journal) || fs.existsSync(lock);
    const args = ['merge-vhd', '--path', leaf];
    restore(pristine, dir);
    const leafView = readChain(leaf);
    const baseView = readChain(base);
    const win = await window(args, started);
    const random = rng(SEED + 1);
    const runs: KillRun[] = [];
    const phases = new Map<string, number>();
    for (let t = 0; t < TRIALS; t++) {
      restore(pristine, dir);
      const delay = Math.floor(random() * win * 0.9);
      const r = await runAndKill(args, started, delay);
      runs.push(r);
      const what = `trial ${t} (kill ${delay} ms after the start${r.killed ? '' : ', it had finished'})`;
      const phase = fs.existsSync(journal) ? (fs.existsSync(leaf) ? 'journal, leaf present' : 'journal, leaf removed') : fs.existsSync(leaf) ? 'not started' : 'done';
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      // Reopen without resuming: the leaf's point in time reads exactly as it did.
      const holder = fs.existsSync(leaf) ? leaf : mid;
      expectTestVhd(holder, what);
      expect(readChain(holder).equals(leafView), `${what}: ${holder} does not read the leaf's content`).toBe(true);
      expect(readChain(base).equals(baseView), `${what}: the base changed`).toBe(true);
      const tree = checkTree(new NodeDiskStore(), dir);
      expect(tree.Findings.filter((f) => f.severity === 'error'), `${what}: test-tree`).toEqual([]);
      // Rerun the same command: it resumes the interrupted merge (or there is nothing left to do).
      const again = hv(args);
      if (again.code !== 0) {
        expect(again.code, `${what}: rerun: ${again.stderr}`).toBe(3); // NOT_FOUND: the merge had completed
        expect(phase).toBe('done');
      }
      expect(fs.existsSync(leaf), `${what}: the leaf is still there after the rerun`).toBe(false);
      expect(fs.existsSync(journal), `${what}: the journal is still there after the rerun`).toBe(false);
      expect(readChain(mid).equals(leafView), `${what}: the merged disk does not read the leaf's content`).toBe(true);
      expect(checkChainFile(mid).Valid, `${what}: test-vhd after the rerun`).toBe(true);
      // The merged disk is a writable leaf again.
      expect(fs.statSync(mid).mode & 0o200, `${what}: ${mid} is still marked read-only`).not.toBe(0);
    }
    expect(runs.filter((r) => r.killed).length, 'most kills land while hvsim runs').toBeGreaterThanOrEqual(TRIALS / 2);
    report('merge-vhd of a 20 MiB leaf into its parent (32 MiB VHDX chain of 3)', runs, `states found: ${[...phases].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }, 120_000);
});

describe('SIGKILL during remove-vmsnapshot on the state directory', () => {
  it(`${TRIALS} kills: the host reopens, every remaining point in time reads its content, test-tree passes, a rerun completes`, async () => {
    // The state records absolute paths: build it where it is used, and keep a copy to restore from.
    const root = path.join(work, 'state');
    const pristine = path.join(work, 'state-pristine');
    const E = { HVSIM_ROOT: root };
    ok(['new-vm', '--name', 'v', '--disk-size', '32M', '--checkpoint-type', 'Standard'], E);
    ok(['start-vm', '--name', 'v'], E);
    const writes: Array<[number, Buffer]> = [
      [0, pattern(12 * MiB, 21)],
      [8 * MiB + 512, pattern(12 * MiB, 22)],
      [4 * MiB + 4096, pattern(12 * MiB, 23)],
    ];
    const SIZE = 32 * MiB;
    const views: Buffer[] = [];
    let cur = Buffer.alloc(SIZE);
    for (const [i, [off, data]] of writes.entries()) {
      const f = path.join(work, `s${i}.bin`);
      fs.writeFileSync(f, data);
      ok(['write-vm', '--name', 'v', '--offset', String(off), '--input', f], E);
      cur = Buffer.from(cur);
      data.copy(cur, off);
      views.push(cur);
      if (i < 2) ok(['checkpoint-vm', '--name', 'v', '--snapshot-name', `c${i + 1}`], E);
    }
    const expected: Record<string, Buffer> = { c1: views[0]!, c2: views[1]!, Now: views[2]! };
    fs.cpSync(root, pristine, { recursive: true });
    const disks = path.join(root, 'vms', 'v', 'Virtual Hard Disks');
    const S = { HVSIM_ROOT: root };
    const lock = path.join(root, 'lock');
    /**
     * Reopen the host through the CLI (get-vmsnapshot: it resumes an interrupted merge and
     * reconciles its records), then read every point in time in-process from the recorded files.
     */
    const reopen = (): { snaps: string[]; views: Map<string, Buffer>; leaf: string } => {
      const list = JSON.parse(ok(['get-vmsnapshot', '--vm-name', 'v', '--json'], S)) as Array<{ Name: string; HardDrives: Array<{ Path: string }> }>;
      const state = readState(root);
      const leaf = state.vms[0]!.drives[0]!.path;
      const views = new Map<string, Buffer>([['Now', readChain(leaf)]]);
      for (const x of list) views.set(x.Name, readChain(x.HardDrives[0]!.Path));
      return { snaps: list.map((x) => x.Name).sort(), views, leaf };
    };
    const checkFolder = (what: string): void => {
      const r = checkTree(new NodeDiskStore(), disks);
      expect(r.Findings.filter((f) => f.severity === 'error'), `${what}: test-tree`).toEqual([]);
    };
    const variants: Array<{ name: string; args: string[]; remaining: string[]; files: number }> = [
      { name: 'remove c2 (its disk merged into the running disk)', args: ['remove-vmsnapshot', '--vm-name', 'v', '--name', 'c2'], remaining: ['c1'], files: 2 },
      { name: 'remove every checkpoint (merged down into the base)', args: ['remove-vmsnapshot', '--vm-name', 'v'], remaining: [], files: 1 },
    ];
    const random = rng(SEED + 2);
    const runs: KillRun[] = [];
    const windows = new Map<string, number>();
    const seen = new Map<string, number>();
    // Half the kills count from the start of the invocation (its lock), half from the start of a
    // merge (its journal appears), where the files change.
    const triggers: Record<'invocation' | 'merge', () => boolean> = {
      invocation: () => fs.existsSync(lock),
      merge: () => fs.existsSync(disks) && fs.readdirSync(disks).some((n) => n.endsWith('.hvsim-merge.json')),
    };
    const plan: Array<[number, 'invocation' | 'merge']> = [[0, 'invocation'], [1, 'invocation'], [0, 'merge'], [1, 'merge'], [0, 'merge'], [1, 'merge']];
    for (let t = 0; t < TRIALS; t++) {
      const [vi, trig] = plan[t % plan.length]!;
      const v = variants[vi]!;
      const key = `${v.name}/${trig}`;
      if (!windows.has(key)) {
        restore(pristine, root);
        windows.set(key, await window(v.args, triggers[trig], S));
      }
      restore(pristine, root);
      const delay = Math.floor(random() * windows.get(key)! * 0.9);
      const r = await runAndKill(v.args, triggers[trig], delay, S);
      runs.push(r);
      const what = `trial ${t}, ${v.name} (kill ${delay} ms after the start of the ${trig}${r.killed ? '' : `, it had finished after ${Math.round(r.at)} ms: exit ${r.code} ${r.stderr.trim()}`})`;
      // Reopen the host (it resumes an interrupted merge and reconciles its records).
      const after = reopen();
      const snaps = after.snaps;
      seen.set(snaps.join(',') || '(none)', (seen.get(snaps.join(',') || '(none)') ?? 0) + 1);
      for (const s of snaps) expect(['c1', 'c2'], what).toContain(s);
      for (const s of v.remaining) expect(snaps, what).toContain(s);
      for (const [s, view] of after.views) expect(view.equals(expected[s]!), `${what}: ${s} does not read its content`).toBe(true);
      checkFolder(what);
      expectTestVhd(after.leaf, what);
      // Rerun: the checkpoint may already be gone from the records (removed before the merge ran).
      const again = hv(v.args, S);
      if (again.code !== 0) {
        expect(again.code, `${what}: rerun: ${again.stderr}`).toBe(3);
        expect(snaps).not.toContain('c2');
      }
      const final = reopen();
      expect(final.snaps, `${what}: after the rerun`).toEqual(v.remaining);
      for (const [s, view] of final.views) expect(view.equals(expected[s]!), `${what}: ${s} after the rerun`).toBe(true);
      expect(fs.readdirSync(disks).filter((n) => /\.a?vhdx$/.test(n)).length, `${what}: disk files after the rerun: ${fs.readdirSync(disks).join(', ')}`).toBe(v.files);
      expect(fs.readdirSync(disks).filter((n) => n.endsWith('.hvsim-merge.json')), what).toEqual([]);
      checkFolder(`${what}, after the rerun`);
    }
    expect(runs.filter((r) => r.killed).length, 'most kills land while hvsim runs').toBeGreaterThanOrEqual(TRIALS / 2);
    report('remove-vmsnapshot (merges of 12 MiB layers, 32 MiB disk) on a state directory', runs, `checkpoints after the restart: ${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }, 180_000);
});
