/**
 * The simulated host's file system: Windows drive paths of the simulated host (C:\Exports\web01)
 * live in the state directory, under <state>/files/<DRIVE>/… (C:\Exports\web01 →
 * <state>/files/C/Exports/web01), never on the user's own files. Names are case-insensitive and
 * case-preserving, as NTFS's are: an existing entry is found whatever the case written, a new one
 * keeps the spelling given. UNC paths (\\server\share) are refused: the simulated host has no
 * network. Writes go through a temporary file and a rename, so a crash leaves the old content or
 * the new, never half of it (docs/powershell.md, "The simulated file system").
 *
 * Used by hvsim run's file cmdlets (src/powershell/cmdlets/files.ts) and `hvsim files`; the
 * simulator's Export-VM can write its files here too (SimulatedFileSystem.forState).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HvsimError } from '../errors.js';
import { writeFileAtomic } from '../vhd/io/node-file.js';

/** The one atomic file write (temporary, fsync, rename, folder sync), for the layers above the host's. */
export { writeFileAtomic };

/** The folder under the state directory that holds the simulated drives. */
export const FILES_DIR = 'files';

/** What Get-Item / Get-ChildItem show of an entry. */
export interface SimFileInfo {
  /** The Windows path as the simulated host spells it (C:\Exports\web01\vm.json). */
  fullName: string;
  name: string;
  isDirectory: boolean;
  /** Bytes (0 for a directory). */
  length: number;
  /** Last write, ms since the epoch (the simulated clock's time when hvsim wrote it). */
  lastWriteTime: number;
  creationTime: number;
}

/** Whether `p` is a Windows drive path (C:\…, C:/…, or C: alone). */
export function isDrivePath(p: string): boolean {
  return /^[A-Za-z]:([\\/]|$)/.test(p);
}

/** Whether `p` is a UNC path (\\server\share, //server/share). */
export function isUncPath(p: string): boolean {
  return /^[\\/]{2}[^\\/]/.test(p);
}

/**
 * Split a drive path into its drive letter and normalised parts: `.` dropped, `..` climbs (never
 * above the root), separators \ and / both accepted.
 */
