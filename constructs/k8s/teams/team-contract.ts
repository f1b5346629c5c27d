/**
 * The contract between a serving platform and what runs on it: teams (who own models and the
 * Triton pools that serve them) and add-ons (anything else a platform stack installs).
 *
 * Both are plain synchronous objects: a platform stack is a list of teams and add-ons, deployed
 * by `ServingPlatform` in a fixed, documented order (see `ServingPlatform`).
 */
import type { Construct } from 'constructs';
import type { Consumption } from '../../planner/types';
import type { TeamNamespace, TeamQuota, ContainerDefaults } from './team-namespace';
import type { PoolAutoscalingEngine, PoolAutoscalingProps } from '../serving/pool-autoscaling';
import type { TritonModelConfigProps } from '../serving/triton-model-config';

/**
 * How a Triton pool scales: a fixed replica count, or `PoolAutoscaling` on the request-weighted
 * queue time with an HPA or KEDA (`minReplicas: 0` with a `wake` trigger scales a cold tier to zero).
 */
export type PoolScaling =
  { readonly kind: 'fixed' } | ({ readonly kind: PoolAutoscalingEngine } & Omit<PoolAutoscalingProps, 'pool' | 'engine'>);

/** A model a team serves; becomes a model directory with a `config.pbtxt` in the shared repository. */
export interface TeamModel {
  /** Model name, a DNS-1123 label unique across the platform. */
  readonly name: string;
  /**
   * Triton platform or backend, e.g. `onnxruntime_onnx`, `tensorrt_plan`, `pytorch_libtorch`, `python`, `vllm`.
   * @default 'onnxruntime_onnx'
   */
  readonly platform?: string;
  /** `max_batch_size`; 0 disables Triton batching. @default - the batch of the planned entry, else 8 */
  readonly maxBatchSize?: number;
  /** `dynamic_batching.preferred_batch_size`. @default - the batch of the planned entry, else none */
  readonly preferredBatchSizes?: readonly number[];
  /**
   * Latency SLO, ms (> 0). With the platform's `latencyHeadroom` it sets the model's batching delay and its pools'
   * autoscaling targets (latency-budget.ts; docs/serving.md "From the SLO to the manifests").
   * @default - the fleet's, for a planned platform; none for a hand-written one (the defaults below apply)
   */
  readonly latencySloMs?: number;
  /**
   * `dynamic_batching.max_queue_delay_microseconds`.
   * @default - 10 % of the queueing budget `(1 − latencyHeadroom) × latencySloMs`; 100 without an SLO
   */
  readonly maxQueueDelayMicroseconds?: number;
  /**
   * GPU memory of one loaded copy, GiB (> 0): what the model router counts when it loads the model into a cache pool.
   * @default - the fleet's, for a planned platform; required for a model of a hand-written cache pool
   */
  readonly memoryGiB?: number;
  /** `instance_group` count (KIND_GPU). @default - the instances of the planned entry, else 1 */
  readonly instances?: number;
  /**
   * Any other Triton config field (inputs, outputs, warmup, version policy, parameters); these win over
   * the fields above.
   * @default - none
   */
  readonly config?: Partial<Omit<TritonModelConfigProps, 'name'>>;
}

/** A Triton pool a team places by hand: a set of its models on one kind of GPU slice. */
export interface TeamPool {
  /** Pool name, a DNS-1123 label unique across the platform (the Deployment's name). */
  readonly name: string;
  /** MIG profile of the slice each replica gets (e.g. `1g.10gb`), or `whole` for a whole GPU. */
  readonly slice: string;
  /** Names of the team's models this pool serves (each loaded with `--load-model`). */
  readonly models: readonly string[];
  /** Replicas (one slice each) when fixed, or the initial count under autoscaling. @default 1 */
  readonly replicas?: number;
  /** Node pool the replicas run on. @default - the only node pool whose layout provides the slice */
  readonly nodePool?: string;
  /** How the pool scales. @default - the platform's default scaling */
  readonly scaling?: PoolScaling;
  /**
   * A cache pool: Triton loads nothing at start and the team's model router (one per namespace, created with the
   * first cache pool) loads `models` on demand, evicting the least recently used. Clients reach these models through
   * the router; only the router reaches the pool's Triton ports. A cache pool may scale to zero with a `wake` trigger
   * on the router's own metrics (`routerWakeQuery`). Each of its models needs `memoryGiB`.
   * @default false
   */
  readonly cache?: boolean;
}

