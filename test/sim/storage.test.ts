/**
 * Where a host lives: a state directory (real VHDX files, state.json written atomically, a lock),
 * reopening it, two users of one directory, stale locks, and recovery after a crash at any point
 * of a checkpoint, a restore or a removal with its merges.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryLock, DirectoryStorage, MemoryStorage } from '../../src/sim/storage.js';
import { MemoryDiskStore } from '../../src/engine/store.js';
import { memoryHost, simHost } from '../helpers/sim-host.js';
import { faultBudget } from '../../src/vhd/io/fault-file.js';
import { Chain } from '../../src/engine/chain.js';
import { HvsimError } from '../../src/errors.js';
import type { HostState } from '../../src/sim/state.js';
import { readState } from '../helpers/state-dir.js';

const MiB = 1024 * 1024;
const START = Date.UTC(2024, 4, 1, 12, 0, 0);
const dirs: string[] = [];

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-sim-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) {
    // Checkpoint files are read-only; the folder is not, so removal works.
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function tag(t: string, len = 4096): Uint8Array {
  const b = new Uint8Array(len);
  b.set(new TextEncoder().encode(t));
  return b;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b).replace(/\0+$/, '');

describe('state directory', () => {
  it('on the wall clock, a command that changes nothing leaves state.json as it was; a change or a clock ahead of real time is saved', async () => {
    const root = tmp();
    const file = path.join(root, 'state.json');
    const open = (): Simulator => simHost({ storage: new DirectoryStorage(root), clockMode: 'wall', startTime: Date.now() });
    let h = open();
    await h.newVM({ name: 'web01' });
    h.close();
    const before = fs.statSync(file);
    const textBefore = fs.readFileSync(file, 'utf8');
    // Real time passes the saved clock (New-VM's simulated cost put it ahead): the open catches up.
    const savedClock = (JSON.parse(textBefore) as HostState).clock;
    await new Promise((r) => setTimeout(r, Math.max(0, savedClock - Date.now()) + 50));
    h = open();
    expect((await h.getVM(['web01']))[0]!.Name).toBe('web01');
    h.close();
    const after = fs.statSync(file);
    expect(fs.readFileSync(file, 'utf8')).toBe(textBefore);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);

    h = open();
    await h.sleep(3_600_000); // Start-Sleep: the host's clock an hour ahead of real time
    const ahead = await h.now();
    h.close();
    expect(readState(file).clock).toBe(ahead);

    h = open();
    await h.checkpointVM(['web01'], { snapshotName: 'c1' });
    const now = await h.now();
    h.close();
    const saved = readState(file);
    expect(saved.clock).toBe(now);
    expect(saved.clock).toBeGreaterThanOrEqual(ahead);
    expect(saved.vms[0]!.snapshots.map((x) => x.name)).toEqual(['c1']);
  });

  it('keeps VMs, checkpoints, disks and the clock across reopenings', async () => {
    const root = tmp();
    let h = simHost({ storage: new DirectoryStorage(root), computerName: 'xHost16', startTime: START });
    await h.newVM({ name: 'web01', checkpointType: 'Standard' });
    await h.startVM(['web01']);
    await h.writeGuest('web01', tag('first'), 0);
    await h.checkpointVM(['web01'], { snapshotName: 'c1' });
    await h.writeGuest('web01', tag('second'), 0);
    const clock = await h.now();
    h.close();

    const state = readState(root);
    expect(state.computerName).toBe('xHost16');
    expect(state.vms[0]!.snapshots[0]!.name).toBe('c1');
    const vhd = path.join(root, 'vms', 'web01', 'Virtual Hard Disks');
    const names = fs.readdirSync(vhd).sort();
    expect(names[0]).toBe('web01.vhdx');
    expect(names[1]).toMatch(/^web01_[0-9A-F-]{36}\.avhdx$/);
    expect(fs.statSync(path.join(vhd, 'web01.vhdx')).mode & 0o222).toBe(0); // frozen: read-only
    // The real files form the chain the records describe.
    const chain = Chain.open(path.join(vhd, names[1]!));
    expect(chain.paths).toEqual([path.join(vhd, 'web01.vhdx'), path.join(vhd, names[1]!)]);
    chain.close();

    h = Simulator.open({ storage: new DirectoryStorage(root) });
    expect(await h.now()).toBe(clock);
    expect(h.computerName).toBe('xHost16');
    const [vm] = await h.getVM(['web01']);
    expect(vm!.State).toBe('Running');
    expect(vm!.ParentSnapshotName).toBe('c1');
    expect(text(await h.readGuest('web01', 0, 16))).toBe('second');
    expect(text(await h.readGuest('web01', 0, 16, { snapshot: 'c1' }))).toBe('first');
    await h.removeVMSnapshot({ vmNames: ['web01'] });
    h.close();
    expect(fs.readdirSync(vhd)).toEqual(['web01.vhdx']);
    // no lock, no temporary left; `closed` marks the clean close (docs/simulator.md, "VM files"), state.json.crc32c what hvsim wrote
    expect(fs.readdirSync(root).sort()).toEqual(['closed', 'records', 'state.json', 'state.json.crc32c', 'vms']);
    // Another host name is refused for this state.
    const e = (() => {
      try {
        Simulator.open({ storage: new DirectoryStorage(root), computerName: 'otherhost' });
      } catch (x) {
        return x as HvsimError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('NOT_FOUND');
    // The failed open released its lock: the directory opens again.
    Simulator.open({ storage: new DirectoryStorage(root), computerName: 'localhost' }).close();
  });

  it('reads do not rewrite state.json; changes do (atomically, a new file each time)', async () => {
    const root = tmp();
    const h = simHost({ storage: new DirectoryStorage(root), startTime: START });
    await h.newVM({ name: 'web01' });
    const file = path.join(root, 'state.json');
    const ino = fs.statSync(file).ino;
    for (let i = 0; i < 20; i++) await h.getVM(['web01']);
    await h.getVMSnapshot({ vmNames: ['web01'] });
    expect(fs.statSync(file).ino).toBe(ino); // not replaced
    // Held open so that its inode number cannot be reused by the replacement.
    const old = fs.openSync(file, 'r');
    await h.checkpointVM(['web01'], { snapshotName: 'c1' });
    expect(fs.statSync(file).ino).not.toBe(ino);
    fs.closeSync(old);
    h.close();
    expect(readState(file).vms[0]!.snapshots.map((s) => s.name)).toEqual(['c1']);
  });

  it('a second user waits for the lock and reports BUSY when it waits too long', () => {
    const root = tmp();
    const first = new DirectoryStorage(root);
    const t = Date.now();
    let err: HvsimError | undefined;
    try {
      new DirectoryStorage(root, { timeoutMs: 150, pollMs: 10 });
    } catch (e) {
      err = e as HvsimError;
    }
    expect(err?.code).toBe('BUSY');
    expect(err?.message).toContain(`pid ${process.pid}`);
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    first.close();
    new DirectoryStorage(root, { timeoutMs: 0 }).close();
  });

  it('takes over a lock left by a process that is gone', () => {
    const root = tmp();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(root, 'lock'), `${dead.stdout}\n${os.hostname()}\n2020-01-01T00:00:00Z\n`);
    const s = new DirectoryStorage(root, { timeoutMs: 0 });
    expect(fs.readFileSync(path.join(root, 'lock'), 'utf8').split('\n')[0]).toBe(String(process.pid));
    s.close();
    expect(fs.existsSync(path.join(root, 'lock'))).toBe(false);
    const l = new DirectoryLock(path.join(root, 'lock'));
    l.acquire();
    l.release();
  });

  it('refuses a damaged state file instead of starting over', () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'state.json'), '{"half":');
    expect(() => Simulator.open({ storage: new DirectoryStorage(root, { timeoutMs: 0 }) })).toThrow(/not valid JSON/);
  });

  it('a state.json as hvsim wrote it is not validated again; one edited since (its sum no longer matches) is', async () => {
    const root = tmp();
    const h = Simulator.open({ storage: new DirectoryStorage(root) });
    await h.newVM({ name: 'web01' });
    h.close();
    const storage = new DirectoryStorage(root);
    storage.load();
    expect(storage.loadedAsWritten).toBe(true);
    storage.close();
    const file = path.join(root, 'state.json');
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as HostState;
    (s.vms[0] as unknown as { memory: string }).memory = 'lots';
    fs.writeFileSync(file, JSON.stringify(s, null, 1) + '\n');
    expect(() => Simulator.open({ storage: new DirectoryStorage(root, { timeoutMs: 0 }) })).toThrow(/vms\[0\]\.memory: expected a number/);
  });
});

describe('recovery after a crash', () => {
  /** base ← c1 ← c2 ← c3 ← Now with data in every layer, as files and saved state (built once). */
  let built: { files: Map<string, Uint8Array>; readOnly: Set<string>; json: string } | undefined;
  async function scenario(): Promise<NonNullable<typeof built>> {
    if (built) return built;
    const { h, storage, store } = memoryHost({ startTime: START, defaultDiskSize: 4 * MiB, diskBlockSize: MiB });
    await h.newVM({ name: 'v', checkpointType: 'Standard' });
    await h.startVM(['v']);
    for (const [i, name] of ['c1', 'c2', 'c3'].entries()) {
      await h.writeGuest('v', tag(name, MiB / 2), i * MiB);
      await h.checkpointVM(['v'], { snapshotName: name });
    }
    await h.writeGuest('v', tag('now', MiB / 2), 3 * MiB);
    h.close();
    built = { files: store.snapshot(), readOnly: store.readOnlyPaths(), json: storage.savedJson! };
    return built;
  }

  /**
   * Run `phase` on the scenario with the power cut after `crashAfter` store operations; the files
   * and the state saved until then are what a restarted host sees.
   */
  async function crashRun(crashAfter: number, phase: (h: Simulator) => Promise<unknown>): Promise<{ crashed: boolean; reopen: () => Simulator; ops: number }> {
    const sc = await scenario();
    const budget = faultBudget(crashAfter);
    const store = MemoryDiskStore.from(sc.files, budget, sc.readOnly);
    // Saves stop at the crash: a dead process writes nothing more.
    class CrashStorage extends MemoryStorage {
      override save(state: HostState): void {
        if (!budget.crashed) super.save(state);
      }
    }
    const storage = new CrashStorage(store, '/hvsim/vms', sc.json);
    const h = Simulator.open({ storage });
    try {
      await phase(h);
    } catch (e) {
      if (!(e instanceof HvsimError) || e.code !== 'FAULT_INJECTED') throw e;
    }
    const files = store.snapshot();
    const readOnly = store.readOnlyPaths();
    const json = storage.savedJson;
    return {
      crashed: budget.crashed,
      ops: budget.ops,
      reopen: () => Simulator.open({ storage: new MemoryStorage(MemoryDiskStore.from(files, undefined, readOnly), '/hvsim/vms', json) }),
    };
  }

  const expected: Record<string, string[]> = {
    c1: ['c1', '', '', ''],
    c2: ['c1', 'c2', '', ''],
    c3: ['c1', 'c2', 'c3', ''],
    now: ['c1', 'c2', 'c3', 'now'],
  };

  async function verify(h: Simulator): Promise<string[]> {
    const read = async (snapshot?: string): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) out.push(text(await h.readGuest('v', i * MiB, 8, snapshot !== undefined ? { snapshot } : {})));
      return out;
    };
    await h.waitVM(['v']);
    const snaps = (await h.getVMSnapshot({ vmNames: ['v'] })).map((s) => s.Name);
    for (const s of snaps) expect(await read(s)).toEqual(expected[s]);
    expect(await read()).toEqual(expected.now);
    // Every recorded file exists; only the leaf is writable; the leaf's chain opens.
    const files = h.diskFiles('v')[0]!;
    for (const f of files) expect(h.storage.store.exists(f.path)).toBe(true);
    const [vm] = await h.getVM(['v']);
    expect(files.filter((f) => !f.readOnly).map((f) => f.path)).toEqual([vm!.HardDrives[0]!.Path]);
    if (snaps.length === 0) expect(files.length).toBe(1);
    return snaps;
  }

  it('removing every checkpoint (several merges): a crash at any operation recovers', async () => {
    const remove = (h: Simulator): Promise<unknown> => h.removeVMSnapshot({ vmNames: ['v'] }, { includeAllChildSnapshots: true });
    const total = (await crashRun(Infinity, remove)).ops;
    expect(total).toBeGreaterThan(10);
    const seen = new Set<string>();
    for (let k = 0; k <= total; k++) {
      const run = await crashRun(k, remove);
      expect(run.crashed).toBe(k < total);
      const h = run.reopen();
      seen.add((await verify(h)).join(','));
      // Finishing the job after recovery gives the clean end state.
      await h.removeVMSnapshot({ vmNames: ['v'] }, { includeAllChildSnapshots: true });
      expect(await verify(h)).toEqual([]);
    }
    // The new tree is saved before the first file changes: every recovery finishes the removal.
    expect([...seen]).toEqual(['']);
  }, 60_000);

  it('checkpoint and restore: a crash at any operation recovers', async () => {
    const phase = async (h: Simulator): Promise<unknown> => {
      await h.checkpointVM(['v'], { snapshotName: 'c4' });
      return h.restoreVMSnapshot({ vmName: 'v', name: 'c4' });
    };
    const total = (await crashRun(Infinity, phase)).ops;
    for (let k = 0; k <= total; k++) {
      const run = await crashRun(k, phase);
      const h = run.reopen();
      const snaps = (await h.getVMSnapshot({ vmNames: ['v'] })).map((s) => s.Name);
      expected.c4 = expected.now!;
      await verify(h);
      expect(snaps.slice(0, 3)).toEqual(['c1', 'c2', 'c3']);
    }
  }, 60_000);
});
