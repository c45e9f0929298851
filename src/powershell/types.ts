/**
 * -is / -isnot / -as with a type name (about_Type_Operators): the .NET type a value has in
 * PowerShell, by the names scripts use (with or without `System.`), and a conversion that gives
 * $null instead of failing.
 */
import { castTo, knownCast, typeNameOf } from './convert.js';
import { PsHashtable, PsObject, isScriptBlock, type PsValue } from './value.js';

const INTEGER = new Set(['int', 'int32', 'long', 'int64', 'byte', 'int16', 'short', 'uint32', 'uint64']);

/** Whether `v` is of the type named `type`. */
export function isOfType(v: PsValue, type: string): boolean {
  const t = type.toLowerCase().replace(/^system\./, '');
  if (v === null) return false;
  switch (t) {
    case 'object':
    case 'psobject':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'bool':
    case 'boolean':
      return typeof v === 'boolean';
    case 'double':
    case 'single':
    case 'float':
    case 'decimal':
      return typeof v === 'number' && !Number.isInteger(v);
    case 'valuetype':
      return typeof v === 'number' || typeof v === 'boolean' || v instanceof Date;
    case 'datetime':
      return v instanceof Date;
    case 'array':
    case 'object[]':
    case 'collections.ienumerable':
      return Array.isArray(v);
    case 'hashtable':
    case 'collections.hashtable':
    case 'collections.idictionary':
      return v instanceof PsHashtable;
    case 'scriptblock':
    case 'management.automation.scriptblock':
      return isScriptBlock(v);
    case 'pscustomobject':
    case 'management.automation.pscustomobject':
      return v instanceof PsObject;
  }
  if (INTEGER.has(t)) return typeof v === 'number' && Number.isInteger(v);
  if (v instanceof PsObject) return v.typeNames.some((n) => n.toLowerCase() === type.toLowerCase() || n.toLowerCase().endsWith(`.${t}`));
  return typeNameOf(v).toLowerCase() === `system.${t}`;
}

/** `v -as [type]`: the converted value, or $null when it does not convert. */
export function asType(v: PsValue, type: string): PsValue {
  const t = type.toLowerCase().replace(/^system\./, '');
  if (isOfType(v, type)) return v;
  if (!knownCast(t)) return null;
  try {
    return castTo(t, v);
  } catch {
    return null;
  }
}
