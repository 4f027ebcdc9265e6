// The CSI conformance suite against the local driver, on real loop devices, mkfs and mounts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { startLocalDriver } from '../../src/drivers/local/index.js';
import { describeCsiConformance } from '../conformance/csi-conformance.js';
import { realDiskUnavailable, removeTestDir } from '../conformance/host.js';
import { skipUnless } from '../helpers/skip.js';

const unavailable = realDiskUnavailable();

function localDriverSetup(
  capabilities?: Parameters<typeof describeCsiConformance>[1] extends () => Promise<infer T>
    ? T extends { capabilities?: infer C }
      ? C
      : never
    : never,
) {
  return async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-local-conf-'));
    const stagingDir = path.join(dir, 'staging');
    const targetDir = path.join(dir, 'pods');
    mkdirSync(stagingDir);
    mkdirSync(targetDir);
    const driver = await startLocalDriver({
      endpoint: `unix://${path.join(dir, 'csi.sock')}`,
      nodeId: 'conformance-node',
      dataDir: path.join(dir, 'data'),
    });
    const client = new CsiClient(driver.socketPath, { timeoutMs: 60_000 });
    return {
      client,
      stagingDir,
      targetDir,
      ...(capabilities ? { capabilities } : {}),
      async cleanup() {
        client.close();
        await driver.shutdown();
        const leftovers = removeTestDir(dir);
        assert.deepEqual(leftovers, { mounts: [], loops: [] }, 'the suite left nothing behind');
      },
    };
  };
}

describe('local driver conformance', function () {
  before(function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
  });

  describeCsiConformance('local driver, mount access', localDriverSetup());
  describeCsiConformance(
    'local driver, block access',
    localDriverSetup([{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }]),
  );
});
