/**
 * The VHDX metadata log (MS-VHDX §2.3): entry encoding (§2.3.1), the active-sequence search and
 * replay (§2.3.2, §2.3.3), and a writer for hvsim's own entries. Depends only on common/ and
 * io/block-file; it never reads headers itself (the caller passes LogOffset/LogLength/LogGuid, §2.2.2).
 *
 * Everything read from the log is untrusted: every count and length is checked against the log
 * length before it drives a read or an allocation, and the log length is checked against the file
 * size, so a hostile log costs at most O(log length) memory and time.
 */
import { alignUp, KiB, setU32le, setU64le, u32le, u64le } from '../common/bytes.js';
import { crc32c } from '../common/crc32c.js';
import { corrupt, hex, HvsimError, invalidArgument } from '../../errors.js';
import { isZeroGuid, readMsGuid, tryParseGuid, writeMsGuid, type Guid } from '../common/guid.js';
import { readFully, type BlockFile } from '../io/block-file.js';

/** Where the log lives, from the current VHDX header: LogOffset, LogLength (§2.2.2). */
export interface LogLocation {
  offset: number;
  length: number;
}

/** One replayed write: a full 4 KiB page image (exactly 4096 bytes) or a zeroed range. */
export type LogWrite =
  | { kind: 'data'; offset: number; data: Uint8Array }
  | { kind: 'zero'; offset: number; length: number };

export interface LogReplay {
  /** In the order they must be applied: oldest entry first, descriptor order inside an entry. */
  writes: LogWrite[];
  /** FlushedFileOffset of the head entry: the file must be at least this long (§2.3.3). */
  flushedFileOffset: number;
  /** LastFileOffset of the head entry: extend the file to this size after replay. */
  lastFileOffset: number;
  /** SequenceNumber of the head (newest) entry. */
  headSequence: number;
  /** Byte offset inside the log of the head entry. */
  headOffset: number;
  /** EntryLength of the head entry. */
  headLength: number;
}

/** §2.3: the log is made of 4 KiB log sectors; entries start on sector boundaries. */
export const LOG_SECTOR_SIZE = 4096;
const SECTOR = LOG_SECTOR_SIZE;
/** §2.3.1.1 entry header and §2.3.1.2/§2.3.1.3 descriptor sizes. */
const ENTRY_HEADER_SIZE = 64;
const DESCRIPTOR_SIZE = 32;
/** Signatures as little-endian u32 of their ASCII tags. */
const SIG_LOGE = 0x65676f6c; // "loge"
const SIG_ZERO = 0x6f72657a; // "zero"
const SIG_DESC = 0x63736564; // "desc"
const SIG_DATA = 0x61746164; // "data"
/** File offsets below this (file identifier, headers) are never written through the log (§2.3). */
export const MIN_LOGGABLE_OFFSET = 192 * KiB;
/**
 * hvsim's bound for any file offset found in a log entry (256 TiB): a 64 TiB disk (§2.6.2.2) plus
 * its metadata fits well below it, and it keeps offset + length arithmetic exact in doubles.
 */
export const MAX_LOG_FILE_OFFSET = 2 ** 48;
/** LogLength is a u32 (§2.2.2) and a multiple of the sector size. */
const MAX_LOG_LENGTH = 2 ** 32 - SECTOR;
const TWO_32 = 2 ** 32;

/** Bytes taken by the entry header plus `count` descriptors, rounded up to whole sectors (§2.3.1.1). */
export function descriptorAreaLength(count: number): number {
  return alignUp(ENTRY_HEADER_SIZE + DESCRIPTOR_SIZE * count, SECTOR);
}

/** EntryLength of an entry with `dataCount` data descriptors and `zeroCount` zero descriptors. */
export function entryLength(dataCount: number, zeroCount = 0): number {
  return descriptorAreaLength(dataCount + zeroCount) + SECTOR * dataCount;
}

/**
 * Largest number of 4 KiB data pages one entry (without zero descriptors) can hold in a log of
 * this length, keeping the one free sector LogWriter requires. 0 when not even an empty entry fits.
 */
