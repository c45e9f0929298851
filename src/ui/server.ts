/**
 * hvsim ui's web server (docs/ui.md): the page's files and a small JSON API over the simulator
 * kept in a state directory, opened for each request under the same lock as the CLI (so a
 * request and a CLI command never interleave), plus server-sent events when the state changes.
 *
 * Safety: it listens on 127.0.0.1 only, and refuses any request whose Host header is not its own
 * address or whose Origin (when sent) is not its own page — a web page elsewhere cannot reach it,
 * even through DNS rebinding. The page's Content-Security-Policy allows its own script only.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES, HvsimError } from '../errors.js';
import type { Simulator } from '../sim/simulator.js';
import { DirectoryStorage, STATE_FILE } from '../sim/storage.js';
import { openSimulator } from '../cli/sim-host.js';
import { loadSession, saveSession } from '../cli/commands/run.js';
import { mergesOf, runAction, runPowerShell, uiBlocks, uiState, type GroupReports } from './model.js';
import { parseAction } from './parse-action.js';

export interface UiServerOptions {
  /** The state directory (as --root). */
  root: string;
  /** 0: any free port. */
  port: number;
  /** --computer-name, for a new state directory. */
  computerName?: string;
  /** Where index.html, app.js and app.css are (default: static/ beside this module). */
  staticDir?: string;
  /** How often to look at the state directory for changes by others (ms). */
  pollMs?: number;
}

export interface UiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
} as const;

/** Largest request body accepted (a PowerShell script or an action). */
const MAX_BODY = 1024 * 1024;

function httpStatus(e: HvsimError): number {
  switch (EXIT_CODES[e.code]) {
    case 2:
      return 400;
    case 3:
      return 404;
    case 4:
      return 409;
    default:
      return 500;
  }
}

