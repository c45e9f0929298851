/**
 * Crash safety of the simulator's records (docs/reliability.md): disk files are recorded as being
 * created before they exist (creating); on open, recover finishes what hvsim itself recorded as
 * unfinished and nothing else. Missing files and files no record names (orphans) are reported as
 * warnings, never deleted unless asked (removeOrphans).
 */
import { HvsimError } from '../errors.js';
import { partialPath } from '../engine/store.js';
import { detach } from './checkpoint-tree.js';
import * as path from 'node:path';
import { baseFile, missingFiles, reconcileDrives, restoreReadOnlyMarks, unrecordedFiles } from './disk-tree.js';
import { hostVmRoot, persist, touch, warn, type SimContext } from './context.js';
import { hostOf, summaryOf, type VmRecord } from './state.js';
import { scheduleCleanup } from './merges.js';
import { unrecordedVmFiles } from './vm-files.js';

/**
 * After a crash or a mishap (docs/reliability.md, "Missing files"): finish what hvsim itself
 * recorded as unfinished and nothing else. Missing files and files no record names are
 * reported as warnings, never deleted. What the records say is unfinished is looked at on every
 * open; the files of every VM only when they may have changed behind hvsim's back
 * (`ctx.fileCheck.whole`; docs/simulator.md, "VM files"), else those of the VMs a command names
 * or changes, when it ends (checkFiles). Returns whether it may have changed the records.
 */
export function recover(ctx: SimContext): boolean {
  const store = ctx.storage.store;
  const whole = ctx.fileCheck.whole;
  let acted = whole || (ctx.state.creating ?? []).length > 0;
  dropUnfinishedCreations(ctx);
  for (const vm of ctx.state.vms) {
    // A step or merge cut short is in the records (merges.ts saves it before any file changes).
    if (!whole && !vm.pendingStep && vm.mergeUntil === null) continue;
    acted = true;
    try {
      reconcileDrives(store, vm);
    } catch (e) {
      if (!(e instanceof HvsimError)) throw e;
      warn(ctx, vm.name, `'${vm.name}': an interrupted merge could not be finished: ${e.message}`);
    }
    restoreReadOnlyMarks(store, vm);
    touch(ctx, vm);
  }
  if (dropInterruptedGroups(ctx)) acted = true;
  if (whole) reportFiles(ctx, ctx.state.vms);
  return acted;
}

/**
 * The disk files of `vms`: frozen files get their read-only mark back; missing files and files no
 * record names in their folders (orphans) are reported.
 */
export function checkFiles(ctx: SimContext, vms: VmRecord[]): void {
  for (const vm of vms) restoreReadOnlyMarks(ctx.storage.store, vm);
  reportFiles(ctx, vms);
}

/** Report the missing disk files of `vms` and the orphans in their folders. */
function reportFiles(ctx: SimContext, vms: VmRecord[]): void {
  const store = ctx.storage.store;
  for (const vm of vms) {
    const missing = missingFiles(store, vm);
    if (missing.length > 0)
      warn(ctx, vm.name, `'${vm.name}' is missing ${missing.length === 1 ? 'a disk file' : `${missing.length} disk files`}: ${missing.join(', ')}; hvsim leaves its records as they are (put the file${missing.length === 1 ? '' : 's'} back).`);
  }
  const found = orphans(ctx, vms);
  if (found.length > 0)
    warn(ctx, '', `${found.length === 1 ? 'a file' : `${found.length} files`} that no virtual machine uses: ${found.join(', ')} (hvsim remove-orphans --what-if lists what it would delete)`);
}

