// Kubernetes' storage_operation_duration_seconds: how long each volume operation took, by plugin
// ("kubernetes.io/csi:<driver>" for CSI, as kubelet names it), operation and outcome.
import { Gauge, Histogram, register } from 'prom-client';

const NAME = 'storage_operation_duration_seconds';
type Labels = 'volume_plugin' | 'operation_name' | 'status' | 'migrated';

const operations =
  (register.getSingleMetric(NAME) as Histogram<Labels> | undefined) ??
  new Histogram({
    name: NAME,
    help: 'Storage operation duration',
    labelNames: ['volume_plugin', 'operation_name', 'status', 'migrated'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600],
  });

/** kubelet's plugin label of a CSI driver. */
export function csiPluginName(driver: string): string {
  return `kubernetes.io/csi:${driver}`;
}

/** Observes how long `operation` takes; returns it unchanged. */
export function timeStorageOperation<T>(
  plugin: string,
  operationName: string,
  operation: Promise<T>,
): Promise<T> {
  const started = performance.now();
  const observe = (status: string): void =>
    operations.observe(
      { volume_plugin: plugin, operation_name: operationName, status, migrated: 'false' },
      (performance.now() - started) / 1000,
    );
  operation.then(
    () => observe('success'),
    () => observe('fail-unknown'),
  );
  return operation;
}

/** One node's volume manager as volume_manager_total_volumes sees it: volumes by plugin. */
export interface VolumeManagerCounts {
  desired: readonly { plugin: string }[];
  actual: readonly { plugin: string }[];
}

/** Process-wide, like prom-client's registry, so a second copy of this module feeds the same gauge. */
const volumeManagers: Set<() => VolumeManagerCounts> = ((globalThis as unknown as Record<symbol, unknown>)[
  Symbol.for('berth.volume-managers')
] ??= new Set()) as Set<() => VolumeManagerCounts>;
const TOTAL_VOLUMES = 'volume_manager_total_volumes';

if (!register.getSingleMetric(TOTAL_VOLUMES)) {
  new Gauge({
    name: TOTAL_VOLUMES,
    help: 'Number of volumes in Volume Manager',
    labelNames: ['plugin_name', 'state'],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      const add = (plugin: string, state: string): void => {
        const key = JSON.stringify([plugin, state]);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      };
      for (const read of volumeManagers) {
        const c = read();
        for (const v of c.desired) add(v.plugin, 'desired_state_of_world');
        for (const v of c.actual) add(v.plugin, 'actual_state_of_world');
      }
      for (const [key, n] of counts) {
        const [plugin_name, state] = JSON.parse(key) as [string, string];
        this.set({ plugin_name, state }, n);
      }
    },
  });
}

/** Reports a node's volumes in volume_manager_total_volumes until the returned function is called. */
export function reportVolumeManager(read: () => VolumeManagerCounts): () => void {
  volumeManagers.add(read);
  return () => volumeManagers.delete(read);
}
