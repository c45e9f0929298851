
/**
 * GUIDs are held as canonical lowercase strings ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx").
 * VHDX stores them in Microsoft mixed-endian form (MS-VHDX 2.1: Data1/2/3 little-endian,
 * Data4 raw); legacy VHD stores RFC 4122 byte order.
 */
export type Guid = string;

export const ZERO_GUID: Guid = '00000000-0000-0000-0000-000000000000';

// Byte order of the 16 stored bytes for each position of the canonical text (mixed-endian).
const MS_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
const RFC_ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/** Character codes of the lowercase hex digits. */
const DIGITS = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];
/** The 36 character codes of a GUID's text, filled per call and made a string at once (an open parses ~16 GUIDs a file). */
const chars = new Uint16Array(36);

function toText(b: Uint8Array, off: number, order: number[]): Guid {
  let c = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) chars[c++] = 45; // '-'
    const v = b[off + order[i]!]!;
    chars[c++] = DIGITS[v >>> 4]!;
    chars[c++] = DIGITS[v & 15]!;
  }
  return String.fromCharCode.apply(null, chars as unknown as number[]);
}

function fromText(g: Guid, b: Uint8Array, off: number, order: number[]): void {
  const h = normalizeGuid(g).replace(/-/g, '');
  for (let i = 0; i < 16; i++) b[off + order[i]!] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
}

const GUID_RE = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/** Lowercase canonical form of a GUID given with or without braces; throws on bad text. */
export function normalizeGuid(g: string): Guid {
  const m = GUID_RE.exec(g.trim());
  if (!m) throw new TypeError(`not a GUID: ${JSON.stringify(g.slice(0, 60))}`);
  return m[1]!.toLowerCase();
}

export function tryParseGuid(g: string): Guid | undefined {
  const m = GUID_RE.exec(g.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

export function readMsGuid(b: Uint8Array, off: number): Guid {
  return toText(b, off, MS_ORDER);
}
export function writeMsGuid(g: Guid, b: Uint8Array, off: number): void {
  fromText(g, b, off, MS_ORDER);
}
export function readRfcGuid(b: Uint8Array, off: number): Guid {
  return toText(b, off, RFC_ORDER);
}
export function writeRfcGuid(g: Guid, b: Uint8Array, off: number): void {
  fromText(g, b, off, RFC_ORDER);
}

/** A random (version 4) GUID from the Web Crypto API, which Node 20 and browsers both have. */
export function newGuid(): Guid {
  return globalThis.crypto.randomUUID();
}

export function isZeroGuid(g: Guid): boolean {
  return g === ZERO_GUID;
}
