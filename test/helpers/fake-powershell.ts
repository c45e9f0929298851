/**
 * A stand-in for powershell.exe / pwsh, for the driver's tests (src/hyperv). Started as
 *   <launcher> -NoLogo -NoProfile -NonInteractive -EncodedCommand <Base64 UTF-16LE script>
 * (the launcher, written by fake-powershell.setup.ts, runs this file with node and tsx), it
 *   - refuses to run unless the encoded script is exactly hvsim's fixed script (src/hyperv/
 *     script.ts): names and paths must never be part of the code;
 *   - reads request lines from stdin as the script does (request.ts: Base64 JSON, every string
 *     tagged "s:"), logs each decoded request, and answers the cmdlets from a simulator (src/sim)
 *     kept in memory (or in a state directory, for one-process-per-call use);
 *   - writes what the script writes: "@@hvsim " + JSON, with each step's objects as Windows
 *     PowerShell 5.1's ConvertTo-Json -Compress writes them (enums as numbers, "\/Date(ms)\/",
 *     TimeSpan objects, a single object bare, 5.1's escapes) or, with style "7", as PowerShell 7
 *     may (enum names, ISO dates, TimeSpan text); cmdlet failures as the script reports an
 *     ErrorRecord (FullyQualifiedErrorId "<Id>,Microsoft.HyperV.PowerShell.Commands.<Cmdlet>",
 *     category, Hyper-V's message without the "Cmdlet: " prefix the simulator adds).
 * It knows each cmdlet's parameters as documented (docs/hyperv.md, "Cmdlets") and refuses others
 * like PowerShell ("A parameter cannot be found that matches parameter name …").
 *
 * Environment: HVSIM_STANDIN_ROOT (a folder with standin.json; logs and faults.json live there).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMANDS, LINE_PREFIX, SCRIPT } from '../../src/hyperv/script.js';
import { decodeRequest, inputsOf, isFilter, type ParamValue, type PsError, type Request, type Step, type StepResult } from '../../src/hyperv/request.js';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage, MemoryStorage } from '../../src/sim/storage.js';
import { HvsimError } from '../../src/errors.js';
import { createDiskFile } from '../../src/vhd/open.js';
import { openLayer } from '../../src/engine/chain.js';
import { WAIT_VM_FOR, type HardDiskDrive, type VhdInfo, type VirtualMachine, type VMIntegrationComponent, type VMSnapshot } from '../../src/host/host.js';

export interface StandInConfig {
  computerName: string;
  startTime: number;
  timeZone?: string;
  defaultDiskSize?: number;
  defaultMemory?: number;
  /** Simulated milliseconds that pass before each request (so that background merges end while the driver polls). */
  tickMs: number;
  style: '5.1' | '7';
  storage: 'memory' | 'directory';
}

const ROOT = process.env.HVSIM_STANDIN_ROOT ?? '';

function log(file: string, entry: unknown): void {
  fs.appendFileSync(path.join(ROOT, file), JSON.stringify(entry) + '\n');
}

// ---------------------------------------------------------------- JSON as PowerShell writes it

class PsDate {
  constructor(readonly ms: number) {}
}

/** ConvertTo-Json -Compress of Windows PowerShell 5.1 (JavaScriptSerializer's escapes). */
function json51(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof PsDate) return `"\\/Date(${v.ms})\\/"`;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string')
    return (
      '"' +
      v.replace(/[\\"\u0000-\u001f'<>&]/g, (c) => {
        switch (c) {
          case '\\':
            return '\\\\';
          case '"':
            return '\\"';
          case '\n':
            return '\\n';
          case '\r':
            return '\\r';
          case '\t':
            return '\\t';
          default:
            return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
        }
      }) +
      '"'
    );
  if (Array.isArray(v)) return '[' + v.map(json51).join(',') + ']';
  return '{' + Object.entries(v as Record<string, unknown>).map(([k, x]) => `${json51(k)}:${json51(x)}`).join(',') + '}';
}

/** ConvertTo-Json -Compress of PowerShell 7 (Newtonsoft: plain escapes, ISO dates). */
function json7(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof PsDate ? iso7(x.ms) : x));
}

function iso7(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000+00:00');
}

// ---------------------------------------------------------------- objects as the cmdlets return them

const VM_STATE_NUM: Record<string, number> = { Running: 2, Off: 3, Saved: 6, Paused: 9 };
const CHECKPOINT_TYPE_NUM: Record<string, number> = { Disabled: 2, Production: 3, ProductionOnly: 4, Standard: 5 };
const SNAPSHOT_TYPE_NUM: Record<string, number> = { Standard: 0, Recovery: 1, Planned: 2, Missing: 5, Replica: 6, AppConsistentReplica: 7, SyncedReplica: 8 };
const OPSTATUS_NUM: Record<string, number> = { Ok: 2, MergingDisks: 32772 };
const VHD_FORMAT_NUM: Record<string, number> = { VHD: 2, VHDX: 3, VHDSet: 4 };
const VHD_TYPE_NUM: Record<string, number> = { Fixed: 2, Dynamic: 3, Differencing: 4 };

type Obj =
  | { kind: 'vm'; view: VirtualMachine }
  | { kind: 'snap'; view: VMSnapshot }
  | { kind: 'drive'; view: HardDiskDrive }
  | { kind: 'vmhost'; view: Record<string, unknown> }
  | { kind: 'vhd'; view: Record<string, unknown> }
  | { kind: 'disk'; view: VhdInfo }
  | { kind: 'integration'; view: VMIntegrationComponent }
  | { kind: 'file'; view: Record<string, unknown> };

