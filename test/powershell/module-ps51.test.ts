/**
 * The hvsim module must load in Windows PowerShell 5.1 as well as in PowerShell 7 (docs/powershell.md,
 * "Windows PowerShell 5.1"). No 5.1 runs here, so what can be checked without Windows is checked:
 * - the module's PowerShell files use no syntax, cmdlet, parameter or variable that 5.1 lacks
 *   (test/helpers/ps51-syntax.ps1, through pwsh's own parser), and that check finds each such
 *   construct in test/fixtures/ps51/seven-only.ps1;
 * - HvsimTypes.cs, which 5.1's Add-Type compiles with the .NET Framework's C# 5 compiler, builds as
 *   C# 5 against the .NET Framework 4.8 and PowerShell 5.1 reference assemblies (NuGet packages
 *   Microsoft.NETFramework.ReferenceAssemblies and PowerShellStandard.Library), and that build
 *   refuses a C# 6 construct.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/hyperv/runner.js';
import { PWSH, pwshEnv, pwshGate, pwshRequired } from '../helpers/pwsh.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MODULE = path.join(ROOT, 'powershell');
const CHECK = path.join(ROOT, 'test', 'helpers', 'ps51-syntax.ps1');
const SEVEN_ONLY = path.join(ROOT, 'test', 'fixtures', 'ps51', 'seven-only.ps1');
const TYPES = path.join(MODULE, 'Hvsim', 'HvsimTypes.cs');

const ok = pwshGate();
const DOTNET = findOnPath('dotnet');
if (DOTNET === undefined && pwshRequired()) throw new Error('dotnet is required because HVSIM_REQUIRE_PWSH is set (the C# 5 check builds with it)');
if (DOTNET === undefined) console.warn('[dotnet] skipping the C# 5 check of HvsimTypes.cs: dotnet is not on PATH');

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-ps51-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** Every PowerShell file the npm package ships under powershell/. */
function moduleFiles(dir = MODULE): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return moduleFiles(p);
    return /\.ps[dm]?1$/i.test(e.name) ? [p] : [];
  });
}

function findings(files: string[]): string[] {
  const r = spawnSync(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', CHECK, ...files], { encoding: 'utf8', env: pwshEnv(), timeout: 120_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe.skipIf(!ok)('the module uses nothing Windows PowerShell 5.1 lacks', () => {
  it('no 6/7-only syntax, cmdlet, parameter or variable in the shipped PowerShell files', () => {
    const files = moduleFiles();
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['Hvsim.psm1', 'Hvsim.psd1', 'Hyper-V.psd1']));
    expect(findings(files)).toEqual([]);
  }, 120_000);

  it('the check finds each 6/7-only construct', () => {
    const got = findings([SEVEN_ONLY]).map((l) => l.replace(/^seven-only\.ps1:(\d+): .*$/, '$1'));
    const expected = fs
      .readFileSync(SEVEN_ONLY, 'utf8')
      .split('\n')
      .flatMap((l, i) => (l.trim() === '' || l.startsWith('#') ? [] : [String(i + 1)]));
    expect(got).toEqual(expected);
  }, 120_000);
});

/** Build `source` as C# 5 for .NET Framework 4.8 with PowerShell 5.1's reference assembly. */
function buildCs5(name: string, source: string): { status: number | null; out: string } {
  const dir = path.join(TMP, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Types.cs'), source);
  fs.writeFileSync(
    path.join(dir, 'check.csproj'),
    `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net48</TargetFramework>
    <LangVersion>5</LangVersion>
    <OutputType>Library</OutputType>
    <ImplicitUsings>disable</ImplicitUsings>
    <Nullable>disable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="PowerShellStandard.Library" Version="5.1.1" PrivateAssets="all" />
    <PackageReference Include="Microsoft.NETFramework.ReferenceAssemblies" Version="1.0.3" PrivateAssets="all" />
  </ItemGroup>
</Project>
`,
  );
  const r = spawnSync(DOTNET!, ['build', '-nologo', '-v', 'q', dir], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1', DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1' },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe.skipIf(DOTNET === undefined)('HvsimTypes.cs compiles as Windows PowerShell 5.1 compiles it', () => {
  it('builds as C# 5 against .NET Framework 4.8 and PowerShell 5.1', () => {
    const r = buildCs5('types', fs.readFileSync(TYPES, 'utf8'));
    expect(r.out).not.toMatch(/: error /);
    expect(r.status).toBe(0);
  }, 300_000);

  it('the same build refuses C# 6 (an interpolated string)', () => {
    const r = buildCs5('csharp6', 'namespace X { public class Y { public string Z(int a) { return $"{a}"; } } }\n');
    expect(r.out).toMatch(/CS8026/);
    expect(r.status).not.toBe(0);
  }, 300_000);
});
