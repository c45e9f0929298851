/** Metadata region (MS-VHDX §2.6): table of items, the known system items, and the parent locator. */
import {
  encodeUtf16le, hasAscii, isPow2, setAscii, setU16le, setU32le, setU64le, u16le, u32le, u64le, utf16le,
} from '../common/bytes.js';
import { isZeroGuid, readMsGuid, tryParseGuid, writeMsGuid, type Guid } from '../common/guid.js';
import { corrupt, unsupported } from '../../errors.js';
import type { ParentLocator } from '../disk.js';
import {
  MAX_BLOCK_SIZE, MAX_METADATA_ENTRIES, MAX_METADATA_ITEM, MAX_VIRTUAL_DISK_SIZE, META_FILE_PARAMETERS,
  META_LOGICAL_SECTOR_SIZE, META_PAGE83, META_PARENT_LOCATOR, META_PHYSICAL_SECTOR_SIZE, META_VIRTUAL_DISK_SIZE,
  MIN_BLOCK_SIZE, PARENT_LOCATOR_TYPE_VHDX, SIG_METADATA,
} from './spec.js';

const TABLE_SIZE = 64 * 1024;

/** One metadata item with its raw bytes; unknown optional items are carried through unchanged. */
export interface MetadataItem {
  itemId: Guid;
  isUser: boolean;
  isVirtualDisk: boolean;
  isRequired: boolean;
  data: Uint8Array;
}

const KNOWN_SYSTEM_ITEMS = new Set([
  META_FILE_PARAMETERS, META_VIRTUAL_DISK_SIZE, META_PAGE83, META_LOGICAL_SECTOR_SIZE,
  META_PHYSICAL_SECTOR_SIZE, META_PARENT_LOCATOR,
]);

/** Bytes of the metadata table that hold its header and `count` entries (§2.6.1; the rest is reserved). */
export function metadataTableBytes(count: number): number {
  return 32 + 32 * Math.min(count, MAX_METADATA_ENTRIES);
}

/**
 * The span of the metadata region [start, end) that holds every item the table places inside the
 * region (items start past the 64 KiB table): an open reads the table's entries and this span, not
 * the whole 64 KiB table or 1 MiB region. `table` holds at least the entries the count names.
 */
export function metadataItemSpan(table: Uint8Array, regionLength: number): { start: number; end: number } {
  let start = regionLength;
  let end = TABLE_SIZE;
  const count = Math.min(u16le(table, 10), MAX_METADATA_ENTRIES);
  for (let i = 0; i < count && 32 + 32 * i + 32 <= table.length; i++) {
    const o = 32 + 32 * i;
    const off = u32le(table, o + 16);
    const itemEnd = off + u32le(table, o + 20);
    if (off < TABLE_SIZE || itemEnd <= off || itemEnd > regionLength) continue; // refused by parseMetadataRegion
    if (off < start) start = off;
    if (itemEnd > end) end = itemEnd;
  }
  return start < end ? { start, end } : { start: TABLE_SIZE, end: TABLE_SIZE };
}

/**
 * Parse the metadata region (table + items). `region` holds its first bytes — at least the table's
 * header and entries — and `itemBytes` the bytes from region offset `itemsAt` on (default: `region`
 * itself from 0), which must hold every item. `regionLength` is the region's full size (default:
 * all of `region`). `regionOffset` is only used in messages.
 */
