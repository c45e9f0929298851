/**
 * Which VMs belong to the guided lesson (docs/ui.md, "Running the lesson again"): the seed's three
 * names, marked by the lesson's set-up step with a note (Set-VM -Notes) so that a second run can
 * tell its own VMs from a user's VMs of the same name. The one rule the page (to ask before
 * starting over) and the back end (to start over, model.ts) both follow.
 */
import type { VirtualMachine } from '../host/host.js';

export const LESSON_VMS = ['SSTest1', 'V-2012R2-Test1', 'v-2012R2-TW01'] as const;

/** The note the set-up step gives each VM it creates. */
export const LESSON_NOTE = 'Made by the hvsim guided lesson';

export interface LessonVmsFound {
  /** Lesson VMs that exist and carry the lesson's note: a start over may reuse them. */
  ours: VirtualMachine[];
  /** VMs with a lesson name that the lesson did not make: never touched. */
  foreign: VirtualMachine[];
  /** Lesson names no VM has yet: the set-up step creates them. */
  missing: string[];
}

/** VM names compare without regard to case (Hyper-V's Get-VM -Name). */
const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function lessonVmsFound(vms: readonly VirtualMachine[]): LessonVmsFound {
  const found: LessonVmsFound = { ours: [], foreign: [], missing: [] };
  for (const name of LESSON_VMS) {
    const vm = vms.find((v) => same(v.Name, name));
    if (!vm) found.missing.push(name);
    else if (vm.Notes === LESSON_NOTE) found.ours.push(vm);
    else found.foreign.push(vm);
  }
  return found;
}

/** Why the lesson cannot start here (VMs it did not make have its names), or null. */
export function foreignLessonVms(found: LessonVmsFound): string | null {
  if (found.foreign.length === 0) return null;
  const names = found.foreign.map((v) => `'${v.Name}'`).join(', ');
  const one = found.foreign.length === 1;
  return `the lesson's VM name${one ? '' : 's'} ${names} ${one ? 'is' : 'are'} taken by ${one ? 'a VM' : 'VMs'} the lesson did not make; hvsim leaves ${one ? 'it' : 'them'} as ${one ? 'it is' : 'they are'}: run the lesson on another state directory (hvsim ui --root DIR)`;
}
