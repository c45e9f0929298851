/**
 * A PieceReader that splits a large read between the calling thread and one helper thread, both
 * doing `fs.readSync` into one SharedArrayBuffer and taking the next piece from a shared counter
 * (Atomics), so neither waits for the other's share. Why: one thread issuing one synchronous
 * read per 64 KiB piece of a deep chain is held to about half the speed of depth 1 by the
 * kernel's copy (bench/README.md, "Reads in parallel", issue 20).
 *
 * The helper starts on the first read and is not waited for: until it says it is ready, reads run
 * on the calling thread alone. A read the calling thread finishes before the helper wakes is not
 * waited for either (the helper then skips it). The helper is unref'ed, idle whenever read()
 * has returned, and ends on close(); a process never waits for it at exit.
 */
import * as fs from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { withRoomFor, type PieceReader } from './block-file.js';
import { fsError } from './fs-error.js';

/** Control words (Int32Array over a SharedArrayBuffer), shared by both threads. */
const READY = 0; // 1 once the helper waits for work
const GEN = 1; // generation of the latest read (the helper waits on it)
const OWNER = 2; // GEN while the helper may join, -GEN once it has, 0 once the caller finished alone
const NEXT = 3; // next piece to take
const DONE = 4; // the last generation the helper finished
const ERR = 5; // 1 + the first failed piece (its error code at CODE), -1 the helper failed, or 0
const STOP = 7; // 1: the helper ends
const HELPED = 8; // pieces the helper has read, in all
const CODE = 9; // CODE..CODE+15: that failure's error code (EIO, EISDIR…), one character a word
const CODE_LENGTH = 16;

/** Pieces longer than this are cut, so that both threads share a read of a few large pieces. */
const CUT = 256 * 1024;

/**
 * Take pieces from the shared counter and read them until none are left; a failure records the
 * piece and its errno and ends both threads' share. Self-contained (no outer names): the helper
 * thread runs this function's source.
 */
function readShare(rfs: typeof fs, ctrl: Int32Array, table: Float64Array, count: number, buf: Uint8Array, fds: readonly number[]): number {
  for (let taken = 0; ; taken++) {
    const i = Atomics.add(ctrl, 3, 1); // NEXT
    if (i >= count) return taken;
    const f = table[i * 4]!;
    const at = table[i * 4 + 3]!;
    const len = table[i * 4 + 2]!;
    if (f < 0) {
      buf.fill(0, at, at + len);
      continue;
    }
    const off = table[i * 4 + 1]!;
    let done = 0;
    try {
      while (done < len) {
        const n = rfs.readSync(fds[f]!, buf, at + done, len - done, off + done);
        if (n <= 0) break;
        done += n;
      }
    } catch (e) {
      if (Atomics.compareExchange(ctrl, 5, 0, i + 1) === 0) {
        // ERR, then the code in CODE.. (read by the caller once both threads are done)
        const code = String((e as { code?: unknown }).code ?? '');
        for (let k = 0; k < 16; k++) ctrl[9 + k] = k < code.length ? code.charCodeAt(k) : 0;
      }
      Atomics.store(ctrl, 3, count); // NEXT: the other thread stops too
      return taken + 1;
    }
    if (done < len) buf.fill(0, at + done, at + len); // past the end of the file: zeros (readFully)
  }
}

interface Job {
  gen: number;
  sab: SharedArrayBuffer;
  base: number;
  length: number;
  table: Float64Array;
  count: number;
}

/** The helper thread's loop; its source runs in the worker (with readShare's beside it). */
function helperMain(rfs: typeof fs, wt: typeof import('node:worker_threads'), share: typeof readShare): void {
  const data = wt.workerData as { ctrl: SharedArrayBuffer; fds: number[]; port: MessagePort };
  const ctrl = new Int32Array(data.ctrl);
  let seen = Atomics.load(ctrl, 1);
  Atomics.store(ctrl, 0, 1); // READY
  for (;;) {
    Atomics.wait(ctrl, 1, seen); // GEN
    if (Atomics.load(ctrl, 7) !== 0) break; // STOP
    const g = Atomics.load(ctrl, 1);
    seen = g;
    if (Atomics.compareExchange(ctrl, 2, g, -g) !== g) continue; // OWNER: the caller finished alone
    // The caller posts a read's job before raising GEN and posts no other until this one is done.
    let job: Job | undefined;
    while (job?.gen !== g) {
      const m = wt.receiveMessageOnPort(data.port);
      if (m) job = m.message as Job;
    }
    try {
      Atomics.add(ctrl, 8, share(rfs, ctrl, job.table, job.count, new Uint8Array(job.sab, job.base, job.length), data.fds)); // HELPED
    } catch {
      // Not a read's failure (readShare records those): a piece it took may be unread, so the read fails.
      Atomics.compareExchange(ctrl, 5, 0, -1); // ERR
      Atomics.store(ctrl, 3, job.count); // NEXT
    } finally {
      Atomics.store(ctrl, 4, g); // DONE: the caller never waits for a helper that failed
      Atomics.notify(ctrl, 4);
    }
  }
  data.port.close();
}

