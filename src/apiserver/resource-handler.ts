// The verbs on one resource: get, list, create, update, patch (merge, JSON, strategic, apply),
// delete. Every write goes through admission (creates) and prepareCreate/prepareUpdate.
import { parse as parseYaml } from 'yaml';
import { badRequest, isStatusError, StatusError } from '../api/errors.js';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { prepareCreate, prepareUpdate } from '../api/validate.js';
import { applyMergePatch, deepEqual } from '../store/merge-patch.js';
import type { ListOptions, ObjectStore } from '../store/types.js';
import { admitCreate, admitUpdate } from './admission.js';
import { methodNotAllowed, parseBody, unsupportedMediaType } from './http-io.js';
import { applyJsonPatch, PatchApplyError } from './json-patch.js';
import type { ResourceTarget } from './routes.js';
import { applyStrategicMergePatch, stripDirectives } from './strategic-merge.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';

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
}

export interface ResourceResponse {
  status: number;
  body: unknown;
}

const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
/** How often a patch is re-applied after losing a compare-and-swap race. */
const patchRetries = 5;
const serverOwnedMetadata = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
  'selfLink',
] as const;

type Json = Record<string, unknown>;

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function handleResource(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
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
  if (fieldSelector) options.fieldSelector = fieldSelector;
  return options;
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

function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}

async function createObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name !== undefined || (target.kind.namespaced && target.namespace === undefined)) {
    throw methodNotAllowed();
  }
  const obj = objectFromBody(target, parseBody(req.body, req.contentType));
  return createAdmitted(ctx, target.kind, obj, isDryRun(req.query));
}

async function createAdmitted(
  ctx: ResourceContext,
  kind: KindInfo,
  obj: KubeObject,
  dryRun: boolean,
): Promise<ResourceResponse> {
  for (const field of serverOwnedMetadata) delete obj.metadata[field];
  const prepared = prepareCreate(await admitCreate(ctx.store, kind, obj));
  if (dryRun) return { status: 201, body: prepared };
  return { status: 201, body: await ctx.store.create(kind, prepared) };
}

async function replaceObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name === undefined) throw methodNotAllowed();
  const obj = objectFromBody(target, parseBody(req.body, req.contentType));
  checkNameMatches(obj, target.name);
  const old = await ctx.store.get(target.kind, target.namespace, target.name);
  return { status: 200, body: await writeUpdate(ctx, target, obj, old, isDryRun(req.query)) };
}

/** What an update may change: status only through /status, everything but status otherwise. */
function updateCandidate(target: ResourceTarget, obj: KubeObject, old: KubeObject): KubeObject {
  let candidate: KubeObject;
  if (target.subresource === 'status') {
    candidate = { ...structuredClone(old), metadata: { ...structuredClone(old.metadata) } };
    if (obj['status'] === undefined) delete candidate['status'];
    else candidate['status'] = obj['status'];
    if (obj.metadata.resourceVersion === undefined) delete candidate.metadata.resourceVersion;
    else candidate.metadata.resourceVersion = obj.metadata.resourceVersion;
  } else {
    candidate = { ...obj };
    if (target.kind.hasStatus) {
      if (old['status'] === undefined) delete candidate['status'];
      else candidate['status'] = structuredClone(old['status']);
    }
  }
  // identity and lifecycle fields belong to the server
  const keep = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;
  const metadata: Record<string, unknown> = candidate.metadata;
  for (const field of keep) {
    if (old.metadata[field] === undefined) delete metadata[field];
    else metadata[field] = old.metadata[field];
  }
  return candidate;
}

function withoutResourceVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

