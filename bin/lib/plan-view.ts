/**
 * Everything the summary table and the HTML report show, derived once from a plan, its fleet and
 * the catalog: slice geometry, memory used, utilisation, teams, per-GPU-type and per-team figures.
 * Pure: the renderers only format a `PlanView`.
 */
import { findGpuType, findInstanceType, findMigProfile } from '../../constructs/catalog';
import type { Fleet, ModelSpec } from '../../constructs/fleet/types';
import { gpuTypePrice } from '../../constructs/planner/gpu-prices';
import { teamConsumption } from '../../constructs/planner/team-consumption';
import { nodePoolsOf, type TopologyNodePool } from '../../constructs/planner/topology';
import type { Consumption, Plan, PlanGpu, PlanMigConfig, PlanSlice, TightBound } from '../../constructs/planner/types';
import { compareText } from '../../constructs/catalog/text-order';

export interface ModelOnSliceView {
  readonly name: string;
  readonly team: string;
  readonly batch: number;
  readonly instances: number;
  readonly share: number;
  readonly rps: number;
  /** memoryGiB x instances. */
  readonly memoryGiB: number;
}

export interface SliceView {
  readonly profile: string;
  readonly start: number;
  /** Width on the memory-slice axis. */
  readonly memorySlices: number;
  readonly computeSlices: number;
  /** Memory the driver gives the slice. */
  readonly capacityGiB: number;
  /** Process overhead + models' memory; 0 for an empty slice. */
  readonly usedGiB: number;
  /** Sum of the models' shares. */
  readonly shareUsed: number;
  readonly models: readonly ModelOnSliceView[];
  /** A cache slice of the cold tier: the router loads cold models into it on demand. */
  readonly cache: boolean;
}

export interface GpuView {
  readonly id: string;
  readonly type: string;
  readonly node: string;
  readonly mig: boolean;
  /** Memory slices of the whole GPU (the drawing axis); 1 for a GPU without MIG geometry. */
  readonly axis: number;
  readonly computeSlices: number;
  readonly memoryGiB: number;
  readonly slices: readonly SliceView[];
  /** Compute-slice time given to models / the GPU's compute slices. */
  readonly computeUtil: number;
  /** Memory used / the GPU's memory. */
  readonly memoryUtil: number;
}

export interface NodeView {
  readonly name: string;
  readonly gpuType: string;
  readonly instanceType?: string;
  readonly migConfig?: string;
  readonly gpus: readonly GpuView[];
  /** GPUs of the instance the plan leaves unused (paid for with the node). */
  readonly idleGpus: number;
}

export interface GpuTypeView {
  readonly type: string;
  readonly gpus: number;
  /** [profile, count], most used first. */
  readonly slicesByProfile: readonly (readonly [string, number])[];
  readonly models: number;
  readonly computeUtil: number;
  readonly memoryUtil: number;
  readonly pricePerGpuHour?: number;
  /** Price x GPUs paid for: whole nodes where the instance type is known, else the plan's GPUs. */
  readonly costPerHour?: number;
  /** GPUs of this type on the plan's nodes that carry no slice (paid for with their node). */
  readonly idleGpus: number;
  readonly nodeConfigurations: number;
  /** Lower bound (GPUs) of the demand placed on this type, as DESIGN.md defines it. */
  readonly lowerBound?: number;
  /** Tight bound (GPUs) of the demand placed on this type. */
  readonly tightBound?: number;
  /** GPUs of this type / its tight bound (its lower bound without one). */
  readonly ratio?: number;
  /** Baselines (GPUs) of the demand placed on this type. */
  readonly dedicated?: number;
  readonly noMig?: number;
}

/** Per-type bound and baselines, computed by the caller (see engine.ts `typeFigures`). */
export interface TypeFiguresInput {
  readonly lowerBound?: number;
  readonly tightBound?: number;
  readonly dedicated?: number;
  readonly noMig?: number;
}