export function maxPagesPerEntry(logLength: number): number {
  if (!Number.isSafeInteger(logLength) || logLength < 2 * SECTOR) return 0;
  let lo = 0;
  let hi = Math.floor(logLength / SECTOR);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (entryLength(mid) + SECTOR <= logLength) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface LogEntryParams {
  sequenceNumber: number;
  /** Byte offset inside the log of the oldest entry still needed (§2.3.1.1 Tail). */
  tail: number;
  logGuid: Guid;
  flushedFileOffset: number;
  lastFileOffset: number;
  /** Zero descriptors; they come first in the entry, so pages override them on replay. */
  zeros: ReadonlyArray<{ offset: number; length: number }>;
  /** Data descriptors, in order, each a full 4 KiB page image at a 4 KiB-aligned file offset. */
  pages: ReadonlyArray<{ offset: number; data: Uint8Array }>;
}

function checkFileRange(offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset % SECTOR !== 0 || length % SECTOR !== 0)
    throw invalidArgument(`log ${what} at ${offset}+${length} is not 4 KiB aligned`);
  if (offset < MIN_LOGGABLE_OFFSET) throw invalidArgument(`log ${what} at ${hex(offset)} is inside the VHDX header area`);
  if (length < 0 || offset + length > MAX_LOG_FILE_OFFSET)
    throw invalidArgument(`log ${what} at ${hex(offset)}+${hex(length)} is out of range`);
}

/** Build one log entry (§2.3.1) with its checksum; validates the arguments. */
export function encodeLogEntry(p: LogEntryParams): Uint8Array {
  const guid = tryParseGuid(p.logGuid);
  if (guid === undefined || isZeroGuid(guid)) throw invalidArgument(`log GUID ${JSON.stringify(p.logGuid)} is not usable`);
  const seq = p.sequenceNumber;
  if (!Number.isSafeInteger(seq) || seq < 1) throw invalidArgument(`log sequence number ${seq} is out of range`);
  if (!Number.isSafeInteger(p.tail) || p.tail < 0 || p.tail > MAX_LOG_LENGTH || p.tail % SECTOR !== 0)
    throw invalidArgument(`log tail ${p.tail} is not a 4 KiB-aligned log offset`);
  for (const v of [p.flushedFileOffset, p.lastFileOffset])
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_LOG_FILE_OFFSET) throw invalidArgument(`log file offset ${v} is out of range`);
  for (const z of p.zeros) checkFileRange(z.offset, z.length, 'zero range');
  for (const pg of p.pages) {
    checkFileRange(pg.offset, SECTOR, 'page');
    if (pg.data.length !== SECTOR) throw invalidArgument(`log page at ${hex(pg.offset)} is ${pg.data.length} bytes, not 4096`);
  }
  const count = p.zeros.length + p.pages.length;
  const descArea = descriptorAreaLength(count);
  const length = descArea + SECTOR * p.pages.length;
  if (length > MAX_LOG_LENGTH) throw invalidArgument(`log entry of ${length} bytes is too large`);
  const seqHigh = Math.floor(seq / TWO_32);
  const seqLow = seq >>> 0;
  const buf = new Uint8Array(length);
  // §2.3.1.1 entry header (checksum stays 0 until the end).
  setU32le(buf, 0, SIG_LOGE);
  setU32le(buf, 8, length);
  setU32le(buf, 12, p.tail);
  setU64le(buf, 16, seq);
  setU32le(buf, 24, count);
  writeMsGuid(guid, buf, 32);
  setU64le(buf, 48, p.flushedFileOffset);
  setU64le(buf, 56, p.lastFileOffset);
  let d = ENTRY_HEADER_SIZE;
  // §2.3.1.2 zero descriptors.
  for (const z of p.zeros) {
    setU32le(buf, d, SIG_ZERO);
    setU64le(buf, d + 8, z.length);
    setU64le(buf, d + 16, z.offset);
    setU64le(buf, d + 24, seq);
    d += DESCRIPTOR_SIZE;
  }
  // §2.3.1.3 data descriptors (bytes 0..7 and 4092..4095 of each page) and §2.3.1.4 data sectors.
  p.pages.forEach((pg, i) => {
    setU32le(buf, d, SIG_DESC);
    buf.set(pg.data.subarray(4092, 4096), d + 4);
    buf.set(pg.data.subarray(0, 8), d + 8);
    setU64le(buf, d + 16, pg.offset);
    setU64le(buf, d + 24, seq);
    d += DESCRIPTOR_SIZE;
    const s = descArea + i * SECTOR;
    setU32le(buf, s, SIG_DATA);
    setU32le(buf, s + 4, seqHigh);
    buf.set(pg.data.subarray(8, 4092), s + 8);
    setU32le(buf, s + 4092, seqLow);
  });
  // §2.3.1.1 Checksum: CRC-32C over the whole entry with the field as zero.
  setU32le(buf, 4, crc32c(buf));
  return buf;
}

