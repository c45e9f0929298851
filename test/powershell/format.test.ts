/**
 * Console formatting as Windows PowerShell 5.1 prints it (src/powershell/format.ts).
 * Golden files in test/fixtures/ps-golden/ are compared byte for byte; regenerate them with
 * UPDATE_PS_GOLDEN=1 only after checking the difference by hand. Where a golden reproduces a real
 * transcript, the test says which (the comparison is then also made against the transcript text).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OutDefaultWriter, displayValue, formatDefault, formatError, formatListOnConsole as formatList, formatTableOnConsole as formatTable, formatWarning, positionMessage } from '../../src/powershell/format.js';
import { PsHashtable, PsObject, type PsErrorRecord } from '../../src/powershell/value.js';

const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'ps-golden');

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_PS_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.UPDATE_PS_GOLDEN !== '1') throw new Error(`missing golden ${name}; run with UPDATE_PS_GOLDEN=1 and review it`);
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const VM_T = 'Microsoft.HyperV.PowerShell.VirtualMachine';
const SNAP_T = 'Microsoft.HyperV.PowerShell.VMSnapshot';
const HDD_T = 'Microsoft.HyperV.PowerShell.HardDiskDrive';
const CUSTOM = 'System.Management.Automation.PSCustomObject';

function vm(name: string, state: string, cpu: number, memMiB: number, uptime: string, version = '9.0', status = 'Operating normally'): PsObject {
  return new PsObject(VM_T, [
    ['Name', name],
    ['VMName', name],
    ['State', state],
    ['CPUUsage', cpu],
    ['MemoryAssigned', memMiB * 1024 * 1024],
    ['Uptime', uptime],
    ['Status', status],
    ['Version', version],
    ['ComputerName', 'xHost16'],
  ]);
}

function snap(vmName: string, name: string, created: Date, parent: string | null): PsObject {
  return new PsObject(SNAP_T, [
    ['VMName', vmName],
    ['Name', name],
    ['SnapshotType', 'Standard'],
    ['CreationTime', created],
    ['ParentSnapshotName', parent],
    ['ComputerName', 'xHost16'],
  ]);
}

/** Select-Object output: typeNames Selected.<type>, then PSCustomObject. */
function select(o: PsObject, names: string[]): PsObject {
  return new PsObject([`Selected.${o.typeName}`, CUSTOM], names.map((n) => [o.canonicalName(n) ?? n, o.get(n) ?? null]));
}

const NOT_FOUND: PsErrorRecord = {
  command: 'Checkpoint-VM',
  message: 'Hyper-V was unable to find a virtual machine with name "DC01".',
  category: 'ObjectNotFound',
  targetName: '',
  reason: 'VirtualizationException',
  fullyQualifiedErrorId: 'ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM',
  line: 3,
  column: 1,
  lineText: 'Checkpoint-VM -Name DC01',
  extentLength: 24,
};

describe('seed script (Windows PowerShell 5.1, FT -AutoSize)', () => {
  const vms = [vm('SSTest1', 'Saved', 0, 0, '00:00:00'), vm('V-2012R2-Test1', 'Saved', 0, 0, '00:00:00'), vm('v-2012R2-TW01', 'Saved', 0, 0, '00:00:00')];

  it('Get-VM -Name $VMs | Select VMName,State,ComputerName | FT -AutoSize', () => {
    const out = formatTable(vms.map((v) => select(v, ['VMName', 'State', 'ComputerName'])), { autoSize: true });
    golden('seed-get-vm-select-ft-autosize.txt', out);
    // 5.1 pads the last column too (PowerShell PR #5568 removed that in 6.0): every line is as wide as the table
    const lines = out.split('\n');
    expect(lines[1]).toBe('VMName         State ComputerName');
    expect(lines[2]).toBe('------         ----- ------------');
    expect(lines[3]).toBe('SSTest1        Saved xHost16     ');
  });

  it('Get-VMSnapshot … | Select VMName, Name, ComputerName | FT -AutoSize', () => {
    const snaps = [
      snap('SSTest1', 'SSTest1 - (9/21/2014 - 7:37:31 PM)', new Date(2014, 8, 21, 19, 37, 31), null),
      snap('V-2012R2-Test1', 'V-2012R2-Test1 - (9/21/2014 - 7:37:32 PM)', new Date(2014, 8, 21, 19, 37, 32), null),
      snap('v-2012R2-TW01', 'v-2012R2-TW01 - (9/21/2014 - 7:37:33 PM)', new Date(2014, 8, 21, 19, 37, 33), null),
    ];
    golden('seed-get-vmsnapshot-select-ft-autosize.txt', formatTable(snaps.map((s) => select(s, ['VMName', 'Name', 'ComputerName'])), { autoSize: true }));
  });

  it('without -AutoSize a table whose view declares no widths is sized the same (5.x sizes from the first 300 ms of objects)', () => {
    const rows = vms.map((v) => select(v, ['VMName', 'State', 'ComputerName']));
    expect(formatTable(rows)).toBe(formatTable(rows, { autoSize: true }));
    expect(formatDefault(rows)).toBe(formatTable(rows, { autoSize: true }));
  });
});

