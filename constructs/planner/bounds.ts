/**
 * The physical lower bound a plan is measured against, and the two baselines it is compared with.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { budgetOf, Candidate, candidatesFor, rawEntries } from './entries';
import { GpuOption, resolveGpuOptions, SliceShape } from './gpu-options';
import { PlanError } from './plan-error';
import { COLD_HIT_RATE } from './cold-pool';
import { GpuSpace, ReachTable } from './gpu-space';
import { packType, ModelInput, PackResult, PackVariant, SliceState } from './pack';

/** The noMig baseline's packing: largest demand first, first GPU it fits. */
const FIRST_FIT_DECREASING: PackVariant = { order: 'need', fit: 'first', open: 'small', full: 'footprint', gpuFill: false, mixFill: 0 };

function computeFractionOf(opt: GpuOption, entrySlice: number): number | undefined {
  const shape = opt.shapes.find((s) => s.entrySlice === entrySlice);
  return shape?.computeFraction;
}

/**
 * Best admissible throughput of a model on one whole GPU of a type if every compute slice ran at its
 * most efficient admissible entry: max over entries (latency <= headroom x SLO, slice size offered by
 * the type) of throughput / (slice / compute slices of the GPU). 0 when none is admissible.
 */
export function bestGpuThroughput(model: ModelSpec, opt: GpuOption, headroom: number): number {
  const budget = budgetOf(model, headroom);
  let best = 0;
  for (const e of rawEntries(model, opt)) {
    if (e.latencyMs > budget) continue;
    const f = computeFractionOf(opt, e.slice);
    if (f === undefined) continue;
    best = Math.max(best, e.throughput / f);
  }
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
      if (t > best) { best = t; type = o.type; }
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
    return alone.map((x) => `${at(x.index)}.rps: ${fleet.models[x.index].rps} rps needs at least ${gpuFigure(x.need)} GPUs${target} `
      + `(${Number(x.best.toPrecision(6))} rps per ${x.type} GPU ${rule}); a plan has at most ${gpuFigure(MAX_PLAN_GPUS)} GPUs`);
  }
  const largest = needs.slice().sort((a, b) => b.need - a.need || a.index - b.index).slice(0, 3)
    .map((x) => `${at(x.index)} (${fleet.models[x.index].name}) ${gpuFigure(x.need)}`);
  return [`models: the fleet's demand needs at least ${gpuFigure(total)} GPUs${target} (each model ${rule}); `
    + `a plan has at most ${gpuFigure(MAX_PLAN_GPUS)} GPUs; the largest: ${largest.join(', ')}`];
}

/**
 * Lower bound in GPUs (fractional), as DESIGN.md defines it: the larger of
 * (a) compute: sum over models of demand / best admissible throughput per compute slice, divided
 * by the GPU's compute slices; (b) memory: sum of `memoryGiB` / the GPU's memory.
 * With several GPU types each model counts on the type where it needs the fewest GPUs (and memory
 * divides by the largest GPU), so the bound holds for any mix of types the plan may choose.
 * With `coldBelowRps`, cold models count in (b) only as far as the cold pool keeps them loaded
 * (the most requested ones covering the hit-rate target).
 */
export function lowerBound(fleet: Fleet): number {
  const opts = resolveGpuOptions(fleet);
  let compute = 0;
  let memory = 0;
  const below = fleet.coldBelowRps;
  const cold = below === undefined ? [] : fleet.models.filter((m) => m.rps < below)
    .sort((a, b) => b.rps - a.rps || (a.name < b.name ? -1 : 1));
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
      problems.push(`models.${m.name}: no admissible profile entry (latency <= ${fleet.latencyHeadroom} x ${m.latencySloMs} ms) on ${opts.map((o) => o.type).join(', ')}`);
      continue;
    }
    compute += m.rps / best;
    if (below === undefined || m.rps >= below) memory += m.memoryGiB;
  }
  if (problems.length > 0) throw new PlanError(problems);
  const maxMem = Math.max(...opts.map((o) => o.gpu.memoryGiB));
  return Math.max(compute, memory / maxMem);
}

/** The GPU type as used whole (no MIG): one `whole` shape with the GPU's memory. */
function wholeOption(opt: GpuOption): GpuOption {
  const shape: SliceShape = {
    profile: 'whole', entrySlice: opt.mig ? opt.computeSlices : opt.shapes[0].entrySlice, computeFraction: 1, computeSlices: 7,
    memoryGiB: opt.gpu.memoryGiB, memorySlices: 0, starts: [0], maxInstances: 1,
  };
  return { ...opt, mig: false, computeSlices: 7, memorySlices: 0, shapes: [shape] };
}

