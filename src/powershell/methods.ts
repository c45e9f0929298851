/**
 * The methods scripts call on dates, strings and numbers ($d.AddDays(-1), $s.Trim()), and
 * indexing ($a[i], $h['key']).
 */
import { toNumber, toStr, typeNameOf } from './convert.js';
import { formatDate } from './dotnet.js';
import { PsRuntimeError, UnsupportedMember } from './errors.js';
import { charClass } from './ops.js';
import { formatWith } from './text.js';
import { PsHashtable, PsObject, type PsValue } from './value.js';

type Method = (target: never, args: PsValue[]) => PsValue;

const DATE_METHODS: Record<string, (d: Date, args: PsValue[]) => PsValue> = {
  adddays: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 86_400_000),
  addhours: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 3_600_000),
  addminutes: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 60_000),
  addseconds: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0) * 1000),
  addmilliseconds: (d, a) => new Date(d.getTime() + toNumber(a[0] ?? 0)),
  // DateTime.AddMonths/AddYears keep the day, clamped to the new month's last day (Jan 31 + 1 month = Feb 29)
  addmonths: (d, a) => addMonths(d, toNumber(a[0] ?? 0)),
  addyears: (d, a) => addMonths(d, 12 * toNumber(a[0] ?? 0)),
  tostring: (d, a) => formatWith(d, a.length > 0 ? toStr(a[0]!) : undefined),
  toshortdatestring: (d) => formatDate(d, 'd')!,
  tolongdatestring: (d) => formatDate(d, 'D')!,
  toshorttimestring: (d) => formatDate(d, 't')!,
  tolongtimestring: (d) => formatDate(d, 'T')!,
  touniversaltime: (d) => d,
  tolocaltime: (d) => d,
};

function addMonths(d: Date, months: number): Date {
  const x = new Date(d.getTime());
  const day = x.getDate();
  x.setDate(1);
  x.setMonth(x.getMonth() + Math.trunc(months));
  const last = new Date(x.getFullYear(), x.getMonth() + 1, 0).getDate();
  x.setDate(Math.min(day, last));
  return x;
}

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
  substring: (s, a) => {
    const start = toNumber(a[0] ?? 0);
    const len = a.length > 1 ? toNumber(a[1]!) : s.length - start;
    // String.Substring's ArgumentOutOfRangeException, in .NET Framework's wording (Windows PowerShell 5.1)
    const bad = (text: string): never => {
      throw new PsRuntimeError(`Exception calling "Substring" with "${a.length}" argument(s): "${text}"`, 'InvalidOperation', 'ArgumentOutOfRangeException');
    };
    if (start < 0) bad('StartIndex cannot be less than zero.\r\nParameter name: startIndex');
    if (start > s.length) bad('startIndex cannot be larger than length of string.\r\nParameter name: startIndex');
    if (len < 0) bad('Length cannot be less than zero.\r\nParameter name: length');
    if (start + len > s.length) bad('Index and length must refer to a location within the string.\r\nParameter name: length');
    return s.substr(start, len);
  },
};

function trimChars(s: string, args: PsValue[], start: boolean, end: boolean): string {
  const chars = args.map(toStr).join('');
  const set = chars === '' ? '\\s' : charClass(chars);
  return s.replace(new RegExp(`${start ? `^[${set}]+` : '^'}|${end ? `[${set}]+$` : '$'}`, 'g'), '');
}

const NUMBER_METHODS: Record<string, (n: number, args: PsValue[]) => PsValue> = {
  tostring: (n, a) => formatWith(n, a.length > 0 ? toStr(a[0]!) : undefined),
};

const HASHTABLE_METHODS: Record<string, (h: PsHashtable, args: PsValue[]) => PsValue> = {
  containskey: (h, a) => h.get(toStr(a[0] ?? null)) !== undefined,
  contains: (h, a) => h.get(toStr(a[0] ?? null)) !== undefined,
  // the entries as DictionaryEntry objects (Key, Value, and the Name alias of Key PowerShell adds)
  getenumerator: (h) => h.keys().map((k) => new PsObject('System.Collections.DictionaryEntry', [['Name', k], ['Key', k], ['Value', h.get(k) ?? null]])),
};

/** $x.Method(args) for the methods hvsim implements; anything else is UnsupportedMember. */
export function invokeMethod(v: PsValue, name: string, args: PsValue[]): PsValue {
  const key = name.toLowerCase();
  // member enumeration: a method an array does not have is called on each element
  // (about_Member-Access_Enumeration); the results are collected as with properties
  if (Array.isArray(v) && key !== 'tostring') {
    const out: PsValue[] = [];
    for (const item of v) {
      if (item === null) continue;
      const r = invokeMethod(item, name, args);
      if (Array.isArray(r)) out.push(...r);
      else if (r !== null) out.push(r);
    }
    return out.length === 1 ? out[0]! : out.length === 0 ? null : out;
  }
  let table: Record<string, Method> | null = null;
  if (v instanceof PsHashtable) table = HASHTABLE_METHODS as Record<string, Method>;
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
