/**
 * Checkpoint creation and group-checkpoint latency against the number of VMs, on the simulator's
 * in-memory host (src/sim: Simulator, group.ts). Two clocks: the wall time the simulator itself
 * takes (what this machine spends), and the simulated time it charges by its cost model (what
 * Hyper-V would take, by that model).
 */
import type * as SimulatorMod from '../src/sim/simulator.js';
import type * as GroupMod from '../src/host/group.js';

export interface SimResult {
  vms: number;
  /** Checkpoint-VM of one running VM, wall ms (median over up to 5 VMs). */
  checkpointMs: number;
  /** The same, simulated ms. */
  checkpointSimMs: number;
  /** checkpoint-group of all VMs (all running), wall ms (median of the runs). */
  groupMs: number;
  groupSimMs: number;
  /** Largest difference between the VMs' freeze instants, simulated ms. */
  groupSkewMs: number;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function runSimBench(sim: typeof SimulatorMod, group: typeof GroupMod, counts: number[], groupRuns: number, log: (s: string) => void): Promise<SimResult[]> {
  const out: SimResult[] = [];
  for (const n of counts) {
    const host = sim.Simulator.open({ clockMode: 'simulated', startTime: Date.UTC(2025, 0, 1) });
    try {
      const names = Array.from({ length: n }, (_, i) => `vm${String(i).padStart(3, '0')}`);
      for (const name of names) await host.newVM({ name });
      await host.startVM(names);
      const wall: number[] = [];
      const simulated: number[] = [];
      for (const name of names.slice(0, 5)) {
        const s0 = await host.now();
        const t = performance.now();
        await host.checkpointVM([name], { snapshotName: 'single' });
        wall.push(performance.now() - t);
        simulated.push((await host.now()) - s0);
      }
      const gWall: number[] = [];
      const gSim: number[] = [];
      const gSkew: number[] = [];
      for (let r = 0; r < groupRuns; r++) {
        const t = performance.now();
        const rep = await group.checkpointGroup(host, names, { snapshotName: `group-${r}` });
        gWall.push(performance.now() - t);
        gSim.push(rep.DurationMs);
        gSkew.push(rep.SkewMs);
      }
      const r: SimResult = {
        vms: n,
        checkpointMs: Number(median(wall).toFixed(2)),
        checkpointSimMs: median(simulated),
        groupMs: Number(median(gWall).toFixed(1)),
        groupSimMs: median(gSim),
        groupSkewMs: median(gSkew),
      };
      out.push(r);
      log(`  sim ${String(n).padStart(3)} VMs: checkpoint ${r.checkpointMs} ms (simulated ${r.checkpointSimMs} ms), group ${r.groupMs} ms (simulated ${r.groupSimMs} ms, skew ${r.groupSkewMs} ms)`);
    } finally {
      host.close();
    }
  }
  return out;
}