/** Disk files an interrupted operation was creating (HostState.creating) that no record names: hvsim's own, removed. */
function dropUnfinishedCreations(ctx: SimContext): void {
  const pending = ctx.state.creating ?? [];
  if (pending.length === 0) return;
  const store = ctx.storage.store;
  const named = recordedFiles(ctx);
  ctx.state.creating = pending.filter((c) => {
    if (named.has(c.file)) return false;
    try {
      for (const f of [partialPath(c.file), c.file]) if (store.exists(f)) store.remove(f);
      // The parent was frozen for this child: a VM's current disk becomes writable again.
      if (c.parent !== null && store.exists(c.parent) && ctx.state.vms.some((v) => v.drives.some((d) => d.path === c.parent))) store.setReadOnly(c.parent, false);
      return false;
    } catch (e) {
      if (!(e instanceof HvsimError)) throw e;
      warn(ctx, '', `an unfinished file of an interrupted operation could not be removed yet (the next command tries again): ${e.message}`);
      return true;
    }
  });
}

/**
 * A group checkpoint cut short by a crash is all or nothing (hvsim's rule, docs/hyperv.md, "Group checkpoints"): on restart,
 * the checkpoints its members got are removed (their disks merged as by Remove-VMSnapshot).
 */
function dropInterruptedGroups(ctx: SimContext): boolean {
  let dropped = false;
  for (const vm of ctx.state.vms) {
    if (!summaryOf(vm).partialGroup) continue;
    const partial = vm.snapshots.filter((s) => s.groupComplete === false);
    if (partial.length === 0) continue;
    dropped = true;
    warn(ctx, vm.name, `'${vm.name}': removed checkpoint ${partial.map((s) => `"${s.name}"`).join(', ')} of a group checkpoint that a crash interrupted (group ${partial[0]!.groupId}).`);
    detach(vm, new Set(partial.map((s) => s.id)));
    scheduleCleanup(ctx, vm, true);
  }
  return dropped;
}

/**
 * Every disk file a record names; with `dirs`, those in these folders (only the VMs whose index
 * lists a disk in one are loaded: state.ts, summaryOf).
 */
function recordedFiles(ctx: SimContext, dirs?: ReadonlySet<string>): Set<string> {
  const vms = dirs === undefined ? ctx.state.vms : ctx.state.vms.filter((v) => summaryOf(v).diskDirs.some((d) => dirs.has(d)));
  return new Set(vms.flatMap((v) => v.drives.flatMap((d) => d.files.map((f) => f.path))));
}

/**
 * Files in the VMs' disk folders named like hvsim's checkpoint disks that no record names (left
 * by someone, or by an interruption before this version recorded its creations), and VM files
 * hvsim did not make: in the folders of `vms` (default every VM).
 */
export function orphans(ctx: SimContext, vms: VmRecord[] = ctx.state.vms): string[] {
  if (vms.length === 0) return [];
  // unrecordedFiles lists the folder of each drive's base file: a file there is known if any VM names it.
  const known = recordedFiles(ctx, vms === ctx.state.vms ? undefined : new Set(vms.flatMap((vm) => vm.drives.map((d) => path.posix.dirname(baseFile(d).path)))));
  return [...new Set([...vms.flatMap((vm) => unrecordedFiles(ctx.storage.store, vm, hostVmRoot(ctx, hostOf(ctx.state, vm)), known)), ...unrecordedVmFiles(ctx, vms)])];
}

/** Delete the files `orphans()` lists (all, or none with `whatIf`); returns them. */
export function removeOrphans(ctx: SimContext, whatIf: boolean): string[] {
  const list = orphans(ctx);
  if (!whatIf) for (const f of list) ctx.storage.store.remove(f);
  return list;
}

/**
 * Record the disk files about to be created (saved before they exist), run `make`, and forget
 * them again; the caller puts them in the records before the state is next saved.
 */
export function creating<T>(ctx: SimContext, files: Array<{ file: string; parent: string | null }>, make: () => T): T {
  ctx.state.creating = [...(ctx.state.creating ?? []), ...files];
  persist(ctx);
  const made = make(); // on failure the entries stay: the next open removes what is left
  ctx.state.creating = ctx.state.creating.filter((c) => !files.includes(c));
  return made;
}
