/**
 * Turns a plan (`plan(fleet)`) into a serving-platform declaration by mapping its topology
 * (`topologyOf`, constructs/planner/topology.ts): node pools with their MIG layouts, teams with their
 * models' Triton configs, and the Triton pools of the plan's server groups. Pure: no constructs are created here.
 */
import type { Fleet, ModelSpec } from '../../fleet/types';
import { sliceConsumption, teamConsumption } from '../../planner/team-consumption';
import { SHARED_OWNER, topologyOf } from '../../planner/topology';
import type { Topology, TopologyColdModel, TopologyNodePool, TopologyPlacement, TopologyServerGroup } from '../../planner/topology';
import type { Consumption, Plan, PlanTeamConsumption } from '../../planner/types';
import { MigLayout } from '../gpu/mig-layout';
import { byString } from '../common/order';
import type { PoolScaling, SharedPool, Team, TeamModel, TeamPool } from '../teams/team-contract';

/** A GPU node pool of the platform: one node configuration (one MIG layout, or whole GPUs). */
export interface PlatformNodePool {
  /** Node pool name, a DNS-1123 label (Karpenter NodePool name). */
  readonly name: string;
  /** Catalog GPU type id. */
  readonly gpuType: string;
  /**
   * EC2 instance type of the nodes. A planned node pool always has it (from `plan.migConfigs` / `plan.nodes`),
   * unless its nodes are of several instance types (`instanceTypes`).
   * @default - the catalog's default instance type of the GPU type (hand-declared pools only)
   */
  readonly instanceType?: string;
  /**
   * EC2 instance types Karpenter may launch, when there are several: whole-GPU nodes of one GPU type that the plan
   * puts on instances of different sizes. Sorted.
   * @default - `instanceType` alone
   */
  readonly instanceTypes?: readonly string[];
  /** MIG layout of every node. @default - whole GPUs (MIG disabled) */
  readonly layout?: MigLayout;
  /** Time-slice every whole GPU into this many `nvidia.com/gpu` (only without `layout`). @default - no time-slicing */
  readonly timeSlicing?: number;
  /** Nodes the plan sizes this pool for; the node pool's `maxNodes` is at least this. @default - unknown */
  readonly plannedNodes?: number;
  /** Most nodes of the pool (Karpenter limit). @default - the larger of `nodePoolDefaults.maxNodes` (2) and `plannedNodes` */
  readonly maxNodes?: number;
}

/** Options of rendering a plan. */
export interface PlanRenderOptions {
  /** Namespace of pools that serve models of several teams. @default 'serving-shared' */
  readonly sharedNamespace?: string;
  /**
   * Scaling of planned pools. With an autoscaler, `minReplicas` defaults to the plan's replicas and
   * `maxReplicas` is at least the plan's replicas + `extraReplicas`.
   * @default - fixed at the plan's replicas
   */
  readonly scaling?: PoolScaling;
  /** Replicas an autoscaled planned pool may add above the plan's (for bursts). @default 0 */
  readonly extraReplicas?: number;
}

/**
 * The cold tier of a plan (fleet `coldBelowRps`): cache pools (Triton in explicit model-control mode,
 * nothing loaded at start) and the models the router loads into them on demand.
 */
export interface PlannedColdTier {
  /** Owner of the cache pools and the router: the team of every cold model, or `shared`. */
  readonly owner: string;
  /** Names of the cache pools (also in `teams[].pools` or `sharedPools`, with the cold models as `models`). */
  readonly pools: readonly string[];
  /** The cold models with the GPU memory one loaded copy takes (one instance), sorted by name. */
  readonly models: readonly { readonly name: string; readonly memoryGiB: number }[];
  /** GPU memory Triton takes besides its models (the fleet's `processOverheadGiB`), GiB. */
  readonly processOverheadGiB: number;
}

/** @deprecated renamed `PlannedColdTier` (one name per concept: the cold tier); kept so existing code compiles. */
export type PlannedColdPool = PlannedColdTier;

