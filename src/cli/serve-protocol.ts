/** The events hvsim serve --stdio answers with (protocol: the top of serve-stdio.ts). */

/** An error record as the client rebuilds it. */
export interface ServeError {
  message: string;
  category: string;
  /** FullyQualifiedErrorId. */
  id: string;
  target: string;
  /** CategoryInfo's reason: the exception type's short name. */
  reason: string;
}

export interface ServeObject {
  t: string[];
  p: Record<string, unknown>;
  k: Record<string, string>;
}

export type ServeEvent = { o: ServeObject } | { w: string } | { e: ServeError } | { h: string };
