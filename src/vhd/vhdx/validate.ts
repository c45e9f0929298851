/**
 * Validation of an open VHDX (MS-VHDX §2.5): every BAT entry against the file, and what check()
 * reports about the log.
 */
import { hex } from '../../errors.js';
import { isAllZero, MiB } from '../common/bytes.js';
import { ascendingOrder } from '../common/order.js';
import type { BlockFile } from '../io/block-file.js';
import type { FormatFinding } from '../disk.js';
import { bitmapIndex, entryBlock, entryOffsetMb, entryReservedBits, entryState, isBitmapEntry, type BatGeometry } from './bat.js';
import { logEnd, type VhdxHeader } from './header.js';
import type { LogStatus } from './open.js';
import { regionName, type RegionTableState } from './region-table.js';
import { HEADER_AREA_SIZE, PAYLOAD_FULLY_PRESENT, PAYLOAD_NOT_PRESENT, PAYLOAD_PARTIALLY_PRESENT, SB_NOT_PRESENT, SB_PRESENT } from './spec.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** BAT entries checked for all zeros at once: a 4 KiB page of them, else a group of 64. */
const ZERO_PAGE = 512;
const ZERO_GROUP = 64;

/*
 * Spans as numbers (start, end, who: -1-j for fixed span j, else the BAT entry): a message is built
 * only for a finding, not for each allocated block. Starts and ends are in MiB (every span is
 * 1 MiB-aligned: §2.2.2, §2.2.3, §2.5), small integers. The arrays are shared by every validation
 * and only grow (an open does not grow three arrays from empty: its allocations are what a short
 * process pays for, in collections and first-touched pages); `spanCount` of them are in use.
 */
const spanStarts: number[] = [];
const MAX_KEPT_SPANS = 64 * 1024;
const spanEnds: number[] = [];
const spanWho: number[] = [];
let spanCount = 0;

function addSpan(start: number, end: number, who: number): void {
  spanStarts[spanCount] = start;
  spanEnds[spanCount] = end;
  spanWho[spanCount] = who;
  spanCount++;
}

/** What BAT entry i maps, for messages. */
function entryName(g: BatGeometry, i: number): string {
  return isBitmapEntry(g, i) ? `sector bitmap block ${i}` : `payload block ${entryBlock(g, i)}`;
}

function entryFinding(out: FormatFinding[], batOff: number, i: number, message: string, severity: 'error' | 'warning' = 'error'): void {
  if (out.length < 1000) out.push({ severity, code: 'BAT_ENTRY', message, offset: batOff + i * 8 });
}

/**
 * Every BAT entry checked against the file: valid state, reserved bits clear, payload and bitmap
 * blocks 1 MiB-aligned inside the file, clear of the header area, regions, log and each other (§2.5).
 */
