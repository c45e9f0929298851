/** Progress bars for long operations (make-workload, convert, merge, read-vhd/write-vhd with files). */
import { Presets, SingleBar } from 'cli-progress';
import { onInterruptRestore } from './interrupt.js';
import { MiB } from '../vhd/common/bytes.js';

/**
 * A progress bar on stderr when it is a terminal; otherwise nothing. While drawn it hides the
 * cursor and turns line wrap off; stop() (or an interrupt, interrupt.ts) puts both back.
 */
export function progressBar(label: string): { onProgress?: (done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { stop: () => {} };
  let bar: SingleBar | undefined;
  let forget = (): void => {};
  const stop = (): void => {
    forget();
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress: (done, total) => {
      if (!bar) {
        bar = new SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {eta_formatted}`, hideCursor: true, clearOnComplete: true },
          Presets.shades_classic,
        );
        bar.start(Math.ceil(total / MiB), 0);
        forget = onInterruptRestore(stop);
      }
      const t = Math.ceil(total / MiB);
      bar.setTotal(t);
      // A partial last MiB still counts as done when everything is (no bar stuck at 99%).
      bar.update(done >= total ? t : Math.floor(done / MiB));
    },
    stop,
  };
}
