/**
 * Turns a plan (`plan(fleet)`) into a serving-platform declaration: node pools with their MIG
 * layouts, teams with their models' Triton configs, and Triton pools grouped by
 * (node configuration, slice kind, model set). Pure: no constructs are created here.
 */
import { getGpuType, getMigProfile, resolveGpuType } from '../catalog';
import type { Fleet, ModelSpec } from '../fleet/types';
import { sliceConsumption, teamConsumption } from '../planner/team-consumption';
import type { Consumption, Plan, PlanMigConfig, PlanTeamConsumption } from '../planner/types';
import { MigLayout } from './mig-layout';
import { byString } from './order';
import type { PoolScaling, Team, TeamModel, TeamPool } from './team-contract';
import { MAX_POOL_NAME_LENGTH } from './triton-pool';

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

/** A planned Triton pool that serves models of more than one team. */
export interface SharedPool extends TeamPool {
  /** Teams whose models the pool serves, sorted. */
  readonly teams: readonly string[];
  /** Per team (sorted): the GPU-equivalents and cost per hour its models hold on the pool's slices (planner/team-consumption.ts). */
  readonly consumption?: Readonly<Record<string, Consumption>>;
}

/**
 * The cold pool of a plan (fleet `coldBelowRps`): cache pools (Triton in explicit model-control mode,
 * nothing loaded at start) and the models the router loads into them on demand.
 */
export interface PlannedColdPool {
  /** Owner of the cache pools and the router: the team of every cold model, or `shared`. */
  readonly owner: string;
  /** Names of the cache pools (also in `teams[].pools` or `sharedPools`, with the cold models as `models`). */
  readonly pools: readonly string[];
  /** The cold models with the GPU memory one loaded copy takes (one instance), sorted by name. */
  readonly models: readonly { readonly name: string; readonly memoryGiB: number }[];
  /** GPU memory Triton takes besides its models (the fleet's `processOverheadGiB`), GiB. */
  readonly processOverheadGiB: number;
}

/** The declaration a plan renders to. */
export interface PlannedPlatform {
  readonly nodePools: readonly PlatformNodePool[];
  /** One team per fleet team (sorted by name), with the plan's pools of that team's models only. */
  readonly teams: readonly Team[];
  /** Pools mixing several teams' models. */
  readonly sharedPools: readonly SharedPool[];
  /** model → pool → requests/s the plan sends there (route weights). */
  readonly weights: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** The cold pool, when the plan has one. */
  readonly cold?: PlannedColdPool;
  /** What each team consumes in the plan (as `plan.summary.teamConsumption`, recomputed from the plan's slices). */
  readonly teamConsumption?: PlanTeamConsumption;
}

const WHOLE = 'whole';
const ALL_DISABLED = 'all-disabled';

