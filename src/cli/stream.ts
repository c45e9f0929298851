/**
 * Bulk data in and out of the CLI, a chunk at a time (constant memory whatever the size): stdin or
 * an input file, stdout or an output file. Synchronous, like all of hvsim's disk I/O.
 */
import * as fs from 'node:fs';
import { isAllZero } from '../vhd/common/bytes.js';
import { HvsimError } from '../errors.js';
import { fsError } from '../vhd/io/fs-error.js';
import { syncFolder } from '../vhd/io/node-file.js';
import { partialPath } from '../engine/store.js';

/** Wait a little for a non-blocking stdin/stdout (EAGAIN) to be ready again. */
function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
}

/** Write all of `data` at the descriptor's position (pipes take it in parts). */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(fd, data, done, data.length - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        pause();
        continue;
      }
      throw e;
    }
  }
}

/** Fill as much of `buf` as the input gives before EOF (pipes return short reads). */
export function readSomeSync(fd: number, buf: Uint8Array): number {
  let got = 0;
  while (got < buf.length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, got, buf.length - got, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        pause();
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Where input comes from: `size` is known for a regular file, not for stdin or a pipe. */
export interface Input {
  readonly size: number | undefined;
  /** Fill `buf` unless the input ends first; the bytes read (0 at the end). */
  read(buf: Uint8Array): number;
  close(): void;
}

/** A file to read from start to end, or stdin when `file` is undefined. */
export function openInput(file: string | undefined): Input {
  const name = file ?? 'stdin';
  let fd = 0;
  if (file !== undefined) {
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw fsError(e, file, 'open');
    }
  }
  let size: number | undefined;
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new HvsimError('INVALID_ARGUMENT', `${name}: is a folder`, { file: name });
    // stdin's position in a redirected file is not known: only a named file's size is.
    if (file !== undefined && st.isFile()) size = st.size;
  } catch (e) {
    if (fd !== 0) fs.closeSync(fd);
    throw fsError(e, name, 'open');
  }
  return {
    size,
    read: (buf) => {
      try {
        return readSomeSync(fd, buf);
      } catch (e) {
        throw fsError(e, name, 'read');
      }
    },
    close: () => {
      if (fd !== 0) fs.closeSync(fd);
    },
  };
}

/** Where output goes, in order; nothing is under the target's name until finish(). */
export interface Output {
  write(data: Uint8Array): void;
  /** All written: flush, and put the file in place. */
  finish(): void;
  /** Failed: remove what was written (an existing target stays as it was). */
  discard(): void;
}

/**
 * stdout when `file` is undefined; a device or pipe (e.g. /dev/null) is written directly. A regular
 * file (new or replaced) is written as `<file>.hvsim-new` beside it, sparse where the data is zero,
 * synced, then renamed over it: a failure or a crash never leaves a partial file under its name.
 */
export function openOutput(file: string | undefined): Output {
  if (file === undefined) return { write: (d) => writeAllSync(1, d), finish: () => {}, discard: () => {} };
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, file, 'open');
  }
  if (st?.isDirectory()) throw new HvsimError('INVALID_ARGUMENT', `${file}: is a folder`, { file });
  if (st && !st.isFile()) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'w');
    } catch (e) {
      throw fsError(e, file, 'open');
    }
    return {
      write: (d) => writeAllSync(fd, d),
      finish: () => fs.closeSync(fd),
      discard: () => fs.closeSync(fd),
    };
  }
  let target = file;
  try {
    if (st) {
      fs.accessSync(file, fs.constants.W_OK); // replaced only where it could be written
      target = fs.realpathSync(file); // through a symbolic link, the file it names is replaced
    }
  } catch (e) {
    throw fsError(e, file, 'open');
  }
  const tmp = partialPath(target);
  let fd = -1;
  try {
    fs.rmSync(tmp, { force: true }); // a leftover of an interrupted run
    fd = fs.openSync(tmp, 'wx');
    if (st) fs.fchmodSync(fd, st.mode & 0o7777);
  } catch (e) {
    if (fd >= 0) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    }
    throw fsError(e, file, 'create');
  }
  let pos = 0;
  const discard = (): void => {
    process.off('exit', discard);
    if (fd >= 0) fs.closeSync(fd);
    fd = -1;
    fs.rmSync(tmp, { force: true });
  };
  // An interrupt ends the process at once (interrupt.ts): the temporary goes with it.
  process.on('exit', discard);
  return {
    write: (d) => {
      try {
        if (!isAllZero(d)) for (let done = 0; done < d.length; ) done += fs.writeSync(fd, d, done, d.length - done, pos + done);
      } catch (e) {
        throw fsError(e, file, 'write');
      }
      pos += d.length;
    },
    finish: () => {
      try {
        fs.ftruncateSync(fd, pos); // the zeros after the last data written
        fs.fdatasyncSync(fd);
        fs.closeSync(fd);
        fd = -1;
        fs.renameSync(tmp, target);
        process.off('exit', discard);
      } catch (e) {
        discard();
        throw fsError(e, file, 'write');
      }
      syncFolder(target);
    },
    discard,
  };
}
