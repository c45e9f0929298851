/**
 * Group checkpoints (checkpoint-group, restore-group, remove-group): the report (freeze instants,
 * skew), prior states restored, exactly-the-set semantics, and all-or-nothing under an injected
 * fault at every step; plus the two-tier workload that shows why it matters.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DEFAULT_DISK_SIZE, type Simulator } from '../../src/sim/simulator.js';
import { simHost } from '../helpers/sim-host.js';
import { checkpointGroup, getGroups, removeGroup, restoreGroup } from '../../src/host/group.js';
import { PairedWorkload, checkPair } from '../../src/sim/paired-workload.js';
import { DEFAULT_COSTS } from '../../src/host/clock.js';
import { HvsimError } from '../../src/errors.js';
import type { VMState } from '../../src/host/host.js';
import { reject } from '../helpers/data.js';

const MiB = 1024 * 1024;
const START = Date.UTC(2024, 0, 2, 9, 0, 0);

function tag(t: string): Uint8Array {
  const b = new Uint8Array(4096);
  b.set(new TextEncoder().encode(t));
  return b;
}

async function hash(h: Simulator, vm: string, snapshot?: string): Promise<string> {
  const size = await h.diskSize(vm);
  return createHash('sha256')
    .update(await h.readGuest(vm, 0, size, snapshot !== undefined ? { snapshot } : {}))
    .digest('hex');
}

const VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];

/** Three VMs: two running, one saved; the third has an older checkpoint. */
async function setup(faults: string[] = []): Promise<Simulator> {
  const h = simHost({ computerName: 'xHost16', startTime: START, defaultDiskSize: 4 * MiB });
  for (const v of VMS) await h.newVM({ name: v });
  await h.startVM(VMS);
  for (const v of VMS) await h.writeGuest(v, tag(`${v} v1`), 0);
  await h.checkpointVM(['v-2012R2-TW01'], { snapshotName: 'older' });
  for (const v of VMS) await h.writeGuest(v, tag(`${v} v2`), MiB);
  await h.saveVM(['v-2012R2-TW01']);
  for (const f of faults) h.faults.add(f);
  return h;
}

interface Picture {
  states: Record<string, VMState>;
  snapshots: string[];
  content: Record<string, string>;
  older: string;
  fileCounts: number[];
}

async function picture(h: Simulator): Promise<Picture> {
  const vms = await h.getVM(VMS);
  const content: Record<string, string> = {};
  for (const v of VMS) content[v] = await hash(h, v);
  return {
    states: Object.fromEntries(vms.map((v) => [v.Name, v.State])),
    snapshots: (await h.getVMSnapshot({ vmNames: VMS })).map((s) => `${s.VMName}/${s.Name}/${s.Id}`),
    content,
    older: await hash(h, 'v-2012R2-TW01', 'older'),
    fileCounts: VMS.map((v) => h.diskFiles(v)[0]!.length),
  };
}

