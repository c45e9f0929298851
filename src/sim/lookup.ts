/**
 * Finding what a command names — VMs by name (wildcards allowed), a checkpoint by Id or name, a
 * VM's drive — and running a command over several VMs with non-terminating errors: the rules
 * every host shares (host/selection.ts) over the simulator's records.
 */
import type { HvsimError } from '../errors.js';
import { invalidArgument } from '../errors.js';
import { cmdletOf } from '../host/messages.js';
import { VMCheckpoints, eachSelected, findVMNamed, selectVMs, vmNamed, type CheckpointFields } from '../host/selection.js';
import { touch, type SimContext } from './context.js';
import { vmsOn, type SnapshotRecord, type VmRecord } from './state.js';
import { SNAPSHOT_TYPE } from './views.js';

const nameOf = (vm: VmRecord): string => vm.name;

const RECORD_CHECKPOINT: CheckpointFields<SnapshotRecord> = {
  id: (s) => s.id,
  name: (s) => s.name,
  parentId: (s) => s.parentId,
  groupId: (s) => s.groupId,
  snapshotType: () => SNAPSHOT_TYPE,
};

/** The VMs on the host the context acts on (the others are another computer's). */
export function hostVMs(ctx: SimContext): VmRecord[] {
  return vmsOn(ctx.state, ctx.host);
}

/** VMs by names (wildcards allowed). A plain name that matches nothing is an error. */
export function resolveVMs(ctx: SimContext, names: string[] | undefined, op: string): { vms: VmRecord[]; errors: HvsimError[] } {
  const r = selectVMs(hostVMs(ctx), names, op, nameOf);
  for (const vm of r.vms) touch(ctx, vm);
  return r;
}

/** The VM of this name (names compare without regard to case), if any. */
export function findVM(ctx: SimContext, name: string): VmRecord | undefined {
  const vm = findVMNamed(hostVMs(ctx), name, nameOf);
  if (vm) touch(ctx, vm);
  return vm;
}

export function vmByName(ctx: SimContext, name: string, op: string): VmRecord {
  const vm = vmNamed(hostVMs(ctx), name, op, nameOf);
  touch(ctx, vm);
  return vm;
}

/**
 * Apply `fn` to each named VM in turn, like a cmdlet with non-terminating errors: a failure for
 * one VM does not stop the others; afterwards the failures are thrown together.
 */
export function eachVM<T>(ctx: SimContext, names: string[], op: string, fn: (vm: VmRecord) => T): T[] {
  return eachSelected(resolveVMs(ctx, names, op), fn);
}

/** A VM's checkpoints, for selection by name, Id, group, type or tree position. */
export function checkpointsOf(vm: VmRecord): VMCheckpoints<SnapshotRecord> {
  return new VMCheckpoints(vm.name, vm.parentSnapshotId, vm.snapshots, RECORD_CHECKPOINT);
}

/** Find one checkpoint by Id or name (an Id may be given as the name). */
export function findOne(vm: VmRecord, ref: { name?: string; id?: string }, op: string): SnapshotRecord {
  return checkpointsOf(vm).find(ref, op);
}

export function drive(vm: VmRecord, i: number, op: string): VmRecord['drives'][number] {
  const d = vm.drives[i];
  if (!d) throw invalidArgument(`${cmdletOf(op)}: '${vm.name}' has no disk ${i} (it has ${vm.drives.length})`);
  return d;
}
