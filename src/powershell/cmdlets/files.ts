/**
 * The file cmdlets of hvsim run over the simulated host's file system (src/host/files.ts):
 * Test-Path, New-Item, Remove-Item, Copy-Item, Move-Item, Rename-Item, Get-ChildItem, Get-Item,
 * Get-Content, Set-Content, Add-Content, Out-File, Export-Csv/Import-Csv, ConvertTo-/ConvertFrom-Csv,
 * ConvertTo-/ConvertFrom-Json, Split-Path, Join-Path, Resolve-Path, Start-/Stop-Transcript, and
 * [System.IO.File]/[System.IO.Directory] statics.
 *
 * Where a path goes (docs/powershell.md, "The simulated file system"): a drive path (C:\…) is the
 * simulated host's, kept in the state directory; a UNC path stops the run; any other path is the
 * user's own (relative to the working folder, or $PSScriptRoot's real folder) and is only read:
 * writing, removing or moving there fails with an error naming the path, so a script can never
 * overwrite a user's file. Text is written as UTF-8 without a BOM with CRLF line ends (PowerShell
 * 7's default encoding on a Windows host; 5.1 differs, see the docs).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { HvsimError } from '../../errors.js';
import { isDrivePath, isUncPath, type SimFileInfo } from '../../host/files.js';
import type { Bound, CmdletContext, CmdletDef, ParamDef } from '../cmdlet.js';
import { toBool, toNumber, toStr } from '../convert.js';
import { formatDate } from '../dotnet.js';
import { PsRuntimeError, UnsupportedMember } from '../errors.js';
import { formatDefault } from '../format.js';
import { wildcard } from '../ops.js';
import { NOT_HANDLED } from '../statics.js';
import { PSCUSTOMOBJECT_TYPE, PsHashtable, PsObject, enumerate, type PsValue } from '../value.js';
import { pathInfo, type Facilities } from '../windows.js';

const NL = '\r\n';

function def(name: string, className: string, params: ParamDef[], run: CmdletDef['run'], extra: Partial<CmdletDef> = {}): CmdletDef {
  return { name, className: `Microsoft.PowerShell.Commands.${className}`, params, run, collect: false, reason: 'RuntimeException', ...extra };
}

/** A cmdlet failure with PowerShell's category and exception type (ctx.error takes it as a record). */
class FileError extends HvsimError {
  constructor(
    message: string,
    readonly psCategory: 'ObjectNotFound' | 'PermissionDenied' | 'ResourceExists' | 'WriteError' | 'InvalidArgument' | 'ReadError',
    readonly exception: string,
    readonly errorId: string,
  ) {
    super('INVALID_ARGUMENT', message);
  }
}

// ------------------------------------------------------------ where a path goes

type Place = { kind: 'sim'; path: string } | { kind: 'real'; path: string };

/** Registry and other providers' drives hvsim does not simulate. */
const PROVIDER_DRIVE = /^(HKLM|HKCU|HKCR|HKU|HKCC|Registry|Env|Variable|Function|Alias|Cert|WSMan):/i;

/** Where a path argument goes: a drive path (C:\…) on the simulated host's file system, anything else a real path (relative to Set-Location or the working folder). */
export function place(fac: Facilities | undefined, p: string): Place {
  let text = p.replace(/^Microsoft\.PowerShell\.Core\\FileSystem::/i, '').replace(/^FileSystem::/i, '');
  // a relative path under a Set-Location to a drive of the simulated host is on that drive
  const loc = fac?.location ?? null;
  if (loc !== null && isDrivePath(loc) && !isDrivePath(text) && !isUncPath(text) && !PROVIDER_DRIVE.test(text) && !/^[\\/]/.test(text)) text = `${loc.replace(/[\\/]+$/, '')}\\${text}`;
  else if (loc !== null && isDrivePath(loc) && /^[\\/](?![\\/])/.test(text)) text = `${loc.slice(0, 2)}${text}`;
  if (isUncPath(text)) throw new UnsupportedMember(`the UNC path ${p} (the simulated host has no network shares; use a drive path such as C:\\Exports) is`);
  if (PROVIDER_DRIVE.test(text)) throw new UnsupportedMember(`the path ${p} (hvsim simulates the FileSystem drives only: no registry, Env:, Cert: …) is`);
  if (isDrivePath(text)) return { kind: 'sim', path: text };
  // the user's own files: relative to the working folder; `\` read as `/` on Linux and macOS
  const local = nodePath.sep === '/' ? text.replace(/\\/g, '/') : text;
  return { kind: 'real', path: nodePath.resolve(loc ?? process.cwd(), local) };
}

function facilities(ctx: CmdletContext): Facilities {
  if (!ctx.facilities) throw new UnsupportedMember(`${ctx.command} on the simulated host's drives without a state directory (hvsim run against the simulator keeps them) is`);
  return ctx.facilities;
}

function notFound(p: string): FileError {
  return new FileError(`Cannot find path '${p}' because it does not exist.`, 'ObjectNotFound', 'ItemNotFoundException', 'PathNotFound');
}

function readOnly(p: string): FileError {
  return new FileError(
    `hvsim run does not change your own files: '${p}' is outside the simulated host's drives; write to a drive path such as C:\\Temp (hvsim files shows them)`,
    'PermissionDenied',
    'UnauthorizedAccessException',
    'UnauthorizedAccess',
  );
}

/** Turn the file system's errors into PowerShell's wording. */
function fsError(e: unknown): unknown {
  // the operating system refused (a file where a folder is expected, permissions): an IOException
  if (e instanceof Error && !(e instanceof HvsimError) && typeof (e as NodeJS.ErrnoException).code === 'string') return new FileError(e.message, 'WriteError', 'IOException', 'IOError');
  if (e instanceof FileError || !(e instanceof HvsimError)) return e;
  if (e.code === 'NOT_FOUND') return new FileError(e.message, 'ObjectNotFound', e.message.startsWith('Could not find a part') ? 'DirectoryNotFoundException' : 'ItemNotFoundException', 'PathNotFound');
  if (e.code === 'UNSUPPORTED') return new UnsupportedMember(e.message.replace(/ are not supported.*/, ' are'));
  return new FileError(e.message, 'WriteError', 'IOException', 'IOError');
}

/** Report a failure as a non-terminating error record of this cmdlet (ctx.error). */
function fail(ctx: CmdletContext, e: unknown, target: string): void {
  const x = fsError(e);
  if (x instanceof FileError) ctx.error(new PsRuntimeError(x.message, x.psCategory, `${x.errorId},Microsoft.PowerShell.Commands.${ctx.command.replace('-', '')}Command`, x.exception), target);
  else throw x;
}

/** A real entry as SimFileInfo (the user's files, read-only). */
function realInfo(p: string): SimFileInfo | null {
  try {
    const st = fs.statSync(p);
    return { fullName: p, name: nodePath.basename(p) || p, isDirectory: st.isDirectory(), length: st.isDirectory() ? 0 : st.size, lastWriteTime: st.mtimeMs, creationTime: st.birthtimeMs || st.mtimeMs };
  } catch {
    return null;
  }
}

function statAt(ctx: CmdletContext, pl: Place): SimFileInfo | null {
  return pl.kind === 'sim' ? facilities(ctx).files.stat(pl.path) : realInfo(pl.path);
}

