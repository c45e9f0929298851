/**
 * VHD 1.0 hard disk footer (VHD spec "Hard Disk Footer Format"; docs/formats.md, "VHD footer") and the
 * helpers every VHD structure shares: the one's-complement checksum, the CHS geometry of the
 * spec's appendix, and VHD timestamps. Big-endian. Pure: no I/O. Imports only common/.
 */
import { ascii, setAscii, setU32be, setU64be, u32be, u64be } from '../common/bytes.js';
import { readRfcGuid, writeRfcGuid, type Guid } from '../common/guid.js';

export const FOOTER_SIZE = 512;
/** Virtual PC before 2004 wrote a 511-byte footer (the last reserved byte missing). */
export const OLD_FOOTER_SIZE = 511;
export const FOOTER_COOKIE = 'conectix';

export const DISK_TYPE_FIXED = 2;
export const DISK_TYPE_DYNAMIC = 3;
export const DISK_TYPE_DIFFERENCING = 4;

/** Features bit 1 (0x2) is "reserved, always set" (spec "Features"). */
export const FEATURES_RESERVED = 0x2;
export const FILE_FORMAT_VERSION = 0x00010000;

/** Field table, offsets and widths as in the spec's footer table. */
export const FOOTER_FIELDS = {
  cookie: [0, 8],
  features: [8, 4],
  fileFormatVersion: [12, 4],
  dataOffset: [16, 8],
  timeStamp: [24, 4],
  creatorApplication: [28, 4],
  creatorVersion: [32, 4],
  creatorHostOs: [36, 4],
  originalSize: [40, 8],
  currentSize: [48, 8],
  diskGeometry: [56, 4],
  diskType: [60, 4],
  checksum: [64, 4],
  uniqueId: [68, 16],
  savedState: [84, 1],
  reserved: [85, 427],
} as const;

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

export interface VhdFooter {
  cookie: string;
  features: number;
  fileFormatVersion: number;
  /** Offset of the dynamic header; `Infinity` stands for 0xFFFFFFFFFFFFFFFF (fixed disks). */
  dataOffset: number;
  /** Seconds since 2000-01-01 00:00:00 UTC. */
  timeStamp: number;
  creatorApplication: string;
  creatorVersion: number;
  creatorHostOs: string;
  originalSize: number;
  /** The virtual size (Hyper-V reads this, not the geometry). */
  currentSize: number;
  diskGeometry: DiskGeometry;
  diskType: number;
  checksum: number;
  uniqueId: Guid;
  savedState: number;
}

const F = FOOTER_FIELDS;

/**
 * One's complement of the byte sum of `b`, the checksum field (4 bytes at `checksumOffset`)
 * counted as zero (spec "Checksum"; same rule for the dynamic header).
 */
export function vhdChecksum(b: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) {
    if (i >= checksumOffset && i < checksumOffset + 4) continue;
    sum += b[i]!;
  }
  return ~sum >>> 0;
}

/** Decode a footer from 512 bytes (a 511-byte old footer padded with one zero byte). */
export function decodeFooter(b: Uint8Array): VhdFooter {
  const geo = u32be(b, F.diskGeometry[0]);
  return {
    cookie: ascii(b, F.cookie[0], 8),
    features: u32be(b, F.features[0]),
    fileFormatVersion: u32be(b, F.fileFormatVersion[0]),
    dataOffset: u64be(b, F.dataOffset[0]),
    timeStamp: u32be(b, F.timeStamp[0]),
    creatorApplication: ascii(b, F.creatorApplication[0], 4),
    creatorVersion: u32be(b, F.creatorVersion[0]),
    creatorHostOs: ascii(b, F.creatorHostOs[0], 4),
    originalSize: u64be(b, F.originalSize[0]),
    currentSize: u64be(b, F.currentSize[0]),
    diskGeometry: { cylinders: geo >>> 16, heads: (geo >>> 8) & 0xff, sectorsPerTrack: geo & 0xff },
    diskType: u32be(b, F.diskType[0]),
    checksum: u32be(b, F.checksum[0]),
    uniqueId: readRfcGuid(b, F.uniqueId[0]),
    savedState: b[F.savedState[0]]!,
  };
}

/** True when `b` (512 bytes) carries the cookie and a checksum that matches. */
export function footerValid(b: Uint8Array): boolean {
  return ascii(b, 0, 8) === FOOTER_COOKIE && u32be(b, F.checksum[0]) === vhdChecksum(b, F.checksum[0]);
}

/** Encode a footer (reserved bytes zero) and fill in its checksum. */
export function encodeFooter(f: VhdFooter): Uint8Array {
  const b = new Uint8Array(FOOTER_SIZE);
  setAscii(b, F.cookie[0], f.cookie);
  setU32be(b, F.features[0], f.features);
  setU32be(b, F.fileFormatVersion[0], f.fileFormatVersion);
  if (f.dataOffset === Infinity) b.fill(0xff, F.dataOffset[0], F.dataOffset[0] + 8);
  else setU64be(b, F.dataOffset[0], f.dataOffset);
  setU32be(b, F.timeStamp[0], f.timeStamp);
  setAscii(b, F.creatorApplication[0], f.creatorApplication);
  setU32be(b, F.creatorVersion[0], f.creatorVersion);
  setAscii(b, F.creatorHostOs[0], f.creatorHostOs);
  setU64be(b, F.originalSize[0], f.originalSize);
  setU64be(b, F.currentSize[0], f.currentSize);
  const g = f.diskGeometry;
  setU32be(b, F.diskGeometry[0], ((g.cylinders & 0xffff) << 16) | ((g.heads & 0xff) << 8) | (g.sectorsPerTrack & 0xff));
  setU32be(b, F.diskType[0], f.diskType);
  writeRfcGuid(f.uniqueId, b, F.uniqueId[0]);
  b[F.savedState[0]] = f.savedState;
  setU32be(b, F.checksum[0], vhdChecksum(b, F.checksum[0]));
  return b;
}

/**
 * CHS geometry for a size in bytes, the algorithm of the VHD spec appendix "CHS Calculation"
 * (the largest geometry is 65535/16/255, about 127 GiB; bigger disks keep that maximum).
 */
export function chsGeometry(sizeBytes: number): DiskGeometry {
  let total = Math.floor(sizeBytes / 512);
  if (total > 65535 * 16 * 255) total = 65535 * 16 * 255;
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

export function geometryBytes(g: DiskGeometry): number {
  return g.cylinders * g.heads * g.sectorsPerTrack * 512;
}

/** VHD timestamps count seconds from 2000-01-01 00:00:00 UTC (spec "Time Stamp"). */
const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);

export function vhdTimeStamp(d: Date): number {
  const s = Math.floor((d.getTime() - VHD_EPOCH_MS) / 1000);
  return Math.min(0xffffffff, Math.max(0, s));
}

export function vhdTimeToDate(t: number): Date {
  return new Date(VHD_EPOCH_MS + t * 1000);
}
