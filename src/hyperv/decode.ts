/**
 * ConvertTo-Json output of the Hyper-V cmdlets → the objects the simulator returns (host.ts).
 * Handles both writers:
 *   - Windows PowerShell 5.1: enums as numbers (docs/hyperv.md, "Enums"), DateTime as
 *     "\/Date(ms)\/" (sometimes wrapped as {"value": …, "DisplayHint": …, "DateTime": …}),
 *     TimeSpan as an object with Ticks, arrays sometimes as {"value": […], "Count": n};
 *   - PowerShell 7: enums as numbers or as their names, dates as ISO-8601 text, TimeSpans as
 *     objects or as "hh:mm:ss" text;
 * and, for both, a single object written bare instead of as a one-element array, and nothing at
 * all for no objects.
 * Also the group marker hvsim keeps in a checkpoint's Notes (a real checkpoint has no place for
 * GroupId/GroupMembers): see groupMarker below and docs/real-host.md.
 */
import type { CheckpointType, HardDiskDrive, SnapshotType, VhdInfo, VirtualMachine, VMIntegrationComponent, VMOperationalStatus, VMSnapshot, VMState } from '../host/host.js';
import { timeSpan } from '../host/clock.js';
import { HvsimError } from '../errors.js';
import { list } from './request.js';

/** What hvsim asks Select-Object for: the properties host.ts reports. */
export const VM_PROPERTIES = [
  'Name', 'VMName', 'Id', 'VMId', 'State', 'Status', 'OperationalStatus', 'PrimaryOperationalStatus', 'ComputerName', 'CheckpointType',
  'ParentSnapshotId', 'ParentSnapshotName', 'MemoryStartup', 'MemoryAssigned', 'CPUUsage', 'Uptime', 'Notes', 'CreationTime', 'Generation',
  'Version', 'Path', 'HardDrives', 'ConfigurationLocation', 'SnapshotFileLocation', 'SmartPagingFilePath', 'AutomaticCheckpointsEnabled',
] as const;
export const SNAPSHOT_PROPERTIES = [
  'VMName', 'VMId', 'Name', 'Id', 'SnapshotType', 'State', 'ParentSnapshotId', 'ParentSnapshotName', 'CreationTime', 'ComputerName', 'Notes',
  'MemoryStartup', 'IsDeleted', 'IsAutomaticCheckpoint', 'HardDrives', 'Path',
] as const;
export const DRIVE_PROPERTIES = [
  'VMName', 'VMId', 'Name', 'ControllerType', 'ControllerNumber', 'ControllerLocation', 'Path', 'VMSnapshotId', 'VMSnapshotName', 'ComputerName',
] as const;
export const VMHOST_PROPERTIES = ['Name', 'ComputerName', 'VirtualMachinePath', 'VirtualHardDiskPath'] as const;
/** Microsoft.HyperV.PowerShell.VMIntegrationComponent (Get-VMIntegrationService; docs/hyperv.md, "Integration services"). */
export const INTEGRATION_PROPERTIES = ['VMName', 'VMId', 'Name', 'Enabled', 'PrimaryStatusDescription', 'SecondaryStatusDescription', 'ComputerName'] as const;
/** Microsoft.Vhd.PowerShell.VirtualHardDisk (Get-VHD, Merge-VHD -Passthru): Get-VHD's properties as host.ts has them. */
export const VHD_PROPERTIES = [
  'Path', 'VhdFormat', 'VhdType', 'FileSize', 'Size', 'MinimumSize', 'LogicalSectorSize', 'PhysicalSectorSize', 'BlockSize', 'ParentPath',
  'DiskIdentifier', 'FragmentationPercentage', 'Alignment',
] as const;

// ---------------------------------------------------------------- enums (docs/hyperv.md, "Enums")

