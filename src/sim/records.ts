/**
 * State version 2 and later in a state directory (docs/simulator.md, "The state directory"): state.json is
 * an index (the host's fields, each VM's small fields and a summary of its bulk) and each VM's
 * bulk (BULK_FIELDS: its drives and checkpoints) is in `records/<Id>.<generation>.json`, a file
 * never rewritten in place. A VM's record is read when code first uses its bulk (an accessor that
 * loads and validates it, then replaces itself with the data), so a command that names one VM of
 * 1,000 reads one record; a save writes only the records that changed, each under a new name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { fsError } from '../vhd/io/fs-error.js';
import { BULK_FIELDS, dropLazySummary, setLazySummary, STATE_VERSION, validateVmBulk, type HostState, type VmRecord, type VmSummary } from './state.js';

export const RECORDS_DIR = 'records';

/** A record file hvsim writes (its VM's Id, or "vm" for an Id not fit for a name; a generation). */
export const RECORD_NAME = /^[A-Za-z0-9-]{1,64}\.\d{1,15}\.json$/;
/** A temporary of writeFileAtomic (node-file.ts) in records/ (never read). */
export const RECORD_TMP = /\.json\.tmp-\d+$/;

/** The first part of a record file's name for VM `id`. */
export function recordStem(id: string): string {
  return /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : 'vm';
}

/** The text of `vm`'s record file. */
export function recordText(vm: VmRecord): string {
  return JSON.stringify({ id: vm.id, drives: vm.drives, snapshots: vm.snapshots, vmFiles: vm.vmFiles }) + '\n';
}

/** An index entry: the VM's fields but its bulk, the name of its record file, the summary of its bulk. */
export function indexEntry(vm: VmRecord, record: string, summary: VmSummary): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Not a spread: that would read (and so load) the bulk fields.
  for (const k of Object.keys(vm)) if (!(BULK_FIELDS as readonly string[]).includes(k)) out[k] = (vm as unknown as Record<string, unknown>)[k];
  out.record = record;
  out.summary = summary;
  return out;
}

/**
 * The text of an index (state.json, version STATE_VERSION): `head` (indexHead: the host's fields),
 * then `vmLines[i]` (indexLine of VM i), one line each, so that a save can reuse the lines of the VMs
 * that did not change (storage.ts).
 */
export function indexText(head: string, vmLines: readonly string[]): string {
  return `${head}${vmLines.length > 0 ? `\n${vmLines.join(',\n')}` : ''}\n ]\n}\n`;
}

/** The start of the index of `state`: its host's fields (the only ones indented by one space), up to the `vms` list's "[". */
export function indexHead(state: HostState, recordGen: number): string {
  const host: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) if (k !== 'vms') host[k] = k === 'version' ? STATE_VERSION : v;
  host.recordGen = recordGen;
  return `${JSON.stringify(host, null, 1).slice(0, -2)},\n "vms": [`;
}

/** VM `vm`'s line of the index: its fields but its bulk, the name of its record file, the summary of its bulk. */
export function indexLine(vm: VmRecord, record: string, summary: VmSummary): string {
  return JSON.stringify(indexEntry(vm, record, summary));
}

/**
 * The head and the VM lines of an index text that indexText wrote (undefined when `text` is not
 * laid out so, or has not `count` VM lines).
 */
export function indexParts(text: string, count: number): { head: string; lines: string[] } | undefined {
  const start = text.indexOf('\n "vms": [\n');
  if (start < 0 || !text.endsWith('\n ]\n}\n')) return undefined;
  const head = text.slice(0, start + 10);
  if (count === 0) return text.length === start + 15 ? { head, lines: [] } : undefined;
  const lines = text.slice(start + 11, -6).split(',\n');
  return lines.length === count ? { head, lines } : undefined;
}

/** A CORRUPT error for field `field` of VM entry `i` of index `file`. */
function badEntry(file: string, i: number, field: string, what: string): never {
  throw new HvsimError('CORRUPT', `${file}: vms[${i}].${field}: ${what} (hvsim never writes this: the file was edited or damaged)`, { file, reason: 'STATE_FILE' });
}

