/**
 * The text operators -f -replace -split -join, and .NET's ToString(format) for dates and numbers.
 */
import { toNumber, toStr } from './convert.js';
import { align, formatDate, formatNumber, parseComposite } from './dotnet.js';
import { PsRuntimeError, UnsupportedMember } from './errors.js';
import { regex } from './ops.js';
import { enumerate, isScriptBlock, type PsValue } from './value.js';

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
    // String.Format calls ToString(): an array argument shows its type name
    const arg = args[p.index]!;
    out += align(Array.isArray(arg) ? 'System.Object[]' : formatWith(arg, p.format), p.align);
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
      const [pattern = null, max = 0, options = null] = Array.isArray(r) ? r : [r];
      const limit = toNumber(max);
      if (isScriptBlock(pattern)) throw new UnsupportedMember('-split with a script block is');
      // about_Split: SimpleMatch (literal), IgnoreCase, RegexMatch, Multiline, Singleline, ExplicitCapture, CultureInvariant, IgnorePatternWhitespace
      const opts = options === null ? [] : toStr(options).split(',').map((o) => o.trim().toLowerCase());
      const text = opts.includes('simplematch') ? toStr(pattern).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : toStr(pattern);
      const re = regex(text, cs && !opts.includes('ignorecase'), `g${opts.includes('multiline') ? 'm' : ''}${opts.includes('singleline') ? 's' : ''}`);
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
