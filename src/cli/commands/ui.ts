/**
 * hvsim ui: a local web page over the simulator's state directory (docs/ui.md). Runs until
 * Ctrl-C (or SIGTERM/SIGHUP), then closes the server and exits 0.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { HvsimError } from '../../errors.js';
import { parseHostSpec } from '../../hyperv/host-spec.js';
import { err, out } from '../output.js';
import { stateRoot, type Globals } from '../sim-host.js';
import { keepWasmBaseline } from '../wasm-tiering.js';

interface UiOpts {
  port: string;
  open?: boolean;
  build?: string;
}

/** The static build as npm run build made it (scripts/build-ui.mjs). */
const STATIC_SITE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui', 'static-site');

/** hvsim ui --build DIR: copy the static build (the simulator in the page, no server) to DIR. */
function buildStatic(dir: string): string[] {
  if (!fs.existsSync(path.join(STATIC_SITE, 'app.js'))) throw new HvsimError('NOT_FOUND', `${STATIC_SITE}: the static build is missing (run npm run build)`, { file: STATIC_SITE });
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new HvsimError('INVALID_ARGUMENT', `${dir}: not a folder`, { file: dir });
  fs.mkdirSync(dir, { recursive: true });
  const files = fs.readdirSync(STATIC_SITE);
  for (const f of files) fs.copyFileSync(path.join(STATIC_SITE, f), path.join(dir, f));
  return files;
}

/** The system's way to open a URL in the browser. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : process.platform === 'darwin' ? ['open', [url]] : ['xdg-open', [url]];
  const p = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  p.on('error', () => err(`hvsim: could not open a browser (${cmd}); open ${url}\n`));
  p.unref();
}

export function registerUiCommand(program: Command): void {
  program
    .command('ui')
    .description('a web page on 127.0.0.1 showing the VMs, checkpoint trees, disk files, blocks and merges, with actions, a PowerShell pane and a guided lesson (docs/ui.md)')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8470')
    .option('--open', 'open the page in the browser')
    .option('--build <dir>', 'write the static build to DIR instead: the whole simulator running in the page over an in-memory disk store, no server (put it on any web server)')
    .action(async (o: UiOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      if (o.build !== undefined) {
        const files = buildStatic(o.build);
        out(`hvsim ui: wrote ${files.length} files to ${o.build}; serve that folder over HTTP (module scripts and .wasm files do not load from file://)\n`);
        return;
      }
      if (parseHostSpec(g.host).kind !== 'sim') throw new HvsimError('INVALID_ARGUMENT', 'hvsim ui shows the simulator (a real host has no block maps to show)');
      if (g.injectFault?.length) throw new HvsimError('INVALID_ARGUMENT', 'hvsim ui does not take --inject-fault');
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535) throw new HvsimError('INVALID_ARGUMENT', `--port ${o.port}: expected a port number (0 to 65535)`);
      keepWasmBaseline(); // its PowerShell pane loads the grammar
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
