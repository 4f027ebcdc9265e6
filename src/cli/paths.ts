// Where berth keeps its state and where client commands look for the kubeconfig.
import { delimiter, join } from 'node:path';

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

/**
 * Pure: the kubeconfig files a client reads: --kubeconfig, else every file in $KUBECONFIG (merged
 * in order; missing ones skipped, as kubectl does), else the one `berth up` writes into the data
 * directory.
 */
export function kubeconfigFiles(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  home: string,
): { paths: string[]; skipMissing: boolean } {
  if (flag) return { paths: [flag], skipMissing: false };
  const list = (env['KUBECONFIG'] ?? '').split(delimiter).filter((p) => p !== '');
  if (list.length > 0) return { paths: [...new Set(list)], skipMissing: true };
  return { paths: [join(resolveDataDir(undefined, env, home), 'kubeconfig')], skipMissing: false };
}
