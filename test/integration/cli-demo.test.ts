// `berth demo`: a throw-away embedded berth that applies examples/ and prints the result.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCli } from '../../src/cli/main.js';

describe('cli: berth demo', function () {
  it('applies the examples, prints sc,pv,pvc tables and removes its data directory', async function () {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['demo'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
    });
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.match(stdout, /storageclass\.storage\.k8s\.io\/manual created\n/);
    assert.match(stdout, /persistentvolumeclaim\/claim1 created\n/);
    assert.match(stdout, /\nNAME {3,}PROVISIONER/);
    assert.match(stdout, /\npersistentvolume\/pv-small {3,}1Gi/);
    assert.match(stdout, /\npersistentvolumeclaim\/claim1 {3,}/);
    const dataDir = /data in (\S+)\n/.exec(stdout)?.[1];
    assert.ok(dataDir);
    assert.equal(existsSync(dataDir), false);
  });
});
