import assert from 'node:assert/strict';
import { parseRoute, type Route } from '../../../src/apiserver/routes.js';

function target(route: Route): Record<string, unknown> {
  assert.equal(route.type, 'resource');
  const { kind, ...rest } = route.target;
  return { kind: kind.kind, ...rest };
}

describe('apiserver routes', () => {
  it('parses discovery and health paths', () => {
    assert.deepEqual(parseRoute('/version'), { type: 'version' });
    assert.deepEqual(parseRoute('/api'), { type: 'coreVersions' });
    assert.deepEqual(parseRoute('/apis'), { type: 'groupList' });
    assert.deepEqual(parseRoute('/apis/storage.k8s.io'), { type: 'group', group: 'storage.k8s.io' });
    assert.deepEqual(parseRoute('/api/v1'), { type: 'resourceList', group: '', version: 'v1' });
    assert.deepEqual(parseRoute('/apis/apps/v1'), { type: 'resourceList', group: 'apps', version: 'v1' });
    assert.deepEqual(parseRoute('/healthz'), { type: 'health', check: 'healthz' });
    assert.deepEqual(parseRoute('/openapi/v3/apis/storage.k8s.io/v1'), {
      type: 'openapiGroupVersion',
      group: 'storage.k8s.io',
      version: 'v1',
    });
  });

  const cases: [string, Record<string, unknown>][] = [
    ['/api/v1/namespaces/ns1/persistentvolumeclaims', { kind: 'PersistentVolumeClaim', namespace: 'ns1' }],
    [
      '/api/v1/namespaces/ns1/persistentvolumeclaims/c',
      { kind: 'PersistentVolumeClaim', namespace: 'ns1', name: 'c' },
    ],
    [
      '/api/v1/namespaces/ns1/persistentvolumeclaims/c/status',
      { kind: 'PersistentVolumeClaim', namespace: 'ns1', name: 'c', subresource: 'status' },
    ],
    ['/api/v1/persistentvolumeclaims', { kind: 'PersistentVolumeClaim' }],
    ['/api/v1/persistentvolumes/pv1', { kind: 'PersistentVolume', name: 'pv1' }],
    ['/api/v1/namespaces', { kind: 'Namespace' }],
    ['/api/v1/namespaces/kube-system', { kind: 'Namespace', name: 'kube-system' }],
    [
      '/api/v1/namespaces/kube-system/status',
      { kind: 'Namespace', name: 'kube-system', subresource: 'status' },
    ],
    ['/api/v1/namespaces/shop/finalize', { kind: 'Namespace', name: 'shop', subresource: 'finalize' }],
    ['/apis/storage.k8s.io/v1/storageclasses/fast', { kind: 'StorageClass', name: 'fast' }],
    ['/apis/apps/v1/namespaces/a/statefulsets/web', { kind: 'StatefulSet', namespace: 'a', name: 'web' }],
  ];
  for (const [path, expected] of cases) {
    it(`resolves ${path}`, () => assert.deepEqual(target(parseRoute(path)), expected));
  }

  const unknown = [
    '/api/v2/pods',
    '/api/v1/widgets',
    '/apis/storage.k8s.io/v1/persistentvolumes', // right name, wrong group
    '/api/v1/persistentvolumeclaims/c', // a namespaced object needs its namespace
    '/apis/storage.k8s.io/v1/storageclasses/fast/status', // no status subresource
    '/api/v1/namespaces/a/pods/p/logs',
    '/api/v1/persistentvolumes/pv1/finalize', // only namespaces finalize
    '/api/v1/namespaces/a/persistentvolumeclaims/c/finalize',
    '/nothing',
  ];
  for (const path of unknown) {
    it(`does not resolve ${path}`, () => assert.deepEqual(parseRoute(path), { type: 'notFound' }));
  }
});

describe('apiserver routes: raw paths', () => {
  const refused: [string, string][] = [
    ['/api/v1/namespaces/ns/configmaps/%2e%2e', 'invalid path segment "..": may not be \'..\''],
    ['/api/v1/namespaces/ns/configmaps/%2E', 'invalid path segment ".": may not be \'.\''],
    ['/api/v1/namespaces/%2e%2e', 'invalid path segment "..": may not be \'..\''],
    ['/api/v1/namespaces/ns/configmaps/..', 'invalid path segment "..": may not be \'..\''],
    ['/api/v1/namespaces/ns/configmaps/a%2Fb', 'invalid path segment "a/b": may not contain \'/\''],
    ['/api/v1/namespaces/ns/configmaps/%252e%252e', 'invalid path segment "%2e%2e": may not contain \'%\''],
    [
      '/api/v1/namespaces/ns/configmaps/%E0%A4%A',
      'invalid path segment "%E0%A4%A": malformed percent-encoding',
    ],
  ];
  for (const [path, message] of refused) {
    it(`refuses ${path}`, () => assert.deepEqual(parseRoute(path), { type: 'invalidPath', message }));
  }

  it('decodes each segment once, after splitting', () => {
    assert.deepEqual(target(parseRoute('/api/v1/namespaces/n%73/configmaps/a%2Db')), {
      kind: 'ConfigMap',
      namespace: 'ns',
      name: 'a-b',
    });
  });

  it('knows pods/binding and nothing else under pods but status', () => {
    assert.deepEqual(target(parseRoute('/api/v1/namespaces/ns/pods/p/binding')), {
      kind: 'Pod',
      namespace: 'ns',
      name: 'p',
      subresource: 'binding',
    });
    assert.deepEqual(parseRoute('/api/v1/namespaces/ns/persistentvolumeclaims/c/binding'), {
      type: 'notFound',
    });
  });
});
