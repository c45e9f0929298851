/**
 * PowerShell value semantics hvsim run needs: truthiness, conversions and [type] casts,
 * comparisons (case-insensitive unless -c…), arithmetic (dates and TimeSpans included), the text
 * operators -f -replace -split -join, member access with member enumeration, and the string and
 * date methods scripts use. Imports: clock, dotnet, value.
 */
import { HvsimError } from '../errors.js';
import { timeSpan } from '../host/clock.js';
import { wildcardRegExp } from '../host/wildcard.js';
import { align, formatDate, formatNumber, parseComposite, parseDate } from './dotnet.js';
import { PsHashtable, PsObject, isScriptBlock, type PsValue } from './value.js';

/** Thrown for an operation PowerShell would refuse at run time (the statement fails). */
export class PsRuntimeError extends Error {
  constructor(message: string, readonly category: 'InvalidOperation' | 'InvalidArgument' = 'InvalidOperation', readonly errorId = 'RuntimeException') {
    super(message);
    this.name = 'PsRuntimeError';
  }
}

/** A method or member hvsim does not implement (the run stops). */
export class UnsupportedMember extends Error {
  constructor(readonly what: string) {
    super(what);
    this.name = 'UnsupportedMember';
  }
}

export const TIMESPAN_TYPE = 'System.TimeSpan';
export const ERROR_RECORD_TYPE = 'System.Management.Automation.ErrorRecord';

/** A System.TimeSpan ((Get-Date) - $snap.CreationTime) with its usual properties. */
export function timeSpanObject(ms: number): PsObject {
  const part = (unit: number, mod: number): number => Math.trunc(ms / unit) % mod;
  return new PsObject(TIMESPAN_TYPE, [
    ['Days', Math.trunc(ms / 86_400_000)],
    ['Hours', part(3_600_000, 24)],
    ['Minutes', part(60_000, 60)],
    ['Seconds', part(1000, 60)],
    ['Milliseconds', part(1, 1000)],
    ['Ticks', ms * 10_000],
    ['TotalDays', ms / 86_400_000],
    ['TotalHours', ms / 3_600_000],
    ['TotalMinutes', ms / 60_000],
    ['TotalSeconds', ms / 1000],
    ['TotalMilliseconds', ms],
  ]);
}

/** A TimeSpan's length in milliseconds, or null when `v` is not a TimeSpan. */
function spanMs(v: PsValue): number | null {
  return v instanceof PsObject && v.typeName === TIMESPAN_TYPE ? toNumber(v.get('TotalMilliseconds') ?? 0) : null;
}

