// Redacts every field marked [(csi_secret) = true] before a CSI message reaches a log.
// proto-loader drops custom field options, so the marked fields are read from the proto text itself
// (one source of truth), and nested messages are followed through proto-loader's type descriptors.
import { readFileSync } from 'node:fs';
import type { PackageDefinition } from '@grpc/proto-loader';
import { CSI_PACKAGE, CSI_PROTO_PATH, loadCsiDefinitions } from './load.js';

export const REDACTED = '<redacted>';

/** Fully qualified message name (e.g. `csi.v1.CreateVolumeRequest`) -> names of its secret fields. */
export type SecretFieldIndex = ReadonlyMap<string, ReadonlySet<string>>;

/** Pure: scans proto source for fields carrying the csi_secret option. */
export function findSecretFields(protoSource: string, pkg: string): SecretFieldIndex {
  const source = protoSource.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const scopes: { kind: string; name: string }[] = [];
  const index = new Map<string, Set<string>>();
  let statement = '';
  for (const ch of source) {
    if (ch !== '{' && ch !== '}' && ch !== ';') {
      statement += ch;
      continue;
    }
    const text = statement.trim();
    statement = '';
    if (ch === '{') {
      const [kind = '', name = ''] = text.split(/\s+/);
      scopes.push({ kind, name });
    } else if (ch === '}') {
      scopes.pop();
    } else if (/\(\s*csi_secret\s*\)\s*=\s*true/.test(text)) {
      const field = /(\w+)\s*=\s*\d+\s*\[/.exec(text)?.[1];
      const messages = scopes.filter((s) => s.kind === 'message').map((s) => s.name);
      if (field && messages.length > 0) {
        const fullName = [pkg, ...messages].join('.');
        const set = index.get(fullName) ?? new Set<string>();
        set.add(field);
        index.set(fullName, set);
      }
    }
  }
  return index;
}

interface FieldDescriptor {
  name: string;
  type: string;
  typeName: string;
  label: string;
}

/** Redacts secrets in decoded or outgoing CSI messages; never mutates its input. */
export class CsiSanitizer {
  private readonly secrets: SecretFieldIndex;
  private readonly definitions: PackageDefinition;

  constructor(secrets: SecretFieldIndex, definitions: PackageDefinition) {
    this.secrets = secrets;
    this.definitions = definitions;
  }

  /** `typeName` is fully qualified, e.g. `csi.v1.NodeStageVolumeRequest`. */
  sanitize(typeName: string, message: unknown): unknown {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
    const secretFields = this.secrets.get(typeName);
    const fields = this.fieldsOf(typeName);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(message as Record<string, unknown>)) {
      if (secretFields?.has(key)) {
        out[key] = isEmpty(value) ? value : REDACTED;
        continue;
      }
      const field = fields.get(key);
      const nested =
        field && field.type === 'TYPE_MESSAGE' ? this.resolve(typeName, field.typeName) : undefined;
      if (!nested) {
        out[key] = value;
      } else if (Array.isArray(value)) {
        out[key] = value.map((item) => this.sanitize(nested, item));
      } else {
        out[key] = this.sanitize(nested, value);
      }
    }
    return out;
  }

  private fieldsOf(typeName: string): Map<string, FieldDescriptor> {
    const def = this.definitions[typeName] as { type?: { field?: FieldDescriptor[] } } | undefined;
    return new Map((def?.type?.field ?? []).map((f) => [f.name, f]));
  }

  // Descriptor type names are relative; resolve them the way protobuf scoping does (innermost first).
  // Map entry types are not in the package definition, so maps resolve to nothing and are copied.
  private resolve(scope: string, relative: string): string | undefined {
    if (relative.startsWith('.')) return this.definitions[relative.slice(1)] ? relative.slice(1) : undefined;
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), relative].join('.');
      if (this.definitions[candidate]) return candidate;
    }
    return undefined;
  }
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

let defaultSanitizer: CsiSanitizer | undefined;

/** The sanitizer for proto/csi.proto, built once. */
export function csiSanitizer(): CsiSanitizer {
  if (!defaultSanitizer) {
    const secrets = findSecretFields(readFileSync(CSI_PROTO_PATH, 'utf8'), CSI_PACKAGE);
    defaultSanitizer = new CsiSanitizer(secrets, loadCsiDefinitions().packageDefinition);
  }
  return defaultSanitizer;
}

/** Convenience: redact a request or response of `Service.Method` given its message type name. */
export function sanitizeMessage(messageName: string, message: unknown): unknown {
  return csiSanitizer().sanitize(`${CSI_PACKAGE}.${messageName}`, message);
}
