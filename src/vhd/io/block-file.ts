/**
 * The only way format code touches storage: positional, synchronous I/O on one file.
 * Synchronous on purpose (bench/README.md, "Why disk I/O is synchronous": ~2 µs per 4 KiB
 * readSync against 40-50 µs async).
 */
export interface BlockFile {
  /** A name for messages (the path for real files). */
  readonly name: string;
  readonly readOnly: boolean;
  /** Read up to `buf.length` bytes at `offset`; returns the count read (short only at end of file). */
  read(buf: Uint8Array, offset: number): number;
  /** Write all of `buf` at `offset`, extending the file when needed. */
  write(buf: Uint8Array, offset: number): void;
  size(): number;
  truncate(size: number): void;
  /** Make every completed write durable. */
  flush(): void;
  close(): void;
}

/** Where block files come from by path: a DiskStore (src/engine/store.ts) or a test's own. */
export interface FileOpener {
  open(path: string, mode: 'r' | 'rw'): BlockFile;
}

/** Read exactly `buf.length` bytes or report how many were missing (zero-fills the rest). */
export function readFully(file: BlockFile, buf: Uint8Array, offset: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = file.read(done === 0 ? buf : buf.subarray(done), offset + done); // no view for a whole read
    if (n <= 0) break;
    done += n;
  }
  if (done < buf.length) buf.fill(0, done);
  return done;
}

/**
 * Many pieces of several files read into one buffer at once, split between threads where that
 * pays (src/vhd/io/parallel-read.ts; bench/README.md, "Reads in parallel"). `pieces` holds
 * quads (file index, file offset, length, buffer offset); a negative file index fills zeros. A
 * piece past a file's end reads as zeros, as readFully does. The buffer must be backed by a
 * SharedArrayBuffer (`sharedIoBuffer`) for another thread to fill it; other buffers are read on
 * the calling thread.
 */
export interface PieceReader {
  read(buf: Uint8Array, pieces: Float64Array, count: number): void;
  /** Stop the helper thread (idle whenever read() has returned); the files stay open. */
  close(): void;
}

/** `table` with room for `quads` PieceReader quads: itself, or its copy grown by doubling. */
export function withRoomFor(table: Float64Array<ArrayBuffer>, quads: number): Float64Array<ArrayBuffer> {
  if (quads * 4 <= table.length) return table;
  let size = table.length * 2;
  while (size < quads * 4) size *= 2;
  const t = new Float64Array(size);
  t.set(table);
  return t;
}
