/**
 * PowerShell's conversions: a value's .NET type name, truthiness, text (invariant culture),
 * numbers (with the KB…PB suffixes), dates, the [type] casts scripts use, and TimeSpan objects.
 */
import { timeSpan } from '../host/clock.js';
import { listInfo, textForm } from './clr.js';
import { doubleToString, parseDate } from './dotnet.js';
import { PsRuntimeError, UnsupportedMember } from './errors.js';
import { getMember } from './members.js';
import { PSCUSTOMOBJECT_TYPE, PsHashtable, PsObject, enumerate, isScriptBlock, type PsValue } from './value.js';
import { SNAPSHOT_TYPE, VM_TYPE, hyperVObjectString } from './views.js';

export const TIMESPAN_TYPE = 'System.TimeSpan';
export const ERROR_RECORD_TYPE = 'System.Management.Automation.ErrorRecord';
/** $_.CategoryInfo: Category, Activity, Reason, TargetName, TargetType; as text, its GetMessage() line. */
export const CATEGORY_INFO_TYPE = 'System.Management.Automation.ErrorCategoryInfo';

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
export function spanMs(v: PsValue): number | null {
  return v instanceof PsObject && v.typeName === TIMESPAN_TYPE ? toNumber(v.get('TotalMilliseconds') ?? 0) : null;
}

/** A string, number or boolean (what a [string] parameter takes as it is). */
export function isPrimitive(v: PsValue): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

export function typeNameOf(v: PsValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'System.String';
  if (typeof v === 'number') return Number.isInteger(v) ? (Math.abs(v) <= 2 ** 31 - 1 ? 'System.Int32' : 'System.Int64') : 'System.Double';
  if (typeof v === 'boolean') return 'System.Boolean';
  if (v instanceof Date) return 'System.DateTime';
  if (Array.isArray(v)) return listInfo(v)?.type ?? 'System.Object[]';
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
  if (typeof v === 'number') return doubleToString(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date)
    return `${two(v.getMonth() + 1)}/${two(v.getDate())}/${v.getFullYear()} ${two(v.getHours())}:${two(v.getMinutes())}:${two(v.getSeconds())}`;
  if (Array.isArray(v)) return v.map(toStr).join(' ');
  if (v instanceof PsObject) {
    const span = spanMs(v);
    if (span !== null) return timeSpan(span);
    if (v.typeName === ERROR_RECORD_TYPE) return toStr(getMember(v.get('Exception') ?? null, 'Message'));
    if (v.typeName === CATEGORY_INFO_TYPE) return toStr(v.get('Text') ?? null);
    if (v.typeName === VM_TYPE) return hyperVObjectString('VirtualMachine', toStr(v.get('Name') ?? null), toStr(v.get('Id') ?? null));
    if (v.typeName === SNAPSHOT_TYPE) return hyperVObjectString('VMSnapshot', toStr(v.get('Name') ?? null), toStr(v.get('Id') ?? null));
    return textForm(v) ?? v.typeName;
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

export function toDate(v: PsValue): Date {
  if (v instanceof Date) return v;
  if (Array.isArray(v) && v.length === 1) return toDate(v[0]!);
  const d = typeof v === 'string' ? parseDate(v) : null;
  if (d) return d;
  throw new PsRuntimeError(`Cannot convert value "${toStr(v)}" to type "System.DateTime".`, 'InvalidArgument', 'InvalidCastParseTargetInvocation');
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
  pscustomobject: (v) => (v instanceof PsHashtable ? new PsObject(PSCUSTOMOBJECT_TYPE, v.keys().map((k) => [k, v.get(k) ?? null])) : v),
  ordered: toHashtable,
  hashtable: toHashtable,
  'collections.hashtable': toHashtable,
  void: () => null,
};

const castKey = (type: string): string => type.toLowerCase().replace(/\s+/g, '').replace(/^system\./, '').replace(/^management\.automation\./, '');

/** Casts added by other modules (statics.ts: ArrayList, Guid, WindowsPrincipal …), and generic ones by pattern. */
export function registerCast(key: string, fn: (v: PsValue) => PsValue): void {
  CASTS[key] = fn;
}
const CAST_PATTERNS: Array<{ re: RegExp; fn: (type: string, v: PsValue) => PsValue }> = [];
export function registerCastPattern(re: RegExp, fn: (type: string, v: PsValue) => PsValue): void {
  CAST_PATTERNS.push({ re, fn });
}

/** Whether hvsim knows the cast [type] (checked before the run). */
export function knownCast(type: string): boolean {
  const key = castKey(type);
  return key in CASTS || CAST_PATTERNS.some((p) => p.re.test(key));
}

/** [type]value (the type checked by knownCast). */
export function castTo(type: string, v: PsValue): PsValue {
  const key = castKey(type);
  const fn = CASTS[key];
  if (fn) return fn(v);
  const pattern = CAST_PATTERNS.find((p) => p.re.test(key));
  if (pattern) return pattern.fn(type, v);
  throw new UnsupportedMember(`the type cast [${type}] is`);
}
