/**
 * The built CLI, as test/helpers/build-cli.ts left it for this run, and the one way tests run it:
 * runCli (synchronous), runCliAsync (concurrent runs), spawnCli and collect (a child the test
 * drives itself: kills it, feeds its stdin, watches its output).
 */
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams, type StdioOptions } from 'node:child_process';
import { inject } from 'vitest';
import { SEED_START_ISO } from './sim-host.js';

declare module 'vitest' {
  export interface ProvidedContext {
    hvsimBin: string;
  }
}

/** Path of the built CLI's bin.cjs (a private copy of dist/ that nothing rewrites during the run). */
export function cliBin(): string {
  return inject('hvsimBin');
}

/** The simulator's environment for reproducible output: UTC, simulated time from the seed's moment (as simHost). */
export const SIM_ENV = { TZ: 'UTC', HVSIM_CLOCK: 'simulated', HVSIM_START_TIME: SEED_START_ISO } as const;

export interface CliOptions {
  /** Working directory (default the test process's). */
  cwd?: string;
  /** Set over process.env; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Bytes for stdin (otherwise stdin is empty). */
  input?: string | Buffer;
  /** ms until the child is killed (with killSignal, default SIGTERM): code null, signal set. */
  timeout?: number;
  killSignal?: NodeJS.Signals;
  /** The script node runs (default cliBin()): another build, or src/cli/bin.ts with tsx. */
  bin?: string;
  /** node's arguments before the script (`--import HOOK`, `-e WRAPPER ARG`). */
  nodeArgs?: string[];
}

export interface CliResult {
  /** Exit status; null when a signal ended the process (see signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes. */
  bytes: Buffer;
}

function argv(args: string[], opts: CliOptions): string[] {
  return [...(opts.nodeArgs ?? []), opts.bin ?? cliBin(), ...args];
}

function env(opts: CliOptions): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
  return e;
}

/** Run `hvsim args…` to its end. */
export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, argv(args, opts), {
    cwd: opts.cwd,
    env: env(opts),
    input: opts.input ?? '',
    timeout: opts.timeout,
    killSignal: opts.killSignal,
    maxBuffer: 512 * 1024 * 1024,
  });
  const bytes = r.stdout ?? Buffer.alloc(0);
  return { code: r.status, signal: r.signal, stdout: bytes.toString('utf8'), stderr: (r.stderr ?? Buffer.alloc(0)).toString('utf8'), bytes };
}

export type SpawnCliOptions = Omit<CliOptions, 'input' | 'timeout' | 'killSignal'>;

/** Start `hvsim args…` (stdio pipes unless `stdio` says otherwise); the caller drives it. */
export function spawnCli(args: string[], opts?: SpawnCliOptions): ChildProcessWithoutNullStreams;
export function spawnCli(args: string[], opts: SpawnCliOptions & { stdio: StdioOptions }): ChildProcess;
export function spawnCli(args: string[], opts: SpawnCliOptions & { stdio?: StdioOptions } = {}): ChildProcess {
  return spawn(process.execPath, argv(args, opts), { cwd: opts.cwd, env: env(opts), stdio: opts.stdio ?? 'pipe' });
}

/** A started child's result once it has closed (its stdout and stderr, when piped). */
export function collect(p: ChildProcess): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout?.on('data', (d: Buffer) => out.push(d));
  p.stderr?.on('data', (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code, signal) => {
      const bytes = Buffer.concat(out);
      resolve({ code, signal, stdout: bytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytes });
    });
  });
}

/** runCli without blocking: for invocations that run at the same time. */
export function runCliAsync(args: string[], opts: Omit<CliOptions, 'timeout' | 'killSignal'> = {}): Promise<CliResult> {
  const p = spawnCli(args, opts);
  const done = collect(p);
  p.stdin.on('error', () => {}); // a child that exits without reading its input
  p.stdin.end(opts.input ?? '');
  return done;
}

/** The stdout of a run that must succeed; otherwise an error naming the command and its stderr. */
export function okStdout(args: string[], r: CliResult): string {
  if (r.code !== 0) throw new Error(`hvsim ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The command line a shell runs the CLI with (node and bin.cjs). */
export function cliCommand(): string {
  return `${process.execPath} ${cliBin()}`;
}
