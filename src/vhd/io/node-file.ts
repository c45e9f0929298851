import * as fs from 'node:fs';
import { HvsimError } from '../common/errors.js';
import type { BlockFile } from './block-file.js';

function ioError(path: string, what: string, e: unknown): HvsimError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new HvsimError('NOT_FOUND', `${path}: no such file`, { file: path, cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new HvsimError('READ_ONLY', `${path}: permission denied (${what})`, { file: path, cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new HvsimError('IO', `${path}: ${what} failed: ${msg}`, { file: path, cause: e });
}

/** In-process count of writable handles per lock file. */
const held = new Map<string, number>();

/** The lock beside a file: ".NAME.hvsim-lock" holding the owner's pid. */
function lockPath(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.hvsim-lock`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the writer's lock of `path`: one writing process per disk file, as Hyper-V holds its
 * disks open exclusively. A lock left by a process that no longer exists is taken over.
 */
function acquireLock(path: string): string {
  const lock = lockPath(path);
  const n = held.get(lock);
  if (n !== undefined) {
    held.set(lock, n + 1);
    return lock;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      held.set(lock, 1);
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(path, 'lock', e);
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(lock, 'utf8'));
      } catch {
        // vanished between the two calls: try again
      }
      if (Number.isInteger(owner) && owner > 0 && alive(owner))
        throw new HvsimError('BUSY', `${path}: in use by another hvsim process (pid ${owner})`, { file: path });
      try {
        fs.unlinkSync(lock);
      } catch {
        // someone else removed it
      }
    }
  }
  throw new HvsimError('BUSY', `${path}: could not take the writer's lock`, { file: path });
}

function releaseLock(lock: string): void {
  const n = held.get(lock) ?? 0;
  if (n > 1) {
    held.set(lock, n - 1);
    return;
  }
  held.delete(lock);
  try {
    fs.unlinkSync(lock);
  } catch {
    // already gone
  }
}

/**
 * Hold the writer's lock of `path` without opening it: for an operation that will change, freeze
 * or delete a file it only reads (merge, create child), so that no writer is at work meanwhile.
 */
export function lockWriter(path: string): { release(): void } {
  const lock = acquireLock(path);
  let held = true;
  return {
    release: () => {
      if (held) releaseLock(lock);
      held = false;
    },
  };
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
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw ioError(to, 'rename', e);
    // A file system without hard links: check, then rename.
    if (fs.existsSync(to)) throw new HvsimError('INVALID_ARGUMENT', `${to}: file already exists`, { file: to });
    try {
      fs.renameSync(from, to);
    } catch (e2) {
      throw ioError(to, 'rename', e2);
    }
  }
  syncFolder(to);
}

/**
 * Replace a small text file atomically: write a temporary beside it, fsync, rename over it, sync
 * the folder. A crash leaves the old file or the new one, never a mix.
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
  syncFolder(path);
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

/** A real file on disk, positional synchronous I/O through fs.readSync/writeSync. */
export class NodeFile implements BlockFile {
  readonly name: string;
  readonly readOnly: boolean;
  private fd: number;
  private cachedSize: number;
  private readonly durable: boolean;
  private lock: string | undefined;

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
      throw ioError(path, 'open', e);
    }
    if (!st.isFile()) throw new HvsimError('INVALID_ARGUMENT', `${path}: not a regular file`, { file: path });
    return NodeFile.locked(path, mode === 'r', opts.durable ?? true, () => {
      try {
        return fs.openSync(path, mode === 'r' ? 'r' : 'r+');
      } catch (e) {
        throw ioError(path, 'open', e);
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
        throw ioError(path, 'create', e);
      }
    });
  }

  read(buf: Uint8Array, offset: number): number {
    try {
      return fs.readSync(this.fd, buf, 0, buf.length, offset);
    } catch (e) {
      throw ioError(this.name, 'read', e);
    }
  }

  write(buf: Uint8Array, offset: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    try {
      let done = 0;
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, offset + done);
    } catch (e) {
      throw ioError(this.name, 'write', e);
    }
    if (offset + buf.length > this.cachedSize) this.cachedSize = offset + buf.length;
  }

  size(): number {
    return this.cachedSize;
  }

  truncate(size: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    try {
      fs.ftruncateSync(this.fd, size);
    } catch (e) {
      throw ioError(this.name, 'truncate', e);
    }
    this.cachedSize = size;
  }

  flush(): void {
    if (this.readOnly || !this.durable) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw ioError(this.name, 'flush', e);
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
