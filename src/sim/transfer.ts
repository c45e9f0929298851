/**
 * Export-VM, Export-VMSnapshot, Import-VM and Remove-VM (docs/hyperv.md, "Export and import").
 * An export is Hyper-V's layout: `<Path>\<VMName>\Virtual Hard Disks` (each drive as one standalone
 * disk), `Virtual Machines\<VMId>.vmcx` (+ .vmrs, .vmgs) and `Snapshots`. Import-VM registers such
 * a folder in place or copies it (-Copy), keeping the VM's Id unless -GenerateNewId. Remove-VM
 * unregisters a VM; its disk files stay.
 */
import * as path from 'node:path';
import { HvsimError, invalidArgument } from '../errors.js';
import { newGuid } from '../vhd/common/guid.js';
import { flatten } from '../engine/flatten.js';
import { openLayer } from '../engine/chain.js';
import type { ExportResult, ImportVMOptions, VirtualMachine } from '../host/host.js';
import { transferMs } from '../host/clock.js';
import { refuseRemoveRunning } from '../host/state-machine.js';
import { CHECKPOINT_TYPES, type CheckpointType } from '../host/host.js';
import { INTEGRATION_SERVICES, type IntegrationServiceName } from '../host/integration.js';
import { refuseTakenVMName, validateMemory, validateVMName } from '../host/validation.js';
import { fault, hostVmRoot, onHost, requireDisks, touch, viewVM, type SimContext } from './context.js';
import { baseFile, fileStem, openChain } from './disk-tree.js';
import { eachVM, findOne, hostVMs, vmByName } from './lookup.js';
import { beforeTreeChange, settle } from './merges.js';
import { creating } from './recovery.js';
import { servicesOf, type VmRecord } from './state.js';
import { releaseVmFiles, VMGS_SIZE, VMRS_IDLE_SIZE } from './vm-files.js';
import { diskExtension, formatOfExtension } from '../vhd/formats.js';

/** The configuration an export carries (the `.vmcx`'s JSON: hvsim's own contents, Hyper-V's name). */
interface ExportedConfig {
  hvsim: 'virtual-machine-configuration';
  Name: string;
  Id: string;
  Generation: number;
  MemoryStartup: number;
  CheckpointType: CheckpointType;
  Notes: string;
  /** Disk files, relative to the VM's export folder (`Virtual Hard Disks/<name>.vhdx`). */
  HardDrives: string[];
  /** Each integration service's Enabled flag (absent in exports written before: the defaults). */
  IntegrationServices?: Partial<Record<IntegrationServiceName, boolean>>;
  /** Export-VMSnapshot: the checkpoint it came from. */
  ExportedFrom?: { SnapshotName: string; SnapshotId: string };
}

/**
 * Write `<dir>/<VM name>/` in Hyper-V's export layout from the given frozen (or current) disk of
 * each drive. Each disk is written under a temporary name and renamed when whole (flatten), and
 * the configuration (.vmcx) comes last, so a folder without it is plainly not an export. A failed
 * export removes the files and the (then empty) folders it made, so it can be run again; after a
 * crash what it left stays, and the next export to that folder is refused, naming it.
 */
