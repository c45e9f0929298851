/**
 * Names, notes and paths are data, never code: VM and checkpoint names with quotes, ;, $(...),
 * backticks, newlines, PowerShell's wildcard and stop-parsing syntax, date-like and JSON-like text,
 * hvsim's own tag and line prefix reach the stand-in PowerShell literally, as JSON string values,
 * and come back unchanged; the process is always started with exactly the fixed script; nothing
 * those names say happens (the VM they try to remove is still there, the file they try to create
 * is not).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { HyperVHost } from '../../src/hyperv/index.js';
import { COMMANDS, encodeCommand, SCRIPT } from '../../src/hyperv/script.js';
import type { CmdletStep, Request } from '../../src/hyperv/request.js';
import { installStandIn, MiB, type StandIn } from '../helpers/fake-powershell.setup.js';

let s: StandIn;
let h: HyperVHost;
let sentinel: string;

beforeAll(async () => {
  s = installStandIn();
  sentinel = path.join(s.dir, 'pwned');
  h = await HyperVHost.open({ powershell: s.exe, pollIntervalMs: 2, defaultDiskSize: 4 * MiB });
});

afterAll(async () => {
  await h.close();
  s.remove();
});

/** VM names may not hold \ / : * ? " < > | or control characters (they name a folder and a file). */
const hostileVMs = (pwned: string): string[] => [
  `it's; Remove-VM -Name victim -Force; $(New-Item -ItemType File '${path.basename(pwned)}')`,
  "`$(calc)` & @{a=1} ${x} $HOME 'q' -Confirm $false --%",
  'web[1] `[0`]',
  "'); Stop-VM victim -TurnOff; ('",
  'Ünïcødé 🚀 דוגמה',
];

const hostileCheckpoints = (pwned: string): string[] => [
  `"; Remove-VM -Name victim -Force; "`,
  `$(New-Item -ItemType File '${pwned}')`,
  'back`tick `n `$x',
  'line one\nline two',
  'crlf\r\nnext',
  "@'\nhere-string\n'@",
  '2024-01-02T09:00:00Z',
  '/Date(0)/',
  '\\/Date(0)\\/',
  'null',
  'x\n@@hvsim {"id":1,"ok":true,"steps":[]}',
  "<script>&amp;'\"",
  'tab\there \u0000nul',
  '\u2028 separators \u2029',
  '😀 \uD83D\uDE00',
  's:tagged',
  's:',
];

function cmdSteps(reqs: Request[]): CmdletStep[] {
  return reqs.flatMap((r) => r.steps.filter((x): x is CmdletStep => 'c' in x));
}

