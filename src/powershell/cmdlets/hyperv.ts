/**
 * The Hyper-V cmdlets on the Host interface, with the parameter names, aliases, positions and
 * parameter sets of docs/hyperv.md, "Cmdlets". Names are acted on one VM at a time so each failure
 * is its own error record, as in PowerShell. Host objects become PsObjects (times as dates, the
 * host object kept in `source`).
 */
import { CHECKPOINT_TYPES, WAIT_VM_FOR, type HardDiskDrive, type SnapshotQuery, type VirtualMachine, type VMIntegrationComponent, type VMSnapshot } from '../../host/host.js';
import { HvsimError, type HvsimErrorCode } from '../../errors.js';
import { type Bound, type CmdletContext, type CmdletDef, type ParamDef } from '../cmdlet.js';
import { toStr } from '../convert.js';
import { DRIVE_TYPE, HV, INTEGRATION_TYPE, SNAPSHOT_TYPE, VM_TYPE } from '../views.js';
import { PsObject, type PsErrorCategory, type PsValue } from '../value.js';
import type { VhdInfo } from '../../host/host.js';
import { place } from './files.js';
import { cimSessionComputers } from './cim.js';
import { hostMethod, remoteComputerMessage } from '../../host/messages.js';

/**
 * A host error's ErrorCategory (docs/powershell.md, "Errors"): not found → ObjectNotFound, wrong
 * state → InvalidOperation, bad argument → InvalidArgument, busy → ResourceBusy. The error id is
 * "<category>,<the cmdlet's class>" (see hostErrorId). Used by the interpreter and by hvsim serve.
 */
export const HOST_ERROR_CATEGORY: Partial<Record<HvsimErrorCode, PsErrorCategory>> = {
  NOT_FOUND: 'ObjectNotFound',
  INVALID_STATE: 'InvalidOperation',
  INVALID_ARGUMENT: 'InvalidArgument',
  BUSY: 'ResourceBusy',
  READ_ONLY: 'InvalidOperation',
  PARENT_MISSING: 'ObjectNotFound',
  PARENT_MISMATCH: 'InvalidData',
  CORRUPT: 'InvalidData',
  CHAIN: 'InvalidData',
  IO: 'WriteError',
  UNSUPPORTED: 'NotImplemented',
  FAULT_INJECTED: 'NotSpecified',
};

/** FullyQualifiedErrorId of a Hyper-V cmdlet's error: "ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM". */
export const hostErrorId = (category: string, def: CmdletDef): string => `${category},${def.className}`;

/**
 * Get-VM reports a missing VM as a bad argument, not as ObjectNotFound: FullyQualifiedErrorId
 * "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM", category InvalidArgument
 * (docs/hyperv.md, "Error texts"); the other cmdlets use ObjectNotFound.
 */
const NOT_FOUND_AS: Readonly<Record<string, { category: PsErrorCategory; id: string }>> = {
  'get-vm': { category: 'InvalidArgument', id: 'InvalidParameter' },
};

/** The category and FullyQualifiedErrorId of a host error (or a bare message) from cmdlet `def`. */
export function hostErrorKind(e: HvsimError | string, def: CmdletDef): { category: PsErrorCategory; errorId: string } {
  if (typeof e === 'string') return { category: 'NotSpecified', errorId: hostErrorId('NotSpecified', def) };
  const special = e.code === 'NOT_FOUND' ? NOT_FOUND_AS[def.name.toLowerCase()] : undefined;
  if (special) return { category: special.category, errorId: hostErrorId(special.id, def) };
  const category = HOST_ERROR_CATEGORY[e.code] ?? 'NotSpecified';
  return { category, errorId: hostErrorId(category, def) };
}

/**
 * -ComputerName naming a computer hvsim does not simulate: Hyper-V's ConnectionError record
 * (id HyperVCommunicationError; its text lives in host/messages.ts), for hvsim run and serve alike.
 */
export const unreachableComputer = (name: string, simulated: readonly string[], className: string): { message: string; category: 'ConnectionError'; id: string; target: string; reason: string } => ({
  message: remoteComputerMessage(name, simulated),
  category: 'ConnectionError',
  id: `HyperVCommunicationError,${className}`,
  target: name,
  reason: 'VirtualizationException',
});

const TIME_PROPS = new Set(['CreationTime', 'MergeCompletionTime']);

function convertProp(key: string, v: unknown): PsValue {
  if (v === null || v === undefined) return null;
  if (TIME_PROPS.has(key) && typeof v === 'string') return new Date(Date.parse(v));
  if (key === 'HardDrives' && Array.isArray(v)) return (v as HardDiskDrive[]).map(driveObject);
  if (Array.isArray(v)) return v.map((x) => convertProp('', x));
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return toStr(String(v));
}

function toObject(typeNames: string[], o: object): PsObject {
  return new PsObject(typeNames, Object.entries(o).map(([k, v]) => [k, convertProp(k, v)] as [string, PsValue]), o);
}

/** Properties the real objects do not have (host.ts marks them "hvsim"): readable, but not listed. */
const VM_EXTRAS = ['MergeCompletionTime', 'GuestSupportsProductionCheckpoints'];
const SNAPSHOT_EXTRAS = ['CheckpointType', 'GroupId', 'GroupMembers'];

export const vmObject = (vm: VirtualMachine): PsObject => toObject([VM_TYPE, `${HV}.VirtualMachineBase`, 'System.Object'], vm).hide(VM_EXTRAS);
export const snapshotObject = (s: VMSnapshot): PsObject => toObject([SNAPSHOT_TYPE, `${HV}.VirtualMachineBase`, 'System.Object'], s).hide(SNAPSHOT_EXTRAS);
export const driveObject = (d: HardDiskDrive): PsObject => toObject([DRIVE_TYPE, `${HV}.HardDriveBase`, 'System.Object'], d);
export const integrationObject = (c: VMIntegrationComponent): PsObject => toObject([INTEGRATION_TYPE, `${HV}.VMDevice`, 'System.Object'], c);

