/**
 * The integral neighbourhood model over *seat sets* (docs/planner.md, "Neighbourhood repair"): a
 * seat set is one slice shape and a set of models, each at one admissible profile entry, whose
 * batch latencies fit the tightest budget among them (rule 4) and whose memory fits the slice
 * (rule 5). Unlike a fixed pattern, a seat set leaves the demand each model serves free: the model
 * chooses integer GPUs per maximal MIG layout, integer copies of each seat set, and continuous
 * demand per seat set and model, with the time of the copies (rule 3) and every model's demand
 * (rule 6) as rows. Copies of a seat set then get their demand by wrap-around (each copy's shares
 * fill up to 1 before the next copy starts), so a model may be split over two copies of the same
 * seat set — it has a seat on both.
 *
 * Any integral solution therefore realises as slices that pass rules 3-6; every re-packing is
 * still judged by `verifyPlan` before the repair keeps it.
 */
import { budgetOf } from './entries';
import type { GpuOption } from './gpu-options';
import { GpuSpace, maximalLayouts, PlacedShape, ReachTable } from './gpu-space';
import { LpBuilder, solveLp } from './lp-solver';
import { footprint, PackResult, roundShareUp, roundUp6, Seat as PackSeat, SliceState } from './pack';
import type { Item, Pattern, Seat } from './pattern-model';

export interface SeatSetOptions {
  /**
   * GPUs the solution may use at most (GPUs counted by maximal MIG layout); without it, the model
   * has no layouts and minimises the slices' GPU footprint instead, at most `maxArea`.
   */
  readonly gpus?: number;
  /** Without `gpus`: the most GPU footprint (sum over slices of max(compute, memory-slice fraction)) the slices may take. */
  readonly maxArea?: number;
  /** Branch-and-bound nodes (a count, so the result is deterministic). */
  readonly maxNodes: number;
  /** Share each slice keeps free for rounding (shares and rps are rounded up to 1e-6). */
  readonly slack: number;
  /** Cost of a slice per compute fraction next to a GPU's 1 (fewer, smaller slices). */
  readonly sliceCost: number;
  readonly overhead: number;
  readonly headroom: number;
}

/** A seat set: a shape and (item, entry) pairs, no demand. */
interface SeatSet {
  readonly shapeIndex: number;
  readonly seats: readonly Pick<Seat, 'item' | 'cand'>[];
}

function keyOf(s: SeatSet): string {
  return `${s.shapeIndex}:${s.seats
    .map((x) => `${x.item}/${x.cand.batch}/${x.cand.instances}`)
    .sort()
    .join(',')}`;
}

/** The distinct seat sets of a pattern pool (each pattern's models at its entries, demand dropped), in pool order. */
export function seatSetsOf(pool: readonly Pattern[]): SeatSet[] {
  const out: SeatSet[] = [];
  const seen = new Set<string>();
  for (const p of pool) {
    if (p.seats.length === 0) continue;
    const s: SeatSet = { shapeIndex: p.shapeIndex, seats: p.seats.map((x) => ({ item: x.item, cand: x.cand })) };
    const k = keyOf(s);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(s);
  }
  return out;
}

interface Solution {
  readonly layouts: readonly { layout: readonly PlacedShape[]; count: number }[];
  /** Per seat set used: copies and demand per seat (same order as its seats). */
  readonly used: readonly { set: SeatSet; copies: number; rps: number[] }[];
}

