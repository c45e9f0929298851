/**
 * The rules every host follows to find what a request names (src/host/selection.ts) and to check
 * its arguments (src/host/validation.ts), over plain objects: the simulator and the real-host
 * driver only say how to read theirs.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotType } from '../../src/host/host.js';
import { HvsimError } from '../../src/errors.js';
import { VMCheckpoints, eachSelected, gatherSnapshots, requireNamedCheckpoint, selectVMs, selectsCheckpoints, vmNamed, type CheckpointFields } from '../../src/host/selection.js';
import { MAX_NAME_LENGTH, refuseTakenVMName, validateCheckpointType, validateMemory, validateSnapshotName, validateVMName } from '../../src/host/validation.js';
import type { CheckpointType } from '../../src/host/host.js';
import { thrownHvsimError } from '../helpers/data.js';

interface Cp {
  id: string;
  name: string;
  parent: string | null;
  group: string | null;
  type: SnapshotType;
}

const FIELDS: CheckpointFields<Cp> = { id: (s) => s.id, name: (s) => s.name, parentId: (s) => s.parent, groupId: (s) => s.group, snapshotType: (s) => s.type };
const id = (n: number): string => `${String(n).repeat(8)}-0000-0000-0000-000000000000`;

/** A ─ B ─ C, A ─ D (Now under C); B and D carry a group id; D is a Recovery checkpoint. */
function tree(): VMCheckpoints<Cp> {
  const list: Cp[] = [
    { id: id(1), name: 'A', parent: null, group: null, type: 'Standard' },
    { id: id(2), name: 'Before update', parent: id(1), group: 'g1', type: 'Standard' },
    { id: id(3), name: 'C', parent: id(2), group: null, type: 'Standard' },
    { id: id(4), name: 'before patch', parent: id(1), group: 'g1', type: 'Recovery' },
  ];
  return new VMCheckpoints('web01', id(3), list, FIELDS);
}

describe('VMs by name', () => {
  const vms = ['SQL01', 'SQL02', 'WEB01'];
  const sel = (names: string[] | undefined): { vms: string[]; errors: string[] } => {
    const r = selectVMs(vms, names, 'start', (v) => v);
    return { vms: r.vms, errors: r.errors.map((e) => e.message) };
  };

  it('in the order asked, each once; all of them without names', () => {
    expect(sel(['web01', 'sql*', 'SQL01'])).toEqual({ vms: ['WEB01', 'SQL01', 'SQL02'], errors: [] });
    expect(sel(undefined).vms).toEqual(vms);
    expect(sel([]).vms).toEqual(vms);
  });

  it('a plain name that matches nothing is not found; a pattern may match nothing', () => {
    expect(sel(['DC01', 'db*', 'web01'])).toEqual({ vms: ['WEB01'], errors: ['Start-VM: Hyper-V was unable to find a virtual machine with name "DC01".'] });
  });

  it('one VM by its exact name', () => {
    expect(vmNamed(vms, 'sql02', 'get', (v) => v)).toBe('SQL02');
    expect(thrownHvsimError(() => vmNamed(vms, 'sql*', 'get', (v) => v)).message).toBe('Get-VM: Hyper-V was unable to find a virtual machine with name "sql*".');
  });

  it('each VM fails on its own; the failures come together at the end', () => {
    const done: string[] = [];
    const e = thrownHvsimError(() =>
      eachSelected(selectVMs(vms, ['nope', '*'], 'stop', (v) => v), (v) => {
        if (v === 'SQL02') throw new HvsimError('INVALID_STATE', `Stop-VM: '${v}' failed.`);
        done.push(v);
      }),
    );
    expect(done).toEqual(['SQL01', 'WEB01']);
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message.split('\n')).toEqual(['Stop-VM: Hyper-V was unable to find a virtual machine with name "nope".', "Stop-VM: 'SQL02' failed."]);
  });
});

