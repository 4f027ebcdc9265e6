// `berth apply -f` and `berth create -f`: write every manifest, one line per object.
import { isStatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import type { RestClient } from '../../client/rest.js';
import { objectToCreate, planApply } from '../apply-plan.js';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { connect, namespaceOf } from '../context.js';
import { formatError } from '../errors.js';
import { objectName } from '../format/output.js';
import { manifestNamespace, readManifests } from '../manifest-files.js';
import type { SourcedManifest } from '../manifest-files.js';

const options = {
  ...clientOptions,
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
} as const;

type Outcome = 'created' | 'configured' | 'unchanged';

async function applyOne(client: RestClient, m: SourcedManifest, object: KubeObject): Promise<Outcome> {
  const { namespace, name } = object.metadata;
  let live: KubeObject;
  try {
    live = await client.get(m.kind, namespace, name ?? '');
  } catch (err) {
    if (!isStatusError(err, 'NotFound')) throw err;
    await client.create(m.kind, objectToCreate(object));
    return 'created';
  }
  const patch = planApply(object, live);
  if (!patch) return 'unchanged';
  await client.patch(m.kind, namespace, name ?? '', patch, { type: 'merge' });
  return 'configured';
}

async function writeAll(ctx: CommandContext, argv: string[], mode: 'apply' | 'create'): Promise<number> {
  const { values } = parseCommand(mode, argv, options);
  const manifests = await readManifests(ctx, values.filename ?? [], values.recursive ?? false);
  const client = await connect(ctx, values);
  const fallbackNamespace = namespaceOf(values.namespace, client);
  let failed = false;
  for (const m of manifests) {
    const namespace = manifestNamespace(m, values.namespace, fallbackNamespace);
    // Cluster-scoped objects carry no namespace, whatever the manifest says (as kubectl does).
    const { namespace: _ignored, ...metadata } = m.object.metadata;
    const object: KubeObject = {
      ...m.object,
      metadata: { ...metadata, ...(namespace ? { namespace } : {}) },
    };
    const label = objectName(m.kind, object.metadata.name ?? object.metadata.generateName ?? '');
    try {
      if (mode === 'create') {
        const created = await client.create(m.kind, object);
        ctx.io.stdout.write(`${objectName(m.kind, created.metadata.name ?? '')} created\n`);
      } else {
        ctx.io.stdout.write(`${label} ${await applyOne(client, m, object)}\n`);
      }
    } catch (err) {
      failed = true;
      const verb = mode === 'create' ? 'creating' : 'applying';
      ctx.io.stderr.write(`${formatError(err, `error when ${verb} "${m.source}"`)}\n`);
      // Without an answer from the server (unreachable, ...) the rest would fail the same way.
      if (!isStatusError(err)) return 1;
    }
  }
  return failed ? 1 : 0;
}

export function runApply(ctx: CommandContext, argv: string[]): Promise<number> {
  return writeAll(ctx, argv, 'apply');
}

export function runCreate(ctx: CommandContext, argv: string[]): Promise<number> {
  return writeAll(ctx, argv, 'create');
}
