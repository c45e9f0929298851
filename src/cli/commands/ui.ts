/**
 * hvsim ui: a local web page over the simulator's state directory (docs/ui.md). Runs until
 * Ctrl-C (or SIGTERM/SIGHUP), then closes the server and exits 0.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { HvsimError } from '../../errors.js';
import { parseHostSpec } from '../../hyperv/index.js';
import { out } from '../output.js';
import { stateRoot, type Globals } from '../sim-host.js';

interface UiOpts {
  port: string;
  open?: boolean;
}

/** The system's way to open a URL in the browser. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : process.platform === 'darwin' ? ['open', [url]] : ['xdg-open', [url]];
  const p = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  p.on('error', () => process.stderr.write(`hvsim: could not open a browser (${cmd}); open ${url}\n`));
  p.unref();
}

export function registerUiCommand(program: Command): void {
  program
    .command('ui')
    .description('a web page on 127.0.0.1 showing the VMs, checkpoint trees, disk files, blocks and merges, with actions, a PowerShell pane and a guided lesson (docs/ui.md)')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8470')
    .option('--open', 'open the page in the browser')
    .action(async (o: UiOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      if (parseHostSpec(g.host).kind !== 'sim') throw new HvsimError('INVALID_ARGUMENT', 'hvsim ui shows the simulator (a real host has no block maps to show)');
      if (g.injectFault?.length) throw new HvsimError('INVALID_ARGUMENT', 'hvsim ui does not take --inject-fault');
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535) throw new HvsimError('INVALID_ARGUMENT', `--port ${o.port}: expected a port number (0 to 65535)`);
      const { startUiServer } = await import('../../ui/server.js');
      const server = await startUiServer({ root: stateRoot(g), port, ...(g.computerName !== undefined ? { computerName: g.computerName } : {}) });
      out(`hvsim ui: ${server.url} (state directory ${stateRoot(g)}; Ctrl-C to stop)\n`);
      if (o.open) openBrowser(server.url);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, stop);
          void server.close().then(resolve);
        };
        for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
      });
    });
}
