/**
 * The hvsim module in real PowerShell 7 (powershell/Hvsim; docs/powershell.md, "The hvsim module"):
 * scripts run by pwsh with the module leave the simulated host as `hvsim run` leaves it — the
 * seed's four steps (through `hvsim run --pwsh`), the examples of Microsoft's cmdlet reference and
 * the real-world scripts of test/fixtures/ps-scripts — each run twice from one starting state
 * (copied), once by hvsim's interpreter and once by pwsh with the module, and the two hosts
 * compared. Then, in one pwsh process, what only the module can do and how it binds: functions,
 * param(), switch, splatting and .NET calls; pipeline input by value and by property name;
 * -WhatIf, -Confirm, -Passthru, -AsJob; typed values; error records with Hyper-V's ids; the
 * `Hyper-V` fixture module the real-host driver's Hyper-V\Get-VM reaches, its JSON read by
 * src/hyperv/decode.ts. pwsh starts are batched (one per group) as each costs about a second.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage, copyStateDirectory } from '../../src/sim/storage.js';
import type { VirtualMachine, VMSnapshot } from '../../src/host/host.js';
import { decodeSnapshot, decodeVM, decodeVMHost, parseCmdletJson, SNAPSHOT_PROPERTIES, VM_PROPERTIES, VMHOST_PROPERTIES } from '../../src/hyperv/decode.js';
import { MiB } from '../../src/vhd/common/bytes.js';
import { cliBin, okStdout, runCli, SIM_ENV } from '../helpers/cli.js';
import { runPs } from '../helpers/powershell.js';
import { PWSH, pwshEnv, pwshGate } from '../helpers/pwsh.js';

const ok = pwshGate();
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');
const SCRIPTS = path.join(FIXTURES, 'ps-scripts');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-module-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

let counter = 0;
const fresh = (name: string): string => path.join(TMP, `${++counter}-${name}`);

/** A state directory built through the library (simulated clock, UTC names, 8 MiB disks). */
async function build(root: string, opts: { computerName: string; startTime: number }, fn: (h: Simulator) => Promise<void>): Promise<void> {
  const h = Simulator.open({ storage: new DirectoryStorage(root), clockMode: 'simulated', timeZone: 'UTC', defaultDiskSize: 8 * MiB, ...opts });
  try {
    await fn(h);
  } finally {
    h.close();
  }
}

const open = (root: string): Simulator => Simulator.open({ storage: new DirectoryStorage(root), timeZone: 'UTC' });

interface Picture {
  vms: Array<Partial<VirtualMachine>>;
  snaps: Array<Partial<VMSnapshot>>;
}

/** What a script leaves: VM states and settings, checkpoints and their tree (times when the clock is simulated). */
function normalise(vms: VirtualMachine[], snaps: VMSnapshot[], times: boolean): Picture {
  return {
    vms: vms.map((v) => ({ Name: v.Name, State: v.State, CheckpointType: v.CheckpointType, Notes: v.Notes, MemoryStartup: v.MemoryStartup, ParentSnapshotName: v.ParentSnapshotName, ...(times ? { OperationalStatus: v.OperationalStatus } : {}) })),
    snaps: snaps
      .map((s) => ({ VMName: s.VMName, Name: s.Name, ParentSnapshotName: s.ParentSnapshotName, SnapshotType: s.SnapshotType, State: s.State, ...(times ? { CreationTime: s.CreationTime } : {}) }))
      .sort((a, b) => `${a.VMName}/${a.Name}`.localeCompare(`${b.VMName}/${b.Name}`)),
  };
}

async function picture(root: string, times: boolean): Promise<Picture> {
  const h = open(root);
  try {
    return normalise(await h.getVM(), await h.getVMSnapshot({ vmNames: [] }), times);
  } finally {
    h.close();
  }
}

/** Run a script file in pwsh (-File), with the environment the module needs. */
function pwsh(file: string, args: string[], env: Record<string, string>, cwd = TMP): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', file, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: pwshEnv({ ...SIM_ENV, HVSIM_CLI: cliBin(), HVSIM_NODE: process.execPath, ...env }),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The "@@key value" lines a wrapper script printed, by key (in order). */
function markers(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const hit = /^@@(\S+) ?(.*)$/.exec(line.trimEnd());
    if (hit) m.set(hit[1]!, [...(m.get(hit[1]!) ?? []), hit[2]!]);
  }
  return m;
}

const one = (m: Map<string, string[]>, key: string): string => {
  const v = m.get(key);
  if (!v || v.length !== 1) throw new Error(`marker @@${key}: ${JSON.stringify(v)}`);
  return v[0]!;
};

