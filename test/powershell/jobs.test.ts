/**
 * Jobs in hvsim run (src/powershell/jobs.ts, cmdlets/jobs.ts; docs/powershell.md "Jobs"): -AsJob
 * on the Hyper-V cmdlets and Start-Job run in the background on the simulated clock, so jobs
 * started together overlap; Get-Job/Wait-Job/Receive-Job/Remove-Job/Stop-Job as PowerShell's.
 */
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/host/clock.js';
import type { Simulator } from '../../src/sim/simulator.js';
import { psScript, psSession, runPs } from '../helpers/powershell.js';
import { simHost } from '../helpers/sim-host.js';

const VMS = ['vm1', 'vm2', 'vm3', 'vm4', 'vm5'];

async function runningHost(names = VMS): Promise<Simulator> {
  const host = simHost();
  for (const n of names) await host.newVM({ name: n });
  await host.startVM(names);
  return host;
}

/** How long one Checkpoint-VM of a running VM takes on the simulated clock (measured, not assumed). */
async function oneCheckpointMs(): Promise<number> {
  const host = await runningHost(['solo']);
  const t0 = await host.now();
  await host.checkpointVM(['solo']);
  return (await host.now()) - t0;
}

describe('jobs overlap on the simulated clock', () => {
  it('five Checkpoint-VM -AsJob then Wait-Job take as long as one checkpoint, not five', async () => {
    const one = await oneCheckpointMs();
    expect(one).toBeGreaterThan(0);
    const host = await runningHost();
    const t0 = await host.now();
    const r = await runPs(
      host,
      `$start = Get-Date
$jobs = foreach ($n in 'vm1','vm2','vm3','vm4','vm5') { Checkpoint-VM -Name $n -SnapshotName nightly -AsJob }
$started = Get-Date
"running: $(@(Get-Job -State Running).Count)"
$null = $jobs | Wait-Job
$waited = Get-Date
"start: $((($started - $start).TotalMilliseconds))"
"wait: $((($waited - $start).TotalMilliseconds))"
"states: $(($jobs | ForEach-Object State) -join ',')"
`,
    );
    expect(r.err).toBe('');
    expect(r.out).toContain('running: 5');
    expect(r.out).toContain('start: 0');
    // the clock moved by the longest job (they are alike: one checkpoint's time), not the sum
    expect(r.out).toContain(`wait: ${one}`);
    expect(r.out).toContain('states: Completed,Completed,Completed,Completed,Completed');
    expect((await host.now()) - t0).toBe(one);
    // every checkpoint began at the same instant: one CreationTime for all five
    const snaps = await host.getVMSnapshot({ vmNames: VMS });
    expect(snaps).toHaveLength(5);
    expect(new Set(snaps.map((s) => s.CreationTime)).size).toBe(1);
  });

  it('Get-VM | Checkpoint-VM -AsJob: one job per piped VM, all at the same instant', async () => {
    const one = await oneCheckpointMs();
    const host = await runningHost();
    const r = await runPs(host, `$s = Get-Date; $jobs = Get-VM | Checkpoint-VM -AsJob; "jobs: $($jobs.Count)"; $jobs | Wait-Job | Receive-Job; ((Get-Date) - $s).TotalMilliseconds`);
    expect(r.err).toBe('');
    expect(r.out).toBe(`jobs: 5\n${one}\n`);
    expect(new Set((await host.getVMSnapshot({ vmNames: VMS })).map((s) => s.CreationTime)).size).toBe(1);
  });

  it('the same checkpoints without -AsJob take five times as long', async () => {
    const one = await oneCheckpointMs();
    const host = await runningHost();
    const r = await runPs(host, `$s = Get-Date; foreach ($n in 'vm1','vm2','vm3','vm4','vm5') { Checkpoint-VM -Name $n }; ((Get-Date) - $s).TotalMilliseconds`);
    expect(r.out.trim()).toBe(String(5 * one));
  });

  it('a job is Running until the clock reaches its end: a Start-Sleep polling loop sees it finish', async () => {
    const host = await runningHost(['vm1']);
    const r = await runPs(
      host,
      `$j = Start-VM -Name vm1 -AsJob
Stop-VM -Name vm1 -Force
$j = Start-VM -Name vm1 -AsJob
$polls = 0
while ((Get-Job -Id $j.Id).State -eq 'Running') { Start-Sleep -Seconds 1; $polls++ }
"polls: $polls $($j.State) $($j.HasMoreData)"
(Get-VM vm1).State`,
    );
    // Start-VM of a running VM fails inside the job; the second one boots (8 s on the default cost model)
    expect(r.out).toMatch(/polls: (7|8|9) Completed False/);
    expect(r.out).toContain('Running');
  });

  it('a job object held in a variable follows the clock too ($j.State in a Start-Sleep loop)', async () => {
    const r = await runPs(simHost(), `$j = Start-Job { Start-Sleep 3; 'x' }; $n = 0; while ($j.State -eq 'Running') { Start-Sleep -Milliseconds 500; $n++ }; "$n $($j.State) $($j.HasMoreData)"`);
    // one second of start-up and three of sleep, polled every half second
    expect(r.out).toBe('8 Completed True\n');
  });

  it('Wait-Job -Any returns the first job to end; -Timeout stops waiting', async () => {
    const host = await runningHost(['vm1', 'vm2']);
    const r = await runPs(
      host,
      `$long = Start-Job { Start-Sleep -Seconds 60; 'long' }
$short = Start-Job { Start-Sleep -Seconds 5; 'short' }
$s = Get-Date
$first = Wait-Job $long, $short -Any
"first: $($first.Id) after $(((Get-Date) - $s).TotalSeconds) s"
$none = Wait-Job $long -Timeout 10
"timeout: $($null -eq $none) after $(((Get-Date) - $s).TotalSeconds) s, $($long.State)"
Receive-Job $short
Receive-Job $long -Wait
"all: $(((Get-Date) - $s).TotalSeconds) s"`,
    );
    expect(r.err).toBe('');
    // Start-Job's one second of start-up, then the script block's sleep
    expect(r.out).toContain('first: 3 after 6 s');
    expect(r.out).toContain('timeout: True after 16 s, Running');
    expect(r.out).toContain('short\nlong\nall: 61 s');
  });

  it('the run ends after its jobs: a job left running still moves the clock before the next command', async () => {
    const one = await oneCheckpointMs();
    const host = await runningHost(['vm1']);
    const t0 = await host.now();
    const r = await runPs(host, `$null = Checkpoint-VM -Name vm1 -AsJob; ((Get-Date) - [datetime]'${new Date(t0).toISOString()}').TotalMilliseconds`);
    expect(r.out.trim()).toBe('0');
    expect((await host.now()) - t0).toBe(one);
  });
});