describe('default views', () => {
  it('VirtualMachine: the documented transcript row', () => {
    const out = formatDefault([vm('RDP-Workstation', 'Running', 1, 8192, '00:03:07.0560000')]);
    golden('get-vm-default.txt', out);
    expect(out.split('\n')[3]?.trimEnd()).toBe('RDP-Workstation Running 1           8192              00:03:07.0560000 Operating normally 9.0');
  });

  it('VirtualMachine: several VMs, numbers left-aligned as the Hyper-V view shows them', () => {
    golden(
      'get-vm-default-many.txt',
      formatDefault([vm('VM-ESTELLE', 'Off', 0, 0, '00:00:00', '10.0'), vm('VM-MIRIAM', 'Running', 0, 4096, '16:25:47.5640000', '10.0')]),
    );
  });

  it('VirtualMachine on a 70-column console: reproduces the WSL docs transcript (Version hidden, Status cut to "Opera...")', () => {
    const out = formatDefault(
      [
        vm('Server17093', 'Off', 0, 0, '00:00:00', '8.0'),
        vm('Ubuntu', 'Off', 0, 0, '00:00:00', '8.0'),
        vm('Ubuntu (bionic)', 'Off', 0, 0, '00:00:00', '8.0'),
        vm('Windows', 'Off', 0, 0, '00:00:00', '8.0'),
      ],
      70,
    );
    golden('get-vm-narrow-console.txt', out);
    // transcript (MicrosoftDocs WSL interop page), trailing blanks not visible there
    expect(out.split('\n').map((l) => l.trimEnd())).toEqual([
      '',
      'Name            State CPUUsage(%) MemoryAssigned(M) Uptime   Status',
      '----            ----- ----------- ----------------- ------   ------',
      'Server17093     Off   0           0                 00:00:00 Opera...',
      'Ubuntu          Off   0           0                 00:00:00 Opera...',
      'Ubuntu (bionic) Off   0           0                 00:00:00 Opera...',
      'Windows         Off   0           0                 00:00:00 Opera...',
      '',
      '',
      '',
    ]);
  });

  it('VMSnapshot: the documented transcript row', () => {
    const out = formatDefault([snap('RDP-Workstation', 'No-Software', new Date(2023, 5, 2, 12, 14, 5), null)]);
    golden('get-vmsnapshot-default.txt', out);
    expect(out.split('\n')[3]?.trimEnd()).toBe('RDP-Workstation No-Software Standard     6/2/2023 12:14:05 PM');
  });

  it('VMSnapshot: a chain with parents, CreationTime given as host.ts ISO text', () => {
    const iso = new Date(2016, 4, 30, 11, 16, 25).toISOString();
    const s1 = snap('SRV01', 'Checkpoint1', new Date(2016, 4, 30, 11, 0, 0), null);
    const s2 = snap('SRV01', 'Checkpoint2', new Date(2016, 4, 30, 11, 5, 0), 'Checkpoint1');
    const s3 = new PsObject(SNAP_T, [...s2.names().map((n): [string, PsObject | string | null | Date] => [n, (s2.get(n) ?? null) as string | null | Date])]);
    s3.set('Name', 'savdalsr02 - (5/30/2016 - 11:16:25 AM)');
    s3.set('CreationTime', iso);
    s3.set('ParentSnapshotName', 'Checkpoint2');
    golden('get-vmsnapshot-default-chain.txt', formatDefault([s1, s2, s3]));
  });

  it('HardDiskDrive', () => {
    const d = (loc: number, path: string): PsObject =>
      new PsObject(HDD_T, [
        ['VMName', 'Zfs_Sandbox'],
        ['ControllerType', 'SCSI'],
        ['ControllerNumber', 0],
        ['ControllerLocation', loc],
        ['DiskNumber', null],
        ['Path', path],
      ]);
    const out = formatDefault([d(0, 'C:\\VMs\\Zfs_Sandbox\\zfs_os.vhdx'), d(1, 'C:\\VMs\\Zfs_Sandbox\\zfs_1_A1B2C3D4-0000-4000-8000-000000000001.avhdx')]);
    golden('get-vmharddiskdrive-default.txt', out);
    expect(out.split('\n')[1]?.trimEnd()).toBe('VMName      ControllerType ControllerNumber ControllerLocation DiskNumber Path');
  });

  it('a hashtable: Name is 30 wide and Value takes the rest of the line (view with declared widths)', () => {
    const out = formatDefault([new PsHashtable([['VMName', 'DC01'], ['Disks', ['a.vhdx', 'b.avhdx']], ['Count', 3]])]);
    golden('hashtable-default.txt', out);
    for (const line of out.split('\n').filter((l) => l !== '')) expect(line.length).toBe(119);
  });
});

