/**
 * The disk commands leave a simulated VM's files to the VM cmdlets (issue: "merge-vhd merges a
 * chain that a simulated VM is using"): Hyper-V's Merge-VHD works offline only and refuses a disk
 * in use (docs/simulator.md, "Disk commands on a VM's files").
 */
import type { Command } from 'commander';
import { HvsimError } from '../errors.js';
import { diskOwner, type DiskOwner } from '../sim/owner.js';
import { stateRoot, type Globals } from './sim-host.js';

/**
 * What a command does to a file:
 * - write: changes its data (allowed on a VM's current disk while the VM is Off: no checkpoint
 *   includes it and no guest has it open);
 * - freeze: makes it a parent (allowed on a checkpoint's frozen file, never on a VM's current disk);
 * - merge: merges it, removes it or replaces it (never on a VM's file).
 */
export type DiskChange = 'write' | 'freeze' | 'merge';

function allowed(o: DiskOwner, change: DiskChange): boolean {
  if (change === 'write') return o.current && o.vmState === 'Off';
  if (change === 'freeze') return !o.current;
  return false;
}

function why(o: DiskOwner): string {
  if (o.current) return `is the current disk of the virtual machine '${o.vmName}' (${o.vmState})`;
  if (o.checkpoints.length > 0)
    return `holds ${o.checkpoints.length === 1 ? 'checkpoint' : 'checkpoints'} ${o.checkpoints.map((c) => `'${c}'`).join(', ')} of the virtual machine '${o.vmName}'`;
  return `belongs to the virtual machine '${o.vmName}'`;
}

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
    if (o && !allowed(o, change))
      throw new HvsimError('INVALID_STATE', `${command}: ${f} ${why(o)} (state directory ${o.root}); ${instead(o, change)}`, { file: f });
  }
}
