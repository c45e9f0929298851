/**
 * Checkpoint scripts written the way published ones are (test/fixtures/ps-scripts/real/14–17):
 * `#Requires`, comment-based help, `[CmdletBinding()] param()` with validation, functions with
 * pipeline input, .NET statics, `$env:`, the simulated host's C:\ drive, Add-Content logs,
 * Export-VMSnapshot, Send-MailMessage, a list file beside the script, `switch`. Each runs through
 * the built CLI (`hvsim run FILE -Arg value`) on a state directory, as a user runs it, and the test
 * checks what it did to the host and its files. Then every real-world fixture is run once more to
 * count how many run (docs/powershell.md reports that count: "N of N real-world scripts").
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage } from '../../src/sim/storage.js';
import { runCli, SIM_ENV } from '../helpers/cli.js';
import { realScriptsHost } from '../helpers/sim-host.js';

const REAL = path.join(import.meta.dirname, '..', 'fixtures', 'ps-scripts', 'real');
const DOCS = path.join(import.meta.dirname, '..', '..', 'docs', 'powershell.md');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-published-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

let counter = 0;

/** realScriptsHost (test/helpers/sim-host.ts) in a state directory of its own. */
async function host(): Promise<string> {
  const root = path.join(TMP, `state-${++counter}`);
  (await realScriptsHost({ storage: new DirectoryStorage(root) })).close();
  return root;
}

function hvsim(root: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  return runCli(['--root', root, ...args], { env: { ...SIM_ENV, HVSIM_CLOCK: 'simulated' }, cwd: REAL });
}

async function snaps(root: string): Promise<string[]> {
  const h = Simulator.open({ storage: new DirectoryStorage(root), timeZone: 'UTC' });
  try {
    return (await h.getVMSnapshot({ vmNames: [] })).map((s) => `${s.VMName}/${s.Name}`).sort();
  } finally {
    h.close();
  }
}

const lines = (t: string): string[] => t.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

