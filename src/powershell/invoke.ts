/**
 * Helpers of invocation: the declarations of script-block values (for `& $sb args`), the call
 * depth limit, and the matching of switch clauses (about_Switch).
 */
import type { BlockDef } from './ast.js';
import { compare, matchTable } from './operators.js';
import type { PsHashtable, PsScriptBlock, PsValue } from './value.js';

const DEFS = new WeakMap<PsScriptBlock, BlockDef>();

export function registerBlock(sb: PsScriptBlock, def: BlockDef): PsScriptBlock {
  DEFS.set(sb, def);
  return sb;
}

/** The param()/begin/process/end of a script block made by the interpreter. */
export function blockDefOf(sb: PsScriptBlock): BlockDef | undefined {
  return DEFS.get(sb);
}

/**
 * Nested function / script-block calls allowed before the call fails as PowerShell's
 * ScriptCallDepthException ("The script failed due to call depth overflow."). PowerShell 7 fails
 * when its thread's stack runs out; hvsim fixes the depth so a runaway recursion ends quickly.
 */
export const CALL_DEPTH_LIMIT = 1000;

/**
 * Whether a switch clause's value matches the item: -Regex (a match anywhere; the table is the new
 * $Matches), -Wildcard (as -like), else -eq (-ceq with -CaseSensitive). A script-block clause is
 * decided by the caller.
 */
export function switchMatches(mode: 'exact' | 'regex' | 'wildcard', caseSensitive: boolean, item: PsValue, cond: PsValue): PsHashtable | boolean {
  if (mode === 'regex') return matchTable(item, cond, caseSensitive) ?? false;
  const op = mode === 'wildcard' ? 'like' : 'eq';
  return compare(`-${caseSensitive ? 'c' : ''}${op}`, item, cond) === true;
}