const TYPE_NAME: Record<Obj['kind'], string> = {
  vm: 'Microsoft.HyperV.PowerShell.VirtualMachine',
  snap: 'Microsoft.HyperV.PowerShell.VMSnapshot',
  drive: 'Microsoft.HyperV.PowerShell.HardDiskDrive',
  vmhost: 'Microsoft.HyperV.PowerShell.VMHost',
  vhd: 'Microsoft.Vhd.PowerShell.VirtualHardDisk',
  disk: 'Microsoft.Vhd.PowerShell.VirtualHardDisk',
  integration: 'Microsoft.HyperV.PowerShell.VMIntegrationComponent',
  file: 'System.IO.FileInfo',
};

function timeSpanMs(text: string): number {
  const m = /^(-)?(?:(\d+)\.)?(\d+):(\d\d):(\d\d)(?:\.(\d{7}))?$/.exec(text);
  if (!m) return 0;
  const ms = ((Number(m[2] ?? 0) * 24 + Number(m[3])) * 60 + Number(m[4])) * 60_000 + Number(m[5]) * 1000 + Number(m[6] ?? 0) / 10_000;
  return m[1] ? -ms : ms;
}

/** A .NET TimeSpan as ConvertTo-Json writes it. */
function timeSpanObject(ms: number): Record<string, number> {
  const ticks = Math.round(ms * 10_000);
  const abs = Math.abs(ms);
  return {
    Ticks: ticks,
    Days: Math.trunc(ms / 86_400_000),
    Hours: Math.trunc((abs / 3_600_000) % 24) * Math.sign(ms || 1),
    Milliseconds: Math.trunc(abs % 1000) * Math.sign(ms || 1),
    Minutes: Math.trunc((abs / 60_000) % 60) * Math.sign(ms || 1),
    Seconds: Math.trunc((abs / 1000) % 60) * Math.sign(ms || 1),
    TotalDays: ms / 86_400_000,
    TotalHours: ms / 3_600_000,
    TotalMilliseconds: ms,
    TotalMinutes: ms / 60_000,
    TotalSeconds: ms / 1000,
  };
}

class Shaper {
  constructor(readonly style: '5.1' | '7') {}

  private en(table: Record<string, number>, name: string): number | string {
    if (this.style === '7') return name;
    const n = table[name];
    if (n === undefined) throw new Error(`stand-in: no number for ${name}`);
    return n;
  }

  private date(isoText: string): PsDate {
    return new PsDate(Date.parse(isoText));
  }

  drive(d: HardDiskDrive): Record<string, unknown> {
    return {
      Path: d.Path,
      DiskNumber: null,
      ControllerType: this.style === '7' ? d.ControllerType : 1,
      ControllerNumber: d.ControllerNumber,
      ControllerLocation: d.ControllerLocation,
      Name: d.Name,
      Id: `Microsoft:${d.VMId.toUpperCase()}\\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\0\\${d.ControllerLocation}\\D`,
      VMName: d.VMName,
      VMId: d.VMId,
      VMSnapshotId: d.VMSnapshotId ?? '00000000-0000-0000-0000-000000000000',
      VMSnapshotName: d.VMSnapshotName ?? '',
      ComputerName: d.ComputerName,
      IsDeleted: false,
    };
  }

  vm(v: VirtualMachine): Record<string, unknown> {
    const up = timeSpanMs(v.Uptime);
    return {
      Name: v.Name,
      VMName: v.VMName,
      Id: v.Id,
      VMId: v.VMId,
      State: this.en(VM_STATE_NUM, v.State),
      Status: v.Status,
      OperationalStatus: v.OperationalStatus.map((s) => this.en(OPSTATUS_NUM, s)),
      PrimaryOperationalStatus: this.en(OPSTATUS_NUM, v.PrimaryOperationalStatus),
      ComputerName: v.ComputerName,
      CheckpointType: this.en(CHECKPOINT_TYPE_NUM, v.CheckpointType),
      ParentSnapshotId: v.ParentSnapshotId,
      ParentSnapshotName: v.ParentSnapshotName,
      MemoryStartup: v.MemoryStartup,
      MemoryAssigned: v.MemoryAssigned,
      CPUUsage: v.CPUUsage,
      Uptime: this.style === '7' ? v.Uptime : timeSpanObject(up),
      Notes: v.Notes,
      CreationTime: this.date(v.CreationTime),
      Generation: v.Generation,
      Version: v.Version,
      Path: v.Path,
      ConfigurationLocation: v.ConfigurationLocation,
      SnapshotFileLocation: v.SnapshotFileLocation,
      SmartPagingFilePath: v.SmartPagingFilePath,
      HardDrives: v.HardDrives.map((d) => this.drive(d)),
      DynamicMemoryEnabled: false,
      ProcessorCount: 1,
      AutomaticCheckpointsEnabled: false,
      IsDeleted: false,
    };
  }

  snap(s: VMSnapshot): Record<string, unknown> {
    return {
      VMName: s.VMName,
      VMId: s.VMId,
      Name: s.Name,
      Id: s.Id,
      SnapshotType: this.en(SNAPSHOT_TYPE_NUM, s.SnapshotType),
      State: this.en(VM_STATE_NUM, s.State),
      ParentSnapshotId: s.ParentSnapshotId,
      ParentSnapshotName: s.ParentSnapshotName,
      CreationTime: this.date(s.CreationTime),
      ComputerName: s.ComputerName,
      Notes: s.Notes,
      MemoryStartup: s.MemoryStartup,
      IsDeleted: s.IsDeleted,
      IsAutomaticCheckpoint: s.IsAutomaticCheckpoint,
      HardDrives: s.HardDrives.map((d) => this.drive(d)),
      Generation: 2,
      Path: s.Path,
    };
  }