export function parseMetadataRegion(
  name: string, region: Uint8Array, regionOffset: number, regionLength = region.length, itemBytes = region, itemsAt = 0,
): MetadataItem[] {
  if (regionLength < TABLE_SIZE || region.length < 32) throw corrupt(name, 'METADATA_TABLE', 'metadata region smaller than its 64 KiB table', regionOffset);
  if (!hasAscii(region, 0, SIG_METADATA)) throw corrupt(name, 'METADATA_TABLE', 'metadata table has a bad signature', regionOffset);
  const count = u16le(region, 10);
  if (count > MAX_METADATA_ENTRIES) throw corrupt(name, 'METADATA_TABLE', `metadata table lists ${count} entries (max ${MAX_METADATA_ENTRIES})`, regionOffset);
  if (region.length < metadataTableBytes(count)) throw corrupt(name, 'METADATA_TABLE', 'metadata table entries were not read', regionOffset);
  const items: MetadataItem[] = [];
  // Indexed loops over plain arrays, no iterators or closures: an open parses one table a layer in
  // code V8 has not optimized, where each of those is an allocation.
  const spanStarts: number[] = [];
  const spanEnds: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = 32 + 32 * i;
    const itemId = readMsGuid(region, o);
    const off = u32le(region, o + 16);
    const len = u32le(region, o + 20);
    const flags = u32le(region, o + 24);
    const where = regionOffset + o;
    const isUser = (flags & 1) !== 0;
    if (len > MAX_METADATA_ITEM) throw corrupt(name, 'METADATA_ITEM', `metadata item ${itemId} is ${len} bytes (max 1 MiB)`, where);
    if (len === 0 && off !== 0) throw corrupt(name, 'METADATA_ITEM', `empty metadata item ${itemId} has offset ${off}`, where);
    if (len > 0 && (off < TABLE_SIZE || off + len > regionLength))
      throw corrupt(name, 'METADATA_ITEM', `metadata item ${itemId} lies outside the metadata region`, where);
    if (len > 0 && (off < itemsAt || off + len > itemsAt + itemBytes.length))
      throw corrupt(name, 'METADATA_ITEM', `metadata item ${itemId} was not read (outside the bytes read of the region)`, where);
    for (let j = 0; j < items.length; j++)
      if (items[j]!.itemId === itemId && items[j]!.isUser === isUser) throw corrupt(name, 'METADATA_ITEM', `metadata item ${itemId} listed twice`, where);
    for (let j = 0; j < spanStarts.length; j++)
      if (len > 0 && off < spanEnds[j]! && spanStarts[j]! < off + len) throw corrupt(name, 'METADATA_ITEM', `metadata item ${itemId} overlaps another item`, where);
    if (len > 0) {
      spanStarts.push(off);
      spanEnds.push(off + len);
    }
    const item: MetadataItem = {
      itemId,
      isUser,
      isVirtualDisk: (flags & 2) !== 0,
      isRequired: (flags & 4) !== 0,
      // A view: nothing writes an item's bytes in place (a change copies them), and `itemBytes`
      // holds the items and nothing else, or is a region parsed for its parameters alone.
      data: len === 0 ? new Uint8Array(0) : itemBytes.subarray(off - itemsAt, off - itemsAt + len),
    };
    if (item.isRequired && !item.isUser && !KNOWN_SYSTEM_ITEMS.has(itemId))
      throw unsupported(name, `unknown required metadata item ${itemId}`);
    items.push(item);
  }
  return items;
}

/**
 * Lay out a metadata region (Windows' layout): the 64 KiB table, then the items' data packed in
 * order. Returns only what that fills (the rest of the region is zeros): the whole region is
 * serializeMetadataRegion.
 */
export function serializeMetadataUsed(items: MetadataItem[]): Uint8Array {
  const b = new Uint8Array(items.reduce((n, it) => n + it.data.length, TABLE_SIZE));
  setAscii(b, 0, SIG_METADATA);
  setU16le(b, 10, items.length);
  let off = TABLE_SIZE;
  items.forEach((it, i) => {
    const o = 32 + 32 * i;
    writeMsGuid(it.itemId, b, o);
    setU32le(b, o + 16, it.data.length === 0 ? 0 : off);
    setU32le(b, o + 20, it.data.length);
    setU32le(b, o + 24, (it.isUser ? 1 : 0) | (it.isVirtualDisk ? 2 : 0) | (it.isRequired ? 4 : 0));
    if (it.data.length > 0) {
      b.set(it.data, off);
      off += it.data.length;
    }
  });
  return b;
}

/** The whole metadata region of `regionLength` bytes (serializeMetadataUsed, then zeros). */
export function serializeMetadataRegion(items: MetadataItem[], regionLength: number): Uint8Array {
  const b = new Uint8Array(regionLength);
  b.set(serializeMetadataUsed(items)); // RangeError when the items do not fit
  return b;
}

/** The system items decoded and validated (§2.6.2). */
export interface DiskParameters {
  blockSize: number;
  leaveBlockAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  page83: Guid;
}

/** The system item `id` (an indexed loop: no closure per call in code V8 has not optimized). */
export function findItem(items: readonly MetadataItem[], id: Guid): MetadataItem | undefined {
  for (let i = 0; i < items.length; i++) if (items[i]!.itemId === id && !items[i]!.isUser) return items[i];
  return undefined;
}

