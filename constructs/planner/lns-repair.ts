/**
 * Large-neighbourhood repair: takes the demand on k GPUs of a packing (the emptiest first, then
 * seeded random groups) and re-packs it into k - 1 GPUs with an exact pattern model solved by
 * HiGHS. A pattern is one slice: a shape and a set of models, each at one profile entry, whose
 * batch latencies fit the tightest budget among them (rule 4) and whose memory fits the slice
 * (rule 5). The model chooses GPUs by maximal MIG layout, copies of patterns on their slices and
 * each model's share of each pattern (rule 3), covering the neighbourhood's demand (rule 6).
 * Every re-packing is checked by `verifyPlan` before it replaces the k GPUs.
 *
 * Deterministic: neighbourhoods come from a seeded generator, patterns from a fixed enumeration,
 * and the solver gets node budgets, not time limits.
 */
import type { Fleet } from '../fleet/types';
import { bestThroughputPerGpu, budgetOf } from './entries';
import type { GpuOption } from './gpu-options';
import type { GpuSpace } from './gpu-space';
import { generateColumns, Item, Pattern } from './pattern-model';
import { patternsOf, SLACK } from './pattern-pool';
import { realiseSeatSets, seatSetsOf, solveSeatSets } from './seat-set-model';
import { enumerateSeatSets, priceSeatSets, provesNoFewer } from './exact-seat-sets';
import { ModelInput, PackResult, SliceState } from './pack';
import { rng, verified } from './repair-support';

export interface RepairOptions {
  /** Stop once the packing has this many GPUs (the tight bound). */
  readonly target: number;
  /** Neighbourhoods tried at most (a count, so the result is deterministic). */
  readonly maxAttempts: number;
  /** Largest neighbourhood (GPUs taken out at once). @default 6 */
  readonly maxK?: number;
  /** Branch-and-bound nodes per neighbourhood. @default 50 */
  readonly maxNodes?: number;
  /** The exact seat-set stage on the whole packing, before the neighbourhoods (exact-seat-sets.ts); off without it. */
  readonly exact?: ExactStageOptions;
}

export interface ExactStageOptions {
  /** Most seat sets enumerated (0: the stage is off). */
  readonly maxSets: number;
  /** Most seat sets for which the full model is solved, which can prove that no plan uses fewer GPUs. */
  readonly proveMaxSets: number;
  /** Branch-and-bound nodes per solve. */
  readonly maxNodes: number;
  /**
   * A larger enumeration for packings of few models (plan()'s default budget): more seat sets
   * within a count of leaves visited, which bounds its cost whether or not the sets fit.
   */
  readonly small?: SmallFleetBudget;
}

export interface SmallFleetBudget {
  /** Packings of at most this many models get this budget instead of `maxSets`. */
  readonly maxModels: number;
  readonly maxSets: number;
  /** Leaves the enumeration may visit (it visits every feasible set, maximal or not). */
  readonly maxVisits: number;
}

export interface RepairStats {
  readonly attempts: number;
  readonly improvements: number;
  /**
   * Set when the exact stage proved that no valid plan serves these models' demand on this GPU
   * type with fewer GPUs than the packing returned has.
   */
  readonly provenMinimum?: number;
}

/** Column-generation rounds of the exact stage when it re-packs from a restriction of the seat sets, and sets added per round. */
const EXACT_ROUNDS = 30;
const EXACT_PER_ROUND = 200;

/**
 * The exact seat-set stage (exact-seat-sets.ts) on a whole packing of one GPU type without cache
 * slices: enumerates the maximal seat sets of its models (at their full demand); while the packing
 * is above `target`, proves that one GPU fewer is impossible (all sets, when few enough) or
 * re-packs into one GPU fewer (all sets, or a column-generated pool), each re-packing judged by
 * verifyPlan.
 */