/** Get-VHD's object (https://learn.microsoft.com/powershell/module/hyper-v/get-vhd, OUTPUTS). */
export const VHD_TYPE = 'Microsoft.Vhd.PowerShell.VirtualHardDisk';
export const vhdProperties = (info: VhdInfo, computerName: string, attached: boolean): Record<string, unknown> => ({ ComputerName: computerName, ...info, Attached: attached, DiskNumber: null });
export const vhdObject = (info: VhdInfo, computerName: string, attached: boolean): PsObject => toObject([VHD_TYPE, 'System.Object'], vhdProperties(info, computerName, attached));

// ------------------------------------------------------------ parameter building blocks

const remote = (sets?: string[]): ParamDef[] => [
  { name: 'ComputerName', type: 'string[]', ...(sets ? { sets } : {}) },
  { name: 'CimSession', type: 'object[]', ...(sets ? { sets } : {}) },
  { name: 'Credential', type: 'object[]', unsupported: '-Credential is' },
];
/** -AsJob: the interpreter runs the call as a background job (jobs.ts). */
const asJob: ParamDef = { name: 'AsJob', type: 'switch' };
const passthru: ParamDef = { name: 'Passthru', type: 'switch' };
const vmNameParam = (set: string, extra: Partial<ParamDef> = {}): ParamDef => ({ name: 'Name', type: 'string[]', aliases: ['VMName'], position: 0, sets: [set], mandatory: true, ...extra });
const vmObjParam = (set: string, type: 'vm' | 'vm[]' = 'vm[]'): ParamDef => ({ name: 'VM', type, position: 0, sets: [set], pipeline: true, mandatory: true });
const snapObjParam = (set: string, type: 'snapshot' | 'snapshot[]'): ParamDef => ({ name: 'VMSnapshot', aliases: ['VMCheckpoint'], type, position: 0, sets: [set], pipeline: true, mandatory: true });

const className = (cmdlet: string): string => `Microsoft.HyperV.PowerShell.Commands.${cmdlet.replace('-', '')}`;

/** Names of the VMs a call is about: -VM objects or -Name/-VMName strings. */
function vmNames(b: Bound, nameParam = 'Name'): string[] {
  const objs = b.objs('VM');
  if (objs) return objs.map((o) => toStr(o.get('Name') ?? null));
  return b.strs(nameParam) ?? [];
}

const snapRefOf = (o: PsObject): { vmName: string; id: string; name: string } => ({
  vmName: toStr(o.get('VMName') ?? null),
  id: toStr(o.get('Id') ?? null),
  name: toStr(o.get('Name') ?? null),
});

/** Run `fn`; a host error becomes a non-terminating error record (CategoryInfo "(:)", as Hyper-V's). */
async function attempt(ctx: CmdletContext, _target: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof HvsimError)) throw e;
    ctx.error(e);
  }
}

/**
 * The computers a call names: -ComputerName, or the ComputerName of each -CimSession (cim.ts);
 * undefined: the session's host. Both at once are refused (hvsim's wording: the documented syntax
 * lists them in one parameter set and what Hyper-V does with both is unverified, docs/hyperv.md).
 */
function computerNames(b: Bound): string[] | undefined {
  const sessions = b.get('CimSession');
  if (sessions === undefined) return b.strs('ComputerName');
  if (b.has('ComputerName')) throw new HvsimError('INVALID_ARGUMENT', 'Specify either -ComputerName or -CimSession, not both.');
  return cimSessionComputers(sessions);
}

const OBJECT_PARAMS: ReadonlySet<ParamDef['type']> = new Set(['vm', 'vm[]', 'snapshot', 'snapshot[]', 'vmbase', 'integration[]']);

/**
 * Hyper-V objects given to a cmdlet (-VM, -VMSnapshot, piped) carry the computer they came from,
 * and the cmdlet acts there: the objects grouped by their ComputerName, each group with a Bound
 * holding only its own objects. Undefined when the call has no such objects.
 */
function byObjectComputer(params: ParamDef[], b: Bound): Array<{ computer: string; b: Bound }> | undefined {
  const p = params.find((x) => OBJECT_PARAMS.has(x.type) && b.has(x.name));
  if (p === undefined) return undefined;
  const v = b.get(p.name)!;
  const groups = new Map<string, { computer: string; objs: PsValue[] }>();
  for (const o of Array.isArray(v) ? v : [v]) {
    const computer = o instanceof PsObject ? toStr(o.get('ComputerName') ?? null) : '';
    const g = groups.get(computer.toLowerCase()) ?? { computer, objs: [] };
    g.objs.push(o);
    groups.set(computer.toLowerCase(), g);
  }
  if (groups.size === 1) return [{ computer: [...groups.values()][0]!.computer, b }];
  return [...groups.values()].map((g) => ({
    computer: g.computer,
    b: Object.assign(Object.create(b) as Bound, { get: (n: string): PsValue | undefined => (n.toLowerCase() === p.name.toLowerCase() ? g.objs : b.get(n)) }),
  }));
}

/**
 * A Hyper-V cmdlet: it acts on each host -ComputerName or -CimSession names (host/farm.ts), else
 * on the host its objects came from, else on the session's host.
 */