describe("one VM's checkpoints", () => {
  it('one by Id, by an Id given as the name, or by a name matching exactly one', () => {
    const t = tree();
    expect(t.find({ id: id(3).toUpperCase() }, 'restore').name).toBe('C');
    expect(t.find({ name: `{${id(4)}}` }, 'restore').name).toBe('before patch');
    expect(t.find({ name: 'BEFORE UP*' }, 'restore').name).toBe('Before update');
    expect(thrownHvsimError(() => t.find({ id: id(9) }, 'restore')).message).toBe(`Restore-VMSnapshot: Hyper-V was unable to find a checkpoint with name "${id(9)}" for virtual machine "web01".`);
    const many = thrownHvsimError(() => t.find({ name: 'before*' }, 'rename'));
    expect(many.code).toBe('INVALID_ARGUMENT');
    expect(many.message).toBe(`Rename-VMSnapshot: 2 checkpoints of 'web01' match "before*" (Ids ${id(2)}, ${id(4)}); name one by its Id`);
    expect(thrownHvsimError(() => t.find({}, 'export')).message).toBe("Export-VMSnapshot: name a checkpoint of 'web01'");
  });

  it('a query: name, Id, group, type, children and parents', () => {
    const t = tree();
    const names = (q: Parameters<VMCheckpoints<Cp>['select']>[0]): string[] => t.select(q, 'get-snapshot').map((s) => s.name);
    expect(names({ vmNames: [] })).toEqual(['A', 'Before update', 'C', 'before patch']);
    expect(names({ vmNames: [], name: 'before*' })).toEqual(['Before update', 'before patch']);
    expect(names({ vmNames: [], id: id(1) })).toEqual(['A']);
    expect(names({ vmNames: [], groupId: 'g1' })).toEqual(['Before update', 'before patch']);
    // -SnapshotType keeps the checkpoints of that type
    expect(names({ vmNames: [], snapshotType: 'Standard' })).toEqual(['A', 'Before update', 'C']);
    expect(names({ vmNames: [], snapshotType: 'Recovery' })).toEqual(['before patch']);
    expect(names({ vmNames: [], snapshotType: 'Planned' })).toEqual([]);
    expect(names({ vmNames: [], childOf: 'A' })).toEqual(['Before update', 'before patch']);
    expect(names({ vmNames: [], parentOf: 'C' })).toEqual(['Before update']);
    // the VM's own name: the checkpoint Now descends from
    expect(names({ vmNames: [], parentOf: 'WEB01' })).toEqual(['C']);
  });

  it('what a removal takes: the targets, or every checkpoint without a name; subtrees on request', () => {
    const t = tree();
    expect(selectsCheckpoints({ vmNames: ['web01'] })).toBe(false);
    expect(t.removalTargets({ vmNames: ['web01'] }, 'remove').length).toBe(4);
    const [b] = t.removalTargets({ vmNames: ['web01'], name: 'Before update' }, 'remove');
    expect([...t.removedIds([b!], false)]).toEqual([id(2)]);
    expect([...t.removedIds([b!], true)].sort()).toEqual([id(2), id(3)]);
    expect([...t.removedIds([t.find({ name: 'A' }, 'remove')], true)].sort()).toEqual([id(1), id(2), id(3), id(4)]);
  });

  it('a plain checkpoint name that matched nothing is not found', () => {
    expect(() => requireNamedCheckpoint(0, 'db*', 'remove')).not.toThrow();
    expect(() => requireNamedCheckpoint(1, 'x', 'remove')).not.toThrow();
    expect(() => requireNamedCheckpoint(0, undefined, 'remove')).not.toThrow();
    expect(thrownHvsimError(() => requireNamedCheckpoint(0, 'x', 'remove')).message).toBe('Remove-VMSnapshot: Hyper-V was unable to find a checkpoint with name "x".');
    expect(thrownHvsimError(() => gatherSnapshots(['web01'], [], 'x', () => [])).message).toBe('Get-VMSnapshot: Hyper-V was unable to find a checkpoint with name "x".');
    expect(gatherSnapshots([], [], 'x', () => [])).toEqual([]);
  });
});

describe('arguments', () => {
  it('VM names: 1 to 100 characters, usable as a Windows file name', () => {
    for (const ok of ['web01', 'a', 'web[1] `x`', 'n'.repeat(MAX_NAME_LENGTH), 'Ünïcødé 🚀']) expect(() => validateVMName(ok), ok).not.toThrow();
    for (const bad of ['', '   ', 'n'.repeat(MAX_NAME_LENGTH + 1), 'x/y', 'a\\b', 'c:d', 'w*', 'q?', 'a"b', '<a>', 'p|q', 'tab\t', '.', '..', 'dot.', 'space ']) {
      const e = thrownHvsimError(() => validateVMName(bad));
      expect(e.code, bad).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe(`New-VM: "${bad}" is not a valid virtual machine name (1 to 100 characters, none of \\ / : * ? " < > |, not ending in a dot or space)`);
    }
    expect(thrownHvsimError(() => refuseTakenVMName('WEB01', ['db', 'web01'], 'hv1')).message).toBe('New-VM: a virtual machine named "WEB01" already exists on hv1');
    expect(() => refuseTakenVMName('web02', ['db', 'web01'], 'hv1')).not.toThrow();
  });

  it('checkpoint names: not blank, at most 100 characters', () => {
    expect(() => validateSnapshotName('x'.repeat(100), 'Checkpoint-VM')).not.toThrow();
    expect(thrownHvsimError(() => validateSnapshotName(' ', 'Checkpoint-VM')).message).toBe('Checkpoint-VM: the checkpoint name cannot be empty or blank.');
    expect(thrownHvsimError(() => validateSnapshotName('x'.repeat(101), 'Rename-VMSnapshot')).message).toBe(
      'Rename-VMSnapshot: the checkpoint name is 101 characters long; it may not exceed 100 characters.',
    );
  });

  it('checkpoint types and memory', () => {
    expect(() => validateCheckpointType(undefined, 'set')).not.toThrow();
    expect(() => validateCheckpointType('ProductionOnly', 'new')).not.toThrow();
    expect(thrownHvsimError(() => validateCheckpointType('Fast' as CheckpointType, 'new')).message).toBe('New-VM: unknown checkpoint type "Fast"');
    expect(thrownHvsimError(() => validateCheckpointType('Fast' as CheckpointType, 'set')).message).toBe('Set-VM: unknown checkpoint type "Fast" (use Disabled, Production, ProductionOnly, Standard)');
    expect(() => validateMemory(32 * 1024 * 1024)).not.toThrow();
    for (const bad of [32 * 1024 * 1024 - 1, 0, -1, 1.5e9 + 0.5, Number.NaN]) expect(thrownHvsimError(() => validateMemory(bad)).message).toBe('New-VM: memory must be at least 32 MiB');
  });
});
