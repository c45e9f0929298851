/**
 * The Hyper-V host as hvsim's users drive it: one asynchronous interface covering what the
 * Hyper-V cmdlets do (VMs, power states, checkpoints, attached disks, guest I/O). The simulator
 * (simulator.ts) implements it, and so does the real-Hyper-V driver (hyperv/driver.ts, through
 * PowerShell), which is why it is async and why group.ts may use nothing but this interface.
 *
 * Objects carry Hyper-V's property names (Get-VM / Get-VMSnapshot / Get-VMHardDiskDrive) so that
 * `--json` output reads like `ConvertTo-Json` of the real objects. Enums are strings, times are
 * ISO-8601 strings (UTC). Properties marked "hvsim" do not exist on the real objects.
 */
import type { VhdInfo } from '../vhd/disk.js';

/** Get-VHD's properties (src/vhd), for Host.mergeVHD's result. */
export type { VhdInfo };

/** Merge-VHD's -DestinationPath (default: the parent) and -Force. */
export interface MergeVHDOptions {
  destinationPath?: string;
  force?: boolean;
}

/** VMState names (the subset a simulated VM rests in; transitional states are instantaneous). */
export type VMState = 'Off' | 'Running' | 'Saved' | 'Paused';

/** Set-VM -CheckpointType values (enum ints: Disabled=2, Production=3, ProductionOnly=4, Standard=5). */
export type CheckpointType = 'Disabled' | 'Production' | 'ProductionOnly' | 'Standard';
export const CHECKPOINT_TYPES: readonly CheckpointType[] = ['Disabled', 'Production', 'ProductionOnly', 'Standard'];

/** Microsoft.HyperV.PowerShell.SnapshotType (production checkpoints are listed as Standard). */
export type SnapshotType = 'Standard' | 'Recovery' | 'Planned' | 'Missing' | 'Replica' | 'AppConsistentReplica' | 'SyncedReplica';

/** VMOperationalStatus values the simulator reports. */
export type VMOperationalStatus = 'Ok' | 'Degraded' | 'MergingDisks';

export interface HardDiskDrive {
  VMName: string;
  VMId: string;
  Name: string;
  ControllerType: 'SCSI';
  ControllerNumber: number;
  ControllerLocation: number;
  /** The file this drive reads and writes (for a checkpoint: the frozen file it recorded). */
  Path: string;
  VMSnapshotId: string | null;
  VMSnapshotName: string | null;
  ComputerName: string;
}

export interface VirtualMachine {
  VMName: string;
  Name: string;
  Id: string;
  VMId: string;
  State: VMState;
  /** Localized status text ("Operating normally", "Merging disks"); scripts should poll OperationalStatus. */
  Status: string;
  OperationalStatus: VMOperationalStatus[];
  PrimaryOperationalStatus: VMOperationalStatus;
  ComputerName: string;
  CheckpointType: CheckpointType;
  /** The checkpoint the current state ("Now") descends from. */
  ParentSnapshotId: string | null;
  ParentSnapshotName: string | null;
  MemoryStartup: number;
  /** Bytes assigned while running (0 otherwise). */
  MemoryAssigned: number;
  CPUUsage: number;
  /** Time running since the last start, as a TimeSpan string ("00:03:07"). */
  Uptime: string;
  Notes: string;
  CreationTime: string;
  Generation: number;
  Version: string;
  /** Folder of the VM's files. */
  Path: string;
  /** Folder of the VM's configuration (`Virtual Machines\\<VMId>.vmcx` below it). */
  ConfigurationLocation: string;
  /** Where new checkpoints' files go (`Snapshots\\` below it); CheckpointFileLocation is the same. */
  SnapshotFileLocation: string;
  CheckpointFileLocation: string;
  SmartPagingFilePath: string;
  /** Start-VM takes a checkpoint first (Windows 10 1709 and later; docs/hyperv.md, "Checkpoint types"). */
  AutomaticCheckpointsEnabled: boolean;
  /** The same as ParentSnapshotId/ParentSnapshotName (the module's newer names). */
  ParentCheckpointId: string | null;
  ParentCheckpointName: string | null;
  HardDrives: HardDiskDrive[];
  /** hvsim: when the background merge in progress will finish (ISO time), else null. */
  MergeCompletionTime: string | null;
  /** hvsim: whether a running guest can take production checkpoints now (its VSS support and the VSS integration service: src/host/integration.ts). */
  GuestSupportsProductionCheckpoints: boolean;
}

