/** BAT geometry and entries (MS-VHDX §2.5): payload entries with sector-bitmap entries interleaved. */
import { alignUp, MiB } from '../common/bytes.js';
import { SECTORS_PER_CHUNK } from './spec.js';

export interface BatGeometry {
  blockSize: number;
  logicalSectorSize: number;
  /** Payload blocks per sector-bitmap block (§2.5). */
  chunkRatio: number;
  payloadBlocks: number;
  bitmapBlocks: number;
  totalEntries: number;
  /** Bytes of sector bitmap per payload block (= 1 MiB / chunkRatio). */
  bitmapBytesPerBlock: number;
  sectorsPerBlock: number;
}

export function batGeometry(virtualSize: number, blockSize: number, logicalSectorSize: number, hasParent: boolean): BatGeometry {
  // (2^23 * LogicalSectorSize) / BlockSize (§2.5), divided in an order that never leaves small
  // integers: 2^23 * 512 is no Smi, and a quotient of a HeapNumber is one too, which baseline
  // (unoptimized) code then boxes anew in every sum it enters.
  const sectorsPerBlock = blockSize / logicalSectorSize;
  const chunkRatio = SECTORS_PER_CHUNK / sectorsPerBlock;
  const payloadBlocks = Math.ceil(virtualSize / blockSize);
  const bitmapBlocks = Math.ceil(payloadBlocks / chunkRatio);
  const totalEntries = hasParent
    ? bitmapBlocks * (chunkRatio + 1)
    : payloadBlocks + Math.floor((payloadBlocks - 1) / chunkRatio);
  return {
    blockSize,
    logicalSectorSize,
    chunkRatio,
    payloadBlocks,
    bitmapBlocks,
    totalEntries,
    bitmapBytesPerBlock: MiB / chunkRatio,
    sectorsPerBlock,
  };
}

/**
 * BAT index of payload block k. The division is exact (k less its remainder): a fraction would be a
 * boxed number in code V8 has not optimized, one allocation per call.
 */
export function payloadIndex(g: BatGeometry, k: number): number {
  return k + (k - (k % g.chunkRatio)) / g.chunkRatio;
}
/** Whether BAT entry i is a sector-bitmap entry: every (chunkRatio + 1)th, after its chunk's payload entries (§2.5). */
export function isBitmapEntry(g: BatGeometry, i: number): boolean {
  return i % (g.chunkRatio + 1) === g.chunkRatio;
}
/** The payload block of BAT entry i, a payload entry: payloadIndex inverted, by an exact division too. */
export function entryBlock(g: BatGeometry, i: number): number {
  const per = g.chunkRatio + 1;
  return i - (i - (i % per)) / per;
}
/** BAT index of the sector-bitmap entry of chunk c. */
export function bitmapIndex(g: BatGeometry, c: number): number {
  return c * (g.chunkRatio + 1) + g.chunkRatio;
}
/** Bytes the BAT region needs, rounded to 1 MiB. */
export function batRegionLength(g: BatGeometry): number {
  return alignUp(g.totalEntries * 8, MiB);
}

/** Decode entry i of a BAT held as bytes: state in bits 0..2, FileOffsetMB in bits 20..63. */
export function entryState(bat: Uint8Array, i: number): number {
  return bat[i * 8]! & 7;
}
export function entryOffsetMb(bat: Uint8Array, i: number): number {
  const o = i * 8;
  const lo = (bat[o + 2]! >>> 4) | (bat[o + 3]! << 4);
  const hi = bat[o + 4]! | (bat[o + 5]! << 8) | (bat[o + 6]! << 16) | (bat[o + 7]! << 24);
  return (hi >>> 0) * 4096 + lo;
}
/** Reserved bits 3..19 must be zero. */
export function entryReservedBits(bat: Uint8Array, i: number): number {
  const o = i * 8;
  return (bat[o]! & 0xf8) | bat[o + 1]! | (bat[o + 2]! & 0x0f);
}
export function setEntry(bat: Uint8Array, i: number, state: number, offsetMb: number): void {
  const o = i * 8;
  const lo = offsetMb % 4096;
  const hi = Math.floor(offsetMb / 4096);
  bat[o] = state & 7;
  bat[o + 1] = 0;
  bat[o + 2] = (lo & 0xf) << 4;
  bat[o + 3] = lo >>> 4;
  bat[o + 4] = hi & 0xff;
  bat[o + 5] = (hi >>> 8) & 0xff;
  bat[o + 6] = (hi >>> 16) & 0xff;
  bat[o + 7] = (hi >>> 24) & 0xff;
}