/** Microsoft.HyperV.PowerShell.VMState. */
export const VM_STATE: Readonly<Record<number, string>> = {
  1: 'Other', 2: 'Running', 3: 'Off', 4: 'Stopping', 6: 'Saved', 9: 'Paused', 10: 'Starting', 11: 'Reset',
  32773: 'Saving', 32776: 'Pausing', 32777: 'Resuming', 32779: 'FastSaved', 32780: 'FastSaving', 32781: 'ForceShutdown',
  32782: 'ForceReboot', 32783: 'Hibernated', 32784: 'ComponentServicing', 32785: 'RunningCritical', 32786: 'OffCritical',
  32787: 'StoppingCritical', 32788: 'SavedCritical', 32789: 'PausedCritical', 32790: 'StartingCritical', 32791: 'ResetCritical',
  32792: 'SavingCritical', 32793: 'PausingCritical', 32794: 'ResumingCritical', 32795: 'FastSavedCritical', 32796: 'FastSavingCritical',
};

/**
 * The four resting states hvsim's VMState has, for every Hyper-V state: the *Critical variants
 * count as their base state, FastSaved and Hibernated as Saved, and a state in transition as the
 * state it is heading to (Hyper-V's cmdlets return when a transition they started has ended, so
 * hvsim sees one only when something else is changing the VM).
 */
const RESTING: Readonly<Record<string, VMState>> = {
  Running: 'Running', Off: 'Off', Saved: 'Saved', Paused: 'Paused',
  Starting: 'Running', Resuming: 'Running', Reset: 'Running', ForceReboot: 'Running',
  Stopping: 'Off', ForceShutdown: 'Off', ComponentServicing: 'Off', Other: 'Off',
  Saving: 'Saved', FastSaved: 'Saved', FastSaving: 'Saved', Hibernated: 'Saved',
  Pausing: 'Paused',
};

export const CHECKPOINT_TYPE: Readonly<Record<number, CheckpointType>> = { 2: 'Disabled', 3: 'Production', 4: 'ProductionOnly', 5: 'Standard' };

export const SNAPSHOT_TYPE: Readonly<Record<number, SnapshotType>> = {
  0: 'Standard', 1: 'Recovery', 2: 'Planned', 5: 'Missing', 6: 'Replica', 7: 'AppConsistentReplica', 8: 'SyncedReplica',
};

export const OPERATIONAL_STATUS: Readonly<Record<number, string>> = {
  2: 'Ok', 3: 'Degraded', 23769: 'ApplyingSnapshot', 32768: 'CreatingSnapshot', 32770: 'DeletingSnapshot', 32771: 'WaitingToStart',
  32772: 'MergingDisks', 32773: 'ExportingVirtualMachine', 32774: 'MigratingVirtualMachine', 32776: 'BackingUpVirtualMachine',
};

export const CONTROLLER_TYPE: Readonly<Record<number, string>> = { 0: 'IDE', 1: 'SCSI', 2: 'PMEM' };

/** Microsoft.Vhd.PowerShell.VhdFormat and VhdType (the WMI Msvm_VirtualHardDiskSettingData Format and Type values). */
export const VHD_FORMAT: Readonly<Record<number, string>> = { 0: 'Unknown', 2: 'VHD', 3: 'VHDX', 4: 'VHDSet' };
export const VHD_TYPE: Readonly<Record<number, string>> = { 0: 'Unknown', 2: 'Fixed', 3: 'Dynamic', 4: 'Differencing' };

function corrupt(what: string): HvsimError {
  return new HvsimError('CORRUPT', `PowerShell output: ${what}`, { reason: 'HOST_ANSWER' });
}

/** An enum written as a number (5.1) or as its name (7), as its name. */
export function enumName(table: Readonly<Record<number, string>>, v: unknown, what: string): string {
  if (typeof v === 'number') {
    const n = table[v];
    if (n === undefined) throw corrupt(`${what} ${v} is not a known value`);
    return n;
  }
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v.trim())) return enumName(table, Number(v), what);
    const n = Object.values(table).find((x) => x.toLowerCase() === v.trim().toLowerCase());
    if (n === undefined) throw corrupt(`${what} "${v}" is not a known value`);
    return n;
  }
  throw corrupt(`${what} is ${v === null ? 'null' : typeof v}, not an enum value`);
}

export function vmState(v: unknown): VMState {
  const name = enumName(VM_STATE, v, 'VMState');
  return RESTING[name.replace(/Critical$/, '')] ?? 'Off';
}

// ---------------------------------------------------------------- scalars

