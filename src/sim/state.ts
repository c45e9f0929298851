/**
 * The simulator's persistent state: plain JSON-able records (state.json in a state directory).
 * The checkpoint tree is logical (snapshots with parents, the VM's Now position); the disk tree
 * is physical (files with parents, per drive).
 */
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { CHECKPOINT_TYPES, type CheckpointType, type GroupCheckpointReport, type VMState } from '../host/host.js';
import { defaultIntegrationServices, INTEGRATION_SERVICES, type IntegrationServiceName } from '../host/integration.js';

/**
 * 3: the VM files hvsim made are listed with their VM (VmRecord.vmFiles, in its record file), not
 * in one host-wide list (docs/simulator.md, "The state directory"). 2: state.json is an index,
 * each VM's bulk (BULK_FIELDS) in a record file of its own (storage.ts, DirectoryStorage). 1: all in
 * state.json. 1 and 2 are still read, and written as 3 by the next save (vm-files.ts, adoptVmFiles).
 */
export const STATE_VERSION = 3;

/** The fields of a VM record kept in its record file rather than in the index (state version 2 and later). */
export const BULK_FIELDS = ['drives', 'snapshots', 'vmFiles'] as const;

/**
 * What the loops over every VM need of the bulk fields (state.vms: keepGroupReports, the VM-file
 * sync, recovery, orphans), kept in the index so that a VM whose record is not loaded need not be.
 */
export interface VmSummary {
  /** The group Ids of its checkpoints (each once). */
  groupIds: string[];
  /** Whether a checkpoint of an unfinished group is among them (groupComplete false). */
  partialGroup: boolean;
  /** The folders of its disk files (each once). */
  diskDirs: string[];
}

/** Summaries of the VMs whose record is not loaded yet (storage.ts registers them; loading drops them). */
const lazySummaries = new WeakMap<VmRecord, VmSummary>();

/** Note that `vm`'s bulk is not loaded yet and what its index entry says of it. */
export function setLazySummary(vm: VmRecord, summary: VmSummary): void {
  lazySummaries.set(vm, summary);
}

/** Note that `vm`'s bulk is loaded (its summary is computed from it from now on). */
export function dropLazySummary(vm: VmRecord): void {
  lazySummaries.delete(vm);
}

/** Whether `vm`'s bulk fields are still on disk only. */
export function isLazy(vm: VmRecord): boolean {
  return lazySummaries.has(vm);
}

/** What the all-VM loops need of `vm`'s bulk, without loading it. */
export function summaryOf(vm: VmRecord): VmSummary {
  const lazy = lazySummaries.get(vm);
  if (lazy !== undefined) return lazy;
  const groups = new Set<string>();
  let partialGroup = false;
  for (const s of vm.snapshots) {
    if (s.groupId !== null) groups.add(s.groupId);
    if (s.groupComplete === false) partialGroup = true;
  }
  const dirs = new Set<string>();
  for (const d of vm.drives) for (const f of d.files) dirs.add(path.posix.dirname(f.path));
  return { groupIds: [...groups], partialGroup, diskDirs: [...dirs] };
}

/** One disk file of a drive's tree. */
export interface DiskFileRecord {
  path: string;
  /** The file it is a differencing child of; null for the drive's base file. */
  parent: string | null;
}

export interface DriveRecord {
  /** The file the VM reads and writes now (the writable leaf). */
  path: string;
  /** Every file of this drive's tree that the VM still needs (checkpoints' and the leaf's ancestry). */
  files: DiskFileRecord[];
}

