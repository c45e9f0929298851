/**
 * Running PowerShell: finding the executable, and two ways to run the fixed script (script.ts):
 *   - SessionRunner ("session", the default): one process kept for the host's lifetime; each
 *     request is a line on its stdin and the answer a line on its stdout; calls are serialised.
 *     If the process dies or a call times out, the process is ended and the next call starts a
 *     new one.
 *   - ProcessRunner ("process"): one process per request (stdin: the request, then end of file).
 * docs/real-host.md has the measurements. Both read only lines that start with LINE_PREFIX; when
 * a process ends without answering, its stderr is read for a PowerShell error (errors.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { LINE_PREFIX, powershellArgs } from './script.js';
import { encodeRequest, parseResponseLine, type ReadyLine, type Request, type Response } from './request.js';
import { parseErrorText, toHvsimError } from './errors.js';

export type RunMode = 'session' | 'process';

/** The executables looked for on PATH, in this order (Windows PowerShell first: it always has the Hyper-V module). */
export const POWERSHELL_NAMES = ['powershell.exe', 'pwsh.exe', 'pwsh', 'powershell'];

/**
 * The PowerShell to run: HVSIM_POWERSHELL (a path, or a name looked up on PATH), else the first of
 * POWERSHELL_NAMES on PATH.
 */
export function findPowerShell(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.HVSIM_POWERSHELL;
  const lookup = (name: string): string | undefined => findOnPath(name, env);
  if (named !== undefined && named.length > 0) {
    if (named.includes('/') || named.includes('\\')) {
      if (isExecutable(named)) return named;
      throw new HvsimError('NOT_FOUND', `HVSIM_POWERSHELL names ${named}, which is not an executable file`);
    }
    const p = lookup(named);
    if (p) return p;
    throw new HvsimError('NOT_FOUND', `HVSIM_POWERSHELL names ${named}, which is not on PATH`);
  }
  for (const n of POWERSHELL_NAMES) {
    const p = lookup(n);
    if (p) return p;
  }
  throw new HvsimError('NOT_FOUND', `neither ${POWERSHELL_NAMES.join(' nor ')} was found on PATH; install PowerShell or set HVSIM_POWERSHELL to its path`);
}

/** An executable file `name` in a folder of env's PATH (with PATHEXT's extensions on Windows), or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter((d) => d.length > 0);
  const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean)] : [''];
  for (const d of dirs)
    for (const e of exts) {
      const p = path.join(d, name + e);
      if (isExecutable(p)) return p;
    }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RunnerOptions {
  /** The PowerShell executable. */
  exe: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Longest time one request may take (ms; default 10 minutes: merges and exports are slow). */
  timeoutMs?: number;
  /** Longest time PowerShell may take to start and load (ms; default 2 minutes). */
  startTimeoutMs?: number;
}

export interface PowerShellRunner {
  readonly mode: RunMode;
  /** PowerShell's version and edition, once a process has started. */
  readonly info: ReadyLine | undefined;
  /** Processes started so far. */
  readonly started: number;
  run(req: Request): Promise<Response>;
  close(): Promise<void>;
}

const TAIL = 64 * 1024;

function duration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** Keep the end of a growing text. */
function keepTail(s: string): string {
  return s.length > TAIL ? s.slice(s.length - TAIL) : s;
}

/** Why a process ended without answering: its PowerShell error if stderr holds one. */
function deathError(what: string, code: number | null, signal: NodeJS.Signals | null, stderr: string, noise: string): HvsimError {
  const parsed = parseErrorText(stderr) ?? parseErrorText(noise);
  if (parsed) return toHvsimError(parsed.error, parsed.cmdlet);
  const how = signal ? `was ended by ${signal}` : `exited with code ${code}`;
  const tail = (stderr.trim() || noise.trim()).split('\n').slice(-5).join('\n');
  return new HvsimError('IO', `PowerShell ${how} ${what}${tail ? `: ${tail}` : ''}`);
}

function spawnFailed(exe: string, e: NodeJS.ErrnoException): HvsimError {
  if (e.code === 'ENOENT') return new HvsimError('NOT_FOUND', `PowerShell not found: ${exe} (set HVSIM_POWERSHELL)`);
  if (e.code === 'EACCES') return new HvsimError('IO', `PowerShell ${exe} cannot be run: permission denied`);
  return new HvsimError('IO', `PowerShell ${exe} could not be started: ${e.message}`);
}