export function exactStage(
  opt: GpuOption,
  res: PackResult,
  inputs: readonly ModelInput[],
  fleet: Fleet,
  target: number,
  o: ExactStageOptions,
): { result: PackResult; provenMinimum?: number } {
  if (o.maxSets <= 0 || res.gpus.length <= target || res.slices.some((s) => s.cache)) return { result: res };
  const byName = new Map(inputs.map((i) => [i.model.name, i]));
  const names = [...new Set(res.slices.flatMap((s) => s.seats.map((x) => x.model.name)))].sort();
  const headroom = fleet.latencyHeadroom;
  const overhead = fleet.processOverheadGiB;
  if (names.length > MAX_ITEMS) return { result: res };
  const items: Item[] = names.map((n) => ({
    input: byName.get(n)!,
    rps: byName.get(n)!.model.rps,
    budget: budgetOf(byName.get(n)!.model, headroom),
  }));
  const small = o.small && items.length <= o.small.maxModels && o.small.maxSets > o.maxSets ? o.small : undefined;
  const maxSets = small ? small.maxSets : o.maxSets;
  const sets = enumerateSeatSets(opt, items, overhead, maxSets, small?.maxVisits);
  repairTrace.log?.(`exact: ${items.length} models, ${sets ? sets.length : `more than ${maxSets}`} seat sets`);
  if (!sets) return { result: res };
  const full = sets.length <= o.proveMaxSets;
  const pool = full ? sets : priceSeatSets(opt, items, sets, EXACT_ROUNDS, EXACT_PER_ROUND);
  let current = res;
  while (current.gpus.length > target) {
    if (full && provesNoFewer(opt, items, sets, current.gpus.length, o.maxNodes))
      return { result: current, provenMinimum: current.gpus.length };
    const want = current.gpus.length - 1;
    const so = { gpus: want, maxNodes: o.maxNodes, slack: SLACK, sliceCost: SLICE_COST, overhead, headroom };
    const sol = solveSeatSets(opt, items, pool, so);
    const repacked = sol ? realiseSeatSets(opt, items, sol, so) : undefined;
    const ok = !!repacked && repacked.gpus.length <= want && verified(opt, fleet, items, repacked);
    repairTrace.log?.(`exact: pool ${pool.length} of ${sets.length}, ${want} GPUs: ${ok ? 'yes' : 'no'}`);
    if (!ok) break;
    current = repacked!;
  }
  return { result: current };
}

/** Diagnostics for the bench: called once per neighbourhood tried. */
export const repairTrace: { log?: (line: string) => void } = {};

/** Packings of up to this many GPUs are also re-packed as a whole. */
const WHOLE_MAX_GPUS = 24;
/** Neighbourhoods with more models are skipped (their pattern model gets slow). */
const MAX_ITEMS = 60;

/** Column-generation rounds per neighbourhood at most. */
const PRICING_ROUNDS = 12;
/** Neighbourhoods of up to this many models are priced exactly (within the node budget). */
const EXACT_PRICING_ITEMS = 40;
const EXACT_PRICING_NODES = 20000;
/** A slice's cost next to a GPU's 1: prefer fewer, smaller slices (more spare room). */
const SLICE_COST = 1e-3;

/**
 * Solves the neighbourhood: column generation on the pattern model's LP (patterns priced by its
 * duals) grows the pool, then the integral seat-set model over every seat set of the pool, with at
 * most `gpus` GPUs (seat-set-model.ts), realised as slices.
 */
function solveNeighbourhood(
  opt: GpuOption,
  items: readonly Item[],
  pool: Pattern[],
  gpus: number,
  maxNodes: number,
  overhead: number,
  headroom: number,
): PackResult | undefined {
  const pricing = { overhead, shareCap: 1 - SLACK, exactNodes: items.length <= EXACT_PRICING_ITEMS ? EXACT_PRICING_NODES : 0 };
  const cg = generateColumns(opt, items, pool, PRICING_ROUNDS, SLICE_COST, pricing);
  const sets = seatSetsOf(pool);
  const o = { gpus, maxNodes, slack: SLACK, sliceCost: SLICE_COST, overhead, headroom };
  const sol = solveSeatSets(opt, items, sets, o);
  repairTrace.log?.(`   lp=${cg.lpValue.toFixed(3)} conv=${cg.converged} pool=${pool.length} sets=${sets.length} solved=${!!sol}`);
  return sol ? realiseSeatSets(opt, items, sol, o) : undefined;
}

function loadOf(slices: readonly SliceState[]): Map<GpuSpace, number> {
  const load = new Map<GpuSpace, number>();
  for (const s of slices) load.set(s.gpu, (load.get(s.gpu) ?? 0) + s.share * s.shape.computeFraction);
  return load;
}

/**
 * Repairs a packing of one GPU type (see the file comment). Returns the packing with fewer GPUs
 * when a neighbourhood could be re-packed, else the packing unchanged.
 */
