/**
 * The .NET surface checkpoint scripts reach beyond cmdlets: static members of type literals
 * ([string]::IsNullOrEmpty, [datetime]::Now, [math]::Round, [System.IO.Path]::Combine,
 * [Environment]::MachineName …), type literals as values and .GetType(), .PSObject, the objects
 * New-Object and ::new() make (ArrayList, List[T], PSObject, WindowsPrincipal, SmtpClient,
 * MailMessage …) with their methods, and the casts to those types. The simulated host is a
 * Windows Server: paths use `\`, [Environment]::NewLine is "\r\n", the user is the simulated
 * Administrator (docs/powershell.md, ".NET members"). Members hvsim does not model fail when
 * their line runs, naming the member (UnsupportedMember).
 */
import { markList, listInfo, registerTextForm } from './clr.js';
import { castTo, registerCast, registerCastPattern, spanMs, timeSpanObject, toBool, toDate, toNumber, toStr, typeNameOf } from './convert.js';
import { DAYS, MONTHS } from './dotnet.js';
import { ExitSignal, PsRuntimeError, UnsupportedMember } from './errors.js';
import { textOperator } from './text.js';
import { regex } from './ops.js';
import { PSCUSTOMOBJECT_TYPE, PsHashtable, PsObject, enumerate, isScriptBlock, type PsValue } from './value.js';

/** A mail as SmtpClient.Send / Send-MailMessage hand it to the simulated outbox. */
export interface MailRecord {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  body: string;
  bodyAsHtml: boolean;
  smtpServer: string;
  port: number;
  attachments: string[];
}

/** The environment variables [Environment] reads and writes (environment.ts SimEnvironment). */
export interface EnvironmentVariables {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  delete(name: string): void;
  entries(): Array<[string, string]>;
}

/** What the .NET members need from the session: the host's clock and name, the environment, the outbox. */
export interface DotnetContext {
  /** The host's clock (ms since the epoch). */
  now(): Promise<number>;
  readonly computerName: string;
  readonly env: EnvironmentVariables;
  /** Deliver a mail into the simulated outbox (throws a PsRuntimeError when there is none). */
  sendMail(m: MailRecord): Promise<void>;
  /** System.IO.File / Directory statics over the simulated file system (cmdlets/files.ts). */
  ioStatic?(type: 'file' | 'directory', name: string, args: PsValue[]): Promise<PsValue | typeof NOT_HANDLED>;
  /** $PSCmdlet.ShouldProcess of the advanced function `command` (the interpreter's -WhatIf/-Confirm rules). */
  shouldProcess?(command: string, target: string, action: string | undefined, description: string | undefined): boolean;
  /** $PSCmdlet.WriteVerbose / WriteWarning: the function's Write-Verbose / Write-Warning. */
  write?(stream: 'verbose' | 'warning', text: string): void;
}

/** $PSCmdlet of an advanced function or script ([CmdletBinding()]). */
export const PSCMDLET_TYPE = 'System.Management.Automation.PSScriptCmdlet';

export function psCmdletObject(command: string): PsObject {
  return new PsObject(PSCMDLET_TYPE, [
    ['ParameterSetName', '__AllParameterSets'],
    ['CommandRuntime', command],
  ]);
}

/** Returned when a member is not one of this module's (the caller goes on to methods.ts / members.ts). */
export const NOT_HANDLED: unique symbol = Symbol('not handled');

export const RUNTIME_TYPE = 'System.RuntimeType';
const GUID_TYPE = 'System.Guid';
const VERSION_TYPE = 'System.Version';
const IDENTITY_TYPE = 'System.Security.Principal.WindowsIdentity';
const PRINCIPAL_TYPE = 'System.Security.Principal.WindowsPrincipal';
const SMTP_TYPE = 'System.Net.Mail.SmtpClient';
const MAIL_TYPE = 'System.Net.Mail.MailMessage';
const ATTACHMENT_TYPE = 'System.Net.Mail.Attachment';
const CREDENTIAL_TYPE = 'System.Net.NetworkCredential';
const PSOBJECT_TYPE = 'System.Management.Automation.PSObject';
const STRINGBUILDER_TYPE = 'System.Text.StringBuilder';

/** The simulated user (docs/powershell.md): a local administrator of the simulated host. */
export const SIM_USER = 'Administrator';

registerTextForm(RUNTIME_TYPE, (o) => toStr(o.get('FullName') ?? null));
registerTextForm(GUID_TYPE, (o) => toStr(o.get('Guid') ?? null));
registerTextForm(VERSION_TYPE, (o) =>
  ['Major', 'Minor', 'Build', 'Revision']
    .map((k) => toNumber(o.get(k) ?? -1))
    .filter((x) => x >= 0)
    .join('.'),
);
registerTextForm(MAIL_TYPE, () => MAIL_TYPE);
registerTextForm(STRINGBUILDER_TYPE, (o) => toStr(o.get('__text') ?? null));
registerTextForm(ATTACHMENT_TYPE, (o) => toStr(o.get('Name') ?? null));

/** Lower-case name without a leading "System." (and accelerators' long forms folded). */
export function typeKey(type: string): string {
  return type
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '')
    .replace(/^system\./, '')
    .replace(/^management\.automation\./, '');
}

