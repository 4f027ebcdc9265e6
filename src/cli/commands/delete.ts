// `berth delete (-f FILE | KIND NAME... | KIND -l SEL | KIND --all) [--wait]`.
import { isStatusError } from '../../api/errors.js';
import type { KindInfo } from '../../api/kinds.js';
import type { RestClient } from '../../client/rest.js';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { connect, namespaceOf, objectRefs, requireKind } from '../context.js';
import { parseDuration } from '../duration-flag.js';
import { formatError } from '../errors.js';
import { kindLabel } from '../format/output.js';
import { UsageError } from '../io.js';
import { manifestNamespace, readManifests } from '../manifest-files.js';
import { pollUntil } from '../polling.js';
import { startProgress } from '../progress.js';

const options = {
  ...clientOptions,
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  selector: { type: 'string', short: 'l' },
  all: { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  'ignore-not-found': { type: 'boolean' },
} as const;

interface DeleteTarget {
  kind: KindInfo;
  namespace: string | undefined;
  name: string;
  /** The -f file it came from, for error messages. */
  source?: string;
}

async function targetsFrom(
  ctx: CommandContext,
  client: RestClient,
  values: ReturnType<typeof parseCommand<typeof options>>['values'],
  positionals: string[],
): Promise<DeleteTarget[]> {
  const namespace = namespaceOf(values.namespace, client);
  const files = values.filename ?? [];
  if (files.length > 0) {
    if (positionals.length > 0) throw new UsageError('delete: use either -f or KIND NAME, not both');
    const manifests = await readManifests(ctx, files, values.recursive ?? false);
    return manifests.map((m) => ({
      kind: m.kind,
      namespace: manifestNamespace(m, values.namespace, namespace),
      name: m.object.metadata.name ?? '',
      source: m.source,
    }));
  }
  if (
    (values.selector !== undefined || values.all) &&
    positionals.length === 1 &&
    !positionals[0]?.includes('/')
  ) {
    const kind = requireKind(positionals[0] ?? '');
    const ns = kind.namespaced ? namespace : undefined;
    const list = await client.list(kind, {
      ...(ns ? { namespace: ns } : {}),
      ...(values.selector ? { labelSelector: values.selector } : {}),
    });
    return list.items.map((item) => ({ kind, namespace: ns, name: item.metadata.name ?? '' }));
  }
  if (positionals.length === 0)
    throw new UsageError('delete: you must specify -f FILE, KIND NAME or KIND/NAME');
  return objectRefs(positionals, 'delete').map(({ kind, name }) => ({
    kind,
    namespace: kind.namespaced ? namespace : undefined,
    name,
  }));
}

async function isGone(client: RestClient, target: DeleteTarget): Promise<boolean> {
  try {
    await client.get(target.kind, target.namespace, target.name);
    return false;
  } catch (err) {
    if (isStatusError(err, 'NotFound')) return true;
    throw err;
  }
}

export async function runDelete(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('delete', argv, options);
  const timeoutMs = values.timeout === undefined ? Infinity : parseDuration('--timeout', values.timeout);
  const client = await connect(ctx, values);
  const targets = await targetsFrom(ctx, client, values, positionals);
  if (targets.length === 0 && !values.filename) {
    ctx.io.stderr.write('No resources found\n');
    return 0;
  }
  let failed = false;
  const deleted: DeleteTarget[] = [];
  for (const target of targets) {
    const label = `${kindLabel(target.kind)} "${target.name}"`;
    try {
      await client.delete(target.kind, target.namespace, target.name);
      ctx.io.stdout.write(`${label} deleted\n`);
      deleted.push(target);
    } catch (err) {
      if (isStatusError(err, 'NotFound') && values['ignore-not-found']) continue;
      failed = true;
      const context = target.source ? `error when deleting "${target.source}"` : undefined;
      ctx.io.stderr.write(`${formatError(err, context)}\n`);
      if (!isStatusError(err)) return 1;
    }
  }
  if (!values.wait) return failed ? 1 : 0;
  for (const target of deleted) {
    const label = `${kindLabel(target.kind)} "${target.name}"`;
    const progress = startProgress(ctx.io, ctx.env, `waiting for ${label} to be deleted`);
    let outcome;
    try {
      outcome = await pollUntil(() => isGone(client, target), {
        timeoutMs,
        ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
      });
    } finally {
      progress.stop();
    }
    if (outcome === 'timeout') {
      ctx.io.stderr.write(`error: timed out waiting for ${label} to be deleted\n`);
      return 1;
    }
    if (outcome === 'aborted') return 1;
  }
  return failed ? 1 : 0;
}
