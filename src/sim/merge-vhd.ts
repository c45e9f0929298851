/**
 * Merge-VHD on disk files (https://learn.microsoft.com/powershell/module/hyper-v/merge-vhd):
 * merge a differencing disk and the layers between into an ancestor (default: its parent) with
 * the engine (mergeDown). "Merge is an offline operation; the virtual hard disk chain must not be
 * attached when merge is initiated": a file a simulated VM uses (as its disk, a checkpoint's or
 * an ancestor of either, in any state) is refused. One implementation for `hvsim merge-vhd`
 * (src/cli/commands/chain.ts, which runs the engine step in a worker) and the Merge-VHD cmdlet
 * (Simulator.mergeVHD).
 */
import { Chain } from '../engine/chain.js';
import { mergeDown, type MergeDownResult, type MergeOptions } from '../engine/merge.js';
import type { DiskStore } from '../engine/store.js';
import { HvsimError } from '../errors.js';
import { ownerReason, type DiskOwner } from './owner.js';

/** The files a merge changes or removes: the leaf, the layers between and the destination (its parent by default). */
export function mergedFiles(store: DiskStore, leaf: string, destination: string | undefined): string[] {
  let chain: Chain;
  try {
    chain = Chain.open(leaf, { store });
  } catch {
    return [store.absolutePath(leaf), ...(destination !== undefined ? [store.absolutePath(destination)] : [])]; // mergeDown reports what is wrong
  }
  try {
    const up = [...chain.paths].reverse(); // leaf first (Chain.paths is base first)
    const dest = destination !== undefined ? store.absolutePath(destination) : up[1];
    const end = dest === undefined ? -1 : up.indexOf(dest);
    return end < 0 ? [up[0]!, ...(dest !== undefined ? [dest] : [])] : up.slice(0, end + 1);
  } finally {
    chain.close();
  }
}

/** The first of the merge's files that a VM uses, with its owner (the merge must be refused), or undefined. */
export function attachedMergeFile(store: DiskStore, leaf: string, destination: string | undefined, ownerOf: (file: string) => DiskOwner | undefined): { file: string; owner: DiskOwner } | undefined {
  for (const file of mergedFiles(store, leaf, destination)) {
    const owner = ownerOf(file);
    if (owner) return { file, owner };
  }
  return undefined;
}

export interface MergeVhdOptions {
  destinationPath?: string;
  /** Merge even when other children of the layers involved would break (Merge-VHD -Force). */
  force?: boolean;
  onProgress?: MergeOptions['onProgress'];
}

/** Merge-VHD: refuse a chain a VM uses (INVALID_STATE), then merge (the engine's errors: NOT_FOUND for a missing file, …). */
export function mergeVhd(store: DiskStore, leaf: string, ownerOf: (file: string) => DiskOwner | undefined, opts: MergeVhdOptions = {}): MergeDownResult {
  const hit = attachedMergeFile(store, leaf, opts.destinationPath, ownerOf);
  if (hit)
    throw new HvsimError(
      'INVALID_STATE',
      `Merge-VHD: ${hit.file} ${ownerReason(hit.owner)}; merge is an offline operation: the virtual hard disk chain must not be attached (remove the VM's checkpoints with Remove-VMSnapshot, which merges its files)`,
      { file: hit.file },
    );
  return mergeDown(store, leaf, opts.destinationPath, { otherChildren: opts.force ? 'ignore' : 'refuse', ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
}
