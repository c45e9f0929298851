/**
 * hvsim run over several simulated hosts (docs/powershell.md, "Several hosts and CIM sessions"):
 * -ComputerName HV01,HV02 acts on each, objects act on the host they came from, an unknown host
 * is Hyper-V's WinRM error; New-CimSession / Get-CimSession / Remove-CimSession and -CimSession;
 * the failover-cluster cmdlets stop the run when reached.
 */
import { describe, expect, it } from 'vitest';
import { simHost } from '../helpers/sim-host.js';
import { psSession, runPs } from '../helpers/powershell.js';
import type { Simulator } from '../../src/sim/simulator.js';

async function farm(): Promise<{ hv1: Simulator; hv2: Simulator }> {
  const hv1 = simHost({ computerName: 'HV01' });
  const hv2 = await hv1.addHost('HV02');
  await hv1.newVM({ name: 'web01' });
  await hv2.newVM({ name: 'web01' });
  await hv2.newVM({ name: 'db01' });
  await hv2.startVM(['db01']);
  return { hv1, hv2 };
}

describe('-ComputerName over several hosts', () => {
  it('acts on each host named; objects carry their host', async () => {
    const { hv1, hv2 } = await farm();
    const r = await runPs(hv1, "Get-VM -ComputerName HV01,HV02 | ForEach-Object { '{0}/{1}/{2}' -f $_.ComputerName, $_.Name, $_.State }", { farm: hv1 });
    expect(r.err).toBe('');
    expect(r.out).toBe('HV01/web01/Off\nHV02/web01/Off\nHV02/db01/Running\n');
    // A VM object from HV02 acts on HV02 (not on the session's host's web01).
    const c = await runPs(hv1, "Get-VM -ComputerName HV02 -Name web01 | Checkpoint-VM -SnapshotName fromHV02 -Passthru | ForEach-Object { $_.ComputerName + ':' + $_.VMName }", { farm: hv1 });
    expect(c.err).toBe('');
    expect(c.out).toBe('HV02:web01\n');
    expect(await hv1.getVMSnapshot({ vmNames: ['web01'] })).toEqual([]);
    expect((await hv2.getVMSnapshot({ vmNames: ['web01'] })).map((s) => s.Name)).toEqual(['fromHV02']);
    // Objects from both hosts in one call: each acts on its own.
    const both = await runPs(hv1, "$all = Get-VM -ComputerName HV01,HV02 -Name web01\nCheckpoint-VM -VM $all -SnapshotName both\n(Get-VMSnapshot -ComputerName HV01,HV02 -VMName web01 -Name both).ComputerName", { farm: hv1 });
    expect(both.err).toBe('');
    expect(both.out).toBe('HV01\nHV02\n');
    // localhost and '.' are the session's host.
    expect((await runPs(hv1, '(Get-VM -ComputerName localhost,.).Name', { farm: hv1 })).out).toBe('web01\n');
  });

  it('an unknown host is a non-terminating WinRM error; the known hosts still act', async () => {
    const { hv1 } = await farm();
    const r = await runPs(hv1, "Get-VM -ComputerName HV09,HV02 | ForEach-Object { $_.ComputerName + ':' + $_.Name }\n$Error[0].FullyQualifiedErrorId\n$Error[0].CategoryInfo.Category\n$Error[0].TargetObject\n$Error[0].Exception.Message", { farm: hv1 });
    expect(r.out).toContain('HV02:web01\nHV02:db01\nHyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVM\nConnectionError\nHV09\n');
    expect(r.out).toContain("The operation on computer 'HV09' failed: The WinRM client cannot process the request because the server name cannot be resolved. (hvsim simulates the hosts 'HV01', 'HV02'; hvsim new-vm --computer-name HV09 adds that host)");
    // Without a farm (one host), another name is unknown too.
    const alone = await runPs(simHost({ computerName: 'HV01' }), 'Get-VM -ComputerName HV02');
    expect(alone.err.replace(/\s+/g, ' ')).toContain("The operation on computer 'HV02' failed: The WinRM client cannot process the request because the server name cannot be resolved. (hvsim simulates the host 'HV01';");
  });
});