describe('Format-Table', () => {
  it('numbers and booleans right-aligned, header and dashes with them; $null empty; arrays {a, b}', () => {
    const rows = [
      new PsObject(CUSTOM, [['Name', 'DC01'], ['SizeBytes', 68719476736], ['Running', true], ['Disks', ['a.vhdx', 'b.avhdx']]]),
      new PsObject(CUSTOM, [['Name', 'SQL01'], ['SizeBytes', 1024], ['Running', false], ['Disks', null]]),
    ];
    const out = formatTable(rows);
    golden('ft-alignment.txt', out);
    expect(out).toContain('  SizeBytes');
    expect(out).toContain('{a.vhdx, b.avhdx}');
  });

  it('explicit -Property picks and orders columns, spelled as the object spells them', () => {
    golden('ft-properties.txt', formatTable([vm('DC01', 'Running', 3, 2048, '01:02:03')], { properties: ['state', 'name', 'memoryassigned'] }));
  });

  it('a too-wide table: the last column is cut with "..." (three dots in 5.1), then hidden', () => {
    const long = 'C:\\ClusterStorage\\Volume1\\Hyper-V\\Virtual Hard Disks\\DC01\\DC01_C6F1A9E2-8D57-4B7E-9C1A-2F3B4D5E6F70.avhdx';
    const rows = [new PsObject(CUSTOM, [['VMName', 'DC01'], ['Path', long]])];
    const out = formatTable(rows, { width: 80 });
    golden('ft-truncate.txt', out);
    expect(out).toContain('...');
    expect(out).not.toContain('…');
    expect(formatTable(rows, { width: 8 })).toBe('\nVMName\n------\nDC01  \n\n\n');
  });

  it('a column narrower than its label wraps the label (header on several lines)', () => {
    const rows = [new PsObject(CUSTOM, [['A', 'x'.repeat(60)], ['Long header label', 'y'.repeat(60)]])];
    const out = formatTable(rows, { width: 70 });
    golden('ft-header-wrap.txt', out);
    expect(out.split('\n').slice(1, 4).map((l) => l.slice(61).trimEnd())).toEqual(['Long', 'header', 'label']);
  });

  it('multi-line cell values show their first line and "..." (the column is still sized by the whole text)', () => {
    expect(formatTable([new PsObject(CUSTOM, [['Notes', 'line one\nline two']])])).toBe('\nNotes            \n-----            \nline one...      \n\n\n');
  });
});