export interface SnapshotRecord {
  id: string;
  name: string;
  parentId: string | null;
  creationTime: number;
  /** What applying it restores: Off (no runtime state) or the captured runtime state. */
  state: VMState;
  kind: 'Standard' | 'Production';
  /** The frozen file of each drive at the time it was taken. */
  drives: string[];
  /** Configuration captured with it (Hyper-V restores it on apply). */
  memory: number;
  notes: string;
  checkpointType: CheckpointType;
  groupId: string | null;
  /** Names of every VM the group was taken of. */
  groupMembers: string[] | null;
  /** The SnapshotFileLocation its files went to (Set-VM -SnapshotFileLocation moves only new ones). Absent: the VM's folder. */
  fileLocation?: string;
  /** Taken by Start-VM because AutomaticCheckpointsEnabled (IsAutomaticCheckpoint). Absent: false. */
  automatic?: boolean;
  /**
   * false while a group checkpoint is still being taken (some member has no checkpoint yet); a
   * restart finds it false only after a crash and removes the group (all or nothing). Absent: true.
   */
  groupComplete?: boolean;
}

export interface VmRecord {
  id: string;
  name: string;
  /** The simulated host it is on (docs/simulator.md, "Several hosts"). Absent: the state's own computerName, the first host. */
  computerName?: string;
  state: VMState;
  checkpointType: CheckpointType;
  memory: number;
  notes: string;
  creationTime: number;
  /** Folder of the VM's files (Path, ConfigurationLocation). */
  path: string;
  /** Where new checkpoints' files go (Set-VM -SnapshotFileLocation). Absent: `path`. */
  snapshotFileLocation?: string;
  /** Set-VM -SmartPagingFilePath. Absent: `path`. */
  smartPagingFilePath?: string;
  /** Set-VM -AutomaticCheckpointsEnabled: Start-VM takes a checkpoint first. Absent: false. */
  automaticCheckpointsEnabled?: boolean;
  /** Whether the guest OS can quiesce for a production checkpoint (its own VSS support). */
  guestSupportsProduction: boolean;
  /** Each integration service's Enabled flag (docs/hyperv.md, "Integration services"). Absent: the defaults. */
  integrationServices?: Partial<Record<IntegrationServiceName, boolean>>;
  /** When the VM last entered Running (for Uptime). */
  runningSince: number | null;
  drives: DriveRecord[];
  /** The checkpoint Now descends from. */
  parentSnapshotId: string | null;
  snapshots: SnapshotRecord[];
  /** A background merge is running until this time; the disk-tree clean-up runs when it passes. */
  mergeUntil: number | null;
  /**
   * The clean-up step being carried out on the files, saved before the first file changes and
   * cleared once the records show its result: after a crash, the proof that a file is missing
   * because hvsim merged or deleted it (docs/reliability.md, "Missing files"). Absent: none.
   */
  pendingStep?: { drive: number; step: CleanupStep } | null;
  /**
   * The VM configuration and runtime-state files hvsim made for the VM and its checkpoints
   * (.vmcx/.vmrs/.vmgs, src/sim/vm-files.ts), each listed before it is created: the proof that
   * such a file is hvsim's own. Absent: none.
   */
  vmFiles?: string[];
}

/** Each integration service's Enabled flag (the defaults where the record has none). */
export function servicesOf(vm: VmRecord): Record<IntegrationServiceName, boolean> {
  return { ...defaultIntegrationServices(), ...vm.integrationServices };
}

/** One change a clean-up makes to a drive's files (src/sim/disk-tree.ts). */
export type CleanupStep =
  | { kind: 'delete'; file: string }
  /** Merge the unowned `file` into its only child and re-point the child at `file`'s parent. */
  | { kind: 'merge-into-child'; file: string; child: string }
  /** Merge `leaf` and the unowned files `between` it and the base down into `base`. */
  | { kind: 'merge-down'; base: string; leaf: string; between: string[] };

