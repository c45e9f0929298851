/**
 * The simulator's public face: a simulated Hyper-V host (docs/simulator.md) implementing Host,
 * and where it keeps its disks and state — in memory, or in a state directory on disk.
 */
export { DEFAULT_BLOCK_SIZE, DEFAULT_DISK_SIZE, DEFAULT_MEMORY, Simulator, type SimulatorOptions } from './simulator.js';
export { DirectoryStorage, MemoryStorage, type LockOptions, type SimStorage } from './storage.js';
export type { HostState } from './state.js';
