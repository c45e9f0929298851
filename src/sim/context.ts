/**
 * What the simulator's operations share (docs/simulator.md): the host's records, its storage and
 * clock, and the settings it was opened with. The Simulator class (simulator.ts) owns one; the
 * modules beside it (recovery, merges, power, checkpoints, vms, guest-io) are functions of it.
 * Also the small helpers every operation uses: saving, warnings, faults, the disk-file guard and
 * the views.
 */
import { HvsimError } from '../errors.js';
import type { HardDiskDrive, HostWarning, VirtualMachine, VMSnapshot } from '../host/host.js';
import type { CostModel, SimClock } from '../host/clock.js';
import type { FaultOp, FaultPlan } from '../host/faults.js';
import { missingFiles } from './disk-tree.js';
import * as path from 'node:path';
import { hostOf, keepGroupReports, sameHost, type HostState, type SnapshotRecord, type VmRecord } from './state.js';
import type { SimStorage } from './storage.js';
import { drivesView, snapView, vmView } from './views.js';

export interface SimContext {
  readonly state: HostState;
  /** The simulated host the commands act on (one of the state's hosts: docs/simulator.md, "Several hosts"). */
  readonly host: string;
  readonly storage: SimStorage;
  readonly clock: SimClock;
  readonly costs: CostModel;
  readonly faults: FaultPlan;
  /** Time zone for default checkpoint names (IANA; undefined: the process's). */
  readonly timeZone: string | undefined;
  /** Warnings not yet taken (Host.takeWarnings). */
  warnings: HostWarning[];
  /** VMs whose guest is momentarily frozen inside an operation (a checkpoint of a running VM). */
  readonly frozen: Set<string>;
  /** Size and block size of a new VM's disk, memory of a new VM. */
  readonly defaults: { readonly diskSize: number; readonly memory: number; readonly blockSize: number };
  /** Which VMs' files the next check looks at (docs/simulator.md, "VM files"). */
  readonly fileCheck: FileCheck;
}

/**
 * Which VMs' files (disks, .vmcx/.vmrs/.vmgs) a command checks (docs/simulator.md, "VM files"):
 * every VM's when they may have changed behind hvsim's back (`whole`: the first open after an
 * unclean exit), else only those of the VMs the command names or changes (`vms`).
 */
export interface FileCheck {
  whole: boolean;
  /** The VMs the command running names or changes. */
  readonly vms: Set<VmRecord>;
  /** The VMs whose disk files were checked since the host was opened (each is reported once). */
  readonly checked: WeakSet<VmRecord>;
}

/** Note that the command names or changes `vm`: its files are checked when it ends. */
export function touch(ctx: SimContext, vm: VmRecord): void {
  ctx.fileCheck.vms.add(vm);
}

/**
 * The folder of host `host`'s VM folders: the storage's for the first host, `hosts/<HOST>` beside
 * it for the others (so that two hosts' VMs of the same name never share a folder).
 */
export function hostVmRoot(ctx: SimContext, host: string): string {
  return sameHost(host, ctx.state.computerName) ? ctx.storage.vmRoot : path.posix.join(path.posix.dirname(ctx.storage.vmRoot), 'hosts', host);
}

/** A new VM record's host field: absent on the first host (states written before several hosts read the same). */
export function onHost(ctx: SimContext): { computerName?: string } {
  return sameHost(ctx.host, ctx.state.computerName) ? {} : { computerName: ctx.host };
}

/**
 * Save the state (with the clock) to the storage. On the wall clock a time not ahead of real time
 * is not saved alone (docs/simulator.md, "Cost model"): the next open catches up with real time
 * anyway, and a read such as Get-VM would otherwise rewrite state.json each time.
 */
export function persist(ctx: SimContext): void {
  keepGroupReports(ctx.state);
  const now = ctx.clock.now();
  ctx.state.clock = now;
  ctx.storage.save(ctx.state, { unlessOnlyClock: ctx.state.clockMode === 'wall' && now <= Date.now() });
}

export function warn(ctx: SimContext, vmName: string, message: string): void {
  ctx.warnings.push({ VMName: vmName, Message: message });
}

export function fault(ctx: SimContext, op: FaultOp, vm: VmRecord): void {
  ctx.faults.check(op, vm.name);
}

/** Refuse an operation that needs the VM's disk files while one is missing (Hyper-V's wording, docs/hyperv.md, "Error texts"). */
export function requireDisks(ctx: SimContext, vm: VmRecord, what: string): void {
  const missing = missingFiles(ctx.storage.store, vm);
  if (missing.length === 0) return;
  throw new HvsimError(
    'NOT_FOUND',
    `${what}: '${vm.name}' is missing a disk file: ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}. The system cannot find the file specified. (0x80070002)`,
    { file: missing[0]! },
  );
}

// ---------------------------------------------------------------- views

/** The VM's drives now (`snap` null), or as checkpoint `snap` froze them. */
export function viewDrives(ctx: SimContext, vm: VmRecord, snap: SnapshotRecord | null): HardDiskDrive[] {
  return drivesView(hostOf(ctx.state, vm), vm, snap);
}

export function viewVM(ctx: SimContext, vm: VmRecord): VirtualMachine {
  return vmView(hostOf(ctx.state, vm), vm, ctx.clock.now(), missingFiles(ctx.storage.store, vm));
}

export function viewSnapshot(ctx: SimContext, vm: VmRecord, s: SnapshotRecord): VMSnapshot {
  return snapView(hostOf(ctx.state, vm), vm, s);
}