  /** A VirtualHardDisk (Get-VHD): ParentPath "" for a disk without a parent, as Hyper-V writes it. */
  disk(d: VhdInfo): Record<string, unknown> {
    return {
      ComputerName: null, ...d, VhdFormat: this.en(VHD_FORMAT_NUM, d.VhdFormat), VhdType: this.en(VHD_TYPE_NUM, d.VhdType), ParentPath: d.ParentPath ?? '',
      DiskIdentifier: d.DiskIdentifier.toUpperCase(), Attached: false, DiskNumber: null,
    };
  }

  /** A VMIntegrationComponent: empty statuses as "" (not null), an Id like Hyper-V's. */
  integration(c: VMIntegrationComponent): Record<string, unknown> {
    return { ...c, PrimaryStatusDescription: c.PrimaryStatusDescription ?? '', SecondaryStatusDescription: c.SecondaryStatusDescription ?? '', Id: `Microsoft:${c.VMId.toUpperCase()}\\${c.Name}`, IsDeleted: false };
  }

  shape(o: Obj): Record<string, unknown> {
    switch (o.kind) {
      case 'disk':
        return this.disk(o.view);
      case 'integration':
        return this.integration(o.view);
      case 'vm':
        return this.vm(o.view);
      case 'snap':
        return this.snap(o.view);
      case 'drive':
        return this.drive(o.view);
      default:
        return o.view;
    }
  }

  /** Select-Object -Property props | ConvertTo-Json -Depth 4 -Compress; nothing for no objects. */
  json(objs: Obj[], props: string[]): string | null {
    if (objs.length === 0) return null;
    const rows = objs.map((o) => {
      const full = this.shape(o);
      const lower = new Map(Object.keys(full).map((k) => [k.toLowerCase(), k] as const));
      return Object.fromEntries(props.map((p) => [p, full[lower.get(p.toLowerCase()) ?? p] ?? null]));
    });
    const v = rows.length === 1 ? rows[0] : rows;
    return this.style === '7' ? json7(v) : json51(v);
  }
}

// ---------------------------------------------------------------- cmdlets

class CmdletError extends Error {
  constructor(readonly record: PsError) {
    super(record.Message);
  }
}

const CODES: Record<string, [string, string]> = {
  NOT_FOUND: ['ObjectNotFound', 'ObjectNotFound'],
  INVALID_STATE: ['InvalidState', 'InvalidOperation'],
  INVALID_ARGUMENT: ['InvalidParameter', 'InvalidArgument'],
  BUSY: ['ResourceBusy', 'ResourceBusy'],
  FAULT_INJECTED: ['OperationFailed', 'NotSpecified'],
  IO: ['OperationFailed', 'WriteError'],
};

function fqid(id: string, cmdlet: string): string {
  return `${id},Microsoft.HyperV.PowerShell.Commands.${cmdlet.replace('-', '')}`;
}

/** The simulator's error as the cmdlet would write it (its message without the "Cmdlet: " prefix). */
function record(e: unknown, cmdlet: string): PsError {
  if (e instanceof CmdletError) return e.record;
  if (e instanceof HvsimError) {
    const [id, cat] = CODES[e.code] ?? ['OperationFailed', 'NotSpecified'];
    const msg = e.message.startsWith(`${cmdlet}: `) ? e.message.slice(cmdlet.length + 2) : e.message.replace(/^[A-Z][A-Za-z]*-[A-Za-z]+: /, '');
    return { FullyQualifiedErrorId: fqid(id, cmdlet), Category: cat, Reason: 'VirtualizationException', TargetName: '', Exception: 'Microsoft.HyperV.PowerShell.VirtualizationException', Message: msg };
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`stand-in: unexpected error in ${cmdlet}: ${e instanceof Error ? e.stack : msg}\n`);
  return { FullyQualifiedErrorId: fqid('Unspecified', cmdlet), Category: 'NotSpecified', Reason: 'Exception', TargetName: '', Exception: 'System.Exception', Message: msg };
}

function bindingError(cmdlet: string, id: string, message: string): CmdletError {
  return new CmdletError({ FullyQualifiedErrorId: `${id},Microsoft.HyperV.PowerShell.Commands.${cmdlet.replace('-', '')}`, Category: 'InvalidArgument', Reason: 'ParameterBindingException', TargetName: '', Exception: 'System.Management.Automation.ParameterBindingException', Message: message });
}

type Arg = ParamValue | Obj | Obj[];
type Args = Record<string, Arg>;

interface Ctx {
  sim: Simulator;
  cmdlet: string;
  warnings: string[];
  /** Non-terminating errors (one per object). */
  errors: PsError[];
}

