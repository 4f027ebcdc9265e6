// An embedded berth with one node for FlexVolume tests on real loop devices and mounts: the test
// installs its drivers under the node's volume-plugins before berth starts; stop() deletes the
// pods, stops berth and fails if anything is left mounted or attached. berth/loop keeps its attach
// records in a directory of the scratch dir (driver processes inherit the environment).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Pod } from '../../src/api/types.js';
import { type EmbeddedBerth, startEmbeddedBerth } from '../../src/cli/embedded.js';
import { RestClient } from '../../src/client/rest.js';
import { silentLogger } from '../../src/machinery/logger.js';
import { VOLUME_PATHS_ANNOTATION } from '../../src/node/desired-state.js';
import { sweepHost } from '../conformance/host.js';
import { tempDir } from '../unit/flexvolume/helpers.js';
import { eventually } from './eventually.js';

/** The sample drivers' directory (examples/flexvolume). */
export const FLEX_EXAMPLES = path.join(import.meta.dirname, '..', '..', 'examples', 'flexvolume');

export interface FlexBerth {
  dir: string;
  /** The node's root dir. */
  rootDir: string;
  berth: EmbeddedBerth;
  api: RestClient;
  /** Waits for the pod to run with its volumes; answers it and its volume "data"'s host path. */
  running(name: string): Promise<{ pod: Pod; hostPath: string }>;
  stop(): Promise<void>;
}

export async function startFlexBerth(
  prefix: string,
  install: (pluginDir: string, dir: string) => Promise<void>,
): Promise<FlexBerth> {
  const dir = await tempDir(prefix);
  const rootDir = path.join(dir, 'nodes', 'node-1');
  const savedStateDir = process.env['BERTH_LOOP_STATE_DIR'];
  process.env['BERTH_LOOP_STATE_DIR'] = path.join(dir, 'driver-state');
  let berth: EmbeddedBerth | undefined;
  const stop = async () => {
    if (berth) {
      const store = berth.store;
      for (const p of (await store.list(K.pod)).items)
        await store.delete(K.pod, p.metadata.namespace, p.metadata.name ?? '').catch(() => undefined);
      await eventually('pods gone', async () => (await store.list(K.pod)).items.length === 0).catch(
        () => undefined,
      );
      await berth.stop();
    }
    if (savedStateDir === undefined) delete process.env['BERTH_LOOP_STATE_DIR'];
    else process.env['BERTH_LOOP_STATE_DIR'] = savedStateDir;
    const leftovers = sweepHost(dir);
    await fs.rm(dir, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'the test left mounts or loop devices behind');
  };
  try {
    await install(path.join(rootDir, 'volume-plugins'), dir);
    berth = await startEmbeddedBerth({
      dataDir: path.join(dir, 'data'),
      port: 0,
      logger: silentLogger,
      nodes: [{ name: 'node-1', rootDir }],
    });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const api = await RestClient.fromKubeconfig(berth.kubeconfigPath);
  const running = async (name: string) => {
    const pod = await eventually(
      `pod ${name} Running`,
      async () => {
        const p = await api.get<Pod>(K.pod, 'default', name);
        return p.status?.phase === 'Running' && p.metadata.annotations?.[VOLUME_PATHS_ANNOTATION]
          ? p
          : undefined;
      },
      90_000,
    );
    const paths = JSON.parse(pod.metadata.annotations?.[VOLUME_PATHS_ANNOTATION] ?? '{}') as Record<
      string,
      string
    >;
    assert.ok(paths['data'], 'the volume has a host path');
    return { pod, hostPath: paths['data'] };
  };
  return { dir, rootDir, berth, api, running, stop };
}
