/**
 * Where a simulated host keeps its disks and its state:
 * - MemoryStorage: disks in memory (the engine's MemoryDiskStore, optionally
 *   with a fault budget), state in memory (library use, tests, the demo);
 * - DirectoryStorage: a state directory (the CLI's; default ./.hvsim, HVSIM_ROOT or --root) with
 *   real VHDX files under `vms/<VM>/Virtual Hard Disks/`, `state.json` replaced atomically
 *   (temporary file, fsync, rename) and a `lock` file so that two invocations never interleave:
 *   the second waits for the first, and reports BUSY if it waits too long. A lock left by a
 *   process that no longer exists is taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { MemoryDiskStore, NodeDiskStore, type DiskStore } from '../engine/store.js';
import { crc32c } from '../vhd/common/crc32c.js';
import { fsError } from '../vhd/io/fs-error.js';
import { noteLockFile, processAlive, readLockOwner, removeLock, removeStaleLock, tryCreateLock } from '../vhd/io/lock-file.js';
import { mkdirp, syncFolder, writeFileAtomic, writeWhole } from '../vhd/io/node-file.js';
import { indexHead, indexLine, indexParts, indexText, openIndex, RECORD_NAME, RECORD_TMP, RECORDS_DIR, recordStem, recordText, readStateDirectory, writeStateDirectory, type RecordInfo } from './records.js';
import { BULK_FIELDS, isLazy, STATE_VERSION, summaryOf, type HostState, type VmRecord } from './state.js';

export interface SimStorage {
  readonly kind: 'memory' | 'directory';
  readonly store: DiskStore;
  /** Folder under which each VM gets `<name>/`. */
  readonly vmRoot: string;
  /**
   * Whether the host keeps each VM's .vmcx/.vmrs/.vmgs files (src/sim/vm-files.ts): a state
   * directory does; an in-memory host only when asked, since a saved VM's .vmrs is as large as
   * its memory and memory holds it whole.
   */
  readonly vmFiles?: boolean;
  /**
   * Whether every VM's files must be checked on open (docs/simulator.md, "VM files"): they may
   * have changed behind hvsim's back since the host was last closed cleanly.
   */
  readonly wholeCheck?: boolean;
  /**
   * After load(): the state is byte for byte what this storage last wrote (so it was valid then),
   * and need not be validated again (docs/simulator.md, "VM files").
   */
  readonly loadedAsWritten?: boolean;
  /** What load() found that the simulator should report as a warning (a file hvsim did not make among its records). */
  readonly loadNotes?: readonly string[];
  load(): HostState | undefined;
  /**
   * Save `state`; with `unlessOnlyClock`, not when it differs from what was loaded or last saved
   * only by its clock (context.ts, persist).
   */
  save(state: HostState, opts?: SaveOptions): void;
  mkdirp(dir: string): void;
  /** Note that the host is being closed cleanly, its files checked: the next open need not check them all. */
  markClean?(): void;
  /** Release whatever the storage holds (the lock). */
  close(): void;
}

/** A step of DirectoryStorage's save, in order: write a new record, replace state.json, remove an old record. */
export type SaveStep = 'record' | 'index' | 'remove';

export interface SaveOptions {
  unlessOnlyClock?: boolean;
}

export class MemoryStorage implements SimStorage {
  readonly kind = 'memory' as const;
  readonly store: DiskStore;
  readonly vmRoot: string;
  private json: string | undefined;

