// What the node's volume manager holds, for volume_manager_total_volumes: kubelet counts its
// desired state per pod volume and its actual state per mounted volume, labelled with the fully
// qualified plugin name ("kubernetes.io/csi:<driver>" for CSI, "flexvolume-<driver>" for flex).
import { csiPluginName, type VolumeManagerCounts } from '../volume/metrics.js';
import type { ActualVolume } from './decide.js';
import type { DesiredState, PodVolumeState } from './desired-state.js';

function pluginOf(state: PodVolumeState, desired: DesiredState): string | undefined {
  switch (state.kind) {
    case 'csi': {
      const driver = desired.volumes.get(state.uniqueName)?.driver;
      return driver === undefined ? undefined : csiPluginName(driver);
    }
    case 'bind':
      return state.bind.plugin.replace('~', '/'); // the directory "kubernetes.io~local-volume"
    case 'flex':
      return `flexvolume-${state.driver}`;
    case 'ready':
    case 'pending':
      return undefined; // nothing the agent mounts (yet)
  }
}

/**
 * Desired: every pod volume the agent mounts (CSI, local/hostPath bind, flex). Actual: every CSI
 * volume staged or published here, and the bind and flex volumes `isReady` says are in place.
 */
export function volumeManagerCounts(
  desired: DesiredState,
  actual: readonly ActualVolume[],
  isReady: (podUID: string, volumeName: string) => boolean,
): VolumeManagerCounts {
  const wanted: { plugin: string }[] = [];
  const held: { plugin: string }[] = [];
  for (const v of actual) {
    if (v.stage !== 'none' || v.publishes.length > 0) held.push({ plugin: csiPluginName(v.driver) });
  }
  for (const [podUID, states] of desired.podVolumes) {
    for (const state of states) {
      const plugin = pluginOf(state, desired);
      if (plugin === undefined) continue;
      wanted.push({ plugin });
      if (state.kind !== 'csi' && isReady(podUID, state.volumeName)) held.push({ plugin });
    }
  }
  return { desired: wanted, actual: held };
}
