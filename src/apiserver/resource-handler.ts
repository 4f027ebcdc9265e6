// The verbs on one resource: get, list, create, update, patch (merge, JSON, strategic, apply),
// delete, deletecollection, and pods/binding. Request options (dryRun, fieldValidation,
// DeleteOptions) are read here; every write then goes through the door in writes.ts.
import { parse as parseYaml } from 'yaml';
import type { FieldValidation } from '../api/decode.js';
import { badRequest, isStatusError, notFound, StatusError } from '../api/errors.js';
import { fieldError, invalidError } from '../api/field-errors.js';
import { checkFieldSelector } from '../api/field-labels.js';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { dns1123LabelErrors } from '../api/names.js';
import { nameErrorsFor } from '../api/validate.js';
import { applyMergePatch } from '../store/merge-patch.js';
import type { ListOptions, ObjectStore } from '../store/types.js';
import { deleteAdmitted, readDeleteOptions, type DeleteRequest } from './deletes.js';
import { methodNotAllowed, parseBody, parseBodyChecked, unsupportedMediaType } from './http-io.js';
import { applyJsonPatch, PatchApplyError } from './json-patch.js';
import {
  applyManagedFields,
  checkOwnershipOptions,
  managedFieldsTime,
  updateManagedFields,
  updateManagerName,
  withManagedFields,
  type Writer,
} from './managed-fields.js';
import type { ResourceTarget } from './routes.js';
import { applyStrategicMergePatch, stripDirectives } from './strategic-merge.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';
import { createAdmitted, updateAdmitted, type WriteRequestOptions } from './writes.js';

export interface ResourceContext {
  store: ObjectStore;
  now: () => Date;
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
}

const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
/** How often a patch is re-applied after losing a compare-and-swap race. */
const patchRetries = 5;
const fieldValidations: readonly FieldValidation[] = ['Strict', 'Warn', 'Ignore'];

type Json = Record<string, unknown>;

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Names in the path are checked before the store is asked: a name the kind cannot have names
 * nothing (404), whatever it would have matched after normalisation.
 */
function checkPathNames(req: ResourceRequest): void {
  const { kind, namespace, name } = req.target;
  const listing = req.method === 'GET' && name === undefined;
  if (namespace !== undefined && !listing && dns1123LabelErrors(namespace).length > 0) {
    throw notFound('namespaces', namespace);
  }
  if (name !== undefined && nameErrorsFor(kind, name).length > 0)
    throw notFound(kind.plural, name, kind.group);
}

export async function handleResource(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  checkPathNames(req);
  if (target.subresource === 'binding') {
    if (req.method !== 'POST') throw methodNotAllowed();
    return bindPod(ctx, req);
  }
  switch (req.method) {
    case 'GET':
      return target.name === undefined ? listObjects(ctx, req) : getObject(ctx, req);
    case 'POST':
      return createObject(ctx, req);
    case 'PUT':
      return replaceObject(ctx, req);
    case 'PATCH':
      return req.contentType === 'application/apply-patch+yaml'
        ? applyObject(ctx, req)
        : patchObject(ctx, req);
    case 'DELETE':
      return target.name === undefined ? deleteCollection(ctx, req) : deleteObject(ctx, req);
    default:
      throw methodNotAllowed();
  }
}

