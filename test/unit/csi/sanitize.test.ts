import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CSI_PROTO_PATH } from '../../../src/csi/load.js';
import { REDACTED, findSecretFields, sanitizeMessage } from '../../../src/csi/sanitize.js';

describe('csi sanitize', () => {
  const index = findSecretFields(readFileSync(CSI_PROTO_PATH, 'utf8'), 'csi.v1');

  it('finds every csi_secret field in the proto', () => {
    const found = [...index.entries()]
      .flatMap(([msg, fields]) => [...fields].map((f) => `${msg}.${f}`))
      .sort();
    const expected = [
      'CreateSnapshotRequest.secrets',
      'CreateVolumeGroupSnapshotRequest.secrets',
      'CreateVolumeRequest.secrets',
      'ControllerExpandVolumeRequest.secrets',
      'ControllerModifyVolumeRequest.secrets',
      'ControllerPublishVolumeRequest.secrets',
      'ControllerUnpublishVolumeRequest.secrets',
      'DeleteSnapshotRequest.secrets',
      'DeleteVolumeGroupSnapshotRequest.secrets',
      'DeleteVolumeRequest.secrets',
      'GetMetadataAllocatedRequest.secrets',
      'GetMetadataDeltaRequest.secrets',
      'GetSnapshotRequest.secrets',
      'GetVolumeGroupSnapshotRequest.secrets',
      'ListSnapshotsRequest.secrets',
      'NodeExpandVolumeRequest.secrets',
      'NodePublishVolumeRequest.secrets',
      'NodeStageVolumeRequest.secrets',
      'ValidateVolumeCapabilitiesRequest.secrets',
    ]
      .map((f) => `csi.v1.${f}`)
      .sort();
    assert.deepEqual(found, expected);
  });

  it('tracks nesting and ignores comments and non-secret options', () => {
    const src = `
      message Outer {
        // string fake = 1 [(csi_secret) = true];
        message Inner { string token = 2 [(csi_secret) = true]; }
        map<string, string> params = 3 [(alpha_field) = true];
        oneof kind { string key = 4 [(csi_secret) = true]; }
      }`;
    const found = findSecretFields(src, 'p');
    assert.deepEqual([...(found.get('p.Outer.Inner') ?? [])], ['token']);
    assert.deepEqual([...(found.get('p.Outer') ?? [])], ['key']);
  });

  it('redacts secrets and leaves everything else, without mutating the input', () => {
    const request = {
      volume_id: 'v1',
      secrets: { password: 'hunter2', token: 's3cr3t' },
      volume_context: { share: 'nfs://x' },
      volume_capability: { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_type: 'mount' },
    };
    const out = sanitizeMessage('NodeStageVolumeRequest', request) as typeof request;
    assert.equal(out.secrets, REDACTED);
    assert.equal(out.volume_id, 'v1');
    assert.deepEqual(out.volume_context, { share: 'nfs://x' });
    assert.deepEqual(out.volume_capability, request.volume_capability);
    assert.equal(request.secrets.password, 'hunter2');
    assert.ok(!JSON.stringify(out).includes('hunter2'));
  });

  it('keeps empty secrets visible as empty', () => {
    assert.deepEqual(sanitizeMessage('DeleteVolumeRequest', { volume_id: 'v', secrets: {} }), {
      volume_id: 'v',
      secrets: {},
    });
  });

  it('follows nested messages and lists', () => {
    const response = {
      entries: [{ volume: { volume_id: 'a', capacity_bytes: '1' }, status: { published_node_ids: ['n'] } }],
    };
    assert.deepEqual(sanitizeMessage('ListVolumesResponse', response), response);
  });
});
