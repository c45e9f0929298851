/**
 * A VHDX file (MS-VHDX v1.0) as a DiskImage: its state once open, the read mapping (BAT and
 * sector bitmaps) and journaled writes. Opening and log replay: open.ts; BAT validation:
 * validate.ts; creating: create.ts. Section numbers refer to [MS-VHDX]; ordering rules:
 * docs/formats.md, "VHDX headers", "VHDX write ordering", "VHDX log".
 */
import { alignUp, MiB, setU32le, u32le } from '../common/bytes.js';
import { corrupt, HvsimError, invalidArgument, unsupported } from '../../errors.js';
import { newGuid, ZERO_GUID, type Guid } from '../common/guid.js';
import { readFully, type BlockFile } from '../io/block-file.js';
import {
  BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO, type BlockState, type DiskImage, type FormatFinding,
  type ParentLocator, type VhdInfo, type VhdType,
} from '../disk.js';
import { locatorPaths } from '../parent-paths.js';
import { batGeometry, bitmapIndex, entryOffsetMb, entryState, payloadIndex, setEntry, type BatGeometry } from './bat.js';
import { logEnd, updateHeader, type HeaderState, type VhdxHeader } from './header.js';
import { LogWriter, maxPagesPerEntry } from './log.js';
import {
  childLocatorEntries, decodeDiskParameters, findItem, parentLocatorItem, parseMetadataRegion, parseParentLocator, serializeMetadataRegion,
  type DiskParameters, type MetadataItem,
} from './metadata.js';
import { readVhdx, regionCopyFinding, type LogStatus } from './open.js';
import { secondCopyProblem, type RegionTableState } from './region-table.js';
import {
  META_FILE_PARAMETERS, META_PARENT_LOCATOR, PAYLOAD_FULLY_PRESENT, PAYLOAD_NOT_PRESENT, PAYLOAD_PARTIALLY_PRESENT,
  PAYLOAD_UNDEFINED, PAYLOAD_UNMAPPED, PAYLOAD_UNMAPPED_V095, PAYLOAD_ZERO, SB_PRESENT,
} from './spec.js';
import { logFindings, validateBat } from './validate.js';

const PAGE = 4096;

export interface VhdxOpenOptions {
  /**
   * Collect BAT problems as findings instead of refusing to open (used by check/test-vhd).
   * Reads of a damaged block still fail.
   */
  lenient?: boolean;
  /**
   * Writes in this session move data between layers without changing what the disk reads
   * (a merge into a child), so the DataWriteGuid — the identity children link to — is kept.
   */
  keepIdentity?: boolean;
}

export class VhdxImage implements DiskImage {
  readonly format = 'VHDX' as const;
  readonly file: BlockFile;
  readonly path: string;
  readonly writable: boolean;
  readonly logStatus: LogStatus;
  /** Problems noticed at open that did not prevent it (damaged header copy, lenient BAT findings…). */
  readonly openFindings: FormatFinding[];

  private headers: HeaderState;
  private regions: RegionTableState;
  private items: MetadataItem[];
  private params: DiskParameters;
  private geom: BatGeometry;
  private bat: Uint8Array;
  private locator: ParentLocator | undefined;
  private bitmaps = new Map<number, ChunkBitmap>();
  private log: LogWriter | undefined;
  /** First free 1 MiB-aligned offset for new blocks. */
  private nextFree: number;
  private closed = false;

  private constructor(
    file: BlockFile,
    headers: HeaderState,
    regions: RegionTableState,
    items: MetadataItem[],
    params: DiskParameters,
    bat: Uint8Array,
    logStatus: LogStatus,
    findings: FormatFinding[],
    writable: boolean,
    keepIdentity: boolean,
  ) {
    this.keepIdentity = keepIdentity;
    this.file = file;
    this.path = file.name;
    this.writable = writable;
    this.headers = headers;
    this.regions = regions;
    this.items = items;
    this.params = params;
    this.geom = batGeometry(params.virtualSize, params.blockSize, params.logicalSectorSize, params.hasParent);
    this.bat = bat;
    this.logStatus = logStatus;
    this.openFindings = findings;
    const locItem = params.hasParent ? findItem(items, META_PARENT_LOCATOR) : undefined;
    this.locator = locItem ? parseParentLocator(file.name, locItem.data) : undefined;
    let end = Math.max(file.size(), logEnd(this.headers.current));
    for (let i = 0; i < regions.entries.length; i++) end = Math.max(end, regions.entries[i]!.fileOffset + regions.entries[i]!.length);
    this.nextFree = alignUp(end, MiB);
  }

