// Decoding: the structural step before validation. Like the API server's JSON decoder with strict
// field validation, a wrong type or an unknown field is a 400 BadRequest naming the field;
// a missing field is left for validation to report as "Required value".
import type { z } from 'zod';
import { StatusError, type StatusCause } from './errors.js';
import { kindFor, apiVersionOf, type KindInfo } from './kinds.js';
import type { KubeObject } from './meta.js';
import { companion, schemaByKind } from './schemas.js';

/** Go's name for the JSON type of a value, as in "cannot unmarshal string into ...". */
function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** JSON null means "absent" to the Kubernetes decoder: drop such keys everywhere. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out;
  }
  return value;
}

interface DecodeProblem {
  field: string;
  message: string;
  unknown: boolean;
}

function problemsOf(issues: readonly z.core.$ZodIssue[], raw: unknown, kindName: string): DecodeProblem[] {
  const problems: DecodeProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const field = formatPath([...issue.path, key]);
        problems.push({ field, message: `unknown field "${field}"`, unknown: true });
      }
    } else if (issue.code === 'invalid_union') {
      for (const branch of issue.errors) problems.push(...problemsOf(branch, raw, kindName).slice(0, 1));
    } else {
      const value = valueAt(raw, issue.path);
      if (value === undefined) continue; // missing: validation reports "Required value"
      const field = formatPath(issue.path);
      const expected = issue.code === 'invalid_type' ? issue.expected : 'a valid value';
      problems.push({
        field,
        message: `json: cannot unmarshal ${jsonTypeName(value)} into Go struct field ${kindName}.${field} of type ${expected}`,
        unknown: false,
      });
    }
  }
  return problems;
}

export function unknownKindError(apiVersion: string, kind: string): StatusError {
  return new StatusError(404, 'NotFound', `no matches for kind "${kind}" in version "${apiVersion}"`);
}

/** Finds the kind of a raw manifest object; 400 when apiVersion or kind is missing, 404 when unknown. */
export function kindOfRaw(raw: unknown): KindInfo {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new StatusError(400, 'BadRequest', 'Object is not a map: a manifest document must be a mapping');
  }
  const { apiVersion, kind } = raw as Record<string, unknown>;
  if (typeof kind !== 'string' || kind === '') {
    throw new StatusError(400, 'BadRequest', "Object 'Kind' is missing in the object", {
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'kind' }],
    });
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    throw new StatusError(400, 'BadRequest', `Object 'apiVersion' is missing in the ${kind} object`, {
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'apiVersion' }],
    });
  }
  const info = kindFor(apiVersion, kind);
  if (!info) throw unknownKindError(apiVersion, kind);
  return info;
}

/**
 * What the decoder does with fields the schema does not know (the `fieldValidation` query
 * parameter): Strict refuses them (400), Warn drops them and reports them, Ignore drops them.
 */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface Decoded {
  object: KubeObject;
  info: KindInfo;
  /** Paths of the unknown fields dropped (Warn and Ignore); empty under Strict. */
  unknownFields: string[];
}

function removeAt(obj: unknown, path: readonly PropertyKey[], key: string): void {
  const parent = valueAt(obj, path);
  if (parent !== null && typeof parent === 'object') delete (parent as Record<string, unknown>)[key];
}

/** Drops the keys zod reports as unrecognised; returns their paths. */
function dropUnknown(issues: readonly z.core.$ZodIssue[], obj: unknown): string[] {
  const dropped: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        removeAt(obj, issue.path, key);
        dropped.push(formatPath([...issue.path, key]));
      }
    } else if (issue.code === 'invalid_union') {
      for (const branch of issue.errors) dropped.push(...dropUnknown(branch, obj));
    }
  }
  return dropped;
}

/** Structural check of one object: returns it (nulls dropped) or throws 400 naming the fields. */
export function decodeObject(raw: unknown, fieldValidation: FieldValidation = 'Strict'): Decoded {
  const info = kindOfRaw(raw);
  const cleaned = dropNulls(raw) as Record<string, unknown>;
  if (cleaned['metadata'] === undefined) cleaned['metadata'] = {};
  const schema = info.modelled ? (schemaByKind[info.kind] ?? companion) : companion;
  let result = schema.safeParse(cleaned);
  const unknownFields: string[] = [];
  if (!result.success && fieldValidation !== 'Strict') {
    unknownFields.push(...dropUnknown(result.error.issues, cleaned));
    if (unknownFields.length > 0) result = schema.safeParse(cleaned);
  }
  if (!result.success) {
    const problems = problemsOf(result.error.issues, cleaned, info.kind);
    if (problems.length > 0) {
      const typeErrors = problems.filter((p) => !p.unknown);
      const unknown = problems.filter((p) => p.unknown);
      const detail =
        typeErrors.length > 0
          ? typeErrors.map((p) => p.message).join(', ')
          : `strict decoding error: ${unknown.map((p) => p.message).join(', ')}`;
      const causes: StatusCause[] = problems.map((p) => ({
        reason: p.unknown ? 'FieldValueUnknown' : 'FieldValueTypeInvalid',
        message: p.message,
        field: p.field,
      }));
      throw new StatusError(
        400,
        'BadRequest',
        `${info.kind} in version "${apiVersionOf(info)}" cannot be handled as a ${info.kind}: ${detail}`,
        { kind: info.kind, causes },
      );
    }
  }
  return { object: cleaned as KubeObject, info, unknownFields };
}
