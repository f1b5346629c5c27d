/**
 * The plan document of DESIGN.md (`gpufleet plan --json`). Fields beyond DESIGN.md's
 * (`nodes`, `migConfigs`, `summary.nodeConfigurations`, `summary.notes`) are additions that
 * renderers (k8s, cloud) need; the DESIGN.md fields keep their meaning exactly.
 */

export interface PlanModel {
  readonly name: string;
  readonly batch: number;
  readonly instances: number;
  /** Fraction of the slice's time the model gets. */
  readonly share: number;
  /** Demand served on this slice (requests/s). */
  readonly rps: number;
}

export interface PlanSlice {
  /** Catalog MIG profile name, or `whole` for an unpartitioned GPU. */
  readonly profile: string;
  /** Placement start on the memory-slice axis (0 for `whole`). */
  readonly start: number;
  /**
   * Models served in one Triton server on this slice; empty = a spare slice (free capacity the MIG layout creates anyway) or
   * a cache slice.
   */
  readonly models: readonly PlanModel[];
  /**
   * True for a cache slice of the cold tier (`plan.cold`): a Triton server in explicit
   * model-control mode into which the router loads cold models on demand. `models` is empty.
   */
  readonly cache?: boolean;
}

/** A cold model: no permanent seat, loaded on demand into a cache slice by the model router. */
export interface PlanColdModel {
  readonly name: string;
  /** Demand it brings to the cold tier (requests/s). */
  readonly rps: number;
  /**
   * Batch size of the entry the planner chose for the model on the cache slices (`coldEntry` of cold-tier.ts: the
   * highest-throughput admissible entry with one instance), as a seated model's `batch`.
   * @default - absent in plan documents written before the planner recorded it: renderers then apply the same rule
   */
  readonly batch?: number;
  /** Instances of that entry (1: a cache server holds one copy of each loaded model). @default - as `batch` */
  readonly instances?: number;
}

/**
 * The cold tier (fleet `coldBelowRps`): models below that demand share cache slices through the
 * router instead of each holding a permanent seat. A request to a model that is not loaded waits
 * for the load (the latency rule does not hold for such misses).
 */
export interface PlanColdTier {
  /** Demand threshold (the fleet's `coldBelowRps`). */
  readonly belowRps: number;
  readonly models: readonly PlanColdModel[];
  /** The cache slices (also marked `cache: true` in `gpus`). */
  readonly slices: readonly { readonly gpu: string; readonly profile: string; readonly start: number }[];
  /** Fraction of cold requests meant to find their model loaded. */
  readonly hitRateTarget: number;
  /** Memory held for loaded cold models (GiB): the most requested cold models covering the hit-rate target. */
  readonly cacheGiB: number;
  /** GPUs the plan would need with a permanent seat for every cold model. */
  readonly gpusWithSeats: number;
  /** GPUs saved by the cold tier (gpusWithSeats - summary.gpuCount; may be 0). */
  readonly gpusSaved: number;
}

/** @deprecated renamed `PlanColdTier` (one name per concept: the cold tier); kept so existing code compiles. */
export type PlanColdPool = PlanColdTier;

export interface PlanGpu {
  readonly id: string;
  readonly type: string;
  readonly node: string;
  readonly mig: boolean;
  readonly slices: readonly PlanSlice[];
}

/** A node (EC2 instance) of the plan. */
export interface PlanNode {
  readonly name: string;
  readonly instanceType: string;
  readonly gpuType: string;
  /** Name of the mig-parted config (value of the `nvidia.com/mig.config` label); `all-disabled` without MIG. */
  readonly migConfig: string;
  readonly gpus: readonly string[];
}

/** A node configuration: one mig-parted config = one node pool to operate. */
export interface PlanMigConfig {
  readonly name: string;
  readonly gpuType: string;
  readonly instanceType: string;
  /** Per GPU index of the node: its slices (profile, start); all GPUs alike when length 1. */
  readonly devices: readonly (readonly { profile: string; start: number }[])[];
  /** Number of nodes with this configuration. */
  readonly nodes: number;
}

