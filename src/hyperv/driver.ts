/**
 * The real host driver: the Host interface (host.ts) over the Hyper-V module's cmdlets, run by
 * Windows PowerShell 5.1 or PowerShell 7 (runner.ts) through one fixed script (script.ts), on the
 * local host or a remote one (-ComputerName). docs/real-host.md describes the design; in short:
 *
 *   - every call sends a small program of cmdlet steps (request.ts) whose names, paths and notes
 *     are data; the objects come back through ConvertTo-Json and are decoded (decode.ts) into the
 *     objects the simulator returns;
 *   - names are resolved by hvsim over Get-VM / Get-VMSnapshot with the rules every host shares
 *     (listing.ts, host/selection.ts), then the cmdlets act on the objects selected by Id — one
 *     call to look, one to act (reads take one call);
 *   - a cmdlet's error becomes the HvsimError the simulator raises for the same case, with
 *     Hyper-V's message (errors.ts); a cmdlet applied to several VMs fails per VM, like the
 *     simulator's, and the failures are raised together afterwards;
 *   - group checkpoints keep GroupId/GroupMembers in the checkpoint's Notes (decode.ts);
 *   - Remove-VMSnapshot returns at once on Hyper-V; waiting for the merge polls Get-VM until the
 *     VM's OperationalStatus no longer shows MergingDisks.
 * Guest I/O (writeGuest/readGuest) exists only in the simulator.
 * No console.
 */
import * as path from 'node:path';
import type {
  CheckpointType, CheckpointVMOptions, ExportResult, GuestReadOptions, HardDiskDrive, Host, HostWarning, ImportVMOptions, MergeVHDOptions, NewVMOptions,
  RemoveSnapshotOptions, SetVMOptions, SnapshotQuery, SnapshotRef, StopVMOptions, VhdInfo, VirtualMachine, VMIntegrationComponent, VMSnapshot, WaitGuestOptions,
} from '../host/host.js';
import { HvsimError, invalidArgument } from '../errors.js';
import { combine, snapshotNotFound, throwGathered, vmNotFound } from '../host/messages.js';
import { refuseRemoveRunning, wrongState } from '../host/state-machine.js';
import { pickIntegrationServices, pickServices } from '../host/integration.js';
import { gatherSnapshots, requireNamedCheckpoint } from '../host/selection.js';
import {
  DEFAULT_DISK_SIZE, DEFAULT_MEMORY, refuseTakenVMName, validateCheckpointType, validateMemory, validateSnapshotName, validateVMName,
} from '../host/validation.js';
import { makeRunner, findPowerShell, type PowerShellRunner, type RunMode } from './runner.js';
import { Program, type PsError } from './request.js';
import {
  DRIVE_PROPERTIES, INTEGRATION_PROPERTIES, SNAPSHOT_PROPERTIES, VHD_PROPERTIES, VMHOST_PROPERTIES, VM_PROPERTIES, addGroupMarker, checkpointKind, decodeDrive,
  decodeIntegration, decodeSnapshot, decodeVhd, decodeVM, decodeVMHost, parseCmdletJson, type DecodeContext, type RawSnapshot, type RawVM, type VMHostInfo,
} from './decode.js';
import { toHvsimError } from './errors.js';
import { Listing, topmost } from './listing.js';
import { formatOfExtension } from '../vhd/formats.js';

export interface HyperVHostOptions {
  /** A remote Hyper-V host (every cmdlet gets -ComputerName); default the local host. */
  computerName?: string;
  /** The PowerShell executable; default HVSIM_POWERSHELL, else powershell.exe or pwsh on PATH. */
  powershell?: string;
  /** Environment for PowerShell (default process.env; also where HVSIM_POWERSHELL and PATH are read). */
  env?: NodeJS.ProcessEnv;
  /** 'session' (default): one kept PowerShell process; 'process': one per call. */
  mode?: RunMode;
  /** Longest time one call may take (ms; default 10 minutes). */
  timeoutMs?: number;
  /** Longest time a session's PowerShell may take to start (ms; default 2 minutes). */
  startTimeoutMs?: number;
  /** First wait between Get-VM polls while a merge runs (ms; default 500, doubling up to maxPollIntervalMs). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Longest wait for a merge (ms; default 1 hour). */
  mergeTimeoutMs?: number;
  /** Size of a new VM's disk when none is given (default 64 MiB, as in the simulator). */
  defaultDiskSize?: number;
  /** Startup memory of a new VM when none is given (default 1 GiB, as in the simulator). */
  defaultMemory?: number;
}

interface Outcome {
  state: 'ok' | 'failed' | 'skipped';
  objects: unknown[];
  errors: PsError[];
  warnings: string[];
}

/** Operational statuses that mean a checkpoint operation is still running in the background. */
const BACKGROUND = new Set(['MergingDisks', 'DeletingSnapshot']);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** path.join for the host's kind of paths (backslashes or a drive letter: Windows). */
export function hostJoin(base: string, ...parts: string[]): string {
  return /\\|^[A-Za-z]:/.test(base) ? path.win32.join(base, ...parts) : path.posix.join(base, ...parts);
}

function isAbsoluteHostPath(p: string): boolean {
  return path.win32.isAbsolute(p) || path.posix.isAbsolute(p);
}

function unsupported(what: string): HvsimError {
  return new HvsimError('UNSUPPORTED', `${what} (a real Hyper-V host: hvsim's simulator only; see docs/real-host.md)`);
}

export class HyperVHost implements Host {
  private readonly runner: PowerShellRunner;
  private readonly remote: string | undefined;
  private readonly opts: HyperVHostOptions;
  private warnings: HostWarning[] = [];
  private seq = 0;
  private name = '';
  private hostInfo: VMHostInfo | undefined;
  /** Calls made (PowerShell requests), for measurements. */
  calls = 0;

  private constructor(runner: PowerShellRunner, opts: HyperVHostOptions) {
    this.runner = runner;
    this.opts = opts;
    this.remote = opts.computerName !== undefined && opts.computerName !== '' ? opts.computerName : undefined;
    this.name = this.remote ?? '';
  }

