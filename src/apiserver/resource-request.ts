// Reading one resource request: its options (dryRun, fieldValidation, paging, selectors), its
// body as an object of the target's kind, and ownership tracking of the fields a write changes.
import { withFields } from '../api/with-fields.js';
import type { FieldValidation } from '../api/decode.js';
import { badRequest, StatusError } from '../api/errors.js';
import { checkFieldSelector } from '../api/field-labels.js';
import { apiVersionOf } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { encodedJsonOf } from '../store/encoded-json.js';
import type { ListOptions, ObjectStore } from '../store/types.js';
import { jsonLine, parseBodyChecked } from './http-io.js';
import type { ListPages } from './list-pages.js';
import {
  checkOwnershipOptions,
  managedFieldsTime,
  updateManagedFields,
  updateManagerName,
  withManagedFields,
  type Writer,
} from './managed-fields.js';
import type { ResourceTarget } from './routes.js';
import { type WriteRequestOptions } from './writes.js';

export interface ResourceContext {
  store: ObjectStore;
  now: () => Date;
  /** Serialises the next page of paged lists ahead (absent: each page when asked). */
  listPages?: ListPages;
}

export interface ResourceRequest {
  method: string;
  target: ResourceTarget;
  query: URLSearchParams;
  /** Media type of the body, without parameters. */
  contentType: string;
  body: Buffer;
  accept: string | undefined;
  /** Names the manager of writes that give no fieldManager. */
  userAgent?: string | undefined;
}

export interface ResourceResponse {
  status: number;
  body: unknown;
  /** Sent as Warning headers (unknown or duplicate fields under fieldValidation=Warn). */
  warnings?: string[];
  /** The body already serialised as compact JSON, sent as is unless pretty output was asked for. */
  encoded?: Buffer;
}

const fieldValidations: readonly FieldValidation[] = ['Strict', 'Warn', 'Ignore'];

export type Json = Record<string, unknown>;

export function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function listOptions(target: ResourceTarget, query: URLSearchParams): ListOptions {
  const options: ListOptions = {};
  if (target.namespace !== undefined) options.namespace = target.namespace;
  const labelSelector = query.get('labelSelector');
  if (labelSelector) options.labelSelector = labelSelector;
  const fieldSelector = query.get('fieldSelector');
  if (fieldSelector) {
    checkFieldSelector(target.kind, fieldSelector);
    options.fieldSelector = fieldSelector;
  }
  return options;
}

export function writerOf(ctx: ResourceContext, req: ResourceRequest, manager: string): Writer {
  const writer: Writer = { manager, time: managedFieldsTime(ctx.now()) };
  if (req.target.subresource) writer.subresource = req.target.subresource;
  return writer;
}

/** `options` for a create, update or patch: the writer takes ownership of the fields it changed. */
export function tracked(
  ctx: ResourceContext,
  req: ResourceRequest,
  old: KubeObject | undefined,
  options: WriteRequestOptions,
): WriteRequestOptions {
  const optionsKind = { POST: 'CreateOptions', PUT: 'UpdateOptions' }[req.method] ?? 'PatchOptions';
  checkOwnershipOptions(optionsKind, req.query, false);
  const writer = writerOf(ctx, req, updateManagerName(req.query.get('fieldManager'), req.userAgent));
  const track = (prepared: KubeObject): KubeObject =>
    withManagedFields(prepared, updateManagedFields(req.target.kind, old, prepared, writer));
  return { ...options, track };
}

/** dryRun and fieldValidation of a write, 400 for values Kubernetes does not know. */
export function writeOptions(query: URLSearchParams): WriteRequestOptions {
  const dryRun = query.getAll('dryRun');
  for (const value of dryRun) {
    if (value !== 'All')
      throw badRequest(`Invalid dryRun value: ${JSON.stringify(value)}: supported values: "All"`);
  }
  const validation = query.get('fieldValidation') ?? 'Warn';
  if (!fieldValidations.includes(validation as FieldValidation)) {
    throw badRequest(
      `fieldValidation: Unsupported value: ${JSON.stringify(validation)}: supported values: "Ignore", "Strict", "Warn"`,
    );
  }
  return { dryRun: dryRun.length > 0, fieldValidation: validation as FieldValidation, warnings: [] };
}

