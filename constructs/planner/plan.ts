/**
 * `plan(fleet)`: the fleet → plan entry point. Chooses a GPU type per model (cheapest per hour,
 * whole nodes counted), packs each type with several variants and keeps the cheapest, then groups
 * GPUs into nodes with few distinct MIG configurations.
 */
import { performance } from 'perf_hooks';
import { throughputFigure } from '../fleet/throughput';
import type { Fleet, ModelSpec } from '../fleet/types';
import { baselines, noMigPacking } from './baselines';
import { demandProblems, lowerBound } from './bounds';
import { bestThroughputPerGpu, Candidate, candidatesFor, ESTIMATE_RULE } from './entries';
import { GpuOption, nodeMix, resolveGpuOptions } from './gpu-options';
import { consolidate, repackTail } from './consolidate';
import { Assembled, assemble, TypeResult } from './nodes';
import { FAST_VARIANTS, ModelInput, packType, PackResult, roundUp6, VARIANTS } from './pack';
import { COLD_HIT_RATE, coldEntry, ColdSizing, placeColdTier, sizeColdTier } from './cold-tier';
import { PlanError } from './plan-error';
import { ExactStageOptions, repairPacking, SmallFleetBudget } from './lns-repair';
import { PendingBound, startTightBound, TightBoundResult } from './tight-bound';
import { mixedTypeFigures } from './type-figures';
import { withTeamConsumption } from './team-consumption';
import type { Plan, PlanColdTier, PlanOptions, TightBound } from './types';
import { mulberry32 } from './random';

/** Models above this count are planned with `effort: 'fast'` unless asked otherwise. */
export const THOROUGH_MAX_MODELS = 500;

const byName = (a: ModelSpec, b: ModelSpec): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Cost per hour of the cheapest whole nodes carrying `gpus` GPUs of the option (the same model `assemble` bills). */
function nodeCost(opt: GpuOption, gpus: number): number {
  return nodeMix(opt, gpus).costPerHour;
}

/**
 * The exact seat-set stage (exact-seat-sets.ts): seat sets enumerated at most by default with
 * `effort: 'thorough'` (off with `fast`), the most for which the full model is solved (the proof),
 * and branch-and-bound nodes per solve.
 */
export const EXACT_SEAT_SETS = 3000;
export const EXACT_PROVE_MAX_SETS = 5000;
const EXACT_MAX_NODES = 2000;
/**
 * The default budget's larger enumeration for packings of at most 12 models (exact-seat-sets.ts): up to
 * 400,000 seat sets within 6,000,000 leaves visited (about 3 s of one core at most, whether or not the
 * sets fit). ParvaGPU's slo-6 (11 models) has 252,848 sets found in 2.8 million leaves; a column-generated
 * pool over them re-packs its 17 GPUs into 16, the tight bound, where 3,000 sets leave 17.
 */
export const EXACT_SMALL_FLEET: SmallFleetBudget = { maxModels: 12, maxSets: 400_000, maxVisits: 6_000_000 };

/** Neighbourhoods the repair tries by default, per effort. */
export const THOROUGH_REPAIR_ATTEMPTS = 24;
export const FAST_REPAIR_ATTEMPTS = 0;

/** Small fleets get this many restarts with shuffled model order (deterministic seed). */
const RESTARTS = 6;
const RESTART_MAX_MODELS = 40;

interface Evaluated {
  results: TypeResult[];
  cost: number;
  gpus: number;
}