/**
 * The tight lower bound (DESIGN.md "Tight bound", docs/planner.md): no plan that passes verifyPlan
 * uses fewer GPUs (or, with several GPU types, costs less per hour).
 */
export interface TightBound {
  /** Fewest GPUs of any valid plan: the relaxation's optimum rounded up (plans count whole GPUs). */
  readonly gpus: number;
  /**
   * Least cost per hour of any valid plan: one GPU type, the cheapest whole nodes carrying `gpus`
   * GPUs; several types, the relaxation minimising cost (each GPU at its type's cheapest price per GPU).
   */
  readonly costPerHour: number;
  /**
   * How it was proven: `milp` = integral seats and GPU counts solved to optimality; `milp-bound` =
   * the integral model's proven dual bound when the node budget ran out first; `lp` = the
   * continuous relaxation (seats and GPU counts fractional; large fleets); `exact` = the exact
   * seat-set model over every seat set of the fleet has no solution with fewer GPUs than the plan.
   */
  readonly method: 'milp' | 'milp-bound' | 'lp' | 'exact';
  /** The solver, e.g. `HiGHS 1.15.1`. */
  readonly solver: string;
  /** Wall-clock seconds spent on the bound; only with `PlanOptions.timings` (it differs run to run). */
  readonly seconds?: number;
}

/**
 * One GPU type of a plan over a fleet offering several (`summary.byType`): GPU counts compare only
 * within a type, so each type's GPUs are measured against the bounds of the demand placed on it.
 */
export interface PlanTypeSummary {
  readonly type: string;
  /** GPUs of this type carrying slices. */
  readonly gpus: number;
  /** Whole nodes carrying them (the instances the plan buys for this type). */
  readonly costPerHour: number;
  /** DESIGN.md's lower bound (GPUs, fractional) of the demand the plan placed on this type, on this type alone. */
  readonly lowerBound?: number;
  /** The tight bound (GPUs) of that demand on this type alone; absent without the solver. */
  readonly tightBound?: number;
  /** `gpus` / `tightBound` (/ `lowerBound` without a tight bound): 1 = no packing of that demand on this type uses fewer. */
  readonly ratio?: number;
}

/** GPU-equivalents and what they cost (team-consumption.ts, docs/planner.md "Team consumption"). */
export interface Consumption {
  /** Whole-GPU equivalents of compute time (share × slice fraction of the GPU). */
  readonly gpuEquivalents: number;
  /** US dollars per hour: GPU-equivalents × the price of one GPU of the node carrying them. */
  readonly costPerHour: number;
}

/** What one team consumes in a plan. */
export interface TeamConsumption extends Consumption {
  readonly team: string;
  /** Models of the team in the plan (seated and cold). */
  readonly models: number;
  /** Requests/s the plan serves for the team's models. */
  readonly rps: number;
  /** The part held in pools that serve several teams' models (the shared namespace); the rest is in the team's own namespace. */
  readonly inSharedPools: Consumption;
  /** GPU-equivalents by GPU type (catalog id as the fleet names it), types sorted. */
  readonly byGpuType: Readonly<Record<string, number>>;
}

/** Per-team consumption of a plan (`summary.teamConsumption` of the plan document). */
export interface PlanTeamConsumption {
  /** One entry per team with a model in the plan, sorted by name. */
  readonly teams: readonly TeamConsumption[];
  /**
   * Compute of the plan's GPUs no team holds: time of seated slices no model's share covers, spare slices,
   * and compute a MIG layout leaves without a slice. Σ teams + unassigned = `summary.gpuCount`.
   */
  readonly unassigned: Consumption;
  /** GPUs of partly used nodes that carry no slice: paid for (in `summary.costPerHour`), not in `summary.gpuCount`. */
  readonly idleNodeGpus: { readonly gpus: number; readonly costPerHour: number };
}

