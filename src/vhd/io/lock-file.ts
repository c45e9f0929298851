import * as fs from 'node:fs';
import * as os from 'node:os';
import { HvsimError } from '../../errors.js';
import { fsError } from './fs-error.js';

/**
 * The one PID lock file of hvsim, used for a disk's writer lock (".NAME.hvsim-lock") and a state
 * directory's lock ("lock"): three lines, the owner's pid, host name and time of taking.
 *
 * The file is written whole beside its name and hard-linked into place, so another process never
 * reads it half-written: a lock file without a pid is damage (or a file system without hard
 * links, which gets `open('wx')` then write), stale after a grace period.
 */

/** Who holds a lock, as read from its file. */
export interface LockOwner {
  /** The pid, when the file names one. */
  pid: number | undefined;
  /** The lock can be taken over: its process is gone (same host), or it names none and is old. */
  stale: boolean;
  /** The file's text, to check before taking it over that it is still the same lock. */
  text: string;
}

/** Time after which a lock file that names no process is taken for a crash's leftover. */
const UNNAMED_GRACE_MS = 5000;

/** Whether process `pid` exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The text this process writes into a lock it takes. */
function ownerText(): string {
  return `${process.pid}\n${os.hostname()}\n${new Date().toISOString()}\n`;
}

/**
 * Create `file` holding this process's pid, unless it exists. True when taken; false when another
 * lock is there. `what` names the thing locked in an error.
 */
export function tryCreateLock(file: string, what: string): boolean {
  const text = ownerText();
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, text, { flag: 'w' });
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw fsError(e, what, 'lock');
    return createInPlace(file, text, what);
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

/** A file system without hard links: create empty, then write (a reader may see it empty). */
function createInPlace(file: string, text: string, what: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsError(e, what, 'lock');
  }
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Who holds `file`; undefined when there is no lock file (any more). */
export function readLockOwner(file: string): LockOwner | undefined {
  let text: string;
  let mtime: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  const [pidText, host] = text.split('\n');
  const pid = Number(pidText);
  if (!pidText || !Number.isInteger(pid) || pid <= 0) return { pid: undefined, stale: Date.now() - mtime > UNNAMED_GRACE_MS, text };
  // A lock of another machine (a shared folder) cannot be checked: it is never taken over.
  const sameHost = host === undefined || host === '' || host === os.hostname();
  return { pid, stale: sameHost && pid !== process.pid && !processAlive(pid), text };
}

/** Remove a stale lock, only if it still holds what was read (someone may have taken it since). */
export function removeStaleLock(file: string, owner: LockOwner): void {
  try {
    if (fs.readFileSync(file, 'utf8') === owner.text) fs.unlinkSync(file);
  } catch {
    // someone else removed or replaced it
  }
}

/** Remove a lock this process holds. */
export function removeLock(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

/** In-process count of writable handles per writer's lock. */
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
  for (const lock of [...held.keys(), ...otherLocks]) removeLock(lock);
  held.clear();
  otherLocks.clear();
}

/** The writer's lock beside a disk file: ".NAME.hvsim-lock". */
function writerLockPath(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.hvsim-lock`;
}

/**
 * Take the writer's lock of `path`: one writing process per disk file, as Hyper-V holds its
 * disks open exclusively. Never waits: a live owner is BUSY at once; a dead one's lock is taken over.
 */
export function acquireLock(path: string): string {
  const lock = writerLockPath(path);
  const n = held.get(lock);
  if (n !== undefined) {
    held.set(lock, n + 1);
    return lock;
  }
  // Retry at once while the lock comes and goes between our calls (another process taking and
  // releasing it); bounded, so a file system that keeps refusing cannot loop for ever.
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (tryCreateLock(lock, path)) {
      held.set(lock, 1);
      return lock;
    }
    const owner = readLockOwner(lock);
    if (owner === undefined) continue; // released meanwhile
    if (!owner.stale)
      throw new HvsimError('BUSY', `${path}: in use by another hvsim process${owner.pid ? ` (pid ${owner.pid})` : ''}`, { file: path });
    removeStaleLock(lock, owner);
  }
  throw new HvsimError('BUSY', `${path}: could not take the writer's lock`, { file: path });
}

/** Release one hold of a writer's lock taken by acquireLock. */
export function releaseLock(lock: string): void {
  const n = held.get(lock) ?? 0;
  if (n > 1) {
    held.set(lock, n - 1);
    return;
  }
  held.delete(lock);
  removeLock(lock);
}

/**
 * Hold the writer's lock of `path` without opening it: for an operation that will change, freeze
 * or delete a file it only reads (merge, create child), so that no writer is at work meanwhile.
 */
export function lockWriter(path: string): { release(): void } {
  const lock = acquireLock(path);
  let isHeld = true;
  return {
    release: () => {
      if (isHeld) releaseLock(lock);
      isHeld = false;
    },
  };
}