function writeScript(name: string, text: string): string {
  const f = path.join(TMP, name);
  fs.writeFileSync(f, text);
  return f;
}

const moduleManifest = (): string => okStdout(['pwsh-module'], runCli(['pwsh-module'])).trim();

/**
 * A wrapper for one pwsh process: each case's script runs in a runspace of its own (as
 * `pwsh -File` would run it: no enclosing try, so a statement-terminating error ends only the
 * statement), with the module imported there and its own state directory; it prints the objects
 * ("@@obj CASE Type VMName/Name"), the error ids and the exit status (1 after a terminating error,
 * N for exit N). The scripts were written for Windows, where `sort` is an alias of Sort-Object;
 * pwsh on Linux leaves it to /usr/bin/sort, so the runspace defines it.
 */
const CASES_WRAPPER = `param([string]$CasesFile)
$cases = Get-Content -Raw -LiteralPath $CasesFile | ConvertFrom-Json
foreach ($c in $cases) {
    $env:HVSIM_ROOT = $c.root
    $confirm = 'High'
    if ($c.yes) { $confirm = 'None' }
    $ps = [powershell]::Create()
    [void]$ps.AddScript('param($m, $f, $conf) Set-Alias sort Sort-Object; Import-Module $m; $ConfirmPreference = $conf; $global:LASTEXITCODE = 0; try { & $f } finally { Remove-Module Hvsim }; $LASTEXITCODE').AddArgument($env:HVSIM_MODULE).AddArgument($c.file).AddArgument($confirm)
    $code = 0
    $out = @()
    try { $out = @($ps.Invoke()) } catch { '@@terminating ' + $c.name + ' ' + $_.Exception.InnerException.ErrorRecord.FullyQualifiedErrorId; $code = 1 }
    if ($code -eq 0 -and $out.Count -gt 0) { $code = [int]$out[-1]; if ($out.Count -gt 1) { $out = $out[0..($out.Count - 2)] } else { $out = @() } }
    foreach ($o in $out) {
        if ($null -ne $o -and $o.PSObject.TypeNames[0] -like 'Microsoft.HyperV.PowerShell.*') { '@@obj ' + $c.name + ' ' + $o.PSObject.TypeNames[0].Split('.')[-1] + ' ' + $o.VMName + '/' + $o.Name }
    }
    foreach ($e in $ps.Streams.Error) { '@@err ' + $c.name + ' ' + $e.FullyQualifiedErrorId }
    $ps.Dispose()
    '@@done ' + $c.name + ' ' + $code
}
`;

interface Case {
  name: string;
  file: string;
  yes?: boolean;
  computerName?: string;
  startTime: number;
  build: (h: Simulator) => Promise<void>;
  /** Switch the built state to the wall clock (the module's scripts wait in real time). */
  wall?: boolean;
}

interface Twin {
  name: string;
  hvsim: { code: number; picture: Picture; out: string };
  pwsh: { code: number; picture: Picture; objects: string[]; errors: string[] };
}

/** Each case from one built state, run by hvsim's interpreter and by pwsh with the module (one pwsh process for all). */
async function twins(cases: Case[]): Promise<Twin[]> {
  const prepared = [];
  for (const c of cases) {
    const a = fresh(`${c.name}-hvsim`);
    const b = fresh(`${c.name}-pwsh`);
    await build(a, { computerName: c.computerName ?? 'HV01', startTime: c.startTime }, c.build);
    if (c.wall) {
      const f = path.join(a, 'state.json');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('"clockMode": "simulated"', '"clockMode": "wall"'));
    }
    copyStateDirectory(a, b);
    prepared.push({ c, a, b });
  }
  const casesFile = writeScript('cases.json', JSON.stringify(prepared.map(({ c, b }) => ({ name: c.name, root: b, file: c.file, yes: c.yes === true }))));
  const r = pwsh(writeScript('cases.ps1', CASES_WRAPPER), [casesFile], { HVSIM_MODULE: moduleManifest() });
  const m = markers(r.stdout);
  const done = new Map((m.get('done') ?? []).map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
  const out: Twin[] = [];
  for (const { c, a, b } of prepared) {
    if (!done.has(c.name)) throw new Error(`pwsh did not finish ${c.name}: ${r.stdout}\n${r.stderr}`);
    const h = open(a);
    let hv;
    try {
      hv = await runPs(h, fs.readFileSync(c.file, 'utf8'), { yes: c.yes === true });
    } finally {
      h.close();
    }
    const of = (key: string): string[] => (m.get(key) ?? []).filter((l) => l.startsWith(c.name + ' ')).map((l) => l.slice(c.name.length + 1));
    out.push({
      name: c.name,
      hvsim: { code: hv.exitCode, picture: await picture(a, !c.wall), out: hv.out },
      pwsh: { code: done.get(c.name)!, picture: await picture(b, !c.wall), objects: of('obj'), errors: of('err') },
    });
  }
  return out;
}

