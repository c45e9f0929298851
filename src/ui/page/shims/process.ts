/**
 * Node's globals for the static build, read by modules written for Node: a minimal `process`
 * (nothing that matters here reads it) and `Buffer` (the formats encode UTF-16 parent locators
 * with it; the `buffer` package is Node's Buffer API for browsers).
 */
import { Buffer } from 'buffer/';

const g = globalThis as { process?: unknown; Buffer?: unknown };
if (g.process === undefined) g.process = { env: {}, versions: {}, platform: 'browser', cwd: () => '/', pid: 1 };
if (g.Buffer === undefined) g.Buffer = Buffer;
export {};