export interface PlanSummary {
  readonly gpuCount: number;
  readonly costPerHour: number;
  /** In GPUs (fractional), as DESIGN.md defines it. */
  readonly lowerBound: number;
  /** What the plan is measured against (DESIGN.md "Tight bound"); absent when the solver could not run (a note says why). */
  readonly tightBound?: TightBound;
  readonly baselines: { readonly dedicated: number; readonly noMig: number };
  /**
   * Fleets offering several GPU types only: per GPU type the plan uses, its GPUs against the bounds of
   * the demand placed there (fleet order).
   */
  readonly byType?: readonly PlanTypeSummary[];
  /**
   * Fleets offering several GPU types only: DESIGN.md's lower bound priced, in USD per hour (each
   * model's demand at its cheapest type, memory at the cheapest GiB): no valid plan costs less, whatever types it uses.
   */
  readonly costLowerBound?: number;
  /**
   * Fleets offering several GPU types only: `costPerHour` / the cheapest cost bound (the larger of
   * `tightBound.costPerHour` and `costLowerBound`). Across types plans compare on cost, not GPU counts.
   */
  readonly costRatio?: number;
  /** Distinct node configurations (node pools to operate). */
  readonly nodeConfigurations?: number;
  /** Human-readable notes, e.g. the rule used for models without profiles. */
  readonly notes?: readonly string[];
  /**
   * What each team consumes (GPU-equivalents and cost per hour), with what no team holds: Σ teams + unassigned
   * = gpuCount; Σ teams + unassigned + idleNodeGpus = costPerHour (team-consumption.ts). Added by `plan()`.
   */
  readonly teamConsumption?: PlanTeamConsumption;
}

export interface Plan {
  readonly fleet: string;
  readonly gpus: readonly PlanGpu[];
  readonly nodes?: readonly PlanNode[];
  readonly migConfigs?: readonly PlanMigConfig[];
  /** Present when the fleet sets `coldBelowRps` and some model is below it. */
  readonly cold?: PlanColdTier;
  readonly summary: PlanSummary;
}

/** Options of `plan()`. */
export interface PlanOptions {
  /**
   * How many packing variants the planner tries per GPU type (it keeps the cheapest):
   * `thorough` tries every variant, `fast` only the default one.
   * @default - `thorough` up to 500 models, `fast` above
   */
  readonly effort?: 'fast' | 'thorough';
  /**
   * Highest fraction of a slice's measured throughput the plan may use (0 < x <= 1): with 0.8 every
   * slice keeps 20% of headroom for bursts; shares then reserve demand / 0.8.
   * @default 1 (the feasibility rules of DESIGN.md as they are)
   */
  readonly utilizationTarget?: number;
  /**
   * `highs`: the tight bound (`summary.tightBound`) and the neighbourhood repair use HiGHS (run in
   * a worker thread, see docs/planner.md); `none`: neither runs, the plan is the packing heuristics'
   * alone and carries no tight bound.
   * @default 'highs'
   */
  readonly solver?: 'highs' | 'none';
  /**
   * Neighbourhoods the repair may try (each one solve of the pattern model within a node budget).
   * A count, not a time limit, so the plan is the same on any machine.
   * @default - 24 with `effort: 'thorough'`, 0 with `fast` (fleets above 500 models)
   */
  readonly repairAttempts?: number;
  /**
   * Seat sets (a slice shape and models at entries that fit on it together) the exact stage may
   * enumerate for a fleet of one GPU type: with few enough, the whole packing is re-packed or proven
   * to need no fewer GPUs (`tightBound.method: 'exact'`); 0 turns the stage off. A count, so the
   * plan is the same on any machine (docs/planner.md, "Exact seat-set stage").
   * @default - 3000 with `effort: 'thorough'`, 0 with `fast`
   */
  readonly exactSeatSets?: number;
  /**
   * Adds `summary.tightBound.seconds`, the wall-clock time of the bound. Off by default: the plan
   * document must be byte-identical from run to run.
   * @default false
   */
  readonly timings?: boolean;
}
