/**
 * The exact seat-set model of a whole packing (docs/planner.md, "Exact seat-set stage"): every
 * seat set of the fleet is enumerated, and HiGHS either re-packs the demand into fewer GPUs or
 * proves that no valid plan uses fewer.
 *
 * A *seat set* is one slice shape and a set of models, each at one admissible profile entry, whose
 * batch latencies add up to at most the tightest budget among them (rule 4) and whose memory plus
 * the process overhead fits the slice (rule 5). Only *maximal* sets are kept: no model can be added
 * and no seat can move to an entry of more throughput. Any other feasible set is contained in a
 * maximal one with at least the throughput per seat (add models, raise entries while they fit).
 *
 * The model (as seat-set-model.ts): integer GPUs per maximal MIG layout, integer copies of each
 * seat set, continuous demand per seat set and model; per seat set, time (sum of rps / throughput
 * <= copies) and per seat rps <= the model's demand x copies; per model, demand covered.
 *
 * **Why "infeasible" is a proof.** Take any plan that passes verifyPlan. Each GPU's slices lie in
 * a maximal layout (rule 1). On each slice, a model at a dominated entry is moved to the Pareto
 * entry that dominates it (candidatesFor keeps only those: more throughput, no more latency and
 * memory); a model twice on one slice is merged into one seat at its faster entry with the sum of
 * the shares (its latency and memory drop, its throughput does not); the slice's seats are then a
 * feasible set, contained in a maximal set whose seats have at least their throughput. Count the
 * slice as one copy of that set and give each seat min(its rps, the model's demand): time per copy
 * is at most 1 (rule 3), rps per seat at most the demand, demand covered (rule 6, a capped seat
 * alone covers it). So every valid plan with G GPUs is a solution with G GPUs; when HiGHS reports
 * the model with at most G - 1 GPUs infeasible, no valid plan uses fewer than G. (Rows use
 * verifyPlan's tolerance on the loose side, so rounding cannot exclude a valid plan.)
 *
 * Enumerating is exponential in the models that fit on one slice together, so the stage is budgeted
 * by a count of seat sets (`maxSets`); beyond `proveMaxSets` the full model is too large to solve,
 * and only its column-generated restriction is used to re-pack (which proves nothing).
 * Deterministic: fixed enumeration order, counted solver budgets.
 */
import type { Candidate } from './entries';
import type { GpuOption } from './gpu-options';
import { maximalLayouts } from './gpu-space';
import { LpBuilder, solveLp } from './lp-solver';
import type { Item } from './pattern-model';

/** A seat set: a shape and (item, entry) pairs, in item order (structurally seat-set-model.ts's). */
export interface SeatSet {
  readonly shapeIndex: number;
  readonly seats: readonly { readonly item: number; readonly cand: Candidate }[];
}

/** Slack with which the enumeration admits a set: verifyPlan's, with a margin on the loose side. */
const LATENCY_SLACK_MS = 1e-6;
const MEMORY_SLACK_GIB = 1e-6;
/**
 * Loose side of the proof's rows: shares may add up to 1 + this, demand be short by this (relative).
 * verifyPlan accepts a plan within RULE_EPSILON (1e-9) of each rule, far inside it.
 */
const PROOF_SLACK = 1e-6;
/**
 * Wall-clock safety net of the proof's solve (seconds). Budgets are node counts; this only keeps a
 * machine under heavy load from cutting a proof short (which would leave the plan unchanged but its
 * bound's method the relaxation's).
 */
const PROOF_SAFETY_SECONDS = 600;
/** Leaves visited per seat set allowed (the enumeration visits every feasible set, maximal or not). */
const VISITS_PER_SET = 40;

/**
 * The maximal seat sets of the items on every shape of the option, in a fixed order; undefined
 * when there are more than `maxSets` (or the walk visits more than `maxVisits` leaves, by default
 * `VISITS_PER_SET` x `maxSets`).
 */
