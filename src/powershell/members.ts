/**
 * Property access as PowerShell does it: $x.Name reads properties and hashtable keys, Count and
 * Length, a date's parts, and enumerates the members of an array's items.
 */
import { DAYS } from './dotnet.js';
import { PsHashtable, PsObject, collapse, type PsValue } from './value.js';

const DATE_PROPS: Record<string, (d: Date) => PsValue> = {
  year: (d) => d.getFullYear(),
  month: (d) => d.getMonth() + 1,
  day: (d) => d.getDate(),
  hour: (d) => d.getHours(),
  minute: (d) => d.getMinutes(),
  second: (d) => d.getSeconds(),
  millisecond: (d) => d.getMilliseconds(),
  dayofweek: (d) => DAYS[d.getDay()]!,
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
    if (key === 'values') return v.keys().map((k) => v.get(k) ?? null);
    return v.get(name) ?? null;
  }
  if (v instanceof Date && key in DATE_PROPS) return DATE_PROPS[key]!(v);
  if (typeof v === 'string' && key === 'length') return v.length;
  if (key === 'count') return v === null ? 0 : 1;
  return null;
}
