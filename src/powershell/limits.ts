/**
 * Bounds that keep a bad script from breaking hvsim (issue 17, "Bad scripts never break hvsim"):
 * results larger than these end the statement as PowerShell ends an allocation that fails
 * (System.OutOfMemoryException), before JavaScript would run out of memory; a format item
 * wider than .NET allows fails as .NET's parser does.
 */
import { PsRuntimeError } from './errors.js';
import { toNumber, toStr } from './convert.js';
import type { PsValue } from './value.js';

/** Items an array (a range, a repetition, a concatenation) may hold. */
export const MAX_ITEMS = 20_000_000;
/** Characters a string may hold. */
export const MAX_CHARS = 100_000_000;

/** PowerShell's record for a failed allocation ("Insufficient memory …"). */
export function outOfMemory(): PsRuntimeError {
  return new PsRuntimeError('Insufficient memory to continue the execution of the program.', 'InvalidOperation', 'System.OutOfMemoryException');
}

/** Refuse an operation whose result would be larger than the bounds (checked before computing it). */
export function checkSize(op: string, l: PsValue, r: PsValue): void {
  if (op === '*') {
    const n = typeof r === 'number' || typeof r === 'string' ? safeNumber(r) : 0;
    if (typeof l === 'string' && l.length * n > MAX_CHARS) throw outOfMemory();
    if (Array.isArray(l) && l.length * n > MAX_ITEMS) throw outOfMemory();
  } else if (op === '+') {
    if (typeof l === 'string' && l.length + toStr(r).length > MAX_CHARS && !Array.isArray(r)) throw outOfMemory();
    if (Array.isArray(l) && l.length + (Array.isArray(r) ? r.length : 1) > MAX_ITEMS) throw outOfMemory();
  } else if (op === '..') {
    const a = safeNumber(l);
    const b = safeNumber(r);
    if (Math.abs(b - a) + 1 > MAX_ITEMS) throw outOfMemory();
  }
}

function safeNumber(v: PsValue): number {
  try {
    return toNumber(v);
  } catch {
    return 0;
  }
}

/** .NET's composite format: an alignment of 1,000,000 or more is a FormatException. */
export function checkFormatWidth(format: string): void {
  const re = /\{\d+\s*,\s*-?(\d+)/g;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    const digits = m[1]!;
    const start = m.index + m[0].length - digits.length;
    let w = 0;
    for (let i = 0; i < digits.length; i++) {
      w = w * 10 + Number(digits[i]);
      if (w >= 1_000_000)
        throw new PsRuntimeError(
          `Error formatting a string: Input string was not in a correct format. Failure to parse near offset ${start + i + 1}. Format item ends prematurely..`,
          'InvalidOperation',
          'FormatError',
        );
    }
  }
}

/** a..b: the integers from a to b, either way (about_Operators, "Range operator"). */
export function range(l: PsValue, r: PsValue): number[] {
  checkSize('..', l, r);
  const a = Math.round(toNumber(l));
  const b = Math.round(toNumber(r));
  const out: number[] = [];
  if (a <= b) for (let i = a; i <= b; i++) out.push(i);
  else for (let i = a; i >= b; i--) out.push(i);
  return out;
}
