/**
 * The direction of imports between hvsim's layers (README "Layout"), checked by dependency-cruiser
 * in `npm test` (test/dependencies.test.ts) and by hand with `npx depcruise src`.
 *
 *   src/errors.ts, src/vhd (formats) → src/engine (chains) → src/host (Host interface, shared
 *   Hyper-V rules) → src/sim (simulator), src/hyperv (real-host driver), src/powershell
 *   (interpreter) → src/cli
 *
 * A layer imports its own files and the layers listed for it, nothing else of src; type-only
 * imports count too. src/cli and the package entry (src/index.ts) sit on top.
 */

/** What each layer may import besides itself ('errors.ts' is src/errors.ts). */
const MAY_IMPORT = {
  'errors.ts': [],
  vhd: ['errors.ts'],
  engine: ['vhd', 'errors.ts'],
  host: ['engine', 'vhd', 'errors.ts'],
  sim: ['host', 'engine', 'vhd', 'errors.ts'],
  hyperv: ['host', 'vhd/common', 'vhd/formats.ts', 'errors.ts'],
  powershell: ['host', 'vhd/common', 'vhd/formats.ts', 'errors.ts'],
};

/** A regular expression matching a layer's files: a folder under src/, or src/errors.ts. */
const files = (layer) => `^src/${layer.replaceAll('.', '\\.')}${layer.endsWith('.ts') ? '$' : '/'}`;
const anyOf = (layers) => layers.map(files).join('|');

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...Object.entries(MAY_IMPORT).map(([layer, allowed]) => ({
      name: `${layer.replace(/\.ts$/, '')}-imports-only-${allowed.length ? allowed.join('+').replaceAll('.ts', '') : 'nothing-of-src'}`,
      comment: `src/${layer} imports ${allowed.length ? allowed.map((l) => `src/${l}`).join(', ') : 'nothing of src'} (README "Layout")`,
      severity: 'error',
      from: { path: files(layer) },
      to: { path: '^src/', pathNot: anyOf([layer, ...allowed]) },
    })),
    {
      name: 'entry-imports-only-layer-faces',
      comment: 'src/index.ts re-exports the public API from the layers\' index.ts (docs/library.md)',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/[^/]+/index\\.ts$', '^src/errors\\.ts$'] },
    },
    {
      name: 'engine-sees-disks-only-through-DiskImage',
      comment: 'the engine reaches the VHDX and VHD internals only through DiskImage (src/vhd/disk.ts)',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/vhd/(vhdx|vhd)/' },
    },
    {
      name: 'vhd-fs-only-in-io',
      comment: 'the formats reach the file system only through the file seam, src/vhd/io',
      severity: 'error',
      from: { path: '^src/vhd/', pathNot: '^src/vhd/io/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    {
      name: 'engine-fs-only-in-store-and-workload',
      comment: 'the engine reaches files through the DiskStore seam; only the store and the workload writer touch node:fs',
      severity: 'error',
      from: { path: '^src/engine/', pathNot: '^src/engine/(store|workload)\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    {
      name: 'ui-page-runs-in-a-browser',
      comment: "hvsim ui's page (and its static build) runs in the browser: no Node built-in, no CLI, no server, no real-host driver (docs/ui.md)",
      severity: 'error',
      from: { path: '^src/ui/page/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'ui-page-imports-only-ui-model+layers-below',
      comment: "hvsim ui's page reaches the simulator through src/ui's model, never the CLI, the server or the driver (docs/ui.md)",
      severity: 'error',
      from: { path: '^src/ui/(page/|model\\.ts$|types\\.ts$|parse-action\\.ts$)' },
      to: { path: '^src/(cli|hyperv)/|^src/ui/server\\.ts$' },
    },
    {
      name: 'ui-model-no-fs',
      comment: "hvsim ui's model runs in the browser too (the static build): files only through the DiskStore",
      severity: 'error',
      from: { path: '^src/ui/(model|types|parse-action)\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles, within a layer or across layers',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves (a typo would otherwise hide an edge from the rules above)',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies between layers too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
