/** Resuming interrupted merges from their journals (src/engine/merge.ts). */
import * as path from 'node:path';
import { Chain, type ChainOpenOptions } from './chain.js';
import { JOURNAL_SUFFIX, journalFiles, pendingJournals, readJournal, type MergeJournal } from './journal.js';
import type { MergeOptions, MergeResult } from './merge-base.js';
import { runMergeDown } from './merge-down.js';
import { runRemoveLayer } from './remove-layer.js';
import { NodeDiskStore, type DiskStore } from './store.js';

function runJournal(store: DiskStore, jp: string, j: MergeJournal, opts: MergeOptions): MergeResult {
  return j.op === 'merge-down' ? runMergeDown(store, jp, j, opts, true) : runRemoveLayer(store, jp, j, opts, true);
}

/**
 * Complete interrupted merges: `target` is a journal, a disk file (the journals in its folder that
 * involve it), or a folder (every journal in it).
 */
export function resumeMerges(store: DiskStore, target: string, opts: MergeOptions = {}): MergeResult[] {
  return journalsFor(store, target).map((x) => runJournal(store, x.path, x.journal, opts));
}

/** The journals resumeMerges(target) runs: `target` is a journal, a disk file (its journals) or a folder. */
export function journalsFor(store: DiskStore, target: string): Array<{ path: string; journal: MergeJournal }> {
  const abs = store.absolutePath(target);
  if (abs.endsWith(JOURNAL_SUFFIX)) {
    const j = readJournal(store, abs);
    return j ? [{ path: abs, journal: j }] : [];
  }
  if (/\.(a?vhdx|a?vhd)$/i.test(abs)) return pendingJournals(store, path.posix.dirname(abs)).filter((x) => journalFiles(x.journal).includes(abs));
  return pendingJournals(store, abs);
}

/**
 * Open a chain after finishing any interrupted merge recorded in the leaf's folder. A leaf that a
 * finished merge removed is replaced by the merge's destination (which now reads what it read).
 */
export function openChainResuming(leafPath: string, opts: ChainOpenOptions = {}): Chain {
  const store = opts.store ?? new NodeDiskStore();
  const abs = store.absolutePath(leafPath);
  let target = abs;
  for (const x of pendingJournals(store, path.posix.dirname(abs))) {
    runJournal(store, x.path, x.journal, {});
    if (x.journal.op === 'merge-down' && x.journal.removed.includes(abs)) target = x.journal.destination;
  }
  return Chain.open(store.exists(abs) ? abs : target, { ...opts, store });
}
