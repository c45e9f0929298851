/**
 * Merges that keep every remaining point in time (issue 4; docs/hyperv.md, "Disk files"; docs/formats.md, "Merging"):
 *
 * - mergeDown: Merge-VHD. A leaf and every layer between it and an ancestor are copied into the
 *   ancestor, then removed; the ancestor reads what the leaf read and gets a new identity.
 * - removeLayer: deleting a checkpoint. A middle layer's data is copied into its children where
 *   they hold nothing of their own (their view does not change, so their identity is kept and
 *   their own children stay valid), the children are re-pointed at its parent, and it is removed.
 *   With several children Hyper-V keeps the layer instead ('keep').
 *
 * Crash safety: each operation is driven by a small JSON journal written atomically next to the
 * file it is about (`<destination>.hvsim-merge.json` for merge-down, `<layer>.hvsim-merge.json` for
 * remove-layer). Every step is idempotent and ordered so that
 * at any moment the points in time that survive the operation read the same through Chain.open:
 *   merge-down:   journal(copy) → copy upper layers into the destination (identity kept, so the
 *                 leaf's chain still opens) → journal(commit) → remove leaf and layers between →
 *                 new destination identity → remove journal.
 *   remove-layer: journal(copy) → copy into each child (identity kept) → journal(relink) → point
 *                 each child at the layer's parent (or make it a base) → journal(remove) → remove
 *                 the layer → restore read-only marks → remove journal.
 * resumeMerges() (or running the same operation again) finishes an interrupted one.
 */
import * as path from 'node:path';
import { ioBuffer, isAllZero } from '../vhd/common/bytes.js';
import { HvsimError, invalidArgument } from '../errors.js';
import { BLOCK_DATA, BLOCK_PARENT, BLOCK_PARTIAL, BLOCK_ZERO, readImage, type DiskImage } from '../vhd/disk.js';
import { Chain, openLayer, openLayerForMerge, parentCandidates, readLayerData, type ChainOpenOptions } from './chain.js';
import { NodeDiskStore, type DiskStore } from './store.js';
import { TreeScan } from './tree.js';
import { JOURNAL_SUFFIX, journalFiles, journalPath, pendingJournals, readJournal, writeJournal, type MergeDownJournal, type MergeJournal, type RemoveLayerJournal } from './journal.js';

export { journalFiles, journalPath, pendingJournals, readJournal, type MergeJournal } from './journal.js';

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

/** Refuse to start while another operation on any of these files is unfinished; return a matching one to resume. */
function pendingFor(store: DiskStore, files: string[], same: (j: MergeJournal) => boolean): { path: string; journal: MergeJournal } | undefined {
  const dirs = [...new Set(files.map((f) => path.posix.dirname(f)))];
  for (const d of dirs)
    for (const x of pendingJournals(store, d)) {
      if (same(x.journal)) return x;
      if (journalFiles(x.journal).some((f) => files.includes(f)))
        throw new HvsimError('INVALID_STATE', `${x.path}: an interrupted ${x.journal.op} involves ${journalFiles(x.journal).filter((f) => files.includes(f)).join(', ')}; run resume-merge first`, { file: x.path });
    }
  return undefined;
}

// ---- Which layer supplies each run of sectors (no parent fall-through) ----

/** Owner code of a run: `layer * 2` data held by that layer, `layer * 2 + 1` zeros it sets, THROUGH: none of these layers holds it. */
export const THROUGH = -1;
const UNRESOLVED = -2;

/**
 * Call `fn` for each maximal run of [offset, offset+length) with one owner among `layers`
 * (bottom first): the topmost layer that holds data or zeros there, or THROUGH when every
 * layer falls through to whatever is below them. Block states first, sector bitmaps only for
 * partially present blocks.
 */
