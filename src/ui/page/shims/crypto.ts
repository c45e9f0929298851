/** node:crypto in the static build: the browser's Web Crypto for the GUIDs the simulator makes. */
export function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
export function createHash(): never {
  throw new Error('createHash: not available in the browser');
}
