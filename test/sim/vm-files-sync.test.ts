/**
 * The VM files follow the records on every command (src/sim/vm-files.ts): a file already right is
 * only checked (its size by stat, a .vmcx by its text), one that is wrong or gone is made again —
 * which is why they are written without fsync.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage } from '../../src/sim/storage.js';
import { VMGS_SIZE, VMRS_IDLE_SIZE } from '../../src/sim/vm-files.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

describe('VM files on a state directory', () => {
  it('a .vmcx edited, one left empty, a .vmrs resized and a .vmgs deleted between commands are as the records say after the next one', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-vmfiles-'));
    roots.push(root);
    let h = Simulator.open({ storage: new DirectoryStorage(root) });
    const vm = await h.newVM({ name: 'web01' });
    await h.checkpointVM(['web01'], { snapshotName: 'c1' });
    h.close();
    const dir = path.join(root, 'vms', 'web01', 'Virtual Machines');
    const id = vm.Id.toUpperCase();
    const vmcx = path.join(dir, `${id}.vmcx`);
    const text = fs.readFileSync(vmcx, 'utf8');
    const snapVmrs = fs.readdirSync(path.join(root, 'vms', 'web01', 'Snapshots')).find((n) => n.endsWith('.vmrs'))!;
    fs.writeFileSync(vmcx, '{}\n');
    fs.truncateSync(path.join(dir, `${id}.vmrs`), 1);
    fs.rmSync(path.join(dir, `${id}.vmgs`));
    fs.truncateSync(path.join(root, 'vms', 'web01', 'Snapshots', snapVmrs), 3);
    // Written without fsync: a power cut can leave a renamed .vmcx empty.
    const snapVmcx = path.join(root, 'vms', 'web01', 'Snapshots', snapVmrs.replace(/\.vmrs$/, '.vmcx'));
    const snapText = fs.readFileSync(snapVmcx, 'utf8');
    fs.truncateSync(snapVmcx, 0);

    h = Simulator.open({ storage: new DirectoryStorage(root) });
    await h.getVM(['web01']);
    h.close();
    expect(fs.readFileSync(vmcx, 'utf8')).toBe(text);
    expect(fs.readFileSync(snapVmcx, 'utf8')).toBe(snapText);
    expect(fs.statSync(path.join(dir, `${id}.vmrs`)).size).toBe(VMRS_IDLE_SIZE);
    expect(fs.statSync(path.join(dir, `${id}.vmgs`)).size).toBe(VMGS_SIZE);
    expect(fs.statSync(path.join(root, 'vms', 'web01', 'Snapshots', snapVmrs)).size).toBe(VMRS_IDLE_SIZE);
  });
});
