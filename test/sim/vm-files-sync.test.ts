/**
 * The VM files follow the records (src/sim/vm-files.ts): a file already right is only checked (its
 * size by stat, a .vmcx by its text), one that is wrong or gone is made again — for the VMs a
 * command names or changes, and for every VM on the first open after an unclean exit
 * (docs/simulator.md, "VM files"); which is why they are written without fsync.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { CLOSED_FILE, DirectoryStorage } from '../../src/sim/storage.js';
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

  /** Two VMs, closed cleanly; web01's hand-made changes: its .vmcx edited, a stray checkpoint disk, a disk file away. */
  async function twoVMsWithMishaps(): Promise<{ root: string; vmcx: string; text: string; stray: string; away: string }> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-vmfiles-'));
    roots.push(root);
    const h = Simulator.open({ storage: new DirectoryStorage(root) });
    const vm = await h.newVM({ name: 'web01' });
    await h.checkpointVM(['web01'], { snapshotName: 'c1' });
    await h.newVM({ name: 'db01' });
    h.close();
    expect(fs.existsSync(path.join(root, CLOSED_FILE)), 'a clean close leaves the marker').toBe(true);
    const vmcx = path.join(root, 'vms', 'web01', 'Virtual Machines', `${vm.Id.toUpperCase()}.vmcx`);
    const text = fs.readFileSync(vmcx, 'utf8');
    fs.writeFileSync(vmcx, '{}\n');
    const disks = path.join(root, 'vms', 'web01', 'Virtual Hard Disks');
    const stray = path.join(disks, 'web01_11111111-2222-3333-4444-555555555555.avhdx');
    fs.writeFileSync(stray, 'somebody else');
    const away = path.join(disks, 'web01.vhdx');
    fs.renameSync(away, `${away}.away`);
    return { root, vmcx, text, stray, away };
  }

  const messages = async (h: Simulator): Promise<string> => (await h.takeWarnings()).map((w) => w.Message).join('\n');

  /** A command on `name` (its warnings taken), then: web01's .vmcx made again, the missing disk and the stray reported, nothing deleted. */
  async function repairedAfter(root: string, name: string, m: Awaited<ReturnType<typeof twoVMsWithMishaps>>): Promise<void> {
    const h = Simulator.open({ storage: new DirectoryStorage(root) });
    await h.getVM([name]);
    const said = await messages(h);
    h.close();
    expect(fs.readFileSync(m.vmcx, 'utf8'), 'web01\'s .vmcx is made again').toBe(m.text);
    expect(said).toContain(`'web01' is missing a disk file: ${m.away}`);
    expect(said).toContain(m.stray);
    expect(fs.existsSync(m.stray), 'reported, never deleted').toBe(true);
  }

  it('after a clean close, a command leaves the files of the VMs it does not name as they are; naming the VM repairs and reports them', async () => {
    const m = await twoVMsWithMishaps();
    const h = Simulator.open({ storage: new DirectoryStorage(m.root) });
    await h.getVM(['db01']);
    expect(await messages(h)).toBe('');
    h.close();
    expect(fs.readFileSync(m.vmcx, 'utf8'), 'not named: not looked at').toBe('{}\n');
    await repairedAfter(m.root, 'web01', m);
  });

  it('after an unclean exit (no clean close: a kill, a crash, Ctrl-C), the next command checks every VM, named or not', async () => {
    const m = await twoVMsWithMishaps();
    const root = m.root;
    // A command that stops without closing the host: the lock goes (as Ctrl-C's handler or a takeover does), the marker stays away.
    const storage = new DirectoryStorage(root);
    expect(fs.existsSync(path.join(root, CLOSED_FILE)), 'an open removes the marker').toBe(false);
    const dead = Simulator.open({ storage });
    await dead.getVM(['db01']);
    await dead.takeWarnings();
    storage.close();
    expect(fs.existsSync(path.join(root, CLOSED_FILE))).toBe(false);

    await repairedAfter(root, 'db01', m);
    expect(fs.existsSync(path.join(root, CLOSED_FILE)), 'closed cleanly again').toBe(true);
  });
});