describe('CIM sessions', () => {
  it('New-CimSession makes a session per computer; -CimSession targets its host; Get- and Remove-CimSession', async () => {
    const { hv1, hv2 } = await farm();
    const ps = psSession(hv1, { farm: hv1 });
    const made = await ps.run('$s = New-CimSession -ComputerName HV02\n$s\n$s.GetType().FullName\n$s.PSObject.TypeNames[0]');
    expect(made.err).toBe('');
    expect(made.out).toMatch(/^\n+Id           : 1\nName         : CimSession1\nInstanceId   : [0-9a-f-]{36}\nComputerName : HV02\nProtocol     : WSMAN\n/);
    expect(made.out).toContain('Microsoft.Management.Infrastructure.CimSession');
    const used = await ps.run("Get-VM -CimSession $s | ForEach-Object { $_.ComputerName + ':' + $_.Name }\nStop-VM -CimSession $s -Name db01 -Force -TurnOff\n(Get-VM -CimSession $s -Name db01).State");
    expect(used.err).toBe('');
    expect(used.out).toBe('HV02:web01\nHV02:db01\nOff\n');
    expect((await hv2.getVM(['db01']))[0]!.State).toBe('Off');
    const more = await ps.run("$t = New-CimSession HV01,HV02 -Name farm\n(Get-CimSession).Name -join ','\n(Get-CimSession -ComputerName HV0*).Id -join ','\n(Get-VM -CimSession $t).Count\nGet-CimSession -Name farm | Remove-CimSession\n(Get-CimSession | Measure-Object).Count\nRemove-CimSession -Id 1\n@(Get-CimSession).Count");
    expect(more.err).toBe('');
    expect(more.out).toBe('CimSession1,farm,farm\n1,2,3\n3\n1\n0\n');
  });

  it('a computer that is not simulated: New-CimSession fails as WS-Man does; -SkipTestConnection defers it to the cmdlet', async () => {
    const { hv1 } = await farm();
    const ps = psSession(hv1, { farm: hv1 });
    const r = await ps.run('$s = New-CimSession -ComputerName HV09\n$null -eq $s\n$Error[0].FullyQualifiedErrorId\n$Error[0].CategoryInfo.Category\n$Error[0].Exception.Message');
    expect(r.out).toMatch(/^True\nHRESULT 0x80338126,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand\nConnectionError\nThe WinRM client cannot process the request because the server name cannot be resolved\. \(hvsim/);
    const later = await ps.run("$s = New-CimSession -ComputerName HV09 -SkipTestConnection\nGet-VM -CimSession $s\n$Error[0].FullyQualifiedErrorId");
    expect(later.out).toBe('HyperVCommunicationError,Microsoft.HyperV.PowerShell.Commands.GetVM\n');
    // A string is not a CimSession; -ComputerName and -CimSession together are refused.
    const bad = await ps.run("$s = New-CimSession HV02\nGet-VM -CimSession 'HV02'\nGet-VM -CimSession $s -ComputerName HV02");
    expect(bad.err.replace(/\s+/g, ' ')).toContain('Cannot bind parameter \'CimSession\'. Cannot convert the "HV02" value of type "System.String" to type "Microsoft.Management.Infrastructure.CimSession".');
    expect(bad.err.replace(/\s+/g, ' ')).toContain('Specify either -ComputerName or -CimSession, not both.');
  });

  it('cluster cmdlets stop the run when reached, naming the cmdlet and why', async () => {
    const { hv1 } = await farm();
    const skipped = await runPs(hv1, "if ($false) { Get-ClusterNode }\n'ran'", { farm: hv1 });
    expect(skipped.out).toBe('ran\n');
    await expect(runPs(hv1, "'before'\nGet-ClusterGroup | Where-Object GroupType -eq VirtualMachine", { farm: hv1 })).rejects.toThrow(/line 2: the cmdlet Get-ClusterGroup \(module FailoverClusters: the simulator models no failover cluster/);
    await expect(runPs(hv1, 'Move-ClusterVirtualMachineRole -Name web01 -Node HV02', { farm: hv1 })).rejects.toThrow(/Move-ClusterVirtualMachineRole \(module FailoverClusters/);
  });
});
