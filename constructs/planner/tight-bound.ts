/**
 * The tight lower bound (`summary.tightBound`): the optimum of a relaxation of the feasibility
 * rules that keeps rules 3-5 per slice shape, solved with HiGHS (docs/planner.md, "Tight bound").
 *
 * Variables, per fleet GPU type o:
 * - n[o,L] >= 0: GPUs of type o cut into maximal MIG layout L (one `whole` layout without MIG);
 *   the slices of shape s are N[o,s] = sum_L n[o,L] x count_L(s);
 * - per model m, shape s of o and admissible Pareto-optimal entry e: x[m,s,e] >= 0, the slice time
 *   (sum of shares) m gets at entry e on slices of shape s, and y[m,s,e] >= 0, its seats there
 *   (slices of shape s on which it runs at e).
 * Rows:
 * - demand: sum x[m,s,e] x throughput_e >= rps_m; seats: x[m,s,e] <= y[m,s,e]; every model has a
 *   seat: sum y[m,.,.] >= 1;
 * - per shape, time: sum x <= N[o,s]; latency: sum y x latency_e / budget_m <= N[o,s]; memory:
 *   sum y x memory_e <= N[o,s] x (slice memory - process overhead).
 * Objective: GPUs (sum n), or for several GPU types cost (sum price x n) and, in a second solve, GPUs.
 *
 * Why it is a bound: any plan that passes verifyPlan maps onto a feasible point (docs/planner.md).
 * Integral seats and GPU counts (a MILP) are solved within a node budget; when the budget runs
 * out the solver's proven dual bound is used, and for large fleets the LP relaxation alone.
 * Models that only differ in demand are merged into one group with their demands and seat counts
 * summed — the sum of feasible points of the members is feasible for the group, so merging keeps
 * the relaxation a relaxation.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { budgetOf, Candidate, candidatesFor, RawEntry, rawEntries } from './entries';
import { GpuOption, nodeMix, resolveGpuOptions } from './gpu-options';
import { maximalLayouts } from './gpu-space';
import { LpBuilder, LpModel, LpResult, solveLp, solverName, submitLp } from './lp-solver';
import type { TightBound } from './types';

/** Integer columns up to which the MILP (integral seats and GPUs) is tried. */
export const MILP_MAX_INTEGER_COLUMNS = 400;
/** Branch-and-bound node budget of the bound's MILP (a count, so the result is deterministic). */
export const BOUND_MAX_NODES = 400;

/** One model of the relaxation (a group of models alike but for demand, merged). */
export interface BoundModel {
  readonly rps: number;
  /** Largest demand of one model in the group: a seat at entry e serves at most min(throughput_e, this). */
  readonly maxRps: number;
  /** Models in the group: the seat row asks for this many seats. */
  readonly count: number;
  readonly budget: number;
  /** Candidates per option, per shape. */
  readonly cands: readonly (readonly (readonly Candidate[])[])[];
  /** Below the fleet's coldBelowRps: may be served from cache slices (time only, no seat). */
  readonly cold: boolean;
}

export interface BoundInput {
  readonly models: readonly ModelSpec[];
  /** Per model, per option, per shape (as `candidatesFor`). */
  readonly cands: readonly (readonly (readonly (readonly Candidate[])[])[])[];
  readonly opts: readonly GpuOption[];
  readonly fleet: Fleet;
}

/** Safety margin before rounding a solver optimum up to whole GPUs (solver tolerances are ~1e-7 relative). */
function roundUpGpus(x: number): number {
  return Math.max(0, Math.ceil(x - Math.max(1e-4, 1e-6 * Math.abs(x))));
}

/** Fleets with more models also merge models whose latency budgets differ by at most `BUDGET_BAND` (the LP stays small). */
export const MERGE_BUDGETS_ABOVE = 400;
const BUDGET_BAND = 1.05;

