/**
 * Checkpoints: the tree and its Now position, Standard vs Production, default names, limits,
 * Hyper-V's disk rules (freeze + <base>_<GUID>.avhdx, apply = new leaf, remove = delete / merge /
 * keep, subtree removal, a single base file again), background merges in simulated time, export
 * as a clone. Every test checks what each remaining checkpoint's disk holds.
 */
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator.js';
import { DEFAULT_COSTS } from '../../src/host/clock.js';
import { HvsimError } from '../../src/errors.js';
import { Chain } from '../../src/engine/chain.js';
import { reject } from '../helpers/data.js';
import { simHost } from '../helpers/sim-host.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

function host(extra: Parameters<typeof Simulator.open>[0] = {}): Simulator {
  return simHost({ computerName: 'xHost16', defaultDiskSize: SIZE, ...extra });
}

function pattern(tag: string, len = 4096): Uint8Array {
  const b = new Uint8Array(len);
  const t = new TextEncoder().encode(tag);
  for (let i = 0; i < len; i++) b[i] = t[i % t.length]!;
  return b;
}

/** Offsets the tests write at: first sector, a 2 MiB block boundary, the last sectors. */
const SLOTS = [0, 2 * MiB - 512, 5 * MiB + 123, SIZE - 4096];

async function writeAll(h: Simulator, vm: string, tag: string): Promise<void> {
  for (const [i, off] of SLOTS.entries()) await h.writeGuest(vm, pattern(`${tag}#${i}`), off);
}

