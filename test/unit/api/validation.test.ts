// Table tests of decoding, defaulting and validation: each case is an object and the exact
// API server message (or the fields named) that berth must answer with.
import assert from 'node:assert/strict';
import { isStatusError, type StatusError } from '../../../src/api/errors.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { prepareCreate, prepareUpdate } from '../../../src/api/validate.js';

const pv = (spec: Record<string, unknown>, name = 'pv1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    hostPath: { path: '/tmp/x' },
    ...spec,
  },
});
const pvc = (spec: Record<string, unknown>, name = 'claim1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});
const sc = (fields: Record<string, unknown>): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'fast' },
  provisioner: 'local.csi.berth.io',
  ...fields,
});
const pod = (
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = { name: 'p' },
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata,
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

interface Case {
  name: string;
  obj: KubeObject;
  /** exact message, or the list of fields the causes must name */
  want: string | { code: number; fields: string[] };
}

const cases: Case[] = [
  {
    name: 'PVC with an unknown access mode',
    obj: pvc({ accessModes: ['ReadWriteOnly'] }, 'www-web-0'),
    want: 'PersistentVolumeClaim "www-web-0" is invalid: spec.accessModes[0]: Unsupported value: "ReadWriteOnly": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
  },
  {
    name: 'PVC without access modes and storage request (several errors together)',
    obj: pvc({ accessModes: [], resources: {} }),
    want: 'PersistentVolumeClaim "claim1" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]',
  },
  {
    name: 'PVC with a zero request',
    obj: pvc({ resources: { requests: { storage: '0' } } }),
    want: 'PersistentVolumeClaim "claim1" is invalid: spec.resources.requests[storage]: Invalid value: "0": must be greater than zero',
  },
  {
    name: 'PVC with an unparsable quantity',
    obj: pvc({ resources: { requests: { storage: '5 GB' } } }),
    want: { code: 422, fields: ['spec.resources.requests[storage]'] },
  },
  {
    name: 'PVC mixing ReadWriteOncePod with another mode',
    obj: pvc({ accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'] }),
    want: 'PersistentVolumeClaim "claim1" is invalid: spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes',
  },
  {
    name: 'PVC with a bad selector operator and volume mode',
    obj: pvc({
      selector: { matchExpressions: [{ key: 'a', operator: 'Is', values: ['b'] }] },
      volumeMode: 'Raw',
    }),
    want: { code: 422, fields: ['spec.selector.matchExpressions[0].operator', 'spec.volumeMode'] },
  },
  {
    name: 'PVC with a name that is not a DNS subdomain',
    obj: pvc({}, 'Claim_1'),
    want: { code: 422, fields: ['metadata.name'] },
  },
  {
    name: 'PVC with a string where a list belongs (decode error)',
    obj: pvc({ accessModes: 'ReadWriteOnce' }),
    want: 'PersistentVolumeClaim in version "v1" cannot be handled as a PersistentVolumeClaim: json: cannot unmarshal string into Go struct field PersistentVolumeClaim.spec.accessModes of type array',
  },
  {
    name: 'PV without capacity and access modes',
    obj: pv({ capacity: undefined, accessModes: undefined }),
    want: 'PersistentVolume "pv1" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.capacity: Required value]',
  },
  {
    name: 'PV without a volume source',
    obj: pv({ hostPath: undefined }),
    want: 'PersistentVolume "pv1" is invalid: spec: Required value: must specify a volume type',
  },
  {
    name: 'PV with two volume sources',
    obj: pv({ nfs: { server: 'a', path: '/x' } }),
    want: 'PersistentVolume "pv1" is invalid: spec.nfs: Forbidden: may not specify more than 1 volume type',
  },
  {
    name: 'local PV without node affinity',
    obj: pv({ hostPath: undefined, local: { path: '/mnt/disks/a' } }),
    want: 'PersistentVolume "pv1" is invalid: spec.nodeAffinity: Required value: Local volume requires node affinity',
  },
  {
    name: 'PV with an unknown reclaim policy and capacity key',
    obj: pv({ persistentVolumeReclaimPolicy: 'Keep', capacity: { storage: '1Gi', cpu: '1' } }),
    want: { code: 422, fields: ['spec.capacity', 'spec.persistentVolumeReclaimPolicy'] },
  },
  {
    name: 'CSI PV without a volume handle and with a bad driver name',
    obj: pv({ hostPath: undefined, csi: { driver: 'bad_driver!' } }),
    want: { code: 422, fields: ['spec.csi.driver', 'spec.csi.volumeHandle'] },
  },
  {
    name: 'NFS PV with a relative path',
    obj: pv({ hostPath: undefined, nfs: { server: 'srv', path: 'exports' } }),
    want: 'PersistentVolume "pv1" is invalid: spec.nfs.path: Invalid value: "exports": must be an absolute path',
  },
  {
    name: 'RBD PV without monitors',
    obj: pv({ hostPath: undefined, rbd: { monitors: [], image: 'img' } }),
    want: 'PersistentVolume "pv1" is invalid: spec.rbd.monitors: Required value',
  },
  {
    name: 'PV node affinity without terms, and with a bad operator',
    obj: pv({
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'Near' }] }] },
      },
    }),
    want: 'PersistentVolume "pv1" is invalid: spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
  },
  {
    name: 'PV with an unknown field in a modelled source',
    obj: pv({ hostPath: { path: '/x', kind: 'Dir' } }),
    want: 'PersistentVolume in version "v1" cannot be handled as a PersistentVolume: strict decoding error: unknown field "spec.hostPath.kind"',
  },
  {
    name: 'StorageClass without a provisioner',
    obj: sc({ provisioner: undefined }),
    want: 'StorageClass "fast" is invalid: provisioner: Required value',
  },
  {
    name: 'StorageClass with Recycle and a bad binding mode',
    obj: sc({ reclaimPolicy: 'Recycle', volumeBindingMode: 'Later' }),
    want: 'StorageClass "fast" is invalid: [reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain", volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"]',
  },
  {
    name: 'StorageClass topology term without values',
    obj: sc({
      allowedTopologies: [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: [] }] }],
    }),
    want: { code: 422, fields: ['allowedTopologies[0].matchLabelExpressions[0].values'] },
  },
  {
    name: 'Pod without a name',
    obj: pod({}, {}),
    want: 'Pod "" is invalid: metadata.name: Required value: name or generateName is required',
  },
  {
    name: 'Pod mounting a volume it does not declare, and a claim volume without a claim name',
    obj: pod({
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: '' } }],
      containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'other', mountPath: '/d' }] }],
    }),
    want: {
      code: 422,
      fields: ['spec.volumes[0].persistentVolumeClaim.claimName', 'spec.containers[0].volumeMounts[0].name'],
    },
  },
  {
    name: 'Pod with duplicate volumes and a volume with two sources',
    obj: pod({
      volumes: [
        { name: 'a', emptyDir: {} },
        { name: 'a', emptyDir: {}, hostPath: { path: '/x' } },
      ],
    }),
    want: { code: 422, fields: ['spec.volumes[1].name', 'spec.volumes[1].hostPath'] },
  },
  {
    name: 'Pod without containers',
    obj: pod({ containers: [] }),
    want: 'Pod "p" is invalid: spec.containers: Required value',
  },
  {
    name: 'VolumeAttachment without node and source',
    obj: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: 'va1' },
      spec: { attacher: 'local.csi.berth.io', source: {} },
    },
    want: { code: 422, fields: ['spec.nodeName', 'spec.source'] },
  },
  {
    name: 'CSINode with a duplicate driver',
    obj: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSINode',
      metadata: { name: 'node-1' },
      spec: {
        drivers: [
          { name: 'a.b', nodeID: 'n' },
          { name: 'a.b', nodeID: 'n' },
        ],
      },
    },
    want: { code: 422, fields: ['spec.drivers[1].name'] },
  },
  {
    name: 'CSIStorageCapacity without a class, with a bad class, a negative size and a bad selector',
    obj: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIStorageCapacity',
      metadata: { name: 'csisc-1', namespace: 'kube-system' },
      nodeTopology: { matchExpressions: [{ key: 'zone', operator: 'Maybe' }] },
      capacity: '-1',
      maximumVolumeSize: 'lots',
    },
    want: {
      code: 422,
      fields: [
        'storageClassName',
        'nodeTopology.matchExpressions[0].operator',
        'capacity',
        'maximumVolumeSize',
      ],
    },
  },
  {
    name: 'CSIStorageCapacity for a class name that is not a DNS subdomain',
    obj: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIStorageCapacity',
      metadata: { name: 'csisc-1', namespace: 'kube-system' },
      storageClassName: 'Not_A_Name',
    },
    want: { code: 422, fields: ['storageClassName'] },
  },
  {
    name: 'StatefulSet whose selector does not match its template',
    obj: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'nginx' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    },
    want: { code: 422, fields: ['spec.template.metadata.labels'] },
  },
  {
    name: 'an unknown kind',
    obj: { apiVersion: 'ceph.rook.io/v1beta1', kind: 'Pool', metadata: { name: 'p' } },
    want: 'no matches for kind "Pool" in version "ceph.rook.io/v1beta1"',
  },
];

