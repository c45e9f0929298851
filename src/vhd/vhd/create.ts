/**
 * Creating VHD 1.0 files the way Windows lays them out (docs/formats.md, "VHD as Windows writes it"):
 * creator "win " 10.0 on "Wi2k", CurrentSize = the virtual size, CHS geometry from the spec
 * appendix; dynamic: header @0x200, BAT @0x600; differencing: header @0x200, W2ku @0x1000,
 * BAT @0x2000, W2ru after the BAT (64 KiB); the first block's data on a 4 KiB boundary.
 */
import { alignUp, isPow2, GiB, MiB } from '../common/bytes.js';
import { HvsimError, invalidArgument } from '../../errors.js';
import { newGuid, normalizeGuid, type Guid } from '../common/guid.js';
import type { BlockFile } from '../io/block-file.js';
import type { DiskImage } from '../disk.js';
import {
  HEADER_COOKIE,
  HEADER_VERSION,
  PLATFORM_W2KU,
  PLATFORM_W2RU,
  bitmapBytes,
  encodeDynamicHeader,
  type ParentLocatorEntry,
} from './dynamic-header.js';
import {
  DISK_TYPE_DIFFERENCING,
  DISK_TYPE_DYNAMIC,
  DISK_TYPE_FIXED,
  FEATURES_RESERVED,
  FILE_FORMAT_VERSION,
  FOOTER_COOKIE,
  FOOTER_SIZE,
  chsGeometry,
  encodeFooter,
  vhdTimeStamp,
  type DiskGeometry,
} from './footer.js';
import { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, nextBlockPosition } from './layout.js';
import { LOCATOR_ALIGN, locatorSpace, parentLocatorData } from './locators.js';
import { VhdImage } from './vhd-image.js';

/** Hyper-V's largest VHD (docs/hyperv.md, "Limits": "VHD 2040 GB"). */
export const MAX_VHD_SIZE = 2040 * GiB;
export const DEFAULT_BLOCK_SIZE = 2 * MiB;
const HEADER_OFFSET = 0x200;
const DYNAMIC_TABLE_OFFSET = 0x600;
const W2KU_OFFSET = 0x1000;

export interface VhdCreateOptions {
  virtualSize: number;
  type?: 'Dynamic' | 'Fixed';
  /** Dynamic only; default 2 MiB. */
  blockSize?: number;
  /** Footer UniqueId; random when absent (for byte-exact tests). */
  uniqueId?: Guid;
  /** Footer TimeStamp; now when absent. */
  now?: Date;
}

export interface VhdDifferencingOptions {
  /** Must be a VHD (format 'VHD'). */
  parent: DiskImage;
  /** The parent's path as the child should record it (absolute in W2ku, relative in W2ru). */
  parentPath: string;
  childPath: string;
  blockSize?: number;
  uniqueId?: Guid;
  now?: Date;
}

function footerBytes(size: number, diskType: number, dataOffset: number, geometry: DiskGeometry, uniqueId: Guid | undefined, now: Date | undefined): Uint8Array {
  return encodeFooter({
    cookie: FOOTER_COOKIE,
    features: FEATURES_RESERVED,
    fileFormatVersion: FILE_FORMAT_VERSION,
    dataOffset,
    timeStamp: vhdTimeStamp(now ?? new Date()),
    creatorApplication: 'win ',
    creatorVersion: 0x000a0000,
    creatorHostOs: 'Wi2k',
    originalSize: size,
    currentSize: size,
    diskGeometry: geometry,
    diskType,
    checksum: 0,
    uniqueId: uniqueId === undefined ? newGuid() : normalizeGuid(uniqueId),
    savedState: 0,
  });
}

function checkTarget(file: BlockFile): void {
  if (file.readOnly) throw new HvsimError('READ_ONLY', `${file.name}: cannot create a VHD in a file opened read-only`, { file: file.name });
}

function checkBlockSize(file: BlockFile, bs: number): void {
  if (!isPow2(bs) || bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE)
    throw invalidArgument(`block size ${bs} is not a power of two between ${MIN_BLOCK_SIZE} and ${MAX_BLOCK_SIZE}`, file.name);
}

/** Start from an empty file of `size` zero bytes (truncate twice: no stale bytes survive). */
function resetFile(file: BlockFile, size: number): void {
  file.truncate(0);
  file.truncate(size);
}