/** What the search keeps about a valid entry (no payload). */
interface EntryInfo {
  offset: number;
  length: number;
  seq: number;
  tail: number;
  flushed: number;
  last: number;
}

/** Reads and validates entries of one log region; caches the verdict per log offset. */
class LogScanner {
  private readonly file: BlockFile;
  private readonly log: LogLocation;
  private readonly guid: Guid;
  private readonly cache = new Map<number, EntryInfo | null>();
  private readonly sector = new Uint8Array(SECTOR);
  /** A read-ahead window over the log, so the signature scan does not issue one read per sector. */
  private readonly window: Uint8Array;
  private winStart = 0;
  private winEnd = 0;

  constructor(file: BlockFile, log: LogLocation, guid: Guid) {
    this.file = file;
    this.log = log;
    this.guid = guid;
    this.window = new Uint8Array(Math.min(log.length, 1024 * KiB));
  }

  /** First u32 of the log sector at `pos`. */
  signatureAt(pos: number): number {
    if (pos < this.winStart || pos + 4 > this.winEnd) {
      const n = Math.min(this.window.length, this.log.length - pos);
      readFully(this.file, this.window.subarray(0, n), this.log.offset + pos);
      this.winStart = pos;
      this.winEnd = pos + n;
    }
    return u32le(this.window, pos - this.winStart);
  }

  private readSector(pos: number, dst: Uint8Array): void {
    // `pos` is sector aligned and the log length is a whole number of sectors: no wrap inside.
    if (pos >= this.winStart && pos + SECTOR <= this.winEnd) dst.set(this.window.subarray(pos - this.winStart, pos - this.winStart + SECTOR));
    else readFully(this.file, dst, this.log.offset + pos);
  }

  entryAt(pos: number): EntryInfo | null {
    let e = this.cache.get(pos);
    if (e === undefined) {
      e = this.parse(pos);
      this.cache.set(pos, e);
    }
    return e;
  }

  /** A target range of a descriptor: aligned, past the header area, bounded, clear of the log. */
  private rangeOk(offset: number, length: number): boolean {
    if (!Number.isFinite(offset) || !Number.isFinite(length)) return false; // u64le gives Infinity for >= 2^53
    if (offset % SECTOR !== 0 || length % SECTOR !== 0) return false;
    if (offset < MIN_LOGGABLE_OFFSET || offset + length > MAX_LOG_FILE_OFFSET) return false;
    return !(offset < this.log.offset + this.log.length && offset + length > this.log.offset);
  }

