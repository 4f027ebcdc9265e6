// CSI driver registration by the node agent: explicit endpoints, in-process registration, and the
// kubelet plugin-registration protocol over a socket in plugins_registry — each against a mock CSI
// driver on a real unix socket, writing CSINode and the Node object in the embedded store.
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { CSINode, Node } from '../../src/api/types.js';
import { NodeAgent } from '../../src/node/agent.js';
import { serveRegistrar, type RegistrarHandle } from '../../src/node/registration-protocol.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import { startMockDriver, type StartedMockDriver } from '../mock-driver/driver.js';
import { eventuallyWithin } from '../helpers/eventually.js';

const eventually = eventuallyWithin(8000, 20);

describe('node agent CSI driver registration', function () {
  this.timeout(20_000);
  let dir: string;
  let root: string;
  let store: EmbeddedStore;
  let agent: NodeAgent | undefined;
  const drivers: StartedMockDriver[] = [];
  const registrars: RegistrarHandle[] = [];

  beforeEach(async function () {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-nodereg-')));
    root = join(dir, 'root');
    store = await openEmbeddedStore({ dataDir: join(dir, 'data') });
  });

  afterEach(async function () {
    await agent?.stop();
    agent = undefined;
    for (const r of registrars.splice(0)) await r.shutdown();
    for (const d of drivers.splice(0)) await d.shutdown();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function mockDriver(name: string, topology?: Record<string, string>): Promise<StartedMockDriver> {
    const d = await startMockDriver({
      socketPath: join(root, 'plugins', name, 'csi.sock'),
      name,
      nodeId: `${name}-node-1`,
      ...(topology ? { topology } : {}),
    });
    drivers.push(d);
    return d;
  }

  function newAgent(extra: Partial<ConstructorParameters<typeof NodeAgent>[0]> = {}): NodeAgent {
    agent = new NodeAgent({
      store,
      nodeName: 'node-1',
      rootDir: root,
      mountInfo: async () => [],
      heartbeatMs: 0,
      registryPollMs: 200,
      ...extra,
    });
    return agent;
  }

  const csiNode = () => store.get<CSINode>(K.csinode, undefined, 'node-1');
  const node = () => store.get<Node>(K.node, undefined, 'node-1');

  it('registers a configured driver: CSINode entry, topology labels, annotations, Ready heartbeat', async function () {
    const d = await mockDriver('zonal.csi.berth.dev', { 'topology.zonal/zone': 'z1' });
    await newAgent({
      drivers: [{ name: 'zonal.csi.berth.dev', endpoint: d.endpoint }],
      heartbeatMs: 300,
      statusReportMs: 300,
    }).start();

    const entry = (await csiNode()).spec.drivers;
    assert.deepEqual(entry, [
      {
        name: 'zonal.csi.berth.dev',
        nodeID: 'zonal.csi.berth.dev-node-1',
        topologyKeys: ['topology.zonal/zone'],
      },
    ]);
    const n = await node();
    assert.equal(n.metadata.labels?.['kubernetes.io/hostname'], 'node-1');
    assert.equal(n.metadata.labels?.['topology.zonal/zone'], 'z1');
    assert.equal(n.metadata.annotations?.['volumes.kubernetes.io/controller-managed-attach-detach'], 'true');
    assert.deepEqual(JSON.parse(n.metadata.annotations?.['csi.volume.kubernetes.io/nodeid'] ?? '{}'), {
      'zonal.csi.berth.dev': 'zonal.csi.berth.dev-node-1',
    });
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    const first = ready?.lastHeartbeatTime ?? '';
    assert.ok(first);
    // the heartbeat moves lastHeartbeatTime (second precision) and keeps lastTransitionTime
    const later = await eventually(
      'a newer heartbeat',
      async () => {
        const c = (await node()).status?.conditions?.find((x) => x.type === 'Ready');
        return c?.lastHeartbeatTime && c.lastHeartbeatTime > first ? c : undefined;
      },
      4000,
    );
    assert.equal(
      (later as { lastTransitionTime?: string }).lastTransitionTime,
      (ready as { lastTransitionTime?: string }).lastTransitionTime,
    );
    for (const method of [
      'GetPluginInfo',
      'GetPluginCapabilities',
      'Probe',
      'NodeGetInfo',
      'NodeGetCapabilities',
    ]) {
      assert.equal(d.driver.callsOf(method).length, 1, method);
    }
    assert.equal(agent?.registry.get('zonal.csi.berth.dev')?.stageUnstage, true);
  });

  it('registers and deregisters through a registration socket in plugins_registry', async function () {
    await newAgent().start();
    const d = await mockDriver('reg.csi.berth.dev');
    const registrar = await serveRegistrar({
      socketPath: join(root, 'plugins_registry', 'reg.csi.berth.dev-reg.sock'),
      driverName: 'reg.csi.berth.dev',
      endpoint: d.socketPath,
    });
    registrars.push(registrar);
    await eventually('CSINode to list the driver', async () =>
      (await csiNode()).spec.drivers.some((x) => x.name === 'reg.csi.berth.dev'),
    );
    await eventually('NotifyRegistrationStatus', async () => registrar.statuses.length > 0);
    assert.deepEqual(registrar.statuses, [{ plugin_registered: true, error: '' }]);

    // the registrar going away (its socket removed) deregisters the driver
    await registrar.shutdown();
    registrars.splice(registrars.indexOf(registrar), 1);
    await eventually('CSINode to drop the driver', async () => (await csiNode()).spec.drivers.length === 0);
    assert.equal(agent?.registry.get('reg.csi.berth.dev'), undefined);
    // the Node's annotation is written after the CSINode: wait for it rather than race it
    await eventually('the node ID annotation to drop the driver', async () => {
      const ids = (await node()).metadata.annotations?.['csi.volume.kubernetes.io/nodeid'] ?? '{}';
      return Object.keys(JSON.parse(ids) as object).length === 0;
    });
  });

  it('tells a registrar with no v1 version that it was rejected', async function () {
    await newAgent().start();
    const d = await mockDriver('old.csi.berth.dev');
    const registrar = await serveRegistrar({
      socketPath: join(root, 'plugins_registry', 'old-reg.sock'),
      driverName: 'old.csi.berth.dev',
      endpoint: d.socketPath,
      supportedVersions: ['0.3.0'],
    });
    registrars.push(registrar);
    await eventually('a rejection', async () => registrar.statuses.length > 0);
    assert.equal(registrar.statuses[0]?.plugin_registered, false);
    assert.match(registrar.statuses[0]?.error ?? '', /must be v1\.x/);
    assert.deepEqual((await csiNode()).spec.drivers, []);
  });

  it('registers an in-process driver, refuses a name mismatch, and drops a driver on request', async function () {
    await newAgent().start();
    const d = await mockDriver('inproc.csi.berth.dev');
    await assert.rejects(
      agent!.registerDriver({ name: 'other.csi', endpoint: d.endpoint }),
      /expected "other\.csi"/,
    );
    const registered = await agent!.registerDriver({ name: 'inproc.csi.berth.dev', endpoint: d.endpoint });
    assert.equal(registered.nodeId, 'inproc.csi.berth.dev-node-1');
    assert.deepEqual(
      (await csiNode()).spec.drivers.map((x) => x.name),
      ['inproc.csi.berth.dev'],
    );
    await agent!.unregisterDriver('inproc.csi.berth.dev');
    assert.deepEqual((await csiNode()).spec.drivers, []);
  });

  it('keeps retrying a configured driver that is not up yet', async function () {
    const socketPath = join(root, 'plugins', 'late.csi.berth.dev', 'csi.sock');
    await newAgent({
      drivers: [{ name: 'late.csi.berth.dev', endpoint: socketPath }],
      csiTimeoutMs: 500,
    }).start();
    assert.deepEqual((await csiNode()).spec.drivers, []);
    drivers.push(await startMockDriver({ socketPath, name: 'late.csi.berth.dev', nodeId: 'late-1' }));
    await eventually(
      'the late driver registered',
      async () => (await csiNode()).spec.drivers.length === 1,
      6000,
    );
  });
});
