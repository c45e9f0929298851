/**
 * Checkpoint creation and group-checkpoint latency against the number of VMs, on the simulator's
 * in-memory host (src/sim: Simulator, group.ts). Two clocks: the wall time the simulator itself
 * takes (what this machine spends), and the simulated time it charges by its cost model (what
 * Hyper-V would take, by that model).
 */
import * as fs from 'node:fs';
import type * as SimulatorMod from '../src/sim/simulator.js';
import type * as GroupMod from '../src/host/group.js';
import { dist, distPath } from './engine.js';
import { type Options, VM_COUNTS } from './options.js';
import { log, median } from './timing.js';

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

export interface SimResults {
  results: SimResult[];
  /** Why no checkpoint bench ran, or null. */
  note: string | null;
}

/** Step 5 of bench/README.md: the simulator as built (dist/), for VM_COUNTS running VMs. */
export async function measureSim(o: Options): Promise<SimResults> {
  let results: SimResult[] = [];
  let note: string | null = null;
  if (!o.sim) note = 'skipped (--no-sim)';
  else if (!fs.existsSync(distPath('sim/simulator.js')) || !fs.existsSync(distPath('host/group.js')))
    note = 'src/sim/simulator.ts, src/host/group.ts not built: checkpoint benches not run';
  else {
    const sim = (await import(dist('sim/simulator.js'))) as typeof SimulatorMod;
    const group = (await import(dist('host/group.js'))) as typeof GroupMod;
    results = await runSimBench(sim, group, VM_COUNTS, o.groupRuns, log);
  }
  if (note) log(`  sim: ${note}`);
  return { results, note };
}
