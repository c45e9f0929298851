/**
 * Model-based test of the checkpoint tree and its disks: random sequences of guest writes,
 * checkpoints, restores and removals (single, subtree, all; waited for or left merging in the
 * background) against a simple model. After every step each remaining checkpoint reads exactly
 * what the VM held when it was taken, the VM reads its current data, the tree (parents, Now)
 * matches, and the files obey Hyper-V's rules: one writable leaf, no file that nobody needs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Simulator } from '../../src/sim/simulator.js';
import { simHost } from '../helpers/sim-host.js';
import { ownedFiles } from '../../src/sim/disk-tree.js';

const MiB = 1024 * 1024;
const SLOTS = Array.from({ length: 8 }, (_, i) => i * MiB + ((i * 1543) % 8) * 512);

type Op =
  | { kind: 'write'; slot: number; value: number }
  | { kind: 'checkpoint' }
  | { kind: 'restore'; pick: number }
  | { kind: 'remove'; pick: number; subtree: boolean; wait: boolean }
  | { kind: 'removeAll'; wait: boolean }
  | { kind: 'time'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), slot: fc.nat(SLOTS.length - 1), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restore' as const), pick: fc.nat(50) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(50), subtree: fc.boolean(), wait: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeAll' as const), wait: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 500 }) }) },
);

interface Model {
  current: number[];
  snaps: Map<string, { parent: string | null; content: number[] }>;
  now: string | null;
}

function descendants(m: Model, id: string): Set<string> {
  const out = new Set([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [k, s] of m.snaps) if (s.parent !== null && out.has(s.parent) && !out.has(k)) {
      out.add(k);
      grew = true;
    }
  }
  return out;
}

function detach(m: Model, ids: Set<string>): void {
  const survivor = (id: string | null): string | null => {
    while (id !== null && ids.has(id)) id = m.snaps.get(id)!.parent;
    return id;
  };
  for (const [, s] of m.snaps) s.parent = survivor(s.parent);
  m.now = survivor(m.now);
  for (const id of ids) m.snaps.delete(id);
}

async function readSlots(h: Simulator, snapshot?: string): Promise<number[]> {
  const out: number[] = [];
  for (const off of SLOTS) out.push((await h.readGuest('v', off, 512, snapshot !== undefined ? { snapshot } : {}))[100]!);
  return out;
}

async function check(h: Simulator, m: Model): Promise<void> {
  const snaps = await h.getVMSnapshot({ vmNames: ['v'] });
  expect(new Set(snaps.map((s) => s.Id))).toEqual(new Set(m.snaps.keys()));
  for (const s of snaps) {
    expect(s.ParentSnapshotId).toBe(m.snaps.get(s.Id)!.parent);
    expect(await readSlots(h, s.Id)).toEqual(m.snaps.get(s.Id)!.content);
  }
  // (Reads move the clock, and a background merge may finish meanwhile: look at the VM and its
  // files at one instant.)
  const [vm] = await h.getVM(['v']);
  const files = h.diskFiles('v')[0]!;
  const owned = ownedFiles(h.snapshotState().vms[0]!, 0);
  for (const f of files) expect(h.storage.store.exists(f.path)).toBe(true);
  expect(vm!.ParentSnapshotId).toBe(m.now);
  expect(await readSlots(h)).toEqual(m.current);
  // Files: exactly one writable (the leaf); once merges are done nothing unneeded remains.
  expect(files.filter((f) => !f.readOnly).map((f) => f.path)).toEqual([vm!.HardDrives[0]!.Path]);
  if (!vm!.OperationalStatus.includes('MergingDisks')) {
    for (const f of files) {
      if (owned.has(f.path)) continue;
      const kids = files.filter((x) => x.parent === f.path);
      const baseKept = f.parent === null && kids.length === 1 && files.some((x) => x.parent === kids[0]!.path);
      expect(kids.length >= 2 || baseKept, `unneeded file ${f.path}`).toBe(true);
    }
    if (m.snaps.size === 0) expect(files.map((f) => f.path.split('/').pop())).toEqual(['v.vhdx']);
  }
}

async function run(ops: Op[]): Promise<void> {
  const h = simHost({ startTime: Date.UTC(2024, 0, 1), costs: { mergeBytesPerSec: 4 * MiB } });
  await h.newVM({ name: 'v', checkpointType: 'Standard' });
  await h.startVM(['v']);
  const m: Model = { current: SLOTS.map(() => 0), snaps: new Map(), now: null };
  const ids = (): string[] => [...m.snaps.keys()];
  for (const op of ops) {
    switch (op.kind) {
      case 'write': {
        const [vm] = await h.getVM(['v']);
        if (vm!.State !== 'Running') await h.startVM(['v']);
        await h.writeGuest('v', new Uint8Array(4096).fill(op.value), SLOTS[op.slot]!);
        m.current[op.slot] = op.value;
        break;
      }
      case 'checkpoint': {
        const [s] = await h.checkpointVM(['v']);
        m.snaps.set(s!.Id, { parent: m.now, content: [...m.current] });
        m.now = s!.Id;
        break;
      }
      case 'restore': {
        if (m.snaps.size === 0) continue;
        const id = ids()[op.pick % m.snaps.size]!;
        await h.restoreVMSnapshot({ vmName: 'v', id });
        m.current = [...m.snaps.get(id)!.content];
        m.now = id;
        break;
      }
      case 'remove': {
        if (m.snaps.size === 0) continue;
        const id = ids()[op.pick % m.snaps.size]!;
        await h.removeVMSnapshot({ vmNames: ['v'], id }, { includeAllChildSnapshots: op.subtree, wait: op.wait });
        detach(m, op.subtree ? descendants(m, id) : new Set([id]));
        break;
      }
      case 'removeAll':
        await h.removeVMSnapshot({ vmNames: ['v'] }, { wait: op.wait });
        detach(m, new Set(m.snaps.keys()));
        break;
      case 'time':
        await h.advance(op.ms);
        break;
    }
    await check(h, m);
  }
  await h.waitVM(['v']);
  await check(h, m);
}

describe('checkpoint tree model', () => {
  it('random sequences keep every checkpoint, the Now state and the files right', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 16 }), run), { numRuns: 40, seed: 20240501 });
  }, 60_000);

  it('a fixed deep and branched history', async () => {
    const ops: Op[] = [];
    for (let i = 0; i < 6; i++) ops.push({ kind: 'write', slot: i, value: i + 1 }, { kind: 'checkpoint' });
    ops.push({ kind: 'restore', pick: 2 }, { kind: 'write', slot: 7, value: 99 }, { kind: 'checkpoint' }, { kind: 'restore', pick: 4 });
    ops.push({ kind: 'remove', pick: 2, subtree: false, wait: true }, { kind: 'remove', pick: 0, subtree: false, wait: false });
    ops.push({ kind: 'write', slot: 0, value: 7 }, { kind: 'remove', pick: 1, subtree: true, wait: true }, { kind: 'removeAll', wait: true });
    await run(ops);
  });
});
