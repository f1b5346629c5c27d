/**
 * Packing of one GPU type: dedicated full replicas at each model's most efficient slice shape,
 * then the remaining demand of every model co-located on shared slices (one Triton server per
 * slice) under the share, latency and memory rules, slices placed on GPUs at legal MIG starts.
 */
import { bestThroughputPerGpu, budgetOf, Candidate } from './entries';
import type { GpuOption, SliceShape } from './gpu-options';
import { GpuSpace, maximalLayouts, ReachTable } from './gpu-space';
import { layoutFill } from './layout-fill';
import { SeatWindow } from './seat-window';
import { ModelInput, roundShareUp, roundUp6, SliceState } from './slice-state';

// The slice state and seat types are shared with layout-fill.ts; they live in slice-state.ts (no import circle).
export { SHARE_QUANTUM, roundShareUp, roundUp6, SliceState } from './slice-state';
export type { ModelInput, Seat } from './slice-state';

export interface PackVariant {
  /**
   * Dedicated replicas at the best throughput per compute slice, or per GPU footprint (compute or memory slices, whichever
   * is the larger fraction).
   */
  readonly full: 'compute' | 'footprint';
  /** First fill whole GPUs with one model at its best MIG layout (all slices used), then the rest. */
  readonly gpuFill: boolean;
  /**
   * When > 0: first fill GPUs one at a time with the layout serving the most demand (mixing models), while a GPU serves at
   * least this many GPU units.
   */
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

/**
 * A packing variant. Every variant is made here, as one object literal (same keys in the same order), not by spreading
 * another object: V8 then gives every variant one hidden class, and the packing code optimised for one variant is not
 * deoptimised when it meets another (the noMig baseline's).
 */
export function packVariant(
  base: Omit<PackVariant, 'full' | 'gpuFill' | 'mixFill'>,
  full: PackVariant['full'],
  gpuFill: boolean,
  mixFill: number,
): PackVariant {
  return { order: base.order, fit: base.fit, open: base.open, full, gpuFill, mixFill };
}

/** Packing variants; the first `FAST_VARIANTS` are the ones used with `effort: 'fast'` (best on long-tail fleets). */
export const VARIANTS: readonly PackVariant[] = [
  packVariant(BASE_VARIANTS[3], 'footprint', true, 0),
  packVariant(BASE_VARIANTS[1], 'footprint', false, 0.9),
  packVariant(BASE_VARIANTS[0], 'footprint', false, 0.9),
  packVariant(BASE_VARIANTS[0], 'footprint', false, 0.75),
  packVariant(BASE_VARIANTS[0], 'footprint', false, 0.97),
  ...BASE_VARIANTS.slice(0, 3).map((v) => packVariant(v, 'footprint', true, 0)),
  ...BASE_VARIANTS.map((v) => packVariant(v, 'footprint', false, 0)),
  packVariant(BASE_VARIANTS[0], 'compute', false, 0),
  packVariant(BASE_VARIANTS[2], 'compute', false, 0),
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

export function bestEfficient(
  input: ModelInput,
  opt: GpuOption,
  mode: 'compute' | 'footprint',
): { shapeIndex: number; cand: Candidate } | undefined {
  let best: { shapeIndex: number; cand: Candidate } | undefined;
  let bestEff = -1;
  for (let shapeIndex = 0; shapeIndex < input.cands.length; shapeIndex++) {
    const list = input.cands[shapeIndex];
    for (let j = 0; j < list.length; j++) {
      const c = list[j];
      const eff = c.throughput / (mode === 'compute' ? c.shape.computeFraction : footprint(opt, c.shape));
      if (eff > bestEff * (1 + 1e-12)) {
        bestEff = eff;
        best = { shapeIndex, cand: c };
      }
    }
  }
  return best;
}

/** A model's most efficient candidate, per mode, on the option its candidates are of. */
interface EfficientOf {
  readonly opt: GpuOption;
  compute?: { shapeIndex: number; cand: Candidate };
  footprint?: { shapeIndex: number; cand: Candidate };
}

const EFFICIENT = new WeakMap<ModelInput, EfficientOf>();

/** `bestEfficient`, computed once per input object, option and mode (every packing variant of a type asks for it). */
function bestEfficientOnce(
  input: ModelInput,
  opt: GpuOption,
  mode: 'compute' | 'footprint',
): { shapeIndex: number; cand: Candidate } | undefined {
  let known = EFFICIENT.get(input);
  if (!known || known.opt !== opt) {
    known = { opt, compute: undefined, footprint: undefined };
    EFFICIENT.set(input, known);
  }
  let best = mode === 'compute' ? known.compute : known.footprint;
  if (!best) {
    best = bestEfficient(input, opt, mode);
    if (mode === 'compute') known.compute = best;
    else known.footprint = best;
  }
  return best;
}

/** One GPU type's packing in progress: the GPUs opened, those with free compute, and the slices placed. */
interface TypePacking {
  readonly opt: GpuOption;
  readonly reach: ReachTable;
  readonly headroom: number;
  readonly overhead: number;
  readonly gpus: GpuSpace[];
  /** GPUs with free compute, searched in order when a slice is opened. */
  readonly openGpus: GpuSpace[];
  readonly slices: SliceState[];
}

/** A model's demand left after its whole GPUs and dedicated replicas, to be seated on a shared slice. */
interface RemainderItem {
  input: ModelInput;
  rps: number;
  budget: number;
  need: number;
}

/** Full replicas of one model at its most efficient candidate, each a slice of its own. */
interface DedicatedReplicas {
  input: ModelInput;
  shapeIndex: number;
  cand: Candidate;
  count: number;
}

export function packType(opt: GpuOption, inputs: readonly ModelInput[], headroom: number, overhead: number, v: PackVariant): PackResult {
  const p: TypePacking = { opt, reach: new ReachTable(opt), headroom, overhead, gpus: [], openGpus: [], slices: [] };
  // 1. dedicated full replicas
  const remaining = inputs.map((i) => i.model.rps);
  let preShared: SliceState[] = [];
  if (v.mixFill > 0 && opt.mig) {
    const bestThr = inputs.map((i) => bestThroughputPerGpu(i.cands));
    preShared = layoutFill(opt, inputs, remaining, bestThr, p.reach, p.gpus, p.slices, headroom, overhead, v.mixFill);
    for (const g of p.gpus) if (g.freeCompute > 0) p.openGpus.push(g);
  }
  const { full, items } = splitDemand(p, inputs, remaining, v);
  placeDedicatedReplicas(p, full);
  // 2. remainders on shared slices
  seatRemainders(p, items, preShared, v);
  return { gpus: p.gpus, slices: p.slices };
}

/** Opens a slice of the shape on the first open GPU with a legal start for it, or on a new GPU. */
function openSlice(p: TypePacking, shapeIndex: number): SliceState {
  const shape = p.opt.shapes[shapeIndex];
  for (let i = 0; i < p.openGpus.length; i++) {
    const g = p.openGpus[i];
    const s = g.bestStart(shape);
    if (s >= 0) {
      g.place(shape, s);
      if (g.freeCompute === 0) p.openGpus.splice(i, 1);
      const sl = new SliceState(g, shape, s, shapeIndex, p.overhead);
      p.slices.push(sl);
      return sl;
    }
  }
  const g = new GpuSpace(p.opt, p.reach);
  p.gpus.push(g);
  const s = g.bestStart(shape);
  g.place(shape, s);
  if (g.freeCompute > 0) p.openGpus.push(g);
  const sl = new SliceState(g, shape, s, shapeIndex, p.overhead);
  p.slices.push(sl);
  return sl;
}

/**
 * Splits each model's demand left in `remaining`: whole GPUs at its best MIG layout (variant `gpuFill`, placed now),
 * full replicas at its most efficient candidate, and the remainder for a shared slice.
 */
function splitDemand(
  p: TypePacking,
  inputs: readonly ModelInput[],
  remaining: readonly number[],
  v: PackVariant,
): { full: DedicatedReplicas[]; items: RemainderItem[] } {
  const { opt, headroom } = p;
  const full: DedicatedReplicas[] = [];
  const items: RemainderItem[] = [];
  const layouts = v.gpuFill && opt.mig ? maximalLayouts(opt) : [];
  const shapeIndex = new Map(opt.shapes.map((sh, i) => [sh.profile, i]));
  // each layout's slices as shape indices, looked up once rather than per model
  const layoutShapes = layouts.map((l) => l.map((x) => shapeIndex.get(x.shape.profile)!));
  inputs.forEach((input, idx) => {
    const best = bestEfficientOnce(input, opt, v.full);
    if (!best) throw new Error(`models.${input.model.name}: no admissible profile entry on ${opt.type}`);
    let d = remaining[idx];
    if (d <= 0) return;
    if (layouts.length > 0) {
      d = placeWholeGpusAtBestLayout(p, input, d, layouts, layoutShapes);
      if (d <= input.model.rps * 1e-9) return;
    }
    const n = Math.floor(d / best.cand.throughput + 1e-12);
    let rem = d - n * best.cand.throughput;
    rem = rem <= d * 1e-9 ? 0 : Math.min(roundUp6(rem), best.cand.throughput);
    if (n > 0) full.push({ input, shapeIndex: best.shapeIndex, cand: best.cand, count: n });
    if (rem > 0)
      items.push({
        input,
        rps: rem,
        budget: budgetOf(input.model, headroom),
        need: (rem / best.cand.throughput) * best.cand.shape.computeFraction,
      });
  });
  return { full, items };
}

/** Places whole GPUs of one model at the layout that serves it most, while its demand `d` fills one; returns the demand left. */
function placeWholeGpusAtBestLayout(
  p: TypePacking,
  input: ModelInput,
  d: number,
  layouts: ReturnType<typeof maximalLayouts>,
  layoutShapes: readonly (readonly number[])[],
): number {
  const { opt, reach, overhead } = p;
  let bestL = -1;
  let bestThr = 0;
  const top = leastOf(input).topThroughput;
  for (let li = 0; li < layoutShapes.length; li++) {
    const shapes = layoutShapes[li];
    let thr = 0;
    for (let j = 0; j < shapes.length; j++) thr += top[shapes[j]];
    if (thr > bestThr * (1 + 1e-12)) {
      bestThr = thr;
      bestL = li;
    }
  }
  const nGpu = bestL >= 0 && bestThr > 0 ? Math.floor(d / bestThr + 1e-12) : 0;
  for (let k = 0; k < nGpu; k++) {
    const g = new GpuSpace(opt, reach);
    p.gpus.push(g);
    for (let j = 0; j < layouts[bestL].length; j++) {
      const x = layouts[bestL][j];
      const si = layoutShapes[bestL][j];
      const c = input.cands[si][0];
      if (!c) continue;
      g.place(opt.shapes[si], x.start);
      const sl = new SliceState(g, opt.shapes[si], x.start, si, overhead);
      p.slices.push(sl);
      sl.add({ model: input.model, budget: budgetOf(input.model, p.headroom), cand: c, rps: c.throughput, share: 1 });
      d -= c.throughput;
    }
    if (g.freeCompute > 0) p.openGpus.push(g);
  }
  return d;
}

/** Places the dedicated replicas, largest shapes first, each on a slice of its own at share 1. */
function placeDedicatedReplicas(p: TypePacking, full: DedicatedReplicas[]): void {
  full.sort((a, b) => b.cand.shape.computeSlices - a.cand.shape.computeSlices || b.cand.shape.memorySlices - a.cand.shape.memorySlices);
  for (const f of full) {
    for (let i = 0; i < f.count; i++) {
      const sl = openSlice(p, f.shapeIndex);
      sl.add({ model: f.input.model, budget: budgetOf(f.input.model, p.headroom), cand: f.cand, rps: f.cand.throughput, share: 1 });
    }
  }
}

/** A seat choice: the slice, the model's candidate on it and the share it takes; `at` is the slice's place in the window. */
interface SeatChoice {
  slice: SliceState;
  cand: Candidate;
  share: number;
  at: number;
}

/**
 * Seats each remainder, in the variant's order, on a shared slice of the recent window (`shared`, those that can
 * take more), or on a new slice; a slice that can take nothing more leaves the window.
 */
function seatRemainders(p: TypePacking, items: RemainderItem[], shared: SliceState[], v: PackVariant): void {
  if (v.order === 'need') items.sort((a, b) => b.need - a.need);
  else items.sort((a, b) => a.budget - b.budget || b.need - a.need);
  const window = new SeatWindow(shared.length + items.length);
  for (let i = 0; i < shared.length; i++) window.push(shared[i]);
  const needShare = new Float64Array(p.opt.shapes.length);
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    let choice = sharedSliceFor(it, window, needShare, v);
    if (!choice) {
      choice = newSliceFor(p, it, v);
      window.push(choice.slice);
      choice.at = window.length - 1;
    }
    const bestSlice = choice.slice;
    bestSlice.add({ model: it.input.model, budget: it.budget, cand: choice.cand, rps: it.rps, share: choice.share });
    // drop slices that cannot take anything more from the window
    if (bestSlice.share > 1 - 1e-4 || bestSlice.latency >= bestSlice.budget - 1e-9) window.removeAt(choice.at);
    else window.refresh(choice.at);
  }
}

/**
 * The shared slice of the window (newest first) that takes the remainder: the first that fits, or the one left fullest.
 * `needShare` is scratch space, one number per shape.
 */
function sharedSliceFor(it: RemainderItem, window: SeatWindow, needShare: Float64Array, v: PackVariant): SeatChoice | undefined {
  let best: SeatChoice | undefined;
  let bestScore = -1;
  const from = Math.max(0, window.length - WINDOW);
  const least = leastOf(it.input);
  const leastLatency = least.latencyMs;
  const leastMemory = least.memGiB;
  const cands = it.input.cands;
  const rps = it.rps;
  const budget = it.budget;
  // per shape, the share the fastest candidate needs (Infinity where the model has none)
  for (let si = 0; si < cands.length; si++) {
    const list = cands[si];
    needShare[si] = list.length === 0 ? Infinity : rps / list[0].throughput;
  }
  // Written for speed: the window's typed arrays, not the slices, until a slice passes the tests that no candidate can
  // fit it when the fastest needs more share than is free, or the least latency or memory does not fit (the same
  // comparisons as below and in SliceState.fit, on the extremes of the list: only slices that cannot take it are skipped)
  const { free: freeAt, latency: latencyAt, budget: budgetAt, memory: memoryAt, memoryLimit, shapeIndex } = window;
  for (let i = window.length - 1; i >= from; i--) {
    const si = shapeIndex[i];
    const free = freeAt[i];
    if (needShare[si] > free) continue;
    if (latencyAt[i] + leastLatency[si] > Math.min(budgetAt[i], budget)) continue;
    if (memoryAt[i] + leastMemory[si] > memoryLimit[i]) continue;
    const sl = window.slices[i];
    if (seatsModel(sl, it.input.model)) continue;
    const list = cands[si];
    let cand: Candidate | undefined;
    let share = 0;
    let score = Infinity;
    for (let j = 0; j < list.length; j++) {
      const c = list[j];
      const raw = rps / c.throughput;
      if (raw > free) continue;
      const sh = roundShareUp(raw);
      const f = sl.fit(c, sh, budget);
      if (f >= 0 && f < score) {
        score = f;
        cand = c;
        share = sh;
      }
    }
    if (!cand) continue;
    if (v.fit === 'first') return { slice: sl, cand, share, at: i };
    if (score > bestScore) {
      bestScore = score;
      best = { slice: sl, cand, share, at: i };
    }
  }
  return best;
}

/** Whether the slice has a seat of the model. */
function seatsModel(sl: SliceState, model: ModelInput['model']): boolean {
  const seats = sl.seats;
  for (let i = 0; i < seats.length; i++) if (seats[i].model === model) return true;
  return false;
}

/** Per shape, figures of a model's candidates: least latency and memory (Infinity where it has none), highest throughput. */
export interface Least {
  readonly latencyMs: number[];
  readonly memGiB: number[];
  /** Highest throughput (0 where it has none). */
  readonly throughput: number[];
  /** The throughput of the first candidate of each shape's list (0 where it has none). */
  readonly topThroughput: number[];
}

const LEAST = new WeakMap<ModelInput, Least>();

/** Least latency and memory and highest throughput of the input's candidates per shape (computed once per input object). */
export function leastOf(input: ModelInput): Least {
  let least = LEAST.get(input);
  if (!least) {
    least = { latencyMs: [], memGiB: [], throughput: [], topThroughput: [] };
    // indexed loops: this runs once per model and packing, mostly before the code is optimised
    const cands = input.cands;
    for (let si = 0; si < cands.length; si++) {
      const list = cands[si];
      let l = Infinity;
      let m = Infinity;
      let t = 0;
      for (let j = 0; j < list.length; j++) {
        const c = list[j];
        l = Math.min(l, c.latencyMs);
        m = Math.min(m, c.memGiB);
        if (c.throughput > t) t = c.throughput;
      }
      least.latencyMs.push(l);
      least.memGiB.push(m);
      least.throughput.push(t);
      least.topThroughput.push(list.length > 0 ? list[0].throughput : 0);
    }
    LEAST.set(input, least);
  }
  return least;
}

/** Opens the slice shape the variant prefers for the remainder: least compute area, or the smallest that fits. */
function newSliceFor(p: TypePacking, it: RemainderItem, v: PackVariant): SeatChoice {
  let pick = -1;
  let pickCand: Candidate | undefined;
  let pickShare = 0;
  let pickScore = Infinity;
  const cands = it.input.cands;
  for (let shapeIndex = 0; shapeIndex < cands.length; shapeIndex++) {
    const list = cands[shapeIndex];
    for (let j = 0; j < list.length; j++) {
      const c = list[j];
      const sh = roundShareUp(it.rps / c.throughput);
      if (sh > 1) continue;
      const fullness = Math.max(sh, c.latencyMs / it.budget, (p.overhead + c.memGiB) / c.shape.memoryGiB);
      const score = v.open === 'area' ? fullness * c.shape.computeFraction : c.shape.computeFraction + fullness * 1e-3;
      if (score < pickScore - 1e-12) {
        pickScore = score;
        pick = shapeIndex;
        pickCand = c;
        pickShare = sh;
      }
    }
  }
  if (pick < 0 || !pickCand) {
    throw new Error(`models.${it.input.model.name}: remaining demand ${it.rps} rps fits no slice of ${p.opt.type}`);
  }
  return { slice: openSlice(p, pick), cand: pickCand, share: pickShare, at: -1 };
}