export interface HostState {
  version: number;
  /** The first simulated host (the one a command acts on unless --computer-name names another). */
  computerName: string;
  /** The other simulated hosts of the farm, in the order they were added (docs/simulator.md, "Several hosts"). Absent: none. */
  hosts?: string[];
  /** Simulated now (epoch ms). */
  clock: number;
  /** 'wall': each CLI invocation first catches the clock up with real time; 'simulated': never. */
  clockMode: 'wall' | 'simulated';
  vms: VmRecord[];
  /**
   * Disk files being created that no record names yet, saved before they are made: after a
   * crash, a listed file that no record names is hvsim's own unfinished file and is removed.
   * Absent: none.
   */
  creating?: Array<{ file: string; parent: string | null }>;
  /**
   * The reports of the group checkpoints taken (checkpoint-group: each VM's pause, save,
   * checkpoint and resume, the freeze skew), kept while a checkpoint of the group exists
   * (keepGroupReports). Absent: none.
   */
  groups?: GroupCheckpointReport[];
  /**
   * VM files hvsim made (VmRecord.vmFiles) whose VM is no longer in the state (Remove-VM moves its
   * list here), until they are removed (src/sim/vm-files.ts). A version 2 state listed every VM's
   * here. Absent: none.
   */
  vmFiles?: string[];
}

/**
 * Record a group checkpoint's report (replacing one of the same group), and drop the reports of
 * groups none of whose checkpoints is left: the one rule for which reports the state keeps.
 */
export function keepGroupReports(state: HostState, add?: GroupCheckpointReport): void {
  const live = new Set<string>();
  for (const vm of state.vms) for (const g of summaryOf(vm).groupIds) live.add(g.toLowerCase());
  const kept = (state.groups ?? []).filter((g) => live.has(g.GroupId.toLowerCase()) && (add === undefined || g.GroupId.toLowerCase() !== add.GroupId.toLowerCase()));
  if (add !== undefined && live.has(add.GroupId.toLowerCase())) kept.push(add);
  if (kept.length > 0) state.groups = kept;
  else delete state.groups;
}

/** Whether two computer names are the same host (names compare without regard to case, as Windows does). */
export const sameHost = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Every simulated host of the state: the first, then the others. */
export function hostNames(state: HostState): string[] {
  return [state.computerName, ...(state.hosts ?? [])];
}

/** The host a VM is on. */
export function hostOf(state: HostState, vm: VmRecord): string {
  return vm.computerName ?? state.computerName;
}

/** The state's spelling of host `name`, if it has that host. */
export function findHost(state: HostState, name: string): string | undefined {
  return hostNames(state).find((h) => sameHost(h, name));
}

/** The VMs on host `host`. */
export function vmsOn(state: HostState, host: string): VmRecord[] {
  return state.vms.filter((v) => sameHost(hostOf(state, v), host));
}

/**
 * A group member's name as the checkpoints record it (GroupMembers): the VM's name, qualified
 * "HOST:VM" when the group spans several hosts (a VM name has no ':', validation.ts).
 */
export function memberNames(state: HostState, vm: VmRecord): string[] {
  return [vm.name, `${hostOf(state, vm)}:${vm.name}`];
}

/** The file each drive reads and writes now (the VM's current disks). */
export function currentDisks(vm: VmRecord): string[] {
  return vm.drives.map((d) => d.path);
}

export function emptyState(computerName: string, clock: number, clockMode: 'wall' | 'simulated'): HostState {
  return { version: STATE_VERSION, computerName, clock, clockMode, vms: [] };
}

const VM_STATES: readonly VMState[] = ['Off', 'Running', 'Saved', 'Paused'];
const GROUP_STEPS: ReadonlyArray<GroupCheckpointReport['Members'][number]['Steps'][number]['Step']> = ['Suspend-VM', 'Save-VM', 'Checkpoint-VM', 'Start-VM', 'Resume-VM'];
const DISK_NAME = /\.(a?vhdx|a?vhd)$/i;