/** The body, with duplicate fields refused (Strict) or reported (Warn). */
export function bodyOf(
  req: ResourceRequest,
  options: WriteRequestOptions,
  contentType = req.contentType,
): unknown {
  const { value, duplicates } = parseBodyChecked(req.body, contentType);
  if (duplicates.length > 0 && options.fieldValidation === 'Strict') {
    const { kind } = req.target.kind;
    throw new StatusError(
      400,
      'BadRequest',
      `${kind} in version "${apiVersionOf(req.target.kind)}" cannot be handled as a ${kind}: strict decoding error: ${duplicates.map((d) => `duplicate field "${d}"`).join(', ')}`,
      {
        kind,
        causes: duplicates.map((field) => ({
          reason: 'FieldValueDuplicate',
          message: `duplicate field "${field}"`,
          field,
        })),
      },
    );
  }
  if (options.fieldValidation === 'Warn') {
    for (const d of duplicates) options.warnings?.push(`duplicate field "${d}"`);
  }
  return value;
}

/** A write's answer; the text the store serialised the object to (if it did) is sent as is. */
export function respond(status: number, body: unknown, options: WriteRequestOptions): ResourceResponse {
  const response: ResourceResponse = { status, body };
  const warnings = options.warnings ?? [];
  if (warnings.length > 0) response.warnings = warnings;
  const json = encodedJsonOf(body);
  if (json !== undefined) response.encoded = jsonLine(json);
  return response;
}

/** `limit` and `continue` of a list request; a limit that is not a whole number is a 400. */
export function pagingOptions(query: URLSearchParams): Pick<ListOptions, 'limit' | 'continue'> {
  const options: Pick<ListOptions, 'limit' | 'continue'> = {};
  const limit = query.get('limit');
  if (limit) {
    if (!/^-?\d{1,15}$/.test(limit)) throw badRequest(`invalid limit "${limit}": must be an integer`);
    // as Kubernetes: zero or negative means no limit
    if (Number(limit) > 0) options.limit = Number(limit);
  }
  const token = query.get('continue');
  if (token) options.continue = token;
  return options;
}

/**
 * The body as an object of the target's kind: apiVersion/kind filled in when missing, the
 * namespace taken from the URL (a different one is a 400), no namespace for cluster-scoped kinds.
 */
export function objectFromBody(target: ResourceTarget, raw: unknown): KubeObject {
  const { kind } = target;
  if (!isMap(raw)) throw badRequest('the request body must be an object');
  // only the top level and metadata are changed here (decoding copies the rest later)
  const obj: Json = { ...raw };
  const apiVersion = apiVersionOf(kind);
  obj['apiVersion'] ??= apiVersion;
  obj['kind'] ??= kind.kind;
  if (obj['apiVersion'] !== apiVersion || obj['kind'] !== kind.kind) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind.kind} in ${apiVersion}): got ${String(obj['kind'])} in ${String(obj['apiVersion'])}`,
    );
  }
  if (obj['metadata'] === undefined || obj['metadata'] === null) obj['metadata'] = {};
  if (!isMap(obj['metadata'])) throw badRequest('metadata must be an object');
  const given: Json = obj['metadata'];
  let namespace = given['namespace'];
  if (kind.namespaced) {
    if (namespace === undefined || namespace === '') namespace = target.namespace;
    else if (target.namespace !== undefined && namespace !== target.namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
  } else {
    namespace = undefined;
  }
  obj['metadata'] = withFields(given, { namespace });
  return obj as KubeObject;
}

export function checkNameMatches(obj: KubeObject, name: string): void {
  if (obj.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
    );
  }
}
