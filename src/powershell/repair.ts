/**
 * Valid PowerShell that tree-sitter-powershell 0.26.4 cannot read, rewritten (only when the script
 * failed to parse as written) into the equivalent text it reads:
 *
 * - `break outer` / `continue outer` → `break :outer` (the grammar takes a label only with its
 *   colon; PowerShell takes both, about_Break);
 * - `Write-Output (Get-Date)"text"` → `(Get-Date) "text"`: in argument mode PowerShell reads an
 *   expression glued to a string as two arguments;
 * - a one-line `switch ($x) { a {1} b {2} }` → `a {1};b {2}`: the grammar wants a terminator after
 *   each clause, PowerShell does not.
 *
 * A small lexer keeps strings (with `$( )` inside), here-strings and comments apart from code, so
 * only code is touched. The first and third rewrites keep every column; the other two move the
 * later columns of their line by one.
 */

interface CodeCtx {
  kind: 'code';
  closer: ')' | '}' | null;
  /** A switch's `{ … }`: its clauses alternate condition and body. */
  switchBody?: boolean;
  expect?: 'cond' | 'body';
  /** A switch clause's body block. */
  clauseBody?: boolean;
  /** A switch's `( … )`. */
  switchCond?: boolean;
}
type Ctx = CodeCtx | { kind: 'dq' | 'sq' | 'hdq' | 'hsq' };

const LABELLED = /^(break|continue)([ \t]+)([A-Za-z_]\w*)(?=[ \t]*(?:;|}|\r?\n|#|$))/i;

export function repairGrammarGaps(text: string): string {
  const out: string[] = [];
  const stack: Ctx[] = [{ kind: 'code', closer: null }];
  // the last `(…)` closed in code was a switch's condition: the next `{` opens its body
  let switchCondEnd = -1;
  let i = 0;
  const top = (): Ctx => stack[stack.length - 1]!;
  const emit = (s: string, n = s.length): void => {
    out.push(s);
    i += n;
  };
  while (i < text.length) {
    const c = top();
    const ch = text[i]!;
    if (c.kind === 'sq' || c.kind === 'hsq') {
      if (c.kind === 'sq' && ch === "'" && text[i + 1] === "'") emit("''");
      else if (c.kind === 'sq' && ch === "'") (stack.pop(), emit(ch));
      else if (c.kind === 'hsq' && ch === '\n' && text.startsWith("'@", i + 1)) (stack.pop(), emit("\n'@"));
      else emit(ch);
      continue;
    }
    if (c.kind === 'dq' || c.kind === 'hdq') {
      if (ch === '`') emit(text.slice(i, i + 2));
      else if (text.startsWith('$(', i)) (stack.push({ kind: 'code', closer: ')' }), emit('$('));
      else if (c.kind === 'dq' && ch === '"' && text[i + 1] === '"') emit('""');
      else if (c.kind === 'dq' && ch === '"') (stack.pop(), emit(ch));
      else if (c.kind === 'hdq' && ch === '\n' && text.startsWith('"@', i + 1)) (stack.pop(), emit('\n"@'));
      else emit(ch);
      continue;
    }
    const code = c as CodeCtx;
    if (code.switchBody && code.expect === 'cond' && !/[\s;{}]/.test(ch)) code.expect = 'body';
    if (ch === '#') {
      const nl = text.indexOf('\n', i);
      emit(text.slice(i, nl < 0 ? text.length : nl));
    } else if (text.startsWith('<#', i)) {
      const end = text.indexOf('#>', i + 2);
      emit(text.slice(i, end < 0 ? text.length : end + 2));
    } else if (ch === '`') emit(text.slice(i, i + 2));
    else if (/^@["']\r?\n/.test(text.slice(i, i + 4))) {
      stack.push({ kind: ch === '@' && text[i + 1] === '"' ? 'hdq' : 'hsq' });
      emit(text.slice(i, i + 2));
    } else if (ch === '"') (stack.push({ kind: 'dq' }), emit(ch));
    else if (ch === "'") (stack.push({ kind: 'sq' }), emit(ch));
    else if (ch === '(' || text.startsWith('$(', i) || text.startsWith('@(', i)) {
      const switchCond = ch === '(' && /(^|[^\w-])switch(\s+-\w+)*\s*$/i.test(text.slice(Math.max(0, i - 60), i));
      const open = ch === '(' ? '(' : text.slice(i, i + 2);
      stack.push({ kind: 'code', closer: ')', switchCond });
      emit(open);
    } else if (ch === '{' || text.startsWith('@{', i)) {
      const isBody = ch === '{' && switchCondEnd >= 0 && /^\s*$/.test(text.slice(switchCondEnd, i));
      // in a switch body, a block is a clause's condition ({ $_ -gt 1 }) or its body
      let clauseBody = false;
      if (code.switchBody) {
        clauseBody = code.expect === 'body';
        code.expect = clauseBody ? 'cond' : 'body';
      }
      stack.push(isBody ? { kind: 'code', closer: '}', switchBody: true, expect: 'cond' } : { kind: 'code', closer: '}', clauseBody });
      switchCondEnd = -1;
      emit(ch === '{' ? ch : '@{');
    } else if ((ch === ')' || ch === '}') && code.closer === ch && stack.length > 1) {
      stack.pop();
      emit(ch);
      if (ch === ')') {
        if (code.switchCond) switchCondEnd = i;
        // (expr)"text" in argument mode: two arguments
        else if (top().kind === 'code' && (text[i] === '"' || text[i] === "'")) out.push(' ');
      } else if (code.clauseBody) {
        // a clause's body ended; another clause follows on the same line
        const m = /^[ \t]+(?=[^\s;}#])/.exec(text.slice(i));
        if (m) (out.push(';'), i++);
      }
    } else {
      const m = /(^|[\s;{}])$/.test(text.slice(Math.max(0, i - 1), i)) ? LABELLED.exec(text.slice(i)) : null;
      if (m) emit(`${m[1]}${m[2]}:${m[3]}`, m[0].length);
      else emit(ch);
    }
  }
  return out.join('');
}