/** A planned Triton pool that serves models of more than one team. */
export interface SharedPool extends TeamPool {
  /** Teams whose models the pool serves, sorted. */
  readonly teams: readonly string[];
  /** Per team (sorted): the GPU-equivalents and cost per hour its models hold on the pool's slices (planner/team-consumption.ts). */
  readonly consumption?: Readonly<Record<string, Consumption>>;
}

/** A team: its namespace, its models, and (when not planned) the pools that serve them. */
export interface Team {
  /** Team name, a DNS-1123 label; also the namespace name unless `namespace` is given. */
  readonly name: string;
  /** Namespace. @default - the team name */
  readonly namespace?: string;
  /** Group bound to the team's Role. @default `gpufleet:team:<name>` */
  readonly group?: string;
  /** The team's models. */
  readonly models: readonly TeamModel[];
  /**
   * Pools placed by hand. Absent when the platform renders a plan: the plan then places the models.
   * @default - none
   */
  readonly pools?: readonly TeamPool[];
  /**
   * Quota besides GPUs; the GPU/MIG quota is sized from the team's pools (maximum replicas × one
   * slice each), plus `quota.gpus` as extra headroom.
   * @default - see `TeamQuota`
   */
  readonly quota?: TeamQuota;
  /** LimitRange container defaults. @default - see `ContainerDefaults` */
  readonly containerDefaults?: ContainerDefaults;
  /** Called once the team's namespace and pools exist, to add team-specific objects. @default - nothing */
  setup?(ctx: PlatformContext, namespace: TeamNamespace): void;
}

/** Something a platform stack installs besides teams, deployed in declared order. */
export interface TeamAddOn {
  /** Unique id; other add-ons name it in `dependsOn`. */
  readonly id: string;
  /** Ids of add-ons (or built-in parts) that must be deployed before this one. @default - none */
  readonly dependsOn?: readonly string[];
  /** Adds the add-on's constructs under `ctx.scope`. */
  deploy(ctx: PlatformContext): void;
  /**
   * Runs once teams, pools and routes exist (after the team `setup` hooks), in declared order, for
   * add-ons that need the pools (a model router, dashboards). @default - nothing
   */
  postDeploy?(ctx: PlatformContext): void;
}

/** Ids of the parts every `ServingPlatform` deploys before add-ons run; add-ons may depend on them. */
export const BUILT_IN_PARTS = ['gpu-operator', 'mig-config', 'node-pools', 'model-repository'] as const;

/**
 * The platform construct add-ons and team setup hooks see: a `ServingPlatform`. platform/serving-platform.ts merges
 * `extends ServingPlatform` into this interface, so that this contract (below the platform) does not import it.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface PlatformInstance extends Construct {}

/** What add-ons and team setup hooks see. */
export interface PlatformContext {
  /** Where add-ons add their constructs (the platform construct). */
  readonly scope: Construct;
  /**
   * The platform being built. Add-ons run before the teams exist: its `gpuOperator`, `nodePools` and
   * `repository` are set, `teams`, `pools` and `serving` only by the time team `setup` hooks run.
   */
  readonly platform: PlatformInstance;
  /** Ids of the built-in parts and add-ons deployed so far, in order. */
  readonly deployed: readonly string[];
  /** Namespace of the platform's shared objects (routes, shared pools). */
  readonly namespace: string;
  /** Every GPU resource a node pool's layout provides → the node pools providing it. */
  readonly gpuResources: ReadonlyMap<string, readonly string[]>;
  /** Team namespaces by team name (filled as teams are set up). */
  readonly teams: ReadonlyMap<string, TeamNamespace>;
  /** Looks up a deployed construct by the id it was registered with (`ctx.register`), or a built-in part. */
  get<T extends Construct = Construct>(id: string): T | undefined;
  /** Registers a construct under an id so later add-ons can `get` it. */
  register(id: string, construct: Construct): void;
}
