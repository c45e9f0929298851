/**
 * hvsim pwsh-module and hvsim run --pwsh (src/cli/commands/pwsh.ts): the module's path, and the
 * refusals that need no PowerShell (pwsh missing: exit 3 saying how to get it). Running scripts
 * in pwsh is test/powershell/module.test.ts's; the exit status passed through is checked below
 * when pwsh is present.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, SIM_ENV } from '../helpers/cli.js';
import { PWSH, pwshEnv, pwshGate } from '../helpers/pwsh.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-pwsh-cmd-'));

describe('hvsim pwsh-module', () => {
  it("prints the path of the module's manifest, which ships beside dist/", () => {
    const r = runCli(['pwsh-module']);
    expect(r.code).toBe(0);
    const p = r.stdout.trim();
    expect(r.stdout).toBe(p + '\n');
    expect(path.basename(p)).toBe('Hvsim.psd1');
    expect(fs.readFileSync(p, 'utf8')).toContain("RootModule = 'Hvsim.psm1'");
    for (const f of ['Hvsim.psm1', 'Hvsim.format.ps1xml', 'Hvsim.types.ps1xml', 'HvsimTypes.cs']) expect(fs.existsSync(path.join(path.dirname(p), f))).toBe(true);
    expect(fs.existsSync(path.join(path.dirname(p), '..', 'run', 'Hyper-V', 'Hyper-V.psd1'))).toBe(true);
  });
});

describe('hvsim run --pwsh refusals', () => {
  it('pwsh missing: exit 3, saying how to get it', () => {
    const dir = tmp();
    const script = path.join(dir, 's.ps1');
    fs.writeFileSync(script, 'exit 0\n');
    let r = runCli(['run', '--pwsh', script], { env: { HVSIM_PWSH: undefined, PATH: path.dirname(process.execPath) } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^hvsim: pwsh \(PowerShell 7\) is not on PATH: install it .* or set HVSIM_PWSH to its path; `hvsim run` without --pwsh needs no PowerShell\n$/);
    r = runCli(['run', '--pwsh', script], { env: { HVSIM_PWSH: path.join(dir, 'no-pwsh') } });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`hvsim: HVSIM_PWSH ${path.join(dir, 'no-pwsh')}: no such file\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a missing script is 3; --what-if, --yes and --host hyperv are refused with 2', () => {
    expect(runCli(['run', '--pwsh', 'no-such.ps1']).code).toBe(3);
    const r = runCli(['run', '--pwsh', '--what-if', 'no-such.ps1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hvsim: run --pwsh takes no --what-if, --yes or --new-session/);
    expect(runCli(['--host', 'hyperv', 'run', '--pwsh', 'no-such.ps1']).code).toBe(2);
  });
});

describe.skipIf(!pwshGate())('hvsim run --pwsh in pwsh', () => {
  it("passes the script's arguments and exit status through, on the state directory given", () => {
    const dir = tmp();
    const script = path.join(dir, 's.ps1');
    fs.writeFileSync(script, 'param([string]$Name, [int]$Code)\n"root=$env:HVSIM_ROOT name=$Name"\n(Get-VM).Name\nexit $Code\n');
    const root = path.join(dir, 'state');
    expect(runCli(['--root', root, 'new-vm', '--name', 'web01'], { env: SIM_ENV }).code).toBe(0);
    const r = runCli(['--root', root, 'run', '--pwsh', script, '--', '-Name', 'x y', '-Code', '7'], { env: { ...pwshEnv(SIM_ENV), HVSIM_PWSH: PWSH! } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
    expect(r.stdout).toBe(`root=${root} name=x y\nweb01\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
