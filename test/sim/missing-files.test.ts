/**
 * Nothing lost to an ordinary mishap (issue 14, items 1, 2, 8, 9): a disk file that is missing for
 * a while is reported and never "reconciled" away; a restart finishes only what hvsim recorded as
 * unfinished; disk commands leave a simulated VM's files alone; a disk an interrupted merge
 * involves names resume-merge; Start-VM refuses a broken chain; orphans are listed, and deleted
 * only by remove-orphans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { okStdout, runCli, SIM_ENV, type CliResult } from '../helpers/cli.js';
import { expectError, fill } from '../helpers/data.js';
import { memoryHost, type MemoryHost } from '../helpers/sim-host.js';
import { Simulator } from '../../src/sim/simulator.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { createBaseDisk, createChild } from '../../src/engine/layers.js';
import { mergeDown } from '../../src/engine/merge.js';
import { Chain } from '../../src/engine/chain.js';
import { faultBudget } from '../../src/vhd/io/fault-file.js';
import { readState, writeState } from '../helpers/state-dir.js';
import type { HostState } from '../../src/sim/state.js';
import { HvsimError } from '../../src/errors.js';

const MiB = 1024 * 1024;
let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-missing-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function hv(root: string, args: string[], input?: string): CliResult {
  return runCli(args, { cwd: work, env: { ...SIM_ENV, HVSIM_ROOT: root }, input });
}

function ok(root: string, args: string[], input?: string): string {
  return okStdout(args, hv(root, args, input));
}

/** A one-line error with this exit code, no stack, no "internal error". */
function fails(r: CliResult, code: number, ...mentions: string[]): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('hvsim: '));
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  for (const m of mentions) expect(lines[0]).toContain(m);
}

/** The repro: x with AAAA in c1, BBBB in c2, the leaf after c2 running. */
function setup(): { root: string; dir: string; c1File: string; c2File: string; leaf: string } {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  ok(root, ['new-vm', '--name', 'x', '--disk-size', '16M']);
  ok(root, ['start-vm', '--name', 'x']);
  ok(root, ['write-vm', '--name', 'x', '--offset', '0', '--text', 'AAAA']);
  ok(root, ['checkpoint-vm', '--name', 'x', '--snapshot-name', 'c1']);
  ok(root, ['write-vm', '--name', 'x', '--offset', '0', '--text', 'BBBB']);
  ok(root, ['checkpoint-vm', '--name', 'x', '--snapshot-name', 'c2']);
  const state = readState(root);
  const vm = state.vms[0]!;
  const c1File = vm.snapshots.find((s) => s.name === 'c1')!.drives[0]!;
  const c2File = vm.snapshots.find((s) => s.name === 'c2')!.drives[0]!;
  return { root, dir: path.dirname(c1File), c1File, c2File, leaf: vm.drives[0]!.path };
}

/** Every file of a folder with its SHA-256 (and the state file). */
function snapshotFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of fs.readdirSync(dir).sort()) out[n] = createHash('sha256').update(fs.readFileSync(path.join(dir, n))).digest('hex');
  return out;
}

function pointsInTime(root: string): string[] {
  return [ok(root, ['read-vm', '--name', 'x', '--snapshot', 'c1', '--length', '4']), ok(root, ['read-vm', '--name', 'x', '--snapshot', 'c2', '--length', '4']), ok(root, ['read-vm', '--name', 'x', '--length', '4'])];
}

