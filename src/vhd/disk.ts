/**
 * The format-neutral view of one disk file (VHDX or VHD). Everything above src/vhd — chains,
 * merges, the simulator — sees disks only through this interface.
 *
 * A file maps each block of the virtual disk to one of four states. Format code never reads a
 * parent: sectors a differencing file does not hold are reported as `parent`, and the chain
 * engine decides where they come from (the layering idea of openvmm's vhdx/disk_layered).
 */
import { readFully, type BlockFile } from './io/block-file.js';
import type { Guid } from './common/guid.js';
import { HvsimError, type CorruptReason } from '../errors.js';

export type VhdFormat = 'VHDX' | 'VHD';
export type VhdType = 'Fixed' | 'Dynamic' | 'Differencing';

/** Block state as the chain engine needs it. */
export const BLOCK_PARENT = 0; // nothing here: read the parent (or zeros with no parent)
export const BLOCK_ZERO = 1; // reads as zeros, hides the parent
export const BLOCK_DATA = 2; // every sector is in this file
export const BLOCK_PARTIAL = 3; // a per-sector bitmap says which sectors are here
export type BlockState = typeof BLOCK_PARENT | typeof BLOCK_ZERO | typeof BLOCK_DATA | typeof BLOCK_PARTIAL;

/** Where a differencing file says its parent is, and the identity the parent must carry. */
export interface ParentLocator {
  /** VHDX: parent_linkage (parent's DataWriteGuid). VHD: parent's footer UniqueId. */
  linkage: Guid;
  /** VHDX parent_linkage2, when present and not the zero GUID. */
  linkage2: Guid | undefined;
  /** Relative path as stored (Windows separators), e.g. ".\\base.vhdx". */
  relativePath: string | undefined;
  /** Absolute Win32 path as stored, e.g. "C:\\VMs\\base.vhdx". */
  absolutePath: string | undefined;
  /** VHDX volume_path as stored. */
  volumePath: string | undefined;
  /** Every key/value pair as stored (VHDX keys; VHD platform codes), in file order. */
  entries: Array<[string, string]>;
}

/** The properties Get-VHD reports, in its names. */
export interface VhdInfo {
  Path: string;
  VhdFormat: VhdFormat;
  VhdType: VhdType;
  FileSize: number;
  Size: number;
  MinimumSize: number | null;
  LogicalSectorSize: number;
  PhysicalSectorSize: number;
  BlockSize: number;
  ParentPath: string | null;
  DiskIdentifier: string;
  FragmentationPercentage: number | null;
  Alignment: number;
}

/** One problem found by a check. `severity: 'error'` makes test-vhd fail. */
export interface Finding<Code extends string = string> {
  severity: 'error' | 'warning';
  code: Code;
  message: string;
  offset?: number;
}

/** A finding of a format check: its code is the reason a strict open's CORRUPT error carries. */
export type FormatFinding = Finding<CorruptReason>;

export interface DiskImage {
  readonly file: BlockFile;
  readonly path: string;
  readonly format: VhdFormat;
  readonly type: VhdType;
  readonly virtualSize: number;
  readonly blockSize: number;
  readonly logicalSectorSize: number;
  readonly physicalSectorSize: number;
  readonly blockCount: number;
  /** False once opened read-only; writes then fail with READ_ONLY. */
  readonly writable: boolean;
  /** What a child records as its parent's identity (VHDX DataWriteGuid, VHD UniqueId). */
  readonly identity: Guid;
  /** The DiskIdentifier Get-VHD reports (VHDX Page 83 data, VHD UniqueId). */
  readonly diskIdentifier: Guid;
  readonly parentLocator: ParentLocator | undefined;

  blockState(block: number): BlockState;
  /** File offset of the block's first data byte (BLOCK_DATA / BLOCK_PARTIAL only). */
  blockDataOffset(block: number): number;
  /**
   * For a BLOCK_PARTIAL block: call `fn` for each maximal run of sectors in
   * [first, first + count) (sector indices inside the block), telling whether the run is present here.
   */
  forEachSectorRun(block: number, first: number, count: number, fn: (present: boolean, start: number, n: number) => void): void;

  /**
   * Write whole logical sectors at a sector-aligned `offset`. In a differencing file only the
   * written sectors become present; the rest keep falling through to the parent.
   */
  writeSectors(data: Uint8Array, offset: number): void;
  /** Make a sector-aligned range read as zeros (whole blocks may become BLOCK_ZERO). */
  zeroSectors(offset: number, length: number): void;
  /** Make whole blocks of a sector-aligned range transparent again (BLOCK_PARENT); partial blocks are left alone. */
  discardBlocks?(offset: number, length: number): void;

  /**
   * Give the disk a new identity (VHDX DataWriteGuid), e.g. after a merge changed its content.
   * Formats whose identity never changes on writes (VHD UniqueId) may leave it out.
   */
  renewIdentity?(): void;

  /**
   * Point this differencing disk at `parent`: record its identity and the relative and absolute
   * paths from `childPath` (this disk) to `parentPath`, as a new child would (docs/formats.md,
   * "Merging"). Nothing is written when the disk already points there. What it reads does not
   * change, so its identity is kept.
   */
  reparent(parent: DiskImage, parentPath: string, childPath: string): void;
  /**
   * Make this disk a base: no parent locator, no differencing type. The caller has first made
   * every partially present block whole (a base has no sector bitmaps). Nothing is written on a
   * disk that has no parent.
   */
  dropParent(): void;