function listAt(ctx: CmdletContext, pl: Place): SimFileInfo[] {
  if (pl.kind === 'sim') return facilities(ctx).files.list(pl.path);
  return fs
    .readdirSync(pl.path)
    .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase(), 'en-US'))
    .map((n) => realInfo(nodePath.join(pl.path, n)))
    .filter((x): x is SimFileInfo => x !== null);
}

function readAt(ctx: CmdletContext, pl: Place): Buffer {
  if (pl.kind === 'sim') return facilities(ctx).files.readFile(pl.path);
  const st = realInfo(pl.path);
  if (!st) throw notFound(pl.path);
  return fs.readFileSync(pl.path);
}

const hasWildcard = (p: string): boolean => /[*?[]/.test(p);

/** Split on the last separator: parent text and leaf. */
function splitLast(p: string): [string, string] {
  const i = Math.max(p.lastIndexOf('\\'), p.lastIndexOf('/'));
  return i < 0 ? ['', p] : [p.slice(0, i + 1), p.slice(i + 1)];
}

/** A path's entries: itself, or with a wildcard in its last part, the entries that match (none: empty). */
function expand(ctx: CmdletContext, p: string): Array<{ place: Place; info: SimFileInfo }> {
  const pl = place(ctx.facilities, p);
  if (!hasWildcard(p)) {
    const info = statAt(ctx, pl);
    return info ? [{ place: pl, info }] : [];
  }
  const [parentText, leaf] = splitLast(p);
  const parent = place(ctx.facilities, parentText === '' ? '.' : parentText);
  const dir = statAt(ctx, parent);
  if (!dir?.isDirectory) return [];
  const re = wildcard(leaf);
  return listAt(ctx, parent)
    .filter((e) => re.test(e.name))
    .map((info) => ({ place: (parent.kind === 'sim' ? { kind: 'sim', path: info.fullName } : { kind: 'real', path: info.fullName }) as Place, info }));
}

// ------------------------------------------------------------ item objects

const FSI = 'System.IO.FileSystemInfo';

/** Mode as Get-ChildItem shows it (d----- for a directory, -a---- for a file). */
const mode = (dir: boolean): string => (dir ? 'd-----' : '-a----');

/** A FileInfo / DirectoryInfo (FileSystem provider's objects, with the PS* note properties). */
export function itemObject(info: SimFileInfo): PsObject {
  const dir = info.isDirectory;
  const sep = info.fullName.includes('\\') || !info.fullName.startsWith('/') ? '\\' : '/';
  const i = info.fullName.replace(/[\\/]+$/, '').lastIndexOf(sep);
  const parent = i < 0 ? '' : info.fullName.slice(0, i === 2 && sep === '\\' ? 3 : Math.max(i, 1));
  const ext = dir ? '' : /\.[^.]*$/.exec(info.name)?.[0] ?? '';
  const o = new PsObject(
    dir ? ['System.IO.DirectoryInfo', FSI, 'System.MarshalByRefObject', 'System.Object'] : ['System.IO.FileInfo', FSI, 'System.MarshalByRefObject', 'System.Object'],
    [
      ['PSPath', `Microsoft.PowerShell.Core\\FileSystem::${info.fullName}`],
      ['PSParentPath', parent ? `Microsoft.PowerShell.Core\\FileSystem::${parent}` : ''],
      ['PSChildName', info.name],
      ['PSIsContainer', dir],
      ['Mode', mode(dir)],
      ['BaseName', dir ? info.name : ext ? info.name.slice(0, -ext.length) : info.name],
      ['Name', info.name],
      ...(dir ? [['Parent', parent] as [string, PsValue], ['Root', info.fullName.slice(0, 3)] as [string, PsValue]] : [['Length', info.length] as [string, PsValue], ['DirectoryName', parent] as [string, PsValue], ['Directory', parent] as [string, PsValue], ['IsReadOnly', false] as [string, PsValue]]),
      ['Exists', true],
      ['FullName', info.fullName],
      ['Extension', ext],
      ['CreationTime', new Date(info.creationTime)],
      ['LastAccessTime', new Date(info.lastWriteTime)],
      ['LastWriteTime', new Date(info.lastWriteTime)],
      ['Attributes', dir ? 'Directory' : 'Archive'],
    ],
  );
  return o.hide(['PSPath', 'PSParentPath', 'PSChildName', 'PSIsContainer', 'Mode', 'BaseName', 'Exists', 'Attributes', 'LastAccessTime', 'CreationTime', 'IsReadOnly', 'Root', 'Directory']);
}

/** A path from a -Path argument or a piped item (FileInfo's FullName, as PSPath binds by property name). */
function pathsOf(v: PsValue | undefined): string[] {
  return enumerate(v ?? null).map((x) => (x instanceof PsObject && x.has('FullName') ? toStr(x.get('FullName') ?? null) : toStr(x)));
}

// ------------------------------------------------------------ encodings

function encode(text: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? 'utf8').toLowerCase()) {
    case 'unicode':
    case 'utf16':
    case 'utf-16':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'bigendianunicode': {
      const b = Buffer.from(text, 'utf16le');
      b.swap16();
      return Buffer.concat([Buffer.from([0xfe, 0xff]), b]);
    }
    case 'utf8bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    case 'ascii':
      return Buffer.from(text.replace(/[^\x00-\x7f]/g, '?'), 'latin1');
    default:
      return Buffer.from(text, 'utf8');
  }
}

/** Bytes as text, by their byte-order mark (UTF-8 without one). */
function decode(b: Buffer): string {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) {
    const c = Buffer.from(b.subarray(2));
    c.swap16();
    return c.toString('utf16le');
  }
  return b.toString('utf8');
}

const ENCODINGS = ['ascii', 'bigendianunicode', 'bigendianutf32', 'oem', 'unicode', 'utf7', 'utf8', 'utf8BOM', 'utf8NoBOM', 'utf32', 'default', 'byte', 'string', 'unknown'] as const;
const encodingParam: ParamDef = { name: 'Encoding', type: 'string', values: ENCODINGS };

/** Write text to a drive path (creating or replacing the file), refusing the user's own files. */
async function writeText(ctx: CmdletContext, p: string, text: string, opts: { append?: boolean; encoding?: string | undefined; noClobber?: boolean }): Promise<string> {
  const pl = place(ctx.facilities, p);
  if (pl.kind === 'real') throw readOnly(p);
  const files = facilities(ctx).files;
  const st = files.stat(pl.path);
  if (st?.isDirectory) throw new FileError(`Access to the path '${st.fullName}' is denied.`, 'PermissionDenied', 'UnauthorizedAccessException', 'GetContentWriterUnauthorizedAccessError');
  if (st && opts.noClobber) throw new FileError(`The file '${st.fullName}' already exists.`, 'ResourceExists', 'IOException', 'NoClobber');
  const append = opts.append === true && st !== null;
  return files.writeFile(pl.path, append ? Buffer.from(text, 'utf8') : encode(text, opts.encoding), { append, mtimeMs: await ctx.host.now() });
}

// ------------------------------------------------------------ cmdlets

const pathParam = (extra: Partial<ParamDef> = {}): ParamDef => ({ name: 'Path', aliases: ['FullName', 'PSPath', 'LiteralPath', 'LP'], type: 'object[]', position: 0, ...extra });

