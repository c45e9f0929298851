/**
 * State version 3 in a state directory (src/sim/records.ts; docs/simulator.md, "The state
 * directory"): state.json an index, each VM's drives and checkpoints in a record file loaded on
 * first use, written only when changed (under a new name), version-1 and -2 states migrated, leftovers
 * of a save cut short removed, and a save stopped before each of its steps losing nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Simulator } from '../../src/sim/simulator.js';
import { DirectoryStorage, type SaveStep } from '../../src/sim/storage.js';
import { RECORDS_DIR } from '../../src/sim/records.js';
import type { HostState } from '../../src/sim/state.js';
import { HvsimError } from '../../src/errors.js';
import { readState, writeState } from '../helpers/state-dir.js';

const START = Date.UTC(2024, 0, 1);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-records-'));
  dirs.push(d);
  return d;
}
const open = (root: string, opts: ConstructorParameters<typeof DirectoryStorage>[2] = {}): Simulator =>
  Simulator.open({ storage: new DirectoryStorage(root, { timeoutMs: 0 }, opts), startTime: START, defaultDiskSize: 1024 * 1024 });
const records = (root: string): string[] => {
  try {
    return fs.readdirSync(path.join(root, RECORDS_DIR)).sort();
  } catch {
    return [];
  }
};
const index = (root: string): { version: number; vms: Array<{ name: string; record: string; drives?: unknown }> } =>
  JSON.parse(fs.readFileSync(path.join(root, 'state.json'), 'utf8')) as { version: number; vms: Array<{ name: string; record: string }> };

/** A host with VMs a and b, a with checkpoint c0. */
async function twoVms(): Promise<string> {
  const root = tmp();
  const h = open(root);
  await h.newVM({ name: 'a' });
  await h.newVM({ name: 'b' });
  await h.checkpointVM(['a'], { snapshotName: 'c0' });
  h.close();
  return root;
}

describe('state version 3', () => {
  it('state.json is an index naming one record per VM; the bulk is only in the records', async () => {
    const root = await twoVms();
    const ix = index(root);
    expect(ix.version).toBe(3);
    expect(ix.vms.map((v) => v.name)).toEqual(['a', 'b']);
    expect(ix.vms.every((v) => v.drives === undefined)).toBe(true);
    expect(records(root)).toEqual(ix.vms.map((v) => v.record).sort());
    expect(readState(root).vms[0]!.snapshots.map((s) => s.name)).toEqual(['c0']);
  });

  it("a command on one VM reads only that VM's record, and rewrites only it", async () => {
    const root = await twoVms();
    const [a, b] = index(root).vms;
    // b's record damaged: a command that does not need b never notices.
    fs.writeFileSync(path.join(root, RECORDS_DIR, b!.record), '{"half":');
    let h = open(root);
    expect((await h.getVM(['a']))[0]!.Name).toBe('a');
    await h.checkpointVM(['a'], { snapshotName: 'c1' });
    h.close();
    const after = index(root).vms;
    expect(after[1]!.record).toBe(b!.record); // b not rewritten
    expect(after[0]!.record).not.toBe(a!.record); // a: a new generation…
    expect(records(root)).toEqual([after[0]!.record, b!.record].sort()); // …and the old one removed
    // b is needed: a CORRUPT error naming its record file.
    h = open(root);
    const e = await h.getVM(['b']).then(
      () => undefined,
      (x: unknown) => x as HvsimError,
    );
    h.storage.close();
    expect(e?.code).toBe('CORRUPT');
    expect(e?.message).toContain(path.join(root, RECORDS_DIR, b!.record));
  });

  it('a record that does not hold what validation requires is refused naming the file and the field', async () => {
    const root = await twoVms();
    const a = index(root).vms[0]!;
    const file = path.join(root, RECORDS_DIR, a.record);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { snapshots: Array<{ parentId: string | null }> };
    rec.snapshots[0]!.parentId = 'nope';
    fs.writeFileSync(file, JSON.stringify(rec));
    const h = open(root);
    await expect(h.getVMSnapshot({ vmNames: ['a'] })).rejects.toThrow(`${file}: snapshots[0].parentId: no checkpoint has the Id nope`);
    h.close(); // a clean close: saved as it was (the damaged record is named, not rewritten)
    expect(fs.existsSync(file)).toBe(true);
    // A missing record is named too.
    fs.rmSync(file);
    const h2 = open(root);
    await expect(h2.getVMSnapshot({ vmNames: ['a'] })).rejects.toThrow(`${file}: missing`);
    h2.close();
    // After an unclean exit every VM is checked at open: the damage fails the open itself.
    fs.rmSync(path.join(root, 'closed'));
    expect(() => open(root)).toThrow(`${file}: missing`);
  });

  it('a version-1 state.json (everything in it) opens as it is and is rewritten as version 3 by the next save', async () => {
    const root = await twoVms();
    const whole = readState(root) as HostState & { version: number };
    const v1 = { ...whole, version: 1 };
    fs.rmSync(path.join(root, RECORDS_DIR), { recursive: true });
    fs.rmSync(path.join(root, 'state.json.crc32c'));
    fs.writeFileSync(path.join(root, 'state.json'), JSON.stringify(v1, null, 1) + '\n');
    const h = open(root);
    expect((await h.getVMSnapshot({ vmNames: ['a'] })).map((s) => s.Name)).toEqual(['c0']);
    h.close();
    expect(index(root).version).toBe(3);
    expect(records(root)).toHaveLength(2);
    expect(readState(root)).toEqual(whole);
  });

  it("a version-2 state (one host-wide list of VM files) is rewritten as version 3, each VM's files in its own record, none lost", async () => {
    const root = await twoVms();
    const whole = readState(root) as HostState & { version: number };
    const made = whole.vms.flatMap((v) => v.vmFiles ?? []);
    expect(made.length).toBeGreaterThan(5); // a's and b's .vmcx/.vmrs/.vmgs, c0's .vmcx/.vmrs
    // Version 2 as it was written: the list in state.json, a removed VM's file among them.
    const gone = path.join(root, 'vms', 'old', 'Virtual Machines', '0A0B0C0D-0000-0000-0000-000000000001.vmcx');
    fs.mkdirSync(path.dirname(gone), { recursive: true });
    fs.writeFileSync(gone, '{}');
    const v2 = { ...whole, version: 2, vmFiles: [...made, gone], vms: whole.vms.map(({ vmFiles: _, ...v }) => v) };
    writeState(root, v2 as HostState);
    const h = open(root);
    expect((await h.getVM(['a']))[0]!.Name).toBe('a');
    h.close();
    expect(index(root).version).toBe(3);
    expect(readState(root)).toEqual(whole); // the removed VM's file removed and forgotten
    expect(fs.existsSync(gone)).toBe(false);
    for (const f of made) expect(fs.existsSync(f), f).toBe(true);
  });

  it("a VM's index fields changed while its record is not read are saved (its line is reused only while they are the same)", async () => {
    const root = await twoVms();
    const before = records(root);
    let st = new DirectoryStorage(root, { timeoutMs: 0 });
    let s = st.load()!;
    st.save(s); // nothing changed: nothing written
    expect(records(root)).toEqual(before);
    s.vms[1]!.notes = 'edited';
    s.vms[1]!.integrationServices = { 'Guest Service Interface': true };
    st.save(s);
    st.markClean();
    st.close();
    st = new DirectoryStorage(root, { timeoutMs: 0 });
    s = st.load()!;
    expect(s.vms[1]).toMatchObject({ notes: 'edited', integrationServices: { 'Guest Service Interface': true } });
    // An object changed in place, the record still not read.
    s.vms[1]!.integrationServices!['Guest Service Interface'] = false;
    st.save(s);
    st.close();
    expect(readState(root).vms[1]!.integrationServices).toEqual({ 'Guest Service Interface': false });
    expect(records(root)).toEqual(before); // no record rewritten: only the index
  });

  it("files in records/ that the index does not name: hvsim's are removed by the next save, others reported and kept", async () => {
    const root = await twoVms();
    const [a] = index(root).vms;
    const dir = path.join(root, RECORDS_DIR);
    const stem = a!.record.split('.')[0]!;
    fs.writeFileSync(path.join(dir, `${stem}.999.json`), '{"half');
    fs.writeFileSync(path.join(dir, `${stem}.998.json.tmp-12345`), '{"half');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const h = open(root);
    await h.checkpointVM(['a'], { snapshotName: 'c1' });
    const warnings = (await h.takeWarnings()).map((w) => w.Message);
    h.close();
    expect(warnings).toContain(`${path.join(dir, 'notes.txt')} is not a record file hvsim made: left as it is`);
    expect(records(root)).toEqual([...index(root).vms.map((v) => v.record), 'notes.txt'].sort());
  });
});

