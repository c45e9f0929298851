/** node:os in the static build (the lock files that read it are never made in memory). */
export const hostname = (): string => 'localhost';
export const tmpdir = (): string => '/tmp';
export const platform = (): string => 'browser';
export const EOL = '\n';
