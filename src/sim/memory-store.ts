/**
 * An in-memory DiskStore for simulated hosts: like a real file system, every handle of a file
 * shares one buffer, so opening a file costs nothing and readers see writes at once. (The engine's
 * MemoryDiskStore copies bytes on open so that crash tests can take durable snapshots; a host that
 * opens a chain for every guest write needs the cheap kind.) Imports: engine store, errors.
 */
import * as path from 'node:path';
import { HvsimError } from '../vhd/common/errors.js';
import type { BlockFile } from '../vhd/io/block-file.js';
import type { DiskStore } from '../engine/store.js';

class FileBytes {
  data = new Uint8Array(0);
  length = 0;
  readOnly = false;

  ensure(end: number): void {
    if (end <= this.data.length) return;
    let cap = Math.max(this.data.length * 2, 64 * 1024);
    while (cap < end) cap *= 2;
    const grown = new Uint8Array(Math.min(cap, end + 64 * 1024 * 1024));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
}

class SharedFile implements BlockFile {
  constructor(readonly name: string, private buf: FileBytes, readonly readOnly: boolean) {}

  read(out: Uint8Array, offset: number): number {
    const b = this.buf;
    if (offset >= b.length) return 0;
    const n = Math.min(out.length, b.length - offset);
    out.set(b.data.subarray(offset, offset + n));
    return n;
  }
  write(data: Uint8Array, offset: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    const b = this.buf;
    const end = offset + data.length;
    b.ensure(end);
    b.data.set(data, offset);
    if (end > b.length) b.length = end;
  }
  size(): number {
    return this.buf.length;
  }
  truncate(size: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    const b = this.buf;
    if (size > b.length) {
      b.ensure(size);
      b.data.fill(0, b.length, size);
    } else b.data.fill(0, size, b.length);
    b.length = size;
  }
  flush(): void {}
  close(): void {}
}

export class SharedMemoryStore implements DiskStore {
  private files = new Map<string, FileBytes>();

  private get(p: string): FileBytes {
    const b = this.files.get(path.posix.resolve(p));
    if (!b) throw new HvsimError('NOT_FOUND', `${p}: no such file`, { file: p });
    return b;
  }
  open(p: string, mode: 'r' | 'rw'): BlockFile {
    const abs = path.posix.resolve(p);
    return new SharedFile(abs, this.get(abs), mode === 'r');
  }
  create(p: string): BlockFile {
    const abs = path.posix.resolve(p);
    if (this.files.has(abs)) throw new HvsimError('INVALID_ARGUMENT', `${p}: file already exists`, { file: p });
    const b = new FileBytes();
    this.files.set(abs, b);
    return new SharedFile(abs, b, false);
  }
  exists(p: string): boolean {
    return this.files.has(path.posix.resolve(p));
  }
  remove(p: string): void {
    this.files.delete(path.posix.resolve(p));
  }
  isReadOnly(p: string): boolean {
    return this.files.get(path.posix.resolve(p))?.readOnly ?? false;
  }
  setReadOnly(p: string, readOnly: boolean): void {
    this.get(p).readOnly = readOnly;
  }
  readText(p: string): string | undefined {
    const b = this.files.get(path.posix.resolve(p));
    return b ? Buffer.from(b.data.subarray(0, b.length)).toString('utf8') : undefined;
  }
  writeTextAtomic(p: string, text: string): void {
    const b = new FileBytes();
    const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
    b.data = bytes;
    b.length = bytes.length;
    this.files.set(path.posix.resolve(p), b);
  }
  list(dir: string): string[] {
    const abs = path.posix.resolve(dir);
    const out: string[] = [];
    for (const k of this.files.keys()) if (path.posix.dirname(k) === abs) out.push(path.posix.basename(k));
    return out.sort();
  }
  resolve(p: string): string {
    return path.posix.resolve(p);
  }
  /** Total bytes held (for tests and analysis). */
  bytesHeld(): number {
    let n = 0;
    for (const b of this.files.values()) n += b.length;
    return n;
  }
}
