/**
 * vitest globalSetup: build dist/ once for the whole run, then copy it to a private folder that
 * nothing rewrites while the tests run (inside node_modules/.cache so its imports still resolve).
 * Tests that run the CLI get its path with cliBin() (test/helpers/cli.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { TestProject } from 'vitest/node';

const REPO = path.resolve(import.meta.dirname, '..', '..');

export default function setup(project: TestProject): () => void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const b = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO, encoding: 'utf8' });
  // dist/cli/bin.cjs as npm run build makes it: the CLI bundled (scripts/build-cli.mjs).
  const cli = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build-cli.mjs')], { cwd: REPO, encoding: 'utf8' });
  if (cli.status !== 0) throw new Error(`the CLI does not bundle: ${cli.stderr}`);
  // The page hvsim ui serves (dist/ui/static), as npm run build makes it.
  const ui = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build-ui.mjs')], { cwd: REPO, encoding: 'utf8' });
  if (ui.status !== 0) throw new Error(`the page of hvsim ui does not build: ${ui.stderr}`);
  // tsc emits even when some module has type errors (npm test type-checks on its own); a CLI that
  // does not start is what fails here.
  const copy = path.join(REPO, 'node_modules', '.cache', `hvsim-test-cli-${process.pid}`);
  fs.rmSync(copy, { recursive: true, force: true });
  fs.cpSync(path.join(REPO, 'dist'), path.join(copy, 'dist'), { recursive: true });
  // the PowerShell module ships beside dist/ (hvsim pwsh-module, run --pwsh)
  fs.cpSync(path.join(REPO, 'powershell'), path.join(copy, 'powershell'), { recursive: true });
  fs.writeFileSync(path.join(copy, 'package.json'), '{ "type": "module" }\n');
  const bin = path.join(copy, 'dist', 'cli', 'bin.cjs');
  // --version loads no command (bin.ts); --help builds them all: a clean one means the build is whole.
  const v = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`the built CLI does not start: ${v.stderr}\n${b.stdout}${b.stderr}`);
  project.provide('hvsimBin', bin);
  return () => fs.rmSync(copy, { recursive: true, force: true });
}
