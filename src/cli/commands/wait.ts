// `berth wait --for=delete|create|condition=X|jsonpath='{...}'=V KIND/NAME... [--timeout=30s]`.
import { isStatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import type { RestClient } from '../../client/rest.js';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext, ObjectRef } from '../context.js';
import { connect, namespaceOf, objectRefs } from '../context.js';
import { parseDuration } from '../duration-flag.js';
import { formatError } from '../errors.js';
import { objectName, pluralName } from '../format/output.js';
import { UsageError } from '../io.js';
import { pollUntil } from '../polling.js';
import { startProgress } from '../progress.js';
import { isConditionMet, parseWaitFor } from '../wait-condition.js';
import type { WaitCondition } from '../wait-condition.js';

const options = {
  ...clientOptions,
  for: { type: 'string' },
  timeout: { type: 'string' },
} as const;

const DEFAULT_TIMEOUT_MS = 30_000;

async function fetchOrAbsent(
  client: RestClient,
  ref: ObjectRef,
  namespace: string | undefined,
): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref.kind, namespace, ref.name);
  } catch (err) {
    if (isStatusError(err, 'NotFound')) return undefined;
    throw err;
  }
}

function describeCondition(condition: WaitCondition): string {
  switch (condition.kind) {
    case 'delete':
      return 'deletion';
    case 'create':
      return 'creation';
    case 'condition':
      return `condition ${condition.type}=${condition.status}`;
    case 'jsonpath':
      return `${condition.expression}${condition.value === undefined ? '' : `=${condition.value}`}`;
  }
}

export async function runWait(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('wait', argv, options);
  if (values.for === undefined)
    throw new UsageError('wait: --for is required, e.g. --for=condition=Ready or --for=delete');
  const condition = parseWaitFor(values.for);
  const timeoutMs =
    values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration('--timeout', values.timeout);
  const refs = objectRefs(positionals, 'wait');
  const client = await connect(ctx, values);
  const defaultNamespace = namespaceOf(values.namespace, client);
  const deadline = Date.now() + timeoutMs;
  for (const ref of refs) {
    const namespace = ref.kind.namespaced ? defaultNamespace : undefined;
    const needsObject = condition.kind === 'condition' || condition.kind === 'jsonpath';
    if (needsObject) {
      // Like kubectl: a condition on an object that does not exist fails at once.
      try {
        await client.get(ref.kind, namespace, ref.name);
      } catch (err) {
        if (!isStatusError(err, 'NotFound')) throw err;
        ctx.io.stderr.write(`${formatError(err)}\n`);
        return 1;
      }
    }
    const progress = startProgress(
      ctx.io,
      ctx.env,
      `waiting for ${objectName(ref.kind, ref.name)}: ${describeCondition(condition)}`,
    );
    let outcome;
    try {
      outcome = await pollUntil(
        async () => isConditionMet(condition, await fetchOrAbsent(client, ref, namespace)),
        {
          timeoutMs: Math.max(0, deadline - Date.now()),
          ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
        },
      );
    } finally {
      progress.stop();
    }
    if (outcome === 'timeout') {
      ctx.io.stderr.write(
        `error: timed out waiting for the condition on ${pluralName(ref.kind, ref.name)}\n`,
      );
      return 1;
    }
    if (outcome === 'aborted') return 1;
    ctx.io.stdout.write(`${objectName(ref.kind, ref.name)} condition met\n`);
  }
  return 0;
}