function listOptions(target: ResourceTarget, query: URLSearchParams): ListOptions {
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

function writerOf(ctx: ResourceContext, req: ResourceRequest, manager: string): Writer {
  const writer: Writer = { manager, time: managedFieldsTime(ctx.now()) };
  if (req.target.subresource) writer.subresource = req.target.subresource;
  return writer;
}

/** `options` for a create, update or patch: the writer takes ownership of the fields it changed. */
function tracked(
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
function writeOptions(query: URLSearchParams): WriteRequestOptions {
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
function bodyOf(req: ResourceRequest, options: WriteRequestOptions, contentType = req.contentType): unknown {
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

function respond(status: number, body: unknown, options: WriteRequestOptions): ResourceResponse {
  const warnings = options.warnings ?? [];
  return warnings.length > 0 ? { status, body, warnings } : { status, body };
}

async function getObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { kind, namespace, name = '' } = req.target;
  const obj = await ctx.store.get(kind, namespace, name);
  if (wantsTable(req.accept)) {
    const include = parseIncludeObject(req.query.get('includeObject'));
    return { status: 200, body: toTable(kind.kind, [obj], { now: ctx.now(), include }) };
  }
  return { status: 200, body: obj };
}

/** `limit` and `continue` of a list request; a limit that is not a whole number is a 400. */
function pagingOptions(query: URLSearchParams): Pick<ListOptions, 'limit' | 'continue'> {
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

async function listObjects(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { kind } = req.target;
  const result = await ctx.store.list(kind, {
    ...listOptions(req.target, req.query),
    ...pagingOptions(req.query),
  });
  const metadata = {
    resourceVersion: result.resourceVersion,
    ...(result.continue ? { continue: result.continue } : {}),
  };
  if (wantsTable(req.accept)) {
    const include = parseIncludeObject(req.query.get('includeObject'));
    const table = toTable(kind.kind, result.items, { now: ctx.now(), include });
    return { status: 200, body: { ...table, metadata } };
  }
  return {
    status: 200,
    body: { kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata, items: result.items },
  };
}

/**
 * The body as an object of the target's kind: apiVersion/kind filled in when missing, the
 * namespace taken from the URL (a different one is a 400), no namespace for cluster-scoped kinds.
 */
function objectFromBody(target: ResourceTarget, raw: unknown): KubeObject {
  const { kind } = target;
  if (!isMap(raw)) throw badRequest('the request body must be an object');
  const obj = structuredClone(raw);
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
  const metadata = obj['metadata'];
  if (kind.namespaced) {
    if (metadata['namespace'] === undefined || metadata['namespace'] === '')
      metadata['namespace'] = target.namespace;
    else if (target.namespace !== undefined && metadata['namespace'] !== target.namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
  } else {
    delete metadata['namespace'];
  }
  return obj as KubeObject;
}

function checkNameMatches(obj: KubeObject, name: string): void {
  if (obj.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
    );
  }
}

async function createObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name !== undefined || (target.kind.namespaced && target.namespace === undefined)) {
    throw methodNotAllowed();
  }
  const options = tracked(ctx, req, undefined, writeOptions(req.query));
  const obj = objectFromBody(target, bodyOf(req, options));
  return respond(201, await createAdmitted(ctx, target.kind, obj, options), options);
}

async function replaceObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name === undefined) throw methodNotAllowed();
  const options = writeOptions(req.query);
  const obj = objectFromBody(target, bodyOf(req, options));
  checkNameMatches(obj, target.name);
  const old = await ctx.store.get(target.kind, target.namespace, target.name);
  const written = await updateAdmitted(
    ctx,
    target.kind,
    target.subresource,
    obj,
    old,
    tracked(ctx, req, old, options),
  );
  return respond(200, written, options);
}

/** POST pods/<name>/binding: a Binding object whose target names the node. */
async function bindPod(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  const name = target.name ?? '';
  const options = writeOptions(req.query);
  const binding = bodyOf(req, options);
  const node = isMap(binding) && isMap(binding['target']) ? binding['target']['name'] : undefined;
  if (typeof node !== 'string' || node === '') {
    throw invalidError('Binding', name, [fieldError.required('target.name')]);
  }
  const old = await ctx.store.get(target.kind, target.namespace, name);
  const pod = { ...old, spec: { ...(old['spec'] as Json), nodeName: node } } as KubeObject;
  await updateAdmitted(ctx, target.kind, 'binding', pod, old, options);
  return respond(
    201,
    { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    options,
  );
}

function applyPatchDocument(contentType: string, old: KubeObject, patch: unknown): unknown {
  switch (contentType) {
    case 'application/merge-patch+json':
      if (!isMap(patch)) throw new PatchApplyError('a merge patch must be a JSON object');
      return applyMergePatch(old, patch);
    case 'application/json-patch+json':
      return applyJsonPatch(old, patch);
    case 'application/strategic-merge-patch+json':
      return applyStrategicMergePatch(old, patch);
    default:
      throw unsupportedMediaType(patchTypes);
  }
}

async function patchObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name === undefined) throw methodNotAllowed();
  if (!patchTypes.includes(req.contentType)) throw unsupportedMediaType(patchTypes);
  const options = writeOptions(req.query);
  const patch = bodyOf(req, options, 'application/json');
  for (let attempt = 0; ; attempt++) {
    const old = await ctx.store.get(target.kind, target.namespace, target.name);
    const patched = applyPatchDocument(req.contentType, old, patch);
    const obj = objectFromBody(target, patched);
    checkNameMatches(obj, target.name);
    const userPrecondition = obj.metadata.resourceVersion !== old.metadata.resourceVersion;
    try {
      const withOwnership = tracked(ctx, req, old, options);
      const written = await updateAdmitted(ctx, target.kind, target.subresource, obj, old, withOwnership);
      return respond(200, written, options);
    } catch (err) {
      if (userPrecondition || attempt >= patchRetries || !isStatusError(err, 'Conflict')) throw err;
    }
  }
}

