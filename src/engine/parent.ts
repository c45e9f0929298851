/**
 * Finding a differencing disk's parent from its parent locator (MS-VHDX §2.6.2.6; the VHD
 * footer's locators are read into the same form): where to look, in order, and whether a file
 * found there is the parent the child was made on (its identity). Chain.open and TreeScan both
 * search this way.
 */
import * as path from 'node:path';
import type { ParentLocator } from '../vhd/disk.js';
import { storedBaseName } from '../vhd/parent-paths.js';

/**
 * Where to look for a parent, in order (MS-VHDX §2.6.2.6: relative_path, then the absolute and
 * volume paths). Stored Windows paths use "\"; a Windows absolute path that does not exist here is
 * also tried by its file name next to the child, so chains copied off a host still resolve.
 */
export function parentCandidates(childPath: string, loc: ParentLocator): string[] {
  const dir = path.posix.dirname(childPath);
  const out: string[] = [];
  // Each candidate normalized once (join's result already is), and no array or iterator for the
  // two absolute keys: a chain's open computes this once a layer in code V8 has not optimized.
  const add = (r: string): void => {
    if (!out.includes(r)) out.push(r);
  };
  const addAbsolute = (abs: string | undefined): void => {
    if (!abs) return;
    if (abs.startsWith('/')) add(path.posix.normalize(abs));
    else add(path.posix.join(dir, storedBaseName(abs))); // "C:\VMs\base.vhdx" or "\\?\Volume{…}\…"
  };
  if (loc.relativePath) add(path.posix.join(dir, ...loc.relativePath.split(/[\\/]+/).filter((s) => s.length > 0)));
  addAbsolute(loc.absolutePath);
  addAbsolute(loc.volumePath);
  return out;
}

/** The path a locator names, for messages. */
export function locatorName(loc: ParentLocator): string {
  return loc.absolutePath ?? loc.relativePath ?? loc.volumePath ?? '?';
}

/** Whether a file with `identity` is the parent `loc` names (parent_linkage, or parent_linkage2; MS-VHDX §2.6.2.6). */
export function linksTo(loc: ParentLocator, identity: string): boolean {
  return identity === loc.linkage || (loc.linkage2 !== undefined && identity === loc.linkage2);
}

export interface ParentSearch<T> {
  /** What `accept` returned for the first candidate it took. */
  found?: T;
  /** The first candidate that exists (taken or not). */
  firstExisting?: string;
  /** Candidates that do not exist, in the order looked at. */
  tried: string[];
}

/**
 * Look at the parent candidates of `childPath` in order, until `accept` takes one that exists
 * (it checks the file, typically with linksTo, and returns undefined to go on).
 */
export function searchParent<T>(childPath: string, loc: ParentLocator, exists: (p: string) => boolean, accept: (p: string) => T | undefined): ParentSearch<T> {
  const r: ParentSearch<T> = { tried: [] };
  for (const cand of parentCandidates(childPath, loc)) {
    if (!exists(cand)) {
      r.tried.push(cand);
      continue;
    }
    r.firstExisting ??= cand;
    const found = accept(cand);
    if (found !== undefined) {
      r.found = found;
      break;
    }
  }
  return r;
}
