/**
 * VM power states: the transition table, Hyper-V's wording for refusals and "already in the
 * specified state", simulated time per operation, and per-VM (non-terminating) errors for lists.
 */
import { describe, expect, it } from 'vitest';
import { transition, ALREADY_IN_STATE, WRONG_STATE, type PowerOp } from '../../src/host/state-machine.js';
import { Simulator } from '../../src/sim/simulator.js';
import { DEFAULT_COSTS, checkpointStamp, timeSpan, displayTime } from '../../src/host/clock.js';
import type { VMState } from '../../src/host/host.js';
import { reject } from '../helpers/data.js';
import { simHost } from '../helpers/sim-host.js';

const MiB = 1024 * 1024;
const START = Date.UTC(2014, 8, 21, 19, 37, 0);

function host(): Simulator {
  return simHost({ computerName: 'xHost16', startTime: START });
}

describe('transition table', () => {
  const states: VMState[] = ['Off', 'Running', 'Saved', 'Paused'];
  const expected: Record<PowerOp, Partial<Record<VMState, VMState | 'already'>>> = {
    start: { Off: 'Running', Saved: 'Running', Running: 'already' },
    stop: { Running: 'Off', Off: 'already' },
    'turn-off': { Running: 'Off', Paused: 'Off', Saved: 'Off', Off: 'already' },
    save: { Running: 'Saved', Paused: 'Saved', Saved: 'already' },
    suspend: { Running: 'Paused', Paused: 'already' },
    resume: { Paused: 'Running', Running: 'already' },
  };
  for (const op of Object.keys(expected) as PowerOp[])
    for (const from of states)
      it(`${op} from ${from}`, () => {
        const t = transition(op, 'vm1', from);
        const want = expected[op][from];
        if (want === undefined) {
          expect(t.kind).toBe('refused');
          if (t.kind === 'refused') {
            expect(t.error.code).toBe('INVALID_STATE');
            expect(t.error.message).toContain(`'vm1' failed to change state. ${WRONG_STATE}`);
          }
        } else if (want === 'already') expect(t.kind).toBe('already');
        else expect(t).toEqual({ kind: 'change', to: want });
      });
});

