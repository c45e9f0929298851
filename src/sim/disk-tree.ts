/**
 * The physical side of checkpoints: per drive, a tree of disk files (hyperv-behaviour.md §2, §6.2,
 * §6.3). A file is *owned* by the checkpoint that froze it or by the VM (its writable leaf); a
 * file nobody owns any more (its checkpoint was removed, or the VM moved away from it) is cleaned
 * up by these rules, applied until nothing changes:
 *   1. no children                → delete it (a checkpoint off the Now branch without children);
 *   2. a base whose single-child line of unowned files ends in a file without children
 *                                 → merge that file (and the line) down into the base
 *                                   (Merge-VHD; the base file becomes that file's owner's disk —
 *                                   so a VM without checkpoints is a single base file again);
 *   3. one child                  → merge it into the child and re-point the child (removeLayer);
 *   4. several children           → keep it (Hyper-V keeps a multi-child checkpoint's disk).
 * A base with one child that has children of its own is kept until rule 2 applies (hvsim does not
 * rename a differencing child into the base's place). Merges use src/engine/merge.ts.
 * Imports: engine, state types.
 */
import * as path from 'node:path';
import { newGuid } from '../vhd/common/guid.js';
import { Chain, openLayer } from '../engine/chain.js';
import { layerAllocation } from '../engine/layers.js';
import { mergeDown, pendingJournals, resumeMerges, removeLayer } from '../engine/merge.js';
import type { DiskStore } from '../engine/store.js';
import type { CostModel } from './clock.js';
import { transferMs } from './clock.js';
import type { DiskFileRecord, DriveRecord, VmRecord } from './state.js';

export type CleanupStep =
  | { kind: 'delete'; file: string }
  /** Merge the unowned `file` into its only child and re-point the child at `file`'s parent. */
  | { kind: 'merge-into-child'; file: string; child: string }
  /** Merge `leaf` and the unowned files `between` it and the base down into `base`. */
  | { kind: 'merge-down'; base: string; leaf: string; between: string[] };

/** The name Hyper-V gives a checkpoint's differencing disk: `<base name>_<GUID>.avhdx` beside the base. */
export function newDifferencingPath(drive: DriveRecord, guid: string = newGuid()): string {
  const base = baseFile(drive).path;
  const ext = path.posix.extname(base).toLowerCase();
  const stem = path.posix.basename(base, path.posix.extname(base));
  const avhd = ext === '.vhd' || ext === '.avhd' ? '.avhd' : '.avhdx';
  return path.posix.join(path.posix.dirname(base), `${stem}_${guid.toUpperCase()}${avhd}`);
}

export function baseFile(drive: DriveRecord): DiskFileRecord {
  const b = drive.files.find((f) => f.parent === null);
  if (!b) throw new Error(`drive ${drive.path} has no base file`);
  return b;
}

/** Files owned by the VM or one of its checkpoints, for drive `i`. */
export function ownedFiles(vm: VmRecord, i: number): Set<string> {
  const s = new Set<string>();
  const d = vm.drives[i];
  if (d) s.add(d.path);
  for (const snap of vm.snapshots) {
    const p = snap.drives[i];
    if (p !== undefined) s.add(p);
  }
  return s;
}

function childrenOf(files: DiskFileRecord[], p: string): DiskFileRecord[] {
  return files.filter((f) => f.parent === p);
}

/** The next clean-up step for a drive, or undefined when the tree is minimal. */
export function nextCleanupStep(files: DiskFileRecord[], owned: Set<string>): CleanupStep | undefined {
  const unowned = files.filter((f) => !owned.has(f.path));
  // 1. Unowned files without children (never the base: the VM's leaf descends from it).
  for (const f of unowned) if (f.parent !== null && childrenOf(files, f.path).length === 0) return { kind: 'delete', file: f.path };
  // 2. An unowned base whose line of single children ends in a file without children.
  for (const f of unowned) {
    if (f.parent !== null) continue;
    const between: string[] = [];
    let cur = f;
    for (;;) {
      const kids = childrenOf(files, cur.path);
      if (kids.length !== 1) break;
      const k = kids[0]!;
      const grand = childrenOf(files, k.path);
      if (grand.length === 0) return { kind: 'merge-down', base: f.path, leaf: k.path, between };
      if (owned.has(k.path)) break;
      between.push(k.path);
      cur = k;
    }
  }
  // 3. Unowned middle files with one child.
  for (const f of unowned) {
    if (f.parent === null) continue;
    const kids = childrenOf(files, f.path);
    if (kids.length === 1) return { kind: 'merge-into-child', file: f.path, child: kids[0]!.path };
  }
  return undefined;
}

/** Apply a step to the records (files, and which file each owner now uses). */
export function applyStep(vm: VmRecord, i: number, step: CleanupStep): void {
  const drive = vm.drives[i]!;
  switch (step.kind) {
    case 'delete':
      drive.files = drive.files.filter((f) => f.path !== step.file);
      break;
    case 'merge-into-child': {
      const gone = drive.files.find((f) => f.path === step.file)!;
      for (const f of drive.files) if (f.parent === step.file) f.parent = gone.parent;
      drive.files = drive.files.filter((f) => f.path !== step.file);
      break;
    }
    case 'merge-down': {
      const removed = new Set([step.leaf, ...step.between]);
      drive.files = drive.files.filter((f) => !removed.has(f.path));
      transferOwner(vm, i, step.leaf, step.base);
      break;
    }
  }
}