/** Solves the integral seat-set model; undefined when it finds no solution within the budget. */
export function solveSeatSets(opt: GpuOption, items: readonly Item[], sets: readonly SeatSet[], o: SeatSetOptions): Solution | undefined {
  const b = new LpBuilder();
  const layouts = maximalLayouts(opt);
  const shapeIndex = new Map(opt.shapes.map((s, i) => [s.profile, i]));
  const byLayout = o.gpus !== undefined;
  const gpuRow = byLayout ? b.row(-Infinity, o.gpus) : b.row(-Infinity, o.maxArea ?? Infinity);
  const shapeRow = opt.shapes.map(() => (byLayout ? b.row(-Infinity, 0) : -1));
  const demandRow = items.map((it) => b.row(it.rps, Infinity));
  const layoutCols = (byLayout ? layouts : []).map((l) => {
    const count = opt.shapes.map(() => 0);
    for (const p of l) count[shapeIndex.get(p.shape.profile)!]++;
    const entries: [number, number][] = [[gpuRow, 1]];
    count.forEach((c, i) => {
      if (c > 0) entries.push([shapeRow[i], -c]);
    });
    return b.col(1, 0, o.gpus!, entries, true);
  });
  const cap = 1 - o.slack;
  const copyCols: number[] = [];
  const rpsCols: number[][] = [];
  for (const s of sets) {
    // rows of this seat set: its time, and per seat "demand served <= the model's demand x copies"
    const time = b.row(-Infinity, 0);
    const vub = s.seats.map(() => b.row(-Infinity, 0));
    const shape = opt.shapes[s.shapeIndex];
    const area = footprint(opt, shape);
    copyCols.push(
      b.col(
        byLayout ? o.sliceCost * shape.computeFraction : area + o.sliceCost * shape.computeFraction,
        0,
        Infinity,
        [
          byLayout ? [shapeRow[s.shapeIndex], 1] : [gpuRow, area],
          [time, -cap],
          ...vub.map((r, k): [number, number] => [r, -items[s.seats[k].item].rps]),
        ],
        true,
      ),
    );
    rpsCols.push(
      s.seats.map((x, k) =>
        b.col(0, 0, items[x.item].rps, [
          [demandRow[x.item], 1],
          [time, 1 / x.cand.throughput],
          [vub[k], 1],
        ]),
      ),
    );
  }
  const r = solveLp(b.build(true), { maxNodes: o.maxNodes, mipRelGap: 1, firstSolution: true });
  if (!r.feasible) return undefined;
  const used = layoutCols.map((c, i) => ({ layout: layouts[i], count: Math.round(r.values[c]) })).filter((x) => x.count > 0);
  if (byLayout && used.reduce((a, x) => a + x.count, 0) > o.gpus) return undefined;
  const out: { set: SeatSet; copies: number; rps: number[] }[] = [];
  sets.forEach((s, k) => {
    const copies = Math.round(r.values[copyCols[k]]);
    if (copies <= 0) return;
    const rps = rpsCols[k].map((c) => Math.max(0, r.values[c]));
    if (rps.every((x) => x <= 1e-9)) return;
    out.push({ set: s, copies, rps });
  });
  return { layouts: used, used: out };
}

/** A slice not yet on a GPU: its shape and seats. */
export interface LooseSlice {
  readonly shapeIndex: number;
  readonly seats: readonly PackSeat[];
}

/**
 * Spreads a solution's demand over slices: demand per model scaled to exactly its demand (the
 * solver may over-serve, or fall short by its tolerance), then each seat set's demand spread over
 * its copies by wrap-around. Undefined when a model's demand is not covered.
 */
export function spreadSeatSets(items: readonly Item[], sol: Solution, o: SeatSetOptions): LooseSlice[] | undefined {
  const planned = items.map(() => 0);
  for (const u of sol.used)
    u.set.seats.forEach((x, k) => {
      planned[x.item] += u.rps[k];
    });
  if (planned.some((v, i) => v < items[i].rps * (1 - 1e-6) - 1e-9)) return undefined;
  const out: LooseSlice[] = [];
  const cap = 1 - o.slack;
  for (const u of sol.used) {
    const want = u.set.seats
      .map((x, k) => {
        const it = items[x.item];
        return { x, it, rps: planned[x.item] > 0 ? (u.rps[k] * it.rps) / planned[x.item] : 0 };
      })
      .filter((w) => w.rps > 1e-7);
    const copies: PackSeat[][] = [[]];
    let left = cap;
    for (const w of want) {
      let rest = w.rps;
      const budget = budgetOf(w.it.input.model, o.headroom);
      const thr = w.x.cand.throughput;
      while (rest > 1e-7) {
        if (left <= 1e-9) {
          if (copies.length < u.copies) {
            copies.push([]);
            left = cap;
          } else if (rest / thr <= o.slack / 2) {
            // the solver's tolerance: a remainder this small goes on the last copy (within the slack kept free)
            left = rest / thr;
          } else {
            return undefined;
          }
        }
        const take = Math.min(rest, left * thr);
        left -= take / thr;
        rest -= take;
        const seats = copies[copies.length - 1];
        const last = seats[seats.length - 1];
        const rps = roundUp6((last && last.model === w.it.input.model ? last.rps : 0) + take);
        const seat = { model: w.it.input.model, budget, cand: w.x.cand, rps, share: roundShareUp(rps / thr) };
        if (last && last.model === w.it.input.model) seats[seats.length - 1] = seat;
        else seats.push(seat);
      }
    }
    for (const seats of copies) if (seats.length > 0) out.push({ shapeIndex: u.set.shapeIndex, seats });
  }
  return out;
}

