/**
 * The numeric tolerance the planner and the checker agree on (issue 14). Plan documents carry demand (`rps`)
 * and time shares (`share`) as floating-point numbers, and the planner rounds both up to 6 decimals so that
 * documents stay readable and demand stays covered. The rules of DESIGN.md are then checked with one slack:
 *
 * - `verifyPlan` accepts `a <= b` when `a <= b x (1 + RULE_EPSILON) + RULE_EPSILON` (rule 3: rps against
 *   share x throughput, shares against 1; rule 6 the other way round; rules 4 and 5 with the absolute part);
 * - the planner writes every seat within it: `seatRps` never lets a demand rounded up to 6 decimals pass its
 *   seat's share x throughput (a full-share seat once wrote `135.748572` rps on an entry of
 *   `135.7485714...`, which the checker rightly rejected).
 *
 * RULE_EPSILON is far below anything physical (a billionth of a request per second) and far above the
 * rounding error of the few additions and products behind each figure.
 */

/** Relative and absolute slack of every comparison of the feasibility rules. */
export const RULE_EPSILON = 1e-9;

/** Quantum the planner rounds rps and shares to (6 decimals). */
export const PLAN_QUANTUM = 1e-6;

/** `a <= b` within `RULE_EPSILON` (relative and absolute), as `verifyPlan` checks the rules. */
export function atMost(a: number, b: number): boolean {
  return a <= b * (1 + RULE_EPSILON) + RULE_EPSILON;
}

/**
 * The rps a seat writes into the plan: its demand, except that a demand rounded up past the seat's
 * `share x throughput` by at most one `PLAN_QUANTUM` is written as `share x throughput` — which still covers
 * the demand before rounding, since the planner only gives a seat demand its share can serve. A larger excess
 * is a planner bug and is left for `verifyPlan` to report.
 */
export function seatRps(rps: number, share: number, throughput: number): number {
  const cap = share * throughput;
  if (atMost(rps, cap)) return rps;
  return rps - cap <= PLAN_QUANTUM * (1 + RULE_EPSILON) ? cap : rps;
}