/**
 * Merges models into groups the relaxation treats as one: demands and seat counts summed. Exact
 * copies (same candidates, budget, cold status) always; above `MERGE_BUDGETS_ABOVE` models also
 * copies of one profile table and memory whose budgets fall in the same 5% band — the group gets
 * the largest budget and that member's candidates, which dominate every member's (a larger budget
 * admits more entries and divides latency by more), so the merged model is still a relaxation.
 */
export function groupModels(input: BoundInput): BoundModel[] {
  const below = input.fleet.coldBelowRps;
  const h = input.fleet.latencyHeadroom;
  const loose = input.models.length > MERGE_BUDGETS_ABOVE;
  const tables = new TableIds(input.opts);
  const groups = new Map<
    string,
    { rps: number; maxRps: number; count: number; budget: number; cands: BoundModel['cands']; cold: boolean }
  >();
  const out: BoundModel[] = [];
  input.models.forEach((m, i) => {
    const cold = below !== undefined && m.rps < below;
    const budget = budgetOf(m, h);
    const k = loose
      ? `${tables.id(m)}/${m.memoryGiB}/${Math.floor(Math.log(budget) / Math.log(BUDGET_BAND))}/${cold ? 1 : 0}`
      : groupKey(input.cands[i], budget, cold);
    const g = groups.get(k);
    if (g) {
      g.rps += m.rps;
      g.maxRps = Math.max(g.maxRps, m.rps);
      g.count += 1;
      if (budget > g.budget) {
        g.budget = budget;
        g.cands = input.cands[i];
      }
      return;
    }
    const entry = { rps: m.rps, maxRps: m.rps, count: 1, budget, cands: input.cands[i], cold };
    groups.set(k, entry);
    out.push(entry);
  });
  return out;
}

/** Ids of profile tables by content (the raw entries a model has on every option). */
class TableIds {
  private readonly byHash = new Map<number, { raw: (readonly RawEntry[])[]; id: number }[]>();
  private next = 0;
  constructor(private readonly opts: readonly GpuOption[]) {}

  id(m: ModelSpec): number {
    const raw = this.opts.map((o) => rawEntries(m, o));
    // FNV-1a over each list's length and three of its rows (first, middle, last): equal tables hash alike, and
    // `sameTables` compares every row of a candidate match, so the hash need not read them all
    let h = 0x811c9dc5;
    for (let k = 0; k < raw.length; k++) {
      const list = raw[k];
      const n = list.length;
      h = Math.imul(h ^ n, 0x01000193);
      for (const j of n === 0 ? [] : [0, n >> 1, n - 1]) {
        const e = list[j];
        h = Math.imul(h ^ (Math.round(e.slice * 1000) | 0), 0x01000193);
        h = Math.imul(h ^ (Math.round(e.batch * 1000) | 0), 0x01000193);
        h = Math.imul(h ^ (Math.round(e.instances * 1000) | 0), 0x01000193);
        h = Math.imul(h ^ (Math.round(e.throughput * 1000) | 0), 0x01000193);
        h = Math.imul(h ^ (Math.round(e.latencyMs * 1000) | 0), 0x01000193);
      }
    }
    const bucket = this.byHash.get(h) ?? [];
    for (let b = 0; b < bucket.length; b++) if (sameTables(bucket[b].raw, raw)) return bucket[b].id;
    const id = this.next++;
    bucket.push({ raw, id });
    this.byHash.set(h, bucket);
    return id;
  }
}

/** Whether two models' raw entries (per option, as `TableIds` keeps them) are the same rows, field by field. */
function sameTables(a: readonly (readonly RawEntry[])[], b: readonly (readonly RawEntry[])[]): boolean {
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    const y = b[k];
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) {
      const e = x[j];
      const f = y[j];
      if (
        e.slice !== f.slice ||
        e.batch !== f.batch ||
        e.instances !== f.instances ||
        e.throughput !== f.throughput ||
        e.latencyMs !== f.latencyMs ||
        e.estimated !== f.estimated
      )
        return false;
    }
  }
  return true;
}

