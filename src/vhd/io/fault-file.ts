import { HvsimError } from '../../errors.js';
import type { BlockFile } from './block-file.js';
import { MemoryFile } from './memory-file.js';

/** How a simulated crash treats the writes that were not yet flushed. */
export type CrashMode =
  | 'keep-all' // every write issued before the crash reached the disk
  | 'lose-unflushed' // only writes covered by a completed flush of their file survive
  | 'torn'; // like keep-all, but the crashing write lands only its first 4 KiB-aligned part

/**
 * A budget of mutating operations shared by any number of files (and store operations): the
 * operation that would exceed `crashAfter` "cuts the power" and throws FAULT_INJECTED, and so does
 * every later one. Run once with `crashAfter: Infinity` to count the operations of a scenario.
 */
export interface FaultBudget {
  crashAfter: number;
  mode: CrashMode;
  ops: number;
  crashed: boolean;
}

export function faultBudget(crashAfter = Infinity, mode: CrashMode = 'keep-all'): FaultBudget {
  return { crashAfter, mode, ops: 0, crashed: false };
}

function fault(name: string, b: FaultBudget): HvsimError {
  return new HvsimError('FAULT_INJECTED', `${name}: simulated crash after ${b.ops} operations`, { file: name });
}

/**
 * A memory file that obeys a FaultBudget. Used by crash-consistency tests at every write index:
 * `image()` returns what would be on disk after the crash.
 */
export class FaultFile implements BlockFile {
  readonly name: string;
  readonly readOnly = false;
  private readonly mem: MemoryFile;
  private readonly budget: FaultBudget;
  /** Undo records of writes since this file's last flush. */
  private pending: Array<{ offset: number; old: Uint8Array; oldSize: number }> = [];

  /**
   * `initial` is copied, or a MemoryFile whose bytes this file works on in place (a store's
   * shared copy). `plan` may be a budget shared with other files, or just {crashAfter, mode}.
   */
  constructor(name: string, initial?: Uint8Array | MemoryFile, plan?: FaultBudget | { crashAfter: number; mode: CrashMode }) {
    this.name = name;
    this.mem = initial instanceof MemoryFile ? initial : new MemoryFile(name, initial);
    this.budget = plan === undefined ? faultBudget() : 'ops' in plan ? plan : faultBudget(plan.crashAfter, plan.mode);
  }

  /** Operations spent so far on this file's budget. */
  get operations(): number {
    return this.budget.ops;
  }
  get hasCrashed(): boolean {
    return this.budget.crashed;
  }

  /** Spend one operation of `b`; returns false when this operation is the one that crashes. */
  static spend(b: FaultBudget, name: string): void {
    if (!FaultFile.tryStep(b)) throw fault(name, b);
  }
  private static tryStep(b: FaultBudget): boolean {
    if (b.crashed) return false;
    if (b.ops >= b.crashAfter) {
      b.crashed = true;
      return false;
    }
    b.ops++;
    return true;
  }

  read(buf: Uint8Array, offset: number): number {
    if (this.budget.crashed) throw fault(this.name, this.budget);
    return this.mem.read(buf, offset);
  }

  write(buf: Uint8Array, offset: number): void {
    const wasCrashed = this.budget.crashed;
    if (!FaultFile.tryStep(this.budget)) {
      if (!wasCrashed && this.budget.mode === 'torn' && buf.length > 1) {
        const edge = 4096 - (offset % 4096);
        const cut = edge < buf.length ? edge : buf.length >>> 1;
        this.mem.write(buf.subarray(0, cut), offset);
      }
      throw fault(this.name, this.budget);
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
    if (!FaultFile.tryStep(this.budget)) throw fault(this.name, this.budget);
    const oldSize = this.mem.size();
    const old = new Uint8Array(Math.max(0, oldSize - size));
    this.mem.read(old, size);
    this.pending.push({ offset: size, old, oldSize });
    this.mem.truncate(size);
  }

  flush(): void {
    if (!FaultFile.tryStep(this.budget)) throw fault(this.name, this.budget);
    this.pending = [];
  }

  close(): void {}

  /** The bytes that would be on disk now (after a crash: what survived it). */
  image(): Uint8Array {
    if (!this.losesUnflushed()) return this.mem.bytes();
    const m = new MemoryFile(this.name, this.mem.bytes());
    this.undoUnflushed(m);
    return m.bytes();
  }

  /** Whether a crash has happened that takes back unflushed writes. */
  losesUnflushed(): boolean {
    return this.budget.crashed && this.budget.mode === 'lose-unflushed';
  }

  /** Take this handle's unflushed writes back out of `m` (newest first). */
  undoUnflushed(m: MemoryFile): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      m.truncate(Math.max(p.oldSize, p.offset));
      m.write(p.old, p.offset);
      m.truncate(p.oldSize);
    }
  }
}
