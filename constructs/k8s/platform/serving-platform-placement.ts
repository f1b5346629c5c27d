/**
 * Where a platform's Triton pools run: the node pool each pool's slice lives on, the GPU resources each node pool
 * advertises, and what each pool claims of its node pool — the inputs of the capacity sizing
 * (serving-platform-capacity.ts). Pure functions; `ServingPlatform` applies them.
 */
import { gpuNodePoolInstanceTypes } from '../gpu/gpu-node-pool';
import { WHOLE_GPU_RESOURCE, gpuResourceName, MigStrategy } from '../gpu/gpu-resources';
import { byString } from '../common/order';
import type { PoolScaling, TeamPool } from '../teams/team-contract';
import type { CapacityDemand, CapacityNodePool } from './serving-platform-capacity';
import type { PlatformNodePool } from './serving-platform-plan';

/** `GpuNodePool`'s default `maxNodes`. */
const GPU_NODE_POOL_DEFAULT_MAX_NODES = 2;

/** The GPU resources one GPU of the node pool advertises, with how many units. */
export function nodePoolResources(np: PlatformNodePool, strategy: MigStrategy): Record<string, number> {
  if (np.layout) return np.layout.resourceCounts({ strategy });
  return { [WHOLE_GPU_RESOURCE]: 1 };
}

/** Replicas a pool starts with: the given ones, else 1 when fixed, else its autoscaler's minimum (at least 1). */
export function initialReplicas(p: TeamPool, scaling: PoolScaling): number {
  return p.replicas ?? (scaling.kind === 'fixed' ? 1 : Math.max(scaling.minReplicas ?? 1, 1));
}

/** The node pools as the capacity sizing sees them: instance types, resources per node, given or least size. */
export function capacityNodePools(
  specs: readonly PlatformNodePool[],
  strategy: MigStrategy,
  defaults: PoolDefaultsMaxNodes,
): CapacityNodePool[] {
  return specs.map((np) => ({
    name: np.name,
    instanceTypes: gpuNodePoolInstanceTypes(np.name, np.gpuType, np.instanceTypes ?? (np.instanceType ? [np.instanceType] : undefined)),
    resourcesPerNode: (gpus: number) =>
      np.layout
        ? { [WHOLE_GPU_RESOURCE]: 0, ...np.layout.resourceCounts({ gpusPerNode: np.layout.allDevices ? gpus : undefined, strategy }) }
        : { [WHOLE_GPU_RESOURCE]: gpus * (np.timeSlicing ?? 1) },
    // a node pool's own maxNodes is its size; the defaults' never undercuts the plan's nodes
    maxNodes: np.maxNodes ?? (defaults?.maxNodes === undefined ? undefined : Math.max(defaults.maxNodes, np.plannedNodes ?? 0)),
    atLeast: Math.max(np.plannedNodes ?? 0, GPU_NODE_POOL_DEFAULT_MAX_NODES),
  }));
}

/** The part of the node pool defaults the sizing reads. */
type PoolDefaultsMaxNodes = { readonly maxNodes?: number } | undefined;

/**
 * What each pool claims of its node pool: one GPU resource unit per replica, between its minimum and maximum.
 * Pools whose node pool can not be resolved are left out here (the team loop reports them in declaration order).
 */
export function capacityDemands(
  pools: readonly TeamPool[],
  specs: readonly PlatformNodePool[],
  resources: ReadonlyMap<string, string[]>,
  strategy: MigStrategy,
  defaultScaling: PoolScaling | undefined,
): CapacityDemand[] {
  const out: CapacityDemand[] = [];
  for (const p of pools) {
    let np: PlatformNodePool;
    let resource: string;
    try {
      np = nodePoolFor(p, specs, resources, strategy, `pools["${p.name}"]`);
      resource = gpuResourceName(np.gpuType, p.slice, strategy);
    } catch {
      continue;
    }
    const scaling = p.scaling ?? defaultScaling ?? { kind: 'fixed' };
    const replicas = initialReplicas(p, scaling);
    const fixed = scaling.kind === 'fixed';
    const min = fixed ? replicas : (scaling.minReplicas ?? 1);
    const max = fixed ? replicas : scaling.maxReplicas;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) continue; // PoolAutoscaling reports it
    out.push({ pool: p.name, nodePool: np.name, resource, minReplicas: min, maxReplicas: max, fixed });
  }
  return out;
}

/** The node pool a pool runs on: the named one, or the only one whose layout provides its slice. */
export function nodePoolFor(
  p: TeamPool,
  specs: readonly PlatformNodePool[],
  resources: ReadonlyMap<string, string[]>,
  strategy: MigStrategy,
  where: string,
): PlatformNodePool {
  const layouts = specs.map((s) => `${s.name}: ${describeLayout(s)}`).join('; ') || 'none';
  const resourceOn = (s: PlatformNodePool): string | undefined => {
    try {
      return gpuResourceName(s.gpuType, p.slice, strategy);
    } catch {
      return undefined;
    }
  };
  // A node pool fits when its nodes advertise the resource and carry the slice itself: under the
  // single strategy a 1g.10gb slice and a whole GPU are both `nvidia.com/gpu`, but not interchangeable.
  const fits = (s: PlatformNodePool): boolean => {
    const r = resourceOn(s);
    return r !== undefined && resources.get(s.name)!.includes(r) && slicesOf(s).includes(p.slice);
  };
  if (p.nodePool !== undefined) {
    const s = specs.find((n) => n.name === p.nodePool);
    if (!s)
      throw new Error(
        `${where}.nodePool: pool "${p.name}" names node pool "${p.nodePool}", ` +
          `which is not declared (node pools: ${specs.map((n) => n.name).join(', ') || 'none'})`,
      );
    const r = resourceOn(s);
    if (!fits(s)) {
      throw new Error(
        `pool "${p.name}" requests ${r ?? `slice ${p.slice}`}, but node pool "${s.name}"'s layout does not provide it ` +
          `(${s.name}: ${describeLayout(s)})`,
      );
    }
    return s;
  }
  const candidates = specs.filter(fits);
  if (candidates.length === 0) {
    const r =
      specs.map(resourceOn).find((x) => x !== undefined) ?? (p.slice === 'whole' ? WHOLE_GPU_RESOURCE : `nvidia.com/mig-${p.slice}`);
    throw new Error(`pool "${p.name}" requests ${r}, but no node pool's layout provides it (layouts: ${layouts})`);
  }
  if (candidates.length > 1) {
    throw new Error(
      `${where}.nodePool: pool "${p.name}" (slice ${p.slice}) fits node pools ${candidates.map((c) => c.name).join(', ')}; ` +
        'name one with nodePool',
    );
  }
  return candidates[0];
}

/** The slices a node pool's GPUs offer: MIG profile names, and `whole` for GPUs without MIG. */
function slicesOf(np: PlatformNodePool): string[] {
  if (!np.layout) return ['whole'];
  return [...new Set(np.layout.profileCounts().flatMap((c) => (c ? Object.keys(c) : ['whole'])))];
}

function describeLayout(np: PlatformNodePool): string {
  if (!np.layout) return np.timeSlicing ? `whole GPUs time-sliced ×${np.timeSlicing}` : 'whole GPUs';
  const counts = np.layout.profileCounts();
  const profiles: string[] = [];
  for (const c of counts) {
    for (const p of c ? Object.keys(c) : ['whole']) if (!profiles.includes(p)) profiles.push(p);
  }
  // largest slices first, as operators read layouts
  return profiles.sort((a, b) => (parseInt(b, 10) || 8) - (parseInt(a, 10) || 8) || byString(a, b)).join(', ');
}