describe.skipIf(!ok)('the hvsim module in pwsh', { timeout: 600_000 }, () => {
  it('the seed\'s four steps through hvsim run --pwsh leave the host as hvsim run does (step 1 with its ″ fixed: pwsh refuses it as written)', async () => {
    const VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];
    const a = fresh('seed-hvsim');
    const b = fresh('seed-pwsh');
    await build(a, { computerName: 'xHost16', startTime: Date.parse(SIM_ENV.HVSIM_START_TIME) }, async (h) => {
      for (const v of VMS) await h.newVM({ name: v });
      await h.startVM(VMS);
    });
    copyStateDirectory(a, b);

    const wanted: Picture[] = [];
    for (let n = 1; n <= 4; n++) {
      const r = runCli(['run', path.join(SCRIPTS, `seed-step${n}.ps1`)], { env: { ...SIM_ENV, HVSIM_ROOT: a } });
      expect(r.code).toBe(0);
      wanted.push(await picture(a, true));
    }

    // One pwsh session, the steps dot-sourced in turn (variables carry over, as in one console);
    // after each, the host as another hvsim process sees it (the server holds no lock between calls).
    const wrapper = writeScript(
      'seed.ps1',
      `param([string]$Dir)
$errs = $null
$text = Get-Content -Raw -LiteralPath (Join-Path $Dir 'seed-step1.ps1')
[void][System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$null, [ref]$errs)
'@@step1-as-written ' + $errs.Count + ' ' + $errs[0].Message
foreach ($n in 1..4) {
    $text = (Get-Content -Raw -LiteralPath (Join-Path $Dir "seed-step$n.ps1")).Replace([string][char]0x2033, '"')
    . ([scriptblock]::Create($text))
    '@@vms ' + ((& $env:HVSIM_NODE $env:HVSIM_CLI get-vm --json) -join '')
    '@@snaps ' + ((& $env:HVSIM_NODE $env:HVSIM_CLI get-vmsnapshot --vm-name '*' --json) -join '')
}
`,
    );
    const r = runCli(['run', '--pwsh', wrapper, SCRIPTS], { env: { ...SIM_ENV, HVSIM_ROOT: b, HVSIM_PWSH: PWSH!, ...pwshEnv({}) } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = markers(r.stdout);
    expect(one(m, 'step1-as-written')).toMatch(/^\d+ Unexpected token 'V-2012R2-Test1″' in expression or statement\.$/);
    const vms = m.get('vms')!;
    const snaps = m.get('snaps')!;
    expect(vms).toHaveLength(4);
    for (let i = 0; i < 4; i++) {
      const got = normalise(JSON.parse(vms[i]!) as VirtualMachine[], JSON.parse(snaps[i]!) as VMSnapshot[], true);
      expect({ step: i + 1, ...got }).toEqual({ step: i + 1, ...wanted[i]! });
    }
    expect(wanted[1]!.snaps.map((s) => s.VMName)).toEqual(VMS); // step 2 did checkpoint all three
    // the confirmation tables (FT -AutoSize) in pwsh's own format
    expect(r.stdout).toMatch(/VMName +State +ComputerName\n-+ +-+ +-+\nSSTest1 +Saved +xHost16\n/);
  });

  it("Microsoft's cmdlet reference examples leave the host as hvsim run does", async () => {
    const docs = (f: string): string => path.join(SCRIPTS, 'docs', `${f}.ps1`);
    const start = Date.now() - 100 * DAY;
    const vm = async (h: Simulator, name: string, checkpoints: string[] = [], running = true): Promise<void> => {
      await h.newVM({ name, checkpointType: 'Standard' });
      if (running) await h.startVM([name]);
      for (const c of checkpoints) await h.checkpointVM([name], { snapshotName: c });
    };
    const testVM = (checkpoints: string[]) => async (h: Simulator): Promise<void> => {
      await vm(h, 'TestVM', checkpoints);
      await vm(h, 'Other', ['Other base']);
      await h.advance(100 * DAY); // the host's clock is now about the real time pwsh's Get-Date reads
    };
    const cases: Case[] = [
      { name: 'cp1', file: docs('Checkpoint-VM-example1'), startTime: start, build: (h) => vm(h, 'Test') },
      { name: 'cp2', file: docs('Checkpoint-VM-example2'), startTime: start, computerName: 'Server1', build: (h) => vm(h, 'Test') },
      { name: 'cp2-elsewhere', file: docs('Checkpoint-VM-example2'), startTime: start, build: (h) => vm(h, 'Test') },
      ...[1, 2, 3, 4].map((n) => ({ name: `get${n}`, file: docs(`Get-VMSnapshot-example${n}`), startTime: start, build: testVM(['Base', 'Before applying updates', 'After updates']) })),
      { name: 'remove1', file: docs('Remove-VMSnapshot-example1'), startTime: start, build: testVM(['Experiment1', 'Keep', 'Experiment2']) },
      {
        name: 'remove2',
        file: docs('Remove-VMSnapshot-example2'),
        startTime: start,
        build: async (h) => {
          await vm(h, 'TestVM', ['old 1', 'old 2']);
          await h.advance(95 * DAY);
          await h.checkpointVM(['TestVM'], { snapshotName: 'recent' });
          await h.advance(5 * DAY);
        },
      },
      { name: 'rename1', file: docs('Rename-VMSnapshot-example1'), startTime: start, build: testVM(['Configuration 1', 'Configuration 2']) },
      { name: 'restore1', file: docs('Restore-VMSnapshot-example1'), startTime: start, build: testVM(['Base image', 'Later']) },
      { name: 'restore1-yes', file: docs('Restore-VMSnapshot-example1'), yes: true, startTime: start, build: testVM(['Base image', 'Later']) },
      {
        name: 'restore2',
        file: docs('Restore-VMSnapshot-example2'),
        startTime: start,
        build: async (h) => {
          for (const n of ['A', 'B']) {
            await vm(h, n, [`${n}-old`]);
            await h.advance(DAY);
            await h.checkpointVM([n], { snapshotName: `${n}-new` });
            await h.restoreVMSnapshot({ vmName: n, name: `${n}-old` });
          }
        },
      },
    ];
    const results = await twins(cases);
    for (const t of results) {
      expect({ case: t.name, code: t.pwsh.code, picture: t.pwsh.picture }).toEqual({ case: t.name, code: t.hvsim.code, picture: t.hvsim.picture });
    }
    const by = (n: string): Twin => results.find((t) => t.name === n)!;
    // they did something, and the read-only ones wrote what the docs say
    expect(by('cp1').pwsh.picture.snaps.map((s) => s.Name)).toEqual(['BeforeInstallingUpdates']);
    expect(by('cp2').pwsh.picture.snaps[0]!.Name).toMatch(/^Test - \(\d+\/\d+\/\d{4} - \d+:\d\d:\d\d [AP]M\)$/);
    expect(by('cp2-elsewhere').pwsh.errors).toEqual(['HyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVM']);
    expect(by('get1').pwsh.objects).toEqual(['VMSnapshot TestVM/Base', 'VMSnapshot TestVM/Before applying updates', 'VMSnapshot TestVM/After updates']);
    expect(by('get2').pwsh.objects).toEqual(by('get1').pwsh.objects);
    expect(by('get3').pwsh.objects).toEqual(['VMSnapshot TestVM/Base']);
    expect(by('get4').pwsh.objects).toEqual(['VMSnapshot TestVM/After updates']);
    expect(by('remove1').pwsh.picture.snaps.filter((s) => s.VMName === 'TestVM').map((s) => s.Name)).toEqual(['Keep']);
    expect(by('remove2').pwsh.picture.snaps.filter((s) => s.VMName === 'TestVM').map((s) => s.Name)).toEqual(['recent']);
    expect(by('rename1').pwsh.picture.snaps.map((s) => s.Name)).toContain('Configuration 2: applied all updates');
    // ConfirmImpact High in a non-interactive session: PowerShell's own refusal, nothing restored
    expect(by('restore1').pwsh.errors).toHaveLength(1);
    expect(by('restore1').pwsh.picture.vms.find((v) => v.Name === 'TestVM')!.ParentSnapshotName).toBe('Later');
    expect(by('restore1-yes').pwsh.picture.vms.find((v) => v.Name === 'TestVM')).toMatchObject({ ParentSnapshotName: 'Base image', State: 'Saved' });
    expect(by('restore2').pwsh.picture.vms.filter((v) => v.Name === 'A' || v.Name === 'B').map((v) => v.ParentSnapshotName)).toEqual(['A-new', 'B-new']);
  });

  it('the real-world scripts leave the host as hvsim run does (wall clock: the module waits in real time)', async () => {
    const start = Date.now() - 10 * DAY;
    const build = async (h: Simulator): Promise<void> => {
      for (const [n, running] of [['web01', true], ['db01', false], ['app01', true]] as const) {
        await h.newVM({ name: n, checkpointType: 'Standard' });
        if (running) await h.startVM([n]);
      }
      // ages 10 d, 7 d + 1 h, 1 d - 1 h: an hour away from the scripts' 7-day cut-off, as the
      // host's clock (ahead of real time by the operations' simulated cost) and pwsh's Get-Date
      // (real time) differ by seconds
      await h.checkpointVM(['web01'], { snapshotName: 'Before update' });
      await h.advance(3 * DAY - HOUR);
      await h.checkpointVM(['db01'], { snapshotName: 'Before patch' });
      await h.advance(6 * DAY + 2 * HOUR);
      await h.checkpointVM(['web01'], { snapshotName: 'Before deploy' });
      await h.advance(DAY - HOUR);
    };
    // 14–17 write to the simulated host's C:\ drive, its outbox and log, which only hvsim run
    // simulates: with the module, a script runs in your own PowerShell on your own file system
    // (test/powershell/published-scripts.test.ts runs them through hvsim run)
    const files = fs.readdirSync(path.join(SCRIPTS, 'real')).filter((f) => f.endsWith('.ps1') && Number(f.slice(0, 2)) <= 13).sort();
    expect(files).toHaveLength(13);
    const results = await twins(files.map((f) => ({ name: f.slice(0, 2), file: path.join(SCRIPTS, 'real', f), computerName: 'HV1', startTime: start, build, wall: true })));
    for (const t of results) {
      expect({ script: t.name, code: t.pwsh.code, picture: t.pwsh.picture }).toEqual({ script: t.name, code: t.hvsim.code, picture: t.hvsim.picture });
    }
    // not vacuous: most scripts changed the host
    const initial = results.find((t) => t.name === '04')!.hvsim.picture; // 04 only reports
    expect(results.filter((t) => JSON.stringify(t.pwsh.picture) !== JSON.stringify(initial)).length).toBeGreaterThanOrEqual(9);
  });

  it("Merge-VHD: a relative -Path resolved against PowerShell's location, -WhatIf, -Passthru's VirtualHardDisk, a VM's disk refused", async () => {
    const root = fresh('merge-vhd');
    await build(root, { computerName: 'HV01', startTime: Date.parse(SIM_ENV.HVSIM_START_TIME) }, async (h) => {
      await h.newVM({ name: 'web01' });
    });
    const disks = fresh('merge-vhd-disks');
    fs.mkdirSync(disks);
    const env = { env: { ...SIM_ENV, HVSIM_ROOT: root } };
    expect(runCli(['new-vhd', path.join(disks, 'base.vhdx'), '--size', '4M'], env).code).toBe(0);
    expect(runCli(['new-vhd', path.join(disks, 'child.avhdx'), '--parent', path.join(disks, 'base.vhdx')], env).code).toBe(0);
    const script = writeScript(
      'merge-vhd.ps1',
      `Import-Module $env:HVSIM_MODULE
Set-Location -LiteralPath $env:DISKS
Merge-VHD child.avhdx -WhatIf
'@@whatif ' + (Test-Path child.avhdx)
$v = Merge-VHD child.avhdx -Passthru
'@@passthru ' + $v.PSObject.TypeNames[0] + ' ' + ($v.Path -eq (Join-Path $env:DISKS 'base.vhdx')) + ' ' + $v.VhdType + ' ' + $v.Attached + ' ' + (Test-Path child.avhdx)
try { Merge-VHD -Path (Get-VMHardDiskDrive -VMName web01).Path -ErrorAction Stop } catch { '@@attached ' + $_.FullyQualifiedErrorId + ' | ' + $_.CategoryInfo.Category }
`,
    );
    const r = pwsh(script, [], { HVSIM_MODULE: moduleManifest(), HVSIM_ROOT: root, DISKS: disks });
    const m = markers(r.stdout);
    expect(r.stderr).toMatch(/^$|^\s*$/);
    expect(r.stdout).toContain(`What if: Performing the operation "Merge-VHD" on target "${path.join(disks, 'child.avhdx')}".`);
    expect(one(m, 'whatif')).toBe('True');
    expect(one(m, 'passthru')).toBe('Microsoft.Vhd.PowerShell.VirtualHardDisk True Dynamic False False');
    expect(one(m, 'attached')).toBe('InvalidOperation,Microsoft.Vhd.PowerShell.Cmdlets.MergeVHD | InvalidOperation');
  });

  it('runs what hvsim run refuses, binds as Hyper-V does, and answers with typed objects and Hyper-V error records', async () => {
    const root = fresh('features');
    await build(root, { computerName: 'HV01', startTime: Date.parse(SIM_ENV.HVSIM_START_TIME) }, async (h) => {
      await h.newVM({ name: 'web01', checkpointType: 'Standard' });
      await h.newVM({ name: 'db01' });
      await h.startVM(['web01']);
      await h.checkpointVM(['web01'], { snapshotName: 'base' });
    });
    const exportDir = fresh('export');
    fs.mkdirSync(exportDir);
    // functions, param(), switch, splatting, ranges, here-strings and .NET static calls run in hvsim
    // run; a class definition is refused when its line runs (exit 2), and runs in pwsh with the module
    const language = writeScript(
      'language.ps1',
      `param([string]$Target = 'web01')
function Get-SnapshotNames {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string]$Vm)
    (Get-VMSnapshot -VMName $Vm | Sort-Object CreationTime).Name
}
$p = @{ VMName = $Target; Name = 'base' }
'@@splat ' + (Get-VMSnapshot @p).Name
switch ((Get-VM $Target).State) { 'Running' { '@@switch running' } default { '@@switch other' } }
'@@dotnet ' + [math]::Round(2.5) + ' ' + [string]::Join('+', @(Get-SnapshotNames -Vm $Target)) + ' ' + (1..3 -join '')
$h = @"
here $Target
"@
'@@here ' + $h
class Tally { [int]$Count }
$t = [Tally]::new(); $t.Count = @(Get-VMSnapshot -VMName $Target).Count + 1
'@@class ' + $t.Count
`,
    );
    const refused = runCli(['run', language], { env: { ...SIM_ENV, HVSIM_ROOT: root } });
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringMatching(/line 15: class definitions are not supported by hvsim run/)]);

    const props = (list: readonly string[]): string => list.map((p) => `'${p}'`).join(',');
    const script = writeScript(
      'features.ps1',
      `Import-Module $env:HVSIM_MODULE
# Windows PowerShell 5.1 syntax: none of PowerShell 7's operators (?? ?. ?[ ternary && ||) in the module
$seven = 'QuestionQuestion', 'QuestionQuestionEquals', 'QuestionDot', 'QuestionLBracket', 'QuestionMark', 'AndAnd', 'OrOr'
$found = foreach ($f in Get-ChildItem -LiteralPath (Split-Path $env:HVSIM_MODULE) -Filter *.ps*1) {
    $tokens = $null; $errs = $null
    [void][System.Management.Automation.Language.Parser]::ParseFile($f.FullName, [ref]$tokens, [ref]$errs)
    foreach ($t in $tokens) { if ($seven -contains [string]$t.Kind) { $f.Name + ':' + $t.Extent.StartLineNumber + ':' + $t.Text } }
    foreach ($e in $errs) { $f.Name + ':' + $e.Message }
}
'@@ps7-syntax ' + (@($found) -join ' ')
. $env:LANGUAGE_SCRIPT
$vm = Get-VM web01
'@@state ' + $vm.State.GetType().FullName + ' ' + ($vm.State -eq 'Running') + ' ' + ($vm | Select-Object State | ConvertTo-Json -Compress)
'@@types ' + $vm.CreationTime.GetType().Name + ' ' + $vm.Uptime.GetType().Name + ' ' + $vm.Id.GetType().Name + ' ' + $vm.HardDrives[0].ControllerType.GetType().FullName
'@@typenames ' + ($vm.PSObject.TypeNames -join ',')
'@@tostring ' + "$vm"
'@@command ' + (Get-Command Checkpoint-VM).CmdletBinding + ' ' + ((Get-Command Checkpoint-VM).ParameterSets.Name -join ',') + ' ' + (Get-Command Get-VM).Parameters['Name'].Aliases[0]
# pipeline input by value: strings, VM objects, checkpoint objects
'@@by-value-strings ' + (('web01', 'db01' | Get-VM).Name -join ',')
Get-VM web01 | Checkpoint-VM -SnapshotName piped
'@@by-value-vm ' + ((Get-VMSnapshot -VMName web01).Name -join ',')
Get-VMSnapshot -VMName web01 -Name piped | Rename-VMSnapshot -NewName renamed
'@@by-value-snapshot ' + ((Get-VMSnapshot -VMName web01).Name -join ',')
# by property name
'@@by-property-id ' + ([pscustomobject]@{ Id = $vm.Id } | Get-VM).Name
[pscustomobject]@{ Name = 'made' } | New-VM | Out-Null
'@@by-property-name ' + (Get-VM made).Name
# -WhatIf and -Passthru
Stop-VM web01 -WhatIf
'@@after-whatif ' + (Get-VM web01).State
'@@passthru ' + (Suspend-VM web01 -Passthru).State + ' ' + (Resume-VM web01 -Passthru).State + ' ' + (@(Start-VM db01)).Count
# error records
Get-VM nosuch -ErrorAction SilentlyContinue
$e = $Error[0]
'@@error ' + $e.FullyQualifiedErrorId + ' | ' + $e.CategoryInfo.Category + ' | ' + $e.Exception.GetType().FullName + ' | ' + $e.CategoryInfo.Activity + ' | ' + $e.Exception.Message
try { Get-VM nosuch -ErrorAction Stop } catch [Microsoft.HyperV.PowerShell.VirtualizationException] { '@@stop ' + $_.FullyQualifiedErrorId }
'@@wait ' + (Wait-VM web01 -For Heartbeat -Passthru).Name
Wait-VM web01 -For IPAddress -Timeout 5 -ErrorAction SilentlyContinue
'@@wait-timeout ' + $Error[0].FullyQualifiedErrorId + ' | ' + $Error[0].CategoryInfo.Category
Get-VM -ComputerName elsewhere -ErrorAction SilentlyContinue
'@@remote ' + $Error[0].FullyQualifiedErrorId + ' | ' + $Error[0].CategoryInfo.Category
try { Restore-VMSnapshot -VMName web01 -Name base -ErrorAction Stop } catch { '@@confirm-noninteractive ' + $_.FullyQualifiedErrorId }
Restore-VMSnapshot -VMName web01 -Name base -Confirm:$false
'@@restored ' + (Get-VM web01).State + ' ' + (Get-VM web01).ParentSnapshotName
# -AsJob: the call runs at once; the job holds what it wrote
$j = Checkpoint-VM db01 -SnapshotName job -AsJob -Passthru
'@@job ' + $j.GetType().Name + ' ' + $j.State + ' ' + (Receive-Job $j).Name + ' ' + ((Get-Job -Id $j.Id).Id -eq $j.Id)
'@@alias ' + (Get-Alias Get-VMCheckpoint).Definition + ' ' + (Get-VMCheckpoint -VMName db01).Name
# a call stopped part-way (Select-Object -First 1 stops the upstream command; an error ends a
# prompt): the next call still gets its own answers
'@@first ' + (@(Get-VM db01, made | Checkpoint-VM -SnapshotName first -Passthru | Select-Object -First 1).VMName) + ' ' + @(Get-VMSnapshot -VMName made).Count + ' ' + (Get-VM made).Name
Export-VMSnapshot -VMName db01 -Name job -Path $env:EXPORT_DIR
'@@exported ' + @(Get-ChildItem -Recurse -File -LiteralPath $env:EXPORT_DIR).Count
# the Hyper-V fixture module: what the real-host driver's Hyper-V\\Get-VM reaches (it loads the
# same psm1, so the Hvsim module goes first: PowerShell would otherwise take it for the same module)
Remove-Module Hvsim
$env:PSModulePath = $env:FIXTURE_MODULES + [IO.Path]::PathSeparator + $env:PSModulePath
'@@hv-vm ' + (Hyper-V\\Get-VM | Select-Object -Property ${props(VM_PROPERTIES)} | ConvertTo-Json -Depth 4 -Compress)
'@@hv-snap ' + (Hyper-V\\Get-VMSnapshot -VMName web01 | Select-Object -Property ${props(SNAPSHOT_PROPERTIES)} | ConvertTo-Json -Depth 4 -Compress)
'@@hv-module ' + (Get-Command Hyper-V\\Get-VM).ModuleName
'@@hv-host ' + (Hyper-V\\Get-VMHost | Select-Object -Property ${props(VMHOST_PROPERTIES)} | ConvertTo-Json -Depth 4 -Compress)
`,
    );
    const r = pwsh(script, [], {
      HVSIM_MODULE: moduleManifest(),
      HVSIM_ROOT: root,
      LANGUAGE_SCRIPT: language,
      EXPORT_DIR: exportDir,
      FIXTURE_MODULES: path.join(FIXTURES, 'pwsh-modules'),
    });
    const m = markers(r.stdout);
    expect(r.stderr).toMatch(/^$|^\s*$/);
    expect(r.code).toBe(0);
    expect(one(m, 'ps7-syntax')).toBe('');
    expect(one(m, 'splat')).toBe('base');
    expect(one(m, 'switch')).toBe('running');
    expect(one(m, 'dotnet')).toBe('2 base 123');
    expect(one(m, 'here')).toBe('here web01');
    expect(one(m, 'class')).toBe('2');
    expect(one(m, 'state')).toBe('Microsoft.HyperV.PowerShell.VMState True {"State":2}');
    expect(one(m, 'types')).toBe('DateTime TimeSpan Guid Microsoft.HyperV.PowerShell.ControllerType');
    expect(one(m, 'typenames')).toBe('Microsoft.HyperV.PowerShell.VirtualMachine,Microsoft.HyperV.PowerShell.VirtualMachineBase,System.Object');
    expect(one(m, 'tostring')).toMatch(/^VirtualMachine \(Name = 'web01'\) \[Id = '[0-9a-f-]{36}'\]$/);
    expect(one(m, 'command')).toBe('True Name,VMObject VMName');
    expect(one(m, 'by-value-strings')).toBe('web01,db01');
    expect(one(m, 'by-value-vm')).toBe('base,piped');
    expect(one(m, 'by-value-snapshot')).toBe('base,renamed');
    expect(one(m, 'by-property-id')).toBe('web01');
    expect(one(m, 'by-property-name')).toBe('made');
    expect(r.stdout).toContain('What if: Performing the operation "Stop-VM" on target "web01".');
    expect(one(m, 'after-whatif')).toBe('Running');
    expect(one(m, 'passthru')).toBe('Paused Running 0');
    expect(one(m, 'error')).toBe(
      'InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM | InvalidArgument | Microsoft.HyperV.PowerShell.VirtualizationException | Get-VM | Hyper-V was unable to find a virtual machine with name "nosuch".',
    );
    expect(one(m, 'stop')).toBe('InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM');
    expect(one(m, 'wait')).toBe('web01');
    expect(one(m, 'wait-timeout')).toBe('InvalidOperation,Microsoft.HyperV.PowerShell.Commands.WaitVM | InvalidOperation');
    expect(one(m, 'remote')).toBe('HyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVM | ConnectionError');
    // PowerShell's own NonInteractive refusal of a ConfirmImpact High prompt
    expect(one(m, 'confirm-noninteractive')).toMatch(/^PSInvalidOperation|InvalidOperation|HostException/);
    expect(one(m, 'restored')).toBe('Saved base');
    expect(one(m, 'job')).toBe('HvsimJob Completed job True');
    expect(one(m, 'alias')).toBe('Get-VMSnapshot job');
    expect(one(m, 'first')).toBe('db01 0 made');
    expect(Number(one(m, 'exported'))).toBeGreaterThanOrEqual(1);
    expect(one(m, 'hv-module')).toBe('Hyper-V');
    // Get-VMHost, the driver's first question
    expect(decodeVMHost(parseCmdletJson(one(m, 'hv-host'))[0])).toEqual({ Name: 'HV01', ComputerName: 'HV01', VirtualMachinePath: path.join(root, 'vms'), VirtualHardDiskPath: path.join(root, 'vms') });
    // what ConvertTo-Json writes of the module's objects is what the driver decodes
    const vms = parseCmdletJson(one(m, 'hv-vm')).map((v) => decodeVM(v, { computerName: 'x' }).vm);
    expect(Object.fromEntries(vms.map((v) => [v.Name, v.State]))).toEqual({ db01: 'Running', made: 'Off', web01: 'Saved' });
    expect(vms).toHaveLength(3);
    const web = vms.find((v) => v.Name === 'web01')!;
    expect(web).toMatchObject({ CheckpointType: 'Standard', ParentSnapshotName: 'base', ComputerName: 'HV01', OperationalStatus: ['Ok'] });
    expect(web.HardDrives[0]!.ControllerType).toBe('SCSI');
    const direct = open(root);
    try {
      const real = (await direct.getVM(['web01']))[0]!;
      expect(web.Id).toBe(real.Id);
      expect(web.CreationTime).toBe(real.CreationTime);
      const snaps = parseCmdletJson(one(m, 'hv-snap')).map((s) => decodeSnapshot(s, 'Standard', { computerName: 'x' }).snap);
      expect(snaps.map((s) => s.Name)).toEqual((await direct.getVMSnapshot({ vmNames: ['web01'] })).map((s) => s.Name));
      expect(snaps[0]!.CreationTime).toBe((await direct.getVMSnapshot({ vmNames: ['web01'] }))[0]!.CreationTime);
    } finally {
      direct.close();
    }
  });
});
