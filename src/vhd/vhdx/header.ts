/** VHDX headers (MS-VHDX §2.2.2): two 4 KiB copies, the valid one with the higher sequence wins. */
import { checkStructure, sealStructure } from '../common/crc32c.js';
import { hasAscii, setAscii, setU16le, setU32le, setU64le, u16le, u32le, u64le } from '../common/bytes.js';
import { readMsGuid, writeMsGuid, type Guid, ZERO_GUID } from '../common/guid.js';
import { readFully, type BlockFile } from '../io/block-file.js';
import { corrupt } from '../../errors.js';
import { HEADER1_OFFSET, HEADER2_OFFSET, HEADER_SIZE, SIG_HEADER, ALIGNMENT, HEADER_AREA_SIZE } from './spec.js';

export interface VhdxHeader {
  sequenceNumber: number;
  fileWriteGuid: Guid;
  dataWriteGuid: Guid;
  logGuid: Guid;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
}

/** End of the log region the header names (0 when it names none). */
export function logEnd(h: VhdxHeader): number {
  return h.logLength ? h.logOffset + h.logLength : 0;
}

export function serializeHeader(h: VhdxHeader): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  setAscii(b, 0, SIG_HEADER);
  setU64le(b, 8, h.sequenceNumber);
  writeMsGuid(h.fileWriteGuid, b, 16);
  writeMsGuid(h.dataWriteGuid, b, 32);
  writeMsGuid(h.logGuid, b, 48);
  setU16le(b, 64, h.logVersion);
  setU16le(b, 66, h.version);
  setU32le(b, 68, h.logLength);
  setU64le(b, 72, h.logOffset);
  sealStructure(b, 4);
  return b;
}

/** Parse one header copy; returns a reason string when it is not valid. */
export function parseHeader(b: Uint8Array): VhdxHeader | string {
  if (!hasAscii(b, 0, SIG_HEADER)) return 'bad signature';
  if (!checkStructure(b, 4)) return 'bad checksum';
  const h: VhdxHeader = {
    sequenceNumber: u64le(b, 8),
    fileWriteGuid: readMsGuid(b, 16),
    dataWriteGuid: readMsGuid(b, 32),
    logGuid: readMsGuid(b, 48),
    logVersion: u16le(b, 64),
    version: u16le(b, 66),
    logLength: u32le(b, 68),
    logOffset: u64le(b, 72),
  };
  if (!Number.isFinite(h.sequenceNumber)) return 'sequence number too large';
  if (h.version !== 1) return `unsupported version ${h.version}`;
  if (h.logGuid !== ZERO_GUID && h.logVersion !== 0) return `unsupported log version ${h.logVersion}`;
  if (h.logLength % ALIGNMENT !== 0) return 'log length not a multiple of 1 MiB';
  if (h.logLength === 0 && h.logGuid !== ZERO_GUID) return 'active log of zero length';
  if (h.logLength > 0 && (!Number.isFinite(h.logOffset) || h.logOffset % ALIGNMENT !== 0 || h.logOffset < HEADER_AREA_SIZE))
    return 'log offset not 1 MiB aligned past the header area';
  return h;
}

export interface HeaderState {
  current: VhdxHeader;
  /** 0 for the copy at 64 KiB, 1 for the copy at 128 KiB. */
  currentSlot: 0 | 1;
  /** Why each slot is not valid (undefined when valid). */
  problems: [string | undefined, string | undefined];
}

let headerScratch: Uint8Array | undefined;

/** Read both copies and choose the current one (§2.2.2.1). */
export function readHeaders(file: BlockFile): HeaderState {
  // One buffer for both copies and every open: parseHeader copies the fields out.
  const buf = (headerScratch ??= new Uint8Array(HEADER_SIZE));
  const a = readFully(file, buf, HEADER1_OFFSET) < HEADER_SIZE ? 'truncated' : parseHeader(buf);
  const b = readFully(file, buf, HEADER2_OFFSET) < HEADER_SIZE ? 'truncated' : parseHeader(buf);
  const problems: [string | undefined, string | undefined] = [
    typeof a === 'string' ? a : undefined,
    typeof b === 'string' ? b : undefined,
  ];
  if (typeof a === 'string' && typeof b === 'string')
    throw corrupt(file.name, 'HEADER', `no valid VHDX header (header 1: ${a}; header 2: ${b})`, HEADER1_OFFSET);
  if (typeof b === 'string') return { current: a as VhdxHeader, currentSlot: 0, problems };
  if (typeof a === 'string') return { current: b, currentSlot: 1, problems };
  // Both valid: the greater sequence number is current (§2.2.2.1). Equal numbers are fine only for
  // identical copies (Disk2VHD writes them); otherwise no header is current.
  if (a.sequenceNumber === b.sequenceNumber && JSON.stringify(a) !== JSON.stringify(b))
    throw corrupt(file.name, 'HEADER', `both headers carry sequence number ${a.sequenceNumber} but differ, so neither is current`, HEADER1_OFFSET);
  return b.sequenceNumber > a.sequenceNumber ? { current: b, currentSlot: 1, problems } : { current: a, currentSlot: 0, problems };
}

/**
 * Write a new current header (§2.2.2.1): sequence+1 into the non-current slot, flush; then the
 * same into the other slot so both copies agree. Returns the new state.
 */
export function updateHeader(file: BlockFile, state: HeaderState, change: Partial<VhdxHeader>): HeaderState {
  let cur = state;
  for (let i = 0; i < 2; i++) {
    const next: VhdxHeader = { ...cur.current, ...change, sequenceNumber: cur.current.sequenceNumber + 1 };
    const slot: 0 | 1 = cur.currentSlot === 0 ? 1 : 0;
    file.write(serializeHeader(next), slot === 0 ? HEADER1_OFFSET : HEADER2_OFFSET);
    file.flush();
    cur = { current: next, currentSlot: slot, problems: [undefined, undefined] };
  }
  return cur;
}
