/**
 * Where the engine keeps its files: real files (NodeDiskStore) or memory (MemoryDiskStore, used by
 * the simulator's in-memory host and by crash tests, which share one fault budget across files).
 * Paths are POSIX-style strings in both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import type { BlockFile, PieceReader } from '../vhd/io/block-file.js';
import { ParallelReader } from '../vhd/io/parallel-read.js';
import { MemoryFile } from '../vhd/io/memory-file.js';
import { fsCall, fsError } from '../vhd/io/fs-error.js';
import { lockWriter } from '../vhd/io/lock-file.js';
import { mkdirp, NodeFile, renameNoReplace, writeFileAtomic } from '../vhd/io/node-file.js';
import { FaultFile, type FaultBudget } from '../vhd/io/fault-file.js';

/** How a new file is kept. */
export interface CreateOptions {
  /**
   * false: flushing need not wait for the disk (write order is kept). Only for files that are
   * worthless after a crash, such as a generated workload. Default true.
   */
  durable?: boolean;
}

export interface DiskStore {
  open(p: string, mode: 'r' | 'rw', opts?: CreateOptions): BlockFile;
  /** Create an empty file; fails if it exists. */
  create(p: string, opts?: CreateOptions): BlockFile;
  exists(p: string): boolean;
  /** A file's size without opening it (no lock), or undefined when absent; where offered. */
  sizeOf?(p: string): number | undefined;
  remove(p: string): void;
  isReadOnly(p: string): boolean;
  setReadOnly(p: string, readOnly: boolean): void;
  /** Small text files (merge journals): read, or undefined when absent. */
  readText(p: string): string | undefined;
  /** Replace a small text file atomically (write a temporary, flush, rename; `durable: false`: no flush). */
  writeTextAtomic(p: string, text: string, opts?: CreateOptions): void;
  /** Give a finished file its final name; fails if `to` exists. Durable once it returns. */
  rename(from: string, to: string): void;
  /**
   * Hold the writer's lock of a file without opening it (BUSY if another process writes it), for
   * operations that will change, freeze or delete a file they read. Re-entrant within a process.
   */
  lockWriter(p: string): { release(): void };
  /** Names of the entries of a folder. */
  list(dir: string): string[];
  /** Create a folder and any missing parents (nothing to do where folders are implicit). */
  mkdirp(dir: string): void;
  /** Remove a folder if it is empty (a folder with anything in it stays; none: folders are implicit). */
  removeEmptyFolder?(dir: string): void;
  /** The absolute form of a path (relative paths are taken from the current folder). */
  absolutePath(p: string): string;
  /**
   * A reader of many pieces of these files at once, split between threads (src/vhd/io/parallel-read.ts),
   * where the store offers one and can for these files; a chain's large reads use it.
   */
  pieceReader?(files: readonly BlockFile[]): PieceReader | undefined;
}

/**
 * A Windows drive path (C:\Exports) is not a path of this machine unless it runs Windows: resolved
 * here it would name a file called "C:\Exports" in the working folder. Refused instead (hvsim run
 * maps the simulated host's drives into the state directory before a path gets here).
 */
function refuseForeignDrivePath(p: string): void {
  if (path.sep !== '\\' && /^[A-Za-z]:[\\/]?/.test(p))
    throw new HvsimError('INVALID_ARGUMENT', `${p}: a Windows drive path, not a path of this machine (hvsim run maps C:\\… into the state directory; elsewhere give a folder of this machine)`, { file: p });
}

/** The name a new file is written under until it is complete (never taken for a disk). */
export function partialPath(p: string): string {
  return `${p}.hvsim-new`;
}

/**
 * Create `dest` whole or not at all: under the writer's lock of `dest`, write it as
 * `<dest>.hvsim-new` (a leftover of an earlier crash is removed first), flush and close it,
 * then rename it into place. `write` fills the file and returns what closes it (the image over it).
 * A crash leaves at most the partial file, never a half-written `dest`.
 */
export function createWhole(store: DiskStore, dest: string, write: (f: BlockFile) => { close(): void }): void {
  const lock = store.lockWriter(dest);
  try {
    if (store.exists(dest)) throw new HvsimError('INVALID_ARGUMENT', `${dest}: file already exists`, { file: dest });
    const tmp = partialPath(dest);
    store.remove(tmp);
    const f = store.create(tmp);
    try {
      // Nothing reads the file under its partial name, so the format code's own flushes (a new
      // VHDX syncs its body, then its headers) need not wait for the disk: one flush before the
      // rename makes the whole file durable (one fdatasync instead of two per new disk).
      write(withoutFlush(f)).close();
      f.flush();
      f.close();
    } catch (e) {
      try {
        f.close();
      } catch {
        // already failing
      }
      store.remove(tmp);
      throw namedAs(e, tmp, dest);
    }
    store.rename(tmp, dest);
  } finally {
    lock.release();
  }
}