export function forEachStackRun(layers: readonly DiskImage[], offset: number, length: number, fn: (owner: number, offset: number, length: number) => void): void {
  const size = layers[0]!.virtualSize;
  const lss = layers[0]!.logicalSectorSize;
  const unit = Math.min(...layers.map((l) => l.blockSize));
  const end = Math.min(size, offset + length);
  let runOwner = UNRESOLVED;
  let runStart = 0;
  let runEnd = 0;
  const emit = (o: number, a: number, b: number): void => {
    if (b <= a) return;
    if (o === runOwner && a === runEnd) {
      runEnd = b;
      return;
    }
    if (runOwner !== UNRESOLVED) fn(runOwner, runStart, runEnd - runStart);
    runOwner = o;
    runStart = a;
    runEnd = b;
  };
  for (let u = Math.floor(offset / unit); u * unit < end; u++) {
    const uoff = u * unit;
    const ulen = Math.min(unit, size - uoff);
    const a = Math.max(offset, uoff);
    const b = Math.min(end, uoff + ulen);
    let whole = THROUGH;
    let map: Int32Array | undefined;
    let open = 0;
    for (let i = layers.length - 1; i >= 0 && (map === undefined || open > 0); i--) {
      const l = layers[i]!;
      const k = Math.floor(uoff / l.blockSize);
      const st = l.blockState(k);
      if (st === BLOCK_PARENT) continue;
      if (st === BLOCK_DATA || st === BLOCK_ZERO) {
        const o = i * 2 + (st === BLOCK_ZERO ? 1 : 0);
        if (map) for (let s = 0; s < map.length; s++) if (map[s] === UNRESOLVED) map[s] = o;
        whole = o;
        open = 0;
        break;
      }
      // BLOCK_PARTIAL: the sectors this layer holds (MS-VHDX §2.4 sector bitmap).
      if (!map) {
        map = new Int32Array(Math.ceil(ulen / lss)).fill(UNRESOLVED);
        open = map.length;
      }
      const m = map;
      const first = (uoff - k * l.blockSize) / lss;
      l.forEachSectorRun(k, first, m.length, (present, start, count) => {
        if (!present) return;
        for (let s = start - first; s < start - first + count; s++)
          if (m[s] === UNRESOLVED) {
            m[s] = i * 2;
            open--;
          }
      });
    }
    if (!map) {
      emit(whole, a, b);
      continue;
    }
    for (let s = Math.floor((a - uoff) / lss); s * lss + uoff < b; s++) {
      const v = map[s]!;
      emit(v === UNRESOLVED ? THROUGH : v, Math.max(a, uoff + s * lss), Math.min(b, uoff + (s + 1) * lss));
    }
  }
  if (runOwner !== UNRESOLVED) fn(runOwner, runStart, runEnd - runStart);
}

// ---- Copying runs into a destination ----

const CHUNK = 4 * 1024 * 1024;
const WINDOW = 64 * 1024 * 1024;

/**
 * Batches contiguous data into large writes. With `sparse` (a destination without a parent),
 * whole destination blocks that are all zeros are written as zeros (no data block).
 */
class RunWriter {
  private buf = ioBuffer(CHUNK);
  private start = 0;
  private len = 0;
  constructor(private dst: DiskImage, private sparse: boolean) {}

  data(src: DiskImage, offset: number, length: number): void {
    this.append(offset, length, (buf, off) => readLayerData(src, buf, off));
  }

  /** Zeros: whole destination blocks as zero blocks, the edges as data (fewer, larger commits). */
  zero(offset: number, length: number): void {
    if (this.dst.type === 'Fixed') {
      this.append(offset, length, (buf) => buf.fill(0)); // a fixed disk keeps every block allocated
      return;
    }
    const bs = this.dst.blockSize;
    const end = offset + length;
    const a = Math.ceil(offset / bs) * bs;
    const b = end === this.dst.virtualSize ? end : Math.floor(end / bs) * bs;
    if (b <= a) {
      this.append(offset, length, (buf) => buf.fill(0));
      return;
    }
    if (a > offset) this.append(offset, a - offset, (buf) => buf.fill(0));
    this.flush();
    this.dst.zeroSectors(a, b - a);
    if (end > b) this.append(b, end - b, (buf) => buf.fill(0));
  }

  private append(offset: number, length: number, fill: (buf: Uint8Array, offset: number) => void): void {
    if (this.len > 0 && offset !== this.start + this.len) this.flush();
    while (length > 0) {
      if (this.len === 0) this.start = offset;
      const n = Math.min(length, CHUNK - this.len);
      fill(this.buf.subarray(this.len, this.len + n), offset);
      this.len += n;
      offset += n;
      length -= n;
      if (this.len === CHUNK) this.flush();
    }
  }

  flush(): void {
    if (this.len === 0) return;
    const data = this.buf.subarray(0, this.len);
    const start = this.start;
    this.len = 0;
    if (!this.sparse) {
      this.dst.writeSectors(data, start);
      return;
    }
    const bs = this.dst.blockSize;
    let pending = 0; // start of not yet written data, relative to `start`
    for (let k = Math.ceil(start / bs); (k + 1) * bs <= start + data.length; k++) {
      const a = k * bs - start;
      if (!isAllZero(data.subarray(a, a + bs))) continue;
      if (a > pending) this.dst.writeSectors(data.subarray(pending, a), start + pending);
      this.dst.zeroSectors(k * bs, bs);
      pending = a + bs;
    }
    if (pending < data.length) this.dst.writeSectors(data.subarray(pending), start + pending);
  }
}

