/**
 * A pool of Triton servers that serve the same set of models, each server on one GPU slice of one kind:
 * Deployment + Service + ServiceMonitor + PodDisruptionBudget.
 *
 * The L1 `k8s.KubeDeployment` is used because cdk8s-plus containers can not request extended resources
 * (`nvidia.com/mig-<profile>`, `nvidia.com/gpu`).
 */
import { createHash } from 'crypto';
import { Chart, Duration, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ServiceMonitor } from '../../../imports/prometheus-servicemonitor-monitoring.coreos.com';
import { getGpuType, instanceTypesFor } from '../../catalog';
import { MigStrategy, gpuResourceName, gpuToleration } from '../gpu/gpu-resources';
import { assertImageReference } from '../common/image-reference';
import {
  CACHE_POOL_LABEL, INSTANCE_TYPE_LABEL, MIG_CONFIG_LABEL, MODEL_CONFIGS_ANNOTATION, POOL_LABEL, TEAM_LABEL, TRITON_MODEL_LABEL_PREFIX,
  TRITON_POOL_LABEL,
} from '../common/labels';
import { ModelRepository } from './model-repository';
import { assertDnsLabel, assertLabelValue } from '../common/names';
import { MAX_POOL_NAME_LENGTH as TOPOLOGY_MAX_POOL_NAME_LENGTH } from '../../planner/topology';

/** The Triton image gpufleet pins (NGC release 25.08). */
export const DEFAULT_TRITON_IMAGE = 'nvcr.io/nvidia/tritonserver:25.08-py3';
/** The same release with the vLLM backend, for pools serving vllm-backend models. */
export const TRITON_VLLM_IMAGE = 'nvcr.io/nvidia/tritonserver:25.08-vllm-python-py3';
export const TRITON_HTTP_PORT = 8000;
export const TRITON_GRPC_PORT = 8001;
export const TRITON_METRICS_PORT = 8002;
/**
 * Longest pool name: pod names are `<pool>-<template hash>-<5 chars>` and are not truncated up to this length,
 * which the autoscaling query's pod regex relies on (defined with the topology that names planned pools).
 */
export const MAX_POOL_NAME_LENGTH = TOPOLOGY_MAX_POOL_NAME_LENGTH;

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

type ObjectMetadata = { name: string; labels: Record<string, string>; namespace?: string };
type RepositoryBinding = ReturnType<ModelRepository['bind']>;
type PoolDisruption = NonNullable<TritonPoolProps['disruption']>;
interface CheckedResources { readonly cpu: string; readonly memory: string; readonly cpuLimit: string }

/** `f()`, its error prefixed with `<where>.<path>: `. */
function at<T>(where: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`${where}.${path}: ${(e as Error).message}`, { cause: e });
  }
}

function checkedPoolName(name: string): string {
  assertDnsLabel('name', name);
  if (name.length > MAX_POOL_NAME_LENGTH) {
    throw new Error(`name: expected at most ${MAX_POOL_NAME_LENGTH} characters (pod names must not be truncated), got ${JSON.stringify(name)} (${name.length})`);
  }
  return name;
}

function checkedRepository(where: string, repository: unknown): ModelRepository {
  if (!(repository instanceof ModelRepository)) {
    throw new Error(`${where}.repository: expected a ModelRepository, got ${JSON.stringify(repository)}`);
  }
  return repository;
}

/** The pool's models: at least one, DNS labels, no duplicate; sorted. */
function checkedModels(where: string, models: readonly string[]): string[] {
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

function checkedReplicas(where: string, given: number | undefined): number {
  const replicas = given ?? 1;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`${where}.replicas: expected an integer >= 0, got ${JSON.stringify(given)}`);
  }
  return replicas;
}

function checkedFlag(where: string, field: string, given: boolean | undefined, fallback: boolean): boolean {
  const value = given ?? fallback;
  if (typeof value !== 'boolean') throw new Error(`${where}.${field}: expected true or false, got ${JSON.stringify(given)}`);
  return value;
}

function checkedImage(where: string, image: string | undefined): string | undefined {
  // pinned by tag or digest (image-reference.ts): an untagged image would run whatever :latest is at pull time
  if (image !== undefined) assertImageReference(`${where}.image`, image);
  return image;
}

