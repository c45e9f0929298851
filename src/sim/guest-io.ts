/**
 * Guest I/O: what a guest writes to and reads from its disks (Write-VM, Read-VM), through the
 * drive's chain (the writable leaf, or a checkpoint's frozen file for reads). guestWrite and
 * guestRead leave the clock alone (guest workloads call them while time passes); writeGuest and
 * readGuest are the commands, with their faults and their cost.
 * Imports: engine (open), host rules, sim context, lookup, disk-tree.
 */
import { invalidArgument } from '../errors.js';
import { openLayer } from '../engine/chain.js';
import type { GuestReadOptions } from '../host/host.js';
import { transferMs } from '../host/clock.js';
import { wrongState } from '../host/state-machine.js';
import { fault, type SimContext } from './context.js';
import { openChain } from './disk-tree.js';
import { drive, findOne, vmByName } from './lookup.js';

/** Refuse a guest read or write (`cmdlet`) of `length` bytes at `offset` that does not lie within the disk. */
function checkRange(cmdlet: string, vmName: string, driveIndex: number, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw invalidArgument(`${cmdlet}: ${length} bytes at offset ${offset} run past the end of the ${size}-byte disk ${driveIndex} of '${vmName}'`);
}

/** The simulated time a guest read or write of `bytes` takes. */
function ioMs(ctx: SimContext, bytes: number): number {
  return ctx.costs.guestIoBaseMs + transferMs(bytes, ctx.costs.guestIoBytesPerSec);
}

/** A guest write without moving the clock (guest workloads call it while time passes). */
export function guestWrite(ctx: SimContext, vmName: string, data: Uint8Array, offset: number, driveIndex: number): void {
  const vm = vmByName(ctx, vmName, 'write');
  if (vm.state !== 'Running') throw wrongState('write', vm.name, vm.state, 'only a running guest writes its disks');
  const d = drive(vm, driveIndex, 'write');
  const chain = openChain(ctx.storage.store, d.path, true);
  try {
    checkRange('Write-VM', vm.name, driveIndex, offset, data.length, chain.virtualSize);
    chain.write(data, offset);
    chain.flush();
  } finally {
    chain.close();
  }
}

/** Read without moving the clock (the leaf, or a checkpoint's frozen file). */
export function guestRead(ctx: SimContext, vmName: string, offset: number, length: number, opts: GuestReadOptions): Uint8Array {
  const vm = vmByName(ctx, vmName, 'read');
  const i = opts.drive ?? 0;
  drive(vm, i, 'read');
  const leaf = opts.snapshot !== undefined ? findOne(vm, { name: opts.snapshot }, 'read').drives[i]! : vm.drives[i]!.path;
  const chain = openChain(ctx.storage.store, leaf, false);
  try {
    checkRange('Read-VM', vm.name, i, offset, length, chain.virtualSize);
    const buf = new Uint8Array(length);
    chain.read(buf, offset);
    return buf;
  } finally {
    chain.close();
  }
}

export function writeGuest(ctx: SimContext, vmName: string, data: Uint8Array, offset: number, driveIndex: number): void {
  const vm = vmByName(ctx, vmName, 'write');
  fault(ctx, 'write', vm);
  guestWrite(ctx, vmName, data, offset, driveIndex);
  ctx.clock.advance(ioMs(ctx, data.length));
}

export function readGuest(ctx: SimContext, vmName: string, offset: number, length: number, opts: GuestReadOptions): Uint8Array {
  const vm = vmByName(ctx, vmName, 'read');
  fault(ctx, 'read', vm);
  const buf = guestRead(ctx, vmName, offset, length, opts);
  ctx.clock.advance(ioMs(ctx, length));
  return buf;
}

/** The virtual size of a VM's drive. */
export function diskSize(ctx: SimContext, vmName: string, driveIndex: number): number {
  const vm = vmByName(ctx, vmName, 'read');
  const d = drive(vm, driveIndex, 'read');
  const img = openLayer(ctx.storage.store, d.path, false);
  try {
    return img.virtualSize;
  } finally {
    img.close();
  }
}
