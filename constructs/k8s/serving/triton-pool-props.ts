/**
 * The props of `TritonPool` and their checks: each check throws naming the prop (`pools.<name>.<prop>`), the value it
 * got and what is allowed, before anything is rendered.
 */
import { Duration } from 'cdk8s';
import type { MigStrategy } from '../gpu/gpu-resources';
import { assertImageReference } from '../common/image-reference';
import { assertDnsLabel } from '../common/names';
import { MAX_POOL_NAME_LENGTH } from '../../planner/topology';
import { ModelRepository } from './model-repository';

/** CPU and memory of the Triton container. */
export interface TritonPoolResources {
  /** CPU request. @default '2' */
  readonly cpu?: string;
  /** Memory request, also the memory limit (the /dev/shm volume counts against it). @default '8Gi' */
  readonly memory?: string;
  /**
   * CPU limit, >= cpu.
   * @default - equal to `cpu`: Guaranteed QoS (GPU servers are evicted last), and a namespace LimitRange's default
   * limit can not end up below the request
   */
  readonly cpuLimit?: string;
}

/** How many pods may be down during voluntary disruptions (node drains, MIG re-layouts). */
export type TritonPoolDisruption = { readonly maxUnavailable: number } | { readonly minAvailable: number };

export interface TritonPoolProps {
  /** Pool name: Deployment, Service, PDB and ServiceMonitor name; a DNS-1123 label of at most 40 characters. */
  readonly name: string;
  /** The repository the models are loaded from. */
  readonly repository: ModelRepository;
  /**
   * Models the pool serves, at least one, no duplicates; rendered sorted. They are loaded at start
   * (`--load-model`) unless `loadModelsAtStart` is false; either way they pick the image and the config digest.
   */
  readonly models: readonly string[];
  /**
   * Load `models` when a server starts: one `--load-model` argument and one `model.gpufleet.io/<model>` pod label
   * per model. When false, Triton starts in explicit model-control mode with no model loaded (a model router loads
   * models on demand through the repository API), the pods carry no per-model labels (no model is served there
   * permanently, so no per-model Service selects them), and the Deployment and pods are labelled
   * `gpufleet.io/cache-pool: "true"`.
   * @default true
   */
  readonly loadModelsAtStart?: boolean;
  /** Catalog GPU type id, e.g. `H100-80GB`. */
  readonly gpuType: string;
  /** MIG profile of the slice each server gets (`1g.10gb`), or `whole` for a whole GPU. */
  readonly profile: string;
  /** The GPU operator's MIG strategy. @default 'mixed' */
  readonly migStrategy?: MigStrategy;
  /** The MIG layout (value of `nvidia.com/mig.config`) of the nodes the pool runs on. @default - no layout selector */
  readonly migConfig?: string;
  /**
   * The GPU node pool the servers run on: the pods require `gpufleet.io/pool=<nodePool>`, a label the node pool
   * declares (Karpenter NodePool template, managed node group labels), so Karpenter and cluster-autoscaler can
   * launch nodes for them.
   * @default - any node of an instance type that carries `gpuType` (`node.kubernetes.io/instance-type`, a label
   * Karpenter and cluster-autoscaler know)
   */
  readonly nodePool?: string;
  /** Servers: the number of slices of this kind holding the same model set, >= 0. @default 1 */
  readonly replicas?: number;
  /** Namespace. @default - the chart's namespace */
  readonly namespace?: string;
  /** Owning team: the `gpufleet.io/team` label. @default - no team label */
  readonly team?: string;
  /**
   * Triton image.
   * @default - TRITON_VLLM_IMAGE when one of the pool's models (in the repository) uses the vllm backend, else
   * DEFAULT_TRITON_IMAGE (`nvcr.io/nvidia/tritonserver:25.08-py3`)
   */
  readonly image?: string;
  /** Longest time loading every model may take: sizes the startup probe. @default Duration.minutes(10) */
  readonly modelLoadTimeout?: Duration;
  /**
   * Let Triton and its backends complete missing config fields (inputs, outputs, the vLLM backend's decoupled
   * policy). Triton r25.08 does so by default; false renders `--disable-auto-complete-config`. (The old
   * `--strict-model-config=false` is deprecated: Triton prints a warning, server `src/command_line_parser.cc`.)
   * @default true
   */
  readonly autoCompleteConfig?: boolean;
  /**
   * Triton's `--strict-readiness`: with true, `/v2/health/ready` fails while any model is loading or unloading and
   * after any failed load, until that model loads (core r25.08 `src/server.cc` InferenceServer::IsReady). Right for a
   * pool that loads its models at start (ready = its models are served); wrong for a cache pool, whose models come and
   * go: a long load or one failed load would take the pod out of its Service's endpoints (the router's DNS) for good
   * while it is perfectly live. The router judges a cache pod itself (`/v2/health/live`, repository index).
   * @default - `loadModelsAtStart` (true for a pool that loads at start, false for a cache pool)
   */
  readonly strictReadiness?: boolean;
  /** CPU and memory. @default - see `TritonPoolResources` */
  readonly resources?: TritonPoolResources;
  /** Size of the memory-backed `/dev/shm` (Python backends, shared-memory I/O). @default '1Gi' */
  readonly shmSize?: string;
  /** Size limit of the writable `/tmp` (S3 downloads of the models land there). @default '50Gi' */
  readonly scratchSize?: string;
  /** Voluntary-disruption budget. @default { maxUnavailable: 1 } */
  readonly disruption?: TritonPoolDisruption;
  /** Render a ServiceMonitor for the metrics port. @default true */
  readonly serviceMonitor?: boolean;
  /** Labels on the ServiceMonitor (for the Prometheus `serviceMonitorSelector`). @default - none */
  readonly serviceMonitorLabels?: Readonly<Record<string, string>>;
  /** More labels on every object and pod. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** More `tritonserver` arguments, appended after gpufleet's. @default - none */
  readonly extraArgs?: readonly string[];
  /** Priority class of the pods. @default - none */
  readonly priorityClassName?: string;
}

