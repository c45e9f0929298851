/**
 * A two-tier guest workload for showing why group checkpoints matter: an app tier and a database
 * commit matching records (order i on the app's disk ↔ row i on the database's disk) every
 * `intervalMs` of simulated time, but only while both guests execute (a paused, saved or frozen
 * tier blocks the other). Checkpoints of running VMs taken one after the other freeze each guest
 * at a different instant, so the captured disks disagree; a group checkpoint freezes all first.
 * Layout on each disk: a header sector (record count) at DATA_OFFSET, then 512-byte records.
 * Imports: simulator (guest I/O without moving the clock), host types.
 */
import type { Host } from '../host/host.js';
import { DEFAULT_DISK_SIZE, type Simulator } from './simulator.js';

export const RECORD_SIZE = 512;
export const DATA_OFFSET = 1024 * 1024;
const MAGIC = 'HVSIM-PAIRED';

export interface PairedWorkloadOptions {
  app: string;
  db: string;
  /** One transaction per interval of simulated time (default 100 ms). */
  intervalMs?: number;
}

/** `text` at the start of a zero-filled block of `size` bytes (cut to fit). */
export function textBlock(text: string, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(new TextEncoder().encode(text).subarray(0, size));
  return b;
}

/** A guest read of the VM's disk, or of checkpoint `snapshot`'s. */
export function readAt(host: Host, vm: string, offset: number, length: number, snapshot?: string): Promise<Uint8Array> {
  return host.readGuest(vm, offset, length, snapshot !== undefined ? { snapshot } : {});
}

function encodeHeader(count: number): Uint8Array {
  return textBlock(`${MAGIC} count=${count}\n`, RECORD_SIZE);
}

export function decodeCount(header: Uint8Array): number {
  const m = /^HVSIM-PAIRED count=(\d+)\n/.exec(new TextDecoder().decode(header.subarray(0, 64)));
  return m ? Number(m[1]) : 0;
}

function record(kind: 'order' | 'row', i: number): Uint8Array {
  return textBlock(kind === 'order' ? `order ${i} amount ${(i * 37) % 1000}.00\n` : `row ${i} for order ${i} amount ${(i * 37) % 1000}.00\n`, RECORD_SIZE);
}

export class PairedWorkload {
  readonly app: string;
  readonly db: string;
  readonly intervalMs: number;
  /** Transactions committed since start(). */
  committed = 0;
  private off: (() => void) | undefined;

  constructor(private sim: Simulator, opts: PairedWorkloadOptions) {
    this.app = opts.app;
    this.db = opts.db;
    this.intervalMs = opts.intervalMs ?? 100;
  }

  start(): void {
    if (this.off) return;
    this.off = this.sim.clock.onAdvance((from, to) => this.tick(from, to));
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  private count(vm: string): number {
    return decodeCount(this.sim.guestRead(vm, DATA_OFFSET, RECORD_SIZE));
  }

  private tick(from: number, to: number): void {
    if (!this.sim.guestRunning(this.app) || !this.sim.guestRunning(this.db)) return;
    let k = Math.floor(to / this.intervalMs) - Math.floor(from / this.intervalMs);
    if (k <= 0) return;
    const a = this.count(this.app);
    const d = this.count(this.db);
    // The records fit the VMs' disks (created with the default size).
    k = Math.min(k, Math.floor((DEFAULT_DISK_SIZE - DATA_OFFSET) / RECORD_SIZE) - 1 - Math.max(a, d));
    if (k <= 0) return;
    const orders = new Uint8Array(k * RECORD_SIZE);
    const rows = new Uint8Array(k * RECORD_SIZE);
    for (let j = 0; j < k; j++) {
      orders.set(record('order', a + 1 + j), j * RECORD_SIZE);
      rows.set(record('row', a + 1 + j), j * RECORD_SIZE);
    }
    // The app writes its orders, the database its rows (each appends after its own count).
    this.sim.guestWrite(this.app, orders, DATA_OFFSET + (a + 1) * RECORD_SIZE);
    this.sim.guestWrite(this.app, encodeHeader(a + k), DATA_OFFSET);
    this.sim.guestWrite(this.db, rows, DATA_OFFSET + (d + 1) * RECORD_SIZE);
    this.sim.guestWrite(this.db, encodeHeader(d + k), DATA_OFFSET);
    this.committed += k;
  }
}

export interface PairCheck {
  AppRecords: number;
  DbRecords: number;
  Consistent: boolean;
  Detail: string;
}

/** Compare what the two disks (or two checkpoints' disks) hold. */
export async function checkPair(host: Host, app: string, db: string, snaps: { app?: string; db?: string } = {}): Promise<PairCheck> {
  const readCount = async (vm: string, snapshot?: string): Promise<number> => decodeCount(await readAt(host, vm, DATA_OFFSET, RECORD_SIZE, snapshot));
  const a = await readCount(app, snaps.app);
  const d = await readCount(db, snaps.db);
  if (a !== d)
    return { AppRecords: a, DbRecords: d, Consistent: false, Detail: a > d ? `${a - d} orders have no database row` : `${d - a} database rows have no order` };
  const n = Math.min(a, 2000);
  const appBytes = await readAt(host, app, DATA_OFFSET + RECORD_SIZE, n * RECORD_SIZE, snaps.app);
  const dbBytes = await readAt(host, db, DATA_OFFSET + RECORD_SIZE, n * RECORD_SIZE, snaps.db);
  for (let i = 0; i < n; i++) {
    const want = [record('order', i + 1), record('row', i + 1)];
    const got = [appBytes.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), dbBytes.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE)];
    if (!want.every((w, j) => w.every((v, x) => v === got[j]![x])))
      return { AppRecords: a, DbRecords: d, Consistent: false, Detail: `record ${i + 1} differs` };
  }
  return { AppRecords: a, DbRecords: d, Consistent: true, Detail: `${a} orders, each with its database row` };
}
