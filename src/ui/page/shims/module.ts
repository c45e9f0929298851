/**
 * node:module in the static build: the PowerShell parser (src/powershell/parse.ts) finds its
 * grammar with createRequire(…).resolve(…); in the browser the grammar's .wasm file sits next to
 * the page's script (hvsim ui --build copies it there).
 */
export function createRequire(base: string): { resolve(id: string): string } {
  return { resolve: (id: string) => new URL(id.slice(id.lastIndexOf('/') + 1), base).href };
}
