/**
 * Packing of one GPU type: dedicated full replicas at each model's most efficient slice shape,
 * then the remaining demand of every model co-located on shared slices (one Triton server per
 * slice) under the share, latency and memory rules, slices placed on GPUs at legal MIG starts.
 */
import { bestThroughputPerGpu, budgetOf, Candidate } from './entries';
import type { GpuOption, SliceShape } from './gpu-options';
import { GpuSpace, maximalLayouts, ReachTable } from './gpu-space';
import { layoutFill } from './layout-fill';
import { ModelInput, roundShareUp, roundUp6, SliceState } from './slice-state';

// The slice state and seat types are shared with layout-fill.ts; they live in slice-state.ts (no import circle).
export { SHARE_QUANTUM, roundShareUp, roundUp6, SliceState } from './slice-state';
export type { ModelInput, Seat } from './slice-state';

export interface PackVariant {
  /** Dedicated replicas at the best throughput per compute slice, or per GPU footprint (compute or memory slices, whichever is the larger fraction). */
  readonly full: 'compute' | 'footprint';
  /** First fill whole GPUs with one model at its best MIG layout (all slices used), then the rest. */
  readonly gpuFill: boolean;
  /** When > 0: first fill GPUs one at a time with the layout serving the most demand (mixing models), while a GPU serves at least this many GPU units. */
  readonly mixFill: number;
  /** Order of remainder items: by compute need, or by latency budget first. */
  readonly order: 'need' | 'budget';
  /** Existing slice choice: first that fits, or the one left fullest. */
  readonly fit: 'first' | 'best';
  /** New slice shape: least compute area, or the smallest shape that fits. */
  readonly open: 'area' | 'small';
}

const BASE_VARIANTS: readonly Omit<PackVariant, 'full' | 'gpuFill' | 'mixFill'>[] = [
  { order: 'need', fit: 'best', open: 'area' },
  { order: 'budget', fit: 'best', open: 'area' },
  { order: 'need', fit: 'first', open: 'small' },
  { order: 'budget', fit: 'best', open: 'small' },
];

/** Packing variants; the first `FAST_VARIANTS` are the ones used with `effort: 'fast'` (best on long-tail fleets). */
export const VARIANTS: readonly PackVariant[] = [
  { ...BASE_VARIANTS[3], full: 'footprint', gpuFill: true, mixFill: 0 },
  { ...BASE_VARIANTS[1], full: 'footprint', gpuFill: false, mixFill: 0.9 },
  { ...BASE_VARIANTS[0], full: 'footprint', gpuFill: false, mixFill: 0.9 },
  { ...BASE_VARIANTS[0], full: 'footprint', gpuFill: false, mixFill: 0.75 },
  { ...BASE_VARIANTS[0], full: 'footprint', gpuFill: false, mixFill: 0.97 },
  ...BASE_VARIANTS.slice(0, 3).map((v) => ({ ...v, full: 'footprint' as const, gpuFill: true, mixFill: 0 })),
  ...BASE_VARIANTS.map((v) => ({ ...v, full: 'footprint' as const, gpuFill: false, mixFill: 0 })),
  { ...BASE_VARIANTS[0], full: 'compute', gpuFill: false, mixFill: 0 },
  { ...BASE_VARIANTS[2], full: 'compute', gpuFill: false, mixFill: 0 },
];

/** Variants run with `effort: 'fast'`. */
export const FAST_VARIANTS = 2;

export interface PackResult {
  readonly gpus: GpuSpace[];
  readonly slices: SliceState[];
}

/** Window of recent shared slices searched for a fit (keeps 10,000-model fleets fast). */
const WINDOW = 400;

/** Most efficient (compute per request) candidate of a model, ties to the smaller shape. */
export function footprint(opt: GpuOption, shape: SliceShape): number {
  if (!opt.mig) return 1;
  return Math.max(shape.computeSlices / opt.computeSlices, shape.memorySlices / opt.memorySlices);
}

