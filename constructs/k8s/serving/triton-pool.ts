/**
 * A pool of Triton servers that serve the same set of models, each server on one GPU slice of one kind:
 * Deployment + Service + ServiceMonitor + PodDisruptionBudget.
 *
 * The L1 `k8s.KubeDeployment` is used because cdk8s-plus containers can not request extended resources
 * (`nvidia.com/mig-<profile>`, `nvidia.com/gpu`). The props and their checks are in `triton-pool-props.ts`.
 */
import { createHash } from 'crypto';
import { Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ServiceMonitor } from '../../../imports/prometheus-servicemonitor-monitoring.coreos.com';
import { getGpuType, instanceTypesFor } from '../../catalog';
import { MigStrategy, gpuResourceName, gpuToleration } from '../gpu/gpu-resources';
import {
  CACHE_POOL_LABEL,
  INSTANCE_TYPE_LABEL,
  MIG_CONFIG_LABEL,
  MODEL_CONFIGS_ANNOTATION,
  POOL_LABEL,
  TEAM_LABEL,
  TRITON_MODEL_LABEL_PREFIX,
  TRITON_POOL_LABEL,
} from '../common/labels';
import { ModelRepository } from './model-repository';
import { assertDnsLabel, assertLabelValue } from '../common/names';
import { MAX_POOL_NAME_LENGTH as TOPOLOGY_MAX_POOL_NAME_LENGTH } from '../../planner/topology';
import {
  at,
  checkExtraArgs,
  checkedDisruption,
  checkedFlag,
  checkedImage,
  checkedLoadTimeout,
  checkedModels,
  checkedPoolName,
  checkedReplicas,
  checkedRepository,
  checkedResources,
  type CheckedResources,
  type PoolDisruption,
  type TritonPoolProps,
} from './triton-pool-props';

export type { TritonPoolResources, TritonPoolDisruption, TritonPoolProps } from './triton-pool-props';

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

type ObjectMetadata = { name: string; labels: Record<string, string>; namespace?: string };
type RepositoryBinding = ReturnType<ModelRepository['bind']>;

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
    const carriers = instanceTypesFor(this.gpuType)
      .map((i) => i.name)
      .sort();
    if (nodePool === undefined && carriers.length === 0) {
      throw new Error(
        `${where}.nodePool: no catalog EC2 instance type carries ${this.gpuType}, ` +
          'so the pool can not select its nodes by instance type; name the node pool it runs on',
      );
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
      startupProbe: {
        httpGet: httpGet('/v2/health/ready'),
        periodSeconds,
        failureThreshold: Math.ceil(loadTimeout / periodSeconds),
        timeoutSeconds: 5,
      },
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
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'dshm', mountPath: '/dev/shm' }, ...binding.volumeMounts],
    };
  }

  /** The pod spec: service account, security context, GPU toleration, node affinity, spread over nodes, volumes. */
  private podSpec(
    binding: RepositoryBinding,
    container: k8s.Container,
    nodeTerms: k8s.NodeSelectorRequirement[],
    props: TritonPoolProps,
  ): k8s.PodSpec {
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
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(0), maxUnavailable: k8s.IntOrString.fromNumber(1) },
        },
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
          {
            name: 'grpc',
            port: TRITON_GRPC_PORT,
            targetPort: k8s.IntOrString.fromString('grpc'),
            protocol: 'TCP',
            appProtocol: 'kubernetes.io/h2c',
          },
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
  private renderServiceMonitor(
    metadata: ObjectMetadata,
    labels: Record<string, string>,
    extra: Readonly<Record<string, string>> | undefined,
  ): ServiceMonitor {
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
