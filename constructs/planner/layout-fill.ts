/**
 * GPU-at-a-time filling for demand-heavy models: each new GPU takes the maximal MIG layout whose
 * slices, each given to the model that gains most from it, serve the most demand in units of
 * "whole GPUs at that model's best efficiency". It mixes models on one GPU (e.g. 3g for one,
 * 2g + 1g + 1g for others) so that no compute slice is stranded, and stops once no layout would
 * serve at least `threshold` GPU units; the remaining demand is packed onto shared slices.
 */
import { budgetOf, Candidate } from './entries';
import type { GpuOption } from './gpu-options';
import { GpuSpace, maximalLayouts, ReachTable } from './gpu-space';
import { ModelInput, roundShareUp, roundUp6, SliceState } from './slice-state';

interface Pick {
  model: number;
  cand: Candidate;
  rps: number;
  value: number;
}

/**
 * Best candidate of a model on a shape to serve up to `remaining` rps alone: full throughput, or the least-full entry that
 * still covers it.
 */
function pickCand(list: readonly Candidate[], remaining: number, budget: number): { cand: Candidate; rps: number } | undefined {
  if (list.length === 0) return undefined;
  const top = list[0];
  if (remaining >= top.throughput) return { cand: top, rps: top.throughput };
  let best: Candidate | undefined;
  let bestFull = Infinity;
  for (let j = 0; j < list.length; j++) {
    const c = list[j];
    if (c.throughput < remaining) continue;
    const full = Math.max(remaining / c.throughput, c.latencyMs / budget);
    if (full < bestFull) {
      bestFull = full;
      best = c;
    }
  }
  return best ? { cand: best, rps: remaining } : undefined;
}

/**
 * Fills whole GPUs; mutates `remaining` (rps per input) and appends to `gpus`/`slices`; returns
 * the slices that still have free share (candidates for co-location).
 */
export function layoutFill(
  opt: GpuOption,
  inputs: readonly ModelInput[],
  remaining: number[],
  bestGpuThr: readonly number[],
  reach: ReachTable,
  gpus: GpuSpace[],
  slices: SliceState[],
  headroom: number,
  overhead: number,
  threshold: number,
): SliceState[] {
  const partial: SliceState[] = [];
  if (!opt.mig) return partial;
  const layouts = maximalLayouts(opt);
  const shapeIndex = new Map(opt.shapes.map((sh, i) => [sh.profile, i]));
  const budgets = inputs.map((i) => budgetOf(i.model, headroom));
  // each layout's slices in the order they choose: larger slices first (sorted once, not per GPU filled)
  const orders = layouts.map((layout) =>
    layout.map((p, k) => ({ p, k })).sort((a, b) => b.p.shape.computeSlices - a.p.shape.computeSlices || a.k - b.k),
  );
  for (let guard = 0; guard < 100000; guard++) {
    let bestPicks: Pick[] | undefined;
    let bestLayout = -1;
    let bestValue = 0;
    // only demand-heavy models (at least half a smallest slice at best efficiency) take part
    const active = remaining.map((r, i) => (r > 1e-9 && r / bestGpuThr[i] >= 0.5 / opt.computeSlices ? i : -1)).filter((i) => i >= 0);
    if (active.length === 0) break;
    layouts.forEach((_, li) => {
      const rem = remaining.slice();
      const picks: Pick[] = [];
      let value = 0;
      // larger slices choose first
      const order = orders[li];
      // indexed loops: this runs per layout, slice and model while the code is not yet optimised
      for (let o = 0; o < order.length; o++) {
        const p = order[o].p;
        const si = shapeIndex.get(p.shape.profile)!;
        let pick: Pick | undefined;
        for (let a = 0; a < active.length; a++) {
          const m = active[a];
          if (rem[m] <= 1e-9) continue;
          const pc = pickCand(inputs[m].cands[si], rem[m], budgets[m]);
          if (!pc) continue;
          const v = pc.rps / bestGpuThr[m];
          if (!pick || v > pick.value + 1e-12) pick = { model: m, cand: pc.cand, rps: pc.rps, value: v };
        }
        if (!pick) {
          picks.push({ model: -1, cand: undefined as unknown as Candidate, rps: 0, value: 0 });
          continue;
        }
        rem[pick.model] -= pick.rps;
        value += pick.value;
        picks.push(pick);
      }
      if (value > bestValue + 1e-9) {
        bestValue = value;
        bestLayout = li;
        bestPicks = order.map(({ k }, j) => ({ ...picks[j], k }));
      }
    });
    if (!bestPicks || bestValue < threshold) break;
    const g = new GpuSpace(opt, reach);
    gpus.push(g);
    const layout = layouts[bestLayout];
    for (const pk of bestPicks as (Pick & { k: number })[]) {
      const p = layout[pk.k];
      const si = shapeIndex.get(p.shape.profile)!;
      const shape = opt.shapes[si];
      g.place(shape, p.start);
      const sl = new SliceState(g, shape, p.start, si, overhead);
      slices.push(sl);
      if (pk.model < 0) {
        partial.push(sl);
        continue;
      }
      const full = pk.rps >= pk.cand.throughput - 1e-9;
      const rps = full ? pk.cand.throughput : Math.min(roundUp6(pk.rps), pk.cand.throughput);
      const share = rps >= pk.cand.throughput ? 1 : roundShareUp(rps / pk.cand.throughput);
      sl.add({ model: inputs[pk.model].model, budget: budgets[pk.model], cand: pk.cand, rps, share });
      remaining[pk.model] = Math.max(0, remaining[pk.model] - rps);
      if (remaining[pk.model] <= inputs[pk.model].model.rps * 1e-9) remaining[pk.model] = 0;
      if (!full) partial.push(sl);
    }
  }
  return partial;
}
