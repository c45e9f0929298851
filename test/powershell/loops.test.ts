/**
 * hvsim run: waiting and polling. Start-Sleep (Host.sleep: the simulator skips the time at once),
 * while / do-while / do-until / for with break and continue, ++/--, the poll-until-merged pattern
 * after Remove-VMSnapshot (docs/hyperv.md, "Merges"), the watchdog that stops a loop the simulated
 * clock can never end, and Wait-VM.
 *
 * The host: HV1 with web01 (Running, Standard checkpoints), merges slowed to 128 KiB/s so that one
 * takes several polls.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/simulator.js';
import { simHost } from '../helpers/sim-host.js';
import { LOOP_LIMIT } from '../../src/powershell/interpreter.js';
import { UnsupportedError } from '../../src/powershell/index.js';
import { psSession, runPs } from '../helpers/powershell.js';

const MiB = 1024 * 1024;
const START = Date.UTC(2024, 0, 15, 9, 0, 0);
const BASE = '/hvsim/vms/web01/Virtual Hard Disks/web01.vhdx';

async function host(): Promise<Simulator> {
  const h = simHost({ computerName: 'HV1', startTime: START, costs: { mergeBytesPerSec: 128 * 1024 } });
  await h.newVM({ name: 'web01', checkpointType: 'Standard' });
  await h.startVM(['web01']);
  return h;
}

/** web01 with two nightly checkpoints, each layer holding 2 MiB of guest writes. */
async function withNightlies(): Promise<Simulator> {
  const h = await host();
  for (const [i, name] of ['nightly-1', 'nightly-2'].entries()) {
    await h.writeGuest('web01', new Uint8Array(2 * MiB).fill(i + 1), 0);
    await h.checkpointVM(['web01'], { snapshotName: name });
  }
  await h.writeGuest('web01', new Uint8Array(2 * MiB).fill(9), 2 * MiB);
  return h;
}

const lines = (t: string): string[] => t.split('\n').map((l) => l.trimEnd());

describe('polling until a merge is done', () => {
  const forms: Array<[string, string, number]> = [
    ["while ((Get-VM web01).Status -eq 'Merging disks') { Start-Sleep -Seconds 5; $polls++ }", 'Status text, while', 5000],
    ["while ((Get-VM web01).OperationalStatus -contains 'MergingDisks') { Start-Sleep 5; $polls++ }", 'OperationalStatus, while', 5000],
    ["do { sleep -Milliseconds 500; $polls++ } until ((Get-VM web01).OperationalStatus -notcontains 'MergingDisks')", 'do/until, 500 ms', 500],
  ];
  for (const [loop, label, interval] of forms) {
    it(`${label}: as many polls as the merge's simulated cost needs; the files are merged at the end`, async () => {
      const h = await withNightlies();
      const session = psSession(h);
      // Remove-VMSnapshot returns while the merge runs in the background
      expect((await session.run('Remove-VMSnapshot -VMName web01 -Name nightly*')).errors).toEqual([]);
      const [during] = await h.getVM(['web01']);
      expect(during).toMatchObject({ OperationalStatus: ['Ok', 'MergingDisks'], Status: 'Merging disks' });
      expect(h.diskFiles('web01')[0]!.length).toBe(3);
      const removedAt = await h.now();
      const cost = Date.parse(during!.MergeCompletionTime!) - removedAt;
      const polls = Math.ceil(cost / interval);
      expect(polls).toBeGreaterThan(2);

      const started = Date.now();
      const r = await runPs(h, `$polls = 0\n${loop}\n"polls: $polls"`);
      expect(Date.now() - started).toBeLessThan(5000); // skipped, not waited
      expect([r.exitCode, r.errors]).toEqual([0, []]);
      expect(r.out).toBe(`polls: ${polls}\n`);
      expect((await h.now()) - removedAt).toBe(polls * interval);
      // every layer merged down into the base: a VM without checkpoints has one writable .vhdx
      expect(h.diskFiles('web01')).toEqual([[{ path: BASE, parent: null, readOnly: false }]]);
      expect((await h.getVM(['web01']))[0]).toMatchObject({ OperationalStatus: ['Ok'], Status: 'Operating normally', HardDrives: [{ Path: BASE }] });
      expect([...(await h.readGuest('web01', 0, 4)), ...(await h.readGuest('web01', 2 * MiB, 4))]).toEqual([2, 2, 2, 2, 9, 9, 9, 9]);
    });
  }
});

