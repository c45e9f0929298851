/**
 * Simulated time and the cost model. Every simulator operation advances the clock by a cost
 * computed from this table, so timings (freeze instants, skew, merge completion) are
 * deterministic and can be analysed; nothing ever sleeps. docs/simulator.md explains the model.
 * Also the date formats Hyper-V shows (default checkpoint names, CreationTime in tables).
 */
import { GiB, MiB } from '../vhd/common/bytes.js';

/** Durations in milliseconds and throughputs in bytes per second. */
export interface CostModel {
  /** Off → Running: firmware and guest boot. */
  bootMs: number;
  /** Guest shutdown through integration services. */
  shutdownMs: number;
  turnOffMs: number;
  /** Pausing or resuming the virtual processors. */
  pauseMs: number;
  resumeMs: number;
  /** Fixed part of saving or restoring memory (device state). */
  saveBaseMs: number;
  /** Writing guest memory to the saved-state file. */
  memorySaveBytesPerSec: number;
  /** Reading it back when a Saved VM starts. */
  memoryRestoreBytesPerSec: number;
  /** Fixed part of a checkpoint: configuration copy and bookkeeping. */
  checkpointBaseMs: number;
  /** Creating one differencing disk (.avhdx). */
  createDiskMs: number;
  /** Production checkpoint: VSS / file-system freeze inside the guest. */
  quiesceMs: number;
  /** Fixed part of applying a checkpoint. */
  restoreBaseMs: number;
  /** Deleting one disk file. */
  deleteFileMs: number;
  /** Fixed part of one merge step (open, journal, re-point). */
  mergeBaseMs: number;
  /** Copying data blocks between layers during a merge. */
  mergeBytesPerSec: number;
  /** Export: copying a checkpoint's data into a standalone disk. */
  exportBaseMs: number;
  exportBytesPerSec: number;
  /** Guest disk I/O. */
  guestIoBaseMs: number;
  guestIoBytesPerSec: number;
  /** Creating a VM (configuration) and a new base disk. */
  newVmMs: number;
}

export const DEFAULT_COSTS: Readonly<CostModel> = Object.freeze({
  bootMs: 8000,
  shutdownMs: 5000,
  turnOffMs: 100,
  pauseMs: 50,
  resumeMs: 50,
  saveBaseMs: 200,
  memorySaveBytesPerSec: 1 * GiB,
  memoryRestoreBytesPerSec: 2 * GiB,
  checkpointBaseMs: 300,
  createDiskMs: 40,
  quiesceMs: 2000,
  restoreBaseMs: 500,
  deleteFileMs: 10,
  mergeBaseMs: 100,
  mergeBytesPerSec: 100 * MiB,
  exportBaseMs: 200,
  exportBytesPerSec: 200 * MiB,
  guestIoBaseMs: 1,
  guestIoBytesPerSec: 500 * MiB,
  newVmMs: 500,
});

/** Milliseconds to move `bytes` at `bytesPerSec`, rounded up to whole milliseconds. */
export function transferMs(bytes: number, bytesPerSec: number): number {
  return bytes <= 0 ? 0 : Math.ceil((bytes * 1000) / bytesPerSec);
}

/** A clock that moves only when told to. Listeners see every advance (guest workloads run on them). */
export class SimClock {
  private t: number;
  /** The latest instant the clock has shown: listeners see each instant once (see travelTo). */
  private reached: number;
  private listeners: Array<(from: number, to: number) => void> = [];

  constructor(startMs: number) {
    this.t = Math.floor(startMs);
    this.reached = this.t;
  }

  now(): number {
    return this.t;
  }

  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    return this.advanceTo(this.t + Math.ceil(ms));
  }

  /** Move to `t` (never backwards). */
  advanceTo(t: number): number {
    if (t <= this.t) return this.t;
    const from = Math.max(this.t, this.reached);
    this.t = t;
    if (t <= this.reached) return this.t;
    this.reached = t;
    for (const l of [...this.listeners]) l(from, t);
    return this.t;
  }

  /**
   * Set the clock to `t`, earlier or later, without telling the listeners: a background job
   * (docs/simulator.md, "Background jobs") ran ahead of the script and the clock returns to the
   * script's instant. Listeners see only instants beyond the latest one ever reached, so a span
   * lived twice (by the job, then by the script) runs the guest workloads once.
   */
  travelTo(t: number): void {
    this.t = Math.floor(t);
  }

  onAdvance(fn: (from: number, to: number) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
}

export interface TimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Calendar parts of `ms` in `timeZone` (an IANA name; undefined = the process's local zone). */
export function timeParts(ms: number, timeZone?: string): TimeParts {
  if (timeZone === undefined) {
    // The process's own zone: Date's local fields are the same as Intl's default zone (both ICU's
    // default time zone), without building a formatter (~20 ms of ICU data at a CLI's start-up).
    const d = new Date(ms);
    return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds() };
  }
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
  });
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour! % 24, minute: p.minute!, second: p.second! };
}

function clock12(p: TimeParts): string {
  const h = p.hour % 12 === 0 ? 12 : p.hour % 12;
  return `${h}:${String(p.minute).padStart(2, '0')}:${String(p.second).padStart(2, '0')} ${p.hour < 12 ? 'AM' : 'PM'}`;
}

/** "5/30/2016 - 11:16:25 AM", the date part of a default checkpoint name (en-US host locale). */
export function checkpointStamp(ms: number, timeZone?: string): string {
  const p = timeParts(ms, timeZone);
  return `${p.month}/${p.day}/${p.year} - ${clock12(p)}`;
}

/** "6/2/2023 12:14:05 PM", how Format-Table shows a DateTime (en-US). */
export function displayTime(ms: number, timeZone?: string): string {
  const p = timeParts(ms, timeZone);
  return `${p.month}/${p.day}/${p.year} ${clock12(p)}`;
}

/** A TimeSpan as PowerShell prints it: "00:03:07", "1.02:00:00", with ".fffffff" when not whole seconds. */
export function timeSpan(ms: number): string {
  const neg = ms < 0;
  let rest = Math.abs(Math.round(ms));
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = rest - s * 1000;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${neg ? '-' : ''}${days ? `${days}.` : ''}${two(h)}:${two(m)}:${two(s)}${frac ? `.${String(frac * 10_000).padStart(7, '0')}` : ''}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