/** The declaration a plan renders to. */
export interface PlannedPlatform {
  readonly nodePools: readonly PlatformNodePool[];
  /** One team per fleet team (sorted by name), with the plan's pools of that team's models only. */
  readonly teams: readonly Team[];
  /** Pools mixing several teams' models. */
  readonly sharedPools: readonly SharedPool[];
  /** model → pool → requests/s the plan sends there. */
  readonly weights: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** model → pool → integer HTTPRoute weight, proportional to `weights` (`routeWeights` of the planner's topology). */
  readonly routeWeights: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** The cold tier, when the plan has one. */
  readonly cold?: PlannedColdTier;
  /** What each team consumes in the plan (as `plan.summary.teamConsumption`, recomputed from the plan's slices). */
  readonly teamConsumption?: PlanTeamConsumption;
}

/** The node pool of a topology's node pool: its MIG layout, or whole GPUs on one or several instance types. */
function platformNodePool(p: TopologyNodePool): PlatformNodePool {
  const types = p.instanceTypes.map((x) => x.instanceType);
  return {
    name: p.name,
    gpuType: p.gpuType,
    // the plan's instance type; whole-GPU nodes of one GPU type may be on several sizes
    ...(types.length === 1 ? { instanceType: types[0] } : { instanceTypes: types }),
    layout: p.whole ? undefined : MigLayout.fromPlan(p.config),
    plannedNodes: p.nodes,
  };
}

/** Builds the Triton config hints of a model from its placements: the busiest placement's entry wins. */
function plannedModel(spec: ModelSpec, placements: readonly TopologyPlacement[], given?: TeamModel): TeamModel {
  const byRps = [...placements].sort((a, b) => b.rps - a.rps || b.batch - a.batch || b.instances - a.instances);
  const chosen = byRps[0];
  const batches = [...new Set(placements.map((p) => p.batch))].sort((a, b) => a - b);
  const maxBatchSize = given?.maxBatchSize ?? spec.triton?.maxBatchSize ?? (chosen ? Math.max(...batches) : 8);
  return {
    ...given,
    name: spec.name,
    platform: given?.platform ?? spec.triton?.platform ?? 'onnxruntime_onnx',
    maxBatchSize,
    preferredBatchSizes: given?.preferredBatchSizes ?? (maxBatchSize > 0 ? batches.filter((b) => b <= maxBatchSize) : undefined),
    instances: given?.instances ?? chosen?.instances ?? 1,
    latencySloMs: given?.latencySloMs ?? spec.latencySloMs,
    memoryGiB: given?.memoryGiB ?? spec.memoryGiB,
  };
}

/** The Triton config hints of a cold model: one instance, the batch of the entry the topology chose on the cache slice. */
function coldModel(spec: ModelSpec, cold: TopologyColdModel, given?: TeamModel): TeamModel {
  const batch = cold.entry?.batch ?? 1;
  const maxBatchSize = given?.maxBatchSize ?? spec.triton?.maxBatchSize ?? (cold.entry ? batch : 8);
  return {
    ...given,
    name: spec.name,
    platform: given?.platform ?? spec.triton?.platform ?? 'onnxruntime_onnx',
    maxBatchSize,
    preferredBatchSizes: given?.preferredBatchSizes ?? (maxBatchSize > 0 && cold.entry && batch <= maxBatchSize ? [batch] : undefined),
    instances: given?.instances ?? 1,
    latencySloMs: given?.latencySloMs ?? spec.latencySloMs,
    memoryGiB: given?.memoryGiB ?? spec.memoryGiB,
  };
}

/** Teams given to a planned platform: no hand-written pools (the plan places models). */
function checkGivenTeams(teams: readonly Team[]): void {
  for (const t of teams) {
    if (t.pools && t.pools.length > 0) {
      throw new Error(
        `teams["${t.name}"].pools: a planned platform places models by its plan, got ${t.pools.length} hand-written pool(s); ` +
          'remove them or render without a plan',
      );
    }
  }
}

/** The scaling of a planned pool: fixed, or the given autoscaler sized around the plan's replicas. */
function plannedScaling(replicas: number, options: PlanRenderOptions): PoolScaling {
  const scaling = options.scaling;
  const extra = options.extraReplicas ?? 0;
  if (!scaling || scaling.kind === 'fixed') return { kind: 'fixed' };
  return {
    ...scaling,
    minReplicas: Math.max(scaling.minReplicas ?? replicas, 0),
    maxReplicas: Math.max(scaling.maxReplicas, replicas + extra),
  };
}

/** What each team holds on a slice (`<gpu>@<start>` → team → consumption). */
type HeldBySlice = ReadonlyMap<string, ReadonlyMap<string, Consumption>>;

/** Per team (sorted), what its models hold on the given slices, rounded to 4 decimals. */
function consumptionOf(held: HeldBySlice, slices: readonly string[]): Record<string, Consumption> {
  const sum = new Map<string, { gpuEquivalents: number; costPerHour: number }>();
  for (const k of slices) {
    for (const [team, c] of held.get(k) ?? []) {
      const t = sum.get(team) ?? { gpuEquivalents: 0, costPerHour: 0 };
      t.gpuEquivalents += c.gpuEquivalents;
      t.costPerHour += c.costPerHour;
      sum.set(team, t);
    }
  }
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  return Object.fromEntries(
    [...sum.entries()]
      .sort(([a], [b]) => byString(a, b))
      .map(([t, c]) => [t, { gpuEquivalents: r4(c.gpuEquivalents), costPerHour: r4(c.costPerHour) }]),
  );
}

/** The Triton pool of a server group (with its teams and their consumption when it serves several teams' models). */
function servingPool(g: TopologyServerGroup, options: PlanRenderOptions, held: HeldBySlice): TeamPool | SharedPool {
  const pool: TeamPool = {
    name: g.name,
    slice: g.profile,
    models: g.models,
    replicas: g.replicas,
    nodePool: g.nodePool,
    scaling: plannedScaling(g.replicas, options),
  };
  return g.owner === SHARED_OWNER ? { ...pool, teams: g.teams, consumption: consumptionOf(held, g.slices) } : pool;
}

/** The Triton pools of the topology by owner (team or `shared`): server groups, then the cold tier's cache pools. */
function poolsByOwner(topology: Topology, options: PlanRenderOptions, held: HeldBySlice): Map<string, (TeamPool | SharedPool)[]> {
  const out = new Map<string, (TeamPool | SharedPool)[]>();
  const add = (owner: string, pool: TeamPool | SharedPool) => out.set(owner, [...(out.get(owner) ?? []), pool]);
  for (const g of topology.servers) add(g.owner, servingPool(g, options, held));
  const cold = topology.cold;
  // cache pools: the cold models are their `models` (the router loads them; nothing is loaded at start), fixed replicas
  for (const c of cold?.cachePools ?? []) {
    const pool: TeamPool = {
      name: c.name,
      slice: c.profile,
      models: cold!.models.map((m) => m.name),
      replicas: c.replicas,
      nodePool: c.nodePool,
      scaling: { kind: 'fixed' },
    };
    add(cold!.owner, cold!.owner === SHARED_OWNER ? { ...pool, teams: cold!.teams, consumption: consumptionOf(held, c.slices) } : pool);
  }
  return out;
}

/** One team per fleet team (sorted), with its models' Triton configs and its pools; given teams keep their settings. */
function plannedTeams(fleet: Fleet, topology: Topology, teams: readonly Team[], pools: ReadonlyMap<string, readonly TeamPool[]>): Team[] {
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const given = new Map(teams.map((t) => [t.name, t]));
  const cold = new Map((topology.cold?.models ?? []).map((m) => [m.name, m]));
  const teamNames = [...new Set(fleet.models.map((m) => m.team))].sort(byString);
  for (const t of teams) {
    if (!teamNames.includes(t.name))
      throw new Error(`teams["${t.name}"]: fleet "${fleet.name}" has no model of team "${t.name}" (teams: ${teamNames.join(', ')})`);
  }
  return teamNames.map((name) => {
    const t = given.get(name);
    const overrides = new Map((t?.models ?? []).map((m) => [m.name, m]));
    for (const m of overrides.keys()) {
      if (specs.get(m)?.team !== name)
        throw new Error(`teams["${name}"].models: model "${m}" is not a model of team "${name}" in fleet "${fleet.name}"`);
    }
    const models = fleet.models
      .filter((m) => m.team === name)
      .map((m) =>
        cold.has(m.name)
          ? coldModel(m, cold.get(m.name)!, overrides.get(m.name))
          : plannedModel(m, topology.placements.get(m.name) ?? [], overrides.get(m.name)),
      )
      .sort((a, b) => byString(a.name, b.name));
    return { ...(t ?? {}), name, models, pools: pools.get(name) ?? [] };
  });
}

/** model → pool → requests/s of the topology's server groups. */
function demandWeights(topology: Topology): Map<string, Map<string, number>> {
  const weights = new Map<string, Map<string, number>>();
  for (const g of topology.servers) {
    for (const d of g.demand) weights.set(d.model, (weights.get(d.model) ?? new Map<string, number>()).set(g.name, d.rps));
  }
  return weights;
}

/**
 * The platform declaration of a plan. Teams given in `teams` (matched by name) keep their group,
 * quota, namespace, setup hook and model overrides; their `pools` must be absent (the plan places models).
 */
export function planDeclaration(fleet: Fleet, plan: Plan, teams: readonly Team[] = [], options: PlanRenderOptions = {}): PlannedPlatform {
  checkGivenTeams(teams);
  const extra = options.extraReplicas ?? 0;
  if (!Number.isInteger(extra) || extra < 0) throw new Error(`extraReplicas: expected an integer >= 0, got ${extra}`);
  const topology = topologyOf(fleet, plan);
  // what each team holds on each slice (after the topology, which names a model missing from the fleet first)
  const held = new Map(sliceConsumption(fleet, plan).map((c) => [`${c.gpu}@${c.start}`, c.teams]));
  const pools = poolsByOwner(topology, options, held);
  const cold = topology.cold;
  return {
    nodePools: topology.nodePools.map(platformNodePool),
    teams: plannedTeams(fleet, topology, teams, pools),
    sharedPools: (pools.get(SHARED_OWNER) ?? []) as SharedPool[],
    weights: demandWeights(topology),
    routeWeights: topology.routeWeights,
    // recomputed, not read from the plan: a saved plan's figures could be stale or edited
    teamConsumption: teamConsumption(fleet, plan),
    ...(cold
      ? {
          cold: {
            owner: cold.owner,
            pools: cold.cachePools.map((c) => c.name),
            models: cold.models.map(({ name, memoryGiB }) => ({ name, memoryGiB })),
            processOverheadGiB: cold.processOverheadGiB,
          },
        }
      : {}),
  };
}
