// Field errors in the shape and wording of apimachinery's field.Error, and their aggregation into
// the API server's 422 Invalid status: `Kind "name" is invalid: [path: Message, ...]`.
import { StatusError } from './errors.js';

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueNotFound'
  | 'FieldValueTooLong'
  | 'FieldValueTypeInvalid';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** The part after the path: `Unsupported value: "x": supported values: ...`. */
  message: string;
}

/** Go's %v of a bad value, as field.Error prints it (strings are quoted with %q). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value) ?? 'null';
}

function withDetail(head: string, detail?: string): string {
  return detail ? `${head}: ${detail}` : head;
}

export const fieldError = {
  required: (field: string, detail?: string): FieldError => ({
    type: 'FieldValueRequired',
    field,
    message: withDetail('Required value', detail),
  }),
  invalid: (field: string, value: unknown, detail?: string): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    message: withDetail(`Invalid value: ${describeValue(value)}`, detail),
  }),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${describeValue(value)}: supported values: ${[...supported]
      .sort()
      .map((s) => JSON.stringify(s))
      .join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({
    type: 'FieldValueForbidden',
    field,
    message: `Forbidden: ${detail}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({
    type: 'FieldValueDuplicate',
    field,
    message: `Duplicate value: ${describeValue(value)}`,
  }),
  notFound: (field: string, value: unknown): FieldError => ({
    type: 'FieldValueNotFound',
    field,
    message: `Not found: ${describeValue(value)}`,
  }),
  tooLong: (field: string, max: number): FieldError => ({
    type: 'FieldValueTooLong',
    field,
    message: `Too long: must have at most ${max} bytes`,
  }),
};

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${e.message}`;
}

/** 422 Invalid, worded like the API server: one error inline, several in brackets. */
export function invalidError(
  kind: string,
  name: string,
  errors: readonly FieldError[],
  group = '',
): StatusError {
  const list = errors.map(formatFieldError);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

/** A child path builder: path('spec').child('accessModes').index(0) → "spec.accessModes[0]". */
export class FieldPath {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  child(name: string): FieldPath {
    return new FieldPath(this.value ? `${this.value}.${name}` : name);
  }
  index(i: number): FieldPath {
    return new FieldPath(`${this.value}[${i}]`);
  }
  key(k: string): FieldPath {
    return new FieldPath(`${this.value}[${k}]`);
  }
  toString(): string {
    return this.value;
  }
}

export const root = (name = ''): FieldPath => new FieldPath(name);
