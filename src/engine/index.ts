/**
 * The chain engine's public face: chains and trees of disk files (docs/formats.md, "Chains"), the
 * stores they live in, merges that survive a crash, flatten, checks, analysis, and the benchmark
 * workload (docs/workload.md).
 */
export { MemoryDiskStore, NodeDiskStore, type DiskStore } from './store.js';
export { Chain, MAX_CHAIN_DEPTH, type ChainOpenOptions } from './chain.js';
export { createBaseDisk, createChild, layerAllocation, type LayerAllocation } from './layers.js';
export {
  deleteCheckpointDisk, mergeDown, openChainResuming, removeLayer, resumeMerges,
  type MergeDownResult, type MergeOptions, type MergeResult, type Progress, type RemoveLayerResult,
} from './merge.js';
export { flatten, flattenFormatForPath, type FlattenFormat, type FlattenOptions, type FlattenResult } from './flatten.js';
export { checkChainFile, type CheckReport, type PathFinding } from './check.js';
export { checkTree, type CheckTreeOptions, type LinkStatus, type TreeFinding, type TreeNode, type TreeReport } from './tree.js';
export { analyzeChain, type AnalyzeOptions, type ChainAnalysis, type ChainMap, type LayerAnalysis, type MergeEstimate } from './analyze.js';
export { renderChainSvg } from './analyze-svg.js';
export { EXPECTED_SHA256, makeWorkload, WORKLOAD, workloadImage, workloadLayerPath, type MakeWorkloadOptions, type WorkloadFiles } from './workload.js';
