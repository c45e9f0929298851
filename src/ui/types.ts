/**
 * What the page and its back end exchange (docs/ui.md): the views' data, the actions, their
 * results. Shared by the server (server.ts), the in-browser back end of the static build
 * (page/local-backend.ts) and the page; JSON-able, no functions.
 */
import type { HardDiskDrive, VirtualMachine, VMSnapshot } from '../host/host.js';

export type { HardDiskDrive, VirtualMachine, VMSnapshot };

/** One file of a drive's disk tree (the seed's "disk files in the VM folder"). */
export interface UiFile {
  path: string;
  /** The file name alone. */
  name: string;
  /** The file it is a differencing child of; null for the base. */
  parent: string | null;
  /** Bytes the file takes (FileSize); null when it cannot be opened. */
  sizeOnDisk: number | null;
  /** The virtual disk's size (Size); null when it cannot be opened. */
  virtualSize: number | null;
  readOnly: boolean;
  missing: boolean;
  /** The file the VM writes now (the only writable one). */
  current: boolean;
  /** On the chain the VM reads now (base .. current). */
  inCurrentChain: boolean;
  /** Names of the checkpoints that froze this file. */
  checkpoints: string[];
  /** Owned by nothing any more: a background merge will remove it. */
  merging: boolean;
}

export interface UiDrive {
  index: number;
  /** The current (writable) file. */
  path: string;
  /** Every file of the drive's tree, parents before children. */
  files: UiFile[];
}

/** One step of a VM's background merge: `file` goes into `into` (docs/simulator.md). */
export interface UiMergeStep {
  drive: number;
  kind: 'delete' | 'merge-into-child' | 'merge-down';
  /** The files that disappear. */
  removed: string[];
  /** The file that receives their blocks (null for a plain delete). */
  into: string | null;
}

export interface UiVm {
  vm: VirtualMachine;
  /** Whether this is the VM the page shows in detail (the only one with checkpoints and files listed). */
  detail: boolean;
  snapshotCount: number;
  /** Its checkpoints: for the VM shown in detail only (empty for the others). */
  snapshots: VMSnapshot[];
  /** The drives and their files: for the VM shown in detail only (empty for the others). */
  drives: UiDrive[];
  /** The background merge in progress (simulated end time, epoch ms), else null. */
  merge: { until: number; steps: UiMergeStep[] } | null;
}

/** A group checkpoint as its report told it (taken in this page), or as its checkpoints show it. */
export interface UiGroup {
  groupId: string;
  snapshotName: string;
  members: string[];
  /** The timeline, when the group was taken through this back end (else only creation times). */
  timeline: UiGroupTimeline | null;
  created: Array<{ vmName: string; time: string }>;
}

export interface UiGroupTimeline {
  start: string;
  end: string;
  skewMs: number;
  members: Array<{ vmName: string; priorState: string; frozenAt: string; state: string }>;
}

export interface UiState {
  computerName: string;
  /** The host's clock (simulated; epoch ms). */
  now: number;
  clockMode: 'wall' | 'simulated';
  vms: UiVm[];
  groups: UiGroup[];
  /** A counter that changes whenever the state may have changed (for the page's caches). */
  version: number;
}

/** Where each region of a drive's virtual disk comes from (engine/analyze.ts, ChainMap). */
export interface UiBlocks {
  vmName: string;
  drive: number;
  virtualSize: number;
  binSize: number;
  /** The chain, base first. */
  layers: Array<{ path: string; name: string; sizeOnDisk: number; suppliedBytes: number }>;
  /** Per bin: the layer supplying most of its bytes, -1 for zeros (nothing written). */
  owner: number[];
  /** Per bin: how many layers (and zeros) supply parts of it. */
  sources: number[];
  /** Expected layers a random read looks up walking down from the leaf (Chain.readNaive). */
  expectedProbes: number;
  maxProbes: number;
}

/** A checkpoint of the VM: by Id (the page's buttons) or by name (the lesson). */
export type SnapshotPick = { id: string; name?: undefined } | { name: string; id?: undefined };

export type PowerKind = 'start' | 'save' | 'turnoff' | 'stop' | 'pause' | 'resume';

/** What the page can ask for; each runs the Host call the cmdlet of the same name runs. */
export type UiAction =
  | { op: 'new-vm'; name: string; diskSize?: number; checkpointType?: string }
  | { op: 'power'; kind: PowerKind; vms: string[] }
  | { op: 'checkpoint'; vms: string[]; snapshotName?: string }
  | { op: 'checkpoint-group'; vms: string[]; snapshotName?: string }
  | ({ op: 'apply'; vm: string } & SnapshotPick)
  | ({ op: 'remove'; vm: string; subtree: boolean } & SnapshotPick)
  | ({ op: 'rename'; vm: string; newName: string } & SnapshotPick)
  | ({ op: 'export'; vm: string } & SnapshotPick)
  | { op: 'write'; vm: string; drive: number; offset: number; length: number; text?: string };

export interface UiError {
  code: string;
  message: string;
}

/** A background merge running after a request (the page animates it). */
export interface UiMerge {
  vmName: string;
  vmId: string;
  /** The host's clock when the request ended, and the merge's end (epoch ms, simulated). */
  now: number;
  until: number;
  steps: UiMergeStep[];
}

export interface UiActionResult {
  ok: boolean;
  /** Merges running once the action ended. */
  merges?: UiMerge[];
  /** One line per result object, as the page shows it. */
  lines: string[];
  error?: UiError;
  /** Warnings the cmdlet would print. */
  warnings: string[];
}

export interface UiRunResult {
  /** What PowerShell printed (output and error streams, in order). */
  output: string;
  exitCode: number;
  merges?: UiMerge[];
}
