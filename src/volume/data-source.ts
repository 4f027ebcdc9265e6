// Which claims name a snapshot (or claim) as their data source (PURE): dataSourceRef wins over
// dataSource, as Kubernetes copies one into the other. Shared by the snapshot controller (a
// snapshot being restored from stays) and the provisioner's restore path.
import type { PersistentVolumeClaim } from '../api/types.js';
import { SNAPSHOT_GROUP } from '../api/snapshot-types.js';

export interface ClaimDataSource {
  kind: 'VolumeSnapshot' | 'PersistentVolumeClaim' | 'other';
  name: string;
  /** dataSourceRef may name another namespace (cross-namespace data sources). */
  namespace: string | undefined;
  apiGroup: string;
}

interface TypedReference {
  apiGroup?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export function claimDataSource(claim: PersistentVolumeClaim): ClaimDataSource | undefined {
  const ref = (claim.spec['dataSourceRef'] ?? claim.spec['dataSource']) as TypedReference | undefined;
  if (!ref?.name || !ref.kind) return undefined;
  const apiGroup = ref.apiGroup ?? '';
  const kind =
    ref.kind === 'VolumeSnapshot' && apiGroup === SNAPSHOT_GROUP
      ? 'VolumeSnapshot'
      : ref.kind === 'PersistentVolumeClaim' && apiGroup === ''
        ? 'PersistentVolumeClaim'
        : 'other';
  return { kind, name: ref.name, namespace: ref.namespace, apiGroup };
}

/** Claims (not yet bound, not being deleted) being provisioned from the snapshot `namespace/name`. */
export function claimsRestoringFrom(
  claims: readonly PersistentVolumeClaim[],
  namespace: string,
  name: string,
): string[] {
  return claims
    .filter((claim) => {
      if (claim.metadata.namespace !== namespace || claim.metadata.deletionTimestamp) return false;
      if (claim.status?.phase === 'Bound') return false;
      const source = claimDataSource(claim);
      return (
        source?.kind === 'VolumeSnapshot' &&
        source.name === name &&
        (source.namespace ?? namespace) === namespace
      );
    })
    .map((claim) => claim.metadata.name ?? '');
}
