// The layers of berth's src/ folders, bottom to top (design.md): read by the layers check
// (.dependency-cruiser.cjs) and by the picture script (scripts/layers-picture.mjs).
/** Bottom to top. */
const layers = [
  ['L0', ['api', 'host', 'nfs-client']],
  ['L1', ['store', 'csi', 'client', 'volume']],
  ['L2', ['machinery', 'apiserver']],
  [
    'L3',
    [
      'pv-controller',
      'scheduler',
      'workloads',
      'provisioner',
      'attach-detach',
      'node-lifecycle',
      'namespaces',
      'resizer',
      'snapshot',
      'flexvolume',
      'drivers',
    ],
  ],
  ['L4', ['node']],
  ['L5', ['cli']],
];

module.exports = { layers };
