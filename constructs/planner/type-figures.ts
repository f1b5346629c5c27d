/**
 * The figures of a plan over several GPU types. GPU counts of different types do not compare (seven
 * L4s at $5.63/h are not "3.5x" two H100s at $13.76/h), so a fleet offering several GPU types gets:
 * - per GPU type the plan uses, the bounds of the demand it placed on that type, on that type alone,
 *   and the plan's GPUs of that type against them (how well that type is packed);
 * - across types, the plan's cost against the cheapest cost any valid plan can have (`costLowerBound`,
 *   DESIGN.md's bound priced, and the tight bound's `costPerHour`).
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { bestGpuThroughput, lowerBound } from './bounds';
import { resolveGpuOptions } from './gpu-options';
import { nodePricePerHour } from './placement-entry';
import { PlanError } from './plan-error';
import { tightBound } from './tight-bound';
import type { Plan, PlanGpu, PlanNode, PlanSummary, PlanTypeSummary, TightBound } from './types';

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/**
 * DESIGN.md's lower bound in dollars per hour, valid for any mix of the fleet's GPU types: the larger of
 * (a) compute: sum over models of the cheapest, over types, of demand / best admissible throughput per
 * GPU x the type's cheapest price per GPU; (b) memory: the memory of the models that hold a seat
 * (at or above `coldBelowRps`) x the cheapest price per GiB of GPU memory over the types.
 * Every plan bills whole GPUs at least at these prices, so none costs less.
 */
export function costLowerBound(fleet: Fleet): number {
  const opts = resolveGpuOptions(fleet);
  const below = fleet.coldBelowRps;
  let compute = 0;
  let memory = 0;
  for (const m of fleet.models) {
    let cheapest = Infinity;
    for (const o of opts) {
      const best = bestGpuThroughput(m, o, fleet.latencyHeadroom);
      if (best > 0) cheapest = Math.min(cheapest, (m.rps / best) * o.pricePerGpuHour);
    }
    if (cheapest === Infinity)
      throw new PlanError([`models.${m.name}: no admissible profile entry on ${opts.map((o) => o.type).join(', ')}`]);
    compute += cheapest;
    if (below === undefined || m.rps >= below) memory += m.memoryGiB;
  }
  const perGiB = Math.min(...opts.map((o) => o.pricePerGpuHour / o.gpu.memoryGiB));
  return Math.max(compute, memory * perGiB);
}

/** Where the plan put each model's demand: per GPU type, the fraction of the model's placed rps there. */
function demandByType(gpus: readonly PlanGpu[]): Map<string, Map<string, number>> {
  const total = new Map<string, number>();
  const byType = new Map<string, Map<string, number>>();
  for (const g of gpus) {
    const of = byType.get(g.type) ?? new Map<string, number>();
    byType.set(g.type, of);
    for (const s of g.slices) {
      for (const m of s.models) {
        of.set(m.name, (of.get(m.name) ?? 0) + m.rps);
        total.set(m.name, (total.get(m.name) ?? 0) + m.rps);
      }
    }
  }
  for (const of of byType.values()) for (const [name, rps] of of) of.set(name, total.get(name)! > 0 ? rps / total.get(name)! : 0);
  return byType;
}

export interface TypeSummaryInput {
  /** The fleet with its real demand (the plan's bounds are of the real demand). */
  readonly fleet: Fleet;
  /** The plan's GPUs (slices, models and their rps). */
  readonly gpus: readonly PlanGpu[];
  /** The plan's nodes (each type's cost per hour is that of its nodes). */
  readonly nodes: readonly PlanNode[];
  /** Cold models (no seat) and the GPU type whose cache slices serve them. */
  readonly cold?: { readonly models: readonly string[]; readonly gpuType: string };
  /** Whether to compute the tight bound per type (HiGHS). */
  readonly solver: boolean;
}

/**
 * Per GPU type the plan uses, in the fleet's order: its GPUs and cost per hour; the lower bound
 * (DESIGN.md) and the tight bound of the demand the plan placed on it, each computed as for a fleet of
 * that type alone; and the GPUs against the tight bound (the lower bound without one).
 */
export function typeSummaries(input: TypeSummaryInput): PlanTypeSummary[] {
  const { fleet } = input;
  const opts = resolveGpuOptions(fleet);
  const placed = demandByType(input.gpus);
  const byName = new Map(fleet.models.map((m) => [m.name, m]));
  const out: PlanTypeSummary[] = [];
  for (const o of opts) {
    const gpus = input.gpus.filter((g) => g.type === o.type).length;
    if (gpus === 0) continue;
    const models: ModelSpec[] = [];
    for (const [name, fraction] of placed.get(o.type) ?? []) {
      const m = byName.get(name);
      if (m && fraction > 0) models.push(fraction >= 1 - 1e-12 ? m : { ...m, rps: m.rps * fraction });
    }
    if (input.cold && input.cold.gpuType === o.type) {
      for (const name of input.cold.models) {
        const m = byName.get(name);
        if (m) models.push(m);
      }
    }
    models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const sub: Fleet = { ...fleet, gpus: fleet.gpus.filter((g) => g.type === o.type), models };
    let lower: number | undefined;
    let tight: TightBound | undefined;
    if (models.length > 0) {
      try {
        lower = lowerBound(sub);
      } catch (e) {
        if (!(e instanceof PlanError)) throw e;
      }
      if (input.solver) {
        try {
          tight = tightBound(sub).bound;
        } catch (e) {
          if (!(e instanceof PlanError)) throw e;
        }
      }
    }
    const against = tight && tight.gpus > 0 ? tight.gpus : lower;
    out.push({
      type: o.type,
      gpus,
      costPerHour: round4(
        input.nodes.filter((n) => n.gpuType === o.type).reduce((c, n) => c + nodePricePerHour(fleet, o.type, n.instanceType), 0),
      ),
      ...(lower !== undefined ? { lowerBound: round4(lower) } : {}),
      ...(tight ? { tightBound: tight.gpus } : {}),
      ...(against !== undefined && against > 0 ? { ratio: round4(gpus / against) } : {}),
    });
  }
  return out;
}

/**
 * The figures a plan carries when its fleet offers several GPU types (none for one type): `byType`, and
 * its cost against the cheapest cost bound. `costLowerBound` is computed unless given (it depends on the
 * fleet only). `solver`: whether the per-type tight bounds are computed.
 */
export function mixedTypeFigures(
  fleet: Fleet,
  p: Pick<Plan, 'gpus' | 'nodes' | 'cold'> & {
    readonly costPerHour: number;
    readonly tightBound?: TightBound;
    readonly costLowerBound?: number;
  },
  solver: boolean,
): Pick<PlanSummary, 'byType' | 'costLowerBound' | 'costRatio'> {
  if (new Set(fleet.gpus.map((g) => g.type)).size < 2) return {};
  const cacheType = p.gpus.find((g) => g.slices.some((sl) => sl.cache))?.type;
  const byType = typeSummaries({
    fleet,
    gpus: p.gpus,
    nodes: p.nodes ?? [],
    solver,
    ...(p.cold && cacheType ? { cold: { models: p.cold.models.map((m) => m.name), gpuType: cacheType } } : {}),
  });
  // rounded down: still a bound
  const costBound = p.costLowerBound ?? Math.floor(costLowerBound(fleet) * 1e4) / 1e4;
  const cheapest = Math.max(costBound, p.tightBound?.costPerHour ?? 0);
  return { byType, costLowerBound: costBound, ...(cheapest > 0 ? { costRatio: round4(p.costPerHour / cheapest) } : {}) };
}
