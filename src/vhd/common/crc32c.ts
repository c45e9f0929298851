/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 — MS-VHDX 2.2.2 checksums. */
import { isAllZero, u32le } from './bytes.js';

/*
 * The tables are made at first use, not when the module loads: every CLI command loads this module,
 * and few need a checksum (bench/README.md, "CLI start-up"). The byte table is an Int32Array: an
 * element of 2^31 or more of a Uint32Array loads as a boxed number in code V8 has not optimized.
 */
let table: Int32Array | undefined;
let x2n: Uint32Array | undefined;

const POLY = 0x82f63b78;

function makeTable(): Int32Array {
  const t = new Int32Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  // Slicing-by-4 tables.
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 4; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/**
 * Appending n zero bytes to the CRC register multiplies it by x^(8n) modulo the polynomial
 * (GF(2), reflected bit order), so a structure of mostly zeros (a 64 KiB region table with two
 * entries) costs its non-zero prefix and a few products. x2n[k] = x^(2^k) mod P; the product and
 * the table are zlib's crc32_combine (crc32.c: multmodp, x2nmodp) with the CRC-32C polynomial.
 */
function makeX2n(): Uint32Array {
  const t = new Uint32Array(64);
  let p = 1 << 30; // x^1
  for (let k = 0; k < 64; k++) {
    t[k] = p;
    p = multModP(p, p);
  }
  return t;
}

/** a(x) * b(x) modulo P (reflected: bit 31 is x^0). */
function multModP(a: number, b: number): number {
  let p = 0;
  for (let m = 0x80000000; a !== 0 && m !== 0; m >>>= 1) {
    if ((a & m) !== 0) {
      p ^= b;
      a &= ~m;
    }
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/**
 * x^(8n) mod P for the last few tail lengths: every file's headers and region tables have the same
 * zero tails, so an open costs one product per checksum instead of one per bit of n.
 */
const zerosOps = new Map<number, number>();

/** The register after `n` more zero bytes: times x^(8n) mod P. */
function appendZeros(c: number, n: number): number {
  let op = zerosOps.get(n);
  if (op === undefined) {
    op = 1 << 31; // x^0
    const powers = (x2n ??= makeX2n());
    for (let k = 3, m = n; m !== 0; k++, m = Math.floor(m / 2)) if (m % 2 === 1) op = multModP(powers[k]!, op);
    if (zerosOps.size >= 16) zerosOps.clear();
    zerosOps.set(n, op);
  }
  return multModP(op, c);
}

/**
 * A zero tail is found to a multiple of this; the zeros before it are checksummed in JavaScript
 * (a header's 80 bytes of fields become 120 of loop, not 248 as with 256).
 */
const TAIL_STEP = 64;

/**
 * The zero tail last found for data of each length: every file's headers and region tables end
 * alike, so the next one is tried first (one comparison; any tail that is all zeros will do).
 */
const tailHints = new Map<number, number>();

/**
 * Bytes of zeros at the end of data[start, end), a multiple of TAIL_STEP: the hint if it holds,
 * else windows of doubling size from the end while they are zero, then halving ones below the
 * first that is not, each one isAllZero (a native comparison) rather than a JavaScript loop over
 * the tail. The window sizes are powers of two (cached zero views): a process's first header
 * (4 KiB) takes 11 comparisons, its first region table (64 KiB) 15, later ones the hint's one.
 */
function zeroTail(data: Uint8Array, start: number, end: number): number {
  if (end === start || data[end - 1] !== 0) return 0; // data to the end (a log entry's sectors): no search
  const hint = tailHints.get(end - start);
  if (hint !== undefined && hint > 0 && isAllZero(data, end - hint, end)) return hint;
  let zero = 0; // [end - zero, end) is all zeros
  let len = TAIL_STEP;
  let growing = true;
  while (len >= TAIL_STEP) {
    const to = end - zero;
    if (to - start >= len && isAllZero(data, to - len, to)) {
      zero += len;
      if (growing && len < 64 * 1024) len *= 2;
    } else {
      growing = false;
      len /= 2;
    }
  }
  if (tailHints.size >= 16) tailHints.clear();
  tailHints.set(end - start, zero);
  return zero;
}

/** The CRC register (held as an int32) after data[start, end): a JavaScript loop, slicing by 4. */
function update(c: number, data: Uint8Array, start: number, end: number): number {
  const t = (table ??= makeTable());
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** The register after data[start, end), its zero tail (if any) appended as a product. */
function updateWithTail(c: number, data: Uint8Array, start: number, end: number): number {
  const tail = end - start >= 1024 ? zeroTail(data, start, end) : 0;
  return tail > 0 ? appendZeros(update(c, data, start, end - tail), tail) : update(c, data, start, end);
}

/** Continue a CRC-32C over `data`; start with `crc = 0` for a fresh checksum. */
export function crc32c(data: Uint8Array, crc = 0): number {
  return ~updateWithTail(~crc, data, 0, data.length) >>> 0;
}

/** The 4 zero bytes a structure's checksum field counts as. */
const ZERO_FIELD = new Uint8Array(4);

/**
 * CRC-32C of a structure whose 4-byte little-endian checksum field sits at `fieldOffset`;
 * the field counts as zero (MS-VHDX 2.2.2). The buffer is not modified.
 */
export function structureCrc(data: Uint8Array, fieldOffset: number): number {
  let c = update(~0, data, 0, fieldOffset);
  c = update(c, ZERO_FIELD, 0, 4);
  return ~updateWithTail(c, data, fieldOffset + 4, data.length) >>> 0;
}

/** Compute and store the checksum of a structure at `fieldOffset` (LE). */
export function sealStructure(data: Uint8Array, fieldOffset: number): void {
  data.fill(0, fieldOffset, fieldOffset + 4);
  const c = crc32c(data);
  new DataView(data.buffer, data.byteOffset, data.byteLength).setUint32(fieldOffset, c, true);
}

export function checkStructure(data: Uint8Array, fieldOffset: number): boolean {
  return u32le(data, fieldOffset) === structureCrc(data, fieldOffset);
}
