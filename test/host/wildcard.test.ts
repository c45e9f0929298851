/**
 * Wildcard patterns as PowerShell's WildcardPattern reads them (the -like operator, the Hyper-V
 * cmdlets' -Name), and hvsim's host names, where only * and ? are wildcards.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapeWildcard, hasWildcard, nameHasWildcard, nameMatches, wildcardMatch, wildcardRegExp } from '../../src/host/wildcard.js';
import { HvsimError } from '../../src/errors.js';

/** [text, pattern, -like result] — PowerShell's answers (about_Wildcards; WildcardPattern's parser). */
const LIKE: Array<[string, string, boolean]> = [
  ['web01', 'WEB*', true],
  ['web01', 'web0?', true],
  ['web01', 'web?', false],
  ['', '*', true],
  ['', '?', false],
  ['book', '[a-l]ook', true],
  ['took', '[a-l]ook', false],
  ['Cook', '[bc]ook', true],
  ['hook', '[bc]ook', false],
  ['B', '[a-c]', true],
  ['web1', 'web[0-9]', true],
  ['webA', 'web[0-9]', false],
  // [ ] are pattern syntax: a name holding them does not match itself unless escaped
  ['web[1]', 'web[1]', false],
  ['web1', 'web[1]', true],
  ['web[1]', 'web`[1`]', true],
  ['web[1] [0]', 'web`[1] `[0`]', true],
  // ] outside a set means itself; right after [ it is a member
  ['a]', 'a]', true],
  [']', '[]]', true],
  ['a', '[]a]', true],
  // no negation: ^ and ! are members
  ['^', '[^a]', true],
  ['b', '[^a]', false],
  ['!', '[!a]', true],
  // - at either end of a set is a member; escaped - is a member
  ['-', '[a-]', true],
  ['-', '[-a]', true],
  ['b', '[a`-c]', false],
  ['-', '[a`-c]', true],
  // ` escapes the next character, also inside a set; a trailing ` is a literal `
  ['*', '`*', true],
  ['a', '`*', false],
  ['?', '`?', true],
  ['[', '[`[]', true],
  [']', '[`]]', true],
  ['a`', 'a`', true],
  ['a`b', 'a``b', true],
  ['ab', 'a`b', true],
  ['', '`', true],
  ['`', '`', false],
  // RegExp syntax means itself
  ['a.c', 'a.c', true],
  ['abc', 'a.c', false],
  ['(x)+$^|{1}\\/', '(x)+$^|{1}\\/', true],
  ['\\', '[\\]', true],
  // ? and * cross line breaks
  ['a\nb', 'a?b', true],
  ['line one\nline two', 'line*two', true],
];

describe('WildcardPattern (PowerShell -like)', () => {
  it.each(LIKE)('%j -like %j is %s', (text, pattern, like) => {
    expect(wildcardMatch(pattern, text)).toBe(like);
  });

  it('is case-insensitive unless asked (-clike)', () => {
    expect(wildcardMatch('abc', 'ABC')).toBe(true);
    expect(wildcardMatch('abc', 'ABC', true)).toBe(false);
    expect(wildcardMatch('[a-c]', 'B', true)).toBe(false);
  });

  it('refuses an unclosed set and a backward range, as WildcardPatternException does', () => {
    for (const p of ['[a', 'web[', '[]', '[`]', '[z-a]', 'x[9-0]y']) {
      let err: unknown;
      try {
        wildcardRegExp(p);
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(HvsimError);
      expect((err as HvsimError).code).toBe('INVALID_ARGUMENT');
      expect((err as HvsimError).message).toBe(`The specified wildcard character pattern is not valid: ${p}`);
    }
  });

  it('hasWildcard: an unescaped * ? [ or ] (ContainsWildcardCharacters)', () => {
    const cases: Array<[string, boolean]> = [
      ['', false], ['abc', false], ['a-b', false], ['a*', true], ['?b', true], ['[', true], [']', true],
      ['a`*', false], ['a`[b`]', false], ['a``*', true], ['back`tick', false], ['`', false],
    ];
    for (const [p, want] of cases) expect(hasWildcard(p), p).toBe(want);
  });

  it('escapeWildcard: Escape as PowerShell writes it, and the escaped text matches exactly itself', () => {
    expect(escapeWildcard('abc[def')).toBe('abc`[def');
    expect(escapeWildcard('abc]def')).toBe('abc`]def');
    expect(escapeWildcard('abc?def')).toBe('abc`?def');
    expect(escapeWildcard('abc`def')).toBe('abc``def');
    expect(escapeWildcard('a*b?[c]', '*?')).toBe('a*b?`[c`]');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => {
        expect(wildcardMatch(escapeWildcard(text), text)).toBe(true);
        expect(wildcardMatch(escapeWildcard(text), `${text}x`)).toBe(false);
        expect(hasWildcard(escapeWildcard(text))).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

/** [name, pattern, match] for VM, checkpoint and fault names: * and ? only. */
const NAMES: Array<[string, string, boolean]> = [
  ['SQL01', 'sql*', true],
  ['WEB01', 'web01', true],
  ['web01', 'web0?', true],
  ['web01', 'db*', false],
  ['web[1]', 'web[1]', true],
  ['web1', 'web[1]', false],
  ['web[1] `[0`]', 'web[1] `[0`]', true],
  ['web[1] `[0`]', 'web[1]*', true],
  ['back`tick `n `$x', 'back`tick `n `$x', true],
  ['backtick n $x', 'back`tick `n `$x', false],
  ['a.b', 'a?b', true],
  ['axb', 'a.b', false],
  ['Before update', 'before*', true],
];

describe('host names (VMs, checkpoints, faults)', () => {
  it.each(NAMES)('%j matches %j: %s', (name, pattern, match) => {
    expect(nameMatches(pattern, name)).toBe(match);
  });

  it('only * and ? make a pattern (a plain name must exist)', () => {
    expect(nameHasWildcard('db*')).toBe(true);
    expect(nameHasWildcard('db?')).toBe(true);
    expect(nameHasWildcard('web[1]')).toBe(false);
    expect(nameHasWildcard('a`*')).toBe(true);
    expect(nameHasWildcard('plain')).toBe(false);
  });

  it('any text is a valid name pattern and matches itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (name) => {
        expect(nameMatches(name, name)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
