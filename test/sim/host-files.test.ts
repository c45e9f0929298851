/**
 * The host as Hyper-V keeps it (issue 18): new disks as New-VM makes them (docs/hyperv.md,
 * "New disks").
 */
import { describe, expect, it } from 'vitest';
import { openLayer } from '../../src/engine/chain.js';
import { MiB } from '../../src/vhd/common/bytes.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { faultBudget } from '../../src/vhd/io/fault-file.js';
import { HvsimError } from '../../src/errors.js';
import type { HostState } from '../../src/sim/state.js';
import type { Simulator } from '../../src/sim/simulator.js';
import { MemoryStorage } from '../../src/sim/storage.js';
import { VMGS_SIZE, VMRS_IDLE_SIZE } from '../../src/sim/vm-files.js';
import { memoryHost, simHost } from '../helpers/sim-host.js';

function diskInfo(store: Parameters<typeof openLayer>[0], p: string): { BlockSize: number; LogicalSectorSize: number; PhysicalSectorSize: number; VhdType: string } {
  const img = openLayer(store, p, false);
  try {
    return img.info();
  } finally {
    img.close();
  }
}

describe('new disks as Hyper-V makes them', () => {
  it('a new VM gets a dynamic VHDX with 32 MiB blocks, 512-byte logical and 4096-byte physical sectors', async () => {
    const { h, store } = memoryHost({ defaultDiskSize: 64 * MiB });
    const vm = await h.newVM({ name: 'web01' });
    const base = vm.HardDrives[0]!.Path;
    expect(base).toMatch(/\/web01\/Virtual Hard Disks\/web01\.vhdx$/);
    expect(diskInfo(store, base)).toMatchObject({ VhdType: 'Dynamic', BlockSize: 32 * MiB, LogicalSectorSize: 512, PhysicalSectorSize: 4096 });
    // Data written across a 32 MiB block boundary reads back through a checkpoint and its merge.
    await h.startVM(['web01']);
    const data = new Uint8Array(3 * MiB).map((_, i) => (i * 7) & 0xff);
    await h.writeGuest('web01', data, 32 * MiB - MiB - 100);
    await h.checkpointVM(['web01'], { snapshotName: 'one' });
    const leaf = (await h.getVM(['web01']))[0]!.HardDrives[0]!.Path;
    // Checkpoint children keep the engine's differencing default (2 MiB; unverified, docs/hyperv.md).
    expect(diskInfo(store, leaf)).toMatchObject({ VhdType: 'Differencing', BlockSize: 2 * MiB });
    await h.writeGuest('web01', new Uint8Array(4096).fill(9), 32 * MiB);
    await h.removeVMSnapshot({ vmNames: ['web01'] });
    const back = await h.readGuest('web01', 32 * MiB - MiB - 100, 3 * MiB);
    const want = data.slice();
    want.fill(9, MiB + 100, MiB + 100 + 4096);
    expect(Buffer.from(back).equals(Buffer.from(want))).toBe(true);
    expect(h.diskFiles('web01')[0]!.map((f) => f.path)).toEqual([base]);
  });
});

// ------------------------------------------------------------------ VM files (issue 18 part 1)

const ROOT = '/hv/vms';

function filesHost(store = new MemoryDiskStore(), json?: string): { h: Simulator; storage: MemoryStorage; store: MemoryDiskStore } {
  const storage = new MemoryStorage(store, ROOT, json, { vmFiles: true });
  return { h: simHost({ storage, defaultMemory: 32 * MiB }), storage, store };
}

/**
 * The host saved as `base`, its store crashing after `budget` operations; saves stop at the crash
 * (a dead process writes nothing more).
 */
function crashingHost(base: { json: string; files: Map<string, Uint8Array>; ro: Set<string> }, budget: number): { b: ReturnType<typeof faultBudget>; store: MemoryDiskStore; storage: MemoryStorage } {
  const b = faultBudget(budget);
  const store = MemoryDiskStore.from(base.files, b, base.ro);
  class CrashStorage extends MemoryStorage {
    override save(state: HostState): void {
      if (!b.crashed) super.save(state);
    }
  }
  return { b, store, storage: new CrashStorage(store, ROOT, base.json, { vmFiles: true }) };
}

