/**
 * Decoding what PowerShell writes (src/hyperv/decode.ts, errors.ts, request.ts) against the
 * recorded-shaped outputs in fixtures/powershell (reconstructed from the behaviour doc: see the
 * README there): 5.1 and 7 JSON of Get-VM and Get-VMSnapshot, single objects, wrapped arrays,
 * dates, TimeSpans, enums; errors as ErrorRecord JSON, classic, concise and CLIXML text, and their
 * mapping to hvsim's error codes; the group marker in Notes; the request encoding; finding
 * PowerShell; the --host values.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  addGroupMarker, checkpointKind, decodeDate, decodeIntegration, decodeSnapshot, decodeTimeSpan, decodeVhd, decodeVM, parseCmdletJson, splitGroupMarker, vmState,
} from '../../src/hyperv/decode.js';
import { errorCode, errorRecordFromJson, parseErrorText, toHvsimError } from '../../src/hyperv/errors.js';
import { Program, decodeRequest, encodeRequest, list, parseResponseLine, requestJson } from '../../src/hyperv/request.js';
import { SCRIPT, COMMANDS, encodeCommand, powershellArgs } from '../../src/hyperv/script.js';
import { findPowerShell } from '../../src/hyperv/runner.js';
import { parseHostSpec } from '../../src/hyperv/index.js';
import { HvsimError } from '../../src/errors.js';

const FIX = path.join(__dirname, '..', 'fixtures', 'powershell');
const text = (f: string): string => fs.readFileSync(path.join(FIX, f), 'utf8');
const ctx = { computerName: 'fallback' };

describe('Get-VM output', () => {
  it('5.1, one VM written bare: enums as numbers, \\/Date()\\/, a TimeSpan object, 5.1 escapes', () => {
    const objs = parseCmdletJson(text('get-vm-5.1-single.json'));
    expect(objs).toHaveLength(1);
    const { vm, rawNotes } = decodeVM(objs[0], ctx);
    expect(vm).toEqual({
      VMName: 'RDP-Workstation',
      Name: 'RDP-Workstation',
      Id: '8a3e1f6c-3d5b-4d55-9a57-0f1c2e2b9d41',
      VMId: '8a3e1f6c-3d5b-4d55-9a57-0f1c2e2b9d41',
      State: 'Running',
      Status: 'Operating normally',
      OperationalStatus: ['Ok'],
      PrimaryOperationalStatus: 'Ok',
      ComputerName: 'XHOST16',
      CheckpointType: 'Production',
      ParentSnapshotId: '5b0e27a4-96f1-4c3e-8f6e-2d8c4a7f9b10',
      ParentSnapshotName: 'No-Software',
      MemoryStartup: 8589934592,
      MemoryAssigned: 8589934592,
      CPUUsage: 1,
      Uptime: '00:03:07.0560000',
      Notes: "Remote desktop test box\r\nowner: 'lab' <it@example>",
      CreationTime: '2023-05-30T18:03:12.000Z',
      Generation: 2,
      Version: '9.0',
      Path: 'C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\RDP-Workstation',
      // Not in this older capture: the VM's Path, as Hyper-V defaults them (decode.ts).
      ConfigurationLocation: 'C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\RDP-Workstation',
      SnapshotFileLocation: 'C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\RDP-Workstation',
      CheckpointFileLocation: 'C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\RDP-Workstation',
      SmartPagingFilePath: 'C:\\ProgramData\\Microsoft\\Windows\\Hyper-V\\RDP-Workstation',
      AutomaticCheckpointsEnabled: false,
      ParentCheckpointId: '5b0e27a4-96f1-4c3e-8f6e-2d8c4a7f9b10',
      ParentCheckpointName: 'No-Software',
      HardDrives: [
        {
          VMName: 'RDP-Workstation',
          VMId: '8a3e1f6c-3d5b-4d55-9a57-0f1c2e2b9d41',
          Name: 'Hard Drive on SCSI controller number 0 at location 0',
          ControllerType: 'SCSI',
          ControllerNumber: 0,
          ControllerLocation: 0,
          Path: 'C:\\ProgramData\\Microsoft\\Windows\\Virtual Hard Disks\\RDP-Workstation_3F1D8C2A-5E0B-4C1F-9A77-61B2D4E8F093.avhdx',
          VMSnapshotId: null,
          VMSnapshotName: null,
          ComputerName: 'XHOST16',
        },
      ],
      MergeCompletionTime: null,
      GuestSupportsProductionCheckpoints: true,
    });
    expect(rawNotes).toBe(vm.Notes);
  });

  it('5.1, several VMs: Saved and merging, an OffCritical Gen 1 VM with an IDE disk', () => {
    const vms = parseCmdletJson(text('get-vm-5.1-array.json')).map((o) => decodeVM(o, ctx).vm);
    expect(vms.map((v) => [v.Name, v.State, v.OperationalStatus, v.CheckpointType, v.Generation])).toEqual([
      ['SRV01', 'Saved', ['Ok', 'MergingDisks'], 'Standard', 2],
      ['DC01', 'Off', ['Ok'], 'ProductionOnly', 1],
    ]);
    expect(vms[0]!.Status).toBe('Merging disks (38% complete)');
    expect(vms[0]!.CreationTime).toBe('2016-05-30T11:16:25.000Z');
    expect(vms[1]!.HardDrives[0]!.ControllerType).toBe('IDE');
    expect(vms[1]!.ParentSnapshotId).toBeNull();
  });

  it("5.1's wrapped arrays and dates, null Notes", () => {
    const [o] = parseCmdletJson(text('get-vm-5.1-wrapped-arrays.json'));
    const vm = decodeVM(o, ctx).vm;
    expect(vm).toMatchObject({ State: 'Paused', OperationalStatus: ['Ok'], HardDrives: [], Notes: '', Uptime: '01:00:00', CreationTime: '2023-06-02T12:14:05.000Z', VMName: 'web01', VMId: vm.Id });
  });

  it('7: enum names, ISO dates with and without offset, TimeSpan as text or object', () => {
    const vms = parseCmdletJson(text('get-vm-7.json')).map((o) => decodeVM(o, ctx).vm);
    const [a, b] = vms;
    expect(a).toMatchObject({ State: 'Running', CheckpointType: 'Production', OperationalStatus: ['Ok'], Uptime: '00:03:07.0560000', CreationTime: '2023-05-30T18:03:12.123Z' });
    expect(a!.HardDrives[0]).toMatchObject({ ControllerType: 'SCSI', VMSnapshotId: null, VMSnapshotName: null });
    expect(b).toMatchObject({ State: 'Saved', OperationalStatus: ['Ok', 'MergingDisks'], Uptime: '00:00:00', CreationTime: '2016-05-30T11:16:25.000Z', HardDrives: [] });
    // The same VM from 5.1 and from 7 decodes the same (but for the milliseconds 7 keeps).
    const fromFive = decodeVM(parseCmdletJson(text('get-vm-5.1-single.json'))[0], ctx).vm;
    expect({ ...a, CreationTime: '', Notes: '' }).toEqual({ ...fromFive, CreationTime: '', Notes: '' });
  });

  it('nothing written means no objects; a corrupt value is CORRUPT, not a guess', () => {
    expect(parseCmdletJson(null)).toEqual([]);
    expect(parseCmdletJson('')).toEqual([]);
    expect(parseCmdletJson('  \r\n')).toEqual([]);
    expect(parseCmdletJson('[]')).toEqual([]);
    expect(() => parseCmdletJson('{"Name":')).toThrow(HvsimError);
    const [o] = parseCmdletJson(text('get-vm-5.1-single.json')) as Array<Record<string, unknown>>;
    for (const bad of [{ State: 7 }, { State: 'Exploded' }, { Id: 'not-a-guid' }, { CreationTime: 'yesterday' }, { Name: null, VMName: null }]) {
      const e = (() => {
        try {
          decodeVM({ ...o, ...bad }, ctx);
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(HvsimError);
      expect((e as HvsimError).code).toBe('CORRUPT');
    }
  });
});

describe('Get-VMSnapshot output', () => {
  it('5.1: a tree of checkpoints, the disk each recorded, the group marker read and stripped', () => {
    const snaps = parseCmdletJson(text('get-vmsnapshot-5.1.json')).map((o) => decodeSnapshot(o, 'Standard', ctx).snap);
    expect(snaps.map((s) => [s.Name, s.State, s.ParentSnapshotName, s.CheckpointType, s.SnapshotType])).toEqual([
      ['Checkpoint1', 'Off', null, 'Standard', 'Standard'],
      ['Checkpoint2', 'Saved', 'Checkpoint1', 'Standard', 'Standard'],
      ['Checkpoint3', 'Running', 'Checkpoint2', 'Standard', 'Standard'],
    ]);
    expect(snaps.map((s) => s.HardDrives[0]!.Path.split('\\').pop())).toEqual([
      'SRV01.vhdx',
      'SRV01_4960DD5A-2B7C-4D1E-9F3A-8B6C5D4E3F21.avhdx',
      'SRV01_BC624811-7E6D-4C5B-A49F-3E2D1C0B9A87.avhdx',
    ]);
    expect(snaps[0]!.HardDrives[0]).toMatchObject({ VMSnapshotId: snaps[0]!.Id, VMSnapshotName: 'Checkpoint1' });
    expect(snaps.map((s) => [s.GroupId, s.GroupMembers, s.Notes])).toEqual([
      [null, null, ''],
      [null, null, ''],
      ['3f2504e0-4f89-41d3-9a0c-0305e82c3301', ['SRV01', 'SRV02'], 'web tier'],
    ]);
  });

  it('5.1, one checkpoint bare (IsAutomaticCheckpoint null on older modules); 7 with enum names', () => {
    const one = parseCmdletJson(text('get-vmsnapshot-5.1-single.json'));
    expect(one).toHaveLength(1);
    const s = decodeSnapshot(one[0], 'Production', ctx).snap;
    expect(s).toMatchObject({ VMName: 'RDP-Workstation', Name: 'No-Software', SnapshotType: 'Standard', State: 'Off', CheckpointType: 'Production', IsAutomaticCheckpoint: false, CreationTime: '2023-06-02T12:14:05.000Z' });
    const seven = decodeSnapshot(parseCmdletJson(text('get-vmsnapshot-7.json'))[0], 'Production', ctx).snap;
    expect(seven).toMatchObject({ Name: 'savdalsr02 - (5/30/2016 - 11:16:25 AM)', State: 'Saved', CheckpointType: 'Standard', ComputerName: 'SAVDALHV01', CreationTime: '2016-05-30T11:16:25.000Z', HardDrives: [] });
  });

  it("the kind of a checkpoint follows the simulator's rule read backwards", () => {
    expect(checkpointKind('Running', 'Production')).toBe('Standard');
    expect(checkpointKind('Saved', 'ProductionOnly')).toBe('Standard');
    expect(checkpointKind('Off', 'Production')).toBe('Production');
    expect(checkpointKind('Off', 'Standard')).toBe('Standard');
  });
});

describe('Get-VHD and Get-VMIntegrationService output', () => {
  const disk = {
    Path: 'C:\\VMs\\web01.vhdx', FileSize: 4194304, Size: 68719476736, MinimumSize: null, LogicalSectorSize: 512, PhysicalSectorSize: 4096,
    BlockSize: 33554432, DiskIdentifier: '5B9D1A6C-0C2E-4D7B-9A51-3C1B2E0F4A77', FragmentationPercentage: 0, Alignment: 1,
  };
  it('VirtualHardDisk: 5.1 enum numbers and 7 names; no parent is "" (null), a VHD Set is refused', () => {
    const want = { ...disk, VhdFormat: 'VHDX', VhdType: 'Dynamic', ParentPath: null };
    expect(decodeVhd(parseCmdletJson(JSON.stringify({ ...disk, VhdFormat: 3, VhdType: 3, ParentPath: '' }))[0])).toEqual(want);
    expect(decodeVhd({ ...disk, VhdFormat: 'VHDX', VhdType: 'Dynamic', ParentPath: null })).toEqual(want);
    expect(decodeVhd({ ...disk, VhdFormat: 2, VhdType: 4, ParentPath: 'C:\\b.vhd' })).toMatchObject({ VhdFormat: 'VHD', VhdType: 'Differencing', ParentPath: 'C:\\b.vhd' });
    expect(() => decodeVhd({ ...disk, VhdFormat: 4, VhdType: 3 })).toThrow(/VHDSet is not a format hvsim reads/);
    expect(() => decodeVhd({ ...disk, VhdFormat: 9, VhdType: 3 })).toThrow(HvsimError);
  });

  it('VMIntegrationComponent: empty statuses are null, the host name when the object has none', () => {
    const c = { VMName: 'web01', VMId: '6F0C1D2E-0000-4000-8000-000000000001', Name: 'VSS', Enabled: true, PrimaryStatusDescription: 'OK', SecondaryStatusDescription: '' };
    expect(decodeIntegration(c, ctx)).toEqual({ ...c, VMId: c.VMId.toLowerCase(), SecondaryStatusDescription: null, ComputerName: 'fallback' });
    expect(decodeIntegration({ ...c, Enabled: false, PrimaryStatusDescription: null, ComputerName: 'HV01' }, ctx)).toMatchObject({ Enabled: false, PrimaryStatusDescription: null, ComputerName: 'HV01' });
    expect(() => decodeIntegration({ ...c, VMId: 'x' }, ctx)).toThrow(/not a GUID/);
  });
});

describe('scalars', () => {
  it('dates in every shape', () => {
    expect(decodeDate('/Date(0)/')).toBe('1970-01-01T00:00:00.000Z');
    expect(decodeDate('\\/Date(1685708045000)\\/')).toBe('2023-06-02T12:14:05.000Z');
    expect(decodeDate('/Date(1685708045000+0200)/')).toBe('2023-06-02T12:14:05.000Z');
    expect(decodeDate('/Date(-1000)/')).toBe('1969-12-31T23:59:59.000Z');
    expect(decodeDate('2023-06-02T14:14:05.9999999+02:00')).toBe('2023-06-02T12:14:05.999Z');
    expect(decodeDate('2023-06-02T12:14:05Z')).toBe('2023-06-02T12:14:05.000Z');
    expect(decodeDate({ value: '/Date(1)/', DisplayHint: 2, DateTime: 'whatever' })).toBe('1970-01-01T00:00:00.001Z');
    expect(() => decodeDate('6/2/2023 12:14:05 PM')).toThrow(/not a date/);
  });

  it('TimeSpans as objects or text', () => {
    expect(decodeTimeSpan({ Ticks: 1870560000 })).toBe('00:03:07.0560000');
    expect(decodeTimeSpan({ TotalMilliseconds: 93_784_000 })).toBe('1.02:03:04');
    expect(decodeTimeSpan('1.02:03:04.5000000')).toBe('1.02:03:04.5000000');
    expect(decodeTimeSpan('00:00:00')).toBe('00:00:00');
    expect(decodeTimeSpan(null)).toBe('00:00:00');
  });

  it('every VMState lands on a resting state', () => {
    expect([2, 3, 6, 9].map(vmState)).toEqual(['Running', 'Off', 'Saved', 'Paused']);
    expect(['Running', 'off', 'SAVED', 'Paused'].map(vmState)).toEqual(['Running', 'Off', 'Saved', 'Paused']);
    expect([32785, 32786, 32788, 32789].map(vmState)).toEqual(['Running', 'Off', 'Saved', 'Paused']);
    expect([10, 4, 32773, 32776, 32777, 32779, 32783].map(vmState)).toEqual(['Running', 'Off', 'Saved', 'Paused', 'Running', 'Saved', 'Saved']);
    expect(vmState('2')).toBe('Running');
    expect(() => vmState(5)).toThrow(HvsimError);
  });

  it('lists: null, one value, arrays, 5.1 wrapped arrays', () => {
    expect(list(null)).toEqual([]);
    expect(list({ a: 1 })).toEqual([{ a: 1 }]);
    expect(list([1, 2])).toEqual([1, 2]);
    expect(list({ value: [1], Count: 1 })).toEqual([1]);
    expect(list({ value: [1], Count: 1, Other: 2 })).toEqual([{ value: [1], Count: 1, Other: 2 }]);
  });
});

describe('errors', () => {
  it('an ErrorRecord as 5.1 serialises it: Category 13 is ObjectNotFound → NOT_FOUND, message kept', () => {
    const rec = errorRecordFromJson(JSON.parse(text('error-checkpoint-vm-not-found-5.1.json')));
    expect(rec).toMatchObject({ FullyQualifiedErrorId: 'ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM', Category: 'ObjectNotFound', Reason: 'VirtualizationException' });
    const e = toHvsimError(rec, 'Checkpoint-VM');
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'Checkpoint-VM: Hyper-V was unable to find a virtual machine with name "DC01".']);
  });

  it('the same error as classic text on stderr', () => {
    const p = parseErrorText(JSON.parse(text('error-checkpoint-vm-not-found-classic.json')).text as string);
    expect(p?.cmdlet).toBe('Checkpoint-VM');
    expect(p?.error).toMatchObject({ FullyQualifiedErrorId: 'ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM', Category: 'ObjectNotFound', Message: 'Hyper-V was unable to find a virtual machine with name "DC01".' });
    const e = toHvsimError(p!.error, p!.cmdlet);
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'Checkpoint-VM: Hyper-V was unable to find a virtual machine with name "DC01".']);
  });

  it("Get-VM's not-found says InvalidParameter: the message makes it NOT_FOUND", () => {
    const rec = errorRecordFromJson(JSON.parse(text('error-get-vm-invalid-parameter.json')));
    expect(errorCode(rec)).toBe('NOT_FOUND');
    expect(toHvsimError(rec, 'Get-VM').message).toBe('Get-VM: Hyper-V was unable to find a virtual machine with name "nosuchvm".');
  });

  it('a multi-line Hyper-V failure keeps every line', () => {
    const p = parseErrorText(JSON.parse(text('error-remove-vmsnapshot-missing-avhdx-classic.json')).text as string)!;
    const e = toHvsimError(p.error, p.cmdlet);
    expect(e.code).toBe('INVALID_STATE');
    expect(e.message.split('\n')).toEqual([
      "Remove-VMSnapshot: 'Win10Ent' failed to remove checkpoint.",
      'Cannot delete checkpoint: The system cannot find the file specified. (0x80070002).',
      'Virtual machine failed to generate VHD tree.',
      'Failed to get VHD parent.',
      'An error occurred because the checkpoint is missing.',
      "'Win10Ent' is missing a checkpoint. The disk paths missing used to be located at: C:\\AutoLab\\VMVirtualHardDisks\\Win10Ent_DACADEC3-0B1A-4F2E-9C8D-7E6F5A4B3C2D.avhdx.",
    ]);
  });

  it("PowerShell 7's concise view: no error id, the wording makes it INVALID_STATE", () => {
    const p = parseErrorText(JSON.parse(text('error-start-vm-wrong-state-concise-7.json')).text as string)!;
    expect(p.cmdlet).toBe('Start-VM');
    const e = toHvsimError(p.error, p.cmdlet);
    expect([e.code, e.message]).toEqual(['INVALID_STATE', "Start-VM: 'web01' failed to change state.\nThe operation cannot be performed while the object is in its current state."]);
  });

  it('CLIXML on stderr (no Hyper-V module): UNSUPPORTED with a hint', () => {
    const p = parseErrorText(JSON.parse(text('error-get-vm-not-recognized-clixml.json')).text as string)!;
    expect(p.error.FullyQualifiedErrorId).toBe('CommandNotFoundException');
    const e = toHvsimError(p.error, p.cmdlet);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/^Get-VM: The term 'Get-VM' is not recognized .* \(is the Hyper-V PowerShell module installed on that host\?\)$/);
  });

  it('the code table', () => {
    const code = (FullyQualifiedErrorId: string, Category: string, Message = 'x'): string => errorCode({ FullyQualifiedErrorId, Category, Message });
    expect(code('ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.GetVMSnapshot', 'ObjectNotFound')).toBe('NOT_FOUND');
    expect(code('InvalidState,Microsoft.HyperV.PowerShell.Commands.StartVM', 'InvalidOperation')).toBe('INVALID_STATE');
    expect(code('OperationFailed,X', 'NotSpecified', 'The operation cannot be performed while the virtual machine is in its current state.')).toBe('INVALID_STATE');
    expect(code('OperationFailed,X', 'NotSpecified', "Production checkpoints cannot be created for 'x'.")).toBe('INVALID_STATE');
    expect(code('NamedParameterNotFound,Microsoft.HyperV.PowerShell.Commands.SetVM', 'InvalidArgument')).toBe('INVALID_ARGUMENT');
    expect(code('ParameterArgumentValidationError,X', 'InvalidData')).toBe('INVALID_ARGUMENT');
    expect(code('UnauthorizedAccess,X', 'PermissionDenied')).toBe('IO');
    expect(code('X', 'ResourceBusy')).toBe('BUSY');
    expect(code('CommandNotFoundException', 'ObjectNotFound')).toBe('UNSUPPORTED');
    expect(code('OperationFailed,X', 'NotSpecified', 'disk full')).toBe('INVALID_STATE');
  });
});

describe("hvsim's script and requests", () => {
  it('an answer line as 5.1 writes it: wrapped arrays, escapes, failed and skipped steps', () => {
    const r = parseResponseLine(text('script-answer-5.1.json').trim());
    if ('ready' in r || !r.ok) throw new Error('expected an answer');
    expect(r.id).toBe(7);
    expect(r.steps.map((s) => s.s)).toEqual(['ok', 'ok', 'failed', 'skipped']);
    expect(r.steps[1]!.e).toEqual([]);
    expect(parseCmdletJson(r.steps[1]!.j)).toEqual([{ Name: 'web01', Id: '11111111-2222-4333-8444-555555555555', State: 2, CreationTime: '/Date(1685708045000)/', Notes: "café 'x'" }]);
    expect(toHvsimError(r.steps[2]!.e[0]!, 'Start-VM').code).toBe('INVALID_STATE');
  });

  it('requests carry every string tagged, and decode to exactly what was sent (any text)', () => {
    const p = new Program();
    const a = p.cmd('Get-VM', { ComputerName: 'h' }, {}, { o: ['Name'] });
    const f = p.filter(a, 'Id', ['x'], { n: 1 });
    p.cmd('Checkpoint-VM', { SnapshotName: '2024-01-02T09:00:00Z', Passthru: true, Size: 5 }, { VM: f }, { d: [a] });
    const json = JSON.parse(requestJson({ id: 1, steps: p.steps })) as { steps: Array<Record<string, unknown>> };
    expect(json.steps[0]).toEqual({ c: 's:Get-VM', p: { ComputerName: 's:h' }, o: ['s:Name'] });
    expect(json.steps[1]).toEqual({ f: 0, k: 's:Id', v: ['s:x'], n: 1 });
    expect(json.steps[2]).toEqual({ c: 's:Checkpoint-VM', p: { SnapshotName: 's:2024-01-02T09:00:00Z', Passthru: true, Size: 5 }, r: { VM: 1 }, d: [0] });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.array(fc.string({ unit: 'grapheme', maxLength: 10 }), { maxLength: 3 }), (s, xs) => {
        const q = new Program();
        q.cmd('Rename-VMSnapshot', { NewName: s, Names: xs }, {});
        const line = encodeRequest({ id: 3, steps: q.steps });
        expect(line).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
        expect(decodeRequest(line)).toEqual({ id: 3, steps: q.steps });
      }),
      { numRuns: 300 },
    );
  });

  it('the script is fixed text with no way to run data as code', () => {
    // No expandable ("…") strings at all, no dynamic invocation; one call operator, on a command from the table.
    expect(SCRIPT).not.toContain('"');
    for (const bad of [/Invoke-Expression/i, /\biex\b/i, /ScriptBlock\]::Create/i, /NewScriptBlock/i, /InvokeScript/i, /Add-Type/i, /Start-Process/i, /\.Invoke\(/i, /EncodedCommand/i])
      expect(SCRIPT).not.toMatch(bad);
    expect(SCRIPT.match(/&\s*\$/g)).toEqual(['& $']);
    expect(SCRIPT).toContain('$cmd=$HvCommands[(HvText $s.c)]');
    expect(SCRIPT).toContain('& $cmd @a ');
    for (const [k, v] of Object.entries(COMMANDS)) expect(SCRIPT).toContain(`'${k}'='${v}'`);
    expect(powershellArgs()).toEqual(['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encodeCommand(SCRIPT)]);
    expect(Buffer.from(powershellArgs()[4]!, 'base64').toString('utf16le')).toBe(SCRIPT);
    // Windows' command line holds 32767 characters.
    expect(powershellArgs().join(' ').length).toBeLessThan(32_000);
  });
});

describe('the group marker in Notes', () => {
  it('round-trips any notes and members; only a last line is a marker', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.uuid(), fc.option(fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }), { nil: null }), (notes, id, members) => {
        const marked = addGroupMarker(notes, { GroupId: id, GroupMembers: members });
        expect(splitGroupMarker(marked)).toEqual({ notes, group: { GroupId: id, GroupMembers: members } });
        expect(splitGroupMarker(marked.replace('\n[hvsim', '\r\n[hvsim'))).toEqual({ notes, group: { GroupId: id, GroupMembers: members } });
      }),
    );
    expect(splitGroupMarker('[hvsim-group] {"GroupId":"g"}\nmore')).toEqual({ notes: '[hvsim-group] {"GroupId":"g"}\nmore', group: null });
    expect(splitGroupMarker('x\n[hvsim-group] {broken')).toEqual({ notes: 'x\n[hvsim-group] {broken', group: null });
  });
});

describe('finding PowerShell and --host', () => {
  it('HVSIM_POWERSHELL (a path or a name on PATH), else powershell.exe, pwsh on PATH', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-find-'));
    try {
      const mk = (n: string, exec = true): string => {
        const p = path.join(dir, n);
        fs.writeFileSync(p, '#!/bin/sh\n');
        fs.chmodSync(p, exec ? 0o755 : 0o644);
        return p;
      };
      const pwsh = mk('pwsh');
      expect(findPowerShell({ PATH: dir })).toBe(pwsh);
      const ps = mk('powershell.exe');
      expect(findPowerShell({ PATH: `/nonexistent${path.delimiter}${dir}` })).toBe(ps);
      const custom = mk('my-ps');
      expect(findPowerShell({ PATH: '', HVSIM_POWERSHELL: custom })).toBe(custom);
      expect(findPowerShell({ PATH: dir, HVSIM_POWERSHELL: 'my-ps' })).toBe(custom);
      mk('not-exec', false);
      expect(() => findPowerShell({ PATH: dir, HVSIM_POWERSHELL: path.join(dir, 'not-exec') })).toThrow(/not an executable/);
      expect(() => findPowerShell({ PATH: dir, HVSIM_POWERSHELL: 'nope' })).toThrow(/not on PATH/);
      let e: unknown;
      try {
        findPowerShell({ PATH: '/nonexistent' });
      } catch (x) {
        e = x;
      }
      expect((e as HvsimError).code).toBe('NOT_FOUND');
      expect((e as HvsimError).message).toMatch(/HVSIM_POWERSHELL/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--host values', () => {
    expect(parseHostSpec(undefined)).toEqual({ kind: 'sim' });
    expect(parseHostSpec('sim')).toEqual({ kind: 'sim' });
    expect(parseHostSpec('hyperv')).toEqual({ kind: 'hyperv' });
    expect(parseHostSpec('HyperV:xHost16.lab.local')).toEqual({ kind: 'hyperv', computerName: 'xHost16.lab.local' });
    expect(parseHostSpec('hyperv:10.0.0.5')).toEqual({ kind: 'hyperv', computerName: '10.0.0.5' });
    for (const bad of ['vmware', 'hyperv:', 'hyperv:a b', "hyperv:x';calc", 'hyperv:$(x)'])
      expect(() => parseHostSpec(bad)).toThrow(HvsimError);
  });
});
