// Drivers that misbehave, through the whole reconciler with real driver processes and real Events
// in the embedded store: garbage output, a hang, a non-zero exit with no answer, a crash. Each
// becomes a Warning event that says what happened and a retry with back-off; nothing crashes the
// host, and once the driver behaves the pod's volume is mounted. Mounts are kept in memory here
// (no root needed); the real-mount paths are in flexvolume-loop and flexvolume-nfs.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K } from '../../src/api/kinds.js';
import type { Event, Pod } from '../../src/api/types.js';
import { FlexDriverProber } from '../../src/flexvolume/discovery.js';
import { FlexVolumeHost } from '../../src/flexvolume/host.js';
import { FlexPaths } from '../../src/volume/flex-names.js';
import { FlexVolumeReconciler } from '../../src/flexvolume/reconciler.js';
import { flexSpecFromPodVolume } from '../../src/volume/flex-spec.js';
import { EventRecorder } from '../../src/machinery/events.js';
import { ItemExponentialFailureRateLimiter } from '../../src/machinery/rate-limiter.js';
import { systemExec } from '../../src/host/exec.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.js';
import {
  type Answer,
  installScriptedDriver,
  MemoryMounter,
  notSupported,
  type ScriptedDriver,
  success,
  tempDir,
} from '../unit/flexvolume/helpers.js';

function podWith(uid: string, driver: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p-${uid}`, namespace: 'default', uid },
    spec: {
      containers: [{ name: 'c' }],
      volumes: [{ name: 'data', flexVolume: { driver, options: { k: 'v' } } }],
    },
  };
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('flexvolume: misbehaving drivers become events and retries', function () {
  let root: string;
  let store: EmbeddedStore;
  let prober: FlexDriverProber;
  let reconciler: FlexVolumeReconciler;
  let recorder: EventRecorder;
  let mounter: MemoryMounter;
  let paths: FlexPaths;

  beforeEach(async () => {
    root = await tempDir('berth-flex-fail-');
    paths = new FlexPaths(root);
    store = await openEmbeddedStore({ dataDir: path.join(root, 'store') });
    recorder = new EventRecorder({ store, component: 'berth-node', host: 'node-a' });
    mounter = new MemoryMounter();
    prober = new FlexDriverProber({
      pluginDir: paths.pluginDir(),
      exec: systemExec(),
      pollMs: 0,
      watch: false,
    });
  });
  afterEach(async () => {
    await reconciler?.stop();
    await prober.stop();
    await recorder.flush();
    await store.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const CALL_TIMEOUT_MS = 3000;

  async function startWith(behaviour: Record<string, Answer>): Promise<ScriptedDriver> {
    const driver = await installScriptedDriver(paths.pluginDir(), 'acme/flaky', {
      init: success({ capabilities: { attach: false } }),
      ...behaviour,
    });
    await prober.start();
    // Long enough for a shell script to start on a loaded machine; the hang case waits it out.
    const host = new FlexVolumeHost({
      drivers: prober,
      exec: systemExec(),
      mounter,
      timeoutMs: CALL_TIMEOUT_MS,
    });
    reconciler = new FlexVolumeReconciler({
      host,
      paths,
      nodeName: 'node-a',
      recorder,
      rateLimiter: new ItemExponentialFailureRateLimiter(50, 400),
    });
    reconciler.start();
    return driver;
  }

  async function warnings(): Promise<Event[]> {
    await recorder.flush();
    return (await store.list<Event>(K.event)).items.filter((e) => e.type === 'Warning');
  }

  const cases: { name: string; answer: Answer; message: RegExp }[] = [
    {
      name: 'prints garbage',
      answer: { stdout: 'mount: oops, not json' },
      message: /mount printed no JSON: "mount: oops, not json"/,
    },
    {
      name: 'hangs',
      answer: { sleepMs: 60_000 },
      message: new RegExp(`mount timed out after ${CALL_TIMEOUT_MS} ms`),
    },
    {
      name: 'exits non-zero with no answer',
      answer: { stdout: '', exit: 3 },
      message: /mount printed nothing and exited with 3/,
    },
    { name: 'crashes (killed by a signal)', answer: { signal: 'SIGSEGV' }, message: /mount was killed/ },
    {
      name: 'fails',
      answer: { stdout: '{"status":"Failure","message":"server unreachable"}', exit: 1 },
      message: /mount failed: server unreachable/,
    },
  ];
  for (const c of cases) {
    it(`a driver that ${c.name}: FailedMount event, retries with back-off, mounts once it behaves`, async () => {
      const driver = await startWith({ mount: c.answer, unmount: success() });
      const pod = podWith('uid-1', 'acme/flaky');
      reconciler.ensurePod(pod, [flexSpecFromPodVolume(pod.spec.volumes![0]!, pod)!]);
      await until(async () => (await driver.commands()).filter((x) => x === 'mount').length >= 2, 'a retry');
      const [event] = await warnings();
      assert.ok(event, 'a Warning event');
      assert.equal(event.reason, 'FailedMount');
      assert.equal(event.involvedObject.uid, 'uid-1');
      assert.match(
        event.message ?? '',
        /^MountVolume\.SetUp failed for volume "data" : flexvolume acme\/flaky: /,
      );
      assert.match(event.message ?? '', c.message);
      assert.equal(reconciler.podStatus('uid-1')?.ready, false);
      // the driver is fixed: the next retry mounts
      await driver.setBehaviour({ init: success(), mount: success(), unmount: success() });
      await until(() => reconciler.podStatus('uid-1')?.ready === true, 'the pod to be ready', 15_000);
      assert.equal(reconciler.pendingPods().length, 0);
    });
  }

  it('"Not supported" for mount on a driver with nothing to bind is a clear failure, not a crash', async () => {
    await startWith({ mount: notSupported });
    const pod = podWith('uid-2', 'acme/flaky');
    reconciler.ensurePod(pod, [flexSpecFromPodVolume(pod.spec.volumes![0]!, pod)!]);
    await until(async () => (await warnings()).length > 0, 'an event');
    assert.match(
      (await warnings())[0]!.message ?? '',
      /mount is not supported and no device is mounted to bind/,
    );
  });

  it('a pod naming a driver that is not installed waits with an event, and mounts once it is installed', async () => {
    await startWith({ mount: success(), unmount: success() });
    const pod = podWith('uid-3', 'acme/later');
    reconciler.ensurePod(pod, [flexSpecFromPodVolume(pod.spec.volumes![0]!, pod)!]);
    await until(async () => (await warnings()).length > 0, 'an event');
    assert.match((await warnings())[0]!.message ?? '', /acme\/later: init no such driver is installed/);
    await installScriptedDriver(paths.pluginDir(), 'acme/later', {
      init: success({ capabilities: { attach: false } }),
      mount: success(),
    });
    await prober.rescan();
    await until(() => reconciler.podStatus('uid-3')?.ready === true, 'the pod to be ready', 15_000);
  });
});