export function bestEfficient(input: ModelInput, opt: GpuOption, mode: 'compute' | 'footprint'): { shapeIndex: number; cand: Candidate } | undefined {
  let best: { shapeIndex: number; cand: Candidate } | undefined;
  let bestEff = -1;
  input.cands.forEach((list, shapeIndex) => {
    for (const c of list) {
      const eff = c.throughput / (mode === 'compute' ? c.shape.computeFraction : footprint(opt, c.shape));
      if (eff > bestEff * (1 + 1e-12)) {
        bestEff = eff;
        best = { shapeIndex, cand: c };
      }
    }
  });
  return best;
}

export function packType(opt: GpuOption, inputs: readonly ModelInput[], headroom: number, overhead: number, v: PackVariant): PackResult {
  const reach = new ReachTable(opt);
  const gpus: GpuSpace[] = [];
  const openGpus: GpuSpace[] = [];
  const slices: SliceState[] = [];

  const openSlice = (shapeIndex: number): SliceState => {
    const shape = opt.shapes[shapeIndex];
    for (let i = 0; i < openGpus.length; i++) {
      const g = openGpus[i];
      const s = g.bestStart(shape);
      if (s >= 0) {
        g.place(shape, s);
        if (g.freeCompute === 0) openGpus.splice(i, 1);
        const sl = new SliceState(g, shape, s, shapeIndex, overhead);
        slices.push(sl);
        return sl;
      }
    }
    const g = new GpuSpace(opt, reach);
    gpus.push(g);
    const s = g.bestStart(shape);
    g.place(shape, s);
    if (g.freeCompute > 0) openGpus.push(g);
    const sl = new SliceState(g, shape, s, shapeIndex, overhead);
    slices.push(sl);
    return sl;
  };

  // 1. dedicated full replicas
  interface Item { input: ModelInput; rps: number; budget: number; need: number }
  const full: { input: ModelInput; shapeIndex: number; cand: Candidate; count: number }[] = [];
  const items: Item[] = [];
  const remaining = inputs.map((i) => i.model.rps);
  let preShared: SliceState[] = [];
  if (v.mixFill > 0 && opt.mig) {
    const bestThr = inputs.map((i) => bestThroughputPerGpu(i.cands));
    preShared = layoutFill(opt, inputs, remaining, bestThr, reach, gpus, slices, headroom, overhead, v.mixFill);
    for (const g of gpus) if (g.freeCompute > 0) openGpus.push(g);
  }
  const layouts = v.gpuFill && opt.mig ? maximalLayouts(opt) : [];
  const shapeIndex = new Map(opt.shapes.map((sh, i) => [sh.profile, i]));
  inputs.forEach((input, idx) => {
    const best = bestEfficient(input, opt, v.full);
    if (!best) throw new Error(`models.${input.model.name}: no admissible profile entry on ${opt.type}`);
    let d = remaining[idx];
    if (d <= 0) return;
    if (layouts.length > 0) {
      // whole GPUs of this model at its best layout
      let bestL = -1;
      let bestThr = 0;
      layouts.forEach((l, li) => {
        let thr = 0;
        for (const p of l) thr += input.cands[shapeIndex.get(p.shape.profile)!][0]?.throughput ?? 0;
        if (thr > bestThr * (1 + 1e-12)) { bestThr = thr; bestL = li; }
      });
      const nGpu = bestL >= 0 && bestThr > 0 ? Math.floor(d / bestThr + 1e-12) : 0;
      for (let k = 0; k < nGpu; k++) {
        const g = new GpuSpace(opt, reach);
        gpus.push(g);
        for (const p of layouts[bestL]) {
          const si = shapeIndex.get(p.shape.profile)!;
          const c = input.cands[si][0];
          if (!c) continue;
          g.place(opt.shapes[si], p.start);
          const sl = new SliceState(g, opt.shapes[si], p.start, si, overhead);
          slices.push(sl);
          sl.add({ model: input.model, budget: budgetOf(input.model, headroom), cand: c, rps: c.throughput, share: 1 });
          d -= c.throughput;
        }
        if (g.freeCompute > 0) openGpus.push(g);
      }
      if (d <= input.model.rps * 1e-9) return;
    }
    const n = Math.floor(d / best.cand.throughput + 1e-12);
    let rem = d - n * best.cand.throughput;
    rem = rem <= d * 1e-9 ? 0 : Math.min(roundUp6(rem), best.cand.throughput);
    if (n > 0) full.push({ input, shapeIndex: best.shapeIndex, cand: best.cand, count: n });
    if (rem > 0) items.push({ input, rps: rem, budget: budgetOf(input.model, headroom), need: (rem / best.cand.throughput) * best.cand.shape.computeFraction });
  });
  full.sort((a, b) => b.cand.shape.computeSlices - a.cand.shape.computeSlices || b.cand.shape.memorySlices - a.cand.shape.memorySlices);
  for (const f of full) {
    for (let i = 0; i < f.count; i++) {
      const sl = openSlice(f.shapeIndex);
      sl.add({ model: f.input.model, budget: budgetOf(f.input.model, headroom), cand: f.cand, rps: f.cand.throughput, share: 1 });
    }
  }

  // 2. remainders on shared slices
  if (v.order === 'need') items.sort((a, b) => b.need - a.need);
  else items.sort((a, b) => a.budget - b.budget || b.need - a.need);
  const shared: SliceState[] = preShared;
  for (const it of items) {
    let bestSlice: SliceState | undefined;
    let bestCand: Candidate | undefined;
    let bestShare = 0;
    let bestScore = -1;
    const from = Math.max(0, shared.length - WINDOW);
    for (let i = shared.length - 1; i >= from; i--) {
      const sl = shared[i];
      const list = it.input.cands[sl.shapeIndex];
      if (list.length === 0 || sl.seats.some((x) => x.model === it.input.model)) continue;
      let cand: Candidate | undefined;
      let share = 0;
      let score = Infinity;
      const free = 1 - sl.share;
      for (const c of list) {
        const raw = it.rps / c.throughput;
        if (raw > free) continue;
        const sh = roundShareUp(raw);
        const f = sl.fit(c, sh, it.budget);
        if (f >= 0 && f < score) { score = f; cand = c; share = sh; }
      }
      if (!cand) continue;
      if (v.fit === 'first') { bestSlice = sl; bestCand = cand; bestShare = share; break; }
      if (score > bestScore) { bestScore = score; bestSlice = sl; bestCand = cand; bestShare = share; }
    }
    if (!bestSlice) {
      // open a new slice
      let pick = -1;
      let pickCand: Candidate | undefined;
      let pickShare = 0;
      let pickScore = Infinity;
      it.input.cands.forEach((list, shapeIndex) => {
        for (const c of list) {
          const sh = roundShareUp(it.rps / c.throughput);
          if (sh > 1) continue;
          const fullness = Math.max(sh, c.latencyMs / it.budget, (overhead + c.memGiB) / c.shape.memoryGiB);
          const score = v.open === 'area' ? fullness * c.shape.computeFraction : c.shape.computeFraction + fullness * 1e-3;
          if (score < pickScore - 1e-12) { pickScore = score; pick = shapeIndex; pickCand = c; pickShare = sh; }
        }
      });
      if (pick < 0 || !pickCand) {
        throw new Error(`models.${it.input.model.name}: remaining demand ${it.rps} rps fits no slice of ${opt.type}`);
      }
      bestSlice = openSlice(pick);
      bestCand = pickCand;
      bestShare = pickShare;
      shared.push(bestSlice);
    }
    bestSlice.add({ model: it.input.model, budget: it.budget, cand: bestCand!, rps: it.rps, share: bestShare });
    // drop slices that cannot take anything more from the window
    if (bestSlice.share > 1 - 1e-4 || bestSlice.latency >= bestSlice.budget - 1e-9) {
      const idx = shared.lastIndexOf(bestSlice);
      if (idx >= 0) shared.splice(idx, 1);
    }
  }
  return { gpus, slices };
}