const testPath = def(
  'Test-Path',
  'TestPathCommand',
  [pathParam({ mandatory: true, pipeline: true }), { name: 'PathType', aliases: ['Type'], type: 'string', values: ['Any', 'Container', 'Leaf'] }, { name: 'IsValid', type: 'switch' }],
  async (ctx, b) => {
    const type = (b.str('PathType') ?? 'Any').toLowerCase();
    for (const p of pathsOf(b.get('Path'))) {
      if (p === '') {
        ctx.error(new PsRuntimeError('Cannot bind argument to parameter \'Path\' because it is an empty string.', 'InvalidArgument', 'ParameterArgumentValidationErrorEmptyStringNotAllowed,Microsoft.PowerShell.Commands.TestPathCommand', 'ParameterBindingValidationException'));
        continue;
      }
      if (b.flag('IsValid')) {
        ctx.emit(!/[<>"|\x00-\x1f]/.test(p));
        continue;
      }
      const hits = expand(ctx, p);
      ctx.emit(hits.some((h) => type === 'any' || (type === 'container') === h.info.isDirectory));
    }
  },
);

const newItem = def(
  'New-Item',
  'NewItemCommand',
  [
    { name: 'Path', type: 'string[]', position: 0 },
    { name: 'Name', type: 'string' },
    { name: 'ItemType', aliases: ['Type'], type: 'string' },
    { name: 'Value', type: 'object', pipeline: true },
    { name: 'Force', type: 'switch' },
  ],
  async (ctx, b) => {
    const type = (b.str('ItemType') ?? 'File').toLowerCase();
    const paths = b.strs('Path') ?? ['.'];
    const name = b.str('Name');
    for (const base of paths) {
      const p = name === undefined ? base : joinPaths(base, [name]);
      try {
        if (!['file', 'directory'].includes(type)) throw new UnsupportedMember(`New-Item -ItemType ${b.str('ItemType')} (files and directories only) is`);
        const pl = place(ctx.facilities, p);
        if (pl.kind === 'real') throw readOnly(p);
        const files = facilities(ctx).files;
        const st = files.stat(pl.path);
        if (!ctx.shouldProcess(`Destination: ${files.locate(pl.path).windows}`, type === 'directory' ? 'Create Directory' : 'Create File')) continue;
        const now = await ctx.host.now();
        if (type === 'directory') {
          if (st && !b.flag('Force')) throw new FileError(`An item with the specified name ${st.fullName} already exists.`, 'ResourceExists', 'IOException', 'DirectoryExist');
          if (st && !st.isDirectory) throw new FileError(`An item with the specified name ${st.fullName} already exists.`, 'ResourceExists', 'IOException', 'DirectoryExist');
          const made = files.mkdir(pl.path, st ? undefined : now);
          ctx.emit(itemObject(files.stat(made)!));
        } else {
          if (st && !b.flag('Force')) throw new FileError(`The file '${st.fullName}' already exists.`, 'ResourceExists', 'IOException', 'NewItemIOError');
          if (st?.isDirectory) throw new FileError(`Access to the path '${st.fullName}' is denied.`, 'PermissionDenied', 'UnauthorizedAccessException', 'NewItemUnauthorizedAccessError');
          const loc = files.locate(pl.path);
          const parent = loc.windows.slice(0, loc.windows.lastIndexOf('\\')) || loc.windows.slice(0, 3);
          if (b.flag('Force') && !files.exists(parent)) files.mkdir(parent, now);
          const value = b.get('Value');
          const made = files.writeFile(pl.path, value === undefined || value === null ? '' : toStr(value), { mtimeMs: now });
          ctx.emit(itemObject(files.stat(made)!));
        }
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
  { confirmImpact: 'Medium' },
);

const removeItem = def(
  'Remove-Item',
  'RemoveItemCommand',
  [pathParam({ pipeline: true, mandatory: true }), { name: 'Recurse', type: 'switch' }, { name: 'Force', type: 'switch' }, { name: 'Filter', type: 'string' }, { name: 'Include', type: 'string[]' }, { name: 'Exclude', type: 'string[]' }],
  async (ctx, b) => {
    for (const p of pathsOf(b.get('Path'))) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0) {
          if (!hasWildcard(p)) throw notFound(p);
          continue;
        }
        for (const h of filterEntries(hits, b)) {
          if (h.place.kind === 'real') throw readOnly(h.info.fullName);
          if (!ctx.shouldProcess(h.info.fullName, h.info.isDirectory ? 'Remove Directory' : 'Remove File')) continue;
          facilities(ctx).files.remove(h.place.path, { recursive: b.flag('Recurse'), mtimeMs: await ctx.host.now() });
        }
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
  { confirmImpact: 'Medium' },
);

function filterEntries<T extends { info: SimFileInfo }>(hits: T[], b: Bound): T[] {
  const inc = b.strs('Include')?.map((x) => wildcard(x));
  const exc = b.strs('Exclude')?.map((x) => wildcard(x));
  const filter = b.str('Filter');
  const fre = filter === undefined ? undefined : wildcard(filter);
  return hits.filter((h) => (!inc || inc.some((r) => r.test(h.info.name))) && !exc?.some((r) => r.test(h.info.name)) && (!fre || fre.test(h.info.name)));
}

/** Copy-Item / Move-Item: into an existing directory, or to the new name. */
function copyOrMove(move: boolean): CmdletDef['run'] {
  return async (ctx, b) => {
    const dest = b.str('Destination') ?? '.';
    for (const p of pathsOf(b.get('Path'))) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0 && !hasWildcard(p)) throw notFound(p);
        const to = place(ctx.facilities, dest);
        if (to.kind === 'real') throw readOnly(dest);
        const files = facilities(ctx).files;
        for (const h of hits) {
          const destInfo = files.stat(to.path);
          const target = destInfo?.isDirectory ? `${destInfo.fullName.replace(/\\$/, '')}\\${h.info.name}` : to.path;
          if (!ctx.shouldProcess(`Item: ${h.info.fullName} Destination: ${target}`, move ? 'Move Item' : 'Copy File')) continue;
          const now = await ctx.host.now();
          if (h.place.kind === 'real') {
            if (move) throw readOnly(h.info.fullName);
            if (h.info.isDirectory) throw new UnsupportedMember(`copying a folder of your own files into the simulated host (${h.info.fullName}) is`);
            const existing = files.stat(target);
            if (existing && !b.flag('Force') && existing.isDirectory) throw new FileError(`Access to the path '${existing.fullName}' is denied.`, 'PermissionDenied', 'UnauthorizedAccessException', 'CopyFileInfoItemUnauthorizedAccessError');
            files.writeFile(target, fs.readFileSync(h.place.path), { mtimeMs: now });
          } else if (move) {
            if (files.exists(target)) {
              if (!b.flag('Force')) throw new FileError('Cannot create a file when that file already exists.', 'WriteError', 'IOException', 'MoveFileInfoItemIOError');
              files.remove(target, { recursive: true });
            }
            files.move(h.place.path, target, now);
          } else {
            if (h.info.isDirectory && destInfo?.isDirectory && !b.flag('Recurse') && files.exists(target)) continue;
            files.copy(h.place.path, target, { recursive: b.flag('Recurse'), mtimeMs: now });
          }
          if (b.flag('PassThru')) ctx.emit(itemObject(files.stat(target)!));
        }
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  };
}

const copyParams: ParamDef[] = [pathParam({ pipeline: true, mandatory: true }), { name: 'Destination', type: 'string', position: 1 }, { name: 'Recurse', type: 'switch' }, { name: 'Force', type: 'switch' }, { name: 'PassThru', type: 'switch' }];
const copyItem = def('Copy-Item', 'CopyItemCommand', [...copyParams, { name: 'Container', type: 'switch' }], copyOrMove(false), { confirmImpact: 'Medium' });
const moveItem = def('Move-Item', 'MoveItemCommand', copyParams.filter((p) => p.name !== 'Recurse'), copyOrMove(true), { confirmImpact: 'Medium' });

const renameItem = def(
  'Rename-Item',
  'RenameItemCommand',
  [pathParam({ pipeline: true, mandatory: true }), { name: 'NewName', type: 'string', position: 1, mandatory: true }, { name: 'Force', type: 'switch' }, { name: 'PassThru', type: 'switch' }],
  async (ctx, b) => {
    for (const p of pathsOf(b.get('Path'))) {
      try {
        const pl = place(ctx.facilities, p);
        if (pl.kind === 'real') throw readOnly(p);
        const files = facilities(ctx).files;
        const st = files.stat(pl.path);
        if (!st) throw notFound(p);
        const target = `${st.fullName.slice(0, st.fullName.lastIndexOf('\\'))}\\${b.str('NewName')!}`;
        if (!ctx.shouldProcess(`Item: ${st.fullName} Destination: ${target}`, 'Rename Item')) continue;
        files.move(pl.path, target, await ctx.host.now());
        if (b.flag('PassThru')) ctx.emit(itemObject(files.stat(target)!));
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
  { confirmImpact: 'Medium' },
);

const getChildItem = def(
  'Get-ChildItem',
  'GetChildItemCommand',
  [
    pathParam({ pipeline: true }),
    { name: 'Filter', type: 'string', position: 1 },
    { name: 'Include', type: 'string[]' },
    { name: 'Exclude', type: 'string[]' },
    { name: 'Recurse', aliases: ['s'], type: 'switch' },
    { name: 'Depth', type: 'int', min: 0 },
    { name: 'File', type: 'switch' },
    { name: 'Directory', aliases: ['ad', 'd'], type: 'switch' },
    { name: 'Force', type: 'switch' },
    { name: 'Name', type: 'switch' },
  ],
  async (ctx, b) => {
    const paths = b.has('Path') ? pathsOf(b.get('Path')) : ['.'];
    const maxDepth = b.has('Depth') ? toNumber(b.get('Depth')!) : b.flag('Recurse') ? Infinity : 0;
    for (const p of paths) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0) {
          if (!hasWildcard(p)) throw notFound(p);
          continue;
        }
        const out: Array<{ info: SimFileInfo; rel: string }> = [];
        // a folder's directories then its files, each by name; then the subfolders' contents (FileSystemProvider)
        const visit = (pl: Place, depth: number, rel: string): void => {
          const entries = listAt(ctx, pl);
          const ordered = [...entries.filter((e) => e.isDirectory), ...entries.filter((e) => !e.isDirectory)];
          for (const info of ordered) out.push({ info, rel: rel + info.name });
          if (depth < maxDepth) for (const info of ordered.filter((e) => e.isDirectory)) visit(pl.kind === 'sim' ? { kind: 'sim', path: info.fullName } : { kind: 'real', path: info.fullName }, depth + 1, `${rel}${info.name}\\`);
        };
        for (const h of hits) {
          if (h.info.isDirectory && !(hasWildcard(p) && !b.flag('Recurse'))) visit(h.place, 0, '');
          else out.push({ info: h.info, rel: h.info.name });
        }
        for (const e of filterEntries(out, b)) {
          if (b.flag('File') && e.info.isDirectory) continue;
          if (b.flag('Directory') && !e.info.isDirectory) continue;
          ctx.emit(b.flag('Name') ? e.rel : itemObject(e.info));
        }
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
);

const getItem = def(
  'Get-Item',
  'GetItemCommand',
  [pathParam({ pipeline: true, mandatory: true }), { name: 'Force', type: 'switch' }],
  async (ctx, b) => {
    for (const p of pathsOf(b.get('Path'))) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0 && !hasWildcard(p)) throw notFound(p);
        for (const h of hits) ctx.emit(itemObject(h.info));
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
);

/** Text split into lines as Get-Content does (CRLF or LF; a final line end adds no empty line). */
function lines(text: string): string[] {
  if (text === '') return [];
  const out = text.split(/\r?\n/);
  if (out[out.length - 1] === '') out.pop();
  return out;
}

const getContent = def(
  'Get-Content',
  'GetContentCommand',
  [
    pathParam({ pipeline: true, mandatory: true }),
    { name: 'Raw', type: 'switch' },
    { name: 'TotalCount', aliases: ['First', 'Head'], type: 'int' },
    { name: 'Tail', aliases: ['Last'], type: 'int' },
    encodingParam,
    { name: 'Delimiter', type: 'string' },
    { name: 'ReadCount', type: 'int' },
  ],
  async (ctx, b) => {
    for (const p of pathsOf(b.get('Path'))) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0 && !hasWildcard(p)) throw notFound(p);
        for (const h of hits) {
          if (h.info.isDirectory) throw new FileError(`Unable to get content because it is a directory: '${h.info.fullName}'. Please use 'Get-ChildItem' instead.`, 'ObjectNotFound', 'UnauthorizedAccessException', 'GetContentReaderUnauthorizedAccessError');
          const text = decode(readAt(ctx, h.place));
          if (b.flag('Raw')) {
            if (text !== '') ctx.emit(text);
            continue;
          }
          let ls = lines(text);
          if (b.has('TotalCount') && toNumber(b.get('TotalCount')!) >= 0) ls = ls.slice(0, toNumber(b.get('TotalCount')!));
          if (b.has('Tail')) ls = toNumber(b.get('Tail')!) === 0 ? [] : ls.slice(-toNumber(b.get('Tail')!));
          for (const l of ls) ctx.emit(l);
        }
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
);

/** Set-Content / Add-Content: each value a line (toString), CRLF after each unless -NoNewline. */
function contentWriter(append: boolean): CmdletDef['run'] {
  return async (ctx, b, input) => {
    const values = b.has('Value') && input.length === 0 ? enumerate(b.get('Value')!) : input.length ? input : enumerate(b.get('Value') ?? null);
    const text = b.flag('NoNewline') ? values.map(toStr).join('') : values.map((v) => toStr(v) + NL).join('');
    for (const p of pathsOf(b.get('Path'))) {
      try {
        if (!ctx.shouldProcess(`Path: ${p}`, append ? 'Add Content' : 'Set Content')) continue;
        let prefix = '';
        if (append) {
          // Add-Content starts a new line when the file does not end with one
          const pl = place(ctx.facilities, p);
          const st = pl.kind === 'sim' ? facilities(ctx).files.stat(pl.path) : null;
          if (st && !st.isDirectory && st.length > 0) {
            const old = decode(facilities(ctx).files.readFile(pl.path));
            if (!/\n$/.test(old) && !b.flag('NoNewline')) prefix = NL;
          }
        }
        await writeText(ctx, p, prefix + text, { append, encoding: b.str('Encoding') });
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  };
}

const contentParams: ParamDef[] = [
  { name: 'Path', aliases: ['PSPath', 'LiteralPath', 'LP'], type: 'string[]', position: 0, mandatory: true },
  { name: 'Value', type: 'object[]', position: 1, pipeline: true },
  { name: 'NoNewline', type: 'switch' },
  { name: 'Force', type: 'switch' },
  { name: 'PassThru', type: 'switch' },
  encodingParam,
];
const setContent = def('Set-Content', 'SetContentCommand', contentParams, contentWriter(false), { collect: true, confirmImpact: 'Medium' });
const addContent = def('Add-Content', 'AddContentCommand', contentParams, contentWriter(true), { collect: true, confirmImpact: 'Medium' });

const outFile = def(
  'Out-File',
  'OutFileCommand',
  [
    { name: 'FilePath', aliases: ['Path', 'PSPath', 'LiteralPath'], type: 'string', position: 0, mandatory: true },
    { name: 'Encoding', type: 'string', position: 1, values: ENCODINGS },
    { name: 'Append', type: 'switch' },
    { name: 'Force', type: 'switch' },
    { name: 'NoClobber', aliases: ['NoOverwrite'], type: 'switch' },
    { name: 'Width', type: 'int' },
    { name: 'NoNewline', type: 'switch' },
    { name: 'InputObject', type: 'object', pipeline: true },
  ],
  async (ctx, b, input) => {
    const items = input.length ? input : b.has('InputObject') ? [b.get('InputObject')!] : [];
    const width = b.has('Width') ? toNumber(b.get('Width')!) : ctx.width;
    let text = b.flag('NoNewline') ? items.map(toStr).join('') : formatDefault(items, width).replace(/\r?\n/g, NL);
    if (!b.flag('NoNewline') && text !== '' && !text.endsWith(NL)) text += NL;
    const p = b.str('FilePath')!;
    try {
      if (!ctx.shouldProcess(p, 'Output to File')) return;
      await writeText(ctx, p, text, { append: b.flag('Append'), encoding: b.str('Encoding'), noClobber: b.flag('NoClobber') });
    } catch (e) {
      fail(ctx, e, p);
    }
  },
  { collect: true, confirmImpact: 'Medium' },
);

/**
 * Tee-Object: passes its input on and also saves it, in a variable (one item as itself, several
 * as an array, none as $null) or as Out-File would write it (-FilePath, -Append).
 */
const teeObject = def(
  'Tee-Object',
  'TeeObjectCommand',
  [
    { name: 'InputObject', type: 'object', pipeline: true },
    { name: 'FilePath', aliases: ['Path'], type: 'string', position: 0, mandatory: true, sets: ['File'] },
    { name: 'LiteralPath', aliases: ['PSPath', 'LP'], type: 'string', mandatory: true, sets: ['LiteralFile'] },
    { name: 'Append', type: 'switch', sets: ['File'] },
    { name: 'Encoding', type: 'string', values: ENCODINGS, sets: ['File', 'LiteralFile'] },
    { name: 'Variable', type: 'string', mandatory: true, sets: ['Variable'] },
  ],
  async (ctx, b, input) => {
    const items = input.length ? input : b.has('InputObject') ? [b.get('InputObject')!] : [];
    if (b.set === 'Variable') {
      if (!ctx.setVariable) throw new UnsupportedMember('Tee-Object -Variable here is');
      ctx.setVariable(b.str('Variable')!, items.length === 0 ? null : items.length === 1 ? items[0]! : items);
    } else {
      const p = (b.str('FilePath') ?? b.str('LiteralPath'))!;
      let text = formatDefault(items, ctx.width).replace(/\r?\n/g, NL);
      if (text !== '' && !text.endsWith(NL)) text += NL;
      try {
        await writeText(ctx, p, text, { append: b.flag('Append'), encoding: b.str('Encoding') });
      } catch (e) {
        fail(ctx, e, p);
      }
    }
    for (const item of items) ctx.emit(item);
  },
  { collect: true, sets: ['File', 'LiteralFile', 'Variable'] },
);

// ------------------------------------------------------------ CSV (PowerShell 7's defaults)

function csvValue(v: PsValue): string {
  if (v instanceof Date) return formatDate(v, 'G')!;
  return toStr(v);
}

function csvLines(items: PsValue[], b: Bound, header: boolean): string[] {
  const objs = items.filter((x) => x !== null);
  if (objs.length === 0) return [];
  const first = objs[0]!;
  const names = first instanceof PsObject ? first.names() : first instanceof PsHashtable ? first.keys() : [];
  const delim = b.str('Delimiter') ?? ',';
  const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  const get = (o: PsValue, n: string): PsValue => (o instanceof PsObject || o instanceof PsHashtable ? (o.get(n) ?? null) : null);
  const out: string[] = [];
  if (b.flag('IncludeTypeInformation')) out.push(`#TYPE ${first instanceof PsObject ? first.typeName : 'System.Collections.Hashtable'}`);
  if (header) out.push(names.map(quote).join(delim));
  for (const o of objs) out.push(names.map((n) => (get(o, n) === null ? '' : quote(csvValue(get(o, n))))).join(delim));
  // a value-less cell is written without quotes ("" only in PowerShell 7 with -UseQuotes Always and a value)
  return out;
}

/** RFC 4180 records (quoted fields, doubled quotes, line ends inside quotes). */
function parseCsv(text: string, delim: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
      continue;
    }
    if (c === '"') {
      quoted = true;
      any = true;
    } else if (c === delim) {
      row.push(field);
      field = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (any || field !== '') row.push(field);
      if (row.length) rows.push(row);
      row = [];
      field = '';
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || field !== '') row.push(field);
  if (row.length) rows.push(row);
  return rows;
}

function csvObjects(text: string, b: Bound): PsObject[] {
  let rows = parseCsv(text, b.str('Delimiter') ?? ',');
  if (rows[0]?.[0]?.startsWith('#TYPE')) rows = rows.slice(1);
  const header = b.strs('Header') ?? rows.shift() ?? [];
  return rows.map((r) => new PsObject(PSCUSTOMOBJECT_TYPE, header.map((h, i): [string, PsValue] => [h, r[i] ?? null])));
}

const csvCommon: ParamDef[] = [
  { name: 'Delimiter', type: 'string' },
  { name: 'NoTypeInformation', aliases: ['NTI'], type: 'switch' },
  { name: 'IncludeTypeInformation', aliases: ['ITI'], type: 'switch' },
  { name: 'UseCulture', type: 'switch', unsupported: '-UseCulture is' },
  { name: 'UseQuotes', type: 'string', values: ['Always'], unsupported: '-UseQuotes other than Always is' },
];

const exportCsv = def(
  'Export-Csv',
  'ExportCsvCommand',
  [
    { name: 'Path', aliases: ['PSPath', 'LiteralPath'], type: 'string', position: 0, mandatory: true },
    { name: 'InputObject', type: 'object', pipeline: true },
    { name: 'Append', type: 'switch' },
    { name: 'Force', type: 'switch' },
    { name: 'NoClobber', type: 'switch' },
    encodingParam,
    ...csvCommon,
  ],
  async (ctx, b, input) => {
    const items = input.length ? input : enumerate(b.get('InputObject') ?? null);
    const p = b.str('Path')!;
    try {
      const pl = place(ctx.facilities, p);
      const exists = pl.kind === 'sim' && facilities(ctx).files.exists(pl.path);
      const ls = csvLines(items, b, !(b.flag('Append') && exists));
      if (!ctx.shouldProcess(p, 'Export-Csv')) return;
      await writeText(ctx, p, ls.map((l) => l + NL).join(''), { append: b.flag('Append'), encoding: b.str('Encoding'), noClobber: b.flag('NoClobber') });
    } catch (e) {
      fail(ctx, e, p);
    }
  },
  { collect: true, confirmImpact: 'Medium' },
);

const convertToCsv = def(
  'ConvertTo-Csv',
  'ConvertToCsvCommand',
  [{ name: 'InputObject', type: 'object', pipeline: true, position: 0 }, ...csvCommon],
  async (ctx, b, input) => {
    for (const l of csvLines(input.length ? input : enumerate(b.get('InputObject') ?? null), b, true)) ctx.emit(l);
  },
  { collect: true },
);

const importCsv = def(
  'Import-Csv',
  'ImportCsvCommand',
  [{ name: 'Path', aliases: ['PSPath', 'LiteralPath'], type: 'string[]', position: 0, pipeline: true }, { name: 'Header', type: 'string[]' }, { name: 'Delimiter', type: 'string', position: 1 }, encodingParam, { name: 'UseCulture', type: 'switch', unsupported: '-UseCulture is' }],
  async (ctx, b) => {
    for (const p of b.strs('Path') ?? []) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0) throw notFound(p);
        for (const h of hits) for (const o of csvObjects(decode(readAt(ctx, h.place)), b)) ctx.emit(o);
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
);

const convertFromCsv = def(
  'ConvertFrom-Csv',
  'ConvertFromCsvCommand',
  [{ name: 'InputObject', type: 'object[]', pipeline: true, position: 0 }, { name: 'Header', type: 'string[]' }, { name: 'Delimiter', type: 'string', position: 1 }],
  async (ctx, b, input) => {
    const text = (input.length ? input : enumerate(b.get('InputObject') ?? null)).map(toStr).join('\n');
    for (const o of csvObjects(text, b)) ctx.emit(o);
  },
  { collect: true },
);

// ------------------------------------------------------------ JSON (PowerShell 7: Newtonsoft, indented by 2)

function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/[<>&']/g, (c) => c);
}

/** ConvertTo-Json's text of a value; deeper than `depth` objects become their ToString(). */
function toJson(v: PsValue, depth: number, compress: boolean, indent: string, state: { truncated: boolean }): string {
  const nl = compress ? '' : '\n';
  const inner = compress ? '' : `${indent}  `;
  const colon = compress ? ':' : ': ';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? (Number.isInteger(v) ? v.toFixed(0) : String(v)) : jsonString(toStr(v));
  if (typeof v === 'string') return jsonString(v);
  if (v instanceof Date) return jsonString(formatDate(v, v.getMilliseconds() ? "yyyy-MM-dd'T'HH:mm:ss.fff" : "yyyy-MM-dd'T'HH:mm:ss")!);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (depth < 0) {
      state.truncated = true;
      return jsonString(v.map(toStr).join(' '));
    }
    return `[${nl}${v.map((x) => inner + toJson(x, depth - 1, compress, inner, state)).join(`,${nl}`)}${nl}${indent}]`;
  }
  if (v instanceof PsObject || v instanceof PsHashtable) {
    if (v instanceof PsObject && !(v.typeName === PSCUSTOMOBJECT_TYPE || v.names().length > 0)) return jsonString(toStr(v));
    if (depth < 0) {
      state.truncated = true;
      return jsonString(toStr(v));
    }
    const keys = v instanceof PsObject ? v.names() : v.keys();
    if (keys.length === 0) return '{}';
    return `{${nl}${keys.map((k) => `${inner}${jsonString(k)}${colon}${toJson(v.get(k) ?? null, depth - 1, compress, inner, state)}`).join(`,${nl}`)}${nl}${indent}}`;
  }
  return jsonString(toStr(v));
}

const convertToJson = def(
  'ConvertTo-Json',
  'ConvertToJsonCommand',
  [
    { name: 'InputObject', type: 'object', pipeline: true, position: 0 },
    { name: 'Depth', type: 'int', min: 0 },
    { name: 'Compress', type: 'switch' },
    { name: 'AsArray', type: 'switch' },
    { name: 'EnumsAsStrings', type: 'switch' },
    { name: 'EscapeHandling', type: 'string', unsupported: 'ConvertTo-Json -EscapeHandling is' },
  ],
  async (ctx, b, input) => {
    const items = input.length ? input : b.has('InputObject') ? [b.get('InputObject')!] : [];
    if (items.length === 0 && !b.flag('AsArray')) return;
    const value: PsValue = items.length === 1 && !b.flag('AsArray') ? items[0]! : items;
    const depth = b.has('Depth') ? toNumber(b.get('Depth')!) : 2;
    const state = { truncated: false };
    const text = toJson(value, Array.isArray(value) && items.length > 1 ? depth + 1 : depth, b.flag('Compress'), '', state);
    if (state.truncated) ctx.warn(`Resulting JSON is truncated as serialization has exceeded the set depth of ${depth}.`);
    ctx.emit(text);
  },
  { collect: true },
);

/** ISO 8601 date-time strings become dates, as PowerShell 7's ConvertFrom-Json does. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/;

function fromJson(v: unknown, asHash: boolean): PsValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (ISO_DATE.test(v)) {
      const hasZone = /(Z|[+-]\d{2}:\d{2})$/.test(v);
      const d = hasZone ? new Date(v) : new Date(v.replace('T', ' ').replace(/\.\d+$/, '') + (v.includes('.') ? '' : ''));
      if (!Number.isNaN(d.getTime())) return d;
    }
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => fromJson(x, asHash));
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]): [string, PsValue] => [k, fromJson(x, asHash)]);
  return asHash ? new PsHashtable(entries) : new PsObject(PSCUSTOMOBJECT_TYPE, entries);
}

const convertFromJson = def(
  'ConvertFrom-Json',
  'ConvertFromJsonCommand',
  [{ name: 'InputObject', type: 'object', pipeline: true, position: 0 }, { name: 'AsHashtable', type: 'switch' }, { name: 'Depth', type: 'int' }, { name: 'NoEnumerate', type: 'switch' }],
  async (ctx, b, input) => {
    const text = (input.length ? input : enumerate(b.get('InputObject') ?? null)).map(toStr).join('\n');
    if (text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      ctx.error(new PsRuntimeError(`Conversion from JSON failed with error: ${(e as Error).message}`, 'InvalidArgument', 'System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand', 'ArgumentException'));
      return;
    }
    const v = fromJson(parsed, b.flag('AsHashtable'));
    if (Array.isArray(v) && !b.flag('NoEnumerate')) for (const x of v) ctx.emit(x);
    else ctx.emit(v);
  },
  { collect: true },
);

// ------------------------------------------------------------ path text

/** The separator a path uses: `/` for a POSIX path of the user's machine, else `\`. */
const sepOf = (p: string): string => (p.startsWith('/') && !p.includes('\\') ? '/' : '\\');

export function joinPaths(base: string, children: string[]): string {
  let out = base;
  for (const c of children) {
    const sep = sepOf(out);
    if (out === '') out = c;
    else if (c === '') out = /[\\/]$/.test(out) ? out : out + sep;
    else out = out.replace(/[\\/]+$/, '') + sep + c.replace(/^[\\/]+/, '');
  }
  return out;
}

const joinPath = def(
  'Join-Path',
  'JoinPathCommand',
  [
    { name: 'Path', aliases: ['PSPath'], type: 'string[]', position: 0, mandatory: true, pipeline: true },
    { name: 'ChildPath', type: 'string', position: 1 },
    { name: 'AdditionalChildPath', type: 'string[]', position: 2, remaining: true },
    { name: 'Resolve', type: 'switch', unsupported: 'Join-Path -Resolve is' },
  ],
  async (ctx, b) => {
    for (const p of b.strs('Path')!) ctx.emit(joinPaths(p, [b.str('ChildPath') ?? '', ...(b.strs('AdditionalChildPath') ?? [])]));
  },
);

const splitPath = def(
  'Split-Path',
  'SplitPathCommand',
  [
    { name: 'Path', aliases: ['PSPath', 'LiteralPath'], type: 'string[]', position: 0, mandatory: true, pipeline: true },
    { name: 'Leaf', type: 'switch' },
    { name: 'Parent', type: 'switch' },
    { name: 'Qualifier', type: 'switch' },
    { name: 'NoQualifier', type: 'switch' },
    { name: 'Extension', type: 'switch' },
    { name: 'LeafBase', type: 'switch' },
    { name: 'IsAbsolute', type: 'switch' },
    { name: 'Resolve', type: 'switch', unsupported: 'Split-Path -Resolve is' },
  ],
  async (ctx, b) => {
    for (const raw of b.strs('Path')!) {
      const p = raw;
      const qual = /^[A-Za-z]+:/.exec(p)?.[0] ?? '';
      if (b.flag('Qualifier')) {
        if (!qual) ctx.error(new PsRuntimeError(`Cannot parse path because path '${p}' does not have a qualifier specified.`, 'InvalidArgument', 'ParsePathFormatError,Microsoft.PowerShell.Commands.SplitPathCommand', 'PSArgumentException'), p);
        else ctx.emit(qual);
        continue;
      }
      if (b.flag('NoQualifier')) {
        ctx.emit(p.slice(qual.length));
        continue;
      }
      if (b.flag('IsAbsolute')) {
        ctx.emit(/^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\') || p.startsWith('/'));
        continue;
      }
      const trimmed = p.length > 1 && !/^[A-Za-z]:[\\/]$/.test(p) ? p.replace(/[\\/]+$/, '') : p;
      const [parentText, leaf] = splitLast(trimmed);
      if (b.flag('Leaf') || b.flag('Extension') || b.flag('LeafBase')) {
        const name = /^[A-Za-z]:[\\/]?$/.test(trimmed) ? '' : leaf.replace(/^[A-Za-z]:/, '');
        const dot = name.lastIndexOf('.');
        ctx.emit(b.flag('Extension') ? (dot > 0 ? name.slice(dot) : '') : b.flag('LeafBase') ? (dot > 0 ? name.slice(0, dot) : name) : name);
        continue;
      }
      // -Parent (the default): C:\a\b → C:\a, C:\a → C:\, C:\ → '' ; a relative name → ''
      let parent = parentText.replace(/[\\/]+$/, '');
      if (/^[A-Za-z]:$/.test(parent)) parent += '\\';
      if (parentText === '/' || parentText === '\\') parent = parentText;
      if (/^[A-Za-z]:[\\/]?$/.test(trimmed)) parent = '';
      ctx.emit(parent);
    }
  },
);

const PATH_INFO = 'System.Management.Automation.PathInfo';

const resolvePath = def(
  'Resolve-Path',
  'ResolvePathCommand',
  [{ name: 'Path', aliases: ['PSPath', 'LiteralPath'], type: 'string[]', position: 0, mandatory: true, pipeline: true }, { name: 'Relative', type: 'switch', unsupported: 'Resolve-Path -Relative is' }],
  async (ctx, b) => {
    for (const p of b.strs('Path')!) {
      try {
        const hits = expand(ctx, p);
        if (hits.length === 0) throw notFound(p);
        for (const h of hits) ctx.emit(new PsObject(PATH_INFO, [['Drive', h.place.kind === 'sim' ? h.info.fullName[0]! : null], ['Provider', 'Microsoft.PowerShell.Core\\FileSystem'], ['ProviderPath', h.info.fullName], ['Path', h.info.fullName]]));
      } catch (e) {
        fail(ctx, e, p);
      }
    }
  },
);

// ------------------------------------------------------------ transcripts

const startTranscript = def(
  'Start-Transcript',
  'StartTranscriptCommand',
  [{ name: 'Path', aliases: ['LiteralPath'], type: 'string', position: 0 }, { name: 'OutputDirectory', type: 'string' }, { name: 'Append', type: 'switch' }, { name: 'Force', type: 'switch' }, { name: 'NoClobber', type: 'switch' }, { name: 'IncludeInvocationHeader', type: 'switch' }],
  async (ctx, b) => {
    const fac = facilities(ctx);
    const now = new Date(await ctx.host.now());
    const stamp = formatDate(now, 'yyyyMMddHHmmss')!;
    const p = b.str('Path') ?? joinPaths(b.str('OutputDirectory') ?? 'C:\\Users\\Administrator\\Documents', [`PowerShell_transcript.${ctx.host.computerName}.hvsim0000.${stamp}.txt`]);
    try {
      const header = [
        '**********************',
        'Windows PowerShell transcript start',
        `Start time: ${stamp}`,
        `Username: ${ctx.host.computerName}\\Administrator`,
        `RunAs User: ${ctx.host.computerName}\\Administrator`,
        `Machine: ${ctx.host.computerName} (Microsoft Windows NT 10.0.20348.0)`,
        'Host Application: C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        'Process ID: 4242',
        '**********************',
        '',
      ].join(NL);
      const pl = place(ctx.facilities, p);
      if (pl.kind === 'real') throw readOnly(p);
      const parentOk = fac.files.exists(pl.path.slice(0, Math.max(pl.path.lastIndexOf('\\'), 3)));
      if (!parentOk) fac.files.mkdir(pl.path.slice(0, pl.path.lastIndexOf('\\')), now.getTime());
      const file = await writeText(ctx, p, header, { append: b.flag('Append'), noClobber: b.flag('NoClobber') });
      fac.transcript = file;
      ctx.writeHost(`Transcript started, output file is ${file}\n`);
    } catch (e) {
      fail(ctx, e, p);
    }
  },
);

const stopTranscript = def('Stop-Transcript', 'StopTranscriptCommand', [], async (ctx) => {
  const fac = facilities(ctx);
  const file = fac.transcript;
  if (file === null) {
    ctx.error(new PsRuntimeError('An error occurred stopping transcription: The host is not currently transcribing.', 'InvalidOperation', 'InvalidOperation,Microsoft.PowerShell.Commands.StopTranscriptCommand', 'PSInvalidOperationException'));
    return;
  }
  const stamp = formatDate(new Date(await ctx.host.now()), 'yyyyMMddHHmmss')!;
  fac.transcript = null;
  fac.files.writeFile(file, ['**********************', 'Windows PowerShell transcript end', `End time: ${stamp}`, '**********************', ''].join(NL), { append: true, mtimeMs: await ctx.host.now() });
  ctx.emit(`Transcript stopped, output file is ${file}`);
});

// ------------------------------------------------------------ locations

/** Set-Location / Push-Location: to a folder of the simulated host (C:\…) or of your machine (read-only use). */
async function setLocationTo(ctx: CmdletContext, p: string, push: boolean): Promise<void> {
  const fac = facilities(ctx);
  try {
    const pl = place(fac, p);
    const info = statAt(ctx, pl);
    if (!info) throw notFound(p);
    if (!info.isDirectory) throw new FileError(`Cannot set the location to '${info.fullName}' because it is a file.`, 'InvalidArgument', 'PSArgumentException', 'Argument');
    if (push) fac.locations.push(fac.location);
    fac.location = info.fullName;
  } catch (e) {
    fail(ctx, e, p);
  }
}

const setLocation = def(
  'Set-Location',
  'SetLocationCommand',
  [{ name: 'Path', aliases: ['LiteralPath', 'PSPath'], type: 'string', position: 0, pipeline: true }, { name: 'PassThru', type: 'switch' }],
  async (ctx, b) => {
    await setLocationTo(ctx, b.str('Path') ?? 'C:\\Users\\Administrator', false);
    if (b.flag('PassThru')) ctx.emit(pathInfo(facilities(ctx).location ?? process.cwd()));
  },
);
const pushLocation = def('Push-Location', 'PushLocationCommand', [{ name: 'Path', aliases: ['LiteralPath', 'PSPath'], type: 'string', position: 0, pipeline: true }], async (ctx, b) => {
  if (b.has('Path')) await setLocationTo(ctx, b.str('Path')!, true);
  else facilities(ctx).locations.push(facilities(ctx).location);
});
const popLocation = def('Pop-Location', 'PopLocationCommand', [{ name: 'PassThru', type: 'switch' }], async (ctx) => {
  const fac = facilities(ctx);
  if (fac.locations.length) fac.location = fac.locations.pop()!;
});
const getLocation = def('Get-Location', 'GetLocationCommand', [], async (ctx) => {
  ctx.emit(pathInfo(ctx.facilities?.location ?? process.cwd()));
});

export const FILE_CMDLETS: CmdletDef[] = [
  setLocation, pushLocation, popLocation, getLocation,
  testPath, newItem, removeItem, copyItem, moveItem, renameItem, getChildItem, getItem, getContent, setContent, addContent, outFile, teeObject,
  exportCsv, importCsv, convertToCsv, convertFromCsv, convertToJson, convertFromJson, joinPath, splitPath, resolvePath, startTranscript, stopTranscript,
];

export const FILE_ALIASES: Record<string, string> = {
  tee: 'Tee-Object',
  cd: 'Set-Location', sl: 'Set-Location', chdir: 'Set-Location', pushd: 'Push-Location', popd: 'Pop-Location', gl: 'Get-Location', pwd: 'Get-Location',
  gci: 'Get-ChildItem', ls: 'Get-ChildItem', dir: 'Get-ChildItem', gc: 'Get-Content', cat: 'Get-Content', type: 'Get-Content', gi: 'Get-Item',
  ni: 'New-Item', md: 'New-Item', ri: 'Remove-Item', rm: 'Remove-Item', del: 'Remove-Item', erase: 'Remove-Item', rd: 'Remove-Item', rmdir: 'Remove-Item',
  cp: 'Copy-Item', copy: 'Copy-Item', cpi: 'Copy-Item', mv: 'Move-Item', move: 'Move-Item', mi: 'Move-Item', ren: 'Rename-Item', rni: 'Rename-Item',
  sc: 'Set-Content', ac: 'Add-Content', epcsv: 'Export-Csv', ipcsv: 'Import-Csv', rvpa: 'Resolve-Path',
};

// ------------------------------------------------------------ [System.IO.File] / [System.IO.Directory]

/** The System.IO.File and Directory static methods scripts use, over the same paths. */
const IO_METHODS = ['Exists', 'ReadAllText', 'ReadAllLines', 'WriteAllText', 'WriteAllLines', 'AppendAllText', 'Delete', 'CreateDirectory', 'GetFiles', 'GetDirectories'];

export async function ioStatic(fac: Facilities, nowMs: number, type: 'file' | 'directory', lower: string, args: PsValue[]): Promise<PsValue | typeof NOT_HANDLED> {
  const name = IO_METHODS.find((m) => m.toLowerCase() === lower) ?? lower;
  try {
    return await ioStaticInner(fac, nowMs, type, lower, args, name);
  } catch (e) {
    // a failure is .NET's MethodInvocationException ("Exception calling …"), which try/catch takes
    const x = fsError(e);
    if (x instanceof FileError) throw new PsRuntimeError(`Exception calling "${name}" with "${args.length}" argument(s): "${x.message}"`, 'InvalidOperation', 'MethodInvocationException', 'MethodInvocationException');
    throw x;
  }
}

async function ioStaticInner(fac: Facilities, nowMs: number, type: 'file' | 'directory', lower: string, args: PsValue[], name: string): Promise<PsValue | typeof NOT_HANDLED> {
  const p = toStr(args[0] ?? null);
  const where = (): Place => place(fac, p);
  const stat = (): SimFileInfo | null => {
    const pl = where();
    return pl.kind === 'sim' ? fac.files.stat(pl.path) : realInfo(pl.path);
  };
  const simOnly = (): string => {
    const pl = where();
    if (pl.kind === 'real') throw new PsRuntimeError(`Exception calling "${name}" with "${args.length}" argument(s): "${readOnly(p).message}"`, 'InvalidOperation', 'UnauthorizedAccessException');
    return pl.path;
  };
  const read = (): string => {
    const pl = where();
    const st = stat();
    if (!st || st.isDirectory) throw new PsRuntimeError(`Exception calling "${name}" with "${args.length}" argument(s): "Could not find file '${p}'."`, 'InvalidOperation', 'FileNotFoundException');
    return decode(pl.kind === 'sim' ? fac.files.readFile(pl.path) : fs.readFileSync(pl.path));
  };
  if (type === 'file') {
    switch (lower) {
      case 'exists':
        return p !== '' && stat()?.isDirectory === false;
      case 'readalltext':
        return read();
      case 'readalllines':
        return lines(read());
      case 'writealltext':
        fac.files.writeFile(simOnly(), toStr(args[1] ?? null), { mtimeMs: nowMs });
        return null;
      case 'writealllines':
        fac.files.writeFile(simOnly(), enumerate(args[1] ?? null).map((x) => toStr(x) + NL).join(''), { mtimeMs: nowMs });
        return null;
      case 'appendalltext':
        fac.files.writeFile(simOnly(), toStr(args[1] ?? null), { append: true, mtimeMs: nowMs });
        return null;
      case 'delete': {
        const sp = simOnly();
        if (fac.files.exists(sp)) fac.files.remove(sp);
        return null;
      }
      default:
        return NOT_HANDLED;
    }
  }
  switch (lower) {
    case 'exists':
      return p !== '' && stat()?.isDirectory === true;
    case 'createdirectory': {
      const made = fac.files.mkdir(simOnly(), nowMs);
      return itemObject(fac.files.stat(made)!);
    }
    case 'getfiles':
    case 'getdirectories': {
      const pl = where();
      const st = stat();
      if (!st?.isDirectory) throw new PsRuntimeError(`Exception calling "${name}" with "${args.length}" argument(s): "Could not find a part of the path '${p}'."`, 'InvalidOperation', 'DirectoryNotFoundException');
      const re = args[1] === undefined ? null : wildcard(toStr(args[1]));
      const all = pl.kind === 'sim' ? fac.files.list(pl.path) : fs.readdirSync(pl.path).map((n) => realInfo(nodePath.join(pl.path, n))!);
      return all.filter((e) => e.isDirectory === (lower === 'getdirectories') && (!re || re.test(e.name))).map((e) => e.fullName);
    }
    case 'delete': {
      fac.files.remove(simOnly(), { recursive: toBool(args[1] ?? false) });
      return null;
    }
    default:
      return NOT_HANDLED;
  }
}
