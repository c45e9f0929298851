/**
 * The real-host driver run by real PowerShell 7 with the test fixture module `Hyper-V`
 * (helpers/pwsh-hyperv.ts; docs/real-host.md, "What was checked, and how"), beyond the contract
 * suite (contract.test.ts): hostile names reach the cmdlets as data and come back unchanged —
 * nothing they say is executed by PowerShell (a sentinel file a `$(New-Item …)` name would create
 * is not there, one a `; Remove-Item …` name would delete still is, the VM a `; Stop-VM` name
 * would stop still runs); cmdlet errors become typed HvsimErrors carrying Hyper-V's
 * FullyQualifiedErrorId; a killed pwsh and a hung one are replaced by the next call. One pwsh
 * session per describe block (each start costs about a second).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HyperVHost } from '../../src/hyperv/index.js';
import { DirectoryLock, LOCK_FILE } from '../../src/sim/storage.js';
import { reject } from '../helpers/data.js';
import { PWSH, pwshGate } from '../helpers/pwsh.js';
import { hyperVPwshEnv } from '../helpers/pwsh-hyperv.js';

const ok = pwshGate();
const MiB = 1024 * 1024;

/** Every process: pid → [parent pid, command]. */
function processes(): Map<number, [number, string]> {
  const out = new Map<number, [number, string]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // pid (comm) state ppid …
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(fs.readFileSync(`/proc/${d}/stat`, 'utf8'));
      if (m) out.set(Number(d), [Number(m[2]), m[1]!]);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** The pwsh processes this test process started (children whose command is pwsh). */
function pwshChildren(): number[] {
  return [...processes()].filter(([, [ppid, comm]]) => comm === 'pwsh' && ppid === process.pid).map(([pid]) => pid);
}

/**
 * A pwsh and the PowerShell it runs: the .NET tool's `pwsh` is a launcher whose child
 * (`dotnet …pwsh.dll`) is PowerShell itself; the module's server (node) is left to notice.
 */
function powershellTree(pid: number): number[] {
  const all = processes();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, [ppid, comm]] of all) if (ppid === tree[i] && comm !== 'node') tree.push(p);
  return tree;
}

