// Secret references in StorageClass parameters (external-provisioner's getSecretReference): a
// name/namespace pair per operation, with ${...} templates filled from the claim and volume (pure);
// and reading the Secret a reference names, for every sidecar that passes secrets to a driver.
import { K } from '../api/kinds.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from '../api/names.js';
import type { Secret, SecretReference } from '../api/types.js';
import type { KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { RESERVED_PARAMETER_PREFIX } from './provisioning-names.js';
import { PlanError } from './plan-error.js';

/** Operations whose secrets a class may name; the first five are the ones a volume carries. */
export const SECRET_OPERATIONS = [
  'provisioner',
  'controller-publish',
  'node-stage',
  'node-publish',
  'controller-expand',
  'node-expand',
] as const;
export type SecretOperation = (typeof SECRET_OPERATIONS)[number];

/** Parameter keys the provisioner understands; any other key with the reserved prefix is an error. */
export const KNOWN_RESERVED_PARAMETERS: ReadonlySet<string> = new Set([
  `${RESERVED_PARAMETER_PREFIX}fstype`,
  `${RESERVED_PARAMETER_PREFIX}secret-name`,
  `${RESERVED_PARAMETER_PREFIX}secret-namespace`,
  ...[...SECRET_OPERATIONS, 'controller-modify'].flatMap((op) => [
    `${RESERVED_PARAMETER_PREFIX}${op}-secret-name`,
    `${RESERVED_PARAMETER_PREFIX}${op}-secret-namespace`,
  ]),
]);

/** What templates may refer to. Without `pvc` (deletion), only ${pv.name} resolves. */
export interface SecretTemplateContext {
  pvName: string;
  pvc?: { name: string; namespace: string; annotations: Record<string, string> };
}

/**
 * The secret `operation` should use, or undefined when the class names none.
 * Throws a PlanError for half-given pairs, unknown template tokens and invalid names.
 */
export function secretReference(
  operation: SecretOperation,
  parameters: Record<string, string>,
  context: SecretTemplateContext,
): SecretReference | undefined {
  const nameKey = `${RESERVED_PARAMETER_PREFIX}${operation}-secret-name`;
  const namespaceKey = `${RESERVED_PARAMETER_PREFIX}${operation}-secret-namespace`;
  let nameTemplate = parameters[nameKey];
  let namespaceTemplate = parameters[namespaceKey];
  if (nameTemplate === undefined && namespaceTemplate === undefined) {
    // The class-wide default pair applies to every operation that names none of its own.
    nameTemplate = parameters[`${RESERVED_PARAMETER_PREFIX}secret-name`];
    namespaceTemplate = parameters[`${RESERVED_PARAMETER_PREFIX}secret-namespace`];
  }
  if (nameTemplate === undefined && namespaceTemplate === undefined) return undefined;
  if (nameTemplate === undefined || namespaceTemplate === undefined) {
    throw new PlanError(
      `either name and namespace for ${operation} secrets specified, Both must be specified`,
    );
  }
  const namespace = expand(namespaceTemplate, namespaceTokens(context), operation);
  const name = expand(nameTemplate, nameTokens(context), operation);
  const namespaceProblems = dns1123LabelErrors(namespace);
  if (namespaceProblems.length > 0) {
    throw new PlanError(
      `${operation} secret namespace "${namespace}" is invalid: ${namespaceProblems.join('; ')}`,
    );
  }
  const nameProblems = dns1123SubdomainErrors(name);
  if (nameProblems.length > 0) {
    throw new PlanError(`${operation} secret name "${name}" is invalid: ${nameProblems.join('; ')}`);
  }
  return { name, namespace };
}

function namespaceTokens(context: SecretTemplateContext): Map<string, string> {
  const tokens = new Map([['pv.name', context.pvName]]);
  if (context.pvc) tokens.set('pvc.namespace', context.pvc.namespace);
  return tokens;
}

function nameTokens(context: SecretTemplateContext): Map<string, string> {
  const tokens = namespaceTokens(context);
  if (context.pvc) {
    tokens.set('pvc.name', context.pvc.name);
    for (const [key, value] of Object.entries(context.pvc.annotations)) {
      tokens.set(`pvc.annotations['${key}']`, value);
    }
  }
  return tokens;
}

/** Replaces every ${token}; any token not offered makes the whole template invalid. */
function expand(template: string, tokens: ReadonlyMap<string, string>, operation: string): string {
  const invalid: string[] = [];
  const result = template.replace(/\$\{([^}]*)\}/g, (_match, token: string) => {
    const value = tokens.get(token);
    if (value === undefined) {
      invalid.push(token);
      return '';
    }
    return value;
  });
  if (invalid.length > 0) {
    throw new PlanError(
      `error resolving value "${template}" of the ${operation} secret: invalid tokens: [${invalid.map((t) => `"${t}"`).join(' ')}]`,
    );
  }
  return result;
}

/** Secret.data is base64; stringData (when a store keeps it as written) wins, as the API server merges it. */
export function secretContents(secret: {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    out[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  for (const [key, value] of Object.entries(secret.stringData ?? {})) out[key] = value;
  return out;
}

/** What reading one Secret needs: an ObjectStore has it (volume sits beside store, not above it). */
export interface ObjectGetter {
  get<T extends KubeObject = KubeObject>(
    kind: KindInfo,
    namespace: string | undefined,
    name: string,
  ): Promise<T>;
}

/** The contents of the Secret a reference names ({} for no reference); a missing Secret is an error. */
export async function readSecretReference(
  store: ObjectGetter,
  ref: SecretReference | undefined,
  fallbackNamespace = 'default',
): Promise<Record<string, string>> {
  if (!ref?.name) return {};
  const namespace = ref.namespace ?? fallbackNamespace;
  try {
    return secretContents(await store.get<Secret>(K.secret, namespace, ref.name));
  } catch (err) {
    throw new Error(`failed to get secret ${namespace}/${ref.name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