/** "\/Date(1704186000000)\/", "/Date(…+0100)/", ISO text, 5.1's {"value": …, "DateTime": …}, or epoch ms → ISO (UTC). */
export function decodeDate(v: unknown, what = 'a date'): string {
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('value' in o) return decodeDate(o.value, what);
    if ('DateTime' in o) return decodeDate(o.DateTime, what);
  }
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v).toISOString();
  if (typeof v === 'string') {
    const m = /^\\?\/Date\((-?\d+)(?:[+-]\d{4})?\)\\?\/$/.exec(v.trim());
    if (m) return new Date(Number(m[1])).toISOString();
    // ISO-8601; without an offset the text is taken as UTC (docs/real-host.md).
    const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$/.exec(v.trim());
    if (iso) {
      const frac = iso[2] ? `.${iso[2].slice(1, 4).padEnd(3, '0')}` : '';
      const t = Date.parse(`${iso[1]}${frac}${iso[3] ?? 'Z'}`);
      if (!Number.isNaN(t)) return new Date(t).toISOString();
    }
  }
  throw corrupt(`${what} ${JSON.stringify(v)} is not a date`);
}

/** A TimeSpan object ({Ticks, …} or {TotalMilliseconds}) or text ("1.02:03:04.5000000") → hvsim's "hh:mm:ss". */
export function decodeTimeSpan(v: unknown): string {
  if (v === null || v === undefined) return timeSpan(0);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ticks === 'number') return timeSpan(o.Ticks / 10_000);
    if (typeof o.TotalMilliseconds === 'number') return timeSpan(o.TotalMilliseconds);
  }
  if (typeof v === 'string') {
    const m = /^(-)?(?:(\d+)\.)?(\d+):(\d\d):(\d\d)(?:\.(\d{1,7}))?$/.exec(v.trim());
    if (m) {
      const ms = ((Number(m[2] ?? 0) * 24 + Number(m[3])) * 60 + Number(m[4])) * 60_000 + Number(m[5]) * 1000 + Number((m[6] ?? '').padEnd(7, '0')) / 10_000;
      return timeSpan(m[1] ? -ms : ms);
    }
  }
  throw corrupt(`Uptime ${JSON.stringify(v)} is not a TimeSpan`);
}

const ZERO = '00000000-0000-0000-0000-000000000000';
const GUID = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

export function decodeGuid(v: unknown, what: string): string {
  const g = decodeOptionalGuid(v, what);
  if (g === null) throw corrupt(`${what} is missing`);
  return g;
}

export function decodeOptionalGuid(v: unknown, what: string): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'object' && 'Guid' in (v as object)) return decodeOptionalGuid((v as { Guid: unknown }).Guid, what);
  const m = typeof v === 'string' ? GUID.exec(v.trim()) : null;
  if (!m) throw corrupt(`${what} ${JSON.stringify(v)} is not a GUID`);
  return m[1]!.toLowerCase();
}

function str(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw corrupt(`${what} is ${v === null || v === undefined ? 'missing' : typeof v}`);
}

