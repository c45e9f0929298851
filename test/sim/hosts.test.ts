/**
 * Several simulated hosts in one state (docs/simulator.md, "Several hosts"): VMs of the same name
 * on two hosts, ComputerName on every object, each host's folders, the farm kept in state.json and
 * read back, states written before several hosts still loading; group checkpoints across hosts
 * with each host's freeze skew, restored and removed as one set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage } from '../../src/sim/storage.js';
import { validateState, type HostState } from '../../src/sim/state.js';
import { simHost } from '../helpers/sim-host.js';
import { checkpointGroup, getGroups, removeGroup, restoreGroup } from '../../src/host/group.js';
import { DEFAULT_COSTS } from '../../src/host/clock.js';
import { HvsimError } from '../../src/errors.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-hosts-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** HV01 with web01, HV02 with web01 and db01 (web01 on both, as Hyper-V allows). */
async function farm(h = simHost({ computerName: 'HV01' })): Promise<{ hv1: Simulator; hv2: Simulator }> {
  const hv2 = await h.addHost('HV02');
  await h.newVM({ name: 'web01' });
  await hv2.newVM({ name: 'web01' });
  await hv2.newVM({ name: 'db01' });
  return { hv1: h, hv2 };
}

describe('several hosts in one state', () => {
  it('keeps each host\'s VMs apart: same names, own ComputerName, own folders', async () => {
    const { hv1, hv2 } = await farm();
    expect(hv1.hosts()).toEqual(['HV01', 'HV02']);
    expect((await hv1.getVM()).map((v) => [v.ComputerName, v.Name])).toEqual([['HV01', 'web01']]);
    expect((await hv2.getVM()).map((v) => [v.ComputerName, v.Name])).toEqual([['HV02', 'web01'], ['HV02', 'db01']]);
    const [a] = await hv1.getVM(['web01']);
    const [b] = await hv2.getVM(['web01']);
    expect(a!.Id).not.toBe(b!.Id);
    expect(a!.Path).not.toBe(b!.Path);
    expect(b!.Path).toContain('/hosts/HV02/');
    // An operation on one host's web01 leaves the other's alone.
    await hv2.startVM(['web01']);
    expect((await hv1.getVM(['web01']))[0]!.State).toBe('Off');
    const [s] = await hv2.checkpointVM(['web01'], { snapshotName: 'c' });
    expect(s!.ComputerName).toBe('HV02');
    expect(await hv1.getVMSnapshot({ vmNames: ['web01'] })).toEqual([]);
    expect((await hv2.getVMHardDiskDrive('web01'))[0]!.ComputerName).toBe('HV02');
    // db01 is not on HV01: Hyper-V's not-found error there.
    await expect(hv1.getVM(['db01'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Names are unique per host.
    await expect(hv2.newVM({ name: 'WEB01' })).rejects.toThrow(/already exists on HV02/);
  });

  it('finds a host by any case, localhost and "." as itself, and none that is not there', async () => {
    const { hv1, hv2 } = await farm();
    expect(hv1.host('hv02')!.computerName).toBe('HV02');
    expect(hv2.host('localhost')).toBe(hv2);
    expect(hv2.host('.')).toBe(hv2);
    expect(hv1.host('HV03')).toBeUndefined();
    await expect(hv1.addHost('bad name')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // Warnings are the farm's: taken from either host.
    await hv2.setVM(['db01'], { checkpointType: 'Production' });
    expect(await hv1.takeWarnings()).toEqual(await hv2.takeWarnings());
  });

  it('keeps the farm in state.json; a state written before several hosts loads as its one host', async () => {
    const root = tmp();
    const h = Simulator.open({ storage: new DirectoryStorage(root), computerName: 'HV01', clockMode: 'simulated' });
    await farm(h);
    h.close();
    const saved = JSON.parse(fs.readFileSync(path.join(root, 'state.json'), 'utf8')) as HostState;
    expect(saved.hosts).toEqual(['HV02']);
    // The first host's VMs carry no computerName: the record shape is unchanged for them.
    expect(saved.vms.map((v) => v.computerName ?? null)).toEqual([null, 'HV02', 'HV02']);
    const again = Simulator.open({ storage: new DirectoryStorage(root), computerName: 'hv02' });
    try {
      expect(again.computerName).toBe('HV02');
      expect((await again.getVM()).map((v) => v.Name)).toEqual(['web01', 'db01']);
    } finally {
      again.close();
    }
    // An unknown host is Hyper-V's WinRM error, unless adding it was asked for.
    expect(() => Simulator.open({ storage: new DirectoryStorage(root), computerName: 'HV03' })).toThrow(/^The operation on computer 'HV03' failed: The WinRM client cannot process the request because the server name cannot be resolved\. \(hvsim simulates the hosts 'HV01', 'HV02'/);
    // An old state (no hosts, no computerName on VMs) is one host.
    const old = tmp();
    const o = Simulator.open({ storage: new DirectoryStorage(old), computerName: 'OLD', clockMode: 'simulated' });
    await o.newVM({ name: 'a' });
    o.close();
    const text = JSON.parse(fs.readFileSync(path.join(old, 'state.json'), 'utf8')) as Record<string, unknown>;
    expect('hosts' in text).toBe(false);
    const reopened = Simulator.open({ storage: new DirectoryStorage(old) });
    try {
      expect(reopened.hosts()).toEqual(['OLD']);
      expect((await reopened.getVM())[0]!.ComputerName).toBe('OLD');
    } finally {
      reopened.close();
    }
  });

  it('refuses a state whose VM is on a host it does not list, or that lists a host twice', async () => {
    const { hv1 } = await farm();
    const s = hv1.snapshotState();
    expect(() => validateState({ ...s, vms: s.vms.map((v) => ({ ...v, computerName: 'HV09' })) }, 'state.json')).toThrow(/vms\[0\]\.computerName: the state has no host "HV09"/);
    expect(() => validateState({ ...s, hosts: ['HV02', 'hv02'] }, 'state.json')).toThrow(/hosts\[1\]: the host "hv02" is listed twice/);
    const dup = { ...s, vms: [...s.vms, { ...s.vms[1]!, id: 'x' }] };
    expect(() => validateState(dup, 'state.json')).toThrow(/a second virtual machine named "web01" on HV02/);
  });
});

describe('group checkpoints across hosts', () => {
  it('checkpoints VMs on two hosts as one group, with each host\'s freeze skew', async () => {
    const { hv1, hv2 } = await farm();
    await hv1.startVM(['web01']);
    await hv2.startVM(['web01', 'db01']);
    const r = await checkpointGroup([hv1, hv2], ['web01', 'HV02:web01', 'hv02:db01'], { snapshotName: 'g1' });
    expect(r.Members.map((m) => [m.ComputerName, m.VMName, m.State])).toEqual([
      ['HV01', 'web01', 'Running'],
      ['HV02', 'web01', 'Running'],
      ['HV02', 'db01', 'Running'],
    ]);
    // One clock for the farm: the three guests froze one pause apart.
    expect(r.SkewMs).toBe(2 * DEFAULT_COSTS.pauseMs);
    expect(r.Hosts).toEqual([
      { ComputerName: 'HV01', VMNames: ['web01'], SkewMs: 0 },
      { ComputerName: 'HV02', VMNames: ['web01', 'db01'], SkewMs: DEFAULT_COSTS.pauseMs },
    ]);
    const snaps = await hv2.getVMSnapshot({ vmNames: ['*'], groupId: r.GroupId });
    expect(snaps[0]!.GroupMembers).toEqual(['HV01:web01', 'HV02:web01', 'HV02:db01']);
    // The report is kept with the farm's state (any host shows it).
    expect(hv2.groupReports().map((g) => g.GroupId)).toEqual([r.GroupId]);
    const [g] = await getGroups([hv2, hv1]);
    expect(g!.VMNames).toEqual(['HV01:web01', 'HV02:web01', 'HV02:db01']);
    expect(g!.Missing).toEqual([]);

    // Restore finds the group on both hosts; a wrong set is refused.
    await expect(restoreGroup([hv1, hv2], { snapshotName: 'g1', vmNames: ['web01', 'HV02:db01'] })).rejects.toThrow(/is the VMs HV01:web01, HV02:web01, HV02:db01/);
    await hv1.writeGuest('web01', new Uint8Array(512).fill(7), 0);
    const back = await restoreGroup([hv1, hv2], { snapshotName: 'g1' });
    expect(back.Members.map((m) => [m.ComputerName, m.VMName, m.State])).toEqual([
      ['HV01', 'web01', 'Saved'],
      ['HV02', 'web01', 'Saved'],
      ['HV02', 'db01', 'Saved'],
    ]);
    expect((await hv1.readGuest('web01', 0, 512))[0]).toBe(0);
    const removed = await removeGroup([hv2, hv1], { groupId: r.GroupId });
    // Host by host, in the order the hosts were given.
    expect(removed.Removed.map((x) => x.ComputerName)).toEqual(['HV02', 'HV02', 'HV01']);
    expect(await hv2.getVMSnapshot({ vmNames: ['*'] })).toEqual([]);
  });

  it('a failure on the second host rolls back the first host\'s checkpoint too', async () => {
    const { hv1, hv2 } = await farm();
    await hv1.startVM(['web01']);
    await hv2.startVM(['db01']);
    hv1.faults.add('checkpoint:db01');
    const e = await checkpointGroup([hv1, hv2], ['web01', 'HV02:db01']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HvsimError);
    expect((e as HvsimError).message).toMatch(/failed at Checkpoint-VM of 'HV02:db01'.*rolled back/);
    expect(await hv1.getVMSnapshot({ vmNames: ['*'] })).toEqual([]);
    expect((await hv1.getVM(['web01']))[0]!.State).toBe('Running');
    expect((await hv2.getVM(['db01']))[0]!.State).toBe('Running');
  });

  it('names an unknown host with Hyper-V\'s WinRM error', async () => {
    const { hv1, hv2 } = await farm();
    await expect(checkpointGroup([hv1, hv2], ['web01', 'HV09:db01'])).rejects.toThrow(/^The operation on computer 'HV09' failed: The WinRM client/);
  });
});
