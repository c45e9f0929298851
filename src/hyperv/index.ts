/**
 * The real Hyper-V host driver (docs/real-host.md): HyperVHost implements Host over the Hyper-V
 * PowerShell cmdlets. Also what the CLI needs to pick it: the --host option's values and a
 * helper that opens the driver for one invocation.
 */
import { HvsimError } from '../errors.js';
import type { Host, HostWarning } from '../host/host.js';
import { HyperVHost, type HyperVHostOptions } from './driver.js';

export { HyperVHost, hostJoin, type HyperVHostOptions } from './driver.js';
export { findOnPath, findPowerShell, POWERSHELL_NAMES, type RunMode } from './runner.js';
export { SCRIPT, COMMANDS, encodeCommand, powershellArgs } from './script.js';

export { parseHostSpec, type HostSpec } from './host-spec.js';

/**
 * Open the driver, run `fn`, hand the warnings to `warn`, close the session. Options come from
 * the environment: HVSIM_POWERSHELL (the executable), HVSIM_POWERSHELL_MODE (session|process).
 */
export async function withHyperVHost<T>(spec: { computerName?: string }, fn: (h: Host) => Promise<T>, warn: (w: HostWarning) => void, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const mode = env.HVSIM_POWERSHELL_MODE;
  if (mode !== undefined && mode !== '' && mode !== 'session' && mode !== 'process')
    throw new HvsimError('INVALID_ARGUMENT', `HVSIM_POWERSHELL_MODE "${mode}": use session or process`);
  const opts: HyperVHostOptions = { env, ...(spec.computerName !== undefined ? { computerName: spec.computerName } : {}), ...(mode ? { mode: mode as 'session' | 'process' } : {}) };
  const h = await HyperVHost.open(opts);
  try {
    return await fn(h);
  } finally {
    for (const w of await h.takeWarnings()) warn(w);
    await h.close();
  }
}
