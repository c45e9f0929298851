/**
 * hvsim run's simulated file system, outbox and --input through the built CLI: what a script
 * writes to C:\… lands in <state>/files and `hvsim files` lists and prints it; mails go to the
 * outbox `hvsim outbox` shows; Read-Host reads --input; $PSScriptRoot reads the file beside the
 * script; --what-if leaves the state directory as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { okStdout, runCli, SIM_ENV, type CliResult } from '../helpers/cli.js';

let work: string;

function hv(root: string, args: string[], input?: string): CliResult {
  return runCli(args, { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root }, input });
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-cli-files-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('hvsim files / outbox / run --input', () => {
  it('a script writes C:\\Exports; hvsim files lists it and --cat prints a file', () => {
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    fs.writeFileSync(path.join(work, 'vms.txt'), 'web01\r\ndb01\r\n');
    const script = path.join(work, 'export.ps1');
    fs.writeFileSync(
      script,
      [
        "$names = Get-Content (Join-Path $PSScriptRoot 'vms.txt')",
        "New-Item -ItemType Directory -Path C:\\Exports -Force | Out-Null",
        "foreach ($n in $names) { Set-Content -Path \"C:\\Exports\\$n.txt\" -Value \"exported $n\" }",
        "Test-Path C:\\Exports\\web01.txt",
      ].join('\n'),
    );
    expect(okStdout(['run', script], hv(root, ['run', script]))).toBe('True\n');
    expect(fs.readFileSync(path.join(root, 'files', 'C', 'Exports', 'db01.txt'), 'utf8')).toBe('exported db01\r\n');
    const list = hv(root, ['files']);
    expect(list.stderr).toBe('');
    expect(list.stdout.split('\n').map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      'Type Length LastWriteTime Path',
      '---- ------ ------------- ----',
      'dir 2014-09-21T19:37:31Z C:\\Exports',
      'file 15 2014-09-21T19:37:31Z C:\\Exports\\db01.txt',
      'file 16 2014-09-21T19:37:31Z C:\\Exports\\web01.txt',
      '',
    ]);
    expect(hv(root, ['files', 'C:\\exports', '--json']).stdout).toContain('"Path": "C:\\\\Exports\\\\web01.txt"');
    const cat = hv(root, ['files', '--cat', 'c:\\Exports\\WEB01.txt']);
    expect(cat.stdout).toBe('exported web01\r\n');
    const missing = hv(root, ['files', '--cat', 'C:\\nothere.txt']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('hvsim: C:\\nothere.txt: no such file on the simulated host (hvsim files lists them)\n');
    const unc = hv(root, ['files', '\\\\server\\share']);
    expect(unc.code).toBe(1);
    expect(unc.stderr).toMatch(/UNC paths .* are not supported/);
  });

  it('Send-MailMessage lands in the outbox hvsim outbox shows; Read-Host reads --input', () => {
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    const script = path.join(work, 'mail.ps1');
    fs.writeFileSync(script, "$to = Read-Host 'Send the report to'\nSend-MailMessage -To $to -From 'hv@example.com' -Subject 'Nightly checkpoints' -Body 'ok' -SmtpServer mail.example.com\n'sent'");
    const input = path.join(work, 'answers.txt');
    fs.writeFileSync(input, 'ops@example.com\n');
    const r = hv(root, ['run', script, '--input', input]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Send the report to: ops@example.com\nsent\n');
    const box = hv(root, ['outbox']);
    expect(box.stdout.split('\n')[2]!.replace(/\s+/g, ' ').trim()).toBe('1 Sun, 21 Sep 2014 19:37:31 +0000 hv@example.com ops@example.com Nightly checkpoints');
    expect(hv(root, ['outbox', '--show', '1']).stdout).toContain('Subject: Nightly checkpoints\n');
    const noInput = hv(root, ['run', script]);
    expect(noInput.stderr).toContain('Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.');
  });

  it('--what-if runs on a copy: the files a script writes are not kept', () => {
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    const script = path.join(work, 'w.ps1');
    fs.writeFileSync(script, "New-Item C:\\Temp -ItemType Directory | Out-Null\nSet-Content C:\\Temp\\x.txt 'x'\nTest-Path C:\\Temp\\x.txt");
    const r = hv(root, ['run', '--what-if', script]);
    expect(r.stdout.startsWith('True\n')).toBe(true);
    expect(fs.existsSync(path.join(root, 'files'))).toBe(false);
  });
});
