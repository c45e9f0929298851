/** The built CLI, as test/helpers/build-cli.ts left it for this run. */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    hvsimBin: string;
  }
}

/** Path of the built CLI's bin.js (a private copy of dist/ that nothing rewrites during the run). */
export function cliBin(): string {
  return inject('hvsimBin');
}
