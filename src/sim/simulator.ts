/**
 * The simulated Hyper-V host: implements Host over real disk files (src/engine) in a SimStorage.
 * Operations are synchronous inside (so concurrent calls on one instance never interleave) and
 * advance a simulated clock by the cost model (clock.ts). Removing checkpoints merges disks "in
 * the background": the VM reports OperationalStatus MergingDisks until the clock passes the
 * merge's cost, and the files change when it does (or at once when the caller waits). Anything
 * that changes a VM's disk tree first waits for that VM's merge to finish.
 * Behaviour follows docs/hyperv.md; docs/simulator.md has the rest.
 * Imports: engine, vhd (types, errors, create), sim modules. No argv, no console.
 */
import * as path from 'node:path';
import { GiB, MiB } from '../vhd/common/bytes.js';
import { HvsimError, invalidArgument } from '../errors.js';
import { newGuid, tryParseGuid } from '../vhd/common/guid.js';
import { formatForPath } from '../vhd/open.js';
import { openLayer } from '../engine/chain.js';
import { createBaseDisk, createChild } from '../engine/layers.js';
import { flatten } from '../engine/flatten.js';
import type {
  CheckpointType, CheckpointVMOptions, ExportResult, GuestReadOptions, HardDiskDrive, Host, HostWarning, NewVMOptions,
  RemoveSnapshotOptions, SetVMOptions, SnapshotQuery, SnapshotRef, StopVMOptions, VirtualMachine, VMSnapshot, VMState,
} from '../host/host.js';
import { CHECKPOINT_TYPES } from '../host/host.js';
import { DEFAULT_COSTS, SimClock, checkpointStamp, iso, transferMs, type CostModel } from '../host/clock.js';
import { FaultPlan, hasWildcard, nameMatches, type FaultOp, type FaultSpec } from '../host/faults.js';
import { CMDLET, ALREADY_IN_STATE, combine, gatherSnapshots, hasRuntimeState, snapshotNotFound, transition, vmNotFound, wrongState, type PowerOp } from '../host/state-machine.js';
import { MAX_CHECKPOINTS, MAX_NAME_LENGTH, detach, subtree, validateSnapshotName } from './checkpoint-tree.js';
import {
  applyStep, executeStep, hasMerge, missingFiles, newDifferencingPath, openChain, ownedFiles, planCleanup, reconcileDrives, stepCost,
  nextCleanupStep, restoreReadOnlyMarks, unrecordedFiles,
} from './disk-tree.js';
import { partialPath } from '../engine/store.js';
import { emptyState, validateState, type HostState, type SnapshotRecord, type VmRecord } from './state.js';
import { drivesView, snapView, vmView } from './views.js';
import { MemoryStorage, type SimStorage } from './storage.js';

export interface SimulatorOptions {
  storage?: SimStorage;
  /** The host's name (ComputerName). For an existing state, a different name is refused. */
  computerName?: string;
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
  /** Block size of new VM disks (default 2 MiB, small so that in-memory hosts stay small). */
  diskBlockSize?: number;
}

export const DEFAULT_DISK_SIZE = 64 * MiB;
export const DEFAULT_MEMORY = 1 * GiB;
export const DEFAULT_BLOCK_SIZE = 2 * MiB;

