/**
 * Reading and validating the structures of a VHD 1.0 file before anything uses them: the two
 * footer copies (spec "Hard Disk Footer Format"), the dynamic header, the parent locators and
 * the BAT (spec "Dynamic Disk Header Format", "Block Allocation Table"). Every hostile value
 * ends in a CORRUPT/UNSUPPORTED HvsimError naming the file and the field; nothing is allocated
 * beyond what the file size justifies. Imports common/, io/ and the struct modules only.
 */
import { alignUp, ascii, isPow2, utf16le } from '../common/bytes.js';
import { corrupt, hex, unsupported } from '../../errors.js';
import { readFully, type BlockFile } from '../io/block-file.js';
import type { FormatFinding, ParentLocator } from '../disk.js';
import {
  BAT_UNUSED,
  HEADER_COOKIE,
  HEADER_SIZE,
  HEADER_VERSION,
  PLATFORM_MACX,
  PLATFORM_W2KU,
  PLATFORM_W2RU,
  PLATFORM_WI2K,
  PLATFORM_WI2R,
  bitmapBytes,
  decodeDynamicHeader,
  headerChecksum,
  type DynamicHeader,
} from './dynamic-header.js';
import {
  DISK_TYPE_DIFFERENCING,
  DISK_TYPE_DYNAMIC,
  DISK_TYPE_FIXED,
  FILE_FORMAT_VERSION,
  FOOTER_COOKIE,
  FOOTER_SIZE,
  OLD_FOOTER_SIZE,
  decodeFooter,
  footerValid,
  geometryBytes,
  type VhdFooter,
} from './footer.js';

/** Block sizes accepted when reading (Windows uses 2 MiB; 512 KiB is allowed by New-VHD). */
export const MIN_BLOCK_SIZE = 512;
export const MAX_BLOCK_SIZE = 256 * 1024 * 1024;
/** A locator holds one path: 32767 UTF-16 units at most, plus slack. */
export const MAX_LOCATOR_BYTES = 128 * 1024;
/** BAT entries are u32 sector numbers: no block can start at or beyond 2^32 sectors. */
export const MAX_FILE_SECTORS = 0xffffffff;
/** Fixed-disk data is reported as blocks of this size (a VHD fixed disk has no blocks). */
export const FIXED_BLOCK_SIZE = 2 * 1024 * 1024;
/** New blocks keep their data 4 KiB aligned, as Windows does. */
export const DATA_ALIGNMENT = 4096;

export interface FooterCopy {
  /** 512 bytes as read (a 511-byte old footer padded with a zero byte). */
  bytes: Uint8Array;
  /** File offset of the copy. */
  pos: number;
  /** Cookie found. */
  cookie: boolean;
  /** Cookie and checksum both good. */
  valid: boolean;
  /** 511 bytes long (old Virtual PC). */
  old: boolean;
}

export interface FooterState {
  /** The copy at the end of the file, when the file holds a "conectix" cookie there. */
  tail: FooterCopy | undefined;
  /** The copy at offset 0 (meaningful for dynamic and differencing disks only). */
  head: FooterCopy | undefined;
}

export interface Region {
  start: number;
  end: number;
  what: string;
}

export interface VhdLayout {
  footer: VhdFooter;
  /** The raw bytes of the footer in use (rewritten verbatim at each new end of file). */
  footerBytes: Uint8Array;
  /** Which copy is in use: the one at EOF, or the copy at offset 0 (EOF copy missing or bad). */
  footerSource: 'end' | 'start';
  /** Offset of the footer at EOF when footerSource is 'end'. */
  footerPos: number;
  /** End of the bytes that may hold data: the EOF footer's offset, or the file size. */
  dataEnd: number;
  header: DynamicHeader | undefined;
  /** Host-order BAT, MaxTableEntries long (empty for fixed disks). */
  bat: Uint32Array;
  blockSize: number;
  bitmapBytes: number;
  blockCount: number;
  /** Footer copy, header, BAT and locator data, for the overlap checks. */
  regions: Region[];
  locator: ParentLocator | undefined;
  /** Findings made while parsing (fields that are odd but usable; footer copies are checked apart). */
  findings: FormatFinding[];
}

function readCopy(file: BlockFile, pos: number, len: number): FooterCopy {
  const bytes = new Uint8Array(FOOTER_SIZE);
  readFully(file, bytes.subarray(0, len), pos);
  const cookie = ascii(bytes, 0, 8) === FOOTER_COOKIE;
  return { bytes, pos, cookie, valid: cookie && footerValid(bytes), old: len === OLD_FOOTER_SIZE };
}

