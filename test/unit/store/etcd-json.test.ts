import { strict as assert } from 'node:assert';
import { describe, it } from 'mocha';
import { decodeObject, encodeObject } from '../../../src/store/etcd-keys.js';
import { jsonWithResourceVersion } from '../../../src/store/etcd-json.js';
import type { KubeObject } from '../../../src/api/meta.js';

/** What a watch would have sent by parsing and serialising: the stored object with its resourceVersion. */
function parsedWay(stored: Buffer, revision: string): unknown {
  return decodeObject({ value: stored, mod_revision: revision });
}

function spliced(stored: Buffer, revision: string): unknown {
  const json = jsonWithResourceVersion(stored, revision);
  assert.ok(json, `no JSON for ${stored.toString()}`);
  return JSON.parse(json.toString('utf8'));
}

describe('etcd store: a stored value as watch JSON without parsing it', () => {
  it('is the stored object with metadata.resourceVersion, as parsing would give', () => {
    const volume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: 'pv-1',
        labels: { a: 'b' },
        managedFields: [{ manager: 'x', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { capacity: { storage: '1Gi' }, claimRef: { name: 'c', resourceVersion: '7' } },
      status: { phase: 'Bound' },
    } as unknown as KubeObject;
    const stored = encodeObject(volume);
    assert.deepEqual(spliced(stored, '1234'), parsedWay(stored, '1234'));
  });

  it('finds the top-level metadata after members that nest a "metadata" of their own', () => {
    const stored = Buffer.from(
      JSON.stringify({
        spec: { template: { metadata: { name: 'inner' } }, list: [{ metadata: {} }, '"metadata":{'] },
        note: 'a \\"quote\\" and a brace { and \\\\',
        count: 3,
        ok: true,
        none: null,
        metadata: { name: 'outer' },
        after: { metadata: { x: 1 } },
      }),
    );
    const out = spliced(stored, '9') as { metadata: unknown; spec: { template: { metadata: unknown } } };
    assert.deepEqual(out, parsedWay(stored, '9'));
    assert.deepEqual(out.metadata, { name: 'outer', resourceVersion: '9' });
    assert.deepEqual(out.spec.template.metadata, { name: 'inner' });
  });

  it('adds to an empty metadata; an object written with a resourceVersion is stored without it', () => {
    assert.deepEqual(spliced(Buffer.from('{"metadata":{}}'), '5'), { metadata: { resourceVersion: '5' } });
    const stored = encodeObject({ kind: 'X', metadata: { resourceVersion: '1', name: 'n' } } as KubeObject);
    assert.deepEqual(spliced(stored, '5'), { kind: 'X', metadata: { resourceVersion: '5', name: 'n' } });
    assert.deepEqual(spliced(stored, '5'), parsedWay(stored, '5'));
  });

  it('keeps multi-byte text and whitespace intact', () => {
    const stored = Buffer.from('{ "kind" : "Ünïcode ✓" , "metadata" : { "name" : "n" } , "x" : [ 1 , 2 ] }');
    assert.deepEqual(spliced(stored, '3'), parsedWay(stored, '3'));
  });

  it('gives up (the caller parses) on a value that is not an object with an object metadata', () => {
    for (const text of [
      '[1]',
      '"s"',
      '{}',
      '{"metadata":null}',
      '{"metadata":"x"}',
      '{"kind":"X"',
      '{"a":"unterminated',
      '',
      '{"a" 1}',
    ]) {
      assert.equal(jsonWithResourceVersion(Buffer.from(text), '1'), undefined, text);
    }
  });
});
