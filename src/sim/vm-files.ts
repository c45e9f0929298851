/**
 * A VM's configuration and runtime-state files as Hyper-V lays them out (docs/hyperv.md, "VM
 * files"): `<ConfigurationLocation>\Virtual Machines\<VMId>.vmcx` (configuration), `.vmrs`
 * (runtime state: a saved VM's memory, sized like it, sparse) and `.vmgs` (generation 2 guest
 * state); each checkpoint's `<SnapshotFileLocation>\Snapshots\<CheckpointId>.vmcx` and `.vmrs`.
 * Their contents are hvsim's own (the configuration as JSON, zeros for state); names, places,
 * sizes and life cycle are Hyper-V's.
 *
 * The files follow the records (docs/simulator.md, "VM files"): after the state is saved (with
 * listVmFiles' additions), syncVmFiles makes what the records need and removes what hvsim made
 * that they no longer need.
 * Each VM's `vmFiles` lists every such file hvsim made for it (`state.vmFiles` those of removed
 * VMs), saved before the file is created, so a crash at any point leaves either a file the next
 * sync finishes or one a list proves is hvsim's own; a file hvsim did not make is reported
 * (orphans), never deleted or overwritten.
 */
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { KiB, MiB } from '../vhd/common/bytes.js';
import { iso } from '../host/clock.js';
import { persist, warn, type SimContext } from './context.js';
import { currentDisks, isLazy, STATE_VERSION, type HostState, type SnapshotRecord, type VmRecord } from './state.js';

/** Size of a `.vmrs` that holds no memory (an Off or running VM; a disk-only checkpoint) — hvsim's choice, unverified. */
export const VMRS_IDLE_SIZE = 48 * KiB;
/** Size of a new `.vmgs` (generation 2 guest state) — observed 4 MiB, unverified. */
export const VMGS_SIZE = 4 * MiB;

export interface VmFile {
  path: string;
  /** The file's size (sparse: zeros) … */
  size?: number;
  /** … or its text (a `.vmcx`). */
  text?: string;
}

export const VM_FILE_NAME = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\.(vmcx|vmrs|vmgs)$/i;

/** The folder of the VM's own `.vmcx`/`.vmrs`/`.vmgs`. */
export function configFolder(vm: VmRecord): string {
  return path.posix.join(vm.path, 'Virtual Machines');
}

/** Where a checkpoint's files are: the SnapshotFileLocation it was taken under. */
export function snapshotFolder(vm: VmRecord, s: SnapshotRecord): string {
  return path.posix.join(s.fileLocation ?? vm.path, 'Snapshots');
}

function vmcxText(vm: VmRecord): string {
  return JSON.stringify({
    hvsim: 'virtual-machine-configuration',
    Name: vm.name,
    Id: vm.id.toUpperCase(),
    Generation: 2,
    MemoryStartup: vm.memory,
    CheckpointType: vm.checkpointType,
    Notes: vm.notes,
    ParentSnapshotId: vm.parentSnapshotId,
    HardDrives: currentDisks(vm),
  }, null, 1) + '\n';
}

function snapshotVmcxText(vm: VmRecord, s: SnapshotRecord): string {
  return JSON.stringify({
    hvsim: 'checkpoint-configuration',
    VMName: vm.name,
    VMId: vm.id.toUpperCase(),
    Name: s.name,
    Id: s.id.toUpperCase(),
    ParentSnapshotId: s.parentId,
    CreationTime: iso(s.creationTime),
    State: s.state,
    MemoryStartup: s.memory,
    CheckpointType: s.checkpointType,
    Notes: s.notes,
    HardDrives: s.drives,
  }, null, 1) + '\n';
}

/** The files the records say a VM has now (docs/hyperv.md, "VM files"). */
export function expectedVmFiles(vm: VmRecord): VmFile[] {
  const dir = configFolder(vm);
  const id = vm.id.toUpperCase();
  const out: VmFile[] = [
    { path: path.posix.join(dir, `${id}.vmcx`), text: vmcxText(vm) },
    // A saved VM's memory stays in its .vmrs until Start-VM reads it back (or it is discarded).
    { path: path.posix.join(dir, `${id}.vmrs`), size: vm.state === 'Saved' ? vm.memory : VMRS_IDLE_SIZE },
    { path: path.posix.join(dir, `${id}.vmgs`), size: VMGS_SIZE },
  ];
  for (const s of vm.snapshots) {
    const sdir = snapshotFolder(vm, s);
    const sid = s.id.toUpperCase();
    out.push({ path: path.posix.join(sdir, `${sid}.vmcx`), text: snapshotVmcxText(vm, s) });
    // A checkpoint holding runtime state (standard, of a running/saved/paused VM) keeps its memory.
    out.push({ path: path.posix.join(sdir, `${sid}.vmrs`), size: s.state === 'Off' ? VMRS_IDLE_SIZE : s.memory });
  }
  return out;
}

/** VM files are rebuilt from the records after a crash: written without waiting for the disk. */
const REBUILT = { durable: false } as const;

/** Whether this host keeps VM files (a directory host always; an in-memory one when asked). */
export function keepsVmFiles(ctx: SimContext): boolean {
  return ctx.storage.vmFiles === true;
}