export function isScalar(v: PsValue): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** What a pipeline enumerates: an array's items, nothing for $null, else the value itself. */
export function enumerate(v: PsValue): PsValue[] {
  if (v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** A pipeline's output as one value: nothing → $null, one item → the item, else an array. */
export function collapse(items: PsValue[]): PsValue {
  if (items.length === 0) return null;
  return items.length === 1 ? items[0]! : items;
}

export function typeNameOf(v: PsValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'System.String';
  if (typeof v === 'number') return Number.isInteger(v) ? (Math.abs(v) <= 2 ** 31 - 1 ? 'System.Int32' : 'System.Int64') : 'System.Double';
  if (typeof v === 'boolean') return 'System.Boolean';
  if (v instanceof Date) return 'System.DateTime';
  if (Array.isArray(v)) return 'System.Object[]';
  if (v instanceof PsHashtable) return 'System.Collections.Hashtable';
  if (v instanceof PsObject) return v.typeName;
  return 'System.Management.Automation.ScriptBlock';
}

export function toBool(v: PsValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length === 0 ? false : v.length === 1 ? toBool(v[0]!) : true;
  return true;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** How PowerShell turns a value into text in "strings" and string parameters (invariant culture). */
export function toStr(v: PsValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date)
    return `${two(v.getMonth() + 1)}/${two(v.getDate())}/${v.getFullYear()} ${two(v.getHours())}:${two(v.getMinutes())}:${two(v.getSeconds())}`;
  if (Array.isArray(v)) return v.map(toStr).join(' ');
  if (v instanceof PsObject) {
    const span = spanMs(v);
    if (span !== null) return timeSpan(span);
    if (v.typeName === ERROR_RECORD_TYPE) return toStr(getMember(v.get('Exception') ?? null, 'Message'));
    if (v.typeName === 'Microsoft.HyperV.PowerShell.VirtualMachine') return `VirtualMachine (Name = '${toStr(v.get('Name') ?? null)}') [Id = '${toStr(v.get('Id') ?? null)}']`;
    if (v.typeName === 'Microsoft.HyperV.PowerShell.VMSnapshot') return `VMSnapshot (Name = '${toStr(v.get('Name') ?? null)}') [Id = '${toStr(v.get('Id') ?? null)}']`;
    return v.typeName;
  }
  if (v instanceof PsHashtable) return 'System.Collections.Hashtable';
  if (isScriptBlock(v)) return v.text;
  return String(v);
}

export function toNumber(v: PsValue): number {
  if (v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const t = v.trim();
    const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(kb|mb|gb|tb|pb)?$/i.exec(t);
    if (t !== '' && m) return Number(m[1]) * ({ kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40, pb: 2 ** 50 }[(m[2] ?? '').toLowerCase()] ?? 1);
    if (t === '') return 0;
  }
  if (Array.isArray(v) && v.length === 1) return toNumber(v[0]!);
  throw new PsRuntimeError(`Cannot convert value "${toStr(v)}" to type "System.Int32". Error: "Input string was not in a correct format."`, 'InvalidArgument', 'InvalidCastFromStringToInteger');
}

function toDate(v: PsValue): Date {
  if (v instanceof Date) return v;
  if (Array.isArray(v) && v.length === 1) return toDate(v[0]!);
  const d = typeof v === 'string' ? parseDate(v) : null;
  if (d) return d;
  throw new PsRuntimeError(`Cannot convert value "${toStr(v)}" to type "System.DateTime".`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
}

/** Wildcard pattern to a RegExp; PowerShell's -like (WildcardPattern: src/host/wildcard.ts). */
export function wildcard(pattern: string, caseSensitive = false): RegExp {
  try {
    return wildcardRegExp(pattern, caseSensitive);
  } catch (e) {
    if (e instanceof HvsimError) throw new PsRuntimeError(e.message, 'InvalidArgument', 'WildcardPattern_Invalid');
    throw e;
  }
}

/** Characters for use inside [...] of a RegExp. */
function charClass(chars: string): string {
  return chars.replace(/[\]\\^-]/g, '\\$&');
}

/** A .NET regular expression as a RegExp; a pattern JavaScript cannot read fails the statement. */
function regex(pattern: string, caseSensitive: boolean, flags = ''): RegExp {
  // a leading (?i) is .NET's inline case-insensitive option
  const inline = /^\(\?i\)/.test(pattern);
  try {
    return new RegExp(inline ? pattern.slice(4) : pattern, (caseSensitive && !inline ? '' : 'i') + flags);
  } catch {
    throw new PsRuntimeError(`The regular expression pattern ${pattern} is not valid (or uses .NET syntax hvsim does not read).`, 'InvalidArgument', 'InvalidRegularExpression');
  }
}

/** -eq between two scalars: the right side converted to the left side's type. */
function equal(l: PsValue, r: PsValue, cs: boolean): boolean {
  if (l === null || r === null) return l === r;
  if (typeof l === 'string') {
    const rs = toStr(r);
    return cs ? l === rs : l.toLowerCase() === rs.toLowerCase();
  }
  if (typeof l === 'number') {
    try {
      return l === toNumber(r);
    } catch {
      return false;
    }
  }
  if (typeof l === 'boolean') return l === toBool(r);
  if (l instanceof Date) {
    try {
      return l.getTime() === toDate(r).getTime();
    } catch {
      return false;
    }
  }
  const span = spanMs(l);
  if (span !== null) return span === spanMs(r);
  return l === r;
}

/** <0, 0, >0 for -lt/-gt…, the right side converted to the left side's type. */
function order(l: PsValue, r: PsValue, cs: boolean): number {
  if (l instanceof Date) return l.getTime() - toDate(r).getTime();
  if (typeof l === 'number') return l - toNumber(r);
  if (l === null) return r === null ? 0 : -1;
  if (typeof l === 'string') {
    const a = cs ? l : l.toLowerCase();
    const b = cs ? toStr(r) : toStr(r).toLowerCase();
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof l === 'boolean') return Number(l) - Number(toBool(r));
  const span = spanMs(l);
  if (span !== null && spanMs(r) !== null) return span - spanMs(r)!;
  throw new PsRuntimeError(`Cannot compare "${toStr(l)}" because it is not IComparable.`, 'InvalidOperation', 'NotIcomparable');
}

function scalarCompare(op: string, l: PsValue, r: PsValue, cs: boolean): boolean {
  switch (op) {
    case 'eq':
      return equal(l, r, cs);
    case 'ne':
      return !equal(l, r, cs);
    case 'lt':
      return order(l, r, cs) < 0;
    case 'gt':
      return order(l, r, cs) > 0;
    case 'le':
      return order(l, r, cs) <= 0;
    case 'ge':
      return order(l, r, cs) >= 0;
    case 'like':
      return wildcard(toStr(r), cs).test(toStr(l));
    case 'notlike':
      return !wildcard(toStr(r), cs).test(toStr(l));
    case 'match':
      return regex(toStr(r), cs).test(toStr(l));
    case 'notmatch':
      return !regex(toStr(r), cs).test(toStr(l));
    default:
      throw new PsRuntimeError(`unknown comparison -${op}`);
  }
}

/** A comparison operator (-eq, -ceq, -ilike, -contains, -in …); an array on the left filters. */
export function compare(opText: string, l: PsValue, r: PsValue): PsValue {
  const m = /^-([ci]?)(eq|ne|lt|gt|le|ge|like|notlike|match|notmatch|contains|notcontains|in|notin)$/.exec(opText);
  if (!m) throw new PsRuntimeError(`unknown comparison ${opText}`);
  const cs = m[1] === 'c';
  const op = m[2]!;
  if (op === 'contains' || op === 'notcontains') {
    const hit = enumerate(l).some((x) => equal(x, r, cs));
    return op === 'contains' ? hit : !hit;
  }
  if (op === 'in' || op === 'notin') {
    const hit = enumerate(r).some((x) => equal(x, l, cs));
    return op === 'in' ? hit : !hit;
  }
  if (Array.isArray(l)) return l.filter((x) => scalarCompare(op, x, r, cs));
  return scalarCompare(op, l, r, cs);
}

/** $Matches after a successful scalar -match: 0 = the whole match, then numbered and named groups. */
export function matchTable(l: PsValue, r: PsValue, caseSensitive: boolean): PsHashtable | null {
  const m = regex(toStr(r), caseSensitive).exec(toStr(l));
  if (!m) return null;
  const h = new PsHashtable();
  m.forEach((g, i) => g !== undefined && h.set(String(i), g));
  for (const [k, g] of Object.entries(m.groups ?? {})) if (g !== undefined) h.set(k, g);
  return h;
}

/** A value formatted as .NET's ToString(format) / -f's {i:format}: dates and numbers by .NET's rules, the rest as text. */
export function formatWith(v: PsValue, format: string | undefined): string {
  if (v instanceof Date) {
    const text = formatDate(v, format ?? 'G');
    if (text === null) throw new UnsupportedMember(`the date format "${format}" is`);
    return text;
  }
  if (typeof v === 'number' && format !== undefined) {
    const text = formatNumber(v, format);
    if (text === null) throw new UnsupportedMember(`the number format "${format}" is`);
    return text;
  }
  return toStr(v);
}

/** "{0,-10} has {1:N1}" -f $a, $b */
function formatOperator(fmt: string, args: PsValue[]): string {
  const parts = parseComposite(fmt);
  if (!parts) throw new PsRuntimeError(`Error formatting a string: Input string was not in a correct format.: ${fmt}`, 'InvalidOperation', 'FormatError');
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    if (p.index >= args.length)
      throw new PsRuntimeError(`Error formatting a string: Index (zero based) must be greater than or equal to zero and less than the size of the argument list.: ${fmt}`, 'InvalidOperation', 'FormatError');
    out += align(formatWith(args[p.index]!, p.format), p.align);
  }
  return out;
}

/** .NET replacement text for JavaScript: $0 is the whole match, ${name} a named group. */
function replacement(s: string): string {
  return s.replace(/\$\$|\$0|\$\{(\w+)\}/g, (m, name: string | undefined) => (m === '$$' ? '$$' : m === '$0' ? '$&' : `$<${name}>`));
}

const TEXT_OPERATOR = /^-([ci]?)(replace|split)$|^-()(join|f)$/;

/** Whether the (lower-case) binary operator is one of textOperator's. */
export function isTextOperator(op: string): boolean {
  return TEXT_OPERATOR.test(op);
}

/** -f -replace -split -join (and -i…/-c… forms of -replace/-split); each item of an array on the left for -replace/-split. */
export function textOperator(opText: string, l: PsValue, r: PsValue): PsValue {
  const m = TEXT_OPERATOR.exec(opText);
  if (!m) throw new PsRuntimeError(`unknown operator ${opText}`);
  const cs = m[1] === 'c';
  switch (m[2] ?? m[4]) {
    case 'f':
      return formatOperator(toStr(l), Array.isArray(r) ? r : [r]);
    case 'join':
      return enumerate(l).map(toStr).join(toStr(r));
    case 'replace': {
      const [pattern = null, by = ''] = Array.isArray(r) ? r : [r];
      const re = regex(toStr(pattern), cs, 'g');
      const one = (x: PsValue): string => toStr(x).replace(re, replacement(toStr(by)));
      return Array.isArray(l) ? l.map(one) : one(l);
    }
    default: {
      const [pattern = null, max = 0] = Array.isArray(r) ? r : [r];
      const limit = toNumber(max);
      const re = regex(toStr(pattern), cs, 'g');
      const one = (x: PsValue): string[] => {
        const s = toStr(x);
        if (limit <= 0) return s.split(re).filter((p): p is string => p !== undefined);
        const out: string[] = [];
        let at = 0;
        for (const hit of s.matchAll(re)) {
          if (out.length === limit - 1) break;
          out.push(s.slice(at, hit.index));
          at = hit.index + hit[0].length;
        }
        return [...out, s.slice(at)];
      };
      return enumerate(l).flatMap(one);
    }
  }
}

/** Unary -join (concatenate) and -split (on whitespace). */
export function unaryText(op: string, v: PsValue): PsValue {
  if (op === '-join') return enumerate(v).map(toStr).join('');
  return enumerate(v).flatMap((x) => toStr(x).trim().split(/\s+/));
}

const toInt = (v: PsValue): number => {
  const n = toNumber(v);
  // .NET rounds half to even
  const r = Math.round(n);
  return Math.abs(n % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

const toHashtable = (v: PsValue): PsValue => {
  if (v instanceof PsHashtable) return v;
  throw new PsRuntimeError(`Cannot convert the "${toStr(v)}" value of type "${typeNameOf(v)}" to type "System.Collections.Hashtable".`, 'InvalidArgument', 'ConvertToFinalInvalidCastException');
};

/** [type]value for the types scripts cast to, by lower-case name without "System.". */
const CASTS: Record<string, (v: PsValue) => PsValue> = {
  string: toStr,
  int: toInt,
  int32: toInt,
  int64: toInt,
  long: toInt,
  double: toNumber,
  decimal: toNumber,
  single: toNumber,
  bool: toBool,
  boolean: toBool,
  datetime: (v) => (v === null ? new Date(0) : toDate(v)),
  timespan: (v) => {
    if (spanMs(v) !== null) return v;
    throw new PsRuntimeError(`Cannot convert value "${toStr(v)}" to type "System.TimeSpan".`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
  },
  array: enumerate,
  'object[]': enumerate,
  'string[]': (v) => enumerate(v).map(toStr),
  'int[]': (v) => enumerate(v).map(toInt),
  pscustomobject: (v) => (v instanceof PsHashtable ? new PsObject('System.Management.Automation.PSCustomObject', v.keys().map((k) => [k, v.get(k) ?? null])) : v),
  ordered: toHashtable,
  hashtable: toHashtable,
  'collections.hashtable': toHashtable,
  void: () => null,
};

const castKey = (type: string): string => type.toLowerCase().replace(/^system\./, '').replace(/^management\.automation\./, '');

/** Whether hvsim knows the cast [type] (checked before the run). */
export function knownCast(type: string): boolean {
  return castKey(type) in CASTS;
}

/** [type]value (the type checked by knownCast). */
export function castTo(type: string, v: PsValue): PsValue {
  const fn = CASTS[castKey(type)];
  if (!fn) throw new UnsupportedMember(`the type cast [${type}] is`);
  return fn(v);
}

export function arithmetic(op: string, l: PsValue, r: PsValue): PsValue {
  if (op === '+' || op === '-') {
    const date = dateArithmetic(op, l, r);
    if (date !== undefined) return date;
  }
  if (op === '+') {
    if (Array.isArray(l)) return [...l, ...enumerate(r)];
    if (typeof l === 'string') return l + toStr(r);
    if (l === null) return r;
    return toNumber(l) + toNumber(r);
  }
  const a = toNumber(l);
  const b = toNumber(r);
  switch (op) {
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new PsRuntimeError('Attempted to divide by zero.', 'InvalidOperation', 'RuntimeException');
      return a / b;
    case '%':
      return a % b;
    default:
      throw new PsRuntimeError(`unknown operator ${op}`);
  }
}

/** date - date = TimeSpan, date ± TimeSpan = date, TimeSpan ± TimeSpan; undefined for other operands. */
function dateArithmetic(op: '+' | '-', l: PsValue, r: PsValue): PsValue | undefined {
  const sign = op === '+' ? 1 : -1;
  const rs = spanMs(r);
  if (l instanceof Date) {
    if (rs !== null) return new Date(l.getTime() + sign * rs);
    if (op === '-' && (r instanceof Date || typeof r === 'string')) return timeSpanObject(l.getTime() - toDate(r).getTime());
    throw new PsRuntimeError(`Cannot convert "${toStr(r)}" to "System.TimeSpan".`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
  }
  const ls = spanMs(l);
  if (ls !== null && rs !== null) return timeSpanObject(ls + sign * rs);
  return undefined;
}

const DATE_PROPS: Record<string, (d: Date) => PsValue> = {
  year: (d) => d.getFullYear(),
  month: (d) => d.getMonth() + 1,
  day: (d) => d.getDate(),
  hour: (d) => d.getHours(),
  minute: (d) => d.getMinutes(),
  second: (d) => d.getSeconds(),
  millisecond: (d) => d.getMilliseconds(),
  dayofweek: (d) => ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getDay()]!,
  date: (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()),
};

/** $x.Name: properties, hashtable keys, Count/Length, and member enumeration over arrays. */
export function getMember(v: PsValue, name: string): PsValue {
  const key = name.toLowerCase();
  if (Array.isArray(v)) {
    if (key === 'count' || key === 'length') return v.length;
    const out: PsValue[] = [];
    for (const item of v) {
      const x = getMember(item, name);
      if (Array.isArray(x)) out.push(...x);
      else if (x !== null) out.push(x);
    }
    return collapse(out);
  }
  if (v instanceof PsObject) {
    if (v.has(name)) return v.get(name) ?? null;
    return key === 'count' ? 1 : null;
  }
  if (v instanceof PsHashtable) {
    if (key === 'count') return v.size;
    if (key === 'keys') return v.keys();
    return v.get(name) ?? null;
  }
  if (v instanceof Date && key in DATE_PROPS) return DATE_PROPS[key]!(v);
  if (typeof v === 'string' && key === 'length') return v.length;
  if (key === 'count') return v === null ? 0 : 1;
  return null;
}

type Method = (target: never, args: PsValue[]) => PsValue;

const DATE_METHODS: Record<string, (d: Date, args: PsValue[]) => PsValue> = {
  adddays: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 86_400_000),
  addhours: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 3_600_000),
  addminutes: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 60_000),
  addseconds: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 1000),
  addmilliseconds: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0)),
  addmonths: (d, a) => {
    const x = new Date(d.getTime());
    x.setMonth(x.getMonth() + toNumber(a[0] ?? 0));
    return x;
  },
  addyears: (d, a) => {
    const x = new Date(d.getTime());
    x.setFullYear(x.getFullYear() + toNumber(a[0] ?? 0));
    return x;
  },
  tostring: (d, a) => formatWith(d, a.length > 0 ? toStr(a[0]!) : undefined),
  toshortdatestring: (d) => formatDate(d, 'd')!,
  tolongdatestring: (d) => formatDate(d, 'D')!,
  toshorttimestring: (d) => formatDate(d, 't')!,
  tolongtimestring: (d) => formatDate(d, 'T')!,
  touniversaltime: (d) => d,
  tolocaltime: (d) => d,
};

