/**
 * docs/library.md's examples compile against the package's types and print what their comments
 * say, each in an empty folder, importing the package by its name ('hvsim') from the build the
 * tests use. A block that starts with "// Not run by the tests" is only compiled.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin } from '../helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsim-library-docs-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const doc = fs.readFileSync(path.join(REPO, 'docs', 'library.md'), 'utf8');
const examples = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
  name: `example-${i + 1}`,
  code: m[1]!,
  run: !m[1]!.startsWith('// Not run by the tests'),
  heading: [...doc.slice(0, m.index).matchAll(/^## (.*)$/gm)].pop()?.[1] ?? '',
}));

/** What an example prints: the `// …` comment of each console.log line, in order. */
function expectedOutput(code: string): string {
  return code
    .split('\n')
    .map((l) => /^\s*console\.log\(.*\);\s*\/\/ (.*)$/.exec(l)?.[1])
    .filter((x) => x !== undefined)
    .map((x) => `${x}\n`)
    .join('');
}

/** An installed package beside the examples: node_modules/hvsim with hvsim's package.json and the tests' build. */
function install(): void {
  const pkg = path.join(work, 'node_modules', 'hvsim');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.dirname(path.dirname(cliBin())), path.join(pkg, 'dist'));
  fs.writeFileSync(path.join(work, 'package.json'), '{ "type": "module" }\n');
  for (const e of examples) {
    fs.mkdirSync(path.join(work, e.name));
    fs.writeFileSync(path.join(work, e.name, 'example.ts'), e.code);
  }
}

describe('docs/library.md', () => {
  beforeAll(install);

  it('has examples, each under a heading', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const e of examples) expect(e.heading, e.name).not.toBe('');
  });

  it('every example compiles (strict, against the published types)', () => {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts'],
      strict: true,
      noUncheckedIndexedAccess: true,
      noUnusedLocals: true,
      verbatimModuleSyntax: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(REPO, 'node_modules', '@types')],
    };
    const program = ts.createProgram(examples.map((e) => path.join(work, e.name, 'example.ts')), options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${path.relative(work, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  });

  for (const e of examples.filter((x) => x.run)) {
    it(`"${e.heading}" prints what it says`, () => {
      const js = ts.transpileModule(e.code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true } }).outputText;
      fs.writeFileSync(path.join(work, e.name, 'example.mjs'), js);
      const r = spawnSync(process.execPath, ['example.mjs'], { cwd: path.join(work, e.name), encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(expectedOutput(e.code));
    });
  }
});
