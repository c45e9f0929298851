/**
 * Real PowerShell 7 for the tests that compare hvsim with it (docs/powershell.md, "What was checked
 * against a real PowerShell"). `pwsh` is looked up as HVSIM_PWSH (a path) or on PATH.
 *
 * Gating, as for the interop tools (interop.ts): `pwshGate()` at collection time, then
 * `describe.skipIf(!ok)`. When HVSIM_REQUIRE_PWSH is set (non-empty, not "0", as in .ci/run) a
 * missing pwsh makes the gate throw, so the test file fails instead of skipping.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { findOnPath } from '../../src/hyperv/runner.js';

/** How to get it: PowerShell 7 as a .NET tool from NuGet (7.7.0 does not install on Linux here). */
export const PWSH_INSTALL = 'dotnet tool install PowerShell --version 7.6.10 --tool-path DIR, then put DIR on PATH';

/** The pwsh executable, or undefined. */
export const PWSH: string | undefined = process.env['HVSIM_PWSH'] || findOnPath('pwsh');

/** The environment pwsh runs in for the tests: no telemetry, no update check, en-US, no colours. */
export function pwshEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    POWERSHELL_TELEMETRY_OPTOUT: '1',
    POWERSHELL_UPDATECHECK: 'Off',
    POWERSHELL_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    LANG: 'en_US.UTF-8',
    LC_ALL: 'en_US.UTF-8',
    NO_COLOR: '1',
    TERM: 'dumb',
    ...extra,
  };
}

function probeVersion(): string | undefined {
  if (PWSH === undefined) return undefined;
  const r = spawnSync(PWSH, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], {
    encoding: 'utf8',
    env: pwshEnv(),
    timeout: 60_000,
  } satisfies SpawnSyncOptions);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** PowerShell's version ("7.6.10"), or undefined when pwsh is missing or does not start. */
export const PWSH_VERSION: string | undefined = probeVersion();

export function pwshRequired(): boolean {
  const v = process.env['HVSIM_REQUIRE_PWSH'];
  return v !== undefined && v !== '' && v !== '0';
}

let announced = false;

/** true if pwsh can be used; otherwise throws under HVSIM_REQUIRE_PWSH, or says once why it skips. */
export function pwshGate(): boolean {
  if (PWSH_VERSION !== undefined) return true;
  const why = PWSH === undefined ? 'pwsh is not on PATH (nor HVSIM_PWSH)' : `${PWSH} does not start`;
  if (pwshRequired()) throw new Error(`PowerShell 7 is required because HVSIM_REQUIRE_PWSH is set: ${why}; ${PWSH_INSTALL}`);
  if (!announced) {
    announced = true;
    console.warn(`[pwsh] skipping the tests against real PowerShell: ${why} (${PWSH_INSTALL}; set HVSIM_REQUIRE_PWSH=1 to make this an error)`);
  }
  return false;
}
