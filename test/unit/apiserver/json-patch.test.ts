import assert from 'node:assert/strict';
import { applyJsonPatch, PatchApplyError } from '../../../src/apiserver/json-patch.js';

describe('JSON patch (RFC 6902)', () => {
  const doc = { a: { b: 1, 'c/d': 2, 'e~f': 3 }, list: [1, 2, 3] };

  const cases: [string, unknown[], unknown][] = [
    ['add a member', [{ op: 'add', path: '/a/x', value: 9 }], { ...doc, a: { ...doc.a, x: 9 } }],
    ['add to the end of a list', [{ op: 'add', path: '/list/-', value: 4 }], { ...doc, list: [1, 2, 3, 4] }],
    ['insert into a list', [{ op: 'add', path: '/list/0', value: 0 }], { ...doc, list: [0, 1, 2, 3] }],
    ['remove an escaped key', [{ op: 'remove', path: '/a/c~1d' }], { ...doc, a: { b: 1, 'e~f': 3 } }],
    [
      'replace a tilde key',
      [{ op: 'replace', path: '/a/e~0f', value: 7 }],
      { ...doc, a: { ...doc.a, 'e~f': 7 } },
    ],
    ['move', [{ op: 'move', from: '/a/b', path: '/moved' }], { ...doc, a: { 'c/d': 2, 'e~f': 3 }, moved: 1 }],
    ['copy', [{ op: 'copy', from: '/list/1', path: '/copied' }], { ...doc, copied: 2 }],
    [
      'test then replace',
      [
        { op: 'test', path: '/a/b', value: 1 },
        { op: 'replace', path: '/a/b', value: 5 },
      ],
      { ...doc, a: { ...doc.a, b: 5 } },
    ],
  ];
  for (const [name, patch, expected] of cases) {
    it(name, () => assert.deepEqual(applyJsonPatch(doc, patch), expected));
  }

  it('does not modify its input', () => {
    const input = structuredClone(doc);
    applyJsonPatch(input, [{ op: 'remove', path: '/list/0' }]);
    assert.deepEqual(input, doc);
  });

  const failures: [string, unknown][] = [
    ['a failing test', [{ op: 'test', path: '/a/b', value: 2 }]],
    ['a missing path', [{ op: 'remove', path: '/nope' }]],
    ['an index out of range', [{ op: 'replace', path: '/list/3', value: 1 }]],
    ['an unknown operation', [{ op: 'frobnicate', path: '/a' }]],
    ['a patch that is not a list', { op: 'add' }],
  ];
  for (const [name, patch] of failures) {
    it(`rejects ${name}`, () => assert.throws(() => applyJsonPatch(doc, patch), PatchApplyError));
  }
});
