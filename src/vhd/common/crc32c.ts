/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 — MS-VHDX 2.2.2 checksums. */
const TABLE = /* @__PURE__ */ (() => {
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
})();

/** Continue a CRC-32C over `data`; start with `crc = 0` for a fresh checksum. */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const t = TABLE;
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
