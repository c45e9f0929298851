/**
 * Checkpoints: Checkpoint-VM (standard or production, docs/hyperv.md, "Checkpoint types"),
 * Get-, Restore-, Remove- and Rename-VMSnapshot (Export-VMSnapshot: transfer.ts). A checkpoint freezes each drive's
 * current disk and gives the VM a new differencing leaf (createLeaves, adoptLeaves); removing one
 * detaches it from the tree and leaves the disks to the merges (merges.ts).
 */
import { HvsimError } from '../errors.js';
import { newGuid } from '../vhd/common/guid.js';
import { createChild } from '../engine/layers.js';
import type { CheckpointVMOptions, RemoveSnapshotOptions, SnapshotQuery, SnapshotRef, VMSnapshot } from '../host/host.js';
import { checkpointStamp, transferMs } from '../host/clock.js';
import { hasRuntimeState } from '../host/state-machine.js';
import { gatherSnapshots, requireNamedCheckpoint } from '../host/selection.js';
import { MAX_NAME_LENGTH, validateSnapshotName } from '../host/validation.js';
import { MAX_CHECKPOINTS, detach } from './checkpoint-tree.js';
import { fault, viewSnapshot, warn, type SimContext } from './context.js';
import { newDifferencingPath } from './disk-tree.js';
import { checkpointsOf, eachVM, findOne, resolveVMs, vmByName } from './lookup.js';
import { beforeTreeChange, scheduleCleanup, settle } from './merges.js';
import { creating } from './recovery.js';
import { vmProductionBlocker } from './integration.js';
import { currentDisks, memberNames, summaryOf, type SnapshotRecord, type VmRecord } from './state.js';

/** What a checkpoint of this VM will be, or Hyper-V's refusal (docs/hyperv.md, "Checkpoint types"). */
function checkpointKind(ctx: SimContext, vm: VmRecord): 'Standard' | 'Production' {
  const idText = `(Virtual machine ID ${vm.id.toUpperCase()})`;
  switch (vm.checkpointType) {
    case 'Disabled':
      throw new HvsimError('INVALID_STATE', `Checkpoint-VM: Checkpoint operation for '${vm.name}' failed. ${idText} Checkpoints are disabled for this virtual machine (CheckpointType Disabled).`);
    case 'Standard':
      return 'Standard';
    case 'Production':
    case 'ProductionOnly': {
      const why = vmProductionBlocker(vm);
      if (why === null) return 'Production';
      if (vm.checkpointType === 'ProductionOnly')
        throw new HvsimError('INVALID_STATE', `Checkpoint-VM: Production checkpoints cannot be created for '${vm.name}'. ${idText} Checkpoint operation for '${vm.name}' failed. ${idText} (${why}; CheckpointType ProductionOnly)`);
      // A frozen guest (Saved, Paused) plainly cannot quiesce: fall back silently; a running
      // guest that cannot is worth a warning.
      if (vm.state === 'Running')
        warn(ctx, vm.name, `Checkpoint-VM: Production checkpoints cannot be created for '${vm.name}' (${why}); a standard checkpoint was created instead.`);
      return 'Standard';
    }
  }
}

function defaultSnapshotName(ctx: SimContext, vm: VmRecord, t: number): string {
  const suffix = ` - (${checkpointStamp(t, ctx.timeZone)})`;
  return vm.name.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
}

/**
 * A new differencing child of `parents[i]` for each drive (Checkpoint-VM: the current disks;
 * Restore-VMSnapshot: the checkpoint's frozen files), all or none, recorded as being created.
 */
function createLeaves(ctx: SimContext, vm: VmRecord, parents: string[]): Array<{ file: string; parent: string }> {
  const store = ctx.storage.store;
  const leaves = parents.map((parent, i) => ({ file: newDifferencingPath(vm.drives[i]!), parent }));
  const made: Array<{ file: string; parent: string; wasReadOnly: boolean }> = [];
  creating(ctx, leaves, () => {
    try {
      for (const x of leaves) {
        const wasReadOnly = store.isReadOnly(x.parent);
        createChild(store, x.parent, x.file);
        made.push({ ...x, wasReadOnly });
      }
    } catch (e) {
      // All drives or none: undo the children already made (and the freeze of their parents).
      for (const x of made.reverse()) {
        store.remove(x.file);
        if (store.isReadOnly(x.parent) !== x.wasReadOnly) store.setReadOnly(x.parent, x.wasReadOnly);
      }
      throw e;
    }
  });
  return leaves;
}

