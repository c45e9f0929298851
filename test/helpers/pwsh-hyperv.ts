/**
 * The real-host driver (src/hyperv) run by real pwsh with the test fixture module `Hyper-V`
 * (test/fixtures/pwsh-modules/Hyper-V: the hvsim module, answered by `hvsim serve --stdio` — the
 * tests' build of the CLI — on a state directory of the caller's). docs/real-host.md, "What was
 * checked, and how".
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { cliBin } from './cli.js';
import { pwshEnv } from './pwsh.js';

export const PWSH_MODULES = path.join(import.meta.dirname, '..', 'fixtures', 'pwsh-modules');

/**
 * pwsh's environment: the fixture first on PSModulePath, the state directory `root` on the wall
 * clock (a merge ends as real time passes: the driver's polling sees it end), host xHost16, UTC.
 */
export function hyperVPwshEnv(root: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return pwshEnv({
    PSModulePath: [PWSH_MODULES, process.env['PSModulePath'] ?? ''].filter(Boolean).join(path.delimiter),
    HVSIM_ROOT: root,
    HVSIM_CLI: cliBin(),
    HVSIM_NODE: process.execPath,
    HVSIM_COMPUTER_NAME: 'xHost16',
    HVSIM_CLOCK: 'wall',
    HVSIM_PWSH_CACHE: path.join(os.tmpdir(), 'hvsim-pwsh'),
    TZ: 'UTC',
    ...extra,
  });
}