describe('loops', () => {
  it('for creates N checkpoints, each under the one before', async () => {
    const h = await host();
    const r = await runPs(h, '$n = 4\nfor ($i = 1; $i -le $n; $i++) {\n  Checkpoint-VM -Name web01 -SnapshotName "nightly-$i"\n}\n"i=$i"');
    expect([r.exitCode, r.err, r.out]).toEqual([0, '', 'i=5\n']);
    const snaps = await h.getVMSnapshot({ vmNames: ['web01'] });
    expect(snaps.map((s) => [s.Name, s.ParentSnapshotName])).toEqual([
      ['nightly-1', null],
      ['nightly-2', 'nightly-1'],
      ['nightly-3', 'nightly-2'],
      ['nightly-4', 'nightly-3'],
    ]);
  });

  it('for: continue still runs the step, break leaves; empty parts; += steps; -- counts down', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        'for ($i = 0; $i -lt 10; $i += 1) { if ($i % 2) { continue }; if ($i -eq 6) { break }; "even $i" }',
        'for (;;) { $k++; if ($k -ge 3) { break } }',
        '"k=$k"',
        'for ($j = 3; $j; $j--) { Write-Host "j=$j" }',
        '$a = 5; $b = $a++; $c = ++$a; $d = $a--; "$a $b $c $d"',
      ].join('\n'),
    );
    expect([r.exitCode, r.err]).toEqual([0, '']);
    expect(lines(r.out)).toEqual(['even 0', 'even 2', 'even 4', 'k=3', 'j=3', 'j=2', 'j=1', '6 5 7 7', '']);
  });

  it('do/while and do/until run the body first; continue goes on to the condition', async () => {
    const h = await host();
    const r = await runPs(
      h,
      [
        '$x = 0',
        'do { $x++; if ($x -eq 2) { continue }; "while $x" } while ($x -lt 4)',
        'do { "until: once" } until ($true)',
        'do { "while: once" } while ($false)',
        '$y = 5',
        'do { $y -= 2 } until ($y -le 0)',
        '"y=$y"',
      ].join('\n'),
    );
    expect([r.exitCode, r.err]).toEqual([0, '']);
    expect(lines(r.out)).toEqual(['while 1', 'while 3', 'while 4', 'until: once', 'while: once', 'y=-1', '']);
  });

  it('break and continue act on the innermost loop; inside a ForEach-Object block they are still refused', async () => {
    const h = await host();
    const r = await runPs(h, "foreach ($v in 'a','b') {\n  $i = 0\n  while ($true) { $i++; if ($i -eq 2) { continue }; if ($i -gt 3) { break }; \"$v$i\" }\n}\n'end'");
    expect([r.exitCode, r.err]).toEqual([0, '']);
    expect(lines(r.out)).toEqual(['a1', 'a3', 'b1', 'b3', 'end', '']);
    const e = await runPs(h, 'Get-VM\nwhile ($true) { Get-VM | ForEach-Object { break } }').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toBe('line 2: "break" outside a loop statement (foreach, for, while, do) is not supported by hvsim run');
  });

  it('output inside a top-level loop stays in order with Write-Host; a loop can be assigned', async () => {
    const h = await host();
    const r = await runPs(h, '$n = 0\nwhile ($n -lt 2) { $n++; Write-Host "host $n"; "out $n" }\n$all = for ($i = 0; $i -lt 3; $i++) { $i * 10 }\n$all -join \',\'');
    expect([r.exitCode, r.err]).toEqual([0, '']);
    expect(lines(r.out)).toEqual(['host 1', 'out 1', 'host 2', 'out 2', '0,10,20', '']);
  });

  it('syntax errors in loops are reported before anything runs', async () => {
    const h = await host();
    for (const [src, line] of [['Stop-VM web01\nwhile ($true) {', 2], ['Stop-VM web01\ndo { 1 } while', 1], ['Stop-VM web01\n\nfor ($i = 0; $i -lt 2 { }', 3]] as const) {
      const e = await runPs(h, src).catch((x: unknown) => x);
      expect((e as Error).name).toBe('ScriptSyntaxError');
      expect((e as { line: number }).line).toBeGreaterThanOrEqual(line);
    }
    expect((await h.getVM(['web01']))[0]!.State).toBe('Running');
  });
});