export interface VMSnapshot {
  VMName: string;
  VMId: string;
  Name: string;
  Id: string;
  SnapshotType: SnapshotType;
  /**
   * The state the checkpoint holds: Off for a production checkpoint or a checkpoint of an Off VM
   * (applying it leaves the VM Off), else the VM's state when it was taken (applying leaves it Saved).
   */
  State: VMState;
  ParentSnapshotId: string | null;
  ParentSnapshotName: string | null;
  /** The same as ParentSnapshotId/ParentSnapshotName (the module's newer names). */
  ParentCheckpointId: string | null;
  ParentCheckpointName: string | null;
  /** The folder its configuration and state files are in (`Snapshots\\` below it). */
  Path: string;
  CreationTime: string;
  ComputerName: string;
  Notes: string;
  MemoryStartup: number;
  IsDeleted: boolean;
  IsAutomaticCheckpoint: boolean;
  HardDrives: HardDiskDrive[];
  /** hvsim: the kind actually created (a Production setting falls back to Standard when it must). */
  CheckpointType: 'Standard' | 'Production';
  /** hvsim: the group (checkpoint-group) this checkpoint belongs to, else null. */
  GroupId: string | null;
  /** hvsim: the VMs the group was taken of (so an incomplete group can be recognised), else null. */
  GroupMembers: string[] | null;
}

/** Microsoft.HyperV.PowerShell.VMIntegrationComponent (docs/hyperv.md, "Integration services"). */
export interface VMIntegrationComponent {
  VMName: string;
  VMId: string;
  Name: string;
  Enabled: boolean;
  /** "OK" while the VM runs, else null (hvsim's assumption: docs/hyperv.md). */
  PrimaryStatusDescription: string | null;
  SecondaryStatusDescription: string | null;
  ComputerName: string;
}

export interface NewVMOptions {
  name: string;
  /** Startup memory in bytes (default 1 GiB). */
  memory?: number;
  /** Size of a new dynamic VHDX (default 64 MiB); ignored with vhdPath. */
  diskSize?: number;
  /** Attach this existing disk instead of creating one (used in place, like New-VM -VHDPath). */
  vhdPath?: string;
  /** Default Production, as for new Hyper-V VMs. */
  checkpointType?: CheckpointType;
  notes?: string;
  /** Default true. */
  guestSupportsProductionCheckpoints?: boolean;
  /** Integration services to disable at once (names as Get-VMIntegrationService's; src/host/integration.ts). */
  disabledIntegrationServices?: string[];
}

export interface SetVMOptions {
  checkpointType?: CheckpointType;
  /** Set-VM -SnapshotFileLocation: where new checkpoints' files go (existing ones stay). */
  snapshotFileLocation?: string;
  smartPagingFilePath?: string;
  automaticCheckpointsEnabled?: boolean;
  notes?: string;
  memory?: number;
  guestSupportsProductionCheckpoints?: boolean;
}

export interface StopVMOptions {
  /** Stop-VM -Save. */
  save?: boolean;
  /** Stop-VM -TurnOff (pull the power; discards saved state of a Saved VM). */
  turnOff?: boolean;
}

/** Wait-VM -For (Hyper-V's WaitVMTypes; https://learn.microsoft.com/powershell/module/hyper-v/wait-vm). */
export const WAIT_VM_FOR = ['Heartbeat', 'IPAddress', 'Reboot', 'MemoryOperations'] as const;
export type WaitVMFor = (typeof WAIT_VM_FOR)[number];

export interface WaitGuestOptions {
  /** What to wait for; Heartbeat when absent. */
  for?: WaitVMFor;
  /** -Timeout in seconds; absent (or negative): no limit. */
  timeoutSeconds?: number;
}

export interface CheckpointVMOptions {
  snapshotName?: string;
  /** Link the checkpoints into a group (checkpoint-group). */
  groupId?: string;
  /** The names of every VM of the group. */
  groupMembers?: string[];
}

/** Which checkpoints of which VMs: by name (wildcards * and ?), by Id, by group, or by tree position. */
export interface SnapshotQuery {
  vmNames: string[];
  name?: string;
  id?: string;
  groupId?: string;
  /** Immediate children of this checkpoint (name or Id; one VM). */
  childOf?: string;
  /** The immediate parent of this checkpoint, or of the VM itself (its ParentSnapshot) when it names the VM. */
  parentOf?: string;
  snapshotType?: SnapshotType;
}

/** One checkpoint of one VM (restore, rename, export, read): by name or Id. */
export interface SnapshotRef {
  vmName: string;
  name?: string;
  id?: string;
}

export interface RemoveSnapshotOptions {
  /** Remove-VMSnapshot -IncludeAllChildSnapshots ("Delete Checkpoint Subtree"). */
  includeAllChildSnapshots?: boolean;
  /** Wait for the background merge to finish (default true; the cmdlet itself returns at once). */
  wait?: boolean;
}

