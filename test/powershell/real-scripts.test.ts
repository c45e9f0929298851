/**
 * Checkpoint scripts of the kind people copy from blogs, Microsoft's docs and forum answers
 * (test/fixtures/ps-scripts/real/*.ps1), run unchanged against a simulated host: what each does
 * to the host (checkpoints created, removed, renamed, restored; VM states) and the key parts of
 * its output. They use -f, Get-Date -Format, date arithmetic, -replace/-split/-join, casts,
 * [pscustomobject], try/catch/finally, $ErrorActionPreference, $env:COMPUTERNAME, Start-Sleep and
 * a while loop polling for the end of a merge (simulated time is skipped, not waited).
 *
 * The host: HV1 with web01 (Running), db01 (Off), app01 (Running); web01 "Before update" taken
 * on Jan 15 2024, db01 "Before patch" on Jan 18, web01 "Before deploy" on Jan 24; now is Jan 25.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/simulator.js';
import { UnsupportedError } from '../../src/powershell/index.js';
import { psScript, runPs, type PsRun } from '../helpers/powershell.js';
import { realScriptsHost } from '../helpers/sim-host.js';

const host = (): Promise<Simulator> => realScriptsHost();

/** One of the scripts (test/fixtures/ps-scripts/real) in a new session. */
function run(h: Simulator, file: string): Promise<PsRun> {
  return runPs(h, psScript('real', file));
}

/** "vm/name" of every checkpoint, sorted. */
async function snaps(h: Simulator): Promise<string[]> {
  return (await h.getVMSnapshot({ vmNames: ['*'] })).map((s) => `${s.VMName}/${s.Name}`).sort();
}

const lines = (t: string): string[] => t.split('\n').map((l) => l.trimEnd());
const INITIAL = ['db01/Before patch', 'web01/Before deploy', 'web01/Before update'];

