// Table columns of snapshot.storage.k8s.io/v1 as the upstream CRDs' additionalPrinterColumns
// declare them (names, types, descriptions); date columns print as ages, like the CRD printer.
import { ageOf } from '../api/age.js';
import type { KubeObject } from '../api/meta.js';
import type { VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent } from '../api/snapshot-types.js';
import type { ColumnDefinition, Printer } from './printer-types.js';

function col(name: string, type: ColumnDefinition['type'], description: string): ColumnDefinition {
  return { name, type, format: name === 'Name' ? 'name' : '', description, priority: 0 };
}

const nameColumn = col('Name', 'string', 'Name must be unique within a namespace.');
const ageColumn = col('Age', 'date', 'The time since the object was created.');

function age(obj: KubeObject, now: Date): string {
  return ageOf(obj.metadata.creationTimestamp, now);
}

/** A cell for an optional value: CRD printers leave missing values empty (null). */
function cell(value: unknown): unknown {
  return value === undefined ? null : value;
}

const volumeSnapshotClassPrinter: Printer = {
  columns: [
    nameColumn,
    col('Driver', 'string', ''),
    col(
      'DeletionPolicy',
      'string',
      'Determines whether a VolumeSnapshotContent created through the VolumeSnapshotClass should be deleted when its bound VolumeSnapshot is deleted.',
    ),
    ageColumn,
  ],
  cells(obj, now) {
    const c = obj as VolumeSnapshotClass;
    return [c.metadata.name ?? '', cell(c.driver), cell(c.deletionPolicy), age(c, now)];
  },
};

const volumeSnapshotPrinter: Printer = {
  columns: [
    nameColumn,
    col('ReadyToUse', 'boolean', 'Indicates if the snapshot is ready to be used to restore a volume.'),
    col(
      'SourcePVC',
      'string',
      'If a new snapshot needs to be created, this contains the name of the source PVC from which this snapshot was (or will be) created.',
    ),
    col(
      'SourceSnapshotContent',
      'string',
      'If a snapshot already exists, this contains the name of the existing VolumeSnapshotContent object representing the existing snapshot.',
    ),
    col(
      'RestoreSize',
      'string',
      'Represents the minimum size of volume required to rehydrate from this snapshot.',
    ),
    col('SnapshotClass', 'string', 'The name of the VolumeSnapshotClass requested by the VolumeSnapshot.'),
    col(
      'SnapshotContent',
      'string',
      'Name of the VolumeSnapshotContent object to which the VolumeSnapshot object intends to bind to. Please note that verification of binding actually requires checking both VolumeSnapshot and VolumeSnapshotContent to ensure both are pointing at each other. Binding MUST be verified prior to usage of this object.',
    ),
    col(
      'CreationTime',
      'date',
      'Timestamp when the point-in-time snapshot was taken by the underlying storage system.',
    ),
    ageColumn,
  ],
  cells(obj, now) {
    const vs = obj as VolumeSnapshot;
    const created = vs.status?.creationTime;
    return [
      vs.metadata.name ?? '',
      cell(vs.status?.readyToUse),
      cell(vs.spec?.source?.persistentVolumeClaimName),
      cell(vs.spec?.source?.volumeSnapshotContentName),
      cell(vs.status?.restoreSize),
      cell(vs.spec?.volumeSnapshotClassName),
      cell(vs.status?.boundVolumeSnapshotContentName),
      created ? ageOf(created, now) : null,
      age(vs, now),
    ];
  },
};

const volumeSnapshotContentPrinter: Printer = {
  columns: [
    nameColumn,
    col('ReadyToUse', 'boolean', 'Indicates if a snapshot is ready to be used to restore a volume.'),
    col('RestoreSize', 'integer', 'Represents the complete size of the snapshot in bytes'),
    col(
      'DeletionPolicy',
      'string',
      'Determines whether this VolumeSnapshotContent and its physical snapshot on the underlying storage system should be deleted when its bound VolumeSnapshot is deleted.',
    ),
    col(
      'Driver',
      'string',
      'Name of the CSI driver used to create the physical snapshot on the underlying storage system.',
    ),
    col('VolumeSnapshotClass', 'string', 'Name of the VolumeSnapshotClass to which this snapshot belongs.'),
    col(
      'VolumeSnapshot',
      'string',
      'Name of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
    ),
    col(
      'VolumeSnapshotNamespace',
      'string',
      'Namespace of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
    ),
    ageColumn,
  ],
  cells(obj, now) {
    const c = obj as VolumeSnapshotContent;
    return [
      c.metadata.name ?? '',
      cell(c.status?.readyToUse),
      cell(c.status?.restoreSize),
      cell(c.spec?.deletionPolicy),
      cell(c.spec?.driver),
      cell(c.spec?.volumeSnapshotClassName),
      cell(c.spec?.volumeSnapshotRef?.name),
      cell(c.spec?.volumeSnapshotRef?.namespace),
      age(c, now),
    ];
  },
};

export const snapshotPrinters: Readonly<Record<string, Printer>> = {
  VolumeSnapshotClass: volumeSnapshotClassPrinter,
  VolumeSnapshot: volumeSnapshotPrinter,
  VolumeSnapshotContent: volumeSnapshotContentPrinter,
};
