/**
 * The simulated Hyper-V host: implements Host over real disk files (src/engine) in a SimStorage.
 * Operations are synchronous inside (so concurrent calls on one instance never interleave) and
 * advance a simulated clock by the cost model (clock.ts). Removing checkpoints merges disks "in
 * the background": the VM reports OperationalStatus MergingDisks until the clock passes the
 * merge's cost, and the files change when it does (or at once when the caller waits). Anything
 * that changes a VM's disk tree first waits for that VM's merge to finish.
 * Behaviour follows docs/hyperv.md; docs/simulator.md has the rest.
 * This class opens the host and runs each command (settle due merges, run, save); the commands
 * themselves are functions of a SimContext (context.ts) in recovery.ts, merges.ts, power.ts,
 * checkpoints.ts, vms.ts and guest-io.ts.
 * No argv, no console.
 */
import { MiB } from '../vhd/common/bytes.js';
import { DEFAULT_DISK_SIZE, DEFAULT_MEMORY } from '../host/validation.js';
import { HvsimError, invalidArgument } from '../errors.js';
import type {
  CheckpointType, CheckpointVMOptions, ExportResult, ImportVMOptions, GroupCheckpointReport, GuestReadOptions, HardDiskDrive, Host, HostWarning, MergeVHDOptions, NewVMOptions,
  HostFarm, RemoveSnapshotOptions, SetVMOptions, SnapshotQuery, SnapshotRef, StopVMOptions, VirtualMachine, VMIntegrationComponent, VMSnapshot, VMState, WaitGuestOptions,
} from '../host/host.js';
import { DEFAULT_COSTS, SimClock, type CostModel } from '../host/clock.js';
import { FaultPlan, type FaultSpec } from '../host/faults.js';
import type { PowerOp } from '../host/state-machine.js';
import { hostVmRoot, persist, warn, type SimContext } from './context.js';
import { findVM, vmByName } from './lookup.js';
import { settleAll } from './merges.js';
import { checkFiles, orphans, recover, removeOrphans } from './recovery.js';
import { startVM, stopVM, powerVM, waitVM, waitVMGuest } from './power.js';
import { exportVM, exportVMSnapshot, importVM, removeVM } from './transfer.js';
import { checkpointVM, getVMSnapshot, removeVMSnapshot, renameVMSnapshot, restoreVMSnapshot } from './checkpoints.js';
import { getVMIntegrationService, setVMIntegrationService } from './integration.js';
import { addVMHardDiskDrive, getVM, getVMHardDiskDrive, newVM, setVM } from './vms.js';
import { diskSize, guestRead, guestWrite, readGuest, writeGuest } from './guest-io.js';
import { emptyState, findHost, hostNames, keepGroupReports, sameHost, STATE_VERSION, validateState, type HostState, type VmRecord } from './state.js';
import { validateComputerName } from '../host/validation.js';
import { unknownHost } from '../host/messages.js';
import { MemoryStorage, type SimStorage } from './storage.js';
import { adoptVmFiles, listVmFiles, syncVmFiles } from './vm-files.js';
import { openLayer } from '../engine/chain.js';
import type { VhdInfo } from '../vhd/disk.js';
import { mergeVhd } from './merge-vhd.js';
import { diskOwner, ownerInState, type DiskOwner } from './owner.js';

export interface SimulatorOptions {
  storage?: SimStorage;
  /**
   * The host's name (ComputerName): for an existing state, the host of the farm it acts as (one
   * of its hosts, else refused unless `addHost`); for a new state, its first host.
   */
  computerName?: string;
  /** Add `computerName` to an existing state's hosts when it is not one of them (new-vm --computer-name). */
  addHost?: boolean;
  /** The name a new host gets when `computerName` is not given (default "localhost"). */
  defaultComputerName?: string;
  /** Start of simulated time for a new host (epoch ms; default now). */
  startTime?: number;
  /** For a new host: 'wall' catches the clock up with real time whenever the host is opened. */
  clockMode?: 'wall' | 'simulated';
  costs?: Partial<CostModel>;
  faults?: FaultPlan | Array<string | FaultSpec>;
  /** Time zone for default checkpoint names (IANA; default the process's). */
  timeZone?: string;
  defaultDiskSize?: number;
  defaultMemory?: number;
  /** Block size of new VM disks (default 32 MiB, as New-VM -NewVHDSizeBytes makes them: docs/hyperv.md, "New disks"). */
  diskBlockSize?: number;
}