export function enumerateSeatSets(
  opt: GpuOption,
  items: readonly Item[],
  overhead: number,
  maxSets: number,
  maxVisits = maxSets * VISITS_PER_SET,
): SeatSet[] | undefined {
  const out: SeatSet[] = [];
  const visitCap = maxVisits;
  let visits = 0;
  for (let s = 0; s < opt.shapes.length; s++) {
    const cap = opt.shapes[s].memoryGiB + MEMORY_SLACK_GIB;
    const cands = items.map((it) => it.input.cands[s] ?? []);
    const chosen: { item: number; cand: Candidate }[] = [];
    const inSet = new Uint8Array(items.length);
    const fits = (lat: number, minBudget: number, mem: number, budget: number, c: Candidate): boolean =>
      lat + c.latencyMs <= Math.min(minBudget, budget) + LATENCY_SLACK_MS && mem + c.memGiB <= cap;
    const maximal = (lat: number, minBudget: number, mem: number): boolean => {
      for (let j = 0; j < items.length; j++) {
        if (inSet[j]) continue;
        for (const c of cands[j]) if (fits(lat, minBudget, mem, items[j].budget, c)) return false;
      }
      // the tightest budget of the others of a seat: the set's, or the second tightest for the seat holding it
      let tightest = -1;
      let second = Infinity;
      for (let k = 0; k < chosen.length; k++) {
        const b = items[chosen[k].item].budget;
        if (tightest < 0 || b < items[chosen[tightest].item].budget) {
          if (tightest >= 0) second = items[chosen[tightest].item].budget;
          tightest = k;
        } else second = Math.min(second, b);
      }
      for (let k = 0; k < chosen.length; k++) {
        const x = chosen[k];
        const others = k === tightest ? second : minBudget;
        for (const c of cands[x.item]) {
          if (c.throughput <= x.cand.throughput) continue;
          if (fits(lat - x.cand.latencyMs, others, mem - x.cand.memGiB, items[x.item].budget, c)) return false;
        }
      }
      return true;
    };
    let over = false;
    const walk = (i: number, lat: number, minBudget: number, mem: number): void => {
      if (over) return;
      if (i === items.length) {
        if (++visits > visitCap) {
          over = true;
          return;
        }
        if (chosen.length === 0 || !maximal(lat, minBudget, mem)) return;
        if (out.length >= maxSets) {
          over = true;
          return;
        }
        out.push({ shapeIndex: s, seats: chosen.slice() });
        return;
      }
      walk(i + 1, lat, minBudget, mem);
      for (const c of cands[i]) {
        if (!fits(lat, minBudget, mem, items[i].budget, c)) continue;
        chosen.push({ item: i, cand: c });
        inSet[i] = 1;
        walk(i + 1, lat + c.latencyMs, Math.min(minBudget, items[i].budget), mem + c.memGiB);
        inSet[i] = 0;
        chosen.pop();
        if (over) return;
      }
    };
    walk(0, 0, Infinity, overhead);
    if (over) return undefined;
  }
  return out;
}

interface SetModel {
  readonly builder: LpBuilder;
  readonly shapeRow: readonly number[];
  readonly demandRow: readonly number[];
}

/**
 * The seat-set model over `sets` (see the file comment): GPUs at most `gpus` (none when undefined),
 * time per copy at most `shareCap`, demand covered within `coverage` of each item's demand.
 */
function setModel(
  opt: GpuOption,
  items: readonly Item[],
  sets: readonly SeatSet[],
  integral: boolean,
  gpus: number | undefined,
  shareCap: number,
  coverage: number,
): SetModel {
  const b = new LpBuilder();
  const shapeIndex = new Map(opt.shapes.map((s, i) => [s.profile, i]));
  const gpuRow = gpus === undefined ? -1 : b.row(-Infinity, gpus);
  const shapeRow = opt.shapes.map(() => b.row(-Infinity, 0));
  const demandRow = items.map((it) => b.row(it.rps * coverage, Infinity));
  for (const l of maximalLayouts(opt)) {
    const count = opt.shapes.map(() => 0);
    for (const p of l) count[shapeIndex.get(p.shape.profile)!]++;
    const entries: [number, number][] = count.map((c, i): [number, number] => [shapeRow[i], -c]).filter(([, c]) => c !== 0);
    if (gpuRow >= 0) entries.push([gpuRow, 1]);
    b.col(1, 0, Infinity, entries, integral);
  }
  for (const s of sets) {
    const time = b.row(-Infinity, 0);
    const vub = s.seats.map(() => b.row(-Infinity, 0));
    b.col(
      0,
      0,
      Infinity,
      [[shapeRow[s.shapeIndex], 1], [time, -shareCap], ...vub.map((r, k): [number, number] => [r, -items[s.seats[k].item].rps])],
      integral,
    );
    s.seats.forEach((x, k) =>
      b.col(0, 0, items[x.item].rps, [
        [demandRow[x.item], 1],
        [time, 1 / x.cand.throughput],
        [vub[k], 1],
      ]),
    );
  }
  return { builder: b, shapeRow, demandRow };
}

