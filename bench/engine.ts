/**
 * The engine as built: the dist/ modules `npm run build` produced, loaded by dynamic import so the
 * bench measures the build (not tsx's on-the-fly transpile). The types come from src/.
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as ChainMod from '../src/engine/chain.js';
import type * as AnalyzeMod from '../src/engine/analyze.js';
import type * as WorkloadMod from '../src/engine/workload.js';
import type * as StoreMod from '../src/engine/store.js';
import type * as NodeFileMod from '../src/vhd/io/node-file.js';
import type * as BytesMod from '../src/vhd/common/bytes.js';
import type * as ParallelMod from '../src/vhd/io/parallel-read.js';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..');
/** Path of a built file under dist/. */
export const distPath = (rel: string): string => path.join(root, 'dist', rel);
/** import() specifier of a built file under dist/. */
export const dist = (rel: string): string => pathToFileURL(distPath(rel)).href;

export const { Chain } = (await import(dist('engine/chain.js'))) as typeof ChainMod;
export type ChainT = ChainMod.Chain;
export const { analyzeChain } = (await import(dist('engine/analyze.js'))) as typeof AnalyzeMod;
export const wl = (await import(dist('engine/workload.js'))) as typeof WorkloadMod;
export const { NodeDiskStore } = (await import(dist('engine/store.js'))) as typeof StoreMod;
export const { NodeFile } = (await import(dist('vhd/io/node-file.js'))) as typeof NodeFileMod;
export const { ioBuffer, sharedIoBuffer, MiB } = (await import(dist('vhd/common/bytes.js'))) as typeof BytesMod;
export const { ParallelReader } = (await import(dist('vhd/io/parallel-read.js'))) as typeof ParallelMod;
export type ParallelReaderT = ParallelMod.ParallelReader;
