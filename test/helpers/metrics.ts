// Reading berth's /metrics in tests. The metrics registry belongs to the process, and a test
// process runs many berths one after another, so a test compares counts before and after its
// own steps instead of expecting a name to be absent.
import { RestClient } from '../../src/client/rest.js';

export async function fetchMetrics(kubeconfigPath: string): Promise<string> {
  return (await (await RestClient.fromKubeconfig(kubeconfigPath)).getBytes('/metrics')).toString();
}

/** Calls of one CSI method of one driver so far, over every status code (csi_sidecar_operations_seconds). */
export function csiCallCount(metrics: string, driver: string, method: string): number {
  let total = 0;
  for (const match of metrics.matchAll(/^csi_sidecar_operations_seconds_count\{([^}]*)\} (\S+)$/gm)) {
    const labels = match[1]!;
    if (labels.includes(`driver_name="${driver}"`) && labels.includes(`method_name="${method}"`)) {
      total += Number(match[2]);
    }
  }
  return total;
}
