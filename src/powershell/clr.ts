/**
 * Bookkeeping for the .NET objects hvsim run models beyond PsObject (statics.ts): which arrays are
 * System.Collections.ArrayList / List[T] (they are JS arrays, so pipelines and foreach enumerate
 * them as PowerShell does), and how objects of a few types turn into text ("$guid", "$type").
 * Kept free of other imports so convert.ts can use it.
 */
import type { PsObject, PsValue } from './value.js';

/** Arrays that are growable .NET lists, with their full type name and element conversion. */
const LISTS = new WeakMap<PsValue[], { type: string; element: ((v: PsValue) => PsValue) | null }>();

export function markList(items: PsValue[], type: string, element: ((v: PsValue) => PsValue) | null = null): PsValue[] {
  LISTS.set(items, { type, element });
  return items;
}

export function listInfo(v: unknown): { type: string; element: ((v: PsValue) => PsValue) | null } | undefined {
  return Array.isArray(v) ? LISTS.get(v) : undefined;
}

/** Type name → the text of an object of that type (ToString()), for types whose text is not the type name. */
const TEXT_FORMS = new Map<string, (o: PsObject) => string>();

export function registerTextForm(typeName: string, fn: (o: PsObject) => string): void {
  TEXT_FORMS.set(typeName, fn);
}

export function textForm(o: PsObject): string | undefined {
  const fn = TEXT_FORMS.get(o.typeName);
  return fn ? fn(o) : undefined;
}