/** GPUs and cost per hour (whole nodes) of packed results. */
function totals(results: readonly TypeResult[]): { gpus: number; cost: number } {
  let gpus = 0;
  let cost = 0;
  for (const r of results) {
    gpus += r.pack.gpus.length;
    cost += nodeCost(r.opt, r.pack.gpus.length);
  }
  return { gpus, cost };
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

function bestPack(opt: GpuOption, inputs: ModelInput[], fleet: Fleet, variants: typeof VARIANTS): PackResult {
  const ov = fleet.processOverheadGiB;
  const run = (sub: ModelInput[], v: (typeof VARIANTS)[number], retune: boolean): PackResult => {
    const packed = packType(opt, sub, fleet.latencyHeadroom, ov, v);
    const attempts = packed.gpus.length <= 64 ? 2 * packed.gpus.length : 4;
    return opt.mig ? consolidate(opt, packed, sub, ov, attempts, retune && packed.gpus.length <= 64) : packed;
  };
  // fewest GPUs, then least compute in slices (more spare for growth); ties keep the earlier variant
  const keyOf = (r: PackResult): number => r.gpus.length * 1e6 + r.slices.reduce((s, x) => s + x.shape.computeFraction, 0);
  const thorough = variants.length > FAST_VARIANTS;
  let best: PackResult | undefined;
  for (const v of variants) {
    const r = run(inputs, v, thorough);
    if (!best || keyOf(r) < keyOf(best) - 1e-9) best = r;
  }
  if (thorough && inputs.length <= RESTART_MAX_MODELS) {
    // small fleets: a few restarts with the models in other (seeded, hence deterministic) orders
    const rand = mulberry32(inputs.length * 7919 + 17);
    for (let k = 0; k < RESTARTS; k++) {
      const order = inputs.slice();
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const v of variants.slice(0, 5)) {
        const r = run(order, v, true);
        if (keyOf(r) < keyOf(best!) - 1e-9) best = r;
      }
    }
  }
  if (thorough) {
    // re-pack the demand of the least-loaded GPUs of the best result from scratch
    best = repackTail(best!, inputs, (sub) => variants.map((w) => run(sub, w, true)));
  }
  return best!;
}

/** The noMig packings `evaluate` made, per option: the models packed and the GPUs needed (the baselines reuse them). */
type NoMigSeen = Map<GpuOption, { models: ModelSpec[]; gpus: number }[]>;

function evaluate(
  opts: GpuOption[],
  assign: number[],
  models: ModelSpec[],
  cands: Candidate[][][][],
  fleet: Fleet,
  variants: typeof VARIANTS,
  noMigSeen?: NoMigSeen,
): Evaluated {
  const results: TypeResult[] = [];
  let cost = 0;
  let gpus = 0;
  opts.forEach((opt, o) => {
    const inputs: ModelInput[] = [];
    models.forEach((m, i) => {
      if (assign[i] === o) inputs.push({ model: m, cands: cands[i][o] });
    });
    if (inputs.length === 0) return;
    let pack = bestPack(opt, inputs, fleet, variants);
    // the noMig baseline's own packing, when it is better, so that no plan is worse than that baseline
    const plain = noMigPacking(opt, inputs, fleet.latencyHeadroom, fleet.processOverheadGiB);
    if (plain && noMigSeen) {
      const seen = noMigSeen.get(opt) ?? [];
      seen.push({ models: inputs.map((x) => x.model), gpus: plain.gpus.length });
      noMigSeen.set(opt, seen);
    }
    if (plain && plain.gpus.length < pack.gpus.length) pack = plain;
    results.push({ opt, pack });
    cost += nodeCost(opt, pack.gpus.length);
    gpus += pack.gpus.length;
  });
  return { results, cost, gpus };
}

/** GPUs of a type one model needs at its most efficient admissible candidate (fractional). */
function gpuNeed(m: ModelSpec, perShape: Candidate[][]): number {
  const best = bestThroughputPerGpu(perShape);
  return best > 0 ? m.rps / best : Infinity;
}

/**
 * Plans a fleet: every model placed, rules 1-6 of DESIGN.md respected, cost per hour minimised
 * over the fleet's GPU types. Pure and deterministic: the same fleet in any model order gives the
 * same plan. Throws a `PlanError` listing every model that fits no GPU type (no admissible entry
 * within its latency budget and memory), and for a fleet or option it cannot use.
 */
export function plan(fleet: Fleet, options: PlanOptions = {}): Plan {
  // every plan carries what each team consumes in it (summary.teamConsumption)
  return withTeamConsumption(fleet, planAtTarget(fleet, options));
}

