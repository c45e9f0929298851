/**
 * hvsim run's PowerShell subset on an in-memory simulator: literals and variables, strings with
 * $var and $(…), numbers with multipliers, operators, foreach/if, pipelines and parameter binding
 * (names, aliases, prefixes, positions, switches, pipeline input by value), the utility cmdlets,
 * error records and -ErrorAction/$ErrorActionPreference, -WhatIf/-Confirm, -ComputerName,
 * typographic quotes, and unsupported constructs stopping the run with their line named.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/simulator.js';
import { simHost } from '../helpers/sim-host.js';
import { UnsupportedError, ScriptSyntaxError } from '../../src/powershell/index.js';
import { runPs } from '../helpers/powershell.js';

const START = Date.UTC(2024, 0, 15, 9, 0, 0);

async function host(vms: Array<[string, boolean]> = [['web01', true], ['db01', false]]): Promise<Simulator> {
  const h = simHost({ computerName: 'HV1', startTime: START });
  for (const [n, running] of vms) {
    await h.newVM({ name: n, checkpointType: 'Standard' });
    if (running) await h.startVM([n]);
  }
  return h;
}

const snapNames = async (h: Simulator, vm: string): Promise<string[]> => (await h.getVMSnapshot({ vmNames: [vm] })).map((s) => s.Name).sort();

describe('language subset', () => {
  it('variables, strings, subexpressions, numbers with multipliers, arrays, hashtables', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        "$n = 'web01'; $size = 5MB + 1KB",
        '$list = "a","b", \'c\'',
        '$h = @{ Name = "x"; Count = 2 }',
        'Write-Host "vm=$n size=$size count=$($list.Count) up=$($n.ToUpper()) h=$($h.Name)$($h.Count) first=$($list[0]) last=$($list[-1])"',
        "Write-Host 'literal $n' \"tab`there\" @(1,2).Count",
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.out).toBe('vm=web01 size=5243904 count=3 up=WEB01 h=x2 first=a last=c\nliteral $n tab\there 2\n');
  });

  it('$null = … discards the value (the command still runs); $true cannot be assigned', async () => {
    const h = await host();
    const r = await runPs(h, "$null = Checkpoint-VM web01 kept -Passthru\n$null = 5\nWrite-Output 'after'\n$true = 1\n");
    expect(r.out).toBe('after\n');
    expect(await snapNames(h, 'web01')).toEqual(['kept']);
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual(['VariableNotWritable']);
  });

  it("hvsim's own properties (GroupId, MergeCompletionTime …) are readable but not listed, like hidden members", async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'c1', groupId: 'g-1', groupMembers: ['web01'] });
    const r = await runPs(h, "Get-VMSnapshot -VMName web01 | Format-List *\n$s = Get-VMSnapshot -VMName web01\nWrite-Output \"group=$($s.GroupId)\"\n");
    expect(r.errors).toEqual([]);
    expect(r.out).toMatch(/^Name +: c1$/m);
    expect(r.out).toMatch(/^ParentSnapshotName +: $/m);
    expect(r.out).not.toMatch(/^(GroupId|GroupMembers|CheckpointType) +:/m);
    expect(r.out).toContain('group=g-1\n');
    const vm = await runPs(h, 'Get-VM web01 | Format-List *\n');
    expect(vm.out).toMatch(/^CheckpointType +: Standard$/m); // a real VM property
    expect(vm.out).not.toMatch(/^(MergeCompletionTime|GuestSupportsProductionCheckpoints) +:/m);
  });

  it('Group-Object: groups in order of first appearance, Count/Name/Group, -NoElement, a calculated key', async () => {
    const h = await host([['web01', true], ['web02', false], ['db01', true], ['DB02', false]]);
    const r = await runPs(h, [
      'Get-VM | Group-Object State | Format-Table Count, Name -AutoSize',
      '$g = Get-VM | group { $_.Name.Substring(0, 2) }',
      'Write-Output "$($g.Count) groups: $($g[0].Name)=$($g[0].Count) $($g[1].Name)=$($g[1].Count) first=$($g[1].Group[0].Name)"',
      '(Get-VM | Group-Object State -NoElement)[0].Group -eq $null',
      '(Get-VM | Sort-Object { $_.Name.Length }, Name | Select-Object -First 1).Name',
    ].join('\n'));
    expect(r.errors).toEqual([]);
    const rows = r.out.split('\n').map((l) => l.trimEnd()).filter((l) => /^ +\d+ \w+$/.test(l));
    expect(rows).toEqual(['    2 Running', '    2 Off']);
    expect(r.out).toContain('2 groups: we=2 db=2 first=db01\n');
    expect(r.out).toContain('True\ndb01\n');
  });

  it('comparisons are case-insensitive, -c variants are not; -and/-or/-not; arrays filter', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        "Write-Host ('ABC' -eq 'abc') ('ABC' -ceq 'abc') ('web01' -like 'WEB*') ('x' -notlike 'y*') ('Saved' -match '^sa')",
        "Write-Host (3 -lt 10) ('3' -gt 10) (5 -ge 5) (1,2,3 -contains 2) ('b' -in 'a','B') (-not $true) (!$false -and ($null -eq $null) -or $false)",
        "Write-Host ((1,2,3,4) -gt 2).Count",
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    // '3' -gt 10 compares as strings, as PowerShell does
    expect(r.out).toBe('True False True True True\nTrue True True True True False True\n2\n');
  });

  it('foreach, if / elseif / else, member access and member enumeration', async () => {
    const h = await host([['web01', true], ['db01', false], ['app01', false]]);
    await h.setVM(['app01'], { notes: 'keep' });
    const r = await runPs(
      h,
      [
        'foreach ($vm in Get-VM) {',
        "  if ($vm.State -eq 'running') { Write-Host \"$($vm.Name) up\" }",
        "  elseif ($vm.Notes -eq 'KEEP') { Write-Host \"$($vm.Name) kept\" }",
        '  else { Write-Host "$($vm.Name) down" }',
        '}',
        '$paths = (Get-VM).HardDrives.Path',
        'Write-Host $paths.Count ($paths[0] -like "*.vhdx")',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.out.split('\n').filter(Boolean).sort()).toEqual(['3 True', 'app01 kept', 'db01 down', 'web01 up'].sort());
  });

  it('Get-Date is the host clock; (Get-Date).AddDays(-90) compares with CreationTime', async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'old' });
    await h.advance(100 * 86_400_000);
    const r = await runPs(h, "$c = Get-VMSnapshot web01 old\nWrite-Host ($c.CreationTime -lt (Get-Date).AddDays(-90)) ($c.CreationTime -lt (Get-Date).AddDays(-120)) (Get-Date).Year");
    expect(r.out).toBe('True False 2024\n');
  });
});

describe('cmdlets and binding', () => {
  it('named, positional, prefix and alias parameters; switches; -Passthru', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        'Checkpoint-VM web01 first',
        'Checkpoint-VM -VMName web01 -CheckpointName second',
        'Checkpoint-VM -Na web01 -Snap third -Passthru | ForEach-Object { Write-Host "made $($_.Name)" }',
        'Stop-VM web01 -Save',
        'Rename-VMCheckpoint first web01 renamed',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.out).toBe('made third\n');
    expect(await snapNames(h, 'web01')).toEqual(['renamed', 'second', 'third']);
    expect((await h.getVM(['web01']))[0]!.State).toBe('Saved');
  });

  it('pipeline input by value: VMs into Checkpoint-VM, checkpoints through Where-Object into Remove-VMSnapshot', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        "Get-VM | Where-Object { $_.State -eq 'Running' } | Checkpoint-VM -SnapshotName piped",
        'Checkpoint-VM db01 a; Checkpoint-VM db01 b',
        "Get-VMSnapshot -VMName db01 | ? Name -eq 'a' | Remove-VMSnapshot",
        'Get-VMCheckpoint db01 | % Name | Write-Host',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(await snapNames(h, 'web01')).toEqual(['piped']);
    expect(await snapNames(h, 'db01')).toEqual(['b']);
    expect(r.out).toBe('b\n');
  });

  it('an empty pipeline does not run the next cmdlet', async () => {
    const h = await host();
    const r = await runPs(h, 'Get-VMSnapshot -VMName web01 | Remove-VMSnapshot\nWrite-Host done');
    expect(r.errors).toEqual([]);
    expect(r.out).toBe('done\n');
  });

  it('Remove-VMSnapshot returns while the merge runs; -IncludeAllChildSnapshots removes the subtree', async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'root' });
    await h.writeGuest('web01', new Uint8Array(1 << 20).fill(7), 0);
    await h.checkpointVM(['web01'], { snapshotName: 'child' });
    await h.writeGuest('web01', new Uint8Array(1 << 20).fill(8), 0);
    const r = await runPs(h, "Remove-VMSnapshot -VMName web01 -Name root -IncludeAllChildSnapshots\nWrite-Host ((Get-VM web01).OperationalStatus -contains 'MergingDisks')");
    expect(r.errors).toEqual([]);
    expect(r.out).toBe('True\n');
    expect(await snapNames(h, 'web01')).toEqual([]);
    await h.waitVM(['web01']);
    expect((await h.readGuest('web01', 0, 1))[0]).toBe(8);
  });

  it('Select-Object / Sort-Object / Measure-Object, calculated properties, Format-Table and Format-List', async () => {
    const h = await host([['b-vm', false], ['a-vm', true], ['c-vm', false]]);
    const r = await runPs(
      h,
      [
        'Get-VM | Sort-Object Name -Descending | Select-Object -First 2 | ForEach-Object { Write-Host $_.Name }',
        "Get-VM | Select-Object -Property Name, @{n='Upper';e={$_.Name.ToUpper()}} | Sort Name | Select -Last 1 | % { Write-Host $_.Upper }",
        "Write-Host (Get-VM | Where-Object State -eq 'Off' | Measure-Object).Count",
        "Get-VM a-vm | Format-Table Name, @{Label='Mem';Expression={$_.MemoryStartup / 1MB}} -AutoSize",
        'Get-VM a-vm | Format-List Name, State',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    const ls = r.out.split('\n');
    expect(ls.slice(0, 4)).toEqual(['c-vm', 'b-vm', 'C-VM', '2']);
    expect(r.out).toMatch(/Name\s+Mem\n-+\s+-+\na-vm\s+1024/);
    expect(r.out).toMatch(/Name\s*: a-vm\nState\s*: Running/);
  });

  it('one Out-Default for the whole script, as powershell.exe -File: a table spans statements, another type after it comes out as a list', async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'before' });
    const r = await runPs(h, 'Get-VM web01\nGet-VM db01\nGet-VMSnapshot -VMName web01\n');
    expect(r.errors).toEqual([]);
    const lines = r.out.split('\n').map((l) => l.trimEnd());
    // One VM table with both rows (one header), then the checkpoint as a list.
    expect(lines.filter((l) => /^Name\s+State\s+CPUUsage\(%\)/.test(l))).toHaveLength(1);
    const row = (n: string): number => lines.findIndex((l) => l.startsWith(`${n} `));
    expect(row('db01')).toBe(row('web01') + 1);
    const list = lines.findIndex((l) => /^VMName +: web01$/.test(l));
    expect(list).toBeGreaterThan(row('db01'));
    expect(lines[list + 2]).toMatch(/^Name +: before$/);
    expect(r.out).not.toMatch(/^VMName\s+Name\s+SnapshotType/m);
  });

  it('comma-separated arguments with and without blanks, barewords and expressions mixed', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        "$p = 'State'",
        "Get-VM web01 | Select 'Name', $p | % { Write-Host $_.Name $_.State }",
        'Get-VM web01 | Select Name, "State" | % { Write-Host $_.Name $_.State }',
        "Get-VM web01 | Select Name, @{n='S';e={$_.State}} | % { Write-Host $_.Name $_.S }",
        'Stop-VM -Name web01,db01 -TurnOff -WarningAction SilentlyContinue',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.out).toBe('web01 Running\nweb01 Running\nweb01 Running\n');
    expect((await h.getVM()).map((v) => v.State)).toEqual(['Off', 'Off']);
  });

  it('unknown parameters, ambiguous prefixes and missing arguments are binding errors', async () => {
    const h = await host();
    const r = await runPs(h, 'Get-VM -Frobnicate 1\nCheckpoint-VM -C web01\nCheckpoint-VM -Name\nWrite-Host after');
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual([
      'NamedParameterNotFound,Microsoft.HyperV.PowerShell.Commands.GetVM',
      'AmbiguousParameter,Microsoft.HyperV.PowerShell.Commands.CheckpointVM',
      'MissingArgument,Microsoft.HyperV.PowerShell.Commands.CheckpointVM',
    ]);
    expect(r.errors[1]!.message).toMatch(/^Parameter cannot be processed because the parameter name 'C' is ambiguous\. Possible matches include: .*-ComputerName -CimSession -Credential/);
    expect(r.out).toBe('after\n');
  });
});

describe('errors', () => {
  it('a failing cmdlet writes an ErrorRecord and the script goes on', async () => {
    const h = await host();
    const r = await runPs(h, 'Checkpoint-VM -Name DC01\nCheckpoint-VM web01 ok');
    expect(r.exitCode).toBe(0);
    expect(r.errors).toHaveLength(1);
    const e = r.errors[0]!;
    expect(e).toMatchObject({
      command: 'Checkpoint-VM',
      message: 'Hyper-V was unable to find a virtual machine with name "DC01".',
      category: 'ObjectNotFound',
      reason: 'VirtualizationException',
      fullyQualifiedErrorId: 'ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM',
      line: 1,
      column: 1,
      lineText: 'Checkpoint-VM -Name DC01',
    });
    expect(r.err).toContain('Checkpoint-VM : Hyper-V was unable to find a virtual machine with name "DC01".');
    expect(r.err).toContain('FullyQualifiedErrorId : ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM');
    expect(await snapNames(h, 'web01')).toEqual(['ok']);
  });

  it('wrong state maps to InvalidOperation', async () => {
    const h = await host();
    const r = await runPs(h, 'Suspend-VM db01');
    expect(r.errors[0]).toMatchObject({ category: 'InvalidOperation', fullyQualifiedErrorId: 'InvalidOperation,Microsoft.HyperV.PowerShell.Commands.SuspendVM' });
  });

  it('-ErrorAction Stop and $ErrorActionPreference = Stop end the script with exit code 1', async () => {
    const h = await host();
    let r = await runPs(h, 'Get-VM nope -ErrorAction Stop\nCheckpoint-VM web01 never');
    expect(r.exitCode).toBe(1);
    expect(r.terminatingError?.command).toBe('Get-VM');
    expect(await snapNames(h, 'web01')).toEqual([]);
    r = await runPs(h, "$ErrorActionPreference = 'Stop'\nNo-Such-Cmdlet\nCheckpoint-VM web01 never");
    expect(r.exitCode).toBe(1);
    expect(r.terminatingError?.fullyQualifiedErrorId).toBe('CommandNotFoundException');
    expect(await snapNames(h, 'web01')).toEqual([]);
  });

  it('-ErrorAction SilentlyContinue hides the error but records it in $Error', async () => {
    const h = await host();
    const r = await runPs(h, 'Get-VM nope -ea SilentlyContinue\nWrite-Host $Error.Count $Error[0].FullyQualifiedErrorId');
    expect(r.err).toBe('');
    expect(r.out).toBe('1 InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM\n');
  });

  it('an unknown command is CommandNotFoundException', async () => {
    const h = await host();
    const r = await runPs(h, 'Get-Frobs');
    expect(r.errors[0]).toMatchObject({ fullyQualifiedErrorId: 'CommandNotFoundException', category: 'ObjectNotFound' });
    expect(r.errors[0]!.message).toMatch(/^The term 'Get-Frobs' is not recognized as the name of a cmdlet, function, script file, or operable program\./);
    expect(r.err).toMatch(/^Get-Frobs : The term 'Get-Frobs' is not recognized/);
  });

  it('throw and exit', async () => {
    const h = await host();
    expect((await runPs(h, 'exit 7\nCheckpoint-VM web01 never')).exitCode).toBe(7);
    const r = await runPs(h, 'throw "stop here"\nCheckpoint-VM web01 never');
    expect(r.exitCode).toBe(1);
    expect(r.terminatingError?.message).toBe('stop here');
    expect(await snapNames(h, 'web01')).toEqual([]);
  });
});

describe('-WhatIf, -Confirm, -ComputerName', () => {
  it('-WhatIf prints what would happen and changes nothing', async () => {
    const h = await host();
    const r = await runPs(h, 'Stop-VM web01 -WhatIf\nCheckpoint-VM web01 x -WhatIf');
    expect(r.out).toBe('What if: Performing the operation "Stop-VM" on target "web01".\nWhat if: Performing the operation "Checkpoint-VM" on target "web01".\n');
    expect((await h.getVM(['web01']))[0]!.State).toBe('Running');
    expect(await snapNames(h, 'web01')).toEqual([]);
  });

  it('Restore-VMSnapshot (ConfirmImpact High) needs -Confirm:$false or --yes; -Confirm makes any cmdlet ask', async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'base' });
    await h.checkpointVM(['web01'], { snapshotName: 'later' });
    let r = await runPs(h, 'Restore-VMSnapshot base web01');
    expect(r.errors[0]?.message).toContain('NonInteractive mode');
    expect((await h.getVM(['web01']))[0]!.ParentSnapshotName).toBe('later');
    r = await runPs(h, 'Restore-VMSnapshot base web01 -Confirm:$false');
    expect(r.errors).toEqual([]);
    expect((await h.getVM(['web01']))[0]!.ParentSnapshotName).toBe('base');
    r = await runPs(h, 'Checkpoint-VM web01 asked -Confirm');
    expect(r.errors).toHaveLength(1);
    expect(await snapNames(h, 'web01')).toEqual(['base', 'later']);
    r = await runPs(h, 'Checkpoint-VM web01 asked -Confirm', { yes: true });
    expect(await snapNames(h, 'web01')).toEqual(['asked', 'base', 'later']);
  });

  it('-ComputerName accepts the host, localhost and "."; any other name fails', async () => {
    const h = await host();
    const r = await runPs(h, 'Checkpoint-VM -ComputerName HV1 web01 a\nCheckpoint-VM -ComputerName localhost web01 b\nCheckpoint-VM -ComputerName . web01 c\nCheckpoint-VM -ComputerName Elsewhere web01 d');
    expect(await snapNames(h, 'web01')).toEqual(['a', 'b', 'c']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toContain("The operation on computer 'Elsewhere' failed");
    expect(r.errors[0]!.line).toBe(4);
  });
});

describe('quotes and unsupported constructs', () => {
  it('accepts “ ” ‘ ’ silently and replaces ″ with a warning naming the line', async () => {
    const h = await host();
    const r = await runPs(h, 'Checkpoint-VM -Name “web01” -SnapshotName ‘it’’s’\n$x = “a″\nWrite-Host $x');
    expect(r.errors).toEqual([]);
    expect(await snapNames(h, 'web01')).toEqual(["it's"]);
    expect(r.err).toBe('WARNING: line 2: replaced the typographic quote ″ with " (PowerShell would refuse this line; hvsim run --strict does)\n');
    expect(r.out).toBe('a\n');
  });

  // Refused when the line runs (issue 17): the statements before it have run (web01 stopped).
  const refused: Array<[string, RegExp]> = [
    ['Stop-VM web01\nclass C { }', /^line 2: class definitions are not supported by hvsim run$/],
    ["Stop-VM web01\n$d = [xml]'<a/>'", /^line 2: the type cast \[xml\] is not supported by hvsim run$/],
    ['Stop-VM web01\nMove-VM web01 HV2', /^line 2: the cmdlet Move-VM is not supported by hvsim run$/],
    ['Stop-VM web01\nStart-Job -FilePath job.ps1', /^line 2: -FilePath is \(on Start-Job\) not supported by hvsim run$/],
    ['Stop-VM web01\ntrap { 2 }', /^line 2: trap statements are not supported by hvsim run$/],
    ['Stop-VM web01\nGet-VM > vms.txt', /^line 2: redirections .* not supported by hvsim run$/],
  ];
  for (const [src, msg] of refused) {
    it(`refuses when the line runs: ${src.split('\n').pop()}`, async () => {
      const h = await host();
      const e = await runPs(h, src).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(UnsupportedError);
      expect((e as Error).message).toMatch(msg);
      expect((await h.getVM(['web01']))[0]!.State).toBe('Off');
    });
    it(`does not refuse in a branch that does not run: ${src.split('\n').pop()}`, async () => {
      const h = await host();
      const [, line] = src.split('\n');
      const r = await runPs(h, `Stop-VM web01\nif ($false) {\n  ${line}\n}\n'done'`);
      expect(r.out).toBe('done\n');
      expect(r.exitCode).toBe(0);
    });
  }

  it('a syntax error anywhere still refuses before anything runs', async () => {
    const h = await host();
    const e = await runPs(h, 'Stop-VM web01\nif ($false) { trap { 2 } }\n$x = (1 +\n').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScriptSyntaxError);
    expect((await h.getVM(['web01']))[0]!.State).toBe('Running');
  });

  it('an unsupported method stops the run at its line', async () => {
    const h = await host();
    const e = await runPs(h, 'Checkpoint-VM web01 a\n$x = (Get-Date).ToFileTime()\nCheckpoint-VM web01 b').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toBe('line 2: the method ToFileTime() of [System.DateTime] is not supported by hvsim run');
    expect(await snapNames(h, 'web01')).toEqual(['a']);
  });

  it('a syntax error names its line', async () => {
    const h = await host();
    const e = await runPs(h, 'Get-VM\n$x = (1 +\n').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScriptSyntaxError);
    expect((e as Error).message).toMatch(/^line [23]: syntax error/);
  });
});