async function writeUpdate(
  ctx: ResourceContext,
  target: ResourceTarget,
  obj: KubeObject,
  old: KubeObject,
  dryRun: boolean,
): Promise<KubeObject> {
  const prepared = prepareUpdate(updateCandidate(target, obj, old), old);
  if (target.subresource === undefined) await admitUpdate(ctx.store, prepared, old);
  const rv = prepared.metadata.resourceVersion;
  // a write that changes nothing is not a write: no new resourceVersion, no watch event
  const sameVersion = rv === undefined || rv === old.metadata.resourceVersion;
  if (sameVersion && deepEqual(withoutResourceVersion(prepared), withoutResourceVersion(old))) return old;
  if (dryRun) return prepared;
  const options = target.subresource === 'status' ? { subresource: 'status' as const } : undefined;
  return ctx.store.update(target.kind, prepared, options);
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
  const patch = parseBody(req.body, 'application/json');
  for (let attempt = 0; ; attempt++) {
    const old = await ctx.store.get(target.kind, target.namespace, target.name);
    const patched = applyPatchDocument(req.contentType, old, patch);
    const obj = objectFromBody(target, patched);
    checkNameMatches(obj, target.name);
    const userPrecondition = obj.metadata.resourceVersion !== old.metadata.resourceVersion;
    try {
      return { status: 200, body: await writeUpdate(ctx, target, obj, old, isDryRun(req.query)) };
    } catch (err) {
      if (userPrecondition || attempt >= patchRetries || !isStatusError(err, 'Conflict')) throw err;
    }
  }
}

/**
 * Server-side apply, simplified: the applied configuration is created when the object is
 * missing, and otherwise merged into the live object (maps by key, keyed lists by their merge
 * key, other lists replaced). Field ownership is not tracked, so there are no apply conflicts.
 */
async function applyObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.name === undefined) throw methodNotAllowed();
  if (!req.query.get('fieldManager')) {
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
  let raw: unknown;
  try {
    raw = parseYaml(req.body.toString('utf8'));
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  const applied = objectFromBody(target, stripDirectives(raw));
  applied.metadata.name ??= target.name;
  checkNameMatches(applied, target.name);
  const dryRun = isDryRun(req.query);
  for (let attempt = 0; ; attempt++) {
    let old: KubeObject;
    try {
      old = await ctx.store.get(target.kind, target.namespace, target.name);
    } catch (err) {
      if (!isStatusError(err, 'NotFound') || target.subresource) throw err;
      try {
        return await createAdmitted(ctx, target.kind, structuredClone(applied), dryRun);
      } catch (createErr) {
        // created concurrently: apply to what is there now
        if (isStatusError(createErr, 'AlreadyExists') && attempt < patchRetries) continue;
        throw createErr;
      }
    }
    const merged = applyStrategicMergePatch(old, applied) as KubeObject;
    const userPrecondition = merged.metadata.resourceVersion !== old.metadata.resourceVersion;
    try {
      return { status: 200, body: await writeUpdate(ctx, target, merged, old, dryRun) };
    } catch (err) {
      if (userPrecondition || attempt >= patchRetries || !isStatusError(err, 'Conflict')) throw err;
    }
  }
}

interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

function deletePreconditions(body: Buffer, contentType: string): Preconditions {
  if (body.toString('utf8').trim() === '') return {};
  const options = parseBody(body, contentType || 'application/json');
  const pre = isMap(options) && isMap(options['preconditions']) ? options['preconditions'] : {};
  const out: Preconditions = {};
  if (typeof pre['uid'] === 'string') out.uid = pre['uid'];
  if (typeof pre['resourceVersion'] === 'string') out.resourceVersion = pre['resourceVersion'];
  return out;
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

async function deleteObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { kind, namespace, name = '', subresource } = req.target;
  if (subresource) throw methodNotAllowed();
  const preconditions = deletePreconditions(req.body, req.contentType);
  if (isDryRun(req.query)) return { status: 200, body: await ctx.store.get(kind, namespace, name) };
  const last = await ctx.store.delete(kind, namespace, name, preconditions);
  // finalizers keep the object, now marked for deletion: Kubernetes answers with the object
  if ((last.metadata.finalizers ?? []).length > 0) return { status: 200, body: last };
  return { status: 200, body: successStatus(kind, last) };
}

async function deleteCollection(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { target } = req;
  if (target.subresource) throw methodNotAllowed();
  const { items } = await ctx.store.list(target.kind, listOptions(target, req.query));
  const deleted: KubeObject[] = [];
  for (const item of items) {
    try {
      deleted.push(await ctx.store.delete(target.kind, item.metadata.namespace, item.metadata.name ?? ''));
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