/**
 * Server-side apply: the applied configuration is created when the object is missing, and
 * otherwise merged into the live object (maps by key, keyed lists by their merge key, other
 * lists replaced); managed-fields.ts records ownership, reports conflicts and removes fields the
 * manager no longer applies.
 */
async function applyObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name === undefined) throw methodNotAllowed();
  const manager = req.query.get('fieldManager');
  if (!manager) {
    throw new StatusError(
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      },
    );
  }
  const options = writeOptions(req.query);
  let raw: unknown;
  try {
    raw = parseYaml(req.body.toString('utf8'));
  } catch (err) {
    if (err instanceof RangeError) throw badRequest('error decoding YAML: exceeded max depth');
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  const applied = objectFromBody(target, stripDirectives(raw));
  applied.metadata.name ??= target.name;
  checkNameMatches(applied, target.name);
  if (applied.metadata['managedFields'] !== undefined) throw badRequest('metadata.managedFields must be nil');
  checkOwnershipOptions('PatchOptions', req.query, true);
  const force = req.query.get('force') === 'true';
  const writer = writerOf(ctx, req, manager);
  for (let attempt = 0; ; attempt++) {
    let old: KubeObject;
    try {
      old = await ctx.store.get(target.kind, target.namespace, target.name);
    } catch (err) {
      if (!isStatusError(err, 'NotFound') || target.subresource) throw err;
      try {
        const created = applyManagedFields(target.kind, undefined, applied, applied, writer, force);
        const track = (prepared: KubeObject): KubeObject =>
          withManagedFields(prepared, created.managedFields);
        return respond(
          201,
          await createAdmitted(ctx, target.kind, created.object, { ...options, track }),
          options,
        );
      } catch (createErr) {
        // created concurrently: apply to what is there now
        if (isStatusError(createErr, 'AlreadyExists') && attempt < patchRetries) continue;
        throw createErr;
      }
    }
    const merged = applyStrategicMergePatch(old, applied) as KubeObject;
    const userPrecondition = merged.metadata.resourceVersion !== old.metadata.resourceVersion;
    const result = applyManagedFields(target.kind, old, applied, merged, writer, force);
    const track = (prepared: KubeObject): KubeObject => withManagedFields(prepared, result.managedFields);
    try {
      const written = await updateAdmitted(ctx, target.kind, target.subresource, result.object, old, {
        ...options,
        track,
      });
      return respond(200, written, options);
    } catch (err) {
      if (userPrecondition || attempt >= patchRetries || !isStatusError(err, 'Conflict')) throw err;
    }
  }
}

function successStatus(kind: KindInfo, obj: KubeObject): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: obj.metadata.name, group: kind.group, kind: kind.plural, uid: obj.metadata.uid },
  };
}

function deleteRequest(req: ResourceRequest): DeleteRequest {
  const text = req.body.toString('utf8').trim();
  const body = text === '' ? undefined : parseBody(req.body, req.contentType || 'application/json');
  return readDeleteOptions(req.query, body);
}

async function deleteObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { kind, namespace, name = '', subresource } = req.target;
  if (subresource) throw methodNotAllowed();
  const outcome = await deleteAdmitted(ctx, kind, namespace, name, deleteRequest(req));
  // finalizers keep the object, now marked for deletion: Kubernetes answers with the object
  return { status: 200, body: outcome.removed ? successStatus(kind, outcome.object) : outcome.object };
}

async function deleteCollection(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.subresource) throw methodNotAllowed();
  const request = deleteRequest(req);
  const { items } = await ctx.store.list(target.kind, listOptions(target, req.query));
  const deleted: KubeObject[] = [];
  for (const item of items) {
    try {
      const outcome = await deleteAdmitted(
        ctx,
        target.kind,
        item.metadata.namespace,
        item.metadata.name ?? '',
        {
          ...request,
          // preconditions name one object, not a collection
          preconditions: item.metadata.uid ? { uid: item.metadata.uid } : {},
        },
      );
      deleted.push(outcome.object);
    } catch (err) {
      if (!isStatusError(err, 'NotFound')) throw err;
    }
  }
  const list = {
    kind: `${target.kind.kind}List`,
    apiVersion: apiVersionOf(target.kind),
    metadata: {},
    items: deleted,
  };
  return { status: 200, body: list };
}
