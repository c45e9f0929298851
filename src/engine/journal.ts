/**
 * The merge journals (src/engine/merge.ts): a small JSON file beside the file a merge is about,
 * `<file>.hvsim-merge.json`, written atomically before the merge changes anything and removed when
 * it is done. Here: its format, where it lives, and which journals involve a file.
 */
import * as path from 'node:path';
import { corrupt, HvsimError } from '../errors.js';
import type { DiskStore } from './store.js';

export const JOURNAL_SUFFIX = '.hvsim-merge.json';


interface JournalBase {
  hvsim: 'merge-journal';
  version: 1;
}
export interface MergeDownJournal extends JournalBase {
  op: 'merge-down';
  phase: 'copy' | 'commit';
  leaf: string;
  destination: string;
  /** Leaf first, down to the layer just above the destination. */
  removed: string[];
  /** The destination has no other children: it becomes the writable leaf. */
  destinationLeaf: boolean;
}
export interface RemoveLayerJournal extends JournalBase {
  op: 'remove-layer';
  phase: 'copy' | 'relink' | 'remove';
  target: string;
  parent: string | null;
  children: string[];
  /** Each child's read-only mark before the operation (restored at the end). */
  childrenReadOnly: boolean[];
}
export type MergeJournal = MergeDownJournal | RemoveLayerJournal;

/** Where the journal of an operation that changes `p` lives. */
export function journalPath(p: string): string {
  return p + JOURNAL_SUFFIX;
}

export function writeJournal(store: DiskStore, jp: string, j: MergeJournal): void {
  store.writeTextAtomic(jp, JSON.stringify(j, null, 2) + '\n');
}

export function readJournal(store: DiskStore, jp: string): MergeJournal | undefined {
  const text = store.readText(jp);
  if (text === undefined) return undefined;
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw corrupt(jp, 'JOURNAL', 'merge journal is not valid JSON');
  }
  const o = j as Record<string, unknown> | null;
  const strs = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof o !== 'object' || o === null || Array.isArray(o) || o.hvsim !== 'merge-journal' || o.version !== 1) throw corrupt(jp, 'JOURNAL', 'not an hvsim merge journal (version 1)');
  if (o.op === 'merge-down') {
    if ((o.phase === 'copy' || o.phase === 'commit') && typeof o.leaf === 'string' && typeof o.destination === 'string' && strs(o.removed) && typeof o.destinationLeaf === 'boolean')
      return o as unknown as MergeDownJournal;
  } else if (o.op === 'remove-layer') {
    if ((o.phase === 'copy' || o.phase === 'relink' || o.phase === 'remove') && typeof o.target === 'string' && (o.parent === null || typeof o.parent === 'string') && strs(o.children) && Array.isArray(o.childrenReadOnly) && o.childrenReadOnly.length === o.children.length)
      return o as unknown as RemoveLayerJournal;
  }
  throw corrupt(jp, 'JOURNAL', `merge journal has missing or unknown fields (op ${String(o.op)})`);
}

/** Files an operation touches (to refuse overlapping operations and to find journals). */
export function journalFiles(j: MergeJournal): string[] {
  return j.op === 'merge-down' ? [j.destination, ...j.removed] : [j.target, ...j.children, ...(j.parent ? [j.parent] : [])];
}

/** Journals in a folder, each with its path. */
export function pendingJournals(store: DiskStore, dir: string): Array<{ path: string; journal: MergeJournal }> {
  const abs = store.absolutePath(dir);
  let names: string[] = [];
  try {
    names = store.list(abs);
  } catch {
    return [];
  }
  const out: Array<{ path: string; journal: MergeJournal }> = [];
  for (const n of names.filter((x) => x.endsWith(JOURNAL_SUFFIX)).sort()) {
    const p = path.posix.join(abs, n);
    const journal = readJournal(store, p);
    if (journal) out.push({ path: p, journal });
  }
  return out;
}

/**
 * Refuse to change `file` while an interrupted merge involves it: the merge must be finished
 * first (by resume-merge, or by the simulator for its VMs' files), or the write would be lost
 * or mixed into the merge.
 */
export function refuseIfMerging(store: DiskStore, file: string): void {
  const abs = store.absolutePath(file);
  for (const x of pendingJournals(store, path.posix.dirname(abs)))
    if (journalFiles(x.journal).includes(abs))
      throw new HvsimError('INVALID_STATE', `${abs}: an interrupted ${x.journal.op} involves this disk (journal ${x.path}); finish it first with: hvsim resume-merge ${JSON.stringify(path.posix.dirname(abs))}`, { file: abs });
}

/** Refuse to start while another operation on any of these files is unfinished; return a matching one to resume. */
export function pendingFor(store: DiskStore, files: string[], same: (j: MergeJournal) => boolean): { path: string; journal: MergeJournal } | undefined {
  const dirs = [...new Set(files.map((f) => path.posix.dirname(f)))];
  for (const d of dirs)
    for (const x of pendingJournals(store, d)) {
      if (same(x.journal)) return x;
      if (journalFiles(x.journal).some((f) => files.includes(f)))
        throw new HvsimError('INVALID_STATE', `${x.path}: an interrupted ${x.journal.op} involves ${journalFiles(x.journal).filter((f) => files.includes(f)).join(', ')}; run resume-merge first`, { file: x.path });
    }
  return undefined;
}