function writeExport(ctx: SimContext, vm: VmRecord, sources: string[], dir: string, cfg: Omit<ExportedConfig, 'HardDrives' | 'hvsim'>, op: string): ExportResult & { bytes: number } {
  const store = ctx.storage.store;
  const root = path.posix.join(store.absolutePath(dir), vm.name);
  if (store.exists(root) || existsFolder(ctx, root))
    throw new HvsimError('INVALID_STATE', `${op}: '${vm.name}' failed to export: the folder ${root} already exists. Choose another -Path.`, { file: root });
  const disks = path.posix.join(root, 'Virtual Hard Disks');
  const written: string[] = [];
  /** The other files this export made, and the folders it made (removed again if it fails). */
  const made: string[] = [];
  const folders: string[] = [];
  const mkdirp = (d: string): void => {
    for (let q = d; !store.exists(q) && path.posix.dirname(q) !== q; q = path.posix.dirname(q)) folders.push(q);
    ctx.storage.mkdirp(d);
  };
  let bytes = 0;
  try {
    mkdirp(disks);
    mkdirp(path.posix.join(root, 'Snapshots'));
    sources.forEach((src, i) => {
      const base = baseFile(vm.drives[i]!).path;
      const format = formatOfExtension(base) ?? 'VHDX';
      const dest = path.posix.join(disks, fileStem(base) + diskExtension(format, false));
      const chain = openChain(store, src);
      try {
        bytes += flatten(store, chain, dest, format).dataBytes;
      } finally {
        chain.close();
      }
      written.push(dest);
    });
    const config = path.posix.join(root, 'Virtual Machines');
    mkdirp(config);
    const id = cfg.Id.toUpperCase();
    const full: ExportedConfig = { hvsim: 'virtual-machine-configuration', ...cfg, Id: id, HardDrives: written.map((w) => path.posix.relative(root, w)) };
    for (const [ext, size] of [['vmrs', VMRS_IDLE_SIZE], ['vmgs', VMGS_SIZE]] as const) {
      const f = path.posix.join(config, `${id}.${ext}`);
      sparse(ctx, f, size);
      made.push(f);
    }
    // The configuration last: a folder without it is plainly not an export yet.
    store.writeTextAtomic(path.posix.join(config, `${id}.vmcx`), JSON.stringify(full, null, 1) + '\n');
  } catch (e) {
    for (const w of [...written, ...made]) if (store.exists(w)) store.remove(w);
    // deepest first; a folder that holds anything (not this export's) stays
    for (const d of [...new Set(folders)].sort((a, b) => b.length - a.length)) store.removeEmptyFolder?.(d);
    throw e;
  }
  return { VMName: vm.name, SnapshotName: cfg.ExportedFrom?.SnapshotName ?? '', SnapshotId: cfg.ExportedFrom?.SnapshotId ?? '', Path: root, HardDrives: written, bytes };
}

function existsFolder(ctx: SimContext, p: string): boolean {
  try {
    return ctx.storage.store.list(p).length > 0;
  } catch {
    return false;
  }
}

function sparse(ctx: SimContext, p: string, size: number): void {
  const f = ctx.storage.store.create(p);
  try {
    f.truncate(size);
    f.flush();
  } finally {
    f.close();
  }
}

function configOf(vm: VmRecord): Omit<ExportedConfig, 'HardDrives' | 'hvsim'> {
  return { Name: vm.name, Id: vm.id, Generation: 2, MemoryStartup: vm.memory, CheckpointType: vm.checkpointType, Notes: vm.notes, IntegrationServices: servicesOf(vm) };
}

/** Export-VMSnapshot: the VM as the checkpoint holds it, as a VM export (docs/hyperv.md, "Export and import"). */
export function exportVMSnapshot(ctx: SimContext, ref: { vmName: string; name?: string; id?: string }, dir: string): ExportResult {
  const vm = vmByName(ctx, ref.vmName, 'export');
  const snap = findOne(vm, ref, 'export');
  fault(ctx, 'export', vm);
  requireDisks(ctx, vm, 'Export-VMSnapshot');
  const r = writeExport(ctx, vm, snap.drives, dir, {
    ...configOf(vm),
    MemoryStartup: snap.memory,
    CheckpointType: snap.checkpointType,
    Notes: snap.notes,
    ExportedFrom: { SnapshotName: snap.name, SnapshotId: snap.id },
  }, 'Export-VMSnapshot');
  ctx.clock.advance(ctx.costs.exportBaseMs + transferMs(r.bytes, ctx.costs.exportBytesPerSec));
  return { VMName: r.VMName, SnapshotName: snap.name, SnapshotId: snap.id, Path: r.Path, HardDrives: r.HardDrives };
}

