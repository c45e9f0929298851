/**
 * hvsim ui in a real browser (Debian's chromium through playwright-core; test/helpers/chromium.ts):
 * the guided lesson clicked through end to end, the page and the CLI seeing each other's changes,
 * names shown as text, two pages agreeing. A screenshot of each view is saved in
 * .ci/ui-screenshots/ (docs/images/ has a few of them).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumGate, launchChromium } from '../helpers/chromium.js';
import { okStdout, runCli, SIM_ENV } from '../helpers/cli.js';
import { startUi, type RunningUi } from '../helpers/ui.js';

/** The objects of a --json output (one object or a list). */
const list = (json: string): Array<Record<string, unknown>> => {
  const v = JSON.parse(json === '' ? '[]' : json) as Record<string, unknown> | Array<Record<string, unknown>>;
  return Array.isArray(v) ? v : [v];
};

const SHOTS = path.resolve(import.meta.dirname, '..', '..', '.ci', 'ui-screenshots');
const ok = chromiumGate();

async function openPage(browser: Browser, url: string, theme: 'light' | 'dark' = 'light'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: theme });
  // Any script run from a name would show up as a dialog or a page error.
  page.on('dialog', (d) => {
    throw new Error(`a dialog opened: ${d.message()}`);
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(url);
  await page.locator('#view-vms').waitFor();
  return page;
}

/** The page fits its 1280×800 viewport: no page scrolling, either way (its views scroll inside). */
async function expectFits(page: Page, where: string): Promise<void> {
  // (Run in the page: a string, as this file is checked without the DOM's types.)
  const m = await page.evaluate<{ w: number; h: number; vw: number; vh: number }>(
    '({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight, vw: window.innerWidth, vh: window.innerHeight })',
  );
  expect({ where, ...m }).toEqual({ where, w: m.vw, h: m.vh, vw: 1280, vh: 800 });
}

function pageErrors(page: Page): string[] {
  return (page as Page & { errors: string[] }).errors;
}

async function shot(page: Page, name: string, selector?: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else {
    await page.locator('header.top').scrollIntoViewIfNeeded();
    await page.screenshot({ path: file });
  }
}

describe.skipIf(!ok)('hvsim ui in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('the guided lesson, end to end', () => {
    let ui: RunningUi;
    beforeAll(async () => {
      ui = await startUi({ env: SIM_ENV });
    });
    afterAll(async () => {
      expect(await ui.stop()).toBe(0);
    });
    const cli = (...args: string[]): string => okStdout(args, runCli(['--root', ui.root, ...args], { env: SIM_ENV }));

    it('runs every step, the views follow, and the CLI sees the result', async () => {
      const page = await openPage(browser, ui.url);
      const steps = await page.locator('.steps li').count();
      expect(steps).toBeGreaterThanOrEqual(14);
      const outputs: string[] = [];
      for (let i = 0; i < steps; i++) {
        const title = await page.locator('#step-title').textContent();
        await page.locator(`[data-lesson-run="${i}"]`).click();
        const out = page.locator(`[data-lesson-output="${i}"]`);
        await out.waitFor({ timeout: 30_000 });
        outputs.push(`${title}\n${await out.textContent()}`);
        // Let merges finish and the views settle before the picture.
        await page.waitForTimeout(300);
        await expectFits(page, `lesson step ${i + 1}`);
        if (/Pause and save/.test(title ?? '')) await shot(page, 'lesson-pause-save');
        if (/2\. Checkpoint/.test(title ?? '')) {
          await shot(page, 'view-checkpoints', '#view-checkpoints');
          await shot(page, 'view-disks', '#view-disks');
        }
        if (/writable leaf/.test(title ?? '')) await shot(page, 'view-blocks', '#view-blocks');
        if (/Remove all checkpoints/.test(title ?? '')) await shot(page, 'lesson-merge');
        if (/one operation/.test(title ?? '')) {
          await page.locator('#tab-groups').click();
          await expectFits(page, 'groups tab');
          // Taken in the page: each VM's pause, save, checkpoint and start, timed.
          expect(await page.locator('#view-groups .lane[data-vm="SSTest1"] .seg').evaluateAll((e) => e.map((x) => x.getAttribute('data-step')))).toEqual(['Suspend-VM', 'Save-VM', 'Checkpoint-VM', 'Start-VM']);
          await shot(page, 'view-groups', '#panel-groups');
          await page.locator('#tab-lesson').click();
        }
        if (/Data between/.test(title ?? '')) await shot(page, 'lesson-nested-checkpoints');
        if (i < steps - 1) await page.locator('[data-lesson-next]').click();
      }
      await shot(page, 'view-lesson', '#view-lesson');
      await shot(page, 'lesson-end');
      const all = outputs.join('\n');
      // The seed's confirmations, as PowerShell prints them.
      expect(outputs.find((o) => o.includes('Pause and save'))).toMatch(/SSTest1\s+Saved/);
      expect(outputs.find((o) => o.includes('3. Restart'))).toMatch(/SSTest1\s+Running/);
      expect(all).not.toMatch(/hvsim: |INVALID_|NOT_FOUND|failed/);
      // What the lesson left, as the CLI sees it.
      expect(list(cli('get-vmsnapshot', '--vm-name', 'SSTest1', '--json')).map((s) => s.Name)).toEqual(['Known good']);
      expect(list(cli('get-vm', '--name', 'SSTest1', '--json'))[0]!.ParentSnapshotName).toBe('Known good');
      expect(cli('get-vmsnapshot', '--vm-name', 'V-2012R2-Test1').trim()).toBe('');
      expect(fs.readdirSync(path.join(ui.root, 'exports', 'SSTest1'), { recursive: true }).some((f) => String(f).endsWith('.vhdx'))).toBe(true);
      // The page shows the same.
      await expect.poll(() => page.locator('#view-checkpoints .node .name').allTextContents()).toEqual(['Known good']);
      expect(pageErrors(page)).toEqual([]);
    }, 180_000);

    it('runs again on the same state directory: asks, then starts over with the lesson\'s own VMs', async () => {
      const ids = list(cli('get-vm', '--json')).map((v) => v.Id);
      const page = await openPage(browser, ui.url);
      await page.locator('.steps li button').first().click();
      await page.locator('[data-lesson-run="0"]').click();
      const ask = page.locator('[data-lesson-ask]');
      await ask.waitFor();
      expect(await ask.textContent()).toContain('SSTest1 (Off, 1 checkpoint)');
      await shot(page, 'lesson-start-over', '#view-lesson');
      await page.locator('[data-lesson-start-over]').click();
      const out = page.locator('[data-lesson-output="0"]');
      await out.waitFor({ timeout: 30_000 });
      expect(await out.textContent()).toMatch(/SSTest1: 1 checkpoint removed \('Known good'\)[\s\S]*SSTest1\s+Running/);
      // The same VMs, reused; the next steps run as the first time.
      expect(list(cli('get-vm', '--json')).map((v) => v.Id)).toEqual(ids);
      for (let i = 1; i < 5; i++) {
        await page.locator('[data-lesson-next]').click();
        await page.locator(`[data-lesson-run="${i}"]`).click();
        await page.locator(`[data-lesson-output="${i}"]`).waitFor({ timeout: 30_000 });
        expect(await page.locator(`[data-lesson-output="${i}"]`).textContent()).not.toMatch(/hvsim: |INVALID_|NOT_FOUND|failed/);
      }
      expect(list(cli('get-vmsnapshot', '--vm-name', 'SSTest1', '--json')).map((s) => s.Name)).toHaveLength(1);
      expect(pageErrors(page)).toEqual([]);
    }, 120_000);
  });

  describe('the page and the CLI', () => {
    let ui: RunningUi;
    beforeAll(async () => {
      ui = await startUi({ env: SIM_ENV });
      runCli(['--root', ui.root, 'new-vm', '--name', 'web01', '--disk-size', '16M'], { env: SIM_ENV });
      runCli(['--root', ui.root, 'new-vm', '--name', "a & b 'q'", '--disk-size', '16M'], { env: SIM_ENV });
    });
    afterAll(async () => {
      expect(await ui.stop()).toBe(0);
    });
    const cli = (...args: string[]): string => okStdout(args, runCli(['--root', ui.root, ...args], { env: SIM_ENV }));

    it('a checkpoint made in the page is seen by get-vmsnapshot, and one made by the CLI appears in the page', async () => {
      const page = await openPage(browser, ui.url);
      await page.locator('button.vmname', { hasText: 'web01' }).click();
      await page.getByLabel('Checkpoint name').fill('made in the page');
      await page.locator('#view-vms button[type=submit]', { hasText: /^Checkpoint$/ }).click();
      await page.locator('#view-checkpoints [data-snapshot="made in the page"]').waitFor();
      expect(cli('get-vmsnapshot', '--vm-name', 'web01')).toContain('made in the page');
      // Made by the CLI while the page is open: the page shows it without a reload (server-sent events).
      cli('checkpoint-vm', '--name', 'web01', '--snapshot-name', 'made by the CLI');
      await page.locator('#view-checkpoints [data-snapshot="made by the CLI"]').waitFor({ timeout: 10_000 });
      expect(await page.locator('#view-vms tr[data-vm="web01"] td').nth(5).textContent()).toBe('2');
      expect(pageErrors(page)).toEqual([]);
    });

    it('shows names with quotes, <, & and scripts as text', async () => {
      const page = await openPage(browser, ui.url);
      const vm = "a & b 'q'";
      const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
      cli('checkpoint-vm', '--name', vm, '--snapshot-name', evil);
      await page.locator('button.vmname', { hasText: vm }).click();
      const node = page.locator('#view-checkpoints .node .name').first();
      await expect.poll(() => node.textContent()).toBe(evil);
      expect(await page.locator('button.vmname', { hasText: 'a &' }).textContent()).toBe(vm);
      // No element came from a name.
      expect(await page.locator('#app script, #app img').count()).toBe(0);
      expect(await page.locator('#view-disks').textContent()).toContain(`checkpoint “${evil}”`);
      await shot(page, 'names-as-text', '#view-checkpoints');
      expect(pageErrors(page)).toEqual([]);
    });

    it('two pages open at once stay consistent', async () => {
      const a = await openPage(browser, ui.url);
      const b = await openPage(browser, ui.url);
      await a.locator('button.vmname', { hasText: 'web01' }).click();
      await b.locator('button.vmname', { hasText: 'web01' }).click();
      await a.locator('#view-vms button', { hasText: /^Start$/ }).click();
      await expect.poll(() => b.locator('#view-vms tr[data-vm="web01"] td.state').textContent(), { timeout: 10_000 }).toBe('Running');
      await b.locator('#view-checkpoints [data-snapshot="made in the page"]').click();
      await b.getByLabel('Rename to').fill('renamed in page B');
      await b.locator('#view-checkpoints button[type=submit]', { hasText: 'Rename' }).click();
      await a.locator('#view-checkpoints [data-snapshot="renamed in page B"]').waitFor({ timeout: 10_000 });
      expect(cli('get-vmsnapshot', '--vm-name', 'web01')).toContain('renamed in page B');
      // The cmdlet's warnings and errors reach the page; a refused action changes nothing.
      await a.locator('#view-vms button', { hasText: /^Start$/ }).click();
      await a.locator('#tab-log').click();
      await expect.poll(() => a.locator('.log li').last().textContent()).toBe("WARNING: Start-VM: 'web01': The virtual machine is already in the specified state.");
      await a.getByLabel('New VM').fill('bad/name');
      await a.locator('#view-vms button[type=submit]', { hasText: 'Create' }).click();
      await expect.poll(() => a.locator('.log li.bad').last().textContent()).toMatch(/^INVALID_ARGUMENT: New-VM: "bad\/name" is not a valid virtual machine name/);
      expect(cli('get-vm')).not.toContain('bad');
      expect(pageErrors(a)).toEqual([]);
      expect(pageErrors(b)).toEqual([]);
    }, 120_000);

    it('a removed checkpoint merges: its blocks move into the child, then its file disappears', async () => {
      cli('new-vm', '--name', 'db01', '--disk-size', '64M');
      cli('start-vm', '--name', 'db01');
      runCli(['--root', ui.root, 'write-vm', '--name', 'db01', '--offset', '0'], { env: SIM_ENV, input: Buffer.alloc(8 << 20, 1) });
      cli('checkpoint-vm', '--name', 'db01', '--snapshot-name', 'first');
      runCli(['--root', ui.root, 'write-vm', '--name', 'db01', '--offset', String(16 << 20)], { env: SIM_ENV, input: Buffer.alloc(8 << 20, 2) });
      cli('checkpoint-vm', '--name', 'db01', '--snapshot-name', 'second');
      const page = await openPage(browser, ui.url);
      await page.locator('button.vmname', { hasText: 'db01' }).click();
      await expect.poll(() => page.locator('#view-disks .file').count()).toBe(3);
      // Three colours: the base, the first checkpoint's .avhdx, and the leaf (empty so far).
      await expect.poll(() => page.locator('#view-blocks .legend li').count()).toBe(4);
      const avhdx = (await page.locator('#view-disks .file').nth(1).getAttribute('data-file'))!;
      await page.locator('#view-checkpoints [data-snapshot="second"]').click();
      await page.locator('#view-checkpoints button', { hasText: /^Delete checkpoint$/ }).click();
      // While it merges: a progress bar on the file, the block map saying so.
      await page.locator(`#view-disks .file.merging[data-file="${avhdx}"] [role=progressbar]`).waitFor({ timeout: 10_000 });
      await expect.poll(() => page.locator('#view-blocks .probes').textContent()).toMatch(/Merging… \d+%/);
      await page.waitForTimeout(500);
      await shot(page, 'merge-animation');
      // Then the file is gone, from the page and from the disk, and the checkpoint with it.
      await expect.poll(() => page.locator(`#view-disks .file[data-file="${avhdx}"]`).count(), { timeout: 10_000 }).toBe(0);
      expect(fs.existsSync(path.join(ui.root, 'vms', 'db01', 'Virtual Hard Disks', avhdx))).toBe(false);
      expect(cli('get-vmsnapshot', '--vm-name', 'db01')).not.toContain('second');
      expect(await page.locator('#view-blocks .probes').textContent()).not.toContain('Merging');
      expect(pageErrors(page)).toEqual([]);
    }, 120_000);

    it('works by keyboard, describes each slice of the block map, and shares the PowerShell session with hvsim run', async () => {
      const page = await openPage(browser, ui.url);
      // Tab to a VM's name and press Enter: it is selected.
      await page.locator('button.vmname', { hasText: 'db01' }).focus();
      await page.keyboard.press('Enter');
      await page.locator('#view-checkpoints h2', { hasText: 'db01' }).waitFor();
      // The first slice of the map: offset 0, read from the base (db01 wrote there before its checkpoint).
      const first = page.locator('#view-blocks .cell').first();
      await first.focus();
      await expect.poll(() => page.locator('#view-blocks .info').textContent()).toMatch(/^0x0–0x40000 \(0 B\): db01\.vhdx; a read walks 2 layers$/);
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => page.locator('#view-blocks .info').textContent()).toMatch(/^0x40000–0x80000/);
      // A slice never written: zeros, the walk goes through every layer.
      await page.locator('#view-blocks .cell').nth(200).hover();
      await expect.poll(() => page.locator('#view-blocks .info').textContent()).toMatch(/never written \(reads as zeros\); a read walks 2 layers/);
      // The pane continues the session hvsim run keeps in the state directory, and the reverse.
      okStdout(['run'], runCli(['--root', ui.root, 'run', '-'], { env: SIM_ENV, input: '$fromCli = "set by hvsim run"\n' }));
      await page.locator('#tab-powershell').click();
      await page.locator('#ps-input').fill('$fromCli; $fromPage = "set in the page"');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('.psout pre.out').last().textContent()).toBe('set by hvsim run\n');
      expect(okStdout(['run'], runCli(['--root', ui.root, 'run', '-'], { env: SIM_ENV, input: '$fromPage\n' }))).toBe('set in the page\n');
      expect(pageErrors(page)).toEqual([]);
    });

    it('is readable in the dark theme, and the theme can be switched by keyboard', async () => {
      const page = await openPage(browser, ui.url, 'dark');
      await expect.poll(() => page.locator('html').getAttribute('data-theme'), { timeout: 15_000 }).toBe('dark');
      await shot(page, 'dark-theme');
      await page.locator('.theme').focus();
      await page.keyboard.press('Enter');
      // Set by an effect after the next render (src/ui/page/app.tsx), not by the key press itself.
      await expect.poll(() => page.locator('html').getAttribute('data-theme'), { timeout: 15_000 }).toBe('light');
      await page.locator('#tab-powershell').click();
      await page.locator('#ps-input').fill('Get-VM | Select Name, State | Format-Table -AutoSize');
      await page.keyboard.press('Enter');
      // web01's state is whatever the tests before left it in: the table is what this checks
      await expect.poll(() => page.locator('.psout pre.out').last().textContent(), { timeout: 15_000 }).toMatch(/^\nName +State\n-+ +-+\nweb01 +(Running|Off|Saved|Paused)\n/);
      await expectFits(page, 'PowerShell tab');
      await shot(page, 'view-powershell', '#panel-powershell');
      await shot(page, 'view-vms', '#view-vms');
    });

    it('the lesson leaves a VM it did not make alone, even one with a lesson name', async () => {
      cli('new-vm', '--name', 'SSTest1', '--disk-size', '16M');
      const before = cli('get-vm', '--json');
      const page = await openPage(browser, ui.url);
      await page.locator('[data-lesson-run="0"]').click();
      const out = page.locator('[data-lesson-output="0"]');
      await out.waitFor();
      expect(await out.textContent()).toMatch(/^hvsim: the lesson's VM name 'SSTest1' is taken by a VM the lesson did not make; hvsim leaves it as it is/);
      expect(await page.locator('[data-lesson-ask]').count()).toBe(0);
      // Nothing changed, nothing created; the back end refuses a start over as well.
      expect(cli('get-vm', '--json')).toBe(before);
      const r = await page.evaluate(async () => (await fetch('/api/action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ op: 'lesson-reset' }) })).json());
      expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
      expect(cli('get-vm', '--json')).toBe(before);
      expect(pageErrors(page)).toEqual([]);
    });

    it("shows the timeline of a group checkpoint taken by the CLI: each VM's pause, save, checkpoint and start, and the skew", async () => {
      cli('start-vm', '--name', 'db01');
      const r = JSON.parse(cli('checkpoint-group', '--name', 'web01,db01', '--snapshot-name', 'group by the CLI', '--json')) as { GroupId: string; SkewMs: number };
      expect(r.SkewMs).toBeGreaterThan(0);
      const page = await openPage(browser, ui.url);
      await page.locator('#tab-groups').click();
      const fig = page.locator(`#view-groups figure[data-group="${r.GroupId}"]`);
      await fig.waitFor();
      expect(await fig.locator('figcaption').textContent()).toContain(`freeze skew ${r.SkewMs} ms`);
      for (const vm of ['web01', 'db01'])
        expect(await fig.locator(`.lane[data-vm="${vm}"] .seg`).evaluateAll((e) => e.map((x) => x.getAttribute('data-step')))).toEqual(['Suspend-VM', 'Save-VM', 'Checkpoint-VM', 'Start-VM']);
      // The pauses are back to back: db01's starts where web01's ends (the skew), drawn to the right of it.
      const left = (vm: string): Promise<number> => fig.locator(`.lane[data-vm="${vm}"] .seg[data-step="Suspend-VM"]`).evaluate((e) => e.getBoundingClientRect().left);
      expect(await left('db01')).toBeGreaterThan(await left('web01'));
      await expectFits(page, 'groups tab');
      await shot(page, 'view-groups-cli', '#panel-groups');
      expect(pageErrors(page)).toEqual([]);
    });
  });

  describe('the static build (hvsim ui --build DIR)', () => {
    let server: http.Server;
    let url: string;
    let dir: string;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-ui-site-'));
      expect(okStdout(['ui', '--build', dir], runCli(['ui', '--build', dir]))).toContain(`wrote 6 files to ${dir}`);
      const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
      // Any web server will do: this one serves the folder's files and nothing else.
      server = http.createServer((req, res) => {
        const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'index.html';
        const file = path.join(dir, path.basename(name));
        if (!fs.existsSync(file)) {
          res.writeHead(404);
          res.end();
          return;
        }
        res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
        res.end(fs.readFileSync(file));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('runs the simulator and PowerShell in the page, with no hvsim server', async () => {
      const page = await openPage(browser, url);
      const outputs: string[] = [];
      for (let i = 0; i < 5; i++) {
        await page.locator(`[data-lesson-run="${i}"]`).click();
        await page.locator(`[data-lesson-output="${i}"]`).waitFor({ timeout: 30_000 });
        outputs.push((await page.locator(`[data-lesson-output="${i}"]`).textContent()) ?? '');
        await page.locator('[data-lesson-next]').click();
      }
      expect(outputs[2]).toMatch(/SSTest1\s+Saved\s+localhost/);
      await expect.poll(() => page.locator('#view-vms tr[data-vm] td.state').allTextContents()).toEqual(['Running', 'Running', 'Running']);
      await expect.poll(() => page.locator('#view-disks .file').count()).toBe(2);
      expect(await page.locator('#view-disks .file .badge').allTextContents()).toEqual(['writable', 'read-only']);
      await page.locator('#tab-powershell').click();
      await page.locator('#ps-input').fill('Get-VMSnapshot -VMName SSTest1 | Select VMName | Format-Table -AutoSize');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('.psout pre.out').last().textContent()).toMatch(/VMName\s+-+\s+SSTest1/);
      await shot(page, 'static-build');
      expect(pageErrors(page)).toEqual([]);
    }, 120_000);
  });
});
