import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { connectionTokenCheck } from '../../../src/apiserver/server.js';

function request(socket: object, authorization?: string): IncomingMessage {
  return { socket, headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

describe('apiserver/token check per connection', function () {
  const token = 'k8Zf3-token-value';
  it('accepts the token on every request of a connection and refuses anything else on it', function () {
    const check = connectionTokenCheck(token);
    const socket = {};
    assert.equal(check(request(socket, `Bearer ${token}`)), true);
    assert.equal(check(request(socket, `Bearer ${token}`)), true);
    assert.equal(check(request(socket, `bearer   ${token} `)), true, 'spelled differently, still the token');
    assert.equal(check(request(socket, `Bearer ${token}x`)), false);
    assert.equal(check(request(socket, 'Bearer ')), false);
    assert.equal(check(request(socket)), false);
    assert.equal(check(request(socket, `Bearer ${token}`)), true);
  });

  it('proves nothing for another connection', function () {
    const check = connectionTokenCheck(token);
    assert.equal(check(request({}, `Bearer ${token}`)), true);
    assert.equal(check(request({}, 'Bearer wrong')), false);
    assert.equal(check(request({})), false);
  });
});
