/**
 * The README's library example runs as written, importing the package by its name ('hvsim',
 * package.json "exports"), against the build the tests use.
 */
import { afterAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliBin } from '../helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-library-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

it("the README's library example prints what it says", () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(code, 'a ```ts block under ## Library').toBeDefined();
  // An installed package: node_modules/hvsim with hvsim's package.json and the tests' build.
  const pkg = path.join(work, 'node_modules', 'hvsim');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.dirname(path.dirname(cliBin())), path.join(pkg, 'dist'));
  fs.writeFileSync(path.join(work, 'example.mjs'), code!);
  const r = spawnSync(process.execPath, ['example.mjs'], { cwd: work, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const said = /\/\/ (\S+)\s*$/.exec(code!.trim())?.[1];
  expect(r.stdout).toBe(`${said}\n`);
  expect(fs.statSync(path.join(work, 'base.vhdx')).mode & 0o222).toBe(0); // frozen
});
