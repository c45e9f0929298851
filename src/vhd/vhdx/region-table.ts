/** Region tables (MS-VHDX §2.2.3): two identical 64 KiB copies listing the BAT and metadata regions. */
import { checkStructure, sealStructure } from '../common/crc32c.js';
import { hasAscii, setAscii, setU32le, setU64le, u32le, u64le } from '../common/bytes.js';
import { readMsGuid, writeMsGuid, type Guid } from '../common/guid.js';
import { readFully, type BlockFile } from '../io/block-file.js';
import { corrupt, unsupported } from '../../errors.js';
import {
  ALIGNMENT, HEADER_AREA_SIZE, MAX_REGION_ENTRIES, REGION_BAT, REGION_METADATA, REGION_TABLE1_OFFSET,
  REGION_TABLE2_OFFSET, REGION_TABLE_SIZE, SIG_REGION,
} from './spec.js';

export interface RegionEntry {
  guid: Guid;
  fileOffset: number;
  length: number;
  required: boolean;
}

/** A region as messages name it: "the BAT region", "the metadata region", else by its GUID (MS-VHDX §2.2.3.1). */
export function regionName(guid: string): string {
  return guid === REGION_BAT ? 'the BAT region' : guid === REGION_METADATA ? 'the metadata region' : `the region ${guid}`;
}

export function serializeRegionTable(entries: RegionEntry[]): Uint8Array {
  const b = new Uint8Array(REGION_TABLE_SIZE);
  setAscii(b, 0, SIG_REGION);
  setU32le(b, 8, entries.length);
  entries.forEach((e, i) => {
    const o = 16 + 32 * i;
    writeMsGuid(e.guid, b, o);
    setU64le(b, o + 16, e.fileOffset);
    setU32le(b, o + 24, e.length);
    setU32le(b, o + 28, e.required ? 1 : 0);
  });
  sealStructure(b, 4);
  return b;
}

/** Parse one copy; a string is the reason it is not valid. Structural rules are checked here. */
export function parseRegionTable(b: Uint8Array): RegionEntry[] | string {
  if (!hasAscii(b, 0, SIG_REGION)) return 'bad signature';
  if (!checkStructure(b, 4)) return 'bad checksum';
  const count = u32le(b, 8);
  if (count > MAX_REGION_ENTRIES) return `entry count ${count} exceeds ${MAX_REGION_ENTRIES}`;
  const out: RegionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = 16 + 32 * i;
    const e: RegionEntry = {
      guid: readMsGuid(b, o),
      fileOffset: u64le(b, o + 16),
      length: u32le(b, o + 24),
      required: (u32le(b, o + 28) & 1) === 1,
    };
    if (!Number.isFinite(e.fileOffset) || e.fileOffset % ALIGNMENT !== 0 || e.fileOffset < HEADER_AREA_SIZE)
      return `region ${i} offset not 1 MiB aligned past the header area`;
    if (e.length === 0 || e.length % ALIGNMENT !== 0) return `region ${i} length ${e.length} not a non-zero multiple of 1 MiB`;
    // Indexed loops: no iterator or closure per entry in code V8 has not optimized.
    for (let j = 0; j < out.length; j++) if (out[j]!.guid === e.guid) return `${regionName(e.guid)} listed twice`;
    for (let j = 0; j < out.length; j++) {
      const p = out[j]!;
      if (e.fileOffset < p.fileOffset + p.length && p.fileOffset < e.fileOffset + e.length)
        return `${regionName(p.guid)} and ${regionName(e.guid)} overlap`;
    }
    out.push(e);
  }
  return out;
}

export interface RegionTableState {
  entries: RegionEntry[];
  bat: RegionEntry;
  metadata: RegionEntry;
  problems: [string | undefined, string | undefined];
  /** Copy 2 was not read (copy 1 is valid and the open is read-only): secondCopyProblem() checks it. */
  secondUnchecked?: boolean;
}

/** One buffer for both copies and every open: the entries are copied out, and a new 64 KiB
 * ArrayBuffer per read costs more than the read (external memory drives V8's collections). */
let regionScratch: Uint8Array | undefined;

function readCopy(file: BlockFile, off: number): RegionEntry[] | string {
  const buf = (regionScratch ??= new Uint8Array(REGION_TABLE_SIZE));
  return readFully(file, buf, off) < REGION_TABLE_SIZE ? 'truncated' : parseRegionTable(buf);
}

function sameEntries(a: RegionEntry[], b: RegionEntry[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Read the copies and use the first valid one (§2.2.3), refuse unknown required regions. With
 * `both` false (a read-only open), copy 2 is read only when copy 1 is not valid: nothing uses it
 * otherwise, and check() still reports it (secondCopyProblem).
 */
export function readRegionTables(file: BlockFile, both = true): RegionTableState {
  const a = readCopy(file, REGION_TABLE1_OFFSET);
  const skip = !both && typeof a !== 'string';
  const b = skip ? undefined : readCopy(file, REGION_TABLE2_OFFSET);
  const problems: [string | undefined, string | undefined] = [
    typeof a === 'string' ? a : undefined,
    typeof b === 'string' ? b : undefined,
  ];
  const entries = typeof a !== 'string' ? a : typeof b !== 'string' ? b : undefined;
  if (!entries) throw corrupt(file.name, 'REGION_TABLE', `no valid region table (copy 1: ${a}; copy 2: ${b})`, REGION_TABLE1_OFFSET);
  if (typeof a !== 'string' && b !== undefined && typeof b !== 'string' && !sameEntries(a, b))
    problems[1] = 'differs from copy 1';
  let bat: RegionEntry | undefined;
  let metadata: RegionEntry | undefined;
  for (let j = 0; j < entries.length; j++) {
    const e = entries[j]!;
    if (e.required && e.guid !== REGION_BAT && e.guid !== REGION_METADATA)
      throw unsupported(file.name, `unknown required region ${e.guid}`);
    if (e.guid === REGION_BAT) bat ??= e;
    if (e.guid === REGION_METADATA) metadata ??= e;
  }
  if (!bat) throw corrupt(file.name, 'REGION_TABLE', 'region table has no BAT region', REGION_TABLE1_OFFSET);
  if (!metadata) throw corrupt(file.name, 'REGION_TABLE', 'region table has no metadata region', REGION_TABLE1_OFFSET);
  return { entries, bat, metadata, problems, ...(skip ? { secondUnchecked: true } : {}) };
}

/** Why region table copy 2 is not valid, or undefined; read now if the open skipped it. */
export function secondCopyProblem(file: BlockFile, state: RegionTableState): string | undefined {
  if (!state.secondUnchecked) return state.problems[1];
  const b = readCopy(file, REGION_TABLE2_OFFSET);
  if (typeof b === 'string') return b;
  return sameEntries(state.entries, b) ? undefined : 'differs from copy 1';
}
