/**
 * The simulator's persistent state: plain JSON-able records (state.json in a state directory).
 * The checkpoint tree is logical (snapshots with parents, the VM's Now position); the disk tree
 * is physical (files with parents, per drive). Imports: host types only.
 */
import type { CheckpointType, VMState } from './host.js';

export const STATE_VERSION = 1;

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
  /**
   * false while a group checkpoint is still being taken (some member has no checkpoint yet); a
   * restart finds it false only after a crash and removes the group (all or nothing). Absent: true.
   */
  groupComplete?: boolean;
}

export interface VmRecord {
  id: string;
  name: string;
  state: VMState;
  checkpointType: CheckpointType;
  memory: number;
  notes: string;
  creationTime: number;
  /** Folder of the VM's files. */
  path: string;
  guestSupportsProduction: boolean;
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
  computerName: string;
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
}

export function emptyState(computerName: string, clock: number, clockMode: 'wall' | 'simulated'): HostState {
  return { version: STATE_VERSION, computerName, clock, clockMode, vms: [] };
}
