/**
 * The format layer's public face: one disk file, VHDX or VHD, seen through DiskImage
 * (docs/formats.md); how to open and create one; the files it sits on (the src/vhd/io seam).
 */
export {
  BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO,
  type BlockState, type DiskImage, type Finding, type ParentLocator, type VhdFormat, type VhdInfo, type VhdType,
} from './disk.js';
export { createDifferencingDiskFile, createDiskFile, formatForPath, openDisk, openDiskFile, type NewDiskOptions, type OpenDiskOptions } from './open.js';
export type { Guid } from './common/guid.js';
export type { BlockFile } from './io/block-file.js';
export { MemoryFile } from './io/memory-file.js';
export { NodeFile } from './io/node-file.js';
export { FaultFile, faultBudget, type CrashMode, type FaultBudget } from './io/fault-file.js';