function transferOwner(vm: VmRecord, i: number, from: string, to: string): void {
  const drive = vm.drives[i]!;
  if (drive.path === from) drive.path = to;
  for (const s of vm.snapshots) if (s.drives[i] === from) s.drives[i] = to;
}

/** Every step that would run now, in order (on copies of the records), for costing. */
export function planCleanup(vm: VmRecord): Array<{ drive: number; step: CleanupStep }> {
  const copy = JSON.parse(JSON.stringify(vm)) as VmRecord;
  const out: Array<{ drive: number; step: CleanupStep }> = [];
  for (let i = 0; i < copy.drives.length; i++) {
    for (let guard = 0; guard < 10_000; guard++) {
      const step = nextCleanupStep(copy.drives[i]!.files, ownedFiles(copy, i));
      if (!step) break;
      out.push({ drive: i, step });
      applyStep(copy, i, step);
    }
  }
  return out;
}

export function hasMerge(plan: Array<{ step: CleanupStep }>): boolean {
  return plan.some((p) => p.step.kind !== 'delete');
}

/** Bytes of data a file holds (what a merge of it copies). */
export function dataBytes(store: DiskStore, file: string): number {
  const img = openLayer(store, file, false);
  try {
    return layerAllocation(img).dataBytes;
  } finally {
    img.close();
  }
}

/** Simulated duration of a step under the cost model. */
export function stepCost(store: DiskStore, step: CleanupStep, costs: CostModel): number {
  switch (step.kind) {
    case 'delete':
      return costs.deleteFileMs;
    case 'merge-into-child':
      return costs.mergeBaseMs + transferMs(dataBytes(store, step.file), costs.mergeBytesPerSec) + costs.deleteFileMs;
    case 'merge-down': {
      const bytes = [step.leaf, ...step.between].reduce((n, f) => n + dataBytes(store, f), 0);
      return costs.mergeBaseMs + transferMs(bytes, costs.mergeBytesPerSec) + costs.deleteFileMs * (1 + step.between.length);
    }
  }
}

/** Do one step on the files. */
export function executeStep(store: DiskStore, step: CleanupStep, leafIsCheckpoint: boolean): void {
  switch (step.kind) {
    case 'delete':
      store.remove(step.file);
      break;
    case 'merge-into-child':
      removeLayer(store, step.file, [step.child], 'copy');
      break;
    case 'merge-down':
      mergeDown(store, step.leaf, step.base);
      // The base takes the merged file's place: a checkpoint's disk stays read-only.
      if (leafIsCheckpoint) store.setReadOnly(step.base, true);
      break;
  }
}

/**
 * After a crash: finish interrupted merges in the VM's drive folders, then bring the records in
 * line with the files (a finished merge removed a file the records still list), drop files of an
 * interrupted checkpoint/restore that the records never got, and restore the read-only marks.
 */
export function reconcileDrives(store: DiskStore, vm: VmRecord, vmRoot: string): void {
  vm.drives.forEach((drive, i) => {
    const dirs = new Set(drive.files.map((f) => path.posix.dirname(f.path)));
    for (const d of dirs) if (pendingJournals(store, d).length > 0) resumeMerges(store, d);
    for (;;) {
      // A missing base is not something a merge does (someone deleted it): leave it to fail loudly on use.
      const missing = drive.files.find((f) => f.parent !== null && !store.exists(f.path));
      if (!missing) break;
      const owned = ownedFiles(vm, i);
      if (owned.has(missing.path)) {
        // Merged down into its parent: the parent now reads what it read.
        transferOwner(vm, i, missing.path, missing.parent!);
      }
      for (const f of drive.files) if (f.parent === missing.path) f.parent = missing.parent;
      drive.files = drive.files.filter((f) => f !== missing);
    }
    // Differencing files of this drive that no record mentions: left by an interrupted operation.
    // Only in folders hvsim made (an attached disk's folder may hold someone else's files).
    const known = new Set(drive.files.map((f) => f.path));
    const base = baseFile(drive).path;
    const root = store.resolve(vmRoot);
    if (!base.startsWith(root + '/')) {
      for (const f of drive.files) if (store.exists(f.path)) store.setReadOnly(f.path, f.path !== vm.drives[i]!.path);
      return;
    }
    const stem = path.posix.basename(base, path.posix.extname(base));
    const pattern = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\\.avhdx?(\\.hvsim-new)?$`);
    const dir = path.posix.dirname(base);
    let names: string[] = [];
    try {
      names = store.list(dir);
    } catch {
      names = [];
    }
    for (const n of names) {
      const p = path.posix.join(dir, n);
      if (pattern.test(n) && !known.has(p)) store.remove(p);
    }
    for (const f of drive.files) if (store.exists(f.path)) store.setReadOnly(f.path, f.path !== vm.drives[i]!.path);
  });
}

/** Open a drive's chain from `leaf` (read-only unless `writable`). */
export function openChain(store: DiskStore, leaf: string, writable = false): Chain {
  return Chain.open(leaf, { store, writable });
}
