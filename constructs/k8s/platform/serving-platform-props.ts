/** What a `ServingPlatform` is declared with (its props), apart from the construct so the builder need not import it. */
import type { Fleet } from '../../fleet/types';
import type { Plan } from '../../planner/types';
import type { GpuNodePoolProps } from '../gpu/gpu-node-pool';
import type { GpuOperatorProps } from '../gpu/gpu-operator';
import type { ModelRepositoryStorage } from '../serving/model-repository';
import type { TritonPoolProps } from '../serving/triton-pool';
import type { PoolScaling, Team, TeamAddOn } from '../teams/team-contract';
import type { PlanRenderOptions, PlatformNodePool } from './serving-platform-plan';
import type { PlatformRoutingOptions } from './serving-platform-serving';
import type { PlatformPrerequisites } from './platform-prerequisites';
import type { PlatformRouterOptions } from './serving-platform-router';

/** The EKS cluster the node pools join. */
export interface PlatformCluster {
  /** Cluster name (Karpenter discovery tag). */
  readonly name: string;
  /** IAM role name of the GPU nodes. */
  readonly nodeRole: string;
}

/** A plan to render, with the fleet it was made from. */
export interface PlatformPlan extends PlanRenderOptions {
  readonly fleet: Fleet;
  /** The plan of `fleet`. @default - `plan(fleet)`: the fleet is planned here */
  readonly plan?: Plan;
  /** The model router of the plan's cold tier (fleet `coldBelowRps`). @default - ModelRouter defaults */
  readonly router?: PlatformRouterOptions;
}

/** Triton pool settings every pool of the platform shares. */
export type PoolDefaults = Partial<
  Pick<
    TritonPoolProps,
    | 'image'
    | 'resources'
    | 'modelLoadTimeout'
    | 'shmSize'
    | 'scratchSize'
    | 'disruption'
    | 'serviceMonitorLabels'
    | 'priorityClassName'
    | 'extraArgs'
  >
>;

export interface ServingPlatformProps {
  /** The cluster the node pools join. */
  readonly cluster: PlatformCluster;
  /** Where the model repository lives: `ModelRepository.s3(...)` or `ModelRepository.pvc(...)`. */
  readonly repository: ModelRepositoryStorage;
  /** GPU operator settings. @default {} - the operator with gpufleet's defaults (mixed strategy, AL2023 NVIDIA nodes) */
  readonly gpuOperator?: GpuOperatorProps;
  /** GPU node pools, each one node configuration. With `plan`, appended to the plan's. @default - none */
  readonly nodePools?: readonly PlatformNodePool[];
  /** Settings of every node pool besides name, GPU and layout. @default - GpuNodePool defaults */
  readonly nodePoolDefaults?: Partial<
    Omit<
      GpuNodePoolProps,
      'name' | 'gpuType' | 'clusterName' | 'nodeRole' | 'migLayout' | 'instanceTypes' | 'devicePluginConfig' | 'migStrategy'
    >
  >;
  /** Teams. With `plan`, teams are the fleet's and these only add settings (matched by name). @default - none */
  readonly teams?: readonly Team[];
  /** Add-ons, deployed in declared order after the built-in parts. @default - none */
  readonly addOns?: readonly TeamAddOn[];
  /** A plan to render instead of hand-written pools. @default - none */
  readonly plan?: PlatformPlan;
  /** Scaling of pools that set none. @default { kind: 'fixed' } */
  readonly defaultScaling?: PoolScaling;
  /** Triton settings of every pool. @default - TritonPool defaults */
  readonly poolDefaults?: PoolDefaults;
  /** Routing. @default - see `PlatformRoutingOptions` */
  readonly routes?: PlatformRoutingOptions;
  /** Namespace of pools that serve several teams' models (planned platforms). @default 'serving-shared' */
  readonly sharedNamespace?: string;
  /** Namespace of the gateway that routes to the pools. @default 'gateway-system' */
  readonly gatewayNamespace?: string;
  /** Namespace of Prometheus. @default 'monitoring' */
  readonly monitoringNamespace?: string;
  /** Directory under the synth output for the `config.pbtxt` files. @default 'model-repository' */
  readonly configDirectory?: string;
  /**
   * What the cluster provides that the platform does not install (README "Prerequisites"); rendered into the
   * ConfigMap `gpufleet-prerequisites` so `gpufleet check` knows it.
   * @default - Karpenter with NodeOverlay, Prometheus operator and prometheus-adapter in `monitoringNamespace`, KEDA,
   * a Gateway API implementation, Flux; no other metrics source
   */
  readonly prerequisites?: PlatformPrerequisites;
  /**
   * Share of each model's latency SLO left to compute, as the fleet's `latencyHeadroom`, in (0, 1]; with the models'
   * `latencySloMs` it sets their batching delays and their pools' autoscaling targets (latency-budget.ts).
   * @default - the planned fleet's `latencyHeadroom`, else 0.5
   */
  readonly latencyHeadroom?: number;
  /** Settings of the model routers of hand-written cache pools (`TeamPool.cache`). @default - ModelRouter defaults */
  readonly router?: PlatformRouterOptions;
}
