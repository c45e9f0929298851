/**
 * Integration services on the simulator (docs/hyperv.md, "Integration services"): the defaults,
 * Enable/Disable by name (wildcards, Hyper-V Manager's label), the backup service deciding
 * production checkpoints, new VMs created with services off, and old states without the field.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage } from '../../src/sim/storage.js';
import { reject } from '../helpers/data.js';
import { simHost } from '../helpers/sim-host.js';

const enabled = async (h: Simulator, vm: string): Promise<Record<string, boolean>> =>
  Object.fromEntries((await h.getVMIntegrationService(vm)).map((c) => [c.Name, c.Enabled]));

describe('integration services', () => {
  it('a new VM is offered every service but Guest Service Interface', async () => {
    const h = simHost();
    await h.newVM({ name: 'a' });
    const list = await h.getVMIntegrationService('a');
    expect(list.map((c) => c.Name)).toEqual(['Guest Service Interface', 'Heartbeat', 'Key-Value Pair Exchange', 'Shutdown', 'Time Synchronization', 'VSS']);
    expect(list.map((c) => c.Enabled)).toEqual([false, true, true, true, true, true]);
    // Off: no status; running: OK, and Heartbeat's second column too.
    expect(list.every((c) => c.PrimaryStatusDescription === null && c.VMName === 'a')).toBe(true);
    await h.startVM(['a']);
    const hb = (await h.getVMIntegrationService('a', ['heartbeat']))[0]!;
    expect([hb.Name, hb.PrimaryStatusDescription, hb.SecondaryStatusDescription]).toEqual(['Heartbeat', 'OK', 'OK']);
  });

  it('-Name picks by wildcard, case-insensitively, or by Hyper-V Manager\'s label; an unknown name is an error', async () => {
    const h = simHost();
    await h.newVM({ name: 'a' });
    expect((await h.getVMIntegrationService('a', ['*sync*', 'vss'])).map((c) => c.Name)).toEqual(['Time Synchronization', 'VSS']);
    expect((await h.getVMIntegrationService('a', ['Backup (volume shadow copy)'])).map((c) => c.Name)).toEqual(['VSS']);
    expect(await h.getVMIntegrationService('a', ['nothing*'])).toEqual([]);
    const e = await reject(h.getVMIntegrationService('a', ['Backup']));
    expect([e.code, e.message]).toEqual(['NOT_FOUND', expect.stringMatching(/^Get-VMIntegrationService: The virtual machine 'a' has no integration service named 'Backup'/)]);
    const v = await reject(h.setVMIntegrationService('nope', ['VSS'], false));
    expect(v.message).toBe('Disable-VMIntegrationService: Hyper-V was unable to find a virtual machine with name "nope".');
  });

  it('Disable and Enable change only the services named, and return them', async () => {
    const h = simHost();
    await h.newVM({ name: 'a' });
    const done = await h.setVMIntegrationService('a', ['Guest Service Interface', 'Shutdown'], true);
    expect(done.map((c) => [c.Name, c.Enabled])).toEqual([['Guest Service Interface', true], ['Shutdown', true]]);
    await h.setVMIntegrationService('a', ['Heartbeat'], false);
    expect(await enabled(h, 'a')).toEqual({ 'Guest Service Interface': true, Heartbeat: false, 'Key-Value Pair Exchange': true, Shutdown: true, 'Time Synchronization': true, VSS: true });
  });

  it('with the backup service off a Production checkpoint falls back to Standard with a warning; ProductionOnly fails', async () => {
    const h = simHost();
    await h.newVM({ name: 'p' });
    await h.newVM({ name: 'only', checkpointType: 'ProductionOnly' });
    await h.startVM(['p', 'only']);
    expect((await h.checkpointVM(['p']))[0]!.CheckpointType).toBe('Production');
    expect((await h.getVM(['p']))[0]!.GuestSupportsProductionCheckpoints).toBe(true);
    for (const vm of ['p', 'only']) await h.setVMIntegrationService(vm, ['Backup (volume shadow copy)'], false);
    expect((await h.getVM(['p']))[0]!.GuestSupportsProductionCheckpoints).toBe(false);
    await h.takeWarnings();
    const [s] = await h.checkpointVM(['p']);
    expect(s!.CheckpointType).toBe('Standard');
    expect(s!.State).toBe('Running');
    const w = await h.takeWarnings();
    expect(w.map((x) => x.Message)).toEqual([expect.stringMatching(/^Checkpoint-VM: Production checkpoints cannot be created for 'p' \(the Backup \(volume shadow copy\) integration service is disabled\); a standard checkpoint was created instead\.$/)]);
    const e = await reject(h.checkpointVM(['only']));
    expect(e.code).toBe('INVALID_STATE');
    expect(e.message).toMatch(/^Checkpoint-VM: Production checkpoints cannot be created for 'only'\. \(Virtual machine ID [0-9A-F-]{36}\) Checkpoint operation for 'only' failed\./);
    expect(await h.getVMSnapshot({ vmNames: ['only'] })).toEqual([]);
    // Enabled again: production checkpoints again.
    await h.setVMIntegrationService('only', ['VSS'], true);
    expect((await h.checkpointVM(['only']))[0]!.CheckpointType).toBe('Production');
    // An Off VM needs no guest: a production checkpoint whatever the service.
    await h.newVM({ name: 'off', disabledIntegrationServices: ['VSS'] });
    expect((await h.checkpointVM(['off']))[0]!.CheckpointType).toBe('Production');
  });

  it('new-vm can create a guest with services off; an unknown name creates nothing', async () => {
    const h = simHost();
    await h.newVM({ name: 'nobackup', disabledIntegrationServices: ['Backup (volume shadow copy)', 'Time*'] });
    const e = await enabled(h, 'nobackup');
    expect([e.VSS, e['Time Synchronization'], e.Heartbeat]).toEqual([false, false, true]);
    const bad = await reject(h.newVM({ name: 'x', disabledIntegrationServices: ['Nope'] }));
    expect(bad.message).toMatch(/^New-VM: The virtual machine 'x' has no integration service named 'Nope'/);
    expect((await h.getVM()).map((v) => v.Name)).toEqual(['nobackup']);
  });

  it('Export-VM keeps the settings and Import-VM brings them back (Hyper-V exports the configuration)', async () => {
    const h = simHost();
    const vm = await h.newVM({ name: 'src', disabledIntegrationServices: ['VSS', 'Shutdown'] });
    await h.exportVM('src', '/exports');
    await h.removeVM(['src']);
    await h.importVM(`/exports/src/Virtual Machines/${vm.Id.toUpperCase()}.vmcx`);
    const e = await enabled(h, 'src');
    expect([e.VSS, e.Shutdown, e.Heartbeat]).toEqual([false, false, true]);
  });

  it('the settings are kept in the state; a state written before them loads with the defaults; a bad one is CORRUPT', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-intsvc-'));
    try {
      let h = simHost({ storage: new DirectoryStorage(root) });
      await h.newVM({ name: 'a' });
      await h.newVM({ name: 'b' });
      await h.setVMIntegrationService('a', ['VSS'], false);
      h.close();
      const file = path.join(root, 'state.json');
      const s = JSON.parse(fs.readFileSync(file, 'utf8')) as { vms: Array<Record<string, unknown>> };
      expect(s.vms[0]!.integrationServices).toMatchObject({ VSS: false });
      expect(s.vms[1]!.integrationServices).toBeUndefined();
      h = Simulator.open({ storage: new DirectoryStorage(root) });
      expect((await enabled(h, 'a')).VSS).toBe(false);
      expect((await enabled(h, 'b')).VSS).toBe(true);
      h.close();
      s.vms[0]!.integrationServices = { VSS: 'no' };
      fs.writeFileSync(file, JSON.stringify(s));
      expect(() => Simulator.open({ storage: new DirectoryStorage(root) })).toThrow(/vms\[0\]\.integrationServices\.VSS: expected true or false/);
      s.vms[0]!.integrationServices = { Backup: false };
      fs.writeFileSync(file, JSON.stringify(s));
      expect(() => Simulator.open({ storage: new DirectoryStorage(root) })).toThrow(/no integration service is named "Backup"/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
