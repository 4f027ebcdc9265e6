// Update rules per kind, case by case as the upstream ValidateXUpdate tests state them: each case
// is a stored object, a change, and either success or the exact field and message refused.
import assert from 'node:assert/strict';
import { isStatusError } from '../../../src/api/errors.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { prepareCreate, prepareUpdate } from '../../../src/api/validate.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- cases poke at fields freely
type Json = any;

interface Case {
  name: string;
  old: KubeObject;
  change: (o: Json) => void;
  /** undefined: allowed; otherwise the "field: message" the 422 must contain. */
  refused?: string;
}

const stored = (o: KubeObject, status?: Json): KubeObject => {
  const created = prepareCreate(structuredClone(o)) as Json;
  if (status) created['status'] = { ...created['status'], ...status };
  created['metadata'] = { ...created['metadata'], uid: 'uid-1', resourceVersion: '7' };
  return created as KubeObject;
};

const claim = (spec: Json = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'c1', namespace: 'default' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    storageClassName: 'fast',
    ...spec,
  },
});
const storageCapacity = (): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'CSIStorageCapacity',
  metadata: { name: 'csisc-1', namespace: 'kube-system' },
  storageClassName: 'fast',
  nodeTopology: { matchLabels: { zone: 'a' } },
  capacity: '1Gi',
});
const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';
/** A claim from before storageClassName: its class only in the beta annotation. */
const annotatedClaim = (cls: string): KubeObject => {
  const c = claim({ storageClassName: undefined }) as Json;
  c.metadata.annotations = { [BETA_CLASS]: cls };
  return c;
};
const bound = { phase: 'Bound', capacity: { storage: '1Gi' } };
const CLAIM_IMMUTABLE =
  'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';

const volume = (spec: Json = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv1' },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    csi: { driver: 'local.csi.berth.io', volumeHandle: 'h1' },
    ...spec,
  },
});
const claimRef = {
  kind: 'PersistentVolumeClaim',
  apiVersion: 'v1',
  namespace: 'default',
  name: 'c1',
  uid: 'u1',
};

const noExecute = { key: 'a', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 60 };
const pod = (spec: Json = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});
const POD_IMMUTABLE =
  'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`';

const statefulSet = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    serviceName: 'nginx',
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'www' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
  },
});
const STS_FORBIDDEN =
  "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

const storageClass = (): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'fast' },
  provisioner: 'local.csi.berth.io',
  parameters: { fsType: 'ext4' },
});
const csiDriver = (): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'CSIDriver',
  metadata: { name: 'local.csi.berth.io' },
  spec: { attachRequired: false },
});
const attachment = (): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'VolumeAttachment',
  metadata: { name: 'csi-abc' },
  spec: { attacher: 'local.csi.berth.io', nodeName: 'node-1', source: { persistentVolumeName: 'pv1' } },
});
const csiNode = (): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'CSINode',
  metadata: { name: 'node-1' },
  spec: { drivers: [{ name: 'local.csi.berth.io', nodeID: 'node-1', topologyKeys: ['zone'] }] },
});

