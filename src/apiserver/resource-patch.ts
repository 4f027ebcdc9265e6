// PATCH on one resource: merge, JSON and strategic merge patches, and server-side apply. Each
// re-reads and re-applies after losing a compare-and-swap race, unless the patch itself set a
// resourceVersion precondition.
import { parse as parseYaml } from 'yaml';
import { badRequest, isStatusError, StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import { applyMergePatch } from '../store/merge-patch.js';
import { methodNotAllowed, unsupportedMediaType } from './http-io.js';
import { applyJsonPatch, PatchApplyError } from './json-patch.js';
import { applyManagedFields, checkOwnershipOptions, withManagedFields } from './managed-fields.js';
import { applyStrategicMergePatch, stripDirectives } from './strategic-merge.js';
import { createAdmitted, updateAdmitted } from './writes.js';
import {
  checkNameMatches,
  isMap,
  objectFromBody,
  respond,
  tracked,
  writeOptions,
  writerOf,
  bodyOf,
  type ResourceContext,
  type ResourceRequest,
  type ResourceResponse,
} from './resource-request.js';

const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
/** How often a patch is re-applied after losing a compare-and-swap race. */
const patchRetries = 5;

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

export async function patchObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
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
export async function applyObject(ctx: ResourceContext, req: ResourceRequest): Promise<ResourceResponse> {
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
