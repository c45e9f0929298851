/**
 * Start-up cost of the CLI as a user feels it: wall time of whole `hvsim` processes, against the
 * machine's floor (an empty `node` process) in the same run. `hvsim run` loads a 1 MB
 * WebAssembly grammar; without src/cli/bin.ts's --liftoff-only a process then cannot exit until
 * V8 has compiled all of it in the background (~7 s here), which the "run, default V8 tiering"
 * row measures by starting the same CLI with that flag undone.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median } from './timing.js';

export interface CliResult {
  what: string;
  /** Median wall ms of whole processes. */
  ms: number;
  /** Against an empty node process. */
  vsNode: number;
}

function timeProcess(args: string[], env: NodeJS.ProcessEnv, input: string, runs: number): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { env, input, encoding: 'utf8' });
    t.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return median(t);
}

export function runCliBench(bin: string, runs: number, log: (s: string) => void): CliResult[] {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-bench-cli-'));
  try {
    const env = { ...process.env, HVSIM_ROOT: root, HVSIM_CLOCK: 'simulated', HVSIM_START_TIME: '2014-09-21T19:37:31Z' };
    const vms = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'];
    for (const v of vms) spawnSync(process.execPath, [bin, '--computer-name', 'xHost16', 'new-vm', '--name', v, '--disk-size', '8M'], { env });
    const script = `$VMs = "${vms.join('","')}"\nGet-VM -Name $VMs | Select VMName,State,ComputerName | FT -AutoSize\n`;
    const preload = path.join(root, 'default-tiering.cjs');
    fs.writeFileSync(preload, "require('v8').setFlagsFromString = () => {};\nrequire('module').syncBuiltinESMExports();\n");
    const floor = timeProcess(['-e', '0'], env, '', runs);
    const rows: Array<[string, string[], string]> = [
      ['node -e 0 (floor)', ['-e', '0'], ''],
      ['hvsim --version', [bin, '--version'], ''],
      ['hvsim get-vm', [bin, 'get-vm'], ''],
      ['hvsim run (Get-VM, Select, FT -AutoSize)', [bin, 'run', '--new-session', '-'], script],
      // The same CLI with bin.ts's flag call made a no-op by a preload: V8's default wasm tiering.
      ['hvsim run, default V8 tiering', ['--require', preload, bin, 'run', '--new-session', '-'], script],
    ];
    const out: CliResult[] = [];
    for (const [what, args, input] of rows) {
      if (what.startsWith('node -e 0')) {
        out.push({ what, ms: floor, vsNode: 1 });
        continue;
      }
      const ms = timeProcess(args, env, input, what.includes('default V8') ? Math.min(runs, 3) : runs);
      out.push({ what, ms, vsNode: ms / floor });
      log(`  cli: ${what}: ${ms.toFixed(0)} ms (${(ms / floor).toFixed(1)}x node)`);
    }
    return out;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