/** Every file under the VM's folder with its size, relative to the host's VM root, sorted. */
function listing(store: MemoryDiskStore, id = ''): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [p, b] of store.snapshot()) if (p.startsWith(ROOT + '/')) out.push([id === '' ? p.slice(ROOT.length + 1) : p.slice(ROOT.length + 1).replace(id.toUpperCase(), '<VMID>'), b.length]);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

describe('VM files as Hyper-V lays them out', () => {
  it('.vmcx, .vmrs and .vmgs in Virtual Machines; the .vmrs holds a saved VM\'s memory until Start-VM', async () => {
    const { h, store } = filesHost();
    const vm = await h.newVM({ name: 'web01' });
    const id = vm.Id;
    const vmcx = `web01/Virtual Machines/<VMID>.vmcx`;
    const files = (): Array<[string, number]> => listing(store, id).filter(([p]) => !p.endsWith('.vmcx'));
    expect(listing(store, id).map(([p]) => p)).toEqual([vmcx, 'web01/Virtual Hard Disks/web01.vhdx', 'web01/Virtual Machines/<VMID>.vmgs', 'web01/Virtual Machines/<VMID>.vmrs'].sort());
    expect(files()).toContainEqual(['web01/Virtual Machines/<VMID>.vmrs', VMRS_IDLE_SIZE]);
    expect(files()).toContainEqual(['web01/Virtual Machines/<VMID>.vmgs', VMGS_SIZE]);
    const config = JSON.parse(store.readText(`${ROOT}/web01/Virtual Machines/${id.toUpperCase()}.vmcx`)!) as Record<string, unknown>;
    expect(config).toMatchObject({ Name: 'web01', Id: id.toUpperCase(), MemoryStartup: 32 * MiB });

    await h.startVM(['web01']);
    expect(files()).toContainEqual(['web01/Virtual Machines/<VMID>.vmrs', VMRS_IDLE_SIZE]);
    await h.saveVM(['web01']);
    expect(files()).toContainEqual(['web01/Virtual Machines/<VMID>.vmrs', 32 * MiB]);
    await h.startVM(['web01']);
    expect(files()).toContainEqual(['web01/Virtual Machines/<VMID>.vmrs', VMRS_IDLE_SIZE]);
    await h.saveVM(['web01']);
    await h.stopVM(['web01'], { turnOff: true }); // discards the saved state
    expect(files()).toContainEqual(['web01/Virtual Machines/<VMID>.vmrs', VMRS_IDLE_SIZE]);
  });

  it('each checkpoint has Snapshots\\<CheckpointId>.vmcx and .vmrs (memory-sized when it holds runtime state); removing it removes them', async () => {
    const { h, store } = filesHost();
    await h.newVM({ name: 'web01', checkpointType: 'Standard' });
    const [off] = await h.checkpointVM(['web01'], { snapshotName: 'off' });
    await h.startVM(['web01']);
    const [live] = await h.checkpointVM(['web01'], { snapshotName: 'live' });
    const snapFiles = (): Array<[string, number]> => listing(store).filter(([p]) => p.startsWith('web01/Snapshots/'));
    expect(snapFiles()).toEqual([
      [`web01/Snapshots/${off!.Id.toUpperCase()}.vmcx`, expect.any(Number)],
      [`web01/Snapshots/${off!.Id.toUpperCase()}.vmrs`, VMRS_IDLE_SIZE],
      [`web01/Snapshots/${live!.Id.toUpperCase()}.vmcx`, expect.any(Number)],
      [`web01/Snapshots/${live!.Id.toUpperCase()}.vmrs`, 32 * MiB],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    expect(JSON.parse(store.readText(`${ROOT}/web01/Snapshots/${live!.Id.toUpperCase()}.vmcx`)!)).toMatchObject({ Name: 'live', State: 'Running' });
    await h.removeVMSnapshot({ vmNames: ['web01'], name: 'off' });
    expect(snapFiles().map(([p]) => p)).toEqual([`web01/Snapshots/${live!.Id.toUpperCase()}.vmcx`, `web01/Snapshots/${live!.Id.toUpperCase()}.vmrs`]);
    expect(h.orphans()).toEqual([]);
  });

  it('a crash at any step leaves no file lost or unaccounted for; files hvsim did not make are reported, never deleted', async () => {
    // Every prefix of the file operations of "checkpoint, save, remove the checkpoint", cut off by a crash.
    const build = async (): Promise<{ json: string; files: Map<string, Uint8Array>; ro: Set<string> }> => {
      const { h, storage, store } = filesHost();
      await h.newVM({ name: 'db01', checkpointType: 'Standard' });
      await h.startVM(['db01']);
      h.close();
      return { json: storage.savedJson!, files: store.snapshot(), ro: store.readOnlyPaths() };
    };
    const base = await build();
    let crashes = 0;
    for (let budget = 0; ; budget++) {
      const { b, store, storage } = crashingHost(base, budget);
      try {
        const h = simHost({ storage, defaultMemory: 32 * MiB });
        await h.checkpointVM(['db01'], { snapshotName: 'c1' });
        await h.saveVM(['db01']);
        await h.removeVMSnapshot({ vmNames: ['db01'], name: 'c1' });
      } catch (e) {
        if (!(e instanceof HvsimError) || e.code !== 'FAULT_INJECTED') throw e;
      }
      // Reopen on what survived: every file hvsim lists is there with its size, nothing unlisted.
      const after = MemoryDiskStore.from(store.snapshot(), undefined, store.readOnlyPaths());
      const h2 = simHost({ storage: new MemoryStorage(after, ROOT, storage.savedJson, { vmFiles: true }), defaultMemory: 32 * MiB });
      const state = h2.snapshotState();
      const vm = state.vms[0]!;
      // Listed: each VM's files in its own list, a removed VM's in the host's.
      for (const f of [...(state.vmFiles ?? []), ...state.vms.flatMap((v) => v.vmFiles ?? [])]) expect(after.exists(f), f).toBe(true);
      expect(h2.orphans()).toEqual([]);
      const vmrs = `${ROOT}/db01/Virtual Machines/${vm.id.toUpperCase()}.vmrs`;
      expect(after.open(vmrs, 'r').size()).toBe(vm.state === 'Saved' ? 32 * MiB : VMRS_IDLE_SIZE);
      for (const sn of vm.snapshots) expect(after.exists(`${ROOT}/db01/Snapshots/${sn.id.toUpperCase()}.vmrs`)).toBe(true);
      const snapDir = after.list(`${ROOT}/db01/Snapshots`);
      expect(snapDir.length).toBe(vm.snapshots.length * 2);
      h2.close();
      if (!b.crashed) break;
      crashes++;
    }
    expect(crashes).toBeGreaterThan(10);

    // Remove-VM, cut off by a crash at each store operation: its VM files move to the host's list
    // in the save that drops the VM, then go; after the restart none is left and none unaccounted for.
    const withVm = await (async () => {
      const { h, storage, store } = filesHost();
      await h.newVM({ name: 'db01', checkpointType: 'Standard' });
      await h.checkpointVM(['db01'], { snapshotName: 'c1' });
      await h.newVM({ name: 'web01' });
      h.close();
      return { json: storage.savedJson!, files: store.snapshot(), ro: store.readOnlyPaths() };
    })();
    let removeCrashes = 0;
    for (let budget = 0; ; budget++) {
      const { b, store, storage } = crashingHost(withVm, budget);
      try {
        await simHost({ storage, defaultMemory: 32 * MiB }).removeVM(['db01']);
      } catch (e) {
        if (!(e instanceof HvsimError) || e.code !== 'FAULT_INJECTED') throw e;
      }
      const after = MemoryDiskStore.from(store.snapshot(), undefined, store.readOnlyPaths());
      const h2 = simHost({ storage: new MemoryStorage(after, ROOT, storage.savedJson, { vmFiles: true }), defaultMemory: 32 * MiB });
      const state = h2.snapshotState();
      const vmFilesOf = (dir: string): string[] => [...after.snapshot().keys()].filter((p) => p.startsWith(`${ROOT}/${dir}/`) && /\.(vmcx|vmrs|vmgs)$/.test(p)).sort();
      expect(state.vmFiles ?? []).toEqual([]);
      for (const vm of state.vms) expect(vmFilesOf(vm.name)).toEqual([...(vm.vmFiles ?? [])].sort());
      if (!state.vms.some((v) => v.name === 'db01')) expect(vmFilesOf('db01')).toEqual([]);
      expect(state.vms.some((v) => v.name === 'web01')).toBe(true);
      expect(h2.orphans()).toEqual([]);
      h2.close();
      if (!b.crashed) break;
      removeCrashes++;
    }
    expect(removeCrashes).toBeGreaterThan(2);

    // A file named like a VM file that hvsim did not make: reported, kept, not overwritten.
    const { h, store } = filesHost();
    const vm = await h.newVM({ name: 'web01' });
    const foreign = `${ROOT}/web01/Virtual Machines/0A0B0C0D-0000-0000-0000-000000000001.vmcx`;
    store.writeTextAtomic(foreign, 'not hvsim');
    expect(h.orphans()).toEqual([foreign]);
    await h.startVM(['web01']);
    await h.stopVM(['web01'], { turnOff: true });
    expect(store.readText(foreign)).toBe('not hvsim');
    expect(store.exists(`${ROOT}/web01/Virtual Machines/${vm.Id.toUpperCase()}.vmcx`)).toBe(true);
  }, 240_000); // every crash point copies the store (two 32 MiB .vmrs files): ~20 s on an idle machine
});

// ------------------------------------------------------------------ locations (issue 18 part 2)

describe('locations, automatic checkpoints, ParentCheckpoint*', () => {
  it('Get-VM reports Path, ConfigurationLocation, SnapshotFileLocation, SmartPagingFilePath; Set-VM moves where new checkpoint files go', async () => {
    const { h, store } = filesHost();
    const vm = await h.newVM({ name: 'web01', checkpointType: 'Standard' });
    expect(vm).toMatchObject({
      Path: `${ROOT}/web01`, ConfigurationLocation: `${ROOT}/web01`, SnapshotFileLocation: `${ROOT}/web01`, CheckpointFileLocation: `${ROOT}/web01`,
      SmartPagingFilePath: `${ROOT}/web01`, AutomaticCheckpointsEnabled: false, ParentCheckpointId: null, ParentCheckpointName: null,
    });
    const [a] = await h.checkpointVM(['web01'], { snapshotName: 'a' });
    const [set] = await h.setVM(['web01'], { snapshotFileLocation: '/hv/snaps', smartPagingFilePath: '/hv/paging' });
    expect(set).toMatchObject({ SnapshotFileLocation: '/hv/snaps', CheckpointFileLocation: '/hv/snaps', SmartPagingFilePath: '/hv/paging', ConfigurationLocation: `${ROOT}/web01` });
    const [b] = await h.checkpointVM(['web01'], { snapshotName: 'b' });
    expect(b).toMatchObject({ Path: '/hv/snaps', ParentSnapshotId: a!.Id, ParentCheckpointId: a!.Id, ParentCheckpointName: 'a' });
    expect((await h.getVMSnapshot({ vmNames: ['web01'], name: 'a' }))[0]!.Path).toBe(`${ROOT}/web01`);
    expect(store.exists(`${ROOT}/web01/Snapshots/${a!.Id.toUpperCase()}.vmcx`)).toBe(true);
    expect(store.exists(`/hv/snaps/Snapshots/${b!.Id.toUpperCase()}.vmcx`)).toBe(true);
    expect(store.exists(`/hv/snaps/Snapshots/${b!.Id.toUpperCase()}.vmrs`)).toBe(true);
    const [now] = await h.getVM(['web01']);
    expect([now!.ParentCheckpointId, now!.ParentCheckpointName]).toEqual([b!.Id, 'b']);
    await h.removeVMSnapshot({ vmNames: ['web01'], name: 'b' });
    expect(store.exists(`/hv/snaps/Snapshots/${b!.Id.toUpperCase()}.vmcx`)).toBe(false);
    expect(h.orphans()).toEqual([]);
  });

  it('AutomaticCheckpointsEnabled: Start-VM of an Off VM takes an automatic checkpoint first; a clean shutdown removes it', async () => {
    const { h } = filesHost();
    await h.newVM({ name: 'web01' });
    await h.startVM(['web01']);
    expect(await h.getVMSnapshot({ vmNames: ['web01'] })).toEqual([]);
    await h.stopVM(['web01']);
    const [vm] = await h.setVM(['web01'], { automaticCheckpointsEnabled: true });
    expect(vm!.AutomaticCheckpointsEnabled).toBe(true);
    await h.startVM(['web01']);
    const snaps = await h.getVMSnapshot({ vmNames: ['web01'] });
    expect(snaps.map((s) => [s.IsAutomaticCheckpoint, s.State])).toEqual([[true, 'Off']]);
    expect(snaps[0]!.Name).toMatch(/^Automatic Checkpoint - web01 - \(9\/21\/2014 - 7:\d\d:\d\d PM\)$/);
    await h.checkpointVM(['web01'], { snapshotName: 'manual' });
    expect((await h.getVMSnapshot({ vmNames: ['web01'], name: 'manual' }))[0]!.IsAutomaticCheckpoint).toBe(false);
    await h.saveVM(['web01']);
    await h.startVM(['web01']); // resuming a saved VM is no new start: no second automatic checkpoint
    expect((await h.getVMSnapshot({ vmNames: ['web01'] })).length).toBe(2);
    await h.stopVM(['web01']);
    await h.waitVM(['web01']);
    expect((await h.getVMSnapshot({ vmNames: ['web01'] })).map((s) => s.Name)).toEqual(['manual']);
  });
});

// ------------------------------------------------------------------ export, import, remove (issue 18 part 3)

describe('export, import and remove as Hyper-V does them', () => {
  it("the seed's clone: export a checkpoint, import it as a new VM, start it, read the checkpoint's data", async () => {
    const { h, store } = filesHost();
    const vm = await h.newVM({ name: 'web01', checkpointType: 'Standard' });
    await h.startVM(['web01']);
    await h.writeGuest('web01', new TextEncoder().encode('checkpoint data'), 4096);
    await h.checkpointVM(['web01'], { snapshotName: 'c1' });
    await h.writeGuest('web01', new TextEncoder().encode('later data!!!!!'), 4096);

    const ex = await h.exportVMSnapshot({ vmName: 'web01', name: 'c1' }, '/exports');
    const id = vm.Id.toUpperCase();
    expect(ex.Path).toBe('/exports/web01');
    expect([...store.snapshot().keys()].filter((p) => p.startsWith('/exports/')).sort()).toEqual([
      '/exports/web01/Virtual Hard Disks/web01.vhdx',
      `/exports/web01/Virtual Machines/${id}.vmcx`,
      `/exports/web01/Virtual Machines/${id}.vmgs`,
      `/exports/web01/Virtual Machines/${id}.vmrs`,
    ]);
    const vmcx = `/exports/web01/Virtual Machines/${id}.vmcx`;
    // The original still has this Id: importing without a new one fails, as on Hyper-V.
    await expect(h.importVM(vmcx)).rejects.toThrow(/same identifier already exists \('web01'/);
    await expect(h.importVM(vmcx, { copy: true, generateNewId: true })).rejects.toThrow(/"web01" already exists/);
    const clone = await h.importVM(vmcx, { copy: true, generateNewId: true, name: 'clone' });
    expect(clone).toMatchObject({ Name: 'clone', State: 'Off', Path: `${ROOT}/clone` });
    expect(clone.Id).not.toBe(vm.Id);
    expect(clone.HardDrives[0]!.Path).toBe(`${ROOT}/clone/Virtual Hard Disks/web01.vhdx`);
    await h.startVM(['clone']);
    expect(new TextDecoder().decode(await h.readGuest('clone', 4096, 15))).toBe('checkpoint data');
    expect(new TextDecoder().decode(await h.readGuest('web01', 4096, 15))).toBe('later data!!!!!');
    // -Copy with other folders, imported a second time.
    const c2 = await h.importVM(vmcx, { copy: true, generateNewId: true, name: 'clone2', vhdDestinationPath: '/disks2', virtualMachinePath: '/vms2', snapshotFilePath: '/snaps2' });
    expect(c2).toMatchObject({ Path: '/vms2/clone2', SnapshotFileLocation: '/snaps2' });
    expect(c2.HardDrives[0]!.Path).toBe('/disks2/web01.vhdx');
    expect(store.exists(`/vms2/clone2/Virtual Machines/${c2.Id.toUpperCase()}.vmcx`)).toBe(true);
    await expect(h.importVM(vmcx, { generateNewId: true })).rejects.toThrow(/-GenerateNewId is used with -Copy/);
    // Exporting to a folder that already holds this VM's export is refused.
    await expect(h.exportVMSnapshot({ vmName: 'web01', name: 'c1' }, '/exports')).rejects.toThrow(/already exists/);
  });

  it('Remove-VM unregisters the VM and keeps its disk files; the export then imports in place, once', async () => {
    const { h, store } = filesHost();
    const vm = await h.newVM({ name: 'db01', checkpointType: 'Standard' });
    await h.startVM(['db01']);
    await h.writeGuest('db01', new TextEncoder().encode('now'), 0);
    await h.checkpointVM(['db01'], { snapshotName: 'c1' });
    const ex = await h.exportVM('db01', '/exports');
    expect(ex.HardDrives).toEqual(['/exports/db01/Virtual Hard Disks/db01.vhdx']);
    const disks = h.diskFiles('db01')[0]!.map((f) => f.path);
    await expect(h.removeVM(['db01'])).rejects.toThrow(/Remove-VM/);
    await h.stopVM(['db01'], { turnOff: true });
    const [gone] = await h.removeVM(['db01']);
    expect(gone!.Name).toBe('db01');
    await expect(h.getVM(['db01'])).rejects.toThrow(/unable to find a virtual machine with name "db01"/);
    for (const d of disks) expect(store.exists(d), d).toBe(true);
    expect([...store.snapshot().keys()].filter((p) => /\.(vmcx|vmrs|vmgs)$/.test(p) && p.startsWith(ROOT))).toEqual([]);

    const vmcx = `/exports/db01/Virtual Machines/${vm.Id.toUpperCase()}.vmcx`;
    const back = await h.importVM(vmcx);
    expect(back).toMatchObject({ Name: 'db01', Id: vm.Id, Path: '/exports/db01' });
    expect(back.HardDrives[0]!.Path).toBe('/exports/db01/Virtual Hard Disks/db01.vhdx');
    await h.startVM(['db01']);
    expect(new TextDecoder().decode(await h.readGuest('db01', 0, 3))).toBe('now');
    await expect(h.importVM(vmcx)).rejects.toThrow(/same identifier already exists/);
    // The export's own configuration files are now the VM's: kept, updated, not reported.
    expect(h.orphans()).toEqual([]);
    expect(store.open(`/exports/db01/Virtual Machines/${vm.Id.toUpperCase()}.vmrs`, 'r').size()).toBe(VMRS_IDLE_SIZE);
  });
});
