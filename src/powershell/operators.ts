/**
 * Comparison operators (-eq … -notin, case-insensitive unless -c…; an array on the left filters)
 * and arithmetic (+ - * / %, dates and TimeSpans included).
 */
import { spanMs, timeSpanObject, toBool, toDate, toNumber, toStr } from './convert.js';
import { PsRuntimeError } from './errors.js';
import { regex, wildcard } from './ops.js';
import { PsHashtable, enumerate, type PsValue } from './value.js';

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

/**
 * Strings order as .NET's String.Compare in the en-US culture does (PowerShell's -lt/-gt and
 * Sort-Object): linguistic, lower case before upper case when case counts ('b' -clt 'B').
 */
const CULTURE_CS = new Intl.Collator('en-US', { sensitivity: 'variant', caseFirst: 'lower' });
const CULTURE_CI = new Intl.Collator('en-US', { sensitivity: 'accent' });

/** <0, 0, >0 for -lt/-gt…, the right side converted to the left side's type. */
function order(l: PsValue, r: PsValue, cs: boolean): number {
  if (l instanceof Date) return l.getTime() - toDate(r).getTime();
  if (typeof l === 'number') return l - toNumber(r);
  if (l === null) return r === null ? 0 : -1;
  if (typeof l === 'string') return (cs ? CULTURE_CS : CULTURE_CI).compare(l, toStr(r));
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
  if (op === '*' && (typeof l === 'string' || Array.isArray(l))) {
    // 'ab' * 3 and @(1,2) * 2 repeat the left side (about_Arithmetic_Operators)
    const n = toNumber(r);
    if (typeof l === 'string') return l.repeat(Math.max(0, Math.round(n)));
    return Array.from({ length: Math.max(0, Math.round(n)) }, () => l).flat();
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
