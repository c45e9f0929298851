/**
 * A VHDX file (MS-VHDX v1.0): open (with log replay), read mapping, journaled writes, create.
 * Section numbers refer to [MS-VHDX]; ordering rules: docs/formats.md,
 * "VHDX headers", "VHDX write ordering", "VHDX log".
 */
import { alignUp, ascii, encodeUtf16le, MiB, setAscii, setU32le, u32le } from '../common/bytes.js';
import { corrupt, hex, HvsimError, invalidArgument, unsupported } from '../../errors.js';
import { newGuid, ZERO_GUID, type Guid } from '../common/guid.js';
import { readFully, type BlockFile } from '../io/block-file.js';
import { OverlayFile } from '../io/overlay-file.js';
import {
  BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO, type BlockState, type DiskImage, type Finding,
  type ParentLocator, type VhdInfo, type VhdType,
} from '../disk.js';
import { locatorPaths } from '../parent-paths.js';
import {
  batGeometry, batRegionLength, bitmapIndex, entryOffsetMb, entryReservedBits, entryState, payloadIndex, setEntry,
  type BatGeometry,
} from './bat.js';
import { readHeaders, serializeHeader, updateHeader, type HeaderState, type VhdxHeader } from './header.js';
import { applyReplay, findActiveSequence, LogWriter, maxPagesPerEntry, type LogReplay } from './log.js';
import {
  childLocatorEntries, decodeDiskParameters, diskParameterItems, metadataExtent, parentLocatorItem, parseMetadataRegion,
  parseParentLocator, serializeMetadataRegion, type DiskParameters, type MetadataItem,
} from './metadata.js';
import { readRegionTables, regionName, serializeRegionTable, type RegionEntry, type RegionTableState } from './region-table.js';
import {
  HEADER1_OFFSET, HEADER2_OFFSET, HEADER_AREA_SIZE, MAX_METADATA_REGION, META_FILE_PARAMETERS, META_PARENT_LOCATOR, PAYLOAD_FULLY_PRESENT,
  PAYLOAD_NOT_PRESENT, PAYLOAD_PARTIALLY_PRESENT, PAYLOAD_UNDEFINED, PAYLOAD_UNMAPPED, PAYLOAD_UNMAPPED_V095,
  PAYLOAD_ZERO, REGION_BAT, REGION_METADATA, REGION_TABLE1_OFFSET, REGION_TABLE2_OFFSET, SB_NOT_PRESENT, SB_PRESENT,
  SIG_FILE,
} from './spec.js';

const PAGE = 4096;
export const CREATOR = 'hvsim 0.1';

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

/** What happened to the log at open (for reports and tests). */
export type LogStatus = 'clean' | 'replayed-in-place' | 'replayed-in-memory' | 'empty-guid-set';

export class VhdxImage implements DiskImage {
  readonly format = 'VHDX' as const;
  readonly file: BlockFile;
  readonly path: string;
  readonly writable: boolean;
  readonly logStatus: LogStatus;
  /** Problems noticed at open that did not prevent it (damaged header copy, lenient BAT findings…). */
  readonly openFindings: Finding[];