function check(err: unknown, want: Case['want']): boolean {
  assert.ok(isStatusError(err), `a StatusError, got ${String(err)}`);
  const e: StatusError = err;
  if (typeof want === 'string') {
    assert.equal(e.message, want);
    return true;
  }
  assert.equal(e.code, want.code, e.message);
  assert.deepEqual((e.details?.causes ?? []).map((c) => c.field).sort(), [...want.fields].sort(), e.message);
  return true;
}

function withoutUndefined(obj: KubeObject): KubeObject {
  return JSON.parse(JSON.stringify(obj)) as KubeObject;
}

describe('validation (table)', function () {
  for (const tc of cases) {
    it(tc.name, function () {
      assert.throws(
        () => prepareCreate(withoutUndefined(tc.obj)),
        (e) => check(e, tc.want),
      );
    });
  }
});

describe('defaulting', function () {
  it('defaults a static PV, a claim, a class, a CSIDriver and a StatefulSet like the API server', function () {
    const v = prepareCreate(pv({})) as KubeObject & {
      spec: Record<string, unknown>;
      status: Record<string, unknown>;
    };
    assert.equal(v.spec['persistentVolumeReclaimPolicy'], 'Retain');
    assert.equal(v.spec['volumeMode'], 'Filesystem');
    assert.equal(v.status['phase'], 'Pending');
    const c = prepareCreate({ ...pvc({}), metadata: { name: 'c' } }) as KubeObject & {
      spec: Record<string, unknown>;
    };
    assert.equal(c.metadata.namespace, 'default');
    assert.equal(c.spec['volumeMode'], 'Filesystem');
    assert.equal(
      c.spec['storageClassName'],
      undefined,
      'unset stays unset (admission picks the default class)',
    );
    const s = prepareCreate(sc({}));
    assert.equal(s['reclaimPolicy'], 'Delete');
    assert.equal(s['volumeBindingMode'], 'Immediate');
    const d = prepareCreate({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: 'x.y' },
      spec: {},
    });
    assert.deepEqual(d['spec'], {
      attachRequired: true,
      podInfoOnMount: false,
      requiresRepublish: false,
      storageCapacity: false,
      fsGroupPolicy: 'ReadWriteOnceWithFSType',
      volumeLifecycleModes: ['Persistent'],
    });
  });

  it('keeps fields berth does not model through a round trip', function () {
    const p = pod({
      containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: '1' }] }],
      restartPolicy: 'Never',
    });
    const out = prepareCreate(structuredClone(p)) as KubeObject & { spec: Record<string, unknown> };
    assert.equal(out.spec['restartPolicy'], 'Never');
    assert.deepEqual((out.spec['containers'] as { env: unknown }[])[0]!.env, [{ name: 'A', value: '1' }]);
    const claim = pvc({
      dataSource: { kind: 'VolumeSnapshot', name: 's', apiGroup: 'snapshot.storage.k8s.io' },
    });
    assert.deepEqual(
      (prepareCreate(claim) as KubeObject & { spec: Record<string, unknown> }).spec['dataSource'],
      {
        kind: 'VolumeSnapshot',
        name: 's',
        apiGroup: 'snapshot.storage.k8s.io',
      },
    );
  });
});