export function createVhd(file: BlockFile, opts: VhdCreateOptions): VhdImage {
  checkTarget(file);
  const size = opts.virtualSize;
  if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0 || size > MAX_VHD_SIZE)
    throw invalidArgument(`virtual size ${size} must be a positive multiple of 512 up to ${MAX_VHD_SIZE}`, file.name);
  const geometry = chsGeometry(size);
  if ((opts.type ?? 'Dynamic') === 'Fixed') {
    // Fixed (spec "Fixed Hard Disk Image"): the data, then the footer.
    resetFile(file, size);
    file.write(footerBytes(size, DISK_TYPE_FIXED, Infinity, geometry, opts.uniqueId, opts.now), size);
    file.flush();
    return VhdImage.open(file);
  }
  const bs = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(file, bs);
  const entries = Math.ceil(size / bs);
  const batBytes = alignUp(entries * 4, 512);
  const end = nextBlockPosition(DYNAMIC_TABLE_OFFSET + batBytes, bitmapBytes(bs));
  const footer = footerBytes(size, DISK_TYPE_DYNAMIC, HEADER_OFFSET, geometry, opts.uniqueId, opts.now);
  const header = encodeDynamicHeader({
    cookie: HEADER_COOKIE,
    dataOffset: Infinity,
    tableOffset: DYNAMIC_TABLE_OFFSET,
    headerVersion: HEADER_VERSION,
    maxTableEntries: entries,
    blockSize: bs,
    checksum: 0,
    parentUniqueId: '00000000-0000-0000-0000-000000000000',
    parentTimeStamp: 0,
    parentUnicodeName: '',
    parentLocatorEntries: [],
  });
  writeSparse(file, end, footer, header, DYNAMIC_TABLE_OFFSET, entries, []);
  return VhdImage.open(file);
}

function writeSparse(
  file: BlockFile,
  end: number,
  footer: Uint8Array,
  header: Uint8Array,
  tableOffset: number,
  entries: number,
  locators: Array<[number, Uint8Array]>,
): void {
  resetFile(file, end + FOOTER_SIZE);
  file.write(footer, 0);
  file.write(header, HEADER_OFFSET);
  for (const [off, data] of locators) file.write(data, off);
  file.write(new Uint8Array(alignUp(entries * 4, 512)).fill(0xff), tableOffset); // every entry BAT_UNUSED
  file.flush();
  // The footer at the end last: until it is there the file is not a complete VHD.
  file.write(footer, end);
  file.flush();
}

export function createVhdDifferencing(file: BlockFile, opts: VhdDifferencingOptions): VhdImage {
  checkTarget(file);
  const parent = opts.parent;
  if (parent.format !== 'VHD') throw invalidArgument(`parent ${parent.path} is a ${parent.format}; a VHD child needs a VHD parent`, file.name);
  const size = parent.virtualSize;
  const bs = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(file, bs);
  const { absolute, data } = parentLocatorData(opts.childPath, opts.parentPath);
  const w2ku = data[0]![1];
  const w2ru = data[1]![1];
  const entries = Math.ceil(size / bs);
  // Windows' layout (docs/formats.md, "VHD as Windows writes it"): W2ku @0x1000 (4 KiB), BAT @0x2000, W2ru after the BAT (64 KiB).
  const w2kuSpace = locatorSpace(PLATFORM_W2KU, w2ku.length);
  const tableOffset = W2KU_OFFSET + w2kuSpace;
  const w2ruOffset = tableOffset + alignUp(entries * 4, LOCATOR_ALIGN);
  const w2ruSpace = locatorSpace(PLATFORM_W2RU, w2ru.length);
  const end = nextBlockPosition(w2ruOffset + w2ruSpace, bitmapBytes(bs));
  const pf = parent instanceof VhdImage ? parent.footer : undefined;
  const footer = footerBytes(size, DISK_TYPE_DIFFERENCING, HEADER_OFFSET, pf?.diskGeometry ?? chsGeometry(size), opts.uniqueId, opts.now);
  // PlatformDataSpace in bytes, as Windows writes it (docs/formats.md, "VHD dynamic header"), and no NUL in PlatformDataLength.
  const locators: ParentLocatorEntry[] = [
    { platformCode: PLATFORM_W2KU, platformDataSpace: w2kuSpace, platformDataLength: w2ku.length, platformDataOffset: W2KU_OFFSET },
    { platformCode: PLATFORM_W2RU, platformDataSpace: w2ruSpace, platformDataLength: w2ru.length, platformDataOffset: w2ruOffset },
  ];
  const header = encodeDynamicHeader({
    cookie: HEADER_COOKIE,
    dataOffset: Infinity,
    tableOffset,
    headerVersion: HEADER_VERSION,
    maxTableEntries: entries,
    blockSize: bs,
    checksum: 0,
    parentUniqueId: parent.identity,
    // The parent's footer TimeStamp (Windows itself writes 0; readers must not insist on it).
    parentTimeStamp: pf?.timeStamp ?? 0,
    parentUnicodeName: absolute,
    parentLocatorEntries: locators,
  });
  writeSparse(file, end, footer, header, tableOffset, entries, [
    [W2KU_OFFSET, w2ku],
    [w2ruOffset, w2ru],
  ]);
  return VhdImage.open(file);
}
