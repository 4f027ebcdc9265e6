// What every command gets: the IO, the environment, and the helpers that turn flags into a
// connected client and resolved kinds.
import { homedir } from 'node:os';
import type { KindInfo } from '../api/kinds.js';
import { resolveResource } from '../api/kinds.js';
import { RestClient } from '../client/rest.js';
import type { CliIo } from './io.js';
import { UsageError } from './io.js';
import { kubeconfigFiles } from './paths.js';

export interface CommandContext {
  io: CliIo;
  env: Record<string, string | undefined>;
  home: string;
  cwd: string;
  now(): Date;
}

export function contextFor(io: CliIo): CommandContext {
  return {
    io,
    env: io.env ?? process.env,
    home: homedir(),
    cwd: io.cwd ?? process.cwd(),
    now: () => new Date(),
  };
}

/** A client for --kubeconfig (else $KUBECONFIG's files merged, else berth's) and --context. */
export function connect(
  ctx: CommandContext,
  flags: { kubeconfig?: string | undefined; context?: string | undefined },
): Promise<RestClient> {
  const { paths, skipMissing } = kubeconfigFiles(flags.kubeconfig, ctx.env, ctx.home);
  return RestClient.fromKubeconfigFiles(paths, {
    skipMissing,
    ...(flags.context ? { context: flags.context } : {}),
  });
}

/** pv, pvc, sc, persistentvolumeclaims, StorageClass, ... -> the kind; unknown names are usage errors. */
export function requireKind(name: string): KindInfo {
  const kind = resolveResource(name);
  if (!kind) throw new UsageError(`the server doesn't have a resource type "${name}"`);
  return kind;
}

/** The namespace a namespaced command works in: -n, else the kubeconfig context's, else default. */
export function namespaceOf(flag: string | undefined, client: RestClient): string {
  return flag ?? client.namespace ?? 'default';
}

export interface ObjectRef {
  kind: KindInfo;
  name: string;
}

/** `KIND NAME...` or `KIND/NAME...` positionals as references; `what` names the command in errors. */
export function objectRefs(positionals: string[], what: string): ObjectRef[] {
  if (positionals.length === 0) throw new UsageError(`${what}: expected KIND NAME or KIND/NAME`);
  const first = positionals[0] ?? '';
  if (first.includes('/')) {
    return positionals.map((arg) => {
      const slash = arg.indexOf('/');
      if (slash <= 0 || slash === arg.length - 1) {
        throw new UsageError(
          `${what}: "${arg}": expected KIND/NAME; mixing KIND/NAME with other arguments is not allowed`,
        );
      }
      return { kind: requireKind(arg.slice(0, slash)), name: arg.slice(slash + 1) };
    });
  }
  const kind = requireKind(first);
  const names = positionals.slice(1);
  if (names.length === 0)
    throw new UsageError(`${what}: resource name may not be empty (expected ${first} NAME)`);
  return names.map((name) => ({ kind, name }));
}