/** The type checks of validateState, each failing with a CORRUPT error naming `file` and the field. */
function checker(file: string) {
  const bad = (where: string, what: string): never => {
    throw new HvsimError('CORRUPT', `${file}: ${where}: ${what} (hvsim never writes this: the file was edited or damaged)`, { file, reason: 'STATE_FILE' });
  };
  const obj = (v: unknown, where: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(where, 'expected an object');
  const arr = (v: unknown, where: string): unknown[] => (Array.isArray(v) ? v : bad(where, 'expected a list'));
  const str = (v: unknown, where: string): string => (typeof v === 'string' ? v : bad(where, 'expected a string'));
  const num = (v: unknown, where: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : bad(where, 'expected a number'));
  const strOrNull = (v: unknown, where: string): string | null => (v === null ? null : str(v, where));
  const numOrNull = (v: unknown, where: string): number | null => (v === null ? null : num(v, where));
  const oneOf = <T extends string>(v: unknown, list: readonly T[], where: string): T =>
    list.includes(v as T) ? (v as T) : bad(where, `expected one of ${list.join(', ')}`);
  const disk = (v: unknown, where: string): string => {
    const p = str(v, where);
    return DISK_NAME.test(p) && /^([A-Za-z]:)?[\\/]/.test(p) ? p : bad(where, `"${p}" is not an absolute path of a .vhdx/.avhdx/.vhd/.avhd file`);
  };
  return { bad, obj, arr, str, num, strOrNull, numOrNull, oneOf, disk };
}

/**
 * Check a state read from `file` (state.json, perhaps edited by hand or by another version) before
 * anything acts on it: every field the simulator uses has its type, names are unique, and every
 * disk file named is a disk file of its drive's tree. What is wrong is a CORRUPT error naming the
 * field; nothing is repaired. The bulk of a VM whose record is not loaded yet (isLazy) is checked
 * when it is loaded (validateVmBulk).
 */
export function validateState(s: unknown, file: string): HostState {
  const { bad, obj, arr, str, num, numOrNull, oneOf, disk } = checker(file);
  const o = obj(s, 'the state');
  num(o.version, 'version');
  str(o.computerName, 'computerName');
  const hosts = new Set<string>([(o.computerName as string).toLowerCase()]);
  if (o.hosts !== undefined)
    arr(o.hosts, 'hosts').forEach((h, i) => {
      const n = str(h, `hosts[${i}]`).toLowerCase();
      if (hosts.has(n)) bad(`hosts[${i}]`, `the host "${String(h)}" is listed twice`);
      hosts.add(n);
    });
  num(o.clock, 'clock');
  oneOf(o.clockMode, ['wall', 'simulated'] as const, 'clockMode');
  const names = new Set<string>();
  arr(o.vms, 'vms').forEach((v, i) => {
    const w = `vms[${i}]`;
    const vm = obj(v, w);
    str(vm.id, `${w}.id`);
    const name = str(vm.name, `${w}.name`);
    const host = vm.computerName === undefined ? (o.computerName as string) : str(vm.computerName, `${w}.computerName`);
    if (!hosts.has(host.toLowerCase())) bad(`${w}.computerName`, `the state has no host "${host}"`);
    const key = `${host.toLowerCase()}:${name.toLowerCase()}`;
    if (names.has(key)) bad(`${w}.name`, `a second virtual machine named "${name}" on ${host}`);
    names.add(key);
    oneOf(vm.state, VM_STATES, `${w}.state`);
    oneOf(vm.checkpointType, CHECKPOINT_TYPES, `${w}.checkpointType`);
    num(vm.memory, `${w}.memory`);
    str(vm.notes, `${w}.notes`);
    num(vm.creationTime, `${w}.creationTime`);
    str(vm.path, `${w}.path`);
    for (const k of ['snapshotFileLocation', 'smartPagingFilePath'] as const) if (vm[k] !== undefined) str(vm[k], `${w}.${k}`);
    if (vm.automaticCheckpointsEnabled !== undefined && typeof vm.automaticCheckpointsEnabled !== 'boolean') bad(`${w}.automaticCheckpointsEnabled`, 'expected true or false');
    if (typeof vm.guestSupportsProduction !== 'boolean') bad(`${w}.guestSupportsProduction`, 'expected true or false');
    // Absent in states written before integration services were simulated: the defaults.
    if (vm.integrationServices !== undefined)
      for (const [k, e] of Object.entries(obj(vm.integrationServices, `${w}.integrationServices`))) {
        if (!(INTEGRATION_SERVICES as readonly string[]).includes(k)) bad(`${w}.integrationServices`, `no integration service is named "${k}"`);
        if (typeof e !== 'boolean') bad(`${w}.integrationServices.${k}`, 'expected true or false');
      }
    numOrNull(vm.runningSince, `${w}.runningSince`);
    numOrNull(vm.mergeUntil, `${w}.mergeUntil`);
    if (vm.pendingStep !== undefined && vm.pendingStep !== null) {
      const ps = obj(vm.pendingStep, `${w}.pendingStep`);
      num(ps.drive, `${w}.pendingStep.drive`);
      const st = obj(ps.step, `${w}.pendingStep.step`);
      const kind = oneOf(st.kind, ['delete', 'merge-into-child', 'merge-down'] as const, `${w}.pendingStep.step.kind`);
      const named = kind === 'delete' ? [st.file] : kind === 'merge-into-child' ? [st.file, st.child] : [st.base, st.leaf, ...arr(st.between, `${w}.pendingStep.step.between`)];
      named.forEach((f) => disk(f, `${w}.pendingStep.step`));
    }
    if (vm.parentSnapshotId !== null) str(vm.parentSnapshotId, `${w}.parentSnapshotId`);
    if (!isLazy(v as VmRecord)) validateVmBulk(vm, vm, file, `${w}.`);
  });
  if (o.groups !== undefined)
    arr(o.groups, 'groups').forEach((g, i) => {
      const w = `groups[${i}]`;
      const go = obj(g, w);
      for (const k of ['GroupId', 'SnapshotName', 'StartTime', 'EndTime'] as const) str(go[k], `${w}.${k}`);
      num(go.DurationMs, `${w}.DurationMs`);
      num(go.SkewMs, `${w}.SkewMs`);
      arr(go.Members, `${w}.Members`).forEach((m, j) => {
        const mw = `${w}.Members[${j}]`;
        const mo = obj(m, mw);
        for (const k of ['VMName', 'FrozenAt', 'SnapshotId', 'SnapshotName'] as const) str(mo[k], `${mw}.${k}`);
        oneOf(mo.PriorState, VM_STATES, `${mw}.PriorState`);
        oneOf(mo.State, VM_STATES, `${mw}.State`);
        arr(mo.Steps, `${mw}.Steps`).forEach((st, k) => {
          const so = obj(st, `${mw}.Steps[${k}]`);
          oneOf(so.Step, GROUP_STEPS, `${mw}.Steps[${k}].Step`);
          str(so.Start, `${mw}.Steps[${k}].Start`);
          str(so.End, `${mw}.Steps[${k}].End`);
        });
      });
    });
  if (o.vmFiles !== undefined) vmFileList(o.vmFiles, file, 'vmFiles');
  if (o.creating !== undefined)
    arr(o.creating, 'creating').forEach((c, i) => {
      const co = obj(c, `creating[${i}]`);
      disk(co.file, `creating[${i}].file`);
      if (co.parent !== null) disk(co.parent, `creating[${i}].parent`);
    });
  return s as HostState;
}

/**
 * Check the bulk fields of a VM (`bulk`: its record file's object, or the VM itself when inline)
 * against its index fields (`vm`: parentSnapshotId, pendingStep): what validateState checks of
 * them, CORRUPT errors naming `file` and the field (`where` its prefix, e.g. "vms[3].").
 */
export function validateVmBulk(vm: Record<string, unknown>, bulk: unknown, file: string, where = ''): void {
  const { bad, obj, arr, str, num, strOrNull, oneOf, disk } = checker(file);
  const b = obj(bulk, where === '' ? 'the record' : where.slice(0, -1));
  const w = where;
  const drives = arr(b.drives, `${w}drives`).map((d, j) => {
    const dw = `${w}drives[${j}]`;
    const drive = obj(d, dw);
    const leaf = disk(drive.path, `${dw}.path`);
    const files = arr(drive.files, `${dw}.files`).map((f, k) => {
      const fo = obj(f, `${dw}.files[${k}]`);
      return { path: disk(fo.path, `${dw}.files[${k}].path`), parent: fo.parent === null ? null : disk(fo.parent, `${dw}.files[${k}].parent`) };
    });
    const paths = new Set(files.map((f) => f.path));
    if (paths.size !== files.length) bad(`${dw}.files`, 'a file is listed twice');
    if (files.filter((f) => f.parent === null).length !== 1) bad(`${dw}.files`, 'expected exactly one base file');
    for (const f of files) if (f.parent !== null && !paths.has(f.parent)) bad(`${dw}.files`, `the parent ${f.parent} of ${f.path} is not listed`);
    if (!paths.has(leaf)) bad(`${dw}.path`, `${leaf} is not one of the drive's files`);
    return paths;
  });
  const ids = new Set<string>();
  const snaps = arr(b.snapshots, `${w}snapshots`).map((x, j) => {
    const sw = `${w}snapshots[${j}]`;
    const sn = obj(x, sw);
    ids.add(str(sn.id, `${sw}.id`));
    str(sn.name, `${sw}.name`);
    num(sn.creationTime, `${sw}.creationTime`);
    oneOf(sn.state, VM_STATES, `${sw}.state`);
    oneOf(sn.kind, ['Standard', 'Production'] as const, `${sw}.kind`);
    num(sn.memory, `${sw}.memory`);
    str(sn.notes, `${sw}.notes`);
    oneOf(sn.checkpointType, CHECKPOINT_TYPES, `${sw}.checkpointType`);
    strOrNull(sn.groupId, `${sw}.groupId`);
    if (sn.fileLocation !== undefined) str(sn.fileLocation, `${sw}.fileLocation`);
    if (sn.automatic !== undefined && typeof sn.automatic !== 'boolean') bad(`${sw}.automatic`, 'expected true or false');
    if (sn.groupComplete !== undefined && typeof sn.groupComplete !== 'boolean') bad(`${sw}.groupComplete`, 'expected true or false');
    if (sn.groupMembers !== null && sn.groupMembers !== undefined) arr(sn.groupMembers, `${sw}.groupMembers`).forEach((m, k) => str(m, `${sw}.groupMembers[${k}]`));
    const sd = arr(sn.drives, `${sw}.drives`);
    if (sd.length !== drives.length) bad(`${sw}.drives`, `expected one file for each of the VM's ${drives.length} drives`);
    sd.forEach((p, k) => {
      if (!drives[k]!.has(disk(p, `${sw}.drives[${k}]`))) bad(`${sw}.drives[${k}]`, `${String(p)} is not one of the drive's files`);
    });
    return { sw, parentId: strOrNull(sn.parentId, `${sw}.parentId`) };
  });
  for (const x of snaps) if (x.parentId !== null && !ids.has(x.parentId)) bad(`${x.sw}.parentId`, `no checkpoint has the Id ${x.parentId}`);
  if (b.vmFiles !== undefined) vmFileList(b.vmFiles, file, `${w}vmFiles`);
  const ps = vm.pendingStep as { drive: number } | null | undefined;
  if (ps !== undefined && ps !== null && !drives[ps.drive]) bad(`${w}pendingStep.drive`, `the VM has no drive ${ps.drive}`);
  const p = vm.parentSnapshotId;
  if (p !== null && typeof p === 'string' && !ids.has(p)) bad(`${w}parentSnapshotId`, `no checkpoint has the Id ${p}`);
}

/** Check a list of VM files (HostState.vmFiles, VmRecord.vmFiles): absolute paths of .vmcx/.vmrs/.vmgs files. */
function vmFileList(v: unknown, file: string, where: string): void {
  const { bad, arr, str } = checker(file);
  arr(v, where).forEach((f, i) => {
    const p = str(f, `${where}[${i}]`);
    if (!/\.(vmcx|vmrs|vmgs)$/i.test(p) || !/^([A-Za-z]:)?[\\/]/.test(p)) bad(`${where}[${i}]`, `"${p}" is not an absolute path of a .vmcx/.vmrs/.vmgs file`);
  });
}