describe('real checkpoint scripts', () => {
  it('01 nightly checkpoint: -f with $env:COMPUTERNAME, Get-Date -Format, Write-Host -ForegroundColor', async () => {
    const h = await host();
    const r = await run(h, '01-nightly-checkpoint.ps1');
    expect(r.err).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await snaps(h)).toEqual([...INITIAL, 'app01/Nightly - 2024-01-25', 'web01/Nightly - 2024-01-25'].sort());
    expect(lines(r.out)).toEqual([
      'Found 2 running VM(s) on HV1',
      "Checkpoint 'Nightly - 2024-01-25' created for web01",
      "Checkpoint 'Nightly - 2024-01-25' created for app01",
      '',
    ]);
  });

  it('02 cleanup: (Get-Date).AddDays(-7), {1:yyyy-MM-dd}, .ToString(format), piping $_ to Remove-VMSnapshot', async () => {
    const h = await host();
    const r = await run(h, '02-cleanup-old.ps1');
    expect(r.err).toBe('');
    expect(await snaps(h)).toEqual(['web01/Before deploy']);
    const out = lines(r.out);
    expect(out[0]).toBe('Removing 2 checkpoint(s) created before 2024-01-18');
    // oldest first (Sort-Object CreationTime)
    expect(out[1]).toMatch(/^ {2}- web01: Before update \(2024-01-15 \d\d:\d\d\)$/);
    expect(out[2]).toMatch(/^ {2}- db01: Before patch \(2024-01-18 \d\d:\d\d\)$/);
    expect(out[3]).toBe('Done.');

    // a second run finds nothing and exits 0 early
    const again = await run(h, '02-cleanup-old.ps1');
    expect(again.exitCode).toBe(0);
    expect(again.out).toBe('No checkpoints older than 7 days.\n');
  });

  it('03 before patch: Checkpoint-VM -SnapshotName "…$(Get-Date -Format …)" -Passthru | Select | Format-Table -AutoSize', async () => {
    const h = await host();
    const r = await run(h, '03-before-patch.ps1');
    expect(r.err).toBe('');
    expect(await snaps(h)).toEqual([...INITIAL, 'app01/Before patch 2024-01-25', 'web01/Before patch 2024-01-25'].sort());
    const out = lines(r.out).filter((l) => l !== '');
    expect(out[0]).toMatch(/^VMName Name {20}CreationTime$/);
    expect(out[2]).toMatch(/^web01  Before patch 2024-01-25 1\/25\/2024 \d+:\d\d:\d\d [AP]M$/);
    expect(out[3]).toMatch(/^app01  Before patch 2024-01-25 /);
  });

  it('04 report: calculated property, "{0} has {1}" -f, {1:N1} of a TimeSpan, output in order with Write-Host', async () => {
    const h = await host();
    const r = await run(h, '04-report.ps1');
    expect(r.err).toBe('');
    expect(await snaps(h)).toEqual(INITIAL);
    expect(lines(r.out)).toEqual([
      '',
      // State is an enum (VMState): right-aligned, as PowerShell aligns enums in generated tables
      'Name    State Checkpoints',
      '----    ----- -----------',
      'web01 Running           2',
      'db01      Off           1',
      'app01 Running           0',
      '',
      '',
      // the foreach's output comes out statement by statement, between the Write-Host lines
      'web01 has 2 checkpoints',
      '  oldest: Before update (10.0 days old)',
      'db01 has 1 checkpoints',
      '  oldest: Before patch (7.0 days old)',
      'app01 has 0 checkpoints',
      'Total checkpoints: 3',
      '',
    ]);
  });

  it('05 ensure baseline: if (-not (Get-VMSnapshot … -ErrorAction SilentlyContinue)) creates it once', async () => {
    const h = await host();
    const r = await run(h, '05-ensure-baseline.ps1');
    expect(r.err).toBe('');
    expect(r.errors).toHaveLength(2); // the two not-found lookups, silent
    expect(r.out).toBe('Creating Baseline for web01\nCreating Baseline for db01\n');
    expect(await snaps(h)).toEqual([...INITIAL, 'db01/Baseline', 'web01/Baseline'].sort());
    const again = await run(h, '05-ensure-baseline.ps1');
    expect(again.out).toBe('web01 already has a Baseline\ndb01 already has a Baseline\n');
    expect(await snaps(h)).toEqual([...INITIAL, 'db01/Baseline', 'web01/Baseline'].sort());
  });

  it('06 rollback: Sort-Object -Descending | Select -First 1, Restore-VMSnapshot -Confirm:$false, Start-VM', async () => {
    const h = await host();
    const written = new TextEncoder().encode('changed after Before deploy');
    await h.writeGuest('web01', written, 0);
    await h.stopVM(['web01'], { turnOff: true });
    const r = await run(h, '06-rollback.ps1');
    expect(r.err).toBe('');
    expect(lines(r.out)[0]).toMatch(/^Restoring web01 to 'Before deploy' taken 01\/24\/2024 \d\d:\d\d:\d\d$/);
    expect(lines(r.out).filter((l) => l !== '').slice(1)).toEqual(['Name    State', '----    -----', 'web01 Running']);
    expect((await h.getVM(['web01']))[0]!.State).toBe('Running');
    // the disk is back as it was at the checkpoint
    expect(await h.readGuest('web01', 0, written.length)).not.toEqual(written);
    expect(await snaps(h)).toEqual(INITIAL);
  });

  it('07 rename: continue, .StartsWith, -replace, -join, .ToUpper, -split, .Split/.Trim/.ToLower', async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'Keep me' });
    const r = await run(h, '07-rename-and-strings.ps1');
    expect(r.err).toBe('');
    expect(await snaps(h)).toEqual(['db01/Before patch', 'web01/Keep me', 'web01/Pre-deploy', 'web01/Pre-update']);
    expect(lines(r.out)).toEqual([
      "Renamed 'Before update' -> 'Pre-update'",
      "Renamed 'Before deploy' -> 'Pre-deploy'",
      'WEB01 checkpoints: Keep me, Pre-deploy, Pre-update',
      'Targets: web01 | db01',
      'first: keep me',
      '',
    ]);
  });

  it('08 try/catch/finally: a failing VM is reported and the loop goes on; exit $failed.Count', async () => {
    const h = await host();
    const r = await run(h, '08-try-catch.ps1');
    expect(r.exitCode).toBe(1);
    expect(r.errors).toEqual([]); // caught, not written
    expect(r.err).toBe(''); // warnings go to stdout, with the console host's other output
    expect(lines(r.out)).toEqual([
      '[OK]   web01',
      'processed web01',
      'WARNING: Checkpoint of missing01 failed: Hyper-V was unable to find a virtual machine with name "missing01".',
      'processed missing01',
      '[OK]   db01',
      'processed db01',
      '1 VM(s) failed: missing01',
      '',
    ]);
    expect(await snaps(h)).toEqual([...INITIAL, 'db01/Pre-maintenance', 'web01/Pre-maintenance'].sort());
  });

  it('09 remove by name: Remove-VMSnapshot -Name "Before*", and Where-Object -like | Remove-VMSnapshot', async () => {
    const h = await host();
    await h.checkpointVM(['db01'], { snapshotName: 'Baseline' });
    const r = await run(h, '09-remove-by-name.ps1');
    expect(r.err).toBe('');
    expect(await snaps(h)).toEqual(['db01/Baseline']);
    expect(lines(r.out).filter((l) => l !== '')).toEqual(['VMName Name', '------ ----', 'db01   Baseline']);
  });

  it("10 $ErrorActionPreference = 'Stop': the first failure ends the script with exit 1", async () => {
    const h = await host();
    const r = await run(h, '10-stop-on-error.ps1');
    expect(r.exitCode).toBe(1);
    expect(r.out).toBe('Checkpointing web01\nCheckpointing nosuchvm\n');
    expect(r.err).toMatch(/^Checkpoint-VM : Hyper-V was unable to find a virtual machine with name "nosuchvm"\.\nAt line:6 char:1\n/);
    expect(r.terminatingError?.fullyQualifiedErrorId).toBe('ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM');
    expect(await snaps(h)).toEqual([...INITIAL, 'web01/Step 1'].sort());
  });

  it('11 dates and casts: [datetime]"…", date - date, [int], [string], [pscustomobject], $x = foreach {…}', async () => {
    const h = await host();
    const r = await run(h, '11-dates-and-casts.ps1');
    expect(r.err).toBe('');
    expect(await snaps(h)).toEqual(INITIAL);
    expect(lines(r.out).filter((l) => l !== '')).toEqual([
      '2 of 3 checkpoints are older than 1/18/2024',
      'Before 2024-01-20 (Saturday): 2',
      'VM    Name          Age',
      '--    ----          ---',
      'web01 Before update  10',
      'db01  Before patch    7',
    ]);
  });

  it('12 cold checkpoint with Start-Sleep, then a while loop polling OperationalStatus until the merge is done', async () => {
    const h = await host();
    const t0 = await h.now();
    const started = Date.now();
    const r = await run(h, '12-sleep-and-wait.ps1');
    expect(Date.now() - started).toBeLessThan(5000); // 15 simulated seconds of sleep are skipped, not waited
    expect([r.exitCode, r.err]).toEqual([0, '']);
    // the merge (two small layers) takes less than one 5-second poll
    expect(r.out).toBe('Merging...\nMerged after 5 s\n');
    expect(await snaps(h)).toEqual(['db01/Before patch', 'web01/Cold']);
    const [vm] = await h.getVM(['web01']);
    expect(vm).toMatchObject({ State: 'Running', OperationalStatus: ['Ok'], ParentSnapshotName: 'Cold', MergeCompletionTime: null });
    // shutdown 5 s + Start-Sleep 10 s + checkpoint + boot 8 s + removals + one 5 s poll
    expect((await h.now()) - t0).toBeGreaterThan(28_000);
    // Before update's and Before deploy's files are merged away: the base (kept: its only child has
    // children), Cold's frozen file, the running leaf
    const files = h.diskFiles('web01')[0]!;
    const [cold] = await h.getVMHardDiskDrive('web01', 'Cold');
    expect(files.map((f) => [f.path, f.parent])).toEqual([
      ['/hvsim/vms/web01/Virtual Hard Disks/web01.vhdx', null],
      [cold!.Path, '/hvsim/vms/web01/Virtual Hard Disks/web01.vhdx'],
      [vm!.HardDrives[0]!.Path, cold!.Path],
    ]);
  });

  it('13 rolling checkpoints: Checkpoint-VM -VM, -match "^$Prefix", Select-Object -Skip, {0,-6}', async () => {
    const h = await host();
    await h.checkpointVM(['web01'], { snapshotName: 'Auto Checkpoint 1/20/2024' });
    await h.advance(60_000);
    await h.checkpointVM(['web01'], { snapshotName: 'Auto Checkpoint 1/22/2024' });
    await h.advance(60_000);
    const r = await run(h, '13-rolling-checkpoints.ps1');
    expect(r.err).toBe('');
    expect(r.out).toBe('web01  kept 2, removed 1\napp01  kept 1, removed 0\n');
    expect(await snaps(h)).toEqual([...INITIAL, 'app01/Auto Checkpoint 1/25/2024', 'web01/Auto Checkpoint 1/22/2024', 'web01/Auto Checkpoint 1/25/2024'].sort());
  });
});