  /**
   * Validate the entry starting at log offset `pos` (§2.3.1) and, when `out` is given, append its
   * writes in descriptor order. Sectors are read one at a time and each is checked before the next
   * is read, so a bogus candidate costs only the sectors up to its first bad one.
   */
  parse(pos: number, out?: LogWrite[]): EntryInfo | null {
    const L = this.log.length;
    const sec = this.sector;
    this.readSector(pos, sec);
    if (u32le(sec, 0) !== SIG_LOGE) return null;
    const length = u32le(sec, 8);
    const tail = u32le(sec, 12);
    const seq = u64le(sec, 16);
    const count = u32le(sec, 24);
    // EntryLength: whole sectors, and smaller than the log (an entry never overlaps itself).
    if (length === 0 || length % SECTOR !== 0 || length > L - SECTOR) return null;
    if (tail % SECTOR !== 0 || tail >= L) return null;
    if (!Number.isSafeInteger(seq) || seq < 1) return null;
    const descArea = descriptorAreaLength(count); // count <= 2^32-1: still exact, compared before any use
    if (descArea > length) return null;
    if (readMsGuid(sec, 32) !== this.guid) return null;
    const flushed = u64le(sec, 48);
    const last = u64le(sec, 56);
    if (!(flushed <= MAX_LOG_FILE_OFFSET) || !(last <= MAX_LOG_FILE_OFFSET)) return null;
    const stored = u32le(sec, 4);
    sec.fill(0, 4, 8);
    let crc = crc32c(sec);

    const seqHigh = Math.floor(seq / TWO_32);
    const seqLow = seq >>> 0;
    const pages: Uint8Array[] = [];
    let dataCount = 0;
    let inSector = 0;
    for (let i = 0; i < count; i++) {
      const at = ENTRY_HEADER_SIZE + DESCRIPTOR_SIZE * i;
      const s = Math.floor(at / SECTOR);
      if (s !== inSector) {
        // Descriptor sectors after the first begin with a descriptor, checked right away.
        inSector = s;
        this.readSector((pos + s * SECTOR) % L, sec);
        crc = crc32c(sec, crc);
      }
      const o = at - s * SECTOR;
      const sig = u32le(sec, o);
      const fileOffset = u64le(sec, o + 16);
      if (u64le(sec, o + 24) !== seq) return null;
      if (sig === SIG_ZERO) {
        const zeroLength = u64le(sec, o + 8);
        if (!this.rangeOk(fileOffset, zeroLength)) return null;
        if (out && zeroLength > 0) out.push({ kind: 'zero', offset: fileOffset, length: zeroLength });
      } else if (sig === SIG_DESC) {
        if (!this.rangeOk(fileOffset, SECTOR)) return null;
        dataCount++;
        if (descArea + SECTOR * dataCount > length) return null;
        if (out) {
          // Replay rebuilds the page as LeadingBytes ‖ Data ‖ TrailingBytes (§2.3.1.3, §2.3.1.4).
          const data = new Uint8Array(SECTOR);
          data.set(sec.subarray(o + 8, o + 16), 0);
          data.set(sec.subarray(o + 4, o + 8), 4092);
          pages.push(data);
          out.push({ kind: 'data', offset: fileOffset, data });
        }
      } else return null;
    }
    if (descArea + SECTOR * dataCount !== length) return null;

    for (let j = 0; j < dataCount; j++) {
      this.readSector((pos + descArea + j * SECTOR) % L, sec);
      if (u32le(sec, 0) !== SIG_DATA || u32le(sec, 4) !== seqHigh || u32le(sec, 4092) !== seqLow) return null;
      crc = crc32c(sec, crc);
      if (out) pages[j]!.set(sec.subarray(8, 4092), 8);
    }
    if (crc !== stored) return null;
    return { offset: pos, length, seq, tail, flushed, last };
  }
}

/** Check a log location read from a header; `fileSize` bounds everything the search may touch. */
function checkLogLocation(log: LogLocation, fileSize: number, name: string): void {
  const { offset, length } = log;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset % SECTOR !== 0 || length % SECTOR !== 0)
    throw corrupt(name, 'LOG_REGION', `log region ${offset}+${length} is not 4 KiB aligned`);
  if (offset < MIN_LOGGABLE_OFFSET) throw corrupt(name, 'LOG_REGION', 'log region overlaps the VHDX header area', offset);
  if (length < 0 || length > MAX_LOG_LENGTH) throw corrupt(name, 'LOG_REGION', `log length ${hex(length)} is out of range`, offset);
  if (offset + length > fileSize) throw corrupt(name, 'LOG_REGION', 'log region extends past the end of the file', offset);
}

function checkGuidArgument(g: Guid): Guid {
  const guid = typeof g === 'string' ? tryParseGuid(g) : undefined;
  if (guid === undefined) throw invalidArgument(`log GUID ${JSON.stringify(String(g).slice(0, 60))} is not a GUID`);
  return guid;
}

/**
 * Scan the log for the active sequence (§2.3.3). Returns undefined when there is no valid entry
 * (or the GUID is all zero, or the log is empty); throws CORRUPT when the log region itself is
 * malformed or lies outside the file.
 *
 * Rules (§2.3.2): a sequence is a run of valid entries laid back to back (wrapping at the end of
 * the log) with SequenceNumber increasing by 1. The first entry's Tail is not checked; every later
 * entry's Tail must be the start of an entry in the run so far (itself included); a run of one
 * entry counts only if its Tail is itself. The active sequence is the run whose head has the
 * highest SequenceNumber; the replay is the entries from the head's Tail through the head.
 *
 * Cost: valid entries cannot overlap (every sector of an entry after its first starts with
 * "desc", "zero" or "data", never "loge"), so entries form disjoint chains. A start inside a run
 * already built can only give a run ending at or before that run's head, so the scan jumps past
 * every run it builds and each sector is looked at a bounded number of times; entry verdicts are
 * cached per offset. Total work and memory are O(log length).
 */
