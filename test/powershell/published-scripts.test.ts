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

describe('published-style scripts 18-23 (issue 17: labelled loops, Get-Service, Tee-Object, ConvertTo-Html, $PSCmdlet …)', () => {
  const cat = (root: string, file: string): string => {
    const r = hvsim(root, ['files', '--cat', file]);
    expect(r.code).toBe(0);
    return r.stdout;
  };

  it('18: scheduled rotation: Get-Service vmms, $PSBoundParameters, a log function, :vmLoop with continue vmLoop, Start-Sleep -Milliseconds', async () => {
    const root = await host();
    const r = hvsim(root, ['run', '18-rotation-task.ps1']);
    expect([r.code, r.stderr, r.stdout]).toEqual([0, '', '']);
    const log = lines(cat(root, 'C:\\Scripts\\Logs\\CheckpointRotation.log'));
    expect(log[0]).toMatch(/^2024-01-25 \d\d:\d\d:\d\d \[INFO \] 18-rotation-task\.ps1 started on HV1 \(keep 2; parameters given: none\)$/);
    expect(log.slice(1, 4).map((l) => l.slice(20))).toEqual(['[INFO ] Created checkpoint \'AutoRotate 2024-01-25 0900\' on web01', '[INFO ] Created checkpoint \'AutoRotate 2024-01-25 0900\' on db01', '[INFO ] Created checkpoint \'AutoRotate 2024-01-25 0900\' on app01']);
    expect(log[4]).toMatch(/Finished: 3 created, 0 removed$/);
    // a second run keeping one: each VM's older rotation checkpoint goes, with -Verbose on the console
    const again = hvsim(root, ['run', '18-rotation-task.ps1', '-Keep', '1', '-Verbose']);
    expect(again.code).toBe(0);
    expect(lines(again.stdout)[0]).toBe('VERBOSE: 18-rotation-task.ps1 started on HV1 (keep 1; parameters given: Keep,Verbose)');
    expect(lines(again.stdout).at(-1)).toBe('VERBOSE: Finished: 3 created, 3 removed');
    expect((await snaps(root)).filter((x) => x.includes('AutoRotate'))).toEqual(['app01/AutoRotate 2024-01-25 0900', 'db01/AutoRotate 2024-01-25 0900', 'web01/AutoRotate 2024-01-25 0900']);
  });

  it('19: pre-patch CSV: Write-Progress, Measure-Command on the simulated clock, [ordered] rows, Sort-Object over numbers and text', async () => {
    const root = await host();
    const r = hvsim(root, ['run', '19-prepatch-csv.ps1']);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(['Report written to C:\\Reports\\PrePatch\\PrePatch_20240125.csv', 'VMName Status  Total', '------ ------  -----', 'app01  Created     1', 'web01  Created     3']);
    const again = hvsim(root, ['run', '19-prepatch-csv.ps1', '-IncludeOff']);
    expect(again.code).toBe(0);
    const csv = lines(cat(root, 'C:\\Reports\\PrePatch\\PrePatch_20240125.csv'));
    expect(csv[0]).toBe('"VMName","State","Checkpoint","Status","Seconds","Total"');
    // sorted by Seconds descending: the text "n/a" above the number (compared as text)
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 5).join(','))).toEqual([
      '"app01","Running","PrePatch_20240125","Exists","n/a"',
      '"web01","Running","PrePatch_20240125","Exists","n/a"',
      expect.stringMatching(/^"db01","Off","PrePatch_20240125","Created","\d+(\.\d)?"$/),
    ]);
  });

  it('20: lab rollback: $host.UI.RawUI, (Get-Date …)"text", a one-line switch, :reset with continue reset, List[string]', async () => {
    const root = await host();
    const r = hvsim(root, ['run', '20-lab-rollback.ps1']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^\d\d:\d\d$/),
      ' Lab reset starting',
      'app01   Application    no baseline, skipped',
      'db01    Database       restored to "Before patch"',
      'web01   Web server     restored to "Before deploy"',
      '2 of 3 VMs reset: db01, web01',
    ]);
    const h = Simulator.open({ storage: new DirectoryStorage(root), timeZone: 'UTC' });
    try {
      const [web] = await h.getVM(['web01']);
      // a checkpoint of a running VM holds its saved state: the VM comes back Saved (docs/hyperv.md)
      expect([web!.State, web!.ParentSnapshotName]).toEqual(['Saved', 'Before deploy']);
    } finally {
      h.close();
    }
  });

  it('21: HTML inventory: New-TimeSpan, if as a hashtable value, $_.\'Age (days)\', ConvertTo-Html fragments and page into Out-File', async () => {
    const root = await host();
    const r = hvsim(root, ['run', '21-inventory-html.ps1']);
    expect([r.code, r.stderr, r.stdout]).toEqual([0, '', 'Wrote C:\\Reports\\checkpoints.html (3 checkpoints)\n']);
    const html = cat(root, 'C:\\Reports\\checkpoints.html');
    expect(html.startsWith('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"')).toBe(true);
    expect(html).toContain('<tr><th>VM</th><th>Count</th><th>Oldest (days)</th></tr>\r\n<tr><td>db01</td><td>1</td><td>7</td></tr>\r\n<tr><td>web01</td><td>2</td><td>10</td></tr>');
    expect(html).toContain('<tr><td>web01</td><td>Before deploy</td><td>Standard</td><td>2024-01-24 09:00</td><td>1</td><td>Before update</td></tr>');
    expect(html).toContain('<h1>Hyper-V checkpoint inventory - HV1</h1><p>3 checkpoints, 1 older than 7 days</p>');
  });

  it('22: age cleanup across VMs: nested Where-Object blocks, Tee-Object -Variable, Group-Object, a merge wait', async () => {
    const root = await host();
    const r = hvsim(root, ['run', '22-remove-older-than.ps1']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(lines(r.stdout)).toEqual([
      'Removing checkpoints created before 1/18/2024 ...',
      'VMName Name          Age',
      '------ ----          ---',
      'web01  Before update  10',
      'db01   Before patch    7',
      'Removed 2 checkpoint(s): web01=1; db01=1',
      expect.stringMatching(/^Waiting for .+ to merge\.\.\.$/),
      'All merges finished.',
    ]);
    expect(await snaps(root)).toEqual(['web01/Before deploy']);
    expect(hvsim(root, ['run', '22-remove-older-than.ps1', '-Days', '0', '-Exclude', '*deploy*']).stdout).toContain('Nothing to do.');
  });

  it('23: [CmdletBinding(SupportsShouldProcess)] function: $PSCmdlet.ShouldProcess, -WhatIf, -Verbose, typed catch, $MyInvocation in a function', async () => {
    const root = await host();
    const dry = hvsim(root, ['run', '23-safe-checkpoint.ps1', '-WhatIf']);
    expect([dry.code, dry.stderr]).toEqual([0, '']);
    expect(lines(dry.stdout)).toEqual(['What if: Performing the operation "Create checkpoint \'Manual 20240125-0900\'" on target "web01".', "WARNING: Skipping nosuch: VM 'nosuch' does not exist"]);
    expect(await snaps(root)).toHaveLength(3);
    const r = hvsim(root, ['run', '23-safe-checkpoint.ps1', 'app01', '-Verbose']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(lines(r.stdout)).toEqual([
      'VERBOSE: [New-SafeCheckpoint] begin',
      "VERBOSE: Looking for VM 'app01'",
      'VERBOSE: [New-SafeCheckpoint] done with app01',
      'VERBOSE: [New-SafeCheckpoint] 1 checkpoint(s) created',
      'VMName Name                 Created',
      '------ ----                 -------',
      'app01  Manual 20240125-0900 2024-01-25 09:00',
      'VERBOSE: Script 23-safe-checkpoint.ps1 finished',
    ]);
    expect(await snaps(root)).toContain('app01/Manual 20240125-0900');
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