/**
 * Copy into `dst` what `layers` (bottom first) hold over whatever lies below them: data runs as
 * data, zero blocks as zeros; runs no layer holds are left alone. With `skipOwner`, runs owned by
 * that layer index are skipped too (the destination's own data when it is one of the layers).
 */
function copyStack(layers: readonly DiskImage[], dst: DiskImage, opts: { skipLayer?: number; progress?: (done: number) => void }): void {
  const w = new RunWriter(dst, dst.parentLocator === undefined && dst.type !== 'Fixed');
  const size = dst.virtualSize;
  for (let pos = 0; pos < size; pos += WINDOW) {
    // Collect first: `dst` may be one of the layers, and writing changes its block states.
    const runs: Array<[number, number, number]> = [];
    forEachStackRun(layers, pos, Math.min(WINDOW, size - pos), (o, off, len) => {
      if (o !== THROUGH && o >> 1 !== opts.skipLayer) runs.push([o, off, len]);
    });
    for (const [o, off, len] of runs) {
      if (o & 1) w.zero(off, len);
      else w.data(layers[o >> 1]!, off, len);
    }
    w.flush();
    opts.progress?.(Math.min(size, pos + WINDOW));
  }
  w.flush();
}

function closeImage(img: DiskImage | undefined, ok: boolean): void {
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
function withWriterLocks<T>(store: DiskStore, fn: (lock: (p: string) => void) => T): T {
  const held: Array<{ release(): void }> = [];
  try {
    return fn((p) => void held.push(store.lockWriter(p)));
  } finally {
    for (const h of held.reverse()) h.release();
  }
}

// ---- Merge-VHD ----

/**
 * Merge `childPath` (a leaf) and every layer between it and `destinationPath` (default: its
 * parent) into the destination; the merged files are removed (Merge-VHD; docs/formats.md, "Merging").
 */
export function mergeDown(store: DiskStore, childPath: string, destinationPath?: string, opts: MergeOptions = {}): MergeDownResult {
  const leaf = store.resolve(childPath);
  // No process may write the leaf (or a layer merged away) from the first look until it is gone.
  return withWriterLocks(store, (lock) => {
    lock(leaf);
    return mergeDownLocked(store, leaf, destinationPath, opts, lock);
  });
}

function mergeDownLocked(store: DiskStore, leaf: string, destinationPath: string | undefined, opts: MergeOptions, lock: (p: string) => void): MergeDownResult {
  const dest = destinationPath === undefined ? undefined : store.resolve(destinationPath);
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

function runMergeDown(store: DiskStore, jp: string, j: MergeDownJournal, opts: MergeOptions, resumed: boolean): MergeDownResult {
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

// ---- Removing a layer (deleting a checkpoint) ----

/**
 * Remove the layer `layerPath` whose children are `children` (docs/hyperv.md, "Disk files"):
 * 'copy' merges it into each child and deletes it; 'keep' leaves it (Hyper-V keeps the disk of a
 * checkpoint with several children). With no children it is simply deleted.
 */
export function removeLayer(store: DiskStore, layerPath: string, children: string[], mode: 'copy' | 'keep', opts: MergeOptions = {}): RemoveLayerResult {
  return withWriterLocks(store, (lock) => {
    lock(store.resolve(layerPath));
    return removeLayerLocked(store, layerPath, children, mode, opts);
  });
}

function removeLayerLocked(store: DiskStore, layerPath: string, children: string[], mode: 'copy' | 'keep', opts: MergeOptions): RemoveLayerResult {
  const target = store.resolve(layerPath);
  const kids = [...new Set(children.map((c) => store.resolve(c)))].sort();
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
  const target = store.resolve(layerPath);
  const kids = new TreeScan(store).childrenOf(target);
  return removeLayer(store, target, kids, kids.length > 1 ? 'keep' : 'copy', opts);
}

function runRemoveLayer(store: DiskStore, jp: string, j: RemoveLayerJournal, opts: MergeOptions, resumed: boolean): RemoveLayerResult {
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
    if (!loc || (loc.linkage !== m.identity && loc.linkage2 !== m.identity) || !parentCandidates(childPath, loc).includes(j.target))
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
    if (st === BLOCK_PARENT) forEachStackRun([m], off, len, (o) => (take ||= o !== THROUGH));
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

// ---- Resuming ----

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
  const abs = store.resolve(target);
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
  const abs = store.resolve(leafPath);
  let target = abs;
  for (const x of pendingJournals(store, path.posix.dirname(abs))) {
    runJournal(store, x.path, x.journal, {});
    if (x.journal.op === 'merge-down' && x.journal.removed.includes(abs)) target = x.journal.destination;
  }
  return Chain.open(store.exists(abs) ? abs : target, { ...opts, store });
}
