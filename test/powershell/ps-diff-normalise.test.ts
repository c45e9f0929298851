/**
 * The normalisers of the differential corpus (test/helpers/ps-diff.ts), on output captured from
 * hvsim run and pwsh 7.6: each removes exactly its kind of difference and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { corpusScripts, normalise, readKnown } from '../helpers/ps-diff.js';

const SCRIPT = '/corpus/errors/e.ps1';
const side = (text: string): { text: string; script: string } => ({ text, script: SCRIPT });

const NORMAL_VIEW = [
  'Write-Error : boom',
  'At line:2 char:1',
  '+ Write-Error "boom"',
  '+ ~~~~~~~~~~~~~~~~~~',
  '    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException',
  '    + FullyQualifiedErrorId : NotSpecified,Microsoft.PowerShell.Commands.WriteErrorException',
  ' ',
  'You cannot call a method on a null-valued expression.',
  'At line:4 char:1',
  '+ $x.Foo()',
  '+ ~~~~~~~~',
  '    + CategoryInfo          : InvalidOperation: (:) [], RuntimeException',
  '    + FullyQualifiedErrorId : InvokeMethodOnNull',
  ' ',
  'a message long enough to be wrapped by the console at its width, here cut in the middle of a wo',
  'rd as the console does',
  'At line:6 char:1',
  '+ throw $m',
  '+ ~~~~~~~~',
  '    + CategoryInfo          : OperationStopped: (:) [], RuntimeException',
  '    + FullyQualifiedErrorId : x',
  ' ',
  '',
].join('\n');

const CONCISE_VIEW = [
  'Write-Error: boom',
  `InvalidOperation: ${SCRIPT}:4`,
  'Line |',
  '   4 |  $x.Foo()',
  '     |  ~~~~~~~~',
  '     | You cannot call a method on a null-valued expression.',
  `Exception: ${SCRIPT}:6`,
  'Line |',
  '   6 |  throw $m',
  '     |  ~~~~~~~~',
  '     | a message long enough to be wrapped by the console at its width, here cut',
  '     | in the middle of a word as the console does',
  '',
].join('\n');

describe('differential corpus normalisers', () => {
  it('error-view: NormalView and ConciseView of the same errors become the same messages, in order', () => {
    const [a, b] = normalise(['error-view'], side(NORMAL_VIEW), side(CONCISE_VIEW));
    expect(a).toBe(b);
    expect(a.split('\n')).toHaveLength(3);
    // a different message, or another order, still differs
    const [c, d] = normalise(['error-view'], side(NORMAL_VIEW.replace('boom', 'bang')), side(CONCISE_VIEW));
    expect(c).not.toBe(d);
    const swapped = CONCISE_VIEW.split('\n');
    const [e, f] = normalise(['error-view'], side(NORMAL_VIEW), side([...swapped.slice(1, 6), swapped[0]!, ...swapped.slice(6)].join('\n')));
    expect(e).not.toBe(f);
  });

  it('trailing-spaces and blank-lines: 5.1 padding and blank lines go, the cells stay', () => {
    const h = '\nName  State  \n----  -----  \nweb01 Running\n\n\n';
    const p = '\nName  State\n----  -----\nweb01 Running\n\n';
    expect(normalise(['trailing-spaces'], side(h), side(p))[0]).not.toBe(normalise(['trailing-spaces'], side(h), side(p))[1]);
    const [a, b] = normalise(['trailing-spaces', 'blank-lines'], side(h), side(p));
    expect(a).toBe(b);
    const [c, d] = normalise(['trailing-spaces', 'blank-lines'], side(h.replace('Running', 'Off    ')), side(p));
    expect(c).not.toBe(d);
  });

  it('ellipsis and time-space rewrite only the pwsh side', () => {
    expect(normalise(['ellipsis'], side('{1, 2, 3, 4...}'), side('{1, 2, 3, 4…}'))).toEqual(['{1, 2, 3, 4...}', '{1, 2, 3, 4...}']);
    expect(normalise(['time-space'], side('9:05 PM'), side('9:05\u202fPM'))).toEqual(['9:05 PM', '9:05 PM']);
  });

  it('known-differences.json names scripts of the corpus and kinds it defines, each with a reason', () => {
    const known = readKnown();
    const scripts = corpusScripts();
    for (const [name, kind] of Object.entries(known.kinds)) expect(kind.reason.length, name).toBeGreaterThan(20);
    for (const [s, streams] of Object.entries(known.scripts)) {
      expect(scripts).toContain(s);
      for (const kinds of Object.values(streams)) for (const k of kinds) expect(Object.keys(known.kinds)).toContain(k);
    }
    expect(scripts).not.toContain('hyperv/_seed.ps1');
  });
});
