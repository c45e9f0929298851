/**
 * Opening a VHDX file (MS-VHDX §2.2; docs/formats.md, "VHDX log": when to replay): the file
 * identifier and both headers, the log replayed before any region, metadata or BAT is trusted,
 * then the region tables, the metadata items and the BAT, each bounds-checked against the file.
 */
import { hasAscii, MiB, u16le } from '../common/bytes.js';
import { corrupt } from '../../errors.js';
import { newGuid, ZERO_GUID } from '../common/guid.js';
import { readFully, type BlockFile } from '../io/block-file.js';
import { OverlayFile } from '../io/overlay-file.js';
import type { FormatFinding } from '../disk.js';
import { batGeometry } from './bat.js';
import { readHeaders, updateHeader, type HeaderState } from './header.js';
import { applyReplay, findActiveSequence, type LogReplay } from './log.js';
import { decodeDiskParameters, metadataItemSpan, metadataTableBytes, parseMetadataRegion, type DiskParameters, type MetadataItem } from './metadata.js';
import { readRegionTables, regionName, type RegionTableState } from './region-table.js';
import {
  HEADER1_OFFSET, HEADER2_OFFSET, HEADER_AREA_SIZE, MAX_METADATA_REGION, REGION_TABLE1_OFFSET, REGION_TABLE2_OFFSET, SIG_FILE,
} from './spec.js';

/** What happened to the log at open (for reports and tests). */
export type LogStatus = 'clean' | 'replayed-in-place' | 'replayed-in-memory' | 'empty-guid-set';

/** Everything read at open, before the BAT entries are checked (validate.ts). */
export interface VhdxStructures {
  /** The file to read from: the file itself, or an overlay holding a read-only open's replayed log. */
  file: BlockFile;
  headers: HeaderState;
  regions: RegionTableState;
  items: MetadataItem[];
  params: DiskParameters;
  bat: Uint8Array;
  logStatus: LogStatus;
  /** Problems that did not prevent the open (a damaged header or region table copy). */
  findings: FormatFinding[];
}

/**
 * Read and check the structures of the VHDX in `base`, replaying its log first (in place when
 * writable). `signed`: the caller has just found the file identifier (isVhdx), which is not read
 * again.
 */