  /** `json`: a state saved earlier (see `json`), e.g. to reopen a host after a simulated crash. */
  readonly vmFiles: boolean;
  constructor(store: DiskStore = new MemoryDiskStore(), vmRoot = '/hvsim/vms', json?: string, opts: { vmFiles?: boolean } = {}) {
    this.store = store;
    this.vmRoot = vmRoot;
    this.json = json;
    this.vmFiles = opts.vmFiles ?? false;
  }
  /** The state as last saved. */
  get savedJson(): string | undefined {
    return this.json;
  }
  load(): HostState | undefined {
    return this.json === undefined ? undefined : (JSON.parse(this.json) as HostState);
  }
  save(state: HostState, opts: SaveOptions = {}): void {
    const json = this.json;
    if (opts.unlessOnlyClock && json !== undefined && withClock(state, (JSON.parse(json) as HostState).clock, () => JSON.stringify(state) === json)) return;
    // Kept as text so that a reopened simulator sees exactly what a state file would hold.
    this.json = JSON.stringify(state);
  }
  /** A host in memory is checked whole whenever it is opened (it is small; tests reopen it after simulated crashes). */
  readonly wholeCheck = true;
  mkdirp(): void {}
  markClean(): void {}
  close(): void {}
}

export interface LockOptions {
  /** How long to wait for another invocation (ms); default HVSIM_LOCK_TIMEOUT or 30 s. */
  timeoutMs?: number;
  /** Poll interval while waiting (ms). */
  pollMs?: number;
}

export const STATE_FILE = 'state.json';
export const LOCK_FILE = 'lock';
/**
 * Present while no hvsim has the directory open, after a clean close (docs/simulator.md, "VM
 * files"): removed at open, written again at a clean close, so after a kill, a crash or an
 * interrupt it is absent and the next open checks every VM's files.
 */
export const CLOSED_FILE = 'closed';
/**
 * The CRC-32C of state.json as hvsim last wrote it (with its length): a state.json that still has
 * it is not validated again at open (1,000 VMs: 0.1–0.3 s). Not fsynced, and written only at a
 * clean close (a CRC of 3 MB at every save cost a checkpoint 20–30 ms): a sum lost or stale only
 * means a validation. A CRC, not a cryptographic hash: it
 * guards against edits and damage, not forgery (which a hash anyone can compute would not stop
 * either), and node:crypto would cost every command's start-up about 17 ms to load.
 */
export const STATE_SUM_FILE = 'state.json.crc32c';

const stateSum = (data: string | Uint8Array): string => {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return `${bytes.length} ${crc32c(bytes).toString(16).padStart(8, '0')}`;
};

/** `test()` on `state` with its clock set to `clock` for the while. */
function withClock(state: HostState, clock: number, test: () => boolean): boolean {
  const now = state.clock;
  state.clock = clock;
  try {
    return test();
  } finally {
    state.clock = now;
  }
}

/**
 * `text` (indexText, or its head) with its clock `clock` written as `savedClock`: the top-level field is the
 * only one indented by one space (records.ts, indexHead), so no other field can match.
 */
function withSavedClock(text: string, clock: number, savedClock: number): string {
  return text.replace(`\n "clock": ${JSON.stringify(clock)},\n`, () => `\n "clock": ${JSON.stringify(savedClock)},\n`);
}

/**
 * A VM's line in state.json and what it was made of: its record file and its index fields then
 * (`fields`: objects compared by their JSON text, as code may change one in place; `size` of them).
 */
interface IndexLine {
  file: string;
  fields: Readonly<Record<string, unknown>>;
  size: number;
  text: string;
}

const isBulk = (k: string): boolean => (BULK_FIELDS as readonly string[]).includes(k);

