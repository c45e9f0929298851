/**
 * Issue 17's remaining language gaps that the differential corpus cannot judge (pwsh on Linux has
 * no Get-Service, and hvsim never writes the user's files): Tee-Object -FilePath on the simulated
 * drive, Get-Service's model, the commands that stop the run saying why, Measure-Command on the
 * simulated clock, $Host.UI.RawUI, String.Substring's errors, and repair.ts (the grammar gaps it
 * bridges, and that it leaves strings and comments alone).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedFileSystem } from '../../src/host/files.js';
import { Facilities, UnsupportedError } from '../../src/powershell/index.js';
import { repairGrammarGaps } from '../../src/powershell/repair.js';
import { psSession, runPs, type PsRun } from '../helpers/powershell.js';
import { simHost } from '../helpers/sim-host.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-lang-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const START = Date.UTC(2025, 0, 15, 9, 0, 10);

async function run(src: string): Promise<PsRun> {
  const h = simHost({ computerName: 'HV1', startTime: START });
  await h.newVM({ name: 'web01' });
  return runPs(h, src, { facilities: new Facilities(root, null) });
}

const lines = (s: string): string[] => s.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

describe('cmdlets', () => {
  it('Tee-Object -FilePath writes what Out-File would on the simulated drive, -Append adds, and passes the objects on', async () => {
    const r = await run("New-Item -ItemType Directory C:\\Logs | Out-Null\n'one', 'two' | Tee-Object -FilePath C:\\Logs\\t.txt | ForEach-Object { \"got $_\" }\n'three' | Tee-Object C:\\Logs\\t.txt -Append | Out-Null");
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['got one', 'got two']);
    expect(new SimulatedFileSystem(path.join(root, 'files')).readFile('C:\\Logs\\t.txt').toString('utf8')).toBe('one\r\ntwo\r\nthree\r\n');
  });

  it('Get-Service: the model (vmms Running), wildcards, the table view, and PowerShell\'s error for an unknown name', async () => {
    const r = await run("(Get-Service vmms).Status -eq 'Running'\n(Get-Service -Name vm*).Name -join ','\n(Get-Service -DisplayName 'Windows Update').Status\nGet-Service vmms\nGet-Service nosuch -ErrorAction SilentlyContinue\n$Error[0].FullyQualifiedErrorId");
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['True', 'vmcompute,vmms', 'Stopped', 'Status  Name DisplayName', '------  ---- -----------', 'Running vmms Hyper-V Virtual Machine Management', 'NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand']);
  });

  for (const [line, why] of [
    ['Stop-Service vmms', 'Stop-Service (the simulated host\'s services are a fixed model'],
    ['Get-Process', 'Get-Process (the simulated host runs no programs)'],
    ['Get-WmiObject Win32_ComputerSystem', 'Get-WmiObject (WMI classes are not simulated'],
    ['Get-CimInstance Win32_OperatingSystem', 'Get-CimInstance (CIM classes are not simulated'],
  ] as const) {
    it(`${line.split(' ')[0]} stops the run when reached, saying why`, async () => {
      const e = await run(`'before'\nif ($false) { ${line} }\n${line}\n'after'`).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as UnsupportedError).line).toBe(3);
      expect((e as UnsupportedError).message).toContain(why);
    });
  }

  it('Measure-Command measures the simulated time the block took (a 90-second sleep), and drops its output', async () => {
    const r = await run('$t = Measure-Command { Start-Sleep -Seconds 90; "dropped" }\n$t.TotalSeconds');
    expect([r.err, lines(r.out)]).toEqual(['', ['90']]);
  });
});

describe('variables and methods', () => {
  it('$Host.UI.RawUI: a 5.1 console window; setting the title is accepted', async () => {
    const r = await run("$host.UI.RawUI.WindowTitle = 'Lab reset'\n$host.UI.RawUI.WindowSize.Width\n$Host.UI.RawUI.ForegroundColor");
    expect([r.err, lines(r.out)]).toEqual(['', ['120', 'DarkYellow']]);
  });

  it('String.Substring out of range is .NET\'s ArgumentOutOfRangeException, which try/catch takes', async () => {
    const r = await run("try { 'abc'.Substring(5) } catch { $_.Exception.Message }\n'abc'.Substring(1, 5)\n'abc'.Substring(3)");
    expect(r.out).toContain('Exception calling "Substring" with "1" argument(s): "startIndex cannot be larger than length of string.');
    expect(r.err).toContain('Exception calling "Substring" with "2" argument(s): "Index and length must refer to a location within the string.');
    expect(r.exitCode).toBe(0);
  });

  it('a script\'s -WhatIf holds for that script only: the session gets its $WhatIfPreference back', async () => {
    const s = psSession(simHost({ computerName: 'HV1', startTime: START }));
    await s.session.run('[CmdletBinding()] param()\n"in the script: $WhatIfPreference"', { args: ['-WhatIf'] });
    const r = await s.run('"after it: $WhatIfPreference"');
    expect(r.out).toBe('after it: False\n');
  });
});

describe('repair.ts: what tree-sitter-powershell cannot read', () => {
  it('labels: break/continue NAME gets its colon, in code only', () => {
    expect(repairGrammarGaps(':outer foreach ($i in 1) { continue outer }')).toBe(':outer foreach ($i in 1) { continue :outer }');
    expect(repairGrammarGaps("if ($x) { break  loop }\n'break outer'\n# continue outer\n\"$(1) continue outer\"")).toBe("if ($x) { break  :loop }\n'break outer'\n# continue outer\n\"$(1) continue outer\"");
  });

  it('a one-line switch gets a ; after each clause body; a script-block condition keeps its body', () => {
    expect(repairGrammarGaps('switch ($x) { a {1} b {2} default {3} }')).toBe('switch ($x) { a {1};b {2};default {3} }');
    expect(repairGrammarGaps('switch -Regex ($x) { {$_ -gt 3} {1} "x{2}" {2} }')).toBe('switch -Regex ($x) { {$_ -gt 3} {1};"x{2}" {2} }');
    expect(repairGrammarGaps('if ($a) {1} else {2}')).toBe('if ($a) {1} else {2}');
  });

  it('(expr)"text" becomes two arguments; a subexpression closing a string does not', () => {
    expect(repairGrammarGaps('Write-Output (Get-Date)"text"')).toBe('Write-Output (Get-Date) "text"');
    expect(repairGrammarGaps('"at $(Get-Date)" ; @"\n(x)"y\n"@')).toBe('"at $(Get-Date)" ; @"\n(x)"y\n"@');
  });
});