/** The language pieces the scripts above needed, one by one (in-line scripts on the same host). */
describe('what the real scripts needed', () => {
  /** `src` on a fresh host. */
  async function ps(src: string): Promise<PsRun> {
    return runPs(await host(), src);
  }

  it('-f: alignment, N F P D X and custom number formats, date formats, {{ }}', async () => {
    const r = await ps(
      [
        "'{0,-6}|{1,5}|{2:N0}|{3:F3}|{4:P1}|{5:D4}|{6:X}|{7:0.0#}|{8:#,##0.00}' -f 'ab', 'cd', 1234567.891, 2.5, 0.125, 42, 255, 1.5, 1234.5",
        "'{0:yyyy-MM-dd} {0:d} {0:dddd MMM} {0:s} {{x}}' -f [datetime]'2024-03-01 14:05:09'",
        "'{0:N2} GB' -f (1.5GB / 1GB)",
        "(Get-Date -Date '03/01/2024 2:05 PM' -Format 'dd.MM.yyyy HH:mm tt')",
        "(12.345).ToString('N1') + ' ' + ([datetime]'2024-03-01').ToShortDateString()",
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual([
      'ab    |   cd|1,234,568|2.500|12.5 %|0042|FF|1.5|1,234.50',
      '2024-03-01 3/1/2024 Friday Mar 2024-03-01T14:05:09 {x}',
      '1.50 GB',
      '01.03.2024 14:05 PM',
      '12.3 3/1/2024',
      '',
    ]);
  });

  it('-replace (regex, $1), -split (regex, max count), -join, unary -join/-split, -match sets $Matches', async () => {
    const r = await ps(
      [
        "'Before patch 2024' -replace '(\\w+) patch (\\d+)', '$2: $1'",
        "('a1b2c3' -split '\\d', 2) -join '|'",
        "(-split ' a  b ') -join '+'",
        "-join ('x', 'y')",
        "('web01', 'web02' -replace 'web', 'app') -join ','",
        "if ('web01-prod' -match '^(?<role>[a-z]+)(\\d+)-(\\w+)$') { \"$($Matches.role) $($Matches[2]) $($Matches[3])\" }",
        "('AbC' -creplace 'B', 'x') + ('AbC' -replace 'B', 'x')",
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['2024: Before', 'a|b2c3', 'a+b', 'xy', 'app01,app02', 'web 01 prod', 'AbCAxC', '']);
  });

  it('dates: date - date is a TimeSpan, date + TimeSpan, [int] rounds half to even', async () => {
    const r = await ps(
      [
        "$ts = [datetime]'2024-01-02 12:30' - [datetime]'2024-01-01'",
        '"$ts $($ts.Days) $($ts.TotalHours)"',
        "([datetime]'2024-01-01' + $ts).ToString('yyyy-MM-dd HH:mm')",
        '"$([int]2.5) $([int]3.5) $([int]\'7\') $([string]5 + 1)"',
        "(((Get-Date) - (Get-Date).AddDays(-3)).Days -eq 3)",
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['1.12:30:00 1 36.5', '2024-01-02 12:30', '2 4 7 51', 'True', '']);
  });

  it('try/catch: catches -ErrorAction Stop, throw and statement-terminating errors; not non-terminating ones', async () => {
    const r = await ps(
      [
        "try { throw 'boom' } catch { \"1 $_ / $($_.Exception.Message)\" }",
        'try { $null.Foo() } catch [System.Management.Automation.RuntimeException] { "2 $($_.FullyQualifiedErrorId)" }',
        "try { try { Get-VM -Name nope -ErrorAction Stop } finally { '3 finally' } } catch [Microsoft.HyperV.PowerShell.VirtualizationException] { \"3 $($_.Exception.Message)\" }",
        "try { Get-VM -Name nope2 } catch { 'not reached' }",
        "'4 after'",
        "$x = try { Get-VM -Name nope3 -ea Stop } catch { 'fallback' }",
        '"5 $x $($Error.Count)"',
      ].join('\n'),
    );
    expect(lines(r.out)).toEqual([
      '1 boom / boom',
      '2 InvokeMethodOnNull',
      '3 finally',
      '3 Hyper-V was unable to find a virtual machine with name "nope".',
      '4 after',
      // $Error has the caught errors too
      '5 fallback 5',
      '',
    ]);
    expect(r.errors.map((e) => e.message)).toEqual(['Hyper-V was unable to find a virtual machine with name "nope2".']);
    expect(r.err).toMatch(/^Get-VM : Hyper-V was unable to find a virtual machine with name "nope2"\.\nAt line:4 /);
  });

  it('a catch that does not match lets the error end the script; finally still runs', async () => {
    const r = await ps("try { throw 'x' } catch [System.IO.IOException] { 'no' } finally { 'cleanup' }\n'not reached'");
    expect(r.exitCode).toBe(1);
    expect(r.out).toBe('cleanup\n');
    expect(r.terminatingError?.message).toBe('x');
  });

  it('$x = if / foreach, $env:COMPUTERNAME, Select-Object -SkipLast, a leading (?i)', async () => {
    const r = await ps(
      [
        "$state = if ((Get-VM web01).State -eq 'Running') { 'up' } else { 'down' }",
        '$names = foreach ($v in Get-VM) { $v.Name.ToUpper() }',
        '"$state $($names -join \',\') $env:COMPUTERNAME"',
        "(Get-VMSnapshot -VMName web01 | Sort-Object CreationTime | Select-Object -SkipLast 1).Name",
        "'ABC' -cmatch '(?i)abc'",
      ].join('\n'),
    );
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['up WEB01,DB01,APP01 HV1', 'Before update', 'True', '']);
  });

  it('break and continue leave or skip the innermost foreach; outside a loop they are refused', async () => {
    const r = await ps("foreach ($v in Get-VM) { foreach ($i in 1,2,3) { if ($i -eq 2) { continue }; \"$($v.Name) $i\" }; if ($v.Name -eq 'db01') { break } }\n'end'");
    expect(r.err).toBe('');
    expect(lines(r.out)).toEqual(['web01 1', 'web01 3', 'db01 1', 'db01 3', 'end', '']);
    const e = await ps('Get-VM\nGet-VM | ForEach-Object { if ($_) { continue } }').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toBe('line 2: "continue" outside a loop statement (foreach, for, while, do) is not supported by hvsim run');
  });

  it('refused, naming the line: unknown casts, formats and static members; a bad regex fails the statement', async () => {
    const refused = async (src: string): Promise<string> => {
      const e = await ps(src).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedError);
      return (e as Error).message;
    };
    expect(await refused("Get-VM\n$d = [xml]'<a/>'")).toBe('line 2: the type cast [xml] is not supported by hvsim run');
    expect(await refused("Get-VM\n'{0:Q}' -f 5")).toBe('line 2: the number format "Q" is not supported by hvsim run');
    expect(await refused("Get-VM\nGet-Date -Format 'Z'")).toBe('line 2: the date format "Z" is not supported by hvsim run');
    expect(await refused("Get-VM\n[string]::Frobnicate('x')")).toBe('line 2: the static method [string]::Frobnicate() is not supported by hvsim run');
    const r = await ps("'a' -replace '(', 'b'\n'next'");
    expect(r.out).toBe('next\n');
    expect(r.errors[0]?.fullyQualifiedErrorId).toBe('InvalidRegularExpression');
  });
});
