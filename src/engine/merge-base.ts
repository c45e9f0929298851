/** What merge-down and remove-layer share (src/engine/merge.ts): options, results, locks, closing after a failure. */
import type { DiskImage } from '../vhd/disk.js';
import type { DiskStore } from './store.js';

export type Progress = (done: number, total: number) => void;

export interface MergeOptions {
  /** Called as the copy advances: bytes of virtual disk scanned so far, and in all. */
  onProgress?: Progress;
  /**
   * Children the operation would break (another child of the destination or of a layer being
   * removed, found in their folders): 'refuse' (default) fails before changing anything.
   */
  otherChildren?: 'refuse' | 'ignore';
}

export interface MergeDownResult {
  op: 'merge-down';
  destination: string;
  /** Files removed, leaf first. */
  removed: string[];
  /** True when an interrupted run of the same merge was completed instead. */
  resumed: boolean;
}

export interface RemoveLayerResult {
  op: 'remove-layer';
  layer: string;
  /** The layer was kept (several children, Hyper-V's rule). */
  kept: boolean;
  removed: string[];
  children: string[];
  /** The children's parent afterwards (the layer itself when kept); null when they became base disks. */
  parent: string | null;
  resumed: boolean;
}

export type MergeResult = MergeDownResult | RemoveLayerResult;

export function closeImage(img: DiskImage | undefined, ok: boolean): void {
  if (!img) return;
  if (ok) {
    img.close();
    return;
  }
  // After a failure, leave a VHDX's session as a crash would (its log replays on the next open).
  const a = (img as { abandon?: () => void }).abandon;
  try {
    if (typeof a === 'function') a.call(img);
    else img.close();
  } catch {
    // already failing
  }
}

/** Run `fn` with a way to take writer's locks (DiskStore.lockWriter), all released at the end. */
export function withWriterLocks<T>(store: DiskStore, fn: (lock: (p: string) => void) => T): T {
  const held: Array<{ release(): void }> = [];
  try {
    return fn((p) => void held.push(store.lockWriter(p)));
  } finally {
    for (const h of held.reverse()) h.release();
  }
}