  // ---- Open (§2.2; docs/formats.md, "VHDX log": when to replay) ----

  /** `signed`: the caller has just found the file's "vhdxfile" signature (isVhdx), not read again. */
  static open(base: BlockFile, opts: VhdxOpenOptions = {}, signed = false): VhdxImage {
    const { file, headers, regions, items, params, bat, logStatus, findings } = readVhdx(base, signed);
    const img = new VhdxImage(file, headers, regions, items, params, bat, logStatus, findings, !base.readOnly, opts.keepIdentity ?? false);
    const batFindings = validateBat(file, regions, headers.current, params.hasParent, img.geom, bat);
    const fatal = batFindings.find((f) => f.severity === 'error');
    if (fatal && !opts.lenient) throw corrupt(base.name, fatal.code, fatal.message, fatal.offset);
    findings.push(...batFindings);
    return img;
  }

  // ---- DiskImage properties ----

  get type(): VhdType {
    return this.params.hasParent ? 'Differencing' : this.params.leaveBlockAllocated ? 'Fixed' : 'Dynamic';
  }
  get virtualSize(): number { return this.params.virtualSize; }
  get blockSize(): number { return this.params.blockSize; }
  get logicalSectorSize(): number { return this.params.logicalSectorSize; }
  get physicalSectorSize(): number { return this.params.physicalSectorSize; }
  get blockCount(): number { return this.geom.payloadBlocks; }
  get identity(): Guid { return this.headers.current.dataWriteGuid; }
  get diskIdentifier(): Guid { return this.params.page83; }
  get parentLocator(): ParentLocator | undefined { return this.locator; }
  get header(): Readonly<VhdxHeader> { return this.headers.current; }
  get metadataItems(): readonly MetadataItem[] { return this.items; }
  get geometry(): Readonly<BatGeometry> { return this.geom; }

  /** Raw payload state of block k (§2.5.1.1). */
  payloadState(k: number): number {
    return entryState(this.bat, payloadIndex(this.geom, k));
  }

  blockState(k: number): BlockState {
    const st = entryState(this.bat, payloadIndex(this.geom, k));
    switch (st) {
      case PAYLOAD_FULLY_PRESENT:
        return BLOCK_DATA;
      case PAYLOAD_PARTIALLY_PRESENT:
        return this.params.hasParent ? BLOCK_PARTIAL : BLOCK_DATA;
      case PAYLOAD_NOT_PRESENT:
        return BLOCK_PARENT;
      case PAYLOAD_ZERO:
      case PAYLOAD_UNMAPPED:
      case PAYLOAD_UNMAPPED_V095:
      case PAYLOAD_UNDEFINED:
        return BLOCK_ZERO;
      default:
        throw corrupt(this.path, 'BAT_ENTRY', `payload block ${k} has reserved state ${st}`, this.regions.bat.fileOffset + payloadIndex(this.geom, k) * 8);
    }
  }

  blockDataOffset(k: number): number {
    return entryOffsetMb(this.bat, payloadIndex(this.geom, k)) * MiB;
  }

  /**
   * The sector bitmap of chunk c, whose 1 MiB is read in units (4 KiB, or one block's bitmap when
   * larger) as reads and writes reach them: a chain's open and first pass never hold 1 MiB per
   * layer (issue 20). Absent from the file when first used: all zero, never read.
   */
  private bitmap(c: number): ChunkBitmap {
    let bm = this.bitmaps.get(c);
    if (!bm) {
      const i = bitmapIndex(this.geom, c);
      const at = entryState(this.bat, i) === SB_PRESENT ? entryOffsetMb(this.bat, i) * MiB : undefined;
      bm = new ChunkBitmap(this.file, at, Math.max(this.writable ? PAGE : POOLED_UNIT, this.geom.bitmapBytesPerBlock), !this.writable);
      this.bitmaps.set(c, bm);
    }
    return bm;
  }

