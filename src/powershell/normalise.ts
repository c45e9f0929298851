/**
 * Source clean-up before parsing, one character for one (positions stay valid):
 * - quotes PowerShell itself accepts (“ ” „ and ‘ ’ ‚ ‛) become ASCII quotes silently, as do the
 *   dashes it accepts for "-" (– — ―) outside strings;
 * - look-alikes PowerShell does not accept (″ ＂ « » ′ ＇), used where a quote opens or closes a
 *   string, become ASCII quotes with a warning naming the line (in strict mode they stay, and the
 *   script fails to parse as it does in PowerShell);
 * - numeric multipliers are lower-cased (5MB → 5mb: PowerShell ignores case, the grammar does not);
 * - a comma followed by blanks and a bare word gets the blanks before it ("a, b" → "a ,b"),
 *   which the grammar reads as one array argument like PowerShell does.
 * Comments and here-strings are left as they are.
 */

const DQ_ACCEPTED = '“”„';
const SQ_ACCEPTED = '‘’‚‛';
const DQ_LOOKALIKE = '″＂';
const ANGLE = '«»';
const SQ_LOOKALIKE = '′＇';
const DASHES = '–—―';

export interface Normalised {
  text: string;
  warnings: string[];
}

/** Which characters open and close strings: PowerShell's own, and (lenient) the look-alikes too. */
interface Quotes {
  dq(c: string): boolean;
  sq(c: string): boolean;
  angle(c: string): boolean;
}
const STRICT: Quotes = {
  dq: (c) => c === '"' || DQ_ACCEPTED.includes(c),
  sq: (c) => c === "'" || SQ_ACCEPTED.includes(c),
  angle: () => false,
};
const LENIENT: Quotes = {
  dq: (c) => STRICT.dq(c) || DQ_LOOKALIKE.includes(c),
  sq: (c) => STRICT.sq(c) || SQ_LOOKALIKE.includes(c),
  angle: (c) => ANGLE.includes(c),
};
const NUMBER = /^(?:0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)[ld]?(?:kb|mb|gb|tb|pb)?(?![\w-])/i;

type Mode = { kind: 'code'; depth: number } | { kind: 'dq'; angle: boolean } | { kind: 'sq' };

/** strict: leave the look-alikes as they are, so that the script fails to parse as in PowerShell. */
export function normaliseSource(source: string, strict = false): Normalised {
  const q = strict ? STRICT : LENIENT;
  const out = source.split('');
  const warned = new Set<string>();
  const warnings: string[] = [];
  const lineStarts = [0];
  for (let k = 0; k < source.length; k++) if (source[k] === '\n') lineStarts.push(k + 1);
  const lineOf = (i: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const replace = (i: number, ascii: string): void => {
    const c = source[i]!;
    out[i] = ascii;
    if (DQ_LOOKALIKE.includes(c) || ANGLE.includes(c) || SQ_LOOKALIKE.includes(c)) {
      const n = lineOf(i);
      const key = `${n}:${c}`;
      if (!warned.has(key)) {
        warned.add(key);
        warnings.push(`line ${n}: replaced the typographic quote ${c} with ${ascii} (PowerShell would refuse this line; hvsim run --strict does)`);
      }
    }
  };
  const stack: Mode[] = [{ kind: 'code', depth: 0 }];
  let i = 0;
  const n = source.length;
  while (i < n) {
    const mode = stack[stack.length - 1]!;
    const c = source[i]!;
    if (mode.kind === 'sq') {
      if (q.sq(c)) {
        if (i + 1 < n && q.sq(source[i + 1]!)) {
          replace(i, "'");
          replace(i + 1, "'");
          i += 2;
          continue;
        }
        replace(i, "'");
        stack.pop();
      }
      i++;
      continue;
    }
    if (mode.kind === 'dq') {
      if (c === '`') {
        i += 2;
        continue;
      }
      if (c === '$' && source[i + 1] === '(') {
        stack.push({ kind: 'code', depth: 1 });
        i += 2;
        continue;
      }
      const closes = mode.angle ? q.angle(c) || q.dq(c) : q.dq(c);
      if (closes) {
        if (i + 1 < n && q.dq(source[i + 1]!)) {
          replace(i, '"');
          replace(i + 1, '"');
          i += 2;
          continue;
        }
        replace(i, '"');
        stack.pop();
      }
      i++;
      continue;
    }
    i = scanCode(source, i, mode, stack, out, replace, q);
  }
  return { text: out.join(''), warnings };
}

/** One step in code mode; returns the next index. */
function scanCode(
  source: string,
  i: number,
  mode: { kind: 'code'; depth: number },
  stack: Mode[],
  out: string[],
  replace: (i: number, ascii: string) => void,
  q: Quotes,
): number {
  const c = source[i]!;
  const prev = i > 0 ? source[i - 1]! : '\n';
  if (c === '<' && source[i + 1] === '#') {
    const end = source.indexOf('#>', i + 2);
    return end < 0 ? source.length : end + 2;
  }
  if (c === '#' && /[\s;|({}]/.test(prev)) {
    const end = source.indexOf('\n', i);
    return end < 0 ? source.length : end;
  }
  if (c === '@' && (source[i + 1] === '"' || source[i + 1] === "'") && /^@["'][ \t]*\r?\n/.test(source.slice(i, i + 40))) {
    const q = source[i + 1]!;
    const m = new RegExp(`\\n${q}@`).exec(source.slice(i));
    return m ? i + m.index + 3 : source.length;
  }
  if (q.dq(c) || q.angle(c)) {
    replace(i, '"');
    stack.push({ kind: 'dq', angle: q.angle(c) });
    return i + 1;
  }
  if (q.sq(c)) {
    replace(i, "'");
    stack.push({ kind: 'sq' });
    return i + 1;
  }
  if (DASHES.includes(c)) {
    out[i] = '-';
    return i + 1;
  }
  if (c === '(') mode.depth++;
  if (c === ')' && mode.depth > 0) {
    mode.depth--;
    if (mode.depth === 0 && stack.length > 1) stack.pop();
    return i + 1;
  }
  if (c === ',') return moveBlanksBefore(source, i, out);
  if (/[0-9]/.test(c) && !/[\w$.]/.test(prev) && !(prev === '-' && i > 1 && /[\w]/.test(source[i - 2]!))) {
    const m = NUMBER.exec(source.slice(i, i + 64));
    if (m) {
      for (let k = 0; k < m[0].length; k++) out[i + k] = source[i + k]!.toLowerCase();
      return i + m[0].length;
    }
  }
  if (/[\w$]/.test(c)) {
    // skip the rest of a word so digits inside names are left alone
    let j = i + 1;
    while (j < source.length && /[\w-]/.test(source[j]!)) j++;
    return j;
  }
  return i + 1;
}

/** "a, b" → "a ,b" (same length; only blanks on the same line move). */
function moveBlanksBefore(source: string, i: number, out: string[]): number {
  let j = i + 1;
  while (j < source.length && (source[j] === ' ' || source[j] === '\t')) j++;
  if (j === i + 1 || j >= source.length || !/[\w*?.\\:]/.test(source[j]!)) return i + 1;
  for (let k = i; k < j - 1; k++) out[k] = ' ';
  out[j - 1] = ',';
  return j;
}
