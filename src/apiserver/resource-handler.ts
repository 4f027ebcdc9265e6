// The verbs on one resource: get, list, create, update, patch (merge, JSON, strategic, apply),
// delete, deletecollection, and pods/binding. Request options (dryRun, fieldValidation,
// DeleteOptions) are read here; every write then goes through the door in writes.ts.
import { isStatusError, notFound } from '../api/errors.js';
import { fieldError, invalidError } from '../api/field-errors.js';
import { apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KubeObject } from '../api/meta.js';
import { dns1123LabelErrors } from '../api/names.js';
import { nameErrorsFor } from '../api/validate.js';
import { deleteAdmitted, readDeleteOptions, type DeleteRequest } from './deletes.js';
import { methodNotAllowed, parseBody } from './http-io.js';
import { listBody, listItems, pagesWhenAsked } from './list-pages.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';
import { createAdmitted, updateAdmitted, type WriteRequestOptions } from './writes.js';

import { applyObject, patchObject } from './resource-patch.js';
import {
  bodyOf,
  checkNameMatches,
  isMap,
  listOptions,
  objectFromBody,
  pagingOptions,
  respond,
  tracked,
  writeOptions,
  type Json,
  type ResourceContext,
  type ResourceRequest,
  type ResourceResponse,
} from './resource-request.js';

export type { ResourceContext, ResourceRequest, ResourceResponse } from './resource-request.js';

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

async function getObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { kind, namespace, name = '' } = req.target;
  const obj = await ctx.store.get(kind, namespace, name);
  if (wantsTable(req.accept)) {
    const include = parseIncludeObject(req.query.get('includeObject'));
    return { status: 200, body: toTable(kind.kind, [obj], { now: ctx.now(), include }) };
  }
  return { status: 200, body: obj };
}

async function listObjects(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
  const { kind } = req.target;
  const options = { ...listOptions(req.target, req.query), ...pagingOptions(req.query) };
  if (wantsTable(req.accept)) {
    // the items are only read: no copy of each
    const result = await ctx.store.list(kind, { ...options, readOnly: true });
    const include = parseIncludeObject(req.query.get('includeObject'));
    const table = toTable(kind.kind, result.items, { now: ctx.now(), include });
    return { status: 200, body: { ...table, metadata: listBody(kind, result).metadata } };
  }
  const { body, encoded } = await (ctx.listPages ?? pagesWhenAsked).list(ctx.store, kind, options);
  return { status: 200, body, encoded };
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
  const known = await updateKnownVersion(ctx, req, obj, options);
  if (known) return known;
  const old = await ctx.store.get(target.kind, target.namespace, target.name);
  return respond(200, await updateFrom(ctx, req, obj, old, options), options);
}

/** The update of the request's object from `old`, through the one door for writes. */
function updateFrom(
  ctx: ResourceContext,
  req: ResourceRequest,
  obj: KubeObject,
  old: KubeObject,
  options: WriteRequestOptions,
): Promise<KubeObject> {
  const { kind, subresource } = req.target;
  return updateAdmitted(ctx, kind, subresource, obj, old, tracked(ctx, req, old, options));
}

/**
 * An update naming a resourceVersion the store has at hand (a controller's compare-and-swap of
 * the version it was told of) starts from that copy instead of reading the object: the store's
 * compare-and-swap writes only if it is still the current version. Only a successful write is
 * answered from the copy; a refusal, a conflict or "nothing changed" may be the copy's fault
 * (Kubernetes answers 409 to a stale version first), so the caller then reads and decides again.
 */
async function updateKnownVersion(
  ctx: ResourceContext,
  req: ResourceRequest,
  obj: KubeObject,
  options: WriteRequestOptions,
): Promise<ResourceResponse | undefined> {
  const { target } = req;
  const rv = obj.metadata.resourceVersion;
  if (!rv || !ctx.store.knownVersion || options.dryRun) return undefined;
  const old = ctx.store.knownVersion(target.kind, target.namespace, target.name ?? '', rv);
  if (!old) return undefined;
  const attempt = { ...options, warnings: [...(options.warnings ?? [])] };
  try {
    const written = await updateFrom(ctx, req, obj, old, attempt);
    return written === old ? undefined : respond(200, written, attempt);
  } catch (err) {
    if (isStatusError(err) && err.code < 500) return undefined;
    throw err;
  }
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
    items: listItems(target.kind, deleted),
  };
  return { status: 200, body: list };
}