/**
 * What each VM file was found or made to be by this context (its text, or its size as a string):
 * a later sync of the same open host (a command syncs after opening and after running) skips what
 * is unchanged. Per context: the state directory is locked for as long as one is open.
 */
const checked = new WeakMap<SimContext, Map<string, string>>();

/** The Id a file hvsim made is named by (`<Id>.vmcx`, upper case: expectedVmFiles); the lists hold no other names. */
function fileId(file: string): string {
  return file.slice(-41, -5);
}

const NONE: readonly string[] = [];

/** The files hvsim made for `vm` and its checkpoints (its own list). */
function madeFor(vm: VmRecord): readonly string[] {
  return vm.vmFiles ?? NONE;
}

/**
 * Move the files of the host-wide list (`state.vmFiles`) whose Id is a VM's of the state, or one of
 * its checkpoints', to that VM's own list (state version 3: docs/simulator.md, "The state
 * directory"). `all`: a version 1 or 2 state, whose list held every VM's files (each VM's record is
 * read, and the state becomes version 3); else only the checkpoints of the VMs whose record is
 * loaded are looked at (the list holds removed VMs' files: Remove-VM moved them there). What is
 * left is removed by the next sync. Both lists are saved together: a crash keeps one or the other.
 */
export function adoptVmFiles(state: HostState, all: boolean): void {
  if (all) state.version = STATE_VERSION;
  const list = state.vmFiles;
  if (list === undefined || list.length === 0) return;
  const owner = new Map<string, VmRecord>();
  for (const vm of state.vms) {
    owner.set(vm.id.toUpperCase(), vm);
    if (all || !isLazy(vm)) for (const s of vm.snapshots) owner.set(s.id.toUpperCase(), vm);
  }
  const left: string[] = [];
  const moved = new Map<VmRecord, string[]>();
  for (const f of list) {
    const vm = owner.get(fileId(f));
    if (vm === undefined) left.push(f);
    else moved.set(vm, [...(moved.get(vm) ?? []), f]);
  }
  if (moved.size === 0) return;
  for (const [vm, files] of moved) vm.vmFiles = [...new Set([...madeFor(vm), ...files])];
  if (left.length > 0) state.vmFiles = left;
  else delete state.vmFiles;
}

/**
 * Remove-VM: `vm` leaves the state, the files hvsim made for it move to the host-wide list (saved
 * with the state that no longer has it), which the next sync removes.
 */
export function releaseVmFiles(state: HostState, vm: VmRecord): void {
  const own = madeFor(vm);
  if (own.length > 0) state.vmFiles = [...(state.vmFiles ?? []), ...own];
}

/** The files each of `vms` needs (expectedVmFiles), by VM. */
export type WantedFiles = Map<VmRecord, VmFile[]>;

/**
 * List in each VM's `vmFiles` the files its records need that are not there yet (listed before they
 * exist; the caller saves the state before syncVmFiles creates them, in the operation's own save:
 * docs/simulator.md, "VM files"). Returns the files `vms` need (for syncVmFiles) and whether it
 * listed any (or adopted some: adoptVmFiles).
 */
export function listVmFiles(ctx: SimContext, vms: readonly VmRecord[]): { want: WantedFiles; listed: boolean } {
  const want: WantedFiles = new Map();
  if (!keepsVmFiles(ctx)) return { want, listed: false };
  const store = ctx.storage.store;
  const before = ctx.state.vmFiles;
  adoptVmFiles(ctx.state, false);
  let listed = ctx.state.vmFiles !== before;
  for (const vm of vms) {
    const files = expectedVmFiles(vm);
    want.set(vm, files);
    const made = new Set(madeFor(vm));
    const absent = files.filter((f) => !made.has(f.path) && !store.exists(f.path));
    if (absent.length === 0) continue;
    vm.vmFiles = [...madeFor(vm), ...absent.map((f) => f.path)];
    listed = true;
  }
  return { want, listed };
}

/**
 * Bring the VM files of `vms` (the VMs a command named or changed; every VM after an unclean exit:
 * docs/simulator.md, "VM files") in line with the records (saved first): remove the files hvsim
 * made that no record needs any more, then create or update the ones they need. Each file is
 * listed in its VM's `vmFiles` (and that saved) before it is created, and unlisted only after it is
 * gone. Removed: what `vms` made and no longer need; of the other VMs whose record is loaded (a
 * command that changed a VM's checkpoints loaded it), the files of checkpoints they no longer have;
 * the files of removed VMs (`state.vmFiles`). `given`: what listVmFiles(ctx, vms) returned, its
 * additions saved since (default: listed and saved here).
 */
