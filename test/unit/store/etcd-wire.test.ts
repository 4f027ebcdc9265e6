import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { describe, it } from 'mocha';
import {
  decodeRangeResponse,
  decodeTxnResponse,
  encodeRangeRequest,
  encodeTxnRequest,
} from '../../../src/store/etcd-wire.js';

// etcd's own message definitions (as the etcd3 package ships them) are the reference encoding
const protoDir = path.join(path.dirname(createRequire(import.meta.url).resolve('etcd3')), '..', 'proto');
const definition = loadSync(path.join(protoDir, 'rpc.proto'), {
  includeDirs: [protoDir],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const kv = definition['etcdserverpb.KV'] as Record<
  string,
  {
    requestDeserialize(buf: Buffer): unknown;
    responseSerialize(value: unknown): Buffer;
  }
>;
const Txn = kv['Txn']!;
const Range = kv['Range']!;

const key = Buffer.from('/registry/persistentvolumes/pv-1');
const value = Buffer.from('{"kind":"PersistentVolume"}');

describe('etcd wire: Range and Txn messages as etcd defines them', () => {
  it('encodes a create transaction (compare create_revision 0, put, range on failure)', () => {
    const decoded = Txn.requestDeserialize(
      encodeTxnRequest({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value } }],
        failure: [{ request_range: { key } }],
      }),
    ) as Record<string, Record<string, unknown>[]>;
    const compare = decoded['compare']![0]!;
    assert.equal(compare['target'], 'Create');
    assert.equal(compare['result'], 'Equal');
    assert.deepEqual(compare['key'], key);
    assert.equal(compare['target_union'], 'create_revision');
    assert.equal(compare['create_revision'], '0');
    const put = decoded['success']![0]!['request_put'] as Record<string, unknown>;
    assert.deepEqual([put['key'], put['value']], [key, value]);
    assert.deepEqual((decoded['failure']![0]!['request_range'] as Record<string, unknown>)['key'], key);
  });

  it('encodes an update and a delete comparing mod_revision (revisions past 2^32 too)', () => {
    const decoded = Txn.requestDeserialize(
      encodeTxnRequest({
        compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: '8589934597' }],
        success: [{ request_delete_range: { key } }],
        failure: [],
      }),
    ) as Record<string, Record<string, unknown>[]>;
    const compare = decoded['compare']![0]!;
    assert.equal(compare['target'], 'Mod');
    assert.equal(compare['mod_revision'], '8589934597');
    assert.deepEqual(
      (decoded['success']![0]!['request_delete_range'] as Record<string, unknown>)['key'],
      key,
    );
  });

  it('encodes a range with range_end, limit, revision and count_only', () => {
    const decoded = Range.requestDeserialize(
      encodeRangeRequest({
        key,
        range_end: Buffer.from('/registry0'),
        limit: 500,
        revision: '77',
        count_only: true,
      }),
    ) as Record<string, unknown>;
    assert.deepEqual(decoded['range_end'], Buffer.from('/registry0'));
    assert.equal(decoded['limit'], '500');
    assert.equal(decoded['revision'], '77');
    assert.equal(decoded['count_only'], true);
  });

  it('refuses revisions that are no revision rather than sending them', () => {
    for (const bad of ['-1', 'x', '1e400', 2 ** 60]) {
      assert.throws(() =>
        encodeTxnRequest({
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: bad }],
          success: [],
          failure: [],
        }),
      );
    }
  });

  it('decodes a failed transaction with the compared key current value, every field kept', () => {
    const answer = Txn.responseSerialize({
      header: { cluster_id: '1', member_id: '2', revision: '9007199254740991', raft_term: '3' },
      succeeded: false,
      responses: [
        {
          response_range: {
            header: { revision: '12' },
            kvs: [{ key, value, create_revision: '5', mod_revision: '11', version: '3', lease: '0' }],
            more: false,
            count: '1',
          },
        },
        { response_put: { header: { revision: '12' } } },
      ],
    });
    const res = decodeTxnResponse(answer);
    assert.equal(res.header.revision, '9007199254740991');
    assert.equal(res.succeeded, false);
    assert.equal(res.responses.length, 2);
    assert.deepEqual(res.responses[0]!.response_range.kvs, [
      { key, value, create_revision: '5', mod_revision: '11', version: '3', lease: '0' },
    ]);
    assert.deepEqual(res.responses[1]!.response_range.kvs, []);
  });

  it('decodes a range page (more, count, several values, an empty value)', () => {
    const kvs = [
      { key, value, create_revision: '2', mod_revision: '4', version: '2', lease: '0' },
      {
        key: Buffer.from('/registry/x'),
        value: Buffer.alloc(0),
        create_revision: '6',
        mod_revision: '6',
        version: '1',
        lease: '0',
      },
    ];
    const res = decodeRangeResponse(
      Range.responseSerialize({ header: { revision: '40' }, kvs, more: true, count: '7' }),
    );
    assert.deepEqual(res, { header: { revision: '40' }, kvs, more: true, count: '7' });
  });

  it('throws on a malformed answer (a cut inside a field, a bad varint, an unknown wire type), never hangs', () => {
    const good = Range.responseSerialize({ header: { revision: '40' }, kvs: [{ key, value }], more: false });
    for (let cut = 1; cut < good.length; cut++) {
      try {
        decodeRangeResponse(good.subarray(0, cut));
      } catch (err) {
        assert.match((err as Error).message, /etcd answer/);
      }
    }
    assert.throws(
      () => decodeRangeResponse(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      /etcd answer/,
    );
    assert.throws(() => decodeTxnResponse(Buffer.from([0x0b])), /etcd answer/);
    assert.throws(() => decodeTxnResponse(Buffer.alloc(12, 0xff)), /etcd answer/);
  });
});