export interface TeamView {
  readonly team: string;
  readonly models: number;
  readonly rps: number;
  /** Whole-GPU equivalents of the compute time the team's models hold (share x slice size). */
  readonly gpuEquivalents: number;
  /** Those GPU-equivalents at the price of the GPUs holding them (planner/team-consumption.ts). */
  readonly costPerHour: number;
  /** The part held in pools that serve several teams (the shared namespace). */
  readonly inSharedPools?: Consumption;
  /** GPU-equivalents by GPU type. */
  readonly byGpuType?: Readonly<Record<string, number>>;
}

/** The cold tier of the plan (fleet `coldBelowRps`): models without a permanent seat. */
export interface ColdTierView {
  readonly belowRps: number;
  readonly models: readonly { readonly name: string; readonly team: string; readonly rps: number }[];
  /** `gpu profile@start` of each cache slice. */
  readonly slices: readonly string[];
  readonly hitRateTarget: number;
  readonly cacheGiB: number;
  readonly gpusWithSeats: number;
  readonly gpusSaved: number;
}

export interface PlanView {
  readonly fleet: string;
  readonly gpus: readonly GpuView[];
  readonly nodes: readonly NodeView[];
  readonly types: readonly GpuTypeView[];
  readonly teams: readonly TeamView[];
  /** Compute of the plan's GPUs no team holds (idle time, spare slices, compute outside the layout). */
  readonly unassigned?: Consumption;
  /** GPUs of partly used nodes (paid, not in gpuCount). */
  readonly idleNodeGpus?: { readonly gpus: number; readonly costPerHour: number };
  readonly migConfigs: readonly PlanMigConfig[];
  readonly models: number;
  readonly slices: number;
  readonly computeUtil: number;
  readonly memoryUtil: number;
  readonly gpuCount: number;
  readonly costPerHour: number;
  /** DESIGN.md's lower bound (kept in the plan document; the renderers compare against `tightBound`). */
  readonly lowerBound: number;
  /** What the plan is measured against; absent when the plan carries none (a note says why). */
  readonly tightBound?: TightBound;
  /** GPU types the fleet offers: with several, plans minimise cost, and are compared with the bound's cost. */
  readonly typesOffered: number;
  /**
   * Several GPU types: the cheapest cost any valid plan can have (USD/h), the larger of the tight bound's cost and
   * the plan's `summary.costLowerBound`; what the plan's cost is compared with.
   */
  readonly costBound?: number;
  /** Several GPU types: DESIGN.md's lower bound priced (`summary.costLowerBound`, USD/h). */
  readonly costLowerBound?: number;
  readonly dedicated: number;
  readonly noMig: number;
  readonly nodeConfigurations: number;
  readonly notes: readonly string[];
  readonly cold?: ColdTierView;
}

/** Models placed in the plan but missing from the fleet get this team. */
export const UNKNOWN_TEAM = '(unknown)';