/** Full .NET names of the type accelerators and short names scripts write. */
const FULL_NAMES: Record<string, string> = {
  string: 'System.String', int: 'System.Int32', int32: 'System.Int32', long: 'System.Int64', int64: 'System.Int64',
  double: 'System.Double', decimal: 'System.Decimal', bool: 'System.Boolean', boolean: 'System.Boolean', char: 'System.Char',
  datetime: 'System.DateTime', timespan: 'System.TimeSpan', math: 'System.Math', guid: GUID_TYPE, version: VERSION_TYPE,
  environment: 'System.Environment', 'io.path': 'System.IO.Path', 'io.file': 'System.IO.File', 'io.directory': 'System.IO.Directory',
  array: 'System.Array', 'object[]': 'System.Object[]', object: 'System.Object', 'string[]': 'System.String[]', 'int[]': 'System.Int32[]',
  hashtable: 'System.Collections.Hashtable', 'collections.hashtable': 'System.Collections.Hashtable',
  ordered: 'System.Collections.Specialized.OrderedDictionary', pscustomobject: PSCUSTOMOBJECT_TYPE, psobject: PSOBJECT_TYPE,
  'collections.arraylist': 'System.Collections.ArrayList', scriptblock: 'System.Management.Automation.ScriptBlock',
  'security.principal.windowsidentity': IDENTITY_TYPE, 'security.principal.windowsprincipal': PRINCIPAL_TYPE,
  'security.principal.windowsbuiltinrole': 'System.Security.Principal.WindowsBuiltInRole', 'net.dns': 'System.Net.Dns',
  'net.mail.smtpclient': SMTP_TYPE, 'net.mail.mailmessage': MAIL_TYPE, 'text.stringbuilder': STRINGBUILDER_TYPE, void: 'System.Void',
  regex: 'System.Text.RegularExpressions.Regex', 'text.regularexpressions.regex': 'System.Text.RegularExpressions.Regex',
};

/** "System.Collections.Generic.List[string]" → the element type key ("string"), else null. */
function genericList(key: string): string | null {
  const m = /^collections\.generic\.list\[(.+)\]$/.exec(key);
  return m ? typeKey(m[1]!) : null;
}

/** A System.RuntimeType object: what [type] and .GetType() give (Name, FullName, ToString() the full name). */
export function typeObject(fullName: string): PsObject {
  const generic = /^([\w.]+)`1\[\[([\w.]+)/.exec(fullName);
  const name = generic ? generic[1]!.split('.').pop()! + '`1' : fullName.split('.').pop()!;
  const ns = generic ? generic[1]!.split('.').slice(0, -1).join('.') : fullName.split('.').slice(0, -1).join('.');
  return new PsObject(RUNTIME_TYPE, [
    ['Name', name],
    ['FullName', fullName],
    ['Namespace', ns],
  ]);
}

/** The full name of a type literal as written ([string] → System.String, [List[string]] → List`1[[System.String…]]). */
export function fullTypeName(type: string): string {
  const key = typeKey(type);
  const el = genericList(key);
  if (el !== null) return listTypeName(el);
  return FULL_NAMES[key] ?? type;
}

function listTypeName(elementKey: string): string {
  const el = FULL_NAMES[elementKey] ?? elementKey;
  return `System.Collections.Generic.List\`1[[${el}, mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]`;
}

// ------------------------------------------------------------ helpers

const arg = (a: PsValue[], i: number): PsValue => a[i] ?? null;
const str = (a: PsValue[], i: number): string => toStr(arg(a, i));
const num = (a: PsValue[], i: number): number => toNumber(arg(a, i));

/** .NET's "Exception calling "M" with "N" argument(s): "text"" (a MethodInvocationException). */
export function callFailed(method: string, args: PsValue[], text: string): PsRuntimeError {
  return new PsRuntimeError(`Exception calling "${method}" with "${args.length}" argument(s): "${text}"`, 'InvalidOperation', 'MethodInvocationException');
}

const MATCH_TYPE = 'System.Text.RegularExpressions.Match';
const GROUP_TYPE = 'System.Text.RegularExpressions.Group';

/** A pattern with [regex]'s options (RegexOptions names, comma-separated, or a number we do not read). */
function regexMatch(pattern: string, options: PsValue | undefined, flags = ''): RegExp {
  const opts = options === undefined || options === null ? [] : toStr(options).split(',').map((o) => o.trim().toLowerCase());
  return regex(pattern, !opts.includes('ignorecase'), `${flags}${opts.includes('multiline') ? 'm' : ''}${opts.includes('singleline') ? 's' : ''}`);
}

function group(name: string, value: string | undefined, index: number): PsObject {
  return new PsObject(GROUP_TYPE, [['Success', value !== undefined], ['Name', name], ['Value', value ?? ''], ['Index', value === undefined ? 0 : index], ['Length', value?.length ?? 0]]);
}

/** A Match: Success Value Index Length, and Groups by number and by name ($m.Groups[1], $m.Groups['name']). */
function matchObject(m: RegExpExecArray | RegExpMatchArray): PsObject {
  const groups = new PsHashtable();
  m.forEach((g, i) => groups.set(String(i), group(String(i), g, i === 0 ? (m.index ?? 0) : (m.index ?? 0) + m[0].indexOf(g ?? ''))));
  for (const [k, g] of Object.entries(m.groups ?? {})) groups.set(k, group(k, g, (m.index ?? 0) + m[0].indexOf(g ?? '')));
  return new PsObject(MATCH_TYPE, [['Groups', groups], ['Success', true], ['Name', '0'], ['Value', m[0]], ['Index', m.index ?? 0], ['Length', m[0].length]]);
}

function noMatch(): PsObject {
  return new PsObject(MATCH_TYPE, [['Groups', new PsHashtable([['0', group('0', undefined, 0)]])], ['Success', false], ['Name', '0'], ['Value', ''], ['Index', 0], ['Length', 0]]);
}
registerTextForm(MATCH_TYPE, (o) => toStr(o.get('Value') ?? null));
registerTextForm(GROUP_TYPE, (o) => toStr(o.get('Value') ?? null));

/** Round half to even (.NET's default MidpointRounding.ToEven), or away from zero. */
export function roundTo(x: number, digits: number, awayFromZero: boolean): number {
  const f = 10 ** digits;
  const y = x * f;
  const r = Math.round(y);
  let out: number;
  if (Math.abs(y % 1) === 0.5) out = awayFromZero ? Math.sign(y) * Math.ceil(Math.abs(y)) : r % 2 === 0 ? r : r - 1;
  else out = Math.sign(y) * Math.round(Math.abs(y));
  return out / f;
}

/** Equality as List.Contains / IndexOf see it (case-sensitive strings, dates by value). */
function same(a: PsValue, b: PsValue): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

// ------------------------------------------------------------ Windows paths (System.IO.Path)

const SEP = /[\\/]/;

export function isPathRooted(p: string): boolean {
  return /^[A-Za-z]:/.test(p) || SEP.test(p[0] ?? '');
}

