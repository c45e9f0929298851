/**
 * hvsim run: the host as Hyper-V keeps it (issue 18) — Export-VMSnapshot / Export-VM in Hyper-V's
 * export layout, Import-VM (in place, -Copy, -GenerateNewId; the same Id twice refused), Remove-VM,
 * Set-VM locations, Remove-VMSnapshot -Passthru / IsDeleted, the 50-checkpoint limit.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { MemoryStorage } from '../../src/sim/storage.js';
import { simHost } from '../helpers/sim-host.js';
import { runPs } from '../helpers/powershell.js';

const MiB = 1024 * 1024;

async function host(): Promise<{ h: ReturnType<typeof simHost>; store: MemoryDiskStore }> {
  const store = new MemoryDiskStore();
  const h = simHost({ computerName: 'HV1', storage: new MemoryStorage(store, '/hv/vms', undefined, { vmFiles: true }), defaultMemory: 32 * MiB });
  await h.newVM({ name: 'web01', checkpointType: 'Standard' });
  await h.startVM(['web01']);
  await h.writeGuest('web01', new TextEncoder().encode('checkpoint data'), 0);
  return { h, store };
}

describe('hvsim run: export, import, remove', () => {
  it("the seed's clone: Export-VMSnapshot; in place refused while the Id exists; Remove-VM of the original; Import-VM -Copy -GenerateNewId; start it", async () => {
    const { h, store } = await host();
    const r = await runPs(h, `
Checkpoint-VM -Name web01 -SnapshotName before
Get-VMSnapshot -VMName web01 -Name before | Export-VMSnapshot -Path /exports
$id = (Get-VM web01).Id.ToString().ToUpper()
$vmcx = "/exports/web01/Virtual Machines/$id.vmcx"
try { Import-VM -Path $vmcx -ErrorAction Stop } catch { 'in place while the original exists: ' + $_.CategoryInfo.Category }
Stop-VM web01 -TurnOff
Remove-VM web01 -Force
@(Get-VM).Count
# the removed VM's disk is still at the default place: the copy goes elsewhere
$vm = Import-VM -Path $vmcx -Copy -GenerateNewId -VhdDestinationPath /clone/disks -VirtualMachinePath /clone
$vm.Name + ' ' + $vm.State + ' ' + ($vm.Id.ToString().ToUpper() -ne $id) + ' ' + $vm.Path
Start-VM web01
(Get-VM web01).State
`);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l !== '')).toEqual(['in place while the original exists: InvalidOperation', '0', 'web01 Off True /clone/web01', 'Running']);
    const clone = (await h.getVM(['web01']))[0]!;
    expect(new TextDecoder().decode(await h.readGuest('web01', 0, 15))).toBe('checkpoint data');
    expect(clone.HardDrives[0]!.Path).toBe('/clone/disks/web01.vhdx');
    expect(store.exists('/exports/web01/Virtual Hard Disks/web01.vhdx')).toBe(true);
  });

  it('Export-VM writes the layout; Remove-VM keeps the disks; Set-VM locations; Remove-VMSnapshot -Passthru and IsDeleted', async () => {
    const { h, store } = await host();
    const disk = (await h.getVM(['web01']))[0]!.HardDrives[0]!.Path;
    const r = await runPs(h, `
Export-VM -Name web01 -Path /ex2
Set-VM web01 -SnapshotFileLocation /snaps -AutomaticCheckpointsEnabled $false
$v = Get-VM web01
$v.ConfigurationLocation + ' | ' + $v.SnapshotFileLocation + ' | ' + $v.CheckpointFileLocation + ' | ' + $v.SmartPagingFilePath + ' | ' + $v.AutomaticCheckpointsEnabled
Checkpoint-VM web01 one
$s = Get-VMSnapshot web01 -Name one
$s.Path + ' ' + $s.IsDeleted
$r = $s | Remove-VMSnapshot -Passthru
$r.Name + ' ' + $r.State + ' ' + $s.IsDeleted
try { $s | Remove-VMSnapshot -ErrorAction Stop } catch { 'twice: ' + $_.CategoryInfo.Category }
`);
    expect(r.err).toBe('');
    const out = r.out.split('\n').filter((l) => l !== '');
    expect(out[0]).toBe('/hv/vms/web01 | /snaps | /snaps | /hv/vms/web01 | False');
    expect(out[1]).toBe('/snaps False');
    expect(out[2]).toBe('web01 Running True');
    expect(out[3]).toBe('twice: ObjectNotFound');
    expect(out.length).toBe(4);
    const id = (await h.getVM(['web01']))[0]!.Id.toUpperCase();
    expect([...store.snapshot().keys()].filter((p) => p.startsWith('/ex2/')).sort()).toEqual([
      '/ex2/web01/Virtual Hard Disks/web01.vhdx',
      `/ex2/web01/Virtual Machines/${id}.vmcx`,
      `/ex2/web01/Virtual Machines/${id}.vmgs`,
      `/ex2/web01/Virtual Machines/${id}.vmrs`,
    ]);
    const r2 = await runPs(h, `Stop-VM web01 -TurnOff; Remove-VM web01 -Passthru | ForEach-Object { 'removed ' + $_.Name }; @(Get-VM).Count`);
    expect(r2.err).toBe('');
    expect(r2.out.split('\n').filter((l) => l !== '')).toEqual(['removed web01', '0']);
    expect(store.exists(disk)).toBe(true);
  });

  it('the 51st checkpoint is refused with the limit named', async () => {
    const h = simHost({ computerName: 'HV1', costs: { checkpointBaseMs: 1 } });
    await h.newVM({ name: 'db01', checkpointType: 'Standard' });
    const r = await runPs(h, `
for ($i = 1; $i -le 50; $i++) { Checkpoint-VM db01 "c$i" }
try { Checkpoint-VM db01 c51 -ErrorAction Stop } catch { $_.CategoryInfo.Category; $_.Exception.Message }
@(Get-VMSnapshot db01).Count
`);
    const out = r.out.split('\n').filter((l) => l !== '');
    expect(out[0]).toBe('InvalidOperation');
    expect(out[1]).toMatch(/Checkpoint operation for 'db01' failed\. .*maximum number of checkpoints \(50\)/);
    expect(out[2]).toBe('50');
  }, 60_000);
});