/**
 * Whether no valid plan serves the items on fewer than `gpus` GPUs of the option: the full model
 * (every maximal seat set) with at most `gpus` - 1 GPUs is infeasible. False when HiGHS finds a
 * solution or its node budget runs out first (nothing proven).
 */
export function provesNoFewer(opt: GpuOption, items: readonly Item[], sets: readonly SeatSet[], gpus: number, maxNodes: number): boolean {
  if (gpus <= 1) return gpus === 1;
  // loose side of verifyPlan's tolerance: shares may add up to 1 + epsilon, demand be short by epsilon
  const m = setModel(opt, items, sets, true, gpus - 1, 1 + PROOF_SLACK, 1 - PROOF_SLACK);
  const r = solveLp(m.builder.build(true), { maxNodes, mipRelGap: 1, firstSolution: true, safetySeconds: PROOF_SAFETY_SECONDS });
  return r.status === 'infeasible';
}

/**
 * Column generation over enumerated seat sets: starts from one set per (shape, item) and adds the
 * sets of most negative reduced cost — each set priced exactly by a fractional knapsack of its
 * seats' demand duals — until none prices out or `rounds` are used. Returns the pool (a subset of
 * `sets`, in a deterministic order).
 */
export function priceSeatSets(
  opt: GpuOption,
  items: readonly Item[],
  sets: readonly SeatSet[],
  rounds: number,
  perRound: number,
): SeatSet[] {
  const inPool = new Uint8Array(sets.length);
  const pool: SeatSet[] = [];
  const seen = new Set<string>();
  sets.forEach((s, i) => {
    for (const x of s.seats) {
      const k = `${s.shapeIndex}/${x.item}`;
      if (seen.has(k)) continue;
      seen.add(k);
      if (!inPool[i]) {
        inPool[i] = 1;
        pool.push(s);
      }
    }
  });
  for (let round = 0; round < rounds; round++) {
    const m = setModel(opt, items, pool, false, undefined, 1, 1);
    const r = solveLp(m.builder.build(false));
    if (r.status !== 'optimal' || r.rowDuals.length === 0) break;
    const mu = m.shapeRow.map((row) => r.rowDuals[row]);
    const pi = m.demandRow.map((row) => r.rowDuals[row]);
    const priced: { i: number; rc: number }[] = [];
    sets.forEach((s, i) => {
      if (inPool[i]) return;
      // the most demand value one copy carries: fill its time by dual value per unit of time
      const seats = s.seats
        .map((x) => ({ v: pi[x.item] * x.cand.throughput, t: items[x.item].rps / x.cand.throughput }))
        .sort((a, b) => b.v - a.v);
      let left = 1;
      let value = 0;
      for (const x of seats) {
        if (left <= 0 || x.v <= 0) break;
        const t = Math.min(left, x.t);
        value += t * x.v;
        left -= t;
      }
      const rc = -mu[s.shapeIndex] - value;
      if (rc < -1e-7) priced.push({ i, rc });
    });
    if (priced.length === 0) break;
    priced.sort((a, b) => a.rc - b.rc || a.i - b.i);
    for (const p of priced.slice(0, perRound)) {
      inPool[p.i] = 1;
      pool.push(sets[p.i]);
    }
  }
  return pool;
}
