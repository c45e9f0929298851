/**
 * The driver's fixed script (src/hyperv/script.ts) read by a real PowerShell 7 (test/helpers/
 * pwsh.ts): it parses without errors, and a request naming a cmdlet outside its table is refused
 * by the script itself, with no Hyper-V module present.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LINE_PREFIX, SCRIPT, powershellArgs } from '../../src/hyperv/script.js';
import { PWSH, PWSH_VERSION, pwshEnv, pwshGate } from '../helpers/pwsh.js';

const ok = pwshGate();

describe.skipIf(!ok)('the fixed script in real PowerShell 7', () => {
  it('parses without errors', () => {
    const check = [
      '$errs = $null; $tokens = $null',
      '$text = [Console]::In.ReadToEnd()',
      '[void][System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errs)',
      '"errors=$($errs.Count)"',
      'foreach ($e in $errs) { "$($e.Extent.StartLineNumber): $($e.Message)" }',
    ].join('; ');
    const r = spawnSync(PWSH!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', check], { input: SCRIPT, encoding: 'utf8', env: pwshEnv(), timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('errors=0');
  });

  it('greets, then refuses a request for a cmdlet outside its table', () => {
    const request = { id: 1, steps: [{ c: 's:Remove-Item', p: { Path: 's:/' } }] };
    const line = Buffer.from(JSON.stringify(request), 'utf8').toString('base64');
    const r = spawnSync(PWSH!, powershellArgs(), { input: line + '\n', encoding: 'utf8', env: pwshEnv(), timeout: 120_000 });
    const answers = r.stdout
      .split(/\r?\n/)
      .filter((l) => l.startsWith(LINE_PREFIX))
      .map((l) => JSON.parse(l.slice(LINE_PREFIX.length)) as Record<string, unknown>);
    // first the greeting, then one answer: the request refused, nothing run
    expect(answers).toEqual([
      { ready: true, ps: PWSH_VERSION, edition: 'Core' },
      expect.objectContaining({ id: 1, ok: false, error: expect.objectContaining({ Message: 'hvsim: not a command hvsim runs' }) }),
    ]);
  });
});
