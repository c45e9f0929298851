/**
 * The values a script handles, as PowerShell sees them: scalars, arrays, dates, script blocks,
 * hashtables and objects with case-insensitive, ordered properties and a .NET type name (which
 * picks the object's default view). Shared by the interpreter, the cmdlets and the formatter.
 */

import { ENUM_PROPERTIES } from './views.js';

/** [pscustomobject]'s type name, also an object's when it has none. */
export const PSCUSTOMOBJECT_TYPE = 'System.Management.Automation.PSCustomObject';

/** A value in a script. `null` is $null. */
export type PsValue = null | boolean | number | string | Date | PsValue[] | PsObject | PsHashtable | PsScriptBlock;

/** An object with properties (a Hyper-V object, a Select-Object result, a [pscustomobject]). */
export class PsObject {
  /** Most derived first, as in PowerShell's PSTypeNames (e.g. Microsoft.HyperV.PowerShell.VirtualMachine). */
  readonly typeNames: string[];
  private readonly props = new Map<string, { name: string; value: PsValue }>();
  private readonly hidden = new Set<string>();
  /** Properties holding enum values besides those its type has (views.ts ENUM_PROPERTIES). */
  private readonly enums = new Set<string>();
  /** The host object this one was made from, when it came from a cmdlet (Checkpoint-VM of a piped VM). */
  readonly source: unknown;

  constructor(typeNames: string | string[], properties: Iterable<[string, PsValue]> = [], source?: unknown) {
    this.typeNames = Array.isArray(typeNames) ? typeNames : [typeNames];
    for (const [k, v] of properties) this.set(k, v);
    this.source = source;
  }

  get typeName(): string {
    return this.typeNames[0] ?? PSCUSTOMOBJECT_TYPE;
  }

  has(name: string): boolean {
    return this.props.has(name.toLowerCase());
  }

  /** The property's value; undefined when there is no such property ($null in a script). */
  get(name: string): PsValue | undefined {
    return this.props.get(name.toLowerCase())?.value;
  }

  /** Set or add; a new property keeps the spelling it was first given. */
  set(name: string, value: PsValue): void {
    const key = name.toLowerCase();
    const cur = this.props.get(key);
    this.props.set(key, { name: cur?.name ?? name, value });
  }

  /** Property names in order, spelled as defined (hidden ones left out). */
  names(): string[] {
    return [...this.props.values()].map((p) => p.name).filter((n) => !this.hidden.has(n.toLowerCase()));
  }

  /**
   * Keep properties out of names() (so out of default views, Format-List and Select *) while
   * `$o.Name` still reads them, like PowerShell's hidden members. Returns this.
   */
  hide(names: Iterable<string>): this {
    for (const n of names) this.hidden.add(n.toLowerCase());
    return this;
  }

  /** Mark properties as holding enum values (Select-Object copying them from a Hyper-V object). Returns this. */
  markEnums(names: Iterable<string>): this {
    for (const n of names) this.enums.add(n.toLowerCase());
    return this;
  }

  /** Whether the property holds an enum value (a generated table right-aligns it). */
  isEnum(name: string): boolean {
    const key = name.toLowerCase();
    return this.enums.has(key) || (ENUM_PROPERTIES[this.typeName]?.some((n) => n.toLowerCase() === key) ?? false);
  }

  /** The real spelling of a property (Select vmname → VMName), or undefined. */
  canonicalName(name: string): string | undefined {
    return this.props.get(name.toLowerCase())?.name;
  }
}

/** @{ Key = Value } — ordered, case-insensitive keys. */
export class PsHashtable {
  private readonly entries = new Map<string, { key: string; value: PsValue }>();

  constructor(entries: Iterable<[string, PsValue]> = []) {
    for (const [k, v] of entries) this.set(k, v);
  }

  get(key: string): PsValue | undefined {
    return this.entries.get(key.toLowerCase())?.value;
  }

  set(key: string, value: PsValue): void {
    const k = key.toLowerCase();
    this.entries.set(k, { key: this.entries.get(k)?.key ?? key, value });
  }

  keys(): string[] {
    return [...this.entries.values()].map((e) => e.key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** { … } — a piece of script run later (Where-Object, ForEach-Object, calculated properties). */
export interface PsScriptBlock {
  readonly kind: 'scriptblock';
  /** The source text between the braces, as written. */
  readonly text: string;
  /** Invoke with $_ bound to `item` (and $PSItem); returns what the block writes to the pipeline. */
  invoke(item: PsValue): Promise<PsValue[]>;
}

export function isScriptBlock(v: unknown): v is PsScriptBlock {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'scriptblock';
}

/** PowerShell's ErrorCategory names used here. */
export type PsErrorCategory =
  | 'NotSpecified'
  | 'InvalidArgument'
  | 'InvalidOperation'
  | 'ObjectNotFound'
  | 'ResourceBusy'
  | 'ResourceUnavailable'
  | 'WriteError'
  | 'ParserError'
  | 'NotImplemented'
  | 'InvalidData'
  | 'OperationStopped'
  | 'ConnectionError'
  | 'PermissionDenied'
  | 'ResourceExists'
  | 'ReadError';

/** What PowerShell's ErrorRecord carries, enough to print it as the console host does. */
export interface PsErrorRecord {
  /** The cmdlet that wrote it (Checkpoint-VM), or null for a script-level error. */
  command: string | null;
  message: string;
  category: PsErrorCategory;
  /** CategoryInfo's target name, often empty: "ObjectNotFound: (:) [Checkpoint-VM], VirtualizationException". */
  targetName: string;
  /** CategoryInfo's reason: the exception type's short name (VirtualizationException). */
  reason: string;
  /** FullyQualifiedErrorId: "ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.CheckpointVM". */
  fullyQualifiedErrorId: string;
  /** Where in the script: 1-based line and column of the command, and the line's text. */
  line: number;
  column: number;
  lineText: string;
  /** Length of the command's extent on that line (the ~~~~ underline). */
  extentLength: number;
}

/** What a pipeline enumerates: an array's items, nothing for $null, else the value itself. */
export function enumerate(v: PsValue): PsValue[] {
  if (v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** A pipeline's output as one value: nothing → $null, one item → the item, else an array. */
export function collapse(items: PsValue[]): PsValue {
  if (items.length === 0) return null;
  return items.length === 1 ? items[0]! : items;
}