function def(name: string, params: ParamDef[], run: CmdletDef['run'], extra: Partial<CmdletDef> = {}): CmdletDef {
  const onHost: CmdletDef['run'] = async (ctx, b, input) => {
    let names: string[] | undefined;
    try {
      names = computerNames(b);
    } catch (e) {
      return ctx.error(e);
    }
    const groups = names === undefined ? byObjectComputer(params, b) : undefined;
    for (const g of groups ?? [{ computer: '', b }]) {
      const hosts = names !== undefined ? ctx.computers(names) : g.computer === '' ? [ctx.host] : ctx.computers([g.computer]);
      for (const host of hosts) await run(host === ctx.host ? ctx : { ...ctx, host }, g.b, input);
    }
  };
  return { name, className: className(name), params, run: onHost, confirmImpact: 'Medium', ...extra };
}

/** Each named VM in turn, with its own ShouldProcess and error record; -Passthru writes what `fn` returns. */
async function eachVM<T>(ctx: CmdletContext, b: Bound, nameParam: string, fn: (name: string) => Promise<T[]>, toObject: (x: T) => PsObject): Promise<void> {
  for (const n of vmNames(b, nameParam)) {
    if (!ctx.shouldProcess(n)) continue;
    await attempt(ctx, n, async () => {
      const done = await fn(n);
      if (b.flag('Passthru')) done.forEach((x) => ctx.emit(toObject(x)));
    });
  }
}

// ------------------------------------------------------------ VMs

const getVM = def(
  'Get-VM',
  [{ name: 'Name', type: 'string[]', aliases: ['VMName'], position: 0, sets: ['Name'] }, { name: 'Id', type: 'string', position: 0, sets: ['Id'], mandatory: true }, { name: 'ClusterObject', type: 'object', sets: ['ClusterObject'], unsupported: '-ClusterObject is' }, ...remote(['Name', 'Id'])],
  async (ctx, b) => {
    if (b.has('Id')) {
      const want = b.str('Id')!.replace(/[{}]/g, '').toLowerCase();
      const hit = (await ctx.host.getVM()).filter((v) => v.Id.toLowerCase() === want);
      if (hit.length === 0) ctx.error(new HvsimError('NOT_FOUND', `Hyper-V was unable to find a virtual machine with ID "${b.str('Id')}".`), b.str('Id'));
      hit.forEach((v) => ctx.emit(vmObject(v)));
      return;
    }
    const names = b.strs('Name');
    if (!names) return (await ctx.host.getVM()).forEach((v) => ctx.emit(vmObject(v)));
    for (const n of names) await attempt(ctx, n, async () => (await ctx.host.getVM([n])).forEach((v) => ctx.emit(vmObject(v))));
  },
  { sets: ['Name', 'Id', 'ClusterObject'], confirmImpact: undefined },
);

const setVMUnsupported = ['ProcessorCount', 'DynamicMemory', 'StaticMemory', 'MemoryMinimumBytes', 'MemoryMaximumBytes', 'AutomaticStartAction', 'AutomaticStopAction', 'AutomaticStartDelay', 'NewVMName', 'AutomaticCriticalErrorAction', 'LockOnDisconnect'].map(
  (name): ParamDef => ({ name, type: 'object', unsupported: `Set-VM -${name} is` }),
);

const newVM = def(
  'New-VM',
  [
    { name: 'Name', type: 'string', aliases: ['VMName'], position: 0 },
    { name: 'MemoryStartupBytes', type: 'int', position: 1 },
    { name: 'Generation', type: 'int', position: 2 },
    { name: 'NewVHDPath', type: 'string' },
    { name: 'NewVHDSizeBytes', type: 'int' },
    { name: 'VHDPath', type: 'string' },
    { name: 'Path', type: 'string' },
    { name: 'SwitchName', type: 'string' },
    { name: 'NoVHD', type: 'switch', unsupported: 'New-VM -NoVHD (hvsim VMs always have a disk) is' },
    { name: 'BootDevice', type: 'string', unsupported: 'New-VM -BootDevice is' },
    { name: 'Version', type: 'string', unsupported: 'New-VM -Version is' },
    asJob,
    ...remote(),
  ],
  async (ctx, b) => {
    const name = b.str('Name') ?? 'New Virtual Machine';
    for (const p of ['NewVHDPath', 'Path', 'SwitchName']) if (b.has(p)) ctx.warn(`hvsim: New-VM -${p} is ignored; the simulator keeps the VM's files in its state directory.`);
    if (b.has('Generation') && b.get('Generation') !== 2) ctx.warn('hvsim: every simulated VM is generation 2.');
    if (!ctx.shouldProcess(name)) return;
    await attempt(ctx, name, async () => {
      const memory = b.get('MemoryStartupBytes');
      const size = b.get('NewVHDSizeBytes');
      const vm = await ctx.host.newVM({
        name,
        ...(typeof memory === 'number' ? { memory } : {}),
        ...(typeof size === 'number' ? { diskSize: size } : {}),
        ...(b.has('VHDPath') ? { vhdPath: hostPath(ctx, b.str('VHDPath')!) } : {}),
      });
      ctx.emit(vmObject(vm));
    });
  },
);