/** `s[k]` when it is a list of strings, else a CORRUPT error. */
function stringList(s: Record<string, unknown>, k: string, file: string, i: number): string[] {
  const v = s[k];
  if (!Array.isArray(v)) return badEntry(file, i, `summary.${k}`, 'expected a list of strings');
  for (const x of v) if (typeof x !== 'string') badEntry(file, i, `summary.${k}`, 'expected a list of strings');
  return v as string[];
}

/** What VM entry `i` of index `file` says in `record` and `summary`, checked (a CORRUPT error naming the file and the field). */
function entryRecord(entry: Record<string, unknown>, file: string, i: number): { record: string; summary: VmSummary } {
  const record = entry.record;
  if (typeof record !== 'string' || !RECORD_NAME.test(record)) badEntry(file, i, 'record', 'expected the name of a record file (<Id>.<generation>.json)');
  const s = entry.summary as Record<string, unknown> | null | undefined;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return badEntry(file, i, 'summary', 'expected an object');
  if (typeof s.partialGroup !== 'boolean') badEntry(file, i, 'summary.partialGroup', 'expected true or false');
  // A version 2 index's summary.snapshotIds is no longer used.
  return { record: record as string, summary: { groupIds: stringList(s, 'groupIds', file, i), partialGroup: s.partialGroup as boolean, diskDirs: stringList(s, 'diskDirs', file, i) } };
}

/** The parsed object of a record file and its text (CORRUPT when it is missing, not JSON or not VM `id`'s), unchecked otherwise. */
function readRecord(file: string, id: unknown, from: string): Record<string, unknown> & { text: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new HvsimError('CORRUPT', `${file}: missing (${from} names it: the state directory was edited or damaged)`, { file, reason: 'STATE_FILE' });
    throw fsError(e, file, 'read');
  }
  return parseRecord(text, file, id);
}

function parseRecord(text: string, file: string, id: unknown): Record<string, unknown> & { text: string } {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new HvsimError('CORRUPT', `${file}: not valid JSON`, { file, reason: 'STATE_FILE' });
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o) || (o as Record<string, unknown>).id !== id)
    throw new HvsimError('CORRUPT', `${file}: not the record of the virtual machine ${String(id)} (hvsim never writes this: the file was edited or damaged)`, { file, reason: 'STATE_FILE' });
  return { ...(o as Record<string, unknown>), text };
}

/** Where each loaded VM's record is, and its text as read or written (undefined while not read). */
export interface RecordInfo {
  file: string;
  text?: string;
}

/** Where the record of a VM whose bulk is not loaded yet is (openIndex), by VM. */
interface LazyRecord {
  info: RecordInfo;
  /** Its index and the VM's place in it (for errors). */
  statePath: string;
  at: number;
  recordsDir: string;
}
const lazyRecords = new WeakMap<object, LazyRecord>();

/** Read, validate and put in place the bulk of `vm` (validateVmBulk), its accessors replaced by the data. */
function loadBulk(vm: Record<string, unknown>): void {
  const l = lazyRecords.get(vm)!;
  const file = path.join(l.recordsDir, l.info.file);
  const bulk = readRecord(file, vm.id, `${l.statePath} vms[${l.at}]`);
  validateVmBulk(vm, bulk, file);
  for (const k of BULK_FIELDS) {
    if (bulk[k] === undefined) delete vm[k]; // an optional field (vmFiles) absent
    else Object.defineProperty(vm, k, { value: bulk[k], writable: true, enumerable: true, configurable: true });
  }
  dropLazySummary(vm as unknown as VmRecord);
  lazyRecords.delete(vm);
  l.info.text = bulk.text;
}

/**
 * The bulk fields of a VM whose record is not loaded yet: accessors that load it (replacing
 * themselves with its data) on first use. The same functions for every VM, so that V8 gives the
 * 1,000 VMs of a state one shape.
 */
const LAZY_BULK: PropertyDescriptorMap = Object.fromEntries(
  BULK_FIELDS.map((k) => [
    k,
    {
      enumerable: true,
      configurable: true,
      get(this: Record<string, unknown>): unknown {
        loadBulk(this);
        return this[k];
      },
      set(this: Record<string, unknown>, value: unknown): void {
        loadBulk(this);
        this[k] = value;
      },
    },
  ]),
);