function planAtTarget(fleet: Fleet, options: PlanOptions): Plan {
  const t = options.utilizationTarget ?? 1;
  if (!(typeof t === 'number' && t > 0 && t <= 1)) throw new PlanError([`utilizationTarget: expected a number > 0 and <= 1, got ${t}`]);
  // demand beyond MAX_PLAN_GPUS GPUs at the compute lower bound is refused before any packing (bounds.ts)
  const tooMuch = demandProblems(fleet, t);
  if (tooMuch.length > 0) throw new PlanError(tooMuch);
  if (t === 1) return planAtFullUtilization(fleet, options);
  // plan for demand / t, then report the real demand: each share keeps 1/t of headroom
  const scaled: Fleet = {
    ...fleet,
    models: fleet.models.map((m) => ({ ...m, rps: m.rps / t })),
    ...(fleet.coldBelowRps !== undefined ? { coldBelowRps: fleet.coldBelowRps / t } : {}),
  };
  // the lower bound and baselines are of the real demand
  const p = planAtFullUtilization(scaled, options, fleet);
  const scale = (rps: number): number => Math.min(rps, roundUp6(rps * t));
  return {
    ...p,
    gpus: p.gpus.map((g) => ({
      ...g,
      slices: g.slices.map((s) => ({ ...s, models: s.models.map((m) => ({ ...m, rps: scale(m.rps) })) })),
    })),
    ...(p.cold
      ? { cold: { ...p.cold, belowRps: fleet.coldBelowRps!, models: p.cold.models.map((m) => ({ ...m, rps: scale(m.rps) })) } }
      : {}),
    summary: {
      ...p.summary,
      notes: [
        `utilization target ${t}: every slice is planned to at most ${Math.round(t * 1000) / 10}% of its measured throughput ` +
          '(shares include the headroom)',
        ...(p.summary.notes ?? []),
      ],
    },
  };
}

/** What the packing steps of one plan share: the models (sorted by name), their candidates per GPU option and the search settings. */
interface PackingContext {
  readonly fleet: Fleet;
  readonly models: ModelSpec[];
  readonly opts: GpuOption[];
  /** `cands[model][option][shape]`: the admissible entries of each model on each option's slice shapes. */
  readonly cands: Candidate[][][][];
  /** `placeable[model][option]`: whether the model has any admissible entry on the option. */
  readonly placeable: boolean[][];
  readonly variants: typeof VARIANTS;
  readonly repairAttempts: number;
  /** The exact seat-set stage of the repair (one GPU type only); off when absent. */
  readonly exact?: ExactStageOptions;
  /** The tight bound's LP, solving in the solver's worker while the packing runs (solver `highs`). */
  readonly pendingBound?: PendingBound;
  /** Filled by the packing: the noMig packings it made, which the baselines of the fleet reuse. */
  readonly noMigSeen: NoMigSeen;
}

/** The options' search settings, defaults resolved and checked. */
interface SearchSettings {
  readonly variants: typeof VARIANTS;
  readonly solver: 'highs' | 'none';
  readonly repairAttempts: number;
  readonly exactSets: number;
  /** The default budget of the exact stage is on (thorough effort, `exactSeatSets` not given): small packings enumerate more. */
  readonly smallFleetSets: boolean;
}

/** The packing of every GPU type, the cold tier's sizing when the plan keeps one, and the GPUs the exact stage proved needed. */
interface Packed {
  readonly results: TypeResult[];
  readonly coldIdx: number[];
  readonly coldInfo?: { sizing: ColdSizing; withSeats: number };
  /** GPUs the exact stage proved no plan of the whole fleet can go below (one GPU type, no cold tier). */
  readonly provenMinimum?: number;
}

/** The fleet's models sorted by name; throws a `PlanError` naming every name used more than once. */
function uniqueModelsByName(fleet: Fleet): ModelSpec[] {
  const models = [...fleet.models].sort(byName);
  const duplicates: string[] = [];
  for (let i = 1; i < models.length; i++) {
    if (models[i].name === models[i - 1].name && (i < 2 || models[i - 2].name !== models[i].name)) {
      duplicates.push(`models: name "${models[i].name}" is used more than once, expected unique names`);
    }
  }
  if (duplicates.length > 0) throw new PlanError(duplicates);
  return models;
}

