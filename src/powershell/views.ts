/**
 * The Hyper-V module's objects: their type names and default table views (docs/hyperv.md,
 * "Default table views"), with how a column shows its property's value. Out-Default (format.ts)
 * and the CLI's tables (src/cli/commands/vm.ts) both take their columns from here; each renders
 * them its own way. Kept free of the interpreter so that the CLI can load it alone.
 */
import { displayTime } from '../host/clock.js';
import { MiB } from '../vhd/common/bytes.js';

export const HV = 'Microsoft.HyperV.PowerShell';
export const VM_TYPE = `${HV}.VirtualMachine`;
export const SNAPSHOT_TYPE = `${HV}.VMSnapshot`;
export const DRIVE_TYPE = `${HV}.HardDiskDrive`;
export const INTEGRATION_TYPE = `${HV}.VMIntegrationComponent`;
/** Get-Service's objects (src/powershell/cmdlets/windows.ts). */
export const SERVICE_TYPE = 'System.ServiceProcess.ServiceController';

/** A column of a default table view. */
export interface ViewColumn {
  /** The heading. */
  label: string;
  /** The property it shows. */
  property: string;
  /** The property's value as the column shows it; absent: as it is. */
  shown?: <V>(v: V) => V | number | string;
}

export interface TableView {
  /** The type name the view is for. */
  type: string;
  columns: ViewColumn[];
}

/** Bytes as whole MiB ($_.MemoryAssigned / 1MB in the view, shown rounded); other values as they are. */
export const inMiB = <V>(v: V): V | number => (typeof v === 'number' ? Math.round(v / MiB) : v);

/** A time as host.ts writes it (ISO 8601 in UTC), shown as Hyper-V shows it (clock.ts displayTime); other values as they are. */
export const hostTime = <V>(v: V): V | string => (typeof v === 'string' && ISO_TIME.test(v) ? displayTime(Date.parse(v)) : v);

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const col = (property: string, label = property, shown?: ViewColumn['shown']): ViewColumn => ({ label, property, ...(shown ? { shown } : {}) });

export const VM_VIEW: TableView = {
  type: VM_TYPE,
  columns: [col('Name'), col('State'), col('CPUUsage', 'CPUUsage(%)'), col('MemoryAssigned', 'MemoryAssigned(M)', inMiB), col('Uptime'), col('Status'), col('Version')],
};

export const SNAPSHOT_VIEW: TableView = {
  type: SNAPSHOT_TYPE,
  columns: [col('VMName'), col('Name'), col('SnapshotType'), col('CreationTime', 'CreationTime', hostTime), col('ParentSnapshotName')],
};

export const DRIVE_VIEW: TableView = {
  type: DRIVE_TYPE,
  columns: [col('VMName'), col('ControllerType'), col('ControllerNumber'), col('ControllerLocation'), col('DiskNumber'), col('Path')],
};

/** Get-VMIntegrationService's table ("Manage Hyper-V integration services", learn.microsoft.com). */
export const INTEGRATION_VIEW: TableView = {
  type: INTEGRATION_TYPE,
  columns: [col('VMName'), col('Name'), col('Enabled'), col('PrimaryStatusDescription'), col('SecondaryStatusDescription')],
};

/** Windows PowerShell 5.1's view of a service (DotNetTypes.format.ps1xml: Status, Name, DisplayName). */
export const SERVICE_VIEW: TableView = { type: SERVICE_TYPE, columns: [col('Status'), col('Name'), col('DisplayName')] };

/** ToString() of a Hyper-V object: "VirtualMachine (Name = 'azshci1') [Id = '5381F80D-…']" (seen in a Compare-VM report dump). */
export const hyperVObjectString = (shortType: string, name: string, id: string): string => `${shortType} (Name = '${name}') [Id = '${id}']`;

export const VIEWS: readonly TableView[] = [VM_VIEW, SNAPSHOT_VIEW, DRIVE_VIEW, INTEGRATION_VIEW, SERVICE_VIEW];

/**
 * Properties whose values are .NET enums (VMState, SnapshotType, ControllerType …), shown as their
 * names. A table generated from properties right-aligns them, as it does numbers
 * (TableViewGenerator.ComputeDefaultAlignment: DefaultScalarTypes takes every enum).
 */
export const ENUM_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  [VM_TYPE]: ['State', 'PrimaryOperationalStatus', 'CheckpointType'],
  [SNAPSHOT_TYPE]: ['State', 'SnapshotType', 'CheckpointType'],
  [DRIVE_TYPE]: ['ControllerType'],
};
