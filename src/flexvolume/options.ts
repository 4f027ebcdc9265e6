// The JSON options every call-out that names a volume carries, built as kubelet builds them:
// fsType, read/write mode and volume name first, then pod details and secrets, then the user's
// own options verbatim (which therefore win). Pure; the secret is read by the caller.
import type { Pod, Secret } from '../api/types.js';
import type { FlexVolumeSpec } from '../volume/flex-spec.js';

export const OPTION_FS_TYPE = 'kubernetes.io/fsType';
export const OPTION_READ_WRITE = 'kubernetes.io/readwrite';
export const OPTION_VOLUME_NAME = 'kubernetes.io/pvOrVolumeName';
export const OPTION_FS_GROUP = 'kubernetes.io/mounterArgs.FsGroup';
export const OPTION_POD_NAME = 'kubernetes.io/pod.name';
export const OPTION_POD_NAMESPACE = 'kubernetes.io/pod.namespace';
export const OPTION_POD_UID = 'kubernetes.io/pod.uid';
export const OPTION_SERVICE_ACCOUNT = 'kubernetes.io/serviceAccount.name';
export const OPTION_SECRET_PREFIX = 'kubernetes.io/secret/';

export type FlexOptions = Record<string, string>;

export interface OptionExtras {
  /** Adds pod name, namespace, uid, service account (and fsGroup, if the pod sets one). */
  pod?: Pod;
  /** The secret named by secretRef; every key goes in as kubernetes.io/secret/<key>, base64. */
  secret?: Secret;
}

export function buildOptions(spec: FlexVolumeSpec, extras: OptionExtras = {}): FlexOptions {
  const options: FlexOptions = {
    [OPTION_FS_TYPE]: spec.source.fsType ?? '',
    [OPTION_READ_WRITE]: spec.readOnly ? 'ro' : 'rw',
    [OPTION_VOLUME_NAME]: spec.name,
  };
  const pod = extras.pod;
  if (pod) {
    options[OPTION_POD_NAME] = pod.metadata.name ?? '';
    options[OPTION_POD_NAMESPACE] = pod.metadata.namespace ?? 'default';
    options[OPTION_POD_UID] = pod.metadata.uid ?? '';
    options[OPTION_SERVICE_ACCOUNT] = pod.spec.serviceAccountName ?? 'default';
    const fsGroup = podFsGroup(pod);
    if (fsGroup !== undefined) options[OPTION_FS_GROUP] = String(fsGroup);
  }
  if (extras.secret) {
    for (const [key, value] of Object.entries(secretData(extras.secret))) {
      options[`${OPTION_SECRET_PREFIX}${key}`] = value;
    }
  }
  for (const [key, value] of Object.entries(spec.source.options ?? {})) options[key] = value;
  return options;
}

/** The secret a spec's secretRef names, or undefined when it names none. */
export function secretRefOf(
  spec: FlexVolumeSpec,
  podNamespace: string | undefined,
): { namespace: string; name: string } | undefined {
  const ref = spec.source.secretRef;
  const name = ref?.name;
  if (!ref || !name) return undefined;
  // A PV may name the secret's namespace; an inline volume's secret lives beside the pod.
  const own = 'namespace' in ref && typeof ref.namespace === 'string' ? ref.namespace : '';
  return { namespace: own || podNamespace || 'default', name };
}

/** data is base64 already; stringData (not yet folded in by an API server) is encoded here. */
export function secretData(secret: Secret): Record<string, string> {
  const out: Record<string, string> = { ...(secret.data ?? {}) };
  for (const [key, value] of Object.entries(secret.stringData ?? {})) {
    out[key] = Buffer.from(value, 'utf8').toString('base64');
  }
  return out;
}

export function podFsGroup(pod: Pod): number | undefined {
  const context = pod.spec['securityContext'];
  if (!context || typeof context !== 'object') return undefined;
  const fsGroup = (context as Record<string, unknown>)['fsGroup'];
  return typeof fsGroup === 'number' && Number.isInteger(fsGroup) && fsGroup >= 0 ? fsGroup : undefined;
}
