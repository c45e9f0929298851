/**
 * .NET members, the simulated environment, automatic variables, module-qualified names and
 * #Requires in hvsim run (src/powershell/statics.ts, environment.ts, requires.ts). What real pwsh
 * can judge on Linux is in test/fixtures/ps-diff/dotnet; these are the Windows-host values pwsh on
 * Linux cannot show ([System.IO.Path] with `\`, [Environment], $env:, the simulated
 * Administrator), with the expected values from Microsoft's .NET and PowerShell documentation.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../src/powershell/index.js';
import { psSession, runPs } from '../helpers/powershell.js';
import { simHost } from '../helpers/sim-host.js';

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

async function out(src: string): Promise<string[]> {
  const r = await runPs(simHost({ computerName: 'HV1' }), src);
  expect(r.err).toBe('');
  return lines(r.out);
}

describe('.NET static members (Windows host)', () => {
  it('[System.IO.Path] with Windows paths (Path class docs)', async () => {
    expect(
      await out(
        [
          "[System.IO.Path]::Combine('C:\\Exports', 'web01', 'vm.json')",
          "[IO.Path]::Combine('C:\\Exports\\', 'web01')",
          "[System.IO.Path]::Combine('C:\\a', 'D:\\b')",
          "[System.IO.Path]::GetFileName('C:\\Exports\\web01\\disk.vhdx')",
          "[System.IO.Path]::GetExtension('C:\\Exports\\web01\\disk.vhdx')",
          "[System.IO.Path]::GetFileNameWithoutExtension('C:\\Exports\\web01\\disk.vhdx')",
          "[System.IO.Path]::GetDirectoryName('C:\\Exports\\web01\\disk.vhdx')",
          "[System.IO.Path]::GetDirectoryName('C:\\disk.vhdx')",
          "$null -eq [System.IO.Path]::GetDirectoryName('C:\\')",
          '[System.IO.Path]::GetTempPath()',
          "[System.IO.Path]::ChangeExtension('C:\\a\\b.avhdx', '.vhdx')",
          "[System.IO.Path]::IsPathRooted('C:\\x')",
        ].join('\n'),
      ),
    ).toEqual([
      'C:\\Exports\\web01\\vm.json',
      'C:\\Exports\\web01',
      'D:\\b',
      'disk.vhdx',
      '.vhdx',
      'disk',
      'C:\\Exports\\web01',
      'C:\\',
      'True',
      'C:\\Users\\Administrator\\AppData\\Local\\Temp\\',
      'C:\\a\\b.vhdx',
      'True',
    ]);
  });

  it('[Environment] and [Net.Dns] name the simulated host and its Administrator', async () => {
    expect(
      await out(
        [
          '[Environment]::MachineName',
          '[System.Environment]::UserName',
          '[Environment]::UserDomainName',
          "[Environment]::NewLine -eq \"`r`n\"",
          "[Environment]::GetEnvironmentVariable('COMPUTERNAME')",
          "[Environment]::SetEnvironmentVariable('HVSIM_X', 'y')",
          '$env:HVSIM_X',
          "[Environment]::GetFolderPath('Desktop')",
          '[Environment]::Is64BitOperatingSystem',
          '[System.Net.Dns]::GetHostName()',
        ].join('\n'),
      ),
    ).toEqual(['HV1', 'Administrator', 'HV1', 'True', 'HV1', 'y', 'C:\\Users\\Administrator\\Desktop', 'True', 'HV1']);
  });

  it('the simulated user is an administrator: WindowsPrincipal.IsInRole, both ways scripts ask', async () => {
    const src = [
      '$id = [Security.Principal.WindowsIdentity]::GetCurrent()',
      '$id.Name',
      '$p = New-Object Security.Principal.WindowsPrincipal($id)',
      '$p.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)',
      '([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole] "Administrator")',
      "$p.IsInRole('BUILTIN\\Administrators')",
      '$p.IsInRole([Security.Principal.WindowsBuiltInRole]::Guest)',
      "if (-not ([Security.Principal.WindowsPrincipal]::new($id)).IsInRole('Administrators')) { throw 'not admin' } else { 'admin' }",
    ].join('\n');
    expect(await out(src)).toEqual(['HV1\\Administrator', 'True', 'True', 'True', 'False', 'admin']);
  });

  it('[guid]::NewGuid() is a new GUID each time; [version] compares by parts', async () => {
    const [a, b, n, t] = await out("$a = [guid]::NewGuid()\n$b = [guid]::NewGuid()\n\"$a\"\n\"$b\"\n$a.ToString('N').Length\n$a.GetType().FullName");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
    expect([n, t]).toEqual(['32', 'System.Guid']);
  });

  it('[datetime]::Now/Today/UtcNow read the simulated clock', async () => {
    const h = simHost({ startTime: Date.UTC(2024, 0, 15, 9, 30, 0) });
    const r = await runPs(h, "[datetime]::Now.ToString('yyyy-MM-dd HH:mm')\n[datetime]::Today.ToString('yyyy-MM-dd HH:mm')\n(Get-Date) -eq [datetime]::Now");
    // the test process runs in UTC (vitest.config.ts), so local time is the simulated UTC time
    expect(lines(r.out)).toEqual(['2024-01-15 09:30', '2024-01-15 00:00', 'True']);
  });

  it('an unknown static member stops the run when its line runs, naming it (not before)', async () => {
    const h = simHost();
    await h.newVM({ name: 'web01' });
    const e = await runPs(h, "Checkpoint-VM web01 -SnapshotName first\nif ($false) { [string]::Nope() }\n[math]::Frobnicate(2)\nCheckpoint-VM web01 -SnapshotName second").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toBe('line 3: the static method [math]::Frobnicate() is not supported by hvsim run');
    expect((await h.getVMSnapshot({ vmNames: ['web01'] })).map((s) => s.Name)).toEqual(['first']);
  });

  it('a method call that fails is a PowerShell error record (MethodInvocationException), and try/catch takes it', async () => {
    const r = await runPs(simHost(), "$l = @(1,2)\n$l.Add(3)\ntry { [int]::Parse('x') } catch { 'caught: ' + $_.Exception.Message }");
    expect(r.errors.map((e) => e.message)).toEqual(['Exception calling "Add" with "1" argument(s): "Collection was of a fixed size."']);
    expect(lines(r.out)).toEqual(['caught: Exception calling "Parse" with "1" argument(s): "Input string was not in a correct format."']);
  });
});

describe('the simulated environment and automatic variables', () => {
  it('$env: reads and writes a Windows-looking environment whose COMPUTERNAME is the simulated host', async () => {
    expect(
      await out(
        [
          '$env:COMPUTERNAME',
          '${env:USERNAME}',
          '$env:USERDOMAIN',
          '$env:temp',
          '$env:SystemRoot',
          '$env:windir',
          '$env:ProgramData',
          '$env:PROCESSOR_ARCHITECTURE',
          '$env:OS',
          '"$env:HOMEDRIVE$env:HOMEPATH"',
          '$env:USERPROFILE',
          "$env:MY_SETTING = 'on'",
          '"setting: $env:MY_SETTING"',
          '$env:MY_SETTING = $null',
          '$null -eq $env:MY_SETTING',
          "($env:Path -split ';')[0]",
        ].join('\n'),
      ),
    ).toEqual([
      'HV1',
      'Administrator',
      'HV1',
      'C:\\Users\\Administrator\\AppData\\Local\\Temp',
      'C:\\Windows',
      'C:\\Windows',
      'C:\\ProgramData',
      'AMD64',
      'Windows_NT',
      'C:\\Users\\Administrator',
      'C:\\Users\\Administrator',
      'setting: on',
      'True',
      'C:\\Windows\\system32',
    ]);
  });

  it('$PSVersionTable is Windows PowerShell 5.1 (Desktop); $Host, $PID, $HOME, $IsWindows', async () => {
    expect(
      await out(
        [
          '$PSVersionTable.PSVersion.Major',
          '$PSVersionTable.PSVersion.Minor',
          '"$($PSVersionTable.PSVersion)"',
          '$PSVersionTable.PSEdition',
          '$Host.Name',
          '$PID -gt 0',
          '$HOME',
          '$IsWindows',
          'if ($PSVersionTable.PSVersion.Major -lt 5) { "old" } else { "new enough" }',
        ].join('\n'),
      ),
    ).toEqual(['5', '1', '5.1.20348.2849', 'Desktop', 'ConsoleHost', 'True', 'C:\\Users\\Administrator', 'True', 'new enough']);
  });

  it('$PSScriptRoot, $PSCommandPath and $MyInvocation name the real script file', async () => {
    // from stdin: all empty, as in PowerShell
    const r = await runPs(simHost(), '"[$PSScriptRoot][$PSCommandPath]"');
    expect(r.out).toBe('[][]\n');
    const s = psSession(simHost());
    const r2 = await s.run('$PSScriptRoot\n$PSCommandPath\n$MyInvocation.MyCommand.Name\n$MyInvocation.MyCommand.Path', '/srv/scripts/backup.ps1');
    expect(lines(r2.out)).toEqual(['/srv/scripts', '/srv/scripts/backup.ps1', 'backup.ps1', '/srv/scripts/backup.ps1']);
  });

  it('$? is False after a command that wrote an error, True after one that did not', async () => {
    const h = simHost();
    expect(lines((await runPs(h, "Get-VM nothere -ErrorAction SilentlyContinue\n$?\nGet-VM\n$?\nWrite-Error 'x' -ErrorAction SilentlyContinue\n$?")).out)).toEqual(['False', 'True', 'False']);
  });
});

describe('module-qualified names and #Requires', () => {
  it('Hyper-V\\Get-VM runs Get-VM; a module that does not have the cmdlet does not find it', async () => {
    const h = simHost();
    await h.newVM({ name: 'web01' });
    const r = await runPs(h, "(Hyper-V\\Get-VM).Name\nMicrosoft.PowerShell.Management\\Split-Path C:\\Exports\\web01 -Leaf\nHyper-V\\Write-Output 'x'");
    expect(lines(r.out)).toEqual(['web01', 'web01']);
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual(['CommandNotFoundException']);
    expect(r.errors[0]!.message).toContain("The term 'Hyper-V\\Write-Output' is not recognized");
  });

  it('#Requires -Modules Hyper-V and -RunAsAdministrator are satisfied; -Version 5.1 passes', async () => {
    const r = await runPs(simHost(), '#Requires -RunAsAdministrator\n#Requires -Modules Hyper-V, @{ ModuleName = "Hyper-V"; ModuleVersion = "2.0.0.0" }\n#requires -version 5.1\n"ran"');
    expect(r.out).toBe('ran\n');
  });

  it('#Requires for another module, a newer PowerShell or the Core edition is refused before the run, naming the line', async () => {
    for (const [src, msg] of [
      ['"x"\n#Requires -Modules ActiveDirectory', /^line 2: #Requires -Modules ActiveDirectory \(hvsim run provides the Hyper-V module and PowerShell's own\) is not supported by hvsim run$/],
      ['#Requires -Version 7.2\n"x"', /^line 1: the script: #Requires -Version 7\.2 \(hvsim run imitates Windows PowerShell 5\.1\.20348\.2849;/],
      ['#Requires -PSEdition Core\n"x"', /^line 1: #Requires -PSEdition Core/],
    ] as const) {
      const e = await runPs(simHost(), src).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as Error).message).toMatch(msg);
    }
  });
});