interface CmdletDef {
  params: string[];
  mandatory?: string[];
  run(a: Args, c: Ctx): Promise<Obj[]>;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && 'kind' in v && 'view' in v;

function objs(a: Args, name: string, kind: Obj['kind'], c: Ctx, single = false): Obj[] {
  const v = a[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) && v.every(isObj) ? (v as Obj[]) : isObj(v) ? [v] : null;
  const bad = (what: string): CmdletError =>
    bindingError(c.cmdlet, 'CannotConvertArgumentNoMessage', `Cannot bind parameter '${name}'. Cannot convert the "${what}" value of type "${typeof v}" to type "${TYPE_NAME[kind]}".`);
  if (!list) throw bad(String(v));
  if (single && list.length > 1) throw bad('System.Object[]');
  for (const o of list) if (o.kind !== kind) throw bad(TYPE_NAME[o.kind]);
  return list;
}

const str = (a: Args, k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
const num = (a: Args, k: string): number | undefined => (typeof a[k] === 'number' ? (a[k] as number) : undefined);
const flag = (a: Args, k: string): boolean => a[k] === true;
const strs = (a: Args, k: string): string[] | undefined => (typeof a[k] === 'string' ? [a[k] as string] : Array.isArray(a[k]) && (a[k] as unknown[]).every((x) => typeof x === 'string') ? (a[k] as string[]) : undefined);

async function takeWarnings(c: Ctx): Promise<void> {
  for (const w of await c.sim.takeWarnings()) c.warnings.push(w.Message.replace(/^[A-Z][A-Za-z]*-[A-Za-z]+: /, ''));
}

/** Run `fn` for each object like a cmdlet with non-terminating errors. */
async function each<T extends Obj>(list: T[], c: Ctx, fn: (o: T) => Promise<Obj | Obj[] | undefined>): Promise<Obj[]> {
  const out: Obj[] = [];
  for (const o of list) {
    try {
      const r = await fn(o);
      if (Array.isArray(r)) out.push(...r);
      else if (r) out.push(r);
    } catch (e) {
      c.errors.push(record(e, c.cmdlet));
    }
    await takeWarnings(c);
  }
  return out;
}

function checkComputer(a: Args, c: Ctx): void {
  const cn = str(a, 'ComputerName');
  if (cn === undefined) return;
  const ok = cn === '.' || cn.toLowerCase() === 'localhost' || cn.toLowerCase() === c.sim.computerName.toLowerCase();
  if (!ok)
    throw new CmdletError({ FullyQualifiedErrorId: fqid('ObjectNotFound', c.cmdlet), Category: 'ObjectNotFound', Reason: 'VirtualizationException', TargetName: cn, Exception: 'Microsoft.HyperV.PowerShell.VirtualizationException', Message: `Hyper-V was unable to find the computer "${cn}". (stand-in)` });
}

const vmObj = (v: VirtualMachine): Obj => ({ kind: 'vm', view: v });
const snapObj = (s: VMSnapshot): Obj => ({ kind: 'snap', view: s });

async function vmNow(sim: Simulator, name: string): Promise<VirtualMachine> {
  const [v] = await sim.getVM([name]);
  if (!v) throw new HvsimError('NOT_FOUND', `Hyper-V was unable to find a virtual machine with name "${name}".`);
  return v;
}

function power(fn: (sim: Simulator, name: string, a: Args) => Promise<VirtualMachine[]>): CmdletDef {
  return {
    params: ['VM', 'Passthru', 'Save', 'TurnOff', 'Force', 'Confirm', 'AsJob'],
    mandatory: ['VM'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const [v] = await fn(c.sim, (o.view as VirtualMachine).Name, a);
        return flag(a, 'Passthru') && v ? vmObj(v) : undefined;
      }),
  };
}

function integrationSetter(enabled: boolean): CmdletDef {
  return {
    params: ['VM', 'Name', 'Passthru', 'Confirm'],
    mandatory: ['VM', 'Name'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const done = await c.sim.setVMIntegrationService((o.view as VirtualMachine).Name, strs(a, 'Name')!, enabled);
        return flag(a, 'Passthru') ? done.map((x): Obj => ({ kind: 'integration', view: x })) : undefined;
      }),
  };
}

