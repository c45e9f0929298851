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
 *
 * Here: the public face of merges. The parts: journal.ts (the journal), resolved-map.ts (which layer
 * supplies each run), run-writer.ts (copying runs), merge-down.ts, remove-layer.ts, resume.ts.
 */
export type { MergeDownResult, MergeOptions, MergeResult, Progress, RemoveLayerResult } from './merge-base.js';
export { journalFiles, journalPath, pendingJournals, readJournal, type MergeJournal } from './journal.js';
export { mergeDown } from './merge-down.js';
export { deleteCheckpointDisk, removeLayer } from './remove-layer.js';
export { journalsFor, openChainResuming, resumeMerges } from './resume.js';
