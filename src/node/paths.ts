// The node agent's on-disk layout under its root directory, kubelet-compatible so that third-party
// CSI drivers (and their node-driver-registrar sidecars) find the paths they expect.
import { createHash } from 'node:crypto';
import path from 'node:path';

export const CSI_PLUGIN_NAME = 'kubernetes.io/csi';
/** The plugin name as a path segment ("/" escaped to "~"), as kubelet writes it. */
export const CSI_PLUGIN_DIR = 'kubernetes.io~csi';
/** Kubelet's plugin directory names of the local and hostPath volume plugins. */
export const LOCAL_VOLUME_PLUGIN_DIR = 'kubernetes.io~local-volume';
export const HOST_PATH_PLUGIN_DIR = 'kubernetes.io~host-path';
export type BindPluginDir = typeof LOCAL_VOLUME_PLUGIN_DIR | typeof HOST_PATH_PLUGIN_DIR;
export const VOL_DATA_FILE = 'vol_data.json';
export const GLOBAL_MOUNT_DIR = 'globalmount';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Kubelet's EscapeQualifiedName: a volume spec name with "/" is stored with "~". */
export function escapeQualifiedName(name: string): string {
  return name.replaceAll('/', '~');
}

export class NodePaths {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  /** Where registration sockets (node-driver-registrar's <driver>-reg.sock) appear. */
  registryDir(): string {
    return path.join(this.rootDir, 'plugins_registry');
  }

  /** The conventional socket of a driver run by berth. */
  driverSocket(driver: string): string {
    return path.join(this.rootDir, 'plugins', driver, 'csi.sock');
  }

  /** plugins/kubernetes.io/csi: holds <driver>/<sha256(handle)>/{globalmount,vol_data.json}. */
  csiStagingRoot(): string {
    return path.join(this.rootDir, 'plugins', CSI_PLUGIN_NAME);
  }

  /** The directory holding a volume's globalmount and its staging vol_data.json. */
  stagingDir(driver: string, volumeHandle: string): string {
    return path.join(this.csiStagingRoot(), driver, sha256Hex(volumeHandle));
  }

  /** NodeStageVolume's staging_target_path. */
  stagingTarget(driver: string, volumeHandle: string): string {
    return path.join(this.stagingDir(driver, volumeHandle), GLOBAL_MOUNT_DIR);
  }

  podsDir(): string {
    return path.join(this.rootDir, 'pods');
  }

  podDir(podUID: string): string {
    return path.join(this.podsDir(), podUID);
  }

  /** pods/<uid>/volumes/kubernetes.io~csi */
  podCsiVolumesDir(podUID: string): string {
    return path.join(this.podDir(podUID), 'volumes', CSI_PLUGIN_DIR);
  }

  /** The directory holding a pod volume's mount dir and its vol_data.json. */
  podVolumeDir(podUID: string, specName: string): string {
    return path.join(this.podCsiVolumesDir(podUID), escapeQualifiedName(specName));
  }

  /** NodePublishVolume's target_path. */
  podVolumeMount(podUID: string, specName: string): string {
    return path.join(this.podVolumeDir(podUID, specName), 'mount');
  }

  /** Where a bind-mounted volume appears: volumes/<plugin>/<name>, or volumeDevices/<plugin>/<name> for raw block. */
  bindTarget(podUID: string, plugin: BindPluginDir, specName: string, block: boolean): string {
    const area = block ? 'volumeDevices' : 'volumes';
    return path.join(this.podDir(podUID), area, plugin, escapeQualifiedName(specName));
  }
}