describe('a save stopped before each of its steps (a crash there) loses nothing', () => {
  class Stop extends Error {}

  it('checkpoint-vm of one of two VMs: the state is as before or as after; the next command cleans up and works', async () => {
    // The steps a clean run takes (records written, state.json replaced, old records removed).
    const base = await twoVms();
    const steps: SaveStep[] = [];
    {
      const root = tmp();
      fs.cpSync(base, root, { recursive: true });
      const h = open(root, { beforeStep: (s) => steps.push(s) });
      await h.checkpointVM(['a'], { snapshotName: 'c1' });
      h.close();
    }
    expect(new Set(steps)).toEqual(new Set(['record', 'index', 'remove']));
    for (let k = 0; k < steps.length; k++) {
      const root = tmp();
      fs.cpSync(base, root, { recursive: true });
      const before = readState(root);
      let n = 0;
      const h = open(root, {
        beforeStep: () => {
          if (n++ === k) throw new Stop(`stopped before step ${k}`);
        },
      });
      let stopped = false;
      try {
        await h.checkpointVM(['a'], { snapshotName: 'c1' });
        h.close();
      } catch (e) {
        if (!(e instanceof Stop)) throw e;
        stopped = true;
        h.storage.close(); // the process is gone: its lock with it
      }
      expect(stopped, `step ${k}`).toBe(true);
      // What a restart sees: a and b whole, a's checkpoints those before or those after.
      const seen = readState(root);
      expect(seen.vms.map((v) => v.name)).toEqual(['a', 'b']);
      expect([['c0'], ['c0', 'c1']]).toContainEqual(seen.vms[0]!.snapshots.map((s) => s.name));
      expect(seen.vms[1]).toEqual(before.vms[1]);
      const h2 = open(root);
      expect((await h2.getVM(['a', 'b'])).map((v) => v.Name)).toEqual(['a', 'b']);
      await h2.checkpointVM(['a'], { snapshotName: 'c2' });
      h2.close();
      expect(readState(root).vms[0]!.snapshots.map((s) => s.name).slice(-1)).toEqual(['c2']);
      // Only the records the index names are left.
      expect(records(root), `step ${k}`).toEqual(index(root).vms.map((v) => v.record).sort());
    }
  });
});