/** Each model's candidates per GPU option and slice shape; throws a `PlanError` naming every model no option can serve. */
function servableCandidates(fleet: Fleet, models: ModelSpec[], opts: GpuOption[]): { cands: Candidate[][][][]; placeable: boolean[][] } {
  const h = fleet.latencyHeadroom;
  const ov = fleet.processOverheadGiB;
  const cands = models.map((m) => opts.map((o) => candidatesFor(m, o, h, ov)));
  const placeable = cands.map((perOpt) => perOpt.map((perShape) => perShape.some((l) => l.length > 0)));
  const unservable: string[] = [];
  models.forEach((m, i) => {
    if (!placeable[i].some((x) => x)) {
      unservable.push(
        `models.${m.name}: no profile entry meets latency <= ${h} x ${m.latencySloMs} ms and memory ${m.memoryGiB} GiB ` +
          `+ ${ov} GiB overhead on ${opts.map((o) => o.type).join(', ')}` +
          (m.profiles.length === 0 && opts.every((o) => throughputFigure(m, o.type) === undefined)
            ? ` (no profiles and no throughputPerGpu figure for ${opts.map((o) => o.type).join(' or ')})`
            : ''),
      );
    }
  });
  // every model that cannot be served, all at once
  if (unservable.length > 0) throw new PlanError(unservable);
  return { cands, placeable };
}

/** The options' effort, packing variants, solver, repair attempts and exact seat sets, defaults resolved and checked. */
function searchSettings(options: PlanOptions, modelCount: number): SearchSettings {
  const effort = options.effort ?? (modelCount > THOROUGH_MAX_MODELS ? 'fast' : 'thorough');
  const variants = effort === 'fast' ? VARIANTS.slice(0, FAST_VARIANTS) : VARIANTS;
  const solver = options.solver ?? 'highs';
  if (solver !== 'highs' && solver !== 'none') throw new PlanError([`solver: expected "highs" or "none", got ${JSON.stringify(solver)}`]);
  const repairAttempts = options.repairAttempts ?? (effort === 'fast' ? FAST_REPAIR_ATTEMPTS : THOROUGH_REPAIR_ATTEMPTS);
  if (!(Number.isInteger(repairAttempts) && repairAttempts >= 0))
    throw new PlanError([`repairAttempts: expected an integer >= 0, got ${repairAttempts}`]);
  const exactSets = options.exactSeatSets ?? (effort === 'fast' ? 0 : EXACT_SEAT_SETS);
  if (!(Number.isInteger(exactSets) && exactSets >= 0)) throw new PlanError([`exactSeatSets: expected an integer >= 0, got ${exactSets}`]);
  return { variants, solver, repairAttempts, exactSets, smallFleetSets: options.exactSeatSets === undefined && exactSets > 0 };
}

/** The exact seat-set stage's limits: on with at least one seat set and a single GPU type, off otherwise. */
function exactStageOptions(exactSets: number, optionCount: number, small: boolean): ExactStageOptions | undefined {
  if (!(exactSets > 0 && optionCount === 1)) return undefined;
  const o = { maxSets: exactSets, proveMaxSets: Math.min(exactSets, EXACT_PROVE_MAX_SETS), maxNodes: EXACT_MAX_NODES };
  return small ? { ...o, small: EXACT_SMALL_FLEET } : o;
}

/**
 * The cheapest packing of the models at `idx` over the candidate assignments to GPU types: each model on its
 * cheapest type per GPU needed, and all on one type for each type that can carry them all.
 */
function cheapestTypeAssignment(ctx: PackingContext, idx: readonly number[]): Evaluated {
  const { models, cands, placeable, opts, fleet, variants, noMigSeen } = ctx;
  const sub = idx.map((i) => models[i]);
  const subCands = idx.map((i) => cands[i]);
  const subPlaceable = idx.map((i) => placeable[i]);
  // candidate assignments of models to GPU types
  const assignments: number[][] = [];
  assignments.push(
    sub.map((m, i) => {
      let pick = -1;
      let pickCost = Infinity;
      opts.forEach((o, k) => {
        if (!subPlaceable[i][k]) return;
        const c = gpuNeed(m, subCands[i][k]) * o.pricePerGpuHour;
        if (c < pickCost - 1e-12) {
          pickCost = c;
          pick = k;
        }
      });
      return pick;
    }),
  );
  opts.forEach((_, k) => {
    if (subPlaceable.every((p) => p[k])) assignments.push(sub.map(() => k));
  });
  const seen = new Set<string>();
  let best: Evaluated = { results: [], cost: 0, gpus: 0 };
  let first = true;
  for (const a of assignments) {
    const key = a.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const e = evaluate(opts, a, sub, subCands, fleet, variants, noMigSeen);
    if (first || e.cost < best.cost - 1e-9 || (Math.abs(e.cost - best.cost) <= 1e-9 && e.gpus < best.gpus)) best = e;
    first = false;
  }
  return best;
}