/** Splits a stream into lines and hands each to `fn`. */
function onLines(stream: NodeJS.ReadableStream, fn: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      fn(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buf.length) fn(buf.replace(/\r$/, ''));
    buf = '';
  });
}

/**
 * How long the pipes of a PowerShell that has exited may stay open before hvsim stops waiting for
 * them: a process PowerShell started (a module's helper) may inherit its stdout or stderr and
 * outlive it, and Node's 'close' waits for every holder.
 */
const DRAIN_MS = 500;

/** `fn` once, when the process's pipes have closed, or DRAIN_MS after it exited if they stay open. */
function onEnded(child: ChildProcessWithoutNullStreams, fn: (code: number | null, signal: NodeJS.Signals | null) => void): void {
  let done = false;
  let drain: NodeJS.Timeout | undefined;
  const end = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (done) return;
    done = true;
    if (drain) clearTimeout(drain);
    fn(code, signal);
  };
  child.on('exit', (code, signal) => {
    // A launcher that ran PowerShell as its own child may leave it reading: end its input.
    child.stdin.destroy();
    drain = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
      end(code, signal);
    }, DRAIN_MS);
    drain.unref();
  });
  child.on('close', end);
}

/** One process per request. */
export class ProcessRunner implements PowerShellRunner {
  readonly mode = 'process' as const;
  info: ReadyLine | undefined;
  started = 0;
  private readonly args = powershellArgs();

  constructor(private readonly opts: RunnerOptions) {}

