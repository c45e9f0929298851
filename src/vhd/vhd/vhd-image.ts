/**
 * A VHD 1.0 file (.vhd/.avhd: fixed, dynamic, differencing) as a DiskImage. Structures are
 * parsed and validated by layout.ts; this module maps blocks (spec "Block Allocation Table and
 * Data Blocks", sector bitmaps MSB-first) and writes with the ordering a crash can survive:
 * new block (zeroed bitmap + data) → flush → BAT entry → flush → footer at the new end of file.
 * A file whose trailing footer is missing or stale reopens from the footer copy at offset 0.
 */
import { alignUp, setU32be } from '../common/bytes.js';
import { corrupt, HvsimError, invalidArgument, unsupported } from '../../errors.js';
import { isZeroGuid, newGuid, ZERO_GUID, type Guid } from '../common/guid.js';
import type { BlockFile } from '../io/block-file.js';
import {
  BLOCK_DATA,
  BLOCK_PARENT,
  BLOCK_PARTIAL,
  checkRange,
  type BlockState,
  type DiskImage,
  type Finding,
  type ParentLocator,
  type VhdInfo,
  type VhdType,
} from '../disk.js';
import { BAT_UNUSED, HEADER_SIZE, encodeDynamicHeader, type DynamicHeader, type ParentLocatorEntry } from './dynamic-header.js';
import { DISK_TYPE_DYNAMIC, DISK_TYPE_FIXED, FOOTER_SIZE, encodeFooter, type VhdFooter } from './footer.js';
import { LOCATOR_ALIGN, locatorSpace, parentLocatorData } from './locators.js';
import {
  DATA_ALIGNMENT,
  MAX_FILE_SECTORS,
  analyzeBat,
  footerFindings,
  nextBlockPosition,
  parseVhd,
  readFooters,
  type VhdLayout,
  type VhdOpenOptions,
} from './layout.js';

const SECTOR = 512;
/** Bitmaps kept in memory at most (512 bytes each for 2 MiB blocks). */
const BITMAP_CACHE_LIMIT = 4096;

interface CachedBitmap {
  bits: Uint8Array;
  /** Every sector of the block (inside the virtual size) is present. */
  full: boolean;
}

function bitSet(bits: Uint8Array, j: number): boolean {
  return (bits[j >>> 3]! & (0x80 >>> (j & 7))) !== 0; // MSB-first: bit 7 of byte 0 is sector 0
}

export class VhdImage implements DiskImage {
  readonly file: BlockFile;
  readonly path: string;
  readonly format = 'VHD' as const;
  readonly virtualSize: number;
  readonly blockSize: number;
  readonly logicalSectorSize = SECTOR;
  readonly physicalSectorSize = SECTOR;
  readonly blockCount: number;
  readonly writable: boolean;

  // Changed by reparent(), dropParent() and renewIdentity(); read through the getters below.
  private lay: VhdLayout;
  private curType: VhdType;
  private curIdentity: Guid;
  private curParentLocator: ParentLocator | undefined;

  get type(): VhdType {
    return this.curType;
  }
  get identity(): Guid {
    return this.curIdentity;
  }
  /** The footer UniqueId, as Get-VHD reports it. */
  get diskIdentifier(): Guid {
    return this.curIdentity;
  }
  get parentLocator(): ParentLocator | undefined {
    return this.curParentLocator;
  }
  /** The footer in use (decoded). */
  get footer(): VhdFooter {
    return this.lay.footer;
  }
  /** The dynamic header (dynamic and differencing disks). */
  get header(): DynamicHeader | undefined {
    return this.lay.header;
  }

  private readonly bat: Uint32Array;
  private readonly sectorsPerBlock: number;
  /** Offset of the footer at the end of the file (-1 while only the copy at 0 is usable). */
  private footerPos: number;
  /** Where the next block's bitmap goes (writable files only). */
  private nextBlock = -1;
  private readonly bitmaps = new Map<number, CachedBitmap>();
  private closed = false;
  /** The BAT's last sector may be written whole: its padding overlaps no other structure. */
  private batPaddingFree = false;

