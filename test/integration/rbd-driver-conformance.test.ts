// The CSI conformance suite against the RBD driver, on a real single-node Ceph cluster: images in a
// real pool, mapped on this node with rbd-fuse + a loop device, formatted and mounted for real.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { startRbdDriver } from '../../src/drivers/rbd/index.js';
import type { CsiConformanceTarget } from '../conformance/csi-conformance.js';
import { describeCsiConformance } from '../conformance/csi-conformance.js';
import { removeTestDir } from '../conformance/host.js';
import type { CephCluster } from '../helpers/ceph.js';
import { cephUnavailable, startCephCluster } from '../helpers/ceph.js';
import { skipUnless } from '../helpers/skip.js';

const unavailable = cephUnavailable();
const CLUSTER_ID = 'conformance';

describe('rbd driver conformance (real ceph)', function () {
  let cluster: CephCluster | undefined;

  before(async function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    this.timeout(120_000);
    cluster = await startCephCluster();
  });

  after(async function () {
    this.timeout(60_000);
    await cluster?.stop();
  });

  function rbdSetup(capabilities?: CsiConformanceTarget['capabilities']) {
    return async (): Promise<CsiConformanceTarget> => {
      const ceph = cluster!;
      const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rbd-conf-'));
      const stagingDir = path.join(dir, 'staging');
      const targetDir = path.join(dir, 'pods');
      mkdirSync(stagingDir);
      mkdirSync(targetDir);
      // No secrets travel with the suite's calls: the cluster entry carries the driver's own key.
      const keyFile = path.join(dir, 'admin.key');
      writeFileSync(keyFile, ceph.adminKey, { mode: 0o600 });
      const configFile = path.join(dir, 'clusters.json');
      writeFileSync(
        configFile,
        JSON.stringify([
          { clusterID: CLUSTER_ID, monitors: ceph.monitors, userID: 'admin', userKeyFile: keyFile },
        ]),
      );
      const driver = await startRbdDriver({
        endpoint: `unix://${path.join(dir, 'csi.sock')}`,
        nodeId: 'conformance-node',
        configFile,
        stateDir: path.join(dir, 'state'),
        defaultMounter: 'rbd-fuse',
      });
      const client = new CsiClient(driver.socketPath, { timeoutMs: 60_000 });
      return {
        client,
        stagingDir,
        targetDir,
        params: { clusterID: CLUSTER_ID, pool: ceph.pool, mounter: 'rbd-fuse' },
        ...(capabilities ? { capabilities } : {}),
        async cleanup() {
          client.close();
          await driver.shutdown();
          const leftovers = { ...removeTestDir(dir), images: await ceph.images() };
          assert.deepEqual(leftovers, { mounts: [], loops: [], images: [] }, 'the suite left nothing behind');
        },
      };
    };
  }

  describeCsiConformance('rbd driver, mount access', rbdSetup());
  describeCsiConformance(
    'rbd driver, block access',
    rbdSetup([{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }]),
  );
});
