// The sample FlexVolume drivers (examples/flexvolume) answer every call, however wrong its input,
// with exactly one JSON status object on stdout: what the commands they run print on stderr goes
// into "message", never into a value the host uses (the device path). Run as real processes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loopsUnder, realDiskUnavailable, sweepHost } from '../conformance/host.js';
import { skipUnless } from '../helpers/skip.js';
import { tempDir } from '../unit/flexvolume/helpers.js';

const examples = path.join(import.meta.dirname, '..', '..', 'examples', 'flexvolume');
const drivers = {
  'berth/loop': path.join(examples, 'berth~loop', 'loop'),
  'k8s/nfs': path.join(examples, 'k8s~nfs', 'nfs'),
};
const STATUSES = new Set(['Success', 'Failure', 'Not supported']);
const FIELDS = new Set(['status', 'message', 'device', 'volumeName', 'attached', 'capabilities']);

interface Answer {
  status: string;
  message?: string;
  device?: string;
  [key: string]: unknown;
}

/** Runs the driver; its stdout must be one JSON status object and nothing else. */
function call(driver: string, args: string[], env: NodeJS.ProcessEnv): Promise<Answer> {
  return new Promise((resolve, reject) => {
    execFile(driver, args, { env, timeout: 30_000 }, (err, stdout) => {
      if (err && err.killed) return reject(new Error(`${args[0]} timed out`));
      const lines = stdout.split('\n').filter((l) => l !== '');
      const what = `${path.basename(driver)} ${args.map((a) => JSON.stringify(a.slice(0, 60))).join(' ')}`;
      assert.equal(lines.length, 1, `${what}: one line of output, got ${JSON.stringify(stdout)}`);
      let answer: unknown;
      try {
        answer = JSON.parse(lines[0]!);
      } catch {
        assert.fail(`${what}: stdout is not JSON: ${JSON.stringify(stdout)}`);
      }
      assert.ok(answer && typeof answer === 'object' && !Array.isArray(answer), `${what}: an object`);
      const a = answer as Answer;
      assert.ok(STATUSES.has(a.status), `${what}: status ${String(a.status)}`);
      for (const key of Object.keys(a)) assert.ok(FIELDS.has(key), `${what}: unexpected field ${key}`);
      if (a.message !== undefined) assert.equal(typeof a.message, 'string', `${what}: message`);
      if (a.device !== undefined) assert.match(a.device, /^\/dev\/loop\d+$/, `${what}: device`);
      // a failure exits non-zero with its reason; anything else exits 0
      assert.equal(err ? (err.code ?? 1) !== 0 : false, a.status === 'Failure', `${what}: exit code`);
      if (a.status === 'Failure') assert.ok(a.message, `${what}: a failure says why`);
      resolve(a);
    });
  });
}

describe('flexvolume sample drivers: clean JSON on every call', function () {
  this.timeout(240_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    dir = await tempDir('berth-flex-samples-');
    env = { ...process.env, BERTH_LOOP_STATE_DIR: path.join(dir, 'state') };
  });
  afterEach(async () => {
    const leftovers = sweepHost(dir);
    await fs.rm(dir, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'the test left mounts or loop devices behind');
  });

  const huge = JSON.stringify({ file: 'x'.repeat(100_000) });
  const badOptions = ['', '{"file":', '[1,2]', '{}', huge];
  const badDirs = ['', 'relative/dir', '/'];
  const badNames = ['', '..', '../../etc'];

  for (const [name, driver] of Object.entries(drivers)) {
    it(`${name}: every verb with bad or missing input answers one JSON object`, async () => {
      let answers = 0;
      const run = async (...args: string[]) => {
        await call(driver, args, env);
        answers++;
      };
      await run();
      await run('init');
      await run('no-such-verb', 'x');
      await run('expandvolume', '{}', '1', '0');
      for (const options of badOptions) {
        await run('attach', options, 'node-a');
        await run('isattached', options, 'node-a');
        await run('getvolumename', options);
        await run('waitforattach', '/dev/no-such-device', options);
        await run('mountdevice', path.join(dir, 'g'), '/dev/no-such-device', options);
        await run('mount', path.join(dir, 'p'), options);
      }
      for (const d of badDirs) {
        await run('mountdevice', d, '/dev/no-such-device', '{}');
        await run('unmountdevice', d);
        await run('mount', d, '{}');
        await run('unmount', d);
      }
      for (const n of badNames) await run('detach', n, 'node-a');
      await run('waitforattach', '', '{}');
      await run('waitforattach', '/dev/null', '{}');
      assert.ok(answers > 40);
    });
  }

  it('berth/loop: bad input fails with a reason in message', async () => {
    const loop = drivers['berth/loop'];
    for (const options of ['not json', '[1,2]', 'null']) {
      const a = await call(loop, ['attach', options, 'node-a'], env);
      assert.equal(a.status, 'Failure');
      assert.match(a.message ?? '', /the options are not a JSON object/);
    }
    const noFile = await call(loop, ['attach', '{"kubernetes.io/pvOrVolumeName":"v"}', 'node-a'], env);
    assert.match(noFile.message ?? '', /options\.file \(the backing file\) is required/);
    const badName = await call(loop, ['detach', '../x', 'node-a'], env);
    assert.match(badName.message ?? '', /unusable volume name "\.\.\/x"/);
    const root = await call(loop, ['unmountdevice', '/'], env);
    assert.equal(root.status, 'Failure', 'never unmounts /');
    const notBlock = await call(loop, ['waitforattach', '/dev/null', '{}'], env);
    assert.match(notBlock.message ?? '', /\/dev\/null is not a block device/);
  });

  it("berth/loop: losetup's warning goes into message, the device path stays clean (real loop device)", async function () {
    const unavailable = realDiskUnavailable(['truncate', 'node']);
    skipUnless(this, unavailable === undefined, unavailable ?? '');
    const loop = drivers['berth/loop'];
    // not a whole number of 512-byte sectors: losetup warns on stderr and still sets the device up
    const file = path.join(dir, 'odd.img');
    await fs.writeFile(file, Buffer.alloc(1000));
    const options = JSON.stringify({ file, 'kubernetes.io/pvOrVolumeName': 'odd' });
    const attached = await call(loop, ['attach', options, 'node-a'], env);
    assert.equal(attached.status, 'Success');
    assert.deepEqual(loopsUnder(dir), [attached.device]);
    assert.match(attached.message ?? '', /Warning: file does not fit into a 512-byte sector/);
    // attach again: the same device, no second loop device
    const again = await call(loop, ['attach', options, 'node-a'], env);
    assert.equal(again.device, attached.device);
    assert.deepEqual(await call(loop, ['isattached', options, 'node-a'], env), {
      status: 'Success',
      attached: true,
    });
    assert.deepEqual(await call(loop, ['detach', 'odd', 'node-a'], env), { status: 'Success' });
    assert.deepEqual(loopsUnder(dir), []);
  });
});
