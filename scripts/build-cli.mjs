// Bundles the CLI, run by `npm run build` after tsc (which emitted dist/ module by module: the
// library, the job worker). Two files replace ~200 modules (bench/README.md, "CLI start-up"):
// - dist/cli/bin.cjs, the entry (CommonJS: Node's ES module loader costs ~10 ms of start-up that a
//   script's does not): answers --version alone, else loads
// - dist/cli/hvsim.cjs, every command in one CommonJS module (its wrapper function), which bin.cjs compiles with the V8 code
//   cache (dist/cli/hvsim.cjs.v8cache) that a warm-up run makes at the end of this script. Node 20
//   caches no ES module's code; a script's it does (node:vm's cachedData).
// What a command imports dynamically stays unevaluated until it runs (esbuild's lazy module
// wrappers). Packages with their own files beside them (the PowerShell grammar's .wasm) stay
// external. A source file's `import.meta.url` becomes the URL its tsc output has in dist/, so paths
// computed from it (the ui's static folder, the job worker, the package root) are the same as
// unbundled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(repo, 'src');
const outdir = path.join(repo, 'dist', 'cli');

/** `import.meta.url` of src/X/Y.ts → the URL of dist/X/Y.js, relative to the bundle's own file. */
const metaUrl = {
  name: 'import-meta-url-as-in-dist',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (a) => {
      let text = await fs.promises.readFile(a.path, 'utf8');
      if (a.path.startsWith(src + path.sep) && text.includes('import.meta.url')) {
        const rel = path.relative(outdir, path.join(repo, 'dist', path.relative(src, a.path)).replace(/\.ts$/, '.js'));
        text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel.split(path.sep).join('/'))}, require('node:url').pathToFileURL(__filename)).href`);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

// What earlier builds made (chunks of the ES-module bundle, an old cache, the entry of an ES-module
// build, bin.js) goes.
for (const f of fs.existsSync(outdir) ? fs.readdirSync(outdir) : [])
  if (f.startsWith('chunk-') || f.startsWith('hvsim.cjs') || f.startsWith('bin.')) fs.rmSync(path.join(outdir, f));

/**
 * Node built-ins that take milliseconds to load (child_process pulls in net and streams; v8 its
 * heap utilities and streams, ~10 ms) but that only some commands call: an import of them becomes a
 * module whose functions load the built-in on first call. Only functions are offered (a constant imported from them fails the build), and a
 * wrapper called with `new` returns the real class's instance.
 */
const LAZY_BUILTINS = ['child_process', 'worker_threads', 'readline', 'v8'];
const lazyBuiltins = {
  name: 'lazy-built-ins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (a) => (a.namespace === 'lazy-built-in' ? { path: a.path, external: true } : { path: a.path.replace(/^node:/, ''), namespace: 'lazy-built-in' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-built-in' }, (a) => {
      const real = createRequire(import.meta.url)(a.path);
      const names = Object.keys(real).filter((k) => typeof real[k] === 'function' && /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
      const lines = [
        `let m; const get = () => (m ??= require('node:${a.path}'));`,
        ...names.map((k) => `export function ${k}(...a) { return new.target ? new (get().${k})(...a) : get().${k}(...a); }`),
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  // Local names are kept: minified, they needed keepNames (classes' and functions' .name), whose
  // __name calls cost ~3 ms of every start, for no smaller peak memory (read-vhd at depth 64: 56 MiB
  // either way).
  minifyIdentifiers: false,
  legalComments: 'linked',
  logLevel: 'warning',
};

// dist/cli/bin.cjs: src/cli/bin.ts (which tsc does not emit: tsconfig.build.json), bundled with
// nothing of the commands (main.js, its fallback when hvsim.cjs is missing, is tsc's output, an ES
// module that the entry loads with import()).
const binFile = path.join(outdir, 'bin.cjs');
await build({ ...common, entryPoints: [path.join(src, 'cli', 'bin.ts')], outfile: binFile, format: 'cjs', external: ['./main.js'], plugins: [metaUrl] });
if (!/\bimport\("\.\/main\.js"\)/.test(fs.readFileSync(binFile, 'utf8'))) throw new Error('bin.cjs: main.js is not loaded with import(): has esbuild changed its output?');
fs.chmodSync(binFile, 0o755);

await build({
  ...common,
  entryPoints: [path.join(src, 'cli', 'main.ts')],
  outfile: path.join(outdir, 'hvsim.cjs'),
  format: 'cjs',
  // The file is CommonJS's module wrapper (Node's Module.wrap) around the bundle, one function
  // expression that bin.cjs compiles as it is read: wrapping it at each start made V8 flatten a
  // second copy of the 860 KB (~240 page faults, which cost ~15 µs each on this VM).
  banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
  footer: { js: '\n})' },
  // web-tree-sitter ships a CommonJS build beside its ES module.
  external: ['web-tree-sitter', 'tree-sitter-powershell'],
  plugins: [metaUrl, lazyBuiltins],
});

// `import * as fs from 'node:fs'` becomes `__toESM(require("node:fs"), 1)` in each of the ~50 modules
// that say it, and __toESM copies every property of the built-in onto a new object each time
// (~2,600 property definitions across the bundle). The sources only read named members of a
// built-in's namespace (no default import: checked below), for which the module object serves.
function plainBuiltins(file) {
  const name = path.basename(file);
  const text = fs.readFileSync(file, 'utf8');
  // NAME=TOESM(require("node:X"),1), TOESM being esbuild's helper under the name it gave it.
  const sites = [...text.matchAll(/([\w$]+)=([\w$]+)\(require\("(node:[a-z_/]+)"\),1\)/g)];
  const helpers = new Set(sites.map((m) => m[2]));
  if (helpers.size !== 1) throw new Error(`${name}: expected one helper around require("node:…"), found ${helpers.size}: has esbuild changed its output?`);
  const esc = (id) => id.replace(/\$/g, '\\$');
  const usesDefault = sites.filter((m) => new RegExp(`(?<![\\w$.])${esc(m[1])}\\.default(?![\\w$])`).test(text)).map((m) => m[1]);
  if (usesDefault.length > 0) throw new Error(`${name}: a default import of a Node built-in (${usesDefault.join(', ')}): import its members instead`);
  const [helper] = helpers;
  const call = new RegExp(`(?<![\\w$.])${esc(helper)}\\(require\\("(node:[a-z_/]+)"\\),1\\)`, 'g');
  // Padded to the same length, so that the source map's columns still hold.
  fs.writeFileSync(file, text.replace(call, (all, id) => `require("${id}")`.padEnd(all.length, ' ')));
}
plainBuiltins(binFile);
plainBuiltins(path.join(outdir, 'hvsim.cjs'));

// The code cache: a warm-up run of `get-vm` on a one-VM state (the commands' common path: the
// command line, the state's open, a table) writes what V8 compiled. A cache that does not fit the
// Node that runs hvsim later is refused by V8 and costs nothing but its read.
const warm = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-build-cache-'));
try {
  const env = { ...process.env, HVSIM_ROOT: path.join(warm, 'state'), HVSIM_CLOCK: 'simulated' };
  const run = (args, extra = {}) => {
    const r = spawnSync(process.execPath, [binFile, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`hvsim ${args.join(' ')} (code cache warm-up): ${r.stderr}`);
  };
  run(['new-vm', '--name', 'warm-up', '--disk-size', '1M']);
  run(['get-vm', '--name', 'warm-up'], { HVSIM_WRITE_CODE_CACHE: path.join(outdir, 'hvsim.cjs.v8cache') });
} finally {
  fs.rmSync(warm, { recursive: true, force: true });
}