/** Characters Windows refuses in file names (a VM name becomes a folder and a disk file name). */
const BAD_NAME = /[\\/:*?"<>|\u0000-\u001f]/;

function isLocalName(n: string): boolean {
  return n === '.' || n.toLowerCase() === 'localhost';
}

export class Simulator implements Host {
  readonly clock: SimClock;
  readonly costs: CostModel;
  readonly faults: FaultPlan;
  readonly storage: SimStorage;
  readonly timeZone: string | undefined;
  private state: HostState;
  private warnings: HostWarning[] = [];
  /** VMs whose guest is momentarily frozen inside an operation (a checkpoint of a running VM). */
  private frozen = new Set<string>();
  private readonly defaultDiskSize: number;
  private readonly memory: number;
  private readonly blockSize: number;

  private constructor(state: HostState, storage: SimStorage, opts: SimulatorOptions) {
    this.state = state;
    this.storage = storage;
    this.costs = { ...DEFAULT_COSTS, ...opts.costs };
    this.faults = opts.faults instanceof FaultPlan ? opts.faults : new FaultPlan(opts.faults ?? []);
    this.timeZone = opts.timeZone;
    this.defaultDiskSize = opts.defaultDiskSize ?? DEFAULT_DISK_SIZE;
    this.memory = opts.defaultMemory ?? DEFAULT_MEMORY;
    this.blockSize = opts.diskBlockSize ?? DEFAULT_BLOCK_SIZE;
    this.clock = new SimClock(state.clock);
    this.clock.onAdvance((_from, to) => {
      this.state.clock = to;
    });
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
    if (state) {
      validateState(state, 'statePath' in storage && typeof storage.statePath === 'string' ? storage.statePath : 'the saved state');
      if (opts.computerName !== undefined && !isLocalName(opts.computerName) && opts.computerName.toLowerCase() !== state.computerName.toLowerCase())
        throw new HvsimError('NOT_FOUND', `Hyper-V was unable to find the computer "${opts.computerName}": this state holds the host "${state.computerName}" (use another --root for another host)`);
    } else {
      const name = opts.computerName !== undefined && !isLocalName(opts.computerName) ? opts.computerName : (opts.defaultComputerName ?? 'localhost');
      state = emptyState(name, Math.floor(opts.startTime ?? Date.now()), opts.clockMode ?? 'simulated');
    }
    const sim = new Simulator(state, storage, opts);
    if (state.clockMode === 'wall') sim.clock.advanceTo(Date.now());
    sim.recover();
    sim.persist();
    return sim;
  }

  /**
   * After a crash or a mishap (docs/reliability.md, "Missing files"): finish what hvsim itself
   * recorded as unfinished and nothing else. Missing files and files no record names are
   * reported as warnings, never deleted.
   */
  private recover(): void {
    const store = this.storage.store;
    this.dropUnfinishedCreations();
    for (const vm of this.state.vms) {
      try {
        reconcileDrives(store, vm);
      } catch (e) {
        if (!(e instanceof HvsimError)) throw e;
        this.warn(vm.name, `'${vm.name}': an interrupted merge could not be finished: ${e.message}`);
      }
      restoreReadOnlyMarks(store, vm);
    }
    this.dropInterruptedGroups();
    for (const vm of this.state.vms) {
      const missing = missingFiles(store, vm);
      if (missing.length > 0)
        this.warn(vm.name, `'${vm.name}' is missing ${missing.length === 1 ? 'a disk file' : `${missing.length} disk files`}: ${missing.join(', ')}; hvsim leaves its records as they are (put the file${missing.length === 1 ? '' : 's'} back).`);
    }
    const orphans = this.orphans();
    if (orphans.length > 0)
      this.warn('', `${orphans.length === 1 ? 'a file' : `${orphans.length} files`} that no virtual machine uses: ${orphans.join(', ')} (hvsim remove-orphans --what-if lists what it would delete)`);
  }

  /** Disk files an interrupted operation was creating (HostState.creating) that no record names: hvsim's own, removed. */
  private dropUnfinishedCreations(): void {
    const pending = this.state.creating ?? [];
    if (pending.length === 0) return;
    const store = this.storage.store;
    const named = this.recordedFiles();
    this.state.creating = pending.filter((c) => {
      if (named.has(c.file)) return false;
      try {
        for (const f of [partialPath(c.file), c.file]) if (store.exists(f)) store.remove(f);
        // The parent was frozen for this child: a VM's current disk becomes writable again.
        if (c.parent !== null && store.exists(c.parent) && this.state.vms.some((v) => v.drives.some((d) => d.path === c.parent))) store.setReadOnly(c.parent, false);
        return false;
      } catch (e) {
        if (!(e instanceof HvsimError)) throw e;
        this.warn('', `an unfinished file of an interrupted operation could not be removed yet (the next command tries again): ${e.message}`);
        return true;
      }
    });
  }

  /** Every disk file a record names. */
  private recordedFiles(): Set<string> {
    return new Set(this.state.vms.flatMap((v) => v.drives.flatMap((d) => d.files.map((f) => f.path))));
  }

  /**
   * Files in the VMs' disk folders named like hvsim's checkpoint disks that no record names (left
   * by someone, or by an interruption before this version recorded its creations).
   */
  orphans(): string[] {
    const known = this.recordedFiles();
    return [...new Set(this.state.vms.flatMap((vm) => unrecordedFiles(this.storage.store, vm, this.storage.vmRoot, known)))];
  }

  /** Delete the files `orphans()` lists (all, or none with `whatIf`); returns them. */
  removeOrphans(opts: { whatIf?: boolean } = {}): Promise<string[]> {
    return this.run(() => {
      const list = this.orphans();
      if (!opts.whatIf) for (const f of list) this.storage.store.remove(f);
      return list;
    });
  }

  /**
   * Record the disk files about to be created (saved before they exist), run `make`, and forget
   * them again; the caller puts them in the records before the state is next saved.
   */
  private creating<T>(files: Array<{ file: string; parent: string | null }>, make: () => T): T {
    this.state.creating = [...(this.state.creating ?? []), ...files];
    this.persist();
    const made = make(); // on failure the entries stay: the next open removes what is left
    this.state.creating = this.state.creating.filter((c) => !files.includes(c));
    return made;
  }

  /**
   * A new differencing child of `parents[i]` for each drive (Checkpoint-VM: the current disks;
   * Restore-VMSnapshot: the checkpoint's frozen files), all or none, recorded as being created.
   */
  private createLeaves(vm: VmRecord, parents: string[]): Array<{ file: string; parent: string }> {
    const store = this.storage.store;
    const leaves = parents.map((parent, i) => ({ file: newDifferencingPath(vm.drives[i]!), parent }));
    const made: Array<{ file: string; parent: string; wasReadOnly: boolean }> = [];
    this.creating(leaves, () => {
      try {
        for (const x of leaves) {
          const wasReadOnly = store.isReadOnly(x.parent);
          createChild(store, x.parent, x.file);
          made.push({ ...x, wasReadOnly });
        }
      } catch (e) {
        // All drives or none: undo the children already made (and the freeze of their parents).
        for (const x of made.reverse()) {
          store.remove(x.file);
          if (store.isReadOnly(x.parent) !== x.wasReadOnly) store.setReadOnly(x.parent, x.wasReadOnly);
        }
        throw e;
      }
    });
    return leaves;
  }

  /** The leaves createLeaves made become the drives' current disks. */
  private adoptLeaves(vm: VmRecord, leaves: Array<{ file: string; parent: string }>): void {
    vm.drives.forEach((d, i) => {
      const x = leaves[i]!;
      d.files.push({ path: x.file, parent: x.parent });
      d.path = x.file;
    });
  }

  /** Refuse an operation that needs the VM's disk files while one is missing (Hyper-V's wording, docs/hyperv.md, "Error texts"). */
  private requireDisks(vm: VmRecord, what: string): void {
    const missing = missingFiles(this.storage.store, vm);
    if (missing.length === 0) return;
    throw new HvsimError(
      'NOT_FOUND',
      `${what}: '${vm.name}' is missing a disk file: ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}. The system cannot find the file specified. (0x80070002)`,
      { file: missing[0]! },
    );
  }

  get computerName(): string {
    return this.state.computerName;
  }

  /** Save the state and release the storage (the CLI's lock). */
  close(): void {
    this.persist();
    this.storage.close();
  }

  // ---------------------------------------------------------------- plumbing

  private persist(): void {
    this.state.clock = this.clock.now();
    this.storage.save(this.state);
  }

  /** Run an operation: finish merges whose time has come, run, save the state (also after a failure). */
  private run<T>(fn: () => T): Promise<T> {
    try {
      this.settleAll();
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.persist();
    }
  }

  private warn(vmName: string, message: string): void {
    this.warnings.push({ VMName: vmName, Message: message });
  }

  private fault(op: FaultOp, vm: VmRecord): void {
    this.faults.check(op, vm.name);
  }

  /** VMs by names (wildcards allowed). A plain name that matches nothing is an error. */
  private resolveVMs(names: string[] | undefined, op: string): { vms: VmRecord[]; errors: HvsimError[] } {
    if (names === undefined || names.length === 0) return { vms: [...this.state.vms], errors: [] };
    const vms: VmRecord[] = [];
    const errors: HvsimError[] = [];
    for (const n of names) {
      const hits = this.state.vms.filter((v) => nameMatches(n, v.name));
      if (hits.length === 0 && !hasWildcard(n)) errors.push(vmNotFound(op, n));
      for (const h of hits) if (!vms.includes(h)) vms.push(h);
    }
    return { vms, errors };
  }

  private vmByName(name: string, op: string): VmRecord {
    const v = this.state.vms.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!v) throw vmNotFound(op, name);
    return v;
  }

  /**
   * Apply `fn` to each named VM in turn, like a cmdlet with non-terminating errors: a failure for
   * one VM does not stop the others; afterwards the failures are thrown together.
   */
  private eachVM<T>(names: string[], op: string, fn: (vm: VmRecord) => T): T[] {
    const { vms, errors } = this.resolveVMs(names, op);
    const out: T[] = [];
    for (const vm of vms) {
      try {
        out.push(fn(vm));
      } catch (e) {
        if (e instanceof HvsimError) errors.push(e);
        else throw e;
      }
    }
    if (errors.length > 0) throw combine(errors);
    return out;
  }

  // ---------------------------------------------------------------- views

  private drivesView(vm: VmRecord, paths: string[], snap: SnapshotRecord | null): HardDiskDrive[] {
    return drivesView(this.state.computerName, vm, paths, snap);
  }
  private vmView(vm: VmRecord): VirtualMachine {
    return vmView(this.state.computerName, vm, this.clock.now(), missingFiles(this.storage.store, vm));
  }
  private snapView(vm: VmRecord, s: SnapshotRecord): VMSnapshot {
    return snapView(this.state.computerName, vm, s);
  }

  /** Record whether every member of a group now has its checkpoint (see SnapshotRecord.groupComplete). */
  private markGroup(groupId: string, members: string[] | null): void {
    const snaps = this.state.vms.flatMap((v) => v.snapshots.filter((s) => s.groupId === groupId).map((s) => ({ v, s })));
    const have = new Set(snaps.map((x) => x.v.name.toLowerCase()));
    const complete = (members ?? []).every((m) => have.has(m.toLowerCase()));
    for (const { s } of snaps) s.groupComplete = complete;
  }

  /**
   * A group checkpoint cut short by a crash is all or nothing (hvsim's rule, docs/hyperv.md, "Group checkpoints"): on restart,
   * the checkpoints its members got are removed (their disks merged as by Remove-VMSnapshot).
   */
  private dropInterruptedGroups(): void {
    for (const vm of this.state.vms) {
      const partial = vm.snapshots.filter((s) => s.groupComplete === false);
      if (partial.length === 0) continue;
      this.warn(vm.name, `'${vm.name}': removed checkpoint ${partial.map((s) => `"${s.name}"`).join(', ')} of a group checkpoint that a crash interrupted (group ${partial[0]!.groupId}).`);
      detach(vm, new Set(partial.map((s) => s.id)));
      this.scheduleCleanup(vm, true);
    }
  }

  // ---------------------------------------------------------------- merges in simulated time

  /** Finish every VM's background merge whose time has passed. */
  private settleAll(): void {
    for (const vm of this.state.vms) if (vm.mergeUntil !== null && vm.mergeUntil <= this.clock.now()) this.mergeOrRetryLater(vm, () => this.runCleanup(vm));
  }

  /**
   * Run a VM's merge. One that fails (disk full, an I/O error) stays pending, as its journal and
   * records say: the command asked for goes on with a warning (Get-VM shows the VM still merging)
   * and the next command retries. An injected fault (a simulated crash) still ends the command.
   */
  private mergeOrRetryLater(vm: VmRecord, merge: () => void): void {
    try {
      merge();
    } catch (e) {
      if (!(e instanceof HvsimError) || e.code === 'FAULT_INJECTED') throw e;
      this.warn(vm.name, `'${vm.name}': merging the disks failed and will be retried by the next command: ${e.message}`);
    }
  }

  /** Wait for this VM's background merge (the clock moves to its end) and finish it. */
  private settle(vm: VmRecord): void {
    if (vm.mergeUntil === null) return;
    this.clock.advanceTo(vm.mergeUntil);
    this.runCleanup(vm);
  }

  /** Bring the VM's disk trees to their minimal form now (the time was accounted for already). */
  private runCleanup(vm: VmRecord): void {
    // A missing file stops the merge: it waits (MergingDisks, Degraded) until the file is back.
    if (missingFiles(this.storage.store, vm).length > 0) return;
    for (let i = 0; i < vm.drives.length; i++) {
      for (;;) {
        const step = nextCleanupStep(vm.drives[i]!.files, ownedFiles(vm, i));
        if (!step) break;
        const leafIsCheckpoint = step.kind === 'merge-down' && vm.drives[i]!.path !== step.leaf;
        if (step.kind !== 'delete') this.fault('merge', vm);
        // The step is durable before any file changes: after a crash it is what proves that its
        // files are gone because hvsim merged them (reconcileDrives).
        vm.pendingStep = { drive: i, step };
        this.persist();
        executeStep(this.storage.store, step, leafIsCheckpoint);
        applyStep(vm, i, step);
        vm.pendingStep = null;
        this.persist();
      }
    }
    vm.mergeUntil = null;
  }

  /**
   * After the tree changed: deletions happen now; if merges are needed they run in the
   * background until now + their cost (or now, when `wait`).
   */
  private scheduleCleanup(vm: VmRecord, wait: boolean): void {
    const plan = planCleanup(vm);
    if (plan.length === 0) return;
    const cost = plan.reduce((t, p) => t + stepCost(this.storage.store, p.step, this.costs), 0);
    if (!hasMerge(plan)) {
      this.runCleanup(vm);
      this.clock.advance(cost);
      return;
    }
    vm.mergeUntil = this.clock.now() + cost;
    this.persist();
    // The tree has changed already (the checkpoint is gone, as in Hyper-V, where the merge follows).
    if (wait) this.mergeOrRetryLater(vm, () => this.settle(vm));
  }

  // ---------------------------------------------------------------- Host: clock, warnings

  now(): Promise<number> {
    return Promise.resolve(this.clock.now());
  }

  takeWarnings(): Promise<HostWarning[]> {
    const w = this.warnings;
    this.warnings = [];
    return Promise.resolve(w);
  }

  /** Let simulated time pass (guest workloads run; background merges finish). */
  advance(ms: number): Promise<number> {
    return this.run(() => {
      this.clock.advance(ms);
      this.settleAll();
      return this.clock.now();
    });
  }

  /** Host.sleep: skip `ms` of simulated time at once (no real waiting); merges due by then finish. */
  sleep(ms: number): Promise<void> {
    return this.run(() => {
      if (!Number.isFinite(ms) || ms < 0) throw invalidArgument(`Start-Sleep: cannot sleep for ${ms} ms`);
      this.clock.advance(ms);
      this.settleAll();
    });
  }

  /** Whether the guest is executing now (Running and not frozen inside an operation). */
  guestRunning(vmName: string): boolean {
    const vm = this.state.vms.find((v) => v.name.toLowerCase() === vmName.toLowerCase());
    return vm !== undefined && vm.state === 'Running' && !this.frozen.has(vm.id);
  }

  /** A copy of the whole state (for tests and analysis). */
  snapshotState(): HostState {
    return JSON.parse(JSON.stringify(this.state)) as HostState;
  }

  /** The files of each of a VM's drives, with parents (for tests and analysis). */
  diskFiles(vmName: string): Array<Array<{ path: string; parent: string | null; readOnly: boolean }>> {
    const vm = this.vmByName(vmName, 'get');
    return vm.drives.map((d) => d.files.map((f) => ({ ...f, readOnly: this.storage.store.isReadOnly(f.path) })));
  }

  // ---------------------------------------------------------------- Host: VMs

  newVM(opts: NewVMOptions): Promise<VirtualMachine> {
    return this.run(() => {
      const name = opts.name;
      if (name.trim().length === 0 || name.length > MAX_NAME_LENGTH || BAD_NAME.test(name) || name === '.' || name === '..' || /[. ]$/.test(name))
        throw invalidArgument(`New-VM: "${name}" is not a valid virtual machine name (1 to ${MAX_NAME_LENGTH} characters, none of \\ / : * ? " < > |, not ending in a dot or space)`);
      if (this.state.vms.some((v) => v.name.toLowerCase() === name.toLowerCase()))
        throw invalidArgument(`New-VM: a virtual machine named "${name}" already exists on ${this.state.computerName}`);
      const type = opts.checkpointType ?? 'Production';
      if (!CHECKPOINT_TYPES.includes(type)) throw invalidArgument(`New-VM: unknown checkpoint type "${String(type)}"`);
      const memory = opts.memory ?? this.memory;
      if (!Number.isSafeInteger(memory) || memory < 32 * MiB) throw invalidArgument(`New-VM: memory must be at least 32 MiB`);
      const store = this.storage.store;
      const vmPath = path.posix.join(this.storage.vmRoot, name);
      const disk = opts.vhdPath !== undefined ? this.attachExisting(opts.vhdPath, 'new') : this.createBaseDisk(vmPath, name, opts.diskSize ?? this.defaultDiskSize);
      const vm: VmRecord = {
        id: newGuid(),
        name,
        state: 'Off',
        checkpointType: type,
        memory,
        notes: opts.notes ?? '',
        creationTime: this.clock.now(),
        path: vmPath,
        guestSupportsProduction: opts.guestSupportsProductionCheckpoints ?? true,
        runningSince: null,
        drives: [{ path: disk, files: [{ path: disk, parent: null }] }],
        parentSnapshotId: null,
        snapshots: [],
        mergeUntil: null,
      };
      store.setReadOnly(disk, false);
      this.state.vms.push(vm);
      this.clock.advance(this.costs.newVmMs);
      return this.vmView(vm);
    });
  }

  private createBaseDisk(vmPath: string, fileStem: string, size: number): string {
    const store = this.storage.store;
    const dir = path.posix.join(vmPath, 'Virtual Hard Disks');
    this.storage.mkdirp(dir);
    const p = store.absolutePath(path.posix.join(dir, `${fileStem}.vhdx`));
    // The caller records the disk before the state is next saved.
    this.creating([{ file: p, parent: null }], () => createBaseDisk(store, p, { format: 'VHDX', virtualSize: size, blockSize: this.blockSize }));
    return p;
  }

  private attachExisting(file: string, op: string): string {
    const store = this.storage.store;
    const p = store.absolutePath(file);
    if (!store.exists(p)) throw new HvsimError('NOT_FOUND', `${CMDLET[op] ?? op}: ${p}: no such file`, { file: p });
    formatForPath(p);
    if (store.isReadOnly(p))
      throw new HvsimError('INVALID_STATE', `${CMDLET[op] ?? op}: ${p} is read-only (a checkpoint's frozen disk?); attach a writable disk`, { file: p });
    for (const v of this.state.vms)
      if (v.drives.some((d) => d.files.some((f) => f.path === p)))
        throw new HvsimError('INVALID_STATE', `${CMDLET[op] ?? op}: ${p} is already used by the virtual machine '${v.name}'`, { file: p });
    openLayer(store, p, false).close(); // a readable disk
    return p;
  }

  getVM(names?: string[]): Promise<VirtualMachine[]> {
    return this.run(() => {
      const { vms, errors } = this.resolveVMs(names, 'get');
      if (errors.length > 0) throw combine(errors);
      return vms.map((v) => this.vmView(v));
    });
  }

  setVM(names: string[], opts: SetVMOptions): Promise<VirtualMachine[]> {
    return this.run(() => {
      if (opts.checkpointType !== undefined && !CHECKPOINT_TYPES.includes(opts.checkpointType))
        throw invalidArgument(`Set-VM: unknown checkpoint type "${String(opts.checkpointType)}" (use ${CHECKPOINT_TYPES.join(', ')})`);
      return this.eachVM(names, 'set', (vm) => {
        if (opts.memory !== undefined) {
          if (vm.state !== 'Off') throw wrongState('set', vm.name, vm.state, 'memory can be changed only while the VM is Off');
          vm.memory = opts.memory;
        }
        if (opts.checkpointType !== undefined) vm.checkpointType = opts.checkpointType;
        if (opts.notes !== undefined) vm.notes = opts.notes;
        if (opts.guestSupportsProductionCheckpoints !== undefined) vm.guestSupportsProduction = opts.guestSupportsProductionCheckpoints;
        return this.vmView(vm);
      });
    });
  }

  private power(vm: VmRecord, op: PowerOp, cmdlet: string = CMDLET[op]!): VirtualMachine {
    this.fault(op, vm);
    const t = transition(op, vm.name, vm.state, cmdlet);
    if (t.kind === 'refused') throw t.error;
    if (t.kind === 'already') {
      this.warn(vm.name, `${cmdlet}: '${vm.name}': ${ALREADY_IN_STATE}`);
      return this.vmView(vm);
    }
    const c = this.costs;
    const from = vm.state;
    switch (op) {
      case 'start':
        // The guest runs only once booted (or once its memory is read back).
        this.clock.advance(from === 'Saved' ? c.saveBaseMs + transferMs(vm.memory, c.memoryRestoreBytesPerSec) : c.bootMs);
        vm.state = 'Running';
        vm.runningSince = this.clock.now();
        break;
      case 'resume':
        this.clock.advance(c.resumeMs);
        vm.state = 'Running';
        break;
      case 'suspend':
        vm.state = 'Paused';
        this.clock.advance(c.pauseMs);
        break;
      case 'save':
        // The guest stops at once (paused), then its memory is written.
        vm.state = 'Saved';
        vm.runningSince = null;
        this.clock.advance((from === 'Running' ? c.pauseMs : 0) + c.saveBaseMs + transferMs(vm.memory, c.memorySaveBytesPerSec));
        break;
      case 'stop':
        vm.state = 'Off';
        vm.runningSince = null;
        this.clock.advance(c.shutdownMs);
        break;
      case 'turn-off':
        vm.state = 'Off';
        vm.runningSince = null;
        this.clock.advance(c.turnOffMs);
        break;
    }
    return this.vmView(vm);
  }

  startVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() =>
      this.eachVM(names, 'start', (vm) => {
        if (vm.state !== 'Running') this.requireChains(vm);
        return this.power(vm, 'start');
      }),
    );
  }

  /** Start-VM: Hyper-V does not start a VM whose disk chain is broken, and names the file. */
  private requireChains(vm: VmRecord): void {
    this.requireDisks(vm, 'Start-VM');
    for (const d of vm.drives) {
      try {
        openChain(this.storage.store, d.path).close();
      } catch (e) {
        if (!(e instanceof HvsimError)) throw e;
        throw new HvsimError(e.code, `Start-VM: '${vm.name}' failed to start: ${e.message}`, { ...(e.file !== undefined ? { file: e.file } : {}), cause: e });
      }
    }
  }

  stopVM(names: string[], opts: StopVMOptions = {}): Promise<VirtualMachine[]> {
    if (opts.save && opts.turnOff) return Promise.reject(invalidArgument('Stop-VM: -Save and -TurnOff cannot be used together'));
    const op: PowerOp = opts.save ? 'save' : opts.turnOff ? 'turn-off' : 'stop';
    return this.run(() => this.eachVM(names, 'stop', (vm) => this.power(vm, op, 'Stop-VM')));
  }

  suspendVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => this.eachVM(names, 'suspend', (vm) => this.power(vm, 'suspend')));
  }

  resumeVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => this.eachVM(names, 'resume', (vm) => this.power(vm, 'resume')));
  }

  saveVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() => this.eachVM(names, 'save', (vm) => this.power(vm, 'save')));
  }

  waitVM(names: string[]): Promise<VirtualMachine[]> {
    return this.run(() =>
      this.eachVM(names, 'get', (vm) => {
        this.settle(vm);
        return this.vmView(vm);
      }),
    );
  }

  // ---------------------------------------------------------------- Host: checkpoints

  /** What a checkpoint of this VM will be, or Hyper-V's refusal (docs/hyperv.md, "Checkpoint types"). */
  private checkpointKind(vm: VmRecord): 'Standard' | 'Production' {
    const idText = `(Virtual machine ID ${vm.id.toUpperCase()})`;
    switch (vm.checkpointType) {
      case 'Disabled':
        throw new HvsimError('INVALID_STATE', `Checkpoint-VM: Checkpoint operation for '${vm.name}' failed. ${idText} Checkpoints are disabled for this virtual machine (CheckpointType Disabled).`);
      case 'Standard':
        return 'Standard';
      case 'Production':
      case 'ProductionOnly': {
        if (vm.state === 'Off' || (vm.state === 'Running' && vm.guestSupportsProduction)) return 'Production';
        const why = vm.state === 'Running' ? 'the guest has no Backup (VSS) integration service' : `the guest is not running: State ${vm.state}`;
        if (vm.checkpointType === 'ProductionOnly')
          throw new HvsimError('INVALID_STATE', `Checkpoint-VM: Production checkpoints cannot be created for '${vm.name}'. ${idText} Checkpoint operation for '${vm.name}' failed. ${idText} (${why}; CheckpointType ProductionOnly)`);
        // A frozen guest (Saved, Paused) plainly cannot quiesce: fall back silently; a running
        // guest that cannot is worth a warning.
        if (vm.state === 'Running')
          this.warn(vm.name, `Checkpoint-VM: Production checkpoints cannot be created for '${vm.name}' (${why}); a standard checkpoint was created instead.`);
        return 'Standard';
      }
    }
  }

  private defaultSnapshotName(vm: VmRecord, t: number): string {
    const suffix = ` - (${checkpointStamp(t, this.timeZone)})`;
    return vm.name.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
  }

  private checkpointOne(vm: VmRecord, opts: CheckpointVMOptions): SnapshotRecord {
    this.fault('checkpoint', vm);
    if (opts.snapshotName !== undefined) validateSnapshotName(opts.snapshotName, 'Checkpoint-VM');
    const kind = this.checkpointKind(vm);
    this.requireDisks(vm, 'Checkpoint-VM');
    this.settle(vm);
    const c = this.costs;
    const running = vm.state === 'Running';
    // A production checkpoint first quiesces the guest (VSS); it keeps running meanwhile.
    if (running && kind === 'Production') this.clock.advance(c.quiesceMs);
    const t0 = this.clock.now();
    if (running) this.frozen.add(vm.id);
    let leaves: Array<{ file: string; parent: string }>;
    try {
      leaves = this.createLeaves(vm, vm.drives.map((d) => d.path));
    } catch (e) {
      this.frozen.delete(vm.id);
      throw e;
    }
    const snap: SnapshotRecord = {
      id: newGuid(),
      name: opts.snapshotName ?? this.defaultSnapshotName(vm, t0),
      parentId: vm.parentSnapshotId,
      creationTime: t0,
      state: kind === 'Production' || !hasRuntimeState(vm.state) ? 'Off' : vm.state,
      kind,
      drives: vm.drives.map((d) => d.path),
      memory: vm.memory,
      notes: vm.notes,
      checkpointType: vm.checkpointType,
      groupId: opts.groupId ?? null,
      groupMembers: opts.groupMembers ?? null,
    };
    this.adoptLeaves(vm, leaves);
    vm.snapshots.push(snap);
    vm.parentSnapshotId = snap.id;
    if (snap.groupId !== null) this.markGroup(snap.groupId, snap.groupMembers);
    this.clock.advance(c.checkpointBaseMs + c.createDiskMs * vm.drives.length);
    this.frozen.delete(vm.id);
    // A standard checkpoint of a running VM writes its memory after the guest resumes.
    if (kind === 'Standard' && (vm.state === 'Running' || vm.state === 'Paused')) this.clock.advance(transferMs(vm.memory, c.memorySaveBytesPerSec));
    if (vm.snapshots.length > MAX_CHECKPOINTS)
      this.warn(vm.name, `Checkpoint-VM: '${vm.name}' now has ${vm.snapshots.length} checkpoints; Hyper-V supports at most ${MAX_CHECKPOINTS} per virtual machine.`);
    return snap;
  }

  checkpointVM(names: string[], opts: CheckpointVMOptions = {}): Promise<VMSnapshot[]> {
    return this.run(() => this.eachVM(names, 'checkpoint', (vm) => this.snapView(vm, this.checkpointOne(vm, opts))));
  }

  /** Find one checkpoint by Id or name (an Id may be given as the name). */
  private findOne(vm: VmRecord, ref: { name?: string; id?: string }, op: string): SnapshotRecord {
    const id = ref.id !== undefined ? tryParseGuid(ref.id) : ref.name !== undefined ? tryParseGuid(ref.name) : undefined;
    if (id !== undefined) {
      const s = vm.snapshots.find((x) => x.id === id);
      if (s) return s;
      if (ref.id !== undefined) throw snapshotNotFound(op, vm.name, ref.id);
    }
    if (ref.name === undefined) throw invalidArgument(`${CMDLET[op] ?? op}: name a checkpoint of '${vm.name}'`);
    const hits = vm.snapshots.filter((s) => nameMatches(ref.name!, s.name));
    if (hits.length === 0) throw snapshotNotFound(op, vm.name, ref.name);
    if (hits.length > 1)
      throw invalidArgument(`${CMDLET[op] ?? op}: ${hits.length} checkpoints of '${vm.name}' match "${ref.name}" (Ids ${hits.map((h) => h.id).join(', ')}); name one by its Id`);
    return hits[0]!;
  }

  private matchSnapshots(vm: VmRecord, q: SnapshotQuery, op: string): SnapshotRecord[] {
    let list = [...vm.snapshots];
    if (q.id !== undefined) {
      const id = tryParseGuid(q.id);
      list = list.filter((s) => s.id === id);
    }
    if (q.name !== undefined) list = list.filter((s) => nameMatches(q.name!, s.name));
    if (q.groupId !== undefined) {
      const g = tryParseGuid(q.groupId) ?? q.groupId;
      list = list.filter((s) => s.groupId === g);
    }
    if (q.snapshotType !== undefined) list = q.snapshotType === 'Standard' ? list : [];
    if (q.childOf !== undefined) {
      const p = this.findOne(vm, { name: q.childOf }, op);
      list = list.filter((s) => s.parentId === p.id);
    }
    if (q.parentOf !== undefined) {
      const isVm = q.parentOf.toLowerCase() === vm.name.toLowerCase() && !vm.snapshots.some((s) => nameMatches(q.parentOf!, s.name));
      const parentId = isVm ? vm.parentSnapshotId : this.findOne(vm, { name: q.parentOf }, op).parentId;
      list = list.filter((s) => s.id === parentId);
    }
    return list;
  }

  getVMSnapshot(q: SnapshotQuery): Promise<VMSnapshot[]> {
    return this.run(() => {
      const { vms, errors } = this.resolveVMs(q.vmNames, 'get-snapshot');
      return gatherSnapshots(vms, errors, q.name, (vm) => this.matchSnapshots(vm, q, 'get-snapshot').map((s) => this.snapView(vm, s)));
    });
  }

  restoreVMSnapshot(ref: SnapshotRef): Promise<VMSnapshot> {
    return this.run(() => {
      const vm = this.vmByName(ref.vmName, 'restore');
      const snap = this.findOne(vm, ref, 'restore');
      this.fault('restore', vm);
      this.requireDisks(vm, 'Restore-VMSnapshot');
      this.settle(vm);
      const leaves = this.createLeaves(vm, snap.drives);
      // The current state is discarded (a running guest is stopped first).
      vm.state = 'Off';
      vm.runningSince = null;
      this.adoptLeaves(vm, leaves);
      vm.parentSnapshotId = snap.id;
      vm.state = snap.state === 'Off' ? 'Off' : 'Saved';
      // The configuration comes back with it.
      vm.memory = snap.memory;
      vm.notes = snap.notes;
      vm.checkpointType = snap.checkpointType;
      this.clock.advance(this.costs.restoreBaseMs + this.costs.createDiskMs * vm.drives.length);
      this.scheduleCleanup(vm, true);
      return this.snapView(vm, snap);
    });
  }

  removeVMSnapshot(q: SnapshotQuery, opts: RemoveSnapshotOptions = {}): Promise<VMSnapshot[]> {
    return this.run(() => {
      const wait = opts.wait ?? true;
      const any = q.name !== undefined || q.id !== undefined || q.groupId !== undefined || q.childOf !== undefined || q.parentOf !== undefined;
      let matched = 0;
      const removed = this.eachVM(q.vmNames, 'remove', (vm) => {
        const targets = any ? this.matchSnapshots(vm, q, 'remove') : [...vm.snapshots];
        matched += targets.length;
        // Nothing (left) to remove: a caller that waits still waits for a merge already under way
        // (a rerun after an interrupted removal finishes its merge).
        if (targets.length === 0) {
          if (wait) this.settle(vm);
          return [];
        }
        this.fault('remove', vm);
        this.requireDisks(vm, 'Remove-VMSnapshot');
        this.settle(vm);
        const ids = new Set<string>();
        for (const t of targets) {
          ids.add(t.id);
          if (opts.includeAllChildSnapshots) for (const s of subtree(vm, t.id)) ids.add(s.id);
        }
        const views = vm.snapshots.filter((s) => ids.has(s.id)).map((s) => this.snapView(vm, s));
        detach(vm, ids);
        this.scheduleCleanup(vm, wait);
        return views;
      }).flat();
      if (matched === 0 && q.name !== undefined && !hasWildcard(q.name))
        throw new HvsimError('NOT_FOUND', `Remove-VMSnapshot: Hyper-V was unable to find a checkpoint with name "${q.name}".`);
      return removed;
    });
  }

  renameVMSnapshot(ref: SnapshotRef, newName: string): Promise<VMSnapshot> {
    return this.run(() => {
      const vm = this.vmByName(ref.vmName, 'rename');
      const snap = this.findOne(vm, ref, 'rename');
      validateSnapshotName(newName, 'Rename-VMSnapshot');
      this.fault('rename', vm);
      snap.name = newName;
      return this.snapView(vm, snap);
    });
  }

  exportVMSnapshot(ref: SnapshotRef, dir: string): Promise<ExportResult> {
    return this.run(() => {
      const vm = this.vmByName(ref.vmName, 'export');
      const snap = this.findOne(vm, ref, 'export');
      this.fault('export', vm);
      this.requireDisks(vm, 'Export-VMSnapshot');
      const store = this.storage.store;
      const root = path.posix.join(store.absolutePath(dir), vm.name);
      const disks = path.posix.join(root, 'Virtual Hard Disks');
      const written: string[] = [];
      let bytes = 0;
      try {
        this.storage.mkdirp(disks);
        snap.drives.forEach((frozen, i) => {
          const base = vm.drives[i]!.files.find((f) => f.parent === null)!.path;
          const ext = path.posix.extname(base).toLowerCase() === '.vhd' ? '.vhd' : '.vhdx';
          const dest = path.posix.join(disks, path.posix.basename(base, path.posix.extname(base)) + ext);
          const chain = openChain(store, frozen);
          try {
            bytes += flatten(store, chain, dest, ext === '.vhd' ? 'VHD' : 'VHDX').dataBytes;
          } finally {
            chain.close();
          }
          written.push(dest);
        });
        const config = path.posix.join(root, 'Virtual Machines');
        this.storage.mkdirp(config);
        store.writeTextAtomic(
          path.posix.join(config, `${snap.id.toUpperCase()}.json`),
          JSON.stringify({ hvsim: 'exported-checkpoint', VMName: vm.name, SnapshotName: snap.name, SnapshotId: snap.id, CreationTime: iso(snap.creationTime), MemoryStartup: snap.memory, CheckpointType: snap.checkpointType, Notes: snap.notes, HardDrives: written }, null, 2) + '\n',
        );
      } catch (e) {
        for (const w of written) store.remove(w);
        throw e;
      }
      this.clock.advance(this.costs.exportBaseMs + transferMs(bytes, this.costs.exportBytesPerSec));
      return { VMName: vm.name, SnapshotName: snap.name, SnapshotId: snap.id, Path: root, HardDrives: written };
    });
  }

  // ---------------------------------------------------------------- Host: disks and guest I/O

  getVMHardDiskDrive(vmName: string, snapshot?: string): Promise<HardDiskDrive[]> {
    return this.run(() => {
      const vm = this.vmByName(vmName, 'get');
      if (snapshot === undefined) return this.drivesView(vm, vm.drives.map((d) => d.path), null);
      const s = this.findOne(vm, { name: snapshot }, 'get-snapshot');
      return this.drivesView(vm, s.drives, s);
    });
  }

  addVMHardDiskDrive(vmName: string, opts: { path?: string; size?: number }): Promise<HardDiskDrive> {
    return this.run(() => {
      const vm = this.vmByName(vmName, 'add-disk');
      if (vm.snapshots.length > 0)
        throw wrongState('add-disk', vm.name, vm.state, 'hvsim attaches disks only while the VM has no checkpoints');
      this.requireDisks(vm, 'Add-VMHardDiskDrive');
      this.settle(vm);
      const p = opts.path !== undefined ? this.attachExisting(opts.path, 'add-disk') : this.createBaseDisk(vm.path, `${vm.name}-${vm.drives.length}`, opts.size ?? this.defaultDiskSize);
      this.storage.store.setReadOnly(p, false);
      vm.drives.push({ path: p, files: [{ path: p, parent: null }] });
      this.clock.advance(this.costs.createDiskMs);
      return this.drivesView(vm, vm.drives.map((d) => d.path), null)[vm.drives.length - 1]!;
    });
  }

  private drive(vm: VmRecord, i: number, op: string): VmRecord['drives'][number] {
    const d = vm.drives[i];
    if (!d) throw invalidArgument(`${CMDLET[op] ?? op}: '${vm.name}' has no disk ${i} (it has ${vm.drives.length})`);
    return d;
  }

  /** A guest write without moving the clock (guest workloads call it while time passes). */
  guestWrite(vmName: string, data: Uint8Array, offset: number, drive = 0): void {
    const vm = this.vmByName(vmName, 'write');
    if (vm.state !== 'Running') throw wrongState('write', vm.name, vm.state, 'only a running guest writes its disks');
    const d = this.drive(vm, drive, 'write');
    const chain = openChain(this.storage.store, d.path, true);
    try {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > chain.virtualSize)
        throw invalidArgument(`Write-VM: ${data.length} bytes at offset ${offset} run past the end of the ${chain.virtualSize}-byte disk ${drive} of '${vm.name}'`);
      chain.write(data, offset);
      chain.flush();
    } finally {
      chain.close();
    }
  }

  /** Read without moving the clock (the leaf, or a checkpoint's frozen file). */
  guestRead(vmName: string, offset: number, length: number, opts: GuestReadOptions = {}): Uint8Array {
    const vm = this.vmByName(vmName, 'read');
    const i = opts.drive ?? 0;
    this.drive(vm, i, 'read');
    const leaf = opts.snapshot !== undefined ? this.findOne(vm, { name: opts.snapshot }, 'read').drives[i]! : vm.drives[i]!.path;
    const chain = openChain(this.storage.store, leaf, false);
    try {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > chain.virtualSize)
        throw invalidArgument(`Read-VM: ${length} bytes at offset ${offset} run past the end of the ${chain.virtualSize}-byte disk ${i} of '${vm.name}'`);
      const buf = new Uint8Array(length);
      chain.read(buf, offset);
      return buf;
    } finally {
      chain.close();
    }
  }

  writeGuest(vmName: string, data: Uint8Array, offset: number, drive = 0): Promise<void> {
    return this.run(() => {
      const vm = this.vmByName(vmName, 'write');
      this.fault('write', vm);
      this.guestWrite(vmName, data, offset, drive);
      this.clock.advance(this.costs.guestIoBaseMs + transferMs(data.length, this.costs.guestIoBytesPerSec));
    });
  }

  readGuest(vmName: string, offset: number, length: number, opts: GuestReadOptions = {}): Promise<Uint8Array> {
    return this.run(() => {
      const vm = this.vmByName(vmName, 'read');
      this.fault('read', vm);
      const buf = this.guestRead(vmName, offset, length, opts);
      this.clock.advance(this.costs.guestIoBaseMs + transferMs(length, this.costs.guestIoBytesPerSec));
      return buf;
    });
  }

  diskSize(vmName: string, drive = 0): Promise<number> {
    return this.run(() => {
      const vm = this.vmByName(vmName, 'read');
      const d = this.drive(vm, drive, 'read');
      const img = openLayer(this.storage.store, d.path, false);
      try {
        return img.virtualSize;
      } finally {
        img.close();
      }
    });
  }
}

export type { VMState, CheckpointType };