/** What the slots hold (for the VM, or a checkpoint by name). */
async function slots(h: Simulator, vm: string, snapshot?: string): Promise<string[]> {
  const out: string[] = [];
  for (const off of SLOTS) {
    const b = await h.readGuest(vm, off, 4096, snapshot !== undefined ? { snapshot } : {});
    out.push(b.every((x) => x === 0) ? '' : new TextDecoder().decode(b.subarray(0, 16)).replace(/#.*$/, ''));
  }
  return out;
}

const all = (tag: string): string[] => SLOTS.map(() => tag);

function files(h: Simulator, vm: string): Array<{ name: string; parent: string | null; readOnly: boolean }> {
  return h.diskFiles(vm)[0]!.map((f) => ({ name: f.path.split('/').pop()!, parent: f.parent?.split('/').pop() ?? null, readOnly: f.readOnly }));
}

describe('checkpoint basics', () => {
  it('names, Now position, disk layout and read-only marks like Hyper-V', async () => {
    const h = host();
    await h.newVM({ name: 'vHost17', checkpointType: 'Standard' });
    await h.startVM(['vHost17']);
    await writeAll(h, 'vHost17', 'v1');
    const [c1] = await h.checkpointVM(['vHost17']);
    expect(c1!.Name).toMatch(/^vHost17 - \(9\/21\/2014 - 7:37:\d\d PM\)$/);
    expect(c1!.SnapshotType).toBe('Standard');
    expect(c1!.CheckpointType).toBe('Standard');
    expect(c1!.State).toBe('Running');
    expect(c1!.ParentSnapshotId).toBeNull();
    expect(c1!.HardDrives[0]!.Path).toMatch(/\/vHost17\/Virtual Hard Disks\/vHost17\.vhdx$/);
    const [vm] = await h.getVM(['vHost17']);
    expect(vm!.ParentSnapshotId).toBe(c1!.Id);
    expect(vm!.ParentSnapshotName).toBe(c1!.Name);
    const leaf = vm!.HardDrives[0]!.Path;
    expect(leaf).toMatch(/\/vHost17_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\.avhdx$/);
    expect(leaf.split('/').slice(0, -1).join('/')).toBe(c1!.HardDrives[0]!.Path.split('/').slice(0, -1).join('/'));
    expect(files(h, 'vHost17').map((f) => f.readOnly)).toEqual([true, false]);

    await writeAll(h, 'vHost17', 'v2');
    const [c2] = await h.checkpointVM(['vHost17'], { snapshotName: 'second' });
    expect(c2!.ParentSnapshotId).toBe(c1!.Id);
    expect(c2!.ParentSnapshotName).toBe(c1!.Name);
    expect(c2!.HardDrives[0]!.Path).toBe(leaf);
    await writeAll(h, 'vHost17', 'v3');
    expect(await slots(h, 'vHost17', c1!.Name)).toEqual(all('v1'));
    expect(await slots(h, 'vHost17', 'second')).toEqual(all('v2'));
    expect(await slots(h, 'vHost17')).toEqual(all('v3'));
    // Only the leaf is writable; every checkpoint's file is frozen.
    expect(files(h, 'vHost17').map((f) => f.readOnly)).toEqual([true, true, false]);
    // The chain on disk matches the records.
    const chain = Chain.open(h.diskFiles('vHost17')[0]![2]!.path, { store: h.storage.store });
    expect(chain.depth).toBe(3);
    chain.close();

    // Tree queries.
    expect((await h.getVMSnapshot({ vmNames: ['vHost17'], childOf: c1!.Name })).map((s) => s.Name)).toEqual(['second']);
    expect((await h.getVMSnapshot({ vmNames: ['vHost17'], parentOf: 'second' })).map((s) => s.Id)).toEqual([c1!.Id]);
    expect((await h.getVMSnapshot({ vmNames: ['vHost17'], parentOf: 'vHost17' })).map((s) => s.Name)).toEqual(['second']);
    expect((await h.getVMSnapshot({ vmNames: ['vHost17'], name: 'sec*' })).length).toBe(1);
    expect((await reject(h.getVMSnapshot({ vmNames: ['vHost17'], name: 'nope' }))).code).toBe('NOT_FOUND');
  });

  it('standard checkpoints restore to Saved, production ones (and Off VMs) to Off', async () => {
    const h = host();
    await h.newVM({ name: 'std', checkpointType: 'Standard' });
    await h.newVM({ name: 'prod' });
    await h.startVM(['std', 'prod']);
    const [s] = await h.checkpointVM(['std']);
    const [p] = await h.checkpointVM(['prod']);
    expect(s!.CheckpointType).toBe('Standard');
    expect(p!.CheckpointType).toBe('Production');
    expect(p!.State).toBe('Off');
    await h.restoreVMSnapshot({ vmName: 'std', name: s!.Name });
    await h.restoreVMSnapshot({ vmName: 'prod', name: p!.Name });
    expect(Object.fromEntries((await h.getVM()).map((v) => [v.Name, v.State]))).toEqual({ std: 'Saved', prod: 'Off' });

    // A production checkpoint of a saved VM falls back to standard (the guest cannot quiesce).
    await h.startVM(['prod']);
    await h.saveVM(['prod']);
    const [fallback] = await h.checkpointVM(['prod']);
    expect(fallback!.CheckpointType).toBe('Standard');
    expect(fallback!.State).toBe('Saved');
    // Off VM: a disk-only checkpoint.
    await h.newVM({ name: 'off' });
    const [o] = await h.checkpointVM(['off']);
    expect(o!.State).toBe('Off');
  });

  it('a running guest without VSS falls back with a warning; ProductionOnly refuses; Disabled refuses', async () => {
    const h = host();
    await h.newVM({ name: 'nolinux', guestSupportsProductionCheckpoints: false });
    await h.newVM({ name: 'strict', checkpointType: 'ProductionOnly' });
    await h.newVM({ name: 'none', checkpointType: 'Disabled' });
    await h.startVM(['nolinux', 'strict', 'none']);
    await h.takeWarnings();
    const [f] = await h.checkpointVM(['nolinux']);
    expect(f!.CheckpointType).toBe('Standard');
    expect((await h.takeWarnings())[0]!.Message).toMatch(/^Checkpoint-VM: Production checkpoints cannot be created for 'nolinux'/);
    const [ok] = await h.checkpointVM(['strict']);
    expect(ok!.CheckpointType).toBe('Production');
    await h.saveVM(['strict']);
    const e = await reject(h.checkpointVM(['strict']));
    expect(e.code).toBe('INVALID_STATE');
    expect(e.message).toMatch(/^Checkpoint-VM: Production checkpoints cannot be created for 'strict'\. \(Virtual machine ID [0-9A-F-]{36}\) Checkpoint operation for 'strict' failed\./);
    const d = await reject(h.checkpointVM(['none']));
    expect(d.message).toContain("Checkpoint operation for 'none' failed.");
    expect(d.message).toContain('Checkpoints are disabled');
    expect((await h.getVMSnapshot({ vmNames: ['strict', 'none'] })).length).toBe(1);
    // Set-VM changes the type.
    await h.setVM(['none'], { checkpointType: 'Standard' });
    expect((await h.checkpointVM(['none']))[0]!.CheckpointType).toBe('Standard');
  });

  it('names are 1 to 100 characters; the 51st checkpoint is refused (docs/hyperv.md, "Limits")', async () => {
    const h = host({ costs: { checkpointBaseMs: 1 } });
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    expect((await reject(h.checkpointVM(['v'], { snapshotName: 'x'.repeat(101) }))).code).toBe('INVALID_ARGUMENT');
    expect((await reject(h.checkpointVM(['v'], { snapshotName: '   ' }))).code).toBe('INVALID_ARGUMENT');
    await h.checkpointVM(['v'], { snapshotName: 'x'.repeat(100) });
    const long = 'L'.repeat(100);
    await h.newVM({ name: long });
    const [d] = await h.checkpointVM([long]);
    expect(d!.Name.length).toBeLessThanOrEqual(100);
    expect(d!.Name).toMatch(/ - \(9\/21\/2014 - 7:\d\d:\d\d PM\)$/);
    await h.takeWarnings();
    for (let i = 2; i <= 50; i++) await h.checkpointVM(['v'], { snapshotName: `c${i}` });
    expect(await h.takeWarnings()).toEqual([]);
    const refused = await reject(h.checkpointVM(['v'], { snapshotName: 'c51' }));
    expect([refused.code, refused.message]).toEqual(['INVALID_STATE', expect.stringMatching(/^Checkpoint-VM: Checkpoint operation for 'v' failed\. \(Virtual machine ID [0-9A-F-]{36}\) 'v' already has the maximum number of checkpoints \(50\)/)]);
    expect((await h.getVMSnapshot({ vmNames: ['v'] })).length).toBe(50);
    expect(h.diskFiles('v')[0]!.length).toBe(51);
    await h.renameVMSnapshot({ vmName: 'v', name: 'c50' }, 'fifty-one');
    expect((await h.getVMSnapshot({ vmNames: ['v'], name: 'fifty-one' })).length).toBe(1);
    expect((await reject(h.renameVMSnapshot({ vmName: 'v', name: 'fifty-one' }, '')))).toBeInstanceOf(HvsimError);
  }, 30_000);

  it('duplicate names are accepted; single-checkpoint commands then need the Id', async () => {
    const h = host();
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    const [a] = await h.checkpointVM(['v'], { snapshotName: 'dup' });
    const [b] = await h.checkpointVM(['v'], { snapshotName: 'dup' });
    const e = await reject(h.restoreVMSnapshot({ vmName: 'v', name: 'dup' }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(a!.Id);
    await h.restoreVMSnapshot({ vmName: 'v', id: a!.Id });
    expect((await h.getVM(['v']))[0]!.ParentSnapshotId).toBe(a!.Id);
    await h.restoreVMSnapshot({ vmName: 'v', name: b!.Id });
    expect((await h.getVM(['v']))[0]!.ParentSnapshotId).toBe(b!.Id);
  });
});

describe("Hyper-V's tree and disk rules", () => {
  /** A (root) → B; restore A; → C: A has two children, Now under C. */
  async function branched(): Promise<{ h: Simulator; A: string; B: string; C: string }> {
    const h = host();
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    await h.startVM(['v']);
    await writeAll(h, 'v', 'a');
    const A = (await h.checkpointVM(['v'], { snapshotName: 'A' }))[0]!.Id;
    await writeAll(h, 'v', 'b');
    const B = (await h.checkpointVM(['v'], { snapshotName: 'B' }))[0]!.Id;
    await writeAll(h, 'v', 'lost');
    await h.restoreVMSnapshot({ vmName: 'v', name: 'A' });
    await h.startVM(['v']);
    await writeAll(h, 'v', 'c');
    const C = (await h.checkpointVM(['v'], { snapshotName: 'C' }))[0]!.Id;
    await writeAll(h, 'v', 'now');
    return { h, A, B, C };
  }

  it('applying a checkpoint starts a new leaf under its disk; the discarded state is deleted', async () => {
    const { h, A, C } = await branched();
    const snaps = await h.getVMSnapshot({ vmNames: ['v'] });
    expect(snaps.map((s) => [s.Name, s.ParentSnapshotName])).toEqual([
      ['A', null],
      ['B', 'A'],
      ['C', 'A'],
    ]);
    expect((await h.getVM(['v']))[0]!.ParentSnapshotId).toBe(C);
    // base(A) ← B's file, base ← C's file ← leaf. The 'lost' leaf is gone.
    const f = files(h, 'v');
    expect(f.length).toBe(4);
    expect(f.filter((x) => x.parent === 'v.vhdx').length).toBe(2);
    expect(await slots(h, 'v', 'A')).toEqual(all('a'));
    expect(await slots(h, 'v', 'B')).toEqual(all('b'));
    expect(await slots(h, 'v', 'C')).toEqual(all('c'));
    expect(await slots(h, 'v')).toEqual(all('now'));
    expect(A).not.toBe(C);
  });

  it('no children and off the Now branch: the disk is deleted', async () => {
    const { h } = await branched();
    const before = files(h, 'v');
    const bFile = (await h.getVMSnapshot({ vmNames: ['v'], name: 'B' }))[0]!.HardDrives[0]!.Path.split('/').pop();
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'B' });
    const after = files(h, 'v');
    expect(after.length).toBe(before.length - 1);
    expect(after.some((x) => x.name === bFile)).toBe(false);
    expect(await slots(h, 'v', 'A')).toEqual(all('a'));
    expect(await slots(h, 'v', 'C')).toEqual(all('c'));
    expect(await slots(h, 'v')).toEqual(all('now'));
  });

  it('several children: the checkpoint goes, its disk stays; one child: merged into it', async () => {
    const { h } = await branched();
    const n = files(h, 'v').length;
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'A' });
    expect(files(h, 'v').length).toBe(n); // A's disk (the base) is kept: two children
    const snaps = await h.getVMSnapshot({ vmNames: ['v'] });
    expect(snaps.map((s) => [s.Name, s.ParentSnapshotName])).toEqual([
      ['B', null],
      ['C', null],
    ]);
    expect(await slots(h, 'v', 'B')).toEqual(all('b'));
    expect(await slots(h, 'v', 'C')).toEqual(all('c'));
    expect(await slots(h, 'v')).toEqual(all('now'));

    // C is on the Now branch with one child (Now): its disk is merged into the leaf.
    const cFile = snaps[1]!.HardDrives[0]!.Path;
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'C' });
    expect(h.storage.store.exists(cFile)).toBe(false);
    expect(await slots(h, 'v', 'B')).toEqual(all('b'));
    expect(await slots(h, 'v')).toEqual(all('now'));
    // Last one: everything collapses into the base file again.
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'B' });
    expect(files(h, 'v')).toEqual([{ name: 'v.vhdx', parent: null, readOnly: false }]);
    expect(await slots(h, 'v')).toEqual(all('now'));
    expect((await h.getVM(['v']))[0]!.ParentSnapshotId).toBeNull();
  });

  it('removing a middle checkpoint merges it into its child checkpoint and re-parents', async () => {
    const h = host();
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    await h.startVM(['v']);
    const tags = ['c1', 'c2', 'c3'];
    for (const t of tags) {
      await h.writeGuest('v', pattern(`${t}#`), SLOTS[tags.indexOf(t)]!);
      await h.checkpointVM(['v'], { snapshotName: t });
    }
    await writeAll(h, 'v', 'now');
    const expected = { c1: ['c1', '', '', ''], c2: ['c1', 'c2', '', ''], c3: ['c1', 'c2', 'c3', ''] };
    for (const [k, v] of Object.entries(expected)) expect(await slots(h, 'v', k)).toEqual(v);
    const c2file = (await h.getVMSnapshot({ vmNames: ['v'], name: 'c2' }))[0]!.HardDrives[0]!.Path;
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'c2' });
    expect(h.storage.store.exists(c2file)).toBe(false);
    const snaps = await h.getVMSnapshot({ vmNames: ['v'] });
    expect(snaps.map((s) => [s.Name, s.ParentSnapshotName])).toEqual([
      ['c1', null],
      ['c3', 'c1'],
    ]);
    expect(await slots(h, 'v', 'c1')).toEqual(expected.c1);
    expect(await slots(h, 'v', 'c3')).toEqual(expected.c3);
    expect(await slots(h, 'v')).toEqual(all('now'));
    // Removing the root (one child that has children) keeps the base until it can collapse.
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'c1' });
    expect(await slots(h, 'v', 'c3')).toEqual(expected.c3);
    expect(files(h, 'v')[0]!.name).toBe('v.vhdx');
    await h.removeVMSnapshot({ vmNames: ['v'] });
    expect(files(h, 'v')).toEqual([{ name: 'v.vhdx', parent: null, readOnly: false }]);
    expect(await slots(h, 'v')).toEqual(all('now'));
  });

  it('subtree removal removes a whole branch and leaves the rest unchanged', async () => {
    const { h } = await branched();
    // A second level under B's branch: restore B, checkpoint D.
    await h.restoreVMSnapshot({ vmName: 'v', name: 'B' });
    await h.startVM(['v']);
    await writeAll(h, 'v', 'd');
    await h.checkpointVM(['v'], { snapshotName: 'D' });
    await writeAll(h, 'v', 'now2');
    const removed = await h.removeVMSnapshot({ vmNames: ['v'], name: 'B' }, { includeAllChildSnapshots: true });
    expect(removed.map((s) => s.Name).sort()).toEqual(['B', 'D']);
    const snaps = await h.getVMSnapshot({ vmNames: ['v'] });
    expect(snaps.map((s) => s.Name)).toEqual(['A', 'C']);
    // Now was inside the removed subtree: it hangs off A now, content kept.
    expect((await h.getVM(['v']))[0]!.ParentSnapshotName).toBe('A');
    expect(await slots(h, 'v')).toEqual(all('now2'));
    expect(await slots(h, 'v', 'A')).toEqual(all('a'));
    expect(await slots(h, 'v', 'C')).toEqual(all('c'));
    // Everything: one base file holding the current state.
    await h.removeVMSnapshot({ vmNames: ['v'], name: 'A' }, { includeAllChildSnapshots: true });
    expect(await h.getVMSnapshot({ vmNames: ['v'] })).toEqual([]);
    expect(files(h, 'v')).toEqual([{ name: 'v.vhdx', parent: null, readOnly: false }]);
    expect(await slots(h, 'v')).toEqual(all('now2'));
  });

  it('merges run in the background in simulated time (MergingDisks) unless waited for', async () => {
    const h = host();
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    await h.startVM(['v']);
    await h.checkpointVM(['v'], { snapshotName: 'c1' });
    await h.writeGuest('v', pattern('x', 4 * MiB), 0); // 4 MiB to merge
    const t0 = await h.now();
    await h.removeVMSnapshot({ vmNames: ['v'] }, { wait: false });
    const [m] = await h.getVM(['v']);
    expect(m!.OperationalStatus).toContain('MergingDisks');
    expect(m!.Status).toBe('Merging disks');
    const done = Date.parse(m!.MergeCompletionTime!);
    expect(done - t0).toBe(DEFAULT_COSTS.mergeBaseMs + 40 + DEFAULT_COSTS.deleteFileMs); // 4 MiB at 100 MiB/s
    expect(files(h, 'v').length).toBe(2); // not merged yet
    // The guest keeps running and writing during a live merge.
    await h.writeGuest('v', pattern('y'), 6 * MiB);
    await h.advance(done - (await h.now()));
    const [after] = await h.getVM(['v']);
    expect(after!.OperationalStatus).toEqual(['Ok']);
    expect(files(h, 'v')).toEqual([{ name: 'v.vhdx', parent: null, readOnly: false }]);
    expect(new TextDecoder().decode((await h.readGuest('v', 0, 1))) + new TextDecoder().decode(await h.readGuest('v', 6 * MiB, 1))).toBe('xy');
    // Waiting explicitly: wait-vm moves the clock to the end of the merge.
    await h.checkpointVM(['v'], { snapshotName: 'c2' });
    await h.writeGuest('v', pattern('z', MiB), 0);
    await h.removeVMSnapshot({ vmNames: ['v'] }, { wait: false });
    await h.waitVM(['v']);
    expect(files(h, 'v').length).toBe(1);
    // An operation that changes the tree waits for a pending merge first.
    await h.checkpointVM(['v'], { snapshotName: 'c3' });
    await h.writeGuest('v', pattern('w', MiB), 0);
    await h.removeVMSnapshot({ vmNames: ['v'] }, { wait: false });
    await h.checkpointVM(['v'], { snapshotName: 'c4' });
    expect((await h.getVM(['v']))[0]!.OperationalStatus).toEqual(['Ok']);
    expect(files(h, 'v').length).toBe(2);
  });

  it('a removal that waits finishes a merge already under way, even with nothing left to remove (a rerun after an interrupted removal)', async () => {
    const h = host();
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    await h.startVM(['v']);
    await h.checkpointVM(['v'], { snapshotName: 'c1' });
    await h.writeGuest('v', pattern('x', 2 * MiB), 0);
    await h.removeVMSnapshot({ vmNames: ['v'] }, { wait: false });
    expect(files(h, 'v').length).toBe(2);
    expect(await h.removeVMSnapshot({ vmNames: ['v'] }, { wait: false })).toEqual([]);
    expect(files(h, 'v').length).toBe(2); // not waiting: still merging
    expect(await h.removeVMSnapshot({ vmNames: ['v'] })).toEqual([]);
    expect(files(h, 'v')).toEqual([{ name: 'v.vhdx', parent: null, readOnly: false }]);
    expect((await h.getVM(['v']))[0]!.OperationalStatus).toEqual(['Ok']);
  });

  it('export writes a standalone disk that new-vm --vhd-path turns into a clone', async () => {
    const h = host();
    await h.newVM({ name: 'src', checkpointType: 'Standard' });
    await h.startVM(['src']);
    await writeAll(h, 'src', 'one');
    await h.checkpointVM(['src'], { snapshotName: 'gold' });
    await writeAll(h, 'src', 'two');
    const r = await h.exportVMSnapshot({ vmName: 'src', name: 'gold' }, '/exports');
    expect(r.HardDrives).toEqual(['/exports/src/Virtual Hard Disks/src.vhdx']);
    const img = Chain.open(r.HardDrives[0]!, { store: h.storage.store });
    expect(img.depth).toBe(1);
    img.close();
    await h.newVM({ name: 'clone', vhdPath: r.HardDrives[0]! });
    expect(await slots(h, 'clone')).toEqual(all('one'));
    expect(await slots(h, 'src')).toEqual(all('two'));
    await h.startVM(['clone']);
    await writeAll(h, 'clone', 'three');
    expect(await slots(h, 'src', 'gold')).toEqual(all('one'));
    // The clone's checkpoints go beside its disk.
    await h.checkpointVM(['clone']);
    expect(h.diskFiles('clone')[0]![1]!.path).toMatch(/^\/exports\/src\/Virtual Hard Disks\/src_[0-9A-F-]{36}\.avhdx$/);
    // Exporting again over the same files is refused.
    expect((await reject(h.exportVMSnapshot({ vmName: 'src', name: 'gold' }, '/exports'))).code).toBe('INVALID_ARGUMENT');
    // A checkpoint's frozen disk cannot be attached.
    const frozen = (await h.getVMSnapshot({ vmNames: ['src'] }))[0]!.HardDrives[0]!.Path;
    expect((await reject(h.newVM({ name: 'bad', vhdPath: frozen }))).code).toBe('INVALID_STATE');
  });

  it('a VM with two disks checkpoints, restores and collapses both', async () => {
    const h = host();
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    await h.addVMHardDiskDrive('v', { size: 4 * MiB });
    await h.startVM(['v']);
    await h.writeGuest('v', pattern('d0-1'), 0, 0);
    await h.writeGuest('v', pattern('d1-1'), 0, 1);
    await h.checkpointVM(['v'], { snapshotName: 'c' });
    expect((await h.getVMHardDiskDrive('v', 'c')).map((d) => d.Path.split('/').pop())).toEqual(['v.vhdx', 'v-1.vhdx']);
    expect((await reject(h.addVMHardDiskDrive('v', { size: MiB * 4 }))).code).toBe('INVALID_STATE');
    await h.writeGuest('v', pattern('d0-2'), 0, 0);
    await h.writeGuest('v', pattern('d1-2'), 0, 1);
    await h.restoreVMSnapshot({ vmName: 'v', name: 'c' });
    const rd = async (d: number): Promise<string> => new TextDecoder().decode((await h.readGuest('v', 0, 4, { drive: d })));
    expect([await rd(0), await rd(1)]).toEqual(['d0-1', 'd1-1']);
    await h.removeVMSnapshot({ vmNames: ['v'] });
    expect(h.diskFiles('v').map((d) => d.map((f) => f.path.split('/').pop()))).toEqual([['v.vhdx'], ['v-1.vhdx']]);
    expect([await rd(0), await rd(1)]).toEqual(['d0-1', 'd1-1']);
  });

  it('restore configuration: memory and notes come back with the checkpoint', async () => {
    const h = host();
    await h.newVM({ name: 'v', memory: 512 * MiB, notes: 'before' });
    await h.checkpointVM(['v'], { snapshotName: 'c' });
    await h.setVM(['v'], { memory: 2048 * MiB, notes: 'after' });
    await h.restoreVMSnapshot({ vmName: 'v', name: 'c' });
    const [vm] = await h.getVM(['v']);
    expect([vm!.MemoryStartup, vm!.Notes]).toEqual([512 * MiB, 'before']);
  });
});