export function findActiveSequence(file: BlockFile, log: LogLocation, logGuid: Guid): LogReplay | undefined {
  const guid = checkGuidArgument(logGuid);
  if (isZeroGuid(guid) || log.length === 0) return undefined;
  checkLogLocation(log, file.size(), file.name);
  const L = log.length;
  const scanner = new LogScanner(file, log, guid);

  let best: { run: EntryInfo[]; tailIndex: number } | undefined;
  let pos = 0;
  while (pos < L) {
    const first = scanner.signatureAt(pos) === SIG_LOGE ? scanner.entryAt(pos) : null;
    if (!first) {
      pos += SECTOR;
      continue;
    }
    const run = [first];
    const index = new Map<number, number>([[first.offset, 0]]);
    let used = first.length;
    for (;;) {
      const prev = run[run.length - 1]!;
      const next = scanner.entryAt((first.offset + used) % L);
      if (!next || next.seq !== prev.seq + 1 || used + next.length > L) break;
      index.set(next.offset, run.length);
      if (!index.has(next.tail)) {
        index.delete(next.offset);
        break;
      }
      run.push(next);
      used += next.length;
    }
    const head = run[run.length - 1]!;
    const tailIndex = index.get(head.tail);
    if (tailIndex !== undefined && (!best || head.seq > best.run[best.run.length - 1]!.seq)) best = { run, tailIndex };
    // Skip the run (or the lone entry); reaching L means the run wrapped over sectors already seen.
    pos += tailIndex !== undefined ? used : first.length;
  }
  if (!best) return undefined;

  const writes: LogWrite[] = [];
  for (let i = best.tailIndex; i < best.run.length; i++) {
    const e = best.run[i]!;
    if (!scanner.parse(e.offset, writes)) throw corrupt(file.name, 'LOG_ENTRY', 'log entry changed while it was being read', log.offset + e.offset);
  }
  const head = best.run[best.run.length - 1]!;
  return {
    writes,
    flushedFileOffset: head.flushed,
    lastFileOffset: head.last,
    headSequence: head.seq,
    headOffset: head.offset,
    headLength: head.length,
  };
}

const ZERO_CHUNK = 1024 * KiB;

/** A file that can record a zero range without materialising it (OverlayFile does). */
interface ZeroRangeFile {
  zeroRange(offset: number, length: number): void;
}
function hasZeroRange(f: BlockFile): f is BlockFile & ZeroRangeFile {
  return typeof (f as Partial<ZeroRangeFile>).zeroRange === 'function';
}

/**
 * Zero [offset, offset+length) of `target`. Only the part inside the current file is written;
 * the rest is produced by extending the file, so a huge hostile range costs no more than the file.
 */
function zeroFill(target: BlockFile, offset: number, length: number): void {
  if (hasZeroRange(target)) return target.zeroRange(offset, length);
  const end = offset + length;
  const inside = Math.min(end, target.size());
  if (offset < inside) {
    const zeros = new Uint8Array(Math.min(ZERO_CHUNK, inside - offset));
    for (let at = offset; at < inside; at += zeros.length) target.write(zeros.subarray(0, Math.min(zeros.length, inside - at)), at);
  }
  if (end > target.size()) target.truncate(end);
}

/**
 * Apply a replay to `target` (§2.3.3 steps 2-4): refuse a file shorter than the head's
 * FlushedFileOffset (truncated file), apply the writes in order, then extend the file to
 * LastFileOffset when it is smaller. Does not flush. LastFileOffset is only bounded by
 * MAX_LOG_FILE_OFFSET: callers replaying into a MemoryFile should bound it themselves.
 */
export function applyReplay(target: BlockFile, replay: LogReplay): void {
  if (target.size() < replay.flushedFileOffset)
    throw corrupt(target.name, 'TRUNCATED', `file is ${target.size()} bytes but its log says ${replay.flushedFileOffset} were flushed (truncated file)`);
  for (const w of replay.writes) {
    if (w.kind === 'data') {
      if (w.data.length !== SECTOR) throw invalidArgument(`replay page at ${hex(w.offset)} is ${w.data.length} bytes, not 4096`, target.name);
      target.write(w.data, w.offset);
    } else if (w.length > 0) zeroFill(target, w.offset, w.length);
  }
  if (target.size() < replay.lastFileOffset) target.truncate(replay.lastFileOffset);
}