/** The line of `vm` to keep (its index fields copied: their objects as JSON text). */
function lineOf(vm: VmRecord, file: string, text: string): IndexLine {
  const fields: Record<string, unknown> = {};
  let size = 0;
  for (const k in vm) {
    if (isBulk(k)) continue;
    const v = (vm as unknown as Record<string, unknown>)[k];
    fields[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
    size++;
  }
  return { file, fields, size, text };
}

/** Whether `vm`'s index fields are still those of `line`. */
function sameFields(vm: VmRecord, line: IndexLine): boolean {
  let size = 0;
  for (const k in vm) {
    if (isBulk(k)) continue;
    size++;
    const v = (vm as unknown as Record<string, unknown>)[k];
    const was = line.fields[k];
    if (v === was) continue;
    if (typeof v !== 'object' || v === null) return false;
    if (JSON.stringify(v) !== (typeof was === 'string' ? was : JSON.stringify(was))) return false;
  }
  return size === line.size;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** An exclusive lock on a state directory, held by this process until released. */
export class DirectoryLock {
  private held = false;
  constructor(readonly file: string) {}

  acquire(opts: LockOptions = {}): void {
    const envTimeout = Number(process.env.HVSIM_LOCK_TIMEOUT);
    const timeout = opts.timeoutMs ?? (Number.isFinite(envTimeout) && envTimeout >= 0 ? envTimeout : 30_000);
    const poll = opts.pollMs ?? 20;
    const deadline = Date.now() + timeout;
    const dir = path.dirname(this.file);
    for (;;) {
      if (tryCreateLock(this.file, dir)) {
        this.held = true;
        noteLockFile(this.file, true);
        return;
      }
      const owner = readLockOwner(this.file);
      if (owner === undefined) continue; // released meanwhile: try again at once
      if (owner.stale) {
        removeStaleLock(this.file, owner);
        continue;
      }
      if (Date.now() >= deadline)
        throw new HvsimError(
          'BUSY',
          `${dir} is in use by another hvsim invocation${owner.pid ? ` (pid ${owner.pid})` : ''}; waited ${Math.round(timeout / 1000)} s — try again`,
          { file: this.file },
        );
      sleepSync(poll);
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    noteLockFile(this.file, false);
    removeLock(this.file);
  }
}

export class DirectoryStorage implements SimStorage {
  readonly kind = 'directory' as const;
  readonly store: DiskStore = new NodeDiskStore();
  readonly vmFiles = true;
  readonly root: string;
  readonly vmRoot: string;
  private lock: DirectoryLock | undefined;
  /** What state.json holds now (as loaded or last written): an unchanged state is not rewritten. */
  private saved: string | undefined;
  /** `saved` as indexText made it (its head and VM lines), when known. */
  private savedParts: { head: string; lines: string[] } | undefined;
  /** The clock in `saved`. */
  private savedClock: number | undefined;
  readonly wholeCheck: boolean;
  loadedAsWritten = false;
  private clean = false;
  /** Whether STATE_SUM_FILE holds the sum of this.saved. */
  private sumWritten = false;
  /** this.saved as written (UTF-8), when this storage wrote it. */
  private savedBytes: Buffer | undefined;
  /** Each VM's record file (records.ts) and its text as read or written; a VM not here has none yet. */
  private records = new WeakMap<VmRecord, RecordInfo>();
  /** Each VM's line in state.json as loaded or last written, with what it was made of (records.ts, indexLine). */
  private lines = new WeakMap<VmRecord, IndexLine>();
  /** The record files state.json names now. */
  private named = new Set<string>();
  /** The last generation given to a record file (the index's recordGen). */
  private recordGen = 0;
  loadNotes: string[] = [];
  /** hvsim's record files that state.json did not name when loaded (findUnnamedRecords). */
  private unnamed: string[] = [];

  /**
   * Opens (creating when needed) and locks the state directory. `opts.beforeStep` is called before
   * each step of a save that changes a file (the crash tests stop a save there by throwing).
   */
  constructor(root: string, lockOpts: LockOptions = {}, private readonly opts: { beforeStep?: (step: SaveStep, file: string) => void } = {}) {
    this.root = path.resolve(root);
    this.vmRoot = path.join(this.root, 'vms');
    mkdirp(this.root);
    this.lock = new DirectoryLock(path.join(this.root, LOCK_FILE));
    this.lock.acquire(lockOpts);
    // Under the lock no one else writes here: a temporary of writeFileAtomic is a killed process's.
    try {
      for (const n of fs.readdirSync(this.root)) {
        // A lock's temporary (lock-file.ts) is another process's only while that process lives.
        const lockTmp = /^lock\.tmp-(\d+)$/.exec(n);
        if (/\.json\.tmp-\d+$/.test(n) || (lockTmp && !processAlive(Number(lockTmp[1])))) fs.rmSync(path.join(this.root, n), { force: true });
      }
    } catch {
      // best effort: a leftover is never read
    }
    // Removed before anything changes: from here until a clean close, a stop of any kind leaves it absent.
    this.wholeCheck = !removeIfPresent(path.join(this.root, CLOSED_FILE));
  }

  get statePath(): string {
    return path.join(this.root, STATE_FILE);
  }

  get recordsDir(): string {
    return path.join(this.root, RECORDS_DIR);
  }

  load(): HostState | undefined {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.statePath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError(e, this.statePath, 'read');
    }
    const text = bytes.toString('utf8');
    let state: HostState;
    this.saved = text;
    try {
      state = JSON.parse(text) as HostState;
    } catch {
      throw new HvsimError('CORRUPT', `${this.statePath}: not valid JSON`, { file: this.statePath, reason: 'STATE_FILE' });
    }
    if (typeof state !== 'object' || state === null || !Array.isArray(state.vms) || typeof state.clock !== 'number')
      throw new HvsimError('CORRUPT', `${this.statePath}: not an hvsim state file`, { file: this.statePath, reason: 'STATE_FILE' });
    // Version 1 (everything in state.json) is read as a state whose records are all inline, version 2
    // as it is: the next save writes version 3 (vm-files.ts, adoptVmFiles).
    if (state.version !== STATE_VERSION && state.version !== 2 && state.version !== 1)
      throw new HvsimError('UNSUPPORTED', `${this.statePath}: state version ${state.version} (this hvsim reads ${STATE_VERSION}, 2 and 1)`, { file: this.statePath });
    const gen = (state as unknown as { recordGen?: unknown }).recordGen;
    this.recordGen = typeof gen === 'number' && Number.isSafeInteger(gen) && gen >= 0 ? gen : 0;
    const infos = openIndex(state as unknown as Record<string, unknown>, this.statePath, this.recordsDir);
    for (const [vm, info] of infos) this.records.set(vm, info);
    this.named = new Set([...infos.values()].map((i) => i.file));
    for (const i of infos.values()) this.recordGen = Math.max(this.recordGen, Number(i.file.split('.')[1]));
    this.findUnnamedRecords();
    this.savedClock = state.clock;
    this.loadedAsWritten = readSmall(this.sumPath) === stateSum(bytes);
    this.sumWritten = this.loadedAsWritten;
    // hvsim's own text: each VM's line is kept for the saves (a text edited by hand is rewritten whole).
    const parts = this.loadedAsWritten ? indexParts(text, state.vms.length) : undefined;
    this.savedParts = parts;
    if (parts !== undefined) {
      const vmLines = parts.lines;
      // The fields as read, to compare with (a second parse: the first's objects are the VMs).
      const entries = (JSON.parse(text) as { vms: Array<Record<string, unknown>> }).vms;
      state.vms.forEach((vm, i) => {
        const info = infos.get(vm);
        // An entry has the VM's fields, `record` and `summary` (not the VM's: 2 fewer).
        if (info !== undefined) this.lines.set(vm, { file: info.file, fields: entries[i]!, size: Object.keys(entries[i]!).length - 2, text: vmLines[i]! });
      });
    }
    return state;
  }

  /**
   * The record files state.json does not name (docs/simulator.md, "The state directory"): with
   * hvsim's name, an unfinished save's (written before its index) or an old generation (whose
   * index was replaced before it was removed), removed by the first save (after the state loaded
   * has been validated); anything else is reported, never removed.
   */
  private findUnnamedRecords(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.recordsDir);
    } catch {
      return; // none yet
    }
    for (const n of names) {
      if (this.named.has(n)) continue;
      const file = path.join(this.recordsDir, n);
      if (RECORD_NAME.test(n) || RECORD_TMP.test(n)) this.unnamed.push(file);
      else this.loadNotes.push(`${file} is not a record file hvsim made: left as it is`);
    }
  }

  private get sumPath(): string {
    return path.join(this.root, STATE_SUM_FILE);
  }

  save(state: HostState, opts: SaveOptions = {}): void {
    if (!this.lock) throw new HvsimError('INVALID_STATE', `${this.root}: storage is closed`);
    // Before any new record (one may have a leftover's name); best effort: a leftover is never read.
    for (const f of this.unnamed.splice(0)) removeLeftover(f);
    // Only the VMs whose record was loaded (or that have none yet) are serialised and compared; the
    // others' index lines are reused while their fields are as when loaded or last written.
    const files: string[] = [];
    const lines: string[] = [];
    const writes: Array<{ vm: VmRecord; file: string; text: string }> = [];
    let gen = this.recordGen;
    for (const vm of state.vms) {
      const info = this.records.get(vm);
      const lazy = info !== undefined && isLazy(vm);
      let file: string;
      if (info !== undefined && (lazy || info.text === recordText(vm))) file = info.file;
      else {
        file = `${recordStem(vm.id)}.${++gen}.json`;
        writes.push({ vm, file, text: recordText(vm) });
      }
      files.push(file);
      const line = this.lines.get(vm);
      if (lazy && line !== undefined && line.file === file && sameFields(vm, line)) lines.push(line.text);
      else {
        const text = indexLine(vm, file, summaryOf(vm));
        // Kept for a VM not loaded (a state written whole, then split); a loaded one's line is made anew.
        if (lazy) this.lines.set(vm, lineOf(vm, file, text));
        lines.push(text);
      }
    }
    const head = indexHead(state, gen);
    // Reads (Get-VM in a polling loop) change nothing: no rewrite, no fsync. Every line the same
    // string as saved: only the head is compared.
    const last = this.savedParts;
    const sameLines = writes.length === 0 && last !== undefined && last.lines.length === lines.length && lines.every((l, i) => l === last.lines[i]);
    if (sameLines && head === last.head) return;
    const clockOnly = opts.unlessOnlyClock && this.savedClock !== undefined;
    if (sameLines && clockOnly && withSavedClock(head, state.clock, this.savedClock!) === last.head) return;
    const text = indexText(head, lines);
    if (writes.length === 0 && text === this.saved) {
      this.savedParts = { head, lines };
      return;
    }
    if (writes.length === 0 && clockOnly && this.saved !== undefined && withSavedClock(text, state.clock, this.savedClock!) === this.saved) return;
    // The records first (new names: a crash leaves files the index does not name, removed at the
    // next open), then the index (the commit point), then the old generations.
    if (writes.length > 0) {
      mkdirp(this.recordsDir);
      for (const w of writes) {
        const file = path.join(this.recordsDir, w.file);
        this.opts.beforeStep?.('record', file);
        writeNew(file, w.text);
      }
      syncFolder(path.join(this.recordsDir, writes[0]!.file));
    }
    // The sum is rewritten at a clean close: until then the old one, which this text does not match.
    this.opts.beforeStep?.('index', this.statePath);
    const bytes = Buffer.from(text, 'utf8');
    writeFileAtomic(this.statePath, bytes);
    this.saved = text;
    this.savedParts = { head, lines };
    this.savedBytes = bytes;
    this.savedClock = state.clock;
    this.recordGen = gen;
    for (const w of writes) this.records.set(w.vm, { file: w.file, text: w.text });
    const named = new Set(files);
    for (const f of this.named)
      if (!named.has(f)) {
        this.opts.beforeStep?.('remove', path.join(this.recordsDir, f));
        removeLeftover(path.join(this.recordsDir, f));
      }
    this.named = named;
    this.sumWritten = false;
  }

  /** Record the sum of state.json as it is now (this.saved): hvsim's own text, or one the open validated. */
  private writeSum(): void {
    if (this.saved === undefined || this.sumWritten) return;
    try {
      fs.writeFileSync(this.sumPath, stateSum(this.savedBytes ?? this.saved));
      this.sumWritten = true;
    } catch {
      // without it the next open validates state.json: slower, never wrong
    }
  }

  mkdirp(dir: string): void {
    mkdirp(dir);
  }

  markClean(): void {
    this.clean = true;
  }

  close(): void {
    if (this.lock && this.clean) {
      // A clean close follows an open that validated what it loaded (Simulator.open): its sum may be kept.
      this.writeSum();
      try {
        fs.writeFileSync(path.join(this.root, CLOSED_FILE), '');
      } catch {
        // without it the next open checks every VM's files: slower, never wrong
      }
    }
    this.clean = false;
    this.lock?.release();
    this.lock = undefined;
  }
}

