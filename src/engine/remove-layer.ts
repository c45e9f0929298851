/** Removing a layer, as deleting a checkpoint does (the steps are in src/engine/merge.ts). */
import * as path from 'node:path';
import { ioBuffer, isAllZero } from '../vhd/common/bytes.js';
import { HvsimError, invalidArgument } from '../errors.js';
import { BLOCK_PARENT, BLOCK_PARTIAL, readImage, type DiskImage } from '../vhd/disk.js';
import { openLayer, openLayerForMerge } from './chain.js';
import { journalPath, pendingFor, writeJournal, type MergeJournal, type RemoveLayerJournal } from './journal.js';
import { closeImage, withWriterLocks, type MergeOptions, type Progress, type RemoveLayerResult } from './merge-base.js';
import { linksTo, parentCandidates } from './parent.js';
import { CHUNK, copyStack } from './run-writer.js';
import { ResolvedMap, THROUGH } from './resolved-map.js';
import type { DiskStore } from './store.js';
import { TreeScan } from './tree.js';

// ---- Removing the layer ----

/**
 * Remove the layer `layerPath` whose children are `children` (docs/hyperv.md, "Disk files"):
 * 'copy' merges it into each child and deletes it; 'keep' leaves it (Hyper-V keeps the disk of a
 * checkpoint with several children). With no children it is simply deleted.
 */
export function removeLayer(store: DiskStore, layerPath: string, children: string[], mode: 'copy' | 'keep', opts: MergeOptions = {}): RemoveLayerResult {
  return withWriterLocks(store, (lock) => {
    lock(store.absolutePath(layerPath));
    return removeLayerLocked(store, layerPath, children, mode, opts);
  });
}

function removeLayerLocked(store: DiskStore, layerPath: string, children: string[], mode: 'copy' | 'keep', opts: MergeOptions): RemoveLayerResult {
  const target = store.absolutePath(layerPath);
  const kids = [...new Set(children.map((c) => store.absolutePath(c)))].sort();
  const same = (j: MergeJournal): boolean => j.op === 'remove-layer' && j.target === target;
  const pend = pendingFor(store, [target, ...kids], same);
  if (pend) return runRemoveLayer(store, pend.path, pend.journal as RemoveLayerJournal, opts, true);
  if (!store.exists(target)) throw new HvsimError('NOT_FOUND', `${target}: no such file`, { file: target });

  const scan = new TreeScan(store);
  for (const c of kids) {
    const l = scan.parentOf(c);
    if (l.status !== 'ok' || l.path !== target)
      throw invalidArgument(`${c} is not a child of ${target} (${l.status === 'ok' ? `its parent is ${l.path}` : `parent link: ${l.status}`})`);
  }
  const all = scan.childrenOf(target, kids.map((c) => path.posix.dirname(c)));
  const missing = all.filter((c) => !kids.includes(c));
  if (mode === 'keep') return { op: 'remove-layer', layer: target, kept: true, removed: [], children: all, parent: target, resumed: false };
  if (missing.length > 0 && (opts.otherChildren ?? 'refuse') === 'refuse')
    throw new HvsimError('INVALID_STATE', `${target}: removing it would break its other children ${missing.join(', ')}`, { file: target });

  const up = scan.parentOf(target);
  if (up.status !== 'ok' && up.status !== 'base')
    throw new HvsimError(up.status === 'missing' ? 'PARENT_MISSING' : up.status === 'mismatch' ? 'PARENT_MISMATCH' : 'CORRUPT', `${target}: its parent link is ${up.status}${up.path ? ` (${up.path})` : ''}; cannot re-point its children`, { file: target });
  const parent = up.status === 'ok' ? up.path! : null;
  const journal: RemoveLayerJournal = {
    hvsim: 'merge-journal', version: 1, op: 'remove-layer', phase: 'copy', target, parent, children: kids,
    childrenReadOnly: kids.map((c) => store.isReadOnly(c)),
  };
  const jp = journalPath(target);
  writeJournal(store, jp, journal);
  return runRemoveLayer(store, jp, journal, opts, false);
}

/** Hyper-V's rule for the disk of a deleted checkpoint: no child → delete, one → merge into it, several → keep. */
export function deleteCheckpointDisk(store: DiskStore, layerPath: string, opts: MergeOptions = {}): RemoveLayerResult {
  const target = store.absolutePath(layerPath);
  const kids = new TreeScan(store).childrenOf(target);
  return removeLayer(store, target, kids, kids.length > 1 ? 'keep' : 'copy', opts);
}