const setVM = def(
  'Set-VM',
  [
    vmNameParam('Name'),
    vmObjParam('VMObject'),
    { name: 'CheckpointType', type: 'string', values: CHECKPOINT_TYPES },
    { name: 'Notes', type: 'string' },
    { name: 'MemoryStartupBytes', type: 'int' },
    { name: 'SnapshotFileLocation', type: 'string', aliases: ['CheckpointFileLocation', 'SnapshotFileLocation'] },
    { name: 'SmartPagingFilePath', type: 'string' },
    { name: 'AutomaticCheckpointsEnabled', type: 'bool' },
    passthru,
    ...setVMUnsupported,
    ...remote(['Name']),
  ],
  async (ctx, b) => {
    const memory = b.get('MemoryStartupBytes');
    const opts = {
      ...(b.has('CheckpointType') ? { checkpointType: b.str('CheckpointType') as (typeof CHECKPOINT_TYPES)[number] } : {}),
      ...(b.has('Notes') ? { notes: b.str('Notes')! } : {}),
      ...(typeof memory === 'number' ? { memory } : {}),
      ...(b.has('SnapshotFileLocation') ? { snapshotFileLocation: hostPath(ctx, b.str('SnapshotFileLocation')!) } : {}),
      ...(b.has('SmartPagingFilePath') ? { smartPagingFilePath: b.str('SmartPagingFilePath')! } : {}),
      ...(b.has('AutomaticCheckpointsEnabled') ? { automaticCheckpointsEnabled: b.get('AutomaticCheckpointsEnabled') === true } : {}),
    };
    await eachVM(ctx, b, 'Name', (n) => ctx.host.setVM([n], opts), vmObject);
  },
  { sets: ['Name', 'VMObject'] },
);

type PowerFn = (ctx: CmdletContext, b: Bound, name: string) => Promise<VirtualMachine[]>;

function powerCmdlet(name: string, fn: PowerFn, extra: ParamDef[] = []): CmdletDef {
  return def(
    name,
    [vmNameParam('Name'), vmObjParam('VMObject'), ...extra, asJob, passthru, ...remote(['Name'])],
    (ctx, b) => eachVM(ctx, b, 'Name', (n) => fn(ctx, b, n), vmObject),
    { sets: ['Name', 'VMObject'] },
  );
}

const startVM = powerCmdlet('Start-VM', (ctx, _b, n) => ctx.host.startVM([n]));
const stopVM = powerCmdlet(
  'Stop-VM',
  (ctx, b, n) => ctx.host.stopVM([n], { save: b.flag('Save'), turnOff: b.flag('TurnOff') }),
  [{ name: 'Save', type: 'switch' }, { name: 'TurnOff', type: 'switch' }, { name: 'Force', type: 'switch' }],
);
/**
 * Wait-VM [-Name] <String[]> | [-VM] <VirtualMachine[]> [-For <WaitVMTypes>] [-Delay <UInt16>]
 * [-Timeout <Int32>] [-Passthru] (https://learn.microsoft.com/powershell/module/hyper-v/wait-vm).
 * What a simulated guest answers: docs/hyperv.md, "Wait-VM". No ShouldProcess: it changes nothing.
 */
const waitVMCmdlet = def(
  'Wait-VM',
  [
    vmNameParam('Name', { pipeline: true }),
    vmObjParam('VMObject'),
    { name: 'For', type: 'string', values: WAIT_VM_FOR },
    { name: 'Delay', type: 'int' },
    { name: 'Timeout', aliases: ['TimeoutSec'], type: 'int' },
    asJob,
    passthru,
    ...remote(['Name']),
  ],
  async (ctx, b) => {
    const delay = b.get('Delay');
    if (typeof delay === 'number' && (delay < 1 || delay > 65535)) throw new HvsimError('INVALID_ARGUMENT', `Wait-VM: -Delay ${delay} is not a UInt16 of at least 1 second`);
    const timeout = b.get('Timeout');
    const what = (b.str('For') ?? 'Heartbeat') as (typeof WAIT_VM_FOR)[number];
    const wait = hostMethod(ctx.host.waitVMGuest, 'Wait-VM');
    // The VMs are waited for together: one -Timeout for all of them, not one each.
    const start = await ctx.host.now();
    for (const n of vmNames(b)) {
      await attempt(ctx, n, async () => {
        const left = typeof timeout === 'number' && timeout >= 0 ? { timeoutSeconds: Math.max(0, timeout - ((await ctx.host.now()) - start) / 1000) } : {};
        const done = await wait.call(ctx.host, [n], { for: what, ...left });
        if (b.flag('Passthru')) done.forEach((v) => ctx.emit(vmObject(v)));
      });
    }
  },
  { sets: ['Name', 'VMObject'], confirmImpact: undefined },
);
const saveVM = powerCmdlet('Save-VM', (ctx, _b, n) => ctx.host.saveVM([n]));
const suspendVM = powerCmdlet('Suspend-VM', (ctx, _b, n) => ctx.host.suspendVM([n]));
const resumeVM = powerCmdlet('Resume-VM', (ctx, _b, n) => ctx.host.resumeVM([n]));

// ------------------------------------------------------------ checkpoints

const checkpointVM = def(
  'Checkpoint-VM',
  [vmNameParam('Name', { pipeline: true }), vmObjParam('VMObject'), { name: 'SnapshotName', aliases: ['CheckpointName'], type: 'string', position: 1 }, asJob, passthru, ...remote(['Name'])],
  async (ctx, b) => {
    const snapshotName = b.str('SnapshotName');
    await eachVM(ctx, b, 'Name', (n) => ctx.host.checkpointVM([n], snapshotName !== undefined ? { snapshotName } : {}), snapshotObject);
  },
  { sets: ['Name', 'VMObject'] },
);

const SNAPSHOT_TYPES = ['Standard', 'Recovery', 'Planned', 'Missing', 'Replica', 'AppConsistentReplica', 'SyncedReplica'] as const;
const querySets = ['VMName', 'VMObject', 'Parent', 'Child'];

