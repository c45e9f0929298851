/**
 * The simulated host's file system in hvsim run (src/host/files.ts, src/powershell/cmdlets/files.ts)
 * and the Windows facilities (outbox, event log, Read-Host; src/powershell/windows.ts). C:\ paths
 * cannot be compared with pwsh on Linux, so the expected output is PowerShell's documented
 * behaviour: Windows PowerShell 5.1's FileSystem view (FileSystem.format.ps1xml), PowerShell 7's
 * Export-Csv/ConvertTo-Json defaults, the cmdlets' documented errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedFileSystem } from '../../src/host/files.js';
import { Facilities, UnsupportedError } from '../../src/powershell/index.js';
import { runPs, type PsRun } from '../helpers/powershell.js';
import { simHost } from '../helpers/sim-host.js';

let root: string;
let userDir: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-files-'));
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-user-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(userDir, { recursive: true, force: true });
});

const START = Date.UTC(2025, 0, 15, 9, 0, 10);

function run(src: string, input: string[] | null = null): Promise<PsRun> {
  return runPs(simHost({ computerName: 'HV1', startTime: START }), src, { facilities: new Facilities(root, input) });
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

describe('drive paths live in the state directory', () => {
  it('C:\\Exports\\web01 is <state>/files/C/Exports/web01; names are case-insensitive and keep their first spelling', async () => {
    const r = await run("New-Item -ItemType Directory -Path C:\\Exports\\Web01 | Out-Null\nSet-Content C:\\exports\\WEB01\\notes.txt 'hello'\nTest-Path C:\\EXPORTS\\web01\\NOTES.TXT\nTest-Path C:\\Exports\\web02");
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['True', 'False']);
    expect(fs.readFileSync(path.join(root, 'files', 'C', 'Exports', 'Web01', 'notes.txt'), 'utf8')).toBe('hello\r\n');
  });

  it('Get-ChildItem prints the FileSystem view grouped by directory, times on the simulated clock', async () => {
    const r = await run(
      "New-Item -ItemType Directory C:\\Exports\\web01 | Out-Null\nSet-Content C:\\Exports\\web01\\vm.txt 'abc'\nSet-Content C:\\Exports\\readme.txt 'abcdef'\nGet-ChildItem C:\\Exports -Recurse",
    );
    expect(r.err).toBe('');
    expect(r.out.replace(/ +\n/g, '\n')).toBe(
      [
        '',
        '',
        '    Directory: C:\\Exports',
        '',
        '',
        'Mode                LastWriteTime         Length Name',
        '----                -------------         ------ ----',
        'd-----        1/15/2025   9:00 AM                web01',
        '-a----        1/15/2025   9:00 AM              8 readme.txt',
        '',
        '',
        '    Directory: C:\\Exports\\web01',
        '',
        '',
        'Mode                LastWriteTime         Length Name',
        '----                -------------         ------ ----',
        '-a----        1/15/2025   9:00 AM              5 vm.txt',
        '',
        '',
        '',
      ].join('\n'),
    );
  });

  it('item objects: Name FullName Length Extension PSIsContainer LastWriteTime; -File/-Directory/-Filter/-Name', async () => {
    const r = await run(
      [
        "New-Item -ItemType Directory 'C:\\Exports\\web01\\Virtual Hard Disks' -Force | Out-Null",
        "Set-Content -Path 'C:\\Exports\\web01\\Virtual Hard Disks\\disk.vhdx' -Value 'x' -NoNewline",
        "Set-Content C:\\Exports\\web01\\config.xml '<a/>'",
        '$f = Get-Item C:\\Exports\\web01\\config.xml',
        '"$($f.Name)|$($f.FullName)|$($f.Length)|$($f.Extension)|$($f.BaseName)|$($f.PSIsContainer)|$($f.DirectoryName)"',
        "$f.LastWriteTime.ToString('yyyy-MM-dd HH:mm:ss')",
        '(Get-Item C:\\Exports\\web01).PSIsContainer',
        '(Get-ChildItem C:\\Exports -Recurse -File).Name -join ","',
        '(Get-ChildItem C:\\Exports -Recurse -Directory).FullName -join ","',
        '(Get-ChildItem C:\\Exports -Recurse -Filter *.vhdx).Name',
        'Get-ChildItem C:\\Exports\\web01 -Name',
        '(Get-ChildItem C:\\Exports\\web01\\*.xml).Count',
        '(Get-ChildItem C:\\Exports -Recurse | Measure-Object -Property Length -Sum).Sum',
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual([
      'config.xml|C:\\Exports\\web01\\config.xml|6|.xml|config|False|C:\\Exports\\web01',
      '2025-01-15 09:00:10',
      'True',
      'config.xml,disk.vhdx',
      'C:\\Exports\\web01,C:\\Exports\\web01\\Virtual Hard Disks',
      'disk.vhdx',
      'Virtual Hard Disks',
      'config.xml',
      '1',
      '7',
    ]);
  });

  it('Get-Content -Raw/-Tail/-TotalCount, Add-Content, Out-File (-Append), CRLF line ends', async () => {
    const r = await run(
      [
        'New-Item C:\\Logs -ItemType Directory | Out-Null',
        "'one', 'two', 'three' | Set-Content C:\\Logs\\a.log",
        "Add-Content C:\\Logs\\a.log 'four'",
        'Get-Content C:\\Logs\\a.log -Tail 2',
        'Get-Content C:\\Logs\\a.log -TotalCount 1',
        '(Get-Content C:\\Logs\\a.log).Count',
        '(Get-Content C:\\Logs\\a.log -Raw).Length',
        "'first' | Out-File C:\\Logs\\b.txt",
        "'second' | Out-File C:\\Logs\\b.txt -Append",
        'Get-Content C:\\Logs\\b.txt',
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['three', 'four', 'one', '4', '23', 'first', 'second']);
    expect(fs.readFileSync(path.join(root, 'files', 'C', 'Logs', 'a.log'), 'utf8')).toBe('one\r\ntwo\r\nthree\r\nfour\r\n');
  });

  it('Export-Csv / Import-Csv with PowerShell 7 defaults (no #TYPE line, values quoted); -Append adds rows only', async () => {
    const r = await run(
      [
        'New-Item C:\\Reports -ItemType Directory | Out-Null',
        "[pscustomobject]@{ VM = 'web01'; Count = 2 }, [pscustomobject]@{ VM = 'db01'; Count = 0 } | Export-Csv C:\\Reports\\r.csv -NoTypeInformation",
        "[pscustomobject]@{ VM = 'app01'; Count = 5 } | Export-Csv C:\\Reports\\r.csv -Append",
        'Get-Content C:\\Reports\\r.csv',
        '$rows = Import-Csv C:\\Reports\\r.csv',
        '$rows.Count',
        '($rows | Where-Object { [int]$_.Count -gt 1 }).VM -join ","',
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['"VM","Count"', '"web01","2"', '"db01","0"', '"app01","5"', '3', 'web01,app01']);
  });

  it('ConvertTo-Json into a file and back; Copy-Item -Recurse, Move-Item, Rename-Item, Remove-Item -Recurse', async () => {
    const r = await run(
      [
        "New-Item C:\\Exports\\web01 -ItemType Directory -Force | Out-Null",
        "@{ Name = 'web01'; Disks = 2 } | ConvertTo-Json | Set-Content C:\\Exports\\web01\\vm.json",
        '(Get-Content C:\\Exports\\web01\\vm.json -Raw | ConvertFrom-Json).Disks',
        'Copy-Item C:\\Exports\\web01 C:\\Backup\\web01 -Recurse',
        'Test-Path C:\\Backup\\web01\\vm.json',
        'Move-Item C:\\Backup\\web01\\vm.json C:\\Backup\\vm.json',
        'Rename-Item C:\\Backup\\vm.json old.json',
        '(Get-ChildItem C:\\Backup -Recurse).Name -join ","',
        'Remove-Item C:\\Exports -Recurse',
        'Test-Path C:\\Exports',
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['2', 'True', 'web01,old.json', 'False']);
  });

  it('errors as PowerShell words them: a missing path, an existing item, a folder with children', async () => {
    const r = await run(
      [
        'Get-Content C:\\nothere.txt',
        'New-Item C:\\X -ItemType Directory | Out-Null',
        'New-Item C:\\X -ItemType Directory',
        "Set-Content C:\\X\\a.txt 'x'",
        "Set-Content C:\\Missing\\a.txt 'x'",
        'Remove-Item C:\\X',
        'Test-Path C:\\X\\a.txt',
      ].join('\n'),
    );
    expect(r.errors.map((e) => [e.message, e.fullyQualifiedErrorId, e.category])).toEqual([
      ["Cannot find path 'C:\\nothere.txt' because it does not exist.", 'PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand', 'ObjectNotFound'],
      ['An item with the specified name C:\\X already exists.', 'DirectoryExist,Microsoft.PowerShell.Commands.NewItemCommand', 'ResourceExists'],
      ["Could not find a part of the path 'C:\\Missing\\a.txt'.", 'PathNotFound,Microsoft.PowerShell.Commands.SetContentCommand', 'ObjectNotFound'],
      ['The item at C:\\X has children and the Recurse parameter was not specified.', 'IOError,Microsoft.PowerShell.Commands.RemoveItemCommand', 'WriteError'],
    ]);
    expect(lines(r.out)).toEqual(['True']);
  });

  it('Set-Location to a drive of the simulated host: relative paths are on it; Push-/Pop-Location; $PWD', async () => {
    const r = await run(
      [
        'New-Item C:\\Exports\\web01 -ItemType Directory | Out-Null',
        'Set-Location C:\\Exports',
        "Set-Content .\\web01\\a.txt 'in web01'",
        'Push-Location web01',
        '"$PWD"',
        'Get-Content a.txt',
        'Pop-Location',
        '(Get-Location).Path',
        'Test-Path \\Exports\\web01\\a.txt',
        'cd C:\\nothere',
      ].join('\n'),
    );
    expect(lines(r.out)).toEqual(['C:\\Exports\\web01', 'in web01', 'C:\\Exports', 'True']);
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual(['PathNotFound,Microsoft.PowerShell.Commands.SetLocationCommand']);
    expect(fs.existsSync(path.join(root, 'files', 'C', 'Exports', 'web01', 'a.txt'))).toBe(true);
  });

  it('-WhatIf on Remove-Item changes nothing and says what it would do', async () => {
    const r = await run("New-Item C:\\X -ItemType Directory | Out-Null\nRemove-Item C:\\X -WhatIf\nTest-Path C:\\X");
    expect(r.out).toBe('What if: Performing the operation "Remove Directory" on target "C:\\X".\nTrue\n');
  });
});

describe("the user's own files: read, never written", () => {
  it('a relative path and $PSScriptRoot read the real files beside the script', async () => {
    fs.writeFileSync(path.join(userDir, 'vms.txt'), 'web01\ndb01\n');
    const cwd = process.cwd();
    process.chdir(userDir);
    try {
      const h = simHost();
      const { psSession } = await import('../helpers/powershell.js');
      const s = psSession(h, { facilities: new Facilities(root) });
      const r = await s.run("Get-Content .\\vms.txt\n(Get-Content (Join-Path $PSScriptRoot 'vms.txt')).Count\nTest-Path ./vms.txt\nSet-Location /\nTest-Path vms.txt\nSet-Location $PSScriptRoot\n(Get-Content vms.txt)[1]", path.join(userDir, 'script.ps1'));
      expect(r.err).toBe('');
      expect(lines(r.out)).toEqual(['web01', 'db01', '2', 'True', 'False', 'db01']);
    } finally {
      process.chdir(cwd);
    }
  });

  it('writing, removing or moving outside the simulated drives fails, naming the path; the file is untouched', async () => {
    const file = path.join(userDir, 'keep.txt');
    fs.writeFileSync(file, 'mine');
    const r = await run(`Set-Content '${file}' 'gone'\nRemove-Item '${file}'\nOut-File -FilePath '${file}' -InputObject 'x'\n'still running'`);
    expect(fs.readFileSync(file, 'utf8')).toBe('mine');
    expect(r.errors).toHaveLength(3);
    for (const e of r.errors) {
      expect(e.message).toContain(`'${file}' is outside the simulated host's drives`);
      expect(e.category).toBe('PermissionDenied');
    }
    expect(r.out).toBe('still running\n');
  });

  it('a UNC path stops the run at its line', async () => {
    const e = await run("'before'\nTest-Path \\\\server\\share\\x").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toMatch(/^line 2: the UNC path \\\\server\\share\\x \(the simulated host has no network shares/);
  });
});

describe('[System.IO.File] / [System.IO.Directory] and transcripts', () => {
  it('File.Exists/WriteAllText/ReadAllText/ReadAllLines, Directory.Exists/CreateDirectory/GetFiles', async () => {
    const r = await run(
      [
        "[System.IO.Directory]::CreateDirectory('C:\\Data') | Out-Null",
        "[System.IO.File]::WriteAllText('C:\\Data\\a.txt', \"x`r`ny\")",
        "[System.IO.File]::Exists('C:\\Data\\a.txt')",
        "[System.IO.File]::Exists('C:\\Data')",
        "[System.IO.Directory]::Exists('C:\\Data')",
        "[System.IO.File]::ReadAllLines('C:\\Data\\a.txt').Count",
        "[System.IO.File]::ReadAllText('C:\\Data\\a.txt').Length",
        "[System.IO.Directory]::GetFiles('C:\\Data')",
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['True', 'False', 'True', '2', '4', 'C:\\Data\\a.txt']);
  });

  it('Start-Transcript copies the console output into a file of the simulated host', async () => {
    const r = await run("Start-Transcript -Path C:\\Logs\\t.txt\n'inside'\nWrite-Host 'host line'\nStop-Transcript\n'after'");
    expect(lines(r.out)).toEqual(['Transcript started, output file is C:\\Logs\\t.txt', 'inside', 'host line', 'Transcript stopped, output file is C:\\Logs\\t.txt', 'after']);
    const text = new SimulatedFileSystem(path.join(root, 'files')).readFile('C:\\Logs\\t.txt').toString('utf8');
    expect(text).toContain('Windows PowerShell transcript start\r\nStart time: 20250115090010\r\n');
    expect(text).toContain('inside\r\nhost line\r\n');
    expect(text).toContain('Windows PowerShell transcript end');
    expect(text).not.toContain('after');
  });
});

describe('Windows facilities', () => {
  it('Send-MailMessage and SmtpClient.Send deliver into the outbox', async () => {
    const r = await run(
      [
        "Send-MailMessage -To 'ops@example.com' -From 'hv1@example.com' -Subject 'Checkpoints done' -Body 'All 3 VMs' -SmtpServer smtp.example.com",
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.example.com', 587)",
        '$smtp.EnableSsl = $true',
        "$msg = New-Object System.Net.Mail.MailMessage('hv1@example.com', 'a@example.com', 'Report', 'body text')",
        "$msg.To.Add('b@example.com')",
        '$smtp.Send($msg)',
      ].join('\n'),
    );
    expect(r.err).toBe('');
    const box = new Facilities(root).outbox();
    expect(box.map((m) => m.name)).toEqual(['000001.eml', '000002.eml']);
    expect(box[0]!.text).toBe(
      'Date: Wed, 15 Jan 2025 09:00:10 +0000\r\nFrom: hv1@example.com\r\nTo: ops@example.com\r\nSubject: Checkpoints done\r\nX-Hvsim-Smtp-Server: smtp.example.com:25\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAll 3 VMs\r\n',
    );
    expect(box[1]!.text).toContain('To: a@example.com, b@example.com\r\nSubject: Report\r\nX-Hvsim-Smtp-Server: smtp.example.com:587\r\n');
  });

  it('New-EventLog / Write-EventLog / Get-EventLog over a simulated event log', async () => {
    const r = await run(
      [
        "New-EventLog -LogName Application -Source 'CheckpointScript'",
        "Write-EventLog -LogName Application -Source 'CheckpointScript' -EventId 1001 -EntryType Information -Message 'created 3'",
        "Write-EventLog -LogName Application -Source 'CheckpointScript' -EventId 1002 -EntryType Error -Message 'failed 1'",
        "Write-EventLog -LogName Application -Source 'Unknown' -EventId 1 -Message 'x'",
        '$e = Get-EventLog -LogName Application -Newest 1',
        '"$($e.EventID) $($e.EntryType) $($e.Message) $($e.Source)"',
        '(Get-EventLog Application -EntryType Information).Message',
      ].join('\n'),
    );
    expect(r.errors.map((e) => e.message)).toEqual(['The source name "Unknown" does not exist on computer "localhost".']);
    expect(lines(r.out)).toEqual(['1002 Error failed 1 CheckpointScript', 'created 3']);
  });

  it('Read-Host reads the --input lines, then fails as -NonInteractive PowerShell does', async () => {
    const r = await run("$a = Read-Host 'VM name'\n\"got $a\"\n$b = Read-Host 'Again'\n'end'", ['web01']);
    expect(lines(r.out)).toEqual(['VM name: web01', 'got web01', 'end']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(/^Windows PowerShell is in NonInteractive mode\. Read and Prompt functionality is not available\./);
    expect(r.errors[0]!.fullyQualifiedErrorId).toBe('InvalidOperation,Microsoft.PowerShell.Commands.ReadHostCommand');
  });

  it('Start-Process, Invoke-Command -VMName and the registry stop the run when reached, not before', async () => {
    for (const [cmd, what] of [
      ["Start-Process notepad.exe", /the simulated host runs no programs/],
      ["Invoke-Command -VMName web01 -ScriptBlock { hostname }", /PowerShell Direct/],
      ["Set-ItemProperty -Path HKLM:\\Software\\X -Name a -Value 1", /the registry is not simulated/],
      ["Test-Path HKLM:\\Software\\X", /hvsim simulates the FileSystem drives only/],
    ] as const) {
      const e = await run(`if ($false) { ${cmd} }\n'before'\n${cmd}`).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as Error).message).toMatch(/^line 3: /);
      expect((e as Error).message).toMatch(what);
    }
  });
});
