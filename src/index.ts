/**
 * hvsim's library API, the package's entry (`import … from 'hvsim'`; docs/library.md): disk files,
 * chains, the host simulator, the real-Hyper-V driver and the PowerShell interpreter, each from
 * its layer's index.ts. The CLI (src/cli) is a thin layer over these. test/cli/public-api.test.ts
 * pins the list: adding a name is a decision, not a side effect.
 */

// Errors (src/errors.ts)
export { HvsimError, isHvsimError, type HvsimErrorCode } from './errors.js';

// One disk file, VHDX or VHD (src/vhd)
export {
  BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO,
  faultBudget, formatForPath, MemoryFile, openDisk, openDiskFile,
  type BlockFile, type BlockState, type CrashMode, type DiskImage, type FaultBudget, type Finding, type Guid, type NewDiskOptions,
  type OpenDiskOptions, type ParentLocator, type VhdFormat, type VhdInfo, type VhdType,
} from './vhd/index.js';

// Chains and trees of disks (src/engine)
export {
  analyzeChain, Chain, checkChainFile, checkTree, createBaseDisk, createChild, deleteCheckpointDisk, EXPECTED_SHA256, flatten,
  flattenFormatForPath, layerAllocation, makeWorkload, MAX_CHAIN_DEPTH, MemoryDiskStore, mergeDown, NodeDiskStore, openChainResuming,
  removeLayer, renderChainSvg, resumeMerges, WORKLOAD,
  type AnalyzeOptions, type ChainAnalysis, type ChainMap, type ChainOpenOptions, type CheckReport, type CheckTreeOptions, type DiskStore,
  type FlattenFormat, type FlattenOptions, type FlattenResult, type LayerAllocation, type LayerAnalysis, type LinkStatus,
  type MakeWorkloadOptions, type MergeDownResult, type MergeEstimate, type MergeOptions, type MergeResult, type PathFinding,
  type Progress, type RemoveLayerResult, type TreeFinding, type TreeNode, type TreeReport, type WorkloadFiles,
} from './engine/index.js';

// The Host interface and what runs on any host (src/host)
export {
  CHECKPOINT_TYPES, checkpointGroup, DEFAULT_COSTS, FAULT_OPS, getGroups, removeGroup, restoreGroup,
  type CheckpointType, type CheckpointVMOptions, type CostModel, type ExportResult, type FaultOp, type FaultSpec, type GroupCheckpointOptions,
  type GroupCheckpointReport, type GroupInfo, type GroupMember, type GroupRemoveReport, type GroupRestoreReport, type GroupSelector,
  type GuestReadOptions, type HardDiskDrive, type Host, type HostWarning, type NewVMOptions, type RemoveSnapshotOptions, type SetVMOptions,
  type SnapshotQuery, type SnapshotRef, type SnapshotType, type StopVMOptions, type VirtualMachine, type VMOperationalStatus,
  type VMSnapshot, type VMState,
} from './host/index.js';

// The simulated host (src/sim)
export { DirectoryStorage, MemoryStorage, Simulator, type LockOptions, type SimStorage, type SimulatorOptions } from './sim/index.js';

// A real Hyper-V host through PowerShell (src/hyperv)
export { HyperVHost, parseHostSpec, withHyperVHost, type HostSpec, type HyperVHostOptions } from './hyperv/index.js';

// Users' PowerShell scripts against a Host (src/powershell; hvsim run)
export {
  createSession, runScript, ScriptSyntaxError, UnsupportedError,
  type RunResult, type SavedVariables, type Session, type SessionOptions,
} from './powershell/index.js';
