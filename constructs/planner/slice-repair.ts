/**
 * Slice-level repair (docs/planner.md, "Slice repair"): the GPUs of a packing only matter through
 * the slices they carry, so this repair works on slices alone. It takes a group of shared slices
 * whose models have similar latency budgets (a window in budget order, or the emptiest slices with
 * their budget neighbours), and re-packs their demand into slices of less GPU footprint (sum over
 * slices of max(compute, memory-slice fraction)) with the integral seat-set model
 * (seat-set-model.ts) over a pattern pool grown by column generation. When the slices' footprint
 * has shrunk, the fewest GPUs whose maximal MIG layouts carry them are found exactly (a small MILP
 * over layout counts) and the slices are placed on them.
 *
 * Every re-packed group is checked by `verifyPlan` before it replaces the old slices; the final
 * packing is kept only when it has fewer GPUs than the input. Deterministic: windows in a fixed
 * order, then seeded random groups; the solver gets node budgets, not time limits.
 */
import type { Fleet } from '../fleet/types';
import { budgetOf } from './entries';
import type { GpuOption } from './gpu-options';
import { footprint, ModelInput, PackResult, Seat } from './pack';
import { Item, Pattern, price, PricingOptions } from './pattern-model';
import { patternsOf, SLACK } from './pattern-pool';
import { LpBuilder, solveLp } from './lp-solver';
import { rng, verified } from './repair-support';
import { coverLayouts, LooseSlice, placeLoose, realiseSeatSets, seatSetsOf, shapeCounts, solveSeatSets } from './seat-set-model';

export interface SliceRepairOptions {
  /** Stop once the slices fit on this many GPUs (the tight bound). */
  readonly target: number;
  /** Groups of slices tried at most (a count, so the result is deterministic). */
  readonly maxAttempts: number;
  /** Slices per group. @default 8 */
  readonly window?: number;
  /** Branch-and-bound nodes per group. @default 200 */
  readonly maxNodes?: number;
}

/** Diagnostics for the bench: called once per group tried. */
export const sliceRepairTrace: { log?: (line: string) => void } = {};

/** Groups with more models are skipped (their model gets slow). */
const MAX_ITEMS = 70;
const PRICING_ROUNDS = 15;
const EXACT_PRICING_ITEMS = 30;
const EXACT_PRICING_NODES = 20000;
/** Tie-break per compute fraction of a slice (fewer, smaller slices). */
const SLICE_COST = 1e-4;

function area(opt: GpuOption, loose: readonly LooseSlice[]): number {
  return loose.reduce((a, l) => a + footprint(opt, opt.shapes[l.shapeIndex]), 0);
}

function minBudget(l: LooseSlice): number {
  return l.seats.reduce((b, x) => Math.min(b, x.budget), Infinity);
}

/** How full a slice is: the largest of its time share and its latency against its tightest budget. */
function fullness(l: LooseSlice): number {
  const share = l.seats.reduce((a, x) => a + x.share, 0);
  const lat = l.seats.reduce((a, x) => a + x.cand.latencyMs, 0);
  return Math.max(share, lat / minBudget(l));
}

/**
 * Column generation on the footprint LP of a group: min sum of footprint x copies of patterns,
 * every model's demand covered. Adds priced patterns to `pool`.
 */
