// StorageClass parameters of the NFS driver, decided without IO: which directory a CreateVolume makes,
// with what mode, and what DeleteVolume will later do with it. Keys match case-insensitively, as in
// csi-driver-nfs; anything unknown is refused by name.
import { csiError, status } from '../../csi/errors.js';
import type { OnDelete } from './names.js';
import { ON_DELETE_VALUES } from './names.js';

export const PVC_NAME_KEY = 'csi.storage.k8s.io/pvc/name';
export const PVC_NAMESPACE_KEY = 'csi.storage.k8s.io/pvc/namespace';
export const PV_NAME_KEY = 'csi.storage.k8s.io/pv/name';

const KNOWN_KEYS = new Set([
  'server',
  'share',
  'subdir',
  'mountpermissions',
  'ondelete',
  'mountoptions',
  PVC_NAME_KEY,
  PVC_NAMESPACE_KEY,
  PV_NAME_KEY,
]);

const TEMPLATES: Readonly<Record<string, string>> = {
  'pvc.metadata.name': PVC_NAME_KEY,
  'pvc.metadata.namespace': PVC_NAMESPACE_KEY,
  'pv.metadata.name': PV_NAME_KEY,
};

export interface NfsVolumePlan {
  server: string;
  share: string;
  subDir: string;
  /** Set when subDir came from the class, so the id stays unique per CO volume name. */
  uuid: string;
  onDelete: OnDelete;
  /** Mode for the new directory; undefined leaves the server's default for mode 0777. */
  mountPermissions: number | undefined;
  mountOptions: string;
}

function invalid(message: string): never {
  throw csiError(status.INVALID_ARGUMENT, message);
}

/** Lower-cased keys; unknown keys are refused with their original spelling. */
export function normalizeParameters(parameters: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(parameters)) {
    const lower = key.toLowerCase();
    if (!KNOWN_KEYS.has(lower)) invalid(`invalid parameter "${key}" in storage class`);
    out.set(lower, value);
  }
  return out;
}

/** Replaces ${pvc.metadata.name} and friends; unknown templates and missing inputs are errors. */
export function expandSubDir(template: string, parameters: ReadonlyMap<string, string>): string {
  return template.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    const key = TEMPLATES[name.trim()];
    if (!key) invalid(`subDir uses unknown template \${${name}}`);
    const value = parameters.get(key);
    if (!value) {
      invalid(
        `subDir uses \${${name}} but CreateVolume did not receive ${key} (run the provisioner with extra-create-metadata)`,
      );
    }
    return value;
  });
}

/** A relative path that stays inside the share: no "..", not absolute, no id separator. */
export function checkSubDir(subDir: string, what = 'subDir'): string {
  if (subDir.startsWith('/')) invalid(`${what} "${subDir}" is absolute; it must stay inside the share`);
  const names = subDir.split('/').filter((name) => name !== '' && name !== '.');
  if (names.includes('..')) invalid(`${what} "${subDir}" escapes the share`);
  if (names.length === 0) invalid(`${what} "${subDir}" names no directory`);
  if (/[#\0]/.test(subDir))
    invalid(`${what} "${subDir}" contains a character that is not allowed (# or NUL)`);
  return names.join('/');
}

export function checkShare(share: string): string {
  if (!share.startsWith('/')) share = '/' + share;
  if (share.split('/').includes('..')) invalid(`share "${share}" must not contain ".."`);
  if (/[#\0]/.test(share)) invalid(`share "${share}" contains a character that is not allowed (# or NUL)`);
  return share.length > 1 ? share.replace(/\/+$/, '') : share;
}

export function parseMountPermissions(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-7]{1,4}$/.test(value)) invalid(`mountPermissions "${value}" is not an octal mode such as 0777`);
  const mode = parseInt(value, 8);
  return mode === 0 ? undefined : mode;
}

export function parseOnDelete(value: string | undefined): OnDelete {
  if (value === undefined || value === '') return 'delete';
  const lower = value.toLowerCase();
  const found = ON_DELETE_VALUES.find((candidate) => candidate === lower);
  if (!found) invalid(`onDelete "${value}" must be one of ${ON_DELETE_VALUES.join(', ')}`);
  return found;
}

/** Everything CreateVolume decides from the request's name and parameters. */
export function planVolume(name: string, parameters: Readonly<Record<string, string>>): NfsVolumePlan {
  const params = normalizeParameters(parameters);
  const server = params.get('server');
  if (!server) invalid('server is a required parameter');
  if (/[#\0/]/.test(server)) invalid(`server "${server}" is not a host name or address`);
  const shareValue = params.get('share');
  if (!shareValue) invalid('share is a required parameter');
  const share = checkShare(shareValue);
  const template = params.get('subdir');
  const subDir = template ? checkSubDir(expandSubDir(template, params)) : checkSubDir(name, 'volume name');
  return {
    server,
    share,
    subDir,
    uuid: template ? name : '',
    onDelete: parseOnDelete(params.get('ondelete')),
    mountPermissions: parseMountPermissions(params.get('mountpermissions')),
    mountOptions: params.get('mountoptions') ?? '',
  };
}

/** What DeleteVolume does with the directory, and where an archive goes (beside it). */
export function archiveName(subDir: string): { parent: string; name: string; archived: string } {
  const names = subDir.split('/');
  const name = names.pop() ?? subDir;
  return { parent: names.join('/'), name, archived: `archived-${name}` };
}