export function syncVmFiles(ctx: SimContext, vms: readonly VmRecord[], given?: { want: WantedFiles }): void {
  if (!keepsVmFiles(ctx)) return;
  let want: WantedFiles;
  if (given !== undefined) want = given.want;
  else {
    // Listed by the caller's save already, as a rule; else listed and saved here, before creation.
    const list = listVmFiles(ctx, vms);
    if (list.listed) persist(ctx);
    want = list.want;
  }
  const store = ctx.storage.store;
  const state = ctx.state;
  // hvsim's own files no record needs: delete, then forget (each from the list it is in).
  const stale = new Map<VmRecord | undefined, string[]>();
  const note = (vm: VmRecord | undefined, f: string): void => void stale.set(vm, [...(stale.get(vm) ?? []), f]);
  for (const [vm, files] of want) {
    const made = new Set(madeFor(vm));
    for (const f of files) if (!made.has(f.path) && store.exists(f.path)) warn(ctx, '', `${f.path} exists but hvsim did not make it: left as it is (a virtual machine's file of the same Id?)`);
    const wanted = new Set(files.map((f) => f.path));
    for (const f of made) if (!wanted.has(f)) note(vm, f);
  }
  for (const vm of state.vms) {
    if (want.has(vm) || isLazy(vm) || madeFor(vm).length === 0) continue;
    const ids = new Set([vm.id.toUpperCase(), ...vm.snapshots.map((s) => s.id.toUpperCase())]);
    for (const f of madeFor(vm)) if (!ids.has(fileId(f))) note(vm, f);
  }
  for (const f of state.vmFiles ?? NONE) note(undefined, f);
  if (stale.size > 0) {
    for (const [vm, files] of stale) {
      const gone = new Set<string>();
      for (const f of files) {
        try {
          store.remove(f);
          checked.get(ctx)?.delete(f);
          gone.add(f);
        } catch (e) {
          if (!(e instanceof HvsimError)) throw e;
          warn(ctx, '', `a file hvsim no longer needs could not be removed yet (the next command tries again): ${e.message}`);
        }
      }
      const left = (vm === undefined ? state.vmFiles : vm.vmFiles)?.filter((f) => !gone.has(f)) ?? [];
      const owner: { vmFiles?: string[] } = vm ?? state;
      if (left.length > 0) owner.vmFiles = left;
      else delete owner.vmFiles;
    }
    persist(ctx);
  }
  for (const [vm, files] of want) {
    const listed = new Set(madeFor(vm));
    for (const f of files) {
      if (!listed.has(f.path)) continue;
      try {
        writeVmFile(ctx, f);
      } catch (e) {
        if (!(e instanceof HvsimError)) throw e;
        warn(ctx, '', `a virtual machine file could not be written (the next command tries again): ${e.message}`);
      }
    }
  }
}

/**
 * Create or update one file to what the records say (its size, or its text). Not flushed: the
 * records are the source (saved before), and a file a crash left short or stale differs from them,
 * so the next command's sync remakes it (docs/simulator.md, "VM files").
 */
function writeVmFile(ctx: SimContext, f: VmFile): void {
  const store = ctx.storage.store;
  const size = f.size ?? 0;
  const want = f.text ?? String(size);
  let seen = checked.get(ctx);
  if (seen === undefined) checked.set(ctx, (seen = new Map()));
  if (seen.get(f.path) === want) return;
  seen.delete(f.path);
  // Most files are as the records say already: checked without a lock or a folder's creation.
  if (f.text !== undefined ? store.readText(f.path) === f.text : store.sizeOf?.(f.path) === size) {
    seen.set(f.path, want);
    return;
  }
  ctx.storage.mkdirp(path.posix.dirname(f.path));
  if (f.text !== undefined) {
    store.writeTextAtomic(f.path, f.text, REBUILT);
    seen.set(f.path, want);
    return;
  }
  const file = store.exists(f.path) ? store.open(f.path, 'rw', REBUILT) : store.create(f.path, REBUILT);
  try {
    if (file.size() !== size) file.truncate(size); // sparse: the size is reserved, no data written
  } finally {
    file.close();
  }
  seen.set(f.path, want);
}

/**
 * Files in the `Virtual Machines` and `Snapshots` folders of `vms` (default every VM) named like
 * Hyper-V's VM files that hvsim did not make or no longer lists: reported as orphans, never
 * deleted unless asked.
 */
export function unrecordedVmFiles(ctx: SimContext, vms: readonly VmRecord[] = ctx.state.vms): string[] {
  if (!keepsVmFiles(ctx)) return [];
  const store = ctx.storage.store;
  const made = new Set([...vms.flatMap(madeFor), ...(ctx.state.vmFiles ?? NONE)]);
  const dirs = new Set<string>();
  for (const vm of vms) {
    dirs.add(configFolder(vm));
    dirs.add(path.posix.join(vm.snapshotFileLocation ?? vm.path, 'Snapshots'));
    for (const s of vm.snapshots) dirs.add(snapshotFolder(vm, s));
  }
  const out: string[] = [];
  for (const d of [...dirs].sort()) {
    let names: string[] = [];
    try {
      names = store.list(d);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const p = path.posix.join(d, n);
      if (VM_FILE_NAME.test(n) && !made.has(p)) out.push(p);
    }
  }
  // A folder another VM shares (a common SnapshotFileLocation) holds its files: every VM's lists are read then.
  if (out.length === 0 || vms.length === ctx.state.vms.length) return out;
  const all = new Set(ctx.state.vms.flatMap(madeFor));
  return out.filter((p) => !all.has(p));
}