const cases: Case[] = [
  // PersistentVolumeClaim (ValidatePersistentVolumeClaimUpdate)
  {
    name: 'pvc: labels and annotations change',
    old: stored(claim()),
    change: (o) => (o.metadata.labels = { a: 'b' }),
  },
  {
    name: 'pvc: volumeName set once while empty',
    old: stored(claim()),
    change: (o) => (o.spec.volumeName = 'pv1'),
  },
  {
    name: 'pvc: volumeName moved to another volume',
    old: stored(claim({ volumeName: 'pv1' }), bound),
    change: (o) => (o.spec.volumeName = 'other-pv'),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: volumeName cleared',
    old: stored(claim({ volumeName: 'pv1' }), bound),
    change: (o) => delete o.spec.volumeName,
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: storageClassName changed',
    old: stored(claim({ volumeName: 'pv1' }), bound),
    change: (o) => (o.spec.storageClassName = 'slow'),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: storageClassName set while it was nil',
    old: stored(claim({ storageClassName: undefined })),
    change: (o) => (o.spec.storageClassName = 'fast'),
  },
  {
    name: 'pvc: storageClassName changed on an unbound claim',
    old: stored(claim()),
    change: (o) => (o.spec.storageClassName = 'slow'),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: storageClassName set from nil to the class of the beta annotation',
    old: stored(annotatedClaim('fast')),
    change: (o) => (o.spec.storageClassName = 'fast'),
  },
  {
    name: 'pvc: storageClassName set from the beta annotation, which is dropped',
    old: stored(annotatedClaim('fast')),
    change: (o) => {
      o.spec.storageClassName = 'fast';
      delete o.metadata.annotations[BETA_CLASS];
    },
  },
  {
    name: 'pvc: storageClassName set from nil to another class than the beta annotation',
    old: stored(annotatedClaim('fast')),
    change: (o) => (o.spec.storageClassName = 'slow'),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: beta storage-class annotation changed',
    old: stored(annotatedClaim('fast')),
    change: (o) => (o.metadata.annotations[BETA_CLASS] = 'slow'),
    refused: `metadata.annotations[${BETA_CLASS}]: Invalid value: "slow": field is immutable`,
  },
  {
    name: 'pvc: beta storage-class annotation dropped without setting the class',
    old: stored(annotatedClaim('fast')),
    change: (o) => delete o.metadata.annotations[BETA_CLASS],
    refused: `metadata.annotations[${BETA_CLASS}]: Invalid value: "": field is immutable`,
  },
  {
    name: 'pvc: accessModes changed',
    old: stored(claim(), bound),
    change: (o) => (o.spec.accessModes = ['ReadWriteMany']),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: volumeMode changed',
    old: stored(claim()),
    change: (o) => (o.spec.volumeMode = 'Block'),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: selector added',
    old: stored(claim()),
    change: (o) => (o.spec.selector = { matchLabels: { a: 'b' } }),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: bound claim grows',
    old: stored(claim({ volumeName: 'pv1' }), bound),
    change: (o) => (o.spec.resources.requests.storage = '2Gi'),
  },
  {
    name: 'pvc: unbound claim grows',
    old: stored(claim()),
    change: (o) => (o.spec.resources.requests.storage = '2Gi'),
    refused: CLAIM_IMMUTABLE,
  },
  {
    name: 'pvc: bound claim shrinks below capacity',
    old: stored(claim({ volumeName: 'pv1' }), bound),
    change: (o) => (o.spec.resources.requests.storage = '512Mi'),
    refused: 'spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
  },
  {
    name: 'pvc: the same size spelled differently is no change',
    old: stored(claim()),
    change: (o) => (o.spec.resources.requests.storage = '1024Mi'),
  },
  {
    name: 'pvc: limits changed',
    old: stored(claim(), bound),
    change: (o) => (o.spec.resources.limits = { storage: '5Gi' }),
    refused: CLAIM_IMMUTABLE,
  },
  // PersistentVolume (ValidatePersistentVolumeUpdate)
  { name: 'pv: capacity grows', old: stored(volume()), change: (o) => (o.spec.capacity.storage = '2Gi') },
  {
    name: 'pv: reclaim policy changes',
    old: stored(volume()),
    change: (o) => (o.spec.persistentVolumeReclaimPolicy = 'Delete'),
  },
  {
    name: 'pv: source changed',
    old: stored(volume()),
    change: (o) => (o.spec.csi.volumeHandle = 'h2'),
    refused:
      'spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation',
  },
  {
    name: 'pv: volumeMode changed',
    old: stored(volume()),
    change: (o) => (o.spec.volumeMode = 'Block'),
    refused: 'spec.volumeMode: Invalid value: "Block": field is immutable',
  },
  {
    name: 'pv: nodeAffinity changed once set',
    old: stored(
      volume({
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }],
          },
        },
      }),
    ),
    change: (o) => (o.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values = ['b']),
    refused: 'spec.nodeAffinity: Invalid value:',
  },
  {
    name: 'pv: claimRef set on an available volume',
    old: stored(volume()),
    change: (o) => (o.spec.claimRef = claimRef),
  },
  {
    name: 'pv: claimRef uid filled in for the pre-bound claim',
    old: stored(volume({ claimRef: { ...claimRef, uid: undefined } })),
    change: (o) => (o.spec.claimRef = claimRef),
  },
  {
    name: 'pv: claimRef removed (release)',
    old: stored(volume({ claimRef })),
    change: (o) => delete o.spec.claimRef,
  },
  {
    name: 'pv: claimRef moved to another claim',
    old: stored(volume({ claimRef })),
    change: (o) => (o.spec.claimRef = { ...claimRef, name: 'other', uid: 'u2' }),
    refused: 'spec.claimRef: Forbidden: may not be changed to another claim once bound',
  },
  {
    name: 'pv: claimRef uid replaced',
    old: stored(volume({ claimRef })),
    change: (o) => (o.spec.claimRef.uid = 'u2'),
    refused: 'spec.claimRef: Forbidden',
  },
  // Pod (ValidatePodUpdate)
  {
    name: 'pod: image changes',
    old: stored(pod()),
    change: (o) => (o.spec.containers[0].image = 'busybox:2'),
  },
  {
    name: 'pod: nodeName set by update (only pods/binding may)',
    old: stored(pod()),
    change: (o) => (o.spec.nodeName = 'node-1'),
    refused: POD_IMMUTABLE,
  },
  {
    name: 'pod: nodeName moved',
    old: stored(pod({ nodeName: 'node-1' })),
    change: (o) => (o.spec.nodeName = 'node-2'),
    refused: POD_IMMUTABLE,
  },
  {
    name: 'pod: volumes changed',
    old: stored(pod({ volumes: [{ name: 'v', emptyDir: {} }] })),
    change: (o) => (o.spec.volumes = []),
    refused: POD_IMMUTABLE,
  },
  {
    name: 'pod: container added',
    old: stored(pod()),
    change: (o) => o.spec.containers.push({ name: 'd', image: 'busybox' }),
    refused: POD_IMMUTABLE,
  },
  {
    name: 'pod: activeDeadlineSeconds set',
    old: stored(pod()),
    change: (o) => (o.spec.activeDeadlineSeconds = 60),
  },
  {
    name: 'pod: activeDeadlineSeconds lowered',
    old: stored(pod({ activeDeadlineSeconds: 60 })),
    change: (o) => (o.spec.activeDeadlineSeconds = 30),
  },
  {
    name: 'pod: activeDeadlineSeconds raised',
    old: stored(pod({ activeDeadlineSeconds: 30 })),
    change: (o) => (o.spec.activeDeadlineSeconds = 60),
    refused: 'spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value',
  },
  {
    name: 'pod: activeDeadlineSeconds removed',
    old: stored(pod({ activeDeadlineSeconds: 30 })),
    change: (o) => delete o.spec.activeDeadlineSeconds,
    refused:
      'spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value',
  },
  {
    name: 'pod: activeDeadlineSeconds lowered to 0',
    old: stored(pod({ activeDeadlineSeconds: 30 })),
    change: (o) => (o.spec.activeDeadlineSeconds = 0),
    refused: 'spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive',
  },
  {
    name: 'pod: activeDeadlineSeconds negative',
    old: stored(pod()),
    change: (o) => (o.spec.activeDeadlineSeconds = -5),
    refused: 'spec.activeDeadlineSeconds: Invalid value: -5: must be between 0 and 2147483647, inclusive',
  },
  {
    name: 'pod: activeDeadlineSeconds beyond int32',
    old: stored(pod()),
    change: (o) => (o.spec.activeDeadlineSeconds = 2 ** 31),
    refused:
      'spec.activeDeadlineSeconds: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive',
  },
  {
    name: 'pod: toleration added',
    old: stored(pod({ tolerations: [noExecute] })),
    change: (o) => o.spec.tolerations.push({ key: 'b', operator: 'Exists', effect: 'NoSchedule' }),
  },
  {
    name: 'pod: tolerationSeconds of a NoExecute toleration lowered',
    old: stored(pod({ tolerations: [noExecute] })),
    change: (o) => (o.spec.tolerations[0].tolerationSeconds = 10),
  },
  {
    name: 'pod: toleration removed',
    old: stored(pod({ tolerations: [noExecute] })),
    change: (o) => (o.spec.tolerations = []),
    refused:
      'spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds',
  },
  {
    name: 'pod: toleration value changed',
    old: stored(pod({ tolerations: [noExecute] })),
    change: (o) => (o.spec.tolerations[0].value = 'other'),
    refused:
      'spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds',
  },
  {
    name: 'pod: tolerationSeconds given to a NoSchedule toleration',
    old: stored(pod({ tolerations: [{ key: 'b', operator: 'Exists', effect: 'NoSchedule' }] })),
    change: (o) => (o.spec.tolerations[0].tolerationSeconds = 10),
    refused:
      'spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set',
  },
  {
    name: 'pod: terminationGracePeriodSeconds negative fixed up to 1',
    old: stored(pod({ terminationGracePeriodSeconds: -1 })),
    change: (o) => (o.spec.terminationGracePeriodSeconds = 1),
  },
  {
    name: 'pod: terminationGracePeriodSeconds negative set to 5',
    old: stored(pod({ terminationGracePeriodSeconds: -1 })),
    change: (o) => (o.spec.terminationGracePeriodSeconds = 5),
    refused: POD_IMMUTABLE,
  },
  {
    name: 'pod: terminationGracePeriodSeconds 30 set to 1',
    old: stored(pod({ terminationGracePeriodSeconds: 30 })),
    change: (o) => (o.spec.terminationGracePeriodSeconds = 1),
    refused: POD_IMMUTABLE,
  },
  { name: 'pod: labels change', old: stored(pod()), change: (o) => (o.metadata.labels = { a: 'b' }) },
  // StatefulSet (ValidateStatefulSetUpdate)
  { name: 'sts: replicas change', old: stored(statefulSet()), change: (o) => (o.spec.replicas = 5) },
  {
    name: 'sts: template image changes',
    old: stored(statefulSet()),
    change: (o) => (o.spec.template.spec.containers[0].image = 'nginx:2'),
  },
  {
    name: 'sts: volumeClaimTemplates changed',
    old: stored(statefulSet()),
    change: (o) => (o.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi'),
    refused: STS_FORBIDDEN,
  },
  {
    name: 'sts: selector changed',
    old: stored(statefulSet()),
    change: (o) => (o.spec.selector = { matchLabels: { app: 'other' } }),
    refused: STS_FORBIDDEN,
  },
  {
    name: 'sts: serviceName changed',
    old: stored(statefulSet()),
    change: (o) => (o.spec.serviceName = 'other'),
    refused: STS_FORBIDDEN,
  },
  {
    name: 'sts: podManagementPolicy changed',
    old: stored(statefulSet()),
    change: (o) => (o.spec.podManagementPolicy = 'Parallel'),
    refused: STS_FORBIDDEN,
  },
  // StorageClass (ValidateStorageClassUpdate)
  {
    name: 'sc: allowVolumeExpansion changes',
    old: stored(storageClass()),
    change: (o) => (o.allowVolumeExpansion = true),
  },
  {
    name: 'sc: parameters changed',
    old: stored(storageClass()),
    change: (o) => (o.parameters = { fsType: 'xfs' }),
    refused: 'parameters: Forbidden: updates to parameters are forbidden.',
  },
  {
    name: 'sc: provisioner changed',
    old: stored(storageClass()),
    change: (o) => (o.provisioner = 'other.csi'),
    refused: 'provisioner: Forbidden: updates to provisioner are forbidden.',
  },
  {
    name: 'sc: reclaimPolicy changed',
    old: stored(storageClass()),
    change: (o) => (o.reclaimPolicy = 'Retain'),
    refused: 'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.',
  },
  {
    name: 'sc: volumeBindingMode changed',
    old: stored(storageClass()),
    change: (o) => (o.volumeBindingMode = 'WaitForFirstConsumer'),
    refused: 'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
  },
  // CSIDriver (ValidateCSIDriverUpdate)
  {
    name: 'csidriver: podInfoOnMount changes',
    old: stored(csiDriver()),
    change: (o) => (o.spec.podInfoOnMount = true),
  },
  {
    name: 'csidriver: attachRequired changed',
    old: stored(csiDriver()),
    change: (o) => (o.spec.attachRequired = true),
    refused: 'spec.attachRequired: Invalid value: true: field is immutable',
  },
  // VolumeAttachment (ValidateVolumeAttachmentUpdate)
  { name: 'va: labels change', old: stored(attachment()), change: (o) => (o.metadata.labels = { a: 'b' }) },
  {
    name: 'va: nodeName changed',
    old: stored(attachment()),
    change: (o) => (o.spec.nodeName = 'node-2'),
    refused: 'spec: Invalid value:',
  },
  {
    name: 'va: source changed',
    old: stored(attachment()),
    change: (o) => (o.spec.source.persistentVolumeName = 'pv2'),
    refused: 'field is immutable',
  },
  // CSINode (ValidateCSINodeUpdate)
  {
    name: 'csinode: a driver added',
    old: stored(csiNode()),
    change: (o) => o.spec.drivers.push({ name: 'nfs.csi.k8s.io', nodeID: 'n1' }),
  },
  { name: 'csinode: a driver removed', old: stored(csiNode()), change: (o) => (o.spec.drivers = []) },
  {
    name: 'csinode: allocatable changes',
    old: stored(csiNode()),
    change: (o) => (o.spec.drivers[0].allocatable = { count: 5 }),
  },
  {
    name: 'csinode: a registered driver changes its nodeID',
    old: stored(csiNode()),
    change: (o) => (o.spec.drivers[0].nodeID = 'other'),
    refused: 'CSINodeDriver: Invalid value:',
  },
  {
    name: 'csinode: a registered driver changes its topologyKeys',
    old: stored(csiNode()),
    change: (o) => (o.spec.drivers[0].topologyKeys = ['region']),
    refused: 'field is immutable',
  },
  // CSIStorageCapacity (ValidateCSIStorageCapacityUpdate)
  {
    name: 'csistoragecapacity: capacity and maximumVolumeSize change',
    old: stored(storageCapacity()),
    change: (o) => {
      o.capacity = '2Gi';
      o.maximumVolumeSize = '1Gi';
    },
  },
  {
    name: 'csistoragecapacity: storageClassName changed',
    old: stored(storageCapacity()),
    change: (o) => (o.storageClassName = 'slow'),
    refused: 'storageClassName: Invalid value: "slow": field is immutable',
  },
  {
    name: 'csistoragecapacity: nodeTopology changed',
    old: stored(storageCapacity()),
    change: (o) => (o.nodeTopology = { matchLabels: { zone: 'b' } }),
    refused: 'nodeTopology: Invalid value:',
  },
];

describe('update rules per kind', function () {
  for (const c of cases) {
    it(`${c.name}: ${c.refused === undefined ? 'allowed' : 'refused'}`, function () {
      const next = structuredClone(c.old) as Json;
      c.change(next);
      if (c.refused === undefined) {
        prepareUpdate(next, c.old);
        return;
      }
      assert.throws(
        () => prepareUpdate(next, c.old),
        (err: unknown) => {
          assert.ok(isStatusError(err, 'Invalid'), String(err));
          assert.equal(err.code, 422);
          assert.ok(err.message.includes(c.refused as string), `${err.message}\n  lacks ${c.refused}`);
          const field = (c.refused as string).split(':')[0] ?? '';
          if (!c.refused?.startsWith('field is')) {
            assert.ok(
              err.details?.causes?.some((cause) => cause.field === field),
              `no cause names ${field}: ${JSON.stringify(err.details?.causes)}`,
            );
          }
          return true;
        },
      );
    });
  }
});