function requireItem(name: string, items: MetadataItem[], id: Guid, what: string, len: number): Uint8Array {
  const it = findItem(items, id);
  if (!it) throw corrupt(name, 'METADATA_ITEM', `metadata has no ${what} item`);
  if (it.data.length !== len) throw corrupt(name, 'METADATA_ITEM', `${what} item is ${it.data.length} bytes, expected ${len}`);
  return it.data;
}

export function decodeDiskParameters(name: string, items: MetadataItem[]): DiskParameters {
  const fp = requireItem(name, items, META_FILE_PARAMETERS, 'File Parameters', 8);
  const blockSize = u32le(fp, 0);
  const flags = u32le(fp, 4);
  if (!isPow2(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE)
    throw corrupt(name, 'DISK_PARAMETERS', `block size ${blockSize} is not a power of two between 1 MiB and 256 MiB`);
  const lss = u32le(requireItem(name, items, META_LOGICAL_SECTOR_SIZE, 'Logical Sector Size', 4), 0);
  const pss = u32le(requireItem(name, items, META_PHYSICAL_SECTOR_SIZE, 'Physical Sector Size', 4), 0);
  if (lss !== 512 && lss !== 4096) throw corrupt(name, 'DISK_PARAMETERS', `logical sector size ${lss} is not 512 or 4096`);
  if (pss !== 512 && pss !== 4096) throw corrupt(name, 'DISK_PARAMETERS', `physical sector size ${pss} is not 512 or 4096`);
  const virtualSize = u64le(requireItem(name, items, META_VIRTUAL_DISK_SIZE, 'Virtual Disk Size', 8), 0);
  if (!(virtualSize > 0 && virtualSize <= MAX_VIRTUAL_DISK_SIZE) || virtualSize % lss !== 0)
    throw corrupt(name, 'DISK_PARAMETERS', `virtual disk size ${virtualSize} is not a positive multiple of ${lss} up to 64 TiB`);
  const page83 = readMsGuid(requireItem(name, items, META_PAGE83, 'Page 83 Data', 16), 0);
  const hasParent = (flags & 2) !== 0;
  if (hasParent && !findItem(items, META_PARENT_LOCATOR)) throw corrupt(name, 'PARENT_LOCATOR', 'differencing disk has no parent locator item');
  return { blockSize, leaveBlockAllocated: (flags & 1) !== 0 && !hasParent, hasParent, virtualSize, logicalSectorSize: lss, physicalSectorSize: pss, page83 };
}

/** The system items of a new disk in Windows' order (§2.6.2; Windows' flags: docs/formats.md, "VHDX metadata region"). */
export function diskParameterItems(p: DiskParameters): MetadataItem[] {
  const fp = new Uint8Array(8);
  setU32le(fp, 0, p.blockSize);
  setU32le(fp, 4, (p.leaveBlockAllocated ? 1 : 0) | (p.hasParent ? 2 : 0));
  const size = new Uint8Array(8);
  setU64le(size, 0, p.virtualSize);
  const lss = new Uint8Array(4);
  setU32le(lss, 0, p.logicalSectorSize);
  const pss = new Uint8Array(4);
  setU32le(pss, 0, p.physicalSectorSize);
  const p83 = new Uint8Array(16);
  writeMsGuid(p.page83, p83, 0);
  const sys = (itemId: Guid, data: Uint8Array, isVirtualDisk: boolean): MetadataItem => ({
    itemId, isUser: false, isVirtualDisk, isRequired: true, data,
  });
  return [
    sys(META_FILE_PARAMETERS, fp, false),
    sys(META_VIRTUAL_DISK_SIZE, size, true),
    sys(META_LOGICAL_SECTOR_SIZE, lss, true),
    sys(META_PHYSICAL_SECTOR_SIZE, pss, true),
    sys(META_PAGE83, p83, true),
  ];
}

// ---- Parent locator (§2.6.2.6) ----

const MAX_LOCATOR_ENTRIES = 256;

/** The value of `key` among locator entries (an indexed loop: no iterator per entry in cold code). */
function locatorValue(entries: Array<[string, string]>, key: string): string | undefined {
  for (let i = 0; i < entries.length; i++) if (entries[i]![0] === key) return entries[i]![1];
  return undefined;
}

/** Decode the key/value pairs of a parent locator item, validating every offset. */
export function parseParentLocator(name: string, data: Uint8Array): ParentLocator {
  if (data.length < 20) throw corrupt(name, 'PARENT_LOCATOR', 'parent locator item shorter than its 20-byte header');
  const type = readMsGuid(data, 0);
  if (type !== PARENT_LOCATOR_TYPE_VHDX) throw unsupported(name, `unknown parent locator type ${type}`);
  const count = u16le(data, 18);
  if (count === 0 || count > MAX_LOCATOR_ENTRIES) throw corrupt(name, 'PARENT_LOCATOR', `parent locator has ${count} entries`);
  if (20 + 12 * count > data.length) throw corrupt(name, 'PARENT_LOCATOR', 'parent locator entries run past the item');
  const entries: Array<[string, string]> = [];
  // Messages name the string ("key 0", "value 0"): made only for a message.
  const str = (off: number, len: number, i: number, isKey: boolean): string => {
    if (len === 0 || off + len > data.length || off < 20 + 12 * count || (len & 1) !== 0)
      throw corrupt(name, 'PARENT_LOCATOR', `parent locator ${isKey ? 'key' : 'value'} ${i} at item offset ${off} length ${len} is out of range`);
    const s = utf16le(data, off, len);
    if (s.includes('\0')) throw corrupt(name, 'PARENT_LOCATOR', `parent locator ${isKey ? 'key' : 'value'} ${i} contains NUL`);
    return s;
  };
  for (let i = 0; i < count; i++) {
    const o = 20 + 12 * i;
    const key = str(u32le(data, o), u16le(data, o + 8), i, true);
    const value = str(u32le(data, o + 4), u16le(data, o + 10), i, false);
    if (locatorValue(entries, key) !== undefined) throw corrupt(name, 'PARENT_LOCATOR', `parent locator key ${key} appears twice`);
    entries.push([key, value]);
  }
  const get = (k: string): string | undefined => locatorValue(entries, k);
  const linkageText = get('parent_linkage');
  if (linkageText === undefined) throw corrupt(name, 'PARENT_LOCATOR', 'parent locator has no parent_linkage');
  const linkage = tryParseGuid(linkageText);
  if (!linkage) throw corrupt(name, 'PARENT_LOCATOR', `parent_linkage ${JSON.stringify(linkageText.slice(0, 60))} is not a GUID`);
  const l2text = get('parent_linkage2');
  const l2 = l2text === undefined ? undefined : tryParseGuid(l2text);
  const loc: ParentLocator = {
    linkage,
    linkage2: l2 !== undefined && !isZeroGuid(l2) ? l2 : undefined,
    relativePath: get('relative_path'),
    absolutePath: get('absolute_win32_path'),
    volumePath: get('volume_path'),
    entries,
  };
  if (loc.relativePath === undefined && loc.absolutePath === undefined && loc.volumePath === undefined)
    throw corrupt(name, 'PARENT_LOCATOR', 'parent locator has no path key');
  return loc;
}

/** Encode key/value pairs: header, entry array, then key,value strings packed in order (Windows' layout). */
export function serializeParentLocator(entries: Array<[string, string]>): Uint8Array {
  const encoded = entries.map(([k, v]) => [encodeUtf16le(k), encodeUtf16le(v)] as const);
  let size = 20 + 12 * entries.length;
  for (const [k, v] of encoded) size += k.length + v.length;
  const b = new Uint8Array(size);
  writeMsGuid(PARENT_LOCATOR_TYPE_VHDX, b, 0);
  setU16le(b, 18, entries.length);
  let off = 20 + 12 * entries.length;
  encoded.forEach(([k, v], i) => {
    const o = 20 + 12 * i;
    setU32le(b, o, off);
    b.set(k, off);
    off += k.length;
    setU32le(b, o + 4, off);
    b.set(v, off);
    off += v.length;
    setU16le(b, o + 8, k.length);
    setU16le(b, o + 10, v.length);
  });
  return b;
}

/** The locator a new child writes, in the order Windows writes its keys (docs/formats.md, "VHDX parent locator"). */
export function childLocatorEntries(parentDataWriteGuid: Guid, relative: string, absolute: string): Array<[string, string]> {
  return [
    ['parent_linkage', `{${parentDataWriteGuid}}`],
    ['absolute_win32_path', absolute],
    ['relative_path', relative],
    ['parent_linkage2', '{00000000-0000-0000-0000-000000000000}'],
  ];
}

export function parentLocatorItem(entries: Array<[string, string]>): MetadataItem {
  return { itemId: META_PARENT_LOCATOR, isUser: false, isVirtualDisk: false, isRequired: true, data: serializeParentLocator(entries) };
}

