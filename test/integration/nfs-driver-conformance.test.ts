// The CSI conformance suite against the NFS driver: controller calls go to a real nfs-ganesha over
// the driver's own NFSv3 client; node mounts go through the STAND-IN mount helper (this kernel has
// no NFS client), which bind-mounts the export's backing directory.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../../src/csi/client.js';
import { startNfsDriver } from '../../src/drivers/nfs/index.js';
import { describeCsiConformance } from '../conformance/csi-conformance.js';
import { removeTestDir } from '../conformance/host.js';
import type { GaneshaServer } from '../helpers/ganesha.js';
import { ganeshaUnavailable, startGanesha, writeStandinMountHelper } from '../helpers/ganesha.js';
import { skipUnless } from '../helpers/skip.js';

const unavailable = ganeshaUnavailable();

describe('nfs driver conformance (real ganesha, stand-in node mounts)', function () {
  let server: GaneshaServer | undefined;

  before(function () {
    skipUnless(this, unavailable === undefined, unavailable ?? '');
  });

  after(async function () {
    await server?.stop();
  });

  describeCsiConformance('nfs driver', async () => {
    server = await startGanesha();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-nfs-conf-'));
    const stagingDir = path.join(dir, 'staging');
    const targetDir = path.join(dir, 'pods');
    mkdirSync(stagingDir);
    mkdirSync(targetDir);
    const { helper } = writeStandinMountHelper(server);
    const driver = await startNfsDriver({
      endpoint: `unix://${path.join(dir, 'csi.sock')}`,
      nodeId: 'conformance-node',
      mountHelper: helper,
      nfsPort: server.nfsPort,
      mountPort: server.mountPort,
      mountTimeoutMs: 10_000,
    });
    const client = new CsiClient(driver.socketPath, { timeoutMs: 30_000 });
    return {
      client,
      stagingDir,
      targetDir,
      params: { server: server.host, share: server.share },
      capabilities: [
        { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } },
      ],
      async cleanup() {
        client.close();
        await driver.shutdown();
        const leftovers = removeTestDir(dir).mounts;
        assert.deepEqual(leftovers, [], 'the suite left no mounts behind');
        // Volumes, snapshot archives and half-filled restores all live on the export.
        assert.deepEqual(readdirSync(server!.exportDir), [], 'the suite left nothing on the share');
      },
    };
  });
});
