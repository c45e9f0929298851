/**
 * `hvsim serve --stdio` (the server behind the PowerShell module, docs/powershell.md) timed from a
 * Node client writing the module's JSON lines: Get-VM and Checkpoint-VM of one VM on a warm
 * server (bench/pwsh-module.ts, and the "serve" rows of npm run bench).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { median } from './timing.js';

/** Medians through the server alone: the same requests from a Node client. */
export async function throughServer(bin: string, newRoot: () => { root: string; env: NodeJS.ProcessEnv }, runs: number): Promise<{ getVM: number; checkpoint: number }> {
  const { root, env } = newRoot();
  const p = spawn(process.execPath, [bin, 'serve', '--stdio'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  let id = 0;
  const call = async (cmdlet: string, params: object): Promise<number> => {
    const t = performance.now();
    p.stdin.write(JSON.stringify({ id: ++id, cmdlet, params }) + '\n');
    for (;;) {
      const m = JSON.parse((await lines.next()).value as string) as { done?: boolean; confirm?: unknown };
      if (m.done) return performance.now() - t;
      p.stdin.write(JSON.stringify({ id, confirm: true }) + '\n');
    }
  };
  try {
    for (let i = 0; i < 20; i++) await call('Get-VM', { Name: ['web01'] });
    const g: number[] = [];
    for (let i = 0; i < runs; i++) g.push(await call('Get-VM', { Name: ['web01'] }));
    for (let i = 0; i < 3; i++) await call('Checkpoint-VM', { Name: ['web01'] });
    const c: number[] = [];
    for (let i = 0; i < runs; i++) c.push(await call('Checkpoint-VM', { Name: ['web01'] }));
    return { getVM: median(g), checkpoint: median(c) };
  } finally {
    p.stdin.end();
    await new Promise((r) => p.on('close', r));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