/** The leaves createLeaves made become the drives' current disks. */
function adoptLeaves(vm: VmRecord, leaves: Array<{ file: string; parent: string }>): void {
  vm.drives.forEach((d, i) => {
    const x = leaves[i]!;
    d.files.push({ path: x.file, parent: x.parent });
    d.path = x.file;
  });
}

/** Record whether every member of a group now has its checkpoint (see SnapshotRecord.groupComplete). */
function markGroup(ctx: SimContext, groupId: string, members: string[] | null): void {
  // Only the VMs whose index says they have a checkpoint of the group are loaded (state.ts, summaryOf).
  const snaps = ctx.state.vms.filter((v) => summaryOf(v).groupIds.includes(groupId)).flatMap((v) => v.snapshots.filter((s) => s.groupId === groupId).map((s) => ({ v, s })));
  const have = new Set(snaps.flatMap((x) => memberNames(ctx.state, x.v)).map((n) => n.toLowerCase()));
  const complete = (members ?? []).every((m) => have.has(m.toLowerCase()));
  for (const { s } of snaps) s.groupComplete = complete;
}

function checkpointOne(ctx: SimContext, vm: VmRecord, opts: CheckpointVMOptions, automatic = false): SnapshotRecord {
  fault(ctx, 'checkpoint', vm);
  if (opts.snapshotName !== undefined) validateSnapshotName(opts.snapshotName, 'Checkpoint-VM');
  const kind = checkpointKind(ctx, vm);
  // At most 50 per VM (docs/hyperv.md, "Limits"): the 51st is refused before anything changes.
  if (vm.snapshots.length >= MAX_CHECKPOINTS)
    throw new HvsimError('INVALID_STATE', `Checkpoint-VM: Checkpoint operation for '${vm.name}' failed. (Virtual machine ID ${vm.id.toUpperCase()}) '${vm.name}' already has the maximum number of checkpoints (${MAX_CHECKPOINTS}): remove one first.`);
  beforeTreeChange(ctx, vm, 'Checkpoint-VM');
  const c = ctx.costs;
  const running = vm.state === 'Running';
  // A production checkpoint first quiesces the guest (VSS); it keeps running meanwhile.
  if (running && kind === 'Production') ctx.clock.advance(c.quiesceMs);
  const t0 = ctx.clock.now();
  if (running) ctx.frozen.add(vm.id);
  let leaves: Array<{ file: string; parent: string }>;
  try {
    leaves = createLeaves(ctx, vm, currentDisks(vm));
  } catch (e) {
    ctx.frozen.delete(vm.id);
    throw e;
  }
  const snap: SnapshotRecord = {
    id: newGuid(),
    name: opts.snapshotName ?? defaultSnapshotName(ctx, vm, t0),
    parentId: vm.parentSnapshotId,
    creationTime: t0,
    state: kind === 'Production' || !hasRuntimeState(vm.state) ? 'Off' : vm.state,
    kind,
    drives: currentDisks(vm),
    memory: vm.memory,
    notes: vm.notes,
    checkpointType: vm.checkpointType,
    groupId: opts.groupId ?? null,
    groupMembers: opts.groupMembers ?? null,
    fileLocation: vm.snapshotFileLocation ?? vm.path,
    ...(automatic ? { automatic: true } : {}),
  };
  adoptLeaves(vm, leaves);
  vm.snapshots.push(snap);
  vm.parentSnapshotId = snap.id;
  if (snap.groupId !== null) markGroup(ctx, snap.groupId, snap.groupMembers);
  ctx.clock.advance(c.checkpointBaseMs + c.createDiskMs * vm.drives.length);
  ctx.frozen.delete(vm.id);
  // A standard checkpoint of a running VM writes its memory after the guest resumes.
  if (kind === 'Standard' && (vm.state === 'Running' || vm.state === 'Paused')) ctx.clock.advance(transferMs(vm.memory, c.memorySaveBytesPerSec));
  return snap;
}

/**
 * Start-VM of an Off VM with AutomaticCheckpointsEnabled: a checkpoint first, named like Hyper-V's
 * ("Automatic Checkpoint - <VM> - (<time>)", docs/hyperv.md, "Checkpoint types"), IsAutomaticCheckpoint.
 */