/** Read the EOF footer (512 bytes, or the 511-byte old form) and the copy at offset 0. */
export function readFooters(file: BlockFile): FooterState {
  const size = file.size();
  let tail: FooterCopy | undefined;
  if (size >= FOOTER_SIZE) {
    const t = readCopy(file, size - FOOTER_SIZE, FOOTER_SIZE);
    if (t.cookie) tail = t;
  }
  if (!tail && size >= OLD_FOOTER_SIZE) {
    const t = readCopy(file, size - OLD_FOOTER_SIZE, OLD_FOOTER_SIZE);
    if (t.cookie) tail = t;
  }
  const head = size >= FOOTER_SIZE ? readCopy(file, 0, FOOTER_SIZE) : undefined;
  return { tail, head: head?.cookie ? head : undefined };
}

function isSparseType(b: Uint8Array): boolean {
  const t = decodeFooter(b).diskType;
  return t === DISK_TYPE_DYNAMIC || t === DISK_TYPE_DIFFERENCING;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < FOOTER_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Findings about the two footer copies; used at open and by check(). `source`: the copy in use. */
export function footerFindings(st: FooterState, sparse: boolean, source: 'end' | 'start'): FormatFinding[] {
  const out: FormatFinding[] = [];
  const { tail, head } = st;
  if (!tail) out.push({ severity: 'warning', code: 'FOOTER_MISSING', message: 'no footer at the end of the file; using the copy at offset 0' });
  else if (!tail.valid && source === 'start')
    out.push({ severity: 'warning', code: 'FOOTER_CHECKSUM', message: 'footer at the end of the file has a bad checksum; using the copy at offset 0', offset: tail.pos });
  else if (!tail.valid) out.push({ severity: 'error', code: 'FOOTER_CHECKSUM', message: 'footer Checksum mismatch (no good copy at offset 0)', offset: tail.pos });
  else if (tail.old) out.push({ severity: 'warning', code: 'FOOTER_OLD', message: 'footer is the 511-byte form of old Virtual PC', offset: tail.pos });
  if (!sparse) return out;
  if (!head) out.push({ severity: 'warning', code: 'FOOTER_COPY_MISSING', message: 'no footer copy at offset 0', offset: 0 });
  else if (!head.valid)
    out.push({ severity: source === 'start' ? 'error' : 'warning', code: 'FOOTER_COPY_CHECKSUM', message: 'footer copy at offset 0 has a bad checksum', offset: 0 });
  else if (tail?.valid && !sameBytes(tail.bytes, head.bytes))
    out.push({ severity: 'warning', code: 'FOOTER_COPY_MISMATCH', message: 'footer copy at offset 0 differs from the footer at the end', offset: 0 });
  return out;
}

/**
 * Pick the footer to use: the EOF copy when valid, else the copy at 0 of a dynamic/differencing
 * disk. `lenient` (test-vhd) settles for a copy whose checksum fails; check() then reports it.
 */
function chooseFooter(name: string, st: FooterState, lenient: boolean): { copy: FooterCopy; source: 'end' | 'start' } {
  if (st.tail?.valid) return { copy: st.tail, source: 'end' };
  if (st.head?.valid && isSparseType(st.head.bytes)) return { copy: st.head, source: 'start' };
  if (lenient && st.tail) return { copy: st.tail, source: 'end' };
  if (lenient && st.head && isSparseType(st.head.bytes)) return { copy: st.head, source: 'start' };
  if (st.tail) throw corrupt(name, 'FOOTER_CHECKSUM', 'footer Checksum mismatch', st.tail.pos);
  if (st.head) throw corrupt(name, 'FOOTER_COPY_CHECKSUM', 'footer copy Checksum mismatch and no footer at the end of the file', 0);
  throw corrupt(name, 'FOOTER_MISSING', 'not a VHD: no footer cookie "conectix" at the end of the file or at offset 0');
}

export interface VhdOpenOptions {
  /**
   * Collect checksum failures as findings (severity error) instead of refusing to open, for
   * test-vhd. A writable open still refuses a file whose checksums fail.
   */
  lenient?: boolean;
}

function decodeLocatorText(code: string, b: Uint8Array): string | undefined {
  let s: string;
  if (code === PLATFORM_W2RU || code === PLATFORM_W2KU) s = utf16le(b, 0, b.length);
  else if (code === PLATFORM_WI2R || code === PLATFORM_WI2K) s = Buffer.from(b).toString('latin1');
  else if (code === PLATFORM_MACX) s = Buffer.from(b).toString('utf8');
  else return undefined;
  const nul = s.indexOf('\0');
  return nul >= 0 ? s.slice(0, nul) : s;
}

/** Parse and validate every structure; throws CORRUPT/UNSUPPORTED on anything unusable. */
export function parseVhd(file: BlockFile, opts: VhdOpenOptions = {}): VhdLayout {
  const lenient = opts.lenient === true;
  const name = file.name;
  const size = file.size();
  if (size < OLD_FOOTER_SIZE) throw corrupt(name, 'FILE_TOO_SMALL', `file of ${size} bytes is too small to be a VHD`);
  const st = readFooters(file);
  const { copy, source } = chooseFooter(name, st, lenient);
  const footer = decodeFooter(copy.bytes);
  const footerPos = source === 'end' ? copy.pos : -1;
  const dataEnd = source === 'end' ? copy.pos : size;
  const at = copy.pos;

  // Footer fields (spec "Hard Disk Footer Format").
  if (footer.fileFormatVersion >>> 16 !== FILE_FORMAT_VERSION >>> 16)
    throw unsupported(name, `footer FileFormatVersion ${hex(footer.fileFormatVersion)} is not 1.x`);
  if (footer.diskType !== DISK_TYPE_FIXED && footer.diskType !== DISK_TYPE_DYNAMIC && footer.diskType !== DISK_TYPE_DIFFERENCING)
    throw unsupported(name, `footer DiskType ${footer.diskType} is not fixed (2), dynamic (3) or differencing (4)`);
  const vsize = footer.currentSize;
  if (!Number.isSafeInteger(vsize) || vsize % 512 !== 0) throw corrupt(name, 'CURRENT_SIZE', `footer CurrentSize ${vsize} is not a multiple of 512`, at);

  const findings: FormatFinding[] = [];
  if (footer.diskGeometry.heads > 16 || geometryBytes(footer.diskGeometry) > vsize)
    findings.push({ severity: 'warning', code: 'GEOMETRY', message: `DiskGeometry ${footer.diskGeometry.cylinders}/${footer.diskGeometry.heads}/${footer.diskGeometry.sectorsPerTrack} exceeds CurrentSize`, offset: at });

  if (footer.diskType === DISK_TYPE_FIXED) {
    // Fixed: raw data, then the footer (spec "Fixed Hard Disk Image").
    if (dataEnd < vsize) throw corrupt(name, 'FIXED_SIZE', `fixed disk holds ${dataEnd} bytes of data, less than footer CurrentSize ${vsize}`, at);
    if (dataEnd > vsize) findings.push({ severity: 'warning', code: 'FIXED_SIZE', message: `fixed disk holds ${dataEnd - vsize} bytes beyond CurrentSize` });
    if (footer.dataOffset !== Infinity)
      findings.push({ severity: 'warning', code: 'DATA_OFFSET', message: `fixed disk footer DataOffset is ${footer.dataOffset}, not 0xFFFFFFFFFFFFFFFF`, offset: at });
    return {
      footer,
      footerBytes: copy.bytes,
      footerSource: source,
      footerPos,
      dataEnd,
      header: undefined,
      bat: new Uint32Array(0),
      blockSize: FIXED_BLOCK_SIZE,
      bitmapBytes: 0,
      blockCount: Math.ceil(vsize / FIXED_BLOCK_SIZE),
      regions: [],
      locator: undefined,
      findings,
    };
  }

  // Dynamic header (spec "Dynamic Disk Header Format").
  const ho = footer.dataOffset;
  if (!Number.isSafeInteger(ho) || ho < FOOTER_SIZE || ho + HEADER_SIZE > dataEnd)
    throw corrupt(name, 'DATA_OFFSET', `footer DataOffset ${ho === Infinity ? '0xFFFFFFFFFFFFFFFF' : hex(ho)} does not point at a dynamic header inside the file`, at);
  const hb = new Uint8Array(HEADER_SIZE);
  readFully(file, hb, ho);
  const header = decodeDynamicHeader(hb);
  if (header.cookie !== HEADER_COOKIE) throw corrupt(name, 'HEADER_COOKIE', 'dynamic header Cookie is not "cxsparse"', ho);
  if (header.checksum !== headerChecksum(hb)) {
    if (!lenient) throw corrupt(name, 'HEADER_CHECKSUM', 'dynamic header Checksum mismatch', ho);
    findings.push({ severity: 'error', code: 'HEADER_CHECKSUM', message: 'dynamic header Checksum mismatch', offset: ho });
  }
  if (header.headerVersion >>> 16 !== HEADER_VERSION >>> 16) throw unsupported(name, `dynamic header HeaderVersion ${hex(header.headerVersion)} is not 1.x`);
  const bs = header.blockSize;
  if (!isPow2(bs) || bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE)
    throw corrupt(name, 'BLOCK_SIZE', `dynamic header BlockSize ${bs} is not a power of two between ${MIN_BLOCK_SIZE} and ${MAX_BLOCK_SIZE}`, ho);
  const blockCount = Math.ceil(vsize / bs);
  const entries = header.maxTableEntries;
  if (entries < blockCount) throw corrupt(name, 'MAX_TABLE_ENTRIES', `dynamic header MaxTableEntries ${entries} does not cover CurrentSize ${vsize} (${blockCount} blocks)`, ho);
  if (entries > blockCount)
    findings.push({ severity: 'warning', code: 'MAX_TABLE_ENTRIES', message: `MaxTableEntries ${entries} is more than the ${blockCount} blocks CurrentSize needs`, offset: ho });
  const to = header.tableOffset;
  if (!Number.isSafeInteger(to) || to < FOOTER_SIZE || to + entries * 4 > dataEnd)
    throw corrupt(name, 'TABLE_OFFSET', `dynamic header TableOffset ${to === Infinity ? 'beyond 2^53' : hex(to)} with MaxTableEntries ${entries} does not fit inside the file`, ho);
  if (to < ho + HEADER_SIZE && ho < to + entries * 4) throw corrupt(name, 'TABLE_OFFSET', 'dynamic header TableOffset overlaps the dynamic header', ho);
  if (header.dataOffset !== Infinity)
    findings.push({ severity: 'warning', code: 'HEADER_DATA_OFFSET', message: 'dynamic header DataOffset is not 0xFFFFFFFFFFFFFFFF', offset: ho });

  const raw = new Uint8Array(entries * 4);
  readFully(file, raw, to);
  const bat = new Uint32Array(entries);
  for (let i = 0; i < entries; i++)
    bat[i] = ((raw[i * 4]! << 24) | (raw[i * 4 + 1]! << 16) | (raw[i * 4 + 2]! << 8) | raw[i * 4 + 3]!) >>> 0;

  const regions: Region[] = [
    { start: 0, end: FOOTER_SIZE, what: 'footer copy' },
    { start: ho, end: ho + HEADER_SIZE, what: 'dynamic header' },
    { start: to, end: to + entries * 4, what: 'BAT' },
  ];

  // Parent locators (spec "Parent Locator Entry"); only a differencing disk uses them.
  let locator: ParentLocator | undefined;
  const pairs: Array<[string, string]> = [];
  header.parentLocatorEntries.forEach((e, i) => {
    if (e.platformCode === '') return;
    const field = `ParentLocatorEntries[${i}] (${JSON.stringify(e.platformCode)})`;
    if (footer.diskType !== DISK_TYPE_DIFFERENCING) {
      findings.push({ severity: 'warning', code: 'LOCATOR_UNUSED', message: `${field} is set on a disk that has no parent`, offset: ho });
      return;
    }
    const off = e.platformDataOffset;
    const len = e.platformDataLength;
    if (len > MAX_LOCATOR_BYTES) throw corrupt(name, 'LOCATOR_DATA', `${field} PlatformDataLength ${len} is too large for a path`, ho);
    if (!Number.isSafeInteger(off) || off < FOOTER_SIZE || off + len > dataEnd)
      throw corrupt(name, 'LOCATOR_DATA', `${field} PlatformDataOffset ${off === Infinity ? 'beyond 2^53' : hex(off)} + PlatformDataLength ${len} is outside the file`, ho);
    if (len === 0) return;
    const data = new Uint8Array(len);
    readFully(file, data, off);
    // PlatformDataSpace: sectors per the spec, bytes as Windows writes it; either must hold the data.
    if (e.platformDataSpace < len && e.platformDataSpace * 512 < len)
      findings.push({ severity: 'warning', code: 'LOCATOR_SPACE', message: `${field} PlatformDataLength ${len} exceeds PlatformDataSpace ${e.platformDataSpace}`, offset: ho });
    for (const r of regions)
      if (off < r.end && r.start < off + len)
        findings.push({ severity: 'error', code: 'LOCATOR_OVERLAP', message: `${field} data overlaps the ${r.what}`, offset: off });
    regions.push({ start: off, end: off + len, what: `parent locator ${e.platformCode}` });
    const text = decodeLocatorText(e.platformCode, data);
    if (text !== undefined) pairs.push([e.platformCode, text]);
  });
  if (footer.diskType === DISK_TYPE_DIFFERENCING) {
    const get = (code: string): string | undefined => pairs.find(([k, v]) => k === code && v !== '')?.[1];
    locator = {
      linkage: header.parentUniqueId,
      linkage2: undefined,
      relativePath: get(PLATFORM_W2RU) ?? get(PLATFORM_WI2R),
      absolutePath: get(PLATFORM_W2KU) ?? get(PLATFORM_WI2K) ?? (header.parentUnicodeName || undefined),
      volumePath: undefined,
      entries: pairs,
    };
    if (!locator.relativePath && !locator.absolutePath)
      findings.push({ severity: 'error', code: 'LOCATOR_MISSING', message: 'differencing disk names no parent (no W2ru/W2ku locator, empty ParentUnicodeName)', offset: ho });
  }

  return {
    footer,
    footerBytes: copy.bytes,
    footerSource: source,
    footerPos,
    dataEnd,
    header,
    bat,
    blockSize: bs,
    bitmapBytes: bitmapBytes(bs),
    blockCount,
    regions,
    locator,
    findings,
  };
}

export interface BatAnalysis {
  findings: FormatFinding[];
  /** End of the last byte any structure or allocated block uses. */
  structEnd: number;
  /** Every allocated block's data starts on a 4 KiB boundary. */
  aligned: boolean;
  allocated: number;
}

const MAX_BAT_FINDINGS = 20;

/** Check allocated blocks against the end of the data, the metadata and each other. */
export function analyzeBat(lay: VhdLayout, bat: Uint32Array, dataEnd: number): BatAnalysis {
  const findings: FormatFinding[] = [];
  let structEnd = 0;
  for (const r of lay.regions) structEnd = Math.max(structEnd, r.end);
  const footprint = lay.bitmapBytes + lay.blockSize;
  const starts: number[] = [];
  const owner = new Map<number, number>();
  let aligned = true;
  let problems = 0;
  let droppedError = false;
  const report = (f: FormatFinding): void => {
    if (problems++ < MAX_BAT_FINDINGS) findings.push(f);
    else if (f.severity === 'error') droppedError = true;
  };
  for (let i = 0; i < bat.length; i++) {
    const e = bat[i]!;
    if (e === BAT_UNUSED) continue;
    const start = e * 512;
    const end = start + footprint;
    if ((start + lay.bitmapBytes) % DATA_ALIGNMENT !== 0) aligned = false;
    if (i >= lay.blockCount)
      report({ severity: 'warning', code: 'BAT_ENTRY_UNUSED', message: `BAT entry ${i} is allocated but lies beyond CurrentSize`, offset: start });
    if (end > dataEnd) report({ severity: 'error', code: 'BAT_ENTRY_PAST_EOF', message: `block ${i} (sector ${hex(e)}) extends past the end of the data at ${hex(dataEnd)}`, offset: start });
    for (const r of lay.regions)
      if (start < r.end && r.start < end) report({ severity: 'error', code: 'BAT_ENTRY_OVERLAP', message: `block ${i} (sector ${hex(e)}) overlaps the ${r.what}`, offset: start });
    const prev = owner.get(start);
    if (prev !== undefined) report({ severity: 'error', code: 'BAT_ENTRY_OVERLAP', message: `blocks ${prev} and ${i} share sector ${hex(e)}`, offset: start });
    else {
      owner.set(start, i);
      starts.push(start);
    }
    structEnd = Math.max(structEnd, end);
  }
  starts.sort((a, b) => a - b);
  for (let k = 1; k < starts.length; k++) {
    const a = starts[k - 1]!;
    const b = starts[k]!;
    if (a + footprint > b)
      report({ severity: 'error', code: 'BAT_ENTRY_OVERLAP', message: `blocks ${owner.get(a)} and ${owner.get(b)} overlap`, offset: b });
  }
  if (problems > MAX_BAT_FINDINGS)
    findings.push({ severity: droppedError ? 'error' : 'warning', code: 'BAT_MORE', message: `${problems - MAX_BAT_FINDINGS} more BAT problems not listed` });
  return { findings, structEnd, aligned, allocated: starts.length };
}

/** Where the next block goes: its bitmap just before a 4 KiB boundary, so its data is aligned. */
export function nextBlockPosition(after: number, bitmap: number): number {
  return alignUp(after + bitmap, DATA_ALIGNMENT) - bitmap;
}