const STRING_METHODS: Record<string, (s: string, args: PsValue[]) => PsValue> = {
  toupper: (s) => s.toUpperCase(),
  tolower: (s) => s.toLowerCase(),
  trim: (s, a) => trimChars(s, a, true, true),
  trimstart: (s, a) => trimChars(s, a, true, false),
  trimend: (s, a) => trimChars(s, a, false, true),
  split: (s, a) => {
    const seps = a.flatMap((x) => (Array.isArray(x) ? x : [x])).map(toStr);
    // String.Split(char[]): each character separates (no arguments: whitespace)
    const chars = seps.length === 0 ? [' ', '\t', '\n', '\r'] : seps.flatMap((x) => x.split(''));
    return s.split(new RegExp(`[${charClass(chars.join(''))}]`));
  },
  indexof: (s, a) => s.indexOf(toStr(a[0] ?? null)),
  lastindexof: (s, a) => s.lastIndexOf(toStr(a[0] ?? null)),
  padleft: (s, a) => s.padStart(toNumber(a[0] ?? 0), toStr(a[1] ?? ' ')),
  padright: (s, a) => s.padEnd(toNumber(a[0] ?? 0), toStr(a[1] ?? ' ')),
  tostring: (s) => s,
  startswith: (s, a) => s.startsWith(toStr(a[0] ?? null)),
  endswith: (s, a) => s.endsWith(toStr(a[0] ?? null)),
  contains: (s, a) => s.includes(toStr(a[0] ?? null)),
  replace: (s, a) => s.split(toStr(a[0] ?? null)).join(toStr(a[1] ?? null)),
  substring: (s, a) => (a.length > 1 ? s.substr(toNumber(a[0]!), toNumber(a[1]!)) : s.slice(toNumber(a[0] ?? 0))),
};

