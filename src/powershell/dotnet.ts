/**
 * The .NET formatting checkpoint scripts use, in the en-US culture of a default Windows host:
 * DateTime format strings (Get-Date -Format, .ToString('yyyy-MM-dd'), the standard d D t T f F g
 * G M Y s u o r), numeric format strings (N F D P X with a precision, and custom "0.00" "#,##0"),
 * the pieces of composite format strings ("{0,-10} {1:N1}" -f …), and parsing date text the way
 * a [datetime] cast does (invariant culture). Functions return null for a format they do not
 * know; the caller decides how to refuse it.
 */

/** en-US day and month names (DateTimeFormatInfo.DayNames, MonthNames). */
export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** en-US standard DateTime formats, as custom patterns. */
const STANDARD_DATE: Record<string, string> = {
  d: 'M/d/yyyy',
  D: 'dddd, MMMM d, yyyy',
  t: 'h:mm tt',
  T: 'h:mm:ss tt',
  f: 'dddd, MMMM d, yyyy h:mm tt',
  F: 'dddd, MMMM d, yyyy h:mm:ss tt',
  g: 'M/d/yyyy h:mm tt',
  G: 'M/d/yyyy h:mm:ss tt',
  M: 'MMMM d',
  m: 'MMMM d',
  Y: 'MMMM yyyy',
  y: 'MMMM yyyy',
  s: "yyyy-MM-dd'T'HH:mm:ss",
  u: "yyyy-MM-dd HH:mm:ss'Z'",
  o: 'yyyy-MM-ddTHH:mm:ss.fffffffK',
  O: 'yyyy-MM-ddTHH:mm:ss.fffffffK',
  r: "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
  R: "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
};

const pad = (n: number, w: number): string => String(Math.abs(n)).padStart(w, '0');

function offset(d: Date, parts: number): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const h = Math.floor(Math.abs(off) / 60);
  const m = Math.abs(off) % 60;
  return parts === 1 ? `${sign}${h}` : parts === 2 ? `${sign}${pad(h, 2)}` : `${sign}${pad(h, 2)}:${pad(m, 2)}`;
}

/** One run of a repeated pattern letter (yyyy, MM, tt …) of a DateTime custom format; null if unknown. */
function dateField(d: Date, c: string, n: number): string | null {
  const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  switch (c) {
    case 'y':
      return n === 1 ? String(d.getFullYear() % 100) : n === 2 ? pad(d.getFullYear() % 100, 2) : pad(d.getFullYear(), n);
    case 'M':
      return n === 1 ? String(d.getMonth() + 1) : n === 2 ? pad(d.getMonth() + 1, 2) : n === 3 ? MONTHS[d.getMonth()]!.slice(0, 3) : MONTHS[d.getMonth()]!;
    case 'd':
      return n === 1 ? String(d.getDate()) : n === 2 ? pad(d.getDate(), 2) : n === 3 ? DAYS[d.getDay()]!.slice(0, 3) : DAYS[d.getDay()]!;
    case 'H':
      return n === 1 ? String(d.getHours()) : pad(d.getHours(), 2);
    case 'h':
      return n === 1 ? String(h12) : pad(h12, 2);
    case 'm':
      return n === 1 ? String(d.getMinutes()) : pad(d.getMinutes(), 2);
    case 's':
      return n === 1 ? String(d.getSeconds()) : pad(d.getSeconds(), 2);
    case 't':
      return (d.getHours() < 12 ? 'AM' : 'PM').slice(0, n === 1 ? 1 : 2);
    case 'f':
    case 'F': {
      if (n > 7) return null;
      const frac = pad(d.getMilliseconds(), 3).padEnd(7, '0').slice(0, n);
      return c === 'F' ? frac.replace(/0+$/, '') : frac;
    }
    case 'z':
      return offset(d, Math.min(n, 3));
    case 'K':
      return offset(d, 3);
    case 'g':
      return 'A.D.';
    default:
      return null;
  }
}

