/**
 * Helpers of the mishap matrix (test/reliability/mishap.test.ts): a runtime copy of the built CLI
 * that an unprivileged user can run, the batch runner (mishap-runner.ts) driven from the test,
 * "pictures" of a state directory (a hash of every point in time of every VM, read without
 * changing anything), and the file-system mishaps themselves (tmpfs, ownership, stale locks).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { HvsimError } from '../../src/errors.js';
import type { DiskStore } from '../../src/engine/store.js';
import { readChain } from './data.js';

/** The unprivileged user the permission mishaps run as (nobody/nogroup). */
export const NOBODY = 65534;

export interface RunnerJob {
  args: string[];
  cwd: string;
  env?: Record<string, string>;
}

export interface JobResult {
  /** What main() returned (the exit status); null when it threw or the job hung. */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Anything thrown past main() or left unhandled (with its stack). */
  uncaught?: string;
  /** The job did not end within the time limit (the runner was killed). */
  hang?: boolean;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

// ------------------------------------------------------------------ runtime

export interface Runtime {
  /** node, as a path the unprivileged user can execute. */
  node: string;
  mainJs: string;
  /** The copy's bin.cjs (for runs as a process of its own). */
  binJs: string;
  runnerJs: string;
  /** setpriv works here (root, and setpriv installed). */
  canDropPrivileges: boolean;
}

/** The repo's runtime dependencies, recursively (npm's flat node_modules). */
function runtimePackages(repo: string): string[] {
  const seen = new Set<string>();
  const walk = (pkgDir: string): void => {
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      if (seen.has(name)) continue;
      const nested = path.join(pkgDir, 'node_modules', name);
      const dir = fs.existsSync(nested) ? nested : path.join(repo, 'node_modules', name);
      if (!fs.existsSync(dir)) continue;
      seen.add(name);
      walk(dir);
    }
  };
  walk(repo);
  return [...seen];
}

/**
 * Copy the built CLI (the dist/ of cliBin()) and its runtime dependencies into `dir`, world-readable,
 * with the transpiled batch runner beside it: the unprivileged user cannot be assumed to reach
 * the repository (CI may clone it under /root).
 */
export function makeRuntime(dir: string, bin: string, repo: string): Runtime {
  const dist = path.dirname(path.dirname(bin));
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(dist, path.join(dir, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const name of runtimePackages(repo)) fs.cpSync(path.join(repo, 'node_modules', name), path.join(dir, 'node_modules', name), { recursive: true, dereference: true });
  const src = fs.readFileSync(path.join(import.meta.dirname, 'mishap-runner.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const runnerJs = path.join(dir, 'runner.mjs');
  fs.writeFileSync(runnerJs, js);
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  let node = process.execPath;
  let canDropPrivileges = false;
  if (isRoot()) {
    const probe = (n: string): boolean => spawnSync('setpriv', [...dropArgs(), n, '-e', '0'], { stdio: 'ignore' }).status === 0;
    canDropPrivileges = probe(node);
    if (!canDropPrivileges && spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0) {
      // node lives where nobody can reach it (e.g. under /root/.nvm): a private copy.
      node = path.join(dir, 'node');
      fs.copyFileSync(process.execPath, node);
      fs.chmodSync(node, 0o755);
      canDropPrivileges = probe(node);
    }
  }
  return { node, mainJs: path.join(dir, 'dist', 'cli', 'main.js'), binJs: path.join(dir, 'dist', 'cli', 'bin.cjs'), runnerJs, canDropPrivileges };
}

const dropArgs = (): string[] => [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

// ------------------------------------------------------------------ batch runs

export interface BatchOptions {
  /** Run as the unprivileged user. */
  unprivileged?: boolean;
  /** A job that has not ended after this long is a hang: the runner is killed (default 20 s). */
  jobTimeoutMs?: number;
  /** Where to write the job list. */
  scratch: string;
}

interface Child {
  results: Map<number, JobResult>;
  /** Index of the job running now (started, not ended). */
  running: number;
  ready: number;
  go(): void;
  kill(): void;
  exited: Promise<string>;
  lastProgress: number;
}

let batchSeq = 0;

function startRunner(rt: Runtime, jobs: RunnerJob[], opts: BatchOptions, sync: boolean, onLine: () => void): Child {
  const file = path.join(opts.scratch, `jobs-${process.pid}-${batchSeq++}.json`);
  fs.writeFileSync(file, JSON.stringify(jobs));
  fs.chmodSync(file, 0o644);
  const argv = [rt.runnerJs, rt.mainJs, file, ...(sync ? ['sync'] : [])];
  const p = opts.unprivileged ? spawn('setpriv', [...dropArgs(), rt.node, ...argv], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] }) : spawn(rt.node, argv, { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
  const c: Child = {
    results: new Map(),
    running: -1,
    ready: -1,
    go: () => p.stdin!.write('\n'),
    kill: () => p.kill('SIGKILL'),
    exited: new Promise(() => {}),
    lastProgress: performance.now(),
  };
  let stderr = '';
  p.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 65536) stderr += d.toString('utf8');
  });
  p.stdin!.on('error', () => {});
  let buf = '';
  const proto = p.stdio[3] as NodeJS.ReadableStream;
  proto.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const m = JSON.parse(buf.slice(0, nl)) as { i: number; start?: boolean; ready?: boolean; result?: JobResult };
      buf = buf.slice(nl + 1);
      c.lastProgress = performance.now();
      if (m.ready) c.ready = m.i;
      if (m.start) c.running = m.i;
      if (m.result) {
        c.results.set(m.i, m.result);
        c.running = -1;
      }
      onLine();
    }
  });
  c.exited = new Promise((resolve) => p.on('close', (code, sig) => resolve(`exit ${code ?? sig}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`)));
  return c;
}

