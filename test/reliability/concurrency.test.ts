/**
 * Two hvsim processes at once (issue 8): on the same disk file, the second must get BUSY (exit 4)
 * and leave the file intact — whatever the two commands are; on the same state directory, the
 * state is never corrupted and the second waits for the first, or reports a clear BUSY when told
 * not to wait. A summary line goes to stdout ("[reliability-concurrency] …").
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../helpers/state-dir.js';
import { collect, okStdout, runCli, SIM_ENV, spawnCli, type CliOptions, type CliResult } from '../helpers/cli.js';
import { checkChainFile } from '../../src/engine/check.js';
import { NodeDiskStore } from '../../src/engine/store.js';
import { checkTree } from '../../src/engine/tree.js';
import { readChain, workerClock } from '../helpers/data.js';

/** CPU and wall time of this test file's worker, for the summary line. */
const cpuLine = workerClock();

const MiB = 1024 * 1024;
let work: string;
const figures = { pairs: 0, processes: 0, busy: 0, waited: 0, stateReads: 0 };

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-concurrency-'));
});

afterAll(() => {
  console.log(
    `[reliability-concurrency] ${figures.pairs} same-file pairs, ${figures.processes} hvsim processes in all; ` +
      `${figures.busy} got BUSY (exit 4), ${figures.waited} waited for the state lock and completed; state.json read ${figures.stateReads} times while changing, always whole; ${cpuLine()} (the hvsim processes not counted)`,
  );
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The simulator's environment (a 2024 start), in `work`. */
function opts(extra: Record<string, string> = {}): CliOptions {
  return { cwd: work, env: { ...SIM_ENV, HVSIM_START_TIME: '2024-03-01T10:00:00Z', ...extra } };
}

/** A run, with when it started and ended (performance.now()). */
interface Result extends CliResult {
  start: number;
  end: number;
}

function hv(args: string[], extra: Record<string, string> = {}): Result {
  figures.processes++;
  const start = performance.now();
  const r = runCli(args, { ...opts(extra), timeout: 120_000 });
  if (r.code === 4) figures.busy++;
  return { ...r, start, end: performance.now() };
}

function ok(args: string[], extra: Record<string, string> = {}): string {
  return okStdout(args, hv(args, extra));
}

interface Running {
  done: Promise<Result>;
  pid: number;
  exited: () => boolean;
  kill: () => void;
}

function start(args: string[], extra: Record<string, string> = {}): Running {
  figures.processes++;
  const t0 = performance.now();
  const p = spawnCli(args, { ...opts(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const done = collect(p).then((r) => {
    exited = true;
    if (r.code === 4) figures.busy++;
    return { ...r, start: t0, end: performance.now() };
  });
  return { done, pid: p.pid!, exited: () => exited, kill: () => p.kill('SIGKILL') };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A one-line BUSY error naming the file or the state directory. */
function expectBusy(r: Result, names: string[], what: string): void {
  expect(r.code, `${what}: exit status (stderr: ${r.stderr.trim()})`).toBe(4);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines.length, `${what}: ${r.stderr}`).toBe(1);
  expect(names.some((n) => lines[0]!.includes(n)), `${what}: "${lines[0]}" names one of ${names.join(', ')}`).toBe(true);
  expect(lines[0]).toMatch(/in use by another hvsim (process|invocation) \(pid \d+\)/);
  expect(r.stdout).toBe('');
}

// ---------------------------------------------------------------------------------------------

describe('two hvsim processes on the same disk file', () => {
  const SIZE = '64M';
  const LEN = 32 * MiB;

  /** base ← leaf (1 MiB blocks), and 160 MiB of input: a write-vhd that takes a while. */
  function setup(): { dir: string; base: string; leaf: string; input: string; lock: string; data: Buffer } {
    const dir = fs.mkdtempSync(path.join(work, 'file-'));
    const base = path.join(dir, 'base.vhdx');
    const leaf = path.join(dir, 'leaf.avhdx');
    ok(['new-vhd', base, '--size', SIZE, '--block-size', '1M']);
    const b = path.join(dir, 'b.bin');
    fs.writeFileSync(b, Buffer.alloc(8 * MiB, 0x11));
    ok(['write-vhd', base, '--offset', '0', '--input', b]);
    ok(['new-vhd', leaf, '--parent', base, '--block-size', '1M']);
    const input = path.join(dir, 'in.bin');
    const data = Buffer.alloc(LEN);
    for (let i = 0; i < LEN; i += MiB) data.fill(((i / MiB) % 250) + 1, i, i + MiB);
    fs.writeFileSync(input, data);
    return { dir, base, leaf, input, lock: path.join(dir, '.leaf.avhdx.hvsim-lock'), data };
  }

  /**
   * write-vhd on the leaf, fed through a pipe: once it has written the first 8 MiB (and holds the
   * writer's lock), run `second` to its end; then feed the rest and wait for the writer. The
   * writer is provably in the middle of its work while the second command runs.
   */
  async function againstWriter(
    second: (s: ReturnType<typeof setup>) => string[],
    between?: (s: ReturnType<typeof setup>) => void,
  ): Promise<{ s: ReturnType<typeof setup>; w: Result; r2: Result; overlapped: boolean }> {
    figures.pairs++;
    figures.processes++;
    const s = setup();
    const t0 = performance.now();
    const p = spawnCli(['write-vhd', s.leaf, '--offset', '0'], opts());
    let exited = false;
    const done = collect(p).then((r) => ((exited = true), { ...r, start: t0, end: performance.now() }));
    const size0 = fs.statSync(s.leaf).size;
    p.stdin.write(s.data.subarray(0, 8 * MiB));
    await until(() => exited || (fs.existsSync(s.lock) && fs.statSync(s.leaf).size >= size0 + 4 * MiB));
    const overlapped = !exited;
    const r2 = hv(second(s));
    between?.(s);
    await new Promise<void>((resolve) => p.stdin.end(s.data.subarray(8 * MiB), () => resolve()));
    return { s, w: await done, r2, overlapped };
  }

  function expectWriterIntact(s: ReturnType<typeof setup>, w: Result, what: string): void {
    expect(w.code, `${what}: the writer: ${w.stderr}`).toBe(0);
    const holder = fs.existsSync(s.leaf) ? s.leaf : s.base;
    const got = readChain(holder);
    let lost = 0;
    for (let i = 0; i < LEN; i += MiB) if (!got.subarray(i, i + MiB).equals(s.data.subarray(i, i + MiB))) lost++;
    expect(lost, `${what}: ${lost} MiB of what write-vhd acknowledged are not in ${holder}`).toBe(0);
    expect(checkChainFile(holder).Valid, `${what}: test-vhd ${holder}`).toBe(true);
  }

  it('write-vhd while write-vhd writes the same leaf: BUSY (exit 4), the file holds exactly the first write', async () => {
    const { s, w, r2, overlapped } = await againstWriter((x) => ['write-vhd', x.leaf, '--offset', String(MiB), '--input', x.input]);
    expect(overlapped, 'the second started while the first held the file').toBe(true);
    expectBusy(r2, [s.leaf], 'second write-vhd');
    expectWriterIntact(s, w, 'write-vhd / write-vhd');
    expect(fs.existsSync(s.lock), 'the writer released its lock').toBe(false);
  }, 60_000);

  it('merge-vhd of a leaf while write-vhd writes it: BUSY (exit 4), no acknowledged write lost', async () => {
    const { s, w, r2, overlapped } = await againstWriter((x) => ['merge-vhd', '--path', x.leaf]);
    expect(overlapped).toBe(true);
    // Today merge-vhd opens the leaf read-only (no writer's lock), merges what is there and deletes
    // the leaf while write-vhd is still writing it; both report success.
    expectWriterIntact(s, w, `write-vhd / merge-vhd (merge-vhd exited ${r2.code})`);
    expectBusy(r2, [s.leaf], 'merge-vhd during write-vhd');
  }, 60_000);

  it('new-vhd --parent on a disk while write-vhd writes it: BUSY (exit 4); a child never sees its parent change', async () => {
    let childView: Buffer | undefined;
    const child = (x: ReturnType<typeof setup>): string => path.join(x.dir, 'child.avhdx');
    const { s, w, r2, overlapped } = await againstWriter(
      (x) => ['new-vhd', child(x), '--parent', x.leaf],
      (x) => {
        if (fs.existsSync(child(x))) childView = readChain(child(x)); // the point in time just taken
      },
    );
    expect(overlapped).toBe(true);
    expectWriterIntact(s, w, 'write-vhd / new-vhd --parent');
    if (childView) {
      const later = readChain(child(s));
      let moved = 0;
      for (let i = 0; i < later.length; i += MiB) if (!later.subarray(i, i + MiB).equals(childView.subarray(i, i + MiB))) moved++;
      // The checkpoint the child stands for must not move once new-vhd has returned.
      expect(moved, `${moved} MiB of the new child's point in time changed after new-vhd returned: its parent was still being written`).toBe(0);
    }
    expectBusy(r2, [s.leaf], 'new-vhd --parent during write-vhd');
  }, 60_000);

  it('two merge-vhd of the same leaf at once: one merges, the other gets BUSY or finds the work done; the result reads the leaf\'s content', async () => {
    figures.pairs++;
    const s = setup();
    ok(['write-vhd', s.leaf, '--offset', '0', '--input', s.input]);
    const want = readChain(s.leaf);
    const journal = `${s.base}.hvsim-merge.json`;
    const a = start(['merge-vhd', '--path', s.leaf]);
    await until(() => fs.existsSync(journal) || a.exited());
    const b = hv(['merge-vhd', '--path', s.leaf]);
    const ra = await a.done;
    const codes = [ra.code, b.code].sort();
    expect([[0, 0], [0, 3], [0, 4]].map((x) => x.join(',')), `exit statuses ${codes.join(', ')}: ${ra.stderr}${b.stderr}`).toContain(codes.join(','));
    if (codes[1] === 3) expect(b.stderr).toContain('no such file');
    if (codes[1] === 4) expect(b.code === 4 ? b.stderr : ra.stderr).toMatch(/in use by another hvsim process/);
    expect(fs.existsSync(s.leaf)).toBe(false);
    expect(fs.existsSync(journal)).toBe(false);
    expect(readChain(s.base).equals(want), 'the base reads what the leaf read').toBe(true);
    expect(checkChainFile(s.base).Valid).toBe(true);
  }, 60_000);

  it('a writer\'s lock left by a killed process is taken over; a lock held by a live one is not', async () => {
    figures.pairs++;
    const s = setup();
    const w = start(['write-vhd', s.leaf, '--offset', '0', '--input', s.input]);
    await until(() => fs.existsSync(s.lock) || w.exited());
    w.kill();
    await w.done;
    expect(fs.existsSync(s.lock), 'the killed writer left its lock').toBe(true);
    const small = path.join(s.dir, 'small.bin');
    fs.writeFileSync(small, Buffer.alloc(4096, 0x77));
    ok(['write-vhd', s.leaf, '--offset', '0', '--input', small]);
    expect(readChain(s.leaf).subarray(0, 4096).equals(Buffer.alloc(4096, 0x77))).toBe(true);
    expect(fs.existsSync(s.lock)).toBe(false);
    // A lock naming this (live) test process is respected.
    fs.writeFileSync(s.lock, String(process.pid));
    expectBusy(hv(['write-vhd', s.leaf, '--offset', '0', '--input', small]), [s.leaf], 'a live holder');
    fs.unlinkSync(s.lock);
    expect(checkChainFile(s.leaf).Valid).toBe(true);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------

describe('the lock file itself', () => {
  /**
   * Two processes take and release the same writer's lock and the same directory lock as fast as
   * they can; each holder creates a marker file exclusively while it holds the lock. A reader that
   * saw a lock half-written and took it for a crash's leftover (the old race) would let both in.
   */
  it('two processes hammering one lock: never both inside, never a BUSY without the holder\'s pid', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'lock-'));
    const lockModule = path.resolve('src/vhd/io/lock-file.ts');
    const storageModule = path.resolve('src/sim/storage.ts');
    const script = `
      import * as fs from 'node:fs';
      const { lockWriter } = await import(${JSON.stringify(lockModule)});
      const { DirectoryLock } = await import(${JSON.stringify(storageModule)});
      const dir = ${JSON.stringify(dir)};
      let inside = 0, busy = 0, bad = [];
      const enter = (m) => { fs.writeFileSync(dir + '/' + m, 'x', { flag: 'wx' }); inside++; fs.unlinkSync(dir + '/' + m); };
      for (let i = 0; i < 1500; i++) {
        try { const l = lockWriter(dir + '/disk.avhdx'); try { enter('in-disk'); } finally { l.release(); } }
        catch (e) { if (e.code === 'BUSY' && /\\(pid \\d+\\)/.test(e.message)) busy++; else bad.push(String(e.message)); }
        const d = new DirectoryLock(dir + '/lock');
        try { d.acquire({ timeoutMs: 0 }); try { enter('in-dir'); } finally { d.release(); } }
        catch (e) { if (e.code === 'BUSY' && /\\(pid \\d+\\)/.test(e.message)) busy++; else bad.push(String(e.message)); }
      }
      process.stdout.write(JSON.stringify({ inside, busy, bad: bad.slice(0, 3) }));
    `;
    const run = () =>
      new Promise<{ inside: number; busy: number; bad: string[] }>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.stderr.on('data', (d: Buffer) => (err += d));
        p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { inside: number; busy: number; bad: string[] }) : reject(new Error(`exit ${code}: ${err}`))));
      });
    const [a, b] = await Promise.all([run(), run()]);
    for (const r of [a, b]) expect(r.bad).toEqual([]);
    // Both got in many times and both were turned away at times: the two really overlapped.
    expect(a.inside + a.busy).toBe(3000);
    expect(b.inside + b.busy).toBe(3000);
    expect(a.inside).toBeGreaterThan(0);
    expect(b.inside).toBeGreaterThan(0);
    expect(fs.readdirSync(dir)).toEqual([]);
  }, 120_000);
});

describe('two hvsim processes on the same state directory', () => {
  const SIZE = 64 * MiB;

  function newRoot(): { root: string; E: Record<string, string> } {
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    return { root, E: { HVSIM_ROOT: root } };
  }

  /** Read state.json whenever it changes while `busy()`; every read must parse as a whole state. */
  function watchState(root: string): { stop: () => Promise<string[]> } {
    const problems: string[] = [];
    let on = true;
    const loop = (async () => {
      while (on) {
        try {
          const text = fs.readFileSync(path.join(root, 'state.json'), 'utf8');
          figures.stateReads++;
          const st = JSON.parse(text) as { vms?: unknown };
          if (!Array.isArray(st.vms)) problems.push('state.json without vms');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(String(e));
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    return {
      stop: async () => {
        on = false;
        await loop;
        return problems;
      },
    };
  }

  it('the second invocation waits for the first and completes; told not to wait (HVSIM_LOCK_TIMEOUT=0) it gets a clear BUSY naming the holder', async () => {
    const { root, E } = newRoot();
    ok(['new-vm', '--name', 'v', '--disk-size', '64M', '--checkpoint-type', 'Standard'], E);
    ok(['start-vm', '--name', 'v'], E);
    const big = path.join(root, '..', `big-${path.basename(root)}.bin`);
    fs.writeFileSync(big, Buffer.alloc(48 * MiB, 0x5a));
    const watch = watchState(root);
    const first = start(['write-vm', '--name', 'v', '--offset', '0', '--input', big], E);
    await until(() => fs.existsSync(path.join(root, 'lock')) || first.exited());
    expect(first.exited(), 'the first holds the lock').toBe(false);
    const holder = first.pid;
    // Run asynchronously: a spawnSync here would hold back the first's exit event and its time.
    const impatientRun = start(['get-vm', '--name', 'v'], { ...E, HVSIM_LOCK_TIMEOUT: '0' });
    const patient = start(['checkpoint-vm', '--name', 'v', '--snapshot-name', 'after-write'], E);
    const [r1, impatient, r3] = await Promise.all([first.done, impatientRun.done, patient.done]);
    expect(await watch.stop(), 'state.json was always whole').toEqual([]);
    expect(r1.code, r1.stderr).toBe(0);
    if (impatient.code === 4) {
      expectBusy(impatient, [root], 'get-vm with HVSIM_LOCK_TIMEOUT=0');
      // The holder is the writer, or the patient checkpoint that took the lock after it.
      expect([holder, patient.pid].some((pid) => impatient.stderr.includes(`(pid ${pid})`)), impatient.stderr).toBe(true);
    } else expect(impatient.end, 'get-vm succeeded only after the writer finished').toBeGreaterThan(r1.end - 50);
    expect(r3.code, r3.stderr).toBe(0);
    figures.waited++;
    // The checkpoint came after the write: it holds the write.
    const out = path.join(root, '..', `r-${path.basename(root)}.bin`);
    ok(['read-vm', '--name', 'v', '--snapshot', 'after-write', '--length', String(48 * MiB), '--output', out], E);
    expect(fs.readFileSync(out).equals(Buffer.alloc(48 * MiB, 0x5a))).toBe(true);
    expect(fs.existsSync(path.join(root, 'lock'))).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.includes('.tmp'))).toEqual([]);
  }, 90_000);

  it('12 concurrent mutating invocations: each exits 0 or 4, state.json is always whole, every acknowledged change is there in an order the invocations allow, test-tree passes', async () => {
    const { root, E } = newRoot();
    ok(['new-vm', '--name', 'v', '--disk-size', '64M', '--checkpoint-type', 'Standard'], E);
    ok(['start-vm', '--name', 'v'], E);
    ok(['checkpoint-vm', '--name', 'v', '--snapshot-name', 'old'], E);
    const N = 6;
    const inputs: string[] = [];
    for (let i = 0; i < N; i++) {
      const f = path.join(root, '..', `w${i}-${path.basename(root)}.bin`);
      fs.writeFileSync(f, Buffer.alloc(4 * MiB, 0x30 + i));
      inputs.push(f);
    }
    const watch = watchState(root);
    // Writes to distinct places, checkpoints, and a removal that merges; half may give up after 200 ms.
    const jobs: Array<{ kind: 'write' | 'checkpoint' | 'remove'; i: number; run: Running }> = [];
    for (let i = 0; i < N; i++) {
      const impatient: Record<string, string> = i % 2 === 1 ? { HVSIM_LOCK_TIMEOUT: '200' } : {};
      jobs.push({ kind: 'write', i, run: start(['write-vm', '--name', 'v', '--offset', String(i * 8 * MiB), '--input', inputs[i]!], { ...E, ...impatient }) });
      if (i < N - 1) jobs.push({ kind: 'checkpoint', i, run: start(['checkpoint-vm', '--name', 'v', '--snapshot-name', `cp${i}`], { ...E, ...impatient }) });
    }
    jobs.push({ kind: 'remove', i: 0, run: start(['remove-vmsnapshot', '--vm-name', 'v', '--name', 'old'], E) });
    const results = await Promise.all(jobs.map((j) => j.run.done));
    expect(await watch.stop(), 'state.json was always whole').toEqual([]);
    results.forEach((r, k) => {
      expect([0, 4], `${jobs[k]!.kind} ${jobs[k]!.i}: exit ${r.code}: ${r.stderr}`).toContain(r.code);
      if (r.code === 4) expectBusy(r, [root], `${jobs[k]!.kind} ${jobs[k]!.i}`);
      else figures.waited++;
    });
    expect(results[results.length - 1]!.code, 'the patient removal completed').toBe(0);
    // Every acknowledged write is in the running disk; every acknowledged checkpoint exists and holds
    // the writes acknowledged before it began, and none of those that began after it ended.
    const snaps = JSON.parse(ok(['get-vmsnapshot', '--vm-name', 'v', '--json'], E)) as Array<{ Name: string; HardDrives: Array<{ Path: string }> }>;
    const state = readState(root);
    const now = readChain(state.vms[0]!.drives[0]!.path);
    const holds = (view: Buffer, i: number): 'data' | 'zeros' | 'torn' => {
      const part = view.subarray(i * 8 * MiB, i * 8 * MiB + 4 * MiB);
      if (part.equals(Buffer.alloc(4 * MiB, 0x30 + i))) return 'data';
      if (part.equals(Buffer.alloc(4 * MiB))) return 'zeros';
      return 'torn';
    };
    const writes = jobs.map((j, k) => ({ ...j, r: results[k]! })).filter((j) => j.kind === 'write');
    for (const w of writes) expect(holds(now, w.i), `write ${w.i} (exit ${w.r.code}) in the running disk`).toBe(w.r.code === 0 ? 'data' : 'zeros');
    for (const j of jobs.map((x, k) => ({ ...x, r: results[k]! })).filter((x) => x.kind === 'checkpoint')) {
      const s = snaps.find((x) => x.Name === `cp${j.i}`);
      expect(s !== undefined, `checkpoint cp${j.i} (exit ${j.r.code})`).toBe(j.r.code === 0);
      if (!s) continue;
      const view = readChain(s.HardDrives[0]!.Path);
      for (const w of writes) {
        const h = holds(view, w.i);
        expect(h, `cp${j.i} / write ${w.i}`).not.toBe('torn');
        if (w.r.code === 0 && w.r.end < j.r.start) expect(h, `cp${j.i} began after write ${w.i} was acknowledged`).toBe('data');
        if (w.r.start > j.r.end || w.r.code !== 0) expect(h, `cp${j.i} ended before write ${w.i} began (or it failed)`).toBe('zeros');
      }
    }
    expect(snaps.some((x) => x.Name === 'old')).toBe(false);
    const disks = path.join(root, 'vms', 'v', 'Virtual Hard Disks');
    const report = checkTree(new NodeDiskStore(), disks, { inUse: [state.vms[0]!.drives[0]!.path, ...snaps.map((x) => x.HardDrives[0]!.Path)] });
    expect(report.Findings.filter((f) => f.severity === 'error' || f.code === 'UNREFERENCED')).toEqual([]);
    expect(fs.existsSync(path.join(root, 'lock'))).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(fs.readdirSync(disks).filter((n) => n.startsWith('.') || n.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('the holder killed while another waits: the waiter takes the stale lock over and completes; the state is intact', async () => {
    const { root, E } = newRoot();
    ok(['new-vm', '--name', 'v', '--disk-size', '64M', '--checkpoint-type', 'Standard'], E);
    ok(['start-vm', '--name', 'v'], E);
    const big = path.join(root, '..', `k-${path.basename(root)}.bin`);
    fs.writeFileSync(big, Buffer.alloc(48 * MiB, 0x6b));
    const first = start(['write-vm', '--name', 'v', '--offset', '0', '--input', big], E);
    await until(() => fs.existsSync(path.join(root, 'lock')) || first.exited());
    const waiter = start(['checkpoint-vm', '--name', 'v', '--snapshot-name', 'after-kill'], E);
    await new Promise((r) => setTimeout(r, 30));
    first.kill();
    const [r1, r2] = await Promise.all([first.done, waiter.done]);
    expect(r1.code).toBeNull(); // killed
    expect(r2.code, r2.stderr).toBe(0);
    figures.waited++;
    const snaps = JSON.parse(ok(['get-vmsnapshot', '--vm-name', 'v', '--json'], E)) as Array<{ Name: string; HardDrives: Array<{ Path: string }> }>;
    expect(snaps.map((s) => s.Name)).toEqual(['after-kill']);
    // The killed write is old or new per sector in the checkpoint it preceded; nothing else changed.
    const view = readChain(snaps[0]!.HardDrives[0]!.Path);
    const zero = Buffer.alloc(512);
    const written = Buffer.alloc(512, 0x6b);
    let torn = 0;
    for (let o = 0; o < SIZE; o += 512) {
      const sec = view.subarray(o, o + 512);
      if (!(sec.equals(zero) || (o < 48 * MiB && sec.equals(written)))) torn++;
    }
    expect(torn, 'sectors that read neither old nor new').toBe(0);
    const disks = path.join(root, 'vms', 'v', 'Virtual Hard Disks');
    expect(checkTree(new NodeDiskStore(), disks).Findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(fs.existsSync(path.join(root, 'lock'))).toBe(false);
  }, 60_000);
});