const getVMSnapshot = def(
  'Get-VMSnapshot',
  [
    { name: 'VMName', type: 'string[]', position: 0, sets: ['VMName'], pipeline: true, mandatory: true },
    vmObjParam('VMObject'),
    { name: 'Id', type: 'string', position: 0, sets: ['Id'], mandatory: true },
    { name: 'Name', type: 'string', position: 1, sets: querySets },
    { name: 'SnapshotType', aliases: ['VMRecoveryCheckpoint'], type: 'string', values: SNAPSHOT_TYPES, sets: querySets },
    { name: 'ParentOf', type: 'vmbase', sets: ['Parent'], mandatory: true },
    { name: 'ChildOf', type: 'snapshot', sets: ['Child'], mandatory: true },
    ...remote(['VMName', 'Id']),
  ],
  async (ctx, b) => {
    const base: Omit<SnapshotQuery, 'vmNames'> = {
      ...(b.has('Name') ? { name: b.str('Name')! } : {}),
      ...(b.has('SnapshotType') ? { snapshotType: b.str('SnapshotType') as SnapshotQuery['snapshotType'] } : {}),
    };
    const run = (q: SnapshotQuery, target: string): Promise<void> => attempt(ctx, target, async () => (await ctx.host.getVMSnapshot(q)).forEach((s) => ctx.emit(snapshotObject(s))));
    if (b.set === 'Id') return run({ vmNames: [], id: b.str('Id')! }, b.str('Id')!);
    if (b.set === 'Parent' || b.set === 'Child') {
      const o = b.objs(b.set === 'Parent' ? 'ParentOf' : 'ChildOf')![0]!;
      const isVM = o.typeNames.includes(VM_TYPE);
      const vmName = toStr(o.get(isVM ? 'Name' : 'VMName') ?? null);
      const ref = isVM ? vmName : toStr(o.get('Id') ?? null);
      return run({ vmNames: [vmName], ...base, ...(b.set === 'Parent' ? { parentOf: ref } : { childOf: ref }) }, vmName);
    }
    for (const n of vmNames(b, 'VMName')) await run({ vmNames: [n], ...base }, n);
  },
  { sets: ['VMName', 'VMObject', 'Id', 'Parent', 'Child'], confirmImpact: undefined },
);

const restoreVMSnapshot = def(
  'Restore-VMSnapshot',
  [
    { name: 'Name', type: 'string', position: 0, sets: ['SnapshotName', 'VM'], mandatory: true },
    { name: 'VMName', type: 'string', position: 1, sets: ['SnapshotName'], mandatory: true },
    snapObjParam('SnapshotObject', 'snapshot'),
    vmObjParam('VM', 'vm'),
    asJob,
    passthru,
    ...remote(['SnapshotName']),
  ],
  async (ctx, b) => {
    const snap = b.objs('VMSnapshot')?.[0];
    const ref = snap ? snapRefOf(snap) : { vmName: vmNames(b, 'VMName')[0] ?? '', name: b.str('Name')! };
    const shown = snap ? snapRefOf(snap).name : b.str('Name')!;
    if (!ctx.shouldProcess(shown, undefined, `Restore-VMSnapshot will restore checkpoint "${shown}".`)) return;
    await attempt(ctx, shown, async () => {
      const s = await ctx.host.restoreVMSnapshot(snap ? { vmName: ref.vmName, id: snapRefOf(snap).id } : { vmName: ref.vmName, name: shown });
      if (b.flag('Passthru')) ctx.emit(snapshotObject(s));
    });
  },
  { sets: ['SnapshotName', 'SnapshotObject', 'VM'], confirmImpact: 'High' },
);

const removeVMSnapshot = def(
  'Remove-VMSnapshot',
  [
    { name: 'VMName', type: 'string[]', position: 0, sets: ['SnapshotName'], mandatory: true },
    vmObjParam('VMObject'),
    { name: 'Name', type: 'string[]', position: 1, sets: ['SnapshotName', 'VMObject'], pipeline: true },
    snapObjParam('SnapshotObject', 'snapshot[]'),
    { name: 'IncludeAllChildSnapshots', aliases: ['IncludeAllChildCheckpoints'], type: 'switch' },
    asJob,
    passthru,
    ...remote(['SnapshotName']),
  ],
  async (ctx, b) => {
    const opts = { includeAllChildSnapshots: b.flag('IncludeAllChildSnapshots'), wait: false };
    const gone = new Set<string>();
    const removeOne = async (s: { vmName: string; id: string; name: string }, obj?: PsObject): Promise<void> => {
      if (gone.has(s.id) || !ctx.shouldProcess(s.name)) return;
      await attempt(ctx, s.name, async () => {
        // An object whose checkpoint is gone (IsDeleted) errors, as Restore- and Rename-VMSnapshot do.
        if (obj !== undefined && (obj.get('IsDeleted') === true || (await ctx.host.getVMSnapshot({ vmNames: [s.vmName] })).every((x) => x.Id !== s.id)))
          throw new HvsimError('NOT_FOUND', `Hyper-V was unable to find a checkpoint with ID "${s.id}" for virtual machine "${s.vmName}". (the checkpoint "${s.name}" was removed)`);
        const removed = await ctx.host.removeVMSnapshot({ vmNames: [s.vmName], id: s.id }, opts);
        removed.forEach((r) => gone.add(r.Id));
        if (obj !== undefined) obj.set('IsDeleted', true);
        // -Passthru writes the virtual machine (Remove-VMSnapshot docs; docs/hyperv.md, "Cmdlets").
        if (b.flag('Passthru')) (await ctx.host.getVM([s.vmName])).forEach((v) => ctx.emit(vmObject(v)));
      });
    };
    const objs = b.objs('VMSnapshot');
    if (objs) {
      for (const o of objs) await removeOne(snapRefOf(o), o);
      return;
    }
    const names = b.strs('Name');
    for (const vm of vmNames(b, 'VMName')) {
      for (const name of names ?? [undefined]) {
        let found: VMSnapshot[] = [];
        await attempt(ctx, name ?? vm, async () => {
          found = await ctx.host.getVMSnapshot({ vmNames: [vm], ...(name !== undefined ? { name } : {}) });
        });
        // parents first, so a subtree removal covers its children
        const order = found.filter((s) => !found.some((p) => p.Id === s.ParentSnapshotId)).concat(found.filter((s) => found.some((p) => p.Id === s.ParentSnapshotId)));
        for (const s of order) await removeOne({ vmName: s.VMName, id: s.Id, name: s.Name });
      }
    }
  },
  { sets: ['SnapshotName', 'VMObject', 'SnapshotObject'] },
);