const COVER_CACHE = new Map<string, { layout: readonly PlacedShape[]; count: number }[] | null>();

/**
 * The fewest GPUs (by maximal MIG layout) whose layouts offer at least `need[s]` slices of each
 * shape: a small MILP over the layout counts, cached by GPU type and counts. Undefined when the
 * solver cannot run.
 */
export function coverLayouts(opt: GpuOption, need: readonly number[]): { layout: readonly PlacedShape[]; count: number }[] | undefined {
  const key = `${opt.type}/${opt.mig}/${need.join(',')}`;
  const hit = COVER_CACHE.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const layouts = maximalLayouts(opt);
  const shapeIndex = new Map(opt.shapes.map((s, i) => [s.profile, i]));
  const b = new LpBuilder();
  const rows = need.map((n) => b.row(n, Infinity));
  const cols = layouts.map((l) => {
    const count = opt.shapes.map(() => 0);
    for (const p of l) count[shapeIndex.get(p.shape.profile)!]++;
    // ties: fewer slices in all (a layout of larger slices leaves them whole)
    return b.col(
      1 + 1e-4 * l.length,
      0,
      Infinity,
      count.map((c, i): [number, number] => [rows[i], c]).filter(([, c]) => c > 0),
      true,
    );
  });
  const r = solveLp(b.build(true), { maxNodes: 2000 });
  const out = r.feasible
    ? cols.map((c, i) => ({ layout: layouts[i], count: Math.round(r.values[c]) })).filter((x) => x.count > 0)
    : undefined;
  if (COVER_CACHE.size > 10000) COVER_CACHE.clear();
  COVER_CACHE.set(key, out ?? null);
  return out;
}

/** Puts loose slices on GPUs cut into the given layouts (slots of each shape in layout order); undefined when slots run out. */
export function placeLoose(
  opt: GpuOption,
  loose: readonly LooseSlice[],
  layouts: readonly { layout: readonly PlacedShape[]; count: number }[],
  overhead: number,
): PackResult | undefined {
  const reach = new ReachTable(opt);
  const shapeIndex = new Map(opt.shapes.map((s, i) => [s.profile, i]));
  const free: { g: GpuSpace; p: PlacedShape }[][] = opt.shapes.map(() => []);
  const gpus: GpuSpace[] = [];
  for (const { layout, count } of layouts) {
    for (let k = 0; k < count; k++) {
      const g = new GpuSpace(opt, reach);
      gpus.push(g);
      for (const p of layout) free[shapeIndex.get(p.shape.profile)!].push({ g, p });
    }
  }
  const slices: SliceState[] = [];
  for (const l of loose) {
    const slot = free[l.shapeIndex].shift();
    if (!slot) return undefined;
    const sl = new SliceState(slot.g, opt.shapes[l.shapeIndex], slot.p.start, l.shapeIndex, overhead);
    for (const x of l.seats) sl.add(x);
    slot.g.place(sl.shape, slot.p.start);
    slices.push(sl);
  }
  return { gpus: gpus.filter((g) => g.placed.length > 0), slices };
}

/** Slices per shape of loose slices. */
export function shapeCounts(opt: GpuOption, loose: readonly { shapeIndex: number }[]): number[] {
  const need = opt.shapes.map(() => 0);
  for (const l of loose) need[l.shapeIndex]++;
  return need;
}

/** Turns a solution into GPUs and slices (spread, then placed on its own layouts, or on the fewest covering GPUs without them). */
export function realiseSeatSets(opt: GpuOption, items: readonly Item[], sol: Solution, o: SeatSetOptions): PackResult | undefined {
  const loose = spreadSeatSets(items, sol, o);
  if (!loose) return undefined;
  const layouts = sol.layouts.length > 0 ? sol.layouts : coverLayouts(opt, shapeCounts(opt, loose));
  return layouts ? placeLoose(opt, loose, layouts, o.overhead) : undefined;
}
