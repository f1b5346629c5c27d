/**
 * The pattern model of one GPU type (docs/planner.md): a pattern is one slice — a shape and a set
 * of models, each at one admissible profile entry serving a fixed demand at a fixed share, whose
 * batch latencies fit the tightest budget among them (rule 4), whose memory fits the slice
 * (rule 5) and whose shares add up to at most 1 (rule 3). GPUs are counted by maximal MIG layout;
 * copies of patterns fill their layouts' slices; every model's demand is covered (rule 6).
 *
 * Its LP is solved by column generation: patterns are priced with the LP's duals. With exact
 * pricing (every pattern considered, within a node budget) the converged LP optimum is a lower
 * bound on the GPUs of any valid plan, since each plan's slices are patterns.
 */
import type { Candidate } from './entries';
import type { GpuOption } from './gpu-options';
import { maximalLayouts, PlacedShape } from './gpu-space';
import { LpBuilder, LpModel, solveLp } from './lp-solver';
import { ModelInput, roundShareUp } from './pack';

/** A model of the pattern model, with the demand it must get. */
export interface Item {
  readonly input: ModelInput;
  /** Demand (rps) to cover. */
  readonly rps: number;
  /** Latency budget (headroom x SLO). */
  readonly budget: number;
}

export interface Seat {
  readonly item: number;
  readonly cand: Candidate;
  readonly rps: number;
  readonly share: number;
}
export interface Pattern {
  readonly shapeIndex: number;
  readonly seats: readonly Seat[];
}

export interface Master {
  readonly layouts: readonly (readonly PlacedShape[])[];
  readonly layoutCols: readonly number[];
  readonly patternCols: readonly number[];
  readonly shapeRow: readonly number[];
  readonly coverRow: readonly number[];
}

export function patternKey(p: Pattern): string {
  return `${p.shapeIndex}:${p.seats
    .map((x) => `${x.item}/${x.cand.batch}/${x.cand.instances}/${x.rps}`)
    .sort()
    .join(',')}`;
}

/** Demand covered by a pattern per item, as a fraction of the item's demand (at most 1). */
export function coverOf(items: readonly Item[], p: Pattern): [number, number][] {
  const cover = new Map<number, number>();
  for (const x of p.seats) cover.set(x.item, (cover.get(x.item) ?? 0) + x.rps / items[x.item].rps);
  return [...cover].map(([i, f]): [number, number] => [i, Math.min(f, 1)]);
}

/**
 * The model over a pattern pool: minimise GPUs (plus `sliceCost` x compute fraction per slice)
 * with at most `cap` GPUs when given; integral or its LP.
 */
export function master(
  opt: GpuOption,
  items: readonly Item[],
  patterns: readonly Pattern[],
  cap: number | undefined,
  integral: boolean,
  sliceCost: number,
): { model: LpModel; m: Master } {
  const b = new LpBuilder();
  const layouts = maximalLayouts(opt);
  const shapeIndex = new Map(opt.shapes.map((s, i) => [s.profile, i]));
  const shapeRow = opt.shapes.map(() => b.row(-Infinity, 0));
  const coverRow = items.map(() => b.row(1, Infinity));
  const gpuRow = cap === undefined ? -1 : b.row(-Infinity, cap);
  const layoutCols = layouts.map((l) => {
    const count = opt.shapes.map(() => 0);
    for (const p of l) count[shapeIndex.get(p.shape.profile)!]++;
    const entries: [number, number][] = gpuRow >= 0 ? [[gpuRow, 1]] : [];
    count.forEach((c, i) => {
      if (c > 0) entries.push([shapeRow[i], -c]);
    });
    return b.col(1, 0, Infinity, entries, integral);
  });
  const patternCols = patterns.map((p) =>
    b.col(
      sliceCost * opt.shapes[p.shapeIndex].computeFraction,
      0,
      Infinity,
      [[shapeRow[p.shapeIndex], 1], ...coverOf(items, p).map(([i, f]): [number, number] => [coverRow[i], f])],
      integral,
    ),
  );
  return { model: b.build(integral), m: { layouts, layoutCols, patternCols, shapeRow, coverRow } };
}

/**
 * A few representative entries of an item on a shape: most throughput, least latency, and the least-latency one still
 * serving all its demand.
 */
