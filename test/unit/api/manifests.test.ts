import assert from 'node:assert/strict';
import { loadManifests, ManifestError, parseManifests } from '../../../src/api/manifests.js';

describe('manifest loading', function () {
  it('reads every document of a multi-document file, skipping empty ones', function () {
    const text = `---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: a}
---
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: b}
provisioner: x.y
`;
    const objs = loadManifests(text, 'f.yaml');
    assert.deepEqual(
      objs.map((o) => `${o.kind}/${o.metadata.name}`),
      ['PersistentVolumeClaim/a', 'StorageClass/b'],
    );
  });

  it('expands kind: List', function () {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } },
      ],
    });
    assert.deepEqual(
      loadManifests(text, 'list.json').map((o) => o.kind),
      ['Namespace', 'Secret'],
    );
  });

  it('names the document and line of a YAML syntax error', function () {
    const text = `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata:
  name: "unterminated
`;
    const docs = parseManifests(text, 'bad.yaml');
    assert.equal(docs[0]?.object?.metadata.name, 'a');
    assert.match(docs[1]?.error ?? '', /^bad\.yaml: document 2 \(line \d+\): /);
    assert.throws(() => loadManifests(text, 'bad.yaml'), ManifestError);
  });

  it('refuses unknown kinds and documents without kind, naming document and line', function () {
    const text = `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
metadata: {name: x}
`;
    const errors = parseManifests(text, 'm.yaml').flatMap((d) => (d.error ? [d.error] : []));
    assert.deepEqual(errors, [
      'm.yaml: document 2 (line 5): no matches for kind "Widget" in version "example.com/v1"',
      "m.yaml: document 3 (line 9): Object 'Kind' is missing in the object",
    ]);
  });

  it('reads YAML 1.1 scalars as kubectl does', function () {
    const [obj] = loadManifests(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: yes}}\n',
      'y.yaml',
    );
    assert.equal(obj?.metadata.labels?.['x'], true as unknown as string);
  });

  it('rejects duplicate keys', function () {
    const docs = parseManifests(
      'apiVersion: v1\nkind: Namespace\nkind: Pod\nmetadata: {name: a}\n',
      'd.yaml',
    );
    assert.match(docs[0]?.error ?? '', /d\.yaml: document 1 \(line 3\)/);
  });
});