/** New-VHD's documented default for a dynamic VHDX (docs/hyperv.md, "New disks"). */
export const DEFAULT_BLOCK_SIZE = 32 * MiB;
/** Whether `vm`'s record loads (records.ts: it may not have been read yet); false when it is damaged. */
function recordLoads(vm: VmRecord): boolean {
  try {
    void vm.drives;
    return true;
  } catch (e) {
    if (e instanceof HvsimError && e.code === 'CORRUPT') return false;
    throw e;
  }
}

/** New-VM's defaults are the ones every host uses (host/validation.ts). */
export { DEFAULT_DISK_SIZE, DEFAULT_MEMORY };

function isLocalName(n: string): boolean {
  return n === '.' || n.toLowerCase() === 'localhost';
}


export class Simulator implements Host, HostFarm {
  readonly clock: SimClock;
  readonly costs: CostModel;
  readonly faults: FaultPlan;
  readonly storage: SimStorage;
  readonly timeZone: string | undefined;
  /** What the commands share (context.ts). */
  private readonly ctx: SimContext;

  private constructor(state: HostState, storage: SimStorage, opts: SimulatorOptions, host: string, sibling?: Simulator) {
    this.storage = storage;
    this.costs = { ...DEFAULT_COSTS, ...opts.costs };
    this.faults = opts.faults instanceof FaultPlan ? opts.faults : new FaultPlan(opts.faults ?? []);
    this.timeZone = opts.timeZone;
    if (sibling) {
      // Another host of the same farm: the same records, storage, clock, faults and warnings.
      this.clock = sibling.clock;
      this.ctx = { ...sibling.ctx, host };
      return;
    }
    this.clock = new SimClock(state.clock);
    this.clock.onAdvance((_from, to) => {
      state.clock = to;
    });
    this.ctx = {
      state,
      host,
      storage,
      clock: this.clock,
      costs: this.costs,
      faults: this.faults,
      timeZone: this.timeZone,
      warnings: [],
      frozen: new Set(),
      fileCheck: { whole: storage.wholeCheck !== false, vms: new Set(), checked: new WeakSet() },
      defaults: {
        diskSize: opts.defaultDiskSize ?? DEFAULT_DISK_SIZE,
        memory: opts.defaultMemory ?? DEFAULT_MEMORY,
        blockSize: opts.diskBlockSize ?? DEFAULT_BLOCK_SIZE,
      },
    };
  }

  /** Open the host kept in `storage` (default: a new in-memory one), creating it when empty. */
  static open(opts: SimulatorOptions = {}): Simulator {
    const storage = opts.storage ?? new MemoryStorage();
    try {
      return Simulator.openWith(storage, opts);
    } catch (e) {
      storage.close();
      throw e;
    }
  }

  private static openWith(storage: SimStorage, opts: SimulatorOptions): Simulator {
    let state = storage.load();
    const loaded = state !== undefined;
    let addedHost = false;
    const wanted = opts.computerName !== undefined && !isLocalName(opts.computerName) ? opts.computerName : undefined;
    if (state) {
      // A state.json exactly as hvsim wrote it was valid then (storage.ts, STATE_SUM_FILE).
      if (storage.loadedAsWritten !== true) validateState(state, 'statePath' in storage && typeof storage.statePath === 'string' ? storage.statePath : 'the saved state');
      // An older version's host-wide list of VM files goes to each VM's (saved by the first save).
      if (state.version !== STATE_VERSION) adoptVmFiles(state, true);
      if (wanted !== undefined && findHost(state, wanted) === undefined) {
        if (!opts.addHost) throw unknownHost(wanted, hostNames(state));
        validateComputerName(wanted);
        state.hosts = [...(state.hosts ?? []), wanted];
        addedHost = true;
      }
    } else {
      if (wanted !== undefined) validateComputerName(wanted);
      const name = opts.computerName !== undefined && !isLocalName(opts.computerName) ? opts.computerName : (opts.defaultComputerName ?? 'localhost');
      state = emptyState(name, Math.floor(opts.startTime ?? Date.now()), opts.clockMode ?? 'simulated');
    }
    const sim = new Simulator(state, storage, opts, wanted !== undefined ? findHost(state, wanted)! : state.computerName);
    for (const note of storage.loadNotes ?? []) warn(sim.ctx, '', note);
    if (state.clockMode === 'wall') sim.clock.advanceTo(Date.now());
    // Saved now only when there is something to keep before the command runs (a new state, a new
    // host, what recovery did, VM files to make): else the command's own save follows (1,000 VMs: 0.1 s a save).
    sim.syncFiles(recover(sim.ctx) || !loaded || addedHost);
    return sim;
  }

