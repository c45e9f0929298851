/**
 * PowerShell's dynamic scopes (about_Scopes): reading a variable looks in the current scope, then
 * its parents; assigning creates or sets it in the current scope. A function or `& { }` runs in a
 * child scope, `.` (dot-sourcing) in the caller's. `$global:x` / `$script:x` name the session's
 * root scope (hvsim runs every script of a session in it, as one console), `$local:x` /
 * `$private:x` the current one. Functions are scoped the same way.
 */
import type { BlockDef } from './ast.js';
import type { PsValue } from './value.js';

/** A function as defined by a `function` / `filter` statement. */
export interface FunctionDef {
  name: string;
  def: BlockDef;
}

interface Frame {
  readonly vars: Map<string, PsValue>;
  /** Variables holding "nothing" (AutomationNull) rather than $null: see setEmpty. */
  readonly empty: Set<string>;
  readonly functions: Map<string, FunctionDef>;
  readonly parent: Frame | null;
  readonly depth: number;
}

const frame = (parent: Frame | null): Frame => ({ vars: new Map(), empty: new Set(), functions: new Map(), parent, depth: parent ? parent.depth + 1 : 0 });

/** "script:x" → ['script', 'x']; "x" → [null, 'x']. */
function split(name: string): [string | null, string] {
  const m = /^(global|script|local|private):(.*)$/i.exec(name);
  return m ? [m[1]!.toLowerCase(), m[2]!.toLowerCase()] : [null, name.toLowerCase()];
}

/** The variables and functions of a session, Map-like over the scope chain (names are case-insensitive). */
export class Scopes implements Iterable<[string, PsValue]> {
  private readonly root = frame(null);
  private current = this.root;

  /** How many scopes deep the current one is (the root is 0). */
  get depth(): number {
    return this.current.depth;
  }

  private target(scope: string | null): Frame {
    return scope === 'global' || scope === 'script' ? this.root : this.current;
  }

  get(name: string): PsValue | undefined {
    const [scope, key] = split(name);
    if (scope === 'local' || scope === 'private') return this.current.vars.get(key);
    for (let f: Frame | null = this.target(scope); f; f = f.parent) {
      if (f.vars.has(key)) return f.vars.get(key);
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, value: PsValue): this {
    const [scope, key] = split(name);
    const f = this.target(scope);
    f.vars.set(key, value);
    f.empty.delete(key);
    return this;
  }

  /**
   * `$x = <a pipeline that wrote nothing>`: $x reads as $null, but it holds PowerShell's
   * AutomationNull, so `@($x).Count` is 0 and `$x | …` sends nothing (about_Automatic_Variables,
   * "$null"; System.Management.Automation.Internal.AutomationNull), where $null is one item.
   */
  setEmpty(name: string): this {
    this.set(name, null);
    const [scope, key] = split(name);
    this.target(scope).empty.add(key);
    return this;
  }

  /** Whether the variable holds AutomationNull (see setEmpty). */
  isEmpty(name: string): boolean {
    const [scope, key] = split(name);
    if (scope === 'local' || scope === 'private') return this.current.empty.has(key);
    for (let f: Frame | null = this.target(scope); f; f = f.parent) {
      if (f.vars.has(key)) return f.empty.has(key);
    }
    return false;
  }

  delete(name: string): boolean {
    const [scope, key] = split(name);
    this.target(scope).empty.delete(key);
    return this.target(scope).vars.delete(key);
  }

  /** The root scope's variables (what a session keeps). */
  [Symbol.iterator](): IterableIterator<[string, PsValue]> {
    return this.root.vars.entries();
  }

  getFunction(name: string): FunctionDef | undefined {
    const key = name.toLowerCase();
    for (let f: Frame | null = this.current; f; f = f.parent) {
      const fn = f.functions.get(key);
      if (fn) return fn;
    }
    return undefined;
  }

  setFunction(fn: FunctionDef): void {
    const [scope, key] = split(fn.name);
    this.target(scope).functions.set(key, { ...fn, name: key === fn.name.toLowerCase() ? fn.name : fn.name.replace(/^[a-z]+:/i, '') });
  }

  /** Run `fn` in a new child scope (or the current one when `dot`), then return to this one. */
  async within<T>(dot: boolean, fn: () => Promise<T>): Promise<T> {
    if (dot) return fn();
    const saved = this.current;
    this.current = frame(saved);
    try {
      return await fn();
    } finally {
      this.current = saved;
    }
  }
}
