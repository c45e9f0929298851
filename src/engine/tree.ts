/**
 * Whole folders of disk files seen as a tree (what a Hyper-V checkpoint tree is on disk): who is
 * whose parent, which files nothing refers to, and what is wrong with the links. Used by merges
 * (to find the other children of a layer before changing it) and by test-tree.
 *
 * A child's parent is found the way Chain.open finds it (MS-VHDX §2.6.2.6 order, identity checked),
 * but without throwing: every file gets a link status instead.
 */
import * as path from 'node:path';
import type { DiskImage, Finding, ParentLocator, VhdFormat, VhdType } from '../vhd/disk.js';
import { HvsimError } from '../errors.js';
import { MAX_CHAIN_DEPTH, openLayer } from './chain.js';
import { linksTo, locatorName, searchParent } from './parent.js';
import type { DiskStore } from './store.js';
import { JOURNAL_SUFFIX } from './journal.js';

/** Disk files by extension (Hyper-V names: .vhdx/.avhdx, .vhd/.avhd). */
export const DISK_FILE = /\.(a?vhdx|a?vhd)$/i;
export { JOURNAL_SUFFIX };

export function isDiskFileName(name: string): boolean {
  return DISK_FILE.test(name);
}

/** What a scan needs to know about one file (opened read-only once, then cached). */
export interface DiskFacts {
  path: string;
  format?: VhdFormat;
  type?: VhdType;
  virtualSize?: number;
  logicalSectorSize?: number;
  identity?: string;
  locator?: ParentLocator;
  readOnly: boolean;
  /** Set when the file could not be opened as a disk (its one-line error). */
  error?: string;
  findings: Finding[];
}

export type LinkStatus = 'base' | 'ok' | 'missing' | 'mismatch' | 'unreadable';

export interface ParentLink {
  status: LinkStatus;
  /** The parent file (status ok), or the first existing candidate that did not match (mismatch). */
  path?: string;
  /** Candidates that do not exist. */
  tried: string[];
}

/** Scans folders lazily; every file is opened at most once. */
export class TreeScan {
  private facts = new Map<string, DiskFacts>();
  private links = new Map<string, ParentLink>();
  private dirs = new Map<string, string[]>();

  constructor(readonly store: DiskStore) {}

  /** Disk files of a folder (absolute paths, sorted). */
  diskFiles(dir: string): string[] {
    const abs = this.store.absolutePath(dir);
    let out = this.dirs.get(abs);
    if (!out) {
      let names: string[] = [];
      try {
        names = this.store.list(abs);
      } catch {
        names = [];
      }
      out = names.filter(isDiskFileName).map((n) => path.posix.join(abs, n)).sort();
      this.dirs.set(abs, out);
    }
    return out;
  }

  /** Facts about one file; undefined when it does not exist. */
  get(p: string): DiskFacts | undefined {
    const abs = this.store.absolutePath(p);
    const known = this.facts.get(abs);
    if (known) return known;
    if (!this.store.exists(abs)) return undefined;
    const f: DiskFacts = { path: abs, readOnly: this.store.isReadOnly(abs), findings: [] };
    let img: DiskImage | undefined;
    try {
      img = openLayer(this.store, abs, false, { lenient: true });
      f.format = img.format;
      f.type = img.type;
      f.virtualSize = img.virtualSize;
      f.logicalSectorSize = img.logicalSectorSize;
      f.identity = img.identity;
      if (img.parentLocator) f.locator = img.parentLocator;
      f.findings = img.check();
    } catch (e) {
      if (!(e instanceof HvsimError)) throw e;
      f.error = e.message;
    } finally {
      img?.close();
    }
    this.facts.set(abs, f);
    return f;
  }

  /** The parent a Chain.open would pick for `p`, or why there is none. */
  parentOf(p: string): ParentLink {
    const abs = this.store.absolutePath(p);
    const known = this.links.get(abs);
    if (known) return known;
    const f = this.get(abs);
    let link: ParentLink;
    if (!f || f.error) link = { status: 'unreadable', tried: [] };
    else if (!f.locator) link = { status: 'base', tried: [] };
    else {
      const loc = f.locator;
      const r = searchParent(abs, loc, (cand) => this.get(cand) !== undefined, (cand) => {
        const pf = this.get(cand)!;
        return !pf.error && linksTo(loc, pf.identity!) ? cand : undefined;
      });
      if (r.found) link = { status: 'ok', path: r.found, tried: r.tried };
      else if (r.firstExisting) link = { status: 'mismatch', path: r.firstExisting, tried: r.tried };
      else link = { status: 'missing', tried: r.tried };
    }
    this.links.set(abs, link);
    return link;
  }

  /**
   * Files correctly linked to `p` as their parent, among the disk files of `p`'s folder and of
   * `moreDirs` (Hyper-V keeps a checkpoint's child next to its parent; docs/hyperv.md, "Disk files").
   */
  childrenOf(p: string, moreDirs: string[] = []): string[] {
    const abs = this.store.absolutePath(p);
    const dirs = new Set([path.posix.dirname(abs), ...moreDirs.map((d) => this.store.absolutePath(d))]);
    const out: string[] = [];
    for (const d of dirs)
      for (const f of this.diskFiles(d)) {
        if (f === abs || out.includes(f)) continue;
        const l = this.parentOf(f);
        if (l.status === 'ok' && l.path === abs) out.push(f);
      }
    return out.sort();
  }
}

/** Children of one file found in its folder (linked by path and identity). */
export function findChildren(store: DiskStore, p: string, moreDirs: string[] = []): string[] {
  return new TreeScan(store).childrenOf(p, moreDirs);
}

