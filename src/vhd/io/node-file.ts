import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { HvsimError } from '../../errors.js';
import type { BlockFile } from './block-file.js';
import { errnoCode, fsError } from './fs-error.js';
import { acquireLock, releaseLock } from './lock-file.js';

/**
 * Create a folder and its missing parents, in bounded time: one mkdir per missing level, from the
 * top down (Node's recursive mkdir loops for ever where mkdir fails with ENOENT under an existing
 * folder, as in /proc). Fails with the folder named and the reason.
 */
export function mkdirp(dir: string): void {
  const abs = nodePath.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = nodePath.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw fsError(e, d, 'create folder');
    }
    if (st) {
      if (!st.isDirectory()) throw new HvsimError('INVALID_ARGUMENT', d === abs ? `${dir}: is a file, not a folder` : `${dir}: ${d} is a file, not a folder`, { file: d });
      break;
    }
    missing.push(d);
    if (d === nodePath.dirname(d)) break;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && fs.statSync(d).isDirectory()) continue; // made meanwhile
      // The parent exists (made or checked above): ENOENT here is the file system refusing.
      if (errnoCode(e) === 'ENOENT') throw new HvsimError('IO', `${d}: this file system does not allow creating a folder here`, { file: d, cause: e });
      throw fsError(e, d, 'create folder');
    }
  }
}

/**
 * Move a finished file into place under a name that must not exist yet (a hard link refuses to
 * replace), then make the new name durable by syncing the folder.
 */
export function renameNoReplace(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
    fs.unlinkSync(from);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new HvsimError('INVALID_ARGUMENT', `${to}: file already exists`, { file: to });
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw fsError(e, to, 'rename');
    // A file system without hard links: check, then rename.
    if (fs.existsSync(to)) throw new HvsimError('INVALID_ARGUMENT', `${to}: file already exists`, { file: to });
    try {
      fs.renameSync(from, to);
    } catch (e2) {
      throw fsError(e2, to, 'rename');
    }
  }
  syncFolder(to);
}

/**
 * Replace a small file atomically: write a temporary beside it, fsync, rename over it, sync the
 * folder. A crash leaves the old file or the new one, never a mix. Text is written as UTF-8.
 * `durable: false` skips both syncs (readers still see the old file or the new one whole), for
 * files rebuilt from others after a crash.
 */
export function writeFileAtomic(path: string, text: string | Uint8Array, opts: { durable?: boolean } = {}): void {
  const durable = opts.durable ?? true;
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeWhole(tmp, text, durable);
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the folder refuses: the temporary is left, and never read
    }
    throw fsError(e, path, 'write');
  }
  if (durable) syncFolder(path);
}

/**
 * Create or truncate `path` and write all of `text` (UTF-8) to it, fsync'ed when `durable`; the
 * raw error of whatever failed (the callers name the file they meant).
 */
