/**
 * VHD 1.0 dynamic disk header and its parent locator entries (VHD spec "Dynamic Disk Header
 * Format"; docs/formats.md, "VHD dynamic header"). Big-endian, 1024 bytes, checksum as the footer's.
 * Pure: no I/O. Imports only common/ and footer.ts.
 */
import { ascii, encodeUtf16be, setAscii, setU32be, setU64be, u32be, u64be, utf16beZ } from '../common/bytes.js';
import { readRfcGuid, writeRfcGuid, type Guid } from '../common/guid.js';
import { vhdChecksum } from './footer.js';

export const HEADER_SIZE = 1024;
export const HEADER_COOKIE = 'cxsparse';
export const HEADER_VERSION = 0x00010000;
export const LOCATOR_COUNT = 8;
export const LOCATOR_ENTRY_SIZE = 24;
/** A BAT entry of all ones: the block is not allocated (spec "Block Allocation Table"). */
export const BAT_UNUSED = 0xffffffff;

/** Platform codes (spec "Parent Locator Entry"): W2ru/W2ku are UTF-16LE, Wi2r/Wi2k deprecated. */
export const PLATFORM_W2RU = 'W2ru';
export const PLATFORM_W2KU = 'W2ku';
export const PLATFORM_WI2R = 'Wi2r';
export const PLATFORM_WI2K = 'Wi2k';
export const PLATFORM_MACX = 'MacX';
export const PLATFORM_MAC = 'Mac ';

export const HEADER_FIELDS = {
  cookie: [0, 8],
  dataOffset: [8, 8],
  tableOffset: [16, 8],
  headerVersion: [24, 4],
  maxTableEntries: [28, 4],
  blockSize: [32, 4],
  checksum: [36, 4],
  parentUniqueId: [40, 16],
  parentTimeStamp: [56, 4],
  reserved1: [60, 4],
  parentUnicodeName: [64, 512],
  parentLocatorEntries: [576, 8 * 24],
  reserved2: [768, 256],
} as const;

export const LOCATOR_FIELDS = {
  platformCode: [0, 4],
  platformDataSpace: [4, 4],
  platformDataLength: [8, 4],
  reserved: [12, 4],
  platformDataOffset: [16, 8],
} as const;

export interface ParentLocatorEntry {
  /** Four ASCII characters, or '' for an empty entry (code 0). */
  platformCode: string;
  /** Spec: sectors; Windows writes bytes (4096, 65536). Never used for reading. */
  platformDataSpace: number;
  platformDataLength: number;
  platformDataOffset: number;
}

export interface DynamicHeader {
  cookie: string;
  /** Unused, 0xFFFFFFFFFFFFFFFF (`Infinity`). */
  dataOffset: number;
  tableOffset: number;
  headerVersion: number;
  maxTableEntries: number;
  blockSize: number;
  checksum: number;
  parentUniqueId: Guid;
  parentTimeStamp: number;
  parentUnicodeName: string;
  parentLocatorEntries: ParentLocatorEntry[];
}

const H = HEADER_FIELDS;
const L = LOCATOR_FIELDS;

export function headerChecksum(b: Uint8Array): number {
  return vhdChecksum(b.subarray(0, HEADER_SIZE), H.checksum[0]);
}

export function decodeDynamicHeader(b: Uint8Array): DynamicHeader {
  const entries: ParentLocatorEntry[] = [];
  for (let i = 0; i < LOCATOR_COUNT; i++) {
    const o = H.parentLocatorEntries[0] + i * LOCATOR_ENTRY_SIZE;
    const code = u32be(b, o + L.platformCode[0]);
    entries.push({
      platformCode: code === 0 ? '' : ascii(b, o + L.platformCode[0], 4),
      platformDataSpace: u32be(b, o + L.platformDataSpace[0]),
      platformDataLength: u32be(b, o + L.platformDataLength[0]),
      platformDataOffset: u64be(b, o + L.platformDataOffset[0]),
    });
  }
  return {
    cookie: ascii(b, H.cookie[0], 8),
    dataOffset: u64be(b, H.dataOffset[0]),
    tableOffset: u64be(b, H.tableOffset[0]),
    headerVersion: u32be(b, H.headerVersion[0]),
    maxTableEntries: u32be(b, H.maxTableEntries[0]),
    blockSize: u32be(b, H.blockSize[0]),
    checksum: u32be(b, H.checksum[0]),
    parentUniqueId: readRfcGuid(b, H.parentUniqueId[0]),
    parentTimeStamp: u32be(b, H.parentTimeStamp[0]),
    parentUnicodeName: utf16beZ(b, H.parentUnicodeName[0], H.parentUnicodeName[1]),
    parentLocatorEntries: entries,
  };
}

/** Encode a header and fill in its checksum. A parent name longer than 256 UTF-16 units is cut. */
export function encodeDynamicHeader(h: DynamicHeader): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  setAscii(b, H.cookie[0], h.cookie);
  if (h.dataOffset === Infinity) b.fill(0xff, H.dataOffset[0], H.dataOffset[0] + 8);
  else setU64be(b, H.dataOffset[0], h.dataOffset);
  setU64be(b, H.tableOffset[0], h.tableOffset);
  setU32be(b, H.headerVersion[0], h.headerVersion);
  setU32be(b, H.maxTableEntries[0], h.maxTableEntries);
  setU32be(b, H.blockSize[0], h.blockSize);
  writeRfcGuid(h.parentUniqueId, b, H.parentUniqueId[0]);
  setU32be(b, H.parentTimeStamp[0], h.parentTimeStamp);
  b.set(encodeUtf16be(h.parentUnicodeName).subarray(0, H.parentUnicodeName[1]), H.parentUnicodeName[0]);
  h.parentLocatorEntries.slice(0, LOCATOR_COUNT).forEach((e, i) => {
    const o = H.parentLocatorEntries[0] + i * LOCATOR_ENTRY_SIZE;
    if (e.platformCode === '') return;
    setAscii(b, o + L.platformCode[0], e.platformCode);
    setU32be(b, o + L.platformDataSpace[0], e.platformDataSpace);
    setU32be(b, o + L.platformDataLength[0], e.platformDataLength);
    setU64be(b, o + L.platformDataOffset[0], e.platformDataOffset);
  });
  setU32be(b, H.checksum[0], headerChecksum(b));
  return b;
}

/** Bytes of the sector bitmap in front of each block: one bit per sector, padded to 512. */
export function bitmapBytes(blockSize: number): number {
  return Math.ceil(blockSize / 512 / 8 / 512) * 512;
}