const SAFE_ARG = /^--[a-z0-9-]+(=.*)?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export type PoolDisruption = NonNullable<TritonPoolProps['disruption']>;
export interface CheckedResources {
  readonly cpu: string;
  readonly memory: string;
  readonly cpuLimit: string;
}

/** `f()`, its error prefixed with `<where>.<path>: `. */
export function at<T>(where: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`${where}.${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function checkedPoolName(name: string): string {
  assertDnsLabel('name', name);
  if (name.length > MAX_POOL_NAME_LENGTH) {
    throw new Error(
      `name: expected at most ${MAX_POOL_NAME_LENGTH} characters (pod names must not be truncated), ` +
        `got ${JSON.stringify(name)} (${name.length})`,
    );
  }
  return name;
}

export function checkedRepository(where: string, repository: unknown): ModelRepository {
  if (!(repository instanceof ModelRepository)) {
    throw new Error(`${where}.repository: expected a ModelRepository, got ${JSON.stringify(repository)}`);
  }
  return repository;
}

/** The pool's models: at least one, DNS labels, no duplicate; sorted. */
export function checkedModels(where: string, models: readonly string[]): string[] {
  if (!Array.isArray(models) || models.length === 0) {
    throw new Error(`${where}.models: expected at least one model, got ${JSON.stringify(models)}`);
  }
  const seen = new Set<string>();
  models.forEach((m, i) => {
    assertDnsLabel(`${where}.models[${i}]`, m);
    if (seen.has(m)) throw new Error(`${where}.models[${i}]: duplicate model ${JSON.stringify(m)}`);
    seen.add(m);
  });
  return [...(models as readonly string[])].sort();
}

export function checkedReplicas(where: string, given: number | undefined): number {
  const replicas = given ?? 1;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`${where}.replicas: expected an integer >= 0, got ${JSON.stringify(given)}`);
  }
  return replicas;
}

export function checkedFlag(where: string, field: string, given: boolean | undefined, fallback: boolean): boolean {
  const value = given ?? fallback;
  if (typeof value !== 'boolean') throw new Error(`${where}.${field}: expected true or false, got ${JSON.stringify(given)}`);
  return value;
}

export function checkedImage(where: string, image: string | undefined): string | undefined {
  // pinned by tag or digest (image-reference.ts): an untagged image would run whatever :latest is at pull time
  if (image !== undefined) assertImageReference(`${where}.image`, image);
  return image;
}

/** Seconds the startup probe allows for loading the models, at least 10. */
export function checkedLoadTimeout(where: string, timeout: Duration | undefined): number {
  const seconds = (timeout ?? Duration.minutes(10)).toSeconds({ integral: false });
  if (!(seconds >= 10)) throw new Error(`${where}.modelLoadTimeout: expected at least 10 seconds, got ${seconds}s`);
  return seconds;
}

export function checkedDisruption(where: string, given: TritonPoolProps['disruption']): PoolDisruption {
  const disruption = given ?? { maxUnavailable: 1 };
  const value = 'maxUnavailable' in disruption ? disruption.maxUnavailable : disruption.minAvailable;
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${where}.disruption: expected an integer >= 0, got ${JSON.stringify(disruption)}`);
  }
  return disruption;
}

/** Extra tritonserver flags: `--flag[=value]`, none of those the pool sets. */
export function checkExtraArgs(where: string, extraArgs: readonly string[] | undefined): void {
  (extraArgs ?? []).forEach((a, i) => {
    if (!SAFE_ARG.test(a)) throw new Error(`${where}.extraArgs[${i}]: expected --flag or --flag=value, got ${JSON.stringify(a)}`);
    const flag = a.split('=')[0];
    if (
      [
        '--model-repository',
        '--model-control-mode',
        '--load-model',
        '--strict-model-config',
        '--disable-auto-complete-config',
        '--strict-readiness',
      ].includes(flag)
    ) {
      throw new Error(`${where}.extraArgs[${i}]: ${flag} is set by the pool, got ${JSON.stringify(a)}`);
    }
  });
}

/** CPU and memory of the container (and the sizes of its scratch and shared-memory volumes), checked as quantities. */
export function checkedResources(where: string, props: TritonPoolProps): CheckedResources {
  const res = props.resources ?? {};
  const cpu = res.cpu ?? '2';
  const memory = res.memory ?? '8Gi';
  const quantities: [string, string | undefined][] = [
    ['resources.cpu', cpu],
    ['resources.memory', memory],
    ['resources.cpuLimit', res.cpuLimit],
    ['shmSize', props.shmSize],
    ['scratchSize', props.scratchSize],
  ];
  for (const [p, v] of quantities) {
    if (v !== undefined && (typeof v !== 'string' || !QUANTITY.test(v) || parseFloat(v) <= 0)) {
      throw new Error(`${where}.${p}: expected a positive Kubernetes quantity such as 500m, 2 or 8Gi, got ${JSON.stringify(v)}`);
    }
  }
  return { cpu, memory, cpuLimit: res.cpuLimit ?? cpu };
}