/** A DateTime as .NET's ToString(format) writes it (en-US); null for a format .NET would refuse. */
export function formatDate(d: Date, format: string): string | null {
  if (format === '') format = 'G';
  if (format.length === 1) {
    const std = STANDARD_DATE[format];
    return std === undefined ? null : formatDate(d, std);
  }
  // "%d": a single custom specifier
  if (format.length === 2 && format[0] === '%') return dateField(d, format[1]!, 1);
  let out = '';
  for (let i = 0; i < format.length; ) {
    const c = format[i]!;
    if (c === "'" || c === '"') {
      const end = format.indexOf(c, i + 1);
      if (end < 0) return null;
      out += format.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\') {
      out += format[i + 1] ?? '';
      i += 2;
    } else if (/[yMdHhmstfFzKg]/.test(c)) {
      let n = 1;
      while (format[i + n] === c) n++;
      const field = dateField(d, c, n);
      if (field === null) return null;
      out += field;
      i += n;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function group(intDigits: string): string {
  return intDigits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Fixed-point text of |n| with `decimals` places, the integer part grouped when asked. */
function fixed(n: number, decimals: number, grouped: boolean): string {
  const text = Math.abs(n).toFixed(decimals);
  const [i, f] = text.split('.') as [string, string | undefined];
  const sign = n < 0 && Number(text) !== 0 ? '-' : '';
  return sign + (grouped ? group(i) : i) + (f !== undefined ? `.${f}` : '');
}

/** "0.00", "#,##0", "0.0# GB", "0%": the custom numeric format patterns scripts use. */
function customNumber(n: number, format: string): string | null {
  const m = /^([^#0.,]*)([#0,]*0[#0,]*|[#,]*#)(?:\.([0#]+))?([^#0.,]*)$/.exec(format);
  if (!m) return null;
  const [, prefix = '', intPart = '', frac = '', suffix = ''] = m;
  const literal = (s: string): string => s.replace(/'([^']*)'|"([^"]*)"|\\(.)/g, (_x, a: string | undefined, b: string | undefined, c: string | undefined) => a ?? b ?? c ?? '');
  const v = (prefix + suffix).includes('%') ? n * 100 : n;
  const minFrac = /^0*/.exec(frac)![0].length;
  let text = fixed(v, frac.length, false);
  if (frac.length > minFrac) text = text.replace(new RegExp(`0{1,${frac.length - minFrac}}$`), '').replace(/\.$/, '');
  const neg = text.startsWith('-');
  const [i = '', f] = text.replace('-', '').split('.');
  const minInt = (intPart.match(/0/g) ?? []).length;
  let int = i === '0' && minInt === 0 ? '' : i.padStart(minInt, '0');
  if (intPart.includes(',')) int = group(int);
  return literal(prefix) + (neg ? '-' : '') + int + (f !== undefined ? `.${f}` : '') + literal(suffix);
}

/** A number as .NET's ToString(format) writes it (en-US); null for a format hvsim does not know. */
export function formatNumber(n: number, format: string): string | null {
  const std = /^([NnFfDdPpXx])(\d{0,2})$/.exec(format);
  if (!std) return customNumber(n, format);
  const kind = std[1]!.toUpperCase();
  const prec = std[2] === '' ? undefined : Number(std[2]);
  switch (kind) {
    case 'N':
      return fixed(n, prec ?? 2, true);
    case 'F':
      return fixed(n, prec ?? 2, false);
    case 'P':
      return `${fixed(n * 100, prec ?? 2, true)} %`;
    case 'D':
      if (!Number.isInteger(n)) return null;
      return (n < 0 ? '-' : '') + pad(n, prec ?? 1);
    default: {
      if (!Number.isInteger(n) || n < 0) return null;
      const hex = n.toString(16).padStart(prec ?? 1, '0');
      return std[1] === 'X' ? hex.toUpperCase() : hex;
    }
  }
}

/** A piece of a composite format string: literal text, or {index[,alignment][:format]}. */
export type CompositePart = string | { index: number; align: number; format: string | undefined };

/** Split "{0,-10} has {1:N1}" into parts; null when the string is malformed (.NET's FormatException). */
export function parseComposite(s: string): CompositePart[] | null {
  const parts: CompositePart[] = [];
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if ((c === '{' || c === '}') && s[i + 1] === c) {
      text += c;
      i++;
      continue;
    }
    if (c === '}') return null;
    if (c !== '{') {
      text += c;
      continue;
    }
    const end = s.indexOf('}', i);
    const m = end < 0 ? null : /^\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?(?::(.*))?$/s.exec(s.slice(i + 1, end));
    if (!m) return null;
    if (text) parts.push(text);
    text = '';
    parts.push({ index: Number(m[1]), align: m[2] === undefined ? 0 : Number(m[2]), format: m[3] });
    i = end;
  }
  if (text) parts.push(text);
  return parts;
}

/** Pad a formatted item to its alignment ({0,10} right-aligns, {0,-10} left-aligns). */
export function align(text: string, width: number): string {
  return width < 0 ? text.padEnd(-width) : text.padStart(width);
}

/**
 * Date text as a [datetime] cast reads it (invariant culture, local time): "2024-01-10",
 * "2024-01-10 14:30[:00]", "2024-01-10T14:30:00[Z]", "01/10/2024 [2:30[:00] [PM]]", "Jan 10, 2024";
 * null when it is not a date.
 */
export function parseDate(text: string): Date | null {
  const t = text.trim();
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/.exec(t);
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?$/.exec(t);
  let d: Date | null = null;
  if (iso) d = new Date(+iso[1]!, +iso[2]! - 1, +iso[3]!, +(iso[4] ?? 0), +(iso[5] ?? 0), +(iso[6] ?? 0), Number(`0.${iso[7] ?? 0}`) * 1000);
  else if (us) {
    let h = +(us[4] ?? 0);
    const ampm = us[7]?.toUpperCase();
    if (ampm === 'PM' && h < 12) h += 12;
    if (ampm === 'AM' && h === 12) h = 0;
    d = new Date(+us[3]!, +us[1]! - 1, +us[2]!, h, +(us[5] ?? 0), +(us[6] ?? 0));
  } else if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(t) || /^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}/.test(t)) d = new Date(Date.parse(t));
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

/**
 * A number as PowerShell turns it into text (console output, "$n", 5.1's ToString()): Int64 in
 * full, doubles with 15 significant digits.
 */
export function doubleToString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  // integral values within Int64 print in full (PowerShell widens int arithmetic to long)
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return n.toFixed(0);
  // Double.ToString() = "G15": 15 significant digits; exponent form when the exponent is -5 or
  // less, or 15 or more (0.0001, 1.2E-05, 1E+20)
  const p = Number(n.toPrecision(15));
  const abs = Math.abs(p);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e15)) {
    const [mant, exp] = p.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mant}E${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(p);
}
