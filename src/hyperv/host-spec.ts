/**
 * What the --host option names, in a module of its own: the CLI reads it on every command, and
 * loads the driver (./index.ts, ./driver.ts) only for a real host (bench/README.md, "CLI start-up").
 */
import { HvsimError } from '../errors.js';

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