describe('update rules', function () {
  const stored = (o: KubeObject) => prepareCreate(structuredClone(o));

  it('a claim may grow its request once bound, and may not change anything else', function () {
    const old = stored(pvc({})) as KubeObject & { status: Record<string, unknown> };
    old.status['phase'] = 'Bound';
    old.status['capacity'] = { storage: '1Gi' };
    const grown = structuredClone(old) as unknown as KubeObject & {
      spec: { resources: { requests: Record<string, string> } };
    };
    grown.spec.resources.requests['storage'] = '2Gi';
    prepareUpdate(grown, old);
    const shrunk = structuredClone(grown);
    shrunk.spec.resources.requests['storage'] = '512Mi';
    assert.throws(
      () => prepareUpdate(shrunk, old),
      /spec.resources.requests.storage: Forbidden: field can not be less than status.capacity/,
    );
    const changed = structuredClone(old) as unknown as KubeObject & { spec: Record<string, unknown> };
    changed.spec['accessModes'] = ['ReadWriteMany'];
    assert.throws(() => prepareUpdate(changed, old), {
      message:
        'PersistentVolumeClaim "claim1" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    });
  });

  it('a request that failed to grow may come down again, but stays above status.capacity', function () {
    type Claim = KubeObject & {
      spec: { resources: { requests: Record<string, string> } };
      status: Record<string, unknown>;
    };
    const failed = stored(pvc({})) as Claim;
    failed.spec.resources.requests['storage'] = '20Ti';
    failed.status['phase'] = 'Bound';
    failed.status['capacity'] = { storage: '1Gi' };
    const asked = (storage: string) => {
      const next = structuredClone(failed);
      next.spec.resources.requests['storage'] = storage;
      return next;
    };
    prepareUpdate(asked('2Ti'), failed);
    prepareUpdate(asked('1025Mi'), failed);
    for (const storage of ['1Gi', '1024Mi', '512Mi'])
      assert.throws(
        () => prepareUpdate(asked(storage), failed),
        /field can not be less than status.capacity/,
      );
  });

  it('a claim may have its volumeName set once (binding)', function () {
    const old = stored(pvc({}));
    const bound = structuredClone(old) as KubeObject & { spec: Record<string, unknown> };
    bound.spec['volumeName'] = 'pv1';
    prepareUpdate(bound, old);
  });

  it('a PV source and a StorageClass provisioner and parameters are immutable', function () {
    const oldPv = stored(pv({}));
    const movedPv = structuredClone(oldPv) as KubeObject & { spec: { hostPath: { path: string } } };
    movedPv.spec.hostPath.path = '/elsewhere';
    assert.throws(() => prepareUpdate(movedPv, oldPv), /spec.persistentvolumesource: Forbidden/);
    const oldSc = stored(sc({ parameters: { a: '1' } }));
    const newSc = { ...structuredClone(oldSc), provisioner: 'other.csi', parameters: { a: '2' } };
    assert.throws(() => prepareUpdate(newSc, oldSc), {
      message:
        'StorageClass "fast" is invalid: [parameters: Forbidden: updates to parameters are forbidden., provisioner: Forbidden: updates to provisioner are forbidden.]',
    });
  });

  it('a pod gets its node only through pods/binding, and its volumes may not change', function () {
    const old = stored(pod({ volumes: [{ name: 'v', emptyDir: {} }] }));
    const scheduled = structuredClone(old) as KubeObject & { spec: Record<string, unknown> };
    scheduled.spec['nodeName'] = 'node-1';
    assert.throws(() => prepareUpdate(scheduled, old), /spec: Forbidden: pod updates may not change fields/);
    const changed = structuredClone(old) as KubeObject & { spec: Record<string, unknown> };
    changed.spec['volumes'] = [];
    assert.throws(() => prepareUpdate(changed, old), /spec: Forbidden: pod updates may not change fields/);
  });
});