const CMDLETS: Record<string, CmdletDef> = {
  'Get-VMHost': {
    params: ['ComputerName'],
    run: async (a, c) => {
      checkComputer(a, c);
      const root = c.sim.storage.vmRoot;
      return [{ kind: 'vmhost', view: { Name: c.sim.computerName, ComputerName: c.sim.computerName, VirtualMachinePath: root, VirtualHardDiskPath: root, LogicalProcessorCount: 8 } }];
    },
  },
  'Get-VM': {
    params: ['ComputerName', 'Id'],
    run: async (a, c) => {
      checkComputer(a, c);
      const id = str(a, 'Id');
      const all = await c.sim.getVM();
      if (id === undefined) return all.map(vmObj);
      const hit = all.filter((v) => v.Id === id.toLowerCase());
      if (!hit.length) throw new HvsimError('NOT_FOUND', `Hyper-V was unable to find a virtual machine with identifier "${id}".`);
      return hit.map(vmObj);
    },
  },
  'New-VM': {
    params: ['Name', 'MemoryStartupBytes', 'Generation', 'Path', 'NewVHDPath', 'NewVHDSizeBytes', 'VHDPath', 'NoVHD', 'ComputerName'],
    mandatory: ['Name'],
    run: async (a, c) => {
      checkComputer(a, c);
      const name = str(a, 'Name')!;
      const root = c.sim.storage.vmRoot;
      const gen = num(a, 'Generation') ?? 1;
      if (gen !== 2) throw new HvsimError('INVALID_ARGUMENT', `New-VM: the stand-in simulates generation 2 virtual machines only (asked for ${gen})`);
      const p = str(a, 'Path');
      if (p !== undefined && p !== root) throw new HvsimError('INVALID_ARGUMENT', `New-VM: the stand-in keeps virtual machines under ${root}, not ${p}`);
      const vhd = str(a, 'VHDPath');
      const newVhd = str(a, 'NewVHDPath');
      const opts: Parameters<Simulator['newVM']>[0] = { name };
      const mem = num(a, 'MemoryStartupBytes');
      if (mem !== undefined) opts.memory = mem;
      if (vhd !== undefined) opts.vhdPath = vhd;
      else {
        const want = path.posix.join(root, name, 'Virtual Hard Disks', `${name}.vhdx`);
        if (newVhd !== want) throw new HvsimError('INVALID_ARGUMENT', `New-VM: the stand-in creates a new VM's disk at ${want}, not ${String(newVhd)}`);
        const size = num(a, 'NewVHDSizeBytes');
        if (size !== undefined) opts.diskSize = size;
      }
      return [vmObj(await c.sim.newVM(opts))];
    },
  },
  'Set-VM': {
    params: ['VM', 'CheckpointType', 'Notes', 'MemoryStartupBytes', 'AutomaticCheckpointsEnabled', 'Passthru'],
    mandatory: ['VM'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const name = (o.view as VirtualMachine).Name;
        if (a.AutomaticCheckpointsEnabled === true) throw new HvsimError('INVALID_ARGUMENT', 'Set-VM: the stand-in simulates no automatic checkpoints');
        const t = a.CheckpointType;
        const type = typeof t === 'number' ? Object.entries(CHECKPOINT_TYPE_NUM).find(([, n]) => n === t)?.[0] : typeof t === 'string' ? Object.keys(CHECKPOINT_TYPE_NUM).find((k) => k.toLowerCase() === t.toLowerCase()) : undefined;
        if (t !== undefined && type === undefined)
          throw bindingError('Set-VM', 'ParameterArgumentTransformationError', `Cannot bind parameter 'CheckpointType'. Cannot convert value "${String(t)}" to type "Microsoft.HyperV.PowerShell.CheckpointType".`);
        const opts: Parameters<Simulator['setVM']>[1] = {};
        if (type !== undefined) opts.checkpointType = type as NonNullable<typeof opts.checkpointType>;
        if (str(a, 'Notes') !== undefined) opts.notes = str(a, 'Notes')!;
        if (num(a, 'MemoryStartupBytes') !== undefined) opts.memory = num(a, 'MemoryStartupBytes')!;
        const [v] = Object.keys(opts).length ? await c.sim.setVM([name], opts) : [await vmNow(c.sim, name)];
        return flag(a, 'Passthru') && v ? vmObj(v) : undefined;
      }),
  },
  'Start-VM': power((sim, n) => sim.startVM([n])),
  'Suspend-VM': power((sim, n) => sim.suspendVM([n])),
  'Resume-VM': power((sim, n) => sim.resumeVM([n])),
  'Save-VM': power((sim, n) => sim.saveVM([n])),
  'Wait-VM': {
    params: ['VM', 'For', 'Timeout', 'Passthru'],
    mandatory: ['VM'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const what = str(a, 'For') ?? 'Heartbeat';
        const kind = WAIT_VM_FOR.find((k) => k.toLowerCase() === what.toLowerCase());
        if (kind === undefined) throw bindingError('Wait-VM', 'ParameterArgumentTransformationError', `Cannot bind parameter 'For'. Cannot convert value "${what}" to type "Microsoft.HyperV.PowerShell.WaitVMTypes".`);
        const t = num(a, 'Timeout');
        const [v] = await c.sim.waitVMGuest([(o.view as VirtualMachine).Name], { for: kind, ...(t !== undefined ? { timeoutSeconds: t } : {}) });
        return flag(a, 'Passthru') && v ? vmObj(v) : undefined;
      }),
  },
  'Stop-VM': power((sim, n, a) => sim.stopVM([n], { save: flag(a, 'Save'), turnOff: flag(a, 'TurnOff') })),
  'Checkpoint-VM': {
    params: ['VM', 'SnapshotName', 'Passthru', 'AsJob'],
    mandatory: ['VM'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const sn = str(a, 'SnapshotName');
        const [s] = await c.sim.checkpointVM([(o.view as VirtualMachine).Name], sn !== undefined ? { snapshotName: sn } : {});
        return flag(a, 'Passthru') && s ? snapObj(s) : undefined;
      }),
  },
  'Get-VMSnapshot': {
    params: ['VM'],
    mandatory: ['VM'],
    run: (a, c) => each(objs(a, 'VM', 'vm', c), c, async (o) => (await c.sim.getVMSnapshot({ vmNames: [(o.view as VirtualMachine).Name] })).map(snapObj)),
  },
  'Restore-VMSnapshot': {
    params: ['VMSnapshot', 'Confirm', 'Passthru', 'AsJob'],
    mandatory: ['VMSnapshot'],
    run: (a, c) =>
      each(objs(a, 'VMSnapshot', 'snap', c, true), c, async (o) => {
        if (a.Confirm !== false) throw new HvsimError('INVALID_STATE', 'PowerShell is in NonInteractive mode. Read and Prompt functionality is not available. (Restore-VMSnapshot asks for confirmation without -Confirm:$false)');
        const s = o.view as VMSnapshot;
        const r = await c.sim.restoreVMSnapshot({ vmName: s.VMName, id: s.Id });
        return flag(a, 'Passthru') ? snapObj(r) : undefined;
      }),
  },
  'Remove-VMSnapshot': {
    params: ['VMSnapshot', 'IncludeAllChildSnapshots', 'Confirm', 'Passthru', 'AsJob'],
    mandatory: ['VMSnapshot'],
    run: (a, c) =>
      each(objs(a, 'VMSnapshot', 'snap', c), c, async (o) => {
        const s = o.view as VMSnapshot;
        const still = await c.sim.getVMSnapshot({ vmNames: [s.VMName], id: s.Id });
        if (!still.length) throw new HvsimError('NOT_FOUND', `Hyper-V was unable to find the checkpoint "${s.Name}" of "${s.VMName}".`);
        // The cmdlet returns at once; Hyper-V merges in the background.
        await c.sim.removeVMSnapshot({ vmNames: [s.VMName], id: s.Id }, { includeAllChildSnapshots: flag(a, 'IncludeAllChildSnapshots'), wait: false });
        return undefined;
      }),
  },
  'Rename-VMSnapshot': {
    params: ['VMSnapshot', 'NewName', 'Passthru'],
    mandatory: ['VMSnapshot', 'NewName'],
    run: (a, c) =>
      each(objs(a, 'VMSnapshot', 'snap', c, true), c, async (o) => {
        const s = o.view as VMSnapshot;
        const r = await c.sim.renameVMSnapshot({ vmName: s.VMName, id: s.Id }, str(a, 'NewName')!);
        return flag(a, 'Passthru') ? snapObj(r) : undefined;
      }),
  },
  'Export-VMSnapshot': {
    params: ['VMSnapshot', 'Path', 'AsJob', 'Passthru'],
    mandatory: ['VMSnapshot', 'Path'],
    run: (a, c) =>
      each(objs(a, 'VMSnapshot', 'snap', c), c, async (o) => {
        const s = o.view as VMSnapshot;
        await c.sim.exportVMSnapshot({ vmName: s.VMName, id: s.Id }, str(a, 'Path')!);
        return undefined;
      }),
  },
  'Get-VMHardDiskDrive': {
    params: ['VM', 'VMSnapshot'],
    run: async (a, c) => {
      const vms = objs(a, 'VM', 'vm', c);
      const snaps = objs(a, 'VMSnapshot', 'snap', c, true);
      if (vms.length && snaps.length) throw bindingError('Get-VMHardDiskDrive', 'AmbiguousParameterSet', 'Parameter set cannot be resolved using the specified named parameters.');
      if (snaps.length) return each(snaps, c, async (o) => (await c.sim.getVMHardDiskDrive((o.view as VMSnapshot).VMName, (o.view as VMSnapshot).Id)).map((d): Obj => ({ kind: 'drive', view: d })));
      return each(vms, c, async (o) => (await c.sim.getVMHardDiskDrive((o.view as VirtualMachine).Name)).map((d): Obj => ({ kind: 'drive', view: d })));
    },
  },
  'Add-VMHardDiskDrive': {
    params: ['VM', 'Path', 'ControllerType', 'Passthru'],
    mandatory: ['VM', 'Path'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const d = await c.sim.addVMHardDiskDrive((o.view as VirtualMachine).Name, { path: str(a, 'Path')! });
        return flag(a, 'Passthru') ? { kind: 'drive', view: d } : undefined;
      }),
  },
  'New-VHD': {
    params: ['Path', 'SizeBytes', 'Dynamic', 'ComputerName'],
    mandatory: ['Path', 'SizeBytes'],
    run: async (a, c) => {
      checkComputer(a, c);
      const p = str(a, 'Path')!;
      const store = c.sim.storage.store;
      if (store.exists(p)) throw new HvsimError('INVALID_STATE', `Failed to create the virtual hard disk. The file exists. (0x80070050) (${p})`);
      c.sim.storage.mkdirp(path.posix.dirname(p));
      const f = store.create(p);
      createDiskFile(f, 'VHDX', { virtualSize: num(a, 'SizeBytes')!, blockSize: 2 * 1024 * 1024 }).close();
      return [{ kind: 'vhd', view: { Path: p, Size: num(a, 'SizeBytes'), VhdFormat: 3, VhdType: 3 } }];
    },
  },
  'Get-VHD': {
    params: ['VMId', 'Path', 'ComputerName'],
    run: async (a, c) => {
      checkComputer(a, c);
      const file = str(a, 'Path');
      if (file !== undefined) {
        if (!c.sim.storage.store.exists(file)) throw new HvsimError('NOT_FOUND', `Getting the mounted storage instance for the path '${file}' failed. The system cannot find the file specified. (stand-in: unable to find ${file})`);
        const img = openLayer(c.sim.storage.store, file, false);
        try {
          return [{ kind: 'disk', view: img.info() }];
        } finally {
          img.close();
        }
      }
      if (a.VMId === undefined) throw bindingError('Get-VHD', 'AmbiguousParameterSet', 'Parameter set cannot be resolved using the specified named parameters.');
      const id = String(a.VMId).toLowerCase();
      const vm = (await c.sim.getVM()).find((v) => v.Id === id);
      if (!vm) throw new HvsimError('NOT_FOUND', `Hyper-V was unable to find a virtual machine with identifier "${id}".`);
      const out: Obj[] = [];
      for (let i = 0; i < vm.HardDrives.length; i++)
        out.push({ kind: 'vhd', view: { Path: vm.HardDrives[i]!.Path, Size: await c.sim.diskSize(vm.Name, i), VhdFormat: 3, VhdType: 4, ParentPath: null } });
      return out;
    },
  },
  'Merge-VHD': {
    params: ['Path', 'DestinationPath', 'Force', 'Passthru', 'ComputerName', 'AsJob'],
    mandatory: ['Path'],
    run: async (a, c) => {
      checkComputer(a, c);
      const d = str(a, 'DestinationPath');
      const info = await c.sim.mergeVHD(str(a, 'Path')!, { ...(d !== undefined ? { destinationPath: d } : {}), ...(flag(a, 'Force') ? { force: true } : {}) });
      return flag(a, 'Passthru') ? [{ kind: 'disk', view: info }] : [];
    },
  },
  'Export-VM': {
    params: ['VM', 'Path', 'AsJob', 'Passthru'],
    mandatory: ['VM', 'Path'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        await c.sim.exportVM((o.view as VirtualMachine).Name, str(a, 'Path')!);
        return flag(a, 'Passthru') ? vmObj(await vmNow(c.sim, (o.view as VirtualMachine).Name)) : undefined;
      }),
  },
  'Import-VM': {
    params: ['Path', 'Register', 'Copy', 'VhdDestinationPath', 'VirtualMachinePath', 'SnapshotFilePath', 'GenerateNewId', 'ComputerName', 'AsJob'],
    mandatory: ['Path'],
    run: async (a, c) => {
      checkComputer(a, c);
      // The Copy parameter set's parameters need -Copy (it is mandatory there: module stub).
      if (!flag(a, 'Copy') && ['VhdDestinationPath', 'VirtualMachinePath', 'SnapshotFilePath', 'GenerateNewId'].some((k) => a[k] !== undefined))
        throw bindingError('Import-VM', 'MissingMandatoryParameter', 'Cannot process command because of one or more missing mandatory parameters: Copy.');
      const opt = (k: string): string | undefined => str(a, k);
      const vm = await c.sim.importVM(str(a, 'Path')!, {
        ...(flag(a, 'Copy') ? { copy: true } : {}),
        ...(flag(a, 'GenerateNewId') ? { generateNewId: true } : {}),
        ...(opt('VhdDestinationPath') !== undefined ? { vhdDestinationPath: opt('VhdDestinationPath')! } : {}),
        ...(opt('VirtualMachinePath') !== undefined ? { virtualMachinePath: opt('VirtualMachinePath')! } : {}),
        ...(opt('SnapshotFilePath') !== undefined ? { snapshotFilePath: opt('SnapshotFilePath')! } : {}),
      });
      return [vmObj(vm)];
    },
  },
  'Remove-VM': {
    params: ['VM', 'Force', 'Passthru', 'Confirm', 'AsJob'],
    mandatory: ['VM'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) => {
        const [v] = await c.sim.removeVM([(o.view as VirtualMachine).Name]);
        return flag(a, 'Passthru') && v ? vmObj(v) : undefined;
      }),
  },
  'Get-VMIntegrationService': {
    params: ['VM', 'Name'],
    mandatory: ['VM'],
    run: (a, c) =>
      each(objs(a, 'VM', 'vm', c), c, async (o) =>
        (await c.sim.getVMIntegrationService((o.view as VirtualMachine).Name, strs(a, 'Name'))).map((x): Obj => ({ kind: 'integration', view: x })),
      ),
  },
  'Enable-VMIntegrationService': integrationSetter(true),
  'Disable-VMIntegrationService': integrationSetter(false),
  'Get-ChildItem': {
    params: ['LiteralPath', 'File'],
    mandatory: ['LiteralPath'],
    run: async (a, c) => {
      const dir = str(a, 'LiteralPath')!;
      let names: string[];
      try {
        names = c.sim.storage.store.list(dir);
      } catch {
        throw new CmdletError({ FullyQualifiedErrorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetChildItemCommand', Category: 'ObjectNotFound', Reason: 'ItemNotFoundException', TargetName: dir, Exception: 'System.Management.Automation.ItemNotFoundException', Message: `Cannot find path '${dir}' because it does not exist.` });
      }
      const store = c.sim.storage.store;
      return names.map((n) => path.posix.join(dir, n)).filter((p) => store.exists(p)).map((p): Obj => ({ kind: 'file', view: { FullName: p, Name: path.posix.basename(p) } }));
    },
  },
};

async function runCmdlet(sim: Simulator, cmdlet: string, a: Args): Promise<{ objs: Obj[]; errors: PsError[]; warnings: string[] }> {
  const def = CMDLETS[cmdlet];
  const c: Ctx = { sim, cmdlet, warnings: [], errors: [] };
  if (!def || COMMANDS[cmdlet] === undefined) throw new Error(`stand-in: no cmdlet ${cmdlet}`);
  try {
    for (const k of Object.keys(a))
      if (!def.params.includes(k)) throw bindingError(cmdlet, 'NamedParameterNotFound', `A parameter cannot be found that matches parameter name '${k}'.`);
    const missing = (def.mandatory ?? []).filter((k) => a[k] === undefined);
    if (missing.length) throw bindingError(cmdlet, 'MissingMandatoryParameter', `Cannot process command because of one or more missing mandatory parameters: ${missing.join(' ')}.`);
    const objs = await def.run(a, c);
    await takeWarnings(c);
    return { objs, errors: c.errors, warnings: c.warnings };
  } catch (e) {
    await takeWarnings(c);
    return { objs: [], errors: [...c.errors, record(e, cmdlet)], warnings: c.warnings };
  }
}

/** What the script does with one request (the same step semantics, over the simulator). */
async function runRequest(sim: Simulator, req: Request, shaper: Shaper): Promise<StepResult[]> {
  const results: Obj[][] = [];
  const states: Array<StepResult['s']> = [];
  const out: StepResult[] = [];
  for (let i = 0; i < req.steps.length; i++) {
    const s: Step = req.steps[i]!;
    const ins = inputsOf(s);
    if (ins.some((x) => x < 0 || x >= i)) throw new HvsimError('INVALID_ARGUMENT', 'hvsim: a step uses a later step');
    let state: StepResult['s'] = ins.some((x) => states[x] !== 'ok') ? 'skipped' : 'ok';
    let objsOut: Obj[] = [];
    const errors: PsError[] = [];
    const warnings: string[] = [];
    let json: string | null = null;
    if (state === 'ok') {
      if (isFilter(s)) {
        const want = s.v.map((v) => v.toLowerCase());
        objsOut = (results[s.f] ?? []).filter((o) => {
          const full = shaper.shape(o);
          const key = Object.keys(full).find((k) => k.toLowerCase() === s.k.toLowerCase());
          const val = key === undefined ? undefined : full[key];
          return val !== undefined && val !== null && want.includes(String(val).toLowerCase());
        });
        if (s.n !== undefined && objsOut.length !== s.n) {
          state = 'failed';
          errors.push({ FullyQualifiedErrorId: 'ObjectNotFound,Hvsim.Select', Category: 'ObjectNotFound', Reason: 'Hvsim', TargetName: s.k, Exception: '', Message: `${objsOut.length} objects have the ${s.k} asked for, not ${s.n}` });
        }
      } else {
        const a: Args = { ...(s.p ?? {}) };
        let empty = false;
        for (const [k, ref] of Object.entries(s.r ?? {})) {
          const v = results[ref] ?? [];
          if (v.length === 0) empty = true;
          else a[k] = v.length === 1 ? v[0]! : v;
        }
        if (!empty) {
          const r = await runCmdlet(sim, s.c, a);
          objsOut = r.objs;
          errors.push(...r.errors);
          warnings.push(...r.warnings);
          if (errors.length) state = 'failed';
        }
      }
      if (s.o) json = shaper.json(objsOut, s.o);
    }
    results.push(objsOut);
    states.push(state);
    out.push({ s: state, j: json, e: errors, w: warnings });
  }
  return out;
}

/** The script's HvWrite: compressed JSON with everything outside printable ASCII as \uXXXX. */
function writeLine(o: unknown): void {
  const t = JSON.stringify(o).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  process.stdout.write(LINE_PREFIX + t + '\n');
}

function readConfig(): StandInConfig {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'standin.json'), 'utf8')) as StandInConfig;
}