  get computerName(): string {
    return this.ctx.host;
  }

  // ---------------------------------------------------------------- several hosts (docs/simulator.md, "Several hosts")

  /** The farm's simulated hosts, the first one first. */
  hosts(): string[] {
    return hostNames(this.ctx.state);
  }

  /**
   * The simulator acting as host `name` of the same farm (the same records, storage, clock and
   * warnings; close either to close both), or undefined when the farm has no such host.
   */
  host(name: string): Simulator | undefined {
    const host = isLocalName(name) ? this.ctx.host : findHost(this.ctx.state, name);
    if (host === undefined) return undefined;
    if (sameHost(host, this.ctx.host)) return this;
    return new Simulator(this.ctx.state, this.storage, { costs: this.costs, faults: this.faults, ...(this.timeZone !== undefined ? { timeZone: this.timeZone } : {}) }, host, this);
  }

  /** The folder of this host's VM folders (Get-VMHost's VirtualMachinePath; context.ts, hostVmRoot). */
  get vmFolder(): string {
    return hostVmRoot(this.ctx, this.ctx.host);
  }

  /** Add a host to the farm (New-VM on a new host: hvsim new-vm --computer-name); returns it. */
  addHost(name: string): Promise<Simulator> {
    return this.run(() => {
      if (findHost(this.ctx.state, name) === undefined) {
        validateComputerName(name);
        this.ctx.state.hosts = [...(this.ctx.state.hosts ?? []), name];
      }
      return this.host(name)!;
    });
  }

  /** Save the state and release the storage (the CLI's lock). */
  close(): void {
    persist(this.ctx);
    // Every file check done: the next open need not check every VM (docs/simulator.md, "VM files").
    if (!this.ctx.fileCheck.whole) this.storage.markClean?.();
    this.storage.close();
  }

  /**
   * After opening and after each command: the disk files of the VMs it named or changed are
   * checked (once per open; every VM's on an open that checks all), and their VM files brought in
   * line with the records (docs/simulator.md, "VM files").
   */
  private syncFiles(save: boolean): void {
    const fc = this.ctx.fileCheck;
    const inState = new Set(this.ctx.state.vms);
    // A VM whose record cannot be loaded (the command failed on it: records.ts) has nothing to sync.
    for (const vm of fc.vms) if (!fc.whole && !recordLoads(vm)) inState.delete(vm);
    const scope = fc.whole ? this.ctx.state.vms : [...fc.vms].filter((vm) => inState.has(vm));
    // The VM files to make are listed in the operation's own save (docs/simulator.md, "VM files").
    const listed = listVmFiles(this.ctx, scope);
    if (listed.listed || save) persist(this.ctx);
    if (fc.whole) for (const vm of inState) fc.checked.add(vm);
    const unchecked = [...fc.vms].filter((vm) => inState.has(vm) && !fc.checked.has(vm));
    for (const vm of unchecked) fc.checked.add(vm);
    checkFiles(this.ctx, unchecked);
    // A sync cut short (an I/O error) leaves files unchecked: the next sync, and the next open, check all.
    fc.whole = true;
    syncVmFiles(this.ctx, scope, listed);
    fc.whole = false;
    fc.vms.clear();
  }

  /** Run an operation: finish merges whose time has come, run, save the state (also after a failure). */
  private run<T>(fn: () => T): Promise<T> {
    let failed: { e: unknown } | undefined;
    let value: T | undefined;
    try {
      settleAll(this.ctx);
      value = fn();
    } catch (e) {
      failed = { e };
    }
    try {
      this.syncFiles(true);
    } catch (e) {
      // The operation's own error first (a save that fails after it, e.g. on a full disk, is its consequence).
      return Promise.reject(failed ? failed.e : e);
    }
    return failed ? Promise.reject(failed.e) : Promise.resolve(value as T);
  }

  // ---------------------------------------------------------------- crash leftovers (recovery.ts)

  /**
   * Files in the VMs' disk folders named like hvsim's checkpoint disks that no record names (left
   * by someone, or by an interruption before this version recorded its creations).
   */
  orphans(): string[] {
    return orphans(this.ctx);
  }

  /** Delete the files `orphans()` lists (all, or none with `whatIf`); returns them. */
  removeOrphans(opts: { whatIf?: boolean } = {}): Promise<string[]> {
    return this.run(() => removeOrphans(this.ctx, opts.whatIf ?? false));
  }

