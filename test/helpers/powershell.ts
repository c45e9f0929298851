/**
 * Scripts through hvsim's PowerShell (src/powershell) against a host, their output captured:
 * runPs for one script in a new session, psSession for several in one (variables carry over, as
 * in one console), psScript for the scripts under test/fixtures/ps-scripts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Host, HostFarm } from '../../src/host/host.js';
import { createSession, type Facilities, type RunResult, type Session } from '../../src/powershell/index.js';

/** A script's result with what it wrote to stdout and stderr. */
export interface PsRun extends RunResult {
  out: string;
  err: string;
}

export interface PsOptions {
  /** Answer "Yes" to confirmation prompts (hvsim run --yes). */
  yes?: boolean;
  /** Console width for tables. */
  width?: number;
  /** The simulated host's files, outbox, event log, Read-Host input. */
  facilities?: Facilities;
  /** The other simulated hosts -ComputerName and -CimSession reach (a Simulator is one). */
  farm?: HostFarm;
}

export interface PsSession {
  /** Run a script in the session; out and err are what this script wrote. */
  run(source: string, file?: string): Promise<PsRun>;
  readonly session: Session;
}

/** One session on `host`: its scripts share variables, each run's output is captured apart. */
export function psSession(host: Host, opts: PsOptions = {}): PsSession {
  let out = '';
  let err = '';
  const session = createSession(host, { ...opts, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return {
    session,
    async run(source, file) {
      out = '';
      err = '';
      const r = await session.run(source, file === undefined ? {} : { file });
      return { ...r, out, err };
    },
  };
}

/** Run one script in a new session on `host`. */
export function runPs(host: Host, source: string, opts: PsOptions = {}): Promise<PsRun> {
  return psSession(host, opts).run(source);
}

/** The text of test/fixtures/ps-scripts/<parts…>. */
export function psScript(...parts: string[]): string {
  return fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'ps-scripts', ...parts), 'utf8');
}