describe('Start-Sleep', () => {
  it('moves the simulated clock by the time asked, at once; every form and alias', async () => {
    const h = await host();
    const forms: Array<[string, number]> = [
      ['Start-Sleep 2', 2000],
      ['Start-Sleep -Seconds 1.5', 1500],
      ['Start-Sleep -s 3', 3000],
      ['Start-Sleep -Milliseconds 250', 250],
      ['Start-Sleep -ms 40', 40],
      ['sleep 1', 1000],
      ['sleep -m 7', 7],
      ['Start-Sleep -Seconds 3600', 3_600_000],
      ['Start-Sleep 0', 0],
    ];
    for (const [src, ms] of forms) {
      const before = await h.now();
      const started = Date.now();
      const r = await runPs(h, src);
      expect([src, r.exitCode, r.err, r.out]).toEqual([src, 0, '', '']);
      expect([src, (await h.now()) - before]).toEqual([src, ms]);
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it('a negative or missing time is a binding error: the statement fails, the script goes on', async () => {
    const h = await host();
    const r = await runPs(h, "Start-Sleep -Seconds -1\nStart-Sleep\n'after'");
    expect(r.exitCode).toBe(0);
    expect(r.out).toBe('after\n');
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual([
      'ParameterArgumentValidationError,Microsoft.PowerShell.Commands.StartSleepCommand',
      'MissingMandatoryParameter,Microsoft.PowerShell.Commands.StartSleepCommand',
    ]);
    expect(r.errors[0]!.message).toBe(
      "Cannot validate argument on parameter 'Seconds'. The -1 argument is less than the minimum allowed range of 0. Supply an argument that is greater than or equal to 0 and then try the command again.",
    );
  });

  it('a background merge finishes when a sleep passes its end, without any other call', async () => {
    const h = await withNightlies();
    await h.removeVMSnapshot({ vmNames: ['web01'] }, { wait: false });
    const [vm] = await h.getVM(['web01']);
    const left = Date.parse(vm!.MergeCompletionTime!) - (await h.now());
    await h.sleep(left - 1);
    expect(h.diskFiles('web01')[0]!.length).toBe(3);
    await h.sleep(1);
    expect(h.diskFiles('web01')[0]!.length).toBe(1);
  });
});

describe('loops that cannot end', () => {
  it(`a loop that runs ${LOOP_LIMIT} times without the clock moving is stopped with a terminating error naming its line`, async () => {
    const h = await withNightlies();
    await h.removeVMSnapshot({ vmNames: ['web01'] }, { wait: false });
    const before = await h.now();
    // polls without sleeping: on the simulator the merge can never end
    const r = await runPs(h, "'start'\n\nwhile ((Get-VM web01).OperationalStatus -contains 'MergingDisks') { $n++ }\n'never'");
    expect(r.exitCode).toBe(1);
    expect(r.out).toBe('start\n');
    expect(r.terminatingError?.message).toBe('the loop at line 3 ran 100000 times without waiting; hvsim stops it');
    expect(r.terminatingError?.fullyQualifiedErrorId).toBe('RunawayLoop');
    expect(lines(r.err).slice(0, 2)).toEqual(['the loop at line 3 ran 100000 times without waiting; hvsim stops it', 'At line:3 char:1']);
    expect(await h.now()).toBe(before);
    expect((await h.getVM(['web01']))[0]!.OperationalStatus).toEqual(['Ok', 'MergingDisks']);
  }, 60_000);

  it('try/catch does not take it (finally runs); Start-Sleep 0 does not count as waiting; do and for are watched too', async () => {
    const h = await host();
    let r = await runPs(h, "try { while ($true) { } } catch { 'caught' } finally { 'finally' }\n'never'");
    expect([r.exitCode, r.out, r.terminatingError?.message]).toEqual([1, 'finally\n', 'the loop at line 1 ran 100000 times without waiting; hvsim stops it']);
    r = await runPs(h, "Get-VM | Out-Null\ndo { Start-Sleep -Milliseconds 0 } while ((Get-VM web01).State -eq 'Running')");
    expect(r.terminatingError?.message).toBe('the loop at line 2 ran 100000 times without waiting; hvsim stops it');
    r = await runPs(h, 'for ($i = 0; $i -ge 0; $i++) { }');
    expect(r.terminatingError?.message).toBe('the loop at line 1 ran 100000 times without waiting; hvsim stops it');
  }, 60_000);

  it('the count starts again whenever the clock moves', async () => {
    const h = await host();
    const before = await h.now();
    const r = await runPs(h, 'for ($i = 1; $i -le 199998; $i++) { if ($i -eq 99999) { Start-Sleep -Milliseconds 1 } }\n"i=$i"');
    expect([r.exitCode, r.err, r.out]).toEqual([0, '', 'i=199999\n']);
    expect((await h.now()) - before).toBe(1);
  }, 60_000);
});

describe('Wait-VM (docs/hyperv.md, "Wait-VM")', () => {
  it('a running guest answers Heartbeat and MemoryOperations at once; -Passthru writes the VM; the clock does not move', async () => {
    const h = await host();
    const before = await h.now();
    const r = await runPs(h, "Wait-VM web01\n(Wait-VM -Name web01 -For Heartbeat -Passthru).State\nGet-VM web01 | Wait-VM -For MemoryOperations -Passthru | ForEach-Object Name");
    expect([r.exitCode, r.err, r.out]).toEqual([0, '', 'Running\nweb01\n']);
    expect(await h.now()).toBe(before);
  });

  it('after Start-VM the guest has booted (the start includes the boot), so the usual start-and-wait works', async () => {
    const h = await host();
    const r = await runPs(h, "Stop-VM web01 -Force\nStart-VM web01\nWait-VM web01 -For Heartbeat -Timeout 300\n'up: ' + (Get-VM web01).State");
    expect([r.exitCode, r.err, r.out]).toEqual([0, '', 'up: Running\n']);
  });

  it('a wait that cannot end: with -Timeout simulated time runs to it, once for all the VMs, and each writes its error', async () => {
    const h = await host();
    await h.newVM({ name: 'db01' });
    await h.stopVM(['web01']);
    const before = await h.now();
    const r = await runPs(h, "Wait-VM web01, db01 -Timeout 60\n'after ' + $Error.Count + ' ' + $Error[0].FullyQualifiedErrorId");
    expect(r.exitCode).toBe(0);
    expect(r.out).toBe('after 2 InvalidOperation,Microsoft.HyperV.PowerShell.Commands.WaitVM\n');
    expect(r.err).toContain("Wait-VM : 'web01': timed out waiting for Heartbeat: it is Off");
    expect(r.err).toContain("Wait-VM : 'db01': timed out waiting for Heartbeat: it is Off");
    expect((await h.now()) - before).toBe(60_000);
  });

  it('without -Timeout a wait that cannot end fails at once instead of hanging; IPAddress and Reboot never come; a disabled Heartbeat never answers', async () => {
    const h = await host();
    const before = await h.now();
    const r = await runPs(h, [
      "try { Wait-VM web01 -For IPAddress -ErrorAction Stop } catch { 'ip: ' + $_.Exception.Message }",
      "try { Wait-VM web01 -For Reboot -Timeout 5 -ErrorAction Stop } catch { 'reboot: ' + $_.Exception.Message }",
      'Disable-VMIntegrationService -VMName web01 -Name Heartbeat',
      "try { Wait-VM web01 -ErrorAction Stop } catch { 'hb: ' + $_.Exception.Message }",
      "try { Wait-VM nosuch -ErrorAction Stop } catch { 'missing: ' + $_.CategoryInfo.Category }",
      "try { Wait-VM web01 -For Nothing } catch { 'bad: ' + $_.FullyQualifiedErrorId }",
    ].join('\n'));
    expect(r.out.split('\n')).toEqual([
      "ip: 'web01': the wait for IPAddress would never end (give -Timeout to let simulated time pass): a simulated VM has no network adapter, so its guest never reports an IP address",
      "reboot: 'web01': timed out waiting for Reboot: nothing reboots a simulated guest while a script waits",
      "hb: 'web01': the wait for Heartbeat would never end (give -Timeout to let simulated time pass): its Heartbeat integration service is disabled",
      'missing: ObjectNotFound',
      expect.stringMatching(/^bad: ParameterArgumentValidationError/),
      '',
    ]);
    expect((await h.now()) - before).toBe(5_000);
  });
});