export function splitDrivePath(p: string): { drive: string; parts: string[] } {
  if (isUncPath(p)) throw new HvsimError('UNSUPPORTED', `${p}: UNC paths (\\\\server\\share) are not supported: the simulated host has no network shares; use a drive path such as C:\\Exports`);
  if (!isDrivePath(p)) throw new HvsimError('INVALID_ARGUMENT', `${p}: not a drive path of the simulated host (C:\\…)`);
  const drive = p[0]!.toUpperCase();
  const parts: string[] = [];
  for (const seg of p.slice(2).split(/[\\/]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else {
      // NTFS refuses these characters in names; trailing dots and spaces are dropped by Windows
      if (/[<>:"|?*\x00-\x1f]/.test(seg)) throw new HvsimError('INVALID_ARGUMENT', `${p}: the name "${seg}" has characters Windows does not allow in a file name`);
      parts.push(seg.replace(/[. ]+$/, '') || seg);
    }
  }
  return { drive, parts };
}

/** C:\a\b from a drive and parts (the root is C:\). */
export function joinDrivePath(drive: string, parts: string[]): string {
  return `${drive}:\\${parts.join('\\')}`;
}

export class SimulatedFileSystem {
  /** `root` is <state>/files; it is created on the first write. */
  constructor(readonly root: string) {}

  static forState(stateRoot: string): SimulatedFileSystem {
    return new SimulatedFileSystem(path.join(stateRoot, FILES_DIR));
  }

  /**
   * Where a drive path lives on the real disk, following existing entries whatever their case;
   * parts that do not exist yet keep the spelling given. Also the canonical Windows spelling.
   */
  locate(p: string): { real: string; windows: string; exists: boolean } {
    const { drive, parts } = splitDrivePath(p);
    let real = path.join(this.root, drive);
    const spelled: string[] = [];
    let exists = fs.existsSync(real);
    for (const part of parts) {
      let name = part;
      if (exists) {
        let entries: string[] = [];
        try {
          entries = fs.statSync(real).isDirectory() ? fs.readdirSync(real) : [];
        } catch {
          entries = [];
        }
        const hit = entries.find((e) => e === part) ?? entries.find((e) => e.toLowerCase() === part.toLowerCase());
        if (hit !== undefined) name = hit;
        else exists = false;
      }
      real = path.join(real, name);
      spelled.push(name);
    }
    return { real, windows: joinDrivePath(drive, spelled), exists: exists && fs.existsSync(real) };
  }

  /** The entry at a drive path, or null. A drive's root always exists (C:\ is there before anything is written). */
  stat(p: string): SimFileInfo | null {
    const loc = this.locate(p);
    const isRoot = splitDrivePath(p).parts.length === 0;
    if (!loc.exists) {
      if (!isRoot) return null;
      return { fullName: loc.windows, name: loc.windows, isDirectory: true, length: 0, lastWriteTime: 0, creationTime: 0 };
    }
    const st = fs.statSync(loc.real);
    return {
      fullName: loc.windows,
      name: isRoot ? loc.windows : path.basename(loc.real),
      isDirectory: st.isDirectory(),
      length: st.isDirectory() ? 0 : st.size,
      lastWriteTime: st.mtimeMs,
      creationTime: st.birthtimeMs || st.mtimeMs,
    };
  }

  exists(p: string): boolean {
    return this.stat(p) !== null;
  }

  /** The entries of a directory, sorted by name as Get-ChildItem lists them (directories first is the caller's choice). */
  list(p: string): SimFileInfo[] {
    const dir = this.stat(p);
    if (!dir) throw new HvsimError('NOT_FOUND', `Cannot find path '${p}' because it does not exist.`);
    if (!dir.isDirectory) return [dir];
    const loc = this.locate(p);
    if (!loc.exists) return [];
    const base = loc.windows.endsWith('\\') ? loc.windows : `${loc.windows}\\`;
    return fs
      .readdirSync(loc.real)
      .filter((n) => !n.includes('.tmp-hvsim-'))
      .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase(), 'en-US'))
      .map((n) => this.stat(base + n)!)
      .filter((x) => x !== null);
  }

  readFile(p: string): Buffer {
    const st = this.stat(p);
    if (!st) throw new HvsimError('NOT_FOUND', `Cannot find path '${p}' because it does not exist.`);
    if (st.isDirectory) throw new HvsimError('INVALID_ARGUMENT', `Access to the path '${st.fullName}' is denied.`);
    return fs.readFileSync(this.locate(p).real);
  }

  /** Create a directory and its parents (New-Item -ItemType Directory, mkdir). Returns its canonical path. */
  mkdir(p: string, mtimeMs?: number): string {
    const loc = this.locate(p);
    const parent = this.locate(joinDrivePath(splitDrivePath(loc.windows).drive, splitDrivePath(loc.windows).parts.slice(0, -1)));
    if (parent.exists && !fs.statSync(parent.real).isDirectory()) throw new HvsimError('INVALID_ARGUMENT', `${p}: a file is in the way`);
    const created = !loc.exists;
    fs.mkdirSync(loc.real, { recursive: true });
    if (mtimeMs !== undefined && created) {
      setTime(loc.real, mtimeMs);
      touchParent(loc.real, mtimeMs, this.root);
    }
    return loc.windows;
  }

  /**
   * Write (or append to) a file whose parent directory exists; the old content stays whole until
   * the new is on disk (temporary file, fsync, rename). Returns the canonical path.
   */
  writeFile(p: string, data: Buffer | string, opts: { append?: boolean; mtimeMs?: number } = {}): string {
    const loc = this.locate(p);
    const { drive, parts } = splitDrivePath(loc.windows);
    if (parts.length === 0) throw new HvsimError('INVALID_ARGUMENT', `${p}: is a drive's root`);
    const parent = this.stat(joinDrivePath(drive, parts.slice(0, -1)));
    if (!parent || !parent.isDirectory) throw new HvsimError('NOT_FOUND', `Could not find a part of the path '${loc.windows}'.`);
    if (loc.exists && fs.statSync(loc.real).isDirectory()) throw new HvsimError('INVALID_ARGUMENT', `Access to the path '${loc.windows}' is denied.`);
    fs.mkdirSync(path.dirname(loc.real), { recursive: true });
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const content = opts.append && loc.exists ? Buffer.concat([fs.readFileSync(loc.real), bytes]) : bytes;
    writeFileAtomic(loc.real, content);
    if (opts.mtimeMs !== undefined) {
      setTime(loc.real, opts.mtimeMs);
      // a new entry changes its directory's last write time, as on NTFS
      if (!loc.exists) touchParent(loc.real, opts.mtimeMs, this.root);
    }
    return loc.windows;
  }

  /** Remove a file, or a directory (non-empty only with recursive). */
  remove(p: string, opts: { recursive?: boolean; mtimeMs?: number } = {}): void {
    const st = this.stat(p);
    if (!st) throw new HvsimError('NOT_FOUND', `Cannot find path '${p}' because it does not exist.`);
    const loc = this.locate(p);
    if (splitDrivePath(p).parts.length === 0) throw new HvsimError('INVALID_ARGUMENT', `${p}: hvsim does not remove a drive's root`);
    if (st.isDirectory && !opts.recursive && fs.readdirSync(loc.real).length > 0) throw new HvsimError('INVALID_STATE', `The item at ${st.fullName} has children and the Recurse parameter was not specified.`);
    fs.rmSync(loc.real, { recursive: true, force: true });
    if (opts.mtimeMs !== undefined) touchParent(loc.real, opts.mtimeMs, this.root);
  }

  /** Copy a file, or a directory with everything in it (recursive). */
  copy(src: string, dst: string, opts: { recursive?: boolean; mtimeMs?: number } = {}): string {
    const st = this.stat(src);
    if (!st) throw new HvsimError('NOT_FOUND', `Cannot find path '${src}' because it does not exist.`);
    if (!st.isDirectory) return this.writeFile(dst, this.readFile(src), opts.mtimeMs !== undefined ? { mtimeMs: opts.mtimeMs } : {});
    const made = this.mkdir(dst, opts.mtimeMs);
    if (opts.recursive) for (const e of this.list(src)) this.copy(e.fullName, `${made}\\${e.name}`, opts);
    return made;
  }

  /** Move or rename (a rename within the state directory: atomic). */
  move(src: string, dst: string, mtimeMs?: number): string {
    const from = this.locate(src);
    if (!from.exists) throw new HvsimError('NOT_FOUND', `Cannot find path '${src}' because it does not exist.`);
    const to = this.locate(dst);
    if (to.exists) throw new HvsimError('INVALID_STATE', `Cannot create a file when that file already exists.`);
    const { drive, parts } = splitDrivePath(to.windows);
    const parent = this.stat(joinDrivePath(drive, parts.slice(0, -1)));
    if (!parent || !parent.isDirectory) throw new HvsimError('NOT_FOUND', `Could not find a part of the path '${to.windows}'.`);
    fs.mkdirSync(path.dirname(to.real), { recursive: true });
    fs.renameSync(from.real, to.real);
    if (mtimeMs !== undefined) {
      touchParent(from.real, mtimeMs, this.root);
      touchParent(to.real, mtimeMs, this.root);
    }
    return to.windows;
  }

  /** Every file and directory under a drive path (or every drive), depth first, for `hvsim files`. */
  walk(p?: string): SimFileInfo[] {
    const starts = p !== undefined ? [p] : fs.existsSync(this.root) ? fs.readdirSync(this.root).filter((d) => /^[A-Z]$/.test(d)).sort().map((d) => `${d}:\\`) : [];
    const out: SimFileInfo[] = [];
    const visit = (q: string): void => {
      for (const e of this.list(q)) {
        out.push(e);
        if (e.isDirectory) visit(e.fullName);
      }
    };
    for (const s of starts) {
      const st = this.stat(s);
      if (!st) throw new HvsimError('NOT_FOUND', `${s}: no such file or directory on the simulated host`);
      if (st.isDirectory) visit(s);
      else out.push(st);
    }
    return out;
  }
}

/** The directory holding `real` takes the time (not above the drive folders). */
function touchParent(real: string, ms: number, root: string): void {
  const dir = path.dirname(real);
  if (path.relative(root, dir).includes(path.sep)) setTime(dir, ms);
}

function setTime(real: string, ms: number): void {
  const t = new Date(ms);
  fs.utimesSync(real, t, t);
}