const renameVMSnapshot = def(
  'Rename-VMSnapshot',
  [
    { name: 'Name', type: 'string', position: 0, sets: ['SnapshotName', 'VM'], mandatory: true },
    { name: 'VMName', type: 'string', position: 1, sets: ['SnapshotName'], mandatory: true },
    snapObjParam('SnapshotObject', 'snapshot'),
    vmObjParam('VM', 'vm'),
    { name: 'NewName', type: 'string', position: 2, mandatory: true },
    passthru,
    ...remote(['SnapshotName']),
  ],
  async (ctx, b) => {
    const snap = b.objs('VMSnapshot')?.[0];
    const vmName = snap ? snapRefOf(snap).vmName : (vmNames(b, 'VMName')[0] ?? '');
    const shown = snap ? snapRefOf(snap).name : b.str('Name')!;
    if (!ctx.shouldProcess(shown)) return;
    await attempt(ctx, shown, async () => {
      const s = await ctx.host.renameVMSnapshot(snap ? { vmName, id: snapRefOf(snap).id } : { vmName, name: shown }, b.str('NewName')!);
      if (b.flag('Passthru')) ctx.emit(snapshotObject(s));
    });
  },
  { sets: ['SnapshotName', 'SnapshotObject', 'VM'] },
);

/**
 * A path a cmdlet hands to the host: a drive path of the simulated host (C:\Exports) is where hvsim
 * run keeps that drive (docs/powershell.md, "The simulated file system"); other paths as given (a
 * real host gets its own paths).
 */
function hostPath(ctx: CmdletContext, p: string): string {
  if (!ctx.facilities) return p;
  const pl = place(ctx.facilities, p);
  return pl.kind === 'sim' ? ctx.facilities.files.locate(pl.path).real : pl.path;
}

const exportVMSnapshot = def(
  'Export-VMSnapshot',
  [
    vmObjParam('VMObject'),
    snapObjParam('SnapshotObject', 'snapshot[]'),
    { name: 'Name', type: 'string[]', position: 0, sets: ['SnapshotName', 'VMObject'], mandatory: true, pipeline: true },
    { name: 'Path', type: 'string', position: 1, mandatory: true },
    { name: 'VMName', type: 'string[]', sets: ['SnapshotName'], mandatory: true },
    asJob,
    passthru,
    ...remote(['SnapshotName']),
  ],
  async (ctx, b) => {
    const path = hostPath(ctx, b.str('Path')!);
    const one = async (vmName: string, ref: { name?: string; id?: string }, shown: string): Promise<void> => {
      if (!ctx.shouldProcess(shown)) return;
      await attempt(ctx, shown, async () => {
        await ctx.host.exportVMSnapshot({ vmName, ...ref }, path);
        if (b.flag('Passthru')) (await ctx.host.getVMSnapshot({ vmNames: [vmName], ...ref })).forEach((s) => ctx.emit(snapshotObject(s)));
      });
    };
    const objs = b.objs('VMSnapshot');
    if (objs) {
      for (const o of objs) await one(snapRefOf(o).vmName, { id: snapRefOf(o).id }, snapRefOf(o).name);
      return;
    }
    for (const vm of vmNames(b, 'VMName')) for (const name of b.strs('Name') ?? []) await one(vm, { name }, name);
  },
  { sets: ['SnapshotName', 'VMObject', 'SnapshotObject'] },
);

// ------------------------------------------------------------ disks

const getVMHardDiskDrive = def(
  'Get-VMHardDiskDrive',
  [
    { name: 'VMName', type: 'string[]', position: 0, sets: ['VMName'], mandatory: true },
    vmObjParam('VMObject'),
    { name: 'VMSnapshot', aliases: ['VMCheckpoint'], type: 'snapshot', sets: ['VMSnapshot'], pipeline: true, mandatory: true },
    { name: 'VMDriveController', type: 'object', sets: ['VMDriveController'], unsupported: '-VMDriveController is' },
    { name: 'ControllerType', type: 'string', values: ['IDE', 'SCSI', 'PMEM'] },
    { name: 'ControllerNumber', type: 'int' },
    { name: 'ControllerLocation', type: 'int' },
    ...remote(['VMName']),
  ],
  async (ctx, b) => {
    const keep = (d: HardDiskDrive): boolean =>
      (!b.has('ControllerType') || d.ControllerType === b.str('ControllerType')) &&
      (!b.has('ControllerNumber') || d.ControllerNumber === b.get('ControllerNumber')) &&
      (!b.has('ControllerLocation') || d.ControllerLocation === b.get('ControllerLocation'));
    const emit = (list: HardDiskDrive[]): void => list.filter(keep).forEach((d) => ctx.emit(driveObject(d)));
    const snap = b.objs('VMSnapshot')?.[0];
    if (snap) return attempt(ctx, snapRefOf(snap).name, async () => emit(await ctx.host.getVMHardDiskDrive(snapRefOf(snap).vmName, snapRefOf(snap).id)));
    for (const n of vmNames(b, 'VMName')) await attempt(ctx, n, async () => emit(await ctx.host.getVMHardDiskDrive(n)));
  },
  { sets: ['VMName', 'VMObject', 'VMSnapshot', 'VMDriveController'], confirmImpact: undefined },
);

