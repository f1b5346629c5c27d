/**
 * The deployment topology of a plan, computed once: the named GPU node pools, the Triton server groups
 * and the cold tier (cache pools behind the model router), with the requests/s the plan sends each server
 * group per model. Pure: no constructs, no I/O.
 *
 * The plan document is a wire format (DESIGN.md); every renderer — the cdk8s platform (k8s), the Pulumi node
 * groups (cloud) and the CLI's views (bin) — maps this topology instead of grouping, naming or pricing on its own,
 * so the names of a node pool in the Kubernetes objects and in the cloud resources are the same by construction.
 */
import { createHash } from 'crypto';
import { findGpuType, getGpuType, getMigProfile, resolveGpuType } from '../catalog';
import type { Fleet, ModelSpec, ProfileEntry } from '../fleet/types';
import { coldEntry } from './cold-tier';
import { candidatesOn } from './placement-entry';
import type { Plan, PlanColdModel, PlanMigConfig } from './types';

/** Profile of a slice that is a whole GPU (MIG off). */
export const WHOLE_PROFILE = 'whole';
/** The mig-parted configuration of nodes whose GPUs are used whole (`nvidia.com/mig.config=all-disabled`). */
export const ALL_DISABLED = 'all-disabled';
/** Longest Triton pool name: its pods' names (`<pool>-<hash>-<hash>`) must not be truncated. */
export const MAX_POOL_NAME_LENGTH = 40;
/** Pools serving models of several teams are owned by this name (and a fleet team may not take it). */
export const SHARED_OWNER = 'shared';
/**
 * What a model's route weights add up to: each pool's weight is its part of the model's planned requests/s in
 * units of 1/10,000 (0.01%). Gateway API weights are relative integers per backendRef, 0..1,000,000 — "computed
 * as weight/(sum of all weights in this BackendRefs list)", not a percentage (kubernetes-sigs/gateway-api v1.6.1
 * apis/v1/shared_types.go BackendRef.Weight) — so 10,000 keeps each pool's share within 0.005 percentage points.
 */
export const ROUTE_WEIGHT_TOTAL = 10_000;

/**
 * The one DNS-1123 label rule of gpufleet's derived names: lower case, runs of other characters become `-`, no
 * leading or trailing `-`, at most 63 characters.
 */
