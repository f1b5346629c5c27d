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
import type { Fleet, ModelSpec } from '../fleet/types';
import { bestThroughputPerGpu, budgetOf, Candidate } from './entries';
import type { GpuOption } from './gpu-options';
import { GpuSpace, PlacedShape, ReachTable } from './gpu-space';
import { solveLp } from './lp-solver';
import { generateColumns, Item, master, Pattern, patternKey, reducedCost, Seat } from './pattern-model';
import { assemble } from './nodes';
import { ModelInput, packType, PackResult, roundShareUp, roundUp6, SliceState, VARIANTS } from './pack';
import { verifyPlan } from './verify-plan';

export interface RepairOptions {
  /** Stop once the packing has this many GPUs (the tight bound). */
  readonly target: number;
  /** Neighbourhoods tried at most (a count, so the result is deterministic). */
  readonly maxAttempts: number;
  /** Largest neighbourhood (GPUs taken out at once). @default 6 */
  readonly maxK?: number;
  /** Branch-and-bound nodes per neighbourhood. @default 50 */
  readonly maxNodes?: number;
}

export interface RepairStats {
  readonly attempts: number;
  readonly improvements: number;
}

/** Diagnostics for the bench: called once per neighbourhood tried. */
export const repairTrace: { log?: (line: string) => void } = {};

/** Packings of up to this many GPUs are also re-packed as a whole. */
const WHOLE_MAX_GPUS = 24;
/** Neighbourhoods with more models are skipped (their pattern model gets slow). */
const MAX_ITEMS = 60;

/** Patterns enumerated per neighbourhood at most. */
const MAX_PATTERNS = 4000;
/** Share left free on every slice for rounding (shares and rps are rounded up to 1e-6). */
const SLACK = 1e-4;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface OpenSlice { seats: Seat[]; share: number; latency: number; budget: number; memory: number }

/**
 * One greedy packing of every item onto slices of one shape, in the given order: whole seats at
 * the item's most productive entry while its demand fills them, the rest onto the first (or the
 * fullest) open slice where rules 3-5 still hold, at the entry leaving it least full.
 */
function greedyPacking(items: readonly Item[], shapeIndex: number, capGiB: number, overhead: number, order: readonly number[], bestFit: boolean, out: (p: Pattern) => void): void {
  const open: OpenSlice[] = [];
  for (const i of order) {
    const it = items[i];
    const list = it.input.cands[shapeIndex];
    if (list.length === 0) continue;
    let rest = it.rps;
    const top = list[0];
    while (rest >= top.throughput * (1 - 1e-9)) {
      out({ shapeIndex, seats: [{ item: i, cand: top, rps: top.throughput, share: 1 }] });
      rest -= top.throughput;
    }
    if (rest <= it.rps * 1e-9) continue;
    const want = roundUp6(rest);
    let best: { sl?: OpenSlice; c: Candidate; share: number; score: number } | undefined;
    for (const sl of open) {
      const b = Math.min(sl.budget, it.budget);
      for (const c of list) {
        const share = roundShareUp(want / c.throughput);
        if (sl.share + share > 1 - SLACK || sl.latency + c.latencyMs > b || sl.memory + c.memGiB > capGiB) continue;
        const score = Math.max(sl.share + share, (sl.latency + c.latencyMs) / b, (sl.memory + c.memGiB) / capGiB);
        if (!best || (bestFit ? score > best.score : score < best.score - 1e-12)) best = { sl, c, share, score };
      }
      if (best && !bestFit) break;
    }
    if (!best) {
      for (const c of list) {
        const share = roundShareUp(want / c.throughput);
        if (share > 1 - SLACK || overhead + c.memGiB > capGiB) continue;
        const score = Math.max(share, c.latencyMs / it.budget, (overhead + c.memGiB) / capGiB);
        if (!best || score < best.score - 1e-12) best = { c, share, score };
      }
      if (!best) continue;
      best.sl = { seats: [], share: 0, latency: 0, budget: Infinity, memory: overhead };
      open.push(best.sl);
    }
    const sl = best.sl!;
    sl.seats.push({ item: i, cand: best.c, rps: want, share: best.share });
    sl.share += best.share;
    sl.latency += best.c.latencyMs;
    sl.budget = Math.min(sl.budget, it.budget);
    sl.memory += best.c.memGiB;
  }
  for (const sl of open) out({ shapeIndex, seats: sl.seats });
}

