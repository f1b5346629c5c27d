/**
 * `replan(fleet, previous)`: a new plan for a fleet whose demand (or models) changed, starting from the plan
 * that runs. It keeps models, servers and layouts where they are unless moving them pays:
 *
 * 1. **stable** — the running plan repaired: a model whose demand grew first takes free time on the slices it
 *    already runs on, then slices that were free (spare slices, idle GPUs of its nodes: new servers), and only
 *    the rest gets new nodes, planned by `plan()` for that rest alone; a model whose demand fell gives up the
 *    servers it runs alone on while its others carry it, and needs less time on the rest. A server whose content
 *    must change (a model left the fleet, an entry no longer exists) is emptied and its models seated elsewhere.
 *    Then nodes are emptied where the hour saved is worth the models moved (`movedModelPrice`).
 * 2. **fresh** — `plan(fleet)` from scratch, its nodes mapped onto the running ones that keep most servers.
 *
 * The candidate with the least cost per hour + `movedModelPrice` × models moved + `recutGpuPrice` × GPUs re-cut
 * wins (ties: the stable one). An unchanged fleet gets the running plan back as it is.
 *
 * The stable candidate is made in `replan-repair.ts` (its cold tier in `replan-cold.ts`, its plan document in
 * `replan-document.ts`), the fresh one in `replan-fresh.ts`.
 */
import type { Fleet } from '../fleet/types';
import { baselines, lowerBound } from './bounds';
import { diffPlans, type PlanChanges } from './plan-changes';
import { plan as planFleet } from './plan';
import { PlanError } from './plan-error';
import { mapOntoRunning, nodesCost } from './replan-fresh';
import { runningPlanProblems } from './replan-input';
import { repair } from './replan-repair';
import { loadState, sliceFits, sliceShare } from './replan-state';
import type { Plan, PlanOptions } from './types';

/** Options of `replan()`: those of `plan()` and the price of change. */
export interface ReplanOptions extends PlanOptions {
  /**
   * Savings per hour (USD) a re-plan must buy for each model it moves (a model whose traffic goes to a server it
   * did not run on). 0 moves freely, `Infinity` never moves a model to save cost.
   * @default 0.5
   */
  readonly movedModelPrice?: number;
  /** Savings per hour (USD) a re-plan must buy for each GPU it re-cuts in place. @default 1 */
  readonly recutGpuPrice?: number;
  /**
   * How a node gets another configuration: `replace` (a new node with the new layout; Karpenter node pools and
   * managed node groups) or `in-place` (the same node re-cut: cordon, drain, relabel).
   * @default 'replace'
   */
  readonly recut?: 'replace' | 'in-place';
}

/** A candidate a re-plan weighed. */
export interface ReplanCandidate {
  readonly basis: 'stable' | 'fresh';
  readonly costPerHour: number;
  readonly modelsMoved: number;
  readonly gpusRecut: number;
  /** costPerHour + movedModelPrice × modelsMoved + recutGpuPrice × gpusRecut. */
  readonly score: number;
}

/** The result of `replan()`. */
export interface Replan {
  readonly plan: Plan;
  readonly changes: PlanChanges;
  /** `unchanged`: the running plan as it is; `stable`: the running plan repaired; `fresh`: a new plan on the running nodes. */
  readonly basis: 'unchanged' | 'stable' | 'fresh';
  readonly candidates: readonly ReplanCandidate[];
}

export const DEFAULT_MOVED_MODEL_PRICE = 0.5;
export const DEFAULT_RECUT_GPU_PRICE = 1;

function checkOptions(o: ReplanOptions): string[] {
  const out: string[] = [];
  const price = (k: 'movedModelPrice' | 'recutGpuPrice'): void => {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) out.push(`${k}: expected a number >= 0 (USD per hour), got ${String(v)}`);
  };
  price('movedModelPrice');
  price('recutGpuPrice');
  if (o.recut !== undefined && o.recut !== 'replace' && o.recut !== 'in-place')
    out.push(`recut: expected "replace" or "in-place", got ${JSON.stringify(o.recut)}`);
  return out;
}

