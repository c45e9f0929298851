import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { HvsimError, type HvsimErrorCode } from '../common/errors.js';
import type { BlockFile } from './block-file.js';

/**
 * The operating system's refusals in plain words, with the error code each becomes (and so the
 * CLI's exit status: NOT_FOUND 3, INVALID_ARGUMENT 2, BUSY 4, the others 1).
 */
const ERRNO: Record<string, [HvsimErrorCode, string]> = {
  ENOENT: ['NOT_FOUND', 'no such file or folder'],
  ENOTDIR: ['INVALID_ARGUMENT', 'a part of the path is a file, not a folder'],
  EISDIR: ['INVALID_ARGUMENT', 'is a folder, not a file'],
  EEXIST: ['INVALID_ARGUMENT', 'already exists'],
  ENOTEMPTY: ['INVALID_ARGUMENT', 'the folder is not empty'],
  ENAMETOOLONG: ['INVALID_ARGUMENT', 'the name is too long'],
  ELOOP: ['INVALID_ARGUMENT', 'too many levels of symbolic links'],
  EXDEV: ['INVALID_ARGUMENT', 'on another file system'],
  EACCES: ['READ_ONLY', 'permission denied'],
  EPERM: ['READ_ONLY', 'operation not permitted'],
  EROFS: ['READ_ONLY', 'read-only file system'],
  EBUSY: ['BUSY', 'busy (in use by the system)'],
  ETXTBSY: ['BUSY', 'busy (in use by the system)'],
  ENOSPC: ['IO', 'no space left on the device'],
  EDQUOT: ['IO', 'disk quota exceeded'],
  EFBIG: ['IO', 'the file is too large for its file system'],
  EIO: ['IO', 'input/output error (the device failed)'],
  EMFILE: ['IO', 'too many open files'],
  ENFILE: ['IO', 'too many open files'],
  ENXIO: ['IO', 'no such device'],
  ENODEV: ['IO', 'no such device'],
};

/** The errno code of an error thrown by node:fs (undefined for anything else). */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** The nearest existing ancestor of `p` that is not a folder, if a file stands in the path. */
function fileInPath(p: string): string | undefined {
  for (let d = nodePath.dirname(p); d !== nodePath.dirname(d); d = nodePath.dirname(d)) {
    try {
      return fs.statSync(d).isDirectory() ? undefined : d;
    } catch {
      // missing too: look further up
    }
  }
  return undefined;
}

/**
 * The one conversion of a node:fs error into an HvsimError naming `path` and the reason in plain
 * words; `what` is the operation ("open", "create", "write"…). Used at every fs call of hvsim, and
 * by the CLI for any fs error that still escapes.
 */
export function fsError(e: unknown, path: string, what: string): HvsimError {
  if (e instanceof HvsimError) return e;
  const code = errnoCode(e);
  const opts = { file: path, cause: e };
  if (code === 'ENOENT') {
    const dir = nodePath.dirname(path);
    if (dir !== path && !fs.existsSync(dir)) return new HvsimError('NOT_FOUND', `${path}: the folder ${dir} does not exist`, opts);
    return new HvsimError('NOT_FOUND', `${path}: no such file`, opts);
  }
  if (code === 'ENOTDIR') {
    const file = fileInPath(path);
    if (file !== undefined) return new HvsimError('INVALID_ARGUMENT', `${path}: ${file} is a file, not a folder`, opts);
  }
  const known = code === undefined ? undefined : ERRNO[code];
  if (known) return new HvsimError(known[0], `${path}: ${known[1]} (${what})`, opts);
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return new HvsimError('IO', `${path}: ${what} failed: ${msg}`, opts);
}

/** Run one fs call about `path`; its error becomes fsError's. */
export function fsCall<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fsError(e, path, what);
  }
}

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

/** In-process count of writable handles per lock file. */
const held = new Map<string, number>();

/** State-directory locks this process holds (src/sim/storage.ts), for releaseAllLocks(). */
const otherLocks = new Set<string>();

/** Note a lock file of another kind taken (true) or released (false) by this process. */
export function noteLockFile(file: string, taken: boolean): void {
  if (taken) otherLocks.add(file);
  else otherLocks.delete(file);
}

/**
 * Remove every lock file this process holds, for a process about to exit on an interrupt: what
 * it was doing stops where it is, as after a kill, and the next command starts from there.
 */
export function releaseAllLocks(): void {
  for (const lock of [...held.keys(), ...otherLocks]) {
    try {
      fs.unlinkSync(lock);
    } catch {
      // already gone
    }
  }
  held.clear();
  otherLocks.clear();
}

/** The lock beside a file: ".NAME.hvsim-lock" holding the owner's pid. */
function lockPath(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.hvsim-lock`;
}

/** Whether process `pid` exists on this machine (a lock's owner). */
export function processAlive(pid: number): boolean {
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
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(e, path, 'lock');
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(lock, 'utf8'));
      } catch {
        // vanished between the two calls: try again
      }
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner))
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
 * Replace a small text file atomically: write a temporary beside it, fsync, rename over it, sync
 * the folder. A crash leaves the old file or the new one, never a mix.
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the folder refuses: the temporary is left, and never read
    }
    throw fsError(e, path, 'write');
  }
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

  read(buf: Uint8Array, offset: number): number {
    try {
      return fs.readSync(this.fd, buf, 0, buf.length, offset);
    } catch (e) {
      throw fsError(e, this.name, 'read');
    }
  }

  write(buf: Uint8Array, offset: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    try {
      let done = 0;
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, offset + done);
    } catch (e) {
      throw fsError(e, this.name, 'write');
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
      throw fsError(e, this.name, 'truncate');
    }
    this.cachedSize = size;
  }

  flush(): void {
    if (this.readOnly || !this.durable) return;
    try {
      fs.fdatasyncSync(this.fd);
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