function takeFaults(): string[] {
  const f = path.join(ROOT, 'faults.json');
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as string[];
  } catch {
    return [];
  }
}

function putFaults(list: string[]): void {
  fs.writeFileSync(path.join(ROOT, 'faults.json'), JSON.stringify(list));
}

function openSim(cfg: StandInConfig, faults: string[]): Simulator {
  const common = {
    computerName: cfg.computerName,
    startTime: cfg.startTime,
    clockMode: 'simulated' as const,
    faults,
    ...(cfg.timeZone !== undefined ? { timeZone: cfg.timeZone } : {}),
    ...(cfg.defaultDiskSize !== undefined ? { defaultDiskSize: cfg.defaultDiskSize } : {}),
    ...(cfg.defaultMemory !== undefined ? { defaultMemory: cfg.defaultMemory } : {}),
  };
  if (cfg.storage === 'directory') return Simulator.open({ ...common, storage: new DirectoryStorage(path.join(ROOT, 'host')) });
  return Simulator.open({ ...common, storage: new MemoryStorage() });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const expected = ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand'];
  const encoded = argv[4] ?? '';
  const script = Buffer.from(encoded, 'base64').toString('utf16le');
  const argsOk = argv.length === 5 && expected.every((x, i) => argv[i] === x);
  const scriptOk = script === SCRIPT;
  log('invocations.jsonl', { pid: process.pid, argv, argsOk, scriptOk });
  if (!argsOk || !scriptOk) {
    process.stderr.write(
      'stand-in PowerShell : refusing to run: only hvsim\'s fixed script may be run (-NoLogo -NoProfile -NonInteractive -EncodedCommand <script.ts SCRIPT>)\n' +
        '    + CategoryInfo          : SecurityError: (:) [], ParentContainsErrorRecordException\n' +
        '    + FullyQualifiedErrorId : StandInRefused\n',
    );
    return 1;
  }
  const cfg = readConfig();
  const shaper = new Shaper(cfg.style);
  writeLine({ ready: true, ps: cfg.style === '7' ? '7.4.6' : '5.1.20348.2849', edition: cfg.style === '7' ? 'Core' : 'Desktop' });
  let kept: Simulator | undefined;
  let buf = '';
  const lines: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  process.stdin.on('end', () => {
    if (buf.length) lines.push(buf);
    ended = true;
    wake?.();
  });
  for (;;) {
    while (lines.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
    const line = lines.shift();
    if (line === undefined || line.trim() === '') break;
    let req: Request | undefined;
    try {
      req = decodeRequest(line);
      log('requests.jsonl', { pid: process.pid, request: req });
      // A test asks for a new host (of the same configuration) by creating the file "reset".
      if (fs.existsSync(path.join(ROOT, 'reset'))) {
        fs.unlinkSync(path.join(ROOT, 'reset'));
        kept?.close();
        kept = undefined;
        fs.rmSync(path.join(ROOT, 'host'), { recursive: true, force: true });
      }
      const faults = takeFaults();
      let sim: Simulator;
      if (cfg.storage === 'memory') {
        kept ??= openSim(cfg, []);
        sim = kept;
        for (const f of faults) sim.faults.add(f);
        if (faults.length) putFaults([]);
      } else sim = openSim(cfg, faults);
      try {
        if (cfg.tickMs > 0) await sim.advance(cfg.tickMs);
        const steps = await runRequest(sim, req, shaper);
        writeLine({ id: req.id, ok: true, steps });
      } finally {
        if (cfg.storage === 'directory') {
          putFaults(sim.faults.pending().map((f) => `${f.op}:${f.vm}${f.nth > 1 ? `:${f.nth}` : ''}`));
          sim.close();
        }
      }
    } catch (e) {
      const r = record(e, 'hvsim');
      writeLine({ id: req?.id ?? null, ok: false, error: { ...r, FullyQualifiedErrorId: 'RuntimeException' } });
    }
  }
  kept?.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`stand-in PowerShell: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
