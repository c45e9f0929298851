/**
 * What one Get-VM (and Get-VMSnapshot) call listed, read with the rules every host shares
 * (host/selection.ts): which VMs and checkpoints a request names is decided by hvsim over these
 * objects, with the simulator's rules and wording. The driver then acts on the objects by Id, so
 * that a name never reaches a cmdlet's -Name (where [ ] and ` are wildcard syntax) and cannot
 * mean anything but itself. Pure.
 */
import type { VMSnapshot } from '../host/host.js';
import type { HvsimError } from '../errors.js';
import { VMCheckpoints, selectVMs, vmNamed, type CheckpointFields } from '../host/selection.js';
import type { RawSnapshot, RawVM } from './decode.js';

export class Listing {
  constructor(
    readonly vms: RawVM[],
    /** Checkpoints by VM Id, in the order Get-VMSnapshot gave them. */
    readonly snaps: Map<string, RawSnapshot[]>,
  ) {}

  /** VMs by names (wildcards allowed), in the order asked, each once; plain names that match nothing are errors. */
  select(names: string[] | undefined, op: string): { vms: RawVM[]; errors: HvsimError[] } {
    return selectVMs(this.vms, names, op, vmName);
  }

  /** One VM by its exact name (case-insensitive). */
  vm(name: string, op: string): RawVM {
    return vmNamed(this.vms, name, op, vmName);
  }

  /** The checkpoints of a VM (those listed; none when the listing left them out). */
  checkpoints(vm: RawVM): VMCheckpoints<RawSnapshot> {
    return new VMCheckpoints(vm.vm.Name, vm.vm.ParentSnapshotId, this.snaps.get(vm.vm.Id) ?? [], RAW_CHECKPOINT);
  }
}

const vmName = (v: RawVM): string => v.vm.Name;

const RAW_CHECKPOINT: CheckpointFields<RawSnapshot> = {
  id: (s) => s.snap.Id,
  name: (s) => s.snap.Name,
  parentId: (s) => s.snap.ParentSnapshotId,
  groupId: (s) => s.snap.GroupId,
  snapshotType: (s) => s.snap.SnapshotType,
};

/** Targets without those that lie under another target (removing a subtree removes them already). */
export function topmost(snaps: VMSnapshot[], targets: VMSnapshot[]): VMSnapshot[] {
  const t = new Set(targets.map((s) => s.Id));
  const byId = new Map(snaps.map((s) => [s.Id, s]));
  return targets.filter((s) => {
    const seen = new Set<string>();
    let p = s.ParentSnapshotId;
    while (p !== null && !seen.has(p)) {
      if (t.has(p)) return false;
      seen.add(p);
      p = byId.get(p)?.ParentSnapshotId ?? null;
    }
    return true;
  });
}
