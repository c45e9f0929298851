/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 — MS-VHDX 2.2.2 checksums. */

/*
 * The tables are made at first use, not when the module loads: every CLI command loads this module,
 * and few need a checksum (bench/README.md, "CLI start-up").
 */
let table: Uint32Array | undefined;
let zeros: Uint32Array[] | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
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
 * Appending zero bytes to the CRC register is linear over GF(2): zeros[k] is the 32×32 matrix
 * (column j = the image of bit j) of appending 2^k zero bytes, up to 2^20. A structure of mostly
 * zeros (a 64 KiB region table with two entries) then costs its non-zero prefix and at most 21
 * matrix products (the technique of zlib's crc32_combine).
 */
function makeZeros(t: Uint32Array): Uint32Array[] {
  const ops: Uint32Array[] = [];
  const one = new Uint32Array(32);
  for (let j = 0; j < 32; j++) {
    const c = (1 << j) >>> 0;
    one[j] = (t[c & 0xff]! ^ (c >>> 8)) >>> 0;
  }
  ops.push(one);
  for (let k = 1; k <= 20; k++) {
    const m = ops[k - 1]!;
    const sq = new Uint32Array(32);
    for (let j = 0; j < 32; j++) sq[j] = applyMatrix(m, m[j]!);
    ops.push(sq);
  }
  return ops;
}

function applyMatrix(m: Uint32Array, v: number): number {
  let r = 0;
  for (let j = 0; v !== 0; j++, v >>>= 1) if (v & 1) r ^= m[j]!;
  return r >>> 0;
}

/** Bytes of zeros at the end of `data`. */
function zeroTail(data: Uint8Array): number {
  const n = data.length;
  let end = n;
  while (end > 0 && (data.byteOffset + end) % 4 !== 0 && data[end - 1] === 0) end--;
  if ((data.byteOffset + end) % 4 === 0) {
    const words = new Uint32Array(data.buffer, data.byteOffset + end - (end & ~3), end >>> 2);
    let w = words.length;
    // Eight words a step while they are all zero, then one at a time.
    while (w >= 8 && (words[w - 1]! | words[w - 2]! | words[w - 3]! | words[w - 4]! | words[w - 5]! | words[w - 6]! | words[w - 7]! | words[w - 8]!) === 0) w -= 8;
    while (w > 0 && words[w - 1] === 0) w--;
    end -= (words.length - w) * 4;
  }
  while (end > 0 && data[end - 1] === 0) end--;
  return n - end;
}

/** Continue a CRC-32C over `data`; start with `crc = 0` for a fresh checksum. */
export function crc32c(data: Uint8Array, crc = 0): number {
  const t = (table ??= makeTable());
  const tail = data.length >= 1024 ? zeroTail(data) : 0;
  if (tail >= 256) {
    const ops = (zeros ??= makeZeros(t));
    let c = ~crc32c(data.subarray(0, data.length - tail), crc) >>> 0;
    for (let k = 0, z = tail; z !== 0; k++, z = Math.floor(z / 2))
      if (z % 2 === 1) {
        // 2^k zero bytes: beyond 2^20, repeat the largest.
        for (let r = 2 ** Math.max(0, k - 20); r > 0; r--) c = applyMatrix(ops[Math.min(k, 20)]!, c);
      }
    return ~c >>> 0;
  }
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
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