export function buildPlanView(fleet: Fleet, plan: Plan, figures: ReadonlyMap<string, TypeFiguresInput> = new Map()): PlanView {
  const models = new Map<string, ModelSpec>(fleet.models.map((m) => [m.name, m]));
  const cacheSlices = plan.gpus.reduce((n, g) => n + g.slices.filter((s) => s.cache).length, 0);
  const cacheGiBPerSlice = cacheSlices > 0 ? (plan.cold?.cacheGiB ?? 0) / cacheSlices : 0;
  const gpus = plan.gpus.map((g) => gpuView(g, fleet, models, cacheGiBPerSlice));

  const nodes = nodeViews(plan, gpus);
  const configs = nodeConfigurationsOf(plan);
  const pools = topologyNodePools(plan);

  const typeNames = [...new Set(gpus.map((g) => g.type))].sort();
  const types = typeNames.map((type): GpuTypeView => {
    const of = gpus.filter((g) => g.type === type);
    const profiles = new Map<string, number>();
    const names = new Set<string>();
    for (const g of of) {
      for (const s of g.slices) {
        profiles.set(s.profile, (profiles.get(s.profile) ?? 0) + 1);
        for (const m of s.models) names.add(m.name);
      }
    }
    const idle = sum(
      nodes.filter((n) => n.gpuType === type),
      (n) => n.idleGpus,
    );
    // the planner's prices (gpu-prices.ts): the fleet's price per GPU, else each node's instance price
    const price = gpuTypePrice(
      fleet,
      type,
      nodes.map((n) => ({ gpuType: n.gpuType, instanceType: n.instanceType, paidGpus: n.gpus.length + n.idleGpus })),
      of.length + idle,
    );
    const own = typeFigures(fleet, plan, figures, type, typeNames.length);
    const against = own.tightBound !== undefined && own.tightBound > 0 ? own.tightBound : own.lowerBound;
    return {
      type,
      gpus: of.length,
      slicesByProfile: [...profiles.entries()].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0])),
      models: names.size,
      computeUtil: weighted(of, (g) => g.computeUtil),
      memoryUtil: ratio(
        sum(of, (g) => g.memoryUtil * g.memoryGiB),
        sum(of, (g) => g.memoryGiB),
      ),
      pricePerGpuHour: price.pricePerGpuHour,
      costPerHour: price.costPerHour,
      idleGpus: idle,
      // the topology's node pools of the type (a plan without nodes: the configurations it lists)
      nodeConfigurations: (pools ?? (plan.migConfigs ?? []).map((c) => ({ gpuType: c.gpuType }))).filter((p) => p.gpuType === type).length,
      ...own,
      ...(against !== undefined && against > 0 ? { ratio: of.length / against } : {}),
    };
  });

  const cold = coldView(plan, models);
  const placed = new Set(gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name))));
  for (const m of cold?.models ?? []) placed.add(m.name);
  const summary = plan.summary;
  const totalCompute = sum(gpus, (g) => g.computeSlices);
  const costPerHour = summary.costPerHour;
  // the planner's figures (team-consumption.ts), recomputed from the plan drawn: a saved plan's own could be stale
  const consumption = teamConsumption(fleet, plan);
  const teams: TeamView[] = [...consumption.teams];

  return {
    fleet: plan.fleet,
    gpus,
    nodes,
    types,
    teams,
    unassigned: consumption.unassigned,
    idleNodeGpus: consumption.idleNodeGpus,
    migConfigs: configs,
    models: placed.size,
    slices: sum(gpus, (g) => g.slices.length),
    computeUtil: totalCompute > 0 ? sum(gpus, (g) => g.computeUtil * g.computeSlices) / totalCompute : 0,
    memoryUtil: ratio(
      sum(gpus, (g) => g.memoryUtil * g.memoryGiB),
      sum(gpus, (g) => g.memoryGiB),
    ),
    gpuCount: summary.gpuCount,
    costPerHour,
    lowerBound: summary.lowerBound,
    ...(summary.tightBound ? { tightBound: summary.tightBound } : {}),
    typesOffered: new Set(fleet.gpus.map((g) => g.type)).size,
    ...(costBoundOf(summary) !== undefined ? { costBound: costBoundOf(summary) } : {}),
    ...(summary.costLowerBound !== undefined ? { costLowerBound: summary.costLowerBound } : {}),
    dedicated: summary.baselines.dedicated,
    noMig: summary.baselines.noMig,
    nodeConfigurations: summary.nodeConfigurations ?? sum(types, (t) => t.nodeConfigurations),
    notes: [...(summary.notes ?? [])],
    ...(cold ? { cold } : {}),
  };
}

