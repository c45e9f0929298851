import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';
import fs from 'node:fs';
const require = createRequire('/work/wt-lang/package.json');
await Parser.init();
const lang = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
const p = new Parser(); p.setLanguage(lang);
const src = fs.readFileSync(process.argv[2] ?? 0, 'utf8');
const t = p.parse(src);
function dump(n, d) { const txt = n.childCount ? '' : ' ' + JSON.stringify(n.text); console.log('  '.repeat(d) + (n.isNamed ? n.type : JSON.stringify(n.type)) + txt + (n.isError ? ' ERROR' : '') + (n.isMissing ? ' MISSING' : '')); for (const c of n.children) dump(c, d + 1); }
dump(t.rootNode, 0);
