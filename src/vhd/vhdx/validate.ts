/**
 * Validation of an open VHDX (MS-VHDX §2.5): every BAT entry against the file, and what check()
 * reports about the log.
 */
import { hex } from '../../errors.js';
import { isAllZero, MiB } from '../common/bytes.js';
import { ascendingOrder } from '../common/order.js';
import type { BlockFile } from '../io/block-file.js';
import type { FormatFinding } from '../disk.js';
import { bitmapIndex, entryOffsetMb, entryReservedBits, entryState, type BatGeometry } from './bat.js';
import { logEnd, type VhdxHeader } from './header.js';
import type { LogStatus } from './open.js';
import { regionName, type RegionTableState } from './region-table.js';
import { HEADER_AREA_SIZE, PAYLOAD_FULLY_PRESENT, PAYLOAD_NOT_PRESENT, PAYLOAD_PARTIALLY_PRESENT, SB_NOT_PRESENT, SB_PRESENT } from './spec.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** BAT entries checked for all zeros at once. */
const ZERO_GROUP = 64;

/**
 * Every BAT entry checked against the file: valid state, reserved bits clear, payload and bitmap
 * blocks 1 MiB-aligned inside the file, clear of the header area, regions, log and each other (§2.5).
 */
export function validateBat(file: BlockFile, regions: RegionTableState, header: VhdxHeader, hasParent: boolean, geom: BatGeometry, bat: Uint8Array): FormatFinding[] {
  const out: FormatFinding[] = [];
  const g = geom;
  const fsize = file.size();
  const batOff = regions.bat.fileOffset;
  const fixed: Array<[number, number, string]> = [[0, HEADER_AREA_SIZE, 'the header area']];
  for (const r of regions.entries) fixed.push([r.fileOffset, r.fileOffset + r.length, regionName(r.guid)]);
  if (header.logLength) fixed.push([header.logOffset, logEnd(header), 'the log']);
  // Spans as numbers (start, end, who: -1-j for fixed span j, else the BAT entry): a message is
  // built only for a finding, not for each allocated block. Starts and ends are in MiB (every span
  // is 1 MiB-aligned: §2.2.2, §2.2.3, §2.5), small integers; a fixed span reaching past the end of
  // the file is cut there (BAT spans end inside it, so what overlaps them is unchanged).
  const starts: number[] = [];
  const ends: number[] = [];
  const who: number[] = [];
  const fileMb = Math.ceil(fsize / MiB);
  fixed.forEach(([a, b], j) => { starts.push(Math.min(a / MiB, fileMb)); ends.push(Math.min(Math.ceil(b / MiB), fileMb)); who.push(-1 - j); });
  const per = g.chunkRatio + 1;
  const what = (i: number): string => (i % per === g.chunkRatio ? `sector bitmap block ${i}` : `payload block ${i - Math.floor(i / per)}`);
  const err = (i: number, message: string, severity: 'error' | 'warning' = 'error'): void => {
    if (out.length < 1000) out.push({ severity, code: 'BAT_ENTRY', message, offset: batOff + i * 8 });
  };
  // An all-zero entry (NOT_PRESENT, offset 0, no reserved bit) needs no check; most entries of a
  // differencing disk are. Skipping them ZERO_GROUP entries at a time (one native compare), else 8
  // bytes at a time, keeps the open cheap before V8 optimizes this loop (every open of a short
  // process) and after a collection discards the optimized code.
  const words = bat.byteOffset % 4 === 0 && LITTLE_ENDIAN ? new Uint32Array(bat.buffer, bat.byteOffset, g.totalEntries * 2) : undefined;
  for (let i = 0; i < g.totalEntries; i++) {
    if (i % ZERO_GROUP === 0 && isAllZero(bat.subarray(i * 8, Math.min(g.totalEntries, i + ZERO_GROUP) * 8))) {
      i += ZERO_GROUP - 1;
      continue;
    }
    if (words && (words[2 * i]! | words[2 * i + 1]!) === 0) continue;
    const isSb = i % per === g.chunkRatio;
    const st = entryState(bat, i);
    if (entryReservedBits(bat, i) !== 0) err(i, `BAT entry ${i} has reserved bits set`, 'warning');
    if (isSb) {
      if (st === SB_NOT_PRESENT) continue;
      if (st !== SB_PRESENT) { err(i, `sector bitmap entry ${i} has reserved state ${st}`); continue; }
      if (!hasParent) { err(i, `sector bitmap entry ${i} is present in a file without a parent`, 'warning'); continue; }
    } else {
      const k = i - Math.floor(i / per);
      if (k >= g.payloadBlocks) { if (st !== PAYLOAD_NOT_PRESENT) err(i, `BAT entry ${i} past the last block is in use`, 'warning'); continue; }
      if (st === 4) { err(i, `payload block ${k} has reserved state 4`); continue; }
      if (st === PAYLOAD_PARTIALLY_PRESENT && hasParent) {
        const sb = bitmapIndex(g, Math.floor(k / g.chunkRatio));
        if (entryState(bat, sb) !== SB_PRESENT) err(i, `payload block ${k} is partially present but its sector bitmap block is not`);
      }
      if (st !== PAYLOAD_FULLY_PRESENT && st !== PAYLOAD_PARTIALLY_PRESENT) continue;
    }
    const len = isSb ? MiB : g.blockSize;
    const off = entryOffsetMb(bat, i) * MiB;
    if (!Number.isSafeInteger(off) || off + len > fsize) { err(i, `${what(i)} at ${hex(off)} lies past the end of the file`); continue; }
    starts.push(off / MiB);
    ends.push((off + len) / MiB);
    who.push(i);
  }
  // Overlaps: sort by start; any span starting before the previous end collides.
  const name = (w: number): string => (w < 0 ? fixed[-1 - w]![2] : what(w));
  const order = ascendingOrder(starts);
  for (let j = 1; j < order.length; j++) {
    const p = order[j - 1]!;
    const c = order[j]!;
    if (starts[c]! < ends[p]! && (who[c]! >= 0 || who[p]! >= 0))
      out.push({ severity: 'error', code: 'BAT_OVERLAP', message: `${name(who[c]!)} at ${hex(starts[c]! * MiB)} overlaps ${name(who[p]!)}`, offset: starts[c]! * MiB });
  }
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
