/**
 * Patterns: PowerShell's wildcards (-like, and the cmdlets' -Name) and .NET regular expressions
 * (-match, -replace, -split) as JavaScript RegExps. Imports: errors.
 */
import { PsRuntimeError } from './errors.js';

/** Wildcard pattern (* ? [abc]) to a RegExp; PowerShell's -like. */
export function wildcard(pattern: string, caseSensitive = false): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '`' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + pattern.slice(i + 1, end).replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, caseSensitive ? 's' : 'is');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
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
