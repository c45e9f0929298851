/** test-vhd: every structural finding of a file, then the linkage of its whole chain. */
import { HvsimError } from '../errors.js';
import type { Finding } from '../vhd/disk.js';
import { Chain, openLayer } from './chain.js';
import { NodeDiskStore } from './store.js';

export type PathFinding = Finding & { path: string };

export interface CheckReport {
  Path: string;
  Valid: boolean;
  Findings: PathFinding[];
}

function asFinding(path: string, e: unknown): PathFinding {
  if (e instanceof HvsimError) return { severity: 'error', code: e.code, message: e.message, path, ...(e.offset !== undefined ? { offset: e.offset } : {}) };
  throw e;
}

export function checkChainFile(path: string): CheckReport {
  const findings: PathFinding[] = [];
  const store = new NodeDiskStore();
  let differencing = false;
  try {
    const img = openLayer(store, path, false, { lenient: true });
    differencing = img.parentLocator !== undefined;
    for (const f of img.check()) findings.push({ ...f, message: `${path}: ${f.message}`, path });
    img.close();
  } catch (e) {
    findings.push(asFinding(path, e));
  }
  if (differencing) {
    try {
      const chain = Chain.open(path, { store, lenient: true });
      for (const f of chain.check()) if (f.path !== path) findings.push({ ...f, message: `${f.path}: ${f.message}` });
      chain.close();
    } catch (e) {
      findings.push(asFinding(path, e));
    }
  }
  return { Path: path, Valid: !findings.some((f) => f.severity === 'error'), Findings: findings };
}
