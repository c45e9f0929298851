// Builds hvsim ui's page (src/ui/page) with esbuild (docs/ui.md), run by `npm run build`:
// - dist/ui/static: the page hvsim ui serves (one script, one style sheet, index.html);
// - dist/ui/static-site: the static build, the whole simulator running in the page over an
//   in-memory disk store, which `hvsim ui --build DIR` copies to DIR. Node's built-ins that the
//   lower layers import are replaced by browser shims (src/ui/page/shims; path-browserify,
//   buffer); the PowerShell grammar's .wasm files are copied beside the script.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const page = path.join(repo, 'src', 'ui', 'page');
const require = createRequire(import.meta.url);

const common = {
  bundle: true,
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
  tsconfig: path.join(page, 'tsconfig.json'),
};

const served = path.join(repo, 'dist', 'ui', 'static');
fs.mkdirSync(served, { recursive: true });
await build({ ...common, entryPoints: [path.join(page, 'main.tsx')], outfile: path.join(served, 'app.js'), format: 'iife' });
fs.copyFileSync(path.join(page, 'index.html'), path.join(served, 'index.html'));
fs.copyFileSync(path.join(page, 'app.css'), path.join(served, 'app.css'));

const site = path.join(repo, 'dist', 'ui', 'static-site');
fs.rmSync(site, { recursive: true, force: true });
fs.mkdirSync(site, { recursive: true });
const shim = (f) => path.join(page, 'shims', f);
await build({
  ...common,
  entryPoints: [path.join(page, 'static-main.tsx')],
  outfile: path.join(site, 'app.js'),
  // ESM: web-tree-sitter finds its .wasm beside the script through import.meta.url.
  format: 'esm',
  plugins: [
    {
      name: 'node-built-ins-for-the-browser',
      setup(b) {
        // web-tree-sitter imports these only when it runs under Node: left as they are.
        b.onResolve({ filter: /^(module|fs\/promises)$/ }, (a) => (a.importer.includes('web-tree-sitter') ? { path: a.path, external: true } : undefined));
        b.onResolve({ filter: /^(node:)?(fs|crypto|module|os|worker_threads)$/ }, (a) => ({ path: shim(`${a.path.replace(/^node:/, '')}.ts`) }));
        b.onResolve({ filter: /^(node:)?path$/ }, () => ({ path: require.resolve('path-browserify') }));
      },
    },
  ],
});
fs.copyFileSync(path.join(page, 'app.css'), path.join(site, 'app.css'));
fs.writeFileSync(
  path.join(site, 'index.html'),
  fs.readFileSync(path.join(page, 'index.html'), 'utf8').replace('<script src="app.js"></script>', '<script type="module" src="app.js"></script>'),
);
fs.copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), path.join(site, 'web-tree-sitter.wasm'));
fs.copyFileSync(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'), path.join(site, 'tree-sitter-powershell.wasm'));