/** The helper's script: both functions' source text, passed as values (no name is assumed, so a minifier may rename them). */
const HELPER_SOURCE = `'use strict';\n(${helperMain.toString()})(require('node:fs'), require('node:worker_threads'), (${readShare.toString()}));\n`;

/** One file the reader reads: its descriptor (owned by the caller) and its name for messages. */
export interface ReaderFile {
  fd: number;
  name: string;
}

export class ParallelReader implements PieceReader {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(32 * 4));
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private exit: Promise<void> = Promise.resolve();
  private gen = 0;
  private table = new Float64Array(64 * 4);
  private closed = false;

  /**
   * `callerReads: false` leaves every piece of a shared read to the helper once it is ready (the
   * caller only waits): for tests of the helper's own path and for measuring it.
   */
  constructor(
    private readonly files: readonly ReaderFile[],
    private readonly opts: { callerReads?: boolean } = {},
  ) {}

  /** Pieces the helper thread has read so far (tests, the bench). */
  get helperPieces(): number {
    return Atomics.load(this.ctrl, HELPED);
  }

  /** Whether the helper thread is running and waiting for work (tests, the bench). */
  get helperReady(): boolean {
    return Atomics.load(this.ctrl, READY) === 1;
  }

  /** Resolves when the helper thread has ended (after close()). */
  ended(): Promise<void> {
    return this.exit;
  }

  private start(): void {
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(HELPER_SOURCE, { eval: true, workerData: { ctrl: this.ctrl.buffer, fds: this.files.map((f) => f.fd), port: port2 }, transferList: [port2] });
    w.unref();
    port1.unref();
    this.exit = new Promise((resolve) => w.once('exit', () => resolve()));
    // An error the helper's own code throws (not a read's: those are recorded) ends it; reads then
    // run on the calling thread alone, as before it started.
    w.on('error', () => {});
    this.worker = w;
    this.port = port1;
  }

  read(buf: Uint8Array, pieces: Float64Array, count: number): void {
    if (this.closed) throw new Error('read through a closed ParallelReader'); // a bug: the chain closes it last
    const ctrl = this.ctrl;
    const shared = buf.buffer instanceof SharedArrayBuffer;
    if (shared && !this.worker) this.start();
    Atomics.store(ctrl, NEXT, 0);
    Atomics.store(ctrl, ERR, 0);
    const fds = this.files.map((f) => f.fd);
    if (!shared || Atomics.load(ctrl, READY) !== 1) {
      readShare(fs, ctrl, pieces, count, buf, fds);
      this.check(pieces);
      return;
    }
    const n = this.cut(pieces, count);
    const g = ++this.gen;
    const job: Job = { gen: g, sab: buf.buffer, base: buf.byteOffset, length: buf.length, table: this.table.subarray(0, n * 4), count: n };
    this.port!.postMessage(job);
    Atomics.store(ctrl, OWNER, g);
    Atomics.store(ctrl, GEN, g);
    Atomics.notify(ctrl, GEN);
    if (this.opts.callerReads !== false) readShare(fs, ctrl, this.table, n, buf, fds);
    if (this.opts.callerReads === false || Atomics.compareExchange(ctrl, OWNER, g, 0) !== g) {
      // The helper joined: wait until it has finished its share.
      for (let d = Atomics.load(ctrl, DONE); d !== g; d = Atomics.load(ctrl, DONE)) Atomics.wait(ctrl, DONE, d);
    }
    this.check(this.table);
  }

  /** Copy the pieces into the shared table, cutting long ones; returns the new count. */
  private cut(pieces: Float64Array, count: number): number {
    let n = 0;
    for (let i = 0; i < count; i++) {
      const f = pieces[i * 4]!;
      const off = pieces[i * 4 + 1]!;
      const len = pieces[i * 4 + 2]!;
      const at = pieces[i * 4 + 3]!;
      for (let d = 0; d < len; d += CUT) {
        this.table = withRoomFor(this.table, n + 1);
        this.table.set([f, off + d, Math.min(CUT, len - d), at + d], n * 4);
        n++;
      }
    }
    return n;
  }

  /** Throw the first failed piece's error, naming its file. */
  private check(table: Float64Array): void {
    const bad = Atomics.load(this.ctrl, ERR);
    if (bad === 0) return;
    if (bad < 0) throw new Error('the parallel reader\'s helper thread failed'); // a bug in this file
    const file = this.files[table[(bad - 1) * 4]!]!;
    let code = '';
    for (let k = 0; k < CODE_LENGTH && this.ctrl[CODE + k] !== 0; k++) code += String.fromCharCode(this.ctrl[CODE + k]!);
    const e = Object.assign(new Error(`${code || 'read failed'}: read of ${file.name}`), code ? { code } : {});
    throw fsError(e, file.name, 'read');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    this.port?.close();
  }
}
