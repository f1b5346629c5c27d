/**
 * The planner's error for a fleet it cannot serve: every problem at once, one line each, naming
 * the path (`models.<name>`, `gpus[i].type`) and why. Anything else the planner throws is a bug.
 */
export class PlanError extends Error {
  /** One line per problem, e.g. `models.resnet50: no profile entry meets latency <= 0.5 x 1 ms ...`. */
  public readonly problems: string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'PlanError';
    this.problems = [...problems];
  }
}
