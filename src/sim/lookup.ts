/**
 * Finding what a command names: VMs by name (wildcards allowed), a checkpoint by Id or name, a
 * VM's drive; and running a command over several VMs with non-terminating errors.
 * Imports: host rules (names, errors), sim context and state.
 */
import { HvsimError, invalidArgument } from '../errors.js';
import { tryParseGuid } from '../vhd/common/guid.js';
import { hasWildcard, nameMatches } from '../host/faults.js';
import { CMDLET, combine, snapshotNotFound, vmNotFound } from '../host/state-machine.js';
import { snapshotById } from './checkpoint-tree.js';
import type { SimContext } from './context.js';
import type { SnapshotRecord, VmRecord } from './state.js';

/** VMs by names (wildcards allowed). A plain name that matches nothing is an error. */
export function resolveVMs(ctx: SimContext, names: string[] | undefined, op: string): { vms: VmRecord[]; errors: HvsimError[] } {
  if (names === undefined || names.length === 0) return { vms: [...ctx.state.vms], errors: [] };
  const vms: VmRecord[] = [];
  const errors: HvsimError[] = [];
  for (const n of names) {
    const hits = ctx.state.vms.filter((v) => nameMatches(n, v.name));
    if (hits.length === 0 && !hasWildcard(n)) errors.push(vmNotFound(op, n));
    for (const h of hits) if (!vms.includes(h)) vms.push(h);
  }
  return { vms, errors };
}

/** The VM of this name (names compare without regard to case), if any. */
export function findVM(ctx: SimContext, name: string): VmRecord | undefined {
  return ctx.state.vms.find((x) => x.name.toLowerCase() === name.toLowerCase());
}

export function vmByName(ctx: SimContext, name: string, op: string): VmRecord {
  const v = findVM(ctx, name);
  if (!v) throw vmNotFound(op, name);
  return v;
}

/**
 * Apply `fn` to each named VM in turn, like a cmdlet with non-terminating errors: a failure for
 * one VM does not stop the others; afterwards the failures are thrown together.
 */
export function eachVM<T>(ctx: SimContext, names: string[], op: string, fn: (vm: VmRecord) => T): T[] {
  const { vms, errors } = resolveVMs(ctx, names, op);
  const out: T[] = [];
  for (const vm of vms) {
    try {
      out.push(fn(vm));
    } catch (e) {
      if (e instanceof HvsimError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length > 0) throw combine(errors);
  return out;
}

/** Find one checkpoint by Id or name (an Id may be given as the name). */
export function findOne(vm: VmRecord, ref: { name?: string; id?: string }, op: string): SnapshotRecord {
  const id = ref.id !== undefined ? tryParseGuid(ref.id) : ref.name !== undefined ? tryParseGuid(ref.name) : undefined;
  if (id !== undefined) {
    const s = snapshotById(vm, id);
    if (s) return s;
    if (ref.id !== undefined) throw snapshotNotFound(op, vm.name, ref.id);
  }
  if (ref.name === undefined) throw invalidArgument(`${CMDLET[op] ?? op}: name a checkpoint of '${vm.name}'`);
  const hits = vm.snapshots.filter((s) => nameMatches(ref.name!, s.name));
  if (hits.length === 0) throw snapshotNotFound(op, vm.name, ref.name);
  if (hits.length > 1)
    throw invalidArgument(`${CMDLET[op] ?? op}: ${hits.length} checkpoints of '${vm.name}' match "${ref.name}" (Ids ${hits.map((h) => h.id).join(', ')}); name one by its Id`);
  return hits[0]!;
}

export function drive(vm: VmRecord, i: number, op: string): VmRecord['drives'][number] {
  const d = vm.drives[i];
  if (!d) throw invalidArgument(`${CMDLET[op] ?? op}: '${vm.name}' has no disk ${i} (it has ${vm.drives.length})`);
  return d;
}
