import assert from 'node:assert/strict';
import { loadCsiDefinitions } from '../../../src/csi/load.js';

// Guards the wire contract: third-party drivers only interoperate if these numbers never drift.
describe('csi.proto wire contract (v1.12.0)', () => {
  const { packageDefinition, services } = loadCsiDefinitions();

  function fieldsOf(message: string): Record<string, number> {
    const def = packageDefinition[`csi.v1.${message}`] as {
      type: { field: { name: string; number: number }[] };
    };
    return Object.fromEntries(def.type.field.map((f) => [f.name, f.number]));
  }

  const table: [string, Record<string, number>][] = [
    ['GetPluginInfoResponse', { name: 1, vendor_version: 2, manifest: 3 }],
    ['PluginCapability', { service: 1, volume_expansion: 2 }],
    ['ProbeResponse', { ready: 1 }],
    [
      'CreateVolumeRequest',
      {
        name: 1,
        capacity_range: 2,
        volume_capabilities: 3,
        parameters: 4,
        secrets: 5,
        volume_content_source: 6,
        accessibility_requirements: 7,
        mutable_parameters: 8,
      },
    ],
    ['VolumeCapability', { block: 1, mount: 2, access_mode: 3 }],
    ['CapacityRange', { required_bytes: 1, limit_bytes: 2 }],
    [
      'Volume',
      { capacity_bytes: 1, volume_id: 2, volume_context: 3, content_source: 4, accessible_topology: 5 },
    ],
    ['TopologyRequirement', { requisite: 1, preferred: 2 }],
    ['DeleteVolumeRequest', { volume_id: 1, secrets: 2 }],
    [
      'ControllerPublishVolumeRequest',
      { volume_id: 1, node_id: 2, volume_capability: 3, readonly: 4, secrets: 5, volume_context: 6 },
    ],
    ['ControllerUnpublishVolumeRequest', { volume_id: 1, node_id: 2, secrets: 3 }],
    [
      'ValidateVolumeCapabilitiesRequest',
      {
        volume_id: 1,
        volume_context: 2,
        volume_capabilities: 3,
        parameters: 4,
        secrets: 5,
        mutable_parameters: 6,
      },
    ],
    ['ListVolumesRequest', { max_entries: 1, starting_token: 2 }],
    ['GetCapacityRequest', { volume_capabilities: 1, parameters: 2, accessible_topology: 3 }],
    ['GetCapacityResponse', { available_capacity: 1, maximum_volume_size: 2, minimum_volume_size: 3 }],
    ['ControllerExpandVolumeRequest', { volume_id: 1, capacity_range: 2, secrets: 3, volume_capability: 4 }],
    ['ControllerExpandVolumeResponse', { capacity_bytes: 1, node_expansion_required: 2 }],
    [
      'NodeStageVolumeRequest',
      {
        volume_id: 1,
        publish_context: 2,
        staging_target_path: 3,
        volume_capability: 4,
        secrets: 5,
        volume_context: 6,
      },
    ],
    [
      'NodePublishVolumeRequest',
      {
        volume_id: 1,
        publish_context: 2,
        staging_target_path: 3,
        target_path: 4,
        volume_capability: 5,
        readonly: 6,
        secrets: 7,
        volume_context: 8,
      },
    ],
    ['NodeGetInfoResponse', { node_id: 1, max_volumes_per_node: 2, accessible_topology: 3 }],
    [
      'NodeExpandVolumeRequest',
      {
        volume_id: 1,
        volume_path: 2,
        capacity_range: 3,
        staging_target_path: 4,
        volume_capability: 5,
        secrets: 6,
      },
    ],
    [
      'Snapshot',
      {
        size_bytes: 1,
        snapshot_id: 2,
        source_volume_id: 3,
        creation_time: 4,
        ready_to_use: 5,
        group_snapshot_id: 6,
      },
    ],
  ];
  for (const [message, expected] of table) {
    it(`${message} field numbers`, () => assert.deepEqual(fieldsOf(message), expected));
  }

  it('exposes the services under their v1 paths', () => {
    assert.equal(services.Identity['Probe']?.path, '/csi.v1.Identity/Probe');
    assert.equal(services.Controller['CreateVolume']?.path, '/csi.v1.Controller/CreateVolume');
    assert.equal(services.Node['NodePublishVolume']?.path, '/csi.v1.Node/NodePublishVolume');
    assert.equal(
      services.GroupController['CreateVolumeGroupSnapshot']?.path,
      '/csi.v1.GroupController/CreateVolumeGroupSnapshot',
    );
    assert.equal(services.SnapshotMetadata['GetMetadataAllocated']?.responseStream, true);
    assert.deepEqual(Object.keys(services.Node).sort(), [
      'NodeExpandVolume',
      'NodeGetCapabilities',
      'NodeGetInfo',
      'NodeGetVolumeStats',
      'NodePublishVolume',
      'NodeStageVolume',
      'NodeUnpublishVolume',
      'NodeUnstageVolume',
    ]);
  });
});
