/**
 * The guided lesson run again on the same state (docs/ui.md, "Running the lesson again"): its
 * set-up step marks the VMs it makes; a start over reuses only those (checkpoints removed, running
 * again) and never touches a VM of the same name that the lesson did not make.
 */
import { describe, expect, it } from 'vitest';
import { simHost } from '../helpers/sim-host.js';
import { runAction, runPowerShell } from '../../src/ui/model.js';
import { LESSON_NOTE, LESSON_VMS, lessonVmsFound } from '../../src/ui/lesson-vms.js';
import { lessonSteps } from '../../src/ui/page/lesson.js';
import type { Simulator } from '../../src/sim/simulator.js';

const opts = { exportRoot: '/hvsim/exports' };

/** Run the lesson's set-up step as the page does (the names it would create: those missing). */
async function setUp(sim: Simulator): Promise<string> {
  const step = lessonSteps(sim.computerName, '', lessonVmsFound(await sim.getVM()).missing)[0]!;
  expect(step.setup).toBe(true);
  if (!('ps' in step.run)) throw new Error('the set-up step runs PowerShell');
  const r = await runPowerShell(sim, step.run.ps, {});
  expect(r.exitCode).toBe(0);
  return r.output;
}

describe('the lesson on a state it already ran on', () => {
  it('the set-up step marks its VMs as the lesson’s', async () => {
    const sim = simHost();
    await setUp(sim);
    const vms = await sim.getVM();
    expect(vms.map((v) => [v.Name, v.State, v.Notes])).toEqual(LESSON_VMS.map((n) => [n, 'Running', LESSON_NOTE]));
    expect(lessonVmsFound(vms)).toMatchObject({ foreign: [], missing: [] });
    expect(lessonVmsFound(vms).ours.map((v) => v.Name)).toEqual([...LESSON_VMS]);
  });

  it('a start over reuses the lesson’s VMs: checkpoints removed, running again, same VMs; then the set-up step succeeds', async () => {
    const sim = simHost();
    await setUp(sim);
    const ids = (await sim.getVM()).map((v) => v.Id);
    await sim.checkpointVM(['SSTest1'], { snapshotName: 'one' });
    await sim.checkpointVM(['SSTest1'], { snapshotName: 'two' });
    await sim.stopVM(['V-2012R2-Test1'], { save: true });
    await sim.suspendVM(['v-2012R2-TW01']);
    // Run again without starting over, the set-up step itself fails (the VMs exist).
    const again = lessonSteps(sim.computerName, '')[0]!;
    if (!('ps' in again.run)) throw new Error('the set-up step runs PowerShell');
    expect((await runPowerShell(sim, again.run.ps, {})).output).toMatch(/already exists|exists/i);

    const r = await runAction(sim, { op: 'lesson-reset' }, opts);
    expect(r.error).toBeUndefined();
    expect(r.lines).toContain("SSTest1: 2 checkpoints removed ('one', 'two')");
    const vms = await sim.getVM();
    expect(vms.map((v) => v.Id)).toEqual(ids);
    expect(vms.map((v) => v.State)).toEqual(['Running', 'Running', 'Running']);
    expect(await sim.getVMSnapshot({ vmNames: ['*'] })).toEqual([]);
    const out = await setUp(sim);
    expect(out).toMatch(/SSTest1\s+Running/);
    expect((await sim.getVM()).map((v) => v.Id)).toEqual(ids);
  });

  it('creates only the lesson VMs that are missing', async () => {
    const sim2 = simHost();
    await sim2.newVM({ name: 'SSTest1', diskSize: 8 << 20 });
    await sim2.setVM(['SSTest1'], { notes: LESSON_NOTE });
    expect(lessonVmsFound(await sim2.getVM()).missing).toEqual(['V-2012R2-Test1', 'v-2012R2-TW01']);
    await setUp(sim2);
    expect((await sim2.getVM()).map((v) => v.Name).sort()).toEqual([...LESSON_VMS].sort());
  });

  it('never touches a VM with a lesson name that the lesson did not make (names compared without case)', async () => {
    const sim = simHost();
    await sim.newVM({ name: 'sstest1', diskSize: 8 << 20 });
    await sim.startVM(['sstest1']);
    await sim.checkpointVM(['sstest1'], { snapshotName: 'mine' });
    const before = await sim.getVM();
    const found = lessonVmsFound(before);
    expect(found.foreign.map((v) => v.Name)).toEqual(['sstest1']);
    const r = await runAction(sim, { op: 'lesson-reset' }, opts);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('INVALID_STATE');
    expect(r.error?.message).toContain("'sstest1'");
    expect(r.error?.message).toContain('did not make');
    // As it was: its checkpoint, its state; nothing else created.
    expect(await sim.getVM()).toEqual(before);
    expect((await sim.getVMSnapshot({ vmNames: ['*'] })).map((s) => s.Name)).toEqual(['mine']);
  });

  it('with a foreign VM among its own, changes none of them', async () => {
    const sim = simHost();
    await setUp(sim);
    await sim.checkpointVM(['SSTest1'], { snapshotName: 'lesson' });
    await sim.setVM(['v-2012R2-TW01'], { notes: 'my own VM' });
    const r = await runAction(sim, { op: 'lesson-reset' }, opts);
    expect(r.ok).toBe(false);
    expect(r.error?.message).toContain("'v-2012R2-TW01'");
    expect((await sim.getVMSnapshot({ vmNames: ['SSTest1'] })).map((s) => s.Name)).toEqual(['lesson']);
  });
});
