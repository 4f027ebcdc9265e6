import assert from 'node:assert/strict';
import { JsonPathError, evaluateJsonPath } from '../../../src/cli/jsonpath.js';
import { isConditionMet, parseWaitFor } from '../../../src/cli/wait-condition.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { UsageError } from '../../../src/cli/io.js';

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { 'app.kubernetes.io/name': 'x' } },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: 'PodScheduled', status: 'False' },
    ],
  },
};

describe('cli jsonpath', () => {
  const cases: [string, unknown[]][] = [
    ['{.status.phase}', ['Running']],
    ['.status.phase', ['Running']],
    ['{.status.conditions[0].type}', ['Ready']],
    ['{.status.conditions[-1].type}', ['PodScheduled']],
    ['{.status.conditions[*].status}', ['True', 'False']],
    ['{.status.conditions[?(@.type=="Ready")].status}', ['True']],
    ["{.metadata.labels['app.kubernetes.io/name']}", ['x']],
    ['{.spec.missing}', []],
  ];
  for (const [expression, expected] of cases) {
    it(`evaluates ${expression}`, () => assert.deepEqual(evaluateJsonPath(expression, pod), expected));
  }

  it('rejects what it cannot parse', () => {
    assert.throws(() => evaluateJsonPath('{.a[}', pod), JsonPathError);
  });
});

describe('cli wait --for', () => {
  it('parses every form', () => {
    assert.deepEqual(parseWaitFor('delete'), { kind: 'delete' });
    assert.deepEqual(parseWaitFor('condition=Ready'), { kind: 'condition', type: 'Ready', status: 'true' });
    assert.deepEqual(parseWaitFor('condition=Ready=False'), {
      kind: 'condition',
      type: 'Ready',
      status: 'False',
    });
    assert.deepEqual(parseWaitFor("jsonpath='{.status.phase}'=Bound"), {
      kind: 'jsonpath',
      expression: '{.status.phase}',
      value: 'Bound',
    });
    assert.deepEqual(parseWaitFor('jsonpath={.status.phase}'), {
      kind: 'jsonpath',
      expression: '{.status.phase}',
      value: undefined,
    });
    assert.throws(() => parseWaitFor('ready'), UsageError);
  });

  it('checks conditions against objects', () => {
    assert.ok(isConditionMet(parseWaitFor('condition=ready'), pod));
    assert.ok(!isConditionMet(parseWaitFor('condition=PodScheduled'), pod));
    assert.ok(isConditionMet(parseWaitFor('condition=PodScheduled=false'), pod));
    assert.ok(isConditionMet(parseWaitFor('jsonpath={.status.phase}=Running'), pod));
    assert.ok(!isConditionMet(parseWaitFor('jsonpath={.status.phase}=Bound'), pod));
    assert.ok(isConditionMet(parseWaitFor('delete'), undefined));
    assert.ok(!isConditionMet(parseWaitFor('delete'), pod));
    assert.ok(!isConditionMet(parseWaitFor('condition=Ready'), undefined));
  });
});