/** Export-VM: the VM's current state (its checkpoints are not exported: docs/hyperv.md, "Export and import"). */
export function exportVM(ctx: SimContext, vmName: string, dir: string): ExportResult {
  const vm = vmByName(ctx, vmName, 'export-vm');
  fault(ctx, 'export', vm);
  requireDisks(ctx, vm, 'Export-VM');
  settle(ctx, vm);
  const r = writeExport(ctx, vm, vm.drives.map((d) => d.path), dir, configOf(vm), 'Export-VM');
  ctx.clock.advance(ctx.costs.exportBaseMs + transferMs(r.bytes, ctx.costs.exportBytesPerSec));
  return { VMName: r.VMName, SnapshotName: '', SnapshotId: '', Path: r.Path, HardDrives: r.HardDrives };
}

function readConfig(ctx: SimContext, file: string): ExportedConfig {
  const store = ctx.storage.store;
  const p = store.absolutePath(file);
  if (!/\.vmcx$/i.test(p)) throw invalidArgument(`Import-VM: ${p}: expected the path of a virtual machine's .vmcx file (in an export's "Virtual Machines" folder)`, p);
  const text = store.readText(p);
  if (text === undefined) throw new HvsimError('NOT_FOUND', `Import-VM: ${p}: no such file`, { file: p });
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    o = undefined;
  }
  const c = o as Partial<ExportedConfig> | undefined;
  if (
    c === undefined || c === null || typeof c !== 'object' || c.hvsim !== 'virtual-machine-configuration' || typeof c.Name !== 'string' || typeof c.Id !== 'string' ||
    typeof c.MemoryStartup !== 'number' || !CHECKPOINT_TYPES.includes(c.CheckpointType as CheckpointType) || typeof c.Notes !== 'string' ||
    !Array.isArray(c.HardDrives) || c.HardDrives.length === 0 || !c.HardDrives.every((h) => typeof h === 'string') ||
    (c.IntegrationServices !== undefined &&
      (typeof c.IntegrationServices !== 'object' || c.IntegrationServices === null ||
        !Object.entries(c.IntegrationServices).every(([k, v]) => (INTEGRATION_SERVICES as readonly string[]).includes(k) && typeof v === 'boolean')))
  )
    throw new HvsimError('CORRUPT', `Import-VM: ${p}: not a configuration hvsim wrote (hvsim imports the exports of hvsim's hosts only)`, { file: p, reason: 'STATE_FILE' });
  return c as ExportedConfig;
}

/**
 * Import-VM (docs/hyperv.md, "Export and import"): register the export whose `.vmcx` is `file`,
 * in place or (-Copy) copied to the given folders; the VM keeps its Id unless -GenerateNewId, and
 * an Id the host already has is refused. New disk files are recorded as being created first.
 */
