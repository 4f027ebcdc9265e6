import assert from 'node:assert/strict';
import { storedRecordJson, type LogRecord } from '../../../src/store/wal.js';

describe('store/wal', function () {
  it("builds a record's JSON around its object's text exactly as JSON.stringify of the whole record", function () {
    const records: LogRecord[] = [
      {
        rev: 42,
        kind: '/configmaps',
        key: 'default/a "quoted" \\ name',
        op: 'put',
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'é\n\u2028' }, data: { k: 'v' } },
      },
      {
        rev: 7,
        kind: 'storage.k8s.io/storageclasses',
        key: 'fast',
        op: 'delete',
        object: { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: {} },
      },
    ];
    for (const record of records) {
      for (const hints of [
        [null, null, null, null, null, null],
        ['/configmaps default/b', null],
      ]) {
        const expected = JSON.stringify({ ...record, h: hints });
        assert.equal(storedRecordJson(record, hints, JSON.stringify(record.object)), expected);
        assert.deepEqual(JSON.parse(expected), { ...record, h: hints });
      }
    }
  });
});
