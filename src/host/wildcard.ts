/**
 * Wildcard patterns as PowerShell's WildcardPattern reads them — the -like operator and the -Name
 * parameters of the Hyper-V cmdlets (about_Wildcards; System.Management.Automation.WildcardPattern):
 *
 *   *      any run of characters, also none
 *   ?      exactly one character
 *   [abc]  one of the characters; [a-z] a range; a ] right after the [ is a member; no negation
 *          (^ and ! are members too)
 *   `      the next character means itself (also inside [ ]); a trailing ` is a literal `
 *
 * An unclosed [ or a range running backwards ([z-a]) is not a pattern: WildcardPatternException,
 * "The specified wildcard character pattern is not valid: …" (INVALID_ARGUMENT here).
 * Matching is case-insensitive unless asked otherwise, and . matches line breaks too.
 *
 * hvsim's hosts match VM, checkpoint and fault names with `nameMatches`: only * and ? are
 * wildcards there, every other character ([ ] ` included) means itself — the same engine over the
 * name escaped by `escapeWildcard(name, '*?')` (docs/real-host.md: names reach Hyper-V by Id,
 * never as -Name patterns).
 */
import { HvsimError } from '../errors.js';

const ESCAPE = '`';

/** WildcardPattern's special characters (IsWildcardChar). */
function isWildcardChar(c: string): boolean {
  return c === '*' || c === '?' || c === '[' || c === ']';
}

export function invalidWildcard(pattern: string): HvsimError {
  return new HvsimError('INVALID_ARGUMENT', `The specified wildcard character pattern is not valid: ${pattern}`);
}

/** A character for a RegExp, outside or inside [ ] (no 'u' flag: UTF-16 units, as .NET's char). */
function literal(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** The members of a bracket expression: ranges where an unescaped - stands between two characters. */
function bracket(members: string[], ranges: boolean[], pattern: string): string {
  let out = '';
  for (let i = 0; i < members.length; ) {
    if (i + 2 < members.length && ranges[i + 1]) {
      const lo = members[i]!;
      const hi = members[i + 2]!;
      if (lo > hi) throw invalidWildcard(pattern);
      out += `${literal(lo)}-${literal(hi)}`;
      i += 3;
    } else out += literal(members[i++]!);
  }
  return `[${out}]`;
}

/** The RegExp a wildcard pattern means (whole-string match); throws INVALID_ARGUMENT for an invalid pattern. */
export function wildcardRegExp(pattern: string, caseSensitive = false): RegExp {
  let re = '';
  let escaped = false;
  let members: string[] | null = null;
  let ranges: boolean[] = [];
  let justOpened = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (members !== null) {
      if (c === ']' && !justOpened && !escaped) {
        re += bracket(members, ranges, pattern);
        members = null;
      } else if (c !== ESCAPE || escaped) {
        members.push(c);
        ranges.push(c === '-' && !escaped);
      }
      justOpened = false;
    } else if (c === '*' && !escaped) re += '.*';
    else if (c === '?' && !escaped) re += '.';
    else if (c === '[' && !escaped) {
      members = [];
      ranges = [];
      justOpened = true;
    } else if (c !== ESCAPE || escaped) re += literal(c);
    escaped = c === ESCAPE && !escaped;
  }
  if (members !== null) throw invalidWildcard(pattern);
  // A trailing ` means itself, except that the pattern "`" alone is the empty pattern (PowerShell's compatibility rule).
  if (escaped && pattern !== ESCAPE) re += literal(ESCAPE);
  return new RegExp(`^${re}$`, caseSensitive ? 's' : 'is');
}

/** Whether the text holds an unescaped * ? [ or ] (WildcardPattern.ContainsWildcardCharacters). */
export function hasWildcard(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (isWildcardChar(c)) return true;
    if (c === ESCAPE) i++;
  }
  return false;
}

/** The pattern that matches exactly `text` (WildcardPattern.Escape), leaving the characters in `keep` special. */
export function escapeWildcard(text: string, keep = ''): string {
  let out = '';
  for (const c of text) out += (isWildcardChar(c) || c === ESCAPE) && !keep.includes(c) ? ESCAPE + c : c;
  return out;
}

/** Whether the text matches the pattern (case-insensitive unless asked otherwise). */
export function wildcardMatch(pattern: string, text: string, caseSensitive = false): boolean {
  return wildcardRegExp(pattern, caseSensitive).test(text);
}

// ---------------------------------------------------------------- hvsim's host names

/** A host name pattern as a WildcardPattern: only * and ? are wildcards in it. */
function namePattern(pattern: string): string {
  return escapeWildcard(pattern, '*?');
}

/** Whether a VM, checkpoint or fault name pattern holds a wildcard (* or ?): a plain name must exist. */
export function nameHasWildcard(pattern: string): boolean {
  return hasWildcard(namePattern(pattern));
}

/** Case-insensitive match of a VM, checkpoint or fault name against a name pattern (* and ? wildcards). */
export function nameMatches(pattern: string, name: string): boolean {
  if (!nameHasWildcard(pattern)) return pattern.toLowerCase() === name.toLowerCase();
  return wildcardMatch(namePattern(pattern), name);
}