/** What the relaxation sees of a model besides its demand: budget, cold status and every candidate's figures. */
function groupKey(cands: BoundModel['cands'], budget: number, cold: boolean): string {
  const parts: (number | string)[] = [budget, cold ? 1 : 0];
  for (const perOpt of cands) {
    for (const list of perOpt) {
      parts.push('|');
      for (const c of list) parts.push(c.throughput, c.latencyMs, c.memGiB);
    }
  }
  return parts.join(',');
}

/**
 * Seats a unit of slice time at an entry carries: max(1, throughput / maxRps). A seat's share is at
 * most 1; and a model's placements at one entry serve at most its demand in all, so each seat there
 * serves at most maxRps (x x throughput <= maxRps x seats) — see docs/planner.md, "Tight bound".
 */
export function seatsPerShare(throughput: number, maxRps: number): number {
  return Math.max(1, throughput / maxRps);
}

/**
 * Seat-count cuts. Rule 4 on one slice: each model's latency plus its neighbours' is at most its
 * budget. If q models on a slice each had latency > budget / q (their own budget), their latencies
 * would add up to more than the mean of their budgets, so more than the smallest — which rule 4
 * forbids. So a slice holds at most q - 1 seats whose latency exceeds 1/q of their own budget, and
 * per shape: sum of such seats <= (q - 1) x slices. `LATENCY_MARGIN_MS` keeps a latency within
 * verifyPlan's tolerance of budget / q out of the count.
 */
export const SEAT_CUTS: readonly number[] = [2, 3, 4];
const LATENCY_MARGIN_MS = 1e-6;

/** Whether a seat at this latency counts in the cut for q (latency > budget / q, with margin). */
export function heavier(latencyMs: number, budget: number, q: number): boolean {
  return latencyMs > budget / q + LATENCY_MARGIN_MS;
}

export interface Built {
  readonly builder: LpBuilder;
  /** Layout columns per option (for the objective). */
  readonly layoutCols: number[][];
  /** Node columns per option and node option (whole instances carrying the option's GPUs). */
  readonly nodeCols: number[][];
  readonly integerCols: number;
  /** What each served-time column is: model group, option, shape and entry (for LP-guided packing). */
  readonly served: readonly {
    readonly col: number;
    readonly model: number;
    readonly option: number;
    readonly shape: number;
    readonly cand: Candidate;
  }[];
}

/** The capacity rows of the relaxation, per option and shape (and budget class or seat cut). */
interface CapacityRows {
  readonly shapeRow: number[][];
  readonly timeRow: number[][][];
  readonly latRow: number[][][];
  /** -1 where there is a single budget class (no absolute latency row). */
  readonly absRow: number[][][];
  readonly memRow: number[][][];
  /** Seat-count cuts: per shape, at most k - 1 seats whose latency exceeds 1/k of their budget. */
  readonly cutRow: number[][][];
}

/**
 * Budget classes: class k holds budgets in [edges[k-1], edges[k]); a slice is of the class of its
 * tightest budget, so its latencies add up to less than the class's upper edge (the largest budget on top).
 */
function budgetClasses(
  models: readonly BoundModel[],
  edges: readonly number[],
): { K: number; upper: number[]; classOf: (budget: number) => number } {
  const K = edges.length + 1;
  const top = models.reduce((m, x) => Math.max(m, x.budget), 0);
  const upper = Array.from({ length: K }, (_, k) => (k < K - 1 ? edges[k] : top));
  const classOf = (budget: number): number => {
    let k = 0;
    while (k < K - 1 && budget >= edges[k]) k++;
    return k;
  };
  return { K, upper, classOf };
}