describe('checkpoint-group', () => {
  it('freezes, checkpoints and returns every VM to its prior state, with one group id', async () => {
    const h = await setup();
    const before = await picture(h);
    const r = await checkpointGroup(h, VMS, { snapshotName: 'farm' });
    expect(r.Members.map((m) => [m.VMName, m.PriorState, m.State])).toEqual([
      ['SSTest1', 'Running', 'Running'],
      ['V-2012R2-Test1', 'Running', 'Running'],
      ['v-2012R2-TW01', 'Saved', 'Saved'],
    ]);
    // Freeze instants: the two running VMs were paused back to back.
    expect(r.SkewMs).toBe(DEFAULT_COSTS.pauseMs);
    expect(Date.parse(r.Members[1]!.FrozenAt) - Date.parse(r.Members[0]!.FrozenAt)).toBe(DEFAULT_COSTS.pauseMs);
    expect(r.DurationMs).toBe(Date.parse(r.EndTime) - Date.parse(r.StartTime));
    const snaps = await h.getVMSnapshot({ vmNames: VMS, groupId: r.GroupId });
    expect(snaps.map((s) => [s.VMName, s.Name, s.GroupId, s.State])).toEqual([
      ['SSTest1', 'farm', r.GroupId, 'Saved'],
      ['V-2012R2-Test1', 'farm', r.GroupId, 'Saved'],
      ['v-2012R2-TW01', 'farm', r.GroupId, 'Saved'],
    ]);
    expect(snaps[0]!.GroupMembers).toEqual(VMS);
    for (const v of VMS) expect(await hash(h, v, 'farm')).toBe(before.content[v]);
    expect((await getGroups(h)).map((g) => [g.GroupId, g.SnapshotName, g.VMNames, g.Missing])).toEqual([[r.GroupId, 'farm', VMS, []]]);
    // The default name is each VM's own.
    const r2 = await checkpointGroup(h, VMS.slice(0, 2), { mode: 'pause' });
    expect(r2.Members[0]!.SnapshotName).toMatch(/^SSTest1 - \(1\/2\/2024 - 9:\d\d:\d\d AM\)$/);
    expect(r2.Members.map((m) => m.State)).toEqual(['Running', 'Running']);
  });

  // Every step of both modes can fail, for every VM: the result must be exactly the prior picture.
  const steps = ['suspend', 'save', 'checkpoint', 'start', 'resume'];
  for (const mode of ['save', 'pause'] as const)
    for (const op of steps)
      for (const vm of VMS)
        it(`all or nothing (${mode} mode): fault at ${op} of ${vm}`, async () => {
          const h = await setup([`${op}:${vm}`]);
          const before = await picture(h);
          let error: HvsimError | undefined;
          try {
            await checkpointGroup(h, VMS, { snapshotName: 'farm', mode });
          } catch (e) {
            if (!(e instanceof HvsimError)) throw e;
            error = e;
          }
          if (h.faults.fired.length === 0) {
            // This step does not happen for this VM in this mode.
            expect(error).toBeUndefined();
            expect((await h.getVMSnapshot({ vmNames: VMS, name: 'farm' })).length).toBe(3);
            return;
          }
          expect(error?.code).toBe('FAULT_INJECTED');
          expect(error?.message).toContain(`checkpoint-group: failed at`);
          expect(error?.message).toContain(`of '${vm}'`);
          expect(error?.message).toContain('rolled back: no checkpoint was kept');
          const after = await picture(h);
          expect(after).toEqual(before);
          expect((await h.getVM(VMS)).every((v) => v.OperationalStatus.length === 1)).toBe(true);
        });

  it('reports a rollback that could not finish', async () => {
    const h = await setup(['checkpoint:v-2012R2-TW01', 'remove:SSTest1']);
    const e = await reject(checkpointGroup(h, VMS, { snapshotName: 'farm' }));
    expect(e.message).toContain('ROLLBACK INCOMPLETE');
    expect(e.message).toContain("of 'SSTest1' could not be removed");
    // What could be undone was: the states are back.
    expect((await h.getVM(VMS)).map((v) => v.State)).toEqual(['Running', 'Running', 'Saved']);
  });
});