export function repairPacking(
  opt: GpuOption,
  packed: PackResult,
  inputs: readonly ModelInput[],
  fleet: Fleet,
  options: RepairOptions,
): { result: PackResult; stats: RepairStats } {
  let res = packed;
  let provenMinimum: number | undefined;
  if (options.exact) {
    const e = exactStage(opt, res, inputs, fleet, options.target, options.exact);
    res = e.result;
    provenMinimum = e.provenMinimum;
  }
  const target = Math.max(options.target, provenMinimum ?? 0);
  const headroom = fleet.latencyHeadroom;
  const overhead = fleet.processOverheadGiB;
  const maxK = options.maxK ?? 6;
  const maxNodes = options.maxNodes ?? 50;
  const byName = new Map(inputs.map((i) => [i.model.name, i]));
  const bestPerGpu = new Map(inputs.map((i) => [i.model.name, bestThroughputPerGpu(i.cands)]));
  let gpus = res.gpus.slice();
  let slices = res.slices.filter((s) => !s.cache);
  const cache = res.slices.filter((s) => s.cache);
  const rand = rng(0x5eed + gpus.length);
  const tried = new Set<string>();
  let attempts = 0;
  let improvements = 0;
  let emptiestK = 2;
  const id = new Map<GpuSpace, number>();
  gpus.forEach((g, i) => id.set(g, i));
  let nextId = gpus.length;
  while (attempts < options.maxAttempts && gpus.length > target && gpus.length >= 2) {
    const load = loadOf(slices);
    const order = gpus.slice().sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || id.get(a)! - id.get(b)!);
    let pick: GpuSpace[];
    if (emptiestK <= Math.min(maxK, gpus.length)) {
      pick = order.slice(0, emptiestK);
      emptiestK++;
    } else if (emptiestK <= gpus.length && gpus.length <= WHOLE_MAX_GPUS) {
      // a small packing: all of it at once
      pick = order.slice();
      emptiestK = gpus.length + 1;
    } else {
      // a seeded random group: one of the emptier half and k - 1 others
      const k = 2 + Math.floor(rand() * (Math.min(maxK, gpus.length) - 1));
      const first = order[Math.floor(rand() * Math.max(1, Math.ceil(order.length / 2)))];
      const rest = order.filter((g) => g !== first);
      pick = [first];
      while (pick.length < k && rest.length > 0) pick.push(rest.splice(Math.floor(rand() * rest.length), 1)[0]);
    }
    attempts++;
    const key = pick
      .map((g) => id.get(g)!)
      .sort((a, b) => a - b)
      .join(',');
    if (tried.has(key) || cache.some((c) => pick.includes(c.gpu))) continue;
    tried.add(key);
    const chosen = new Set(pick);
    const inHood = slices.filter((s) => chosen.has(s.gpu));
    const demand = new Map<string, number>();
    for (const s of inHood) for (const seat of s.seats) demand.set(seat.model.name, (demand.get(seat.model.name) ?? 0) + seat.rps);
    const names = [...demand.keys()].sort();
    if (names.length > MAX_ITEMS) continue;
    // necessary: the demand at each model's best efficiency fits k - 1 GPUs
    const need = names.reduce((s, n) => s + demand.get(n)! / bestPerGpu.get(n)!, 0);
    if (need > pick.length - 1 + 1e-9) continue;
    const items: Item[] = names.map((n) => ({
      input: byName.get(n)!,
      rps: demand.get(n)!,
      budget: budgetOf(byName.get(n)!.model, headroom),
    }));
    const itemOf = new Map(names.map((n, i) => [n, i]));
    const own: Pattern[] = inHood.map((s) => ({
      shapeIndex: s.shapeIndex,
      seats: s.seats.map((x) => ({ item: itemOf.get(x.model.name)!, cand: x.cand, rps: x.rps, share: x.share })),
    }));
    const patterns = patternsOf(opt, items, own, headroom, overhead, rand);
    const repacked = solveNeighbourhood(opt, items, patterns, pick.length - 1, maxNodes, overhead, headroom);
    const ok = !!repacked && repacked.gpus.length < pick.length && verified(opt, fleet, items, repacked);
    repairTrace.log?.(
      `k=${pick.length} items=${items.length} need=${need.toFixed(2)} patterns=${patterns.length} ` +
        `(${opt.shapes.map((_, si) => patterns.filter((p) => p.shapeIndex === si).length).join('/')}) realised=${!!repacked} ok=${ok}`,
    );
    if (!ok) continue;
    for (const g of repacked.gpus) id.set(g, nextId++);
    gpus = [...gpus.filter((g) => !chosen.has(g)), ...repacked.gpus];
    slices = [...slices.filter((s) => !chosen.has(s.gpu)), ...repacked.slices];
    improvements++;
    tried.clear();
    emptiestK = 2;
  }
  return {
    result: { gpus, slices: [...slices, ...cache] },
    stats: { attempts, improvements, ...(provenMinimum !== undefined ? { provenMinimum } : {}) },
  };
}
