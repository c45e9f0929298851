// Builds hvsim ui's page (src/ui/page) into dist/ui/static with esbuild: one script, one style
// sheet and index.html, served by the server (docs/ui.md). Run by `npm run build`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const page = path.join(repo, 'src', 'ui', 'page');
const out = path.join(repo, 'dist', 'ui', 'static');

fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(page, 'main.tsx')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  logLevel: 'warning',
  tsconfig: path.join(page, 'tsconfig.json'),
});
fs.copyFileSync(path.join(page, 'index.html'), path.join(out, 'index.html'));
fs.copyFileSync(path.join(page, 'app.css'), path.join(out, 'app.css'));
