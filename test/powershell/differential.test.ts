/**
 * hvsim run judged by real PowerShell (docs/powershell.md, "Checked against real PowerShell"):
 * every script of test/fixtures/ps-diff runs through the built CLI (`hvsim run --new-session`, a
 * fresh state directory each) and through `pwsh -NoLogo -NoProfile -NonInteractive -File`;
 * standard output, error output and exit status must be equal, or the difference must be listed
 * in known-differences.json with its kind — and a normalising kind must then account for all of
 * it, every listed kind must be needed, and a listed stream must really differ (the list stays
 * honest). Scripts run two processes at a time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, runCliAsync, SIM_ENV } from '../helpers/cli.js';
import { PWSH, pwshEnv, pwshGate } from '../helpers/pwsh.js';
import {
  CORPUS_DIR,
  HYPERV_COMPUTER,
  HYPERV_DIR,
  HYPERV_SEED,
  MODULE_PATH,
  NORMALISERS,
  STREAMS,
  corpusScripts,
  normalise,
  readKnown,
} from '../helpers/ps-diff.js';

interface Result {
  stdout: string;
  stderr: string;
  exitCode: string;
}

const ok = pwshGate();
/** HVSIM_PSDIFF_ONLY=substring runs only the scripts whose path contains it (while writing new ones). */
const ONLY = process.env['HVSIM_PSDIFF_ONLY'];
const scripts = corpusScripts().filter((s) => !ONLY || s.includes(ONLY));
const isHyperV = (s: string): boolean => s.startsWith(HYPERV_DIR);
const known = readKnown();
const hv = new Map<string, Result>();
const ps = new Map<string, Result>();
let work: string;

/** How long one pwsh may take (a busy machine starts pwsh in seconds). */
const PWSH_TIMEOUT_MS = 120_000;

/** Both sides run in UTC so that [datetime] casts and Get-Date -Date read the same. */
const TZ = { TZ: 'UTC' };

/** A fresh state directory; for a hyperv/ script seeded by hvsim run with _seed.ps1. */
async function stateRoot(rel: string): Promise<string> {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  if (isHyperV(rel)) {
    const r = await runCliAsync(['--computer-name', HYPERV_COMPUTER, '--root', root, 'run', '--new-session', HYPERV_SEED], { env: { ...SIM_ENV, ...TZ } });
    if (r.code !== 0) throw new Error(`seeding ${root}: ${r.stderr}`);
  }
  return root;
}

/** What pwsh needs for a hyperv/ script: the module first on PSModulePath, talking to the built CLI on `root`. */
function moduleEnv(root: string): NodeJS.ProcessEnv {
  return {
    ...SIM_ENV,
    HVSIM_ROOT: root,
    HVSIM_CLI: cliBin(),
    HVSIM_NODE: process.execPath,
    HVSIM_COMPUTER_NAME: HYPERV_COMPUTER,
    PSModulePath: [MODULE_PATH, process.env['PSModulePath']].filter((x) => x).join(path.delimiter),
  };
}

async function runPwsh(rel: string): Promise<Result> {
  const file = path.join(CORPUS_DIR, rel);
  const extra = isHyperV(rel) ? moduleEnv(await stateRoot(rel)) : {};
  return new Promise((resolve, reject) => {
    const p = spawn(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', file], {
      cwd: path.dirname(file),
      env: pwshEnv({ ...TZ, ...extra }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // a script that hangs fails (its exit "status" is the signal) instead of stalling the run
    const timer = setTimeout(() => p.kill('SIGKILL'), PWSH_TIMEOUT_MS);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: String(code ?? signal) });
    });
  });
}

async function runHvsim(rel: string): Promise<Result> {
  const file = path.join(CORPUS_DIR, rel);
  const root = await stateRoot(rel);
  const host = isHyperV(rel) ? ['--computer-name', HYPERV_COMPUTER] : [];
  const r = await runCliAsync([...host, '--root', root, 'run', '--new-session', file], { cwd: path.dirname(file), env: { ...SIM_ENV, ...TZ } });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: String(r.code ?? r.signal) };
}

/** Run jobs `limit` at a time. */
async function pool(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe.skipIf(!ok)('hvsim run against pwsh -File: the differential corpus', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-ps-diff-'));
    const jobs: Array<() => Promise<void>> = [];
    for (const s of scripts) {
      jobs.push(async () => void hv.set(s, await runHvsim(s)));
      jobs.push(async () => void ps.set(s, await runPwsh(s)));
    }
    await pool(jobs, 2);
  }, 900_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it.skipIf(ONLY)('has at least 200 language scripts and the Hyper-V ones, and every listed script and kind exists', () => {
    expect(scripts.filter((s) => !isHyperV(s)).length).toBeGreaterThanOrEqual(200);
    expect(scripts.filter(isHyperV).length).toBeGreaterThan(0);
    for (const [s, streams] of Object.entries(known.scripts)) {
      expect(scripts, `known-differences.json lists ${s}`).toContain(s);
      for (const kinds of Object.values(streams)) for (const k of kinds) expect(Object.keys(known.kinds), `${s}: kind ${k}`).toContain(k);
    }
  });

  it.each(scripts)('%s', (s) => {
    const h = hv.get(s)!;
    const p = ps.get(s)!;
    const pwshPath = path.join(CORPUS_DIR, s);
    // hvsim refusing a script (2) means it does not belong in the corpus, unless it is listed
    for (const stream of STREAMS) {
      const listed = known.scripts[s]?.[stream] ?? [];
      const [a, b] = [h[stream], p[stream]];
      if (listed.length === 0) {
        expect(a, `${s}: ${stream} differs (hvsim first, pwsh second); fix hvsim or list it in known-differences.json`).toBe(b);
        continue;
      }
      expect(a, `${s}: ${stream} is listed in known-differences.json but no longer differs`).not.toBe(b);
      const normalising = listed.filter((k) => k in NORMALISERS);
      if (normalising.length < listed.length) continue; // an opaque kind: the stream may differ
      const [na, nb] = normalise(normalising, { text: a, script: pwshPath }, { text: b, script: pwshPath });
      expect(na, `${s}: ${stream} differs beyond the listed ${listed.join(', ')}`).toBe(nb);
      for (const k of normalising) {
        const without = normalising.filter((x) => x !== k);
        const [wa, wb] = normalise(without, { text: a, script: pwshPath }, { text: b, script: pwshPath });
        expect(wa, `${s}: ${stream}: the listed kind ${k} is not needed`).not.toBe(wb);
      }
    }
  });
});