describe('a checkpoint file missing for a while (item 1)', () => {
  it('is reported by get-vm, refused by the commands that need it, and nothing is deleted; once back, all works', () => {
    const { root, dir, c1File, c2File } = setup();
    expect(pointsInTime(root)).toEqual(['AAAA', 'BBBB', 'BBBB']);
    const before = snapshotFiles(dir);
    const away = path.join(work, 'away.avhdx');
    fs.renameSync(c1File, away); // c1's file is the oldest .avhdx (x.vhdx is the base)

    const g = hv(root, ['get-vm', '--json']);
    expect(g.code, g.stderr).toBe(0);
    const vm = (JSON.parse(g.stdout) as Array<{ Status: string; OperationalStatus: string[] }>)[0]!;
    expect(vm.Status).toContain(c1File);
    expect(vm.OperationalStatus).toEqual(['Degraded']);
    expect(g.stderr).toContain(c1File);
    expect(hv(root, ['get-vm']).code).toBe(0);
    // Commands that would change the tree refuse, naming the file.
    fails(hv(root, ['remove-vmsnapshot', '--vm-name', 'x', '--name', 'c1']), 3, c1File);
    fails(hv(root, ['checkpoint-vm', '--name', 'x', '--snapshot-name', 'c3']), 3, c1File);
    fails(hv(root, ['restore-vmsnapshot', '--vm-name', 'x', '--name', 'c2']), 3, c1File);
    fails(hv(root, ['export-vmsnapshot', '--vm-name', 'x', '--name', 'c2', '--path', path.join(work, 'export-missing')]), 3, c1File);
    ok(root, ['stop-vm', '--name', 'x', '--turn-off']);
    fails(hv(root, ['start-vm', '--name', 'x']), 3, c1File);
    // A read that needs it fails; one that does not still works.
    expect(hv(root, ['read-vm', '--name', 'x', '--snapshot', 'c1', '--length', '4']).code).not.toBe(0);
    const tree = JSON.parse(ok(root, ['get-vmsnapshot', '--vm-name', 'x', '--json'])) as Array<{ Name: string }>;
    expect(tree.map((s) => s.Name)).toEqual(['c1', 'c2']);
    // Nothing else in the folder changed.
    const during = snapshotFiles(dir);
    expect(during).toEqual(Object.fromEntries(Object.entries(before).filter(([n]) => n !== path.basename(c1File))));

    fs.renameSync(away, c1File);
    expect(hv(root, ['get-vm']).code).toBe(0);
    expect(snapshotFiles(dir)).toEqual(before);
    expect(pointsInTime(root)).toEqual(['AAAA', 'BBBB', 'BBBB']);
    expect(fs.existsSync(c2File)).toBe(true);
    ok(root, ['start-vm', '--name', 'x']);
    // And removal works again, keeping every remaining point in time.
    ok(root, ['remove-vmsnapshot', '--vm-name', 'x', '--name', 'c1']);
    expect([ok(root, ['read-vm', '--name', 'x', '--snapshot', 'c2', '--length', '4']), ok(root, ['read-vm', '--name', 'x', '--length', '4'])]).toEqual(['BBBB', 'BBBB']);
  });

  it('test-tree names the missing file', () => {
    const { dir, c1File } = setup();
    const away = path.join(work, 'away2.avhdx');
    fs.renameSync(c1File, away);
    const r = runCli(['test-tree', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(c1File);
    fs.renameSync(away, c1File);
  });
});

describe('disk commands leave a simulated VM\'s files alone (item 2)', () => {
  it('merge-vhd, write-vhd, convert-vhd onto a VM file, new-vhd --parent of the current disk and resume-merge refuse, naming the VM; nothing changes', () => {
    const { root, dir, c1File, c2File, leaf } = setup();
    const before = snapshotFiles(dir);
    const state = fs.readFileSync(path.join(root, 'state.json'), 'utf8');
    fails(hv(root, ['merge-vhd', '--path', leaf]), 1, "'x'", 'remove-vmsnapshot');
    fails(hv(root, ['merge-vhd', '--path', c2File]), 1, "'x'", "'c2'");
    fails(hv(root, ['merge-vhd', '--path', leaf, '--destination-path', c1File]), 1, "'x'");
    fails(hv(root, ['write-vhd', leaf, '--offset', '0'], 'zzzz'), 1, "'x'", 'write-vm');
    fails(hv(root, ['write-vhd', c1File, '--offset', '0'], 'zzzz'), 1, "'x'", "'c1'");
    fails(hv(root, ['convert-vhd', c2File, c1File]), 1, "'x'");
    fails(hv(root, ['new-vhd', path.join(work, 'child-of-leaf.avhdx'), '--parent', leaf]), 1, "'x'", 'checkpoint-vm');
    expect(fs.existsSync(path.join(work, 'child-of-leaf.avhdx'))).toBe(false);
    // The same with the state directory named by --root only (no HVSIM_ROOT), from another folder.
    const r = runCli(['--root', root, 'merge-vhd', '--path', leaf], { cwd: os.tmpdir(), env: { HVSIM_ROOT: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'x'");
    // A journal that names a VM's file is the simulator's to finish.
    fs.writeFileSync(
      `${c2File}.hvsim-merge.json`,
      JSON.stringify({ hvsim: 'merge-journal', version: 1, op: 'remove-layer', phase: 'copy', target: c2File, parent: c1File, children: [leaf], childrenReadOnly: [false] }),
    );
    fails(hv(root, ['resume-merge', dir]), 1, "'x'");
    fs.rmSync(`${c2File}.hvsim-merge.json`);
    expect(snapshotFiles(dir)).toEqual(before);
    expect(fs.readFileSync(path.join(root, 'state.json'), 'utf8')).toBe(state);
    expect(pointsInTime(root)).toEqual(['AAAA', 'BBBB', 'BBBB']);
  });

  it('a damaged state.json does not make its files fair game, nor crash the disk commands', () => {
    const { root, dir, leaf } = setup();
    const before = snapshotFiles(dir);
    const file = path.join(root, 'state.json');
    const s = readState(file);
    (s.vms[0]!.drives[0]!.files as unknown[]).push(null);
    fs.writeFileSync(file, JSON.stringify(s));
    fails(hv(root, ['merge-vhd', '--path', leaf]), 1, leaf, 'cannot be read', 'leaves its files alone');
    fails(hv(root, ['write-vhd', leaf, '--offset', '0'], 'zzzz'), 1, leaf, 'cannot be read');
    expect(snapshotFiles(dir)).toEqual(before);
  });

  it("allowed: writing an Off VM's current disk, a child of a checkpoint's frozen file, and files of no VM", () => {
    const { root, c2File, leaf } = setup();
    ok(root, ['stop-vm', '--name', 'x', '--turn-off']);
    ok(root, ['write-vhd', leaf, '--offset', '0'], 'CCCC');
    expect(ok(root, ['read-vm', '--name', 'x', '--length', '4'])).toBe('CCCC');
    ok(root, ['new-vhd', path.join(work, 'inspect-c2.avhdx'), '--parent', c2File]);
    expect(ok(root, ['read-vhd', path.join(work, 'inspect-c2.avhdx'), '--length', '4'])).toBe('BBBB');
    const own = path.join(work, 'own.vhdx');
    ok(root, ['new-vhd', own, '--size', '8M']);
    ok(root, ['new-vhd', path.join(work, 'own_1.avhdx'), '--parent', own]);
    ok(root, ['merge-vhd', '--path', path.join(work, 'own_1.avhdx')]);
  });
});

describe('restart: only what hvsim recorded is finished (in-process)', () => {
  const SIZE = 8 * MiB;
  async function hostWithTwo(): Promise<MemoryHost> {
    const { h, storage, store } = memoryHost({ startTime: 0, defaultDiskSize: SIZE });
    await h.newVM({ name: 'x' });
    await h.startVM(['x']);
    await h.writeGuest('x', fill(4096, 1), 0);
    await h.checkpointVM(['x'], { snapshotName: 'c1' });
    await h.writeGuest('x', fill(4096, 2), 0);
    await h.checkpointVM(['x'], { snapshotName: 'c2' });
    return { h, storage, store };
  }

  it('a file missing without a recorded step keeps its records; the VM reads again when it is back', async () => {
    const { h, storage, store } = await hostWithTwo();
    const files = h.diskFiles('x')[0]!.map((f) => f.path);
    h.close();
    const c1 = files[1]!;
    store.rename(c1, '/elsewhere/away.avhdx');
    const h2 = Simulator.open({ storage });
    expect(h2.diskFiles('x')[0]!.map((f) => f.path)).toEqual(files);
    expect((await h2.getVM(['x']))[0]!.Status).toContain(c1);
    expect((await h2.takeWarnings()).map((w) => w.Message).join('\n')).toContain(c1);
    await h2.advance(60_000);
    h2.close();
    expect(store.exists(files[2]!)).toBe(true);
    store.rename('/elsewhere/away.avhdx', c1);
    const h3 = Simulator.open({ storage });
    expect(h3.diskFiles('x')[0]!.map((f) => f.path)).toEqual(files);
    expect(Buffer.from(await h3.readGuest('x', 0, 4096, { snapshot: 'c1' }))).toEqual(Buffer.from(fill(4096, 1)));
    expect(Buffer.from(await h3.readGuest('x', 0, 4096, { snapshot: 'c2' }))).toEqual(Buffer.from(fill(4096, 2)));
    expect((await h3.getVM(['x']))[0]!.Status).toBe('Operating normally');
    h3.close();
  });

  it('a background merge waits while a file is missing, and finishes once it is back', async () => {
    const { h, storage, store } = await hostWithTwo();
    await h.removeVMSnapshot({ vmNames: ['x'], name: 'c2' }, { wait: false }); // c2's file merges into the leaf
    const files = h.diskFiles('x')[0]!.map((f) => f.path);
    h.close();
    const base = files[0]!;
    store.rename(base, '/elsewhere/base.vhdx');
    const h2 = Simulator.open({ storage });
    await h2.advance(3_600_000);
    expect(h2.diskFiles('x')[0]!.map((f) => f.path)).toEqual(files);
    expect((await h2.getVM(['x']))[0]!.OperationalStatus).toEqual(['Degraded', 'MergingDisks']);
    h2.close();
    store.rename('/elsewhere/base.vhdx', base);
    const h3 = Simulator.open({ storage });
    await h3.advance(3_600_000);
    expect(h3.diskFiles('x')[0]!.map((f) => f.path)).toEqual([files[0], files[2]]);
    expect(Buffer.from(await h3.readGuest('x', 0, 4096, { snapshot: 'c1' }))).toEqual(Buffer.from(fill(4096, 1)));
    expect(Buffer.from(await h3.readGuest('x', 0, 4096))).toEqual(Buffer.from(fill(4096, 2)));
    expect((await h3.getVM(['x']))[0]!.OperationalStatus).toEqual(['Ok']);
    h3.close();
  });

  it('a background merge that fails (an I/O error) stays pending; other commands go on; it finishes later', async () => {
    class FlakyStore extends MemoryDiskStore {
      failWrites = false;
      override open(p: string, mode: 'r' | 'rw'): ReturnType<MemoryDiskStore['open']> {
        if (this.failWrites && mode === 'rw') throw new HvsimError('IO', `${p}: input/output error (EIO)`, { file: p });
        return super.open(p, mode);
      }
    }
    const store = new FlakyStore();
    const { h } = memoryHost({ store, startTime: 0 });
    await h.newVM({ name: 'x' });
    await h.startVM(['x']);
    await h.checkpointVM(['x'], { snapshotName: 'c1' });
    await h.writeGuest('x', fill(4096, 1), 0);
    await h.checkpointVM(['x'], { snapshotName: 'c2' });
    await h.writeGuest('x', fill(4096, 2), 0);
    await h.removeVMSnapshot({ vmNames: ['x'], name: 'c2' }, { wait: false });
    const files = h.diskFiles('x')[0]!.map((f) => f.path);
    store.failWrites = true;
    await h.advance(3_600_000);
    const vm = (await h.getVM(['x']))[0]!;
    expect(vm.OperationalStatus).toEqual(['Ok', 'MergingDisks']);
    expect((await h.takeWarnings()).map((w) => w.Message).join('\n')).toContain('input/output error');
    expect(h.diskFiles('x')[0]!.map((f) => f.path)).toEqual(files);
    expect(Buffer.from(await h.readGuest('x', 0, 4096, { snapshot: 'c1' }))).toEqual(Buffer.from(new Uint8Array(4096)));
    store.failWrites = false;
    await h.advance(1000);
    expect((await h.getVM(['x']))[0]!.OperationalStatus).toEqual(['Ok']);
    expect(h.diskFiles('x')[0]!.length).toBe(2);
    expect(Buffer.from(await h.readGuest('x', 0, 4096))).toEqual(Buffer.from(fill(4096, 2)));
    h.close();
  });

  it('a clean-up step recorded before a crash, whose files are gone, is applied to the records', async () => {
    const { h, storage, store } = await hostWithTwo();
    await h.removeVMSnapshot({ vmNames: ['x'], name: 'c1' }, { wait: false });
    const before = h.snapshotState();
    h.close();
    // The crash: the step is recorded and done on the files, the records not yet updated.
    const vm = before.vms[0]!;
    const c1 = vm.drives[0]!.files[1]!.path;
    const child = vm.drives[0]!.files.find((f) => f.parent === c1)!.path;
    vm.pendingStep = { drive: 0, step: { kind: 'merge-into-child', file: c1, child } };
    vm.mergeUntil = null;
    storage.save(before);
    store.remove(c1); // (the merge's data copy is not replayed here: only the records are checked)
    const h2 = Simulator.open({ storage });
    const after = h2.snapshotState().vms[0]!;
    expect(after.pendingStep ?? null).toBeNull();
    expect(after.drives[0]!.files.map((f) => f.path)).not.toContain(c1);
    expect(after.drives[0]!.files.find((f) => f.path === child)!.parent).toBe(vm.drives[0]!.files[0]!.path);
    h2.close();
  });

  it('files being created that no record names are removed on restart (and the frozen parent is writable again)', async () => {
    const { h, storage, store } = await hostWithTwo();
    const leaf = h.diskFiles('x')[0]!.at(-1)!.path;
    h.close();
    const saved = JSON.parse(storage.savedJson!) as HostState;
    expect(saved.creating ?? []).toEqual([]);
    const stray = path.posix.join(path.posix.dirname(leaf), 'x_00000000-0000-0000-0000-000000000001.avhdx');
    createChild(store, leaf, stray); // freezes the leaf, as a checkpoint does
    expect(store.isReadOnly(leaf)).toBe(true);
    saved.creating = [{ file: stray, parent: leaf }];
    storage.save(saved);
    const h2 = Simulator.open({ storage });
    expect(store.exists(stray)).toBe(false);
    expect(store.isReadOnly(leaf)).toBe(false);
    expect(h2.orphans()).toEqual([]);
    await h2.writeGuest('x', fill(4096, 9), 0);
    h2.close();
  });

  it('a file named like a checkpoint disk that no record names is listed, not deleted; removeOrphans deletes it when asked', async () => {
    const { h, storage, store } = await hostWithTwo();
    const dir = path.posix.dirname(h.diskFiles('x')[0]![0]!.path);
    h.close();
    const stray = path.posix.join(dir, 'x_11111111-2222-3333-4444-555555555555.avhdx');
    store.writeTextAtomic(stray, 'somebody else');
    const h2 = Simulator.open({ storage });
    expect(store.exists(stray)).toBe(true);
    expect(h2.orphans()).toEqual([stray]);
    expect((await h2.takeWarnings()).map((w) => w.Message).join('\n')).toContain(stray);
    expect(await h2.removeOrphans({ whatIf: true })).toEqual([stray]);
    expect(store.exists(stray)).toBe(true);
    expect(await h2.removeOrphans()).toEqual([stray]);
    expect(store.exists(stray)).toBe(false);
    h2.close();
  });
});

describe('remove-orphans (CLI)', () => {
  it('lists with --what-if, deletes only when asked; every command warns meanwhile', () => {
    const { root, dir } = setup();
    const stray = path.join(dir, 'x_11111111-2222-3333-4444-555555555555.avhdx');
    fs.writeFileSync(stray, 'not ours to delete silently');
    const g = hv(root, ['get-vm']);
    expect(g.code).toBe(0);
    expect(g.stderr).toContain(stray);
    expect(fs.existsSync(stray)).toBe(true);
    expect(ok(root, ['remove-orphans', '--what-if'])).toBe(`What if: Performing the operation "Remove File" on target "${stray}".\n`);
    expect(fs.existsSync(stray)).toBe(true);
    expect(ok(root, ['remove-orphans'])).toBe(`Removed ${stray}\n`);
    expect(fs.existsSync(stray)).toBe(false);
    expect(pointsInTime(root)).toEqual(['AAAA', 'BBBB', 'BBBB']);
  });
});

describe('a disk an interrupted merge involves (item 8)', () => {
  it('a write names the unfinished merge and resume-merge, not "read-only"', () => {
    const budget = faultBudget();
    const store = new MemoryDiskStore(budget);
    createBaseDisk(store, '/d/base.vhdx', { format: 'VHDX', virtualSize: 8 * MiB, blockSize: 1 * MiB });
    createChild(store, '/d/base.vhdx', '/d/leaf.avhdx');
    const c = Chain.open('/d/leaf.avhdx', { store, writable: true });
    c.write(fill(MiB, 3), 0);
    c.close();
    budget.crashAfter = budget.ops + 6; // part-way through the merge: its journal is written
    expect(() => mergeDown(store, '/d/leaf.avhdx')).toThrow();
    const after = MemoryDiskStore.from(store.snapshot(), undefined, store.readOnlyPaths());
    expect(after.list('/d').filter((n) => n.endsWith('.hvsim-merge.json'))).toHaveLength(1);
    expectError(() => Chain.open('/d/leaf.avhdx', { store: after, writable: true }).close(), 'INVALID_STATE', 'resume-merge', 'interrupted');
  });
});

describe('Start-VM and a broken chain (item 9)', () => {
  it('refuses, naming the missing parent; the VM stays Off', async () => {
    const { h, store } = memoryHost({ startTime: 0 });
    await h.newVM({ name: 'x' });
    await h.checkpointVM(['x'], { snapshotName: 'c1' });
    const base = h.diskFiles('x')[0]![0]!.path;
    store.rename(base, '/elsewhere/base.vhdx');
    const e = await h.startVM(['x']).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as { code?: string }).code).toBe('NOT_FOUND');
    expect(String((e as Error).message)).toContain(base);
    expect((await h.getVM(['x']))[0]!.State).toBe('Off');
    store.rename('/elsewhere/base.vhdx', base);
    expect((await h.startVM(['x']))[0]!.State).toBe('Running');
    h.close();
  });
});

describe('state.json edited by hand or damaged', () => {
  const edits: Array<[string, (s: HostState & Record<string, unknown>) => void, string]> = [
    ['a name that is a number', (s) => ((s.vms[0] as unknown as Record<string, unknown>).name = 5), 'vms[0].name'],
    ['two VMs of one name', (s) => s.vms.push(JSON.parse(JSON.stringify(s.vms[0])) as HostState['vms'][number]), 'a second virtual machine named "x"'],
    ['a disk file that is not a disk', (s) => (s.vms[0]!.drives[0]!.files[1]!.path = '/etc/passwd'), '/etc/passwd'],
    ['a parent that is not listed', (s) => (s.vms[0]!.drives[0]!.files[1]!.parent = '/nowhere/p.vhdx'), '/nowhere/p.vhdx'],
    ['no list of VMs', (s) => delete (s as Record<string, unknown>).vms, 'not an hvsim state file'],
    ['a checkpoint whose parent Id is unknown', (s) => (s.vms[0]!.snapshots[1]!.parentId = 'nope'), 'nope'],
    ['an unknown state', (s) => ((s.vms[0] as unknown as Record<string, unknown>).state = 'Flying'), 'vms[0].state'],
  ];
  let template: ReturnType<typeof setup>;
  beforeAll(() => {
    template = setup();
  });
  /** A copy of the template's state directory, its records re-pointed at the copy. */
  function copy(): { root: string; dir: string } {
    const root = fs.mkdtempSync(path.join(work, 'copy-'));
    fs.cpSync(template.root, root, { recursive: true });
    writeState(root, JSON.parse(JSON.stringify(readState(root)).split(template.root).join(root)) as HostState);
    return { root, dir: template.dir.replace(template.root, root) };
  }
  it.each(edits)('%s: a one-line CORRUPT error naming the field; nothing changes', (_what, edit, mention) => {
    const { root, dir } = copy();
    const file = path.join(root, 'state.json');
    const s = readState(file) as HostState & Record<string, unknown>;
    edit(s);
    fs.writeFileSync(file, JSON.stringify(s));
    const text = fs.readFileSync(file, 'utf8');
    const before = snapshotFiles(dir);
    for (const args of [['get-vm'], ['remove-vmsnapshot', '--vm-name', 'x', '--name', 'c1'], ['start-vm', '--name', 'x']]) fails(hv(root, args), 1, file, mention);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(snapshotFiles(dir)).toEqual(before);
  });
});

describe('hvsim run --what-if and a crash leftover', () => {
  it('the copy finishes the leftover on the copy; the original files and state stay as they are', () => {
    const { root, dir } = setup();
    const stray = path.join(dir, 'x_00000000-0000-0000-0000-00000000000A.avhdx');
    fs.writeFileSync(stray, 'being created when the power went');
    const file = path.join(root, 'state.json');
    const s = readState(file);
    s.creating = [{ file: stray, parent: null }];
    fs.writeFileSync(file, JSON.stringify(s, null, 1) + '\n');
    const text = fs.readFileSync(file, 'utf8');
    const before = snapshotFiles(dir);
    const r = hv(root, ['run', '--what-if', '-'], 'Get-VM | Out-Null\n');
    expect(r.code, r.stderr).toBe(0);
    expect(snapshotFiles(dir)).toEqual(before);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    // The real restart does remove it: hvsim's own unfinished file.
    ok(root, ['get-vm']);
    expect(fs.existsSync(stray)).toBe(false);
  });
});
