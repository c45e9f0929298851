/**
 * node:fs in the static build (docs/ui.md, "Static build"): the simulator there keeps its disks
 * in memory (MemoryStorage), so no file-system call is ever made; any that were would fail loudly.
 */
export const constants: Record<string, number> = {};
function none(name: string): () => never {
  return () => {
    throw new Error(`${name}: no file system in the browser (the static build keeps its disks in memory)`);
  };
}
export const existsSync = (): boolean => false;
export const openSync = none('openSync');
export const readFileSync = none('readFileSync');
export const writeFileSync = none('writeFileSync');
export const statSync = none('statSync');
export const mkdirSync = none('mkdirSync');
export const readdirSync = none('readdirSync');
export const rmSync = none('rmSync');
export const renameSync = none('renameSync');
export const unlinkSync = none('unlinkSync');
export const linkSync = none('linkSync');
export const cpSync = none('cpSync');
export const copyFileSync = none('copyFileSync');
export const closeSync = none('closeSync');
export const fsyncSync = none('fsyncSync');
export const fdatasyncSync = none('fdatasyncSync');
export const ftruncateSync = none('ftruncateSync');
export const readSync = none('readSync');
export const writeSync = none('writeSync');
export const accessSync = none('accessSync');
export const chmodSync = none('chmodSync');
export const fstatSync = none('fstatSync');
export class Stats {}
export default { constants, existsSync };