/**
 * Appends entries to the circular log of a writable file (§2.3). hvsim applies every entry to its
 * final location and flushes before it writes the next one, so no older entry is ever still
 * needed: every entry's Tail points at the entry itself, and the newest valid entry alone is the
 * active sequence. Entries go back to back from log offset 0, wrapping modulo the log length (an
 * entry's sectors continue at the log start); one sector always stays free (§2.3: full vs empty).
 *
 * The newest durable entry must survive while the next one is being written: if the new entry
 * would overwrite it, a torn write could leave an older entry as the newest valid one and replay
 * would roll back pages applied since. So when previous + new entry exceed the log, the writer
 * first appends (and flushes) an empty entry, which needs only one sector and replays nothing.
 * The caller must use a fresh LogGuid per session (§2.2.2) so entries of earlier sessions are
 * ignored by replay.
 */
export class LogWriter {
  private readonly file: BlockFile;
  private readonly log: LogLocation;
  private readonly guid: Guid;
  private pos = 0;
  private seq: number;
  /** EntryLength of the newest entry written (0 before the first). */
  private prevLength = 0;

  constructor(file: BlockFile, log: LogLocation, logGuid: Guid, firstSequence = 1) {
    const guid = checkGuidArgument(logGuid);
    if (isZeroGuid(guid)) throw invalidArgument('log GUID must not be all zero', file.name);
    const { offset, length } = log;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset % SECTOR !== 0 || length % SECTOR !== 0)
      throw invalidArgument(`log region ${offset}+${length} is not 4 KiB aligned`, file.name);
    if (offset < MIN_LOGGABLE_OFFSET || length < 2 * SECTOR || length > MAX_LOG_LENGTH)
      throw invalidArgument(`log region ${hex(offset)}+${hex(length)} is out of range`, file.name);
    if (!Number.isSafeInteger(firstSequence) || firstSequence < 1)
      throw invalidArgument(`log sequence number ${firstSequence} is out of range`, file.name);
    if (file.readOnly) throw new HvsimError('READ_ONLY', `${file.name}: file is open read-only`, { file: file.name });
    this.file = file;
    this.log = { offset, length };
    this.guid = guid;
    this.seq = firstSequence;
  }

  /** SequenceNumber the next entry will carry. */
  get nextSequence(): number {
    return this.seq;
  }
  /** Log offset where the next entry will start. */
  get nextOffset(): number {
    return this.pos;
  }

  /**
   * Append one entry (zero descriptors first, then the pages, so pages win where they overlap)
   * and flush. May first append an empty entry (see the class comment), which takes one sequence
   * number. Throws INVALID_ARGUMENT when an argument is bad or the entry would not fit
   * (EntryLength + 4096 > LogLength); split large updates with maxPagesPerEntry.
   */
  writeEntry(
    pages: Array<{ offset: number; data: Uint8Array }>,
    zeros: Array<{ offset: number; length: number }>,
    flushedFileOffset: number,
    lastFileOffset: number,
  ): void {
    const L = this.log.length;
    const need = entryLength(pages.length, zeros.length);
    if (need + SECTOR > L)
      throw invalidArgument(`log entry of ${need} bytes does not fit in a ${L}-byte log; split the update`, this.file.name);
    const logEnd = this.log.offset + L;
    for (const r of [...pages.map((p) => ({ offset: p.offset, length: SECTOR })), ...zeros])
      if (r.offset < logEnd && r.offset + r.length > this.log.offset)
        throw invalidArgument(`log entry target ${hex(r.offset)}+${hex(r.length)} overlaps the log itself`, this.file.name);
    if (this.seq + 1 >= Number.MAX_SAFE_INTEGER) throw invalidArgument('log sequence number exhausted', this.file.name);
    const stamp = (ps: typeof pages, zs: typeof zeros): Uint8Array =>
      encodeLogEntry({ sequenceNumber: this.seq, tail: this.pos, logGuid: this.guid, flushedFileOffset, lastFileOffset, zeros: zs, pages: ps });
    const entry = stamp(pages, zeros); // validates every argument before anything is written
    if (this.prevLength + entry.length <= L) return this.append(entry);
    this.append(stamp([], []));
    this.append(stamp(pages, zeros)); // re-stamped: position and sequence number moved
  }

  /** Write one encoded entry at the current position (wrapping) and flush it. */
  private append(entry: Uint8Array): void {
    const L = this.log.length;
    const first = Math.min(entry.length, L - this.pos);
    this.file.write(entry.subarray(0, first), this.log.offset + this.pos);
    if (first < entry.length) this.file.write(entry.subarray(first), this.log.offset);
    this.file.flush();
    this.pos = (this.pos + entry.length) % L;
    this.prevLength = entry.length;
    this.seq++;
  }
}