export interface ExportResult {
  VMName: string;
  SnapshotName: string;
  SnapshotId: string;
  Path: string;
  /** The standalone disks written (one per drive), usable by new-vm --vhd-path or Import-VM of the export. */
  HardDrives: string[];
}

/** Import-VM's options (docs/hyperv.md, "Export and import"). */
export interface ImportVMOptions {
  /** -Copy: copy the files (else the export is registered in place). */
  copy?: boolean;
  /** -GenerateNewId (with -Copy): a new VM Id, so the same export can be imported again. */
  generateNewId?: boolean;
  /** -VhdDestinationPath: the folder the disks are copied to (default the VM's `Virtual Hard Disks`). */
  vhdDestinationPath?: string;
  /** -VirtualMachinePath: the folder the VM's folder is made in (default the host's). */
  virtualMachinePath?: string;
  /** -SnapshotFilePath: the imported VM's SnapshotFileLocation. */
  snapshotFilePath?: string;
  /** hvsim: register it under this name (a simulated host's VM names are unique; Hyper-V's need not be). */
  name?: string;
}

export interface GuestReadOptions {
  drive?: number;
  /** Read this checkpoint's content (name or Id) without restoring it. */
  snapshot?: string;
}

/** A warning the cmdlet would print (WARNING: …); hosts return them, callers decide where they go. */
export interface HostWarning {
  VMName: string;
  Message: string;
}

/** One step a group checkpoint took for one VM (checkpoint-group, src/host/group.ts). */
export interface GroupStep {
  Step: 'Suspend-VM' | 'Save-VM' | 'Checkpoint-VM' | 'Start-VM' | 'Resume-VM';
  /** When the host began and ended it (ISO; the host's clock, simulated for the simulator). */
  Start: string;
  End: string;
}

export interface GroupMember {
  VMName: string;
  /** The host the VM is on (a group may span several: docs/hyperv.md, "Group checkpoints"). Absent in reports kept by older versions. */
  ComputerName?: string;
  PriorState: VMState;
  /** When the guest stopped executing (ISO); for a VM that was not running, when the group began. */
  FrozenAt: string;
  SnapshotId: string;
  SnapshotName: string;
  State: VMState;
  /** What was done to this VM, in order: pause, save, checkpoint, then start or resume. */
  Steps: GroupStep[];
}

/** One host's part of a group checkpoint. */
export interface GroupHostSkew {
  ComputerName: string;
  VMNames: string[];
  /** Largest difference between the freeze instants of this host's running VMs (ms; each host's own clock). */
  SkewMs: number;
}

/** What checkpoint-group did: kept by a host that records it (Host.recordGroupCheckpoint). */
export interface GroupCheckpointReport {
  GroupId: string;
  SnapshotName: string;
  StartTime: string;
  EndTime: string;
  DurationMs: number;
  /** Largest difference between the freeze instants of the VMs that were running (ms). */
  SkewMs: number;
  /** Each host's own freeze skew (between its running VMs' freeze instants) and VMs. Absent in reports kept by older versions. */
  Hosts?: GroupHostSkew[];
  Members: GroupMember[];
}

export interface Host {
  /** The host's name, reported as ComputerName. */
  readonly computerName: string;
  /** The host's clock (epoch milliseconds; simulated time for the simulator). */
  now(): Promise<number>;
  /** Warnings issued since the last call (and forget them). */
  takeWarnings(): Promise<HostWarning[]>;
  /**
   * Let `ms` milliseconds pass (Start-Sleep). A real host waits; the simulator does not wait at all:
   * it moves its simulated clock on by `ms` at once, and background merges whose end has come
   * finish. `ms` must be a finite number >= 0.
   */
  sleep(ms: number): Promise<void>;
  /**
   * A background job (-AsJob, Start-Job; docs/simulator.md "Background jobs"): run `work` (calls on
   * this host) from now, then set the clock back to the instant it began, so the next job starts
   * at the same instant and they overlap on the simulated clock. Resolves to the work's value and
   * the instant it ended. Only a simulated clock can do this; a host without it runs the work in
   * place (it takes the time it takes).
   */
  inBackground?<T>(work: () => Promise<T>): Promise<{ value: T; end: number }>;

