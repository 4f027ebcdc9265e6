// `berth demo`: a throw-away embedded berth in a temp directory, every manifest under examples/
// applied to it, the resulting classes, volumes and claims printed, and everything removed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../machinery/logger.js';
import { parseCommand } from '../args.js';
import type { CommandContext } from '../context.js';
import { startEmbeddedBerth } from '../embedded.js';
import { runApply } from './apply.js';
import { runGet } from './get.js';

const options = { examples: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples', import.meta.url));

export async function runDemo(ctx: CommandContext, argv: string[]): Promise<number> {
  const { values } = parseCommand('demo', argv, options);
  const examples = values.examples ?? EXAMPLES_DIR;
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-demo-'));
  try {
    const berth = await startEmbeddedBerth({ dataDir, port: 0, logger: silentLogger });
    try {
      ctx.io.stdout.write(
        `berth demo: embedded API at ${berth.url}, data in ${dataDir}\n\n$ berth apply -R -f ${examples}\n`,
      );
      const kubeconfig = ['--kubeconfig', berth.kubeconfigPath];
      const applied = await runApply(ctx, ['-R', '-f', examples, ...kubeconfig]);
      if (applied !== 0) return applied;
      ctx.io.stdout.write('\n$ berth get sc,pv,pvc\n');
      return await runGet(ctx, ['sc,pv,pvc', ...kubeconfig]);
    } finally {
      await berth.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
