// The start and stop most controllers share: fill the informer caches before working the queue,
// so a reconcile never sees a half-listed world; stop the queue before the informers it reads.
import type { Controller } from './controller.js';
import type { ControllerInformers } from './shared-cache.js';

export abstract class QueueController {
  protected abstract readonly informers: ControllerInformers;
  protected abstract readonly controller: Controller;

  async start(): Promise<void> {
    await this.informers.sync();
    this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.informers.close();
  }

  /** Resolves once nothing is queued or being reconciled. For tests. */
  whenIdle(): Promise<void> {
    return this.controller.whenIdle();
  }
}