describe('Format-List', () => {
  it('labels padded to the longest, " : ", long values wrapped under the value', () => {
    const o = new PsObject(CUSTOM, [
      ['Name', 'DC01'],
      ['ParentSnapshotName', null],
      ['Notes', 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.'],
      ['Path', 'first line\nsecond line'],
    ]);
    const out = formatList([o, o], { properties: undefined });
    golden('fl-wrap.txt', out);
    expect(out.startsWith('\n\nName               : DC01\n')).toBe(true);
  });

  it('-Property and a Hyper-V object', () => {
    golden('fl-vm-properties.txt', formatList([vm('DC01', 'Running', 3, 2048, '01:02:03')], { properties: ['Name', 'State', 'MemoryAssigned', 'Uptime'] }));
  });
});

describe('Out-Default', () => {
  it('scalars: one per line, no blank lines', () => {
    expect(formatDefault(['a', 1, true, 1.5, null, 0.000001, 1e15, [2, 'b']])).toBe('a\n1\nTrue\n1.5\n1E-06\n1000000000000000\n2\nb\n');
  });

  it('a date on its own: blank line, long date, blank line', () => {
    expect(formatDefault([new Date(2018, 2, 11, 19, 54, 5)])).toBe('\nSunday, March 11, 2018 7:54:05 PM\n\n');
  });

  it('a custom object with 4 properties is a table, with 5 a list', () => {
    const four = new PsObject(CUSTOM, [['A', 1], ['B', 2], ['C', 3], ['D', 4]]);
    const five = new PsObject(CUSTOM, [['A', 1], ['B', 2], ['C', 3], ['D', 4], ['E', 5]]);
    expect(formatDefault([four])).toBe('\nA B C D\n- - - -\n1 2 3 4\n\n\n');
    expect(formatDefault([five])).toBe('\n\nA : 1\nB : 2\nC : 3\nD : 4\nE : 5\n\n\n\n');
  });

  it('mixed output: later objects of another type are lists in place, strings in place, one trailing pair of blank lines', () => {
    const out = formatDefault([
      vm('DC01', 'Running', 3, 2048, '01:02:03'),
      snap('DC01', 'Before patch', new Date(2024, 0, 15, 9, 30, 0), null),
      'checkpoint taken',
      vm('SQL01', 'Off', 0, 0, '00:00:00'),
    ]);
    golden('mixed-types.txt', out);
  });

  it('custom objects of the same type keep the first object\'s columns (the second one\'s extra property is not shown)', () => {
    const out = formatDefault([new PsObject(CUSTOM, [['a', 1]]), new PsObject(CUSTOM, [['b', 2]])]);
    expect(out).toBe('\na\n-\n1\n \n\n\n');
  });

  it('a writer carries the context across statements and closes it before pre-formatted output', () => {
    const w = new OutDefaultWriter();
    let s = w.write([vm('DC01', 'Running', 3, 2048, '01:02:03')]);
    expect(s).toBe('\n'); // the table waits for its widths
    s += w.write([vm('SQL01', 'Off', 0, 0, '00:00:00')]);
    s += w.writeFormatted(formatWarning('merge pending'));
    s += w.end();
    expect(s).toBe(formatDefault([vm('DC01', 'Running', 3, 2048, '01:02:03'), vm('SQL01', 'Off', 0, 0, '00:00:00')]) + 'WARNING: merge pending\n');
  });
});

describe('errors (NormalView)', () => {
  it('script run with -File: "At <path>:<line> char:<col>"', () => {
    const out = formatError({ ...NOT_FOUND, scriptPath: 'C:\\scripts\\x.ps1' });
    golden('error-file.txt', out);
    expect(out).toBe(
      [
        'Checkpoint-VM : Hyper-V was unable to find a virtual machine with name "DC01".',
        'At C:\\scripts\\x.ps1:3 char:1',
        '+ Checkpoint-VM -Name DC01',
        '+ ~~~~~~~~~~~~~~~~~~~~~~~~',
        '    + CategoryInfo          : ObjectNotFound: (:) [Checkpoint-VM], VirtualizationException',
        '    + FullyQualifiedErrorId : ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM',
        ' ',
        '',
      ].join('\n'),
    );
  });

  it('script from stdin: "At line:<line> char:<col>"', () => {
    golden('error-stdin.txt', formatError(NOT_FOUND));
    expect(formatError(NOT_FOUND).split('\n')[1]).toBe('At line:3 char:1');
  });

  it('matches test/fixtures/powershell/error-checkpoint-vm-not-found-classic.json (line endings aside)', () => {
    const fx = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'powershell', 'error-checkpoint-vm-not-found-classic.json'), 'utf8')) as { text: string };
    const rec: PsErrorRecord = { ...NOT_FOUND, line: 1, lineText: "Checkpoint-VM -Name DC01 -SnapshotName 'Base'", extentLength: 46 };
    expect(formatError(rec)).toBe(fx.text.replace(/\r\n/g, '\n'));
  });

  it('long messages wrap at word boundaries at 119 columns; long category lines are cut at 114 and run on', () => {
    const rec: PsErrorRecord = {
      command: 'Remove-VMSnapshot',
      message:
        "'Win10Ent' failed to remove checkpoint. Cannot delete checkpoint: The system cannot find the file specified. (0x80070002). Virtual machine failed to generate VHD tree.",
      category: 'NotSpecified',
      targetName: 'Microsoft.HyperV.PowerShell.VMSnapshot',
      reason: 'VirtualizationException',
      fullyQualifiedErrorId: 'OperationFailed,Microsoft.HyperV.PowerShell.Commands.RemoveVMSnapshot'.padEnd(130, 'X'),
      line: 12,
      column: 5,
      lineText: '    Get-VMSnapshot -VMName $vm | Remove-VMSnapshot',
      extentLength: 46,
    };
    const out = formatError({ ...rec, scriptPath: 'C:\\lab\\cleanup.ps1', targetType: 'VMSnapshot', activity: 'Remove-VMSnapshot' });
    golden('error-wrap.txt', out);
    for (const l of out.split('\n')) expect(l.length).toBeLessThanOrEqual(119);
  });

  it('real transcripts: a long command line is cut to 69 characters with " ..." / "... "', () => {
    // Azure Automation troubleshooting doc (5.1 host)
    expect(
      positionMessage(
        undefined,
        3,
        1,
        'Connect-AzureRmAccount -ServicePrincipal -Tenant $Conn.TenantID -ApplicationId $Conn.ApplicationID -CertificateThumbprint $Conn.CertificateThumbprint',
        150,
      ),
    ).toBe('At line:3 char:1\n+ Connect-AzureRmAccount -ServicePrincipal -Tenant $Conn.TenantID -Appl ...\n+ ' + '~'.repeat(69));
    // a parse error at the end of a long line (download_LLEA.ps1:28 char:78)
    const src = `if ($failed.Count -gt 0) { Write-Host "ERROR: $($failed -join ',')"; exit 1 }}`;
    expect(src.length).toBe(78);
    expect(positionMessage('C:\\Program Files\\LLEA\\download_LLEA.ps1', 28, 78, src, 1)).toBe(
      `At C:\\Program Files\\LLEA\\download_LLEA.ps1:28 char:78\n+ ... ed.Count -gt 0) { Write-Host "ERROR: $($failed -join ',')"; exit 1 }}\n+ ${' '.repeat(72)}~`,
    );
  });

  it('real transcript: a target name over 40 characters is shown as 15 + "..." + 15', () => {
    const out = formatError({
      command: 'Save-Package',
      message: 'x',
      category: 'ObjectNotFound',
      targetName: 'Microsoft.PowerShell.PackageManagement.Cmdlets.SavePackage',
      targetType: 'SavePackage',
      reason: 'Exception',
      fullyQualifiedErrorId: 'NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement.Cmdlets.SavePackage',
      line: 0,
      column: 0,
      lineText: '',
      extentLength: 0,
    });
    // (the transcript's line was cut by the console after "Exceptio")
    expect(out).toContain('    + CategoryInfo          : ObjectNotFound: (Microsoft.Power...ets.SavePackage:SavePackage) [Save-Package], Exceptio');
    expect(out.startsWith('Save-Package : x\n    + CategoryInfo')).toBe(true);
  });

  it('a parse error shows its position before the message', () => {
    const out = formatError({
      command: null,
      message: "Missing '(' after 'if' in if statement.",
      category: 'ParserError',
      targetName: '',
      reason: 'ParseException',
      fullyQualifiedErrorId: 'MissingOpenParenthesisInIfStatement',
      line: 2,
      column: 4,
      lineText: 'if $x {',
      extentLength: 0,
      scriptPath: 'C:\\x.ps1',
    } as PsErrorRecord);
    golden('error-parser.txt', out);
  });
});