/**
 * Re-packs neighbourhoods of each GPU type's packing while it is above its tight bound (the exact seat-set stage
 * first when it is on); `provenMinimum` is what the exact stage proved of the last type it re-packed.
 */
function repairedToBound(ctx: PackingContext, rs: TypeResult[]): { results: TypeResult[]; provenMinimum?: number } {
  const { pendingBound, repairAttempts, exact, models, cands, opts, fleet } = ctx;
  if (!pendingBound || (repairAttempts === 0 && !exact)) return { results: rs };
  const whole = pendingBound.finish();
  if (!whole.bound) return { results: rs };
  const wholeGpus = whole.bound.gpus;
  let provenMinimum: number | undefined;
  const results = rs.map((r) => {
    let target = wholeGpus;
    if (rs.length > 1 || opts.length > 1) {
      // several GPU types: the bound of the models this type carries, on this type alone
      const idx = models.map((_, i) => i).filter((i) => r.pack.slices.some((sl) => sl.seats.some((x) => x.model === models[i])));
      const own = startTightBound({
        models: idx.map((i) => models[i]),
        cands: idx.map((i) => [cands[i][opts.indexOf(r.opt)]]),
        opts: [r.opt],
        fleet,
      }).finish();
      if (!own.bound) return r;
      target = own.bound.gpus;
    }
    if (r.pack.gpus.length <= target) return r;
    const inputs = models.map((m, i) => ({ model: m, cands: cands[i][opts.indexOf(r.opt)] }));
    const done = repairPacking(r.opt, r.pack, inputs, fleet, { target, maxAttempts: repairAttempts, ...(exact ? { exact } : {}) });
    provenMinimum = done.stats.provenMinimum;
    return { opt: r.opt, pack: done.result };
  });
  return provenMinimum !== undefined ? { results, provenMinimum } : { results };
}

/**
 * Packs every model, with a cold tier for the models below `coldBelowRps` when one fits and the plan with it is
 * not worse than the plan with a seat for each; says in `notes` why the cold tier is not used.
 */
function packWarmAndCold(ctx: PackingContext, notes: string[]): Packed {
  const { models, cands, opts, fleet } = ctx;
  const all = models.map((_, i) => i);
  const below = fleet.coldBelowRps;
  const coldIdx = below === undefined ? [] : all.filter((i) => models[i].rps < below);
  const sizing =
    coldIdx.length > 0
      ? sizeColdTier(
          coldIdx.map((i) => ({ model: models[i], cands: cands[i] })),
          opts,
          fleet.processOverheadGiB,
        )
      : undefined;
  if (coldIdx.length > 0 && !sizing) {
    notes.push(`cold tier: no slice shape admits every model below coldBelowRps ${below}; they get permanent seats`);
  }
  // one GPU type and no cold tier: what the exact stage proved is a bound of the whole fleet
  if (!sizing) return { ...repairedToBound(ctx, cheapestTypeAssignment(ctx, all).results), coldIdx };
  const coldSet = new Set(coldIdx);
  const withCold = packedWithColdPool(
    ctx,
    all.filter((i) => !coldSet.has(i)),
    sizing,
  );
  // the plan with a seat for every model, planned the same way: the cold tier is kept only when it is not worse
  const withSeats = repairedToBound(ctx, cheapestTypeAssignment(ctx, all).results).results;
  const cold = totals(withCold);
  const seats = totals(withSeats);
  if (cold.cost < seats.cost - 1e-9 || (cold.cost <= seats.cost + 1e-9 && cold.gpus <= seats.gpus)) {
    return { results: withCold, coldIdx, coldInfo: { sizing, withSeats: seats.gpus } };
  }
  notes.push(
    `cold tier: not used; ${coldIdx.length} model(s) below coldBelowRps ${below} keep a permanent seat, because the plan with ` +
      `the cold tier's ${sizing.count} cache slice(s) needs ${cold.gpus} GPU(s) at $${round4(cold.cost)}/h ` +
      'and the plan with a seat for each ' +
      `${seats.gpus} at $${round4(seats.cost)}/h`,
  );
  return { results: withSeats, coldIdx };
}

