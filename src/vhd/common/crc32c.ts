/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 — MS-VHDX 2.2.2 checksums. */
import { isAllZero } from './bytes.js';

/*
 * The tables are made at first use, not when the module loads: every CLI command loads this module,
 * and few need a checksum (bench/README.md, "CLI start-up").
 */
let table: Uint32Array | undefined;
let x2n: Uint32Array | undefined;

const POLY = 0x82f63b78;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256 * 4);
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
 * Bytes of zeros at the end of `data`: whole 64 KiB windows from the end while they are zero, then
 * a binary search in the last one that is not, each step one isAllZero (native comparisons) rather
 * than a JavaScript loop over the tail.
 */
function zeroTail(data: Uint8Array): number {
  const W = 64 * 1024;
  let end = data.length;
  if (end === 0 || data[end - 1] !== 0) return 0; // data to the end (a log entry's sectors): no search
  while (end > 0 && isAllZero(data.subarray(Math.max(0, end - W), end))) end = Math.max(0, end - W);
  let lo = Math.max(0, end - W); // [hi, end) is all zeros, and [x, end) is not for any x < lo
  let hi = end;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (isAllZero(data.subarray(mid, hi))) hi = mid; // [hi, end) is known zero: compare the rest only
    else lo = mid + 1;
  }
  return data.length - hi;
}

/** Continue a CRC-32C over `data`; start with `crc = 0` for a fresh checksum. */
export function crc32c(data: Uint8Array, crc = 0): number {
  const tail = data.length >= 1024 ? zeroTail(data) : 0;
  if (tail >= 256) return ~appendZeros(~crc32c(data.subarray(0, data.length - tail), crc) >>> 0, tail) >>> 0;
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const t = (table ??= makeTable());
  for (; i + 4 <= n; i += 4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32C of a structure whose 4-byte little-endian checksum field sits at `fieldOffset`;
 * the field counts as zero (MS-VHDX 2.2.2). The buffer is not modified.
 */
export function structureCrc(data: Uint8Array, fieldOffset: number): number {
  let c = crc32c(data.subarray(0, fieldOffset));
  c = crc32c(new Uint8Array(4), c);
  return crc32c(data.subarray(fieldOffset + 4), c);
}

/** Compute and store the checksum of a structure at `fieldOffset` (LE). */
export function sealStructure(data: Uint8Array, fieldOffset: number): void {
  data.fill(0, fieldOffset, fieldOffset + 4);
  const c = crc32c(data);
  new DataView(data.buffer, data.byteOffset, data.byteLength).setUint32(fieldOffset, c, true);
}

export function checkStructure(data: Uint8Array, fieldOffset: number): boolean {
  const stored = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(fieldOffset, true);
  return stored === structureCrc(data, fieldOffset);
}
