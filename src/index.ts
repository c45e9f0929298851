/**
 * hvsim's library API (the package's main entry): the disk formats, the chain engine and the
 * host simulator. The CLI (src/cli) is a thin layer over exactly these.
 */

// Errors
export { HvsimError, type HvsimErrorCode } from './errors.js';

// File formats (src/vhd)
export type { BlockFile } from './vhd/io/block-file.js';
export { MemoryFile } from './vhd/io/memory-file.js';
export { NodeFile } from './vhd/io/node-file.js';
export {
  BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO,
  type BlockState, type DiskImage, type Finding, type ParentLocator, type VhdFormat, type VhdInfo, type VhdType,
} from './vhd/disk.js';
export { createDifferencingDiskFile, createDiskFile, formatForPath, openDisk, openDiskFile, type NewDiskOptions, type OpenDiskOptions } from './vhd/open.js';

// Chain engine (src/engine)
export { MemoryDiskStore, NodeDiskStore, createWhole, type DiskStore } from './engine/store.js';
export { Chain, MAX_CHAIN_DEPTH, type ChainOpenOptions } from './engine/chain.js';
export { createBaseDisk, createChild, layerAllocation, type LayerAllocation } from './engine/layers.js';
export {
  deleteCheckpointDisk, mergeDown, openChainResuming, pendingJournals, removeLayer, resumeMerges,
  type MergeDownResult, type MergeOptions, type MergeResult, type RemoveLayerResult,
} from './engine/merge.js';
export { flatten, flattenFormatForPath, type FlattenFormat, type FlattenOptions, type FlattenResult } from './engine/flatten.js';
export { checkChainFile, type CheckReport } from './engine/check.js';
export { checkTree, type TreeReport } from './engine/tree.js';
export { analyzeChain, type ChainAnalysis } from './engine/analyze.js';
export { makeWorkload, WORKLOAD, type MakeWorkloadOptions, type WorkloadFiles } from './engine/workload.js';

// Host simulator and the real-host driver (src/sim)
export type * from './host/host.js';
export { Simulator, type SimulatorOptions } from './sim/simulator.js';
export { DirectoryStorage, MemoryStorage, type SimStorage } from './sim/storage.js';
export {
  checkpointGroup, getGroups, removeGroup, restoreGroup,
  type GroupCheckpointOptions, type GroupCheckpointReport, type GroupInfo, type GroupSelector,
} from './host/group.js';
export { HyperVHost, parseHostSpec, withHyperVHost, type HyperVHostOptions } from './hyperv/index.js';

// Users' PowerShell scripts against a Host (hvsim run)
export { createSession, runScript, ScriptSyntaxError, UnsupportedError, type RunResult, type Session, type SessionOptions } from './powershell/index.js';
