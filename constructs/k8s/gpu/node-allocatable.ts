/**
 * What a GPU node leaves for pods, as Karpenter computes it before it launches the node (and as the kubelet
 * then enforces it), so that gpufleet sizes pod requests that fit the intended pods per node.
 *
 * Karpenter (aws/karpenter-provider-aws v1.14.1 `pkg/providers/instancetype/types.go`):
 * - allocatable = capacity − kube-reserved − system-reserved − eviction threshold;
 * - memory capacity = the EC2 memory minus the VM overhead (`--vm-memory-overhead-percent`, default 7.5%, rounded
 *   up to MiB: `memory()`);
 * - kube-reserved CPU = 6% of the first core + 1% of the second + 0.5% of the third and fourth + 0.25% of every
 *   further core (`kubeReservedResources`, the EKS AMI and Bottlerocket formula);
 * - kube-reserved memory = 11 MiB × max pods + 255 MiB, where max pods is the ENI-limited pod count on AL2023
 *   (`UsesENILimitedMemoryOverhead`). gpufleet's EC2NodeClass pins it for 110 pods (`GPU_NODE_KUBE_RESERVED_MEMORY`,
 *   the Kubernetes default max pods that cluster-autoscaler also assumes), so the figure does not depend on ENI
 *   tables gpufleet does not carry; a user-given `kubelet.kubeReserved` overrides Karpenter's computed value
 *   (`lo.Assign` in `kubeReservedResources`);
 * - eviction threshold memory = 100 MiB (`evictionThreshold`).
 *
 * On top of that every GPU node runs DaemonSets (VPC CNI, kube-proxy, the GPU operator's device plugin, GPU
 * feature discovery, DCGM exporter and MIG manager, node exporter): gpufleet keeps `DAEMONSET_ALLOWANCE` free for
 * them.
 */
import type { InstanceType } from '../../catalog';

/** Karpenter's default VM memory overhead (`VM_MEMORY_OVERHEAD_PERCENT`, karpenter-provider-aws v1.14.1 options.go). */
export const VM_MEMORY_OVERHEAD_PERCENT = 0.075;
/** Max pods the kube-reserved memory of gpufleet's GPU nodes is computed for. */
export const GPU_NODE_MAX_PODS_RESERVED = 110;
/** kube-reserved memory gpufleet's EC2NodeClass pins: 11 MiB × 110 pods + 255 MiB. */
export const GPU_NODE_KUBE_RESERVED_MEMORY_MIB = 11 * GPU_NODE_MAX_PODS_RESERVED + 255;
/** The `kubelet.kubeReserved` of gpufleet's EC2NodeClass (memory only: CPU stays Karpenter's formula). */
export const GPU_NODE_KUBE_RESERVED = { memory: `${GPU_NODE_KUBE_RESERVED_MEMORY_MIB}Mi` } as const;
/** The kubelet's hard eviction threshold on memory (Karpenter's and the kubelet's default). */
export const EVICTION_HARD_MEMORY_MIB = 100;
/** CPU and memory gpufleet keeps free on every GPU node for DaemonSets. */
export const DAEMONSET_ALLOWANCE = { cpuMillis: 500, memoryMiB: 1024 } as const;

/** CPU in millicores and memory in MiB. */
export interface CpuMemory {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/** Karpenter's kube-reserved CPU (millicores) for a node of `vcpu` cores. */
export function kubeReservedCpuMillis(vcpu: number): number {
  const milli = vcpu * 1000;
  let reserved = 0;
  for (const [start, end, pct] of [
    [0, 1000, 0.06],
    [1000, 2000, 0.01],
    [2000, 4000, 0.005],
    [4000, Infinity, 0.0025],
  ]) {
    if (milli >= start) reserved += Math.floor((Math.min(milli, end) - start) * pct);
  }
  return reserved;
}

/** Options of `nodeAllocatable`. */
export interface NodeAllocatableOptions {
  /** kube-reserved memory, MiB. @default GPU_NODE_KUBE_RESERVED_MEMORY_MIB */
  readonly kubeReservedMemoryMiB?: number;
  /** kube-reserved CPU, millicores. @default - Karpenter's formula (`kubeReservedCpuMillis`) */
  readonly kubeReservedCpuMillis?: number;
  /** system-reserved CPU and memory. @default - none (Karpenter's default) */
  readonly systemReserved?: Partial<CpuMemory>;
  /** Hard eviction threshold on memory, MiB. @default EVICTION_HARD_MEMORY_MIB */
  readonly evictionHardMemoryMiB?: number;
}

/** CPU and memory Karpenter counts as allocatable on a node of this instance type (before DaemonSets). */
export function nodeAllocatable(instance: InstanceType, options: NodeAllocatableOptions = {}): CpuMemory {
  const memMiB = Math.round(instance.memoryGiB * 1024);
  const capacityMiB = memMiB - Math.ceil(memMiB * VM_MEMORY_OVERHEAD_PERCENT);
  const cpu =
    instance.vcpu * 1000 -
    (options.kubeReservedCpuMillis ?? kubeReservedCpuMillis(instance.vcpu)) -
    (options.systemReserved?.cpuMillis ?? 0);
  const memory =
    capacityMiB -
    (options.kubeReservedMemoryMiB ?? GPU_NODE_KUBE_RESERVED_MEMORY_MIB) -
    (options.systemReserved?.memoryMiB ?? 0) -
    (options.evictionHardMemoryMiB ?? EVICTION_HARD_MEMORY_MIB);
  return { cpuMillis: cpu, memoryMiB: memory };
}

/** What GPU pods may request on one node: allocatable minus `DAEMONSET_ALLOWANCE`. */
export function podAllocatable(instance: InstanceType, options: NodeAllocatableOptions = {}): CpuMemory {
  const a = nodeAllocatable(instance, options);
  return { cpuMillis: a.cpuMillis - DAEMONSET_ALLOWANCE.cpuMillis, memoryMiB: a.memoryMiB - DAEMONSET_ALLOWANCE.memoryMiB };
}

/**
 * The CPU and memory each of `podsPerNode` GPU pods may request so that all of them fit one node (rounded
 * down to whole millicores and MiB).
 */
export function podShare(instance: InstanceType, podsPerNode: number, options: NodeAllocatableOptions = {}): CpuMemory {
  const a = podAllocatable(instance, options);
  return { cpuMillis: Math.floor(a.cpuMillis / podsPerNode), memoryMiB: Math.floor(a.memoryMiB / podsPerNode) };
}