  /** The bitmap unit holding block k's bits; blockBase: the bit of its first sector in the unit. */
  private blockBits(k: number): BitmapUnit {
    const g = this.geom;
    // Quotients as (a - a % b) / b: exact, so cold (baseline) code boxes no fraction.
    const inChunk = k % g.chunkRatio;
    const cb = this.bitmap((k - inChunk) / g.chunkRatio);
    const byte = inChunk * g.bitmapBytesPerBlock;
    // A unit holds whole blocks' bitmaps (both sizes are powers of two, the unit the larger).
    const inUnit = byte % cb.unitBytes;
    this.blockBase = inUnit * 8;
    return cb.unit((byte - inUnit) / cb.unitBytes);
  }
  private blockBase = 0;

  forEachSectorRun(k: number, first: number, count: number, fn: (present: boolean, start: number, n: number) => void): void {
    // §2.4 sector bitmap: bit (s & 7) of byte (s >> 3), LSB first, 1 = sector in this file.
    const unit = this.blockBits(k);
    forEachBitRun(unit, this.blockBase, first, count, fn);
  }

  // ---- Writes (§2.5; docs/formats.md, "VHDX write ordering": data, flush, log entry, flush, apply, flush) ----

  private assertWritable(): void {
    if (this.closed) throw new HvsimError('INVALID_STATE', `${this.path}: disk is closed`, { file: this.path });
    if (!this.writable) throw new HvsimError('READ_ONLY', `${this.path}: disk is open read-only`, { file: this.path });
  }

  /** First modification in this session: new FileWriteGuid and DataWriteGuid, and a fresh log (§2.2.2). */
  private beginSession(change: boolean): void {
    const dataChange = change && !this.keepIdentity;
    if (this.log) {
      if (dataChange && !this.dataChanged) {
        this.headers = updateHeader(this.file, this.headers, { dataWriteGuid: newGuid() });
        this.dataChanged = true;
      }
      return;
    }
    const h = this.headers.current;
    if (!h.logLength) throw unsupported(this.path, 'file has no log region; hvsim cannot journal writes to it');
    const logGuid = newGuid();
    this.headers = updateHeader(this.file, this.headers, {
      fileWriteGuid: newGuid(),
      ...(dataChange ? { dataWriteGuid: newGuid() } : {}),
      logGuid,
    });
    this.dataChanged = dataChange;
    this.log = new LogWriter(this.file, { offset: h.logOffset, length: h.logLength }, logGuid);
  }
  private dataChanged = false;
  private readonly keepIdentity: boolean;

  /** Give the disk a new DataWriteGuid now (its content changed; children linked to the old one no longer match). */
  renewIdentity(): void {
    this.assertWritable();
    this.beginSession(false);
    this.headers = updateHeader(this.file, this.headers, { dataWriteGuid: newGuid() });
    this.dataChanged = true;
  }

  private allocate(len: number): number {
    const off = this.nextFree;
    this.nextFree = off + len;
    return off;
  }

  /**
   * Journal updated 4 KiB pages of metadata structures (BAT, bitmaps, metadata region) and
   * apply them in place. Entries are bounded by the log size; each is applied before the next.
   */
  private commitPages(pages: Map<number, Uint8Array>): void {
    if (pages.size === 0) return;
    const all = [...pages.entries()].sort((a, b) => a[0] - b[0]).map(([offset, data]) => ({ offset, data }));
    const per = maxPagesPerEntry(this.headers.current.logLength);
    if (per < 1) throw unsupported(this.path, `log of ${this.headers.current.logLength} bytes is too small to journal a change`);
    for (let i = 0; i < all.length; i += per) {
      const slice = all.slice(i, i + per);
      const size = this.file.size();
      this.log!.writeEntry(slice, [], size, Math.max(size, this.nextFree));
      for (const p of slice) this.file.write(p.data, p.offset);
      this.file.flush();
    }
  }

