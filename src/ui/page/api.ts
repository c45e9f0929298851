/**
 * The page's back end: the server's JSON API (HttpBackend), or the simulator itself running in
 * the page (the static build, local-backend.ts). The views see only this interface.
 */
import type { UiAction, UiActionResult, UiBlocks, UiRunResult, UiState } from '../types.js';

export interface Backend {
  /** Everything but the block maps; disk files for `vm` only (default: the first VM). */
  state(vm?: string): Promise<UiState>;
  blocks(vm: string, drive: number): Promise<UiBlocks>;
  action(a: UiAction): Promise<UiActionResult>;
  run(source: string): Promise<UiRunResult>;
  /** Call `fn` whenever the state may have changed (by this page, another page or the CLI). */
  onChange(fn: () => void): void;
  /** Where exports go (shown in the lesson). */
  readonly exportHint: string;
}

export class BackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function json<T>(r: Response): Promise<T> {
  const body = (await r.json()) as unknown;
  if (!r.ok) {
    const e = body as { code?: string; message?: string };
    throw new BackendError(e.code ?? String(r.status), e.message ?? r.statusText);
  }
  return body as T;
}

export class HttpBackend implements Backend {
  readonly exportHint = 'the state directory\'s "exports" folder';

  state(vm?: string): Promise<UiState> {
    return fetch(vm === undefined ? '/api/state' : `/api/state?vm=${encodeURIComponent(vm)}`).then((r) => json<UiState>(r));
  }
  blocks(vm: string, drive: number): Promise<UiBlocks> {
    return fetch(`/api/blocks?vm=${encodeURIComponent(vm)}&drive=${drive}`).then((r) => json<UiBlocks>(r));
  }
  action(a: UiAction): Promise<UiActionResult> {
    return fetch('/api/action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(a) }).then((r) => json<UiActionResult>(r));
  }
  run(source: string): Promise<UiRunResult> {
    return fetch('/api/run', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source }) }).then((r) => json<UiRunResult>(r));
  }
  onChange(fn: () => void): void {
    const es = new EventSource('/api/events');
    es.addEventListener('change', () => fn());
    // After a reconnect (the server restarted) the state may be anything: reload it.
    es.addEventListener('hello', () => fn());
  }
}
