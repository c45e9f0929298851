import { HvsimError } from '../../errors.js';
import type { BlockFile } from './block-file.js';

/** An in-memory file: growable byte array. Used by tests, the simulator and log replay overlays. */
export class MemoryFile implements BlockFile {
  readonly name: string;
  readonly readOnly: boolean;
  private data: Uint8Array;
  private length: number;

  constructor(name = 'memory', initial?: Uint8Array, readOnly = false) {
    this.name = name;
    this.readOnly = readOnly;
    this.data = initial ? new Uint8Array(initial) : new Uint8Array(0);
    this.length = this.data.length;
  }

  read(buf: Uint8Array, offset: number): number {
    if (offset >= this.length) return 0;
    const n = Math.min(buf.length, this.length - offset);
    buf.set(this.data.subarray(offset, offset + n));
    return n;
  }

  write(buf: Uint8Array, offset: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    const end = offset + buf.length;
    this.ensure(end);
    this.data.set(buf, offset);
    if (end > this.length) this.length = end;
  }

  size(): number {
    return this.length;
  }

  truncate(size: number): void {
    if (this.readOnly) throw new HvsimError('READ_ONLY', `${this.name}: file is open read-only`, { file: this.name });
    if (size > this.length) {
      this.ensure(size);
      this.data.fill(0, this.length, size);
    } else this.data.fill(0, size, this.length); // a later extension must read zeros here
    this.length = size;
  }

  flush(): void {}
  close(): void {}

  /** A copy of the current contents. */
  bytes(): Uint8Array {
    return this.data.slice(0, this.length);
  }

  private ensure(end: number): void {
    if (end <= this.data.length) return;
    // Grow geometrically (appends stay linear), but never reserve more than 256 MiB past `end`.
    let cap = Math.max(this.data.length * 2, 64 * 1024);
    while (cap < end) cap *= 2;
    const grown = new Uint8Array(Math.min(cap, end + 256 * 1024 * 1024));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
}
