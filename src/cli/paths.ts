// Where berth keeps its state and where client commands look for the kubeconfig.
import { join } from 'node:path';

/** Pure: --data-dir, else $BERTH_DATA_DIR, else ~/.berth. */
export function resolveDataDir(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  home: string,
): string {
  if (flag) return flag;
  const fromEnv = env['BERTH_DATA_DIR'];
  return fromEnv ? fromEnv : join(home, '.berth');
}

/** Pure: --kubeconfig, else the kubeconfig `berth up` writes into the data directory. */
export function resolveKubeconfig(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  home: string,
): string {
  if (flag) return flag;
  return join(resolveDataDir(undefined, env, home), 'kubeconfig');
}
