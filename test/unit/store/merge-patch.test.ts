import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyMergePatch, createMergePatch, deepEqual, deepFreeze } from '../../../src/store/merge-patch.js';

describe('store/merge-patch', function () {
  // the examples of RFC 7386 appendix A
  const rfcCases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  rfcCases.forEach(([target, patch, expected], i) => {
    it(`RFC 7386 example ${i + 1}`, function () {
      assert.deepEqual(applyMergePatch(target, patch), expected);
    });
  });

  it('does not modify its inputs', function () {
    const target = { a: { b: 1 } };
    const patch = { a: { c: 2 } };
    const result = applyMergePatch(target, patch) as { a: Record<string, number> };
    result.a['d'] = 3;
    assert.deepEqual(target, { a: { b: 1 } });
    assert.deepEqual(patch, { a: { c: 2 } });
  });

  it('createMergePatch produces a patch that turns one document into the other', function () {
    const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('null'));
    const doc = fc.dictionary(fc.string({ maxLength: 3 }), json, { maxKeys: 5 });
    fc.assert(
      fc.property(doc, doc, (from, to) => {
        assert.ok(deepEqual(applyMergePatch(from, createMergePatch(from, to)), to));
      }),
    );
  });

  it('deepEqual ignores key order', function () {
    assert.equal(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }), true);
    assert.equal(deepEqual({ a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(deepEqual([1], { 0: 1 }), false);
  });

  it('deepFreeze freezes every object and array inside, an own __proto__ key included', function () {
    const value = JSON.parse(
      '{"a":[{"b":[[{"c":1}]]},"s",null],"__proto__":{"d":{"e":[]}},"f":{"g":{"h":{}}}}',
    ) as Record<string, unknown>;
    assert.equal(deepFreeze(value), value);
    const unfrozen: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (typeof v !== 'object' || v === null) return;
      if (!Object.isFrozen(v)) unfrozen.push(path);
      for (const key of Object.keys(v)) walk((v as Record<string, unknown>)[key], `${path}.${key}`);
    };
    walk(value, '$');
    assert.deepEqual(unfrozen, []);
    assert.equal(Object.isFrozen(Object.prototype), false);
    const own = Object.getOwnPropertyDescriptor(value, '__proto__')!.value as Record<string, unknown>;
    assert.equal(Reflect.set(own['d'] as object, 'x', 1), false);
    assert.equal(deepFreeze(7), 7);
    assert.equal(deepFreeze(null), null);
  });
});