describe.skipIf(!ok)('hostile names through the driver and real pwsh', { timeout: 300_000 }, () => {
  let tmp: string;
  let h: HyperVHost;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-pwsh-names-'));
    fs.mkdirSync(path.join(tmp, 'state'));
    h = await HyperVHost.open({ powershell: PWSH!, env: hyperVPwshEnv(path.join(tmp, 'state')), pollIntervalMs: 100, maxPollIntervalMs: 500, defaultDiskSize: 4 * MiB });
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('arrive as data and come back unchanged; nothing they say is executed', async () => {
    const created = path.join(tmp, 'pwned');
    const keep = path.join(tmp, 'keep-me');
    fs.writeFileSync(keep, 'still here');
    // pwsh runs in this process's working directory: a relative New-Item would land there.
    const relative = 'hvsim-pwned-by-a-vm-name';
    expect(fs.existsSync(relative)).toBe(false);
    const victim = await h.newVM({ name: 'victim' });
    await h.startVM(['victim']);
    // VM names name a folder and a file: no \ / : * ? " < > | nor control characters.
    const vms = [
      `it's; Stop-VM -Name victim -TurnOff; $(New-Item -ItemType File ${relative})`,
      "`$(calc)` & @{a=1} ${x} $HOME 'q' -Confirm $false --%",
      "'); Stop-VM victim -TurnOff; ('",
      'Ünïcødé 🚀 דוגמה',
      'v'.repeat(100),
    ];
    for (const n of vms) {
      const vm = await h.newVM({ name: n, notes: `notes of ${n}\n$(Remove-Item '${keep}')` });
      expect([vm.Name, vm.Notes]).toEqual([n, `notes of ${n}\n$(Remove-Item '${keep}')`]);
      expect(vm.HardDrives[0]!.Path).toBe(path.join(tmp, 'state', 'vms', n, 'Virtual Hard Disks', `${n}.vhdx`));
      expect(fs.existsSync(vm.HardDrives[0]!.Path)).toBe(true);
    }
    expect((await h.getVM()).map((v) => v.Name)).toEqual(['victim', ...vms]);
    for (const n of vms) expect((await h.getVM([n]))[0]!.Name).toBe(n);
    const cps = [
      `"; Remove-Item '${keep}'; "`,
      `$(New-Item -ItemType File '${created}')`,
      `'; New-Item -ItemType File '${created}'; '`,
      'back`tick `n `$x ${env:PATH}',
      'line one\nline two',
      'crlf\r\nnext',
      "@'\nhere-string\n'@",
      '2024-01-02T09:00:00Z',
      '\\/Date(0)\\/',
      'x\n@@hvsim {"id":1,"ok":true,"steps":[]}',
      'tab\there',
      '😀 Ünïcødé דוגמה',
      's:tagged',
      'c'.repeat(100),
      'web[1] `[0`] *?',
    ];
    const target = vms[0]!;
    for (const c of cps) expect((await h.checkpointVM([target], { snapshotName: c }))[0]!.Name).toBe(c);
    expect((await h.getVMSnapshot({ vmNames: [target] })).map((x) => x.Name)).toEqual(cps);
    for (const c of cps.slice(0, -1)) expect((await h.getVMSnapshot({ vmNames: [target], name: c })).map((x) => x.Name)).toEqual([c]);
    expect((await h.restoreVMSnapshot({ vmName: target, name: cps[1]! })).Name).toBe(cps[1]);
    const newName = `${cps[3]}\n$(New-Item -ItemType File '${created}')`;
    const renamed = await h.renameVMSnapshot({ vmName: target, name: cps[0]! }, newName);
    expect(renamed.Name).toBe(newName);
    expect((await h.getVMSnapshot({ vmNames: [target], id: renamed.Id }))[0]!.Name).toBe(newName);
    const dest = path.join(tmp, "exports it's $(x); `y` [1]");
    const x = await h.exportVMSnapshot({ vmName: target, name: cps[4]! }, dest);
    expect(x.HardDrives).toEqual([path.join(dest, target, 'Virtual Hard Disks', `${target}.vhdx`)]);
    expect(fs.existsSync(x.HardDrives[0]!)).toBe(true);

    // Nothing the names said happened.
    expect(fs.existsSync(created)).toBe(false);
    expect(fs.existsSync(relative)).toBe(false);
    expect(fs.readFileSync(keep, 'utf8')).toBe('still here');
    expect((await h.getVM(['victim']))[0]).toMatchObject({ Id: victim.Id, State: 'Running' });
    expect((await h.getVM()).length).toBe(1 + vms.length);
  });

  it('export, import, remove, merge and integration services: hostile names and paths are data', async () => {
    const created = path.join(tmp, 'pwned-2');
    const keep = path.join(tmp, 'keep-me-2');
    fs.writeFileSync(keep, 'still here');
    const guard = await h.newVM({ name: 'guard' });
    await h.startVM(['guard']);
    const vmName = `it's; Stop-VM guard -TurnOff; $(New-Item -ItemType File ${path.basename(created)}) \`$y\` Ü🚀`.padEnd(100, 'v');
    expect(vmName).toHaveLength(100);
    const dir = path.join(tmp, `exp '; Remove-Item '${keep}'; '$(x) \`n\` \${env:PATH}\nline two Ünïcødé 😀`);
    const vm = await h.newVM({ name: vmName, disabledIntegrationServices: ['VSS', 'guest*'] });
    expect((await h.getVMIntegrationService(vmName, ['VSS', 'Guest Service Interface'])).map((c) => [c.VMName, c.Name, c.Enabled])).toEqual([
      [vmName, 'Guest Service Interface', false], [vmName, 'VSS', false],
    ]);
    expect((await h.setVMIntegrationService(vmName, ['vss'], true)).map((c) => [c.Name, c.Enabled])).toEqual([['VSS', true]]);
    await h.checkpointVM([vmName], { snapshotName: 'a' });
    const leaf = (await h.getVM([vmName]))[0]!.HardDrives[0]!.Path;
    const x = await h.exportVM(vmName, dir);
    expect(x.HardDrives).toEqual([path.join(dir, vmName, 'Virtual Hard Disks', `${vmName}.vhdx`)]);
    expect(fs.existsSync(x.HardDrives[0]!)).toBe(true);
    expect((await h.removeVM([vmName])).map((v) => v.Id)).toEqual([vm.Id]);
    expect((await h.mergeVHD(leaf)).Path).toBe(vm.HardDrives[0]!.Path);
    const cfg = path.join(x.Path, 'Virtual Machines', `${vm.Id.toUpperCase()}.vmcx`);
    const copy = await h.importVM(cfg, { copy: true, generateNewId: true, virtualMachinePath: path.join(dir, 'vms'), vhdDestinationPath: path.join(dir, 'disks') });
    expect(copy).toMatchObject({ Name: vmName, Path: path.join(dir, 'vms', vmName) });
    expect(copy.HardDrives.map((d) => d.Path)).toEqual([path.join(dir, 'disks', `${vmName}.vhdx`)]);
    expect(fs.existsSync(copy.HardDrives[0]!.Path)).toBe(true);

    expect(fs.existsSync(created)).toBe(false);
    expect(fs.existsSync(path.basename(created))).toBe(false);
    expect(fs.readFileSync(keep, 'utf8')).toBe('still here');
    expect((await h.getVM(['guard']))[0]).toMatchObject({ Id: guard.Id, State: 'Running' });
  });

  it('cmdlet errors become typed errors with Hyper-V\'s ids', async () => {
    let e = await reject(h.getVM(['nope']));
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'Get-VM: Hyper-V was unable to find a virtual machine with name "nope".']);
    await h.newVM({ name: 'err01' });
    e = await reject(h.resumeVM(['err01']));
    expect(e.code).toBe('INVALID_STATE');
    expect(e.message).toBe("Resume-VM: 'err01' failed to change state. The operation cannot be performed while the virtual machine is in its current state. (State: Off)");
    // the error record pwsh wrote, as the script returned it
    expect(e.cause).toMatchObject({ FullyQualifiedErrorId: 'InvalidOperation,Microsoft.HyperV.PowerShell.Commands.ResumeVM', Category: 'InvalidOperation' });
    e = await reject(h.restoreVMSnapshot({ vmName: 'err01', name: 'none' }));
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'Restore-VMSnapshot: Hyper-V was unable to find a checkpoint with name "none" for virtual machine "err01".']);
    // a disk file that is not there: New-VM -VHDPath fails in the module's server
    e = await reject(h.newVM({ name: 'err02', vhdPath: path.join(tmp, 'missing.vhdx') }));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toMatch(/^New-VM: .*missing\.vhdx: no such file$/);
  });
});

