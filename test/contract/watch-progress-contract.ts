// Watch progress (the store side of watch bookmarks) as a mocha suite for every store that can
// tell it: asked with requestProgress, a watch given onProgress answers, in order with its events,
// a revision up to which every event of it has been delivered, and that revision covers the
// changes the watch does not see (other namespaces, other kinds).
import assert from 'node:assert/strict';
import { kinds } from '../../src/api/kinds.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { ObjectStore, Watch } from '../../src/store/types.js';
import { eventually } from '../helpers/eventually.js';

const CM = kinds.find((k) => k.kind === 'ConfigMap')!;
const SECRET = kinds.find((k) => k.kind === 'Secret')!;

const object = (kind: string, namespace: string, name: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, namespace },
});

export function describeWatchProgressContract(
  name: string,
  open: () => Promise<ObjectStore>,
  close: (store: ObjectStore) => Promise<void> = (store) => store.close(),
): void {
  describe(`ObjectStore watch progress: ${name}`, function () {
    let store: ObjectStore;
    const watches: Watch[] = [];
    beforeEach(async function () {
      store = await open();
    });
    afterEach(async function () {
      for (const w of watches.splice(0)) w.stop();
      await close(store);
    });

    /** Asks until an answer at or past `revision` came (etcd may pass over a request). */
    async function progressPast(watch: Watch, answers: string[], revision: string): Promise<string> {
      return eventually(`progress at ${revision}`, async () => {
        const answer = answers.find((rv) => Number(rv) >= Number(revision));
        if (!answer) watch.requestProgress!();
        return answer;
      });
    }

    it('answers after the events delivered, with a revision that covers changes the watch does not see', async function () {
      const seen: string[] = [];
      const answers: string[] = [];
      const watch = await store.watch(
        CM,
        {
          namespace: 'a',
          resourceVersion: await store.currentRevision(),
          onProgress: (rv) => {
            answers.push(rv);
            seen.push(`progress ${rv}`);
          },
        },
        (event) =>
          seen.push(`${event.type} ${event.object.metadata.name} ${event.object.metadata.resourceVersion}`),
      );
      watches.push(watch);
      assert.equal(typeof watch.requestProgress, 'function');
      const mine = await store.create(CM, object('ConfigMap', 'a', 'mine'));
      await store.create(CM, object('ConfigMap', 'b', 'other-namespace'));
      const last = await store.create(SECRET, object('Secret', 'a', 'other-kind'));
      const answer = await progressPast(watch, answers, last.metadata.resourceVersion!);
      assert.equal(answer, last.metadata.resourceVersion, 'nothing was written after it');
      assert.deepEqual(seen.slice(0, 1), [`ADDED mine ${mine.metadata.resourceVersion}`]);
      assert.ok(seen.indexOf(`progress ${answer}`) > 0, 'the answer comes after the event before it');
      assert.ok(
        answers.every((rv, i) => i === 0 || Number(rv) >= Number(answers[i - 1])),
        `answers never go back: ${answers.join(', ')}`,
      );
    });

    it('answers a watch without a revision after its initial objects', async function () {
      await store.create(CM, object('ConfigMap', 'a', 'existing'));
      const seen: string[] = [];
      const answers: string[] = [];
      const watch = await store.watch(
        CM,
        {
          namespace: 'a',
          onProgress: (rv) => {
            answers.push(rv);
            seen.push('progress');
          },
        },
        (event) => seen.push(`${event.type} ${event.object.metadata.name}`),
      );
      watches.push(watch);
      await progressPast(watch, answers, await store.currentRevision());
      assert.deepEqual(seen.slice(0, 2), ['ADDED existing', 'progress']);
    });

    it('does nothing for a watch that did not ask for progress', async function () {
      const seen: string[] = [];
      const watch = await store.watch(CM, { namespace: 'a' }, (event) => seen.push(event.type));
      watches.push(watch);
      watch.requestProgress?.();
      await store.create(CM, object('ConfigMap', 'a', 'later'));
      await eventually('the event', async () => seen.length === 1);
      assert.deepEqual(seen, ['ADDED']);
    });
  });
}