/** A pattern with items added greedily in `order` (each at the entry taking most of its demand that still fits). */
function augment(p: Pattern, items: readonly Item[], capGiB: number, overhead: number, order: readonly number[], out: (p: Pattern) => void): void {
  const seats = p.seats.slice();
  let share = seats.reduce((a, x) => a + x.share, 0);
  let latency = seats.reduce((a, x) => a + x.cand.latencyMs, 0);
  let budget = seats.reduce((a, x) => Math.min(a, items[x.item].budget), Infinity);
  let memory = overhead + seats.reduce((a, x) => a + x.cand.memGiB, 0);
  const inside = new Set(seats.map((x) => x.item));
  for (const i of order) {
    if (inside.has(i) || share >= 1 - SLACK - 1e-3) continue;
    const it = items[i];
    const b = Math.min(budget, it.budget);
    let pick: Seat | undefined;
    for (const c of it.input.cands[p.shapeIndex]) {
      if (latency + c.latencyMs > b || memory + c.memGiB > capGiB) continue;
      const rps = Math.min(roundUp6(it.rps), Math.floor((1 - SLACK - share) * c.throughput * 1e6) / 1e6);
      if (rps <= 0 || (pick && rps <= pick.rps)) continue;
      pick = { item: i, cand: c, rps, share: roundShareUp(rps / c.throughput) };
    }
    if (!pick || share + pick.share > 1 - SLACK) continue;
    seats.push(pick);
    inside.add(i);
    share += pick.share;
    latency += pick.cand.latencyMs;
    budget = Math.min(budget, it.budget);
    memory += pick.cand.memGiB;
  }
  if (seats.length > p.seats.length) out({ shapeIndex: p.shapeIndex, seats });
}

/** The pattern pool: the neighbourhood's own slices and the slices of greedy packings of its items, per shape and item order. */
function patternsOf(opt: GpuOption, items: readonly Item[], own: readonly Pattern[], headroom: number, overhead: number, rand: () => number): Pattern[] {
  const out: Pattern[] = [];
  const seen = new Set<string>();
  const add = (p: Pattern): void => {
    if (out.length >= MAX_PATTERNS || p.seats.length === 0) return;
    const key = patternKey(p);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(p);
  };
  for (const p of own) add(p);
  const idx = items.map((_, i) => i);
  // the planner's own packing variants on the neighbourhood's demand (they mix shapes)
  const inputs = items.map((it): ModelInput => ({ model: { ...it.input.model, rps: it.rps }, cands: it.input.cands }));
  const itemOf = new Map(inputs.map((x, i) => [x.model, i]));
  for (const v of VARIANTS) {
    let packed: PackResult;
    try {
      packed = packType(opt, inputs, headroom, overhead, v);
    } catch {
      continue;
    }
    for (const sl of packed.slices) {
      add({ shapeIndex: sl.shapeIndex, seats: sl.seats.map((x) => ({ item: itemOf.get(x.model)!, cand: x.cand, rps: x.rps, share: x.share })) });
    }
  }
  const orders: number[][] = [
    idx.slice().sort((a, b) => items[a].budget - items[b].budget || a - b),
    idx.slice().sort((a, b) => items[b].rps - items[a].rps || a - b),
    idx.slice().sort((a, b) => items[b].budget - items[a].budget || a - b),
    idx.slice().sort((a, b) => items[a].rps - items[b].rps || a - b),
  ];
  for (let r = 0; r < 2; r++) {
    const o = idx.slice();
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [o[i], o[j]] = [o[j], o[i]];
    }
    orders.push(o);
  }
  for (const order of orders) {
    for (const bestFit of [false, true]) {
      opt.shapes.forEach((shape, si) => greedyPacking(items, si, shape.memoryGiB + 1e-9, overhead, order, bestFit, add));
    }
  }
  // the neighbourhood's slices with more items added where share, latency and memory allow (what emptying a GPU into them takes)
  for (const p of own) {
    for (const order of orders) augment(p, items, opt.shapes[p.shapeIndex].memoryGiB + 1e-9, overhead, order, add);
  }
  return out;
}