/** Seconds the startup probe allows for loading the models, at least 10. */
function checkedLoadTimeout(where: string, timeout: Duration | undefined): number {
  const seconds = (timeout ?? Duration.minutes(10)).toSeconds({ integral: false });
  if (!(seconds >= 10)) throw new Error(`${where}.modelLoadTimeout: expected at least 10 seconds, got ${seconds}s`);
  return seconds;
}

function checkedDisruption(where: string, given: TritonPoolProps['disruption']): PoolDisruption {
  const disruption = given ?? { maxUnavailable: 1 };
  const value = 'maxUnavailable' in disruption ? disruption.maxUnavailable : disruption.minAvailable;
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${where}.disruption: expected an integer >= 0, got ${JSON.stringify(disruption)}`);
  }
  return disruption;
}

/** Extra tritonserver flags: `--flag[=value]`, none of those the pool sets. */
function checkExtraArgs(where: string, extraArgs: readonly string[] | undefined): void {
  (extraArgs ?? []).forEach((a, i) => {
    if (!SAFE_ARG.test(a)) throw new Error(`${where}.extraArgs[${i}]: expected --flag or --flag=value, got ${JSON.stringify(a)}`);
    const flag = a.split('=')[0];
    if (['--model-repository', '--model-control-mode', '--load-model', '--strict-model-config', '--disable-auto-complete-config', '--strict-readiness'].includes(flag)) {
      throw new Error(`${where}.extraArgs[${i}]: ${flag} is set by the pool, got ${JSON.stringify(a)}`);
    }
  });
}

/** CPU and memory of the container (and the sizes of its scratch and shared-memory volumes), checked as quantities. */
function checkedResources(where: string, props: TritonPoolProps): CheckedResources {
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

/** A Triton Deployment on one kind of GPU slice, with its Service, ServiceMonitor and PodDisruptionBudget. */
export class TritonPool extends Construct {
  public readonly name: string;
  public readonly namespace?: string;
  public readonly repository: ModelRepository;
  /** Models, sorted. */
  public readonly models: readonly string[];
  public readonly gpuType: string;
  public readonly profile: string;
  public readonly migStrategy: MigStrategy;
  public readonly migConfig?: string;
  /** The GPU node pool the pods require (`gpufleet.io/pool`), when given. */
  public readonly nodePool?: string;
  /** Extended resource each pod requests exactly one of (`nvidia.com/mig-1g.10gb`, `nvidia.com/gpu`). */
  public readonly gpuResource: string;
  public readonly replicas: number;
  public readonly team?: string;
  /** Whether the servers load `models` at start (see `TritonPoolProps.loadModelsAtStart`). */
  public readonly loadModelsAtStart: boolean;
  /** Triton's `--strict-readiness` (see `TritonPoolProps.strictReadiness`). */
  public readonly strictReadiness: boolean;
  private readonly _image?: string;
  /** Selector labels of the pods. */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  public readonly serviceMonitor?: ServiceMonitor;

  private _autoscaled = false;

  public constructor(scope: Construct, id: string, props: TritonPoolProps) {
    super(scope, id);
    const where = `pools.${props.name}`;
    this.name = checkedPoolName(props.name);
    this.repository = checkedRepository(where, props.repository);
    this.models = checkedModels(where, props.models);
    this.gpuType = at(where, 'gpuType', () => getGpuType(props.gpuType).id);
    this.profile = props.profile;
    this.migStrategy = props.migStrategy ?? 'mixed';
    if (this.migStrategy !== 'mixed' && this.migStrategy !== 'single') {
      throw new Error(`${where}.migStrategy: expected mixed or single, got ${JSON.stringify(props.migStrategy)}`);
    }
    this.gpuResource = at(where, 'profile', () => gpuResourceName(this.gpuType, this.profile, this.migStrategy));
    // a layout name is a node label value (`all-1g.10gb`)
    if (props.migConfig !== undefined) assertLabelValue(`${where}.migConfig`, props.migConfig);
    this.migConfig = props.migConfig;
    this.replicas = checkedReplicas(where, props.replicas);
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    if (this.namespace !== undefined) assertDnsLabel(`${where}.namespace`, this.namespace);
    if (props.team !== undefined) assertDnsLabel(`${where}.team`, props.team);
    this.team = props.team;
    this.loadModelsAtStart = checkedFlag(where, 'loadModelsAtStart', props.loadModelsAtStart, true);
    this.strictReadiness = checkedFlag(where, 'strictReadiness', props.strictReadiness, this.loadModelsAtStart);
    const autoComplete = checkedFlag(where, 'autoCompleteConfig', props.autoCompleteConfig, true);
    this._image = checkedImage(where, props.image);
    const loadTimeout = checkedLoadTimeout(where, props.modelLoadTimeout);
    const disruption = checkedDisruption(where, props.disruption);
    checkExtraArgs(where, props.extraArgs);

    this.selectorLabels = {
      'app.kubernetes.io/name': 'triton',
      'app.kubernetes.io/instance': this.name,
    };
    const labels = this.poolLabels(props.labels);
    const metadata = { name: this.name, labels, ...(this.namespace ? { namespace: this.namespace } : {}) };
    const binding = this.repository.bind(this.namespace);
    const resources = checkedResources(where, props);
    if (props.nodePool !== undefined) assertLabelValue(`${where}.nodePool`, props.nodePool);
    this.nodePool = props.nodePool;
    const container = this.tritonContainer(binding, this.tritonArgs(binding.url, autoComplete, props.extraArgs), resources, loadTimeout);
    const podSpec = this.podSpec(binding, container, this.nodeTerms(where, props.nodePool), props);
    this.deployment = this.renderDeployment(metadata, labels, podSpec);
    this.service = this.renderService(metadata);
    this.podDisruptionBudget = this.renderBudget(metadata, disruption);
    if (props.serviceMonitor ?? true) this.serviceMonitor = this.renderServiceMonitor(metadata, labels, props.serviceMonitorLabels);
  }

  /** Labels of the pool's objects: the given ones, the selector labels, component, pool and team. */
  private poolLabels(given: Readonly<Record<string, string>> | undefined): Record<string, string> {
    return {
      ...(given ?? {}),
      ...this.selectorLabels,
      'app.kubernetes.io/component': 'inference-server',
      'app.kubernetes.io/part-of': 'gpufleet',
      [TRITON_POOL_LABEL]: this.name,
      ...(this.team ? { [TEAM_LABEL]: this.team } : {}),
    };
  }

  /** tritonserver's arguments: the repository, explicit model control, the models loaded at start, ports, flags. */
  private tritonArgs(repositoryUrl: string, autoComplete: boolean, extraArgs: readonly string[] | undefined): string[] {
    return [
      `--model-repository=${repositoryUrl}`,
      '--model-control-mode=explicit',
      ...(this.loadModelsAtStart ? this.models.map((m) => `--load-model=${m}`) : []),
      `--http-port=${TRITON_HTTP_PORT}`,
      `--grpc-port=${TRITON_GRPC_PORT}`,
      `--metrics-port=${TRITON_METRICS_PORT}`,
      ...(this.strictReadiness ? [] : ['--strict-readiness=false']),
      ...(autoComplete ? [] : ['--disable-auto-complete-config']),
      ...(extraArgs ?? []),
    ];
  }

  /**
   * The node affinity terms. Only labels that exist before the node boots: the pool's own label (or the instance types
   * of the GPU) and the layout label. GPU feature discovery's nvidia.com/gpu.product is written after boot, so Karpenter
   * never launches a node for a pod that requires it, and time-slicing renames it (`-SHARED`) (FIDELITY.md).
   */
  private nodeTerms(where: string, nodePool: string | undefined): k8s.NodeSelectorRequirement[] {
    const carriers = instanceTypesFor(this.gpuType).map((i) => i.name).sort();
    if (nodePool === undefined && carriers.length === 0) {
      throw new Error(`${where}.nodePool: no catalog EC2 instance type carries ${this.gpuType}, so the pool can not select its nodes by instance type; name the node pool it runs on`);
    }
    return [
      nodePool !== undefined
        ? { key: POOL_LABEL, operator: 'In', values: [nodePool] }
        : { key: INSTANCE_TYPE_LABEL, operator: 'In', values: carriers },
      ...(this.migConfig ? [{ key: MIG_CONFIG_LABEL, operator: 'In', values: [this.migConfig] }] : []),
    ];
  }

  /** The Triton container: image, arguments, ports, resources with one GPU (slice), probes, hardening, volumes. */
  private tritonContainer(binding: RepositoryBinding, args: string[], res: CheckedResources, loadTimeout: number): k8s.Container {
    const one = k8s.Quantity.fromNumber(1);
    const periodSeconds = 10;
    const httpGet = (p: string): k8s.HttpGetAction => ({ path: p, port: k8s.IntOrString.fromString('http') });
    return {
      name: 'triton',
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- cdk8s types Lazy.any as any; it produces the image at synth
      image: Lazy.any({ produce: () => this.image }),
      command: ['tritonserver'],
      args,
      env: [{ name: 'HOME', value: '/tmp' }, ...binding.env],
      ports: [
        { name: 'http', containerPort: TRITON_HTTP_PORT, protocol: 'TCP' },
        { name: 'grpc', containerPort: TRITON_GRPC_PORT, protocol: 'TCP' },
        { name: 'metrics', containerPort: TRITON_METRICS_PORT, protocol: 'TCP' },
      ],
      resources: {
        requests: {
          cpu: k8s.Quantity.fromString(res.cpu),
          memory: k8s.Quantity.fromString(res.memory),
          [this.gpuResource]: one,
        },
        limits: {
          memory: k8s.Quantity.fromString(res.memory),
          cpu: k8s.Quantity.fromString(res.cpuLimit),
          [this.gpuResource]: one,
        },
      },
      // Triton opens its HTTP endpoint once the initial models are loaded: the startup probe allows for that.
      // Readiness is `/v2/health/ready`: with --strict-readiness (a pool that loads at start) the pod is ready once its
      // models are; a cache pool (--strict-readiness=false) is ready once the server answers.
      startupProbe: { httpGet: httpGet('/v2/health/ready'), periodSeconds, failureThreshold: Math.ceil(loadTimeout / periodSeconds), timeoutSeconds: 5 },
      readinessProbe: { httpGet: httpGet('/v2/health/ready'), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 5 },
      // Let endpoints and gateways drop the pod before Triton stops accepting requests; Triton then drains
      // in-flight requests (--exit-timeout-secs, 30 s) within the grace period.
      lifecycle: { preStop: { exec: { command: ['sleep', '10'] } } },
      livenessProbe: { httpGet: httpGet('/v2/health/live'), periodSeconds, failureThreshold: 6, timeoutSeconds: 5 },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'dshm', mountPath: '/dev/shm' },
        ...binding.volumeMounts,
      ],
    };
  }

  /** The pod spec: service account, security context, GPU toleration, node affinity, spread over nodes, volumes. */
  private podSpec(binding: RepositoryBinding, container: k8s.Container, nodeTerms: k8s.NodeSelectorRequirement[], props: TritonPoolProps): k8s.PodSpec {
    return {
      serviceAccountName: binding.serviceAccountName,
      automountServiceAccountToken: false,
      priorityClassName: props.priorityClassName,
      terminationGracePeriodSeconds: 60,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      tolerations: [gpuToleration()],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: nodeTerms }] },
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { ...this.selectorLabels } },
        },
      ],
      containers: [container],
      volumes: [
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(props.scratchSize ?? '50Gi') } },
        { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(props.shmSize ?? '1Gi') } },
        ...binding.volumes,
      ],
    };
  }

  /** The Deployment: no surge, replicas left to the autoscaler when there is one, pods rolled when a model config changes. */
  private renderDeployment(metadata: ObjectMetadata, labels: Record<string, string>, podSpec: k8s.PodSpec): k8s.KubeDeployment {
    // A cache pool's Deployment and pods say so; its Service, budget and monitor are those of any pool.
    const deploymentLabels: Record<string, string> = this.loadModelsAtStart ? labels : { ...labels, [CACHE_POOL_LABEL]: 'true' };
    // Pods that load their models at start carry one label per model, so a Service can select every pod
    // serving a model across pools.
    const podLabels: Record<string, string> = { ...deploymentLabels };
    if (this.loadModelsAtStart) {
      for (const m of this.models) podLabels[`${TRITON_MODEL_LABEL_PREFIX}${m}`] = 'true';
    }
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { ...metadata, labels: deploymentLabels },
      spec: {
        // An autoscaled pool leaves `replicas` to its HPA / ScaledObject, so re-applying the manifest does not reset it.
        replicas: Lazy.any({ produce: () => (this._autoscaled ? undefined : this.replicas) }) as unknown as number,
        selector: { matchLabels: { ...this.selectorLabels } },
        // No surge: a new pod needs a free slice of the same kind, which a planned fleet does not keep spare.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(0), maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: {
            labels: podLabels,
            // Changing a model's config.pbtxt rolls the pool, so servers load the new config.
            annotations: Lazy.any({ produce: () => this.configAnnotations() }) as unknown as Record<string, string>,
          },
          spec: podSpec,
        },
      },
    });
  }

  /** The ClusterIP Service: HTTP, gRPC (h2c) and metrics ports. */
  private renderService(metadata: ObjectMetadata): k8s.KubeService {
    return new k8s.KubeService(this, 'Service', {
      metadata,
      spec: {
        type: 'ClusterIP',
        selector: { ...this.selectorLabels },
        ports: [
          { name: 'http', port: TRITON_HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' },
          { name: 'grpc', port: TRITON_GRPC_PORT, targetPort: k8s.IntOrString.fromString('grpc'), protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
          { name: 'metrics', port: TRITON_METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' },
        ],
      },
    });
  }

  /** The PodDisruptionBudget. */
  private renderBudget(metadata: ObjectMetadata, disruption: PoolDisruption): k8s.KubePodDisruptionBudget {
    return new k8s.KubePodDisruptionBudget(this, 'Budget', {
      metadata,
      spec: {
        selector: { matchLabels: { ...this.selectorLabels } },
        ...('maxUnavailable' in disruption
          ? { maxUnavailable: k8s.IntOrString.fromNumber(disruption.maxUnavailable) }
          : { minAvailable: k8s.IntOrString.fromNumber(disruption.minAvailable) }),
      },
    });
  }

  /** The Prometheus operator's ServiceMonitor of the metrics port. */
  private renderServiceMonitor(metadata: ObjectMetadata, labels: Record<string, string>, extra: Readonly<Record<string, string>> | undefined): ServiceMonitor {
    return new ServiceMonitor(this, 'Monitor', {
      metadata: { ...metadata, labels: { ...labels, ...(extra ?? {}) } },
      spec: {
        selector: { matchLabels: { ...this.selectorLabels } },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }],
      },
    });
  }

  /** `gpufleet.io/model-configs`: a digest of the configs of this pool's models that the repository holds. */
  private configAnnotations(): Record<string, string> | undefined {
    const texts = this.models.filter((m) => this.repository.hasModel(m)).map((m) => this.repository.model(m).toPbtxt());
    if (texts.length === 0) return undefined;
    const digest = createHash('sha256').update(texts.join('\0')).digest('hex').slice(0, 16);
    return { [MODEL_CONFIGS_ANNOTATION]: digest };
  }

  /** The Triton image (see `TritonPoolProps.image`; resolved from the repository's configs as they are now). */
  public get image(): string {
    if (this._image !== undefined) return this._image;
    const vllm = this.models.some((m) => this.repository.hasModel(m) && this.repository.model(m).backend === 'vllm');
    return vllm ? TRITON_VLLM_IMAGE : DEFAULT_TRITON_IMAGE;
  }

  /** True once an autoscaler owns the replica count. */
  public get autoscaled(): boolean {
    return this._autoscaled;
  }

  /**
   * Hands the replica count to an autoscaler: `spec.replicas` is then left out of the Deployment.
   * Called by `PoolAutoscaling`; throws when the pool already has one.
   */
  public markAutoscaled(by: string): void {
    if (this._autoscaled) {
      throw new Error(`pools.${this.name}: already autoscaled; a pool takes one PoolAutoscaling, got a second from ${by}`);
    }
    this._autoscaled = true;
  }

  /**
   * Regex of this pool's pod names (`<pool>-<template hash>-<suffix>`). It does not match pods of a pool whose
   * name merely starts with this one (`bert` vs `bert-large`).
   */
  public get podNamePattern(): string {
    return `${this.name}-[a-z0-9]+-[a-z0-9]+`;
  }
}