/** Adds the capacity rows, option by option (cuts, shapes, time, latency, absolute latency, memory). */
function addCapacityRows(b: LpBuilder, opts: readonly GpuOption[], upper: readonly number[], K: number): CapacityRows {
  const rows: CapacityRows = { shapeRow: [], timeRow: [], latRow: [], absRow: [], memRow: [], cutRow: [] };
  for (const o of opts) {
    rows.cutRow.push(o.shapes.map(() => SEAT_CUTS.map(() => b.row(-Infinity, 0))));
    rows.shapeRow.push(o.shapes.map(() => b.row(-Infinity, 0)));
    rows.timeRow.push(o.shapes.map(() => upper.map(() => b.row(-Infinity, 0))));
    rows.latRow.push(o.shapes.map(() => upper.map(() => b.row(-Infinity, 0))));
    rows.absRow.push(o.shapes.map(() => upper.map(() => (K > 1 ? b.row(-Infinity, 0) : -1))));
    rows.memRow.push(o.shapes.map(() => upper.map(() => b.row(-Infinity, 0))));
  }
  return rows;
}

/** Slices of each shape and class (continuous columns), together at most what the layouts offer. */
function addSliceCols(b: LpBuilder, opts: readonly GpuOption[], overhead: number, upper: readonly number[], rows: CapacityRows): void {
  const { shapeRow, timeRow, latRow, absRow, memRow, cutRow } = rows;
  opts.forEach((o, k) =>
    o.shapes.forEach((s, i) =>
      upper.forEach((u, c) => {
        const entries: [number, number][] = [
          [shapeRow[k][i], 1],
          [timeRow[k][i][c], -1],
          [latRow[k][i][c], -1],
          [memRow[k][i][c], -Math.max(0, s.memoryGiB - overhead)],
        ];
        if (absRow[k][i][c] >= 0) entries.push([absRow[k][i][c], -u]);
        SEAT_CUTS.forEach((q, j) => entries.push([cutRow[k][i][j], -(q - 1)]));
        b.col(0, 0, Infinity, entries);
      }),
    ),
  );
}

/**
 * One column per maximal MIG layout of each option (integer when `integral`), offering its slices; each also
 * counts in its option's carry row (`addNodeCols` adds those rows next, one per option: `firstCarry` + k).
 */
function addLayoutCols(b: LpBuilder, opts: readonly GpuOption[], shapeRow: readonly number[][], integral: boolean): number[][] {
  const firstCarry = b.numRows;
  return opts.map((o, k) => {
    const shapeIndex = new Map(o.shapes.map((s, i) => [s.profile, i]));
    return maximalLayouts(o).map((layout) => {
      const count = o.shapes.map(() => 0);
      for (const p of layout) count[shapeIndex.get(p.shape.profile)!]++;
      const col = b.open(0, 0, Infinity, integral);
      o.shapes.forEach((_, i) => {
        if (count[i] > 0) b.entry(shapeRow[k][i], -count[i]);
      });
      b.entry(firstCarry + k, 1);
      return col;
    });
  });
}

/**
 * Whole nodes: the GPUs of an option (its carry row, counted by its layout columns) are carried by instances of its
 * node options (integer columns).
 */
function addNodeCols(b: LpBuilder, opts: readonly GpuOption[]): number[][] {
  return opts.map((o) => {
    const carry = b.row(-Infinity, 0);
    return o.nodeOptions.map((n) => b.col(0, 0, Infinity, [[carry, -n.gpusPerNode]], true));
  });
}

/** Where one model's columns on one shape of one option go: its rows and the class it may use. */
interface ModelShape {
  readonly m: BoundModel;
  readonly mi: number;
  readonly k: number;
  readonly i: number;
  readonly demand: number;
  /** The model's seat row, -1 for a cold model. */
  readonly seat: number;
  /** The model's budget class (it may also sit on slices of tighter classes). */
  readonly mine: number;
}

/** The rows a model's seats on one shape and budget class count in (-1: none). */
interface SeatRows {
  readonly seat: number;
  readonly count: number;
  readonly lat: number;
  readonly mem: number;
  readonly abs: number;
  readonly cuts: readonly number[];
}

/**
 * The seat entries of `seats` seats at e, added to the last column: seat, count, latency, memory, absolute
 * latency, seat cuts (in this order).
 */