export function automaticCheckpoint(ctx: SimContext, vm: VmRecord): void {
  const suffix = ` - (${checkpointStamp(ctx.clock.now(), ctx.timeZone)})`;
  const name = `Automatic Checkpoint - ${vm.name}`.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
  checkpointOne(ctx, vm, { snapshotName: name }, true);
}

/** A clean shutdown removes the VM's automatic checkpoints (docs/hyperv.md, "Checkpoint types"). */
export function dropAutomaticCheckpoints(ctx: SimContext, vm: VmRecord): void {
  const ids = new Set(vm.snapshots.filter((s) => s.automatic === true).map((s) => s.id));
  if (ids.size === 0) return;
  beforeTreeChange(ctx, vm, 'Stop-VM');
  detach(vm, ids);
  scheduleCleanup(ctx, vm, false);
}

export function checkpointVM(ctx: SimContext, names: string[], opts: CheckpointVMOptions): VMSnapshot[] {
  return eachVM(ctx, names, 'checkpoint', (vm) => viewSnapshot(ctx, vm, checkpointOne(ctx, vm, opts)));
}

export function getVMSnapshot(ctx: SimContext, q: SnapshotQuery): VMSnapshot[] {
  const { vms, errors } = resolveVMs(ctx, q.vmNames, 'get-snapshot');
  return gatherSnapshots(vms, errors, q.name, (vm) => checkpointsOf(vm).select(q, 'get-snapshot').map((s) => viewSnapshot(ctx, vm, s)));
}

export function restoreVMSnapshot(ctx: SimContext, ref: SnapshotRef): VMSnapshot {
  const vm = vmByName(ctx, ref.vmName, 'restore');
  const snap = findOne(vm, ref, 'restore');
  fault(ctx, 'restore', vm);
  beforeTreeChange(ctx, vm, 'Restore-VMSnapshot');
  const leaves = createLeaves(ctx, vm, snap.drives);
  // The current state is discarded (a running guest is stopped first).
  vm.state = 'Off';
  vm.runningSince = null;
  adoptLeaves(vm, leaves);
  vm.parentSnapshotId = snap.id;
  vm.state = snap.state === 'Off' ? 'Off' : 'Saved';
  // The configuration comes back with it.
  vm.memory = snap.memory;
  vm.notes = snap.notes;
  vm.checkpointType = snap.checkpointType;
  ctx.clock.advance(ctx.costs.restoreBaseMs + ctx.costs.createDiskMs * vm.drives.length);
  scheduleCleanup(ctx, vm, true);
  return viewSnapshot(ctx, vm, snap);
}

export function removeVMSnapshot(ctx: SimContext, q: SnapshotQuery, opts: RemoveSnapshotOptions): VMSnapshot[] {
  const wait = opts.wait ?? true;
  let matched = 0;
  const removed = eachVM(ctx, q.vmNames, 'remove', (vm) => {
    const cps = checkpointsOf(vm);
    const targets = cps.removalTargets(q, 'remove');
    matched += targets.length;
    // Nothing (left) to remove: a caller that waits still waits for a merge already under way
    // (a rerun after an interrupted removal finishes its merge).
    if (targets.length === 0) {
      if (wait) settle(ctx, vm);
      return [];
    }
    fault(ctx, 'remove', vm);
    beforeTreeChange(ctx, vm, 'Remove-VMSnapshot');
    const ids = cps.removedIds(targets, opts.includeAllChildSnapshots ?? false);
    const views = vm.snapshots.filter((s) => ids.has(s.id)).map((s) => viewSnapshot(ctx, vm, s));
    detach(vm, ids);
    scheduleCleanup(ctx, vm, wait);
    return views;
  }).flat();
  requireNamedCheckpoint(matched, q.name, 'remove');
  return removed;
}

export function renameVMSnapshot(ctx: SimContext, ref: SnapshotRef, newName: string): VMSnapshot {
  const vm = vmByName(ctx, ref.vmName, 'rename');
  const snap = findOne(vm, ref, 'rename');
  validateSnapshotName(newName, 'Rename-VMSnapshot');
  fault(ctx, 'rename', vm);
  snap.name = newName;
  return viewSnapshot(ctx, vm, snap);
}
