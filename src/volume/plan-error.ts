// The error planning throws when a claim, class or node cannot be turned into a valid request.

export class PlanError extends Error {
  /** True when another node might succeed: the claim's selected node should be dropped. */
  readonly reschedule: boolean;

  constructor(message: string, options: { reschedule?: boolean } = {}) {
    super(message);
    this.name = 'PlanError';
    this.reschedule = options.reschedule ?? false;
  }
}