export function entriesOf(list: readonly Candidate[], rps: number): Candidate[] {
  if (list.length === 0) return [];
  const out: Candidate[] = [list[0]];
  let fastest = list[0];
  let fit: Candidate | undefined;
  for (const c of list) {
    if (c.latencyMs < fastest.latencyMs) fastest = c;
    if (c.throughput >= rps && (!fit || c.latencyMs < fit.latencyMs)) fit = c;
  }
  for (const c of [fit, fastest]) if (c && !out.includes(c)) out.push(c);
  return out;
}

/**
 * The most dual value a slice with these seats can earn: its share goes to the densest items first
 * (value per unit of share: cover dual x throughput / demand), each up to all its demand.
 */
function knapsack(
  items: readonly Item[],
  dual: readonly number[],
  seats: readonly { item: number; cand: Candidate }[],
  shareCap: number,
): { value: number; seats: Seat[] } {
  const order = seats
    .slice()
    .sort(
      (a, b) =>
        (dual[b.item] * b.cand.throughput) / items[b.item].rps - (dual[a.item] * a.cand.throughput) / items[a.item].rps || a.item - b.item,
    );
  let left = shareCap;
  let value = 0;
  const out: Seat[] = [];
  for (const x of order) {
    if (left <= 0) break;
    const it = items[x.item];
    const rps = Math.min(it.rps, left * x.cand.throughput);
    if (rps <= 0) continue;
    const share = rps / x.cand.throughput;
    left -= share;
    value += (dual[x.item] * rps) / it.rps;
    out.push({ item: x.item, cand: x.cand, rps, share });
  }
  return { value, seats: out };
}

export interface PricingOptions {
  readonly overhead: number;
  /** Share a pattern may fill (1 - slack left for rounding when patterns become slices). */
  readonly shareCap: number;
  /** Exhaustive search within this many search nodes per shape; 0 = greedy only. */
  readonly exactNodes: number;
}

/**
 * Pricing for one shape: patterns with the most dual value. Exact (a depth-first search over
 * items and entries with a knapsack upper bound) when it finishes within `exactNodes`; else greedy
 * from the most valuable anchors. `exact` tells which.
 */
export function price(
  opt: GpuOption,
  items: readonly Item[],
  shapeIndex: number,
  dual: readonly number[],
  o: PricingOptions,
): { found: { p: Pattern; value: number }[]; exact: boolean } {
  const cap = opt.shapes[shapeIndex].memoryGiB + 1e-9;
  const live = items
    .map((_, i) => i)
    .filter(
      (i) =>
        dual[i] > 1e-12 && items[i].input.cands[shapeIndex].some((c) => o.overhead + c.memGiB <= cap && c.latencyMs <= items[i].budget),
    );
  if (live.length === 0) return { found: [], exact: true };
  const toPattern = (seats: Seat[]): Pattern => ({
    shapeIndex,
    seats: seats
      .map((x) => {
        const rps = Math.floor(x.rps * 1e6) / 1e6;
        return { ...x, rps, share: Math.min(x.share, roundShareUp(rps / x.cand.throughput)) };
      })
      .filter((x) => x.rps > 0),
  });
  if (o.exactNodes > 0) {
    const exact = priceExact(items, live, shapeIndex, dual, cap, o);
    if (exact) return { found: exact.value > 0 ? [{ p: toPattern(exact.seats), value: exact.value }] : [], exact: true };
  }
  const found: { p: Pattern; value: number }[] = [];
  const options = new Map(live.map((i) => [i, entriesOf(items[i].input.cands[shapeIndex], items[i].rps)]));
  const anchors = live
    .slice()
    .sort((a, b) => dual[b] - dual[a] || a - b)
    .slice(0, 4);
  for (const a of anchors) {
    for (const first of items[a].input.cands[shapeIndex]) {
      if (o.overhead + first.memGiB > cap || first.latencyMs > items[a].budget) continue;
      const set = [{ item: a, cand: first }];
      let lat = first.latencyMs;
      let budget = items[a].budget;
      let mem = o.overhead + first.memGiB;
      let best = knapsack(items, dual, set, o.shareCap);
      for (;;) {
        let add: { item: number; cand: Candidate } | undefined;
        let addValue = best;
        for (const j of live) {
          if (set.some((x) => x.item === j)) continue;
          const b = Math.min(budget, items[j].budget);
          for (const c of options.get(j)!) {
            if (lat + c.latencyMs > b || mem + c.memGiB > cap) continue;
            const v = knapsack(items, dual, [...set, { item: j, cand: c }], o.shareCap);
            if (v.value > addValue.value + 1e-12) {
              addValue = v;
              add = { item: j, cand: c };
            }
          }
        }
        if (!add) break;
        set.push(add);
        lat += add.cand.latencyMs;
        budget = Math.min(budget, items[add.item].budget);
        mem += add.cand.memGiB;
        best = addValue;
      }
      found.push({ p: toPattern(best.seats), value: best.value });
    }
  }
  return { found: found.sort((x, y) => y.value - x.value), exact: false };
}

