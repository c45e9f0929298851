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
import { runCliAsync, SIM_ENV } from '../helpers/cli.js';
import { PWSH, pwshEnv, pwshGate } from '../helpers/pwsh.js';
import { CORPUS_DIR, NORMALISERS, STREAMS, corpusScripts, normalise, readKnown } from '../helpers/ps-diff.js';

interface Result {
  stdout: string;
  stderr: string;
  exitCode: string;
}

const ok = pwshGate();
const scripts = corpusScripts();
const known = readKnown();
const hv = new Map<string, Result>();
const ps = new Map<string, Result>();
let work: string;

/** Both sides run in UTC so that [datetime] casts and Get-Date -Date read the same. */
const TZ = { TZ: 'UTC' };

function runPwsh(file: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', file], {
      cwd: path.dirname(file),
      env: pwshEnv(TZ),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', reject);
    p.on('close', (code, signal) =>
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: String(code ?? signal) }),
    );
  });
}

async function runHvsim(rel: string): Promise<Result> {
  const file = path.join(CORPUS_DIR, rel);
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  const r = await runCliAsync(['--root', root, 'run', '--new-session', file], { cwd: path.dirname(file), env: { ...SIM_ENV, ...TZ } });
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
      jobs.push(async () => void ps.set(s, await runPwsh(path.join(CORPUS_DIR, s))));
    }
    await pool(jobs, 2);
  }, 900_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('has at least 200 scripts, and every listed script and kind exists', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(200);
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
