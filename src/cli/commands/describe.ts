// `berth describe KIND [NAME...]`: kubectl-style details of objects with their Events.
import { isStatusError } from '../../api/errors.js';
import type { KindInfo } from '../../api/kinds.js';
import { kindFor } from '../../api/kinds.js';
import type { KubeObject } from '../../api/meta.js';
import type { RestClient } from '../../client/rest.js';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { connect, namespaceOf, requireKind } from '../context.js';
import { formatError } from '../errors.js';
import { describeObject } from '../format/describe.js';
import { UsageError } from '../io.js';

const options = { ...clientOptions, selector: { type: 'string', short: 'l' } } as const;

/** Kinds whose describe output needs the pods around them. */
const NEEDS_PODS = new Set(['PersistentVolumeClaim', 'StatefulSet']);

function involves(event: KubeObject, obj: KubeObject): boolean {
  const ref = event['involvedObject'] as
    { name?: string; namespace?: string; uid?: string; kind?: string } | undefined;
  if (!ref || ref.name !== obj.metadata.name) return false;
  if (ref.uid && obj.metadata.uid && ref.uid !== obj.metadata.uid) return false;
  if (ref.kind && ref.kind !== obj.kind) return false;
  return (ref.namespace ?? '') === (obj.metadata.namespace ?? '');
}

/**
 * The object's events. Asks the server with an involvedObject field selector; if the server
 * refuses that selector, lists the namespace's events and filters here.
 */
export async function eventsFor(client: RestClient, obj: KubeObject): Promise<KubeObject[]> {
  const eventKind = kindFor('v1', 'Event');
  if (!eventKind) return [];
  // Events about cluster-scoped objects live in some namespace ("default" for berth's recorder).
  const namespace = obj.metadata.namespace;
  const selector = [`involvedObject.name=${obj.metadata.name ?? ''}`];
  if (obj.metadata.uid) selector.push(`involvedObject.uid=${obj.metadata.uid}`);
  try {
    const list = await client.list(eventKind, {
      ...(namespace ? { namespace } : {}),
      fieldSelector: selector.join(','),
    });
    return list.items.filter((e) => involves(e, obj));
  } catch (err) {
    if (!isStatusError(err) || (err.code !== 400 && err.code !== 422)) throw err;
  }
  const list = await client.list(eventKind, namespace ? { namespace } : {});
  return list.items.filter((e) => involves(e, obj));
}

async function podsNear(client: RestClient, obj: KubeObject): Promise<KubeObject[]> {
  const podKind = kindFor('v1', 'Pod');
  if (!podKind || !NEEDS_PODS.has(obj.kind) || !obj.metadata.namespace) return [];
  try {
    return (await client.list(podKind, { namespace: obj.metadata.namespace })).items;
  } catch {
    // Pods are extra detail; describe still works without them.
    return [];
  }
}

async function describeOne(
  ctx: CommandContext,
  client: RestClient,
  kind: KindInfo,
  obj: KubeObject,
): Promise<string> {
  const typed: KubeObject = { ...obj, kind: obj.kind || kind.kind };
  const [events, pods] = await Promise.all([eventsFor(client, typed), podsNear(client, typed)]);
  return describeObject({ object: typed, events, pods, now: ctx.now() });
}

export async function runDescribe(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('describe', argv, options);
  const [first, ...rest] = positionals;
  if (first === undefined)
    throw new UsageError(
      'describe: you must specify the type of resource to describe, e.g. `berth describe pvc NAME`',
    );
  const slash = first.indexOf('/');
  const kind = requireKind(slash > 0 ? first.slice(0, slash) : first);
  const names = slash > 0 ? [first.slice(slash + 1), ...rest] : rest;
  const client = await connect(ctx, values);
  const namespace = kind.namespaced ? namespaceOf(values.namespace, client) : undefined;
  let objects: KubeObject[] = [];
  let failed = false;
  if (names.length === 0) {
    objects = (
      await client.list(kind, {
        ...(namespace ? { namespace } : {}),
        ...(values.selector ? { labelSelector: values.selector } : {}),
      })
    ).items;
    if (objects.length === 0) {
      ctx.io.stderr.write(
        namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n',
      );
      return 0;
    }
  } else {
    for (const name of names) {
      try {
        objects.push(await client.get(kind, namespace, name));
      } catch (err) {
        if (!isStatusError(err)) throw err;
        ctx.io.stderr.write(`${formatError(err)}\n`);
        failed = true;
      }
    }
  }
  const texts: string[] = [];
  for (const obj of objects) texts.push(await describeOne(ctx, client, kind, obj));
  if (texts.length > 0) ctx.io.stdout.write(texts.join('\n'));
  return failed ? 1 : 0;
}