interface Solved { readonly layouts: readonly { layout: readonly PlacedShape[]; count: number }[]; readonly copies: readonly { p: Pattern; count: number }[] }

interface Solved { readonly layouts: readonly { layout: readonly PlacedShape[]; count: number }[]; readonly copies: readonly { p: Pattern; count: number }[] }

/** Column-generation rounds per neighbourhood at most. */
const PRICING_ROUNDS = 12;
/** Neighbourhoods of up to this many models are priced exactly (within the node budget). */
const EXACT_PRICING_ITEMS = 40;
const EXACT_PRICING_NODES = 20000;
/** A slice's cost next to a GPU's 1: prefer fewer, smaller slices (more spare room). */
const SLICE_COST = 1e-3;

/**
 * Solves the neighbourhood: column generation on the pattern model's LP (patterns priced by its
 * duals), then the integral model over every pattern found, with at most `gpus` GPUs.
 */
function solvePatterns(opt: GpuOption, items: readonly Item[], pool: Pattern[], gpus: number, maxNodes: number, overhead: number): Solved | undefined {
  const pricing = { overhead, shareCap: 1 - SLACK, exactNodes: items.length <= EXACT_PRICING_ITEMS ? EXACT_PRICING_NODES : 0 };
  const cg = generateColumns(opt, items, pool, PRICING_ROUNDS, SLICE_COST, pricing);
  // an integral solution with at most `gpus` GPUs costs at most `limit`; it exceeds the LP optimum
  // by at least the reduced costs of the columns it uses, so costlier columns can be left out
  const limit = gpus + SLICE_COST * gpus + 1e-6;
  if (!cg.duals || !(cg.lpValue <= limit)) return undefined;
  const { m: full } = master(opt, items, pool, undefined, false, SLICE_COST);
  const slack = limit - cg.lpValue;
  const kept = pool.filter((p) => reducedCost(opt, items, full, cg.duals!, p, SLICE_COST) <= slack + 1e-9);
  const { model, m } = master(opt, items, kept, gpus, true, SLICE_COST);
  const r = solveLp(model, { maxNodes, mipRelGap: 1, firstSolution: true });
  if (!r.feasible) return undefined;
  const used = m.layouts.map((layout, i) => ({ layout, count: Math.round(r.values[m.layoutCols[i]]) })).filter((x) => x.count > 0);
  if (used.reduce((s, x) => s + x.count, 0) > gpus) return undefined;
  const copies = kept.map((p, i) => ({ p, count: Math.round(r.values[m.patternCols[i]]) })).filter((x) => x.count > 0);
  return { layouts: used, copies };
}