  private constructor(file: BlockFile, lay: VhdLayout) {
    this.file = file;
    this.path = file.name;
    this.lay = lay;
    this.curType = 'Fixed';
    this.curIdentity = lay.footer.uniqueId;
    this.curParentLocator = lay.locator;
    this.virtualSize = lay.footer.currentSize;
    this.blockSize = lay.blockSize;
    this.blockCount = lay.blockCount;
    this.sectorsPerBlock = lay.blockSize / SECTOR;
    this.writable = !file.readOnly;
    this.bat = lay.bat;
    this.footerPos = lay.footerPos;
    this.adopt(lay);
  }

  /** Take the structures of `lay` as the current ones (at open, and after re-pointing). */
  private adopt(lay: VhdLayout): void {
    this.lay = lay;
    const t = lay.footer.diskType;
    this.curType = t === DISK_TYPE_FIXED ? 'Fixed' : t === DISK_TYPE_DYNAMIC ? 'Dynamic' : 'Differencing';
    this.curIdentity = lay.footer.uniqueId;
    this.curParentLocator = lay.locator;
    const to = lay.header?.tableOffset ?? 0;
    const padEnd = to + Math.ceil((this.bat.length * 4) / SECTOR) * SECTOR;
    const batEnd = to + this.bat.length * 4;
    this.batPaddingFree =
      padEnd <= lay.dataEnd &&
      lay.regions.every((r) => r.what === 'BAT' || r.end <= batEnd || r.start >= padEnd) &&
      this.bat.every((e) => e === BAT_UNUSED || e * SECTOR >= padEnd || e * SECTOR + lay.bitmapBytes + lay.blockSize <= batEnd);
  }

  /** Open and validate; a writable open refuses a damaged BAT and repairs the footer copies. */
  static open(file: BlockFile, opts: VhdOpenOptions = {}): VhdImage {
    const img = new VhdImage(file, parseVhd(file, opts));
    if (img.writable) {
      // A lenient open may have settled for a copy whose checksum fails: never write to that.
      const bad = [...img.footerChecks(), ...img.lay.findings].find((f) => f.severity === 'error' && /CHECKSUM$/.test(f.code));
      if (bad) throw corrupt(img.path, `cannot open for writing: ${bad.message}`, bad.offset);
      if (img.type !== 'Fixed') img.prepareForWriting();
    }
    return img;
  }

  private footerChecks(): Finding[] {
    return footerFindings(readFooters(this.file), this.type !== 'Fixed', this.lay.footerSource);
  }

  private prepareForWriting(): void {
    const lay = this.lay;
    const a = analyzeBat(lay, this.bat, lay.dataEnd);
    const bad = a.findings.find((f) => f.severity === 'error');
    if (bad) throw corrupt(this.path, `cannot open for writing: ${bad.message}`, bad.offset);
    if (lay.footerSource === 'start') {
      // Trailing footer missing or damaged (e.g. a crash before it was rewritten): put it back
      // after the last structure and drop whatever unreferenced bytes follow.
      const pos = nextBlockPosition(a.structEnd, lay.bitmapBytes);
      this.file.write(lay.footerBytes, pos);
      this.file.flush();
      if (this.file.size() > pos + FOOTER_SIZE) {
        this.file.truncate(pos + FOOTER_SIZE);
        this.file.flush();
      }
      this.footerPos = pos;
    } else {
      const head = readFooters(this.file).head;
      if (!head?.valid || !head.bytes.every((v, i) => v === lay.footerBytes[i])) {
        this.file.write(lay.footerBytes, 0); // footer copy at 0 (spec "Dynamic Disk Header Format")
        this.file.flush();
      }
    }
    this.nextBlock = nextBlockPosition(Math.max(a.structEnd, this.footerPos), lay.bitmapBytes);
  }

  // ---- Mapping ----

