/**
 * The objects the Host returns, built from the records with Hyper-V's property names
 * (Get-VM, Get-VMSnapshot, Get-VMHardDiskDrive). Pure.
 */
import type { HardDiskDrive, SnapshotType, VirtualMachine, VMSnapshot } from '../host/host.js';
import { iso, timeSpan } from '../host/clock.js';
import { snapshotById } from './checkpoint-tree.js';
import { BACKUP_SERVICE, productionBlocker } from '../host/integration.js';
import { currentDisks, servicesOf, type SnapshotRecord, type VmRecord } from './state.js';

/** The VM's drives now (`snap` null), or as checkpoint `snap` froze them. */
export function drivesView(computerName: string, vm: VmRecord, snap: SnapshotRecord | null): HardDiskDrive[] {
  return (snap === null ? currentDisks(vm) : snap.drives).map((p, i) => ({
    VMName: vm.name,
    VMId: vm.id,
    Name: `Hard Drive on SCSI controller number 0 at location ${i}`,
    ControllerType: 'SCSI',
    ControllerNumber: 0,
    ControllerLocation: i,
    Path: p,
    VMSnapshotId: snap?.id ?? null,
    VMSnapshotName: snap?.name ?? null,
    ComputerName: computerName,
  }));
}

/** ParentSnapshotId and ParentSnapshotName of a VM or a checkpoint whose parent is `parentId`. */
function parentFields(vm: VmRecord, parentId: string | null): { ParentSnapshotId: string | null; ParentSnapshotName: string | null; ParentCheckpointId: string | null; ParentCheckpointName: string | null } {
  const parent = snapshotById(vm, parentId);
  const id = parent?.id ?? null;
  const name = parent?.name ?? null;
  return { ParentSnapshotId: id, ParentSnapshotName: name, ParentCheckpointId: id, ParentCheckpointName: name };
}

/**
 * `missing`: the VM's disk files that are not there. Such a VM is Degraded and its Status names
 * the first missing file (hvsim's wording: Hyper-V's text for this case is not documented;
 * docs/simulator.md).
 */
export function vmView(computerName: string, vm: VmRecord, now: number, missing: readonly string[] = []): VirtualMachine {
  // A merge past its time is one that waits for a missing file (the simulator runs the others).
  const merging = vm.mergeUntil !== null;
  const primary = missing.length > 0 ? 'Degraded' : 'Ok';
  const status =
    missing.length > 0
      ? `Critical: disk file missing: ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`
      : merging
        ? 'Merging disks'
        : 'Operating normally';
  return {
    VMName: vm.name,
    Name: vm.name,
    Id: vm.id,
    VMId: vm.id,
    State: vm.state,
    Status: status,
    OperationalStatus: merging ? [primary, 'MergingDisks'] : [primary],
    PrimaryOperationalStatus: primary,
    ComputerName: computerName,
    CheckpointType: vm.checkpointType,
    ...parentFields(vm, vm.parentSnapshotId),
    MemoryStartup: vm.memory,
    MemoryAssigned: vm.state === 'Running' || vm.state === 'Paused' ? vm.memory : 0,
    CPUUsage: 0,
    Uptime: timeSpan(vm.state === 'Running' && vm.runningSince !== null ? now - vm.runningSince : 0),
    Notes: vm.notes,
    CreationTime: iso(vm.creationTime),
    Generation: 2,
    Version: '9.0',
    Path: vm.path,
    ConfigurationLocation: vm.path,
    SnapshotFileLocation: vm.snapshotFileLocation ?? vm.path,
    CheckpointFileLocation: vm.snapshotFileLocation ?? vm.path,
    SmartPagingFilePath: vm.smartPagingFilePath ?? vm.path,
    AutomaticCheckpointsEnabled: vm.automaticCheckpointsEnabled ?? false,
    HardDrives: drivesView(computerName, vm, null),
    MergeCompletionTime: merging ? iso(vm.mergeUntil!) : null,
    // Running now would it take a production checkpoint (the one rule: src/host/integration.ts).
    GuestSupportsProductionCheckpoints: productionBlocker('Running', vm.guestSupportsProduction, servicesOf(vm)[BACKUP_SERVICE]) === null,
  };
}

/** Every simulated checkpoint lists as Standard (production checkpoints too: docs/hyperv.md, "Enums"). */
export const SNAPSHOT_TYPE: SnapshotType = 'Standard';

export function snapView(computerName: string, vm: VmRecord, s: SnapshotRecord): VMSnapshot {
  return {
    VMName: vm.name,
    VMId: vm.id,
    Name: s.name,
    Id: s.id,
    SnapshotType: SNAPSHOT_TYPE,
    State: s.state,
    ...parentFields(vm, s.parentId),
    Path: s.fileLocation ?? vm.path,
    CreationTime: iso(s.creationTime),
    ComputerName: computerName,
    Notes: s.notes,
    MemoryStartup: s.memory,
    IsDeleted: false,
    IsAutomaticCheckpoint: s.automatic ?? false,
    HardDrives: drivesView(computerName, vm, s),
    CheckpointType: s.kind,
    GroupId: s.groupId,
    GroupMembers: s.groupMembers ?? null,
  };
}