export function dnsLabel(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** The nodes of a node pool on one EC2 instance type. */
export interface TopologyInstanceNodes {
  readonly instanceType: string;
  readonly nodes: number;
}

/** A GPU node pool: the nodes of one node configuration (one MIG layout, or whole GPUs of one GPU type). */
export interface TopologyNodePool {
  /** DNS-1123 label: the Karpenter NodePool name and the `gpufleet.io/pool` node label (also of the Pulumi node groups). */
  readonly name: string;
  /** Catalog GPU type id. */
  readonly gpuType: string;
  /** The mig-parted configuration: value of `nvidia.com/mig.config` (`all-disabled` for whole GPUs). */
  readonly migConfig: string;
  /** True when the GPUs are used whole (MIG off). */
  readonly whole: boolean;
  /**
   * The node configuration: the plan's `migConfigs` entry, or for whole GPUs `all-disabled` with one device of one
   * `whole` slice (and the first instance type).
   */
  readonly config: PlanMigConfig;
  /** The instance types the plan puts the pool's nodes on, with their node counts, sorted by instance type. */
  readonly instanceTypes: readonly TopologyInstanceNodes[];
  /** Nodes the plan sizes the pool for. */
  readonly nodes: number;
}

/** A model's demand on one Triton server group. */
export interface TopologyModelDemand {
  readonly model: string;
  /** Requests/s the plan sends the group (all replicas). */
  readonly rps: number;
  /** Requests/s per replica. */
  readonly rpsPerReplica: number;
}

/** Triton servers of one kind: the plan's slices of one node pool and profile that serve the same set of models. */
export interface TopologyServerGroup {
  /** Pool name (DNS-1123 label, at most `MAX_POOL_NAME_LENGTH`): `<owner>-<slice tag>[-<n>]`. */
  readonly name: string;
  /** The team of every model of the group and of the groups linked to it by a common model, or `shared`. */
  readonly owner: string;
  /** Teams of those models, sorted. */
  readonly teams: readonly string[];
  readonly nodePool: string;
  readonly gpuType: string;
  /** MIG profile of the slices, or `whole`. */
  readonly profile: string;
  /** Models, sorted. */
  readonly models: readonly string[];
  /** Slices of this kind in the plan: one Triton server each. */
  readonly replicas: number;
  /** The plan's slices of the group, `<gpu id>@<start>`, in GPU-id order. */
  readonly slices: readonly string[];
  /** Per model (sorted), the demand the plan sends the group. */
  readonly demand: readonly TopologyModelDemand[];
}

/** A model's placement (one slice) as the plan gives it. */
export interface TopologyPlacement {
  readonly batch: number;
  readonly instances: number;
  readonly rps: number;
}

/** Cache servers of the cold tier: cache slices of one node pool and profile. */
export interface TopologyCachePool {
  /** `<owner>-cache-<slice tag>[-<n>]`. */
  readonly name: string;
  readonly nodePool: string;
  readonly gpuType: string;
  readonly profile: string;
  readonly replicas: number;
  /** The plan's cache slices of the pool, `<gpu id>@<start>`, in GPU-id order. */
  readonly slices: readonly string[];
}

/** A cold model and the profile entry its Triton config takes on the cache slices. */
export interface TopologyColdModel {
  readonly name: string;
  readonly team: string;
  /** GPU memory of one loaded copy (one instance). */
  readonly memoryGiB: number;
  /**
   * The measured profile entry on the cache slice that the planner chose (`plan.cold.models[].batch`, `instances`:
   * one instance, the highest throughput within the latency rule). @default - none: planned from its estimate
   */
  readonly entry?: ProfileEntry;
}

/**
 * The cold tier (fleet `coldBelowRps`): models without a permanent seat, loaded on demand by the model router
 * into cache pools.
 */
export interface TopologyColdTier {
  /** Owner of the cache pools and the router: the team of every cold model, or `shared`. */
  readonly owner: string;
  readonly teams: readonly string[];
  readonly cachePools: readonly TopologyCachePool[];
  /** Sorted by name. */
  readonly models: readonly TopologyColdModel[];
  /** GPU memory Triton takes besides its models (the fleet's `processOverheadGiB`), GiB. */
  readonly processOverheadGiB: number;
}

/** The deployment topology of a plan. */
export interface Topology {
  /** Sorted by name. */
  readonly nodePools: readonly TopologyNodePool[];
  /** In naming order (by node pool key, profile, models). */
  readonly servers: readonly TopologyServerGroup[];
  /** Per model, its placements in GPU-id order. */
  readonly placements: ReadonlyMap<string, readonly TopologyPlacement[]>;
  /** model → server group → integer route weight (`routeWeights`), models and groups sorted. */
  readonly routeWeights: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly cold?: TopologyColdTier;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const missing = (v: unknown): boolean => typeof v !== 'string' || v.length === 0;
const tagOf = (profile: string): string => (profile === WHOLE_PROFILE ? 'gpu' : profile.split('.')[0]);

/** A node configuration of the plan while its nodes are counted; keyed `<migConfig>|<gpuType>`. */
interface ConfigDraft {
  readonly config: PlanMigConfig;
  readonly nodes: Map<string, number>;
  readonly whole: boolean;
}

/** The plan's nodes, checked: listed, each with an instance type and a known node configuration. */
function checkedNodes(plan: Plan): NonNullable<Plan['nodes']> {
  if (!plan.nodes || plan.nodes.length === 0) {
    throw new Error(
      "plan.nodes: expected the plan's nodes with their instance types (and plan.migConfigs for MIG nodes), " +
        `got ${JSON.stringify(plan.nodes ?? null)}; plan the fleet with gpufleet plan`,
    );
  }
  for (const c of plan.migConfigs ?? []) {
    if (missing(c.instanceType)) {
      throw new Error(
        `plan.migConfigs[${c.name}].instanceType: expected the EC2 instance type of node configuration "${c.name}", ` +
          `got ${JSON.stringify(c.instanceType ?? null)}`,
      );
    }
  }
  return plan.nodes;
}

/** The node configurations of the plan and, per GPU id, the key of its configuration. */
function configDrafts(plan: Plan): { drafts: Map<string, ConfigDraft>; configOfGpu: Map<string, string> } {
  const nodes = checkedNodes(plan);
  const drafts = new Map<string, ConfigDraft>(
    (plan.migConfigs ?? []).map((c) => [
      `${c.name}|${c.gpuType}`,
      {
        // an `all-disabled` entry counts its nodes from plan.nodes, like the whole-GPU nodes the plan lists no config for
        config: c,
        nodes: new Map(c.name === ALL_DISABLED ? [] : [[c.instanceType, c.nodes]]),
        whole: c.devices.every((d) => d.length === 0 || d.every((s) => s.profile === WHOLE_PROFILE)),
      },
    ]),
  );
  const configOfGpu = new Map<string, string>();
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  for (const g of plan.gpus) {
    const node = nodeByName.get(g.node);
    if (node === undefined) throw new Error(`plan.gpus[${g.id}].node: "${g.node}" is not a node of plan.nodes`);
    const key = `${node.migConfig}|${g.type}`;
    configOfGpu.set(g.id, key);
    if (drafts.has(key)) continue;
    if (node.migConfig !== ALL_DISABLED) {
      throw new Error(
        `plan.nodes[${node.name}].migConfig: "${node.migConfig}" is not in plan.migConfigs ` +
          `(${[...drafts.values()].map((c) => c.config.name).join(', ')})`,
      );
    }
    // whole GPUs: the plan lists no mig-parted config for them; their nodes are counted below
    const config = {
      name: ALL_DISABLED,
      gpuType: g.type,
      instanceType: node.instanceType,
      devices: [[{ profile: WHOLE_PROFILE, start: 0 }]],
      nodes: 0,
    };
    drafts.set(key, { config, nodes: new Map(), whole: true });
  }
  for (const n of nodes) {
    if (!drafts.has(`${n.migConfig}|${n.gpuType}`) && n.migConfig === ALL_DISABLED) {
      // a whole-GPU node the plan puts no GPU on yet (its pool exists all the same)
      const config = {
        name: ALL_DISABLED,
        gpuType: n.gpuType,
        instanceType: n.instanceType,
        devices: [[{ profile: WHOLE_PROFILE, start: 0 }]],
        nodes: 0,
      };
      drafts.set(`${n.migConfig}|${n.gpuType}`, { config, nodes: new Map(), whole: true });
    }
    const d = drafts.get(`${n.migConfig}|${n.gpuType}`);
    if (!d) continue;
    if (missing(n.instanceType)) {
      throw new Error(
        `plan.nodes[${n.name}].instanceType: expected the EC2 instance type of the node (node configuration "${n.migConfig}"), ` +
          `got ${JSON.stringify(n.instanceType ?? null)}`,
      );
    }
    if (d.config.name === ALL_DISABLED) d.nodes.set(n.instanceType, (d.nodes.get(n.instanceType) ?? 0) + 1);
    else if (n.instanceType !== d.config.instanceType) {
      throw new Error(
        `plan.nodes[${n.name}].instanceType: node configuration "${d.config.name}" is for ${d.config.instanceType}, got ${n.instanceType}`,
      );
    }
  }
  return { drafts, configOfGpu };
}

/**
 * The node pools of a plan: one per node configuration (`plan.migConfigs`, and one per GPU type for whole-GPU
 * nodes, whatever instance types carry them). A MIG pool is named after its configuration (content-derived,
 * `migConfigName`), a whole-GPU pool `<gpu type>-whole`; a clash is numbered `<config>-<gpu type>-<n>`.
 * Also returns, per GPU id, the name of its node pool.
 */
export function nodePoolsOf(plan: Plan): { nodePools: TopologyNodePool[]; poolOfGpu: Map<string, string> } {
  const { nodePools, poolOfGpu } = keyedNodePools(plan);
  return { nodePools, poolOfGpu: new Map([...poolOfGpu.entries()].map(([gpu, p]) => [gpu, p.name])) };
}

/** A GPU's node pool and the key of its node configuration (`<migConfig>|<gpuType>`, the order of server groups). */
interface GpuPool {
  readonly name: string;
  readonly key: string;
}

function keyedNodePools(plan: Plan): { nodePools: TopologyNodePool[]; poolOfGpu: Map<string, GpuPool> } {
  const { drafts, configOfGpu } = configDrafts(plan);
  const nameOfKey = new Map<string, string>();
  const used = new Set<string>();
  const pools: TopologyNodePool[] = [];
  const ordered = [...drafts.entries()].sort(
    ([, a], [, b]) => byString(a.config.name, b.config.name) || byString(a.config.gpuType, b.config.gpuType),
  );
  for (const [key, d] of ordered) {
    // an unknown GPU type keeps its name here: the renderers report it with its plan path
    const gpu = { id: findGpuType(d.config.gpuType)?.id ?? d.config.gpuType };
    let name = dnsLabel(d.whole || d.config.name === ALL_DISABLED ? `${gpu.id}-whole` : d.config.name);
    for (let i = 2; used.has(name); i++) name = dnsLabel(`${d.config.name}-${gpu.id}-${i}`);
    used.add(name);
    nameOfKey.set(key, name);
    const instanceTypes = [...d.nodes.entries()]
      .sort(([a], [b]) => byString(a, b))
      .map(([instanceType, nodes]) => ({ instanceType, nodes }));
    const nodes = d.config.name === ALL_DISABLED ? instanceTypes.reduce((s, x) => s + x.nodes, 0) : d.config.nodes;
    const config =
      d.config.name === ALL_DISABLED
        ? { ...d.config, instanceType: instanceTypes[0]?.instanceType ?? d.config.instanceType, nodes }
        : d.config;
    pools.push({
      name,
      gpuType: gpu.id,
      migConfig: d.config.name,
      whole: d.whole || d.config.name === ALL_DISABLED,
      config,
      instanceTypes,
      nodes,
    });
  }
  const poolOfGpu = new Map([...configOfGpu.entries()].map(([gpu, key]) => [gpu, { name: nameOfKey.get(key)!, key }]));
  return { nodePools: pools.sort((a, b) => byString(a.name, b.name)), poolOfGpu };
}

/**
 * The name of the cloud node group carrying a node pool's nodes of one instance type: the pool's name when the
 * pool is on one instance type, else `<pool>-<gpu type>-<instance type>` (the group's nodes keep the pool's label).
 */
export function nodeGroupName(pool: TopologyNodePool, instanceType: string): string {
  return pool.instanceTypes.length > 1 ? dnsLabel(`${pool.name}-${pool.gpuType}-${instanceType}`) : pool.name;
}

/** Slices of one kind while the plan's GPUs are walked. */
interface ServerDraft {
  nodePool: string;
  gpuType: string;
  profile: string;
  models: string[];
  replicas: number;
  rps: Map<string, number>;
  slices: string[];
}
interface CacheDraft {
  nodePool: string;
  gpuType: string;
  profile: string;
  replicas: number;
  slices: string[];
}

/** The plan's slices grouped: serving slices by (node pool, profile, model set), cache slices by (node pool, profile). */
function sliceGroups(fleet: Fleet, plan: Plan, poolOfGpu: ReadonlyMap<string, GpuPool>) {
  const teamOf = new Map(fleet.models.map((m) => [m.name, m.team]));
  const servers = new Map<string, ServerDraft>();
  const caches = new Map<string, CacheDraft>();
  const placements = new Map<string, TopologyPlacement[]>();
  // keys start with the node configuration's key: groups are named (numbered) in key order
  for (const g of [...plan.gpus].sort((a, b) => byString(a.id, b.id))) {
    const { name: nodePool, key: config } = poolOfGpu.get(g.id)!;
    for (const s of g.slices) {
      if (s.cache) {
        if (!plan.cold)
          throw new Error(`plan.gpus[${g.id}]: slice ${s.profile}@${s.start} is a cache slice, but the plan has no cold tier (plan.cold)`);
        const c = caches.get(`${config}#${s.profile}`) ?? {
          nodePool,
          gpuType: g.type,
          profile: s.profile,
          replicas: 0,
          slices: [] as string[],
        };
        c.replicas += 1;
        c.slices.push(`${g.id}@${s.start}`);
        caches.set(`${config}#${s.profile}`, c);
        continue;
      }
      if (s.models.length === 0) continue;
      const models = s.models.map((m) => m.name).sort(byString);
      const key = `${config}#${s.profile}#${models.join(',')}`;
      const group = servers.get(key) ?? {
        nodePool,
        gpuType: g.type,
        profile: s.profile,
        models,
        replicas: 0,
        rps: new Map(),
        slices: [] as string[],
      };
      group.replicas += 1;
      group.slices.push(`${g.id}@${s.start}`);
      for (const m of s.models) {
        if (!teamOf.has(m.name)) throw new Error(`plan.gpus[${g.id}]: model "${m.name}" is not in fleet "${fleet.name}"`);
        group.rps.set(m.name, (group.rps.get(m.name) ?? 0) + m.rps);
        placements.set(m.name, [...(placements.get(m.name) ?? []), { batch: m.batch, instances: m.instances, rps: m.rps }]);
      }
      servers.set(key, group);
    }
  }
  return { servers, caches, placements };
}

/**
 * The owner of each server group: a model's groups must share a namespace (one route per model path), so groups
 * linked by a common model form a component, owned by its team when all its models are that team's, else `shared`.
 */
function componentTeams(groups: readonly ServerDraft[], teamOf: (model: string) => string): string[][] {
  const parent = groups.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const firstWith = new Map<string, number>();
  groups.forEach((g, i) => {
    for (const m of g.models) {
      const j = firstWith.get(m);
      if (j === undefined) firstWith.set(m, i);
      else parent[find(i)] = find(j);
    }
  });
  const teams = new Map<number, Set<string>>();
  groups.forEach((g, i) => {
    const set = teams.get(find(i)) ?? new Set<string>();
    for (const m of g.models) set.add(teamOf(m));
    teams.set(find(i), set);
  });
  return groups.map((_, i) => [...teams.get(find(i))!].sort(byString));
}

/** `<owner>-<tag><suffix>` with the owner cut so the name fits `MAX_POOL_NAME_LENGTH`. */
function poolName(owner: string, rest: string): string {
  return `${dnsLabel(owner)
    .slice(0, MAX_POOL_NAME_LENGTH - rest.length)
    .replace(/-+$/, '')}${rest}`;
}

/**
 * The name of a server group that must not take its topology name: during a migration, a new group whose name a
 * running group of other content holds (groups are numbered by position). Giving a running Deployment other content
 * restarts it, so the new group is named from its content: `<name cut to 55>-<6 hex of sha256(content key)>`.
 */
export function contentSuffixedPoolName(name: string, contentKey: string): string {
  return `${name.slice(0, 55)}-${createHash('sha256').update(contentKey).digest('hex').slice(0, 6)}`;
}

/** Numbers names that repeat (`-1`, `-2`, … in order); a name that occurs once stays as it is. */
function numbered(bases: readonly string[]): string[] {
  const total = new Map<string, number>();
  for (const b of bases) total.set(b, (total.get(b) ?? 0) + 1);
  const seen = new Map<string, number>();
  return bases.map((b) => {
    const n = (seen.get(b) ?? 0) + 1;
    seen.set(b, n);
    return total.get(b)! > 1 ? `-${n}` : '';
  });
}

/** The server groups, owned and named `<owner>-<slice tag>[-<n>]`, numbered in key order. */
function serverGroups(drafts: ReadonlyMap<string, ServerDraft>, teamOf: (model: string) => string): TopologyServerGroup[] {
  const sorted = [...drafts.entries()].sort(([a], [b]) => byString(a, b)).map(([, g]) => g);
  const teams = componentTeams(sorted, teamOf);
  const owners = teams.map((t) => (t.length === 1 ? t[0] : SHARED_OWNER));
  const suffixes = numbered(sorted.map((g, i) => `${owners[i]}-${tagOf(g.profile)}`));
  return sorted.map((g, i) => ({
    name: poolName(owners[i], `-${tagOf(g.profile)}${suffixes[i]}`),
    owner: owners[i],
    teams: teams[i],
    nodePool: g.nodePool,
    gpuType: g.gpuType,
    profile: g.profile,
    models: g.models,
    replicas: g.replicas,
    slices: g.slices,
    demand: [...g.rps.entries()]
      .sort(([a], [b]) => byString(a, b))
      .map(([model, rps]) => ({ model, rps, rpsPerReplica: rps / g.replicas })),
  }));
}

/**
 * The measured profile entry of a cold model on the cache slices: the entry the planner chose and recorded
 * (`plan.cold.models[].batch`, `instances`), looked up in the model's profile table for the slice. A plan
 * document written before the planner recorded it gets the planner's own rule (`coldEntry` of cold-tier.ts), so a
 * saved plan renders as it did. Undefined for a model planned from its `throughputPerGpu` estimate (no measured row).
 */
function measuredColdEntry(
  fleet: Fleet,
  spec: ModelSpec,
  recorded: PlanColdModel,
  gpuType: string,
  profile: string,
): ProfileEntry | undefined {
  const slice = profile === WHOLE_PROFILE ? 7 : getMigProfile(gpuType, profile).computeSlices;
  const gpu = getGpuType(gpuType).id;
  const rows = spec.profiles.filter((p) => resolveGpuType(p.gpu).id === gpu && p.slice === slice);
  const chosen =
    recorded.batch !== undefined && recorded.instances !== undefined
      ? { batch: recorded.batch, instances: recorded.instances }
      : coldEntry(candidatesOn(fleet, spec, gpu, profile));
  if (!chosen) return undefined;
  const row = rows.find((p) => p.batch === chosen.batch && p.instances === chosen.instances);
  if (!row && recorded.batch !== undefined && spec.profiles.some((p) => resolveGpuType(p.gpu).id === gpu)) {
    throw new Error(
      `plan.cold.models[${spec.name}]: batch ${recorded.batch} x ${recorded.instances} instance(s) ` +
        `is no entry of the model's profiles on ${gpu} slice ${profile}`,
    );
  }
  return row;
}

/** The cold tier of the plan, when it has cold models. */
function coldTier(
  fleet: Fleet,
  plan: Plan,
  caches: ReadonlyMap<string, CacheDraft>,
  placed: ReadonlyMap<string, unknown>,
): TopologyColdTier | undefined {
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const recorded = new Map((plan.cold?.models ?? []).map((m) => [m.name, m]));
  const names = [...recorded.keys()].sort(byString);
  for (const m of names) {
    if (!specs.has(m)) throw new Error(`plan.cold.models: model "${m}" is not in fleet "${fleet.name}"`);
  }
  if (names.length === 0) return undefined;
  if (caches.size === 0)
    throw new Error(`plan.cold: ${names.length} cold model(s) (${names.join(', ')}) but no cache slice (cache: true) in plan.gpus`);
  for (const m of names) {
    if (placed.has(m))
      throw new Error(
        `plan.cold.models: model "${m}" is cold (served through the router) but also placed on a slice; a model is either cold or seated`,
      );
  }
  const teams = [...new Set(names.map((m) => specs.get(m)!.team))].sort(byString);
  const owner = teams.length === 1 ? teams[0] : SHARED_OWNER;
  const sorted = [...caches.entries()].sort(([a], [b]) => byString(a, b)).map(([, c]) => c);
  const suffixes = numbered(sorted.map((c) => tagOf(c.profile)));
  const cachePools = sorted.map((c, i) => ({ ...c, name: poolName(owner, `-cache-${tagOf(c.profile)}${suffixes[i]}`) }));
  const kind = sorted[0];
  const models = names.map((name) => {
    const spec = specs.get(name)!;
    const entry = measuredColdEntry(fleet, spec, recorded.get(name)!, kind.gpuType, kind.profile);
    return { name, team: spec.team, memoryGiB: spec.memoryGiB, ...(entry ? { entry } : {}) };
  });
  return { owner, teams, cachePools, models, processOverheadGiB: fleet.processOverheadGiB };
}

/**
 * Integer route weights of one model from the requests/s the plan sends each server group: proportional, adding up
 * to `ROUTE_WEIGHT_TOTAL` (largest remainders, ties by group name), at least 1 for every group that serves it.
 */
export function routeWeights(rpsByGroup: ReadonlyMap<string, number>): Map<string, number> {
  const groups = [...rpsByGroup.keys()].sort(byString);
  const total = groups.reduce((s, g) => s + rpsByGroup.get(g)!, 0);
  if (groups.length === 0) return new Map();
  if (!(total > 0)) return new Map(groups.map((g) => [g, 1]));
  const exact = groups.map((g) => (rpsByGroup.get(g)! / total) * ROUTE_WEIGHT_TOTAL);
  const weights = exact.map(Math.floor);
  let left = ROUTE_WEIGHT_TOTAL - weights.reduce((s, w) => s + w, 0);
  const byRemainder = groups.map((_, i) => i).sort((a, b) => exact[b] - weights[b] - (exact[a] - weights[a]) || a - b);
  for (const i of byRemainder) {
    if (left <= 0) break;
    weights[i] += 1;
    left -= 1;
  }
  return new Map(groups.map((g, i) => [g, Math.max(1, weights[i])]));
}

/** model → group → weight, for every model with demand on some server group. */
function weightsOf(servers: readonly TopologyServerGroup[]): Map<string, Map<string, number>> {
  const rps = new Map<string, Map<string, number>>();
  for (const s of servers) {
    for (const d of s.demand) rps.set(d.model, (rps.get(d.model) ?? new Map<string, number>()).set(s.name, d.rps));
  }
  return new Map([...rps.keys()].sort(byString).map((m) => [m, routeWeights(rps.get(m)!)]));
}

/**
 * The deployment topology of `plan` (a plan of `fleet`): node pools, server groups, the cold tier and route
 * weights. Throws, naming the plan path, when the plan does not describe a deployable platform of the fleet.
 */
export function topologyOf(fleet: Fleet, plan: Plan): Topology {
  if (plan.fleet !== fleet.name) {
    throw new Error(`plan.fleet: the plan is for fleet "${plan.fleet}", got fleet "${fleet.name}"`);
  }
  const { nodePools, poolOfGpu } = keyedNodePools(plan);
  const groups = sliceGroups(fleet, plan, poolOfGpu);
  const teamOf = new Map(fleet.models.map((m) => [m.name, m.team]));
  const servers = serverGroups(groups.servers, (m) => teamOf.get(m)!);
  const cold = coldTier(fleet, plan, groups.caches, groups.placements);
  if (
    fleet.models.some((m) => m.team === SHARED_OWNER) &&
    (servers.some((g) => g.owner === SHARED_OWNER) || cold?.owner === SHARED_OWNER)
  ) {
    throw new Error('fleet: team "shared" is reserved for pools that serve several teams\' models; rename the team');
  }
  const coldNames = new Set((cold?.models ?? []).map((m) => m.name));
  const unplaced = fleet.models
    .filter((m) => !groups.placements.has(m.name) && !coldNames.has(m.name))
    .map((m) => m.name)
    .sort(byString);
  if (unplaced.length > 0) throw new Error(`plan: model(s) ${unplaced.join(', ')} of fleet "${fleet.name}" are not placed on any slice`);
  return { nodePools, servers, placements: groups.placements, routeWeights: weightsOf(servers), ...(cold ? { cold } : {}) };
}