describe('Start-Job', () => {
  it('runs the block in a scope of its own: -ArgumentList, param() and $using: bring the values', async () => {
    const host = simHost();
    const r = await runPs(
      host,
      `$n = 'web01'
Start-Job { "[$n]" } | Receive-Job -Wait
Start-Job { param($a, $b) "$a/$b" } -ArgumentList $n, 3 | Receive-Job -Wait
Start-Job { "$using:n!" } | Receive-Job -Wait
function helper { 'mine' }
Start-Job { helper } | Receive-Job -Wait -ErrorAction SilentlyContinue
Start-Job { $global:leak = 1 } | Wait-Job | Out-Null
"leak: [$leak]"`,
    );
    expect(r.out).toBe('[]\nweb01/3\nweb01!\nleak: []\n');
  });

  it('$using: outside a job is PowerShell\'s error', async () => {
    const r = await runPs(simHost(), `$x = 1; "$using:x"`);
    expect(r.errors[0]?.message).toMatch(/^A Using variable cannot be retrieved/);
  });

  it('output comes back deserialized: Deserialized.<type>, RunspaceId, the type\'s view', async () => {
    const host = await runningHost(['vm1']);
    const r = await runPs(
      host,
      `$o = Start-Job { [pscustomobject]@{ A = 1; B = 'x' } } | Receive-Job -Wait
$o.PSObject.TypeNames[0]
$o.PSComputerName
$o.RunspaceId -match '^[0-9a-f-]{36}$'
$vm = Start-Job { Get-VM vm1 } | Receive-Job -Wait
$vm.PSObject.TypeNames[0]
$vm | Format-Table Name, State`,
    );
    expect(r.err).toBe('');
    const lines = r.out.split('\n');
    expect(lines.slice(0, 4)).toEqual(['Deserialized.System.Management.Automation.PSCustomObject', 'localhost', 'True', 'Deserialized.Microsoft.HyperV.PowerShell.VirtualMachine']);
    expect(r.out).toMatch(/vm1\s+Running/);
  });

  it('runs Hyper-V cmdlets against the same host', async () => {
    const host = await runningHost(['vm1']);
    await runPs(host, `Start-Job { Checkpoint-VM -Name vm1 -SnapshotName fromjob } | Wait-Job | Out-Null`);
    expect((await host.getVMSnapshot({ vmNames: ['vm1'] })).map((s) => s.Name)).toEqual(['fromjob']);
  });
});