function optStr(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function num(v: unknown, what: string, dflt?: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  if ((v === null || v === undefined) && dflt !== undefined) return dflt;
  throw corrupt(`${what} ${JSON.stringify(v)} is not a number`);
}

function bool(v: unknown, dflt: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.toLowerCase() === 'true';
  return dflt;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw corrupt(`${what} is not an object`);
  return v as Record<string, unknown>;
}

// ---------------------------------------------------------------- ConvertTo-Json text

/** The objects in one step's ConvertTo-Json text: none, one written bare, or an array. */
export function parseCmdletJson(text: string | null | undefined): unknown[] {
  if (text === null || text === undefined || text.trim() === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw corrupt(`not JSON: ${text.slice(0, 200)}`);
  }
  return list(v);
}

// ---------------------------------------------------------------- the group marker in Notes

/**
 * hvsim keeps a group checkpoint's GroupId and GroupMembers in the checkpoint's Notes, as the
 * last line: "[hvsim-group] {"GroupId":"…","GroupMembers":["…"]}". A checkpoint's Notes are the
 * VM's Notes when it was taken, so the driver sets the VM's Notes to the marked text, takes the
 * checkpoint and puts the Notes back; a restore (which brings the checkpoint's configuration
 * back) is followed by putting the unmarked Notes on the VM. Readers strip the line.
 */
export const GROUP_MARKER = '[hvsim-group] ';
const MARKER_LINE = /(?:\r?\n)?\[hvsim-group\] (\{[^\r\n]*\})[ \t]*$/;

export interface GroupTag {
  GroupId: string;
  GroupMembers: string[] | null;
}

export function addGroupMarker(notes: string, group: GroupTag): string {
  const line = GROUP_MARKER + JSON.stringify({ GroupId: group.GroupId, GroupMembers: group.GroupMembers });
  return notes.length ? `${notes}\n${line}` : line;
}

/** Notes without the marker, and the group the marker names (null when there is none or it is unreadable). */
export function splitGroupMarker(raw: string): { notes: string; group: GroupTag | null } {
  const m = MARKER_LINE.exec(raw);
  if (!m) return { notes: raw, group: null };
  const notes = raw.slice(0, m.index);
  try {
    const g = JSON.parse(m[1]!) as { GroupId?: unknown; GroupMembers?: unknown };
    if (typeof g.GroupId !== 'string' || !g.GroupId) return { notes, group: null };
    const members = Array.isArray(g.GroupMembers) && g.GroupMembers.every((x) => typeof x === 'string') ? (g.GroupMembers as string[]) : null;
    return { notes, group: { GroupId: g.GroupId, GroupMembers: members } };
  } catch {
    return { notes, group: null };
  }
}

// ---------------------------------------------------------------- objects

export interface DecodeContext {
  /** Reported when an object carries no ComputerName. */
  computerName: string;
}

export function decodeDrive(v: unknown, ctx: DecodeContext): HardDiskDrive {
  const o = obj(v, 'a hard disk drive');
  const snapshotId = decodeOptionalGuid(o.VMSnapshotId, 'HardDiskDrive.VMSnapshotId');
  return {
    VMName: str(o.VMName, 'HardDiskDrive.VMName'),
    VMId: decodeGuid(o.VMId, 'HardDiskDrive.VMId'),
    Name: optStr(o.Name) ?? '',
    ControllerType: (o.ControllerType === null || o.ControllerType === undefined ? 'SCSI' : enumName(CONTROLLER_TYPE, o.ControllerType, 'ControllerType')) as 'SCSI',
    ControllerNumber: num(o.ControllerNumber, 'ControllerNumber', 0),
    ControllerLocation: num(o.ControllerLocation, 'ControllerLocation', 0),
    Path: str(o.Path, 'HardDiskDrive.Path'),
    // A VM's own drives carry an empty Guid and an empty name (not null) on some hosts.
    VMSnapshotId: snapshotId === ZERO ? null : snapshotId,
    VMSnapshotName: snapshotId === ZERO || snapshotId === null || o.VMSnapshotName === '' ? null : optStr(o.VMSnapshotName),
    ComputerName: optStr(o.ComputerName) ?? ctx.computerName,
  };
}

/** A VM, with its raw Notes (which may hold a stale group marker). */
export interface RawVM {
  vm: VirtualMachine;
  rawNotes: string;
}

export function decodeVM(v: unknown, ctx: DecodeContext): RawVM {
  const o = obj(v, 'a virtual machine');
  const id = decodeGuid(o.Id ?? o.VMId, 'VirtualMachine.Id');
  const name = str(o.Name ?? o.VMName, 'VirtualMachine.Name');
  const statuses = list(o.OperationalStatus).map((s) => enumName(OPERATIONAL_STATUS, s, 'OperationalStatus') as VMOperationalStatus);
  const rawNotes = optStr(o.Notes) ?? '';
  return {
    rawNotes,
    vm: {
      VMName: optStr(o.VMName) ?? name,
      Name: name,
      Id: id,
      VMId: decodeOptionalGuid(o.VMId, 'VirtualMachine.VMId') ?? id,
      State: vmState(o.State),
      Status: optStr(o.Status) ?? '',
      OperationalStatus: statuses,
      PrimaryOperationalStatus: (o.PrimaryOperationalStatus === null || o.PrimaryOperationalStatus === undefined
        ? statuses[0] ?? 'Ok'
        : enumName(OPERATIONAL_STATUS, o.PrimaryOperationalStatus, 'PrimaryOperationalStatus')) as VMOperationalStatus,
      ComputerName: optStr(o.ComputerName) ?? ctx.computerName,
      CheckpointType: (o.CheckpointType === null || o.CheckpointType === undefined ? 'Production' : enumName(CHECKPOINT_TYPE, o.CheckpointType, 'CheckpointType')) as CheckpointType,
      ParentSnapshotId: decodeOptionalGuid(o.ParentSnapshotId, 'VirtualMachine.ParentSnapshotId'),
      ParentSnapshotName: optStr(o.ParentSnapshotName),
      MemoryStartup: num(o.MemoryStartup, 'MemoryStartup', 0),
      MemoryAssigned: num(o.MemoryAssigned, 'MemoryAssigned', 0),
      CPUUsage: num(o.CPUUsage, 'CPUUsage', 0),
      Uptime: decodeTimeSpan(o.Uptime),
      Notes: splitGroupMarker(rawNotes).notes,
      CreationTime: decodeDate(o.CreationTime, 'VirtualMachine.CreationTime'),
      Generation: num(o.Generation, 'Generation', 2),
      Version: optStr(o.Version) ?? '',
      Path: optStr(o.Path) ?? '',
      // Older hosts (and stand-ins) without a property: the VM's folder, as Hyper-V defaults them.
      ConfigurationLocation: optStr(o.ConfigurationLocation) ?? optStr(o.Path) ?? '',
      SnapshotFileLocation: optStr(o.SnapshotFileLocation) ?? optStr(o.Path) ?? '',
      CheckpointFileLocation: optStr(o.SnapshotFileLocation) ?? optStr(o.Path) ?? '',
      SmartPagingFilePath: optStr(o.SmartPagingFilePath) ?? optStr(o.Path) ?? '',
      AutomaticCheckpointsEnabled: bool(o.AutomaticCheckpointsEnabled, false),
      ParentCheckpointId: decodeOptionalGuid(o.ParentSnapshotId, 'VirtualMachine.ParentSnapshotId'),
      ParentCheckpointName: optStr(o.ParentSnapshotName),
      HardDrives: list(o.HardDrives).map((d) => decodeDrive(d, ctx)),
      // Not on a real VirtualMachine (docs/real-host.md).
      MergeCompletionTime: null,
      GuestSupportsProductionCheckpoints: true,
    },
  };
}

/** A checkpoint, with its raw Notes. `vmCheckpointType`: the VM's setting (to tell the kind). */
export interface RawSnapshot {
  snap: VMSnapshot;
  rawNotes: string;
}

/** `fallbackPath`: the checkpoint's Path when the host does not report one (the VM's SnapshotFileLocation). */
export function decodeSnapshot(v: unknown, vmCheckpointType: CheckpointType, ctx: DecodeContext, fallbackPath = ''): RawSnapshot {
  const o = obj(v, 'a checkpoint');
  const rawNotes = optStr(o.Notes) ?? '';
  const { notes, group } = splitGroupMarker(rawNotes);
  const state = vmState(o.State);
  return {
    rawNotes,
    snap: {
      VMName: str(o.VMName, 'VMSnapshot.VMName'),
      VMId: decodeGuid(o.VMId, 'VMSnapshot.VMId'),
      Name: str(o.Name, 'VMSnapshot.Name'),
      Id: decodeGuid(o.Id, 'VMSnapshot.Id'),
      SnapshotType: (o.SnapshotType === null || o.SnapshotType === undefined ? 'Standard' : enumName(SNAPSHOT_TYPE, o.SnapshotType, 'SnapshotType')) as SnapshotType,
      State: state,
      ParentSnapshotId: decodeOptionalGuid(o.ParentSnapshotId, 'VMSnapshot.ParentSnapshotId'),
      ParentSnapshotName: optStr(o.ParentSnapshotName),
      ParentCheckpointId: decodeOptionalGuid(o.ParentSnapshotId, 'VMSnapshot.ParentSnapshotId'),
      ParentCheckpointName: optStr(o.ParentSnapshotName),
      Path: optStr(o.Path) || fallbackPath, // '' or absent: not reported
      CreationTime: decodeDate(o.CreationTime, 'VMSnapshot.CreationTime'),
      ComputerName: optStr(o.ComputerName) ?? ctx.computerName,
      Notes: notes,
      MemoryStartup: num(o.MemoryStartup, 'MemoryStartup', 0),
      IsDeleted: bool(o.IsDeleted, false),
      IsAutomaticCheckpoint: bool(o.IsAutomaticCheckpoint, false),
      HardDrives: list(o.HardDrives).map((d) => decodeDrive(d, ctx)),
      CheckpointType: checkpointKind(state, vmCheckpointType),
      GroupId: group ? group.GroupId : null,
      GroupMembers: group ? group.GroupMembers : null,
    },
  };
}

/**
 * Which kind a real checkpoint is (Hyper-V does not say): one that holds runtime state is
 * Standard; one without (State Off) is Standard on a VM set to Standard, else Production. This is
 * the simulator's rule read backwards, exact as long as the VM's CheckpointType was not changed
 * since the checkpoint was taken.
 */
export function checkpointKind(state: VMState, vmCheckpointType: CheckpointType): 'Standard' | 'Production' {
  if (state !== 'Off') return 'Standard';
  return vmCheckpointType === 'Standard' ? 'Standard' : 'Production';
}

export function decodeIntegration(v: unknown, ctx: DecodeContext): VMIntegrationComponent {
  const o = obj(v, 'an integration service');
  return {
    VMName: str(o.VMName, 'VMIntegrationComponent.VMName'),
    VMId: decodeGuid(o.VMId, 'VMIntegrationComponent.VMId'),
    Name: str(o.Name, 'VMIntegrationComponent.Name'),
    Enabled: bool(o.Enabled, false),
    // An empty status is "no status" (the simulator's null).
    PrimaryStatusDescription: optStr(o.PrimaryStatusDescription) || null,
    SecondaryStatusDescription: optStr(o.SecondaryStatusDescription) || null,
    ComputerName: optStr(o.ComputerName) ?? ctx.computerName,
  };
}

/** A VirtualHardDisk as host.ts's VhdInfo; VHD Sets and unknown formats are not disks hvsim reads. */
export function decodeVhd(v: unknown): VhdInfo {
  const o = obj(v, 'a virtual hard disk');
  const format = enumName(VHD_FORMAT, o.VhdFormat, 'VhdFormat');
  const type = enumName(VHD_TYPE, o.VhdType, 'VhdType');
  if (format !== 'VHD' && format !== 'VHDX') throw corrupt(`VhdFormat ${format} is not a format hvsim reads (VHD, VHDX)`);
  if (type === 'Unknown') throw corrupt('VhdType Unknown');
  const optNum = (x: unknown, what: string): number | null => (x === null || x === undefined || x === '' ? null : num(x, what));
  return {
    Path: str(o.Path, 'VirtualHardDisk.Path'),
    VhdFormat: format,
    VhdType: type as VhdInfo['VhdType'],
    FileSize: num(o.FileSize, 'FileSize'),
    Size: num(o.Size, 'Size'),
    MinimumSize: optNum(o.MinimumSize, 'MinimumSize'),
    LogicalSectorSize: num(o.LogicalSectorSize, 'LogicalSectorSize'),
    PhysicalSectorSize: num(o.PhysicalSectorSize, 'PhysicalSectorSize'),
    BlockSize: num(o.BlockSize, 'BlockSize', 0),
    // A disk without a parent reports "" (not null).
    ParentPath: optStr(o.ParentPath) || null,
    DiskIdentifier: optStr(o.DiskIdentifier) ?? '',
    FragmentationPercentage: optNum(o.FragmentationPercentage, 'FragmentationPercentage'),
    Alignment: num(o.Alignment, 'Alignment', 1),
  };
}

export interface VMHostInfo {
  Name: string;
  ComputerName: string;
  VirtualMachinePath: string;
  VirtualHardDiskPath: string;
}

export function decodeVMHost(v: unknown): VMHostInfo {
  const o = obj(v, 'a VM host');
  const name = str(o.Name ?? o.ComputerName, 'VMHost.Name');
  return {
    Name: name,
    ComputerName: optStr(o.ComputerName) ?? name,
    VirtualMachinePath: str(o.VirtualMachinePath, 'VMHost.VirtualMachinePath'),
    VirtualHardDiskPath: str(o.VirtualHardDiskPath ?? o.VirtualMachinePath, 'VMHost.VirtualHardDiskPath'),
  };
}
