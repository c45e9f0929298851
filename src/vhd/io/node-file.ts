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

/** A real file on disk, positional synchronous I/O through fs.readSync/writeSync. */
export class NodeFile implements BlockFile {
  readonly name: string;
  readonly readOnly: boolean;
  private fd: number;
  private cachedSize: number;
  private readonly durable: boolean;

  private constructor(name: string, fd: number, readOnly: boolean, durable: boolean) {
    this.name = name;
    this.fd = fd;
    this.readOnly = readOnly;
    this.durable = durable;
    this.cachedSize = fs.fstatSync(fd).size;
  }

  /**
   * `durable: false` turns flush() into a no-op: write order is kept but nothing waits for the
   * disk. Only for files that are worthless after a crash (generated benchmark workloads).
   */
  static open(path: string, mode: 'r' | 'rw', opts: { durable?: boolean } = {}): NodeFile {
    try {
      return new NodeFile(path, fs.openSync(path, mode === 'r' ? 'r' : 'r+'), mode === 'r', opts.durable ?? true);
    } catch (e) {
      throw ioError(path, 'open', e);
    }
  }

  /** Create a new file; refuses to replace an existing one unless `overwrite`. */
  static create(path: string, overwrite = false, opts: { durable?: boolean } = {}): NodeFile {
    try {
      return new NodeFile(path, fs.openSync(path, overwrite ? 'w+' : 'wx+'), false, opts.durable ?? true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new HvsimError('INVALID_ARGUMENT', `${path}: file already exists`, { file: path });
      throw ioError(path, 'create', e);
    }
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
  }
}
