/**
 * What survived a crash, for reading only: the files of a MemoryDiskStore snapshot served without
 * copying (a MemoryDiskStore copies a file on every open). Chains open through it with the real
 * parent lookup; a VHDX log is replayed in memory; anything that would write is refused.
 * Shared by the crash tests (engine-crash, reliability-crash).
 */
import * as path from 'node:path';
import { HvsimError } from '../../src/errors.js';
import type { BlockFile } from '../../src/vhd/io/block-file.js';
import type { DiskStore, MemoryDiskStore } from '../../src/engine/store.js';

/** A read-only file over bytes, without copying them. */
export class BytesFile implements BlockFile {
  readonly readOnly = true;
  constructor(readonly name: string, private bytes: Uint8Array) {}
  read(buf: Uint8Array, offset: number): number {
    if (offset >= this.bytes.length) return 0;
    const n = Math.min(buf.length, this.bytes.length - offset);
    buf.set(this.bytes.subarray(offset, offset + n));
    return n;
  }
  write(): void {
    throw new HvsimError('READ_ONLY', `${this.name}: read-only snapshot`);
  }
  size(): number {
    return this.bytes.length;
  }
  truncate(): void {
    this.write();
  }
  flush(): void {}
  close(): void {}
}

export class SnapStore implements DiskStore {
  constructor(private files: Map<string, Uint8Array>, private ro: Set<string>) {}
  /** Files and read-only marks, as returned by MemoryDiskStore.snapshot() / readOnlyPaths(). */
  static of(f: { files: Map<string, Uint8Array>; ro: Set<string> }): SnapStore {
    return new SnapStore(f.files, f.ro);
  }
  /** What a store holds now (after a crash: what survived). */
  static ofStore(s: MemoryDiskStore): SnapStore {
    return new SnapStore(s.snapshot(), s.readOnlyPaths());
  }
  private refuse(p: string): never {
    throw new HvsimError('READ_ONLY', `${p}: read-only snapshot`);
  }
  open(p: string, mode: 'r' | 'rw'): BlockFile {
    const b = this.files.get(path.posix.resolve(p));
    if (!b) throw new HvsimError('NOT_FOUND', `${p}: no such file`);
    if (mode === 'rw') this.refuse(p);
    return new BytesFile(path.posix.resolve(p), b);
  }
  create(p: string): BlockFile {
    this.refuse(p);
  }
  exists(p: string): boolean {
    return this.files.has(path.posix.resolve(p));
  }
  remove(p: string): void {
    this.refuse(p);
  }
  rename(from: string): void {
    this.refuse(from);
  }
  lockWriter(p: string): { release(): void } {
    this.refuse(p);
  }
  isReadOnly(p: string): boolean {
    return this.ro.has(path.posix.resolve(p));
  }
  setReadOnly(p: string): void {
    this.refuse(p);
  }
  readText(p: string): string | undefined {
    const b = this.files.get(path.posix.resolve(p));
    return b && Buffer.from(b).toString('utf8');
  }
  writeTextAtomic(p: string): void {
    this.refuse(p);
  }
  list(dir: string): string[] {
    const d = path.posix.resolve(dir);
    return [...this.files.keys()].filter((k) => path.posix.dirname(k) === d).map((k) => path.posix.basename(k)).sort();
  }
  mkdirp(): void {}
  absolutePath(p: string): string {
    return path.posix.resolve(p);
  }
}