export function readVhdx(base: BlockFile, signed = false): VhdxStructures {
  const name = base.name;
  const size = base.size();
  if (size < HEADER_AREA_SIZE) throw corrupt(name, 'FILE_TOO_SMALL', `file is ${size} bytes, smaller than the 1 MiB VHDX header area`);
  if (!signed && !isVhdx(base)) throw corrupt(name, 'SIGNATURE', 'not a VHDX file (no "vhdxfile" signature)', 0);
  const findings: FormatFinding[] = [];
  let headers = readHeaders(base);
  // Indexed loops here and below: no closure or iterator per open in code V8 has not optimized.
  for (let i = 0; i < 2; i++) {
    const p = headers.problems[i];
    if (p) findings.push({ severity: 'warning', code: 'HEADER_COPY', message: `header ${i + 1} is not valid: ${p}`, offset: i ? HEADER2_OFFSET : HEADER1_OFFSET });
  }

  // 1. Replay the log before trusting any region, metadata or BAT.
  let file = base;
  let logStatus: LogStatus = 'clean';
  const h = headers.current;
  if (h.logGuid !== ZERO_GUID) {
    if (h.logOffset + h.logLength > size) throw corrupt(name, 'LOG_REGION', 'log region extends past the end of the file', h.logOffset);
    const replay = findActiveSequence(base, { offset: h.logOffset, length: h.logLength }, h.logGuid);
    if (replay && size < replay.flushedFileOffset)
      throw corrupt(name, 'TRUNCATED', `file is ${size} bytes but its log says ${replay.flushedFileOffset} were flushed (truncated file)`);
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
  // A read-only open reads region table copy 2 only when copy 1 is not valid (check() reads it).
  const regions = readRegionTables(file, !base.readOnly);
  for (let i = 0; i < 2; i++) {
    const p = regions.problems[i];
    if (p) findings.push(regionCopyFinding(i, p));
  }
  const fsize = file.size();
  const logLo = h.logLength ? h.logOffset : 0;
  for (let i = 0; i < regions.entries.length; i++) {
    const r = regions.entries[i]!;
    if (r.fileOffset + r.length > fsize) throw corrupt(name, 'REGION_PAST_EOF', `${regionName(r.guid)} extends past the end of the file`, r.fileOffset);
    if (h.logLength && r.fileOffset < logLo + h.logLength && logLo < r.fileOffset + r.length)
      throw corrupt(name, 'REGION_OVERLAP', `${regionName(r.guid)} overlaps the log`, r.fileOffset);
  }
  if (regions.metadata.length > MAX_METADATA_REGION)
    throw corrupt(name, 'METADATA_REGION', `metadata region is ${regions.metadata.length} bytes (max ${MAX_METADATA_REGION})`, regions.metadata.fileOffset);
  const items = readMetadataItems(file, regions.metadata.fileOffset, regions.metadata.length);
  const params = decodeDiskParameters(name, items);
  const geom = batGeometry(params.virtualSize, params.blockSize, params.logicalSectorSize, params.hasParent);
  if (regions.bat.length < geom.totalEntries * 8)
    throw corrupt(name, 'BAT_REGION', `BAT region holds ${regions.bat.length / 8} entries but the disk needs ${geom.totalEntries}`, regions.bat.fileOffset);
  const bat = new Uint8Array(geom.totalEntries * 8);
  readFully(file, bat, regions.bat.fileOffset);
  return { file, headers, regions, items, params, bat, logStatus, findings };
}

/** Scratch for the metadata table's first page (copied out by the parse), shared by every open. */
let tableScratch: Uint8Array | undefined;

/**
 * The metadata items (§2.6): the table's header and entries (one 4 KiB read unless it lists more
 * than 127 items), then the span holding the items; the reserved rest of the 64 KiB table and of
 * the region is not read.
 */
function readMetadataItems(file: BlockFile, at: number, length: number): MetadataItem[] {
  const head = (tableScratch ??= new Uint8Array(4096));
  readFully(file, head, at);
  const need = metadataTableBytes(u16le(head, 10));
  let table = head;
  if (need > head.length) {
    table = new Uint8Array(need);
    table.set(head);
    readFully(file, table.subarray(head.length), at + head.length);
  }
  const span = metadataItemSpan(table, length);
  const itemBytes = new Uint8Array(span.end - span.start);
  readFully(file, itemBytes, at + span.start);
  return parseMetadataRegion(file.name, table, at, length, itemBytes, span.start);
}

/**
 * A log may extend a file a little (blocks allocated just before a crash) but never to sizes the
 * file's own structures cannot justify: refuse entries that reach far past the end (§2.3.3).
 */
const MAX_LOG_GROWTH = 1024 * MiB;
function checkReplayBounds(name: string, replay: LogReplay, size: number): void {
  const limit = size + MAX_LOG_GROWTH;
  if (replay.lastFileOffset > limit)
    throw corrupt(name, 'LOG_ENTRY', `log entry sets the file size to ${replay.lastFileOffset}, far past its ${size} bytes`);
  for (const w of replay.writes) {
    const end = w.offset + (w.kind === 'data' ? w.data.length : w.length);
    if (end > Math.max(size, replay.lastFileOffset))
      throw corrupt(name, 'LOG_ENTRY', `log entry writes up to ${end}, past the end of the file (${Math.max(size, replay.lastFileOffset)})`);
  }
}

/** The warning about a region table copy that is not valid (the other one is used). */
export function regionCopyFinding(i: number, problem: string): FormatFinding {
  return { severity: 'warning', code: 'REGION_TABLE_COPY', message: `region table ${i + 1} is not valid: ${problem}`, offset: i ? REGION_TABLE2_OFFSET : REGION_TABLE1_OFFSET };
}

/** Scratch for the file identifier's signature (§2.2.1), shared by every open. */
let identScratch: Uint8Array | undefined;

/** Whether the file begins with the "vhdxfile" signature (§2.2.1). */
export function isVhdx(file: BlockFile): boolean {
  const b = (identScratch ??= new Uint8Array(8));
  return readFully(file, b, 0) === 8 && hasAscii(b, 0, SIG_FILE);
}