/** Re-plans `fleet` from the running plan `previous`; see the module comment. Throws `PlanError` for bad input. */
export function replan(fleet: Fleet, previous: Plan, options: ReplanOptions = {}): Replan {
  const problems = [...checkOptions(options), ...runningPlanProblems(fleet, previous)];
  if (problems.length > 0) throw new PlanError(problems);
  const {
    movedModelPrice = DEFAULT_MOVED_MODEL_PRICE,
    recutGpuPrice = DEFAULT_RECUT_GPU_PRICE,
    recut = 'replace',
    ...planOptions
  } = options;
  if (isUnchanged(fleet, previous)) {
    return { plan: previous, changes: diffPlans(previous, previous, fleet), basis: 'unchanged', candidates: [] };
  }
  const fresh = planFleet(fleet, planOptions);
  const score = (p: Plan, c: PlanChanges): number =>
    p.summary.costPerHour + movedModelPrice * c.modelsMoved.length + recutGpuPrice * c.gpusRecut;
  const options2 = { movedModelPrice, planOptions };
  const found: { basis: 'stable' | 'fresh'; plan: Plan; changes: PlanChanges; score: number }[] = [];
  const stable = repair(fleet, previous, fresh, options2);
  if (stable) {
    const changes = diffPlans(previous, stable, fleet);
    found.push({ basis: 'stable', plan: stable, changes, score: score(stable, changes) });
  }
  const mapped = mapOntoRunning(previous, fresh, fleet, recut);
  const mappedChanges = diffPlans(previous, mapped, fleet);
  found.push({ basis: 'fresh', plan: mapped, changes: mappedChanges, score: score(mapped, mappedChanges) });
  let best = found[0];
  for (const f of found.slice(1)) if (f.score < best.score - 1e-9) best = f;
  return {
    plan: best.plan,
    changes: best.changes,
    basis: best.basis,
    candidates: found.map((f) => ({
      basis: f.basis,
      costPerHour: f.plan.summary.costPerHour,
      modelsMoved: f.changes.modelsMoved.length,
      gpusRecut: f.changes.gpusRecut,
      score: Math.round(f.score * 1e4) / 1e4,
    })),
  };
}

/**
 * The running plan still fits the fleet as it is: every model placed with exactly its demand (up to rounding),
 * the same cost, bound and baselines. Feasibility is the caller's `verifyPlan`-free check here: the placements'
 * entries, latency and memory are those `repair` would keep unchanged.
 */
function isUnchanged(fleet: Fleet, previous: Plan): boolean {
  const served = new Map<string, number>();
  for (const g of previous.gpus) for (const s of g.slices) for (const m of s.models) served.set(m.name, (served.get(m.name) ?? 0) + m.rps);
  for (const m of previous.cold?.models ?? []) served.set(m.name, (served.get(m.name) ?? 0) + m.rps);
  if (served.size !== fleet.models.length) return false;
  for (const m of fleet.models) {
    const got = served.get(m.name);
    if (got === undefined || got < m.rps * (1 - 1e-9) - 1e-9 || got > m.rps * (1 + 1e-9) + 1e-5 * (1 + countPlacements(previous, m.name)))
      return false;
  }
  if (previous.cold && (fleet.coldBelowRps === undefined || previous.cold.belowRps !== fleet.coldBelowRps)) return false;
  if (!previous.cold && fleet.coldBelowRps !== undefined && fleet.models.some((m) => m.rps < fleet.coldBelowRps!)) {
    // the fleet asks for a cold tier the running plan does not have: unchanged only if the plan never had one either way
    return false;
  }
  if (Math.abs(nodesCost(fleet, previous) - previous.summary.costPerHour) > 1e-4) return false;
  try {
    if (Math.abs(Math.round(lowerBound(fleet) * 1e4) / 1e4 - previous.summary.lowerBound) > 1e-9) return false;
    const b = baselines(fleet);
    if (b.dedicated !== previous.summary.baselines.dedicated || b.noMig !== previous.summary.baselines.noMig) return false;
  } catch (e) {
    if (e instanceof PlanError) return false;
    throw e;
  }
  // every placement still runs at an entry that exists, within latency and memory
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const state = loadState(previous, fleet, () => []);
  return state.gpus.every((g) =>
    g.slices.every(
      (s) =>
        s.placements.every((p) => p.throughput > 0 && p.rps <= p.share * p.throughput * (1 + 1e-9) + 1e-9) &&
        sliceShare(s) <= 1 + 1e-9 &&
        sliceFits(
          fleet,
          g.type,
          s.profile,
          s.placements.map((p) => ({ name: p.name, latencyMs: p.latencyMs, memGiB: p.memGiB })),
        ) &&
        s.placements.every((p) => specs.has(p.name)),
    ),
  );
}

function countPlacements(p: Plan, name: string): number {
  return p.gpus.reduce((n, g) => n + g.slices.filter((s) => s.models.some((m) => m.name === name)).length, 0);
}