/**
 * Run `jobs` in order in batch runners; a job that hangs is recorded as such and the rest run in
 * a new runner. Results in job order.
 */
export async function runBatch(rt: Runtime, jobs: RunnerJob[], opts: BatchOptions): Promise<JobResult[]> {
  const out: JobResult[] = [];
  const limit = opts.jobTimeoutMs ?? 20_000;
  while (out.length < jobs.length) {
    const rest = jobs.slice(out.length);
    const c = startRunner(rt, rest, opts, false, () => {});
    const timer = setInterval(() => {
      if (performance.now() - c.lastProgress > limit) c.kill();
    }, 250);
    const how = await c.exited;
    clearInterval(timer);
    for (let i = 0; i < rest.length && c.results.has(i); i++) out.push(c.results.get(i)!);
    if (out.length < jobs.length) {
      // The job after the last result hung or killed the runner.
      const hung = performance.now() - c.lastProgress > limit;
      out.push({ code: null, stdout: '', stderr: '', ms: limit, ...(hung ? { hang: true } : { uncaught: `the runner died: ${how}` }) });
    }
  }
  return out;
}

/**
 * Two runners, the same number of jobs each; job i of both starts at the same moment (each
 * waits for the other to be ready). Results in job order, [first runner's, second's].
 */
export async function runPair(rt: Runtime, a: RunnerJob[], b: RunnerJob[], opts: BatchOptions): Promise<[JobResult[], JobResult[]]> {
  if (a.length !== b.length) throw new Error('runPair: job lists differ in length');
  const outA: JobResult[] = [];
  const outB: JobResult[] = [];
  const limit = opts.jobTimeoutMs ?? 20_000;
  while (outA.length < a.length) {
    const from = outA.length;
    let ca: Child | undefined;
    let cb: Child | undefined;
    let released = -1;
    const tick = (): void => {
      if (!ca || !cb) return;
      const next = released + 1;
      if (ca.ready === next && cb.ready === next) {
        released = next;
        ca.go();
        cb.go();
      }
    };
    ca = startRunner(rt, a.slice(from), opts, true, tick);
    cb = startRunner(rt, b.slice(from), opts, true, tick);
    tick();
    const timer = setInterval(() => {
      if (performance.now() - Math.min(ca!.lastProgress, cb!.lastProgress) > limit) {
        ca!.kill();
        cb!.kill();
      }
    }, 250);
    await Promise.all([ca.exited, cb.exited]);
    clearInterval(timer);
    let n = 0;
    while (from + n < a.length && ca.results.has(n) && cb.results.has(n)) n++;
    for (let i = 0; i < n; i++) {
      outA.push(ca.results.get(i)!);
      outB.push(cb.results.get(i)!);
    }
    if (outA.length < a.length) {
      const hang: JobResult = { code: null, stdout: '', stderr: '', ms: limit, hang: true };
      outA.push(ca.results.get(n) ?? hang);
      outB.push(cb.results.get(n) ?? hang);
    }
  }
  return [outA, outB];
}

/** One hvsim invocation as a process of its own (the built CLI's bin.cjs), killed after `timeoutMs`. */
export function runProcess(rt: Runtime, job: RunnerJob, opts: { unprivileged?: boolean; timeoutMs?: number } = {}): Promise<JobResult> {
  const argv = [rt.binJs, ...job.args];
  const t0 = performance.now();
  const p = opts.unprivileged ? spawn('setpriv', [...dropArgs(), rt.node, ...argv], { cwd: job.cwd, env: { ...process.env, ...job.env } }) : spawn(rt.node, argv, { cwd: job.cwd, env: { ...process.env, ...job.env } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => {
    if (stdout.length < 65536) stdout += d.toString('utf8');
  });
  p.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 65536) stderr += d.toString('utf8');
  });
  let hang = false;
  const timer = setTimeout(() => {
    hang = true;
    p.kill('SIGKILL');
  }, opts.timeoutMs ?? 20_000);
  return new Promise((resolve) =>
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: hang ? null : code, stdout, stderr, ms: Math.round(performance.now() - t0), ...(hang ? { hang } : {}) });
    }),
  );
}