function addSeatEntries(b: LpBuilder, rows: SeatRows, budget: number, e: Candidate, seats: number): void {
  if (rows.seat >= 0) b.entry(rows.seat, seats);
  if (rows.count >= 0) b.entry(rows.count, seats);
  b.entry(rows.lat, (seats * e.latencyMs) / budget);
  b.entry(rows.mem, seats * e.memGiB);
  if (rows.abs >= 0) b.entry(rows.abs, seats * e.latencyMs);
  for (let j = 0; j < SEAT_CUTS.length; j++) if (heavier(e.latencyMs, budget, SEAT_CUTS[j])) b.entry(rows.cuts[j], seats);
}

/**
 * The columns of one model on one shape of one option: per budget class up to its own, a cache
 * column (cold models), served-time columns per entry and Pareto-optimal free seats; with
 * `integral`, an integer seat-count column. Returns the number of integer columns added.
 */
function addModelShapeCols(b: LpBuilder, at: ModelShape, rows: CapacityRows, integral: boolean, served: Built['served'][number][]): number {
  const { m, mi, k, i, demand, seat, mine } = at;
  const { timeRow, latRow, absRow, memRow, cutRow } = rows;
  const list = m.cands[k][i];
  if (list.length === 0) return 0;
  // integral: the seats of m on this shape, the sum of its x + z over classes, are a whole number
  const count = integral && seat >= 0 ? b.row(0, 0) : -1;
  // a model may sit on slices of its own budget class or of a tighter one
  for (let c = 0; c <= mine; c++) {
    const t = timeRow[k][i][c];
    if (m.cold) {
      // a cache slice: time at the best admissible entry, no seat (rules 3 and 5 of the cold tier)
      b.open(0, 0, Infinity);
      b.entry(demand, list[0].throughput);
      b.entry(t, 1);
    }
    const seatRows = { seat, count, lat: latRow[k][i][c], mem: memRow[k][i][c], abs: absRow[k][i][c], cuts: cutRow[k][i] };
    // served time: per unit of share at least one seat (a share is at most 1), and at least
    // throughput / maxRps seats (the seats at e serve at most maxRps each, so a model whose
    // whole demand takes a small share of an entry still pays a whole seat there) ...
    for (let j = 0; j < list.length; j++) {
      const e = list[j];
      const col = b.open(0, 0, Infinity);
      b.entry(demand, e.throughput);
      b.entry(t, 1);
      addSeatEntries(b, seatRows, m.budget, e, seatsPerShare(e.throughput, m.maxRps));
      served.push({ col, model: mi, option: k, shape: i, cand: e });
    }
    if (seat < 0) continue;
    // ... and free seats (no time), Pareto-optimal in latency and memory
    const free = list.slice().sort((x, y) => x.latencyMs - y.latencyMs || x.memGiB - y.memGiB);
    let minMem = Infinity;
    for (let j = 0; j < free.length; j++) {
      const e = free[j];
      if (e.memGiB >= minMem) continue;
      minMem = e.memGiB;
      b.open(0, 0, Infinity);
      addSeatEntries(b, seatRows, m.budget, e, 1);
    }
  }
  if (count < 0) return 0;
  b.col(0, 0, Infinity, [[count, -1]], true);
  return 1;
}

/**
 * The relaxation as a model. Seats are written y = x + z: x the slice time at an entry (a seat
 * per unit of share), z >= 0 free seats; free seats keep only entries Pareto-optimal in (latency,
 * memory) per shape — moving a free seat to an entry with no more latency and memory keeps every
 * row feasible, so the pruned model is still a relaxation. `integral`: the layout counts and, per
 * model and shape, the number of seats (sum of x + z) are integer columns.
 */