/** Remove a record file no index names; best effort (one left is never read, and the next open finds it again). */
function removeLeftover(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // left for the next open
  }
}

/** Write a file that does not exist yet (or is an unfinished save's: records.ts) and fsync it. */
function writeNew(file: string, text: string): void {
  try {
    writeWhole(file, text, true);
  } catch (e) {
    throw fsError(e, file, 'write');
  }
}

/** The text of a small file, or undefined when it cannot be read. */
function readSmall(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Remove `file`; whether it was there. */
function removeIfPresent(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(e, file, 'remove');
  }
}

/**
 * Copy a state directory to `dest` (which must not exist), without its lock, so that a host
 * opened on the copy never touches the original (hvsim run --what-if): the copy's records are
 * re-pointed at the copy's files, and disks the VMs use from outside the directory (attached
 * with new-vm --vhd-path) are copied too, under `dest/external/`, folder by folder.
 */
export function copyStateDirectory(root: string, dest: string): void {
  const from = path.resolve(root);
  const to = path.resolve(dest);
  fs.cpSync(from, to, { recursive: true, errorOnExist: true, force: false, filter: (src) => path.resolve(src) !== path.join(from, LOCK_FILE) && path.resolve(src) !== path.join(from, CLOSED_FILE) });
  const state = readStateDirectory(to);
  if (state === undefined) return;
  const outside = new Map<string, string>();
  const move = (p: string): string => {
    if (p === from || p.startsWith(from + path.sep)) return to + p.slice(from.length);
    const dir = path.dirname(p);
    let mapped = outside.get(dir);
    if (mapped === undefined) {
      mapped = path.join(to, 'external', String(outside.size));
      outside.set(dir, mapped);
      mkdirp(mapped);
    }
    const copy = path.join(mapped, path.basename(p));
    if (fs.existsSync(p) && !fs.existsSync(copy)) fs.copyFileSync(p, copy);
    return copy;
  };
  for (const vm of state.vms) {
    vm.path = move(vm.path);
    for (const d of vm.drives) {
      d.path = move(d.path);
      for (const f of d.files) {
        f.path = move(f.path);
        if (f.parent !== null) f.parent = move(f.parent);
      }
    }
    for (const s of vm.snapshots) s.drives = s.drives.map(move);
    // Folders of VM files (src/sim/vm-files.ts): inside the state directory they move with it.
    const inside = (p: string): string => (p === from || p.startsWith(from + path.sep) ? to + p.slice(from.length) : p);
    if (vm.snapshotFileLocation !== undefined) vm.snapshotFileLocation = inside(vm.snapshotFileLocation);
    if (vm.smartPagingFilePath !== undefined) vm.smartPagingFilePath = inside(vm.smartPagingFilePath);
    for (const s of vm.snapshots) if (s.fileLocation !== undefined) s.fileLocation = inside(s.fileLocation);
    // An unfinished clean-up step names files too (the copy's restart finishes it on the copy).
    const p = vm.pendingStep;
    if (p) {
      const st = p.step;
      p.step =
        st.kind === 'delete'
          ? { kind: 'delete', file: move(st.file) }
          : st.kind === 'merge-into-child'
            ? { kind: 'merge-into-child', file: move(st.file), child: move(st.child) }
            : { kind: 'merge-down', base: move(st.base), leaf: move(st.leaf), between: st.between.map(move) };
    }
  }
  if (state.creating) state.creating = state.creating.map((c) => ({ file: move(c.file), parent: c.parent === null ? null : move(c.parent) }));
  if (state.vmFiles) state.vmFiles = state.vmFiles.map(move);
  for (const vm of state.vms) if (vm.vmFiles) vm.vmFiles = vm.vmFiles.map(move);
  writeStateDirectory(to, state);
}