describe('power operations on the simulator', () => {
  it('runs the lifecycle with the documented costs and Uptime', async () => {
    const h = host();
    const vm = await h.newVM({ name: 'web01', memory: 1024 * MiB });
    expect(vm.State).toBe('Off');
    expect(vm.CheckpointType).toBe('Production');
    expect(vm.ComputerName).toBe('xHost16');
    const t0 = await h.now();
    await h.startVM(['web01']);
    expect((await h.now()) - t0).toBe(DEFAULT_COSTS.bootMs);
    await h.advance(3000);
    const [running] = await h.getVM(['web01']);
    expect(running!.State).toBe('Running');
    expect(running!.Uptime).toBe('00:00:03');
    expect(running!.MemoryAssigned).toBe(1024 * MiB);
    const t1 = await h.now();
    await h.suspendVM(['web01']);
    expect((await h.getVM(['web01']))[0]!.State).toBe('Paused');
    await h.saveVM(['web01']);
    const [saved] = await h.getVM(['web01']);
    expect(saved!.State).toBe('Saved');
    expect(saved!.MemoryAssigned).toBe(0);
    // pause + save of 1 GiB at 1 GiB/s
    expect((await h.now()) - t1).toBe(DEFAULT_COSTS.pauseMs + DEFAULT_COSTS.saveBaseMs + 1000);
    await h.startVM(['web01']);
    await h.stopVM(['web01'], { turnOff: true });
    expect((await h.getVM(['web01']))[0]!.State).toBe('Off');
  });

  it("refuses with Hyper-V's wording and keeps the state", async () => {
    const h = host();
    await h.newVM({ name: 'web01' });
    const e = await reject(h.suspendVM(['web01']));
    expect(e.code).toBe('INVALID_STATE');
    expect(e.message).toBe(`Suspend-VM: 'web01' failed to change state. ${WRONG_STATE} (State: Off)`);
    const e2 = await reject(h.stopVM(['web01'], { save: true }));
    expect(e2.message).toMatch(/^Stop-VM: 'web01' failed to change state/);
    await h.startVM(['web01']);
    await h.suspendVM(['web01']);
    // A guest shutdown needs a running guest.
    expect((await reject(h.stopVM(['web01']))).message).toContain(WRONG_STATE);
    expect((await h.getVM(['web01']))[0]!.State).toBe('Paused');
    // Writes need a running guest too.
    expect((await reject(h.writeGuest('web01', new Uint8Array(512), 0))).code).toBe('INVALID_STATE');
  });

  it('warns, without failing, when the VM is already in the requested state', async () => {
    const h = host();
    await h.newVM({ name: 'web01' });
    await h.takeWarnings();
    const t = await h.now();
    await h.stopVM(['web01']);
    expect(await h.now()).toBe(t);
    const w = await h.takeWarnings();
    expect(w).toEqual([{ VMName: 'web01', Message: `Stop-VM: 'web01': ${ALREADY_IN_STATE}` }]);
    expect(await h.takeWarnings()).toEqual([]);
  });

  it('processes every VM of a list and reports the failures together (non-terminating errors)', async () => {
    const h = host();
    await h.newVM({ name: 'a' });
    await h.newVM({ name: 'b' });
    await h.startVM(['b']);
    await h.suspendVM(['b']);
    const e = await reject(h.startVM(['a', 'b', 'missing']));
    expect(e.message.split('\n')).toEqual([
      'Start-VM: Hyper-V was unable to find a virtual machine with name "missing".',
      `Start-VM: 'b' failed to change state. ${WRONG_STATE} (State: Paused)`,
    ]);
    const states = Object.fromEntries((await h.getVM()).map((v) => [v.Name, v.State]));
    expect(states).toEqual({ a: 'Running', b: 'Paused' });
  });

  it('matches names case-insensitively and with wildcards', async () => {
    const h = host();
    for (const n of ['SQL01', 'SQL02', 'WEB01']) await h.newVM({ name: n });
    expect((await h.getVM(['sql*'])).map((v) => v.Name)).toEqual(['SQL01', 'SQL02']);
    expect((await h.getVM(['web01']))[0]!.Name).toBe('WEB01');
    expect(await h.getVM(['nothing*'])).toEqual([]);
    const e = await reject(h.getVM(['DC01']));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe('Get-VM: Hyper-V was unable to find a virtual machine with name "DC01".');
  });

  it('refuses bad and duplicate VM names', async () => {
    const h = host();
    await h.newVM({ name: 'a' });
    expect((await reject(h.newVM({ name: 'A' }))).code).toBe('INVALID_ARGUMENT');
    expect((await reject(h.newVM({ name: 'x/y' }))).code).toBe('INVALID_ARGUMENT');
    expect((await reject(h.newVM({ name: 'n'.repeat(101) }))).code).toBe('INVALID_ARGUMENT');
  });

  it('injected faults fail the named operation once, before it changes anything', async () => {
    const h = simHost({ startTime: START, faults: ['start:b*'] });
    await h.newVM({ name: 'a' });
    await h.newVM({ name: 'b1' });
    const t = await h.now();
    const e = await reject(h.startVM(['a', 'b1']));
    expect(e.code).toBe('FAULT_INJECTED');
    expect(e.message).toBe("Start-VM: 'b1' failed: injected fault (start:b*)");
    expect((await h.now()) - t).toBe(DEFAULT_COSTS.bootMs); // only 'a' booted
    expect((await h.getVM(['b1']))[0]!.State).toBe('Off');
    await h.startVM(['b1']);
    expect((await h.getVM(['b1']))[0]!.State).toBe('Running');
    expect(h.faults.fired).toEqual([{ op: 'start', vm: 'b*', nth: 1 }]);
  });
});

describe('time formats', () => {
  it("formats like Hyper-V's en-US host", () => {
    expect(checkpointStamp(START, 'UTC')).toBe('9/21/2014 - 7:37:00 PM');
    expect(checkpointStamp(Date.UTC(2016, 4, 30, 0, 5, 9), 'UTC')).toBe('5/30/2016 - 12:05:09 AM');
    expect(displayTime(Date.UTC(2023, 5, 2, 12, 14, 5), 'UTC')).toBe('6/2/2023 12:14:05 PM');
    expect(timeSpan(187_056)).toBe('00:03:07.0560000');
    expect(timeSpan(93_600_000)).toBe('1.02:00:00');
  });
});
