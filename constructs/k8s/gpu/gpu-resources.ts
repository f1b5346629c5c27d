/**
 * Typed GPU resource requests. cdk8s-plus-28 containers only know cpu and memory, so gpufleet adds the
 * extended resources the NVIDIA device plugin advertises (`nvidia.com/gpu`, `nvidia.com/mig-<profile>`)
 * and the toleration of the GPU taint.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { GpuType, getMigProfile, resolveGpuType } from '../../catalog';

/**
 * The MIG strategy of the device plugin: `mixed` advertises each MIG profile as its own resource
 * (`nvidia.com/mig-1g.10gb`), `single` advertises every MIG device as `nvidia.com/gpu` (all slices of a node alike).
 */
export type MigStrategy = 'single' | 'mixed';

/** The resource name of a whole GPU (and of every MIG device under the `single` strategy). */
export const WHOLE_GPU_RESOURCE = 'nvidia.com/gpu';

/** The taint gpufleet puts on GPU nodes: `nvidia.com/gpu=true:NoSchedule`. */
export const GPU_TAINT = { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' } as const;

/** The device plugin's resource name of a MIG profile under the mixed strategy: `+` becomes `.` (`1g.10gb+me` → `mig-1g.10gb.me`). */
export function migResourceName(profile: string): string {
  return `nvidia.com/mig-${profile.replace(/\+/g, '.')}`;
}

function checkStrategy(strategy: unknown): asserts strategy is MigStrategy {
  if (strategy !== 'mixed' && strategy !== 'single') {
    throw new Error(`strategy: expected "mixed" or "single", got ${JSON.stringify(strategy)}`);
  }
}

/**
 * The resource a pod requests for one slice of `gpuType`: `nvidia.com/mig-<profile>` under the mixed strategy,
 * `nvidia.com/gpu` for a whole GPU or under the single strategy. Throws for a profile the GPU does not have.
 *
 * @param gpuType catalog GPU type or its id, e.g. `A100-80GB`
 * @param profile catalog MIG profile name (`1g.10gb`, `1g.10gb+me`) or `whole`
 * @param strategy the GPU operator's `mig.strategy`
 */
export function gpuResourceName(gpuType: GpuType | string, profile: string, strategy: MigStrategy = 'mixed'): string {
  checkStrategy(strategy);
  const gpu = resolveGpuType(gpuType);
  if (profile === 'whole') return WHOLE_GPU_RESOURCE;
  getMigProfile(gpu, profile); // throws naming the GPU, the profile and the valid names
  return strategy === 'single' ? WHOLE_GPU_RESOURCE : migResourceName(profile);
}

/**
 * Resource requirements of a GPU container: `{ limits: { 'nvidia.com/mig-1g.10gb': 1 } }` (limits only: extended
 * resources are not overcommitted, requests default to limits).
 */
export interface GpuResourceLimits {
  readonly limits: { readonly [name: string]: k8s.Quantity };
}

/**
 * `{ limits: { <resource>: count } }` for a container spec of the L1 classes (`k8s.KubeDeployment`, ...).
 * Merge it with the cpu/memory limits of the container when it has some.
 */
export function gpuResources(
  gpuType: GpuType | string,
  profile: string,
  count: number = 1,
  strategy: MigStrategy = 'mixed',
): GpuResourceLimits {
  checkCount(count);
  return { limits: { [gpuResourceName(gpuType, profile, strategy)]: k8s.Quantity.fromNumber(count) } };
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new Error(`count: expected an integer >= 1, got ${count}`);
}

/** The toleration of the GPU taint that every GPU pod needs. */
export function gpuToleration(): k8s.Toleration {
  return { key: GPU_TAINT.key, operator: 'Equal', value: GPU_TAINT.value, effect: GPU_TAINT.effect };
}

/** Options of `addGpuLimits`. */
export interface AddGpuLimitsOptions {
  /** Catalog GPU type or its id. */
  readonly gpuType: GpuType | string;
  /** MIG profile name or `whole`. */
  readonly profile: string;
  /**
   * Number of slices (or GPUs) the container gets.
   * @default 1
   */
  readonly count?: number;
  /**
   * The GPU operator's MIG strategy.
   * @default 'mixed'
   */
  readonly strategy?: MigStrategy;
  /**
   * Index of the container in the pod template.
   * @default 0
   */
  readonly containerIndex?: number;
}

/**
 * Adds the GPU limit to a container of a workload through a JSON patch, for cdk8s-plus-28 workloads that cannot
 * express extended resources: `addGpuLimits(deployment, { gpuType: 'H100-80GB', profile: '1g.10gb' })`.
 * Works on any construct whose default child is a workload `ApiObject` (cdk8s-plus Deployment, StatefulSet, Job)
 * or on an `ApiObject` itself. The container must already render `resources.limits` (cdk8s-plus containers do,
 * with their default cpu/memory limits). Returns the resource name that was set.
 */
export function addGpuLimits(workload: Construct, options: AddGpuLimitsOptions): string {
  const count = options.count ?? 1;
  checkCount(count);
  const containerIndex = options.containerIndex ?? 0;
  if (!Number.isInteger(containerIndex) || containerIndex < 0) {
    throw new Error(`containerIndex: expected an integer >= 0, got ${containerIndex}`);
  }
  const name = gpuResourceName(options.gpuType, options.profile, options.strategy ?? 'mixed');
  const pointer = `/spec/template/spec/containers/${containerIndex}/resources/limits/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  const obj = ApiObject.of(workload);
  // the typed L1 classes re-serialize limits after the patch and keep only Quantity values (`.value`)
  // (compared by constructor: `instanceof` on cdk8s ApiObjects matches any ApiObject)
  const typedClasses: unknown[] = [k8s.KubeDeployment, k8s.KubeStatefulSet, k8s.KubeDaemonSet, k8s.KubeJob, k8s.KubeReplicaSet];
  const typed = typedClasses.includes(obj.constructor);
  obj.addJsonPatch(JsonPatch.add(pointer, typed ? k8s.Quantity.fromNumber(count) : count));
  return name;
}