const addVMHardDiskDrive = def(
  'Add-VMHardDiskDrive',
  [
    { name: 'VMName', type: 'string[]', position: 0, sets: ['VMName'], mandatory: true },
    vmObjParam('VMObject'),
    { name: 'ControllerType', type: 'string', position: 1, values: ['SCSI'] },
    { name: 'ControllerNumber', type: 'int', position: 2, unsupported: 'choosing the controller (-ControllerNumber) is' },
    { name: 'ControllerLocation', type: 'int', position: 3, unsupported: 'choosing the controller location (-ControllerLocation) is' },
    { name: 'Path', type: 'string', position: 4 },
    passthru,
    asJob,
    ...remote(['VMName']),
  ],
  async (ctx, b) => {
    await eachVM(ctx, b, 'VMName', async (n) => [await ctx.host.addVMHardDiskDrive(n, b.has('Path') ? { path: hostPath(ctx, b.str('Path')!) } : {})], driveObject);
  },
  { sets: ['VMName', 'VMObject'] },
);

// ------------------------------------------------------------ export, import, remove (docs/hyperv.md, "Export and import")


const removeVM = def(
  'Remove-VM',
  [vmNameParam('Name', { pipeline: true }), vmObjParam('VMObject'), { name: 'Force', type: 'switch' }, asJob, passthru, ...remote(['Name'])],
  async (ctx, b) => {
    for (const n of vmNames(b)) {
      if (!ctx.shouldProcess(n)) continue;
      await attempt(ctx, n, async () => {
        const done = await hostMethod(ctx.host.removeVM, 'Remove-VM').call(ctx.host, [n]);
        if (b.flag('Passthru')) done.forEach((v) => ctx.emit(vmObject(v)));
      });
    }
  },
  { sets: ['Name', 'VMObject'] },
);

const exportVM = def(
  'Export-VM',
  [
    vmNameParam('Name', { pipeline: true }),
    vmObjParam('VMObject'),
    { name: 'Path', type: 'string', position: 1, mandatory: true },
    { name: 'CaptureLiveState', type: 'object', unsupported: 'Export-VM -CaptureLiveState is' },
    asJob,
    passthru,
    ...remote(['Name']),
  ],
  async (ctx, b) => {
    const dir = hostPath(ctx, b.str('Path')!);
    for (const n of vmNames(b)) {
      if (!ctx.shouldProcess(n)) continue;
      await attempt(ctx, n, async () => {
        await hostMethod(ctx.host.exportVM, 'Export-VM').call(ctx.host, n, dir);
        if (b.flag('Passthru')) (await ctx.host.getVM([n])).forEach((v) => ctx.emit(vmObject(v)));
      });
    }
  },
  { sets: ['Name', 'VMObject'] },
);

const importVM = def(
  'Import-VM',
  [
    { name: 'Path', type: 'string', position: 0, mandatory: true, pipeline: true, sets: ['Register', 'Copy'] },
    { name: 'VhdDestinationPath', type: 'string', position: 1, sets: ['Copy'] },
    { name: 'Register', type: 'switch', sets: ['Register'] },
    { name: 'Copy', type: 'switch', sets: ['Copy'], mandatory: true },
    { name: 'VirtualMachinePath', type: 'string', sets: ['Copy'] },
    { name: 'SnapshotFilePath', type: 'string', aliases: ['CheckpointFileLocation', 'SnapshotFileLocation'], sets: ['Copy'] },
    { name: 'SmartPagingFilePath', type: 'string', sets: ['Copy'] },
    { name: 'VhdSourcePath', type: 'string', sets: ['Copy'], unsupported: 'Import-VM -VhdSourcePath is' },
    { name: 'GenerateNewId', type: 'switch', sets: ['Copy'] },
    { name: 'CompatibilityReport', type: 'object', sets: ['CompatibilityReport'], unsupported: 'Import-VM -CompatibilityReport (Compare-VM) is' },
    asJob,
    ...remote(['Register', 'Copy']),
  ],
  async (ctx, b) => {
    const file = b.str('Path')!;
    if (!ctx.shouldProcess(file)) return;
    await attempt(ctx, file, async () => {
      const vm = await hostMethod(ctx.host.importVM, 'Import-VM').call(ctx.host, hostPath(ctx, file), {
        ...(b.flag('Copy') ? { copy: true } : {}),
        ...(b.flag('GenerateNewId') ? { generateNewId: true } : {}),
        ...(b.has('VhdDestinationPath') ? { vhdDestinationPath: hostPath(ctx, b.str('VhdDestinationPath')!) } : {}),
        ...(b.has('VirtualMachinePath') ? { virtualMachinePath: hostPath(ctx, b.str('VirtualMachinePath')!) } : {}),
        ...(b.has('SnapshotFilePath') ? { snapshotFilePath: hostPath(ctx, b.str('SnapshotFilePath')!) } : {}),
      });
      if (b.has('SmartPagingFilePath')) await ctx.host.setVM([vm.Name], { smartPagingFilePath: b.str('SmartPagingFilePath')! });
      // Import-VM writes the imported VM (its documented output).
      (await ctx.host.getVM([vm.Name])).forEach((v) => ctx.emit(vmObject(v)));
    });
  },
  { sets: ['Register', 'Copy', 'CompatibilityReport'] },
);

// ------------------------------------------------------------ VHD files

/**
 * Merge-VHD [-Path] <String> [[-DestinationPath] <String>] [-Force] [-AsJob] [-Passthru]
 * (https://learn.microsoft.com/powershell/module/hyper-v/merge-vhd): "Merge is an offline
 * operation; the virtual hard disk chain must not be attached when merge is initiated", so a
 * chain a VM uses is refused (InvalidOperation), whatever the VM's state. "If a filename or
 * relative path is specified, the virtual hard disk path will be calculated relative to the
 * current working directory" (ibid., -Path): as the file cmdlets place paths (files.ts), a drive
 * path (C:\…) on the simulated host's file system. -Force also merges when other differencing
 * disks of the layers merged away would break (hvsim merge-vhd --force).
 */
