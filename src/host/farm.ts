/**
 * -ComputerName and -CimSession over several hosts (docs/simulator.md, "Several hosts"): which
 * hosts a list of computer names reaches. One rule for hvsim run's cmdlets, hvsim serve (the pwsh
 * module) and the CLI.
 */
import type { Host, HostFarm } from './host.js';
import { isLocalComputer } from './messages.js';

export interface ReachedHosts {
  /** The hosts named, in the order first named (each once). */
  hosts: Host[];
  /** The names no host has (each gets Hyper-V's WinRM error: messages.ts, remoteComputerMessage). */
  unknown: string[];
  /** The names of every host there is (for that error's text). */
  simulated: string[];
}

/**
 * The hosts `names` reach from `current`: none given is `current` alone; '.', localhost and
 * `current`'s name are `current`; another name is the farm's host of that name, if the farm has one.
 * A host named twice acts once (hvsim's choice: docs/powershell.md, "Several hosts").
 */
export function reachHosts(current: Host, farm: HostFarm | undefined, names: readonly string[] | undefined): ReachedHosts {
  const simulated = farm?.hosts() ?? [current.computerName];
  if (names === undefined) return { hosts: [current], unknown: [], simulated };
  const hosts: Host[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const h = isLocalComputer(n, current.computerName) ? current : farm?.host(n);
    if (h === undefined) unknown.push(n);
    else if (!hosts.some((x) => x.computerName.toLowerCase() === h.computerName.toLowerCase())) hosts.push(h);
  }
  return { hosts, unknown, simulated };
}