describe.skipIf(!ok)('a real pwsh that dies or hangs', { timeout: 300_000 }, () => {
  let tmp: string;
  let root: string;
  let h: HyperVHost;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-pwsh-kill-'));
    root = path.join(tmp, 'state');
    fs.mkdirSync(root);
    // The server waits for a busy state directory longer than the driver waits for an answer.
    h = await HyperVHost.open({ powershell: PWSH!, env: hyperVPwshEnv(root, { HVSIM_LOCK_TIMEOUT: '120000' }), timeoutMs: 15_000, defaultDiskSize: 4 * MiB });
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a killed session is replaced by the next call', async () => {
    await h.newVM({ name: 'web01' });
    const before = h.runInfo.processes;
    const kids = pwshChildren();
    expect(kids).toHaveLength(1);
    for (const p of powershellTree(kids[0]!)) process.kill(p, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.getVM(['web01']))[0]!.Name).toBe('web01');
    expect(h.runInfo.processes).toBe(before + 1);
    expect(pwshChildren()).toHaveLength(1);
    expect(pwshChildren()[0]).not.toBe(kids[0]);
  });

  it('a hung call is ended after the timeout and the next call works', async () => {
    // Another holder of the state directory's lock: the server's Get-VM waits, so pwsh does not answer.
    const lock = new DirectoryLock(path.join(root, LOCK_FILE));
    lock.acquire();
    const before = h.runInfo.processes;
    const hung = pwshChildren();
    let e;
    try {
      e = await reject(h.getVM(['web01']));
    } finally {
      lock.release();
    }
    expect([e.code, e.message]).toEqual(['IO', 'PowerShell did not answer within 15 s; the session was ended']);
    await new Promise((r) => setTimeout(r, 200));
    expect(pwshChildren().filter((p) => hung.includes(p))).toEqual([]);
    expect((await h.checkpointVM(['web01'], { snapshotName: 'after' }))[0]!.Name).toBe('after');
    expect(h.runInfo.processes).toBe(before + 1);
  });
});
