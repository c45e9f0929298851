/**
 * hvsim run: Get-, Enable- and Disable-VMIntegrationService (docs/hyperv.md, "Integration
 * services") — the default table, the parameter sets of Microsoft's examples (-VMName, a piped VM,
 * piped components), -Passthru, errors, and Checkpoint-VM falling back or failing with VSS off.
 */
import { describe, expect, it } from 'vitest';
import { simHost } from '../helpers/sim-host.js';
import { runPs } from '../helpers/powershell.js';

async function host(): Promise<ReturnType<typeof simHost>> {
  const h = simHost({ computerName: 'HV1' });
  await h.newVM({ name: 'Test1' });
  return h;
}

describe('hvsim run: integration services', () => {
  it("Get-VMIntegrationService's default table (Microsoft's columns), Off then running", async () => {
    const h = await host();
    const r = await runPs(h, 'Get-VMIntegrationService -VMName Test1\nStart-VM Test1\nGet-VMIntegrationService Test1 Heartbeat, VSS', { width: 120 });
    expect(r.err).toBe('');
    const lines = r.out.split('\n').filter((l) => l.trim() !== '').map((l) => l.trimEnd());
    expect(lines.slice(0, 8)).toEqual([
      'VMName Name                    Enabled PrimaryStatusDescription SecondaryStatusDescription',
      '------ ----                    ------- ------------------------ --------------------------',
      'Test1  Guest Service Interface False',
      'Test1  Heartbeat               True',
      'Test1  Key-Value Pair Exchange True',
      'Test1  Shutdown                True',
      'Test1  Time Synchronization    True',
      'Test1  VSS                     True',
    ]);
    // The second call's objects continue the same table (one Out-Default for the script).
    expect(lines.slice(8)).toEqual(['Test1  Heartbeat               True    OK                       OK', 'Test1  VSS                     True    OK']);
  });

  it("Microsoft's examples: -Name and -VMName, a piped VM, piped components; -Passthru writes the components", async () => {
    const h = await host();
    const r = await runPs(h, `
Disable-VMIntegrationService -Name Shutdown,VSS -VMName Test1
(Get-VMIntegrationService -VMName Test1 | Where-Object { -not $_.Enabled } | ForEach-Object Name) -join ','
Get-VMIntegrationService Shutdown,Vss -VMName Test1 | Enable-VMIntegrationService
(Get-VMIntegrationService -VMName Test1 | Where-Object { -not $_.Enabled } | ForEach-Object Name) -join ','
Get-VM Test1 | Disable-VMIntegrationService 'Backup (volume shadow copy)'
$c = Get-VM Test1 | Enable-VMIntegrationService 'Guest Service Interface' -Passthru
$c.GetType().FullName + ' ' + $c.Name + ' ' + $c.Enabled + ' ' + $c.VMName
(Get-VM -Name Test1 | Get-VMIntegrationService -Name VSS).Enabled
`);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l !== '')).toEqual([
      'Guest Service Interface,Shutdown,VSS',
      'Guest Service Interface',
      'Microsoft.HyperV.PowerShell.VMIntegrationComponent Guest Service Interface True Test1',
      'False',
    ]);
  });

  it('an unknown service or VM is a non-terminating error; -WhatIf changes nothing; -VMSnapshot is refused', async () => {
    const h = await host();
    const r = await runPs(h, `
Get-VMIntegrationService -VMName Test1 -Name Backup
try { Disable-VMIntegrationService -Name VSS -VMName nope -ErrorAction Stop } catch { $_.CategoryInfo.Category.ToString() + ' ' + $_.FullyQualifiedErrorId }
Disable-VMIntegrationService -Name VSS -VMName Test1 -WhatIf
(Get-VMIntegrationService Test1 VSS).Enabled
`);
    expect(r.err).toMatch(/^Get-VMIntegrationService : The virtual machine 'Test1' has no integration service named 'Backup'/);
    expect(r.err).toContain('FullyQualifiedErrorId : ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.GetVMIntegrationService');
    expect(r.out).toContain('ObjectNotFound ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.DisableVMIntegrationService');
    expect(r.out).toContain('What if: Performing the operation "Disable-VMIntegrationService" on target "Test1".');
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('True');
    const s = await runPs(h, 'Checkpoint-VM Test1 -SnapshotName c\nGet-VMSnapshot Test1 | Get-VMIntegrationService');
    expect(s.err).toMatch(/^Get-VMIntegrationService : hvsim does not simulate a checkpoint's integration services \(-VMSnapshot\)/);
    expect(s.err).toContain('NotImplemented');
    // Named, it stops the run as every parameter hvsim refuses does (docs/powershell.md).
    await expect(runPs(h, '$c = Get-VMSnapshot Test1\nGet-VMIntegrationService -VMSnapshot $c')).rejects.toThrow(/^line 2: a checkpoint's integration services \(-VMSnapshot\) are \(on Get-VMIntegrationService\) not supported by hvsim run/);
  });

  it('VSS off: Checkpoint-VM warns and takes a standard checkpoint (Production), or fails (ProductionOnly)', async () => {
    const h = await host();
    const r = await runPs(h, `
Start-VM Test1
Disable-VMIntegrationService -VMName Test1 -Name VSS
$s = Checkpoint-VM Test1 -SnapshotName fallback -Passthru
$s.CheckpointType + ' ' + $s.State
Set-VM Test1 -CheckpointType ProductionOnly
try { Checkpoint-VM Test1 -SnapshotName strict -ErrorAction Stop } catch { 'refused: ' + $_.CategoryInfo.Category }
(Get-VMSnapshot Test1).Name -join ','
`);
    expect(r.out).toMatch(/WARNING: Production checkpoints cannot be created for 'Test1' \(the Backup \(volume shadow copy\) integration service is disabled\); a standard checkpoint was created instead\./);
    expect(r.out).toContain('Standard Running');
    expect(r.out).toContain('refused: InvalidOperation');
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('fallback');
  });
});