export function validateBat(file: BlockFile, regions: RegionTableState, header: VhdxHeader, hasParent: boolean, geom: BatGeometry, bat: Uint8Array): FormatFinding[] {
  const out: FormatFinding[] = [];
  const g = geom;
  const n = g.totalEntries;
  const fsize = file.size();
  const batOff = regions.bat.fileOffset;
  const fixed: Array<[number, number, string]> = [[0, HEADER_AREA_SIZE, 'the header area']];
  for (let j = 0; j < regions.entries.length; j++) {
    const r = regions.entries[j]!;
    fixed.push([r.fileOffset, r.fileOffset + r.length, regionName(r.guid)]);
  }
  if (header.logLength) fixed.push([header.logOffset, logEnd(header), 'the log']);
  // A fixed span reaching past the end of the file is cut there (BAT spans end inside it, so what
  // overlaps them is unchanged).
  spanCount = 0;
  const fileMb = Math.ceil(fsize / MiB);
  for (let j = 0; j < fixed.length; j++) addSpan(Math.min(fixed[j]![0] / MiB, fileMb), Math.min(Math.ceil(fixed[j]![1] / MiB), fileMb), -1 - j);
  // An all-zero entry (NOT_PRESENT, offset 0, no reserved bit) needs no check; most entries of a
  // differencing disk are. Skipping them a page or ZERO_GROUP entries at a time (one native
  // compare), else 8 bytes at a time, keeps the open cheap before V8 optimizes this loop (every
  // open of a short process) and after a collection discards the optimized code.
  const words = bat.byteOffset % 4 === 0 && LITTLE_ENDIAN ? new Uint32Array(bat.buffer, bat.byteOffset, n * 2) : undefined;
  for (let i = 0; i < n; i++) {
    if (i % ZERO_PAGE === 0 && isAllZero(bat, i * 8, Math.min(n, i + ZERO_PAGE) * 8)) {
      i += ZERO_PAGE - 1;
      continue;
    }
    if (i % ZERO_GROUP === 0 && isAllZero(bat, i * 8, Math.min(n, i + ZERO_GROUP) * 8)) {
      i += ZERO_GROUP - 1;
      continue;
    }
    if (words && (words[2 * i]! | words[2 * i + 1]!) === 0) continue;
    const isSb = isBitmapEntry(g, i);
    const st = entryState(bat, i);
    if (entryReservedBits(bat, i) !== 0) entryFinding(out, batOff, i, `BAT entry ${i} has reserved bits set`, 'warning');
    if (isSb) {
      if (st === SB_NOT_PRESENT) continue;
      if (st !== SB_PRESENT) { entryFinding(out, batOff, i, `sector bitmap entry ${i} has reserved state ${st}`); continue; }
      if (!hasParent) { entryFinding(out, batOff, i, `sector bitmap entry ${i} is present in a file without a parent`, 'warning'); continue; }
    } else {
      const k = entryBlock(g, i);
      if (k >= g.payloadBlocks) { if (st !== PAYLOAD_NOT_PRESENT) entryFinding(out, batOff, i, `BAT entry ${i} past the last block is in use`, 'warning'); continue; }
      if (st === 4) { entryFinding(out, batOff, i, `payload block ${k} has reserved state 4`); continue; }
      if (st === PAYLOAD_PARTIALLY_PRESENT && hasParent) {
        const sb = bitmapIndex(g, (k - (k % g.chunkRatio)) / g.chunkRatio);
        if (entryState(bat, sb) !== SB_PRESENT) entryFinding(out, batOff, i, `payload block ${k} is partially present but its sector bitmap block is not`);
      }
      if (st !== PAYLOAD_FULLY_PRESENT && st !== PAYLOAD_PARTIALLY_PRESENT) continue;
    }
    const len = isSb ? MiB : g.blockSize;
    const off = entryOffsetMb(bat, i) * MiB;
    if (!Number.isSafeInteger(off) || off + len > fsize) { entryFinding(out, batOff, i, `${entryName(g, i)} at ${hex(off)} lies past the end of the file`); continue; }
    addSpan(off / MiB, (off + len) / MiB, i);
  }
  // Overlaps: sort by start; any span starting before the previous end collides.
  const starts = spanStarts;
  const ends = spanEnds;
  const who = spanWho;
  const name = (w: number): string => (w < 0 ? fixed[-1 - w]![2] : entryName(g, w));
  const order = ascendingOrder(starts, spanCount);
  for (let j = 1; j < order.length; j++) {
    const p = order[j - 1]!;
    const c = order[j]!;
    if (starts[c]! < ends[p]! && (who[c]! >= 0 || who[p]! >= 0))
      out.push({ severity: 'error', code: 'BAT_OVERLAP', message: `${name(who[c]!)} at ${hex(starts[c]! * MiB)} overlaps ${name(who[p]!)}`, offset: starts[c]! * MiB });
  }
  // A large disk's spans are not kept for the rest of the process.
  if (spanStarts.length > MAX_KEPT_SPANS) spanStarts.length = spanEnds.length = spanWho.length = 0;
  return out;
}

/** Warnings about the log left by the open (docs/formats.md, "VHDX log"). */
export function logFindings(logStatus: LogStatus): FormatFinding[] {
  const out: FormatFinding[] = [];
  if (logStatus === 'replayed-in-memory')
    out.push({ severity: 'warning', code: 'LOG_DIRTY', message: 'the log holds changes not yet written to the file (replayed in memory; a writable open applies them)' });
  if (logStatus === 'empty-guid-set')
    out.push({ severity: 'warning', code: 'LOG_EMPTY', message: 'the header names a log but the log holds no valid entry' });
  return out;
}
