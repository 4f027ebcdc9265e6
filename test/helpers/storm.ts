// The objects of the unsatisfiable-claim case (issue: a 100Ti WaitForFirstConsumer claim used by
// one pod), shared by bench/storm.ts and its test so both measure the same thing.
import type { PersistentVolumeClaim, Pod, StorageClass } from '../../src/api/types.js';
import { newClaim, newClass, newPod } from './builders.js';

export interface StormObjects {
  storageClass: StorageClass;
  claim: PersistentVolumeClaim;
  pod: Pod;
}

export function unsatisfiableClaim(provisioner: string, request = '100Ti'): StormObjects {
  const storageClass = newClass('huge', { provisioner, bindingMode: 'WaitForFirstConsumer' });
  const claim = newClaim('huge', request, { className: 'huge' });
  const pod = newPod('uses-huge', ['huge']);
  return { storageClass, claim, pod };
}
