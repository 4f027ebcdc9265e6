// Local and hostPath volumes (PURE): which bind mounts one pod should have, against what is on
// disk and in the mount table. No driver and no staging: the bind mount is the whole volume, so the
// kernel's mount table is the actual state and a restart needs no other record.
import type { DesiredBind } from './desired-state.js';
import type { NodePaths } from './paths.js';

/** A bind target found under a pod's volume directories. */
export interface FoundBind {
  podUID: string;
  targetPath: string;
  mounted: boolean;
}

export type BindAction =
  | { kind: 'Mount'; bind: DesiredBind; targetPath: string }
  | { kind: 'Teardown'; podUID: string; targetPath: string };

export function bindTargetOf(paths: NodePaths, bind: DesiredBind): string {
  return paths.bindTarget(bind.podUID, bind.plugin, bind.specName, bind.block);
}

/** Mount what is wanted and not mounted yet; tear down what is there and no longer wanted. */
export function decideBinds(
  paths: NodePaths,
  desired: readonly DesiredBind[],
  found: readonly FoundBind[],
): BindAction[] {
  const actions: BindAction[] = [];
  const wanted = new Set<string>();
  const mounted = new Set(found.filter((f) => f.mounted).map((f) => f.targetPath));
  for (const bind of desired) {
    const targetPath = bindTargetOf(paths, bind);
    wanted.add(targetPath);
    if (!mounted.has(targetPath)) actions.push({ kind: 'Mount', bind, targetPath });
  }
  for (const f of found) {
    if (!wanted.has(f.targetPath))
      actions.push({ kind: 'Teardown', podUID: f.podUID, targetPath: f.targetPath });
  }
  return actions;
}
