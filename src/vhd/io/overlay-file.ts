import { invalidArgument } from '../../errors.js';
import { readFully, type BlockFile } from './block-file.js';

const PAGE = 4096;

/**
 * A copy-on-write view of a base file: writes, truncations and zero ranges stay in memory and
 * the base is never written. Used to replay a dirty VHDX log (MS-VHDX §2.3.3) for a read-only
 * open without touching the file, as DiscUtils does with its in-memory snapshot.
 *
 * State, from highest precedence down: 4 KiB pages written through the overlay; recorded zero
 * ranges (so a huge zero range costs no memory); base bytes below `baseLimit`; zeros. `baseLimit`
 * starts at the base size and only shrinks (truncation hides base bytes for good).
 */
export class OverlayFile implements BlockFile {
  readonly name: string;
  readonly readOnly = false;
  private readonly base: BlockFile;
  private readonly closeBase: boolean;
  private readonly pages = new Map<number, Uint8Array>();
  /** Sorted, disjoint, non-adjacent [start, end) ranges that read as zero; all below baseLimit. */
  private zeros: Array<[number, number]> = [];
  private baseLimit: number;
  private length: number;

  /** `closeBase` (default true): close() also closes the base file. */
  constructor(base: BlockFile, opts: { name?: string; closeBase?: boolean } = {}) {
    this.base = base;
    this.name = opts.name ?? base.name;
    this.closeBase = opts.closeBase ?? true;
    this.length = base.size();
    this.baseLimit = this.length;
  }

  /** Number of 4 KiB pages held in memory. */
  get pageCount(): number {
    return this.pages.size;
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(offset + length))
      throw invalidArgument(`offset ${offset} (+${length}) is out of range`, this.name);
  }

  /** Page indices in [first, last] that are present, cheapest way round. */
  private presentPages(first: number, last: number): number[] {
    const out: number[] = [];
    if (last - first + 1 <= this.pages.size) {
      for (let i = first; i <= last; i++) if (this.pages.has(i)) out.push(i);
    } else {
      for (const i of this.pages.keys()) if (i >= first && i <= last) out.push(i);
    }
    return out;
  }

  /** Index of the first zero range whose end is after `offset`. */
  private firstZeroAfter(offset: number): number {
    let lo = 0;
    let hi = this.zeros.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.zeros[mid]![1] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  read(buf: Uint8Array, offset: number): number {
    this.checkRange(offset, buf.length);
    if (offset >= this.length) return 0;
    const n = Math.min(buf.length, this.length - offset);
    const out = buf.subarray(0, n);
    const end = offset + n;
    const baseEnd = Math.min(end, this.baseLimit);
    if (offset < baseEnd) {
      readFully(this.base, out.subarray(0, baseEnd - offset), offset);
      out.fill(0, baseEnd - offset);
    } else out.fill(0);
    for (let i = this.firstZeroAfter(offset); i < this.zeros.length; i++) {
      const [s, e] = this.zeros[i]!;
      if (s >= end) break;
      out.fill(0, Math.max(s, offset) - offset, Math.min(e, end) - offset);
    }
    for (const idx of this.presentPages(Math.floor(offset / PAGE), Math.floor((end - 1) / PAGE))) {
      const page = this.pages.get(idx)!;
      const ps = idx * PAGE;
      const from = Math.max(ps, offset);
      const to = Math.min(ps + PAGE, end);
      out.set(page.subarray(from - ps, to - ps), from - offset);
    }
    return n;
  }

  write(buf: Uint8Array, offset: number): void {
    this.checkRange(offset, buf.length);
    const end = offset + buf.length;
    if (buf.length === 0) {
      // Like MemoryFile (and NodeFile's size), an empty write still moves the end of the file.
      if (end > this.length) this.length = end;
      return;
    }
    for (let idx = Math.floor(offset / PAGE); idx * PAGE < end; idx++) {
      const ps = idx * PAGE;
      const from = Math.max(ps, offset);
      const to = Math.min(ps + PAGE, end);
      let page = this.pages.get(idx);
      if (!page) {
        page = new Uint8Array(PAGE);
        // A partly written page starts from what reads see there (bytes past the end are zero).
        if (to - from < PAGE) this.read(page, ps);
        this.pages.set(idx, page);
      }
      page.set(buf.subarray(from - offset, to - offset), from - ps);
    }
    if (end > this.length) this.length = end;
  }

  /** Make [offset, offset+length) read as zero (extending the file if needed) without storing it. */
  zeroRange(offset: number, length: number): void {
    this.checkRange(offset, length);
    if (length <= 0) return;
    const end = offset + length;
    const first = Math.floor(offset / PAGE);
    const last = Math.floor((end - 1) / PAGE);
    for (const idx of this.presentPages(first, last)) {
      const ps = idx * PAGE;
      if (offset <= ps && ps + PAGE <= end) this.pages.delete(idx);
      else this.pages.get(idx)!.fill(0, Math.max(ps, offset) - ps, Math.min(ps + PAGE, end) - ps);
    }
    // Only the part over base bytes needs recording: everything else without a page is zero.
    const zEnd = Math.min(end, this.baseLimit);
    if (offset < zEnd) this.addZero(offset, zEnd);
    if (end > this.length) this.length = end;
  }

  private addZero(s: number, e: number): void {
    const i = this.firstZeroAfter(s - 1); // first range ending at or after s (touching ones merge)
    let j = i;
    while (j < this.zeros.length && this.zeros[j]![0] <= e) {
      s = Math.min(s, this.zeros[j]![0]);
      e = Math.max(e, this.zeros[j]![1]);
      j++;
    }
    this.zeros.splice(i, j - i, [s, e]);
  }

  size(): number {
    return this.length;
  }

  truncate(size: number): void {
    this.checkRange(size, 0);
    if (size < this.length) {
      if (size < this.baseLimit) this.baseLimit = size;
      for (const idx of [...this.pages.keys()]) {
        const ps = idx * PAGE;
        if (ps >= size) this.pages.delete(idx);
        else if (ps + PAGE > size) this.pages.get(idx)!.fill(0, size - ps);
      }
      const keep: Array<[number, number]> = [];
      for (const [s, e] of this.zeros) if (s < this.baseLimit) keep.push([s, Math.min(e, this.baseLimit)]);
      this.zeros = keep;
    }
    this.length = size;
  }

  /** Nothing to make durable: the overlay lives in memory only. */
  flush(): void {}

  close(): void {
    this.pages.clear();
    this.zeros = [];
    if (this.closeBase) this.base.close();
  }
}
