/**
 * Capacity behind a platform's autoscalers: how many nodes each GPU node pool may grow to, so that every Triton pool
 * fits at its maximum replicas, or — where the node pool's size is given — how far each pool's maximum must come
 * down to fit; and the CPU and memory one Triton pod may request so that a node holds one pod per GPU resource it
 * advertises (every MIG slice, every time-sliced replica). Pure functions; `ServingPlatform` applies them.
 */
import type { InstanceType } from '../../catalog';
import { CpuMemory, podShare } from '../gpu/node-allocatable';
import { parseQuantity } from '../common/quantity';
import type { TritonPoolResources } from '../serving/triton-pool';
import { compareText } from '../../catalog/text-order';

/** A node pool as the sizing sees it. */
export interface CapacityNodePool {
  readonly name: string;
  /** The instance types it may launch (at least one). */
  readonly instanceTypes: readonly InstanceType[];
  /** GPU resources the device plugin advertises on one node of `gpus` GPUs. */
  readonly resourcesPerNode: (gpus: number) => Readonly<Record<string, number>>;
  /** Most nodes, when the declaration fixes it. @default - sized to the pools */
  readonly maxNodes?: number;
  /** Fewest `maxNodes` when it is sized (the plan's nodes, the platform's default). */
  readonly atLeast: number;
}

/** One Triton pool's claim on a node pool. */
export interface CapacityDemand {
  readonly pool: string;
  readonly nodePool: string;
  /** The GPU resource each pod requests one of. */
  readonly resource: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Fixed replicas: the maximum can not be lowered. */
  readonly fixed: boolean;
}

/** The outcome: node pool sizes, pool maxima, and a note per lowered maximum. */
export interface CapacitySizing {
  readonly maxNodes: ReadonlyMap<string, number>;
  readonly maxReplicas: ReadonlyMap<string, number>;
  /** `pool "x": maxReplicas 6 → 4 (node pool "y", maxNodes 1, holds 4 nvidia.com/mig-1g.10gb)`, sorted. */
  readonly notes: readonly string[];
  /** The note of each pool whose maximum was lowered, by pool name. */
  readonly lowered: ReadonlyMap<string, string>;
}

/**
 * Units of each GPU resource one node of the pool surely holds: the least over its instance types (a pool that may
 * launch a 1-GPU or an 8-GPU instance counts on the 1-GPU one).
 */
export function unitsPerNode(np: CapacityNodePool): Record<string, number> {
  const out: Record<string, number> = {};
  np.instanceTypes.forEach((it, i) => {
    const units = np.resourcesPerNode(it.gpuCount);
    const keys = new Set([...Object.keys(out), ...Object.keys(units)]);
    for (const k of keys) out[k] = i === 0 ? (units[k] ?? 0) : Math.min(out[k] ?? 0, units[k] ?? 0);
  });
  return out;
}

/** GPU pods one node of this instance type holds: every GPU resource unit it advertises. */
export function podsPerNode(np: CapacityNodePool, it: InstanceType): number {
  return Object.values(np.resourcesPerNode(it.gpuCount)).reduce((s, n) => s + n, 0);
}

/** The CPU and memory one GPU pod may request so that a full node of any of the pool's instance types fits. */
export function nodePoolPodShare(np: CapacityNodePool): CpuMemory {
  const shares = np.instanceTypes.map((it) => podShare(it, Math.max(1, podsPerNode(np, it))));
  return { cpuMillis: Math.min(...shares.map((s) => s.cpuMillis)), memoryMiB: Math.min(...shares.map((s) => s.memoryMiB)) };
}

/** Nodes needed for these demands: for each resource, its total over the units one node holds. */
export function nodesNeeded(units: Readonly<Record<string, number>>, totals: ReadonlyMap<string, number>): number {
  let nodes = 0;
  for (const [r, n] of totals) {
    if (n === 0) continue;
    const u = units[r] ?? 0;
    if (u === 0) return Infinity;
    nodes = Math.max(nodes, Math.ceil(n / u));
  }
  return nodes;
}

function totalsOf(demands: readonly CapacityDemand[], pick: (d: CapacityDemand) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of demands) out.set(d.resource, (out.get(d.resource) ?? 0) + pick(d));
  return out;
}

/**
 * Sizes every node pool to hold its pools at their maximum replicas; where `maxNodes` is given and too small,
 * lowers maxima (never below a pool's minimum, never for fixed replicas): each pool first gets its minimum, then
 * the room left goes one replica at a time to the pools in name order. Throws when even the minima do not fit.
 */
