/**
 * The logical checkpoint tree of one VM and its "Now" position (docs/hyperv.md, "Checkpoints and Now"):
 * each checkpoint has one parent; a new checkpoint becomes a child of Now's parent and Now moves
 * under it; applying one moves Now under it (so later checkpoints start a branch). Removing a
 * checkpoint re-parents its children (and Now) to its parent; removing a subtree drops every
 * descendant. Pure functions over records.
 */
import { HvsimError } from '../errors.js';
import type { SnapshotRecord, VmRecord } from './state.js';

/** Hyper-V's maximum per VM: the 51st is refused (docs/hyperv.md, "Limits"). */
export const MAX_CHECKPOINTS = 50;

/** The checkpoint with this Id (none for null). */
export function snapshotById(vm: VmRecord, id: string | null): SnapshotRecord | undefined {
  return id === null ? undefined : vm.snapshots.find((s) => s.id === id);
}

export function children(vm: VmRecord, id: string | null): SnapshotRecord[] {
  return vm.snapshots.filter((s) => s.parentId === id);
}

/** Ancestors of a checkpoint from its parent up to the root. */
export function ancestors(vm: VmRecord, id: string | null): SnapshotRecord[] {
  const out: SnapshotRecord[] = [];
  let cur = snapshotById(vm, id);
  const seen = new Set<string>();
  while (cur && cur.parentId !== null) {
    if (seen.has(cur.id)) throw new HvsimError('CHAIN', `checkpoint tree of '${vm.name}' has a loop at ${cur.id}`);
    seen.add(cur.id);
    const p = snapshotById(vm, cur.parentId);
    if (!p) break;
    out.push(p);
    cur = p;
  }
  return out;
}

/** Checkpoints on the path from the root to Now (Now's parent last). */
export function nowBranch(vm: VmRecord): SnapshotRecord[] {
  const self = snapshotById(vm, vm.parentSnapshotId);
  return self ? [...ancestors(vm, self.id).reverse(), self] : [];
}

export function isOnNowBranch(vm: VmRecord, id: string): boolean {
  return nowBranch(vm).some((s) => s.id === id);
}

/**
 * Remove checkpoints from the tree: each removed one's surviving children (and Now) move to its
 * nearest surviving ancestor. Returns the removed records.
 */
export function detach(vm: VmRecord, ids: Set<string>): SnapshotRecord[] {
  const removed = vm.snapshots.filter((s) => ids.has(s.id));
  const byId = new Map(vm.snapshots.map((s) => [s.id, s]));
  const survivor = (id: string | null): string | null => {
    let cur = id;
    while (cur !== null && ids.has(cur)) cur = byId.get(cur)?.parentId ?? null;
    return cur;
  };
  for (const s of vm.snapshots) if (!ids.has(s.id)) s.parentId = survivor(s.parentId);
  vm.parentSnapshotId = survivor(vm.parentSnapshotId);
  vm.snapshots = vm.snapshots.filter((s) => !ids.has(s.id));
  return removed;
}

/** Depth of each checkpoint (root = 0), for tree renderings. */
export function depthOf(vm: VmRecord, id: string): number {
  return ancestors(vm, id).length;
}

/** Checkpoints in tree order (depth-first, children by creation time). */
export function treeOrder(vm: VmRecord): SnapshotRecord[] {
  const out: SnapshotRecord[] = [];
  const visit = (parent: string | null): void => {
    for (const c of children(vm, parent).sort((a, b) => a.creationTime - b.creationTime)) {
      out.push(c);
      visit(c.id);
    }
  };
  visit(null);
  return out;
}
