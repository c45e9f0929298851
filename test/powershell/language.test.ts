/**
 * Issue 17's language: script parameters from the command line, functions and scopes, and bad
 * scripts ending as PowerShell ends them (call depth overflow, out-of-memory records, format
 * widths, deep nesting) — plus a fast-check fuzz test: every generated script ends in a result
 * or a PowerShell-shaped error, never an internal error (exit 70) or a hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSession, ScriptSyntaxError, UnsupportedError } from '../../src/powershell/index.js';
import { simHost } from '../helpers/sim-host.js';
import { runPs } from '../helpers/powershell.js';

const START = Date.UTC(2024, 0, 15, 9, 0, 0);
const host = (): ReturnType<typeof simHost> => simHost({ computerName: 'HV1', startTime: START });

async function withArgs(src: string, args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const s = createSession(host(), { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  const r = await s.run(src, { args });
  return { out, err, exitCode: r.exitCode };
}

const PARAMS = `param([Parameter(Mandatory)][string]$VMName, [ValidateSet('a','b')][string]$Mode = 'a', [int]$Days = 7, [switch]$Force)
"vm=$VMName mode=$Mode days=$Days force=$Force"`;

describe('script parameters', () => {
  it('named, positional, switches, defaults and conversions, as pwsh -File binds them', async () => {
    expect((await withArgs(PARAMS, ['-VMName', 'web01', '-Days', '3', '-Force'])).out).toBe('vm=web01 mode=a days=3 force=True\n');
    expect((await withArgs(PARAMS, ['web01', 'b'])).out).toBe('vm=web01 mode=b days=7 force=False\n');
    expect((await withArgs(PARAMS, ['-vm', 'x', '-Days:10'])).out).toBe('vm=x mode=a days=10 force=False\n');
  });

  it('a missing mandatory parameter, a value outside the ValidateSet, a bad conversion: exit 1 with the PowerShell message', async () => {
    let r = await withArgs(PARAMS, []);
    expect([r.exitCode, r.out]).toEqual([1, '']);
    expect(r.err).toContain('Cannot process command because of one or more missing mandatory parameters: VMName.');
    r = await withArgs(PARAMS, ['-VMName', 'x', '-Mode', 'c']);
    expect(r.err.replace(/\s+/g, ' ')).toContain('The argument "c" does not belong to the set "a,b" specified by the ValidateSet attribute.');
    r = await withArgs(PARAMS, ['-VMName', 'x', '-Days', 'abc']);
    expect(r.err.replace(/\s+/g, ' ')).toContain(`Cannot process argument transformation on parameter 'Days'.`);
  });

  it('$args without param()', async () => {
    expect((await withArgs('"n=$($args.Count) $($args -join \'+\')"', ['a', '-b', 'c'])).out).toBe('n=3 a+-b+c\n');
  });
});

describe('bad scripts end as PowerShell ends them', () => {
  it('unbounded recursion: "The script failed due to call depth overflow." (exit 1)', async () => {
    const r = await runPs(host(), 'function f { f }\nf\n"never"');
    expect(r.exitCode).toBe(1);
    expect(r.terminatingError?.message).toBe('The script failed due to call depth overflow.');
    expect(r.out).toBe('');
  });

  it('huge strings and arrays are out-of-memory error records; the script goes on', async () => {
    const r = await runPs(host(), "$s = 'x' * 2000000000\n$a = @(1) * 2000000000\n$r = 1..2000000000\n'after'");
    expect(r.out).toBe('after\n');
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual(['System.OutOfMemoryException', 'System.OutOfMemoryException', 'System.OutOfMemoryException']);
    expect(r.errors[0]!.message).toBe('Insufficient memory to continue the execution of the program.');
  });

  it('a format item 2,000,000,000 wide fails as .NET formatting does (pwsh 7.6.10 wording)', async () => {
    const r = await runPs(host(), 'try { "{0,2000000000}" -f 1 } catch { "$_" }');
    expect(r.out).toBe('Error formatting a string: Input string was not in a correct format. Failure to parse near offset 10. Format item ends prematurely..\n');
  });

  it('5,000 nested parentheses: refused as too deep to parse (pwsh 7.6.10 crashes on it)', async () => {
    const e = await runPs(host(), '('.repeat(5000) + '1' + ')'.repeat(5000)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScriptSyntaxError);
  });
});

// Fragments of scripts, good and bad, combined at random.
const FRAGMENT = fc.constantFrom(
  '$x = 1', '$x += 2', '$y = "a" * 3', '1..5 | ForEach-Object { $_ * 2 }', 'function f($a) { $a + 1 }', 'f 2', 'f', '& { param($q) $q } 7',
  'switch ($x) { 1 { "one" } default { "other" } }', 'if ($x -gt 1) { "big" } else { "small" }', 'foreach ($i in 1..3) { $i }',
  'try { throw "boom" } catch { "caught $_" }', 'throw "bad"', '$z = $null.Foo()', 'Get-VM -Name nope', 'Get-VM', 'Checkpoint-VM -Name nope',
  '"{0,5}" -f $x', '"{0,2000000000}" -f 1', "'x' * 2000000000", '$h = @{ a = 1 }; $h.a', '@($x) * 3', 'exit 3', 'return', 'break',
  'Write-Host hi', 'Write-Output ($x -is [int])', '$x -as [string]', 'Undefined-Command', 'function g { g }', '$s = @"\nhere $x\n"@',
  '(', '}', '$x = (', '"unterminated', 'class C { }', 'trap { 1 }', 'Get-VM > out.txt', '$a = 1,2,3; $a[10]', '$a[-1]', 'do { $x++ } while ($x -lt 5)',
  '$p = @{ Name = "nope" }; Get-VM @p', 'Stop-Job', '[int]"abc"', '1 / 0', '$x.ToString("N2")', '-split "a b"', '"a,b" -split ","',
);

describe('fuzz: generated scripts never break hvsim', () => {
  it('every script ends in a result or a PowerShell-shaped error (no internal error, no hang)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(FRAGMENT, { minLength: 1, maxLength: 6 }), async (frags) => {
        const src = frags.join('\n');
        try {
          const r = await runPs(host(), src);
          expect(typeof r.exitCode).toBe('number');
        } catch (e) {
          // the only ways a run may end besides a result: a refusal naming a line
          if (!(e instanceof UnsupportedError || e instanceof ScriptSyntaxError)) throw new Error(`internal error for script:\n${src}\n${String(e)}`);
        }
      }),
      { numRuns: 150, seed: 17 },
    );
  }, 120_000);
});

describe('valid syntax the grammar misreads (issue 17, part 10)', () => {
  it('Get-VM -Name $prefix* is the wildcard "$prefix*"; `1..3 -join` is the range; empty scripts run', async () => {
    const h = host();
    await h.newVM({ name: 'web01', checkpointType: 'Standard' });
    await h.newVM({ name: 'db01', checkpointType: 'Standard' });
    const r = await runPs(h, "$prefix = 'we'\nGet-VM -Name $prefix* | ForEach-Object { $_.Name }\n1..3 -join ','\n$n = 3\n$n* 2");
    expect([r.out, r.err]).toEqual(['web01\n1,2,3\n6\n', '']);
    expect((await runPs(h, '# nothing\n<# block #>\n')).exitCode).toBe(0);
  });

  it('function f { param($x) $x } on one line; Write-Verbose -Verbose; Write-Host of a date', async () => {
    const r = await runPs(host(), "function f { param($x) \"x=$x\" }\nf 5\nWrite-Verbose hidden\nWrite-Verbose shown -Verbose\nWrite-Host (Get-Date -Date '2025-01-15 09:00:10')");
    expect(r.out).toBe('x=5\nVERBOSE: shown\n1/15/2025 9:00:10 AM\n');
  });
});

describe('script files', () => {
  it('. .\\lib.ps1 defines its functions in the caller; & file.ps1 -Arg runs it in a child scope with its param()', async () => {
    const files: Record<string, string> = {
      './lib.ps1': "function Get-Greeting($n) { \"hello $n\" }\n$fromLib = 'set by lib'",
      './child.ps1': 'param([int]$Times = 1)\n$local = "child"\n"times=$Times"',
    };
    let out = '';
    const s = createSession(host(), {
      stdout: (t) => (out += t),
      stderr: () => {},
      readScript: (p) => {
        const text = files[p.replace(/\\/g, '/')];
        if (text === undefined) throw new Error('no such file');
        return text;
      },
    });
    const r = await s.run(". .\\lib.ps1\nGet-Greeting web01\n$fromLib\n& .\\child.ps1 -Times 3\n\"local=[$local]\"\n& .\\missing.ps1\n'end'");
    expect(out).toBe('hello web01\nset by lib\ntimes=3\nlocal=[]\nend\n');
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual(['CommandNotFoundException']);
  });
});
