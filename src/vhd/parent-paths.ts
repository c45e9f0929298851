import * as path from 'node:path';

/**
 * The paths a differencing file records for its parent, in Windows' form: a relative path from
 * the child's folder with "\" separators (".\base.vhdx", "..\disks\base.vhdx") and the absolute
 * path (Windows drive paths kept as they are; POSIX paths kept with "/").
 */
export function locatorPaths(childPath: string, parentPath: string): { relative: string; absolute: string } {
  const childDir = path.dirname(path.resolve(childPath));
  const absParent = path.resolve(parentPath);
  let rel = path.relative(childDir, absParent);
  if (!rel.startsWith('..')) rel = '.' + path.sep + rel;
  return { relative: rel.split(path.sep).join('\\'), absolute: absParent };
}

/** Base name of a stored Windows or POSIX path ("C:\\VMs\\a.vhdx" → "a.vhdx"). */
export function storedBaseName(stored: string): string {
  const parts = stored.split(/[\\/]/);
  return parts[parts.length - 1] ?? stored;
}