export function build(
  models: readonly BoundModel[],
  opts: readonly GpuOption[],
  overhead: number,
  integral: boolean,
  edges: readonly number[] = [],
): Built {
  const b = new LpBuilder();
  const { K, upper, classOf } = budgetClasses(models, edges);
  const rows = addCapacityRows(b, opts, upper, K);
  addSliceCols(b, opts, overhead, upper, rows);
  const layoutCols = addLayoutCols(b, opts, rows.shapeRow, integral);
  let integerCols = integral ? layoutCols.reduce((a, cols) => a + cols.length, 0) : 0;
  const nodeCols = addNodeCols(b, opts);
  const served: Built['served'][number][] = [];
  models.forEach((m, mi) => {
    const demand = b.row(m.rps, Infinity);
    const seat = m.cold ? -1 : b.row(m.count, Infinity);
    const mine = classOf(m.budget);
    opts.forEach((o, k) => {
      o.shapes.forEach((_, i) => {
        integerCols += addModelShapeCols(b, { m, mi, k, i, demand, seat, mine }, rows, integral, served);
      });
    });
  });
  return { builder: b, layoutCols, nodeCols, integerCols, served };
}

/**
 * Integer columns of the integral model (`build(..., true).integerCols`) without building it: one per maximal
 * layout of each option, and one seat count per model with a seat (not cold) and shape with a candidate.
 */
export function integerColumns(models: readonly BoundModel[], opts: readonly GpuOption[]): number {
  let n = opts.reduce((a, o) => a + maximalLayouts(o).length, 0);
  for (const m of models) {
    if (m.cold) continue;
    opts.forEach((o, k) => o.shapes.forEach((_, i) => (n += m.cands[k][i].length > 0 ? 1 : 0)));
  }
  return n;
}

/** The model with an objective: GPUs (each layout column 1), or cost (each node at its price). */
export function withCost(built: Built, objective: 'gpus' | 'cost', opts: readonly GpuOption[], integral: boolean): LpModel {
  const model = built.builder.build(integral);
  const colCost = new Float64Array(model.numCols);
  if (objective === 'gpus')
    built.layoutCols.forEach((cols) => {
      for (const c of cols) colCost[c] = 1;
    });
  else
    built.nodeCols.forEach((cols, k) =>
      cols.forEach((c, j) => {
        const n = opts[k].nodeOptions[j];
        colCost[c] = n.pricePerGpuHour * n.gpusPerNode;
      }),
    );
  return { ...model, colCost };
}

/** The value a solve proves (minimisation): the optimum, or a MILP's dual bound when its budget ran out. */
function provenValue(r: LpResult, integral: boolean): number | undefined {
  // a MILP proves its dual bound (the optimum up to the relative gap); an LP its optimum
  if (integral && (r.status === 'optimal' || r.status === 'limit') && Number.isFinite(r.dualBound)) return r.dualBound;
  return r.status === 'optimal' ? r.objective : undefined;
}

export interface TightBoundOptions {
  /**
   * Try the integral model (integer seats and layout counts) when it has at most
   * `MILP_MAX_INTEGER_COLUMNS` integer columns and the LP bound is below `target`.
   * @default true
   */
  readonly integral?: boolean;
  /** GPUs of a plan already found: the MILP runs only when the LP bound is below it (it could not raise the bound otherwise). */
  readonly target?: number;
  /**
   * GPUs the exact seat-set stage proved no valid plan of the whole fleet goes below (one GPU type;
   * exact-seat-sets.ts): the bound is raised to it, method `exact`.
   */
  readonly provenMinimum?: number;
}

export interface TightBoundResult {
  readonly bound?: TightBound;
  /** Why there is no bound (the solver could not run). */
  readonly problem?: string;
}

/** A bound being solved in the solver's worker; `finish` waits for it (and may refine it with the MILP). */
export interface PendingBound {
  finish(options?: TightBoundOptions): TightBoundResult;
}

/**
 * Starts the tight bound from the planner's own candidates: the LP is handed to the solver worker
 * at once, so it is solved while the caller packs. Never throws for a fleet the planner can plan.
 */