/**
 * Turn the parsed index `o` (version 2 or later) into a HostState in place: each VM entry naming a
 * record gets accessors that load it on first use (validated: validateVmBulk), its summary
 * registered (state.ts, summaryOf); an entry without a record keeps its bulk inline (a state
 * written whole: readStateDirectory's callers, tests). Returns the records named, by VM.
 */
export function openIndex(o: Record<string, unknown>, statePath: string, recordsDir: string): Map<VmRecord, RecordInfo> {
  const infos = new Map<VmRecord, RecordInfo>();
  // The version stays the one read until the state is upgraded (vm-files.ts, adoptVmFiles).
  delete o.recordGen;
  const vms = o.vms as unknown[];
  for (let i = 0; i < vms.length; i++) {
    const entry = vms[i] as Record<string, unknown> | null;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue; // validateState reports it
    if (entry.record === undefined && entry.summary === undefined) continue; // inline
    const { record, summary } = entryRecord(entry, statePath, i);
    // The last property first (indexLine writes record, then summary, last): V8 then keeps the object's fast shape.
    delete entry.summary;
    delete entry.record;
    const vm = entry as unknown as VmRecord;
    const info: RecordInfo = { file: record };
    infos.set(vm, info);
    lazyRecords.set(vm, { info, statePath, at: i, recordsDir });
    Object.defineProperties(vm, LAZY_BULK);
    setLazySummary(vm, summary);
  }
  return infos;
}

/**
 * The whole state kept in state directory `root` (the index with every VM's record inline), or
 * undefined when it has no state.json; not validated. For what reads a state directory without
 * opening it (owner.ts, copyStateDirectory, tests).
 */
export function readStateDirectory(root: string): HostState | undefined {
  const statePath = path.join(root, 'state.json');
  let text: string;
  try {
    text = fs.readFileSync(statePath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(e, statePath, 'read');
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new HvsimError('CORRUPT', `${statePath}: not valid JSON`, { file: statePath, reason: 'STATE_FILE' });
  }
  const s = o as Record<string, unknown> | null;
  if (typeof s !== 'object' || s === null || !Array.isArray(s.vms)) throw new HvsimError('CORRUPT', `${statePath}: not an hvsim state file`, { file: statePath, reason: 'STATE_FILE' });
  return inlineRecords(s as Record<string, unknown> & { vms: unknown[] }, root);
}

/**
 * The parsed state.json `s` of state directory `root` with every VM's record read into it (in
 * place; a version 1 state or one written whole is returned as it is). CORRUPT when a record named
 * is missing, not JSON or not its VM's; not validated otherwise.
 */
export function inlineRecords(s: Record<string, unknown> & { vms: unknown[] }, root: string): HostState {
  const statePath = path.join(root, 'state.json');
  if (s.version !== 1 && s.version !== 2 && s.version !== STATE_VERSION) return s as unknown as HostState;
  s.vms.forEach((v: unknown, i: number) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
    const entry = v as Record<string, unknown>;
    if (entry.record === undefined && entry.summary === undefined) return;
    const { record } = entryRecord(entry, statePath, i);
    const bulk = readRecord(path.join(root, RECORDS_DIR, record), entry.id, `${statePath} vms[${i}]`);
    delete entry.record;
    delete entry.summary;
    for (const k of BULK_FIELDS) if (bulk[k] !== undefined) entry[k] = bulk[k];
  });
  delete s.recordGen;
  return s as unknown as HostState;
}

/**
 * Write `state` whole into state directory `root`'s state.json (every VM's bulk inline; its
 * records/ removed): hvsim's next open of it writes the records again. For copies and tests.
 */
export function writeStateDirectory(root: string, state: HostState): void {
  fs.writeFileSync(path.join(root, 'state.json'), JSON.stringify(state, null, 1) + '\n');
  fs.rmSync(path.join(root, RECORDS_DIR), { recursive: true, force: true });
  fs.rmSync(path.join(root, 'state.json.crc32c'), { force: true });
}