  // ---------------------------------------------------------------- Host: clock, warnings

  now(): Promise<number> {
    return Promise.resolve(this.clock.now());
  }

  takeWarnings(): Promise<HostWarning[]> {
    // splice, not a new array: the farm's other hosts share this list.
    return Promise.resolve(this.ctx.warnings.splice(0));
  }

  /** Let simulated time pass (guest workloads run; background merges finish). */
  advance(ms: number): Promise<number> {
    return this.run(() => {
      this.clock.advance(ms);
      settleAll(this.ctx);
      return this.clock.now();
    });
  }

  /** Host.sleep: skip `ms` of simulated time at once (no real waiting); merges due by then finish. */
  sleep(ms: number): Promise<void> {
    return this.run(() => {
      if (!Number.isFinite(ms) || ms < 0) throw invalidArgument(`Start-Sleep: cannot sleep for ${ms} ms`);
      this.clock.advance(ms);
      settleAll(this.ctx);
    });
  }

  /** Host.inBackground: the work runs from now; the clock then returns to now (SimClock.travelTo). */
  async inBackground<T>(work: () => Promise<T>): Promise<{ value: T; end: number }> {
    const start = this.clock.now();
    try {
      const value = await work();
      return { value, end: this.clock.now() };
    } finally {
      this.clock.travelTo(start);
      persist(this.ctx);
    }
  }

  /** Whether the guest is executing now (Running and not frozen inside an operation). */
  guestRunning(vmName: string): boolean {
    const vm = findVM(this.ctx, vmName);
    return vm !== undefined && vm.state === 'Running' && !this.ctx.frozen.has(vm.id);
  }

  /** Host.recordGroupCheckpoint: the report goes into the state (state.json), kept while the group has a checkpoint. */
  recordGroupCheckpoint(report: GroupCheckpointReport): Promise<void> {
    return this.run(() => keepGroupReports(this.ctx.state, JSON.parse(JSON.stringify(report)) as GroupCheckpointReport));
  }

  /** The group checkpoints' reports the state keeps. */
  groupReports(): GroupCheckpointReport[] {
    return JSON.parse(JSON.stringify(this.ctx.state.groups ?? [])) as GroupCheckpointReport[];
  }

  /** A copy of the whole state (for tests and analysis). */
  snapshotState(): HostState {
    return JSON.parse(JSON.stringify(this.ctx.state)) as HostState;
  }

  /** The files of each of a VM's drives, with parents (for tests and analysis). */
  diskFiles(vmName: string): Array<Array<{ path: string; parent: string | null; readOnly: boolean }>> {
    const vm = vmByName(this.ctx, vmName, 'get');
    return vm.drives.map((d) => d.files.map((f) => ({ ...f, readOnly: this.storage.store.isReadOnly(f.path) })));
  }

  // ---------------------------------------------------------------- Host: VMs (vms.ts)

  newVM(opts: NewVMOptions): Promise<VirtualMachine> {
    return this.run(() => newVM(this.ctx, opts));
  }

  getVM(names?: string[]): Promise<VirtualMachine[]> {
    return this.run(() => getVM(this.ctx, names));
  }

  setVM(names: string[], opts: SetVMOptions): Promise<VirtualMachine[]> {
    return this.run(() => setVM(this.ctx, names, opts));
  }

  getVMIntegrationService(vmName: string, names?: string[]): Promise<VMIntegrationComponent[]> {
    return this.run(() => getVMIntegrationService(this.ctx, vmName, names));
  }

  setVMIntegrationService(vmName: string, names: string[], enabled: boolean): Promise<VMIntegrationComponent[]> {
    return this.run(() => setVMIntegrationService(this.ctx, vmName, names, enabled));
  }

  // ---------------------------------------------------------------- Host: power (power.ts)

  startVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => startVM(this.ctx, names));
  }

  stopVM(names: string[], opts: StopVMOptions = {}): Promise<VirtualMachine[]> {
    if (opts.save && opts.turnOff) return Promise.reject(invalidArgument('Stop-VM: -Save and -TurnOff cannot be used together'));
    const op: PowerOp = opts.save ? 'save' : opts.turnOff ? 'turn-off' : 'stop';
    return this.run(() => stopVM(this.ctx, names, op));
  }

  suspendVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => powerVM(this.ctx, names, 'suspend'));
  }

  resumeVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => powerVM(this.ctx, names, 'resume'));
  }

  saveVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => powerVM(this.ctx, names, 'save'));
  }

  waitVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => waitVM(this.ctx, names));
  }

  waitVMGuest(names: string[], opts?: WaitGuestOptions): Promise<VirtualMachine[]> {
    return this.run(() => waitVMGuest(this.ctx, names, opts));
  }

  // ---------------------------------------------------------------- Host: checkpoints (checkpoints.ts)

  checkpointVM(names: string[], opts: CheckpointVMOptions = {}): Promise<VMSnapshot[]> {
    return this.run(() => checkpointVM(this.ctx, names, opts));
  }

  getVMSnapshot(q: SnapshotQuery): Promise<VMSnapshot[]> {
    return this.run(() => getVMSnapshot(this.ctx, q));
  }

  restoreVMSnapshot(ref: SnapshotRef): Promise<VMSnapshot> {
    return this.run(() => restoreVMSnapshot(this.ctx, ref));
  }

  removeVMSnapshot(q: SnapshotQuery, opts: RemoveSnapshotOptions = {}): Promise<VMSnapshot[]> {
    return this.run(() => removeVMSnapshot(this.ctx, q, opts));
  }

  renameVMSnapshot(ref: SnapshotRef, newName: string): Promise<VMSnapshot> {
    return this.run(() => renameVMSnapshot(this.ctx, ref, newName));
  }

  exportVMSnapshot(ref: SnapshotRef, dir: string): Promise<ExportResult> {
    return this.run(() => exportVMSnapshot(this.ctx, ref, dir));
  }

  // ---------------------------------------------------------------- Host: Merge-VHD (merge-vhd.ts)

  mergeVHD(file: string, opts: MergeVHDOptions = {}): Promise<VhdInfo> {
    return this.run(() => {
      const store = this.storage.store;
      const root = 'root' in this.storage && typeof this.storage.root === 'string' ? this.storage.root : this.storage.vmRoot;
      // This host's own records first (an in-memory host has no state.json), then other state directories above the file.
      const ownerOf = (f: string): DiskOwner | undefined => ownerInState(this.ctx.state, root, store.absolutePath(f)) ?? (this.storage.kind === 'directory' ? diskOwner(f) : undefined);
      const r = mergeVhd(store, file, ownerOf, opts);
      const img = openLayer(store, r.destination, false);
      try {
        return img.info();
      } finally {
        img.close();
      }
    });
  }

  // ---------------------------------------------------------------- Host: export, import, remove (transfer.ts)

  exportVM(vmName: string, dir: string): Promise<ExportResult> {
    return this.run(() => exportVM(this.ctx, vmName, dir));
  }

  importVM(file: string, opts: ImportVMOptions = {}): Promise<VirtualMachine> {
    return this.run(() => importVM(this.ctx, file, opts));
  }

  removeVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => removeVM(this.ctx, names));
  }

  // ---------------------------------------------------------------- Host: disks (vms.ts) and guest I/O (guest-io.ts)

  getVMHardDiskDrive(vmName: string, snapshot?: string): Promise<HardDiskDrive[]> {
    return this.run(() => getVMHardDiskDrive(this.ctx, vmName, snapshot));
  }

  addVMHardDiskDrive(vmName: string, opts: { path?: string; size?: number }): Promise<HardDiskDrive> {
    return this.run(() => addVMHardDiskDrive(this.ctx, vmName, opts));
  }

  /** A guest write without moving the clock (guest workloads call it while time passes). */
  guestWrite(vmName: string, data: Uint8Array, offset: number, drive = 0): void {
    guestWrite(this.ctx, vmName, data, offset, drive);
  }

  /** Read without moving the clock (the leaf, or a checkpoint's frozen file). */
  guestRead(vmName: string, offset: number, length: number, opts: GuestReadOptions = {}): Uint8Array {
    return guestRead(this.ctx, vmName, offset, length, opts);
  }

  writeGuest(vmName: string, data: Uint8Array, offset: number, drive = 0): Promise<void> {
    return this.run(() => writeGuest(this.ctx, vmName, data, offset, drive));
  }

  readGuest(vmName: string, offset: number, length: number, opts: GuestReadOptions = {}): Promise<Uint8Array> {
    return this.run(() => readGuest(this.ctx, vmName, offset, length, opts));
  }

  diskSize(vmName: string, drive = 0): Promise<number> {
    return this.run(() => diskSize(this.ctx, vmName, drive));
  }
}

export type { VMState, CheckpointType };
