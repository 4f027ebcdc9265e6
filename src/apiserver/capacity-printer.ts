// Table columns of storage.k8s.io/v1 CSIStorageCapacity, as upstream prints them: name, class and
// capacity ("<unset>" when the driver reported none); upstream shows no age for this kind.
import { tryParseQuantity } from '../api/quantity.js';
import type { Printer } from './printer-types.js';

export const csiStorageCapacityPrinter: Printer = {
  columns: [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 0,
    },
    {
      name: 'StorageClassName',
      type: 'string',
      format: '',
      description:
        'storageClassName represents the name of the StorageClass that the reported capacity applies to.',
      priority: 0,
    },
    {
      name: 'Capacity',
      type: 'string',
      format: '',
      description: 'capacity is the value reported by the CSI driver in its GetCapacityResponse.',
      priority: 0,
    },
  ],
  cells(obj) {
    const capacity = obj['capacity'];
    const className = obj['storageClassName'];
    let shown = '<unset>';
    if (typeof capacity === 'string' || typeof capacity === 'number')
      shown = tryParseQuantity(capacity)?.toString() ?? String(capacity);
    return [obj.metadata.name ?? '', typeof className === 'string' ? className : '', shown];
  },
};