export interface TreeNode {
  Path: string;
  VhdFormat: VhdFormat | null;
  VhdType: VhdType | null;
  Size: number | null;
  ReadOnly: boolean;
  Link: LinkStatus;
  ParentPath: string | null;
  Children: string[];
}

export type TreeFinding = Finding & { path: string };

export interface TreeReport {
  Path: string;
  Valid: boolean;
  Nodes: TreeNode[];
  Findings: TreeFinding[];
}

export interface CheckTreeOptions {
  /** Files known to be in use (a VM's current disks, its checkpoints' disks): every disk file not in one of their chains is reported as unreferenced. */
  inUse?: string[];
}

/**
 * Check every disk file of a folder as one tree: each file's own structure, each link (missing or
 * changed parent, geometry), read-only parents and leaves, loops, depth, pending merges, and — given
 * the files in use — files nothing refers to.
 */
export function checkTree(store: DiskStore, dir: string, opts: CheckTreeOptions = {}): TreeReport {
  const scan = new TreeScan(store);
  const absDir = store.absolutePath(dir);
  const files = scan.diskFiles(absDir);
  const findings: TreeFinding[] = [];
  const add = (p: string, severity: 'error' | 'warning', code: string, message: string): void => {
    findings.push({ severity, code, message, path: p });
  };
  const children = new Map<string, string[]>();
  for (const f of files) children.set(f, []);
  for (const f of files) {
    const facts = scan.get(f)!;
    if (facts.error) {
      add(f, 'error', 'UNREADABLE', facts.error);
      continue;
    }
    for (const x of facts.findings) findings.push({ ...x, path: f });
    const link = scan.parentOf(f);
    const named = facts.locator ? locatorName(facts.locator) : '';
    if (link.status === 'missing') add(f, 'error', 'PARENT_MISSING', `${f}: parent ${named} not found (looked at ${link.tried.join(', ')})`);
    else if (link.status === 'mismatch') {
      const pf = scan.get(link.path!);
      add(f, 'error', 'PARENT_MISMATCH', `${f}: ${link.path} has identity {${pf?.identity ?? '?'}} but the child expects {${facts.locator!.linkage}} (the parent was modified or replaced)`);
    } else if (link.status === 'ok') {
      const pf = scan.get(link.path!)!;
      if (pf.virtualSize !== facts.virtualSize)
        add(f, 'error', 'CHAIN', `${f}: virtual size ${facts.virtualSize} differs from its parent ${link.path} (${pf.virtualSize})`);
      if (pf.logicalSectorSize !== facts.logicalSectorSize)
        add(f, 'error', 'CHAIN', `${f}: logical sector size ${facts.logicalSectorSize} differs from its parent ${link.path} (${pf.logicalSectorSize})`);
      const list = children.get(link.path!);
      if (list) list.push(f);
      else children.set(link.path!, [f]); // a parent outside the folder
    }
  }
  // Loops and depth: follow each file's parents.
  for (const f of files) {
    const seen = new Set<string>([f]);
    let cur = f;
    for (;;) {
      const l = scan.parentOf(cur);
      if (l.status !== 'ok') break;
      if (seen.has(l.path!)) {
        add(f, 'error', 'CHAIN', `${f}: its parents loop back to ${l.path}`);
        break;
      }
      seen.add(l.path!);
      if (seen.size > MAX_CHAIN_DEPTH) {
        add(f, 'error', 'CHAIN', `${f}: chain is deeper than ${MAX_CHAIN_DEPTH} layers`);
        break;
      }
      cur = l.path!;
    }
  }
  // Read-only marks: parents frozen, leaves writable (docs/hyperv.md, "Disk files": one writable file per chain).
  for (const f of files) {
    const facts = scan.get(f)!;
    if (facts.error) continue;
    const kids = children.get(f) ?? [];
    if (kids.length > 0 && !facts.readOnly) add(f, 'warning', 'PARENT_WRITABLE', `${f}: has children (${kids.join(', ')}) but is not marked read-only`);
    if (kids.length === 0 && facts.readOnly)
      add(f, 'warning', 'LEAF_READ_ONLY', `${f}: no file refers to it but it is marked read-only (a leftover checkpoint disk, or an interrupted merge)`);
  }
  // Files nothing refers to, given the files in use.
  if (opts.inUse) {
    const reached = new Set<string>();
    for (const u of opts.inUse) {
      let cur: string | undefined = store.absolutePath(u);
      for (let i = 0; cur && !reached.has(cur) && i <= MAX_CHAIN_DEPTH; i++) {
        reached.add(cur);
        const l = scan.parentOf(cur);
        cur = l.status === 'ok' ? l.path : undefined;
      }
    }
    for (const f of files) if (!reached.has(f)) add(f, 'warning', 'UNREFERENCED', `${f}: not part of the chain of any disk in use`);
  }
  let names: string[] = [];
  try {
    names = store.list(absDir);
  } catch {
    names = [];
  }
  for (const n of names)
    if (n.endsWith(JOURNAL_SUFFIX)) {
      const j = path.posix.join(absDir, n);
      add(j, 'warning', 'MERGE_PENDING', `${j}: an interrupted merge; run resume-merge to complete it`);
    }
  const nodes: TreeNode[] = files.map((f) => {
    const facts = scan.get(f)!;
    const l = scan.parentOf(f);
    return {
      Path: f,
      VhdFormat: facts.format ?? null,
      VhdType: facts.type ?? null,
      Size: facts.virtualSize ?? null,
      ReadOnly: facts.readOnly,
      Link: l.status,
      ParentPath: l.path ?? null,
      Children: (children.get(f) ?? []).slice().sort(),
    };
  });
  return { Path: absDir, Valid: !findings.some((x) => x.severity === 'error'), Nodes: nodes, Findings: findings };
}