export function sizeCapacity(nodePools: readonly CapacityNodePool[], demands: readonly CapacityDemand[]): CapacitySizing {
  const maxNodes = new Map<string, number>();
  const maxReplicas = new Map<string, number>();
  const notes: string[] = [];
  const lowered = new Map<string, string>();
  for (const np of [...nodePools].sort((a, b) => compareText(a.name, b.name))) {
    const mine = demands.filter((d) => d.nodePool === np.name).sort((a, b) => compareText(a.pool, b.pool));
    const units = unitsPerNode(np);
    for (const d of mine) {
      if (!(units[d.resource] > 0)) {
        throw new Error(
          `pool "${d.pool}" requests ${d.resource}, but a node of node pool "${np.name}" advertises none (${JSON.stringify(units)})`,
        );
      }
    }
    const atMax = nodesNeeded(
      units,
      totalsOf(mine, (d) => d.maxReplicas),
    );
    if (np.maxNodes === undefined || np.maxNodes >= atMax) {
      maxNodes.set(np.name, np.maxNodes ?? Math.max(np.atLeast, atMax));
      for (const d of mine) maxReplicas.set(d.pool, d.maxReplicas);
      continue;
    }
    maxNodes.set(np.name, np.maxNodes);
    const room = new Map(Object.entries(units).map(([r, u]) => [r, u * np.maxNodes!]));
    const given = new Map<string, number>();
    for (const d of mine) {
      const n = d.fixed ? d.maxReplicas : d.minReplicas;
      given.set(d.pool, n);
      room.set(d.resource, room.get(d.resource)! - n);
    }
    const short = [...room].filter(([, left]) => left < 0);
    if (short.length > 0) {
      const [r] = short[0];
      const need = mine
        .filter((d) => d.resource === r)
        .map((d) => `${d.pool}: ${given.get(d.pool)}`)
        .join(', ');
      throw new Error(
        `nodePools["${np.name}"].maxNodes: ${np.maxNodes} node(s) hold ${units[r] * np.maxNodes} ${r}, ` +
          `but its pools need more at their minimum replicas (${need}); ` +
          `raise maxNodes to at least ${nodesNeeded(
            units,
            totalsOf(mine, (d) => given.get(d.pool)!),
          )}`,
      );
    }
    let grew = true;
    while (grew) {
      grew = false;
      for (const d of mine) {
        if (d.fixed || given.get(d.pool)! >= d.maxReplicas || room.get(d.resource)! <= 0) continue;
        given.set(d.pool, given.get(d.pool)! + 1);
        room.set(d.resource, room.get(d.resource)! - 1);
        grew = true;
      }
    }
    for (const d of mine) {
      maxReplicas.set(d.pool, given.get(d.pool)!);
      if (given.get(d.pool)! < d.maxReplicas) {
        const note =
          `pool "${d.pool}": maxReplicas ${d.maxReplicas} → ${given.get(d.pool)} ` +
          `(node pool "${np.name}", maxNodes ${np.maxNodes}, holds ${units[d.resource] * np.maxNodes} ${d.resource})`;
        notes.push(note);
        lowered.set(d.pool, note);
      }
    }
  }
  return { maxNodes, maxReplicas, notes: notes.sort(), lowered };
}

/** A Kubernetes CPU quantity from millicores (`2`, `850m`). */
export function cpuQuantity(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** A Kubernetes memory quantity from MiB (`8Gi`, `3141Mi`). */
export function memoryQuantity(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}

/**
 * The CPU and memory of a Triton pool's pods: the given ones (`poolDefaults.resources`), else TritonPool's defaults
 * (2 CPU, 8Gi) lowered to the node pool's share, so a node holds one pod per GPU resource it advertises. Throws when
 * given requests exceed the share, or when the share is too small to run Triton.
 */
export function podResources(
  pool: string,
  nodePool: string,
  given: TritonPoolResources | undefined,
  share: CpuMemory,
): TritonPoolResources {
  const where = `pools["${pool}"].resources`;
  const shareText = `${cpuQuantity(share.cpuMillis)} CPU and ${memoryQuantity(share.memoryMiB)} per pod`;
  if (share.cpuMillis < MIN_POD_SHARE.cpuMillis || share.memoryMiB < MIN_POD_SHARE.memoryMiB) {
    throw new Error(
      `${where}: a full node of node pool "${nodePool}" leaves ${shareText} (after kube-reserved, eviction threshold and DaemonSets); ` +
        `Triton needs at least ${cpuQuantity(MIN_POD_SHARE.cpuMillis)} CPU and ${memoryQuantity(MIN_POD_SHARE.memoryMiB)}: ` +
        'use a larger instance type or fewer slices per node',
    );
  }
  const cpu = given?.cpu ?? cpuQuantity(Math.min(2000, share.cpuMillis));
  const memory = given?.memory ?? memoryQuantity(Math.min(8192, share.memoryMiB));
  const cpuMillis = Math.round((parseQuantity(cpu) ?? 0) * 1000);
  const memoryMiB = (parseQuantity(memory) ?? 0) / 2 ** 20;
  if (cpuMillis > share.cpuMillis || memoryMiB > share.memoryMiB) {
    throw new Error(
      `${where}: requests ${cpu} CPU and ${memory}, but a full node of node pool "${nodePool}" leaves ${shareText}; ` +
        'pods beyond the first would stay Pending',
    );
  }
  return { ...(given ?? {}), cpu, memory };
}

/** The least CPU and memory a Triton pod gets (1Gi of it is /dev/shm). */
const MIN_POD_SHARE: CpuMemory = { cpuMillis: 250, memoryMiB: 2048 };
