/**
 * The static build's back end (docs/ui.md, "Static build"): the simulator itself runs in the page
 * over an in-memory disk store — no server. Its clock follows real time, like the CLI's default
 * ('wall'), so uptimes grow and background merges end when their time comes.
 */
import { MemoryStorage } from '../../sim/storage.js';
import { Simulator } from '../../sim/simulator.js';
import { mergesOf, runAction, runPowerShell, uiBlocks, uiState, type GroupReports } from '../model.js';
import type { UiAction, UiActionResult, UiBlocks, UiRunResult, UiState } from '../types.js';
import type { SavedVariables } from '../../powershell/index.js';
import type { Backend } from './api.js';

export class LocalBackend implements Backend {
  readonly exportHint = 'the in-memory folder /hvsim/exports';
  private readonly sim: Simulator;
  private readonly reports: GroupReports = new Map();
  private readonly listeners: Array<() => void> = [];
  private vars: SavedVariables = {};
  private version = 1;
  private lastReal = Date.now();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(computerName = 'localhost') {
    this.sim = Simulator.open({ storage: new MemoryStorage(), computerName, clockMode: 'simulated', startTime: Date.now() });
  }

  /** One call at a time, after letting the real time since the last one pass on the simulated clock. */
  private exclusive<T>(fn: () => Promise<T>, changes: boolean): Promise<T> {
    const run = async (): Promise<T> => {
      const now = Date.now();
      if (now > this.lastReal) await this.sim.advance(now - this.lastReal);
      this.lastReal = now;
      try {
        return await fn();
      } finally {
        if (changes) this.changed();
        this.scheduleMerges();
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }

  private scheduleMerges(): void {
    if (this.timer !== undefined) return;
    const due = mergesOf(this.sim).map((m) => m.until - m.now);
    if (due.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exclusive(async () => undefined, true);
    }, Math.max(0, Math.min(...due)) + 20);
  }

  state(vm?: string): Promise<UiState> {
    return this.exclusive(() => uiState(this.sim, this.reports, this.version, vm), false);
  }
  blocks(vm: string, drive: number): Promise<UiBlocks> {
    return this.exclusive(() => uiBlocks(this.sim, vm, drive), false);
  }
  action(a: UiAction): Promise<UiActionResult> {
    return this.exclusive(async () => ({ ...(await runAction(this.sim, a, { exportRoot: '/hvsim/exports', reports: this.reports })), merges: mergesOf(this.sim) }), true);
  }
  run(source: string): Promise<UiRunResult> {
    return this.exclusive(async () => {
      const r = await runPowerShell(this.sim, source, this.vars);
      this.vars = r.vars;
      return { output: r.output, exitCode: r.exitCode, merges: mergesOf(this.sim) };
    }, true);
  }
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }
}
