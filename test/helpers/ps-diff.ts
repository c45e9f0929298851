/**
 * The differential corpus (test/fixtures/ps-diff): each script run by `hvsim run` and by real
 * `pwsh -File`, and the known differences between the two (known-differences.json) with the
 * normalisations that show a listed difference is the only one.
 *
 * A kind of difference either has a normaliser (applied to both sides' text: after it, and the
 * other listed normalisers, the two must be equal, and without it they must not be) or is opaque
 * (the stream may differ in ways no rule describes: a message PowerShell 7 words differently).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CORPUS_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'ps-diff');
export const KNOWN_FILE = path.join(CORPUS_DIR, 'known-differences.json');

/**
 * Scripts under hyperv/ call the Hyper-V cmdlets. Both sides start from a fresh state directory
 * seeded by hvsim run with hyperv/_seed.ps1 on HYPERV_COMPUTER; pwsh gets the cmdlets from the hvsim
 * module (powershell/run holds a `Hyper-V` module that is it, first on PSModulePath, as
 * `hvsim run --pwsh` does); the module ships in this repository, so they always run.
 */
export const HYPERV_DIR = 'hyperv/';
export const HYPERV_SEED = path.join(CORPUS_DIR, 'hyperv', '_seed.ps1');
export const HYPERV_COMPUTER = 'HV1';
export const MODULE_PATH = path.join(import.meta.dirname, '..', '..', 'powershell', 'run');

export type Stream = 'stdout' | 'stderr' | 'exitCode';
export const STREAMS: Stream[] = ['stdout', 'stderr', 'exitCode'];

export interface KindDef {
  reason: string;
}

export interface KnownDifferences {
  kinds: Record<string, KindDef>;
  /** script (relative to the corpus, with /) → stream → kinds of difference */
  scripts: Record<string, Partial<Record<Stream, string[]>>>;
}

export function readKnown(): KnownDifferences {
  return JSON.parse(fs.readFileSync(KNOWN_FILE, 'utf8')) as KnownDifferences;
}

/** Every .ps1 under the corpus, relative, sorted (files named _*.ps1 are helpers, such as hyperv/_seed.ps1). */
export function corpusScripts(dir = CORPUS_DIR): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ps1') && !e.name.startsWith('_')) out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** The two sides' text of one stream; `script` is the pwsh side's path (ConciseView names it). */
export interface Side {
  text: string;
  script: string;
}

/** hvsim's NormalView records (5.1): the message of each, whitespace removed (wrapping differs). */
function normalViewMessages(text: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  const end = (): void => {
    if (cur.length === 0) return;
    const at = cur.findIndex((l) => /^At (line:\d+|.+:\d+) char:\d+$/.test(l) || /^\s+\+ CategoryInfo/.test(l));
    const msg = (at < 0 ? cur : cur.slice(0, at)).join(' ').replace(/^[A-Za-z]+-[A-Za-z]+ : /, '');
    out.push(msg.replace(/\s+/g, ''));
    cur = [];
  };
  for (const l of text.split('\n')) {
    if (l === ' ' || l === '') end();
    else if (l.startsWith('WARNING: ')) {
      end();
      out.push(l.replace(/\s+/g, ''));
    } else cur.push(l);
  }
  end();
  return out;
}

/** pwsh 7's ConciseView records: "Cmdlet: message" or "Category: path:line" + "Line |" block. */
function conciseViewMessages(text: string, script: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  const end = (): void => {
    if (cur !== null) out.push(cur.replace(/\s+/g, ''));
    cur = null;
  };
  for (const l of text.split('\n')) {
    if (l === '') continue;
    if (/^Line \|$/.test(l) || /^\s+\d+ \| /.test(l) || /^\s+\|\s+~+\s*$/.test(l)) continue;
    const cont = /^\s+\| ?(.*)$/.exec(l);
    if (cont) {
      cur = (cur ?? '') + cont[1];
      continue;
    }
    end();
    if (l.startsWith('WARNING: ')) {
      out.push(l.replace(/\s+/g, ''));
      continue;
    }
    // "Category: /path/script.ps1:N" opens a positioned record (its message follows in "| " lines);
    // "Write-Error: text" is a record without position
    const head = /^([^\s:]+): (.*)$/.exec(l);
    if (head && new RegExp(`^${escapeRe(script)}:\\d+$`).test(head[2]!)) cur = '';
    else cur = head ? head[2]! : l;
  }
  end();
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Normalisers by kind: each takes the hvsim side and the pwsh side and returns both rewritten. */
export const NORMALISERS: Record<string, (h: Side, p: Side) => [Side, Side]> = {
  // 5.1 pads a table's last column to its width (PowerShell 6 stopped: PR #5568)
  'trailing-spaces': (h, p) => [trimEnds(h), trimEnds(p)],
  // 5.1 writes more blank lines around lists and after tables than PowerShell 7
  'blank-lines': (h, p) => [collapseBlank(h), collapseBlank(p)],
  // 5.1 truncates with "...", PowerShell 7 with "…" (PR #8326)
  ellipsis: (h, p) => [h, { ...p, text: p.text.replace(/…/g, '...') }],
  // .NET 5+ on ICU puts U+202F (narrow no-break space) before AM/PM; .NET Framework a space
  'time-space': (h, p) => [h, { ...p, text: p.text.replace(/\u202f/g, ' ') }],
  // NormalView (5.1) against ConciseView (7): the same messages in the same order
  'error-view': (h, p) => [
    { ...h, text: normalViewMessages(h.text).join('\n') },
    { ...p, text: conciseViewMessages(p.text, p.script).join('\n') },
  ],
};

function trimEnds(s: Side): Side {
  return { ...s, text: s.text.replace(/[ \t]+$/gm, '') };
}

function collapseBlank(s: Side): Side {
  return { ...s, text: s.text.replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '\n') };
}

/** Apply the listed normalising kinds in a fixed order (NORMALISERS'). */
export function normalise(kinds: string[], h: Side, p: Side): [string, string] {
  let a = h;
  let b = p;
  for (const k of Object.keys(NORMALISERS)) if (kinds.includes(k)) [a, b] = NORMALISERS[k]!(a, b);
  return [a.text, b.text];
}