// ------------------------------------------------------------------ pictures

interface StateLike {
  vms: Array<{ id: string; name: string; drives: Array<{ path: string }>; snapshots: Array<{ name: string; creationTime: number; drives: string[] }> }>;
}

/** Every point in time: "<VM>/<checkpoint>#<n>/disk<i>" and "<VM>/Now/disk<i>" → hash of what it reads. */
export type Picture = Map<string, string>;

export function hashOf(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

/**
 * Read every point in time the records name, read-only (Chain.open, no lock taken, nothing
 * written). `label` names a VM by its Id (the template's name), or undefined to leave it out;
 * VMs the label does not know are "+<name>". A read that fails is recorded as "unreadable: …".
 */
export function picture(state: StateLike, label: (id: string, name: string) => string | undefined, store?: DiskStore): Picture {
  const m: Picture = new Map();
  const read = (p: string): string => {
    try {
      return hashOf(readChain(p, store));
    } catch (e) {
      return `unreadable: ${e instanceof HvsimError ? `${e.code} ${path.basename(e.file ?? p)}` : String(e).split('\n')[0]}`;
    }
  };
  const vmSeen = new Map<string, number>();
  for (const vm of state.vms) {
    let l = label(vm.id, vm.name);
    if (l === undefined) continue;
    const n = (vmSeen.get(l) ?? 0) + 1;
    vmSeen.set(l, n);
    if (n > 1) l = `${l}#${n}`;
    const seen = new Map<string, number>();
    const snaps = [...vm.snapshots].sort((x, y) => x.creationTime - y.creationTime);
    for (const s of snaps) {
      const k = (seen.get(s.name) ?? 0) + 1;
      seen.set(s.name, k);
      s.drives.forEach((p, i) => m.set(`${l}/${s.name}#${k}/disk${i}`, read(p)));
    }
    vm.drives.forEach((d, i) => m.set(`${l}/Now/disk${i}`, read(d.path)));
  }
  return m;
}

export function samePicture(a: Picture, b: Picture): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** The keys that differ, for messages: "key: was → now". */
export function pictureDiff(from: Picture, to: Picture): string {
  const keys = [...new Set([...from.keys(), ...to.keys()])].sort();
  const d = keys.filter((k) => from.get(k) !== to.get(k)).map((k) => `${k}: ${from.get(k) ?? '(none)'} → ${to.get(k) ?? '(none)'}`);
  return d.length ? d.join('; ') : 'no difference';
}

/**
 * Points in time of `before` that `now` no longer reads as before, other than those the command
 * itself changes or removes (as its reference run `after` shows): what was lost.
 */
export function lostPoints(before: Picture, after: Picture, now: Picture): string[] {
  const lost: string[] = [];
  for (const [k, v] of before) {
    const n = now.get(k);
    if (n === v) continue;
    if (after.has(k) ? n === after.get(k) : n === undefined) continue;
    lost.push(`${k}: ${v} → ${n ?? '(gone)'}`);
  }
  return lost;
}

// ------------------------------------------------------------------ file-system mishaps

export function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

export function mountTmpfs(dir: string, bytes: number): void {
  fs.mkdirSync(dir, { recursive: true });
  sh('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir]);
}

export function unmount(dir: string): void {
  const r = spawnSync('umount', [dir], { encoding: 'utf8' });
  if (r.status !== 0) spawnSync('umount', ['-l', dir]);
}

/** Fill the file system holding `dir` until `leave` bytes are free (a filler file, returned). */
export function fillDisk(dir: string, leave: number): string {
  const filler = path.join(dir, 'filler.bin');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  // Now full to the last page: give back `leave` bytes.
  const size = fs.fstatSync(fd).size;
  fs.ftruncateSync(fd, Math.max(0, size - leave));
  fs.closeSync(fd);
  return filler;
}

/** A pid that no process has now (a child that has exited). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** What the state directory's lock holds (src/vhd/io/lock-file.ts): pid, host, time. */
export function stateLockText(pid: number): string {
  return `${pid}\n${os.hostname()}\n${new Date().toISOString()}\n`;
}

/** The writer's lock of a disk file (src/vhd/io/lock-file.ts): ".NAME.hvsim-lock" beside it, holding a pid. */
export function writerLockPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.hvsim-lock`);
}

/** Temporary and lock files left in a folder tree (what no command may leave behind). */
export function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of names) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.hvsim-lock$|\.hvsim-new$|\.tmp-\d+$|^lock$/.test(e.name)) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}