export function runRemoveLayer(store: DiskStore, jp: string, j: RemoveLayerJournal, opts: MergeOptions, resumed: boolean): RemoveLayerResult {
  const total = Math.max(1, j.children.length);
  if (j.phase === 'copy') {
    const m = openLayer(store, j.target, false);
    try {
      j.children.forEach((c, i) => copyIntoChild(store, j, m, c, (done, size) => opts.onProgress?.(i * size + done, total * size)));
    } finally {
      m.close();
    }
    j = { ...j, phase: 'relink' };
    writeJournal(store, jp, j);
  }
  if (j.phase === 'relink') {
    const p = j.parent ? openLayer(store, j.parent, false) : undefined;
    try {
      for (const c of j.children) {
        store.setReadOnly(c, false);
        const img = openLayerForMerge(store, c, true, { keepIdentity: true });
        let ok = false;
        try {
          // Re-point the child (docs/formats.md, "Merging"), or make it a base.
          if (p && j.parent) img.reparent(p, j.parent, c);
          else img.dropParent();
          ok = true;
        } finally {
          closeImage(img, ok);
        }
      }
    } finally {
      p?.close();
    }
    j = { ...j, phase: 'remove' };
    writeJournal(store, jp, j);
  }
  store.remove(j.target);
  j.children.forEach((c, i) => {
    if (store.exists(c)) store.setReadOnly(c, j.childrenReadOnly[i] ?? false);
  });
  store.remove(jp);
  return { op: 'remove-layer', layer: j.target, kept: false, removed: [j.target], children: j.children, parent: j.parent, resumed };
}

/**
 * Copy the layer into one child where the child holds nothing of its own. The child's view is
 * unchanged, so it keeps its identity and its children stay valid. When the layer is a base, the
 * child is about to become one: its partially present blocks are rewritten whole (the sectors it
 * did not hold must read as the layer's, and a base file has no sector bitmaps, MS-VHDX §2.4).
 */
function copyIntoChild(store: DiskStore, j: RemoveLayerJournal, m: DiskImage, childPath: string, progress: Progress): void {
  let c: DiskImage | undefined;
  let ok = false;
  try {
    store.setReadOnly(childPath, false);
    c = openLayerForMerge(store, childPath, true, { keepIdentity: true });
    const loc = c.parentLocator;
    if (!loc || !linksTo(loc, m.identity) || !parentCandidates(childPath, loc).includes(j.target))
      throw new HvsimError('CHAIN', `${childPath}: no longer a child of ${j.target}; cannot complete the removal`, { file: childPath });
    const size = c.virtualSize;
    const child = c;
    if (j.parent === null) makeStandaloneContent(m, child, (done) => progress(done, size));
    else copyStack([m, child], child, { skipLayer: 1, progress: (done) => progress(done, size) });
    child.flush();
    ok = true;
  } finally {
    closeImage(c, ok);
  }
}

/**
 * The child of a base that is about to become a base itself: every block it does not fully hold
 * is written whole with what it reads now (its own sectors over the base's, zeros where neither
 * has data), so no partially present block is left (a base has no sector bitmaps, MS-VHDX §2.4) and
 * blocks that read as zeros stay unallocated. Its view does not change.
 */
function makeStandaloneContent(m: DiskImage, child: DiskImage, progress: (done: number) => void): void {
  const bs = child.blockSize;
  const size = child.virtualSize;
  const held = new ResolvedMap([m]);
  let pending: Uint8Array[] = [];
  let pendingAt = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const total = pending.reduce((a, b) => a + b.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const p of pending) {
      buf.set(p, o);
      o += p.length;
    }
    child.writeSectors(buf, pendingAt);
    pending = [];
  };
  for (let k = 0; k < child.blockCount; k++) {
    const off = k * bs;
    const len = Math.min(bs, size - off);
    const st = child.blockState(k);
    let take = st === BLOCK_PARTIAL;
    if (st === BLOCK_PARENT) held.forEachRun(off, len, (o) => (take ||= o !== THROUGH));
    let buf: Uint8Array | undefined;
    if (take) {
      buf = ioBuffer(len);
      readImage(child, buf, off, (b, o) => readImage(m, b, o));
      if (st === BLOCK_PARENT && isAllZero(buf)) buf = undefined;
    }
    if (!buf || (pending.length > 0 && pendingAt + pending.length * bs !== off) || pending.length * bs >= CHUNK) flush();
    if (buf) {
      if (pending.length === 0) pendingAt = off;
      pending.push(buf);
    }
    if ((k & 63) === 63) progress(Math.min(size, off + len));
  }
  flush();
  progress(size);
}
