// Where berth keeps its state, where client commands look for the kubeconfig, and where berth's own
// package files are.
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file of berth's package (package.json, examples/...): found from the folder above this module
 * that holds package.json, so it is the same from src/ (tsx), the compiled dist/cli/ and the bundle
 * in dist/berth/, whose modules sit at different depths.
 */
export function packageFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, relative);
}

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
