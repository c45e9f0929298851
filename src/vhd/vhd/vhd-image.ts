/**
 * A VHD 1.0 file (.vhd/.avhd: fixed, dynamic, differencing) as a DiskImage. Structures are
 * parsed and validated by layout.ts; this module maps blocks (spec "Block Allocation Table and
 * Data Blocks", sector bitmaps MSB-first) and writes with the ordering a crash can survive:
 * new block (zeroed bitmap + data) → flush → BAT entry → flush → footer at the new end of file.
 * A file whose trailing footer is missing or stale reopens from the footer copy at offset 0.
 */
import { setU32be } from '../common/bytes.js';
import { corrupt, HvsimError, invalidArgument } from '../common/errors.js';
import { isZeroGuid, type Guid } from '../common/guid.js';
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
import { BAT_UNUSED, type DynamicHeader } from './dynamic-header.js';
import { DISK_TYPE_DYNAMIC, DISK_TYPE_FIXED, FOOTER_SIZE, type VhdFooter } from './footer.js';
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
  readonly type: VhdType;
  readonly virtualSize: number;
  readonly blockSize: number;
  readonly logicalSectorSize = SECTOR;
  readonly physicalSectorSize = SECTOR;
  readonly blockCount: number;
  readonly writable: boolean;
  readonly identity: Guid;
  readonly diskIdentifier: Guid;
  readonly parentLocator: ParentLocator | undefined;
  /** The footer in use (decoded). */
  readonly footer: VhdFooter;
  /** The dynamic header (dynamic and differencing disks). */
  readonly header: DynamicHeader | undefined;

  private readonly lay: VhdLayout;
  private readonly bat: Uint32Array;
  private readonly sectorsPerBlock: number;
  /** Offset of the footer at the end of the file (-1 while only the copy at 0 is usable). */
  private footerPos: number;
  /** Where the next block's bitmap goes (writable files only). */
  private nextBlock = -1;
  private readonly bitmaps = new Map<number, CachedBitmap>();
  private closed = false;
  /** The BAT's last sector may be written whole: its padding overlaps no other structure. */
  private readonly batPaddingFree: boolean;

  private constructor(file: BlockFile, lay: VhdLayout) {
    this.file = file;
    this.path = file.name;
    this.lay = lay;
    this.footer = lay.footer;
    this.header = lay.header;
    this.type = lay.footer.diskType === DISK_TYPE_FIXED ? 'Fixed' : lay.footer.diskType === DISK_TYPE_DYNAMIC ? 'Dynamic' : 'Differencing';
    this.virtualSize = lay.footer.currentSize;
    this.blockSize = lay.blockSize;
    this.blockCount = lay.blockCount;
    this.sectorsPerBlock = lay.blockSize / SECTOR;
    this.writable = !file.readOnly;
    this.identity = lay.footer.uniqueId;
    this.diskIdentifier = lay.footer.uniqueId;
    this.parentLocator = lay.locator;
    this.bat = lay.bat;
    this.footerPos = lay.footerPos;
    const to = lay.header?.tableOffset ?? 0;
    const padEnd = to + Math.ceil((lay.bat.length * 4) / SECTOR) * SECTOR;
    const batEnd = to + lay.bat.length * 4;
    this.batPaddingFree =
      padEnd <= lay.dataEnd &&
      lay.regions.every((r) => r.what === 'BAT' || r.end <= batEnd || r.start >= padEnd) &&
      lay.bat.every((e) => e === BAT_UNUSED || e * SECTOR >= padEnd || e * SECTOR + lay.bitmapBytes + lay.blockSize <= batEnd);
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
