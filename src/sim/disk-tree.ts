/**
 * The physical side of checkpoints: per drive, a tree of disk files (docs/hyperv.md, "Disk files";
 * docs/simulator.md, "Disk files and the clean-up rules"). A file is *owned* by the checkpoint that froze it or by the VM (its writable leaf); a
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
 */
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { newGuid } from '../vhd/common/guid.js';
import { diskExtension, formatOfExtension } from '../vhd/formats.js';
import { Chain, openLayer } from '../engine/chain.js';
import { layerAllocation } from '../engine/layers.js';
import { journalFiles, mergeDown, pendingJournals, resumeMerges, removeLayer } from '../engine/merge.js';
import type { DiskStore } from '../engine/store.js';
import type { CostModel } from '../host/clock.js';
import { transferMs } from '../host/clock.js';
import type { CleanupStep, DiskFileRecord, DriveRecord, VmRecord } from './state.js';

export type { CleanupStep };

/** A disk file's name without folder and extension (`<stem>.vhdx`). */
export function fileStem(file: string): string {
  return path.posix.basename(file, path.posix.extname(file));
}

/** The name Hyper-V gives a checkpoint's differencing disk: `<base name>_<GUID>.avhdx` beside the base. */
export function newDifferencingPath(drive: DriveRecord, guid: string = newGuid()): string {
  const base = baseFile(drive).path;
  const avhd = diskExtension(formatOfExtension(base) ?? 'VHDX', true);
  return path.posix.join(path.posix.dirname(base), `${fileStem(base)}_${guid.toUpperCase()}${avhd}`);
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

/** The files a step removes once it is done. */
export function removedBy(step: CleanupStep): string[] {
  return step.kind === 'merge-down' ? [step.leaf, ...step.between] : [step.file];
}

/**
 * After a crash, finish what hvsim itself left unfinished on this VM's files, and nothing else
 * (docs/reliability.md, "Missing files"): a merge journal naming one of the VM's files is run to
 * its end; the step saved in `pendingStep` is applied to the records when every file it removes is
 * gone (it was done), and forgotten otherwise (the clean-up runs it again). A file missing for any
 * other reason is left in the records, and reported (`missingFiles`); nothing is deleted here.
 */
export function reconcileDrives(store: DiskStore, vm: VmRecord): void {
  for (const drive of vm.drives) {
    const mine = new Set(drive.files.map((f) => f.path));
    for (const dir of new Set(drive.files.map((f) => path.posix.dirname(f.path))))
      for (const x of pendingJournals(store, dir)) if (journalFiles(x.journal).some((f) => mine.has(f))) resumeMerges(store, x.path);
  }
  const pending = vm.pendingStep;
  if (pending) {
    if (vm.drives[pending.drive] && removedBy(pending.step).every((f) => !store.exists(f))) applyStep(vm, pending.drive, pending.step);
    vm.pendingStep = null;
  }
}

/**
 * Give the VM's frozen files their read-only mark back (a crash between a child's creation and its
 * parent's freeze, or a hand-made chmod). A file this user may not chmod keeps its mode: the
 * chains open parents read-only anyway.
 */
export function restoreReadOnlyMarks(store: DiskStore, vm: VmRecord): void {
  for (const d of vm.drives)
    for (const f of d.files) {
      if (f.path === d.path || !store.exists(f.path) || store.isReadOnly(f.path)) continue;
      try {
        store.setReadOnly(f.path, true);
      } catch (e) {
        if (!(e instanceof HvsimError)) throw e;
      }
    }
}

/** The VM's disk files (any drive, any checkpoint) that are not there. */
export function missingFiles(store: DiskStore, vm: VmRecord): string[] {
  return vm.drives.flatMap((d) => d.files.map((f) => f.path).filter((p) => !store.exists(p)));
}

/** hvsim's names for a drive's checkpoint disks, `<base stem>_<GUID>.avhdx` (and their temporaries). */
function differencingPattern(base: string): RegExp {
  return new RegExp(`^${fileStem(base).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\\.avhdx?(\\.hvsim-new)?$`);
}

/**
 * Files in a drive's folder that are named like its checkpoint disks but that no record names:
 * left by an interruption or put there by someone. Listed, never deleted here (remove-orphans
 * deletes them when asked). Only folders under `vmRoot` are looked at: an attached disk's
 * folder may hold anybody's files.
 */
export function unrecordedFiles(store: DiskStore, vm: VmRecord, vmRoot: string, known: Set<string>): string[] {
  const root = store.absolutePath(vmRoot);
  const out: string[] = [];
  for (const drive of vm.drives) {
    const base = baseFile(drive).path;
    if (!base.startsWith(root + '/')) continue;
    const dir = path.posix.dirname(base);
    const pattern = differencingPattern(base);
    let names: string[] = [];
    try {
      names = store.list(dir);
    } catch {
      continue; // the folder itself is missing: missingFiles reports its files
    }
    for (const n of names.sort()) {
      const p = path.posix.join(dir, n);
      if (pattern.test(n) && !known.has(p) && !out.includes(p)) out.push(p);
    }
  }
  return out;
}

/** Open a drive's chain from `leaf` (read-only unless `writable`). */
export function openChain(store: DiskStore, leaf: string, writable = false): Chain {
  return Chain.open(leaf, { store, writable });
}