/** `f` with flush() a no-op (close() still closes it: a second close of a BlockFile does nothing). */
function withoutFlush(f: BlockFile): BlockFile {
  return {
    get name() {
      return f.name;
    },
    get readOnly() {
      return f.readOnly;
    },
    read: (buf, offset) => f.read(buf, offset),
    write: (buf, offset) => f.write(buf, offset),
    size: () => f.size(),
    truncate: (size) => f.truncate(size),
    flush: () => {},
    close: () => {},
  };
}

/** An error about the temporary `tmp`, told about `dest` (the name the user gave). */
function namedAs(e: unknown, tmp: string, dest: string): unknown {
  if (!(e instanceof HvsimError) || (e.file !== tmp && !e.message.includes(tmp))) return e;
  const opts = { file: dest, cause: e, ...(e.offset !== undefined ? { offset: e.offset } : {}), ...(e.reason !== undefined ? { reason: e.reason } : {}) };
  return new HvsimError(e.code, e.message.split(tmp).join(dest), opts);
}

function notFound(p: string): HvsimError {
  return new HvsimError('NOT_FOUND', `${p}: no such file`, { file: p });
}

export class NodeDiskStore implements DiskStore {
  pieceReader(files: readonly BlockFile[]): PieceReader | undefined {
    const real: NodeFile[] = [];
    for (const f of files) {
      if (!(f instanceof NodeFile)) return undefined;
      real.push(f);
    }
    return new ParallelReader(real.map((f) => ({ fd: f.descriptor, name: f.name })));
  }
  open(p: string, mode: 'r' | 'rw', opts: CreateOptions = {}): BlockFile {
    return NodeFile.open(p, mode, opts);
  }
  create(p: string, opts: CreateOptions = {}): BlockFile {
    return NodeFile.create(p, false, opts);
  }
  exists(p: string): boolean {
    return fs.existsSync(p);
  }
  sizeOf(p: string): number | undefined {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p, { throwIfNoEntry: false });
    } catch (e) {
      throw fsError(e, p, 'stat');
    }
    return st?.isFile() ? st.size : undefined;
  }
  remove(p: string): void {
    try {
      fs.unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, p, 'remove');
    }
  }
  isReadOnly(p: string): boolean {
    try {
      return (fs.statSync(p).mode & 0o222) === 0;
    } catch {
      return false;
    }
  }
  setReadOnly(p: string, readOnly: boolean): void {
    fsCall(p, readOnly ? 'mark read-only' : 'mark writable', () => {
      const mode = fs.statSync(p).mode & 0o777;
      fs.chmodSync(p, readOnly ? mode & ~0o222 : mode | 0o200);
    });
  }
  readText(p: string): string | undefined {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError(e, p, 'read');
    }
  }
  writeTextAtomic(p: string, text: string, opts: CreateOptions = {}): void {
    writeFileAtomic(p, text, opts);
  }
  rename(from: string, to: string): void {
    renameNoReplace(from, to);
  }
  lockWriter(p: string): { release(): void } {
    return lockWriter(p);
  }
  list(dir: string): string[] {
    return fsCall(dir, 'list', () => fs.readdirSync(dir));
  }
  mkdirp(dir: string): void {
    mkdirp(dir);
  }
  removeEmptyFolder(dir: string): void {
    try {
      fs.rmdirSync(dir); // refuses a folder that holds anything
    } catch {
      // not empty, or gone: left as it is
    }
  }
  absolutePath(p: string): string {
    refuseForeignDrivePath(p);
    return path.resolve(p);
  }
}

interface MemEntry {
  /** The file's bytes, shared by every handle (as a file system shares its pages). */
  file: MemoryFile;
  readOnly: boolean;
  /** Writable handles under a fault budget: they know which writes are not yet flushed. */
  handles: FaultFile[];
}

/** A read-only handle on shared bytes. */
class ReadOnlyView implements BlockFile {
  readonly readOnly = true;
  constructor(readonly name: string, private readonly file: MemoryFile) {}
  read(buf: Uint8Array, offset: number): number {
    return this.file.read(buf, offset);
  }
  write(): void {
    throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
  }
  size(): number {
    return this.file.size();
  }
  truncate(): void {
    this.write();
  }
  flush(): void {}
  close(): void {}
}

/**
 * Files in memory; every handle of a file shares its bytes, so opening costs nothing. With a
 * FaultBudget every write, flush, truncate, create, remove and journal update counts against one
 * shared budget, so a test can cut the power at any point of a multi-file operation and then look
 * at what survived (`snapshot()`).
 */