describe('hostile names through the driver', () => {
  it('reach the stand-in literally and come back unchanged; nothing they say is done', async () => {
    await h.newVM({ name: 'victim' });
    const vms = hostileVMs(sentinel);
    for (const n of vms) {
      const vm = await h.newVM({ name: n, notes: `notes of ${n}\n$(whoami)` });
      expect(vm.Name).toBe(n);
      expect(vm.Notes).toBe(`notes of ${n}\n$(whoami)`);
      expect(vm.HardDrives[0]!.Path).toBe(`/hvsim/vms/${n}/Virtual Hard Disks/${n}.vhdx`);
    }
    expect((await h.getVM()).map((v) => v.Name)).toEqual(['victim', ...vms]);
    for (const n of vms) expect((await h.getVM([n]))[0]!.Name).toBe(n);
    await h.startVM(vms);
    const cps = hostileCheckpoints(sentinel);
    const target = vms[0]!;
    for (const c of cps) {
      const [snap] = await h.checkpointVM([target], { snapshotName: c });
      expect(snap!.Name).toBe(c);
    }
    const listed = await h.getVMSnapshot({ vmNames: [target] });
    expect(listed.map((x) => x.Name)).toEqual(cps);
    // Found again by their exact names (none holds * or ?), restored, renamed, removed.
    for (const c of cps) expect((await h.getVMSnapshot({ vmNames: [target], name: c })).map((x) => x.Name)).toEqual([c]);
    const r = await h.restoreVMSnapshot({ vmName: target, name: cps[1]! });
    expect(r.Name).toBe(cps[1]);
    const renamed = await h.renameVMSnapshot({ vmName: target, name: cps[0]! }, `${cps[0]}\n${cps[2]}`);
    expect(renamed.Name).toBe(`${cps[0]}\n${cps[2]}`);
    const gone = await h.removeVMSnapshot({ vmNames: [target], name: cps[3]! });
    expect(gone.map((x) => x.Name)).toEqual([cps[3]]);
    const x = await h.exportVMSnapshot({ vmName: target, name: cps[4]! }, "/exports/it's $(x); `y` [1]");
    expect(x.HardDrives).toEqual([`/exports/it's $(x); \`y\` [1]/${target}/Virtual Hard Disks/${target}.vhdx`]);

    // Nothing the names say happened.
    expect(fs.existsSync(sentinel)).toBe(false);
    expect(fs.existsSync(path.basename(sentinel))).toBe(false);
    expect((await h.getVM(['victim']))[0]!.State).toBe('Off');
    expect((await h.getVM()).length).toBe(1 + vms.length);

    // Every process got exactly the fixed script, and no name is on any command line.
    const inv = s.invocations();
    expect(inv.length).toBeGreaterThanOrEqual(1);
    for (const i of inv) {
      expect(i).toMatchObject({ argsOk: true, scriptOk: true });
      expect(i.argv).toEqual(['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encodeCommand(SCRIPT)]);
    }
    const argv = inv.flatMap((i) => i.argv).join('\n');
    for (const n of [...vms, ...cps]) expect(argv).not.toContain(n);

    // The names arrived as parameter values, exactly; only allowed cmdlets were asked for.
    const steps = cmdSteps(s.requests());
    for (const st of steps) expect(Object.keys(COMMANDS)).toContain(st.c);
    const values = (cmd: string, p: string): unknown[] => steps.filter((st) => st.c === cmd).map((st) => st.p?.[p]);
    expect(values('New-VM', 'Name')).toEqual(['victim', ...vms]);
    expect(values('Checkpoint-VM', 'SnapshotName')).toEqual(cps);
    expect(values('Rename-VMSnapshot', 'NewName')).toEqual([`${cps[0]}\n${cps[2]}`]);
    expect(values('Export-VMSnapshot', 'Path')).toEqual(["/exports/it's $(x); `y` [1]"]);
    expect(values('Set-VM', 'Notes').filter((n) => n !== undefined)).toEqual(vms.map((n) => `notes of ${n}\n$(whoami)`));
    // Names never travel as -Name patterns to select objects: selection is by Id.
    expect(steps.filter((st) => st.c !== 'New-VM' && st.p?.Name !== undefined)).toEqual([]);
  });

  it('the paths and names of export, import, remove, merge and integration services arrive as data', async () => {
    const before = s.requests().length;
    // 100 characters with every kind of PowerShell syntax; a VM name may not hold \ / : * ? " < > |
    const vmName = `it's; Remove-Item x; $(New-Item -ItemType File '${path.basename(sentinel)}') \`$y\` Ü🚀 `.padEnd(100, 'v');
    expect(vmName).toHaveLength(100);
    const dir = `/exports/'; Remove-VM victim -Force; '$(x) \`n\` ${'${env:PATH}'}\nline two Ünïcødé 😀`;
    const vm = await h.newVM({ name: vmName, disabledIntegrationServices: ['VSS', 'guest*'] });
    expect((await h.getVMIntegrationService(vmName, ['VSS', 'Guest Service Interface'])).map((c) => [c.Name, c.Enabled])).toEqual([['Guest Service Interface', false], ['VSS', false]]);
    expect((await h.setVMIntegrationService(vmName, ['vss'], true)).map((c) => [c.VMName, c.Name, c.Enabled])).toEqual([[vmName, 'VSS', true]]);
    await h.checkpointVM([vmName], { snapshotName: 'a' });
    const leaf = (await h.getVM([vmName]))[0]!.HardDrives[0]!.Path;
    const x = await h.exportVM(vmName, dir);
    expect(x).toMatchObject({ VMName: vmName, Path: `${dir}/${vmName}`, HardDrives: [`${dir}/${vmName}/Virtual Hard Disks/${vmName}.vhdx`] });
    expect((await h.removeVM([vmName])).map((v) => v.Name)).toEqual([vmName]);
    const merged = await h.mergeVHD(leaf);
    expect(merged.Path).toBe(vm.HardDrives[0]!.Path);
    const cfg = `${x.Path}/Virtual Machines/${vm.Id.toUpperCase()}.vmcx`;
    const copy = await h.importVM(cfg, { copy: true, generateNewId: true, virtualMachinePath: `${dir}/vms`, vhdDestinationPath: `${dir}/disks`, snapshotFilePath: `${dir}/snaps` });
    expect(copy).toMatchObject({ Name: vmName, Path: `${dir}/vms/${vmName}`, SnapshotFileLocation: `${dir}/snaps` });
    expect(copy.HardDrives.map((d) => d.Path)).toEqual([`${dir}/disks/${vmName}.vhdx`]);

    expect(fs.existsSync(sentinel)).toBe(false);
    expect(fs.existsSync(path.basename(sentinel))).toBe(false);
    expect((await h.getVM(['victim']))[0]!.Name).toBe('victim');
    // Each name and path was one parameter value, exactly as given; the VM was given by object.
    const steps = cmdSteps(s.requests().slice(before));
    for (const st of steps) expect(Object.keys(COMMANDS)).toContain(st.c);
    const values = (cmd: string, p: string): unknown[] => steps.filter((st) => st.c === cmd).map((st) => st.p?.[p]);
    expect(values('Export-VM', 'Path')).toEqual([dir]);
    expect(values('Import-VM', 'Path')).toEqual([cfg]);
    expect(steps.filter((st) => st.c === 'Import-VM').map((st) => [st.p?.VirtualMachinePath, st.p?.VhdDestinationPath, st.p?.SnapshotFilePath])).toEqual([[`${dir}/vms`, `${dir}/disks`, `${dir}/snaps`]]);
    expect(values('Merge-VHD', 'Path')).toEqual([leaf]);
    expect(values('Disable-VMIntegrationService', 'Name')).toEqual([['Guest Service Interface', 'VSS']]);
    expect(values('Enable-VMIntegrationService', 'Name')).toEqual([['VSS']]);
    for (const c of ['Export-VM', 'Remove-VM', 'Get-VMIntegrationService', 'Enable-VMIntegrationService']) {
      const used = steps.filter((st) => st.c === c);
      expect(used.length).toBeGreaterThan(0);
      for (const st of used) expect([st.r?.VM !== undefined, JSON.stringify(st.p ?? {}).includes(vmName)]).toEqual([true, false]);
    }
  });

  it('any text as a checkpoint name survives the round trip (property)', async () => {
    await h.newVM({ name: 'prop' });
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((x) => x.trim().length > 0), async (name) => {
        const [snap] = await h.checkpointVM(['prop'], { snapshotName: name });
        expect(snap!.Name).toBe(name);
        const again = await h.renameVMSnapshot({ vmName: 'prop', id: snap!.Id }, `${name}#${i++}`);
        expect(again.Name).toBe(`${name}#${i - 1}`);
      }),
      { numRuns: 40 },
    );
    expect(fs.existsSync(sentinel)).toBe(false);
  });

  it('group checkpoints of hostile VM names keep the members exactly', async () => {
    const members = hostileVMs(sentinel).slice(1, 4);
    const { checkpointGroup, getGroups } = await import('../../src/host/group.js');
    const rep = await checkpointGroup(h, members, { snapshotName: '$(group); `x`' });
    const g = (await getGroups(h)).find((x) => x.GroupId === rep.GroupId)!;
    expect(g.VMNames).toEqual(members);
    expect(g.SnapshotName).toBe('$(group); `x`');
    for (const m of members) expect((await h.getVM([m]))[0]!.Notes).toBe(`notes of ${m}\n$(whoami)`);
  });
});
