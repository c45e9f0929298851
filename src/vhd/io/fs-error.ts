import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { HvsimError, type HvsimErrorCode } from '../../errors.js';

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