function dnsLabel(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

/** A node configuration of the plan with the instance types of its nodes (sorted). */
interface NodeConfiguration {
  readonly config: PlanMigConfig;
  readonly instanceTypes: readonly string[];
}

/**
 * Node configurations of the plan (`plan.migConfigs`, and one per GPU type for whole-GPU nodes), each with the
 * instance types the plan puts its nodes on. The plan must list its nodes with their instance types: nothing is
 * substituted for a missing one.
 */
function nodeConfigurations(plan: Plan): { configs: NodeConfiguration[]; configOfGpu: Map<string, string> } {
  if (!plan.nodes || plan.nodes.length === 0) {
    throw new Error(`plan.nodes: expected the plan's nodes with their instance types (and plan.migConfigs for MIG nodes), got ${JSON.stringify(plan.nodes ?? null)}; plan the fleet with gpufleet plan`);
  }
  const missing = (v: unknown) => typeof v !== 'string' || v.length === 0;
  for (const c of plan.migConfigs ?? []) {
    if (missing(c.instanceType)) {
      throw new Error(`plan.migConfigs[${c.name}].instanceType: expected the EC2 instance type of node configuration "${c.name}", got ${JSON.stringify(c.instanceType ?? null)}`);
    }
  }
  const configOfGpu = new Map<string, string>();
  const nodeByName = new Map(plan.nodes.map((n) => [n.name, n]));
  const configs = new Map<string, { config: PlanMigConfig; instanceTypes: Set<string> }>(
    (plan.migConfigs ?? []).map((c) => [`${c.name}|${c.gpuType}`, { config: c, instanceTypes: new Set([c.instanceType]) }]));
  for (const g of plan.gpus) {
    const node = nodeByName.get(g.node);
    if (node === undefined) throw new Error(`plan.gpus[${g.id}].node: "${g.node}" is not a node of plan.nodes`);
    const key = `${node.migConfig}|${g.type}`;
    configOfGpu.set(g.id, key);
    if (!configs.has(key)) {
      if (node.migConfig !== ALL_DISABLED) {
        throw new Error(`plan.nodes[${node.name}].migConfig: "${node.migConfig}" is not in plan.migConfigs (${[...configs.values()].map((c) => c.config.name).join(', ')})`);
      }
      // Whole GPUs (no MIG): the plan lists no mig-parted config for them.
      configs.set(key, { config: { name: ALL_DISABLED, gpuType: g.type, instanceType: node.instanceType, devices: [[]], nodes: 0 }, instanceTypes: new Set() });
    }
  }
  for (const n of plan.nodes) {
    const c = configs.get(`${n.migConfig}|${n.gpuType}`);
    if (!c) continue;
    if (missing(n.instanceType)) {
      throw new Error(`plan.nodes[${n.name}].instanceType: expected the EC2 instance type of the node (node configuration "${n.migConfig}"), got ${JSON.stringify(n.instanceType ?? null)}`);
    }
    if (c.config.name === ALL_DISABLED) {
      (c.config as { nodes: number }).nodes += 1;
      c.instanceTypes.add(n.instanceType);
    } else if (n.instanceType !== c.config.instanceType) {
      throw new Error(`plan.nodes[${n.name}].instanceType: node configuration "${c.config.name}" is for ${c.config.instanceType}, got ${n.instanceType}`);
    }
  }
  return {
    configs: [...configs.values()].map((c) => ({ config: c.config, instanceTypes: [...c.instanceTypes].sort(byString) })),
    configOfGpu,
  };
}

/** Builds the Triton config hints of a model from its placements: the busiest placement's entry wins. */
function plannedModel(spec: ModelSpec, placements: readonly { batch: number; instances: number; rps: number }[], given?: TeamModel): TeamModel {
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

/**
 * The Triton config hints of a cold model: one instance (the router counts one copy of `memoryGiB`,
 * as the planner sizes the cache), batch of its best admissible one-instance entry on the cache slice.
 */
function coldModel(spec: ModelSpec, fleet: Fleet, gpuType: string, profile: string, given?: TeamModel): TeamModel {
  const slice = profile === WHOLE ? 7 : getMigProfile(gpuType, profile).computeSlices;
  const gpu = getGpuType(gpuType).id;
  const entries = spec.profiles
    .filter((p) => resolveGpuType(p.gpu).id === gpu && p.slice === slice && p.latencyMs <= fleet.latencyHeadroom * spec.latencySloMs)
    .sort((a, b) => (a.instances === 1 ? 0 : 1) - (b.instances === 1 ? 0 : 1) || b.throughput - a.throughput || a.latencyMs - b.latencyMs || a.batch - b.batch);
  const batch = entries[0]?.batch ?? 1;
  const maxBatchSize = given?.maxBatchSize ?? spec.triton?.maxBatchSize ?? (entries[0] ? batch : 8);
  return {
    ...given,
    name: spec.name,
    platform: given?.platform ?? spec.triton?.platform ?? 'onnxruntime_onnx',
    maxBatchSize,
    preferredBatchSizes: given?.preferredBatchSizes ?? (maxBatchSize > 0 && entries[0] && batch <= maxBatchSize ? [batch] : undefined),
    instances: given?.instances ?? 1,
    latencySloMs: given?.latencySloMs ?? spec.latencySloMs,
    memoryGiB: given?.memoryGiB ?? spec.memoryGiB,
  };
}

/**
 * The platform declaration of a plan. Teams given in `teams` (matched by name) keep their group,
 * quota, namespace, setup hook and model overrides; their `pools` must be absent (the plan places models).
 */
export function planDeclaration(fleet: Fleet, plan: Plan, teams: readonly Team[] = [], options: PlanRenderOptions = {}): PlannedPlatform {
  if (plan.fleet !== fleet.name) {
    throw new Error(`plan.fleet: the plan is for fleet "${plan.fleet}", got fleet "${fleet.name}"`);
  }
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const given = new Map(teams.map((t) => [t.name, t]));
  for (const t of teams) {
    if (t.pools && t.pools.length > 0) {
      throw new Error(`teams["${t.name}"].pools: a planned platform places models by its plan, got ${t.pools.length} hand-written pool(s); remove them or render without a plan`);
    }
  }

  // Node pools: one per node configuration.
  const { configs, configOfGpu } = nodeConfigurations(plan);
  const nodePoolOfConfig = new Map<string, PlatformNodePool>();
  const usedNames = new Set<string>();
  for (const { config: c, instanceTypes } of [...configs].sort((a, b) => byString(a.config.name, b.config.name) || byString(a.config.gpuType, b.config.gpuType))) {
    const gpu = resolveGpuType(c.gpuType);
    const whole = c.devices.every((d) => d.length === 0 || d.every((s) => s.profile === WHOLE));
    let name = dnsLabel(whole || c.name === ALL_DISABLED ? `${gpu.id}-whole` : c.name);
    for (let i = 2; usedNames.has(name); i++) name = dnsLabel(`${c.name}-${gpu.id}-${i}`);
    usedNames.add(name);
    nodePoolOfConfig.set(`${c.name}|${c.gpuType}`, {
      name,
      gpuType: gpu.id,
      // the plan's instance type; whole-GPU nodes of one GPU type may be on several sizes
      ...(instanceTypes.length === 1 ? { instanceType: instanceTypes[0] } : { instanceTypes }),
      layout: whole ? undefined : MigLayout.fromPlan(c),
      plannedNodes: c.nodes,
    });
  }

  // Pools: slices grouped by (node configuration, profile, model set).
  interface Group { config: string; profile: string; models: string[]; replicas: number; rps: Map<string, number>; slices: string[] }
  const groups = new Map<string, Group>();
  const placements = new Map<string, { batch: number; instances: number; rps: number }[]>();
  // Cache slices of the cold pool: grouped by (node configuration, slice kind).
  const cacheGroups = new Map<string, { config: string; profile: string; gpuType: string; replicas: number; slices: string[] }>();
  for (const g of [...plan.gpus].sort((a, b) => byString(a.id, b.id))) {
    const config = configOfGpu.get(g.id)!;
    for (const s of g.slices) {
      if (s.cache) {
        if (!plan.cold) throw new Error(`plan.gpus[${g.id}]: slice ${s.profile}@${s.start} is a cache slice, but the plan has no cold pool (plan.cold)`);
        const key = `${config}#${s.profile}`;
        const c = cacheGroups.get(key) ?? { config, profile: s.profile, gpuType: g.type, replicas: 0, slices: [] as string[] };
        c.replicas += 1;
        c.slices.push(`${g.id}@${s.start}`);
        cacheGroups.set(key, c);
        continue;
      }
      if (s.models.length === 0) continue;
      const models = s.models.map((m) => m.name).sort(byString);
      const key = `${config}#${s.profile}#${models.join(',')}`;
      const group = groups.get(key) ?? { config, profile: s.profile, models, replicas: 0, rps: new Map(), slices: [] as string[] };
      group.replicas += 1;
      group.slices.push(`${g.id}@${s.start}`);
      for (const m of s.models) {
        if (!specs.has(m.name)) throw new Error(`plan.gpus[${g.id}]: model "${m.name}" is not in fleet "${fleet.name}"`);
        group.rps.set(m.name, (group.rps.get(m.name) ?? 0) + m.rps);
        placements.set(m.name, [...(placements.get(m.name) ?? []), { batch: m.batch, instances: m.instances, rps: m.rps }]);
      }
      groups.set(key, group);
    }
  }

  // what each team holds on each slice (after the loop above, which names a model missing from the fleet first)
  const held = new Map(sliceConsumption(fleet, plan).map((c) => [`${c.gpu}@${c.start}`, c.teams]));
  const consumptionOf = (slices: readonly string[]): Record<string, Consumption> => {
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
    return Object.fromEntries([...sum.entries()].sort(([a], [b]) => byString(a, b)).map(([t, c]) => [t, { gpuEquivalents: r4(c.gpuEquivalents), costPerHour: r4(c.costPerHour) }]));
  };
  const teamOf = (model: string) => specs.get(model)!.team;
  const tagOf = (profile: string) => (profile === WHOLE ? 'gpu' : profile.split('.')[0]);
  const sorted = [...groups.entries()].sort(([a], [b]) => byString(a, b)).map(([, g]) => g);
  // A model's pools must share a namespace (one route per model path): pools linked by a common model
  // form a component, owned by its team when all its models are that team's, else shared.
  const parent = sorted.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const firstWith = new Map<string, number>();
  sorted.forEach((g, i) => {
    for (const m of g.models) {
      const j = firstWith.get(m);
      if (j === undefined) firstWith.set(m, i);
      else parent[find(i)] = find(j);
    }
  });
  const componentTeams = new Map<number, Set<string>>();
  sorted.forEach((g, i) => {
    const root = find(i);
    const set = componentTeams.get(root) ?? new Set<string>();
    for (const m of g.models) set.add(teamOf(m));
    componentTeams.set(root, set);
  });
  const ownerOf = (g: Group) => {
    const owners = [...componentTeams.get(find(sorted.indexOf(g)))!].sort(byString);
    return owners.length === 1 ? owners[0] : 'shared';
  };
  const coldNames = [...new Set((plan.cold?.models ?? []).map((m) => m.name))].sort(byString);
  for (const m of coldNames) {
    if (!specs.has(m)) throw new Error(`plan.cold.models: model "${m}" is not in fleet "${fleet.name}"`);
  }
  if (coldNames.length > 0 && cacheGroups.size === 0) {
    throw new Error(`plan.cold: ${coldNames.length} cold model(s) (${coldNames.join(', ')}) but no cache slice (cache: true) in plan.gpus`);
  }
  const coldTeams = [...new Set(coldNames.map(teamOf))].sort(byString);
  const coldOwner = coldTeams.length === 1 ? coldTeams[0] : 'shared';
  if (fleet.models.some((m) => m.team === 'shared') && (sorted.some((g) => ownerOf(g) === 'shared') || (coldNames.length > 0 && coldOwner === 'shared'))) {
    throw new Error('fleet: team "shared" is reserved for pools that serve several teams\' models; rename the team');
  }
  const perTag = new Map<string, number>();
  for (const g of sorted) perTag.set(`${ownerOf(g)}-${tagOf(g.profile)}`, (perTag.get(`${ownerOf(g)}-${tagOf(g.profile)}`) ?? 0) + 1);
  const seenTag = new Map<string, number>();
  const scaling = options.scaling;
  const extra = options.extraReplicas ?? 0;
  if (!Number.isInteger(extra) || extra < 0) throw new Error(`extraReplicas: expected an integer >= 0, got ${extra}`);
  const poolsByOwner = new Map<string, (TeamPool | SharedPool)[]>();
  const weights = new Map<string, Map<string, number>>();
  for (const g of sorted) {
    const owner = ownerOf(g);
    const base = `${owner}-${tagOf(g.profile)}`;
    const n = (seenTag.get(base) ?? 0) + 1;
    seenTag.set(base, n);
    const suffix = perTag.get(base)! > 1 ? `-${n}` : '';
    const name = `${dnsLabel(owner).slice(0, MAX_POOL_NAME_LENGTH - (base.length - owner.length) - suffix.length).replace(/-+$/, '')}-${tagOf(g.profile)}${suffix}`;
    const nodePool = nodePoolOfConfig.get(g.config);
    if (!nodePool) throw new Error(`plan: node configuration "${g.config.split('|')[0]}" of pool "${name}" is not in plan.migConfigs`);
    const pool: TeamPool = {
      name,
      slice: g.profile,
      models: g.models,
      replicas: g.replicas,
      nodePool: nodePool.name,
      scaling:
        !scaling || scaling.kind === 'fixed'
          ? { kind: 'fixed' }
          : { ...scaling, minReplicas: Math.max(scaling.minReplicas ?? g.replicas, 0), maxReplicas: Math.max(scaling.maxReplicas, g.replicas + extra) },
    };
    const entry = owner === 'shared' ? { ...pool, teams: [...componentTeams.get(find(sorted.indexOf(g)))!].sort(byString), consumption: consumptionOf(g.slices) } : pool;
    poolsByOwner.set(owner, [...(poolsByOwner.get(owner) ?? []), entry]);
    for (const [model, rps] of g.rps) {
      const w = weights.get(model) ?? new Map<string, number>();
      w.set(name, rps);
      weights.set(model, w);
    }
  }

  // Cache pools: `<owner>-cache-<slice>` (numbered when the cold pool spans several kinds); the cold
  // models are their `models` (the router loads them; nothing is loaded at start), fixed replicas.
  const cachePools: string[] = [];
  const cacheSorted = [...cacheGroups.entries()].sort(([a], [b]) => byString(a, b)).map(([, c]) => c);
  if (coldNames.length > 0) {
    const perCacheTag = new Map<string, number>();
    for (const c of cacheSorted) perCacheTag.set(tagOf(c.profile), (perCacheTag.get(tagOf(c.profile)) ?? 0) + 1);
    const seenCacheTag = new Map<string, number>();
    for (const c of cacheSorted) {
      const tag = tagOf(c.profile);
      const n = (seenCacheTag.get(tag) ?? 0) + 1;
      seenCacheTag.set(tag, n);
      const suffix = `-cache-${tag}${perCacheTag.get(tag)! > 1 ? `-${n}` : ''}`;
      const name = `${dnsLabel(coldOwner).slice(0, MAX_POOL_NAME_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`;
      const nodePool = nodePoolOfConfig.get(c.config);
      if (!nodePool) throw new Error(`plan: node configuration "${c.config.split('|')[0]}" of cache pool "${name}" is not in plan.migConfigs`);
      const pool: TeamPool = { name, slice: c.profile, models: coldNames, replicas: c.replicas, nodePool: nodePool.name, scaling: { kind: 'fixed' } };
      poolsByOwner.set(coldOwner, [...(poolsByOwner.get(coldOwner) ?? []), coldOwner === 'shared' ? { ...pool, teams: coldTeams, consumption: consumptionOf(c.slices) } : pool]);
      cachePools.push(name);
    }
  }
  const coldSet = new Set(coldNames);
  for (const m of coldNames) {
    if (placements.has(m)) throw new Error(`plan.cold.models: model "${m}" is cold (served through the router) but also placed on a slice; a model is either cold or seated`);
  }
  const cacheKind = cacheSorted[0];

  const unplaced = fleet.models.filter((m) => !placements.has(m.name) && !coldSet.has(m.name)).map((m) => m.name).sort(byString);
  if (unplaced.length > 0) throw new Error(`plan: model(s) ${unplaced.join(', ')} of fleet "${fleet.name}" are not placed on any slice`);

  const teamNames = [...new Set(fleet.models.map((m) => m.team))].sort(byString);
  for (const t of teams) {
    if (!teamNames.includes(t.name)) throw new Error(`teams["${t.name}"]: fleet "${fleet.name}" has no model of team "${t.name}" (teams: ${teamNames.join(', ')})`);
  }
  const outTeams: Team[] = teamNames.map((name) => {
    const t = given.get(name);
    const overrides = new Map((t?.models ?? []).map((m) => [m.name, m]));
    for (const m of overrides.keys()) {
      if (specs.get(m)?.team !== name) throw new Error(`teams["${name}"].models: model "${m}" is not a model of team "${name}" in fleet "${fleet.name}"`);
    }
    const models = fleet.models
      .filter((m) => m.team === name)
      .map((m) => (coldSet.has(m.name) && !placements.has(m.name)
        ? coldModel(m, fleet, cacheKind.gpuType, cacheKind.profile, overrides.get(m.name))
        : plannedModel(m, placements.get(m.name) ?? [], overrides.get(m.name))))
      .sort((a, b) => byString(a.name, b.name));
    return { ...(t ?? {}), name, models, pools: poolsByOwner.get(name) ?? [] } as Team;
  });

  return {
    nodePools: [...nodePoolOfConfig.values()].sort((a, b) => byString(a.name, b.name)),
    teams: outTeams,
    sharedPools: (poolsByOwner.get('shared') ?? []) as SharedPool[],
    weights,
    // recomputed, not read from the plan: a saved plan's figures could be stale or edited
    teamConsumption: teamConsumption(fleet, plan),
    ...(coldNames.length > 0
      ? {
        cold: {
          owner: coldOwner,
          pools: cachePools,
          models: coldNames.map((name) => ({ name, memoryGiB: specs.get(name)!.memoryGiB })),
          processOverheadGiB: fleet.processOverheadGiB,
        },
      }
      : {}),
  };
}
