/**
 * Which VMs and checkpoints a request means, decided by hvsim over the objects Get-VM and
 * Get-VMSnapshot returned, with the simulator's rules and wording (simulator.ts resolveVMs,
 * vmByName, findOne, matchSnapshots): names match case-insensitively with * and ? as wildcards;
 * a plain name that matches nothing is Hyper-V's not-found error; a checkpoint may be named by
 * its Id; a name that matches several checkpoints is refused. The driver then acts on the
 * objects by Id, so that a name never reaches a cmdlet's -Name (where [ ] and ` are wildcard
 * syntax) and cannot mean anything but itself.
 * Pure. Imports: host types, errors, simulator naming helpers.
 */
import type { SnapshotQuery, VMSnapshot } from '../host/host.js';
import { HvsimError, invalidArgument } from '../errors.js';
import { tryParseGuid } from '../vhd/common/guid.js';
import { hasWildcard, nameMatches } from '../host/faults.js';
import { CMDLET, snapshotNotFound, vmNotFound } from '../host/state-machine.js';
import type { RawSnapshot, RawVM } from './decode.js';

export interface Listing {
  vms: RawVM[];
  /** Checkpoints by VM Id, in the order Get-VMSnapshot gave them. */
  snaps: Map<string, RawSnapshot[]>;
}

/** VMs by names (wildcards allowed), in the order asked, each once; plain names that match nothing are errors. */
export function resolveVMs(all: RawVM[], names: string[] | undefined, op: string): { vms: RawVM[]; errors: HvsimError[] } {
  if (names === undefined || names.length === 0) return { vms: [...all], errors: [] };
  const vms: RawVM[] = [];
  const errors: HvsimError[] = [];
  for (const n of names) {
    const hits = all.filter((v) => nameMatches(n, v.vm.Name));
    if (hits.length === 0 && !hasWildcard(n)) errors.push(vmNotFound(op, n));
    for (const h of hits) if (!vms.includes(h)) vms.push(h);
  }
  return { vms, errors };
}

/** One VM by its exact name (case-insensitive). */
export function vmByName(all: RawVM[], name: string, op: string): RawVM {
  const v = all.find((x) => x.vm.Name.toLowerCase() === name.toLowerCase());
  if (!v) throw vmNotFound(op, name);
  return v;
}

/** One checkpoint by Id or name (an Id may be given as the name). */
export function findOne(vmName: string, snaps: RawSnapshot[], ref: { name?: string; id?: string }, op: string): RawSnapshot {
  const id = ref.id !== undefined ? tryParseGuid(ref.id) : ref.name !== undefined ? tryParseGuid(ref.name) : undefined;
  if (id !== undefined) {
    const s = snaps.find((x) => x.snap.Id === id);
    if (s) return s;
    if (ref.id !== undefined) throw snapshotNotFound(op, vmName, ref.id);
  }
  if (ref.name === undefined) throw invalidArgument(`${CMDLET[op] ?? op}: name a checkpoint of '${vmName}'`);
  const hits = snaps.filter((s) => nameMatches(ref.name!, s.snap.Name));
  if (hits.length === 0) throw snapshotNotFound(op, vmName, ref.name);
  if (hits.length > 1)
    throw invalidArgument(`${CMDLET[op] ?? op}: ${hits.length} checkpoints of '${vmName}' match "${ref.name}" (Ids ${hits.map((h) => h.snap.Id).join(', ')}); name one by its Id`);
  return hits[0]!;
}

/** The checkpoints of one VM a query selects. */
export function matchSnapshots(vm: RawVM, snaps: RawSnapshot[], q: SnapshotQuery, op: string): RawSnapshot[] {
  let out = [...snaps];
  if (q.id !== undefined) {
    const id = tryParseGuid(q.id);
    out = out.filter((s) => s.snap.Id === id);
  }
  if (q.name !== undefined) out = out.filter((s) => nameMatches(q.name!, s.snap.Name));
  if (q.groupId !== undefined) {
    const g = tryParseGuid(q.groupId) ?? q.groupId;
    out = out.filter((s) => s.snap.GroupId === g);
  }
  if (q.snapshotType !== undefined) out = out.filter((s) => s.snap.SnapshotType === q.snapshotType);
  if (q.childOf !== undefined) {
    const p = findOne(vm.vm.Name, snaps, { name: q.childOf }, op);
    out = out.filter((s) => s.snap.ParentSnapshotId === p.snap.Id);
  }
  if (q.parentOf !== undefined) {
    const isVm = q.parentOf.toLowerCase() === vm.vm.Name.toLowerCase() && !snaps.some((s) => nameMatches(q.parentOf!, s.snap.Name));
    const parentId = isVm ? vm.vm.ParentSnapshotId : findOne(vm.vm.Name, snaps, { name: q.parentOf }, op).snap.ParentSnapshotId;
    out = out.filter((s) => s.snap.Id === parentId);
  }
  return out;
}

/** The checkpoint and its descendants (Ids). */
export function subtreeIds(snaps: VMSnapshot[], id: string): Set<string> {
  const ids = new Set<string>([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of snaps)
      if (s.ParentSnapshotId !== null && ids.has(s.ParentSnapshotId) && !ids.has(s.Id)) {
        ids.add(s.Id);
        grew = true;
      }
  }
  return ids;
}

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

export { hasWildcard };
