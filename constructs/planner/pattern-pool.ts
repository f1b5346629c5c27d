/**
 * The pattern pool of a neighbourhood (docs/planner.md, "Neighbourhood repair"): the
 * neighbourhood's own slices, those slices with more models added, the planner's packing variants
 * on the neighbourhood's demand, and greedy per-shape packings in several item orders. Column
 * generation (pattern-model.ts) adds priced patterns to it.
 */
import type { Candidate } from './entries';
import type { GpuOption } from './gpu-options';
import { ModelInput, packType, PackResult, roundShareUp, roundUp6, VARIANTS } from './pack';
import { Item, Pattern, patternKey, Seat } from './pattern-model';

/** Patterns enumerated per neighbourhood at most. */
const MAX_PATTERNS = 4000;
/** Share left free on every slice for rounding (shares and rps are rounded up to 1e-6). */
export const SLACK = 1e-4;

interface OpenSlice {
  seats: Seat[];
  share: number;
  latency: number;
  budget: number;
  memory: number;
}

/**
 * One greedy packing of every item onto slices of one shape, in the given order: whole seats at
 * the item's most productive entry while its demand fills them, the rest onto the first (or the
 * fullest) open slice where rules 3-5 still hold, at the entry leaving it least full.
 */
function greedyPacking(
  items: readonly Item[],
  shapeIndex: number,
  capGiB: number,
  overhead: number,
  order: readonly number[],
  bestFit: boolean,
  out: (p: Pattern) => void,
): void {
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
function augment(
  p: Pattern,
  items: readonly Item[],
  capGiB: number,
  overhead: number,
  order: readonly number[],
  out: (p: Pattern) => void,
): void {
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
export function patternsOf(
  opt: GpuOption,
  items: readonly Item[],
  own: readonly Pattern[],
  headroom: number,
  overhead: number,
  rand: () => number,
): Pattern[] {
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
      add({
        shapeIndex: sl.shapeIndex,
        seats: sl.seats.map((x) => ({ item: itemOf.get(x.model)!, cand: x.cand, rps: x.rps, share: x.share })),
      });
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