function grow(opt: GpuOption, items: readonly Item[], pool: Pattern[], pricing: PricingOptions): number {
  let value = NaN;
  const seen = new Set(
    pool.map(
      (p) =>
        `${p.shapeIndex}:${p.seats
          .map((x) => `${x.item}/${x.cand.batch}/${x.cand.instances}/${x.rps}`)
          .sort()
          .join(',')}`,
    ),
  );
  for (let round = 0; round <= PRICING_ROUNDS; round++) {
    const b = new LpBuilder();
    const cover = items.map(() => b.row(1, Infinity));
    for (const p of pool) {
      const f = new Map<number, number>();
      for (const x of p.seats) f.set(x.item, Math.min(1, (f.get(x.item) ?? 0) + x.rps / items[x.item].rps));
      b.col(
        footprint(opt, opt.shapes[p.shapeIndex]),
        0,
        Infinity,
        [...f].map(([i, v]): [number, number] => [cover[i], v]),
      );
    }
    const lp = solveLp(b.build(false));
    if (lp.status !== 'optimal' || lp.rowDuals.length === 0) return NaN;
    value = lp.objective;
    if (round === PRICING_ROUNDS) break;
    const dual = cover.map((r) => lp.rowDuals[r]);
    let added = 0;
    opt.shapes.forEach((shape, si) => {
      const { found } = price(opt, items, si, dual, pricing);
      for (const { p, value: v } of found.slice(0, 3)) {
        if (footprint(opt, shape) - v >= -1e-7 || p.seats.length === 0) continue;
        const key = `${p.shapeIndex}:${p.seats
          .map((x) => `${x.item}/${x.cand.batch}/${x.cand.instances}/${x.rps}`)
          .sort()
          .join(',')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        pool.push(p);
        added++;
      }
    });
    if (added === 0) break;
  }
  return value;
}

/**
 * Picks the next group of open slices to re-pack: while `cursor` is below the number of passes, a
 * window of `window` slices in budget order, half a window further each time; after that a seeded
 * group (the emptiest slice and its neighbours in budget order, or a random window). Returns the
 * group and the advanced cursor.
 */
function nextGroup(
  open: readonly LooseSlice[],
  cursor: number,
  window: number,
  rand: () => number,
  idOf: (l: LooseSlice) => number,
): { group: LooseSlice[]; cursor: number } {
  const passes = Math.ceil(open.length / Math.max(1, Math.floor(window / 2)));
  if (cursor < passes) {
    // a window of `window` slices in budget order, half a window further each time
    const from = Math.min(cursor * Math.floor(window / 2), Math.max(0, open.length - window));
    return { group: open.slice(from, from + window), cursor: cursor + 1 };
  }
  // seeded: the emptiest slice and its neighbours in budget order, or a random window
  const byFull = open.slice().sort((a, b) => fullness(a) - fullness(b) || idOf(a) - idOf(b));
  const anchor = rand() < 0.5 ? byFull[Math.floor(rand() * Math.min(4, byFull.length))] : open[Math.floor(rand() * open.length)];
  const at = open.indexOf(anchor);
  const w = Math.max(2, Math.round(window * (0.5 + rand())));
  const from = Math.max(0, Math.min(at - Math.floor(rand() * w), open.length - w));
  return { group: open.slice(from, from + w), cursor };
}

interface GroupRepack {
  readonly items: number;
  readonly before: number;
  readonly lp: number;
  readonly pool: number;
  /** The group's demand on slices of strictly smaller footprint, verified; undefined if none was found. */
  readonly replacement?: LooseSlice[];
}

/**
 * Re-packs the demand of one group of slices with the seat-set model over a pattern pool grown by
 * column generation. Returns undefined when the group has too many models to try.
 */
function repackGroup(
  opt: GpuOption,
  fleet: Fleet,
  group: readonly LooseSlice[],
  byName: ReadonlyMap<string, ModelInput>,
  maxNodes: number,
  rand: () => number,
): GroupRepack | undefined {
  const headroom = fleet.latencyHeadroom;
  const overhead = fleet.processOverheadGiB;
  const demand = new Map<string, number>();
  for (const l of group) for (const x of l.seats) demand.set(x.model.name, (demand.get(x.model.name) ?? 0) + x.rps);
  const names = [...demand.keys()].sort();
  if (names.length > MAX_ITEMS) return undefined;
  const items: Item[] = names.map((n) => ({
    input: byName.get(n)!,
    rps: demand.get(n)!,
    budget: budgetOf(byName.get(n)!.model, headroom),
  }));
  const itemOf = new Map(names.map((n, i) => [n, i]));
  const own: Pattern[] = group.map((l) => ({
    shapeIndex: l.shapeIndex,
    seats: l.seats.map((x: Seat) => ({ item: itemOf.get(x.model.name)!, cand: x.cand, rps: x.rps, share: x.share })),
  }));
  const before = area(opt, group);
  const pool = patternsOf(opt, items, own, headroom, overhead, rand);
  const lp = grow(opt, items, pool, {
    overhead,
    shareCap: 1 - SLACK,
    exactNodes: items.length <= EXACT_PRICING_ITEMS ? EXACT_PRICING_NODES : 0,
  });
  const result = { items: items.length, before, lp, pool: pool.length };
  // a strictly smaller footprint; not worth a solve when the LP cannot reach it
  const o = { maxArea: before - 1e-6, maxNodes, slack: SLACK, sliceCost: SLICE_COST, overhead, headroom };
  if (!(lp <= before - 1e-6)) return result;
  const sol = solveSeatSets(opt, items, seatSetsOf(pool), o);
  const packed = sol ? realiseSeatSets(opt, items, sol, o) : undefined;
  if (!packed || !(area(opt, packed.slices) < before - 1e-9) || !verified(opt, fleet, items, packed)) return result;
  return { ...result, replacement: packed.slices.map((s) => ({ shapeIndex: s.shapeIndex, seats: s.seats.slice() })) };
}

/** A stable number per slice object, in order of first use (the tie-break of the group orders). */
function sliceIds(): (l: LooseSlice) => number {
  const ids = new Map<LooseSlice, number>();
  let nextId = 0;
  return (l: LooseSlice): number => {
    let v = ids.get(l);
    if (v === undefined) {
      v = nextId++;
      ids.set(l, v);
    }
    return v;
  };
}

/**
 * Repairs a packing of one GPU type at the slice level (see the file comment). Returns the packing
 * on fewer GPUs when the re-packed slices fit on fewer, else the packing unchanged.
 */
export function repairSlices(
  opt: GpuOption,
  res: PackResult,
  inputs: readonly ModelInput[],
  fleet: Fleet,
  options: SliceRepairOptions,
): { result: PackResult; improvements: number } {
  if (!opt.mig || res.slices.some((s) => s.cache)) return { result: res, improvements: 0 };
  const overhead = fleet.processOverheadGiB;
  const window = options.window ?? 8;
  const maxNodes = options.maxNodes ?? 200;
  const byName = new Map(inputs.map((i) => [i.model.name, i]));
  let loose: LooseSlice[] = res.slices.filter((s) => s.seats.length > 0).map((s) => ({ shapeIndex: s.shapeIndex, seats: s.seats.slice() }));
  const cover = (ls: readonly LooseSlice[]): number =>
    (coverLayouts(opt, shapeCounts(opt, ls)) ?? []).reduce((a, x) => a + x.count, 0) || Infinity;
  let gpus = cover(loose);
  const rand = rng(0x511ce + loose.length);
  let improvements = 0;
  let attempt = 0;
  let cursor = 0;
  const tried = new Set<string>();
  const idOf = sliceIds();
  while (attempt < options.maxAttempts && gpus > options.target) {
    // shared slices (a single model at full share is already at its best) in budget order
    const open = loose
      .filter((l) => !(l.seats.length === 1 && l.seats[0].share >= 0.999))
      .sort((a, b) => minBudget(a) - minBudget(b) || idOf(a) - idOf(b));
    if (open.length < 2) break;
    const next = nextGroup(open, cursor, window, rand, idOf);
    const group = next.group;
    cursor = next.cursor;
    attempt++;
    const key = group
      .map(idOf)
      .sort((a, b) => a - b)
      .join(',');
    if (tried.has(key)) continue;
    tried.add(key);
    const r = repackGroup(opt, fleet, group, byName, maxNodes, rand);
    if (!r) continue;
    if (r.replacement) {
      const inGroup = new Set(group);
      loose = [...loose.filter((l) => !inGroup.has(l)), ...r.replacement];
      gpus = cover(loose);
      improvements++;
    }
    sliceRepairTrace.log?.(
      `slices=${group.length} items=${r.items} area=${r.before.toFixed(3)} lp=${r.lp.toFixed(3)} ` +
        `pool=${r.pool} ok=${r.replacement !== undefined} gpus=${gpus}`,
    );
  }
  if (improvements === 0 || gpus >= res.gpus.length) return { result: res, improvements: 0 };
  const layouts = coverLayouts(opt, shapeCounts(opt, loose));
  const placed = layouts ? placeLoose(opt, loose, layouts, overhead) : undefined;
  return placed && placed.gpus.length < res.gpus.length ? { result: placed, improvements } : { result: res, improvements: 0 };
}
