import { HvsimError } from '../common/errors.js';
import type { BlockFile } from './block-file.js';
import { MemoryFile } from './memory-file.js';

/** How a simulated crash treats the writes that were not yet flushed. */
export type CrashMode =
  | 'keep-all' // every write issued before the crash reached the disk
  | 'lose-unflushed' // only writes covered by a completed flush survive
  | 'torn'; // like keep-all, but the crashing write lands only its first 4 KiB-aligned part

export interface FaultPlan {
  /** Crash when this many mutating operations (write, truncate, flush) have completed. */
  crashAfter: number;
  mode: CrashMode;
}

/**
 * A memory file that simulates a power cut after the k-th mutating operation: the operation
 * that would exceed the budget throws FAULT_INJECTED, and so does every later one. `image()`
 * then returns what would be on disk. Used by crash-consistency tests at every write index.
 */
export class FaultFile implements BlockFile {
  readonly name: string;
  readonly readOnly = false;
  private readonly mem: MemoryFile;
  private ops = 0;
  private crashed = false;
  private plan: FaultPlan | undefined;
  /** Undo records of writes since the last flush: [offset, old bytes, old size]. */
  private pending: Array<{ offset: number; old: Uint8Array; oldSize: number }> = [];

  constructor(name: string, initial?: Uint8Array, plan?: FaultPlan) {
    this.name = name;
    this.mem = new MemoryFile(name, initial);
    this.plan = plan;
  }

  /** Number of mutating operations seen so far (run once without a plan to count them). */
  get operations(): number {
    return this.ops;
  }
  get hasCrashed(): boolean {
    return this.crashed;
  }

  private step(): boolean {
    if (this.crashed) throw this.fault();
    if (this.plan && this.ops >= this.plan.crashAfter) {
      this.crashed = true;
      return false;
    }
    this.ops++;
    return true;
  }

  private fault(): HvsimError {
    return new HvsimError('FAULT_INJECTED', `${this.name}: simulated crash after ${this.ops} operations`, {
      file: this.name,
    });
  }

  read(buf: Uint8Array, offset: number): number {
    if (this.crashed) throw this.fault();
    return this.mem.read(buf, offset);
  }

  write(buf: Uint8Array, offset: number): void {
    if (!this.step()) {
      if (this.plan?.mode === 'torn' && buf.length > 0) {
        // Land the first 4 KiB-aligned piece only (or half a small write).
        const cut = Math.min(buf.length, 4096 - (offset % 4096)) >= buf.length ? buf.length >>> 1 : 4096 - (offset % 4096);
        if (cut > 0) this.mem.write(buf.subarray(0, cut), offset);
      }
      this.finishCrash();
      throw this.fault();
    }
    const oldSize = this.mem.size();
    const old = new Uint8Array(buf.length);
    this.mem.read(old, offset);
    this.pending.push({ offset, old, oldSize });
    this.mem.write(buf, offset);
  }

  size(): number {
    return this.mem.size();
  }

  truncate(size: number): void {
    if (!this.step()) {
      this.finishCrash();
      throw this.fault();
    }
    const oldSize = this.mem.size();
    const old = new Uint8Array(Math.max(0, oldSize - size));
    this.mem.read(old, size);
    this.pending.push({ offset: size, old, oldSize });
    this.mem.truncate(size);
  }

  flush(): void {
    if (!this.step()) {
      this.finishCrash();
      throw this.fault();
    }
    this.pending = [];
  }

  close(): void {}

  private finishCrash(): void {
    if (this.plan?.mode !== 'lose-unflushed') return;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      this.mem.truncate(Math.max(p.oldSize, p.offset));
      this.mem.write(p.old, p.offset);
      this.mem.truncate(p.oldSize);
    }
    this.pending = [];
  }

  /** The bytes that would be on disk now (after a crash: what survived it). */
  image(): Uint8Array {
    return this.mem.bytes();
  }
}
