import assert from 'node:assert/strict';
import { splitRequestUrl } from '../../../src/apiserver/server.js';

describe('apiserver request URL', () => {
  it('keeps the path as sent: encoded dot segments are for routing to refuse', () => {
    assert.equal(
      splitRequestUrl('/api/v1/namespaces/%2e%2e/pods?x=1#frag').rawPath,
      '/api/v1/namespaces/%2e%2e/pods',
    );
  });

  it('reads the query as Go does: a pair with a bad escape or a ";" is dropped, others decoded', () => {
    const query = (target: string): [string, string][] => [...splitRequestUrl(target).searchParams];
    assert.deepEqual(query('/api?allowWatchBookmarks=%ZZ&watch=1'), [['watch', '1']]);
    assert.deepEqual(query('/api?labelSelector=a%3Db&x=%2'), [['labelSelector', 'a=b']]);
    assert.deepEqual(query('/api?limit=5;continue=x&watch=true'), [['watch', 'true']]);
    assert.deepEqual(query('/api?fieldSelector=a+b&&flag'), [
      ['fieldSelector', 'a b'],
      ['flag', ''],
    ]);
    assert.deepEqual(query('/api?%zz=1'), []);
    assert.deepEqual(query('/api'), []);
  });
});
