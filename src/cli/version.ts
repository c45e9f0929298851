/** hvsim's version, in a module of its own so that `hvsim --version` loads nothing else (bin.ts). */
export const VERSION = '0.1.0';