/** The identity of the state file and folder: changes when anyone rewrites the state. */
function stamp(root: string): string {
  const part = (p: string): string => {
    try {
      const s = fs.statSync(p);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return '-';
    }
  };
  return `${part(path.join(root, STATE_FILE))}|${part(path.join(root, 'powershell-session.json'))}`;
}

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const root = path.resolve(opts.root);
  const staticDir = opts.staticDir ?? DEFAULT_STATIC_DIR;
  if (!fs.existsSync(path.join(staticDir, 'app.js')))
    throw new HvsimError('NOT_FOUND', `${staticDir}: the page is not built (run npm run build)`, { file: staticDir });
  const reports: GroupReports = new Map();
  const clients = new Set<http.ServerResponse>();
  let version = 1;
  let known = stamp(root);
  let port = opts.port;
  let mergeTimer: NodeJS.Timeout | undefined;
  let busy = 0;

  const broadcast = (): void => {
    version++;
    for (const c of clients) c.write(`event: change\ndata: ${JSON.stringify({ version })}\n\n`);
  };

  // One request at a time: the directory lock is per process and would wait for itself.
  let queue: Promise<unknown> = Promise.resolve();
  const withSim = <T>(fn: (sim: Simulator) => Promise<T>, changes: boolean): Promise<T> => {
    const run = async (): Promise<T> => {
      busy++;
      let sim: Simulator | undefined;
      let merges: number[] = [];
      try {
        // Waits for a CLI command holding the lock (BUSY after HVSIM_LOCK_TIMEOUT, as the CLI).
        const open = openSimulator(new DirectoryStorage(root), opts.computerName !== undefined ? { computerName: opts.computerName } : {});
        sim = open;
        const r = await fn(open);
        merges = open.snapshotState().vms.flatMap((v) => (v.mergeUntil !== null ? [v.mergeUntil - open.clock.now()] : []));
        return r;
      } finally {
        sim?.close();
        const now = stamp(root);
        // Our own reads rewrite the state only to move the clock: no one needs telling.
        if (changes) broadcast();
        known = now;
        busy--;
        scheduleMerge(merges);
      }
    };
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  };

  /** When a background merge is due, let the simulator finish it, and tell the pages. */
  const scheduleMerge = (dueIn: number[]): void => {
    if (dueIn.length === 0 || mergeTimer !== undefined) return;
    const ms = Math.max(0, Math.min(...dueIn));
    mergeTimer = setTimeout(() => {
      mergeTimer = undefined;
      void withSim(async (sim) => {
        // Simulated time does not pass by itself: let the merge's time pass (as Start-Sleep).
        if (sim.snapshotState().clockMode === 'simulated') await sim.sleep(ms);
        else await sim.getVM();
      }, true).catch(() => undefined);
    }, ms + 20);
  };

  // Others (the CLI, hvsim run) change the state: tell the pages. Not while a request of ours
  // runs (its own writes are not news).
  const poller = setInterval(() => {
    if (busy > 0) return;
    const now = stamp(root);
    if (now !== known) {
      known = now;
      broadcast();
    }
  }, opts.pollMs ?? 200);

  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: http.ServerResponse, e: unknown): void => {
    if (e instanceof HvsimError) send(res, httpStatus(e), { code: e.code, message: e.message });
    else send(res, 500, { code: 'BUG', message: `internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
  };

  const readJson = (req: http.IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        reject(new HvsimError('INVALID_ARGUMENT', 'the request body must be application/json'));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new HvsimError('INVALID_ARGUMENT', `the request body is larger than ${MAX_BODY} bytes`));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch {
          reject(new HvsimError('INVALID_ARGUMENT', 'the request body is not JSON'));
        }
      });
      req.on('error', reject);
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // DNS rebinding and cross-site requests: only our own address, only our own page.
    const host = req.headers.host;
    const origin = req.headers.origin;
    if (host === undefined || !allowedHosts().includes(host.toLowerCase()) || (origin !== undefined && !allowedOrigins().includes(origin.toLowerCase()))) {
      res.writeHead(403, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('hvsim ui: refused: this server answers its own page only (Host or Origin is not its own)\n');
      return;
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    const method = req.method ?? 'GET';
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS);
      res.end();
      return;
    }
    const file = STATIC[url.pathname];
    if (file && method === 'GET') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': file.type });
      res.end(fs.readFileSync(path.join(staticDir, file.file)));
      return;
    }
    try {
      if (url.pathname === '/api/events' && method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
        res.write(`event: hello\ndata: ${JSON.stringify({ version })}\n\n`);
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      if (url.pathname === '/api/state' && method === 'GET') {
        const detail = url.searchParams.get('vm') ?? undefined;
        send(res, 200, await withSim((sim) => uiState(sim, reports, version, detail), false));
        return;
      }
      if (url.pathname === '/api/blocks' && method === 'GET') {
        const vm = url.searchParams.get('vm') ?? '';
        const drive = Number(url.searchParams.get('drive') ?? '0');
        if (!Number.isInteger(drive) || drive < 0) throw new HvsimError('INVALID_ARGUMENT', 'drive must be a drive number');
        send(res, 200, await withSim((sim) => uiBlocks(sim, vm, drive), false));
        return;
      }
      if (url.pathname === '/api/action' && method === 'POST') {
        const action = parseAction(await readJson(req));
        send(res, 200, await withSim(async (sim) => ({ ...(await runAction(sim, action, { exportRoot: path.join(root, 'exports'), reports })), merges: mergesOf(sim) }), true));
        return;
      }
      if (url.pathname === '/api/run' && method === 'POST') {
        const body = (await readJson(req)) as { source?: unknown };
        if (typeof body !== 'object' || body === null || typeof body.source !== 'string') throw new HvsimError('INVALID_ARGUMENT', 'expected {"source": "…"}');
        const source = body.source;
        const r = await withSim(async (sim) => {
          const out = await runPowerShell(sim, source, loadSession(root));
          saveSession(root, out.vars);
          return { output: out.output, exitCode: out.exitCode, merges: mergesOf(sim) };
        }, true);
        send(res, 200, r);
        return;
      }
      send(res, 404, { code: 'NOT_FOUND', message: `${method} ${url.pathname}: no such page or API` });
    } catch (e) {
      fail(res, e);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) fail(res, e);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new HvsimError('BUSY', `port ${opts.port} on 127.0.0.1 is in use (choose another with --port, or 0 for any)`) : e),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('hvsim ui: the server has no port');
  port = addr.port;
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(poller);
        clearInterval(heartbeat);
        if (mergeTimer !== undefined) clearTimeout(mergeTimer);
        for (const c of clients) c.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