/**
 * Candidates of a model on a whole GPU: its whole-GPU entries; when it has none, its best entry on
 * a smaller slice, taken as a conservative whole-GPU figure (a whole GPU is at least as fast).
 */
function wholeCandidates(model: ModelSpec, opt: GpuOption, headroom: number, overhead: number): Candidate[] {
  const w = wholeOption(opt);
  const direct = candidatesFor(model, w, headroom, overhead)[0];
  if (direct.length > 0) return direct;
  const budget = budgetOf(model, headroom);
  const shape = w.shapes[0];
  return rawEntries(model, opt)
    .filter((e) => e.latencyMs <= budget && overhead + model.memoryGiB * e.instances <= shape.memoryGiB)
    .sort((a, b) => b.throughput - a.throughput || a.latencyMs - b.latencyMs)
    .slice(0, 1)
    .map((e) => ({ shape, batch: e.batch, instances: e.instances, throughput: e.throughput, latencyMs: e.latencyMs, memGiB: model.memoryGiB * e.instances, estimated: e.estimated }));
}

export interface Baselines {
  /** Whole GPUs per model replica, nothing shared. */
  readonly dedicated: number;
  /** Whole GPUs, several models per Triton server (first fit under the share, latency and memory rules). */
  readonly noMig: number;
}

/**
 * `dedicated`: per model, ceil(demand / best admissible whole-GPU throughput), on the fleet's GPU
 * type where that is fewest, summed. `noMig`: the same GPU type per model, whole GPUs shared by
 * several models in one Triton server, packed first-fit-decreasing under rules 3-5.
 */
export function baselines(fleet: Fleet): Baselines {
  const opts = resolveGpuOptions(fleet);
  const h = fleet.latencyHeadroom;
  const ov = fleet.processOverheadGiB;
  let dedicated = 0;
  const groups: ModelInput[][] = opts.map(() => []);
  const problems: string[] = [];
  for (const m of fleet.models) {
    let bestN = Infinity;
    let bestOpt = -1;
    let bestCands: Candidate[] = [];
    opts.forEach((o, i) => {
      const c = wholeCandidates(m, o, h, ov);
      if (c.length === 0) return;
      const n = Math.ceil(m.rps / c[0].throughput - 1e-9);
      if (n < bestN) { bestN = n; bestOpt = i; bestCands = c; }
    });
    if (bestOpt < 0) {
      problems.push(`models.${m.name}: fits no whole gpu of ${opts.map((o) => o.type).join(', ')} within its latency budget and memory`);
      continue;
    }
    dedicated += bestN;
    groups[bestOpt].push({ model: m, cands: [bestCands] });
  }
  if (problems.length > 0) throw new PlanError(problems);
  let noMig = 0;
  opts.forEach((o, i) => {
    if (groups[i].length === 0) return;
    noMig += packType(wholeOption(o), groups[i], h, ov, FIRST_FIT_DECREASING).gpus.length;
  });
  return { dedicated, noMig };
}

/**
 * The `noMig` baseline's packing as a plan of the option itself: first fit decreasing onto slices that take
 * the whole GPU's compute (the full MIG profile, e.g. 7g.80gb, or the whole GPU without MIG), each model at
 * its admissible entries there. The planner takes it when it needs fewer GPUs than its own packing, so no
 * plan uses more GPUs than this packing of the same models on the same type. Undefined when some model has no
 * admissible entry on that slice (its baseline figure then rests on a smaller slice's entry).
 */
export function noMigPacking(opt: GpuOption, inputs: readonly ModelInput[], headroom: number, overhead: number): PackResult | undefined {
  const full = opt.shapes.findIndex((sh) => sh.computeFraction === 1);
  if (full < 0 || inputs.length === 0 || inputs.some((i) => i.cands[full].length === 0)) return undefined;
  const one: GpuOption = { ...opt, shapes: [opt.shapes[full]] };
  const packed = packType(one, inputs.map((i) => ({ model: i.model, cands: [i.cands[full]] })), headroom, overhead, FIRST_FIT_DECREASING);
  // the same GPUs and seats on the option itself (its shape indices, its reach table)
  const reach = new ReachTable(opt);
  const gpus = new Map<GpuSpace, GpuSpace>();
  const slices: SliceState[] = [];
  for (const g of packed.gpus) gpus.set(g, new GpuSpace(opt, reach));
  for (const sl of packed.slices) {
    const g = gpus.get(sl.gpu)!;
    g.place(opt.shapes[full], sl.start);
    const own = new SliceState(g, opt.shapes[full], sl.start, full, overhead);
    for (const seat of sl.seats) own.add(seat);
    slices.push(own);
  }
  return { gpus: [...gpus.values()], slices };
}
