/**
 * VMs and their drives: New-VM, Get-VM, Set-VM, Get- and Add-VMHardDiskDrive; a new VM's base disk
 * or an existing disk attached.
 */
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { newGuid } from '../vhd/common/guid.js';
import { formatForPath } from '../vhd/formats.js';
import { openLayer } from '../engine/chain.js';
import { createBaseDisk } from '../engine/layers.js';
import type { HardDiskDrive, NewVMOptions, SetVMOptions, VirtualMachine } from '../host/host.js';
import { defaultIntegrationServices, pickIntegrationServices } from '../host/integration.js';
import { cmdletOf, throwGathered } from '../host/messages.js';
import { wrongState } from '../host/state-machine.js';
import { refuseTakenVMName, validateCheckpointType, validateMemory, validateVMName } from '../host/validation.js';
import { hostVmRoot, onHost, touch, viewDrives, viewVM, type SimContext } from './context.js';
import { eachVM, findOne, hostVMs, resolveVMs, vmByName } from './lookup.js';
import { beforeTreeChange } from './merges.js';
import { creating } from './recovery.js';
import type { VmRecord } from './state.js';

export function newVM(ctx: SimContext, opts: NewVMOptions): VirtualMachine {
  const name = opts.name;
  validateVMName(name);
  refuseTakenVMName(name, hostVMs(ctx).map((v) => v.name), ctx.host);
  const type = opts.checkpointType ?? 'Production';
  validateCheckpointType(type, 'new');
  const memory = opts.memory ?? ctx.defaults.memory;
  validateMemory(memory);
  const store = ctx.storage.store;
  const vmPath = path.posix.join(hostVmRoot(ctx, ctx.host), name);
  const disabled = pickIntegrationServices('new', name, opts.disabledIntegrationServices ?? []);
  const disk = opts.vhdPath !== undefined ? attachExisting(ctx, opts.vhdPath, 'new') : newBaseDisk(ctx, vmPath, name, opts.diskSize ?? ctx.defaults.diskSize);
  const vm: VmRecord = {
    id: newGuid(),
    name,
    ...onHost(ctx),
    state: 'Off',
    checkpointType: type,
    memory,
    notes: opts.notes ?? '',
    creationTime: ctx.clock.now(),
    path: vmPath,
    guestSupportsProduction: opts.guestSupportsProductionCheckpoints ?? true,
    ...(disabled.length > 0 ? { integrationServices: { ...defaultIntegrationServices(), ...Object.fromEntries(disabled.map((s) => [s, false])) } } : {}),
    runningSince: null,
    drives: [{ path: disk, files: [{ path: disk, parent: null }] }],
    parentSnapshotId: null,
    snapshots: [],
    mergeUntil: null,
  };
  store.setReadOnly(disk, false);
  ctx.state.vms.push(vm);
  touch(ctx, vm);
  ctx.clock.advance(ctx.costs.newVmMs);
  return viewVM(ctx, vm);
}

function newBaseDisk(ctx: SimContext, vmPath: string, fileStem: string, size: number): string {
  const store = ctx.storage.store;
  const dir = path.posix.join(vmPath, 'Virtual Hard Disks');
  ctx.storage.mkdirp(dir);
  const p = store.absolutePath(path.posix.join(dir, `${fileStem}.vhdx`));
  // The caller records the disk before the state is next saved.
  creating(ctx, [{ file: p, parent: null }], () => createBaseDisk(store, p, { format: 'VHDX', virtualSize: size, blockSize: ctx.defaults.blockSize }));
  return p;
}

function attachExisting(ctx: SimContext, file: string, op: string): string {
  const store = ctx.storage.store;
  const p = store.absolutePath(file);
  if (!store.exists(p)) throw new HvsimError('NOT_FOUND', `${cmdletOf(op)}: ${p}: no such file`, { file: p });
  formatForPath(p);
  if (store.isReadOnly(p))
    throw new HvsimError('INVALID_STATE', `${cmdletOf(op)}: ${p} is read-only (a checkpoint's frozen disk?); attach a writable disk`, { file: p });
  for (const v of ctx.state.vms)
    if (v.drives.some((d) => d.files.some((f) => f.path === p)))
      throw new HvsimError('INVALID_STATE', `${cmdletOf(op)}: ${p} is already used by the virtual machine '${v.name}'`, { file: p });
  openLayer(store, p, false).close(); // a readable disk
  return p;
}

export function getVM(ctx: SimContext, names: string[] | undefined): VirtualMachine[] {
  const { vms, errors } = resolveVMs(ctx, names, 'get');
  throwGathered(errors);
  return vms.map((v) => viewVM(ctx, v));
}

export function setVM(ctx: SimContext, names: string[], opts: SetVMOptions): VirtualMachine[] {
  validateCheckpointType(opts.checkpointType, 'set');
  return eachVM(ctx, names, 'set', (vm) => {
    if (opts.memory !== undefined) {
      if (vm.state !== 'Off') throw wrongState('set', vm.name, vm.state, 'memory can be changed only while the VM is Off');
      vm.memory = opts.memory;
    }
    if (opts.checkpointType !== undefined) vm.checkpointType = opts.checkpointType;
    if (opts.notes !== undefined) vm.notes = opts.notes;
    if (opts.guestSupportsProductionCheckpoints !== undefined) vm.guestSupportsProduction = opts.guestSupportsProductionCheckpoints;
    // New checkpoints' files go there; existing ones stay where they are (docs/hyperv.md, "VM files").
    if (opts.snapshotFileLocation !== undefined) vm.snapshotFileLocation = hostFolder(ctx, opts.snapshotFileLocation);
    if (opts.smartPagingFilePath !== undefined) vm.smartPagingFilePath = hostFolder(ctx, opts.smartPagingFilePath);
    if (opts.automaticCheckpointsEnabled !== undefined) vm.automaticCheckpointsEnabled = opts.automaticCheckpointsEnabled;
    return viewVM(ctx, vm);
  });
}

/** A folder a Set-VM location names, absolute (relative to the current folder, as the CLI's paths). */
function hostFolder(ctx: SimContext, p: string): string {
  if (p.trim() === '') throw new HvsimError('INVALID_ARGUMENT', 'Set-VM: a location cannot be empty');
  return ctx.storage.store.absolutePath(p);
}

export function getVMHardDiskDrive(ctx: SimContext, vmName: string, snapshot: string | undefined): HardDiskDrive[] {
  const vm = vmByName(ctx, vmName, 'get');
  return viewDrives(ctx, vm, snapshot === undefined ? null : findOne(vm, { name: snapshot }, 'get-snapshot'));
}

export function addVMHardDiskDrive(ctx: SimContext, vmName: string, opts: { path?: string; size?: number }): HardDiskDrive {
  const vm = vmByName(ctx, vmName, 'add-disk');
  if (vm.snapshots.length > 0)
    throw wrongState('add-disk', vm.name, vm.state, 'hvsim attaches disks only while the VM has no checkpoints');
  beforeTreeChange(ctx, vm, 'Add-VMHardDiskDrive');
  const p = opts.path !== undefined ? attachExisting(ctx, opts.path, 'add-disk') : newBaseDisk(ctx, vm.path, `${vm.name}-${vm.drives.length}`, opts.size ?? ctx.defaults.diskSize);
  ctx.storage.store.setReadOnly(p, false);
  vm.drives.push({ path: p, files: [{ path: p, parent: null }] });
  ctx.clock.advance(ctx.costs.createDiskMs);
  return viewDrives(ctx, vm, null)[vm.drives.length - 1]!;
}