  run(req: Request): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(this.opts.exe, this.args, { env: this.opts.env ?? process.env, cwd: this.opts.cwd, windowsHide: true, stdio: 'pipe' });
      } catch (e) {
        reject(spawnFailed(this.opts.exe, e as NodeJS.ErrnoException));
        return;
      }
      this.started++;
      let answer: Response | undefined;
      let stderr = '';
      let noise = '';
      let failed: HvsimError | undefined;
      const timeout = this.opts.timeoutMs ?? 600_000;
      const timer = setTimeout(() => {
        failed = new HvsimError('IO', `PowerShell did not answer within ${duration(timeout)}; it was ended`);
        child.kill();
      }, timeout);
      onLines(child.stdout, (line) => {
        if (!line.startsWith(LINE_PREFIX)) {
          noise = keepTail(noise + line + '\n');
          return;
        }
        try {
          const r = parseResponseLine(line.slice(LINE_PREFIX.length));
          if ('ready' in r) this.info = r;
          else if (r.id === req.id || r.id === null) answer = r;
        } catch (e) {
          failed = e as HvsimError;
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        stderr = keepTail(stderr + d);
      });
      child.on('error', (e) => {
        failed = spawnFailed(this.opts.exe, e as NodeJS.ErrnoException);
      });
      onEnded(child, (code, signal) => {
        clearTimeout(timer);
        if (answer) resolve(answer);
        else reject(failed ?? deathError('without answering', code, signal, stderr, noise));
      });
      child.stdin.on('error', () => {
        // The process went away before reading its request; 'close' reports why.
      });
      child.stdin.end(encodeRequest(req) + '\n');
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  req: Request;
  resolve: (r: Response) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One kept process; requests one at a time. */
export class SessionRunner implements PowerShellRunner {
  readonly mode = 'session' as const;
  info: ReadyLine | undefined;
  started = 0;
  private child: ChildProcessWithoutNullStreams | undefined;
  private ready: Promise<void> | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stderr = '';
  private noise = '';
  private closed = false;
  private readonly args = powershellArgs();

  constructor(private readonly opts: RunnerOptions) {}

  run(req: Request): Promise<Response> {
    const next = this.queue.then(() => this.runNow(req));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    this.stderr = '';
    this.noise = '';
    this.ready = new Promise<void>((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(this.opts.exe, this.args, { env: this.opts.env ?? process.env, cwd: this.opts.cwd, windowsHide: true, stdio: 'pipe' });
      } catch (e) {
        this.ready = undefined;
        reject(spawnFailed(this.opts.exe, e as NodeJS.ErrnoException));
        return;
      }
      this.started++;
      this.child = child;
      let isReady = false;
      const startTimeout = this.opts.startTimeoutMs ?? 120_000;
      const timer = setTimeout(() => {
        if (!isReady) {
          this.ready = undefined;
          child.kill();
          reject(new HvsimError('IO', `PowerShell did not start within ${duration(startTimeout)}`));
        }
      }, startTimeout);
      onLines(child.stdout, (line) => {
        if (this.child !== child) return; // a process given up: its late lines are not this session's
        if (!line.startsWith(LINE_PREFIX)) {
          this.noise = keepTail(this.noise + line + '\n');
          return;
        }
        let r: Response | ReadyLine;
        try {
          r = parseResponseLine(line.slice(LINE_PREFIX.length));
        } catch (e) {
          this.fail(e as HvsimError);
          return;
        }
        if ('ready' in r) {
          this.info = r;
          isReady = true;
          clearTimeout(timer);
          this.idle();
          resolve();
          return;
        }
        const p = this.pending;
        if (p && (r.id === p.req.id || r.id === null)) {
          this.pending = undefined;
          clearTimeout(p.timer);
          this.idle();
          p.resolve(r);
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        if (this.child === child) this.stderr = keepTail(this.stderr + d);
      });
      child.stdin.on('error', () => {
        // reported by 'close'
      });
      child.on('error', (e) => {
        if (!isReady) {
          clearTimeout(timer);
          this.ready = undefined;
          this.child = undefined;
          reject(spawnFailed(this.opts.exe, e as NodeJS.ErrnoException));
        }
      });
      // Gone while idle: the next request starts a new process at once (its pipes may stay open a while).
      child.on('exit', () => {
        if (this.child === child && isReady && !this.pending) {
          this.child = undefined;
          this.ready = undefined;
        }
      });
      onEnded(child, (code, signal) => {
        clearTimeout(timer);
        const err = deathError(isReady ? 'during a request' : 'while starting', code, signal, this.stderr, this.noise);
        if (!isReady) reject(err);
        // A process already given up (fail) has had its request answered; a new one may be running.
        if (this.child !== child) return;
        this.child = undefined;
        this.ready = undefined;
        const p = this.pending;
        if (p) {
          this.pending = undefined;
          clearTimeout(p.timer);
          p.reject(err);
        }
      });
    });
    return this.ready;
  }

  /** Let Node exit while the session waits for work (close() ends it properly). */
  private idle(): void {
    const c = this.child;
    if (!c) return;
    c.unref();
    (c.stdout as unknown as { unref?: () => void }).unref?.();
    (c.stderr as unknown as { unref?: () => void }).unref?.();
    (c.stdin as unknown as { unref?: () => void }).unref?.();
  }

  private busy(): void {
    const c = this.child;
    if (!c) return;
    c.ref();
    (c.stdout as unknown as { ref?: () => void }).ref?.();
    (c.stderr as unknown as { ref?: () => void }).ref?.();
    (c.stdin as unknown as { ref?: () => void }).ref?.();
  }

  /** Reject the request in flight and end the process; the next request starts a new one. */
  private fail(e: Error): void {
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.reject(e);
    }
    const c = this.child;
    this.child = undefined;
    this.ready = undefined;
    c?.stdin.destroy();
    c?.kill();
  }

  private async runNow(req: Request): Promise<Response> {
    if (this.closed) throw new HvsimError('INVALID_STATE', 'the PowerShell session is closed');
    await this.start();
    const child = this.child;
    if (!child) throw new HvsimError('IO', 'PowerShell ended before the request could be sent');
    this.busy();
    return new Promise<Response>((resolve, reject) => {
      const timeout = this.opts.timeoutMs ?? 600_000;
      const timer = setTimeout(() => {
        this.fail(new HvsimError('IO', `PowerShell did not answer within ${duration(timeout)}; the session was ended`));
      }, timeout);
      this.pending = { req, resolve, reject, timer };
      child.stdin.write(encodeRequest(req) + '\n');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const c = this.child;
    if (!c) return;
    this.busy();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.kill();
      }, 10_000);
      c.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      c.stdin.end();
    });
  }
}

export function makeRunner(mode: RunMode, opts: RunnerOptions): PowerShellRunner {
  return mode === 'process' ? new ProcessRunner(opts) : new SessionRunner(opts);
}
