/**
 * Opening and creating disk files of either format. The format is chosen by content when
 * opening (never by extension alone) and by extension when creating.
 */
import { corrupt, invalidArgument } from '../errors.js';
import type { BlockFile, FileOpener } from './io/block-file.js';
import type { DiskImage, VhdFormat } from './disk.js';
import { formatForPath } from './formats.js';
import { createVhdx, createVhdxDifferencing } from './vhdx/create.js';
import { isVhdx } from './vhdx/open.js';
import { openVhdx } from './vhdx/vhdx-image.js';
import { createVhd, createVhdDifferencing, isVhd, openVhd } from './vhd/vhd-file.js';

export { formatForPath } from './formats.js';

export interface OpenDiskOptions {
  /** Collect structural problems as findings instead of refusing to open (test-vhd). */
  lenient?: boolean;
  /** Writes will not change what the disk reads (merging a parent into it): keep its identity. */
  keepIdentity?: boolean;
}

/** Open a disk held in `file`, detecting VHDX or VHD by its bytes. */
export function openDiskFile(file: BlockFile, opts: OpenDiskOptions = {}): DiskImage {
  if (isVhdx(file)) return openVhdx(file, opts, true);
  if (isVhd(file)) return openVhd(file, opts.lenient ? { lenient: true } : {});
  throw corrupt(file.name, 'NOT_A_DISK', 'not a VHDX or VHD file (no "vhdxfile" signature or "conectix" footer)');
}

/** Open the disk at `filePath` through `files` (the file seam); read-only unless `writable`. */
export function openDisk(files: FileOpener, filePath: string, writable = false, opts: OpenDiskOptions = {}): DiskImage {
  const f = files.open(filePath, writable ? 'rw' : 'r');
  try {
    return openDiskFile(f, opts);
  } catch (e) {
    f.close();
    throw e;
  }
}

export interface NewDiskOptions {
  virtualSize: number;
  type?: 'Dynamic' | 'Fixed';
  blockSize?: number;
  logicalSectorSize?: number;
  physicalSectorSize?: number;
}

/** Write a new dynamic or fixed disk of `format` into an empty file. */
export function createDiskFile(file: BlockFile, format: VhdFormat, opts: NewDiskOptions): DiskImage {
  if (format === 'VHDX') return createVhdx(file, opts);
  if ((opts.logicalSectorSize ?? 512) !== 512 || (opts.physicalSectorSize ?? 512) !== 512)
    throw invalidArgument('VHD files have 512-byte sectors only', file.name);
  return createVhd(file, { virtualSize: opts.virtualSize, ...(opts.type ? { type: opts.type } : {}), ...(opts.blockSize ? { blockSize: opts.blockSize } : {}) });
}

/** Write a differencing child of an open parent into an empty file (same format as the parent). */
export function createDifferencingDiskFile(file: BlockFile, parent: DiskImage, parentPath: string, childPath: string, blockSize?: number): DiskImage {
  const format = formatForPath(childPath);
  if (format !== parent.format)
    throw invalidArgument(`a ${format} child cannot have the ${parent.format} parent ${parentPath}`, childPath);
  const o = { parent, parentPath, childPath, ...(blockSize !== undefined ? { blockSize } : {}) };
  return format === 'VHDX' ? createVhdxDifferencing(file, o) : createVhdDifferencing(file, o);
}
