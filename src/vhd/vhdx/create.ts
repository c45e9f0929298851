/**
 * Creating a VHDX file (MS-VHDX §2.1 layout as Windows writes it: log @1 MiB, metadata @2 MiB,
 * BAT @3 MiB), dynamic, fixed or differencing.
 */
import { encodeUtf16le, MiB, setAscii } from '../common/bytes.js';
import { invalidArgument } from '../../errors.js';
import { newGuid, ZERO_GUID, type Guid } from '../common/guid.js';
import type { BlockFile } from '../io/block-file.js';
import type { DiskImage } from '../disk.js';
import { locatorPaths } from '../parent-paths.js';
import { batGeometry, batRegionLength, payloadIndex, setEntry } from './bat.js';
import { serializeHeader, type VhdxHeader } from './header.js';
import { childLocatorEntries, diskParameterItems, parentLocatorItem, serializeMetadataUsed, type DiskParameters } from './metadata.js';
import { serializeRegionTable, type RegionEntry } from './region-table.js';
import {
  HEADER1_OFFSET, HEADER2_OFFSET, PAYLOAD_FULLY_PRESENT, REGION_BAT, REGION_METADATA, REGION_TABLE1_OFFSET, REGION_TABLE2_OFFSET, SIG_FILE,
} from './spec.js';
import { VhdxImage } from './vhdx-image.js';

export const CREATOR = 'hvsim 0.1';

export interface VhdxCreateOptions {
  virtualSize: number;
  type?: 'Dynamic' | 'Fixed';
  blockSize?: number;
  logicalSectorSize?: number;
  physicalSectorSize?: number;
  page83?: Guid;
  /** Parent locator key/value pairs: makes a differencing disk. */
  parent?: Array<[string, string]>;
}

function create(file: BlockFile, opts: VhdxCreateOptions): VhdxImage {
  const lss = opts.logicalSectorSize ?? 512;
  const pss = opts.physicalSectorSize ?? 4096;
  const hasParent = opts.parent !== undefined;
  const blockSize = opts.blockSize ?? (hasParent ? 2 * MiB : 32 * MiB);
  const fixed = opts.type === 'Fixed';
  validateCreate(file.name, opts.virtualSize, blockSize, lss, pss);
  if (file.size() !== 0) throw invalidArgument('refusing to create a disk over a non-empty file', file.name);
  const params: DiskParameters = {
    blockSize,
    leaveBlockAllocated: fixed,
    hasParent,
    virtualSize: opts.virtualSize,
    logicalSectorSize: lss,
    physicalSectorSize: pss,
    page83: opts.page83 ?? newGuid(),
  };
  const items = diskParameterItems(params);
  if (opts.parent) items.push(parentLocatorItem(opts.parent));
  const g = batGeometry(params.virtualSize, blockSize, lss, hasParent);
  const logOffset = MiB;
  const logLength = MiB;
  const mdRegion: RegionEntry = { guid: REGION_METADATA, fileOffset: 2 * MiB, length: MiB, required: true };
  const metadata = serializeMetadataUsed(items);
  if (metadata.length > mdRegion.length) throw invalidArgument(`the metadata (${metadata.length} bytes: parent paths too long?) does not fit its ${mdRegion.length}-byte region`, file.name);
  const batRegion: RegionEntry = { guid: REGION_BAT, fileOffset: 3 * MiB, length: batRegionLength(g), required: true };
  let end = batRegion.fileOffset + batRegion.length;
  // Fixed: every block allocated in order after the BAT (§2.6.2.1 LeaveBlockAllocated); a dynamic
  // or differencing disk's BAT is all zeros (nothing present).
  const bat = fixed ? new Uint8Array(batRegion.length) : undefined;
  if (bat) {
    for (let k = 0; k < g.payloadBlocks; k++) {
      setEntry(bat, payloadIndex(g, k), PAYLOAD_FULLY_PRESENT, end / MiB);
      end += blockSize;
    }
  }
  // The file is new and empty: size it first, then write only what is not zero (the log, most of
  // the metadata region and a dynamic disk's BAT are zeros already: same bytes, far fewer writes).
  file.truncate(end);
  const creator = encodeUtf16le(CREATOR);
  const ident = new Uint8Array(8 + creator.length);
  setAscii(ident, 0, SIG_FILE);
  ident.set(creator, 8);
  file.write(ident, 0);
  const rt = serializeRegionTable([batRegion, mdRegion]);
  file.write(rt, REGION_TABLE1_OFFSET);
  file.write(rt, REGION_TABLE2_OFFSET);
  file.write(metadata, mdRegion.fileOffset);
  if (bat) file.write(bat, batRegion.fileOffset);
  file.flush();
  // Headers last: a crash before this point leaves a file that is plainly not a VHDX yet.
  const header: VhdxHeader = {
    sequenceNumber: 0,
    fileWriteGuid: newGuid(),
    dataWriteGuid: newGuid(),
    logGuid: ZERO_GUID,
    logVersion: 0,
    version: 1,
    logLength,
    logOffset,
  };
  file.write(serializeHeader(header), HEADER1_OFFSET);
  file.write(serializeHeader({ ...header, sequenceNumber: 1 }), HEADER2_OFFSET);
  file.flush();
  return VhdxImage.open(file);
}

function validateCreate(name: string, size: number, blockSize: number, lss: number, pss: number): void {
  if (lss !== 512 && lss !== 4096) throw invalidArgument(`logical sector size must be 512 or 4096, not ${lss}`, name);
  if (pss !== 512 && pss !== 4096) throw invalidArgument(`physical sector size must be 512 or 4096, not ${pss}`, name);
  if (!Number.isInteger(blockSize) || blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0)
    throw invalidArgument(`block size must be a power of two from 1 MiB to 256 MiB, not ${blockSize}`, name);
  if (!Number.isSafeInteger(size) || size <= 0 || size > 64 * 1024 * 1024 * MiB || size % lss !== 0)
    throw invalidArgument(`size must be a positive multiple of ${lss} bytes up to 64 TiB, not ${size}`, name);
}

export function createVhdx(file: BlockFile, opts: Omit<VhdxCreateOptions, 'parent'>): VhdxImage {
  return create(file, opts);
}

export interface VhdxDifferencingOptions {
  parent: DiskImage;
  parentPath: string;
  childPath: string;
  blockSize?: number;
}

/**
 * Create a differencing disk (docs/formats.md, "Creating a differencing VHDX"): copy the parent's virtual-disk items, record
 * its DataWriteGuid as parent_linkage, and both relative and absolute paths. The parent is untouched.
 */
export function createVhdxDifferencing(file: BlockFile, opts: VhdxDifferencingOptions): VhdxImage {
  const p = opts.parent;
  const paths = locatorPaths(opts.childPath, opts.parentPath);
  return create(file, {
    virtualSize: p.virtualSize,
    logicalSectorSize: p.logicalSectorSize,
    physicalSectorSize: p.physicalSectorSize,
    page83: p.diskIdentifier,
    ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize } : {}),
    parent: childLocatorEntries(p.identity, paths.relative, paths.absolute),
  });
}
