/**
 * The physical lower bound a plan is measured against (DESIGN.md), and the bound on demand checked before
 * planning. The two baselines a plan is compared with are in baselines.ts.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { budgetOf, rawEntries } from './entries';
import { GpuOption, resolveGpuOptions } from './gpu-options';
import { PlanError } from './plan-error';
import { COLD_HIT_RATE } from './cold-tier';

export { baselines, noMigPacking } from './baselines';
export type { Baselines } from './baselines';

/** Per option: the compute fraction of the first shape with each entry slice size (one lookup per profile row, not a search). */
const FRACTIONS = new WeakMap<GpuOption, Map<number, number>>();

function computeFractions(opt: GpuOption): Map<number, number> {
  let m = FRACTIONS.get(opt);
  if (!m) {
    m = new Map();
    for (const s of opt.shapes) if (!m.has(s.entrySlice)) m.set(s.entrySlice, s.computeFraction);
    FRACTIONS.set(opt, m);
  }
  return m;
}

/** `bestGpuThroughput` per model object, then per GPU type, MIG and latency budget. */
const BEST_MEMO = new WeakMap<ModelSpec, Map<string, number>>();

/**
 * Best admissible throughput of a model on one whole GPU of a type if every compute slice ran at its
 * most efficient admissible entry: max over entries (latency <= headroom x SLO, slice size offered by
 * the type) of throughput / (slice / compute slices of the GPU). 0 when none is admissible.
 */
export function bestGpuThroughput(model: ModelSpec, opt: GpuOption, headroom: number): number {
  const budget = budgetOf(model, headroom);
  // remembered per model object (as its raw entries are), GPU type, MIG and budget: the demand check and the
  // DESIGN bound of one plan ask for the same figures, and each answer walks all of the model's rows
  let memo = BEST_MEMO.get(model);
  if (!memo) {
    memo = new Map();
    BEST_MEMO.set(model, memo);
  }
  const key = `${opt.type}/${opt.mig}/${budget}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const fractions = computeFractions(opt);
  let best = 0;
  const raw = rawEntries(model, opt);
  for (let j = 0; j < raw.length; j++) {
    const e = raw[j];
    if (e.latencyMs > budget) continue;
    const f = fractions.get(e.slice);
    if (f === undefined) continue;
    best = Math.max(best, e.throughput / f);
  }
  memo.set(key, best);
  return best;
}

/**
 * Most GPUs one plan may have. Demand that needs more at the DESIGN.md compute bound (each model at its most
 * efficient admissible entry on its best GPU type, every compute slice busy) is refused before any packing
 * (`demandProblems`), with the figure: the planner's work grows with the GPUs it packs, and `rps: 1e12` would
 * otherwise build GPUs until the heap is gone. 10,000 GPUs is over a thousand 8-GPU nodes, beyond any
 * single fleet the planner is benchmarked on.
 */
export const MAX_PLAN_GPUS = 10_000;

/** `12345678` → `12,345,678` (locale-independent); fractions rounded up. */
function gpuFigure(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Math.ceil(n - 1e-9)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * The problems of a fleet whose demand needs more than `MAX_PLAN_GPUS` GPUs even at the compute lower bound:
 * one per model that needs more alone (`models[3].rps: 1000000000000 rps needs at least 913,384,000 GPUs
 * ...`), else one for the fleet naming its largest models. [] when the demand fits. One pass over the
 * entries, no packing: a fleet of any demand is answered in milliseconds. `utilizationTarget` (< 1) plans
 * demand / target, and is counted so.
 */
export function demandProblems(fleet: Fleet, utilizationTarget = 1): string[] {
  const opts = resolveGpuOptions(fleet);
  const needs: { index: number; need: number; best: number; type: string }[] = [];
  let total = 0;
  fleet.models.forEach((m, index) => {
    let best = 0;
    let type = '';
    for (const o of opts) {
      const t = bestGpuThroughput(m, o, fleet.latencyHeadroom);
      if (t > best) {
        best = t;
        type = o.type;
      }
    }
    if (!(best > 0)) return; // no admissible entry: the planner names the model as unservable
    const need = m.rps / utilizationTarget / best;
    total += need;
    needs.push({ index, need, best, type });
  });
  if (!(total > MAX_PLAN_GPUS)) return [];
  const at = (i: number): string => `models[${i}]`;
  const rule = 'at its most efficient admissible entry, every compute slice busy';
  const target = utilizationTarget < 1 ? ` at utilization target ${utilizationTarget}` : '';
  const alone = needs.filter((x) => x.need > MAX_PLAN_GPUS);
  if (alone.length > 0) {
    return alone.map(
      (x) =>
        `${at(x.index)}.rps: ${fleet.models[x.index].rps} rps needs at least ${gpuFigure(x.need)} GPUs${target} ` +
        `(${Number(x.best.toPrecision(6))} rps per ${x.type} GPU ${rule}); a plan has at most ${gpuFigure(MAX_PLAN_GPUS)} GPUs`,
    );
  }
  const largest = needs
    .slice()
    .sort((a, b) => b.need - a.need || a.index - b.index)
    .slice(0, 3)
    .map((x) => `${at(x.index)} (${fleet.models[x.index].name}) ${gpuFigure(x.need)}`);
  return [
    `models: the fleet's demand needs at least ${gpuFigure(total)} GPUs${target} (each model ${rule}); ` +
      `a plan has at most ${gpuFigure(MAX_PLAN_GPUS)} GPUs; the largest: ${largest.join(', ')}`,
  ];
}

/**
 * Lower bound in GPUs (fractional), as DESIGN.md defines it: the larger of
 * (a) compute: sum over models of demand / best admissible throughput per compute slice, divided
 * by the GPU's compute slices; (b) memory: sum of `memoryGiB` / the GPU's memory.
 * With several GPU types each model counts on the type where it needs the fewest GPUs (and memory
 * divides by the largest GPU), so the bound holds for any mix of types the plan may choose.
 * With `coldBelowRps`, cold models count in (b) only as far as the cold tier keeps them loaded
 * (the most requested ones covering the hit-rate target).
 */
export function lowerBound(fleet: Fleet): number {
  const opts = resolveGpuOptions(fleet);
  let compute = 0;
  let memory = 0;
  const below = fleet.coldBelowRps;
  const cold =
    below === undefined ? [] : fleet.models.filter((m) => m.rps < below).sort((a, b) => b.rps - a.rps || (a.name < b.name ? -1 : 1));
  const coldTotal = cold.reduce((s, m) => s + m.rps, 0);
  let acc = 0;
  let hits = 0;
  for (const m of cold) {
    if (acc >= COLD_HIT_RATE * coldTotal - 1e-9 && hits > 0) break;
    memory += m.memoryGiB;
    acc += m.rps;
    hits++;
  }
  const problems: string[] = [];
  for (const m of fleet.models) {
    let best = 0;
    for (const o of opts) best = Math.max(best, bestGpuThroughput(m, o, fleet.latencyHeadroom));
    if (best <= 0) {
      problems.push(
        `models.${m.name}: no admissible profile entry (latency <= ${fleet.latencyHeadroom} x ${m.latencySloMs} ms) ` +
          `on ${opts.map((o) => o.type).join(', ')}`,
      );
      continue;
    }
    compute += m.rps / best;
    if (below === undefined || m.rps >= below) memory += m.memoryGiB;
  }
  if (problems.length > 0) throw new PlanError(problems);
  const maxMem = Math.max(...opts.map((o) => o.gpu.memoryGiB));
  return Math.max(compute, memory / maxMem);
}
