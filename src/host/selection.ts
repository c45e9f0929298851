/**
 * Which VMs and checkpoints a request names, by the rules every host follows (the simulator over
 * its records, the real-host driver over what Get-VM and Get-VMSnapshot listed):
 *   - names match case-insensitively, * and ? are wildcards (wildcard.ts, nameMatches); a plain
 *     name that matches nothing is Hyper-V's not-found error, a pattern may match nothing;
 *   - VMs come in the order asked, each once;
 *   - a checkpoint may be named by its Id (also given as the name); a name that matches several
 *     checkpoints of one VM, where one is meant, is refused;
 *   - Get-VMSnapshot -SnapshotType keeps the checkpoints of that type (docs/hyperv.md, "Enums":
 *     production checkpoints list as Standard).
 * Pure. Hosts say how to read their objects (CheckpointFields).
 */
import { HvsimError, invalidArgument } from '../errors.js';
import { tryParseGuid } from '../vhd/common/guid.js';
import type { SnapshotQuery, SnapshotType, VMSnapshot } from './host.js';
import { checkpointNameNotFound, cmdletOf, snapshotNotFound, throwGathered, vmNotFound } from './messages.js';
import { nameHasWildcard, nameMatches } from './wildcard.js';

/** VMs by names (wildcards allowed), in the order asked, each once; all of them when no name is given. */
export function selectVMs<V>(all: readonly V[], names: string[] | undefined, op: string, nameOf: (vm: V) => string): { vms: V[]; errors: HvsimError[] } {
  if (names === undefined || names.length === 0) return { vms: [...all], errors: [] };
  const vms: V[] = [];
  const errors: HvsimError[] = [];
  for (const n of names) {
    const hits = all.filter((v) => nameMatches(n, nameOf(v)));
    if (hits.length === 0 && !nameHasWildcard(n)) errors.push(vmNotFound(op, n));
    for (const h of hits) if (!vms.includes(h)) vms.push(h);
  }
  return { vms, errors };
}

/** The VM of this exact name (names compare without regard to case), if any. */
export function findVMNamed<V>(all: readonly V[], name: string, nameOf: (vm: V) => string): V | undefined {
  return all.find((x) => nameOf(x).toLowerCase() === name.toLowerCase());
}

/** One VM by its exact name (case-insensitive). */
export function vmNamed<V>(all: readonly V[], name: string, op: string, nameOf: (vm: V) => string): V {
  const v = findVMNamed(all, name, nameOf);
  if (!v) throw vmNotFound(op, name);
  return v;
}

/**
 * Apply `fn` to each VM selected, like a cmdlet with non-terminating errors: a failure for one VM
 * does not stop the others (VMs not found included); the failures are raised together afterwards.
 */
export function eachSelected<V, T>(sel: { vms: V[]; errors: HvsimError[] }, fn: (vm: V) => T): T[] {
  const out: T[] = [];
  for (const vm of sel.vms) {
    try {
      out.push(fn(vm));
    } catch (e) {
      if (e instanceof HvsimError) sel.errors.push(e);
      else throw e;
    }
  }
  throwGathered(sel.errors);
  return out;
}

/** How selection reads a host's checkpoint object. */
export interface CheckpointFields<S> {
  id(s: S): string;
  name(s: S): string;
  parentId(s: S): string | null;
  groupId(s: S): string | null;
  snapshotType(s: S): SnapshotType;
}

/** The checkpoints of one VM, and "Now": the checkpoint the VM's current state descends from. */
export class VMCheckpoints<S> {
  constructor(
    readonly vmName: string,
    readonly nowParentId: string | null,
    readonly list: readonly S[],
    private readonly f: CheckpointFields<S>,
  ) {}

