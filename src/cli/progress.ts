/** Progress bars for long operations (make-workload, convert, merge). */
import { Presets, SingleBar } from 'cli-progress';

/** A progress bar on stderr when it is a terminal; otherwise nothing. */
export function progressBar(label: string): { onProgress?: (done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { stop: () => {} };
  const MiB = 1024 * 1024;
  let bar: SingleBar | undefined;
  return {
    onProgress: (done, total) => {
      if (!bar) {
        bar = new SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {eta_formatted}`, hideCursor: true, clearOnComplete: true },
          Presets.shades_classic,
        );
        bar.start(Math.ceil(total / MiB), 0);
      }
      bar.setTotal(Math.ceil(total / MiB));
      bar.update(Math.floor(done / MiB));
    },
    stop: () => bar?.stop(),
  };
}
