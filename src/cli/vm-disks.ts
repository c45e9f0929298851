/**
 * The disk commands leave a simulated VM's files to the VM cmdlets (issue: "merge-vhd merges a
 * chain that a simulated VM is using"): Hyper-V's Merge-VHD works offline only and refuses a disk
 * in use (docs/simulator.md, "Disk commands on a VM's files").
 */
import type { Command } from 'commander';
import { HvsimError } from '../errors.js';
import { changeAllowed, diskOwner, ownerReason, type DiskChange, type DiskOwner } from '../sim/owner.js';
import { stateRoot, type Globals } from './sim-host.js';

export type { DiskChange };

function instead(o: DiskOwner, change: DiskChange): string {
  const vm = JSON.stringify(o.vmName);
  if (change === 'write') return o.current ? `write through its guest (hvsim write-vm --name ${vm}) or turn it off first` : `write to the VM instead (hvsim write-vm --name ${vm})`;
  if (change === 'freeze') return `checkpoint the VM instead (hvsim checkpoint-vm --name ${vm})`;
  return `remove its checkpoints with hvsim remove-vmsnapshot --vm-name ${vm}, which merges its files`;
}

/** Refuse `command` when one of `files` belongs to a simulated VM and `change` would disturb it. */
export function refuseVmDisks(cmd: Command, command: string, files: readonly string[], change: DiskChange): void {
  const root = stateRoot(cmd.optsWithGlobals() as Globals);
  for (const f of files) {
    const o = diskOwner(f, [root]);
    if (o && !changeAllowed(o, change))
      throw new HvsimError('INVALID_STATE', `${command}: ${f} ${ownerReason(o)} (state directory ${o.root}); ${instead(o, change)}`, { file: f });
  }
}
