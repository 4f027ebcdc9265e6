// A periodic resync that costs nothing while nothing changes. A controller whose resync filter is
// a pure decision over its cache ("would the decision for this object do anything?") gets the
// same answers from an unchanged cache: once a pass found every object settled, the passes after
// it are skipped until the cache changes again (its generation moves). A decision that depends
// on the time is not settled (it asks to be looked at again later), so skipping never hides one.
import type { KubeObject } from '../api/meta.js';
import type { HandlerOptions } from './informer.js';

export class SettledResync {
  private readonly generation: () => number;

  /** `generation` counts the changes of everything the resync filters read. */
  constructor(generation: () => number) {
    this.generation = generation;
  }

  /** Handler options for one informer: resync every `resyncMs`, passing on what `needsLook` says. */
  options<T extends KubeObject>(resyncMs: number, needsLook: (obj: T) => boolean): HandlerOptions<T> {
    // this informer's last pass: the generation it started at, how many objects it passed on
    let pass: { generation: number; unsettled: number } | undefined;
    return {
      resyncMs,
      resyncNeeded: () => {
        const generation = this.generation();
        if (pass && pass.unsettled === 0 && pass.generation === generation) return false;
        pass = { generation, unsettled: 0 };
        return true;
      },
      resyncFilter: (obj) => {
        const look = needsLook(obj);
        if (look && pass) pass.unsettled++;
        return look;
      },
    };
  }
}
