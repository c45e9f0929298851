/**
 * The hvsim PowerShell module (powershell/Hvsim, shipped in the package; docs/powershell.md,
 * "The hvsim module"):
 *   hvsim pwsh-module             prints the path of Hvsim.psd1 (`Import-Module (hvsim pwsh-module)`);
 *   hvsim run --pwsh FILE [ARGS]  runs FILE in real PowerShell (`pwsh -File`) with the module as
 *                                 its Hyper-V module, on the same state directory; the script's
 *                                 exit status is hvsim's.
 * pwsh is HVSIM_PWSH (a path) or `pwsh` on PATH; missing: NOT_FOUND (exit 3) saying how to get it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { HvsimError } from '../../errors.js';
import { findOnPath, parseHostSpec } from '../../hyperv/index.js';
import { out } from '../output.js';
import { stateRoot, type Globals } from '../sim-host.js';

/** The package's folder (dist/cli/commands/ → the package root). */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The module manifest `Import-Module` takes. */
export const MODULE_MANIFEST = path.join(PACKAGE_ROOT, 'powershell', 'Hvsim', 'Hvsim.psd1');
/** The folder `run --pwsh` puts first on PSModulePath: it holds a `Hyper-V` module that is the hvsim module. */
export const RUN_MODULE_PATH = path.join(PACKAGE_ROOT, 'powershell', 'run');

/** pwsh: HVSIM_PWSH, else pwsh on PATH. */
export function findPwsh(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.HVSIM_PWSH;
  if (given) {
    if (!fs.existsSync(given)) throw new HvsimError('NOT_FOUND', `HVSIM_PWSH ${given}: no such file`, { file: given });
    return given;
  }
  const found = findOnPath('pwsh', env);
  if (!found)
    throw new HvsimError(
      'NOT_FOUND',
      'pwsh (PowerShell 7) is not on PATH: install it (https://aka.ms/powershell, or `dotnet tool install PowerShell --tool-path DIR`) or set HVSIM_PWSH to its path; `hvsim run` without --pwsh needs no PowerShell',
    );
  return found;
}

function requireModule(): void {
  if (!fs.existsSync(MODULE_MANIFEST)) throw new HvsimError('NOT_FOUND', `${MODULE_MANIFEST}: the module is missing from this installation of hvsim`, { file: MODULE_MANIFEST });
}

const SIGNAL_STATUS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGKILL: 137, SIGTERM: 143 };

/** Run `script` in pwsh with the module; its exit status. */
export function runPwsh(g: Globals, script: string, args: string[]): number {
  if (parseHostSpec(g.host).kind !== 'sim') throw new HvsimError('INVALID_ARGUMENT', 'run --pwsh works on the simulator; for a real host run the script in PowerShell there');
  if (g.injectFault?.length) throw new HvsimError('INVALID_ARGUMENT', 'run --pwsh does not take --inject-fault');
  if (!fs.existsSync(script)) throw new HvsimError('NOT_FOUND', `${script}: no such file`, { file: script });
  requireModule();
  const pwsh = findPwsh();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HVSIM_ROOT: path.resolve(stateRoot(g)),
    HVSIM_CLI: process.argv[1] ? path.resolve(process.argv[1]) : path.join(PACKAGE_ROOT, 'dist', 'cli', 'bin.cjs'),
    HVSIM_NODE: process.execPath,
    PSModulePath: [RUN_MODULE_PATH, process.env.PSModulePath].filter((x) => x).join(path.delimiter),
    ...(g.computerName !== undefined ? { HVSIM_COMPUTER_NAME: g.computerName } : {}),
  };
  const r = spawnSync(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', script, ...args], { stdio: 'inherit', env });
  if (r.error) throw new HvsimError('IO', `${pwsh}: ${r.error.message}`, { file: pwsh });
  if (r.signal) return SIGNAL_STATUS[r.signal] ?? 1;
  return r.status ?? 1;
}

export function registerPwshCommands(program: Command): void {
  program
    .command('pwsh-module')
    .description("print the path of hvsim's PowerShell module: Import-Module (hvsim pwsh-module) (docs/powershell.md)")
    .action(() => {
      requireModule();
      out(MODULE_MANIFEST + '\n');
    });
}
