// The real kubectl against a started berth's kubeconfig, with the steps its tests repeat: run a
// command, create objects from stdin, and wait until `kubectl describe` shows what is expected.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { eventuallyWithin } from './eventually.js';
import type { KubectlRun } from './kubectl-server.js';

export function kubectlOn(kubeconfig: () => string, timeoutMs = 30_000) {
  const eventually = eventuallyWithin(timeoutMs, 250);
  const kubectl = async (args: string[], input = ''): Promise<KubectlRun> => {
    const r = await execa('kubectl', ['--kubeconfig', kubeconfig(), ...args], { reject: false, input });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  /** `kubectl create -f -` of the objects; fails with kubectl's stderr unless it exits 0. */
  const create = async (...docs: object[]): Promise<KubectlRun> => {
    const r = await kubectl(['create', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'));
    assert.equal(r.exitCode, 0, r.stderr);
    return r;
  };
  /** Waits until `kubectl describe` of the object shows every pattern; returns its output. */
  const describes = (resource: string, name: string, ...patterns: RegExp[]): Promise<string> =>
    eventually(`${resource}/${name} describes ${patterns.join(' and ')}`, async () => {
      const r = await kubectl(['describe', resource, name]);
      return patterns.every((p) => p.test(r.stdout)) ? r.stdout : undefined;
    });
  return { kubectl, create, describes };
}