export function writeWhole(path: string, text: string | Uint8Array, durable: boolean): void {
  const fd = fs.openSync(path, 'w');
  try {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, done);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync the folder holding `path` (a new or removed name survives a power cut); best effort. */
export function syncFolder(path: string): void {
  const slash = path.lastIndexOf('/');
  let fd = -1;
  try {
    fd = fs.openSync(slash > 0 ? path.slice(0, slash) : slash === 0 ? '/' : '.', 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems cannot sync a folder
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

const EMPTY = new Uint8Array(0);

/** A real file on disk, positional synchronous I/O through fs.readvSync/writeSync. */
export class NodeFile implements BlockFile {
  readonly name: string;
  readonly readOnly: boolean;
  private fd: number;
  private cachedSize: number;
  private readonly durable: boolean;
  private lock: string | undefined;
  /**
   * Whether a write or truncate may not be on disk yet. True at open (a file may hold another
   * process's unsynced writes, which flush() must cover); a flush with nothing written since the
   * last one skips its fdatasync (a new disk's creation and close both flush: one sync, not two).
   */
  private dirty = true;

  private constructor(name: string, fd: number, readOnly: boolean, durable: boolean) {
    this.name = name;
    this.fd = fd;
    this.readOnly = readOnly;
    this.durable = durable;
    this.cachedSize = fs.fstatSync(fd).size;
  }

  /** Open or create with the writer's lock held from before the open until close(). */
  private static locked(path: string, readOnly: boolean, durable: boolean, openFd: () => number): NodeFile {
    const lock = readOnly ? undefined : acquireLock(path);
    try {
      const f = new NodeFile(path, openFd(), readOnly, durable);
      f.lock = lock;
      return f;
    } catch (e) {
      if (lock) releaseLock(lock);
      throw e;
    }
  }

  /**
   * `durable: false` turns flush() into a no-op: write order is kept but nothing waits for the
   * disk. Only for files that are worthless after a crash (generated benchmark workloads).
   */
  static open(path: string, mode: 'r' | 'rw', opts: { durable?: boolean } = {}): NodeFile {
    // A FIFO or device would block or never end: only regular files are disks.
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (e) {
      throw fsError(e, path, 'open');
    }
    if (!st.isFile()) throw new HvsimError('INVALID_ARGUMENT', `${path}: not a regular file`, { file: path });
    return NodeFile.locked(path, mode === 'r', opts.durable ?? true, () => {
      try {
        return fs.openSync(path, mode === 'r' ? 'r' : 'r+');
      } catch (e) {
        throw fsError(e, path, 'open');
      }
    });
  }

  /** Create a new file; refuses to replace an existing one unless `overwrite`. */
  static create(path: string, overwrite = false, opts: { durable?: boolean } = {}): NodeFile {
    return NodeFile.locked(path, false, opts.durable ?? true, () => {
      try {
        return fs.openSync(path, overwrite ? 'w+' : 'wx+');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new HvsimError('INVALID_ARGUMENT', `${path}: file already exists`, { file: path });
        throw fsError(e, path, 'create');
      }
    });
  }

  /**
   * One pread either way, but fs.readvSync validates two arguments where fs.readSync validates
   * five, each through a wrapper that allocates its arguments in unoptimized code (Node 20): a cold
   * read-vhd at depth 64 does ~4,800 reads (issue 20). An offset readvSync would not check (not a
   * whole number >= 0) goes to readSync, which refuses it as before.
   */
  read(buf: Uint8Array, offset: number): number {
    try {
      if (!Number.isSafeInteger(offset) || offset < 0) return fs.readSync(this.fd, buf, 0, buf.length, offset);
      this.iov[0] = buf;
      return fs.readvSync(this.fd, this.iov, offset);
    } catch (e) {
      throw fsError(e, this.name, 'read');
    } finally {
      this.iov[0] = EMPTY; // the caller's buffer is not kept
    }
  }
  /** read's buffer list, reused. */
  private readonly iov: Uint8Array[] = [EMPTY];

  write(buf: Uint8Array, offset: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    this.dirty = true;
    try {
      let done = 0;
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, offset + done);
    } catch (e) {
      throw fsError(e, this.name, 'write');
    }
    if (offset + buf.length > this.cachedSize) this.cachedSize = offset + buf.length;
  }

  /** The open descriptor, for a reader on another thread (src/vhd/io/parallel-read.ts); -1 once closed. */
  get descriptor(): number {
    return this.fd;
  }

  size(): number {
    return this.cachedSize;
  }

  truncate(size: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    this.dirty = true;
    try {
      fs.ftruncateSync(this.fd, size);
    } catch (e) {
      throw fsError(e, this.name, 'truncate');
    }
    this.cachedSize = size;
  }

  flush(): void {
    if (this.readOnly || !this.durable || !this.dirty) return;
    try {
      fs.fdatasyncSync(this.fd);
      this.dirty = false;
    } catch (e) {
      throw fsError(e, this.name, 'flush');
    }
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
    if (this.lock) releaseLock(this.lock);
    this.lock = undefined;
  }
}