  private batPage(pages: Map<number, Uint8Array>, entry: number): void {
    const rel = Math.floor((entry * 8) / PAGE) * PAGE;
    const off = this.regions.bat.fileOffset + rel;
    const page = new Uint8Array(PAGE);
    page.set(this.bat.subarray(rel, Math.min(rel + PAGE, this.bat.length)));
    pages.set(off, page);
  }

  writeSectors(data: Uint8Array, offset: number): void {
    this.assertWritable();
    const lss = this.params.logicalSectorSize;
    if (offset % lss !== 0 || data.length % lss !== 0)
      throw invalidArgument(`write at ${offset}+${data.length} is not aligned to the ${lss}-byte sector`, this.path);
    if (offset < 0 || offset + data.length > this.params.virtualSize)
      throw invalidArgument(`write at ${offset}+${data.length} is outside the ${this.params.virtualSize}-byte disk`, this.path);
    if (data.length === 0) return;
    this.beginSession(true);
    const g = this.geom;
    const bs = g.blockSize;
    const diff = this.params.hasParent;
    const changedEntries: number[] = [];
    const changedBitmaps = new Map<number, Set<number>>(); // chunk -> 4 KiB page indices
    const fileEndBefore = this.file.size();
    let newEnd = fileEndBefore;
    // Phase 1: decide placement, allocate, write payload data.
    const placements: Array<{ fileOffset: number; src: Uint8Array }> = [];
    for (let pos = 0; pos < data.length; ) {
      const voff = offset + pos;
      const k = Math.floor(voff / bs);
      const inBlock = voff - k * bs;
      const n = Math.min(data.length - pos, bs - inBlock);
      const idx = payloadIndex(g, k);
      const st = entryState(this.bat, idx);
      const whole = inBlock === 0 && n === Math.min(bs, this.params.virtualSize - k * bs); // the last block may be short
      if (st === PAYLOAD_FULLY_PRESENT || (st === PAYLOAD_PARTIALLY_PRESENT && !diff)) {
        placements.push({ fileOffset: entryOffsetMb(this.bat, idx) * MiB + inBlock, src: data.subarray(pos, pos + n) });
      } else if (st === PAYLOAD_PARTIALLY_PRESENT) {
        placements.push({ fileOffset: entryOffsetMb(this.bat, idx) * MiB + inBlock, src: data.subarray(pos, pos + n) });
        if (whole) { setEntry(this.bat, idx, PAYLOAD_FULLY_PRESENT, entryOffsetMb(this.bat, idx)); changedEntries.push(idx); }
        else this.markSectors(k, inBlock / this.params.logicalSectorSize, n / this.params.logicalSectorSize, changedBitmaps);
      } else {
        // NOT_PRESENT, ZERO, UNMAPPED, UNDEFINED: allocate a new block at the end of the file; its
        // unwritten bytes are zeros, which is right for every state but NOT_PRESENT in a child.
        const at = this.allocate(bs);
        newEnd = Math.max(newEnd, at + bs);
        placements.push({ fileOffset: at + inBlock, src: data.subarray(pos, pos + n) });
        if (diff && st === PAYLOAD_NOT_PRESENT && !whole) {
          setEntry(this.bat, idx, PAYLOAD_PARTIALLY_PRESENT, at / MiB);
          this.ensureBitmapBlock(Math.floor(k / g.chunkRatio), changedEntries, (e) => (newEnd = Math.max(newEnd, e)));
          // Bits left from an earlier life of this block (before a discard) must not resurface.
          this.markSectors(k, 0, g.sectorsPerBlock, changedBitmaps, false);
          this.markSectors(k, inBlock / this.params.logicalSectorSize, n / this.params.logicalSectorSize, changedBitmaps);
        } else setEntry(this.bat, idx, PAYLOAD_FULLY_PRESENT, at / MiB);
        changedEntries.push(idx);
      }
      pos += n;
    }
    if (newEnd > fileEndBefore) this.file.truncate(newEnd);
    for (const p of placements) this.file.write(p.src, p.fileOffset);
    this.file.flush();
    // Phase 2+3: journal and apply the BAT and bitmap pages.
    const pages = new Map<number, Uint8Array>();
    for (const e of changedEntries) this.batPage(pages, e);
    for (const [c, set] of changedBitmaps) {
      const sbOff = entryOffsetMb(this.bat, bitmapIndex(g, c)) * MiB;
      const cb = this.bitmap(c);
      for (const p of set) pages.set(sbOff + p * PAGE, cb.page(p));
    }
    this.commitPages(pages);
  }

