// Property test: random mutations of valid manifests never make validation throw anything but a
// StatusError that names a field (or the kind), and never crash.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isStatusError } from '../../../src/api/errors.js';
import { loadManifests } from '../../../src/api/manifests.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { prepareCreate } from '../../../src/api/validate.js';
import { readSeed } from '../../helpers/seeds.js';

const validSeeds = [
  'M12',
  'M13',
  'M15',
  'M24',
  'M26',
  'M32',
  'M40',
  'M41',
  'M43',
  'M44',
  'M45',
  'M46',
  'M48',
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value in the object. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

function setAt(root: Json, path: (string | number)[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const copy = structuredClone(root);
  let cur = copy as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (replacement === undefined) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete cur[last];
  } else cur[last] = replacement;
  return copy;
}

const replacement = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('', 'ReadWriteOnly', '-1Gi', '1.5Gi', 'x/y', 'UPPER', '../..', 'Block', 'In', '0'),
  fc.string({ maxLength: 6 }),
  fc.constant([]),
  fc.constant({}),
  fc.constant([{}]),
  fc.dictionary(fc.constantFrom('name', 'path', 'storage', 'bogus'), fc.string({ maxLength: 4 }), {
    maxKeys: 2,
  }),
) as fc.Arbitrary<Json | undefined>;

describe('validation under random mutation (fast-check)', function () {
  let objects: KubeObject[] = [];
  before(function () {
    objects = validSeeds.flatMap((id) => loadManifests(readSeed(`${id}.repaired.yaml`), id));
    for (const o of objects) prepareCreate(structuredClone(o)); // all start valid
  });

  it('every mutation either validates or fails with a StatusError naming a field', function () {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), replacement), { minLength: 1, maxLength: 3 }),
        (pick, mutations) => {
          let obj = objects[pick % objects.length] as unknown as Json;
          for (const [where, value] of mutations) {
            const all = paths(obj).filter((p) => p.length > 0);
            obj = setAt(obj, all[where % all.length]!, value);
          }
          try {
            prepareCreate(structuredClone(obj));
          } catch (e) {
            assert.ok(isStatusError(e), `not a StatusError: ${String(e)}`);
            assert.ok([400, 404, 422].includes(e.code), e.message);
            const causes = e.details?.causes ?? [];
            if (e.code === 422) assert.ok(causes.length > 0 && causes.every((c) => c.field), e.message);
            if (e.code === 400)
              assert.ok(causes.length > 0 || /missing|not a map/.test(e.message), e.message);
            if (e.code === 404) assert.match(e.message, /^no matches for kind/);
          }
        },
      ),
      { numRuns: Number(process.env['BERTH_FUZZ_RUNS'] ?? 1500) },
    );
  });
});