/** A GPU type's bounds and baselines: the figures given for it, else the plan's own when it is the fleet's only type. */
function typeFigures(
  fleet: Fleet,
  plan: Plan,
  figures: ReadonlyMap<string, TypeFiguresInput>,
  type: string,
  typesPlanned: number,
): TypeFiguresInput {
  return (
    figures.get(type) ??
    (typesPlanned === 1 && fleet.gpus.length === 1
      ? {
          lowerBound: plan.summary.lowerBound,
          dedicated: plan.summary.baselines.dedicated,
          noMig: plan.summary.baselines.noMig,
          ...(plan.summary.tightBound ? { tightBound: plan.summary.tightBound.gpus } : {}),
        }
      : {})
  );
}

/** The cheapest cost any valid plan can have: the larger of the tight bound's cost and `costLowerBound` (either may be absent). */
function costBoundOf(summary: Plan['summary']): number | undefined {
  const figures = [summary.tightBound?.costPerHour, summary.costLowerBound].filter((x): x is number => x !== undefined);
  return figures.length > 0 ? Math.max(...figures) : undefined;
}

/** How a tight bound was proven, in words for the summary and the report. */
export function boundMethod(b: TightBound): string {
  const how =
    b.method === 'milp'
      ? 'integral seats and GPUs, solved to optimality'
      : b.method === 'milp-bound'
        ? 'integral model, bound proven within its node budget'
        : b.method === 'exact'
          ? 'exact seat-set model over every seat set: no plan with fewer GPUs exists'
          : 'LP relaxation, continuous seats';
  return `${how}; ${b.solver}${b.seconds !== undefined ? `, ${b.seconds} s` : ''}`;
}

/** 1 - plan / baseline, or undefined when the baseline is 0. */
export function savings(plan: number, baseline: number): number | undefined {
  return baseline > 0 ? 1 - plan / baseline : undefined;
}

function coldView(plan: Plan, models: Map<string, ModelSpec>): ColdTierView | undefined {
  const c = plan.cold;
  if (!c) return undefined;
  return {
    belowRps: c.belowRps,
    models: [...c.models]
      .map((m) => ({ name: m.name, team: models.get(m.name)?.team ?? UNKNOWN_TEAM, rps: m.rps }))
      .sort((a, b) => b.rps - a.rps || compareText(a.name, b.name)),
    slices: c.slices.map((s) => `${s.gpu} ${s.profile}@${s.start}`),
    hitRateTarget: c.hitRateTarget,
    cacheGiB: c.cacheGiB,
    gpusWithSeats: c.gpusWithSeats,
    gpusSaved: c.gpusSaved,
  };
}

function gpuView(g: PlanGpu, fleet: Fleet, models: Map<string, ModelSpec>, cacheGiB: number): GpuView {
  const type = findGpuType(g.type);
  const axis = type?.mig?.memorySlices ?? 1;
  const computeSlices = type?.mig?.computeSlices ?? 7;
  const memoryGiB = type?.memoryGiB ?? 0;
  const slices = [...g.slices]
    .sort((a, b) => a.start - b.start || compareText(a.profile, b.profile))
    .map((s) => sliceView(g, s, fleet, models, { axis, computeSlices, memoryGiB }, cacheGiB));
  // a cache slice is held whole for the cold tier
  const computeHeld = sum(slices, (s) => (s.cache ? 1 : Math.min(1, s.shareUsed)) * s.computeSlices);
  return {
    id: g.id,
    type: g.type,
    node: g.node,
    mig: g.mig,
    axis,
    computeSlices,
    memoryGiB,
    slices,
    computeUtil: computeSlices > 0 ? computeHeld / computeSlices : 0,
    memoryUtil: ratio(
      sum(slices, (s) => s.usedGiB),
      memoryGiB,
    ),
  };
}