/**
 * Exhaustive pricing; undefined when the node budget runs out first.
 *
 * A depth-first walk over the items (most dual value first), each given one of its entries or left out. A node's
 * value is the knapsack of its seats; its bound adds every item still to decide at its densest entry, latency and
 * memory ignored (a fractional knapsack), and a node whose bound cannot beat the best value so far is not walked
 * further. The value and the bound are computed without building seats (`ChosenSeats`), in the order and with
 * the arithmetic `knapsack` uses, so the walk and the pattern it returns are those of recomputing both in full at
 * every node; a node that leaves its item out has its parent's seats, whose value was weighed already.
 */
function priceExact(
  items: readonly Item[],
  live: readonly number[],
  shapeIndex: number,
  dual: readonly number[],
  cap: number,
  o: PricingOptions,
): { value: number; seats: Seat[] } | undefined {
  // items by dual value, each with its admissible entries on the shape
  const order = live.slice().sort((a, b) => dual[b] - dual[a] || a - b);
  const entries = order.map((i) =>
    items[i].input.cands[shapeIndex].filter((c) => o.overhead + c.memGiB <= cap && c.latencyMs <= items[i].budget),
  );
  // best value per unit of share of each item (any entry), for the upper bound
  const density = order.map((i, k) => Math.max(...entries[k].map((c) => (dual[i] * c.throughput) / items[i].rps)));
  // the densities of the items from k on, densest first (each bounded by a share of 1: equal ones are interchangeable)
  const rest = order.map((_, k) => density.slice(k).sort((a, b) => b - a));
  const chosen = new ChosenSeats(items, dual, o.shareCap);
  let best = { value: 0, seats: [] as Seat[] };
  let nodes = 0;
  const walk = (k: number, lat: number, budget: number, mem: number, seated: boolean): boolean => {
    if (++nodes > o.exactNodes) return false;
    if (seated && chosen.value() > best.value + 1e-12) best = knapsack(items, dual, chosen.seats, o.shareCap);
    if (k === order.length) return true;
    if (chosen.bound(rest[k]) <= best.value + 1e-12) return true;
    const i = order[k];
    const b = Math.min(budget, items[i].budget);
    for (const c of entries[k]) {
      if (lat + c.latencyMs > b || mem + c.memGiB > cap) continue;
      chosen.push(i, c);
      const ok = walk(k + 1, lat + c.latencyMs, b, mem + c.memGiB, true);
      chosen.pop();
      if (!ok) return false;
    }
    return walk(k + 1, lat, budget, mem, false);
  };
  return walk(0, 0, Infinity, o.overhead, true) ? best : undefined;
}

/**
 * The seats of a node of the exact pricing walk, with their value per unit of share (`knapsack`'s order) and the
 * share that serves all their demand, so that a node's value and bound need no allocation.
 */
class ChosenSeats {
  readonly seats: { item: number; cand: Candidate }[] = [];
  /** dual x throughput / demand of each seat: the value of a unit of its share. */
  private readonly density: number[] = [];
  /** The share serving all the seat's demand, at most 1. */
  private readonly room: number[] = [];
  private readonly sorted: number[] = [];

  constructor(
    private readonly items: readonly Item[],
    private readonly dual: readonly number[],
    private readonly shareCap: number,
  ) {}

  push(item: number, cand: Candidate): void {
    this.seats.push({ item, cand });
    this.density.push((this.dual[item] * cand.throughput) / this.items[item].rps);
    this.room.push(Math.min(1, this.items[item].rps / cand.throughput));
  }

  pop(): void {
    this.seats.pop();
    this.density.pop();
    this.room.pop();
  }

