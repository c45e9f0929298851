/** Small helpers for integers in byte arrays. 64-bit values are JS numbers (exact below 2^53). */

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
/**
 * u64 little-endian as a number; values >= 2^53 come back as Infinity so they fail range checks.
 * Below 2^32 the low word itself: a small integer, where the float product would stay a boxed
 * number in V8 (see batGeometry).
 */
export function u64le(b: Uint8Array, o: number): number {
  const hi = u32le(b, o + 4);
  if (hi >= 0x200000) return Infinity;
  return hi === 0 ? u32le(b, o) : hi * 0x100000000 + u32le(b, o);
}
export function setU16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function setU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
export function setU64le(b: Uint8Array, o: number, v: number): void {
  setU32le(b, o, v >>> 0);
  setU32le(b, o + 4, Math.floor(v / 0x100000000));
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
/** u64 big-endian as a number; values >= 2^53 come back as Infinity. */
export function u64be(b: Uint8Array, o: number): number {
  const hi = u32be(b, o);
  if (hi >= 0x200000) return Infinity;
  return hi === 0 ? u32be(b, o + 4) : hi * 0x100000000 + u32be(b, o + 4);
}
export function setU32be(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
export function setU64be(b: Uint8Array, o: number, v: number): void {
  setU32be(b, o, Math.floor(v / 0x100000000));
  setU32be(b, o + 4, v >>> 0);
}

export function ascii(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[o + i]!);
  return s;
}
/** Whether b[o, o + s.length) holds the ASCII text `s` (no string is built: signatures are checked at every open). */
export function hasAscii(b: Uint8Array, o: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (b[o + i] !== s.charCodeAt(i)) return false;
  return true;
}
export function setAscii(b: Uint8Array, o: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i) & 0xff;
}

/** Decode UTF-16LE bytes (no BOM). */
export function utf16le(b: Uint8Array, o: number, nBytes: number): string {
  return Buffer.from(b.buffer, b.byteOffset + o, nBytes & ~1).toString('utf16le');
}
export function encodeUtf16le(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf16le'));
}
/** Decode UTF-16BE bytes, stopping at the first NUL. */
export function utf16beZ(b: Uint8Array, o: number, nBytes: number): string {
  let s = '';
  for (let i = 0; i + 1 < nBytes; i += 2) {
    const c = (b[o + i]! << 8) | b[o + i + 1]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}
export function encodeUtf16be(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i * 2] = c >>> 8;
    out[i * 2 + 1] = c & 0xff;
  }
  return out;
}

/** Zeros to compare with, made on first use, and views of it by length (a zero-tail search asks for the same few). */
const ZERO_WINDOW = 64 * 1024;
let zeroWindow: Uint8Array | undefined;
const zeroViews = new Map<number, Uint8Array>();

function zeros(n: number): Uint8Array {
  const z = (zeroWindow ??= new Uint8Array(ZERO_WINDOW));
  if (n === ZERO_WINDOW) return z;
  let v = zeroViews.get(n);
  if (v === undefined) {
    if (zeroViews.size >= 32) zeroViews.clear();
    v = z.subarray(0, n);
    zeroViews.set(n, v);
  }
  return v;
}

/**
 * Whether every byte of `b` (of b[start, end) when given) is zero: native comparisons
 * (Buffer.compare, a memcmp) with a zero buffer, a window at a time, so the cost does not depend on
 * how far V8 has optimized the caller (a short process's open checks BATs and checksummed
 * structures before anything is optimized).
 */
export function isAllZero(b: Uint8Array, start = 0, end = b.length): boolean {
  for (let off = start; off < end; off += ZERO_WINDOW) {
    const w = Math.min(ZERO_WINDOW, end - off);
    if (Buffer.compare(off === 0 && w === b.length ? b : b.subarray(off, off + w), zeros(w)) !== 0) return false;
  }
  return true;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
export function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

/**
 * A buffer for large file reads and writes, starting 64 bytes into its allocation. On the
 * machines hvsim is measured on (AMD EPYC guests) the kernel's page-cache copy runs about 5x
 * slower when the user buffer starts 8-24 bytes past a page boundary, which is where a plain
 * `new Uint8Array(n)` of a MiB or more lands (an mmap'd chunk plus its 16-byte header): ~2,600
 * against ~13,000 MiB/s for 4 MiB readSync calls (bench/README.md, "buffers").
 */
export function ioBuffer(n: number): Uint8Array {
  return new Uint8Array(n + 4096).subarray(64, 64 + n);
}

/**
 * ioBuffer's placement in a SharedArrayBuffer, for reads another thread fills (a PieceReader,
 * src/vhd/io/parallel-read.ts).
 */
export function sharedIoBuffer(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n + 4096), 64, n);
}