  /** One checkpoint by Id or name (an Id may be given as the name). */
  find(ref: { name?: string; id?: string }, op: string): S {
    const f = this.f;
    const id = ref.id !== undefined ? tryParseGuid(ref.id) : ref.name !== undefined ? tryParseGuid(ref.name) : undefined;
    if (id !== undefined) {
      const s = this.list.find((x) => f.id(x) === id);
      if (s) return s;
      if (ref.id !== undefined) throw snapshotNotFound(op, this.vmName, ref.id);
    }
    const name = ref.name;
    if (name === undefined) throw invalidArgument(`${cmdletOf(op)}: name a checkpoint of '${this.vmName}'`);
    const hits = this.list.filter((s) => nameMatches(name, f.name(s)));
    if (hits.length === 0) throw snapshotNotFound(op, this.vmName, name);
    if (hits.length > 1)
      throw invalidArgument(`${cmdletOf(op)}: ${hits.length} checkpoints of '${this.vmName}' match "${name}" (Ids ${hits.map((h) => f.id(h)).join(', ')}); name one by its Id`);
    return hits[0]!;
  }

  /** The checkpoints a query selects (by Id, name, group, type, and position in the tree). */
  select(q: SnapshotQuery, op: string): S[] {
    const f = this.f;
    let out = [...this.list];
    if (q.id !== undefined) {
      const id = tryParseGuid(q.id);
      out = out.filter((s) => f.id(s) === id);
    }
    const name = q.name;
    if (name !== undefined) out = out.filter((s) => nameMatches(name, f.name(s)));
    if (q.groupId !== undefined) {
      const g = tryParseGuid(q.groupId) ?? q.groupId;
      out = out.filter((s) => f.groupId(s) === g);
    }
    if (q.snapshotType !== undefined) out = out.filter((s) => f.snapshotType(s) === q.snapshotType);
    if (q.childOf !== undefined) {
      const parent = f.id(this.find({ name: q.childOf }, op));
      out = out.filter((s) => f.parentId(s) === parent);
    }
    const parentOf = q.parentOf;
    if (parentOf !== undefined) {
      // -ParentOf names a checkpoint, or the VM itself (its ParentSnapshot) when no checkpoint has that name.
      const isVm = parentOf.toLowerCase() === this.vmName.toLowerCase() && !this.list.some((s) => nameMatches(parentOf, f.name(s)));
      const parentId = isVm ? this.nowParentId : f.parentId(this.find({ name: parentOf }, op));
      out = out.filter((s) => f.id(s) === parentId);
    }
    return out;
  }

  /** Remove-VMSnapshot's targets: those the query selects, or every checkpoint when it names none. */
  removalTargets(q: SnapshotQuery, op: string): S[] {
    return selectsCheckpoints(q) ? this.select(q, op) : [...this.list];
  }

  /** The Ids a removal of `targets` takes away: the targets, and with `withChildren` their subtrees. */
  removedIds(targets: readonly S[], withChildren: boolean): Set<string> {
    const f = this.f;
    const ids = new Set(targets.map((t) => f.id(t)));
    if (!withChildren) return ids;
    for (let grew = true; grew; ) {
      grew = false;
      for (const s of this.list) {
        const p = f.parentId(s);
        if (p !== null && ids.has(p) && !ids.has(f.id(s))) {
          ids.add(f.id(s));
          grew = true;
        }
      }
    }
    return ids;
  }
}

/** Whether a query names checkpoints (else Remove-VMSnapshot removes all of a VM's). */
export function selectsCheckpoints(q: SnapshotQuery): boolean {
  return q.name !== undefined || q.id !== undefined || q.groupId !== undefined || q.childOf !== undefined || q.parentOf !== undefined;
}

/** A plain checkpoint name that matched nothing on any VM is Hyper-V's not-found (a pattern may match nothing). */
export function requireNamedCheckpoint(matched: number, name: string | undefined, op: string): void {
  if (matched === 0 && name !== undefined && !nameHasWildcard(name)) throw checkpointNameNotFound(op, name);
}

/**
 * Get-VMSnapshot over VMs already selected (simulator and real-host driver alike): each VM's
 * failure is gathered with the selection's `errors` into one error, and a plain name that
 * matched nothing is Hyper-V's not-found.
 */
export function gatherSnapshots<V>(vms: V[], errors: HvsimError[], name: string | undefined, each: (vm: V) => VMSnapshot[]): VMSnapshot[] {
  const out = eachSelected({ vms, errors }, each).flat();
  if (vms.length > 0) requireNamedCheckpoint(out.length, name, 'get-snapshot');
  return out;
}
