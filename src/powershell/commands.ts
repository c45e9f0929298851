/**
 * The command table of hvsim run: cmdlets by name and alias, and the check made before a script
 * runs (real cmdlets hvsim does not implement, and unsupported parameters, stop the run before
 * anything changes).
 */
import { forEachCommand, type Stmt } from './ast.js';
import { BindingError, refuseUnsupported, resolveParam, type CmdletDef } from './cmdlet.js';
import { HYPERV_ALIASES, HYPERV_CMDLETS } from './cmdlets/hyperv.js';
import { FORMAT_OUTPUT, UTILITY_ALIASES, UTILITY_CMDLETS } from './cmdlets/utility.js';
import { UnsupportedError } from './errors.js';

export { FORMAT_OUTPUT };

const BY_NAME = new Map<string, CmdletDef>();
for (const c of [...HYPERV_CMDLETS, ...UTILITY_CMDLETS]) BY_NAME.set(c.name.toLowerCase(), c);
const ALIASES: Record<string, string> = { ...HYPERV_ALIASES, ...UTILITY_ALIASES };

export function findCmdlet(name: string): CmdletDef | undefined {
  const n = name.toLowerCase();
  return BY_NAME.get(n) ?? BY_NAME.get(ALIASES[n]?.toLowerCase() ?? '');
}

/** Real cmdlets a checkpoint script may use that hvsim run does not implement. */
const KNOWN_UNSUPPORTED = [
  'Compare-VM', 'Rename-VM', 'Wait-VM', 'Move-VM', 'Restart-VM', 'Remove-VMSavedState',
  'Get-VHD', 'New-VHD', 'Merge-VHD', 'Set-VHD', 'Resize-VHD', 'Convert-VHD', 'Mount-VHD', 'Dismount-VHD', 'Test-VHD', 'Optimize-VHD',
  'Remove-VMHardDiskDrive', 'Set-VMHardDiskDrive', 'Get-VMNetworkAdapter', 'Get-VMIntegrationService', 'Enable-VMIntegrationService',
  'Disable-VMIntegrationService', 'Get-VMHost', 'Set-VMHost', 'Get-VMProcessor', 'Set-VMProcessor', 'Get-VMMemory', 'Set-VMMemory',
  'Out-File', 'Export-Csv', 'Import-Csv', 'ConvertTo-Json', 'ConvertFrom-Json', 'Out-String', 'Tee-Object',
  'Invoke-Command', 'Enter-PSSession', 'New-PSSession', 'New-CimSession', 'Get-Credential', 'Read-Host', 'Get-Content', 'Set-Content',
  'Add-Content', 'Write-Verbose', 'Write-Debug', 'Write-Progress', 'Write-Information', 'Start-Job', 'Wait-Job', 'Receive-Job',
  'New-Object', 'Add-Member', 'Get-Member', 'Set-Variable', 'Get-Variable', 'Start-Transcript', 'Stop-Transcript', 'Test-Path',
  'New-Item', 'Remove-Item', 'Copy-Item', 'Get-ChildItem', 'Join-Path', 'Split-Path', 'Get-Process', 'Get-Service', 'Start-Process',
  'Send-MailMessage', 'Invoke-Expression', 'Out-GridView', 'Format-Wide', 'Format-Custom', 'ConvertTo-Html', 'Select-String',
].map((n) => n.toLowerCase());
const UNSUPPORTED_ALIASES: Record<string, string> = { gc: 'Get-Content', gci: 'Get-ChildItem', ls: 'Get-ChildItem', dir: 'Get-ChildItem', cat: 'Get-Content', iex: 'Invoke-Expression', icm: 'Invoke-Command', gm: 'Get-Member', fw: 'Format-Wide', tee: 'Tee-Object', ogv: 'Out-GridView', sls: 'Select-String' };

/** Why a refused cmdlet is refused, when it is not obvious. */
const WHY: Record<string, string> = {
  'wait-vm':
    " (it waits for the guest — heartbeat, IP address, reboot — which hvsim does not model; to wait for a merge, poll the VM: while ((Get-VM x).OperationalStatus -contains 'MergingDisks') { Start-Sleep 5 })",
};

/** Stop before running when the script uses a real cmdlet or parameter hvsim does not implement. */
export function checkCommands(body: Stmt[]): void {
  forEachCommand(body, (c) => {
    const lower = c.name.toLowerCase();
    const real = UNSUPPORTED_ALIASES[lower] ?? (KNOWN_UNSUPPORTED.includes(lower) ? c.name : undefined);
    if (real !== undefined) throw new UnsupportedError(c.pos.line, `the cmdlet ${real}${WHY[real.toLowerCase()] ?? ''} is`);
    const def = findCmdlet(c.name);
    if (!def) return;
    for (const el of c.elements) {
      if (el.kind !== 'param') continue;
      try {
        refuseUnsupported(def, resolveParam(def, el.name), el.pos.line);
      } catch (e) {
        if (!(e instanceof BindingError)) throw e;
      }
    }
  });
}
