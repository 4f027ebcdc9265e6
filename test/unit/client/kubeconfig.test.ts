import assert from 'node:assert/strict';
import { parseKubeconfig, parseKubeconfigs } from '../../../src/client/kubeconfig.js';
import { errorFromResponse } from '../../../src/client/errors.js';

const config = `
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: { server: http://other }
- name: berth
  cluster: { server: http://127.0.0.1:1234 }
users:
- name: berth
  user: { token: secret }
contexts:
- name: berth
  context: { cluster: berth, user: berth, namespace: team }
- name: other
  context: { cluster: other, user: berth }
current-context: berth
`;

describe('client kubeconfig', () => {
  it('reads the current context', async () => {
    assert.deepEqual(await parseKubeconfig(config, 'k'), {
      server: 'http://127.0.0.1:1234',
      token: 'secret',
      namespace: 'team',
    });
  });

  it('reads JSON (what berth writes) the same as YAML', async () => {
    const { parse } = await import('yaml');
    const json = JSON.stringify(parse(config));
    assert.deepEqual(await parseKubeconfig(json, 'k'), await parseKubeconfig(config, 'k'));
  });

  it('--context picks another context', async () => {
    assert.deepEqual(await parseKubeconfig(config, 'k', 'other'), {
      server: 'http://other',
      token: 'secret',
    });
  });

  it('merges several files as kubectl does: the first current-context and the first of each name win', async () => {
    const first = `
current-context: mine
contexts:
- name: mine
  context: { cluster: shared, user: me }
clusters:
- name: shared
  cluster: { server: https://first }
`;
    const second = `
current-context: berth
users:
- name: me
  user: { token: t2 }
clusters:
- name: shared
  cluster: { server: https://second }
`;
    assert.deepEqual(
      await parseKubeconfigs([
        { source: 'a', text: first },
        { source: 'b', text: second },
      ]),
      { server: 'https://first', token: 't2' },
    );
    // An empty file is no configuration, not an error.
    assert.deepEqual(
      await parseKubeconfigs([
        { source: 'empty', text: '' },
        { source: 'k', text: config },
      ]),
      await parseKubeconfig(config, 'k'),
    );
  });

  it('names what is missing or wrong', async () => {
    await assert.rejects(parseKubeconfig('apiVersion: v1\n', 'f.yaml'), /f.yaml has no current-context/);
    await assert.rejects(
      parseKubeconfig(config.replace('current-context: berth', 'current-context: nope'), 'k'),
      /context "nope" not found/,
    );
    await assert.rejects(parseKubeconfig(config, 'k', 'absent'), /context "absent" not found/);
    await assert.rejects(
      parseKubeconfig('- a\n- b\n', 'list.yaml'),
      /invalid kubeconfig list.yaml: not a mapping/,
    );
    await assert.rejects(parseKubeconfig('{"a":', 'broken.json'), /invalid kubeconfig broken.json/);
    await assert.rejects(
      parseKubeconfigs([
        { source: 'a', text: config },
        { source: 'b', text: 'a: [' },
      ]),
      /invalid kubeconfig b/,
    );
  });

  it('turns a Status body into a StatusError with the server message', () => {
    const err = errorFromResponse(
      404,
      JSON.stringify({
        kind: 'Status',
        code: 404,
        reason: 'NotFound',
        message: 'persistentvolumeclaims "x" not found',
      }),
    );
    assert.equal(err.reason, 'NotFound');
    assert.equal(err.code, 404);
    assert.equal(err.message, 'persistentvolumeclaims "x" not found');
    assert.equal(errorFromResponse(503, 'busy').reason, 'ServiceUnavailable');
  });
});
