/**
 * Validation of an open VHDX (MS-VHDX §2.5): every BAT entry against the file, and what check()
 * reports about the log.
 */
import { hex } from '../../errors.js';
import { MiB } from '../common/bytes.js';
import type { BlockFile } from '../io/block-file.js';
import type { FormatFinding } from '../disk.js';
import { bitmapIndex, entryOffsetMb, entryReservedBits, entryState, type BatGeometry } from './bat.js';
import { logEnd, type VhdxHeader } from './header.js';
import type { LogStatus } from './open.js';
import { regionName, type RegionTableState } from './region-table.js';
import { HEADER_AREA_SIZE, PAYLOAD_FULLY_PRESENT, PAYLOAD_NOT_PRESENT, PAYLOAD_PARTIALLY_PRESENT, SB_NOT_PRESENT, SB_PRESENT } from './spec.js';

/**
 * Every BAT entry checked against the file: valid state, reserved bits clear, payload and bitmap
 * blocks 1 MiB-aligned inside the file, clear of the header area, regions, log and each other (§2.5).
 */
export function validateBat(file: BlockFile, regions: RegionTableState, header: VhdxHeader, hasParent: boolean, geom: BatGeometry, bat: Uint8Array): FormatFinding[] {
  const out: FormatFinding[] = [];
  const g = geom;
  const fsize = file.size();
  const batOff = regions.bat.fileOffset;
  const spans: Array<[number, number, string]> = [[0, HEADER_AREA_SIZE, 'the header area']];
  for (const r of regions.entries) spans.push([r.fileOffset, r.fileOffset + r.length, regionName(r.guid)]);
  if (header.logLength) spans.push([header.logOffset, logEnd(header), 'the log']);
  const fixed = spans.length;
  const err = (i: number, message: string, severity: 'error' | 'warning' = 'error'): void => {
    if (out.length < 1000) out.push({ severity, code: 'BAT_ENTRY', message, offset: batOff + i * 8 });
  };
  for (let i = 0; i < g.totalEntries; i++) {
    const isSb = i % (g.chunkRatio + 1) === g.chunkRatio;
    const st = entryState(bat, i);
    if (entryReservedBits(bat, i) !== 0) err(i, `BAT entry ${i} has reserved bits set`, 'warning');
    if (isSb) {
      if (st === SB_NOT_PRESENT) continue;
      if (st !== SB_PRESENT) { err(i, `sector bitmap entry ${i} has reserved state ${st}`); continue; }
      if (!hasParent) { err(i, `sector bitmap entry ${i} is present in a file without a parent`, 'warning'); continue; }
    } else {
      const k = i - Math.floor(i / (g.chunkRatio + 1));
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

/** Warnings about the log left by the open (docs/formats.md, "VHDX log"). */
export function logFindings(logStatus: LogStatus): FormatFinding[] {
  const out: FormatFinding[] = [];
  if (logStatus === 'replayed-in-memory')
    out.push({ severity: 'warning', code: 'LOG_DIRTY', message: 'the log holds changes not yet written to the file (replayed in memory; a writable open applies them)' });
  if (logStatus === 'empty-guid-set')
    out.push({ severity: 'warning', code: 'LOG_EMPTY', message: 'the header names a log but the log holds no valid entry' });
  return out;
}