  newVM(opts: NewVMOptions): Promise<VirtualMachine>;
  /** Get-VM: all VMs, or those matching the names (wildcards allowed; a plain name must exist). */
  getVM(names?: string[]): Promise<VirtualMachine[]>;
  setVM(names: string[], opts: SetVMOptions): Promise<VirtualMachine[]>;
  startVM(names: string[]): Promise<VirtualMachine[]>;
  stopVM(names: string[], opts?: StopVMOptions): Promise<VirtualMachine[]>;
  suspendVM(names: string[]): Promise<VirtualMachine[]>;
  resumeVM(names: string[]): Promise<VirtualMachine[]>;
  saveVM(names: string[]): Promise<VirtualMachine[]>;
  /** Wait until the VMs' background operations (merges) have finished. */
  waitVM(names: string[]): Promise<VirtualMachine[]>;
  /**
   * Wait-VM the cmdlet: wait until each VM's guest reports `opts.for` (docs/hyperv.md, "Wait-VM").
   * Optional: the simulator has it; the real-host driver does not yet.
   */
  waitVMGuest?(names: string[], opts?: WaitGuestOptions): Promise<VirtualMachine[]>;

  checkpointVM(names: string[], opts?: CheckpointVMOptions): Promise<VMSnapshot[]>;
  getVMSnapshot(query: SnapshotQuery): Promise<VMSnapshot[]>;
  restoreVMSnapshot(ref: SnapshotRef): Promise<VMSnapshot>;
  /** Removes the matching checkpoints (all of each VM's when no name/id is given); returns the removed ones. */
  removeVMSnapshot(query: SnapshotQuery, opts?: RemoveSnapshotOptions): Promise<VMSnapshot[]>;
  renameVMSnapshot(ref: SnapshotRef, newName: string): Promise<VMSnapshot>;
  /** Export-VMSnapshot: write the checkpoint's disks as standalone files under `path`. */
  exportVMSnapshot(ref: SnapshotRef, path: string): Promise<ExportResult>;

  /**
   * Export-VM, Import-VM, Remove-VM (docs/hyperv.md, "Export and import"). Optional: the
   * simulator has them; the real-host driver does not yet (docs/real-host.md).
   */
  exportVM?(vmName: string, path: string): Promise<ExportResult>;
  /** Import-VM of the export whose `.vmcx` is `path`. */
  importVM?(path: string, opts?: ImportVMOptions): Promise<VirtualMachine>;
  /** Remove-VM: unregister the VMs (Off or Saved); their disk files stay. */
  removeVM?(names: string[]): Promise<VirtualMachine[]>;
  /** Get-VMIntegrationService of one VM: the services `names` pick (wildcards), all when absent. */
  getVMIntegrationService?(vmName: string, names?: string[]): Promise<VMIntegrationComponent[]>;
  /** Enable- or Disable-VMIntegrationService of one VM; the services changed. */
  setVMIntegrationService?(vmName: string, names: string[], enabled: boolean): Promise<VMIntegrationComponent[]>;

  /**
   * Merge-VHD (docs/hyperv.md, "Merges"): merge the differencing disk file `path` (and the layers
   * between) into an ancestor, offline only: a chain a VM uses is refused. Returns the destination
   * as Get-VHD shows it. Optional: the simulator has it; the real-host driver does not yet.
   */
  mergeVHD?(path: string, opts?: MergeVHDOptions): Promise<VhdInfo>;

  getVMHardDiskDrive(vmName: string, snapshot?: string): Promise<HardDiskDrive[]>;
  /** Attach a new (or an existing) disk; refused once the VM has checkpoints. */
  addVMHardDiskDrive(vmName: string, opts: { path?: string; size?: number }): Promise<HardDiskDrive>;

  /** The guest writes its disk (the VM must be Running). */
  writeGuest(vmName: string, data: Uint8Array, offset: number, drive?: number): Promise<void>;
  /** Read a VM's disk as the guest sees it, or a checkpoint's content with `snapshot`. */
  readGuest(vmName: string, offset: number, length: number, opts?: GuestReadOptions): Promise<Uint8Array>;
  /** The virtual size of a VM's drive in bytes. */
  diskSize(vmName: string, drive?: number): Promise<number>;

  /**
   * Keep a group checkpoint's report with the host's state (the simulator: in state.json, for as
   * long as a checkpoint of the group exists), so that every tool shows its timeline. Optional:
   * Hyper-V has no place for it, and a host without it keeps only the checkpoints' GroupId.
   */
  recordGroupCheckpoint?(report: GroupCheckpointReport): Promise<void>;
}

/**
 * Several hosts reached by name, as -ComputerName and -CimSession reach them (the simulator's farm:
 * docs/simulator.md, "Several hosts"). A tool that has one keeps acting on its current Host and
 * asks the farm for the others.
 */
export interface HostFarm {
  /** The hosts' names, the first host first. */
  hosts(): string[];
  /** The host of this name (names compare without regard to case), or undefined when there is none. */
  host(name: string): Host | undefined;
}