  private ensureBitmapBlock(c: number, changed: number[], grow: (end: number) => void): void {
    const i = bitmapIndex(this.geom, c);
    if (entryState(this.bat, i) === SB_PRESENT) return;
    this.bitmap(c); // load (all zero) before the entry says present
    const at = this.allocate(MiB);
    grow(at + MiB);
    setEntry(this.bat, i, SB_PRESENT, at / MiB);
    changed.push(i);
  }

  /** Set (or clear) the bitmap bits of sectors [first, first+count) of block k (§2.4 LSB-first). */
  private markSectors(k: number, first: number, count: number, pages: Map<number, Set<number>>, value = true): void {
    const g = this.geom;
    const c = Math.floor(k / g.chunkRatio);
    const bm = this.blockBits(k).bytes;
    const base = this.blockBase + first;
    let set = pages.get(c);
    if (!set) pages.set(c, (set = new Set()));
    for (let b = base; b < base + count; b++) {
      if ((b & 7) === 0 && b + 8 <= base + count) {
        bm[b >>> 3] = value ? 0xff : 0;
        b += 7;
      } else if (value) bm[b >>> 3]! |= 1 << (b & 7);
      else bm[b >>> 3]! &= ~(1 << (b & 7));
    }
    const abs = (k % g.chunkRatio) * g.bitmapBytesPerBlock * 8 + first; // the bit in the chunk's 1 MiB
    for (let p = Math.floor((abs >>> 3) / PAGE); p <= Math.floor(((abs + count - 1) >>> 3) / PAGE); p++) set.add(p);
  }

  zeroSectors(offset: number, length: number): void {
    this.setWholeBlocks(offset, length, PAYLOAD_ZERO, true);
  }

  /** Whole blocks become NOT_PRESENT: transparent in a child, zeros in a base (§2.5.1.1). */
  discardBlocks(offset: number, length: number): void {
    this.setWholeBlocks(offset, length, PAYLOAD_NOT_PRESENT, false);
  }

  /** Set whole blocks of a range to `state`; with `writeEdges`, the partial edges are written as zeros. */
  private setWholeBlocks(offset: number, length: number, state: number, writeEdges: boolean): void {
    this.assertWritable();
    const lss = this.params.logicalSectorSize;
    if (offset % lss !== 0 || length % lss !== 0 || offset < 0 || offset + length > this.params.virtualSize)
      throw invalidArgument(`range ${offset}+${length} is not sector-aligned inside the disk`, this.path);
    if (length === 0) return;
    const bs = this.geom.blockSize;
    const end = offset + length;
    const kStart = Math.ceil(offset / bs);
    // The last block may be short; a range reaching the end of the disk covers it whole.
    const kEnd = Math.max(kStart, end === this.params.virtualSize ? this.geom.payloadBlocks : Math.floor(end / bs));
    if (kEnd === kStart) {
      if (writeEdges) this.writeZeros(offset, length);
      return;
    }
    if (writeEdges && offset < kStart * bs) this.writeZeros(offset, kStart * bs - offset);
    if (writeEdges && kEnd * bs < end) this.writeZeros(kEnd * bs, end - kEnd * bs);
    this.beginSession(true);
    const pages = new Map<number, Uint8Array>();
    for (let k = kStart; k < kEnd; k++) {
      const idx = payloadIndex(this.geom, k);
      if (entryState(this.bat, idx) === state) continue;
      setEntry(this.bat, idx, state, 0);
      this.batPage(pages, idx);
    }
    this.commitPages(pages);
  }

  private writeZeros(offset: number, length: number): void {
    const chunk = new Uint8Array(Math.min(length, 4 * MiB));
    for (let done = 0; done < length; done += chunk.length)
      this.writeSectors(chunk.subarray(0, Math.min(chunk.length, length - done)), offset + done);
  }