  private checkBlock(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.blockCount)
      throw invalidArgument(`block ${block} is outside the disk (${this.blockCount} blocks)`, this.path);
  }

  private sectorsIn(block: number): number {
    return Math.min(this.sectorsPerBlock, (this.virtualSize - block * this.blockSize) / SECTOR);
  }

  private bitmap(block: number): CachedBitmap {
    let c = this.bitmaps.get(block);
    if (c) return c;
    const bits = new Uint8Array(this.lay.bitmapBytes);
    const got = this.file.read(bits, this.bat[block]! * SECTOR);
    // A bitmap cut off by the end of the file reads as "not present" (check() reports it).
    if (got < bits.length) bits.fill(0, Math.max(0, got));
    c = { bits, full: this.allSet(bits, this.sectorsIn(block)) };
    if (this.bitmaps.size >= BITMAP_CACHE_LIMIT) this.bitmaps.clear();
    this.bitmaps.set(block, c);
    return c;
  }

  private allSet(bits: Uint8Array, n: number): boolean {
    const whole = n >>> 3;
    for (let i = 0; i < whole; i++) if (bits[i] !== 0xff) return false;
    for (let j = whole * 8; j < n; j++) if (!bitSet(bits, j)) return false;
    return true;
  }

  blockState(block: number): BlockState {
    this.checkBlock(block);
    if (this.type === 'Fixed') return BLOCK_DATA;
    if (this.bat[block] === BAT_UNUSED) return BLOCK_PARENT;
    // Dynamic disks ignore the bitmap (Windows sets every bit); differencing disks use it.
    if (this.type === 'Dynamic') return BLOCK_DATA;
    return this.bitmap(block).full ? BLOCK_DATA : BLOCK_PARTIAL;
  }

  blockDataOffset(block: number): number {
    this.checkBlock(block);
    if (this.type === 'Fixed') return block * this.blockSize;
    const e = this.bat[block]!;
    if (e === BAT_UNUSED) throw invalidArgument(`block ${block} is not allocated`, this.path);
    return e * SECTOR + this.lay.bitmapBytes;
  }

  forEachSectorRun(block: number, first: number, count: number, fn: (present: boolean, start: number, n: number) => void): void {
    const st = this.blockState(block);
    if (count <= 0) return;
    if (st !== BLOCK_PARTIAL) {
      fn(st === BLOCK_DATA, first, count);
      return;
    }
    const bits = this.bitmap(block).bits;
    const end = first + count;
    let runStart = first;
    let cur = bitSet(bits, first);
    let j = first + 1;
    while (j < end) {
      if ((j & 7) === 0 && j + 8 <= end && bits[j >>> 3] === (cur ? 0xff : 0)) {
        j += 8;
        continue;
      }
      const b = bitSet(bits, j);
      if (b !== cur) {
        fn(cur, runStart, j - runStart);
        runStart = j;
        cur = b;
      }
      j++;
    }
    fn(cur, runStart, end - runStart);
  }

  // ---- Writing ----

  private assertWritable(): void {
    if (!this.writable) throw new HvsimError('READ_ONLY', `${this.path}: opened read-only`, { file: this.path });
    if (this.closed) throw new HvsimError('INVALID_STATE', `${this.path}: image is closed`, { file: this.path });
  }

  private checkSectors(offset: number, length: number): void {
    checkRange(this, offset, length);
    if (offset % SECTOR !== 0 || length % SECTOR !== 0)
      throw invalidArgument(`range ${offset}+${length} is not aligned to ${SECTOR}-byte sectors`, this.path);
  }

  writeSectors(data: Uint8Array, offset: number): void {
    this.assertWritable();
    this.checkSectors(offset, data.length);
    if (data.length === 0) return;
    if (this.type === 'Fixed') {
      this.file.write(data, offset);
      return;
    }
    let pos = 0;
    while (pos < data.length) {
      const v = offset + pos;
      const block = Math.floor(v / this.blockSize);
      const inBlock = v - block * this.blockSize;
      const n = Math.min(data.length - pos, this.blockSize - inBlock);
      this.writeInBlock(block, inBlock, data.subarray(pos, pos + n));
      pos += n;
    }
  }

  zeroSectors(offset: number, length: number): void {
    this.assertWritable();
    this.checkSectors(offset, length);
    if (length === 0) return;
    const bs = this.blockSize;
    const zeros = new Uint8Array(Math.min(length, bs));
    let pos = 0;
    while (pos < length) {
      const v = offset + pos;
      const block = Math.floor(v / bs);
      const inBlock = v - block * bs;
      const n = Math.min(length - pos, bs - inBlock);
      const chunk = zeros.subarray(0, n);
      if (this.type === 'Fixed') this.file.write(chunk, v);
      // An unallocated dynamic block already reads as zeros; in a differencing file it means
      // "ask the parent", so zeros must be stored (allocating the block).
      else if (this.type === 'Differencing' || this.bat[block] !== BAT_UNUSED) this.writeInBlock(block, inBlock, chunk);
      pos += n;
    }
  }

  discardBlocks(offset: number, length: number): void {
    this.assertWritable();
    this.checkSectors(offset, length);
    const bs = this.blockSize;
    const end = offset + length;
    let changed = false;
    for (let block = Math.ceil(offset / bs); block < this.blockCount; block++) {
      const blockEnd = Math.min((block + 1) * bs, this.virtualSize);
      if (blockEnd > end) break;
      if (this.type === 'Fixed') {
        // No parent behind a fixed disk: a transparent block reads as zeros.
        this.file.write(new Uint8Array(blockEnd - block * bs), block * bs);
        continue;
      }
      if (this.bat[block] === BAT_UNUSED) continue;
      this.setBatEntry(block, BAT_UNUSED); // the block's space stays in the file, unreferenced
      changed = true;
    }
    if (changed) this.file.flush();
  }

  /**
   * Write one BAT entry as part of its whole 512-byte BAT sector (as Windows and qemu do), so a
   * torn write can only land whole entries; clipped to the table when the padding is not ours.
   */
  private setBatEntry(block: number, value: number): void {
    this.bat[block] = value;
    this.bitmaps.delete(block);
    const first = Math.floor((block * 4) / SECTOR) * (SECTOR / 4);
    let last = Math.min(first + SECTOR / 4, this.bat.length);
    const to = this.lay.header!.tableOffset;
    if (last === this.bat.length && this.batPaddingFree) last = first + SECTOR / 4;
    const b = new Uint8Array((last - first) * 4).fill(0xff);
    for (let i = first; i < Math.min(last, this.bat.length); i++) setU32be(b, (i - first) * 4, this.bat[i]!);
    this.file.write(b, to + first * 4);
  }

  /** Sector bits [s, s + n) of `bits`; returns true when any was clear. */
  private setBits(bits: Uint8Array, s: number, n: number): boolean {
    let changed = false;
    for (let j = s; j < s + n; j++) {
      if ((j & 7) === 0 && j + 8 <= s + n) {
        if (bits[j >>> 3] !== 0xff) changed = true;
        bits[j >>> 3] = 0xff;
        j += 7;
        continue;
      }
      const m = 0x80 >>> (j & 7);
      if ((bits[j >>> 3]! & m) === 0) changed = true;
      bits[j >>> 3]! |= m;
    }
    return changed;
  }

  private writeInBlock(block: number, inBlock: number, chunk: Uint8Array): void {
    const e = this.bat[block]!;
    if (e === BAT_UNUSED) {
      this.allocate(block, inBlock, chunk);
      return;
    }
    const base = e * SECTOR;
    this.file.write(chunk, base + this.lay.bitmapBytes + inBlock);
    if (this.type !== 'Differencing') return;
    const c = this.bitmap(block);
    const s = inBlock / SECTOR;
    const n = chunk.length / SECTOR;
    const before = c.bits.slice(s >>> 3, ((s + n - 1) >>> 3) + 1);
    if (!this.setBits(c.bits, s, n)) return;
    // The data must be durable before the bitmap says it is here.
    this.file.flush();
    const lo = Math.floor((s >>> 3) / SECTOR) * SECTOR;
    const hi = Math.ceil((((s + n - 1) >>> 3) + 1) / SECTOR) * SECTOR;
    try {
      this.file.write(c.bits.subarray(lo, hi), base + lo);
    } catch (err) {
      c.bits.set(before, s >>> 3);
      throw err;
    }
    c.full = this.allSet(c.bits, this.sectorsIn(block));
  }

  /** Append a block at the end (VHD spec "Block Allocation Table and Data Blocks"). */
  private allocate(block: number, inBlock: number, chunk: Uint8Array): void {
    const bm = this.lay.bitmapBytes;
    const bs = this.blockSize;
    const pos = this.nextBlock;
    const newEnd = nextBlockPosition(pos + bm + bs, bm);
    if (pos < 0 || (newEnd + FOOTER_SIZE) / SECTOR > MAX_FILE_SECTORS)
      throw new HvsimError('INVALID_STATE', `${this.path}: cannot allocate block ${block}: the file would outgrow the 2 TiB a VHD BAT can address`, { file: this.path });
    // Zero the gap between the old footer and the new bitmap so no stale footer stays behind.
    const from = this.footerPos >= 0 && this.footerPos < pos ? this.footerPos : pos;
    const buf = new Uint8Array(pos - from + bm + bs);
    const bits = buf.subarray(pos - from, pos - from + bm);
    // Dynamic: every bit set, as Windows does. Differencing: only the sectors written here.
    this.setBits(bits, this.type === 'Differencing' ? inBlock / SECTOR : 0, this.type === 'Differencing' ? chunk.length / SECTOR : this.sectorsPerBlock);
    buf.set(chunk, pos - from + bm + inBlock);
    this.file.write(buf, from);
    this.file.flush();
    this.setBatEntry(block, pos / SECTOR);
    this.file.flush();
    this.file.write(this.lay.footerBytes, newEnd);
    this.footerPos = newEnd;
    this.nextBlock = newEnd;
    const cb = bits.slice();
    this.bitmaps.set(block, { bits: cb, full: this.allSet(cb, this.sectorsIn(block)) });
  }

  // ---- Re-pointing and identity (used by the merge engine) ----

  /**
   * Point this differencing disk at `parent` (its footer UniqueId, TimeStamp and the paths to it,
   * written as createVhdDifferencing writes them). Crash order: new locator data where the current
   * header does not look (the unused tail of a locator's data space, else new space appended at
   * the end of the file), flush, the dynamic header (the commit point), flush, then the footer at
   * the new end of the file when the file grew. A crash before the header leaves the old linkage
   * (an appended region is unreferenced and dropped by the next writable open); after it, the new.
   */
  reparent(parent: DiskImage, parentPath: string, childPath: string): void {
    const [h, ho] = this.headerToRewrite();
    if (this.type !== 'Differencing')
      throw unsupported(this.path, 'a dynamic VHD cannot be turned into a differencing disk (its unallocated blocks would start reading the parent)');
    if (parent.format !== 'VHD') throw invalidArgument(`parent ${parent.path} is a ${parent.format}; a VHD child needs a VHD parent`, this.path);
    if (parent.virtualSize !== this.virtualSize)
      throw invalidArgument(`parent ${parent.path} is ${parent.virtualSize} bytes, this disk ${this.virtualSize}`, this.path);

    const { absolute, data } = parentLocatorData(childPath, parentPath);
    const bm = this.lay.bitmapBytes;
    // Everything the current file uses: no new locator data may land there.
    const busy: Array<[number, number]> = [
      [0, FOOTER_SIZE],
      [ho, ho + HEADER_SIZE],
      [h.tableOffset, h.tableOffset + Math.ceil((h.maxTableEntries * 4) / SECTOR) * SECTOR],
    ];
    for (const e of h.parentLocatorEntries) if (e.platformCode !== '' && e.platformDataLength > 0) busy.push([e.platformDataOffset, e.platformDataOffset + e.platformDataLength]);
    for (const e of this.bat) if (e !== BAT_UNUSED) busy.push([e * SECTOR, e * SECTOR + bm + this.blockSize]);
    const free = (a: number, b: number): boolean => b <= this.footerPos && busy.every(([s, t]) => b <= s || a >= t);

    const entries: ParentLocatorEntry[] = [];
    const writes: Array<[number, Uint8Array]> = [];
    const appended: Array<[string, Uint8Array]> = [];
    for (const [code, bytes] of data) {
      const cur = h.parentLocatorEntries.find((e) => e.platformCode === code);
      if (cur && cur.platformDataLength === bytes.length && this.sameBytes(cur.platformDataOffset, bytes)) {
        entries.push(cur);
        continue;
      }
      if (cur) {
        // PlatformDataSpace: bytes as Windows writes it, or sectors as the spec says.
        const space = cur.platformDataSpace >= cur.platformDataLength ? cur.platformDataSpace : cur.platformDataSpace * SECTOR;
        const end = cur.platformDataOffset + space;
        const at = Math.ceil((cur.platformDataOffset + cur.platformDataLength) / SECTOR) * SECTOR;
        if (bytes.length > 0 && at + bytes.length <= end && free(at, end)) {
          entries.push({ platformCode: code, platformDataSpace: end - at, platformDataLength: bytes.length, platformDataOffset: at });
          writes.push([at, bytes]);
          busy.push([at, end]);
          continue;
        }
      }
      appended.push([code, bytes]);
      entries.push({ platformCode: code, platformDataSpace: 0, platformDataLength: bytes.length, platformDataOffset: 0 }); // placed below
    }
    let newEnd = -1;
    let region: Uint8Array | undefined;
    const from = this.footerPos;
    if (appended.length > 0) {
      // New space after the footer, Windows-aligned (4 KiB pages, W2ku 4 KiB, W2ru 64 KiB).
      let at = alignUp(from + FOOTER_SIZE, LOCATOR_ALIGN);
      const places: Array<[number, Uint8Array]> = [];
      for (const [code, bytes] of appended) {
        const space = locatorSpace(code, bytes.length);
        const e = entries.find((x) => x.platformCode === code)!;
        e.platformDataOffset = at;
        e.platformDataSpace = space;
        places.push([at, bytes]);
        at += space;
      }
      newEnd = nextBlockPosition(at, bm);
      if ((newEnd + FOOTER_SIZE) / SECTOR > MAX_FILE_SECTORS)
        throw new HvsimError('INVALID_STATE', `${this.path}: no room for new parent locators below the 2 TiB a VHD can address`, { file: this.path });
      // One buffer from the old footer on: the stale footer goes, the locator data lands.
      region = new Uint8Array(newEnd - from);
      for (const [o, b] of places) region.set(b, o - from);
    }
    const header = encodeDynamicHeader({
      ...h,
      parentUniqueId: parent.identity,
      // The parent's footer TimeStamp (Windows itself writes 0; readers must not insist on it).
      parentTimeStamp: parent instanceof VhdImage ? parent.footer.timeStamp : 0,
      parentUnicodeName: absolute,
      parentLocatorEntries: entries,
    });
    if (!region && writes.length === 0 && this.sameBytes(ho, header)) return; // already points there

    for (const [o, b] of writes) this.file.write(b, o);
    if (region) this.file.write(region, from);
    if (region || writes.length > 0) this.file.flush();
    this.file.write(header, ho);
    this.file.flush();
    if (region) {
      // Until this footer is written the file opens from the footer copy at offset 0 (same bytes).
      this.file.write(this.lay.footerBytes, newEnd);
      this.file.flush();
    }
    this.reload();
  }

  /** The dynamic header and its offset, once sure it can be rewritten in one write. */
  private headerToRewrite(): [DynamicHeader, number] {
    this.assertWritable();
    if (this.type === 'Fixed') throw invalidArgument('a fixed VHD has no parent to re-point', this.path);
    const h = this.lay.header!;
    const ho = this.lay.footer.dataOffset;
    // The header write is the commit point: it must be one write that cannot straddle a page.
    if (ho % SECTOR !== 0 || Math.floor(ho / DATA_ALIGNMENT) !== Math.floor((ho + HEADER_SIZE - 1) / DATA_ALIGNMENT))
      throw unsupported(this.path, `dynamic header at ${ho} crosses a 4 KiB page; cannot rewrite it safely`);
    return [h, ho];
  }

  /**
   * A standalone dynamic disk: DiskType 3 in both footer copies first, then the header without
   * parent fields. The footer goes first because a crash in between then leaves a dynamic disk
   * whose header still names a parent (a harmless LOCATOR_UNUSED warning), while the other order
   * would leave a differencing disk that names no parent at all. The engine has already made
   * every allocated block whole, so the disk reads the same either way.
   */
  dropParent(): void {
    const [h, ho] = this.headerToRewrite();
    if (this.type === 'Differencing') {
      const bytes = encodeFooter({ ...this.lay.footer, diskType: DISK_TYPE_DYNAMIC });
      this.writeFooterCopies(bytes);
    }
    const header = encodeDynamicHeader({ ...h, parentUniqueId: ZERO_GUID, parentTimeStamp: 0, parentUnicodeName: '', parentLocatorEntries: [] });
    if (!this.sameBytes(ho, header)) {
      this.file.write(header, ho);
      this.file.flush();
    }
    this.reload();
  }

  /** A new footer UniqueId (both copies), after a merge changed what this disk reads. */
  renewIdentity(): void {
    this.assertWritable();
    const bytes = encodeFooter({ ...this.lay.footer, uniqueId: newGuid() });
    if (this.type === 'Fixed') {
      this.file.write(bytes, this.footerPos);
      this.file.flush();
    } else this.writeFooterCopies(bytes);
    this.reload();
  }

  /**
   * The footer at the end of the file first (the copy readers prefer), then the copy at 0. A crash
   * between them leaves two valid copies; the end one wins and the next writable open copies it to 0.
   */
  private writeFooterCopies(bytes: Uint8Array): void {
    this.file.write(bytes, this.footerPos);
    this.file.flush();
    this.file.write(bytes, 0);
    this.file.flush();
  }

  private sameBytes(offset: number, bytes: Uint8Array): boolean {
    const b = new Uint8Array(bytes.length);
    return this.file.read(b, offset) === b.length && b.every((v, i) => v === bytes[i]);
  }

  /** Re-read the footer, header and locators just written (the BAT did not change). */
  private reload(): void {
    const lay = parseVhd(this.file);
    this.bitmaps.clear();
    this.footerPos = lay.footerPos;
    this.adopt(lay);
    if (this.type !== 'Fixed')
      this.nextBlock = nextBlockPosition(Math.max(analyzeBat(lay, this.bat, lay.dataEnd).structEnd, this.footerPos), lay.bitmapBytes);
  }

  // ---- Reports ----

  info(): VhdInfo {
    let allocated = 0;
    let breaks = 0;
    let prevEnd = -1;
    let aligned = true;
    if (this.type !== 'Fixed') {
      for (let k = 0; k < this.blockCount; k++) {
        const e = this.bat[k]!;
        if (e === BAT_UNUSED) continue;
        const off = e * SECTOR;
        if ((off + this.lay.bitmapBytes) % DATA_ALIGNMENT !== 0) aligned = false;
        if (prevEnd >= 0 && off !== prevEnd && off !== nextBlockPosition(prevEnd, this.lay.bitmapBytes)) breaks++;
        prevEnd = off + this.lay.bitmapBytes + this.blockSize;
        allocated++;
      }
    }
    return {
      Path: this.path,
      VhdFormat: 'VHD',
      VhdType: this.type,
      FileSize: this.file.size(),
      Size: this.virtualSize,
      MinimumSize: null,
      LogicalSectorSize: SECTOR,
      PhysicalSectorSize: SECTOR,
      BlockSize: this.type === 'Fixed' ? 0 : this.blockSize,
      ParentPath: this.parentLocator?.absolutePath ?? null,
      DiskIdentifier: this.diskIdentifier.toUpperCase(),
      FragmentationPercentage: allocated > 1 ? Math.round((breaks * 100) / (allocated - 1)) : 0,
      Alignment: aligned ? 1 : 0,
    };
  }

  check(): Finding[] {
    const out: Finding[] = [...this.footerChecks(), ...this.lay.findings];
    if (this.type === 'Fixed') return out;
    const dataEnd = this.footerPos >= 0 ? this.footerPos : this.file.size();
    out.push(...analyzeBat(this.lay, this.bat, dataEnd).findings);
    if (this.type === 'Differencing' && this.lay.header && isZeroGuid(this.lay.header.parentUniqueId))
      out.push({ severity: 'warning', code: 'PARENT_ID_ZERO', message: 'ParentUniqueId is the zero GUID' });
    return out;
  }

  flush(): void {
    if (this.writable && !this.closed) this.file.flush();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.file.close();
  }

  /** Where each allocated block starts, for tests and tools: [block, file offset of its bitmap]. */
  allocatedBlocks(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let k = 0; k < this.bat.length; k++) if (this.bat[k] !== BAT_UNUSED) out.push([k, this.bat[k]! * SECTOR]);
    return out;
  }
}