function sliceView(
  g: PlanGpu,
  s: PlanSlice,
  fleet: Fleet,
  models: Map<string, ModelSpec>,
  whole: { axis: number; computeSlices: number; memoryGiB: number },
  cacheGiB: number,
): SliceView {
  const profile = s.profile === 'whole' ? undefined : findMigProfile(g.type, s.profile);
  const onSlice = s.models.map((m): ModelOnSliceView => {
    const spec = models.get(m.name);
    return {
      name: m.name,
      team: spec?.team ?? UNKNOWN_TEAM,
      batch: m.batch,
      instances: m.instances,
      share: m.share,
      rps: m.rps,
      memoryGiB: (spec?.memoryGiB ?? 0) * m.instances,
    };
  });
  // largest share first (then name): the slice's main tenants lead its list and its time bar
  onSlice.sort((a, b) => b.share - a.share || compareText(a.name, b.name));
  const modelMemory = sum(onSlice, (m) => m.memoryGiB);
  return {
    profile: s.profile,
    start: s.start,
    memorySlices: profile?.memorySlices ?? whole.axis,
    computeSlices: profile?.computeSlices ?? whole.computeSlices,
    capacityGiB: profile?.memoryGiB ?? whole.memoryGiB,
    usedGiB: s.cache ? fleet.processOverheadGiB + cacheGiB : onSlice.length > 0 ? fleet.processOverheadGiB + modelMemory : 0,
    shareUsed: sum(onSlice, (m) => m.share),
    models: onSlice,
    cache: s.cache === true,
  };
}

function nodeViews(plan: Plan, gpus: readonly GpuView[]): NodeView[] {
  const byId = new Map(gpus.map((g) => [g.id, g]));
  if (plan.nodes && plan.nodes.length > 0) {
    const listed = new Set<string>();
    const nodes = plan.nodes.map((n): NodeView => {
      const of = n.gpus.map((id) => byId.get(id)).filter((g): g is GpuView => g !== undefined);
      of.forEach((g) => listed.add(g.id));
      const perNode = findInstanceType(n.instanceType)?.gpuCount;
      return {
        name: n.name,
        gpuType: n.gpuType,
        instanceType: n.instanceType,
        migConfig: n.migConfig,
        gpus: of,
        idleGpus: perNode === undefined ? 0 : Math.max(0, perNode - of.length),
      };
    });
    const orphans = gpus.filter((g) => !listed.has(g.id));
    return [...nodes, ...groupByNode(orphans)];
  }
  return groupByNode(gpus);
}

function groupByNode(gpus: readonly GpuView[]): NodeView[] {
  const map = new Map<string, GpuView[]>();
  for (const g of gpus) map.set(g.node, [...(map.get(g.node) ?? []), g]);
  return [...map.entries()].map(([name, of]) => ({ name, gpuType: of[0].type, gpus: of, idleGpus: 0 }));
}

/**
 * The node configurations of the plan's topology (`nodePoolsOf`): one row per node pool and instance type, the
 * plan's MIG configurations in the plan's order, then the whole-GPU pools. A plan whose nodes do not describe a
 * topology (no nodes, GPUs on unlisted nodes) shows the configurations it lists.
 */
function nodeConfigurationsOf(plan: Plan): PlanMigConfig[] {
  const pools = topologyNodePools(plan);
  if (!pools) return [...(plan.migConfigs ?? [])];
  const order = (p: TopologyNodePool) => {
    const i = (plan.migConfigs ?? []).findIndex((c) => c.name === p.migConfig && c.gpuType === p.config.gpuType);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...pools]
    .sort((a, b) => order(a) - order(b))
    .flatMap((p) => p.instanceTypes.map(({ instanceType, nodes }) => ({ ...p.config, instanceType, nodes })));
}

/** The node pools of the plan's topology; undefined when its nodes do not describe one (no nodes, GPUs on unlisted nodes). */
function topologyNodePools(plan: Plan): readonly TopologyNodePool[] | undefined {
  try {
    return nodePoolsOf(plan).nodePools;
  } catch {
    return undefined;
  }
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

function weighted(gpus: readonly GpuView[], f: (g: GpuView) => number): number {
  return ratio(
    sum(gpus, (g) => f(g) * g.computeSlices),
    sum(gpus, (g) => g.computeSlices),
  );
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}