  /** Replace the parent locator's key/value pairs (e.g. re-point a child after a merge). */
  setParentLocator(entries: Array<[string, string]>): void {
    this.assertWritable();
    if (!this.params.hasParent) throw invalidArgument('disk has no parent', this.path);
    const item = parentLocatorItem(entries);
    const loc = parseParentLocator(this.path, item.data);
    this.rewriteMetadata(this.items.map((it) => (it.itemId === META_PARENT_LOCATOR && !it.isUser ? item : it)), false);
    this.locator = loc;
  }

  /** A new parent locator (§2.6.2.6) with the keys a new child writes. */
  reparent(parent: DiskImage, parentPath: string, childPath: string): void {
    const { relative, absolute } = locatorPaths(childPath, parentPath);
    const cur = this.locator;
    if (cur && cur.linkage === parent.identity && cur.relativePath === relative && cur.absolutePath === absolute) return;
    this.setParentLocator(childLocatorEntries(parent.identity, relative, absolute));
  }

  /** A base disk: no parent locator item, HasParent (bit 1 of File Parameters flags) clear (§2.6.2.1). */
  dropParent(): void {
    if (!this.locator) return;
    const items = this.items
      .filter((it) => !(it.itemId === META_PARENT_LOCATOR && !it.isUser))
      .map((it) => {
        if (it.itemId !== META_FILE_PARAMETERS || it.isUser) return it;
        const data = it.data.slice();
        setU32le(data, 4, u32le(data, 4) & ~2);
        return { ...it, data };
      });
    this.rewriteMetadata(items, false);
    this.locator = undefined;
  }

  /**
   * Rewrite the metadata region through the log (only changed 4 KiB pages). `dataChange` marks a
   * change to user-visible data, which needs a new DataWriteGuid (§2.2.2).
   */
  rewriteMetadata(items: MetadataItem[], dataChange: boolean): void {
    this.assertWritable();
    const region = serializeMetadataRegion(items, this.regions.metadata.length);
    const params = decodeDiskParameters(this.path, parseMetadataRegion(this.path, region, this.regions.metadata.fileOffset));
    const batNeeded = batGeometry(params.virtualSize, params.blockSize, params.logicalSectorSize, params.hasParent).totalEntries * 8;
    if (batNeeded > this.regions.bat.length) throw invalidArgument('new metadata needs a larger BAT than the file has', this.path);
    this.beginSession(dataChange);
    const old = new Uint8Array(this.regions.metadata.length);
    readFully(this.file, old, this.regions.metadata.fileOffset);
    const pages = new Map<number, Uint8Array>();
    for (let p = 0; p < region.length; p += PAGE) {
      const a = region.subarray(p, p + PAGE);
      const b = old.subarray(p, p + PAGE);
      if (!a.every((v, i) => v === b[i])) pages.set(this.regions.metadata.fileOffset + p, a.slice());
    }
    // A new geometry (e.g. a merged child's different block size is not allowed; same size only) keeps the BAT.
    this.commitPages(pages);
    this.items = items;
    this.params = params;
    this.geom = batGeometry(params.virtualSize, params.blockSize, params.logicalSectorSize, params.hasParent);
    if (this.bat.length < this.geom.totalEntries * 8) {
      const grown = new Uint8Array(this.geom.totalEntries * 8);
      grown.set(this.bat);
      this.bat = grown;
    }
  }

  // ---- Reports ----

  info(): VhdInfo {
    let allocated = 0;
    let breaks = 0;
    let prevEnd = -1;
    for (let k = 0; k < this.geom.payloadBlocks; k++) {
      const st = this.blockStateSafe(k);
      if (st !== BLOCK_DATA && st !== BLOCK_PARTIAL) continue;
      const off = this.blockDataOffset(k);
      if (prevEnd >= 0 && off !== prevEnd) breaks++;
      prevEnd = off + this.geom.blockSize;
      allocated++;
    }
    return {
      Path: this.path,
      VhdFormat: 'VHDX',
      VhdType: this.type,
      FileSize: this.file.size(),
      Size: this.params.virtualSize,
      MinimumSize: null,
      LogicalSectorSize: this.params.logicalSectorSize,
      PhysicalSectorSize: this.params.physicalSectorSize,
      BlockSize: this.params.blockSize,
      ParentPath: this.locator ? (this.locator.absolutePath ?? this.locator.relativePath ?? this.locator.volumePath ?? null) : null,
      DiskIdentifier: this.params.page83.toUpperCase(),
      FragmentationPercentage: allocated > 1 ? Math.round((breaks * 100) / (allocated - 1)) : 0,
      Alignment: 1,
    };
  }

