// The layers of berth (README "Architecture"), checked by `npm test`: a folder of src/ imports only
// from layers below it, never sideways within a layer, never in a cycle; every file is used.
// A violation prints the rule's name, e.g. `layer-L3-pv-controller`.
const { layers } = require('./scripts/layers.cjs');

const anyOf = (folders) => `^src/(${folders.join('|')})/`;

/** One rule per folder: it may import its own files and the folders of lower layers, nothing else. */
const layerRules = layers.flatMap(([layer, folders], index) => {
  const lower = layers.slice(0, index).flatMap(([, below]) => below);
  return folders.map((folder) => {
    const forbidden = layers
      .flatMap(([, all]) => all)
      .filter((other) => other !== folder && !lower.includes(other));
    return {
      name: `layer-${layer}-${folder}`,
      comment: `src/${folder} (${layer}) imports only from ${lower.length > 0 ? lower.join(', ') : 'no other folder of src'}`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: anyOf(forbidden) },
    };
  });
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'a cycle means two files are one concern, or shared code belongs a layer lower',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'a file nothing imports is dead code (entry points and declarations excepted)',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: ['\\.d\\.ts$', '(^|/)\\.[^/]+\\.(c|m)?js$', '\\.config\\.(c|m)?js$', '^src/cli/main\\.ts$'],
      },
      to: {},
    },
    {
      name: 'no-unreachable',
      comment:
        'every file of src is used by the berth command (re-exporting index.ts files excepted); a warning, since a part may land before its wiring',
      severity: 'warn',
      from: { path: '^src/cli/main\\.ts$' },
      to: { path: '^src/', pathNot: '/index\\.ts$', reachable: false },
    },
    {
      name: 'src-not-to-tests',
      comment: 'production code never imports tests, test helpers or benchmarks',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'bench-own-helpers',
      comment: 'benchmarks keep their own helpers; test helpers may change with the tests',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves to a file or an installed package',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dependency',
      comment: 'src runs without devDependencies installed',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      dot: {
        collapsePattern: '^src/(drivers/[^/]+|[^/]+)/',
        theme: { graph: { rankdir: 'BT', splines: 'ortho' } },
      },
    },
  },
};
