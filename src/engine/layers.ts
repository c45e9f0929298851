/** Per-layer facts used by get-vhd --chain, analysis and merges. */
import { BLOCK_DATA, BLOCK_PARTIAL, BLOCK_ZERO, type DiskImage } from '../vhd/disk.js';
import { createDifferencingDiskFile, createDiskFile, formatForPath, type NewDiskOptions } from '../vhd/open.js';
import type { VhdFormat } from '../vhd/disk.js';
import { openLayer } from './chain.js';
import { createWhole, type DiskStore } from './store.js';

export interface LayerAllocation {
  blocks: number;
  /** Blocks whose every sector is in this file. */
  fullBlocks: number;
  /** Blocks with only some sectors here (a sector bitmap decides). */
  partialBlocks: number;
  zeroBlocks: number;
  /** Bytes of virtual disk this file holds data for (sector-exact for partial blocks). */
  dataBytes: number;
}

export function layerAllocation(img: DiskImage): LayerAllocation {
  const a: LayerAllocation = { blocks: img.blockCount, fullBlocks: 0, partialBlocks: 0, zeroBlocks: 0, dataBytes: 0 };
  const bs = img.blockSize;
  for (let k = 0; k < img.blockCount; k++) {
    const len = Math.min(bs, img.virtualSize - k * bs);
    const st = img.blockState(k);
    if (st === BLOCK_DATA) {
      a.fullBlocks++;
      a.dataBytes += len;
    } else if (st === BLOCK_ZERO) a.zeroBlocks++;
    else if (st === BLOCK_PARTIAL) {
      a.partialBlocks++;
      img.forEachSectorRun(k, 0, Math.ceil(len / img.logicalSectorSize), (present, _s, n) => {
        if (present) a.dataBytes += n * img.logicalSectorSize;
      });
    }
  }
  return a;
}

/**
 * Freeze `parentPath` and start a child on it, the way a checkpoint does: the child is created
 * whole first (createWhole), then the parent is marked read-only (docs/formats.md,
 * "Creating a differencing VHDX"; docs/hyperv.md, "Disk files"). The parent's writer's lock is held throughout, so no process writes
 * the parent between reading its identity and freezing it. Returns the child's absolute path
 * (the child is not opened again: open it with openLayer when needed).
 */
export function createChild(store: DiskStore, parentPath: string, childPath: string, blockSize?: number): string {
  const parentAbs = store.absolutePath(parentPath);
  const childAbs = store.absolutePath(childPath);
  const lock = store.lockWriter(parentAbs);
  try {
    const parent = openLayer(store, parentAbs, false);
    try {
      createWhole(store, childAbs, (f) => createDifferencingDiskFile(f, parent, parentAbs, childAbs, blockSize));
    } finally {
      parent.close();
    }
    store.setReadOnly(parentAbs, true);
  } finally {
    lock.release();
  }
  return childAbs;
}

/**
 * A new dynamic or fixed disk at `p` (VHDX or VHD by its extension unless `format` says), created
 * whole (createWhole); refuses to replace a file. Returns its absolute path.
 */
export function createBaseDisk(store: DiskStore, p: string, opts: NewDiskOptions & { format?: VhdFormat }): string {
  const abs = store.absolutePath(p);
  createWhole(store, abs, (f) => createDiskFile(f, opts.format ?? formatForPath(abs), opts));
  return abs;
}