  private blockStateSafe(k: number): BlockState | -1 {
    try {
      return this.blockState(k);
    } catch {
      return -1;
    }
  }

  check(): FormatFinding[] {
    const second = this.regions.secondUnchecked ? secondCopyProblem(this.file, this.regions) : undefined;
    return [...this.openFindings, ...(second ? [regionCopyFinding(1, second)] : []), ...logFindings(this.logStatus)];
  }

  flush(): void {
    this.file.flush();
  }

  /** End the session: the log is drained (each entry is applied as written), so clear LogGuid (§2.2.2). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.log && this.writable) {
      this.file.flush();
      this.headers = updateHeader(this.file, this.headers, { logGuid: ZERO_GUID });
      this.log = undefined;
    }
    this.releaseBitmaps();
    this.file.close();
  }

  private releaseBitmaps(): void {
    for (const bm of this.bitmaps.values()) bm.release();
    this.bitmaps.clear();
  }

  /** Close without the clean-shutdown header (for crash tests: the file looks like a live one). */
  abandon(): void {
    this.closed = true;
    this.releaseBitmaps();
    this.file.close();
  }

}

export function openVhdx(file: BlockFile, opts?: VhdxOpenOptions, signed = false): VhdxImage {
  return VhdxImage.open(file, opts, signed);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Runs of equal bits [base+first, base+first+count) of an LSB-first bitmap (§2.4), reported as
 * (present, start, n) from `first`. On a little-endian machine bit b of an LSB-first byte array is
 * bit (b & 31) of 32-bit word b >> 5, so a run's end is found a word at a time: the rest of its
 * first word, then the words equal to the run's fill, then the lowest differing bit. The first pass
 * over a deep chain scans every layer's bitmap in baseline code, where each operation of the word
 * loop costs a call: it does three per word.
 */
function forEachBitRun(unit: BitmapUnit, base: number, first: number, count: number, fn: (present: boolean, start: number, n: number) => void): void {
  const limit = base + first + count;
  const bm = unit.bytes;
  const words = unit.words;
  const wordsEnd = ((limit - 1) >>> 5) + 1;
  let b = base + first;
  while (b < limit) {
    const present = ((bm[b >>> 3]! >>> (b & 7)) & 1) === 1;
    let e = b + 1;
    if (words) {
      const fill = present ? -1 : 0;
      let wi = b >>> 5;
      let x = (words[wi]! ^ fill) & (-1 << (b & 31)); // bits at or above b that differ from the run
      if (x === 0) {
        wi++;
        while (wi < wordsEnd && words[wi] === fill) wi++;
        x = wi < wordsEnd ? words[wi]! ^ fill : 0;
      }
      e = x === 0 ? limit : Math.min(limit, (wi << 5) + 31 - Math.clz32(x & -x));
    } else {
      while (e < limit && (((bm[e >>> 3]! >>> (e & 7)) & 1) === 1) === present) e++;
    }
    fn(present, b - base, e - b);
    b = e;
  }
}

/**
 * A unit of a sector bitmap: its bytes, and on a little-endian machine the same memory as 32-bit
 * words (forEachBitRun), made once per buffer rather than per lookup.
 */
interface BitmapUnit {
  readonly bytes: Uint8Array;
  readonly words: Int32Array | undefined;
}

function newUnit(size: number): BitmapUnit {
  const bytes = new Uint8Array(size); // size: a power of two >= 32
  return { bytes, words: LITTLE_ENDIAN ? new Int32Array(bytes.buffer, 0, size >> 2) : undefined };
}

/**
 * Bitmap units of read-only images share one bounded pool (issue 20): a chain's first pass reads
 * each unit of each layer once (4 MiB at depth 64 of the standard workload) and the resolved map
 * keeps what it learnt, so keeping them all only costs fresh memory — a page fault per 4 KiB on
 * this kind of VM — and resident size. Past the bound the oldest unit not used since the pool last
 * looked at it (second chance, a clock) gives its buffer to the next read. Writable images keep
 * their own 4 KiB units: a write changes them in place before they are journaled.
 */
let poolBytes = MiB;

/**
 * Bytes of a pooled unit: a pass over a deep chain holds one unit per layer (65 at depth 64: 520 KiB
 * of the pool's 1 MiB; up to depth 127 without re-reads), and reads each with one pread of 16
 * blocks' bitmaps (2 MiB blocks, 512-byte sectors) or more.
 */
const POOLED_UNIT = 8 * 1024;

/** The pool's bound in bytes (tests shrink it to make recycling happen); returns the previous one. */
export function setBitmapPoolBytes(bytes: number): number {
  const old = poolBytes;
  poolBytes = bytes;
  return old;
}

interface PooledUnit {
  unit: BitmapUnit;
  owner: ChunkBitmap;
  u: number;
  /** Used since the pool last passed over it. */
  used: boolean;
}

class UnitPool {
  /** In the order of their last second chance (oldest first). */
  private readonly queue = new Set<PooledUnit>();
  private bytes = 0;

  /** A unit of `size` bytes for a new read: the oldest unused one's when the pool is full. */
  take(size: number): BitmapUnit {
    while (this.bytes + size > poolBytes && this.queue.size > 0) {
      let oldest: PooledUnit | undefined;
      for (const p of this.queue) {
        oldest = p;
        break;
      }
      const p = oldest!;
      this.queue.delete(p);
      if (p.used) {
        p.used = false;
        this.queue.add(p);
        continue;
      }
      this.bytes -= p.unit.bytes.length;
      p.owner.forget(p.u);
      if (p.unit.bytes.length === size) return p.unit;
    }
    return newUnit(size);
  }
  add(unit: BitmapUnit, owner: ChunkBitmap, u: number): PooledUnit {
    const p = { unit, owner, u, used: false };
    this.queue.add(p);
    this.bytes += unit.bytes.length;
    return p;
  }
  remove(p: PooledUnit): void {
    if (this.queue.delete(p)) this.bytes -= p.unit.bytes.length;
  }
}
const unitPool = new UnitPool();

/** One chunk's 1 MiB sector bitmap (§2.4), held in units read from the file on first use. */
class ChunkBitmap {
  private readonly units = new Map<number, BitmapUnit>();
  /** The pool's record of each unit (pooled bitmaps only). */
  private readonly pooledUnits = new Map<number, PooledUnit>();
  /**
   * `at`: the bitmap block's file offset (checked with the BAT at open), undefined when absent;
   * `pooled`: units live in the shared pool (read-only images), which may take them back.
   */
  constructor(
    private readonly file: BlockFile,
    private readonly at: number | undefined,
    readonly unitBytes: number,
    private readonly pooled = false,
  ) {}

  unit(u: number): BitmapUnit {
    let b = this.units.get(u);
    if (b) {
      if (this.pooled) this.pooledUnits.get(u)!.used = true;
      return b;
    }
    b = this.pooled ? unitPool.take(this.unitBytes) : newUnit(this.unitBytes);
    if (this.at !== undefined) readFully(this.file, b.bytes, this.at + u * this.unitBytes);
    else b.bytes.fill(0);
    this.units.set(u, b);
    if (this.pooled) this.pooledUnits.set(u, unitPool.add(b, this, u));
    return b;
  }

  /** The pool took unit u's buffer back: read it again when next needed. */
  forget(u: number): void {
    this.units.delete(u);
    this.pooledUnits.delete(u);
  }

  /** Give pooled units back (the image is closing). */
  release(): void {
    for (const p of this.pooledUnits.values()) unitPool.remove(p);
    this.pooledUnits.clear();
    this.units.clear();
  }

  /** A copy of 4 KiB page p of the bitmap (what the log journals). */
  page(p: number): Uint8Array {
    const byte = p * PAGE;
    const u = Math.floor(byte / this.unitBytes);
    const off = byte - u * this.unitBytes;
    return this.unit(u).bytes.slice(off, off + PAGE);
  }
}
