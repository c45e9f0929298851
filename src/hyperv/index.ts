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

/** What --host names: the simulator, or Hyper-V on this machine or on COMPUTER. */
export type HostSpec = { kind: 'sim' } | { kind: 'hyperv'; computerName?: string };

/** "sim" (the default), "hyperv" or "hyperv:COMPUTER". */
export function parseHostSpec(text: string | undefined): HostSpec {
  if (text === undefined || text === '' || /^(sim|simulator)$/i.test(text)) return { kind: 'sim' };
  const m = /^hyperv(?::(.*))?$/i.exec(text);
  if (!m) throw new HvsimError('INVALID_ARGUMENT', `--host "${text}": use sim, hyperv or hyperv:COMPUTER`);
  if (m[1] === undefined) return { kind: 'hyperv' };
  const computer = m[1];
  // A computer name, a DNS name or an IP address; nothing PowerShell-like (it travels as data anyway).
  if (!/^[A-Za-z0-9][A-Za-z0-9._:\-[\]]*$/.test(computer) || computer.length > 255)
    throw new HvsimError('INVALID_ARGUMENT', `--host "${text}": "${computer}" is not a computer name`);
  return { kind: 'hyperv', computerName: computer };
}

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