describe('errors and results', () => {
  it('a job\'s errors are written at Receive-Job; a terminating one leaves it Failed', async () => {
    const r = await runPs(
      simHost(),
      `$a = Start-Job { 'x'; Write-Error 'soft' }
$b = Start-Job { throw 'hard' }
$null = Wait-Job $a, $b
"$($a.State) $($b.State)"
'-- receive'
Receive-Job $a, $b`,
    );
    expect(r.out).toBe('Completed Failed\n-- receive\nx\n');
    expect(r.errors.map((e) => e.message)).toEqual(['soft', 'hard']);
    expect(r.exitCode).toBe(0);
  });

  it('-AsJob errors stay in the job until Receive-Job (-ErrorAction Stop makes them terminating there)', async () => {
    const r = await runPs(
      await runningHost(['vm1']),
      `$j = Checkpoint-VM -Name nosuch -AsJob
$null = Wait-Job $j
"state: $($j.State)"
try { Receive-Job $j -ErrorAction Stop } catch { "caught: $($_.FullyQualifiedErrorId)" }`,
    );
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^state: Failed\ncaught: \w+,Microsoft\.HyperV\.PowerShell\.Commands\.CheckpointVM\n$/);
  });

  it('Receive-Job -Keep keeps the results; HasMoreData follows; -AutoRemoveJob removes', async () => {
    const r = await runPs(
      simHost(),
      `$j = Start-Job { 1; 2 }
"running: $($j.HasMoreData)"
$null = Wait-Job $j
"done: $($j.HasMoreData)"
(Receive-Job $j -Keep) -join ','
(Receive-Job $j) -join ','
"after: $($j.HasMoreData) [$(Receive-Job $j)]"
$k = Start-Job { 3 }
Receive-Job $k -Wait -AutoRemoveJob
"left: $(@(Get-Job).Id -join ',')"`,
    );
    expect(r.out).toBe('running: False\ndone: True\n1,2\n1,2\nafter: False []\n3\nleft: 1\n');
  });

  it('unknown ids and names, removing a running job, Stop-Job', async () => {
    const host = await runningHost(['vm1']);
    const r = await runPs(
      host,
      `Get-Job -Id 42
Get-Job -Name nosuch
$j = Stop-VM -Name vm1 -AsJob
Remove-Job $j
Stop-Job $j
$j.State
Remove-Job $j
@(Get-Job).Count`,
    );
    expect(r.errors.map((e) => e.fullyQualifiedErrorId)).toEqual([
      'JobWithSpecifiedSessionNotFound,Microsoft.PowerShell.Commands.GetJobCommand',
      'JobWithSpecifiedNameNotFound,Microsoft.PowerShell.Commands.GetJobCommand',
      'JobObjectNotFinishedCannotBeRemoved,Microsoft.PowerShell.Commands.RemoveJobCommand',
    ]);
    expect(r.out).toBe('Stopped\n0\n');
    // the work ran when the job started: stopping the job does not undo it (docs/powershell.md "Jobs")
    expect((await host.getVM(['vm1']))[0]!.State).toBe('Off');
  });

  it('Get-Job prints the Job table as pwsh does (ids step by two: a job and its child)', async () => {
    const s = psSession(simHost());
    const r = await s.run(`$null = Start-Job { 1 }; $null = Start-Job { 2 } -Name two; $null = Get-Job | Wait-Job; Get-Job`);
    expect(r.out.trim().split('\n').map((l) => l.trimEnd())).toEqual([
      'Id     Name            PSJobTypeName   State         HasMoreData     Location             Command',
      '--     ----            -------------   -----         -----------     --------             -------',
      '1      Job1            BackgroundJob   Completed     True            localhost             1',
      '3      two             BackgroundJob   Completed     True            localhost             2',
    ]);
  });
});

describe('published-style job scripts (test/fixtures/ps-scripts/jobs)', () => {
  it('parallel-checkpoint.ps1: every running VM checkpointed with -AsJob, waited for together', async () => {
    const one = await oneCheckpointMs();
    const host = await runningHost(['web01', 'app01', 'db01']);
    await host.stopVM(['db01'], { turnOff: true });
    const r = await runPs(host, psScript('jobs', 'parallel-checkpoint.ps1'));
    expect(r.err).toBe('');
    const out = r.out.split('\n');
    expect(out.slice(0, 6)).toEqual(['Starting checkpoint of web01', 'Starting checkpoint of app01', 'Waiting for 2 checkpoint jobs...', 'Job1: done', 'Job3: done', `All done in ${(one / 1000).toFixed(1)} s`]);
    const snaps = await host.getVMSnapshot({ vmNames: ['web01', 'app01', 'db01'] });
    expect(snaps.map((x) => x.VMName).sort()).toEqual(['app01', 'web01']);
    expect(snaps[0]!.CreationTime).toBe(snaps[1]!.CreationTime);
  });

  it('start-job-checkpoint.ps1: Start-Job per VM with -ArgumentList and $using:, Receive-Job -Wait -AutoRemoveJob', async () => {
    const host = await runningHost(['web01', 'app01']);
    const r = await runPs(host, psScript('jobs', 'start-job-checkpoint.ps1'));
    expect(r.err).toBe('');
    expect(r.out).toBe('cp-web01 Running\ncp-app01 Running\nweb01 -> pre-update\napp01 -> pre-update\njobs left: 0\n');
  });
});

describe('SimClock.travelTo', () => {
  it('listeners see each instant once when the clock is set back and runs again', () => {
    const clock = new SimClock(0);
    const seen: Array<[number, number]> = [];
    clock.onAdvance((a, b) => seen.push([a, b]));
    clock.advance(100);
    clock.travelTo(0);
    clock.advance(50);
    clock.advance(100);
    expect(clock.now()).toBe(150);
    expect(seen).toEqual([
      [0, 100],
      [100, 150],
    ]);
  });
});
