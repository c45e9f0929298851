/**
 * hvsim ui's server without a browser (docs/ui.md, "Safety"): 127.0.0.1 only, foreign Host and
 * Origin headers refused (DNS rebinding, other sites), malformed requests refused without a change.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, okStdout, SIM_ENV } from '../helpers/cli.js';
import { startUi, type RunningUi } from '../helpers/ui.js';

/** A raw request with exactly these headers (fetch would set Host and Origin itself). */
function request(port: number, p: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('hvsim ui server', () => {
  let ui: RunningUi;
  beforeAll(async () => {
    ui = await startUi({ env: SIM_ENV });
  });
  afterAll(async () => {
    expect(await ui.stop()).toBe(0);
  });

  it('listens on 127.0.0.1 and serves the page and the API to its own Host', async () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const own = { Host: `127.0.0.1:${ui.port}` };
    const page = await request(ui.port, '/', own);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="app.js">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const state = await request(ui.port, '/api/state', { Host: `localhost:${ui.port}`, Origin: `http://localhost:${ui.port}` });
    expect(state.status).toBe(200);
    expect(JSON.parse(state.body)).toMatchObject({ vms: [], clockMode: 'simulated' });
  });

  it('refuses a foreign Host (DNS rebinding) or Origin (another site), and a missing Host', async () => {
    const foreign: Array<Record<string, string>> = [{ Host: `evil.example:${ui.port}` }, { Host: `127.0.0.1:${ui.port + 1}` }, { Host: `127.0.0.1:${ui.port}`, Origin: 'http://evil.example' }, { Host: `127.0.0.1:${ui.port}`, Origin: `https://127.0.0.1:${ui.port}` }];
    for (const headers of foreign) {
      for (const p of ['/', '/api/state', '/api/events']) {
        const r = await request(ui.port, p, headers);
        expect(r.status, `${p} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    // Without a Host header Node's HTTP parser refuses the request itself (400).
    expect((await request(ui.port, '/api/state', {})).status).toBe(400);
    // A cross-site form post would change the state: refused before anything runs.
    const post = await request(ui.port, '/api/action', { Host: `127.0.0.1:${ui.port}`, Origin: 'http://evil.example', 'Content-Type': 'application/json' }, 'POST', JSON.stringify({ op: 'new-vm', name: 'evil' }));
    expect(post.status).toBe(403);
    expect(okStdout(['get-vm'], runCli(['--root', ui.root, 'get-vm'], { env: SIM_ENV }))).not.toContain('evil');
  });

  it('refuses a body that is not JSON, or an action that is malformed, changing nothing', async () => {
    const own = { Host: `127.0.0.1:${ui.port}`, Origin: `http://127.0.0.1:${ui.port}` };
    const form = await request(ui.port, '/api/action', { ...own, 'Content-Type': 'application/x-www-form-urlencoded' }, 'POST', 'op=new-vm&name=x');
    expect(form.status).toBe(400);
    const bad = await request(ui.port, '/api/action', { ...own, 'Content-Type': 'application/json' }, 'POST', JSON.stringify({ op: 'power', kind: 'explode', vms: ['x'] }));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const ok = await request(ui.port, '/api/action', { ...own, 'Content-Type': 'application/json' }, 'POST', JSON.stringify({ op: 'new-vm', name: 'web01' }));
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, lines: ['web01: created (Off)'] });
    // A refused action returns the cmdlet's error and leaves the state as the CLI would.
    const refused = await request(ui.port, '/api/action', { ...own, 'Content-Type': 'application/json' }, 'POST', JSON.stringify({ op: 'write', vm: 'web01', drive: 0, offset: 0, length: 10 }));
    expect(JSON.parse(refused.body)).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
    const cli = runCli(['--root', ui.root, 'write-vm', '--name', 'web01', '--offset', '0'], { env: SIM_ENV, input: 'x' });
    expect(JSON.parse(refused.body).error.message).toBe(cli.stderr.replace(/^hvsim: /, '').trim());
  });

  it("takes the state directory's lock as the CLI does: waits for a command holding it, BUSY past the timeout", async () => {
    const lab = await startUi({ env: { ...SIM_ENV, HVSIM_LOCK_TIMEOUT: '300' } });
    try {
      const own = { Host: `127.0.0.1:${lab.port}` };
      expect((await request(lab.port, '/api/state', own)).status).toBe(200);
      // A live process (this one) holds the lock, as a CLI command in progress would.
      const lock = path.join(lab.root, 'lock');
      fs.writeFileSync(lock, `${process.pid}\n${os.hostname()}\n`);
      const busy = await request(lab.port, '/api/state', own);
      expect(busy.status).toBe(409);
      expect(JSON.parse(busy.body)).toMatchObject({ code: 'BUSY' });
      expect(JSON.parse(busy.body).message).toContain(`pid ${process.pid}`);
      fs.rmSync(lock);
      expect((await request(lab.port, '/api/state', own)).status).toBe(200);
    } finally {
      expect(await lab.stop()).toBe(0);
    }
    // With time to wait (the default 30 s), a request waits for the holder and then runs.
    const patient = await startUi({ env: SIM_ENV });
    try {
      const lock = path.join(patient.root, 'lock');
      fs.writeFileSync(lock, `${process.pid}\n${os.hostname()}\n`);
      const pending = request(patient.port, '/api/action', { Host: `127.0.0.1:${patient.port}`, 'Content-Type': 'application/json' }, 'POST', JSON.stringify({ op: 'new-vm', name: 'late' }));
      await new Promise((r) => setTimeout(r, 500));
      expect(fs.existsSync(path.join(patient.root, 'vms', 'late'))).toBe(false);
      fs.rmSync(lock);
      expect(JSON.parse((await pending).body)).toMatchObject({ ok: true, lines: ['late: created (Off)'] });
    } finally {
      expect(await patient.stop()).toBe(0);
    }
  });

  it("refuses what it cannot serve, with the CLI's one line and exit status 2", () => {
    const file = path.join(os.tmpdir(), `hvsim-ui-file-${process.pid}`);
    fs.writeFileSync(file, 'x');
    try {
      for (const [args, says] of [
        [['ui', '--port', 'http'], /--port http: expected a port number/],
        [['ui', '--port', '70000'], /--port 70000: expected a port number/],
        [['--host', 'hyperv', 'ui'], /hvsim ui shows the simulator/],
        [['--inject-fault', 'checkpoint:web01', 'ui'], /does not take --inject-fault/],
        [['ui', '--build', file], /not a folder/],
      ] as const) {
        const r = runCli([...args], { env: SIM_ENV });
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(says);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