  info(): VhdInfo;
  /** Structural check of this one file (not its parents). */
  check(): Finding[];
  flush(): void;
  /** Finish any session state (clean log, final header) and close the file. */
  close(): void;
}

/** Reads `buf.length` bytes at virtual `offset` from the parent, for sectors a file does not hold. */
export type ParentReader = (buf: Uint8Array, offset: number) => void;

/**
 * Read any byte range of one file; sectors the file does not hold come from `parent`
 * (zeros when there is none). One implementation for every format.
 */
export function readImage(img: DiskImage, buf: Uint8Array, offset: number, parent?: ParentReader): void {
  checkRange(img, offset, buf.length);
  const bs = img.blockSize;
  const lss = img.logicalSectorSize;
  let pos = 0;
  while (pos < buf.length) {
    const voff = offset + pos;
    const block = Math.floor(voff / bs);
    const inBlock = voff - block * bs;
    const n = Math.min(buf.length - pos, bs - inBlock);
    const dst = buf.subarray(pos, pos + n);
    switch (img.blockState(block)) {
      case BLOCK_DATA:
        readData(img, dst, img.blockDataOffset(block) + inBlock);
        break;
      case BLOCK_ZERO:
        dst.fill(0);
        break;
      case BLOCK_PARENT:
        if (parent) parent(dst, voff);
        else dst.fill(0);
        break;
      case BLOCK_PARTIAL: {
        const first = Math.floor(inBlock / lss);
        const last = Math.floor((inBlock + n - 1) / lss);
        const base = img.blockDataOffset(block);
        img.forEachSectorRun(block, first, last - first + 1, (present, start, count) => {
          const a = Math.max(inBlock, start * lss);
          const b = Math.min(inBlock + n, (start + count) * lss);
          const part = dst.subarray(a - inBlock, b - inBlock);
          if (present) readData(img, part, base + a);
          else if (parent) parent(part, block * bs + a);
          else part.fill(0);
        });
        break;
      }
    }
    pos += n;
  }
}

/**
 * Read the bytes `img` stores for a range the caller has already found present in it, sector by
 * sector (a chain's resolved map, a merge's owner runs): one read per block, no sector-bitmap walk.
 * Blocks that hold nothing read as zeros. What the image reads as a whole disk is readImage's.
 * The range [offset, offset+length) goes to buf[at, at+length): one view per block read, and no
 * closure, for this runs once per piece of every chain read (issue 20).
 */
export function readStored(img: DiskImage, buf: Uint8Array, offset: number, at = 0, length = buf.length - at): void {
  for (let pos = 0; pos < length; ) {
    const n = extentLength(img, offset + pos, length - pos);
    const fileOffset = storedOffset(img, offset + pos);
    const dst = buf.subarray(at + pos, at + pos + n);
    if (fileOffset >= 0) readData(img, dst, fileOffset);
    else dst.fill(0);
    pos += n;
  }
}

/**
 * Where readStored finds each part of [offset, offset+length) of one image: `fn(fileOffset, pos, n)`
 * per block, `pos` from the range's start, fileOffset -1 where the block holds no data (zeros).
 */
export function forEachStoredExtent(img: DiskImage, offset: number, length: number, fn: (fileOffset: number, pos: number, n: number) => void): void {
  for (let pos = 0; pos < length; ) {
    const n = extentLength(img, offset + pos, length - pos);
    fn(storedOffset(img, offset + pos), pos, n);
    pos += n;
  }
}

/** Bytes from virtual `voff` to the end of its block, at most `rest`. */
function extentLength(img: DiskImage, voff: number, rest: number): number {
  return Math.min(rest, img.blockSize - (voff % img.blockSize));
}

/** The file offset of virtual byte `voff` of `img`, -1 where its block holds no data. */
function storedOffset(img: DiskImage, voff: number): number {
  const inBlock = voff % img.blockSize;
  const block = (voff - inBlock) / img.blockSize; // exact: no fraction to box in baseline code
  const st = img.blockState(block);
  return st === BLOCK_DATA || st === BLOCK_PARTIAL ? img.blockDataOffset(block) + inBlock : -1;
}

/** Data past the end of a (truncated) file reads as zeros; check() reports the truncation. */
function readData(img: DiskImage, dst: Uint8Array, fileOffset: number): void {
  readFully(img.file, dst, fileOffset);
}

export function checkRange(img: { path: string; virtualSize: number }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > img.virtualSize)
    throw new HvsimError(
      'INVALID_ARGUMENT',
      `${img.path}: range ${offset}+${length} is outside the virtual disk (${img.virtualSize} bytes)`,
      { file: img.path },
    );
}

/**
 * Write any byte range: whole sectors go straight to `writeSectors`; a partial head or tail
 * sector is first read through `readThrough` (the file plus its parents) and merged.
 */
export function writeImage(img: DiskImage, data: Uint8Array, offset: number, readThrough: (buf: Uint8Array, offset: number) => void): void {
  checkRange(img, offset, data.length);
  if (data.length === 0) return;
  const lss = img.logicalSectorSize;
  const start = Math.floor(offset / lss) * lss;
  const end = Math.ceil((offset + data.length) / lss) * lss;
  if (start === offset && end === offset + data.length) {
    img.writeSectors(data, offset);
    return;
  }
  const buf = new Uint8Array(end - start);
  readThrough(buf.subarray(0, lss), start);
  if (end - lss > start) readThrough(buf.subarray(buf.length - lss), end - lss);
  buf.set(data, offset - start);
  img.writeSectors(buf, start);
}