function trimChars(s: string, args: PsValue[], start: boolean, end: boolean): string {
  const chars = args.map(toStr).join('');
  const set = chars === '' ? '\\s' : charClass(chars);
  return s.replace(new RegExp(`${start ? `^[${set}]+` : '^'}|${end ? `[${set}]+$` : '$'}`, 'g'), '');
}

const NUMBER_METHODS: Record<string, (n: number, args: PsValue[]) => PsValue> = {
  tostring: (n, a) => formatWith(n, a.length > 0 ? toStr(a[0]!) : undefined),
};

/** $x.Method(args) for the methods hvsim implements; anything else is UnsupportedMember. */
export function invokeMethod(v: PsValue, name: string, args: PsValue[]): PsValue {
  const key = name.toLowerCase();
  let table: Record<string, Method> | null = null;
  if (v instanceof Date) table = DATE_METHODS as Record<string, Method>;
  else if (typeof v === 'string') table = STRING_METHODS as Record<string, Method>;
  else if (typeof v === 'number') table = NUMBER_METHODS as Record<string, Method>;
  if (v === null) throw new PsRuntimeError('You cannot call a method on a null-valued expression.', 'InvalidOperation', 'InvokeMethodOnNull');
  if (key === 'tostring' && args.length === 0 && !(v instanceof Date)) return toStr(v);
  const fn = table?.[key];
  if (!fn) throw new UnsupportedMember(`the method ${name}() of [${typeNameOf(v)}] is`);
  return fn(v as never, args);
}

/** $a[i] (negative from the end; out of range → $null), $h['key']. */
export function index(v: PsValue, i: PsValue): PsValue {
  if (v instanceof PsHashtable) return v.get(toStr(i)) ?? null;
  if (v === null) throw new PsRuntimeError('Cannot index into a null array.', 'InvalidOperation', 'NullArray');
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split('') : [v];
  if (Array.isArray(i)) return i.map((k) => index(v, k));
  let n = toNumber(i);
  if (n < 0) n += list.length;
  return list[n] ?? null;
}
