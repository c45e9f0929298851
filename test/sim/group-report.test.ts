/**
 * A group checkpoint's report kept with the simulator's state (docs/ui.md, "Groups"; state.ts
 * keepGroupReports): each VM's pause, save, checkpoint and resume as distinct timed steps, kept in
 * the saved state for as long as a checkpoint of the group exists, checked when the state is read.
 */
import { describe, expect, it } from 'vitest';
import { memoryHost, simHost } from '../helpers/sim-host.js';
import { checkpointGroup, removeGroup } from '../../src/host/group.js';
import { DEFAULT_COSTS } from '../../src/host/clock.js';
import { Simulator } from '../../src/sim/simulator.js';
import { MemoryStorage } from '../../src/sim/storage.js';
import { HvsimError } from '../../src/errors.js';
import type { HostState } from '../../src/sim/state.js';

async function twoRunningOneSaved(h: Simulator): Promise<void> {
  for (const v of ['app', 'db', 'web']) await h.newVM({ name: v });
  await h.startVM(['app', 'db', 'web']);
  await h.stopVM(['web'], { save: true });
}

describe('the group checkpoint report', () => {
  it("times each VM's pause, save, checkpoint and resume as distinct steps, in order", async () => {
    const h = simHost();
    await twoRunningOneSaved(h);
    const r = await checkpointGroup(h, ['app', 'db', 'web'], { snapshotName: 'g' });
    const steps = (vm: string): string[] => r.Members.find((m) => m.VMName === vm)!.Steps.map((s) => s.Step);
    expect(steps('app')).toEqual(['Suspend-VM', 'Save-VM', 'Checkpoint-VM', 'Start-VM']);
    expect(steps('db')).toEqual(['Suspend-VM', 'Save-VM', 'Checkpoint-VM', 'Start-VM']);
    // A VM that was Saved is only checkpointed.
    expect(steps('web')).toEqual(['Checkpoint-VM']);
    for (const m of r.Members) {
      const t = m.Steps.flatMap((s) => [Date.parse(s.Start), Date.parse(s.End)]);
      expect(t).toEqual([...t].sort((a, b) => a - b));
      expect(Date.parse(m.Steps[0]!.Start)).toBeGreaterThanOrEqual(Date.parse(r.StartTime));
      expect(Date.parse(m.Steps.at(-1)!.End)).toBeLessThanOrEqual(Date.parse(r.EndTime));
    }
    const app = r.Members.find((m) => m.VMName === 'app')!;
    // The pause takes the cost model's pause time and starts at the freeze instant.
    expect(app.Steps[0]!.Start).toBe(app.FrozenAt);
    expect(Date.parse(app.Steps[0]!.End) - Date.parse(app.Steps[0]!.Start)).toBe(DEFAULT_COSTS.pauseMs);
    // The second VM's pause follows the first's: the skew.
    const db = r.Members.find((m) => m.VMName === 'db')!;
    expect(Date.parse(db.FrozenAt) - Date.parse(app.FrozenAt)).toBe(r.SkewMs);
  });

  it('is kept in the saved state, read back by a host reopened on it, and checked there', async () => {
    const { h, storage, store } = memoryHost();
    await twoRunningOneSaved(h);
    const r = await checkpointGroup(h, ['app', 'db'], { snapshotName: 'g' });
    const saved = JSON.parse(storage.savedJson!) as HostState;
    expect(saved.groups).toEqual([r]);
    h.close();
    const again = Simulator.open({ storage: new MemoryStorage(store, storage.vmRoot, storage.savedJson) });
    expect(again.groupReports()).toEqual([r]);
    again.close();
    // A damaged report is refused when the state is read, naming the field.
    const bad = JSON.parse(storage.savedJson!) as HostState;
    (bad.groups![0]!.Members[0]!.Steps[0] as { Step: string }).Step = 'Reboot-VM';
    const e = (() => {
      try {
        Simulator.open({ storage: new MemoryStorage(store, storage.vmRoot, JSON.stringify(bad)) });
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(HvsimError);
    expect((e as HvsimError).code).toBe('CORRUPT');
    expect((e as HvsimError).message).toContain('groups[0].Members[0].Steps[0].Step');
  });

  it("is kept while a checkpoint of the group exists, and dropped with the group's last checkpoint", async () => {
    const { h, storage } = memoryHost();
    await twoRunningOneSaved(h);
    const a = await checkpointGroup(h, ['app', 'db'], { snapshotName: 'first' });
    const b = await checkpointGroup(h, ['app', 'web'], { snapshotName: 'second' });
    expect(h.groupReports().map((g) => g.GroupId)).toEqual([a.GroupId, b.GroupId]);
    // One member's checkpoint removed: the group is incomplete but still there, and so is its report.
    await h.removeVMSnapshot({ vmNames: ['db'], name: 'first' });
    expect(h.groupReports().map((g) => g.GroupId)).toEqual([a.GroupId, b.GroupId]);
    await h.removeVMSnapshot({ vmNames: ['app'], name: 'first' });
    expect(h.groupReports().map((g) => g.GroupId)).toEqual([b.GroupId]);
    await removeGroup(h, { groupId: b.GroupId });
    expect(h.groupReports()).toEqual([]);
    expect((JSON.parse(storage.savedJson!) as HostState).groups).toBeUndefined();
  });

  it('a group rolled back keeps no report', async () => {
    const h = simHost({ faults: ['checkpoint:db'] });
    await twoRunningOneSaved(h);
    await expect(checkpointGroup(h, ['app', 'db'])).rejects.toThrow(/rolled back/);
    expect(h.groupReports()).toEqual([]);
  });
});
