/** Merge-VHD: merge a leaf and the layers above an ancestor into it (the steps are in src/engine/merge.ts). */
import { HvsimError, invalidArgument } from '../errors.js';
import type { DiskImage } from '../vhd/disk.js';
import { Chain, openLayerForMerge } from './chain.js';
import { journalPath, pendingFor, writeJournal, type MergeDownJournal, type MergeJournal } from './journal.js';
import { closeImage, withWriterLocks, type MergeDownResult, type MergeOptions } from './merge-base.js';
import { copyStack } from './run-writer.js';
import type { DiskStore } from './store.js';
import { TreeScan } from './tree.js';

/**
 * Merge `childPath` (a leaf) and every layer between it and `destinationPath` (default: its
 * parent) into the destination; the merged files are removed (Merge-VHD; docs/formats.md, "Merging").
 */
export function mergeDown(store: DiskStore, childPath: string, destinationPath?: string, opts: MergeOptions = {}): MergeDownResult {
  const leaf = store.absolutePath(childPath);
  // No process may write the leaf (or a layer merged away) from the first look until it is gone.
  return withWriterLocks(store, (lock) => {
    lock(leaf);
    return mergeDownLocked(store, leaf, destinationPath, opts, lock);
  });
}

function mergeDownLocked(store: DiskStore, leaf: string, destinationPath: string | undefined, opts: MergeOptions, lock: (p: string) => void): MergeDownResult {
  const dest = destinationPath === undefined ? undefined : store.absolutePath(destinationPath);
  const same = (j: MergeJournal): boolean => j.op === 'merge-down' && j.leaf === leaf && (dest === undefined || j.destination === dest);
  const files = [leaf, ...(dest ? [dest] : [])];
  const pend = pendingFor(store, files, same);
  if (pend) {
    (pend.journal as MergeDownJournal).removed.forEach(lock);
    return runMergeDown(store, pend.path, pend.journal as MergeDownJournal, opts, true);
  }
  if (!store.exists(leaf)) throw new HvsimError('NOT_FOUND', `${leaf}: no such file`, { file: leaf });

  const chain = Chain.open(leaf, { store });
  let journal: MergeDownJournal;
  try {
    if (chain.depth < 2) throw invalidArgument('is a base disk: it has no parent to merge into', leaf);
    const d = dest === undefined ? chain.depth - 2 : chain.paths.indexOf(dest);
    if (d < 0) throw invalidArgument(`${dest} is not an ancestor of ${leaf} (its chain: ${chain.paths.join(' <- ')})`);
    if (d === chain.depth - 1) throw invalidArgument('cannot merge a disk into itself', leaf);
    const destination = chain.paths[d]!;
    const removed = chain.paths.slice(d + 1).reverse();
    removed.forEach(lock);
    pendingFor(store, [destination, ...removed], () => false);
    // Every file that links to a layer this merge changes or removes would break.
    const scan = new TreeScan(store);
    const others: string[] = [];
    for (let i = d; i < chain.depth; i++) {
      const next = chain.paths[i + 1];
      for (const c of scan.childrenOf(chain.paths[i]!)) if (c !== next) others.push(c);
    }
    const destOthers = scan.childrenOf(destination).filter((c) => c !== chain.paths[d + 1]);
    if (others.length > 0 && (opts.otherChildren ?? 'refuse') === 'refuse')
      throw new HvsimError('INVALID_STATE', `${leaf}: merging into ${destination} would break ${others.join(', ')} (other children of the layers involved)`, { file: leaf });
    journal = { hvsim: 'merge-journal', version: 1, op: 'merge-down', phase: 'copy', leaf, destination, removed, destinationLeaf: destOthers.length === 0 };
  } finally {
    chain.close();
  }
  const jp = journalPath(journal.destination);
  writeJournal(store, jp, journal);
  // No writes to the leaf while it is being merged away.
  store.setReadOnly(leaf, true);
  return runMergeDown(store, jp, journal, opts, false);
}

export function runMergeDown(store: DiskStore, jp: string, j: MergeDownJournal, opts: MergeOptions, resumed: boolean): MergeDownResult {
  if (j.phase === 'copy') {
    copyDown(store, jp, j, opts);
    j = { ...j, phase: 'commit' };
    writeJournal(store, jp, j);
  }
  // Commit: the destination reads what the leaf read. Drop the merged files, leaf first.
  for (const p of j.removed) store.remove(p);
  store.setReadOnly(j.destination, false);
  const d = openLayerForMerge(store, j.destination, true);
  let ok = false;
  try {
    d.renewIdentity?.(); // its content changed: any other child no longer matches (docs/formats.md, "Merging")
    ok = true;
  } finally {
    closeImage(d, ok);
  }
  store.setReadOnly(j.destination, !j.destinationLeaf);
  store.remove(jp);
  return { op: 'merge-down', destination: j.destination, removed: j.removed, resumed };
}

function copyDown(store: DiskStore, jp: string, j: MergeDownJournal, opts: MergeOptions): void {
  const chain = Chain.open(j.leaf, { store });
  let dst: DiskImage | undefined;
  let ok = false;
  try {
    const d = chain.paths.indexOf(j.destination);
    const expect = chain.paths.slice(d + 1).reverse();
    if (d < 0 || expect.length !== j.removed.length || expect.some((p, i) => p !== j.removed[i]))
      throw new HvsimError('CHAIN', `${jp}: the chain of ${j.leaf} (${chain.paths.join(' <- ')}) no longer matches the merge it records`, { file: jp });
    const upper = chain.layers.slice(d + 1);
    store.setReadOnly(j.destination, false);
    // Identity kept during the copy: the layers above still link to it if we stop here.
    dst = openLayerForMerge(store, j.destination, true, { keepIdentity: true });
    const total = dst.virtualSize;
    copyStack(upper, dst, { progress: (done) => opts.onProgress?.(done, total) });
    dst.flush();
    ok = true;
  } finally {
    closeImage(dst, ok);
    chain.close();
  }
}