describe('restore-group and remove-group', () => {
  it('restores exactly the set, all or nothing, and leaves no safety checkpoint behind', async () => {
    const h = await setup();
    const r = await checkpointGroup(h, VMS, { snapshotName: 'farm' });
    const at: Record<string, string> = {};
    for (const v of VMS) at[v] = await hash(h, v);
    await h.startVM(['v-2012R2-TW01']);
    for (const v of VMS) await h.writeGuest(v, tag(`${v} v3`), 0);
    // A second group that must not be touched.
    const other = await checkpointGroup(h, VMS.slice(0, 2), { snapshotName: 'other' });
    const res = await restoreGroup(h, { snapshotName: 'farm' });
    expect(res.GroupId).toBe(r.GroupId);
    expect(res.Members.map((m) => [m.VMName, m.State])).toEqual(VMS.map((v) => [v, 'Saved']));
    for (const v of VMS) expect(await hash(h, v)).toBe(at[v]);
    const names = (await h.getVMSnapshot({ vmNames: VMS })).map((s) => `${s.VMName}/${s.Name}`);
    expect(names.sort()).toEqual(['SSTest1/farm', 'SSTest1/other', 'V-2012R2-Test1/farm', 'V-2012R2-Test1/other', 'v-2012R2-TW01/farm', 'v-2012R2-TW01/older'].sort());
    expect((await h.getVM(VMS)).map((v) => v.ParentSnapshotName)).toEqual(['farm', 'farm', 'farm']);

    // Restoring fails at the second VM: the first goes back to what it was.
    await h.startVM(VMS);
    for (const v of VMS) await h.writeGuest(v, tag(`${v} v4`), 0);
    const before = await picture(h);
    h.faults.add('restore:V-2012R2-Test1');
    const e = await reject(restoreGroup(h, { groupId: r.GroupId }));
    expect(e.message).toContain("restore-group: failed at Restore-VMSnapshot of 'V-2012R2-Test1'");
    expect(e.message).toContain('rolled back');
    const after = await picture(h);
    expect(after.states).toEqual(before.states);
    expect(after.content).toEqual(before.content);
    expect(after.snapshots).toEqual(before.snapshots);

    // remove-group removes that set only.
    const removed = await removeGroup(h, { groupId: other.GroupId });
    expect(removed.Removed.map((x) => x.VMName)).toEqual(VMS.slice(0, 2));
    expect((await h.getVMSnapshot({ vmNames: VMS })).filter((x) => x.Name === 'other').length).toBe(0);
    expect((await h.getVMSnapshot({ vmNames: VMS, name: 'farm' })).length).toBe(3);
    for (const v of VMS) expect(await hash(h, v)).toBe(before.content[v]);
    expect(await hash(h, 'SSTest1', 'farm')).toBe(at.SSTest1);
  });

  it('restore-group refuses an incomplete group (remove-group finishes it), an ambiguous name and a different VM list', async () => {
    const h = await setup();
    const a = await checkpointGroup(h, VMS, { snapshotName: 'same' });
    await checkpointGroup(h, VMS.slice(0, 2), { snapshotName: 'same' });
    expect((await reject(restoreGroup(h, { snapshotName: 'same' }))).message).toContain('2 groups have checkpoints named "same"');
    expect((await reject(restoreGroup(h, { groupId: a.GroupId, vmNames: VMS.slice(0, 2) }))).code).toBe('INVALID_ARGUMENT');
    await h.removeVMSnapshot({ vmNames: ['SSTest1'], id: a.Members[0]!.SnapshotId });
    const e = await reject(restoreGroup(h, { groupId: a.GroupId }));
    expect(e.code).toBe('INVALID_STATE');
    expect(e.message).toContain("incomplete: 'SSTest1' no longer has its checkpoint");
    expect((await getGroups(h)).find((g) => g.GroupId === a.GroupId)!.Missing).toEqual(['SSTest1']);
    expect((await reject(removeGroup(h, { groupId: '00000000-0000-0000-0000-000000000001' }))).code).toBe('NOT_FOUND');
    // remove-group finishes an incomplete group (a removal stopped part-way): what is left goes.
    const removed = await removeGroup(h, { groupId: a.GroupId });
    expect(removed.Removed.map((x) => x.VMName).sort()).toEqual(VMS.filter((v) => v !== 'SSTest1').sort());
    expect((await getGroups(h)).find((g) => g.GroupId === a.GroupId)).toBeUndefined();
  });
});

describe('why it matters: a two-tier workload', () => {
  it('sequential checkpoints of running VMs disagree; a group checkpoint agrees and restores consistently', async () => {
    const h = simHost({ startTime: START, defaultDiskSize: DEFAULT_DISK_SIZE });
    await h.newVM({ name: 'app' });
    await h.newVM({ name: 'db' });
    const wl = new PairedWorkload(h, { app: 'app', db: 'db', intervalMs: 100 });
    wl.start();
    await h.startVM(['app', 'db']);
    await h.advance(5000);
    expect(wl.committed).toBe(50);
    expect(await checkPair(h, 'app', 'db')).toMatchObject({ AppRecords: 50, DbRecords: 50, Consistent: true });

    await h.checkpointVM(['app', 'db'], { snapshotName: 'seq' });
    const seq = await checkPair(h, 'app', 'db', { app: 'seq', db: 'seq' });
    expect(seq.Consistent).toBe(false);
    expect(seq.DbRecords - seq.AppRecords).toBe(DEFAULT_COSTS.quiesceMs / 100);

    await h.advance(1000);
    const g = await checkpointGroup(h, ['app', 'db'], { snapshotName: 'grp' });
    const grp = await checkPair(h, 'app', 'db', { app: 'grp', db: 'grp' });
    expect(grp.Consistent).toBe(true);
    expect(grp.AppRecords).toBeGreaterThan(seq.DbRecords);
    await h.advance(2000);
    const live = await checkPair(h, 'app', 'db');
    expect(live.AppRecords).toBeGreaterThan(grp.AppRecords);

    await restoreGroup(h, { groupId: g.GroupId });
    expect(await checkPair(h, 'app', 'db')).toMatchObject({ AppRecords: grp.AppRecords, Consistent: true });
    await h.startVM(['app', 'db']);
    await h.advance(1000);
    const resumed = await checkPair(h, 'app', 'db');
    expect(resumed.Consistent).toBe(true);
    expect(resumed.AppRecords).toBeGreaterThan(grp.AppRecords);
    wl.stop();
  });
});