export function startTightBound(input: BoundInput): PendingBound {
  const opts = input.opts;
  const models = groupModels(input);
  const overhead = input.fleet.processOverheadGiB;
  const lpModel = build(models, opts, overhead, false);
  // an LP (no integer column), solved without presolve: the same optimum, sooner (LpOptions.presolve)
  const gpuLp = submitLp(withCost(lpModel, 'gpus', opts, false), { presolve: false });
  // several GPU types: the least cost, with whole GPUs and whole nodes (few integer columns)
  const costLp = opts.length > 1 ? submitLp(withCost(lpModel, 'cost', opts, true), { maxNodes: BOUND_MAX_NODES }) : undefined;
  let lpPart: { result?: TightBoundResult; gpus?: number; costPerHour?: number } | undefined;
  let refined: { target: number; result: TightBoundResult } | undefined;
  const lpFinish = (): NonNullable<typeof lpPart> => {
    if (lpPart) return lpPart;
    const lp = gpuLp.wait();
    const lpValue = provenValue(lp, false);
    const cost = costLp?.wait();
    if (lpValue === undefined) {
      lpPart = { result: { problem: `the solver returned ${lp.status}${lp.message ? ` (${lp.message})` : ''}` } };
      return lpPart;
    }
    let costPerHour: number | undefined;
    if (cost) {
      const v = provenValue(cost, true);
      if (v === undefined) {
        lpPart = { result: { problem: `the solver returned ${cost.status} for the cost` } };
        return lpPart;
      }
      // a MILP dual bound: proven up to the solver's tolerances (1e-7 relative), far below a cent
      costPerHour = Math.max(0, v - 1e-7 * Math.abs(v));
    }
    lpPart = { gpus: roundUpGpus(lpValue), costPerHour };
    return lpPart;
  };
  const result = (gpus: number, method: TightBound['method'], cost: number | undefined): TightBoundResult => {
    // one GPU type: the cheapest whole nodes carrying at least the bound's GPUs
    const costPerHour = cost ?? nodeMix(opts[0], gpus).costPerHour;
    return { bound: { gpus, costPerHour: Math.floor(costPerHour * 1e4 + 1e-6) / 1e4, method, solver: solverName() } };
  };
  return {
    finish: (options: TightBoundOptions = {}): TightBoundResult => {
      const lp = lpFinish();
      if (lp.result) return lp.result;
      const target = options.target;
      const proven = options.provenMinimum;
      if (proven !== undefined && opts.length === 1 && proven > lp.gpus!) return result(proven, 'exact', undefined);
      // the integral model minimises GPUs: for several GPU types the plan minimises cost instead
      if (!(options.integral ?? true) || target === undefined || target <= lp.gpus! || opts.length > 1)
        return result(lp.gpus!, 'lp', lp.costPerHour);
      if (refined && refined.target === target) return refined.result;
      let gpus = lp.gpus!;
      let method: TightBound['method'] = 'lp';
      // counted before building: a large fleet's MILP is never solved, so it is not built either
      if (integerColumns(models, opts) <= MILP_MAX_INTEGER_COLUMNS) {
        const milp = solveLp(withCost(build(models, opts, overhead, true), 'gpus', opts, true), { maxNodes: BOUND_MAX_NODES });
        const v = provenValue(milp, true);
        if (v !== undefined && roundUpGpus(v) >= gpus) {
          gpus = roundUpGpus(v);
          method = milp.status === 'optimal' ? 'milp' : 'milp-bound';
        }
      }
      refined = { target, result: result(gpus, method, lp.costPerHour) };
      return refined.result;
    },
  };
}

/**
 * The tight lower bound of a fleet (DESIGN.md "Tight bound"): the fewest GPUs (and, with several
 * GPU types, the least cost per hour) of any plan that passes verifyPlan. Undefined with a reason
 * when the solver could not run.
 */
export function tightBound(fleet: Fleet, options: TightBoundOptions = {}): TightBoundResult {
  const opts = resolveGpuOptions(fleet);
  const models = [...fleet.models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const h = fleet.latencyHeadroom;
  const ov = fleet.processOverheadGiB;
  const cands = models.map((m) => opts.map((o) => candidatesFor(m, o, h, ov)));
  return startTightBound({ models, cands, opts, fleet }).finish(options);
}
