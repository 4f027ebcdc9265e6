// Driver names and the on-disk layout of FlexVolume, as kubelet lays it out: a driver "vendor/driver"
// lives in <pluginDir>/vendor~driver/driver; its device mounts under plugins/kubernetes.io/flexvolume
// and its pod mounts under pods/<uid>/volumes/vendor~driver.
import path from 'node:path';

export const FLEX_PLUGIN_NAME_PREFIX = 'flexvolume-';

export interface FlexDriverName {
  vendor: string;
  driver: string;
}

/** "vendor~driver" (a plugin directory name) -> {vendor, driver}; undefined for anything else. */
export function parsePluginDirName(dirName: string): FlexDriverName | undefined {
  if (dirName.startsWith('.')) return undefined;
  const parts = dirName.split('~');
  if (parts.length !== 2) return undefined;
  const [vendor, driver] = parts;
  if (!vendor || !driver || !isSafeSegment(vendor) || !isSafeSegment(driver)) return undefined;
  return { vendor, driver };
}

/** "vendor/driver" (as written in flexVolume.driver) -> {vendor, driver}. */
export function parseDriverName(name: string): FlexDriverName | undefined {
  const parts = name.split('/');
  if (parts.length !== 2) return undefined;
  const [vendor, driver] = parts;
  if (!vendor || !driver || !isSafeSegment(vendor) || !isSafeSegment(driver)) return undefined;
  return { vendor, driver };
}

/** Kubelet's EscapeQualifiedName: "/" becomes "~". */
export function escapedDriverName(name: string): string {
  return name.replaceAll('/', '~');
}

/** A path segment that cannot climb out of its directory or hide itself. */
export function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !/[/\0]/.test(segment);
}

/** The unique volume name kubelet reports in node.status.volumesInUse for a flex volume. */
export function uniqueFlexVolumeName(driver: string, volumeName: string): string {
  return `${FLEX_PLUGIN_NAME_PREFIX}${driver}/${volumeName}`;
}

/** `flexvolume-<vendor>/<driver>/<volumeName>` -> its driver and volume name; undefined for any other name. */
export function parseUniqueFlexVolumeName(
  uniqueName: string,
): { driver: string; volumeName: string } | undefined {
  if (!uniqueName.startsWith(FLEX_PLUGIN_NAME_PREFIX)) return undefined;
  const parts = uniqueName.slice(FLEX_PLUGIN_NAME_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [vendor, driver, volumeName] = parts as [string, string, string];
  if (![vendor, driver, volumeName].every(isSafeSegment)) return undefined;
  return { driver: `${vendor}/${driver}`, volumeName };
}

export class FlexPaths {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  /** Where drivers are installed: <root>/volume-plugins. */
  pluginDir(): string {
    return path.join(this.rootDir, 'volume-plugins');
  }

  /** mountdevice's directory: plugins/kubernetes.io/flexvolume/<vendor>/<driver>/mounts/<volumeName>. */
  deviceMountPath(driver: string, volumeName: string): string {
    return path.join(this.deviceMountsDir(driver), volumeName);
  }

  deviceMountsDir(driver: string): string {
    const name = checkedDriver(driver);
    return path.join(
      this.rootDir,
      'plugins',
      'kubernetes.io',
      'flexvolume',
      name.vendor,
      name.driver,
      'mounts',
    );
  }

  podsDir(): string {
    return path.join(this.rootDir, 'pods');
  }

  /** pods/<uid>/volumes/<vendor>~<driver> */
  podDriverDir(podUID: string, driver: string): string {
    checkedDriver(driver);
    return path.join(this.podsDir(), podUID, 'volumes', escapedDriverName(driver));
  }

  /** mount's directory: pods/<uid>/volumes/<vendor>~<driver>/<volumeName>. */
  podVolumePath(podUID: string, driver: string, volumeName: string): string {
    return path.join(this.podDriverDir(podUID, driver), volumeName);
  }
}

function checkedDriver(driver: string): FlexDriverName {
  const name = parseDriverName(driver);
  if (!name) throw new Error(`"${driver}" is not a FlexVolume driver name of the form vendor/driver`);
  return name;
}