/** Turns a solved pattern model into GPUs and slices, trimming demand served twice; undefined when it falls short. */
function realise(opt: GpuOption, items: readonly Item[], solved: Solved, overhead: number, headroom: number): PackResult | undefined {
  const reach = new ReachTable(opt);
  const free: { g: GpuSpace; p: PlacedShape }[][] = opt.shapes.map(() => []);
  const gpus: GpuSpace[] = [];
  const shapeIndex = new Map(opt.shapes.map((s, i) => [s.profile, i]));
  for (const { layout, count } of solved.layouts) {
    for (let k = 0; k < count; k++) {
      const g = new GpuSpace(opt, reach);
      gpus.push(g);
      for (const p of layout) free[shapeIndex.get(p.shape.profile)!].push({ g, p });
    }
  }
  const planned = items.map(() => 0);
  for (const c of solved.copies) for (const x of c.p.seats) planned[x.item] += x.rps * c.count;
  if (planned.some((v, i) => v < items[i].rps - 1e-6)) return undefined;
  const slices: SliceState[] = [];
  for (const c of solved.copies) {
    for (let k = 0; k < c.count; k++) {
      const slot = free[c.p.shapeIndex].shift();
      if (!slot) return undefined;
      const shape = opt.shapes[c.p.shapeIndex];
      const sl = new SliceState(slot.g, shape, slot.p.start, c.p.shapeIndex, overhead);
      for (const x of c.p.seats) {
        // demand covered more than once is trimmed: each seat serves its part of the item's demand
        const rps = roundUp6((x.rps * items[x.item].rps) / planned[x.item]);
        if (rps <= 0) continue;
        sl.add({ model: items[x.item].input.model, budget: budgetOf(items[x.item].input.model, headroom), cand: x.cand, rps, share: Math.min(x.share, roundShareUp(rps / x.cand.throughput)) });
      }
      if (sl.seats.length === 0) continue;
      slot.g.place(shape, slot.p.start);
      slices.push(sl);
    }
  }
  // GPUs that got no slice are not needed
  return { gpus: gpus.filter((g) => g.placed.length > 0), slices };
}

/** verifyPlan on the neighbourhood alone: its GPUs must serve the demand it had (rules 1-6). */
function verified(opt: GpuOption, fleet: Fleet, items: readonly Item[], res: PackResult): boolean {
  const asm = assemble([{ opt, pack: res }], false);
  const sub: Fleet = {
    ...fleet,
    gpus: fleet.gpus.filter((g) => g.type === opt.type && g.mig === opt.mig),
    models: items.map((it): ModelSpec => ({ ...it.input.model, rps: it.rps })),
    coldBelowRps: undefined,
  };
  const problems = verifyPlan(sub, { fleet: fleet.name, gpus: asm.gpus, summary: { gpuCount: asm.gpus.length, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } } });
  return problems.length === 0;
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
  opt: GpuOption, res: PackResult, inputs: readonly ModelInput[], fleet: Fleet, options: RepairOptions,
): { result: PackResult; stats: RepairStats } {
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
  while (attempts < options.maxAttempts && gpus.length > options.target && gpus.length >= 2) {
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
    const key = pick.map((g) => id.get(g)!).sort((a, b) => a - b).join(',');
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
    const items: Item[] = names.map((n) => ({ input: byName.get(n)!, rps: demand.get(n)!, budget: budgetOf(byName.get(n)!.model, headroom) }));
    const itemOf = new Map(names.map((n, i) => [n, i]));
    const own: Pattern[] = inHood.map((s) => ({ shapeIndex: s.shapeIndex, seats: s.seats.map((x) => ({ item: itemOf.get(x.model.name)!, cand: x.cand, rps: x.rps, share: x.share })) }));
    const patterns = patternsOf(opt, items, own, headroom, overhead, rand);
    const solved = solvePatterns(opt, items, patterns, pick.length - 1, maxNodes, overhead);
    const repacked = solved ? realise(opt, items, solved, overhead, headroom) : undefined;
    const ok = !!repacked && repacked.gpus.length < pick.length && verified(opt, fleet, items, repacked);
    repairTrace.log?.(`k=${pick.length} items=${items.length} need=${need.toFixed(2)} patterns=${patterns.length} `
      + `(${opt.shapes.map((_, si) => patterns.filter((p) => p.shapeIndex === si).length).join('/')}) solved=${!!solved} realised=${!!repacked} ok=${ok}`);
    if (!ok) continue;
    for (const g of repacked!.gpus) id.set(g, nextId++);
    gpus = [...gpus.filter((g) => !chosen.has(g)), ...repacked!.gpus];
    slices = [...slices.filter((s) => !chosen.has(s.gpu)), ...repacked!.slices];
    improvements++;
    tried.clear();
    emptiestK = 2;
  }
  return { result: { gpus, slices: [...slices, ...cache] }, stats: { attempts, improvements } };
}
