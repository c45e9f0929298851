/**
 * Patterns: PowerShell's wildcards (-like, and the cmdlets' -Name) and .NET regular expressions
 * (-match, -replace, -split) as JavaScript RegExps.
 */
import { HvsimError } from '../errors.js';
import { wildcardRegExp } from '../host/wildcard.js';
import { PsRuntimeError } from './errors.js';

/** Wildcard pattern to a RegExp; PowerShell's -like (src/host/wildcard.ts has the rules). */
export function wildcard(pattern: string, caseSensitive = false): RegExp {
  try {
    return wildcardRegExp(pattern, caseSensitive);
  } catch (e) {
    if (e instanceof HvsimError) throw new PsRuntimeError(e.message, 'InvalidArgument', 'WildcardPattern_Invalid');
    throw e;
  }
}

/** Characters for use inside [...] of a RegExp. */
export function charClass(chars: string): string {
  return chars.replace(/[\]\\^-]/g, '\\$&');
}

/** A .NET regular expression as a RegExp; a pattern JavaScript cannot read fails the statement. */
export function regex(pattern: string, caseSensitive: boolean, flags = ''): RegExp {
  // a leading (?i) is .NET's inline case-insensitive option
  const inline = /^\(\?i\)/.test(pattern);
  try {
    return new RegExp(inline ? pattern.slice(4) : pattern, (caseSensitive && !inline ? '' : 'i') + flags);
  } catch {
    throw new PsRuntimeError(`The regular expression pattern ${pattern} is not valid (or uses .NET syntax hvsim does not read).`, 'InvalidArgument', 'InvalidRegularExpression');
  }
}