export function pathCombine(parts: string[]): string {
  let out = '';
  for (const p of parts) {
    if (p === '') continue;
    if (isPathRooted(p) || out === '') out = p;
    else out = /[\\/:]$/.test(out) ? out + p : `${out}\\${p}`;
  }
  return out;
}

export function fileName(p: string): string {
  const i = Math.max(p.lastIndexOf('\\'), p.lastIndexOf('/'), /^[A-Za-z]:/.test(p) ? 1 : -1);
  return p.slice(i + 1);
}

export function extension(p: string): string {
  const name = fileName(p);
  const i = name.lastIndexOf('.');
  return i < 0 || i === name.length - 1 ? '' : name.slice(i);
}

/** Path.GetDirectoryName: null for a root (C:\) or null input, '' for a bare name. */
export function directoryName(p: string): string | null {
  const norm = p.replace(/\//g, '\\');
  if (/^[A-Za-z]:\\?$/.test(norm) || norm === '\\' || /^\\\\[^\\]+\\[^\\]+\\?$/.test(norm)) return null;
  const i = norm.lastIndexOf('\\');
  if (i < 0) return /^[A-Za-z]:/.test(norm) ? norm.slice(0, 2) : '';
  const dir = norm.slice(0, i);
  if (/^[A-Za-z]:$/.test(dir)) return `${dir}\\`;
  return dir === '' ? '\\' : dir.replace(/\\+$/, '');
}

function changeExtension(p: string, ext: PsValue): string {
  const base = extension(p) ? p.slice(0, p.length - extension(p).length) : p.replace(/\.$/, '');
  if (ext === null) return base;
  const e = toStr(ext);
  return e === '' ? `${base}.` : base + (e.startsWith('.') ? e : `.${e}`);
}

function randomName(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 11; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return `${s.slice(0, 8)}.${s.slice(8)}`;
}

// ------------------------------------------------------------ dates

/** DateTime.ParseExact with a custom format (invariant culture); null when the text does not match. */
export function parseExact(text: string, format: string): Date | null {
  let re = '^';
  const fields: string[] = [];
  for (let i = 0; i < format.length; ) {
    const c = format[i]!;
    if (c === "'" || c === '"') {
      const end = format.indexOf(c, i + 1);
      if (end < 0) return null;
      re += escapeRe(format.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (c === '\\') {
      re += escapeRe(format[i + 1] ?? '');
      i += 2;
      continue;
    }
    if (!/[yMdHhmstfF]/.test(c)) {
      re += escapeRe(c);
      i++;
      continue;
    }
    let n = 1;
    while (format[i + n] === c) n++;
    i += n;
    const f = `${c}${n}`;
    fields.push(f);
    if (c === 'M' && n >= 3) re += `(${MONTHS.map((m) => (n === 3 ? m.slice(0, 3) : m)).join('|')})`;
    else if (c === 'd' && n >= 3) re += `(${DAYS.map((m) => (n === 3 ? m.slice(0, 3) : m)).join('|')})`;
    else if (c === 't') re += n === 1 ? '([AP])' : '(AM|PM)';
    else if (c === 'y') re += n === 1 || n === 2 ? (n === 1 ? '(\\d{1,2})' : '(\\d{2})') : `(\\d{${n}})`;
    else if (c === 'f' || c === 'F') re += `(\\d{${c === 'f' ? n : `0,${n}`}})`;
    else re += n === 1 ? '(\\d{1,2})' : '(\\d{2})';
  }
  const m = new RegExp(`${re}$`, 'i').exec(text);
  if (!m) return null;
  let y = 1, mo = 1, d = 1, h = 0, mi = 0, s = 0, ms = 0;
  let pm: boolean | null = null;
  fields.forEach((f, k) => {
    const v = m[k + 1]!;
    const c = f[0]!;
    const n = Number(f.slice(1));
    if (c === 'y') y = n <= 2 ? 2000 + Number(v) : Number(v);
    else if (c === 'M') mo = n >= 3 ? MONTHS.findIndex((x) => x.toLowerCase().startsWith(v.toLowerCase())) + 1 : Number(v);
    else if (c === 'd') {
      if (n <= 2) d = Number(v);
    } else if (c === 'H') h = Number(v);
    else if (c === 'h') h = Number(v) % 12;
    else if (c === 'm') mi = Number(v);
    else if (c === 's') s = Number(v);
    else if (c === 't') pm = v.toUpperCase().startsWith('P');
    else if (c === 'f' || c === 'F') ms = Math.round(Number(`0.${v || '0'}`) * 1000);
  });
  if (pm === true) h += 12;
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(y, mo, 0).getDate() || h > 23 || mi > 59 || s > 59) return null;
  const out = new Date(y, mo - 1, d, h, mi, s, ms);
  if (y < 100) out.setFullYear(y);
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ------------------------------------------------------------ objects

export function guidObject(text?: string): PsObject {
  const g =
    text ??
    'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
      const r = Math.floor(Math.random() * 16);
      return (c === 'x' ? r : (r & 3) | 8).toString(16);
    });
  return new PsObject(GUID_TYPE, [['Guid', g]]);
}

export function versionObject(text: string): PsObject {
  const parts = text.split('.').map((x) => Number(x));
  if (parts.length < 2 || parts.length > 4 || parts.some((x) => !Number.isInteger(x) || x < 0)) throw new PsRuntimeError(`Cannot convert value "${text}" to type "System.Version".`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
  return new PsObject(VERSION_TYPE, [
    ['Major', parts[0]!],
    ['Minor', parts[1]!],
    ['Build', parts[2] ?? -1],
    ['Revision', parts[3] ?? -1],
  ]);
}

function identity(ctx: DotnetContext): PsObject {
  return new PsObject(IDENTITY_TYPE, [
    ['Name', `${ctx.computerName}\\${SIM_USER}`],
    ['AuthenticationType', 'NTLM'],
    ['IsAuthenticated', true],
    ['IsAnonymous', false],
    ['IsGuest', false],
    ['IsSystem', false],
    ['ImpersonationLevel', 'None'],
  ]);
}

function principal(id: PsValue): PsObject {
  if (!(id instanceof PsObject) || id.typeName !== IDENTITY_TYPE) throw new PsRuntimeError(`Cannot convert argument "ntIdentity", with value: "${toStr(id)}", for "WindowsPrincipal" to type "System.Security.Principal.WindowsIdentity".`, 'InvalidArgument', 'MethodArgumentConversionInvalidCastArgument');
  return new PsObject(PRINCIPAL_TYPE, [['Identity', id]]);
}

/** WindowsBuiltInRole names and values (System.Security.Principal.WindowsBuiltInRole). */
const BUILTIN_ROLES: Record<string, number> = {
  administrator: 544, user: 545, guest: 546, poweruser: 547, accountoperator: 548, systemoperator: 549, printoperator: 550, backupoperator: 551, replicator: 552,
};
const ROLE_NAMES: Record<number, string> = { 544: 'Administrator', 545: 'User', 546: 'Guest', 547: 'PowerUser', 548: 'AccountOperator', 549: 'SystemOperator', 550: 'PrintOperator', 551: 'BackupOperator', 552: 'Replicator' };

function builtinRole(v: PsValue): string {
  const n = typeof v === 'number' ? v : BUILTIN_ROLES[toStr(v).toLowerCase()];
  const name = n === undefined ? undefined : ROLE_NAMES[n];
  if (name === undefined) throw new PsRuntimeError(`Cannot convert value "${toStr(v)}" to type "System.Security.Principal.WindowsBuiltInRole". Error: "Unable to match the identifier name ${toStr(v)} to a valid enumerator name. Specify one of the following enumerator names and try again:\nAdministrator, User, Guest, PowerUser, AccountOperator, SystemOperator, PrintOperator, BackupOperator, Replicator"`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
  return name;
}

/** WindowsPrincipal.IsInRole: the simulated user is in Administrators and Users. */
function isInRole(role: PsValue): boolean {
  const r = typeof role === 'number' ? role : toStr(role).toLowerCase().replace(/^builtin\\/, '');
  return r === 544 || r === 545 || ['administrator', 'administrators', 'user', 'users'].includes(String(r));
}

function newList(type: string, elementKey: string | null, items: PsValue[] = []): PsValue[] {
  const conv = elementKey === null || elementKey === 'object' || elementKey === 'psobject' ? null : (v: PsValue) => castTo(elementKey, v);
  return markList(conv ? items.map(conv) : [...items], type, conv);
}

function mailMessage(args: PsValue[]): PsObject {
  const to = newList('System.Net.Mail.MailAddressCollection', null, args.length >= 2 ? str(args, 1).split(',').map((x) => x.trim()) : []);
  return new PsObject(MAIL_TYPE, [
    ['From', args.length >= 1 ? str(args, 0) : null],
    ['To', to],
    ['CC', newList('System.Net.Mail.MailAddressCollection', null)],
    ['Bcc', newList('System.Net.Mail.MailAddressCollection', null)],
    ['Subject', args.length >= 3 ? str(args, 2) : null],
    ['Body', args.length >= 4 ? str(args, 3) : null],
    ['IsBodyHtml', false],
    ['Priority', 'Normal'],
    ['Attachments', newList('System.Net.Mail.AttachmentCollection', null)],
  ]);
}

/** New-Object TypeName -ArgumentList … and [Type]::new(…): the types hvsim models. */
export function construct(type: string, args: PsValue[]): PsValue {
  const key = typeKey(type);
  const el = genericList(key);
  if (el !== null) return newList(listTypeName(el), el, args.length === 1 && Array.isArray(args[0]) ? args[0] : []);
  switch (key) {
    case 'collections.arraylist':
      return newList('System.Collections.ArrayList', null, args.length === 1 && Array.isArray(args[0]) ? args[0] : []);
    case 'psobject':
    case 'pscustomobject':
    case 'object':
      return new PsObject(PSCUSTOMOBJECT_TYPE);
    case 'collections.hashtable':
    case 'hashtable':
      return new PsHashtable();
    case 'datetime':
      return args.length === 0 ? new Date(0, 0, 1) : new Date(num(args, 0), num(args, 1) - 1, num(args, 2), num(args, 3), num(args, 4), num(args, 5), num(args, 6));
    case 'timespan': {
      const a = args.map(toNumber);
      if (a.length === 1) return timeSpanObject(a[0]! / 10_000);
      if (a.length === 3) return timeSpanObject(((a[0]! * 60 + a[1]!) * 60 + a[2]!) * 1000);
      if (a.length >= 4) return timeSpanObject((((a[0]! * 24 + a[1]!) * 60 + a[2]!) * 60 + a[3]!) * 1000 + (a[4] ?? 0));
      return timeSpanObject(0);
    }
    case 'guid':
      return guidObject(args.length ? str(args, 0) : '00000000-0000-0000-0000-000000000000');
    case 'version':
      return versionObject(args.length === 1 ? str(args, 0) : args.map(toStr).join('.'));
    case 'security.principal.windowsprincipal':
      return principal(arg(args, 0));
    case 'net.mail.smtpclient':
      return new PsObject(SMTP_TYPE, [
        ['Host', args.length ? str(args, 0) : null],
        ['Port', args.length > 1 ? num(args, 1) : 25],
        ['EnableSsl', false],
        ['Credentials', null],
        ['UseDefaultCredentials', false],
        ['DeliveryMethod', 'Network'],
        ['Timeout', 100000],
      ]);
    case 'net.mail.mailmessage':
      return mailMessage(args);
    case 'net.mail.attachment':
      return new PsObject(ATTACHMENT_TYPE, [['Name', fileName(str(args, 0))], ['FileName', str(args, 0)]]);
    case 'net.networkcredential':
      return new PsObject(CREDENTIAL_TYPE, [['UserName', str(args, 0)], ['Password', str(args, 1)], ['Domain', str(args, 2)]]).hide(['Password']);
    case 'text.stringbuilder':
      return new PsObject(STRINGBUILDER_TYPE, [['__text', args.length ? str(args, 0) : '']]).hide(['__text']);
    default:
      throw new UnsupportedMember(`creating an object of type [${type}] is`);
  }
}

// ------------------------------------------------------------ static members

type StaticFn = (args: PsValue[], ctx: DotnetContext) => PsValue | Promise<PsValue>;
interface StaticType {
  props?: Record<string, (ctx: DotnetContext) => PsValue | Promise<PsValue>>;
  methods?: Record<string, StaticFn>;
}

const localNow = async (ctx: DotnetContext): Promise<Date> => new Date(await ctx.now());

function parseNumber(type: string, method: string, args: PsValue[], integer: boolean): number {
  const t = str(args, 0).trim();
  const ok = integer ? /^[+-]?\d+$/.test(t) : /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(t);
  if (!ok) throw callFailed(method, args, 'Input string was not in a correct format.');
  void type;
  return Number(t);
}

const NUMBER_STATICS = (integer: boolean, max: number, min: number): StaticType => ({
  props: { maxvalue: () => max, minvalue: () => min },
  methods: { parse: (a) => parseNumber('', 'Parse', a, integer) },
});

const STATICS: Record<string, StaticType> = {
  string: {
    props: { empty: () => '' },
    methods: {
      isnullorempty: (a) => arg(a, 0) === null || str(a, 0) === '',
      isnullorwhitespace: (a) => arg(a, 0) === null || str(a, 0).trim() === '',
      join: (a) => {
        const rest = a.length === 2 ? enumerate(arg(a, 1)) : a.slice(1);
        return rest.map(toStr).join(str(a, 0));
      },
      format: (a) => textOperator('-f', str(a, 0), a.length === 2 && Array.isArray(a[1]) ? a[1] : a.slice(1)),
      concat: (a) => (a.length === 1 ? enumerate(arg(a, 0)) : a).map(toStr).join(''),
      equals: (a) => str(a, 0) === str(a, 1),
      compare: (a) => {
        const [x, y] = toBool(arg(a, 2)) ? [str(a, 0).toLowerCase(), str(a, 1).toLowerCase()] : [str(a, 0), str(a, 1)];
        return x === y ? 0 : x.localeCompare(y, 'en-US') < 0 ? -1 : 1;
      },
    },
  },
  char: { methods: { isdigit: (a) => /^\d$/.test(str(a, 0)), isletter: (a) => /^\p{L}$/u.test(str(a, 0)), iswhitespace: (a) => /^\s$/.test(str(a, 0)) } },
  datetime: {
    props: {
      now: (ctx) => localNow(ctx),
      today: async (ctx) => {
        const d = await localNow(ctx);
        return new Date(d.getFullYear(), d.getMonth(), d.getDate());
      },
      utcnow: async (ctx) => {
        const d = await localNow(ctx);
        return new Date(d.getTime() + d.getTimezoneOffset() * 60_000);
      },
    },
    methods: {
      parseexact: (a) => {
        const text = str(a, 0);
        for (const f of enumerate(arg(a, 1)).map(toStr)) {
          const d = parseExact(text.trim(), f);
          if (d) return d;
        }
        throw callFailed('ParseExact', a, `String '${text}' was not recognized as a valid DateTime.`);
      },
      parse: (a) => {
        try {
          return toDate(str(a, 0));
        } catch {
          throw callFailed('Parse', a, `String '${str(a, 0)}' was not recognized as a valid DateTime.`);
        }
      },
      daysinmonth: (a) => new Date(num(a, 0), num(a, 1), 0).getDate(),
      isleapyear: (a) => new Date(num(a, 0), 1, 29).getDate() === 29,
    },
  },
  regex: {
    props: {},
    methods: {
      // [regex]::X(input, pattern[, options]): .NET's statics, case-sensitive unless IgnoreCase
      match: (a) => {
        const m = regexMatch(str(a, 1), a[2]).exec(str(a, 0));
        return m ? matchObject(m) : noMatch();
      },
      matches: (a) => [...str(a, 0).matchAll(regexMatch(str(a, 1), a[2], 'g'))].map(matchObject),
      ismatch: (a) => regexMatch(str(a, 1), a[2]).test(str(a, 0)),
      replace: (a) => str(a, 0).replace(regexMatch(str(a, 1), a[3], 'g'), str(a, 2).replace(/\$\$|\$0|\$\{(\w+)\}/g, (m, name: string | undefined) => (m === '$$' ? '$$' : m === '$0' ? '$&' : `$<${name}>`))),
      split: (a) => str(a, 0).split(regexMatch(str(a, 1), a[2], 'g')),
      // Regex.Escape: \, *, +, ?, |, {, [, (, ), ^, $, ., #, white space
      escape: (a) => str(a, 0).replace(/[\\*+?|{[()^$.#]/g, '\\$&').replace(/ /g, '\\ ').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\f/g, '\\f'),
      unescape: (a) => str(a, 0).replace(/\\(.)/g, '$1'),
    },
  },
  math: {
    props: { pi: () => Math.PI, e: () => Math.E },
    methods: {
      round: (a) => {
        const digits = a.length >= 2 && typeof a[1] === 'number' ? a[1] : 0;
        const mode = toStr(a.length >= 3 ? arg(a, 2) : a.length === 2 && typeof a[1] !== 'number' ? arg(a, 1) : 'ToEven').toLowerCase();
        return roundTo(num(a, 0), digits, mode === 'awayfromzero');
      },
      floor: (a) => Math.floor(num(a, 0)),
      ceiling: (a) => Math.ceil(num(a, 0)),
      truncate: (a) => Math.trunc(num(a, 0)),
      max: (a) => Math.max(num(a, 0), num(a, 1)),
      min: (a) => Math.min(num(a, 0), num(a, 1)),
      abs: (a) => Math.abs(num(a, 0)),
      pow: (a) => num(a, 0) ** num(a, 1),
      sqrt: (a) => Math.sqrt(num(a, 0)),
      sign: (a) => Math.sign(num(a, 0)),
      log: (a) => (a.length > 1 ? Math.log(num(a, 0)) / Math.log(num(a, 1)) : Math.log(num(a, 0))),
      log10: (a) => Math.log10(num(a, 0)),
      exp: (a) => Math.exp(num(a, 0)),
    },
  },
  'io.path': {
    props: { directoryseparatorchar: () => '\\', altdirectoryseparatorchar: () => '/', pathseparator: () => ';', volumeseparatorchar: () => ':' },
    methods: {
      combine: (a) => pathCombine((a.length === 1 ? enumerate(arg(a, 0)) : a).map(toStr)),
      getfilename: (a) => (arg(a, 0) === null ? null : fileName(str(a, 0))),
      getextension: (a) => (arg(a, 0) === null ? null : extension(str(a, 0))),
      getfilenamewithoutextension: (a) => {
        if (arg(a, 0) === null) return null;
        const n = fileName(str(a, 0));
        const e = extension(n);
        return e ? n.slice(0, -e.length) : n.replace(/\.$/, '');
      },
      getdirectoryname: (a) => (arg(a, 0) === null ? null : directoryName(str(a, 0))),
      gettemppath: (_a, ctx) => `${ctx.env.get('TEMP') ?? 'C:\\Windows\\Temp'}\\`,
      ispathrooted: (a) => isPathRooted(str(a, 0)),
      getpathroot: (a) => /^[A-Za-z]:\\?/.exec(str(a, 0))?.[0] ?? (SEP.test(str(a, 0)[0] ?? '') ? '\\' : ''),
      changeextension: (a) => changeExtension(str(a, 0), arg(a, 1)),
      getrandomfilename: () => randomName(),
      hasextension: (a) => extension(str(a, 0)) !== '',
    },
  },
  environment: {
    props: {
      newline: () => '\r\n',
      machinename: (ctx) => ctx.computerName,
      username: () => SIM_USER,
      userdomainname: (ctx) => ctx.computerName,
      userinteractive: () => false,
      is64bitoperatingsystem: () => true,
      is64bitprocess: () => true,
      processorcount: () => 4,
      systemdirectory: () => 'C:\\Windows\\system32',
      osversion: () =>
        new PsObject('System.OperatingSystem', [
          ['Platform', 'Win32NT'],
          ['ServicePack', ''],
          ['Version', versionObject('10.0.20348.0')],
          ['VersionString', 'Microsoft Windows NT 10.0.20348.0'],
        ]),
      tickcount: async (ctx) => (await ctx.now()) % 2 ** 31,
    },
    methods: {
      getenvironmentvariable: (a, ctx) => ctx.env.get(str(a, 0)) ?? null,
      setenvironmentvariable: (a, ctx) => {
        if (arg(a, 1) === null || str(a, 1) === '') ctx.env.delete(str(a, 0));
        else ctx.env.set(str(a, 0), str(a, 1));
        return null;
      },
      getenvironmentvariables: (_a, ctx) => new PsHashtable(ctx.env.entries()),
      getfolderpath: (a, ctx) => folderPath(str(a, 0), ctx),
      exit: (a) => {
        throw new ExitSignal(num(a, 0));
      },
    },
  },
  int: NUMBER_STATICS(true, 2147483647, -2147483648),
  int32: NUMBER_STATICS(true, 2147483647, -2147483648),
  double: { props: { maxvalue: () => Number.MAX_VALUE, minvalue: () => -Number.MAX_VALUE, nan: () => NaN }, methods: { parse: (a) => parseNumber('', 'Parse', a, false) } },
  timespan: {
    props: { zero: () => timeSpanObject(0) },
    methods: {
      fromdays: (a) => timeSpanObject(num(a, 0) * 86_400_000),
      fromhours: (a) => timeSpanObject(num(a, 0) * 3_600_000),
      fromminutes: (a) => timeSpanObject(num(a, 0) * 60_000),
      fromseconds: (a) => timeSpanObject(num(a, 0) * 1000),
      frommilliseconds: (a) => timeSpanObject(num(a, 0)),
    },
  },
  guid: { props: { empty: () => guidObject('00000000-0000-0000-0000-000000000000') }, methods: { newguid: () => guidObject() } },
  'security.principal.windowsidentity': { methods: { getcurrent: (_a, ctx) => identity(ctx) } },
  'security.principal.windowsbuiltinrole': {
    props: Object.fromEntries(Object.values(ROLE_NAMES).map((n) => [n.toLowerCase(), () => n])),
  },
  'globalization.cultureinfo': {
    props: {
      invariantculture: () => cultureObject(''),
      currentculture: () => cultureObject('en-US'),
      currentuiculture: () => cultureObject('en-US'),
    },
    methods: { getcultureinfo: (a) => cultureObject(str(a, 0)) },
  },
  midpointrounding: { props: { toeven: () => 'ToEven', awayfromzero: () => 'AwayFromZero' } },
  'net.dns': { methods: { gethostname: (_a, ctx) => ctx.computerName } },
};

/** A CultureInfo (hvsim formats and parses in en-US and the invariant culture only: docs/powershell.md). */
function cultureObject(name: string): PsObject {
  if (!['', 'en-us'].includes(name.toLowerCase())) throw new UnsupportedMember(`the culture '${name}' (hvsim formats in en-US and the invariant culture) is`);
  return new PsObject('System.Globalization.CultureInfo', [
    ['Name', name === '' ? '' : 'en-US'],
    ['DisplayName', name === '' ? 'Invariant Language (Invariant Country)' : 'English (United States)'],
    ['LCID', name === '' ? 127 : 1033],
  ]);
}
registerTextForm('System.Globalization.CultureInfo', (o) => toStr(o.get('Name') ?? null));

/** Environment.GetFolderPath for the SpecialFolder names scripts use. */
function folderPath(name: string, ctx: DotnetContext): string {
  const profile = ctx.env.get('USERPROFILE') ?? `C:\\Users\\${SIM_USER}`;
  const map: Record<string, string> = {
    desktop: `${profile}\\Desktop`,
    mydocuments: `${profile}\\Documents`,
    personal: `${profile}\\Documents`,
    userprofile: profile,
    applicationdata: `${profile}\\AppData\\Roaming`,
    localapplicationdata: `${profile}\\AppData\\Local`,
    commonapplicationdata: 'C:\\ProgramData',
    programfiles: 'C:\\Program Files',
    programfilesx86: 'C:\\Program Files (x86)',
    system: 'C:\\Windows\\system32',
    windows: 'C:\\Windows',
    commondesktopdirectory: 'C:\\Users\\Public\\Desktop',
  };
  const p = map[name.toLowerCase()];
  if (p === undefined) throw new UnsupportedMember(`[Environment]::GetFolderPath('${name}') is`);
  return p;
}

function unknownStatic(type: string, name: string, call: boolean): UnsupportedMember {
  return new UnsupportedMember(`the static ${call ? 'method' : 'property'} [${type}]::${name}${call ? '()' : ''} is`);
}

/** [type]::Name */
export async function staticMember(type: string, name: string, ctx: DotnetContext): Promise<PsValue> {
  const fn = STATICS[typeKey(type)]?.props?.[name.toLowerCase()];
  if (!fn) throw unknownStatic(type, name, false);
  return fn(ctx);
}

/** [type]::Name(args); ::new(args) constructs. */
export async function staticInvoke(type: string, name: string, args: PsValue[], ctx: DotnetContext): Promise<PsValue> {
  const key = typeKey(type);
  const lower = name.toLowerCase();
  if (lower === 'new') return construct(type, args);
  if ((key === 'io.file' || key === 'io.directory') && ctx.ioStatic) {
    const r = await ctx.ioStatic(key === 'io.file' ? 'file' : 'directory', lower, args);
    if (r !== NOT_HANDLED) return r;
  }
  const fn = STATICS[key]?.methods?.[lower];
  if (!fn) throw unknownStatic(type, name, true);
  return fn(args, ctx);
}

// ------------------------------------------------------------ instance members

/** $x.PSObject: the object's properties as PSNoteProperty-like objects, and its type names. */
function psObjectView(v: PsValue): PsObject {
  const props: PsValue[] = [];
  if (v instanceof PsObject) {
    const note = v.typeName === PSCUSTOMOBJECT_TYPE;
    for (const n of v.names()) {
      const val = v.get(n) ?? null;
      props.push(
        new PsObject('System.Management.Automation.PSNoteProperty', [
          ['Value', val],
          ['MemberType', note ? 'NoteProperty' : 'Property'],
          ['IsSettable', true],
          ['IsGettable', true],
          ['TypeNameOfValue', val === null ? 'System.Object' : typeNameOf(val)],
          ['Name', n],
          ['IsInstance', true],
        ]),
      );
    }
  } else if (typeof v === 'string') props.push(new PsObject('System.Management.Automation.PSProperty', [['Value', v.length], ['MemberType', 'Property'], ['IsSettable', false], ['IsGettable', true], ['TypeNameOfValue', 'System.Int32'], ['Name', 'Length'], ['IsInstance', true]]));
  const type = v === null ? 'System.Object' : typeNameOf(v);
  return new PsObject(PSOBJECT_TYPE, [
    ['Properties', props],
    ['TypeNames', v instanceof PsObject ? [...v.typeNames, ...(v.typeName === PSCUSTOMOBJECT_TYPE ? ['System.Object'] : [])] : [type, 'System.Object']],
    ['BaseObject', v],
  ]);
}

/** $x.Name for the members this module models (.PSObject); NOT_HANDLED otherwise. */
export function dotnetMember(v: PsValue, name: string): PsValue | typeof NOT_HANDLED {
  if (name.toLowerCase() === 'psobject' && !(v instanceof PsObject && v.has('PSObject'))) return psObjectView(v);
  return NOT_HANDLED;
}

type InstanceFn = (o: PsObject, args: PsValue[], ctx: DotnetContext) => PsValue | Promise<PsValue>;

const INSTANCE_METHODS: Record<string, Record<string, InstanceFn>> = {
  [PSCMDLET_TYPE]: {
    // ShouldProcess(target) / (target, action) / (description, warning, caption): Cmdlet.ShouldProcess
    shouldprocess: (o, a, ctx) => {
      if (!ctx.shouldProcess) throw new UnsupportedMember('$PSCmdlet.ShouldProcess() here is');
      return a.length >= 3 ? ctx.shouldProcess(toStr(o.get('CommandRuntime') ?? null), '', undefined, str(a, 0)) : ctx.shouldProcess(toStr(o.get('CommandRuntime') ?? null), str(a, 0), a.length > 1 ? str(a, 1) : undefined, undefined);
    },
    writeverbose: (_o, a, ctx) => (ctx.write?.('verbose', str(a, 0)), null),
    writewarning: (_o, a, ctx) => (ctx.write?.('warning', str(a, 0)), null),
  },
  [PRINCIPAL_TYPE]: { isinrole: (_o, a) => isInRole(arg(a, 0)) },
  [IDENTITY_TYPE]: { dispose: () => null },
  [GUID_TYPE]: { tostring: (o, a) => (str(a, 0).toUpperCase() === 'N' ? toStr(o.get('Guid') ?? null).replace(/-/g, '') : toStr(o.get('Guid') ?? null)) },
  [VERSION_TYPE]: { tostring: (o) => toStr(o) },
  [SMTP_TYPE]: {
    send: async (o, a, ctx) => {
      const m = a.length === 1 ? a[0]! : mailMessage(a);
      if (!(m instanceof PsObject) || m.typeName !== MAIL_TYPE) throw callFailed('Send', a, 'Value cannot be null.\r\nParameter name: message');
      const host = toStr(o.get('Host') ?? null);
      if (host === '') throw callFailed('Send', a, 'The SMTP host was not specified.');
      const list = (k: string): string[] => enumerate(m.get(k) ?? null).map(toStr);
      await ctx.sendMail({
        from: toStr(m.get('From') ?? null),
        to: list('To'),
        cc: list('CC'),
        bcc: list('Bcc'),
        subject: toStr(m.get('Subject') ?? null),
        body: toStr(m.get('Body') ?? null),
        bodyAsHtml: toBool(m.get('IsBodyHtml') ?? null),
        smtpServer: host,
        port: toNumber(o.get('Port') ?? 25),
        attachments: enumerate(m.get('Attachments') ?? null).map((x) => (x instanceof PsObject ? toStr(x.get('FileName') ?? null) : toStr(x))),
      });
      return null;
    },
    dispose: () => null,
  },
  [MAIL_TYPE]: { dispose: () => null },
  [STRINGBUILDER_TYPE]: {
    append: (o, a) => (o.set('__text', toStr(o.get('__text') ?? null) + str(a, 0)), o),
    appendline: (o, a) => (o.set('__text', `${toStr(o.get('__text') ?? null)}${a.length ? str(a, 0) : ''}\r\n`), o),
    appendformat: (o, a) => (o.set('__text', toStr(o.get('__text') ?? null) + toStr(textOperator('-f', str(a, 0), a.slice(1)))), o),
    tostring: (o) => toStr(o.get('__text') ?? null),
    clear: (o) => (o.set('__text', ''), o),
  },
};

/** Methods of ArrayList / List[T] (and the IList methods a fixed-size array has). */
function listMethod(list: PsValue[], name: string, args: PsValue[]): PsValue | typeof NOT_HANDLED {
  const info = listInfo(list);
  const conv = (v: PsValue): PsValue => (info?.element ? info.element(v) : v);
  const growing = ['add', 'addrange', 'remove', 'removeat', 'insert', 'clear', 'removerange'];
  // System.Array itself has no Sort/Reverse/ToArray instance methods (member enumeration applies)
  if (!info && ['sort', 'reverse', 'toarray'].includes(name)) return NOT_HANDLED;
  if (!info && growing.includes(name)) throw callFailed(name === 'addrange' ? 'AddRange' : name[0]!.toUpperCase() + name.slice(1), args, 'Collection was of a fixed size.');
  switch (name) {
    case 'add':
      list.push(conv(arg(args, 0)));
      return info?.type.startsWith('System.Collections.Generic.') || info?.type.endsWith('Collection') ? null : list.length - 1;
    case 'addrange':
      list.push(...enumerate(arg(args, 0)).map(conv));
      return null;
    case 'remove': {
      const i = list.findIndex((x) => same(x, conv(arg(args, 0))));
      if (i >= 0) list.splice(i, 1);
      return info?.type.startsWith('System.Collections.Generic.') ? i >= 0 : null;
    }
    case 'removeat':
      if (num(args, 0) < 0 || num(args, 0) >= list.length) throw callFailed('RemoveAt', args, 'Index was out of range. Must be non-negative and less than the size of the collection.\r\nParameter name: index');
      list.splice(num(args, 0), 1);
      return null;
    case 'insert':
      list.splice(num(args, 0), 0, conv(arg(args, 1)));
      return null;
    case 'clear':
      list.length = 0;
      return null;
    case 'contains':
      return list.some((x) => same(x, arg(args, 0)));
    case 'indexof':
      return list.findIndex((x) => same(x, arg(args, 0)));
    case 'toarray':
      return [...list];
    case 'sort':
      if (args.length) return NOT_HANDLED;
      list.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : toStr(a).localeCompare(toStr(b), 'en-US')));
      return null;
    case 'reverse':
      list.reverse();
      return null;
    default:
      return NOT_HANDLED;
  }
}

/** $x.Method(args) for the objects this module models (and .GetType() on anything); NOT_HANDLED otherwise. */
export async function dotnetInvoke(v: PsValue, name: string, args: PsValue[], ctx: DotnetContext): Promise<PsValue | typeof NOT_HANDLED> {
  const key = name.toLowerCase();
  if (v === null || isScriptBlock(v) && key !== 'gettype') return NOT_HANDLED;
  if (key === 'gettype' && args.length === 0) return typeObject(typeNameOf(v));
  if (Array.isArray(v)) return listMethod(v, key, args);
  if (v instanceof PsObject) {
    const fn = INSTANCE_METHODS[v.typeName]?.[key];
    if (fn) return fn(v, args, ctx);
    if (v.typeName === 'System.TimeSpan' && key === 'tostring' && args.length === 0) return toStr(v);
    if (v.typeName === 'System.TimeSpan' && (key === 'add' || key === 'subtract')) return timeSpanObject(toNumber(v.get('TotalMilliseconds') ?? 0) + (key === 'add' ? 1 : -1) * (spanMs(arg(args, 0)) ?? 0));
  }
  return NOT_HANDLED;
}

// ------------------------------------------------------------ casts

registerCast('collections.arraylist', (v) => (listInfo(v)?.type === 'System.Collections.ArrayList' ? v : newList('System.Collections.ArrayList', null, v === null ? [] : enumerate(v))));
registerCast('guid', (v) => (v instanceof PsObject && v.typeName === GUID_TYPE ? v : guidObject(toStr(v))));
registerCast('version', (v) => (v instanceof PsObject && v.typeName === VERSION_TYPE ? v : versionObject(toStr(v))));
registerCast('security.principal.windowsprincipal', (v) => (v instanceof PsObject && v.typeName === PRINCIPAL_TYPE ? v : principal(v)));
registerCast('security.principal.windowsidentity', (v) => {
  if (v instanceof PsObject && v.typeName === IDENTITY_TYPE) return v;
  throw new PsRuntimeError(`Cannot convert the "${toStr(v)}" value of type "${typeNameOf(v)}" to type "System.Security.Principal.WindowsIdentity".`, 'InvalidArgument', 'ConvertToFinalInvalidCastException');
});
registerCast('security.principal.windowsbuiltinrole', (v) => builtinRole(v));
registerCast('psobject', (v) => v);
registerCast('object', (v) => v);
registerCast('char', (v) => {
  if (typeof v === 'number') return String.fromCharCode(v);
  const s = toStr(v);
  if (s.length !== 1) throw new PsRuntimeError(`Cannot convert value "${s}" to type "System.Char". Error: "String must be exactly one character long."`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
  return s;
});
registerCast('text.stringbuilder', (v) => new PsObject(STRINGBUILDER_TYPE, [['__text', toStr(v)]]).hide(['__text']));

/** A cast to List[T] ([System.Collections.Generic.List[string]]$x = @()). */
registerCastPattern(/^collections\.generic\.list\[.+\]$/, (type, v) => {
  const el = genericList(typeKey(type))!;
  return listInfo(v)?.type === listTypeName(el) ? v : newList(listTypeName(el), el, v === null ? [] : enumerate(v));
});