export function importVM(ctx: SimContext, file: string, opts: ImportVMOptions): VirtualMachine {
  const store = ctx.storage.store;
  const cfgPath = store.absolutePath(file);
  const cfg = readConfig(ctx, cfgPath);
  if (opts.generateNewId && !opts.copy) throw invalidArgument('Import-VM: -GenerateNewId is used with -Copy (parameter set Copy)');
  const id = opts.generateNewId ? newGuid() : cfg.Id.toLowerCase();
  const taken = hostVMs(ctx).find((v) => v.id.toLowerCase() === id);
  if (taken)
    throw new HvsimError('INVALID_STATE', `Import-VM: Failed to import the virtual machine: the operation failed because a virtual machine with the same identifier already exists ('${taken.name}', ${id.toUpperCase()}). Select a new identifier (-Copy -GenerateNewId) and try the operation again.`, { file: cfgPath });
  const name = opts.name ?? cfg.Name;
  validateVMName(name);
  refuseTakenVMName(name, hostVMs(ctx).map((v) => v.name), ctx.host);
  validateMemory(cfg.MemoryStartup);
  const exportRoot = path.posix.dirname(path.posix.dirname(cfgPath));
  const sources = cfg.HardDrives.map((h) => path.posix.resolve(exportRoot, h));
  for (const s of sources) if (!store.exists(s)) throw new HvsimError('NOT_FOUND', `Import-VM: the export's disk ${s} is missing`, { file: s });
  for (const s of sources) for (const v of ctx.state.vms) if (v.drives.some((d) => d.files.some((f) => f.path === s)))
    throw new HvsimError('INVALID_STATE', `Import-VM: ${s} is already used by the virtual machine '${v.name}'`, { file: s });
  let vmPath: string;
  let disks: string[];
  if (!opts.copy) {
    // Registered in place: the VM's folder is the export's, its disks are the export's files.
    vmPath = exportRoot;
    for (const s of sources) openLayer(store, s, false).close();
    disks = sources;
  } else {
    vmPath = opts.virtualMachinePath !== undefined ? path.posix.join(store.absolutePath(opts.virtualMachinePath), name) : path.posix.join(hostVmRoot(ctx, ctx.host), name);
    const vhdDir = opts.vhdDestinationPath !== undefined ? store.absolutePath(opts.vhdDestinationPath) : path.posix.join(vmPath, 'Virtual Hard Disks');
    ctx.storage.mkdirp(vhdDir);
    disks = sources.map((s) => path.posix.join(vhdDir, path.posix.basename(s)));
    for (const d of disks) if (store.exists(d)) throw new HvsimError('INVALID_STATE', `Import-VM: ${d} already exists; choose another -VhdDestinationPath`, { file: d });
    creating(ctx, disks.map((d) => ({ file: d, parent: null })), () => {
      sources.forEach((s, i) => {
        const chain = openChain(store, s);
        try {
          flatten(store, chain, disks[i]!, formatOfExtension(s) ?? 'VHDX');
        } finally {
          chain.close();
        }
      });
    });
  }
  const vm: VmRecord = {
    id,
    name,
    ...onHost(ctx),
    state: 'Off',
    checkpointType: cfg.CheckpointType,
    memory: cfg.MemoryStartup,
    notes: cfg.Notes,
    creationTime: ctx.clock.now(),
    path: vmPath,
    ...(opts.copy && opts.snapshotFilePath !== undefined ? { snapshotFileLocation: store.absolutePath(opts.snapshotFilePath) } : {}),
    guestSupportsProduction: true,
    ...(cfg.IntegrationServices !== undefined ? { integrationServices: { ...cfg.IntegrationServices } } : {}),
    runningSince: null,
    drives: disks.map((d) => ({ path: d, files: [{ path: d, parent: null }] })),
    parentSnapshotId: null,
    snapshots: [],
    mergeUntil: null,
  };
  for (const d of disks) store.setReadOnly(d, false);
  // In place, the export's own .vmcx/.vmrs/.vmgs become the VM's (Hyper-V registers them).
  if (!opts.copy && ctx.storage.vmFiles === true) {
    const cfgDir = path.posix.join(vmPath, 'Virtual Machines');
    const own = ['vmcx', 'vmrs', 'vmgs'].map((x) => path.posix.join(cfgDir, `${id.toUpperCase()}.${x}`)).filter((p) => store.exists(p));
    if (own.length > 0) vm.vmFiles = own;
  }
  ctx.state.vms.push(vm);
  touch(ctx, vm);
  ctx.clock.advance(ctx.costs.newVmMs);
  return viewVM(ctx, vm);
}

/**
 * Remove-VM: unregister the VM (Off or Saved). Its configuration and runtime-state files go (the
 * records no longer need them, vm-files.ts); every disk file stays, as Hyper-V keeps them.
 */
export function removeVM(ctx: SimContext, names: string[]): VirtualMachine[] {
  return eachVM(ctx, names, 'remove-vm', (vm) => {
    refuseRemoveRunning(vm.name, vm.state);
    beforeTreeChange(ctx, vm, 'Remove-VM');
    const view = viewVM(ctx, vm);
    ctx.state.vms = ctx.state.vms.filter((v) => v !== vm);
    releaseVmFiles(ctx.state, vm);
    return view;
  });
}
