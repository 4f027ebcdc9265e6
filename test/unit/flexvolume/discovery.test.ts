import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_CAPABILITIES,
  type DriverChange,
  FlexDriverProber,
} from '../../../src/flexvolume/discovery.js';
import { FlexPaths, parsePluginDirName } from '../../../src/volume/flex-names.js';
import { systemExec } from '../../../src/host/exec.js';
import { installScriptedDriver, success, tempDir } from './helpers.js';

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('flexvolume/discovery', () => {
  let root: string;
  let pluginDir: string;
  let prober: FlexDriverProber | undefined;
  let changes: DriverChange[];

  beforeEach(async () => {
    root = await tempDir('berth-flex-probe-');
    pluginDir = new FlexPaths(root).pluginDir();
    changes = [];
  });
  afterEach(async () => {
    await prober?.stop();
    prober = undefined;
    await fs.rm(root, { recursive: true, force: true });
  });

  function start(options: { pollMs?: number; watch?: boolean } = {}): Promise<void> {
    prober = new FlexDriverProber({
      pluginDir,
      exec: systemExec(),
      pollMs: options.pollMs ?? 0,
      watch: options.watch ?? false,
      onChange: (c) => changes.push(c),
    });
    return prober.start();
  }

  it('plugin directory names: vendor~driver only, never hidden or climbing', () => {
    assert.deepEqual(parsePluginDirName('k8s~nfs'), { vendor: 'k8s', driver: 'nfs' });
    for (const bad of ['.k8s~nfs', 'nfs', 'a~b~c', '~nfs', 'k8s~', '..~x']) {
      assert.equal(parsePluginDirName(bad), undefined, bad);
    }
  });

  it('runs init once per driver and keeps what it reports (defaults for the rest)', async () => {
    const nfs = await installScriptedDriver(pluginDir, 'k8s/nfs', {
      init: success({ capabilities: { attach: false } }),
    });
    await installScriptedDriver(pluginDir, 'berth/loop', {
      init: success({
        capabilities: { attach: true, selinuxRelabel: false, supportsMetrics: true, fsGroup: false },
      }),
    });
    await start();
    assert.deepEqual(prober!.get('k8s/nfs')?.capabilities, { ...DEFAULT_CAPABILITIES, attach: false });
    assert.deepEqual(prober!.get('berth/loop')?.capabilities, {
      attach: true,
      selinuxRelabel: false,
      supportsMetrics: true,
      fsGroup: false,
      requiresFSResize: true,
    });
    assert.equal(prober!.get('k8s/nfs')?.path, path.join(pluginDir, 'k8s~nfs', 'nfs'));
    await prober!.rescan();
    assert.deepEqual(await nfs.commands(), ['init']);
    assert.deepEqual(changes.map((c) => `${c.kind} ${c.driver.name}`).sort(), [
      'added berth/loop',
      'added k8s/nfs',
    ]);
  });

  it('skips drivers whose init fails, prints garbage or is not executable, and says why', async () => {
    await installScriptedDriver(pluginDir, 'acme/bad', { init: { stdout: 'hello', exit: 0 } });
    await installScriptedDriver(pluginDir, 'acme/fails', {
      init: { stdout: '{"status":"Failure","message":"no"}', exit: 1 },
    });
    await fs.mkdir(path.join(pluginDir, 'acme~noexec'));
    await fs.writeFile(path.join(pluginDir, 'acme~noexec', 'noexec'), '#!/bin/sh\n', { mode: 0o644 });
    await fs.mkdir(path.join(pluginDir, '.hidden~x'));
    await start();
    assert.deepEqual(prober!.list(), []);
    const problems = prober!.problems();
    assert.match(problems.get('acme~bad') ?? '', /printed no JSON/);
    assert.match(problems.get('acme~fails') ?? '', /failed: no/);
    assert.equal(problems.has('acme~noexec'), false);
  });

  it('notices a driver installed later and forgets one removed (inotify)', async () => {
    await start({ watch: true, pollMs: 0 });
    assert.deepEqual(prober!.list(), []);
    await installScriptedDriver(pluginDir, 'k8s/nfs', { init: success({ capabilities: { attach: false } }) });
    await until(() => prober!.get('k8s/nfs') !== undefined, 'the new driver');
    await fs.rm(path.join(pluginDir, 'k8s~nfs'), { recursive: true });
    await until(() => prober!.get('k8s/nfs') === undefined, 'the removed driver to be forgotten');
    assert.deepEqual(
      changes.map((c) => c.kind),
      ['added', 'removed'],
    );
  });

  it('notices changes by periodic rescan too, and re-runs init when the executable changes', async () => {
    await start({ watch: false, pollMs: 50 });
    const driver = await installScriptedDriver(pluginDir, 'berth/loop', { init: success() });
    await until(() => prober!.get('berth/loop') !== undefined, 'the driver by rescan');
    prober!.get('berth/loop')!.unsupported.add('mount');
    // a new build of the driver: new content, new init, no remembered "Not supported"
    await fs.appendFile(driver.executable, '// v2\n');
    await until(() => changes.some((c) => c.kind === 'updated'), 'the updated driver');
    assert.equal(prober!.get('berth/loop')!.unsupported.size, 0);
  });

  it('retries a failed init with back-off, and uses the driver once init succeeds', async () => {
    const driver = await installScriptedDriver(pluginDir, 'acme/late', {
      init: { stdout: 'not ready', exit: 1 },
    });
    await start({ watch: false, pollMs: 20 });
    assert.equal(prober!.get('acme/late'), undefined);
    await driver.setBehaviour({ init: success() });
    await until(() => prober!.get('acme/late') !== undefined, 'init to be retried', 8000);
    assert.ok((await driver.commands()).filter((c) => c === 'init').length >= 2);
  });

  it('retries a failed init even with no rescan period and no further file event', async () => {
    const driver = await installScriptedDriver(pluginDir, 'acme/flaky', {
      init: { stdout: 'not ready', exit: 1 },
    });
    // Neither a periodic rescan nor inotify: only the init back-off (1 s first) can bring it back.
    await start({ watch: false, pollMs: 0 });
    assert.equal(prober!.get('acme/flaky'), undefined);
    await driver.setBehaviour({ init: success() });
    await until(() => prober!.get('acme/flaky') !== undefined, 'init to be retried', 8000);
  });
});