const mergeVHD = def(
  'Merge-VHD',
  [
    { name: 'Path', aliases: ['FullName'], type: 'string', position: 0, mandatory: true, pipeline: true },
    { name: 'DestinationPath', type: 'string', position: 1 },
    { name: 'Force', type: 'switch' },
    asJob,
    passthru,
    ...remote(),
  ],
  async (ctx, b) => {
    const file = hostPath(ctx, b.str('Path')!);
    // the target as the script names it, resolved (C:\… stays a drive path)
    if (!ctx.shouldProcess(place(ctx.facilities, b.str('Path')!).path)) return;
    await attempt(ctx, file, async () => {
      const info = await hostMethod(ctx.host.mergeVHD, 'Merge-VHD').call(ctx.host, file, {
        ...(b.has('DestinationPath') ? { destinationPath: hostPath(ctx, b.str('DestinationPath')!) } : {}),
        ...(b.flag('Force') ? { force: true } : {}),
      });
      if (b.flag('Passthru')) ctx.emit(vhdObject(info, ctx.host.computerName, false));
    });
  },
  { className: 'Microsoft.Vhd.PowerShell.Cmdlets.MergeVHD' },
);

// ------------------------------------------------------------ integration services (docs/hyperv.md, "Integration services")

const getVMIntegrationService = def(
  'Get-VMIntegrationService',
  [
    { name: 'VMName', type: 'string[]', position: 0, sets: ['VMName'], mandatory: true },
    vmObjParam('VMObject'),
    { name: 'VMSnapshot', type: 'snapshot', position: 0, sets: ['VMSnapshot'], pipeline: true, mandatory: true, unsupported: "a checkpoint's integration services (-VMSnapshot) are" },
    { name: 'Name', type: 'string[]', position: 1 },
    ...remote(['VMName']),
  ],
  async (ctx, b) => {
    // A piped checkpoint binds -VMSnapshot without naming it: refused here, one error per checkpoint.
    if (b.set === 'VMSnapshot') return ctx.error(new HvsimError('UNSUPPORTED', "Get-VMIntegrationService: hvsim does not simulate a checkpoint's integration services (-VMSnapshot)"));
    const names = b.strs('Name');
    for (const n of vmNames(b, 'VMName'))
      await attempt(ctx, n, async () => (await hostMethod(ctx.host.getVMIntegrationService, 'Get-VMIntegrationService').call(ctx.host, n, names)).forEach((c) => ctx.emit(integrationObject(c))));
  },
  { sets: ['VMName', 'VMObject', 'VMSnapshot'], confirmImpact: undefined },
);

/** Enable- or Disable-VMIntegrationService: by -Name of -VMName/-VM, or the piped components. */
function setIntegrationCmdlet(name: string, enabled: boolean): CmdletDef {
  return def(
    name,
    [
      { name: 'Name', type: 'string[]', position: 0, sets: ['VMName', 'VMObject'], mandatory: true },
      { name: 'VMName', type: 'string[]', position: 1, sets: ['VMName'], mandatory: true },
      { name: 'VM', type: 'vm[]', position: 1, sets: ['VMObject'], pipeline: true, mandatory: true },
      { name: 'VMIntegrationService', type: 'integration[]', position: 0, sets: ['VMIntegrationComponent'], pipeline: true, mandatory: true },
      passthru,
      ...remote(['VMName']),
    ],
    async (ctx, b) => {
      const work: Array<{ vm: string; names: string[] }> = [];
      const comps = b.objs('VMIntegrationService');
      if (comps) for (const c of comps) work.push({ vm: toStr(c.get('VMName') ?? null), names: [toStr(c.get('Name') ?? null)] });
      else for (const vm of vmNames(b, 'VMName')) work.push({ vm, names: b.strs('Name')! });
      const set = hostMethod(ctx.host.setVMIntegrationService, name);
      for (const w of work) {
        if (!ctx.shouldProcess(w.vm)) continue;
        await attempt(ctx, w.vm, async () => {
          const done = await set.call(ctx.host, w.vm, w.names, enabled);
          if (b.flag('Passthru')) done.forEach((c) => ctx.emit(integrationObject(c)));
        });
      }
    },
    { sets: ['VMName', 'VMObject', 'VMIntegrationComponent'] },
  );
}

const enableVMIntegrationService = setIntegrationCmdlet('Enable-VMIntegrationService', true);
const disableVMIntegrationService = setIntegrationCmdlet('Disable-VMIntegrationService', false);

export const HYPERV_CMDLETS: CmdletDef[] = [
  newVM, getVM, setVM, startVM, stopVM, saveVM, suspendVM, resumeVM, waitVMCmdlet,
  checkpointVM, getVMSnapshot, restoreVMSnapshot, removeVMSnapshot, renameVMSnapshot, exportVMSnapshot,
  getVMHardDiskDrive, addVMHardDiskDrive, removeVM, exportVM, importVM, mergeVHD,
  getVMIntegrationService, enableVMIntegrationService, disableVMIntegrationService,
];

/** The module's "checkpoint" aliases (docs/hyperv.md, "Cmdlets"). */
export const HYPERV_ALIASES: Record<string, string> = {
  'get-vmcheckpoint': 'Get-VMSnapshot',
  'restore-vmcheckpoint': 'Restore-VMSnapshot',
  'remove-vmcheckpoint': 'Remove-VMSnapshot',
  'rename-vmcheckpoint': 'Rename-VMSnapshot',
  'export-vmcheckpoint': 'Export-VMSnapshot',
};
