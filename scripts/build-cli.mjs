// Bundles the CLI (src/cli/bin.ts and everything it imports) into dist/cli/bin.js and a few chunks, run by
// `npm run build` after tsc (which emitted dist/ module by module: the library, the job worker).
// A few files instead of ~200 modules is what makes `hvsim` start fast (bench/README.md, "CLI
// start-up"). Packages with their own files beside them (the PowerShell grammar's .wasm) stay
// external. A source file's `import.meta.url` becomes the URL its tsc output has in dist/, so paths
// computed from it (the ui's static folder, the job worker, the package root) are the same as
// unbundled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(repo, 'src');
const outdir = path.join(repo, 'dist', 'cli');

/** `import.meta.url` of src/X/Y.ts → the URL of dist/X/Y.js, relative to the bundle's own URL. */
const metaUrl = {
  name: 'import-meta-url-as-in-dist',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (a) => {
      let text = await fs.promises.readFile(a.path, 'utf8');
      if (a.path.startsWith(src + path.sep) && text.includes('import.meta.url')) {
        const rel = path.relative(outdir, path.join(repo, 'dist', path.relative(src, a.path)).replace(/\.ts$/, '.js'));
        text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel.split(path.sep).join('/'))}, import.meta.url).href`);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

// Old chunks go (their names carry a content hash).
for (const f of fs.existsSync(outdir) ? fs.readdirSync(outdir) : []) if (f.startsWith('chunk-')) fs.rmSync(path.join(outdir, f));

/** Gives a chunk the `require` that esbuild's helper for bundled CommonJS code calls. */
const BANNER = "import { createRequire as __hvsimCreateRequire } from 'node:module';\nconst require = __hvsimCreateRequire(import.meta.url);\n";

/**
 * Node built-ins that take milliseconds to load (child_process pulls in net and streams) but that
 * only some commands call: an import of them becomes a module whose functions load the built-in on
 * first call. Only functions are offered (a constant imported from them fails the build), and a
 * wrapper called with `new` returns the real class's instance.
 */
const LAZY_BUILTINS = ['child_process', 'worker_threads', 'readline'];
const lazyBuiltins = {
  name: 'lazy-built-ins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (a) => (a.namespace === 'lazy-built-in' ? { path: a.path, external: true } : { path: a.path.replace(/^node:/, ''), namespace: 'lazy-built-in' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-built-in' }, (a) => {
      const real = createRequire(import.meta.url)(a.path);
      const names = Object.keys(real).filter((k) => typeof real[k] === 'function' && /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
      const lines = [
        "import { createRequire } from 'node:module';",
        `let m; const get = () => (m ??= (process.getBuiltinModule?.('node:${a.path}') ?? createRequire(import.meta.url)('node:${a.path}')));`,
        ...names.map((k) => `export function ${k}(...a) { return new.target ? new (get().${k})(...a) : get().${k}(...a); }`),
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

await build({
  // dist/cli/bin.js: tsc's output of src/cli/bin.ts is replaced by the bundle. What a command
  // imports dynamically (main.js behind `--version`, the demo, the PowerShell interpreter, the ui
  // server) goes to chunks beside it, loaded only when needed.
  entryPoints: { bin: path.join(src, 'cli', 'bin.ts') },
  outdir,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['web-tree-sitter', 'tree-sitter-powershell'],
  // CommonJS dependencies bundled into an ES module call require() (see BANNER below).
  banner: { js: BANNER },
  plugins: [metaUrl, lazyBuiltins],
  sourcemap: 'linked', minifyWhitespace: true, minifySyntax: true, keepNames: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

// esbuild puts the banner in every chunk; a chunk that never names `require` does not need it
// (each createRequire costs a fraction of a millisecond at start-up).
for (const f of fs.readdirSync(outdir)) {
  if (!/^(bin|chunk-.*)\.js$/.test(f)) continue;
  const file = path.join(outdir, f);
  const text = fs.readFileSync(file, 'utf8');
  const rest = text.replace(BANNER, '');
  if (rest !== text && !/(?<![\w$.])require(?![\w$])/.test(rest)) fs.writeFileSync(file, rest);
}
