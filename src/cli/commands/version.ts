// `berth version`: this client's version and the API server's.
import { readFile } from 'node:fs/promises';
import { clientOptions, parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { connect } from '../context.js';
import { packageFile } from '../paths.js';

const options = { ...clientOptions, client: { type: 'boolean' } } as const;

export async function clientVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(packageFile('package.json'), 'utf8')) as {
    version?: string;
  };
  return `v${pkg.version ?? '0.0.0'}`;
}

export async function runVersion(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values } = parseCommand('version', argv, options);
  ctx.io.stdout.write(`Client Version: ${await clientVersion()}\n`);
  if (values.client) return 0;
  const client = await connect(ctx, values);
  const server = await client.version();
  ctx.io.stdout.write(`Server Version: ${server.gitVersion ?? 'unknown'}\n`);
  return 0;
}