  private headers: HeaderState;
  private regions: RegionTableState;
  private items: MetadataItem[];
  private params: DiskParameters;
  private geom: BatGeometry;
  private bat: Uint8Array;
  private locator: ParentLocator | undefined;
  private bitmaps = new Map<number, Uint8Array>();
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
    findings: Finding[],
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
    const locItem = items.find((it) => it.itemId === META_PARENT_LOCATOR && !it.isUser);
    this.locator = params.hasParent && locItem ? parseParentLocator(file.name, locItem.data) : undefined;
    this.nextFree = alignUp(Math.max(file.size(), ...regions.entries.map((r) => r.fileOffset + r.length), this.logEnd()), MiB);
  }

  // ---- Open (§2.2; docs/formats.md, "VHDX log": when to replay) ----

  static open(base: BlockFile, opts: VhdxOpenOptions = {}): VhdxImage {
    const name = base.name;
    const size = base.size();
    if (size < HEADER_AREA_SIZE) throw corrupt(name, `file is ${size} bytes, smaller than the 1 MiB VHDX header area`);
    const ident = new Uint8Array(8);
    readFully(base, ident, 0);
    if (ascii(ident, 0, 8) !== SIG_FILE) throw corrupt(name, 'not a VHDX file (no "vhdxfile" signature)', 0);
    const findings: Finding[] = [];
    let headers = readHeaders(base);
    headers.problems.forEach((p, i) => {
      if (p) findings.push({ severity: 'warning', code: 'HEADER_COPY', message: `header ${i + 1} is not valid: ${p}`, offset: i ? HEADER2_OFFSET : HEADER1_OFFSET });
    });

    // 1. Replay the log before trusting any region, metadata or BAT.
    let file = base;
    let logStatus: LogStatus = 'clean';
    const h = headers.current;
    if (h.logGuid !== ZERO_GUID) {
      if (h.logOffset + h.logLength > size) throw corrupt(name, 'log region extends past the end of the file', h.logOffset);
      const replay = findActiveSequence(base, { offset: h.logOffset, length: h.logLength }, h.logGuid);
      if (replay && size < replay.flushedFileOffset)
        throw corrupt(name, `file is ${size} bytes but its log says ${replay.flushedFileOffset} were flushed (truncated file)`);
      if (replay) checkReplayBounds(name, replay, size);
      if (base.readOnly) {
        if (replay) {
          const overlay = new OverlayFile(base);
          applyReplay(overlay, replay);
          file = overlay;
          logStatus = 'replayed-in-memory';
        } else logStatus = 'empty-guid-set';
      } else {
        if (replay) {
          applyReplay(base, replay);
          base.flush();
          logStatus = 'replayed-in-place';
        } else logStatus = 'empty-guid-set';
        headers = updateHeader(base, headers, { logGuid: ZERO_GUID, fileWriteGuid: newGuid() });
      }
    }

    // 2. Region tables, metadata, BAT.
    const regions = readRegionTables(file);
    regions.problems.forEach((p, i) => {
      if (p) findings.push({ severity: 'warning', code: 'REGION_TABLE_COPY', message: `region table ${i + 1} is not valid: ${p}`, offset: i ? REGION_TABLE2_OFFSET : REGION_TABLE1_OFFSET });
    });
    const fsize = file.size();
    const logLo = h.logLength ? h.logOffset : 0;
    for (const r of regions.entries) {
      if (r.fileOffset + r.length > fsize) throw corrupt(name, `${regionName(r.guid)} extends past the end of the file`, r.fileOffset);
      if (h.logLength && r.fileOffset < logLo + h.logLength && logLo < r.fileOffset + r.length)
        throw corrupt(name, `${regionName(r.guid)} overlaps the log`, r.fileOffset);
    }
    if (regions.metadata.length > MAX_METADATA_REGION)
      throw corrupt(name, `metadata region is ${regions.metadata.length} bytes (max ${MAX_METADATA_REGION})`, regions.metadata.fileOffset);
    const mdTable = new Uint8Array(Math.min(64 * 1024, regions.metadata.length));
    readFully(file, mdTable, regions.metadata.fileOffset);
    const mdBytes = new Uint8Array(metadataExtent(mdTable, regions.metadata.length));
    mdBytes.set(mdTable.subarray(0, Math.min(mdTable.length, mdBytes.length)));
    if (mdBytes.length > mdTable.length) readFully(file, mdBytes.subarray(mdTable.length), regions.metadata.fileOffset + mdTable.length);
    const items = parseMetadataRegion(name, mdBytes, regions.metadata.fileOffset, regions.metadata.length);
    const params = decodeDiskParameters(name, items);
    const geom = batGeometry(params.virtualSize, params.blockSize, params.logicalSectorSize, params.hasParent);
    if (regions.bat.length < geom.totalEntries * 8)
      throw corrupt(name, `BAT region holds ${regions.bat.length / 8} entries but the disk needs ${geom.totalEntries}`, regions.bat.fileOffset);
    const bat = new Uint8Array(geom.totalEntries * 8);
    readFully(file, bat, regions.bat.fileOffset);
    const img = new VhdxImage(file, headers, regions, items, params, bat, logStatus, findings, !base.readOnly, opts.keepIdentity ?? false);
    const batFindings = img.validateBat();
    const fatal = batFindings.find((f) => f.severity === 'error');
    if (fatal && !opts.lenient) throw corrupt(name, fatal.message, fatal.offset);
    findings.push(...batFindings);
    return img;
  }

  private logEnd(): number {
    const h = this.headers.current;
    return h.logLength ? h.logOffset + h.logLength : 0;
  }

  /**
   * Every BAT entry checked against the file: valid state, reserved bits clear, payload and bitmap
   * blocks 1 MiB-aligned inside the file, clear of the header area, regions, log and each other (§2.5).
   */
  private validateBat(): Finding[] {
    const out: Finding[] = [];
    const g = this.geom;
    const fsize = this.file.size();
    const batOff = this.regions.bat.fileOffset;
    const spans: Array<[number, number, string]> = [[0, HEADER_AREA_SIZE, 'the header area']];
    for (const r of this.regions.entries) spans.push([r.fileOffset, r.fileOffset + r.length, regionName(r.guid)]);
    if (this.headers.current.logLength) spans.push([this.headers.current.logOffset, this.logEnd(), 'the log']);
    const fixed = spans.length;
    const err = (i: number, message: string, severity: 'error' | 'warning' = 'error'): void => {
      if (out.length < 1000) out.push({ severity, code: 'BAT_ENTRY', message, offset: batOff + i * 8 });
    };
    for (let i = 0; i < g.totalEntries; i++) {
      const isSb = i % (g.chunkRatio + 1) === g.chunkRatio;
      const st = entryState(this.bat, i);
      if (entryReservedBits(this.bat, i) !== 0) err(i, `BAT entry ${i} has reserved bits set`, 'warning');
      if (isSb) {
        if (st === SB_NOT_PRESENT) continue;
        if (st !== SB_PRESENT) { err(i, `sector bitmap entry ${i} has reserved state ${st}`); continue; }
        if (!this.params.hasParent) { err(i, `sector bitmap entry ${i} is present in a file without a parent`, 'warning'); continue; }
      } else {
        const k = i - Math.floor(i / (g.chunkRatio + 1));
        if (k >= g.payloadBlocks) { if (st !== PAYLOAD_NOT_PRESENT) err(i, `BAT entry ${i} past the last block is in use`, 'warning'); continue; }
        if (st === 4) { err(i, `payload block ${k} has reserved state 4`); continue; }
        if (st === PAYLOAD_PARTIALLY_PRESENT && this.params.hasParent) {
          const sb = bitmapIndex(g, Math.floor(k / g.chunkRatio));
          if (entryState(this.bat, sb) !== SB_PRESENT) err(i, `payload block ${k} is partially present but its sector bitmap block is not`);
        }
        if (st !== PAYLOAD_FULLY_PRESENT && st !== PAYLOAD_PARTIALLY_PRESENT) continue;
      }
      const len = isSb ? MiB : g.blockSize;
      const off = entryOffsetMb(this.bat, i) * MiB;
      const what = isSb ? `sector bitmap block ${i}` : `payload block ${i - Math.floor(i / (g.chunkRatio + 1))}`;
      if (!Number.isSafeInteger(off) || off + len > fsize) { err(i, `${what} at ${hex(off)} lies past the end of the file`); continue; }
      spans.push([off, off + len, what]);
    }
    // Overlaps: sort by start; any span starting before the previous end collides.
    const order = spans.map((_, i) => i).sort((a, b) => spans[a]![0] - spans[b]![0]);
    for (let j = 1; j < order.length; j++) {
      const prev = spans[order[j - 1]!]!;
      const cur = spans[order[j]!]!;
      if (cur[0] < prev[1] && (order[j]! >= fixed || order[j - 1]! >= fixed))
        out.push({ severity: 'error', code: 'BAT_OVERLAP', message: `${cur[2]} at ${hex(cur[0])} overlaps ${prev[2]}`, offset: cur[0] });
    }
    return out;
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
        throw corrupt(this.path, `payload block ${k} has reserved state ${st}`, this.regions.bat.fileOffset + payloadIndex(this.geom, k) * 8);
    }
  }

  blockDataOffset(k: number): number {
    return entryOffsetMb(this.bat, payloadIndex(this.geom, k)) * MiB;
  }

  /** The 1 MiB sector bitmap of chunk c, loaded on first use. */
  private bitmap(c: number): Uint8Array {
    let bm = this.bitmaps.get(c);
    if (!bm) {
      bm = new Uint8Array(MiB);
      const i = bitmapIndex(this.geom, c);
      if (entryState(this.bat, i) === SB_PRESENT) readFully(this.file, bm, entryOffsetMb(this.bat, i) * MiB);
      this.bitmaps.set(c, bm);
    }
    return bm;
  }

  forEachSectorRun(k: number, first: number, count: number, fn: (present: boolean, start: number, n: number) => void): void {
    const g = this.geom;
    const bm = this.bitmap(Math.floor(k / g.chunkRatio));
    // §2.4 sector bitmap: bit (s & 7) of byte (s >> 3), LSB first, 1 = sector in this file.
    const base = (k % g.chunkRatio) * g.bitmapBytesPerBlock * 8;
    const end = first + count;
    let s = first;
    while (s < end) {
      const bit = base + s;
      const present = (bm[bit >>> 3]! & (1 << (bit & 7))) !== 0;
      let e = s + 1;
      while (e < end) {
        const b2 = base + e;
        if ((b2 & 7) === 0 && e + 8 <= end) {
          const byte = bm[b2 >>> 3]!;
          if (byte === (present ? 0xff : 0)) { e += 8; continue; }
        }
        if (((bm[b2 >>> 3]! & (1 << (b2 & 7))) !== 0) !== present) break;
        e++;
      }
      fn(present, s, e - s);
      s = e;
    }
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
      const bm = this.bitmap(c);
      for (const p of set) pages.set(sbOff + p * PAGE, bm.slice(p * PAGE, (p + 1) * PAGE));
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
    const bm = this.bitmap(c);
    const base = (k % g.chunkRatio) * g.bitmapBytesPerBlock * 8 + first;
    let set = pages.get(c);
    if (!set) pages.set(c, (set = new Set()));
    for (let b = base; b < base + count; b++) {
      if ((b & 7) === 0 && b + 8 <= base + count) {
        bm[b >>> 3] = value ? 0xff : 0;
        b += 7;
      } else if (value) bm[b >>> 3]! |= 1 << (b & 7);
      else bm[b >>> 3]! &= ~(1 << (b & 7));
    }
    for (let p = Math.floor((base >>> 3) / PAGE); p <= Math.floor(((base + count - 1) >>> 3) / PAGE); p++) set.add(p);
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

  check(): Finding[] {
    const out = [...this.openFindings];
    if (this.logStatus === 'replayed-in-memory')
      out.push({ severity: 'warning', code: 'LOG_DIRTY', message: 'the log holds changes not yet written to the file (replayed in memory; a writable open applies them)' });
    if (this.logStatus === 'empty-guid-set')
      out.push({ severity: 'warning', code: 'LOG_EMPTY', message: 'the header names a log but the log holds no valid entry' });
    return out;
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
    this.file.close();
  }

  /** Close without the clean-shutdown header (for crash tests: the file looks like a live one). */
  abandon(): void {
    this.closed = true;
    this.file.close();
  }

  // ---- Create (§2.1 layout as Windows writes it: log @1 MiB, metadata @2 MiB, BAT @3 MiB) ----

  static create(file: BlockFile, opts: VhdxCreateOptions): VhdxImage {
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
    const batRegion: RegionEntry = { guid: REGION_BAT, fileOffset: 3 * MiB, length: batRegionLength(g), required: true };
    const ident = new Uint8Array(64 * 1024);
    setAscii(ident, 0, SIG_FILE);
    ident.set(encodeUtf16le(CREATOR), 8);
    file.write(ident, 0);
    const rt = serializeRegionTable([batRegion, mdRegion]);
    file.write(rt, REGION_TABLE1_OFFSET);
    file.write(rt, REGION_TABLE2_OFFSET);
    file.write(new Uint8Array(logLength), logOffset);
    file.write(serializeMetadataRegion(items, mdRegion.length), mdRegion.fileOffset);
    const bat = new Uint8Array(batRegion.length);
    let end = batRegion.fileOffset + batRegion.length;
    if (fixed) {
      // Fixed: every block allocated in order after the BAT (§2.6.2.1 LeaveBlockAllocated).
      for (let k = 0; k < g.payloadBlocks; k++) {
        setEntry(bat, payloadIndex(g, k), PAYLOAD_FULLY_PRESENT, end / MiB);
        end += blockSize;
      }
    }
    file.write(bat, batRegion.fileOffset);
    file.truncate(end);
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
}

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

/**
 * A log may extend a file a little (blocks allocated just before a crash) but never to sizes the
 * file's own structures cannot justify: refuse entries that reach far past the end (§2.3.3).
 */
const MAX_LOG_GROWTH = 1024 * MiB;
function checkReplayBounds(name: string, replay: LogReplay, size: number): void {
  const limit = size + MAX_LOG_GROWTH;
  if (replay.lastFileOffset > limit)
    throw corrupt(name, `log entry sets the file size to ${replay.lastFileOffset}, far past its ${size} bytes`);
  for (const w of replay.writes) {
    const end = w.offset + (w.kind === 'data' ? w.data.length : w.length);
    if (end > Math.max(size, replay.lastFileOffset))
      throw corrupt(name, `log entry writes up to ${end}, past the end of the file (${Math.max(size, replay.lastFileOffset)})`);
  }
}

function validateCreate(name: string, size: number, blockSize: number, lss: number, pss: number): void {
  if (lss !== 512 && lss !== 4096) throw invalidArgument(`logical sector size must be 512 or 4096, not ${lss}`, name);
  if (pss !== 512 && pss !== 4096) throw invalidArgument(`physical sector size must be 512 or 4096, not ${pss}`, name);
  if (!Number.isInteger(blockSize) || blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0)
    throw invalidArgument(`block size must be a power of two from 1 MiB to 256 MiB, not ${blockSize}`, name);
  if (!Number.isSafeInteger(size) || size <= 0 || size > 64 * 1024 * 1024 * MiB || size % lss !== 0)
    throw invalidArgument(`size must be a positive multiple of ${lss} bytes up to 64 TiB, not ${size}`, name);
}

export function openVhdx(file: BlockFile, opts?: VhdxOpenOptions): VhdxImage {
  return VhdxImage.open(file, opts);
}

export function createVhdx(file: BlockFile, opts: Omit<VhdxCreateOptions, 'parent'>): VhdxImage {
  return VhdxImage.create(file, opts);
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
  return VhdxImage.create(file, {
    virtualSize: p.virtualSize,
    logicalSectorSize: p.logicalSectorSize,
    physicalSectorSize: p.physicalSectorSize,
    page83: p.diskIdentifier,
    ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize } : {}),
    parent: childLocatorEntries(p.identity, paths.relative, paths.absolute),
  });
}

export function isVhdx(file: BlockFile): boolean {
  const b = new Uint8Array(8);
  return readFully(file, b, 0) === 8 && ascii(b, 0, 8) === SIG_FILE;
}