/** The warm models packed, and the cold tier's cache slices placed on the GPU type its sizing chose. */
function packedWithColdPool(ctx: PackingContext, warm: readonly number[], sizing: ColdSizing): TypeResult[] {
  const withCold = repairedToBound(ctx, cheapestTypeAssignment(ctx, warm).results).results.slice();
  const opt = ctx.opts[sizing.option];
  const at = withCold.findIndex((r) => r.opt === opt);
  const placed = placeColdTier(opt, at >= 0 ? withCold[at].pack : undefined, sizing, ctx.fleet.processOverheadGiB);
  if (at >= 0) withCold[at] = { opt, pack: placed };
  else withCold.push({ opt, pack: placed });
  withCold.sort((x, y) => x.opt.index - y.opt.index);
  return withCold;
}

/**
 * The tight bound of the plan's summary, never below DESIGN.md's bound rounded up, with the exact stage's proven
 * minimum when there is one; says in `notes` when it is not computed.
 */
function finishedTightBound(
  ctx: PackingContext,
  gpuCount: number,
  provenMinimum: number | undefined,
  designBound: number,
  timing: { started: number } | undefined,
  notes: string[],
): TightBound | undefined {
  if (!ctx.pendingBound) return undefined;
  const got: TightBoundResult = ctx.pendingBound.finish({ target: gpuCount, ...(provenMinimum !== undefined ? { provenMinimum } : {}) });
  if (!got.bound) {
    notes.push(`tight bound: not computed, ${got.problem}`);
    return undefined;
  }
  // DESIGN.md's bound is a valid bound too: the tight bound is never below it rounded up
  let b = got.bound;
  const atLeast = Math.ceil(designBound - 1e-6);
  if (atLeast > b.gpus) b = { ...b, gpus: atLeast, ...(ctx.opts.length === 1 ? { costPerHour: nodeCost(ctx.opts[0], atLeast) } : {}) };
  return timing ? { ...b, seconds: Math.round(performance.now() - timing.started) / 1000 } : b;
}

/** Notes on estimated entries, unpriced GPU types and idle GPUs of partly used nodes. */
function packingNotes(results: readonly TypeResult[], asm: Assembled): string[] {
  const notes: string[] = [];
  const estimated = results.flatMap((r) =>
    r.pack.slices.flatMap((s) => s.seats.filter((x) => x.cand.estimated).map((x) => `${x.model.name} on ${r.opt.type}`)),
  );
  const estimatedNames = [...new Set(estimated)].sort();
  if (estimatedNames.length > 0) {
    const shown = estimatedNames.slice(0, 10).join(', ') + (estimatedNames.length > 10 ? ` and ${estimatedNames.length - 10} more` : '');
    notes.push(`estimated (no measured profile): ${shown}; ${ESTIMATE_RULE}`);
  }
  for (const r of results) {
    if (!r.opt.priceKnown) notes.push(`${r.opt.type}: no price in the fleet or the catalog, costed at 0`);
  }
  if (asm.idleGpus > 0) notes.push(`${asm.idleGpus} gpu(s) of partly used nodes are idle but paid for (costPerHour counts whole nodes)`);
  return notes;
}

/** The plan's cold tier (its models, cache slices and GPUs saved), and the note that describes it. */
function coldTierOf(
  models: readonly ModelSpec[],
  cands: readonly Candidate[][][][],
  packed: Packed,
  coldInfo: NonNullable<Packed['coldInfo']>,
  asm: Assembled,
  below: number,
): { cold: PlanColdTier; note: string } {
  const slices = asm.gpus.flatMap((g) => g.slices.filter((s) => s.cache).map((s) => ({ gpu: g.id, profile: s.profile, start: s.start })));
  const saved = coldInfo.withSeats - asm.gpus.length;
  const { option, shapeIndex } = coldInfo.sizing;
  const cold: PlanColdTier = {
    belowRps: below,
    // the entry each cold model runs at on the cache slices (all of one option and shape), as sizeColdTier timed it
    models: packed.coldIdx.map((i) => {
      const entry = coldEntry(cands[i][option][shapeIndex])!;
      return { name: models[i].name, rps: models[i].rps, batch: entry.batch, instances: entry.instances };
    }),
    slices,
    hitRateTarget: COLD_HIT_RATE,
    cacheGiB: coldInfo.sizing.cacheGiB,
    gpusWithSeats: coldInfo.withSeats,
    gpusSaved: Math.max(0, saved),
  };
  const note =
    `cold tier: ${packed.coldIdx.length} model(s) below ${below} rps have no permanent seat; ` +
    `${slices.length} cache slice(s) of ${slices[0]?.profile ?? '-'} ` +
    `hold the most requested of them (${coldInfo.sizing.cacheGiB} GiB for a ${COLD_HIT_RATE * 100}% hit-rate target); ` +
    'a miss waits for the model to load. ' +
    `GPUs with a seat for each: ${coldInfo.withSeats}, with the cold tier: ${asm.gpus.length}`;
  return { cold, note };
}