  /** `knapsack(items, dual, seats, shareCap).value`: the same seats in the same order, the same sums. */
  value(): number {
    const order = this.order(true);
    let left = this.shareCap;
    let value = 0;
    for (let n = 0; n < order.length; n++) {
      if (left <= 0) break;
      const x = this.seats[order[n]];
      const it = this.items[x.item];
      const rps = Math.min(it.rps, left * x.cand.throughput);
      if (rps <= 0) continue;
      left -= rps / x.cand.throughput;
      value += (this.dual[x.item] * rps) / it.rps;
    }
    return value;
  }

  /**
   * The fractional knapsack of the seats (each up to its room) and of the items to decide (densities `rest`,
   * densest first, each up to a share of 1), densest first; on equal density a seat before an item to decide, and
   * seats in the order they were taken.
   */
  bound(rest: readonly number[]): number {
    const order = this.order(false);
    let left = this.shareCap;
    let ub = 0;
    let s = 0;
    let r = 0;
    while (left > 0) {
      let d: number;
      let room: number;
      if (s < order.length && (r === rest.length || this.density[order[s]] >= rest[r])) {
        d = this.density[order[s]];
        room = this.room[order[s++]];
      } else if (r < rest.length) {
        d = rest[r++];
        room = 1;
      } else break;
      const take = Math.min(left, room);
      ub += take * d;
      left -= take;
    }
    return ub;
  }

  /**
   * The seats' indices, densest first (insertion sort: a handful of seats); equal densities by item (`byItem`,
   * `knapsack`'s order) or in the order taken.
   */
  private order(byItem: boolean): number[] {
    const out = this.sorted;
    out.length = 0;
    for (let n = 0; n < this.seats.length; n++) {
      const d = this.density[n];
      let j = out.length - 1;
      while (
        j >= 0 &&
        (this.density[out[j]] < d || (byItem && this.density[out[j]] === d && this.seats[out[j]].item > this.seats[n].item))
      ) {
        out[j + 1] = out[j];
        j--;
      }
      out[j + 1] = n;
    }
    return out;
  }
}

export interface GenerationResult {
  /** Optimum of the LP over the final pool (NaN when it could not be solved). */
  readonly lpValue: number;
  readonly duals?: Float64Array;
  /** Pricing was exact and found no improving pattern: `lpValue` is the LP over all patterns. */
  readonly converged: boolean;
}

/**
 * Column generation on the model's LP (no GPU cap): prices each shape with the LP's duals and adds
 * improving patterns to `pool` (mutated) for up to `rounds` rounds.
 */
export function generateColumns(
  opt: GpuOption,
  items: readonly Item[],
  pool: Pattern[],
  rounds: number,
  sliceCost: number,
  pricing: PricingOptions,
): GenerationResult {
  const seen = new Set(pool.map((p) => patternKey(p)));
  let lpValue: number;
  let duals: Float64Array | undefined;
  for (let round = 0; ; round++) {
    const { model, m } = master(opt, items, pool, undefined, false, sliceCost);
    const lp = solveLp(model);
    if (lp.status !== 'optimal' || lp.rowDuals.length === 0) return { lpValue: NaN, converged: false };
    lpValue = lp.objective;
    duals = lp.rowDuals;
    if (round === rounds) return { lpValue, duals, converged: false };
    const shapeDual = m.shapeRow.map((r) => lp.rowDuals[r]);
    const coverDual = m.coverRow.map((r) => lp.rowDuals[r]);
    let added = 0;
    let exact = true;
    opt.shapes.forEach((shape, si) => {
      const { found, exact: e } = price(opt, items, si, coverDual, pricing);
      exact = exact && e;
      for (const { p, value } of found.slice(0, 3)) {
        // reduced cost of the new column: its cost minus the duals of the rows it enters
        if (sliceCost * shape.computeFraction - shapeDual[si] - value >= -1e-7) continue;
        const key = patternKey(p);
        if (seen.has(key) || p.seats.length === 0) continue;
        seen.add(key);
        pool.push(p);
        added++;
      }
    });
    if (added === 0) return { lpValue, duals, converged: exact };
  }
}

/** Reduced cost of a pattern under the LP's duals. */
export function reducedCost(opt: GpuOption, items: readonly Item[], m: Master, duals: Float64Array, p: Pattern, sliceCost: number): number {
  let rc = sliceCost * opt.shapes[p.shapeIndex].computeFraction - duals[m.shapeRow[p.shapeIndex]];
  for (const [i, f] of coverOf(items, p)) rc -= duals[m.coverRow[i]] * f;
  return rc;
}
