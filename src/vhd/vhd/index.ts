/** Legacy VHD 1.0 layer: re-exports the public entry (vhd-file.ts). */
export { VhdImage, openVhd, isVhd, createVhd, createVhdDifferencing, type VhdCreateOptions, type VhdDifferencingOptions, type VhdOpenOptions } from './vhd-file.js';