export class MemoryDiskStore implements DiskStore {
  private files = new Map<string, MemEntry>();
  constructor(private budget?: FaultBudget) {}

  private entry(p: string): MemEntry {
    const e = this.files.get(path.posix.resolve(p));
    if (!e) throw notFound(p);
    return e;
  }
  private step(what: string): void {
    if (this.budget) FaultFile.spend(this.budget, what);
  }
  private handle(abs: string, e: MemEntry, mode: 'r' | 'rw'): BlockFile {
    if (mode === 'r') return new ReadOnlyView(abs, e.file);
    if (!this.budget) return e.file;
    const f = new FaultFile(abs, e.file, this.budget);
    e.handles.push(f);
    return f;
  }

  open(p: string, mode: 'r' | 'rw'): BlockFile {
    const abs = path.posix.resolve(p);
    return this.handle(abs, this.entry(abs), mode);
  }
  create(p: string): BlockFile {
    const abs = path.posix.resolve(p);
    if (this.files.has(abs)) throw new HvsimError('INVALID_ARGUMENT', `${p}: file already exists`, { file: p });
    this.step(`create ${abs}`);
    const e: MemEntry = { file: new MemoryFile(abs), readOnly: false, handles: [] };
    this.files.set(abs, e);
    return this.handle(abs, e, 'rw');
  }
  exists(p: string): boolean {
    return this.files.has(path.posix.resolve(p));
  }
  sizeOf(p: string): number | undefined {
    return this.files.get(path.posix.resolve(p))?.file.size();
  }
  remove(p: string): void {
    const abs = path.posix.resolve(p);
    if (!this.files.has(abs)) return;
    this.step(`remove ${abs}`);
    this.files.delete(abs);
  }
  isReadOnly(p: string): boolean {
    return this.files.get(path.posix.resolve(p))?.readOnly ?? false;
  }
  setReadOnly(p: string, readOnly: boolean): void {
    this.entry(p).readOnly = readOnly;
  }
  readText(p: string): string | undefined {
    const e = this.files.get(path.posix.resolve(p));
    return e ? Buffer.from(e.file.bytes()).toString('utf8') : undefined;
  }
  writeTextAtomic(p: string, text: string): void {
    this.step(`journal ${p}`);
    const abs = path.posix.resolve(p);
    this.files.set(abs, { file: new MemoryFile(abs, new Uint8Array(Buffer.from(text, 'utf8'))), readOnly: false, handles: [] });
  }
  rename(from: string, to: string): void {
    const src = path.posix.resolve(from);
    const dst = path.posix.resolve(to);
    const e = this.entry(src);
    if (this.files.has(dst)) throw new HvsimError('INVALID_ARGUMENT', `${to}: file already exists`, { file: to });
    this.step(`rename ${src}`);
    this.files.delete(src);
    this.files.set(dst, e);
  }
  /** One process: nothing to exclude. */
  lockWriter(): { release(): void } {
    return { release: () => {} };
  }
  list(dir: string): string[] {
    const abs = path.posix.resolve(dir);
    const out: string[] = [];
    for (const k of this.files.keys()) if (path.posix.dirname(k) === abs) out.push(path.posix.basename(k));
    return out.sort();
  }
  /** Folders are implicit (a file's folder is the dirname of its path). */
  mkdirp(_dir: string): void {}
  absolutePath(p: string): string {
    return path.posix.resolve(p);
  }

  /** Total bytes held (for tests and analysis). */
  bytesHeld(): number {
    let n = 0;
    for (const e of this.files.values()) n += e.file.size();
    return n;
  }

  /** Every file's durable bytes now (after a crash: what survived). */
  snapshot(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [k, e] of this.files) {
      // After a crash that loses unflushed writes, each handle takes back what it had not flushed.
      if (!e.handles.some((h) => h.losesUnflushed())) {
        out.set(k, e.file.bytes());
        continue;
      }
      const m = new MemoryFile(k, e.file.bytes());
      for (let i = e.handles.length - 1; i >= 0; i--) e.handles[i]!.undoUnflushed(m);
      out.set(k, m.bytes());
    }
    return out;
  }

  /** A fresh store holding these files (reopen after a crash), optionally with a new budget. */
  static from(files: Map<string, Uint8Array>, budget?: FaultBudget, readOnly: Set<string> = new Set()): MemoryDiskStore {
    const s = new MemoryDiskStore(budget);
    for (const [k, b] of files) s.files.set(k, { file: new MemoryFile(k, b), readOnly: readOnly.has(k), handles: [] });
    return s;
  }

  readOnlyPaths(): Set<string> {
    return new Set([...this.files].filter(([, e]) => e.readOnly).map(([k]) => k));
  }
}