describe('warnings and values', () => {
  it('WARNING: prefix', () => {
    golden('warning.txt', formatWarning('The checkpoint "Before patch" of DC01 is still merging.'));
  });

  it('displayValue', () => {
    expect(displayValue(null)).toBe('');
    expect(displayValue(false)).toBe('False');
    expect(displayValue([1, 2, 3, 4, 5])).toBe('{1, 2, 3, 4...}');
    expect(displayValue([])).toBe('{}');
    expect(displayValue([[1], 'a'])).toBe('{System.Object[], a}');
    expect(displayValue(new Date(2023, 5, 2, 12, 14, 5))).toBe('6/2/2023 12:14:05 PM');
    expect(displayValue(new PsObject(CUSTOM, [['a', 1], ['b', 'x']]))).toBe('@{a=1; b=x}');
    expect(displayValue(vm('DC01', 'Off', 0, 0, '00:00:00'))).toBe('Microsoft.HyperV.PowerShell.VirtualMachine');
  });
});

describe('properties', () => {
  const word = fc.stringMatching(/^[A-Za-z0-9 ._-]{0,40}$/);
  const label = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/);

  it('every line of a table fits the console, all lines are equally wide, and fitting tables show every header', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(label, { minLength: 1, maxLength: 4, selector: (s) => s.toLowerCase() }),
        fc.array(fc.array(word, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 20, max: 200 }),
        (labels, rows, width) => {
          const objs = rows.map((r) => new PsObject(CUSTOM, labels.map((l, i): [string, string] => [l, r[i] ?? ''])));
          const out = formatTable(objs, { width });
          const lines = out.split('\n');
          expect(lines[0]).toBe('');
          expect(out.endsWith('\n\n\n')).toBe(true);
          const body = lines.slice(1, -3);
          const w = body[0]!.length;
          for (const l of body) {
            expect(l.length).toBeLessThanOrEqual(width - 1);
            expect(l.length).toBe(w);
          }
          const natural = labels.reduce((s, l, i) => s + Math.max(l.length, ...rows.map((r) => (r[i] ?? '').length)), labels.length - 1);
          if (natural <= width - 1) {
            expect(body[0]!.split(/ +/).filter(Boolean)).toEqual(labels);
            expect(body.length).toBe(2 + rows.length);
          }
        },
      ),
    );
  });

  it('Format-List never exceeds the console and keeps every label', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(label, { minLength: 1, maxLength: 6, selector: (s) => s.toLowerCase() }),
        fc.array(word, { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 40, max: 200 }),
        (labels, values, width) => {
          const out = formatList([new PsObject(CUSTOM, labels.map((l, i): [string, string] => [l, values[i] ?? '']))], { width });
          for (const l of out.split('\n')) expect(l.length).toBeLessThanOrEqual(width - 1);
          for (const l of labels) expect(out).toMatch(new RegExp(`^${l} +: `, 'm'));
        },
      ),
    );
  });
});