  /** Start PowerShell (a session, or nothing yet per call) and ask the host its name (Get-VMHost). */
  static async open(opts: HyperVHostOptions = {}): Promise<HyperVHost> {
    const env = opts.env ?? process.env;
    const exe = opts.powershell ?? findPowerShell(env);
    const runner = makeRunner(opts.mode ?? 'session', {
      exe,
      env,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.startTimeoutMs !== undefined ? { startTimeoutMs: opts.startTimeoutMs } : {}),
    });
    const h = new HyperVHost(runner, opts);
    try {
      const info = await h.vmHost();
      h.name = info.ComputerName || info.Name;
    } catch (e) {
      await runner.close();
      throw e;
    }
    return h;
  }

  get computerName(): string {
    return this.name;
  }

  /** 'session' or 'process', PowerShell's version once known, and processes started. */
  get runInfo(): { mode: RunMode; ps: string | undefined; edition: string | undefined; processes: number } {
    return { mode: this.runner.mode, ps: this.runner.info?.ps, edition: this.runner.info?.edition, processes: this.runner.started };
  }

  /** End the PowerShell session. */
  async close(): Promise<void> {
    await this.runner.close();
  }

  // ---------------------------------------------------------------- plumbing

  private ctx(): DecodeContext {
    return { computerName: this.name };
  }

  /** -ComputerName for the cmdlets that take a name (those given objects act where the objects are). */
  private cn(): { ComputerName?: string } {
    return this.remote !== undefined ? { ComputerName: this.remote } : {};
  }

  private async exec(p: Program): Promise<Outcome[]> {
    this.calls++;
    const res = await this.runner.run({ id: ++this.seq, steps: p.steps });
    if (!res.ok) throw toHvsimError(res.error);
    if (res.steps.length !== p.steps.length)
      throw new HvsimError('CORRUPT', `PowerShell answered ${res.steps.length} steps for a request of ${p.steps.length}`, { reason: 'HOST_ANSWER' });
    return res.steps.map((s) => ({ state: s.s, objects: parseCmdletJson(s.j), errors: s.e, warnings: s.w }));
  }

  /** The error of a failed step (several errors of one step together), else undefined. */
  private failure(o: Outcome | undefined, cmdlet: string): HvsimError | undefined {
    if (!o || o.state !== 'failed') return undefined;
    const errs = o.errors.map((e) => toHvsimError(e, cmdlet));
    return errs.length ? combine(errs) : new HvsimError('INVALID_STATE', `${cmdlet}: failed without an error record`);
  }

  private throwIfFailed(o: Outcome | undefined, cmdlet: string): Outcome {
    const e = this.failure(o, cmdlet);
    if (e) throw e;
    if (!o) throw new HvsimError('CORRUPT', `${cmdlet}: no answer`, { reason: 'HOST_ANSWER' });
    return o;
  }

  private warn(o: Outcome | undefined, cmdlet: string, vmName: string): void {
    for (const w of o?.warnings ?? []) this.warnings.push({ VMName: vmName, Message: `${cmdlet}: ${w}` });
  }

  private async vmHost(): Promise<VMHostInfo> {
    if (this.hostInfo) return this.hostInfo;
    const p = new Program();
    const h = p.cmd('Get-VMHost', this.cn(), {}, { o: VMHOST_PROPERTIES });
    const out = await this.exec(p);
    const o = this.throwIfFailed(out[h], 'Get-VMHost');
    const first = o.objects[0];
    if (first === undefined) throw new HvsimError('CORRUPT', 'Get-VMHost returned nothing', { reason: 'HOST_ANSWER' });
    this.hostInfo = decodeVMHost(first);
    return this.hostInfo;
  }

  /** All VMs (and, when asked, all their checkpoints) in one call. */
  private async list(withSnapshots: boolean): Promise<Listing> {
    const p = new Program();
    const v = p.cmd('Get-VM', this.cn(), {}, { o: VM_PROPERTIES });
    const s = withSnapshots ? p.cmd('Get-VMSnapshot', {}, { VM: v }, { o: SNAPSHOT_PROPERTIES }) : -1;
    const out = await this.exec(p);
    const vms = this.throwIfFailed(out[v], 'Get-VM').objects.map((o) => decodeVM(o, this.ctx()));
    const snaps = new Map<string, RawSnapshot[]>(vms.map((x) => [x.vm.Id, []]));
    if (s >= 0) {
      const types = new Map<string, CheckpointType>(vms.map((x) => [x.vm.Id, x.vm.CheckpointType]));
      const places = new Map<string, string>(vms.map((x) => [x.vm.Id, x.vm.SnapshotFileLocation]));
      for (const raw of this.throwIfFailed(out[s], 'Get-VMSnapshot').objects) {
        const d = decodeSnapshot(raw, 'Production', this.ctx());
        if (d.snap.Path === '') d.snap.Path = places.get(d.snap.VMId) ?? '';
        d.snap.CheckpointType = checkpointKind(d.snap.State, types.get(d.snap.VMId) ?? 'Production');
        const l = snaps.get(d.snap.VMId);
        if (l) l.push(d);
        else snaps.set(d.snap.VMId, [d]);
      }
    }
    return new Listing(vms, snaps);
  }

  /** Adds "Get-VM, keep the VM with this Id" to a program; returns the filter step. */
  private selectVM(p: Program, all: number, vm: RawVM): number {
    return p.filter(all, 'Id', [vm.vm.Id], { n: 1 });
  }

  /** Adds "its checkpoints, keep those with these Ids" (exactly that many). */
  private selectSnapshots(p: Program, vmStep: number, ids: string[]): number {
    const ss = p.cmd('Get-VMSnapshot', {}, { VM: vmStep });
    return p.filter(ss, 'Id', ids, { n: ids.length });
  }

  // ---------------------------------------------------------------- Host: clock, warnings

  /** The driver's clock (the host's clock is assumed to agree; docs/real-host.md). */
  now(): Promise<number> {
    return Promise.resolve(Date.now());
  }

  /** Host.sleep: a real host's time passes in real time, so this really waits. */
  async sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw invalidArgument(`Start-Sleep: cannot sleep for ${ms} ms`);
    // setTimeout takes at most 2^31-1 ms; longer sleeps go in pieces
    for (let left = ms; left > 0; left -= 0x7fffffff) await sleep(Math.min(left, 0x7fffffff));
  }

  takeWarnings(): Promise<HostWarning[]> {
    const w = this.warnings;
    this.warnings = [];
    return Promise.resolve(w);
  }

  // ---------------------------------------------------------------- Host: VMs

  async newVM(opts: NewVMOptions): Promise<VirtualMachine> {
    const name = opts.name;
    validateVMName(name);
    const type = opts.checkpointType;
    validateCheckpointType(type, 'new');
    const memory = opts.memory ?? this.opts.defaultMemory ?? DEFAULT_MEMORY;
    validateMemory(memory);
    if (opts.guestSupportsProductionCheckpoints === false) throw unsupported('New-VM: whether the guest can take production checkpoints is up to the guest');
    // The simulator's names (and Hyper-V Manager's label of VSS), checked before anything is made.
    const disabled = pickIntegrationServices('new', name, opts.disabledIntegrationServices ?? []);
    const hostInfo = await this.vmHost();
    const { vms } = await this.list(false);
    refuseTakenVMName(name, vms.map((v) => v.vm.Name), this.computerName);
    const root = hostInfo.VirtualMachinePath;
    let disk: Record<string, string | number>;
    if (opts.vhdPath !== undefined) {
      disk = { VHDPath: this.absolutePath(opts.vhdPath, 'New-VM') };
    } else {
      disk = { NewVHDPath: hostJoin(root, name, 'Virtual Hard Disks', `${name}.vhdx`), NewVHDSizeBytes: opts.diskSize ?? this.opts.defaultDiskSize ?? DEFAULT_DISK_SIZE };
    }
    const settings = type !== undefined || opts.notes !== undefined;
    const p = new Program();
    const nv = p.cmd('New-VM', { Name: name, MemoryStartupBytes: memory, Generation: 2, Path: root, ...disk, ...this.cn() }, {}, settings ? {} : { o: VM_PROPERTIES });
    // hvsim's VMs take no automatic checkpoints (as in the simulator); hosts before Windows 10
    // 1709 / Server 2019 have no such setting, so this step may fail without consequence.
    p.cmd('Set-VM', { AutomaticCheckpointsEnabled: false }, { VM: nv });
    const st = settings ? p.cmd('Set-VM', { CheckpointType: type, Notes: opts.notes, Passthru: true }, { VM: nv }, { o: VM_PROPERTIES }) : nv;
    // Disable-VMIntegrationService -VM -Name (https://learn.microsoft.com/powershell/module/hyper-v/disable-vmintegrationservice).
    const dis = disabled.length ? p.cmd('Disable-VMIntegrationService', { Name: disabled }, { VM: nv }) : -1;
    const out = await this.exec(p);
    this.throwIfFailed(out[nv], 'New-VM');
    const o = this.throwIfFailed(out[st], 'Set-VM');
    this.warn(out[nv], 'New-VM', name);
    const de = dis >= 0 ? this.failure(out[dis], 'Disable-VMIntegrationService') : undefined;
    if (de) throw new HvsimError(de.code, `New-VM: '${name}' was created, but its integration services could not be disabled: ${de.message}`, { cause: de });
    const first = o.objects[0];
    if (first === undefined) throw new HvsimError('CORRUPT', 'New-VM returned no virtual machine', { reason: 'HOST_ANSWER' });
    return decodeVM(first, this.ctx()).vm;
  }

  private absolutePath(p: string, cmdlet: string): string {
    if (isAbsoluteHostPath(p)) return p;
    if (this.remote !== undefined) throw invalidArgument(`${cmdlet}: give a full path on ${this.remote} ("${p}" is relative)`);
    return path.resolve(p);
  }

  async getVM(names?: string[]): Promise<VirtualMachine[]> {
    const { vms, errors } = (await this.list(false)).select(names, 'get');
    throwGathered(errors);
    return vms.map((v) => v.vm);
  }

  /**
   * Send a program that acts on several VMs and read its outcome per VM: after the Get-VM step
   * `all`, each plan has its VM's filter step `f` and its cmdlet step `act`. The cmdlet's warnings
   * belong to the VM, a VM gone since the listing is not found, and `read` gives the VM's result
   * or its error. Errors join `errors`, which the caller raises together afterwards (a cmdlet's
   * non-terminating errors, as in the simulator).
   */
  private async actOnEach<P extends { vm: RawVM; f: number; act: number }, T>(
    p: Program, all: number, plans: P[], op: string, cmdlet: string, errors: HvsimError[], read: (res: Outcome[], plan: P) => T | HvsimError,
  ): Promise<T[]> {
    if (plans.length === 0) return [];
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    const out: T[] = [];
    for (const x of plans) {
      this.warn(res[x.act], cmdlet, x.vm.vm.Name);
      const r = res[x.f]?.state !== 'ok' ? vmNotFound(op, x.vm.vm.Name) : read(res, x);
      if (r instanceof HvsimError) errors.push(r);
      else out.push(r);
    }
    return out;
  }

  /** Run `cmdlet` on each named VM, one step per VM so that failures and warnings belong to their VM. */
  private async eachVM(names: string[], op: string, cmdlet: string, params: Record<string, string | number | boolean | undefined>): Promise<VirtualMachine[]> {
    const { vms, errors } = (await this.list(false)).select(names, op);
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const plans = vms.map((vm) => {
      const f = this.selectVM(p, all, vm);
      return { vm, f, act: p.cmd(cmdlet, { ...params, Passthru: true }, { VM: f }, { o: VM_PROPERTIES }) };
    });
    const out = await this.actOnEach(p, all, plans, op, cmdlet, errors, (res, x) => {
      const e = this.failure(res[x.act], cmdlet);
      if (e) return e;
      const first = res[x.act]?.objects[0];
      return first === undefined ? x.vm.vm : decodeVM(first, this.ctx()).vm;
    });
    throwGathered(errors);
    return out;
  }

  async setVM(names: string[], opts: SetVMOptions): Promise<VirtualMachine[]> {
    validateCheckpointType(opts.checkpointType, 'set');
    if (opts.guestSupportsProductionCheckpoints !== undefined) throw unsupported('Set-VM: whether the guest can take production checkpoints is up to the guest');
    return this.eachVM(names, 'set', 'Set-VM', {
      CheckpointType: opts.checkpointType, Notes: opts.notes, MemoryStartupBytes: opts.memory,
      SnapshotFileLocation: opts.snapshotFileLocation === undefined ? undefined : this.absolutePath(opts.snapshotFileLocation, 'Set-VM'),
      SmartPagingFilePath: opts.smartPagingFilePath === undefined ? undefined : this.absolutePath(opts.smartPagingFilePath, 'Set-VM'),
      AutomaticCheckpointsEnabled: opts.automaticCheckpointsEnabled,
    });
  }

  startVM(names: string[]): Promise<VirtualMachine[]> {
    return this.eachVM(names, 'start', 'Start-VM', {});
  }

  stopVM(names: string[], opts: StopVMOptions = {}): Promise<VirtualMachine[]> {
    if (opts.save && opts.turnOff) return Promise.reject(invalidArgument('Stop-VM: -Save and -TurnOff cannot be used together'));
    const how = opts.save ? { Save: true } : opts.turnOff ? { TurnOff: true } : { Force: true };
    return this.eachVM(names, 'stop', 'Stop-VM', { ...how, Confirm: false });
  }

  suspendVM(names: string[]): Promise<VirtualMachine[]> {
    return this.eachVM(names, 'suspend', 'Suspend-VM', {});
  }

  resumeVM(names: string[]): Promise<VirtualMachine[]> {
    return this.eachVM(names, 'resume', 'Resume-VM', {});
  }

  /** Wait-VM, one VM at a time (each with the -Timeout left; docs/hyperv.md, "Wait-VM"). */
  waitVMGuest(names: string[], opts: WaitGuestOptions = {}): Promise<VirtualMachine[]> {
    const t = opts.timeoutSeconds;
    return this.eachVM(names, 'wait', 'Wait-VM', { For: opts.for ?? 'Heartbeat', Timeout: t !== undefined && t >= 0 ? Math.ceil(t) : undefined });
  }

  saveVM(names: string[]): Promise<VirtualMachine[]> {
    return this.eachVM(names, 'save', 'Save-VM', {});
  }

  async waitVM(names: string[]): Promise<VirtualMachine[]> {
    const l = await this.list(false);
    const { vms, errors } = l.select(names, 'get');
    throwGathered(errors);
    return this.waitForBackground(vms.map((v) => v.vm.Id), l.vms);
  }

  /** Poll Get-VM until none of the VMs shows a background merge; returns them in the order given. */
  private async waitForBackground(ids: string[], first?: RawVM[]): Promise<VirtualMachine[]> {
    let delay = this.opts.pollIntervalMs ?? 500;
    const maxDelay = this.opts.maxPollIntervalMs ?? 5000;
    const deadline = Date.now() + (this.opts.mergeTimeoutMs ?? 3_600_000);
    let seen = first;
    for (;;) {
      const all = seen ?? (await this.list(false)).vms;
      seen = undefined;
      const mine = ids.map((id) => all.find((v) => v.vm.Id === id)).filter((v): v is RawVM => v !== undefined);
      const busy = mine.filter((v) => v.vm.OperationalStatus.some((s) => BACKGROUND.has(s)));
      if (busy.length === 0) return mine.map((v) => v.vm);
      if (Date.now() >= deadline)
        throw new HvsimError('BUSY', `${busy.map((v) => `'${v.vm.Name}'`).join(', ')} still ${busy.length > 1 ? 'merge' : 'merges'} disks after ${Math.round((this.opts.mergeTimeoutMs ?? 3_600_000) / 1000)} s`);
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
  }

  // ---------------------------------------------------------------- Host: checkpoints

  async checkpointVM(names: string[], opts: CheckpointVMOptions = {}): Promise<VMSnapshot[]> {
    const { vms, errors } = (await this.list(false)).select(names, 'checkpoint');
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const group = opts.groupId !== undefined ? { GroupId: opts.groupId, GroupMembers: opts.groupMembers ?? null } : undefined;
    const plans: Array<{ vm: RawVM; f: number; mark: number; act: number; unmark: number }> = [];
    for (const vm of vms) {
      if (opts.snapshotName !== undefined) {
        try {
          validateSnapshotName(opts.snapshotName, 'Checkpoint-VM');
        } catch (e) {
          errors.push(e as HvsimError);
          continue;
        }
      }
      const f = this.selectVM(p, all, vm);
      // A checkpoint copies the VM's Notes: a group checkpoint gets the marker by taking it while
      // the VM's Notes carry it; a stale marker (a restore whose clean-up failed) is removed first.
      const notes = vm.vm.Notes;
      const mark = group ? p.cmd('Set-VM', { Notes: addGroupMarker(notes, group) }, { VM: f }) : vm.rawNotes !== notes ? p.cmd('Set-VM', { Notes: notes }, { VM: f }) : -1;
      const act = p.cmd('Checkpoint-VM', { SnapshotName: opts.snapshotName, Passthru: true }, { VM: f }, { d: mark >= 0 ? [mark] : [], o: SNAPSHOT_PROPERTIES });
      const unmark = group ? p.cmd('Set-VM', { Notes: notes }, { VM: f }, { d: [mark] }) : -1;
      plans.push({ vm, f, mark, act, unmark });
    }
    const out = await this.actOnEach(p, all, plans, 'checkpoint', 'Checkpoint-VM', errors, (res, x) => {
      const name = x.vm.vm.Name;
      const e = (x.mark >= 0 ? this.failure(res[x.mark], 'Set-VM') : undefined) ?? this.failure(res[x.act], 'Checkpoint-VM');
      if (e) return e;
      const first = res[x.act]?.objects[0];
      if (first === undefined) return new HvsimError('CORRUPT', `Checkpoint-VM returned no checkpoint for '${name}'`, { reason: 'HOST_ANSWER' });
      const un = x.unmark >= 0 ? this.failure(res[x.unmark], 'Set-VM') : undefined;
      if (un)
        return new HvsimError(un.code, `Checkpoint-VM: the checkpoint of '${name}' was taken, but the VM's Notes could not be put back (they still carry hvsim's group marker): ${un.message}`, { cause: un });
      return decodeSnapshot(first, x.vm.vm.CheckpointType, this.ctx(), x.vm.vm.SnapshotFileLocation).snap;
    });
    throwGathered(errors);
    return out;
  }

  async getVMSnapshot(q: SnapshotQuery): Promise<VMSnapshot[]> {
    const l = await this.list(true);
    const { vms, errors } = l.select(q.vmNames, 'get-snapshot');
    return gatherSnapshots(vms, errors, q.name, (vm) => l.checkpoints(vm).select(q, 'get-snapshot').map((s) => s.snap));
  }

  /** The VM and the one checkpoint a reference names (one call). */
  private async one(ref: SnapshotRef, op: string): Promise<{ vm: RawVM; snap: RawSnapshot }> {
    const l = await this.list(true);
    const vm = l.vm(ref.vmName, op);
    return { vm, snap: l.checkpoints(vm).find(ref, op) };
  }

  /** Errors of the selection steps of an act on one checkpoint. */
  private selectionError(res: Outcome[], f: number, g: number, op: string, vmName: string, ref: SnapshotRef): HvsimError | undefined {
    if (res[f]?.state !== 'ok') return vmNotFound(op, vmName);
    if (res[g]?.state !== 'ok') return this.failure(res[g - 1], 'Get-VMSnapshot') ?? snapshotNotFound(op, vmName, ref.id ?? ref.name ?? '');
    return undefined;
  }

  async restoreVMSnapshot(ref: SnapshotRef): Promise<VMSnapshot> {
    const { vm, snap } = await this.one(ref, 'restore');
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const g = this.selectSnapshots(p, f, [snap.snap.Id]);
    const r = p.cmd('Restore-VMSnapshot', { Confirm: false, Passthru: true }, { VMSnapshot: g }, { o: SNAPSHOT_PROPERTIES });
    // The checkpoint's configuration comes back with it, group marker included: take it off.
    const clean = snap.rawNotes !== snap.snap.Notes ? p.cmd('Set-VM', { Notes: snap.snap.Notes }, { VM: f }, { d: [r] }) : -1;
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    const sel = this.selectionError(res, f, g, 'restore', vm.vm.Name, ref);
    if (sel) throw sel;
    this.warn(res[r], 'Restore-VMSnapshot', vm.vm.Name);
    const e = this.failure(res[r], 'Restore-VMSnapshot');
    if (e) throw e;
    const un = clean >= 0 ? this.failure(res[clean], 'Set-VM') : undefined;
    if (un) throw new HvsimError(un.code, `Restore-VMSnapshot: '${vm.vm.Name}' was restored, but hvsim's group marker could not be taken off its Notes: ${un.message}`, { cause: un });
    const first = res[r]?.objects[0];
    return first === undefined ? snap.snap : decodeSnapshot(first, vm.vm.CheckpointType, this.ctx(), vm.vm.SnapshotFileLocation).snap;
  }

  async removeVMSnapshot(q: SnapshotQuery, opts: RemoveSnapshotOptions = {}): Promise<VMSnapshot[]> {
    const wait = opts.wait ?? true;
    const withChildren = opts.includeAllChildSnapshots ?? false;
    const l = await this.list(true);
    const { vms, errors } = l.select(q.vmNames, 'remove');
    let matched = 0;
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const plans: Array<{ vm: RawVM; views: VMSnapshot[]; f: number; g: number; act: number }> = [];
    for (const vm of vms) {
      const cps = l.checkpoints(vm);
      let targets: RawSnapshot[];
      try {
        targets = cps.removalTargets(q, 'remove');
      } catch (e) {
        if (e instanceof HvsimError) {
          errors.push(e);
          continue;
        }
        throw e;
      }
      matched += targets.length;
      if (targets.length === 0) continue;
      const list = cps.list.map((s) => s.snap);
      const ids = cps.removedIds(targets, withChildren);
      const acted = withChildren ? topmost(list, targets.map((t) => t.snap)) : targets.map((t) => t.snap);
      const f = this.selectVM(p, all, vm);
      const g = this.selectSnapshots(p, f, acted.map((s) => s.Id));
      const act = p.cmd('Remove-VMSnapshot', { IncludeAllChildSnapshots: withChildren ? true : undefined, Confirm: false }, { VMSnapshot: g });
      plans.push({ vm, views: list.filter((s) => ids.has(s.Id)), f, g, act });
    }
    const ref = { ...(q.name !== undefined ? { name: q.name } : {}), ...(q.id !== undefined ? { id: q.id } : {}) };
    const done = await this.actOnEach(p, all, plans, 'remove', 'Remove-VMSnapshot', errors, (res, x) => {
      const name = x.vm.vm.Name;
      return this.selectionError(res, x.f, x.g, 'remove', name, { vmName: name, ...ref }) ?? this.failure(res[x.act], 'Remove-VMSnapshot') ?? x;
    });
    // Remove-VMSnapshot returns while Hyper-V merges in the background.
    if (wait && done.length > 0) await this.waitForBackground(done.map((x) => x.vm.vm.Id));
    throwGathered(errors);
    requireNamedCheckpoint(matched, q.name, 'remove');
    return done.flatMap((x) => x.views);
  }

  async renameVMSnapshot(ref: SnapshotRef, newName: string): Promise<VMSnapshot> {
    const { vm, snap } = await this.one(ref, 'rename');
    validateSnapshotName(newName, 'Rename-VMSnapshot');
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const g = this.selectSnapshots(p, f, [snap.snap.Id]);
    const rn = p.cmd('Rename-VMSnapshot', { NewName: newName }, { VMSnapshot: g });
    const again = p.cmd('Get-VMSnapshot', {}, { VM: f }, { d: [rn] });
    const after = p.filter(again, 'Id', [snap.snap.Id], { n: 1, o: SNAPSHOT_PROPERTIES });
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    const sel = this.selectionError(res, f, g, 'rename', vm.vm.Name, ref);
    if (sel) throw sel;
    this.warn(res[rn], 'Rename-VMSnapshot', vm.vm.Name);
    const e = this.failure(res[rn], 'Rename-VMSnapshot') ?? this.failure(res[again], 'Get-VMSnapshot') ?? this.failure(res[after], 'Get-VMSnapshot');
    if (e) throw e;
    const first = res[after]?.objects[0];
    if (first === undefined) throw new HvsimError('CORRUPT', `Rename-VMSnapshot: the checkpoint of '${vm.vm.Name}' is gone after the rename`, { reason: 'HOST_ANSWER' });
    return decodeSnapshot(first, vm.vm.CheckpointType, this.ctx(), vm.vm.SnapshotFileLocation).snap;
  }

  async exportVMSnapshot(ref: SnapshotRef, dir: string): Promise<ExportResult> {
    const { vm, snap } = await this.one(ref, 'export');
    const dest = this.absolutePath(dir, 'Export-VMSnapshot');
    const root = hostJoin(dest, vm.vm.Name);
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const g = this.selectSnapshots(p, f, [snap.snap.Id]);
    const ex = p.cmd('Export-VMSnapshot', { Path: dest }, { VMSnapshot: g });
    const ls = this.listExport(p, root, ex);
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    const sel = this.selectionError(res, f, g, 'export', vm.vm.Name, ref);
    if (sel) throw sel;
    const files = this.exported(res, ex, ls, 'Export-VMSnapshot', vm.vm.Name);
    return { VMName: vm.vm.Name, SnapshotName: snap.snap.Name, SnapshotId: snap.snap.Id, Path: root, HardDrives: files };
  }

  /** After an export step, list the disks written (only when the host is this machine); -1 for a remote host. */
  private listExport(p: Program, root: string, ex: number): number {
    return this.remote === undefined ? p.cmd('Get-ChildItem', { LiteralPath: hostJoin(root, 'Virtual Hard Disks'), File: true }, {}, { d: [ex], o: ['FullName'] }) : -1;
  }

  /** The export step's warnings and errors, then the disk files listExport found. */
  private exported(res: Outcome[], ex: number, ls: number, cmdlet: string, vmName: string): string[] {
    this.warn(res[ex], cmdlet, vmName);
    const e = this.failure(res[ex], cmdlet) ?? (ls >= 0 ? this.failure(res[ls], 'Get-ChildItem') : undefined);
    if (e) throw e;
    return ls >= 0 ? (res[ls]?.objects ?? []).map((o) => String((o as { FullName?: unknown }).FullName ?? '')).filter((x) => formatOfExtension(x) !== undefined) : [];
  }

  // ---------------------------------------------------------------- Host: export, import, remove (docs/hyperv.md, "Export and import")

  /**
   * Export-VM -VM <VM> -Path <dir> (https://learn.microsoft.com/powershell/module/hyper-v/export-vm):
   * "creates a folder at a specified location having three subfolders: Snapshots, Virtual Hard
   * Disks, and Virtual Machines". Hyper-V exports the checkpoints too (hvsim's simulator does not).
   */
  async exportVM(vmName: string, dir: string): Promise<ExportResult> {
    const vm = (await this.list(false)).vm(vmName, 'export-vm');
    const dest = this.absolutePath(dir, 'Export-VM');
    const root = hostJoin(dest, vm.vm.Name);
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const ex = p.cmd('Export-VM', { Path: dest }, { VM: f });
    const ls = this.listExport(p, root, ex);
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    if (res[f]?.state !== 'ok') throw vmNotFound('export-vm', vm.vm.Name);
    const files = this.exported(res, ex, ls, 'Export-VM', vm.vm.Name);
    return { VMName: vm.vm.Name, SnapshotName: '', SnapshotId: '', Path: root, HardDrives: files };
  }

  /**
   * Import-VM -Path <.vmcx> [-Copy [-VhdDestinationPath] [-VirtualMachinePath] [-SnapshotFilePath]
   * [-GenerateNewId]] (https://learn.microsoft.com/powershell/module/hyper-v/import-vm; the Register
   * and Copy parameter sets). Its output is the imported VirtualMachine. PowerShell itself refuses
   * the Copy set's parameters without -Copy (a missing mandatory parameter). Hyper-V keeps the
   * exported name: hvsim's `name` option is the simulator's only, and a name another VM has is
   * allowed there (hvsim's other hosts refuse it): the driver warns, as selecting by name then finds both.
   */
  async importVM(file: string, opts: ImportVMOptions = {}): Promise<VirtualMachine> {
    if (opts.name !== undefined) throw unsupported("Import-VM: another name for the imported VM (--name); Hyper-V keeps the exported one");
    const abs = (x: string | undefined): string | undefined => (x === undefined ? undefined : this.absolutePath(x, 'Import-VM'));
    const before = await this.list(false);
    const p = new Program();
    const im = p.cmd(
      'Import-VM',
      {
        Path: abs(file), Copy: opts.copy ? true : undefined, GenerateNewId: opts.generateNewId ? true : undefined, VhdDestinationPath: abs(opts.vhdDestinationPath),
        VirtualMachinePath: abs(opts.virtualMachinePath), SnapshotFilePath: abs(opts.snapshotFilePath), ...this.cn(),
      },
      {},
      { o: VM_PROPERTIES },
    );
    const res = await this.exec(p);
    const o = this.throwIfFailed(res[im], 'Import-VM');
    const first = o.objects[0];
    if (first === undefined) throw new HvsimError('CORRUPT', 'Import-VM returned no virtual machine', { reason: 'HOST_ANSWER' });
    const vm = decodeVM(first, this.ctx()).vm;
    this.warn(res[im], 'Import-VM', vm.Name);
    const twin = before.vms.find((v) => v.vm.Name.toLowerCase() === vm.Name.toLowerCase() && v.vm.Id !== vm.Id);
    if (twin) this.warnings.push({ VMName: vm.Name, Message: `Import-VM: '${vm.Name}' has the name of another virtual machine on ${this.computerName} (${twin.vm.Id}); hvsim selects VMs by name, so rename one of them` });
    return vm;
  }

  /**
   * Remove-VM -VM <VM> -Force (https://learn.microsoft.com/powershell/module/hyper-v/remove-vm):
   * "deletes the virtual machine's configuration file, but does not delete any virtual hard
   * drives". A Running or Paused VM is refused first, as every hvsim host does; the VMs removed are
   * returned as they were.
   */
  async removeVM(names: string[]): Promise<VirtualMachine[]> {
    const { vms, errors } = (await this.list(false)).select(names, 'remove-vm');
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const plans: Array<{ vm: RawVM; f: number; act: number }> = [];
    for (const vm of vms) {
      try {
        refuseRemoveRunning(vm.vm.Name, vm.vm.State);
      } catch (e) {
        errors.push(e as HvsimError);
        continue;
      }
      const f = this.selectVM(p, all, vm);
      plans.push({ vm, f, act: p.cmd('Remove-VM', { Force: true }, { VM: f }) });
    }
    const out = await this.actOnEach(p, all, plans, 'remove-vm', 'Remove-VM', errors, (res, x) => this.failure(res[x.act], 'Remove-VM') ?? x.vm.vm);
    throwGathered(errors);
    return out;
  }

  /**
   * Merge-VHD -Path <file> [-DestinationPath <ancestor>] [-Force]
   * (https://learn.microsoft.com/powershell/module/hyper-v/merge-vhd): an offline merge of a
   * differencing chain; the host refuses an attached chain. The destination (by default the
   * file's parent, which Get-VHD names first) is read back with Get-VHD.
   */
  async mergeVHD(file: string, opts: MergeVHDOptions = {}): Promise<VhdInfo> {
    const leaf = this.absolutePath(file, 'Merge-VHD');
    let dest = opts.destinationPath === undefined ? undefined : this.absolutePath(opts.destinationPath, 'Merge-VHD');
    if (dest === undefined) {
      const q = new Program();
      const g = q.cmd('Get-VHD', { Path: leaf, ...this.cn() }, {}, { o: VHD_PROPERTIES });
      const first = this.throwIfFailed((await this.exec(q))[g], 'Get-VHD').objects[0];
      if (first === undefined) throw new HvsimError('CORRUPT', `Get-VHD returned nothing for ${leaf}`, { reason: 'HOST_ANSWER' });
      dest = decodeVhd(first).ParentPath ?? undefined;
    }
    const p = new Program();
    const m = p.cmd('Merge-VHD', { Path: leaf, DestinationPath: opts.destinationPath === undefined ? undefined : dest, Force: opts.force ? true : undefined, ...this.cn() });
    const after = dest === undefined ? -1 : p.cmd('Get-VHD', { Path: dest, ...this.cn() }, {}, { d: [m], o: VHD_PROPERTIES });
    const res = await this.exec(p);
    this.throwIfFailed(res[m], 'Merge-VHD');
    const first = after >= 0 ? this.throwIfFailed(res[after], 'Get-VHD').objects[0] : undefined;
    // A disk without a parent has nothing to merge into: the host refused it above, or this says so.
    if (first === undefined) throw new HvsimError('CORRUPT', `Merge-VHD: ${leaf} was merged, but its destination could not be read`, { reason: 'HOST_ANSWER' });
    return decodeVhd(first);
  }

  // ---------------------------------------------------------------- Host: integration services (docs/hyperv.md, "Integration services")

  /** One VM (by name) and the integration services its host lists for it, in the host's order. */
  private async services(vmName: string, op: string): Promise<{ vm: RawVM; comps: VMIntegrationComponent[] }> {
    const vm = (await this.list(false)).vm(vmName, op);
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const gs = p.cmd('Get-VMIntegrationService', {}, { VM: f }, { o: INTEGRATION_PROPERTIES });
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    if (res[f]?.state !== 'ok') throw vmNotFound(op, vm.vm.Name);
    return { vm, comps: this.throwIfFailed(res[gs], 'Get-VMIntegrationService').objects.map((o) => decodeIntegration(o, this.ctx())) };
  }

  /**
   * Get-VMIntegrationService -VM <VM> (https://learn.microsoft.com/powershell/module/hyper-v/get-vmintegrationservice),
   * then `names` picked over the services the host listed, with the rule every host shares (host/integration.ts).
   */
  async getVMIntegrationService(vmName: string, names?: string[]): Promise<VMIntegrationComponent[]> {
    const { vm, comps } = await this.services(vmName, 'get-integration');
    const picked = new Set(pickServices('get-integration', vm.vm.Name, names, comps.map((c) => c.Name)));
    return comps.filter((c) => picked.has(c.Name));
  }

  /**
   * Enable- or Disable-VMIntegrationService -VM <VM> -Name <the services picked>
   * (https://learn.microsoft.com/powershell/module/hyper-v/enable-vmintegrationservice), then the
   * services as Get-VMIntegrationService shows them afterwards.
   */
  async setVMIntegrationService(vmName: string, names: string[], enabled: boolean): Promise<VMIntegrationComponent[]> {
    const op = enabled ? 'enable-integration' : 'disable-integration';
    const cmdlet = enabled ? 'Enable-VMIntegrationService' : 'Disable-VMIntegrationService';
    const { vm, comps } = await this.services(vmName, op);
    const picked = pickServices(op, vm.vm.Name, names, comps.map((c) => c.Name));
    if (picked.length === 0) return [];
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const act = p.cmd(cmdlet, { Name: picked }, { VM: f });
    const again = p.cmd('Get-VMIntegrationService', {}, { VM: f }, { d: [act] });
    const sel = p.filter(again, 'Name', picked, { o: INTEGRATION_PROPERTIES });
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    if (res[f]?.state !== 'ok') throw vmNotFound(op, vm.vm.Name);
    this.warn(res[act], cmdlet, vm.vm.Name);
    const e = this.failure(res[act], cmdlet) ?? this.failure(res[again], 'Get-VMIntegrationService');
    if (e) throw e;
    const after = (res[sel]?.objects ?? []).map((o) => decodeIntegration(o, this.ctx()));
    return picked.map((n) => after.find((c) => c.Name === n)).filter((c): c is VMIntegrationComponent => c !== undefined);
  }

  // ---------------------------------------------------------------- Host: disks

  async getVMHardDiskDrive(vmName: string, snapshot?: string): Promise<HardDiskDrive[]> {
    const l = await this.list(snapshot !== undefined);
    const vm = l.vm(vmName, 'get');
    const snap = snapshot !== undefined ? l.checkpoints(vm).find({ name: snapshot }, 'get-snapshot') : undefined;
    const p = new Program();
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const g = snap ? this.selectSnapshots(p, f, [snap.snap.Id]) : -1;
    const d = p.cmd('Get-VMHardDiskDrive', {}, snap ? { VMSnapshot: g } : { VM: f }, { o: DRIVE_PROPERTIES });
    const res = await this.exec(p);
    this.throwIfFailed(res[all], 'Get-VM');
    if (res[f]?.state !== 'ok') throw vmNotFound('get', vm.vm.Name);
    if (g >= 0 && res[g]?.state !== 'ok') throw snapshotNotFound('get-snapshot', vm.vm.Name, snapshot ?? '');
    const o = this.throwIfFailed(res[d], 'Get-VMHardDiskDrive');
    return o.objects.map((x) => decodeDrive(x, this.ctx()));
  }

  async addVMHardDiskDrive(vmName: string, opts: { path?: string; size?: number }): Promise<HardDiskDrive> {
    const l = await this.list(true);
    const vm = l.vm(vmName, 'add-disk');
    if (l.checkpoints(vm).list.length > 0) throw wrongState('add-disk', vm.vm.Name, vm.vm.State, 'hvsim attaches disks only while the VM has no checkpoints');
    const p = new Program();
    let file: string;
    const deps: number[] = [];
    if (opts.path !== undefined) file = this.absolutePath(opts.path, 'Add-VMHardDiskDrive');
    else {
      file = hostJoin(vm.vm.Path, 'Virtual Hard Disks', `${vm.vm.Name}-${vm.vm.HardDrives.length}.vhdx`);
      deps.push(p.cmd('New-VHD', { Path: file, SizeBytes: opts.size ?? this.opts.defaultDiskSize ?? DEFAULT_DISK_SIZE, Dynamic: true, ...this.cn() }));
    }
    const all = p.cmd('Get-VM', this.cn());
    const f = this.selectVM(p, all, vm);
    const add = p.cmd('Add-VMHardDiskDrive', { Path: file, Passthru: true }, { VM: f }, { d: deps, o: DRIVE_PROPERTIES });
    const res = await this.exec(p);
    const nv = deps.length ? this.failure(res[deps[0]!], 'New-VHD') : undefined;
    if (nv) throw nv;
    this.throwIfFailed(res[all], 'Get-VM');
    if (res[f]?.state !== 'ok') throw vmNotFound('add-disk', vm.vm.Name);
    const o = this.throwIfFailed(res[add], 'Add-VMHardDiskDrive');
    const first = o.objects[0];
    if (first === undefined) throw new HvsimError('CORRUPT', `Add-VMHardDiskDrive returned no drive for '${vm.vm.Name}'`, { reason: 'HOST_ANSWER' });
    return decodeDrive(first, this.ctx());
  }

  async diskSize(vmName: string, drive = 0): Promise<number> {
    const l = await this.list(false);
    const vm = l.vm(vmName, 'read');
    const d = vm.vm.HardDrives[drive];
    if (!d) throw invalidArgument(`Read-VM: '${vm.vm.Name}' has no disk ${drive} (it has ${vm.vm.HardDrives.length})`);
    const p = new Program();
    const v = p.cmd('Get-VHD', { VMId: vm.vm.Id, ...this.cn() }, {}, { o: ['Path', 'Size'] });
    const res = await this.exec(p);
    const o = this.throwIfFailed(res[v], 'Get-VHD');
    const hit = o.objects.find((x) => String((x as { Path?: unknown }).Path ?? '').toLowerCase() === d.Path.toLowerCase());
    const size = (hit as { Size?: unknown } | undefined)?.Size;
    if (typeof size !== 'number') throw new HvsimError('NOT_FOUND', `Get-VHD: no disk ${d.Path} among those of '${vm.vm.Name}'`);
    return size;
  }

  writeGuest(vmName: string, _data: Uint8Array, _offset: number, _drive?: number): Promise<void> {
    return Promise.reject(unsupported(`Write-VM: '${vmName}': hvsim cannot write a guest's disk on a real host`));
  }

  readGuest(vmName: string, _offset: number, _length: number, _opts?: GuestReadOptions): Promise<Uint8Array> {
    return Promise.reject(unsupported(`Read-VM: '${vmName}': hvsim cannot read a guest's disk on a real host`));
  }
}
