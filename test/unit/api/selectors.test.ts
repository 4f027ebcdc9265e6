import assert from 'node:assert/strict';
import { isStatusError } from '../../../src/api/errors.js';
import {
  fieldValue,
  labelSelectorMatcher,
  labelSelectorToString,
  parseFieldSelector,
  parseLabelSelector,
} from '../../../src/api/selectors.js';

describe('api/selectors', function () {
  describe('parseLabelSelector', function () {
    const labels = { app: 'db', tier: 'gold', 'example.com/zone': 'a', count: '7' };
    const cases: Array<[string, boolean]> = [
      ['', true],
      ['app=db', true],
      ['app==db', true],
      ['app=web', false],
      ['app!=web', true],
      ['missing!=x', true],
      ['app in (web,db)', true],
      ['app in (web, other)', false],
      ['app notin (web)', true],
      ['missing notin (x)', true],
      ['app', true],
      ['missing', false],
      ['!missing', true],
      ['!app', false],
      ['example.com/zone=a,tier in (gold,silver),!missing', true],
      ['app=db,tier=silver', false],
      ['count>5', true],
      ['count<5', false],
      [' app = db , tier ', true],
    ];
    for (const [text, expected] of cases) {
      it(`"${text}" ${expected ? 'matches' : 'does not match'}`, function () {
        assert.equal(parseLabelSelector(text).matches(labels), expected);
      });
    }

    it('matches objects without labels only through negative requirements', function () {
      assert.equal(parseLabelSelector('!a,b!=c,d notin (e)').matches(undefined), true);
      assert.equal(parseLabelSelector('a').matches(undefined), false);
    });

    const bad = [
      'app in db',
      'app in (a',
      'app in ()',
      '!',
      'a,',
      ',a',
      'a b',
      'bad key!x=1',
      '-a=b',
      'a=b c',
      `a=${'x'.repeat(64)}`,
      'a>x',
    ];
    for (const text of bad) {
      it(`rejects "${text}" with a 400 naming the selector`, function () {
        assert.throws(
          () => parseLabelSelector(text),
          (err: unknown) =>
            isStatusError(err, 'BadRequest') && err.code === 400 && err.message.includes(`"${text}"`),
        );
      });
    }
  });

  describe('structured LabelSelector', function () {
    it('ANDs matchLabels and matchExpressions', function () {
      const matcher = labelSelectorMatcher({
        matchLabels: { app: 'db' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['gold', 'silver'] },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      });
      assert.equal(matcher.matches({ app: 'db', tier: 'gold' }), true);
      assert.equal(matcher.matches({ app: 'db', tier: 'gold', legacy: '' }), false);
      assert.equal(matcher.matches({ app: 'db' }), false);
    });

    it('selects nothing when absent and everything when empty', function () {
      assert.equal(labelSelectorMatcher(undefined).matches({ a: 'b' }), false);
      assert.equal(labelSelectorMatcher({}).matches({ a: 'b' }), true);
      assert.equal(labelSelectorMatcher({}).matches(undefined), true);
    });

    it('rejects In without values and Exists with values', function () {
      assert.throws(
        () => labelSelectorMatcher({ matchExpressions: [{ key: 'a', operator: 'In' }] }),
        /Required value/,
      );
      assert.throws(
        () => labelSelectorMatcher({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
        /Forbidden/,
      );
    });

    it('prints requirements sorted by key and parses back to the same meaning', function () {
      const selector = {
        matchLabels: { zone: 'a', app: 'db' },
        matchExpressions: [
          { key: 'tier', operator: 'NotIn' as const, values: ['b', 'a'] },
          { key: 'gpu', operator: 'Exists' as const },
          { key: 'old', operator: 'DoesNotExist' as const },
        ],
      };
      const text = labelSelectorToString(selector);
      assert.equal(text, 'app=db,gpu,!old,tier notin (a,b),zone=a');
      const labels = { app: 'db', gpu: '1', zone: 'a', tier: 'c' };
      assert.equal(parseLabelSelector(text).matches(labels), labelSelectorMatcher(selector).matches(labels));
    });
  });

  describe('parseFieldSelector', function () {
    const pv = {
      metadata: { name: 'pv1', namespace: '' },
      spec: { claimRef: { name: 'data', namespace: 'ns' }, capacity: { storage: 5 } },
      status: { phase: 'Bound' },
    };
    const cases: Array<[string, boolean]> = [
      ['', true],
      ['metadata.name=pv1', true],
      ['metadata.name==pv1', true],
      ['metadata.name!=pv1', false],
      ['status.phase!=Bound', false],
      ['spec.claimRef.name=data,spec.claimRef.namespace=ns', true],
      ['spec.nodeName=', true],
      ['spec.nodeName!=', false],
      ['spec.capacity.storage=5', true],
    ];
    for (const [text, expected] of cases) {
      it(`"${text}" ${expected ? 'matches' : 'does not match'}`, function () {
        assert.equal(parseFieldSelector(text).matches(pv), expected);
      });
    }

    it('unescapes \\, and \\= in values', function () {
      const sel = parseFieldSelector('metadata.name=a\\,b\\=c');
      assert.deepEqual(sel.requirements, [{ path: 'metadata.name', operator: '=', value: 'a,b=c' }]);
    });

    for (const text of ['metadata.name', '=x', 'metadata..name=x', 'a=b=c', 'a=\\q']) {
      it(`rejects "${text}" with a 400 naming the selector`, function () {
        assert.throws(
          () => parseFieldSelector(text),
          (err: unknown) => isStatusError(err, 'BadRequest') && err.message.includes(`'${text}'`),
        );
      });
    }

    it('reads absent and null fields as the empty string', function () {
      assert.equal(fieldValue({ a: null }, 'a'), '');
      assert.equal(fieldValue({ a: 'x' }, 'a.b'), '');
      assert.equal(fieldValue({ a: true }, 'a'), 'true');
    });
  });
});