describe('published-style checkpoint scripts through hvsim run', () => {
  it('14: #Requires, [CmdletBinding()] param() from the command line, a pipeline function, [math]::Min, Write-Warning for a missing VM', async () => {
    const root = await host();
    // as with powershell -File, `-VMName web01,app01` would be one string: one name per run here
    const r = hvsim(root, ['run', '14-param-rolling.ps1', '-VMName', 'web01', '-Keep', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['web01: 1 rolling checkpoint(s) kept']);
    const missing = hvsim(root, ['run', '14-param-rolling.ps1', 'nosuch']);
    expect([missing.code, missing.stderr]).toEqual([0, '']);
    expect(lines(missing.stdout)).toEqual(['WARNING: VM nosuch not found on HV1']);
    expect((await snaps(root)).filter((s) => s.includes('Rolling'))).toHaveLength(1);
    // a second run (same minute) keeps one per VM: the older rolling one goes
    const again = hvsim(root, ['run', '14-param-rolling.ps1', '-VMName', 'web01', '-Keep', '1']);
    expect(again.code).toBe(0);
    expect((await snaps(root)).filter((s) => s.startsWith('web01/Rolling'))).toHaveLength(1);
    // validation as PowerShell binds it: -Keep 0 is outside [ValidateRange(1, 50)], nothing runs
    const bad = hvsim(root, ['run', '14-param-rolling.ps1', '-VMName', 'web01', '-Keep', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Cannot validate argument on parameter \'Keep\'');
  });

  it('15: [datetime]::Now, a switch parameter, Test-Path/New-Item/Join-Path/Add-Content on the simulated C:\\ drive, return', async () => {
    const root = await host();
    const dry = hvsim(root, ['run', '15-age-cleanup.ps1', '-Days', '5', '-WhatIfOnly']);
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toBe('2 checkpoint(s) handled; log: C:\\Logs\\Checkpoints\\cleanup-2024-01-25.log\n');
    expect((await snaps(root)).length).toBe(3);
    const r = hvsim(root, ['run', '15-age-cleanup.ps1', '-Days', '5']);
    expect(r.code).toBe(0);
    expect(await snaps(root)).toEqual(['web01/Before deploy']);
    const log = hvsim(root, ['files', '--cat', 'C:\\Logs\\Checkpoints\\cleanup-2024-01-25.log']);
    expect(log.code).toBe(0);
    const entries = lines(log.stdout);
    expect(entries).toHaveLength(4);
    expect(entries[0]).toMatch(/^2024-01-25T\d\d:\d\d:\d\d web01 {4}Before update \(10 days\) \[what if\]$/);
    expect(entries[2]).toMatch(/^2024-01-25T\d\d:\d\d:\d\d web01 {4}Before update \(10 days\)$/);
    // nothing left: the early return
    const none = hvsim(root, ['run', '15-age-cleanup.ps1', '-Days', '5']);
    expect(none.stdout).toBe('Nothing to remove.\n');
  });

  it('16: checkpoint, Export-VMSnapshot to C:\\Exports\\<day>, remove, ArrayList of [pscustomobject], Out-String into Send-MailMessage', async () => {
    const root = await host();
    const r = hvsim(root, ['run', '16-backup-export.ps1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['VM    Status', '--    ------', 'web01 OK', 'app01 OK']);
    // the backup checkpoints are gone again; the exports stay, in Hyper-V's layout
    expect(await snaps(root)).toEqual(['db01/Before patch', 'web01/Before deploy', 'web01/Before update']);
    const files = hvsim(root, ['files', 'C:\\Exports\\2024-01-25\\web01', '--json']);
    expect(files.code).toBe(0);
    expect(files.stdout).toContain('Virtual Hard Disks');
    const mail = hvsim(root, ['outbox', '--show', '1']);
    expect(mail.code).toBe(0);
    expect(mail.stdout).toContain('Subject: Hyper-V backup 2024-01-25 on HV1');
    expect(mail.stdout).toMatch(/^VM +Status Path *$/m);
    expect(mail.stdout).toMatch(/^web01 OK +C:\\Exports\\2024-01-25\\web01 *$/m);
  });

  it('17: a list file beside the script ($PSScriptRoot, Get-Content), [string]::IsNullOrWhiteSpace, switch ($true), a hashtable report', async () => {
    const root = await host();
    // db01 has no "Clean"; web01 gets one, then changes
    const h = Simulator.open({ storage: new DirectoryStorage(root), timeZone: 'UTC' });
    try {
      await h.checkpointVM(['web01'], { snapshotName: 'Clean' });
      await h.checkpointVM(['web01'], { snapshotName: 'Later' });
    } finally {
      h.close();
    }
    const r = hvsim(root, ['run', '--yes', path.join(REAL, '17-lab-reset.ps1')]);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(['db01     no Clean checkpoint', 'web01    restored']);
    const g = Simulator.open({ storage: new DirectoryStorage(root), timeZone: 'UTC' });
    try {
      expect((await g.getVM(['web01']))[0]!.ParentSnapshotName).toBe('Clean');
    } finally {
      g.close();
    }
  });
});

describe('the real-world fixtures', () => {
  it('every one runs under hvsim run (nothing refused, no internal error), and docs/powershell.md reports the count', async () => {
    const scripts = fs.readdirSync(REAL).filter((f) => f.endsWith('.ps1')).sort();
    const ARGS: Record<string, string[]> = { '14-param-rolling.ps1': ['-VMName', 'web01'] };
    let ran = 0;
    const failed: string[] = [];
    for (const s of scripts) {
      const root = await host();
      const r = hvsim(root, ['run', '--yes', s, ...(ARGS[s] ?? [])]);
      // 2: refused (a construct hvsim run does not take); 70: hvsim's own bug. 08 and 10 end in a
      // terminating error on purpose (exit 1), as they would in PowerShell.
      if (r.code !== 2 && r.code !== 70 && r.code !== null && !r.stderr.includes('not supported by hvsim run')) ran++;
      else failed.push(`${s}: exit ${r.code}: ${r.stderr.split('\n')[0]}`);
    }
    expect(failed).toEqual([]);
    expect(fs.readFileSync(DOCS, 'utf8')).toContain(`${ran} of ${scripts.length} real-world scripts`);
  }, 600_000);
});
