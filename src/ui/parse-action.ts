/** A UiAction from untrusted JSON (a request body): every field checked, nothing else kept. */
import { HvsimError } from '../errors.js';
import type { PowerKind, UiAction } from './types.js';

const POWER: readonly PowerKind[] = ['start', 'save', 'turnoff', 'stop', 'pause', 'resume'];

export function parseAction(x: unknown): UiAction {
  const bad = (what: string): never => {
    throw new HvsimError('INVALID_ARGUMENT', `action: ${what}`);
  };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return bad('expected an object');
  const o = x as Record<string, unknown>;
  const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : bad(`${k} must be a string`));
  const optStr = (k: string): string | undefined => (o[k] === undefined ? undefined : str(k));
  const num = (k: string): number => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : bad(`${k} must be a number`));
  const names = (k: string): string[] => {
    const v = o[k];
    if (!Array.isArray(v) || v.length === 0 || !v.every((n) => typeof n === 'string')) return bad(`${k} must be a list of names`);
    return v as string[];
  };
  const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));
  const pick = (): { id: string } | { name: string } =>
    o.id !== undefined ? { id: str('id') } : o.name !== undefined ? { name: str('name') } : bad('id or name of the checkpoint is required');
  switch (o.op) {
    case 'new-vm':
      return { op: 'new-vm', name: str('name'), ...opt('diskSize', o.diskSize === undefined ? undefined : num('diskSize')), ...opt('checkpointType', optStr('checkpointType')) };
    case 'power': {
      const kind = str('kind') as PowerKind;
      if (!POWER.includes(kind)) return bad(`kind must be one of ${POWER.join(', ')}`);
      return { op: 'power', kind, vms: names('vms') };
    }
    case 'checkpoint':
    case 'checkpoint-group':
      return { op: o.op, vms: names('vms'), ...opt('snapshotName', optStr('snapshotName')) };
    case 'apply':
    case 'export':
      return { op: o.op, vm: str('vm'), ...pick() };
    case 'remove':
      return { op: 'remove', vm: str('vm'), ...pick(), subtree: o.subtree === true };
    case 'rename':
      return { op: 'rename', vm: str('vm'), ...pick(), newName: str('newName') };
    case 'write':
      return { op: 'write', vm: str('vm'), drive: num('drive'), offset: num('offset'), length: num('length'), ...opt('text', optStr('text')) };
    default:
      return bad(`unknown op ${JSON.stringify(o.op)}`);
  }
}
