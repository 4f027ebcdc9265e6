import assert from 'node:assert/strict';
import { parseKubeconfig } from '../../../src/client/kubeconfig.js';
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
current-context: berth
`;

describe('client kubeconfig', () => {
  it('reads the current context', () => {
    assert.deepEqual(parseKubeconfig(config, 'k'), {
      server: 'http://127.0.0.1:1234',
      token: 'secret',
      namespace: 'team',
    });
  });

  it('names what is missing', () => {
    assert.throws(() => parseKubeconfig('apiVersion: v1\n', 'f.yaml'), /f.yaml has no current-context/);
    assert.throws(
      () => parseKubeconfig(config.replace('current-context: berth', 'current-context: nope'), 'k'),
      /context "nope" not found/,
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