/** Plans `fleet`; the summary's lower bound and baselines are those of `boundsFleet` (the fleet itself by default). */
function planAtFullUtilization(fleet: Fleet, options: PlanOptions, boundsFleet: Fleet = fleet): Plan {
  const models = uniqueModelsByName(fleet);
  const opts = resolveGpuOptions(fleet);
  const { cands, placeable } = servableCandidates(fleet, models, opts);
  const { variants, solver, repairAttempts, exactSets, smallFleetSets } = searchSettings(options, models.length);
  // the bound's LP is solved in the solver's worker while the packing runs here
  const timing = options.timings ? { started: performance.now() } : undefined;
  const pendingBound = solver === 'highs' ? startTightBound({ models, cands, opts, fleet }) : undefined;
  const exact = exactStageOptions(exactSets, opts.length, smallFleetSets);
  const ctx: PackingContext = {
    fleet,
    models,
    opts,
    cands,
    placeable,
    variants,
    repairAttempts,
    noMigSeen: new Map(),
    ...(exact ? { exact } : {}),
    ...(pendingBound ? { pendingBound } : {}),
  };

  const notes: string[] = [];
  const packed = packWarmAndCold(ctx, notes);
  const asm = assemble(packed.results);
  const sortedFleet: Fleet =
    boundsFleet === fleet ? { ...fleet, models } : { ...boundsFleet, models: [...boundsFleet.models].sort(byName) };
  // the bound's LP may still be solving: the other summary figures first
  const designBound = lowerBound(sortedFleet);
  // the baselines of the fleet itself reuse the candidates and noMig packings computed above (same figures)
  const theBaselines = boundsFleet === fleet ? baselines(sortedFleet, { opts, cands, noMig: ctx.noMigSeen }) : baselines(sortedFleet);
  const tight = finishedTightBound(ctx, asm.gpus.length, packed.provenMinimum, designBound, timing, notes);
  notes.push(...packingNotes(packed.results, asm));
  const spare = asm.gpus.reduce((n, g) => n + g.slices.filter((s) => s.models.length === 0 && !s.cache).length, 0);
  let cold: PlanColdTier | undefined;
  if (packed.coldInfo) {
    const tier = coldTierOf(models, cands, packed, packed.coldInfo, asm, fleet.coldBelowRps!);
    cold = tier.cold;
    notes.push(tier.note);
  }
  if (spare > 0) notes.push(`${spare} spare slice(s) (no models) keep MIG layouts canonical; they are free capacity`);
  // several GPU types: GPU counts of different types do not compare; per type, and cost across types
  const mixed = mixedTypeFigures(
    sortedFleet,
    { gpus: asm.gpus, nodes: asm.nodes, ...(cold ? { cold } : {}), costPerHour: asm.costPerHour, ...(tight ? { tightBound: tight } : {}) },
    solver === 'highs',
  );
  return {
    fleet: fleet.name,
    gpus: asm.gpus,
    nodes: asm.nodes,
    migConfigs: asm.migConfigs,
    ...(cold ? { cold } : {}),
    summary: {
      gpuCount: asm.gpus.length,
      costPerHour: asm.costPerHour,
      lowerBound: Math.round(designBound * 1e4) / 1e4,
      ...(tight ? { tightBound: tight } : {}),
      baselines: theBaselines,
      ...mixed,
      nodeConfigurations: asm.nodeConfigurations,
      notes,
    },
  };
}
