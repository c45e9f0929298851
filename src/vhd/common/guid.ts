
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
const D = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** The 16 bytes of the GUID being made into text, in text order. */
const picked = new Uint8Array(16);

/**
 * The canonical text, made by one String.fromCharCode of 36 arguments (an open parses ~16 GUIDs a
 * file): no array of codes is copied into an argument list, and no string is concatenated.
 */
function toText(b: Uint8Array, off: number, order: number[]): Guid {
  const p = picked;
  for (let i = 0; i < 16; i++) p[i] = b[off + order[i]!]!;
  return String.fromCharCode(
    D[p[0]! >>> 4]!, D[p[0]! & 15]!, D[p[1]! >>> 4]!, D[p[1]! & 15]!, D[p[2]! >>> 4]!, D[p[2]! & 15]!, D[p[3]! >>> 4]!, D[p[3]! & 15]!, 45,
    D[p[4]! >>> 4]!, D[p[4]! & 15]!, D[p[5]! >>> 4]!, D[p[5]! & 15]!, 45,
    D[p[6]! >>> 4]!, D[p[6]! & 15]!, D[p[7]! >>> 4]!, D[p[7]! & 15]!, 45,
    D[p[8]! >>> 4]!, D[p[8]! & 15]!, D[p[9]! >>> 4]!, D[p[9]! & 15]!, 45,
    D[p[10]! >>> 4]!, D[p[10]! & 15]!, D[p[11]! >>> 4]!, D[p[11]! & 15]!, D[p[12]! >>> 4]!, D[p[12]! & 15]!, D[p[13]! >>> 4]!, D[p[13]! & 15]!, D[p[14]! >>> 4]!, D[p[14]! & 15]!, D[p[15]! >>> 4]!, D[p[15]! & 15]!,
  );
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
