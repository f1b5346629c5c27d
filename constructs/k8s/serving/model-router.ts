/**
 * ModelRouter: the gpufleet model router (dynamic loading and LRU caching of models on Triton) deployed
 * beside Triton pools: Deployment + Service + ConfigMap (router config) + one headless Service per pool,
 * whose DNS name resolves to the pool's pod addresses (each pod becomes one backend, `discover: dns`).
 * Memory budgets come from the pool's slice size in the catalog, minus Triton's process overhead.
 */
import { createHash } from 'crypto';
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { ServiceMonitor } from '../../../imports/prometheus-servicemonitor-monitoring.coreos.com';
import { getGpuType, getMigProfile } from '../../catalog';
import { quote } from '../../fleet/quote';
import { assertImageReference } from '../common/image-reference';
import { assertDnsLabel } from '../common/names';
import { TRITON_GRPC_PORT, TRITON_HTTP_PORT, TritonPool } from './triton-pool';
import { compareText } from '../../catalog/text-order';

/** Version of the router image this library renders by default (the package version). */
export const ROUTER_IMAGE_VERSION = '0.1.0';
/** Default router image: built from the repository's `Dockerfile` and pushed to this name. */
export const DEFAULT_ROUTER_IMAGE = `ghcr.io/gpufleet/gpufleet-router:${ROUTER_IMAGE_VERSION}`;
/** Port the router serves the Open Inference Protocol, health and `/metrics` on (Triton's HTTP port). */
export const ROUTER_PORT = 8000;
/**
 * Where the router's state and control endpoints listen inside its pod: loopback only, reached with
 * `kubectl port-forward` or `kubectl exec` (never through the Service).
 */
export const ROUTER_ADMIN_LISTEN = '127.0.0.1:9001';
/** Where the ConfigMap is mounted in the router container. */
export const ROUTER_CONFIG_PATH = '/etc/gpufleet-router/router.yaml';
const ROUTER_UID = 10001;

/** A model the router manages. */
export interface ModelRouterModel {
  /** Model name in the shared model repository (a DNS-1123 label). */
  readonly name: string;
  /** GPU memory one loaded copy takes, GiB (> 0). */
  readonly memoryGiB: number;
  /** Loaded at start and never evicted. @default false */
  readonly pinned?: boolean;
}

/** A Triton pool whose pods the router loads models onto. */
export interface ModelRouterPool {
  readonly pool: TritonPool;
  /**
   * GPU memory per pod the router may fill, GiB.
   * @default - the pool's slice memory as the driver reports it (catalog) minus `processOverheadGiB`
   */
  readonly memoryGiB?: number;
}

export interface ModelRouterProps {
  /** Name of the Deployment, Service and ConfigMap (a DNS-1123 label). @default 'model-router' */
  readonly name?: string;
  /** Namespace of the router. @default - the chart's namespace */
  readonly namespace?: string;
  /** Pools whose pods become backends; every model a pool loads at start must be in `models`. */
  readonly pools: readonly (TritonPool | ModelRouterPool)[];
  /** Models the router manages. */
  readonly models: readonly ModelRouterModel[];
  /** Container image. @default DEFAULT_ROUTER_IMAGE */
  readonly image?: string;
  /** GPU memory Triton takes besides its models (CUDA context), GiB. @default 0.6 */
  readonly processOverheadGiB?: number;
  /** Requests that may wait for one model to load. @default 256 */
  readonly maxQueuePerModel?: number;
  /** Longest wait for one load, seconds. @default 120 */
  readonly loadTimeoutSeconds?: number;
  /** How often each backend's repository index is read, seconds. @default 10 */
  readonly refreshIntervalSeconds?: number;
  /** CPU request and limit of the router container. @default { request: '500m', limit: '2' } */
  readonly cpu?: { readonly request: string; readonly limit: string };
  /** Memory request and limit of the router container. @default { request: '256Mi', limit: '512Mi' } */
  readonly memory?: { readonly request: string; readonly limit: string };
  /** Render a ServiceMonitor for `/metrics`. @default true */
  readonly serviceMonitor?: boolean;
}

/** The router config as rendered into the ConfigMap (the same schema `gpufleet router --config` reads). */
export interface RenderedRouterConfig {
  readonly listen: string;
  readonly admin: string;
  readonly backends: ReadonlyArray<{ name: string; url: string; memoryGiB: number; discover: 'dns'; grpcPort: number }>;
  readonly models: ReadonlyArray<{ name: string; memoryGiB: number; pinned?: boolean }>;
  readonly maxQueuePerModel: number;
  readonly loadTimeoutSeconds: number;
  readonly refreshIntervalSeconds: number;
}

const positive = (path: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${path}: expected a number > 0, got ${quote(v)}`);
  return v;
};

/**
 * Longest duration the router accepts, seconds: a Node timer over 2^31 - 1 ms fires after 1 ms (the router's
 * ROUTER_LIMITS.maxTimerSeconds, constructs/runtime/config.ts, which this layer may not import).
 */
const MAX_TIMER_SECONDS = 2147483;
/** Most requests waiting for one model (the router's ROUTER_LIMITS.maxQueuePerModel). */
const MAX_QUEUE_PER_MODEL = 1_000_000;

const seconds = (path: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_TIMER_SECONDS) {
    throw new Error(`${path}: expected a number > 0 and <= ${MAX_TIMER_SECONDS} (seconds a Node timer can hold), got ${quote(v)}`);
  }
  return v;
};

/** GPU memory of one slice of a pool, GiB, as the driver reports it. */
export function poolSliceMemoryGiB(pool: TritonPool): number {
  return pool.profile === 'whole' ? getGpuType(pool.gpuType).memoryGiB : getMigProfile(pool.gpuType, pool.profile).memoryGiB;
}

export class ModelRouter extends Construct {
  public readonly name: string;
  public readonly namespace?: string;
  public readonly image: string;
  /** The router config (also in the ConfigMap as `router.yaml`). */
  public readonly config: RenderedRouterConfig;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  /** One headless Service per pool, in the pool's namespace. */
  public readonly podServices: readonly k8s.KubeService[];
  public readonly serviceMonitor?: ServiceMonitor;

  public constructor(scope: Construct, id: string, props: ModelRouterProps) {
    super(scope, id);
    this.name = props.name ?? 'model-router';
    assertDnsLabel('name', this.name);
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    if (this.namespace !== undefined) assertDnsLabel('namespace', this.namespace);
    this.image = props.image ?? DEFAULT_ROUTER_IMAGE;
    assertImageReference('image', this.image);
    const overhead = props.processOverheadGiB ?? 0.6;
    if (typeof overhead !== 'number' || !(overhead >= 0))
      throw new Error(`processOverheadGiB: expected a number >= 0, got ${JSON.stringify(overhead)}`);
    const models = checkedModels(props.models);
    const pools = checkedPools(props.pools, overhead, new Set(models.map((m) => m.name)));
    const largest = Math.max(...pools.map((p) => p.budget));
    models.forEach((m, i) => {
      if (m.memoryGiB > largest)
        throw new Error(`models[${i}].memoryGiB: "${m.name}" needs ${m.memoryGiB} GiB, more than the largest pool budget ${largest} GiB`);
    });

    // one headless Service per pool: its DNS name lists every ready pod of the pool
    const sortedPools = [...pools].sort((a, b) =>
      compareText(`${a.pool.namespace ?? ''}/${a.pool.name}`, `${b.pool.namespace ?? ''}/${b.pool.name}`),
    );
    this.podServices = sortedPools.map(({ pool }) => this.renderPodService(pool));
    const backends = sortedPools.map(({ pool, budget }) => {
      const host = `${pool.name}-pods.${pool.namespace ?? this.namespace ?? 'default'}.svc.cluster.local`;
      // loads go over gRPC RepositoryModelLoad, which holds no Triton HTTP worker (grpc-repository.ts in the router)
      return {
        name: pool.name,
        url: `http://${host}:${TRITON_HTTP_PORT}`,
        memoryGiB: budget,
        discover: 'dns' as const,
        grpcPort: TRITON_GRPC_PORT,
      };
    });
    this.config = checkedConfig(props, backends, models);
    const configText = stringify(this.config);
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: this.meta(`${this.name}-config`),
      data: { 'router.yaml': configText },
    });
    this.deployment = this.renderDeployment(props, configText);
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: this.meta(this.name),
      spec: {
        type: 'ClusterIP',
        selector: this.selector(),
        ports: [{ name: 'http', port: ROUTER_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
    if (props.serviceMonitor ?? true) {
      this.serviceMonitor = new ServiceMonitor(this, 'Monitor', {
        metadata: this.meta(this.name),
        spec: { selector: { matchLabels: this.selector() }, endpoints: [{ port: 'http', path: '/metrics', interval: '15s' }] },
      });
    }
  }

  private labels(): Record<string, string> {
    return {
      'app.kubernetes.io/name': 'gpufleet-router',
      'app.kubernetes.io/instance': this.name,
      'app.kubernetes.io/component': 'model-router',
      'app.kubernetes.io/part-of': 'gpufleet',
    };
  }

  private selector(): Record<string, string> {
    return { 'app.kubernetes.io/name': 'gpufleet-router', 'app.kubernetes.io/instance': this.name };
  }

  private meta(name: string, namespace = this.namespace): k8s.ObjectMeta {
    return { name, labels: this.labels(), ...(namespace ? { namespace } : {}) };
  }

  /** The headless Service `<pool>-pods` in the pool's namespace: its DNS name lists every ready pod of the pool. */
  private renderPodService(pool: TritonPool): k8s.KubeService {
    return new k8s.KubeService(this, `Pods-${pool.namespace ?? 'default'}-${pool.name}`, {
      metadata: {
        ...this.meta(`${pool.name}-pods`, pool.namespace),
        labels: { ...this.labels(), 'app.kubernetes.io/component': 'model-router-backends' },
      },
      spec: {
        clusterIp: 'None',
        selector: { ...pool.selectorLabels },
        ports: [
          { name: 'http', port: TRITON_HTTP_PORT, targetPort: k8s.IntOrString.fromNumber(TRITON_HTTP_PORT), protocol: 'TCP' },
          {
            name: 'grpc',
            port: TRITON_GRPC_PORT,
            targetPort: k8s.IntOrString.fromNumber(TRITON_GRPC_PORT),
            protocol: 'TCP',
            appProtocol: 'kubernetes.io/h2c',
          },
        ],
      },
    });
  }

  /** The router Deployment: one replica, hardened, its config mounted; rolled when the config changes. */
  private renderDeployment(props: ModelRouterProps, configText: string): k8s.KubeDeployment {
    const labels = this.labels();
    const cpu = props.cpu ?? { request: '500m', limit: '2' };
    const memory = props.memory ?? { request: '256Mi', limit: '512Mi' };
    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 2,
    });
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: this.meta(this.name),
      spec: {
        // one router per set of pools: routers do not share their cache state
        replicas: 1,
        selector: { matchLabels: this.selector() },
        template: {
          metadata: { labels, annotations: { 'gpufleet.io/router-config-sha256': createHash('sha256').update(configText).digest('hex') } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: ROUTER_UID,
              runAsGroup: ROUTER_UID,
              fsGroup: ROUTER_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'router',
                image: this.image,
                args: ['--config', ROUTER_CONFIG_PATH, '--log-level', 'info'],
                ports: [{ name: 'http', containerPort: ROUTER_PORT, protocol: 'TCP' }],
                readinessProbe: probe('/v2/health/ready', 5, 3),
                livenessProbe: probe('/v2/health/live', 10, 3),
                startupProbe: probe('/v2/health/live', 2, 30),
                resources: {
                  requests: { cpu: k8s.Quantity.fromString(cpu.request), memory: k8s.Quantity.fromString(memory.request) },
                  limits: { cpu: k8s.Quantity.fromString(cpu.limit), memory: k8s.Quantity.fromString(memory.limit) },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/gpufleet-router', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: this.configMap.name } }],
          },
        },
      },
    });
  }

  /** In-cluster URL clients send Open Inference Protocol requests to (instead of a pool's Service). */
  public get url(): string {
    return `http://${this.name}.${this.namespace ?? 'default'}.svc.cluster.local:${ROUTER_PORT}`;
  }
}

type CheckedModel = RenderedRouterConfig['models'][number];

/** The models: at least one, unique DNS-label names, a memory figure > 0, pinned or not. */
function checkedModels(given: ModelRouterProps['models']): CheckedModel[] {
  if (!Array.isArray(given) || given.length === 0) throw new Error(`models: expected at least one model, got ${JSON.stringify(given)}`);
  const modelIndex = new Map<string, number>();
  return (given as ModelRouterProps['models']).map((m, i) => {
    assertDnsLabel(`models[${i}].name`, m?.name);
    if (modelIndex.has(m.name)) throw new Error(`models[${i}].name: "${m.name}" is already used by models[${modelIndex.get(m.name)}]`);
    modelIndex.set(m.name, i);
    if (m.pinned !== undefined && typeof m.pinned !== 'boolean')
      throw new Error(`models[${i}].pinned: expected true or false, got ${JSON.stringify(m.pinned)}`);
    return { name: m.name, memoryGiB: positive(`models[${i}].memoryGiB`, m.memoryGiB), ...(m.pinned ? { pinned: true } : {}) };
  });
}

/**
 * The pools with the GPU memory the router may fill on each (given, else the slice's memory less the process
 * overhead); no pool twice, and every model a pool loads at start listed in `models`.
 */
function checkedPools(
  given: ModelRouterProps['pools'],
  overhead: number,
  modelNames: ReadonlySet<string>,
): { pool: TritonPool; budget: number }[] {
  if (!Array.isArray(given) || given.length === 0) throw new Error(`pools: expected at least one TritonPool, got ${JSON.stringify(given)}`);
  const seenPools = new Set<string>();
  return (given as ModelRouterProps['pools']).map((p, i) => {
    const entry: ModelRouterPool = p instanceof TritonPool ? { pool: p } : p;
    if (!(entry?.pool instanceof TritonPool))
      throw new Error(`pools[${i}]: expected a TritonPool or { pool: TritonPool, memoryGiB? }, got ${JSON.stringify(p)}`);
    const pool = entry.pool;
    const key = `${pool.namespace ?? ''}/${pool.name}`;
    if (seenPools.has(key)) throw new Error(`pools[${i}]: pool "${pool.name}" is listed twice`);
    seenPools.add(key);
    const slice = poolSliceMemoryGiB(pool);
    const budget =
      entry.memoryGiB === undefined ? Math.round((slice - overhead) * 1000) / 1000 : positive(`pools[${i}].memoryGiB`, entry.memoryGiB);
    if (budget <= 0)
      throw new Error(
        `pools[${i}].memoryGiB: slice ${pool.profile} of ${pool.gpuType} has ${slice} GiB, no room after processOverheadGiB ${overhead}`,
      );
    if (budget > slice)
      throw new Error(
        `pools[${i}].memoryGiB: expected at most the slice memory ${slice} GiB (${pool.profile} of ${pool.gpuType}), got ${budget}`,
      );
    for (const m of pool.models) {
      if (!modelNames.has(m)) {
        throw new Error(
          `pools[${i}]: pool "${pool.name}" loads model "${m}" at start but models does not list it ` +
            '(its GPU memory would not be counted); add it to models',
        );
      }
    }
    return { pool, budget };
  });
}

/** The router config: listeners, backends, models by name, queue length and timings (checked). */
function checkedConfig(
  props: ModelRouterProps,
  backends: RenderedRouterConfig['backends'],
  models: readonly CheckedModel[],
): RenderedRouterConfig {
  const config: RenderedRouterConfig = {
    listen: `0.0.0.0:${ROUTER_PORT}`,
    admin: ROUTER_ADMIN_LISTEN,
    backends,
    models: [...models].sort((a, b) => compareText(a.name, b.name)),
    maxQueuePerModel: props.maxQueuePerModel ?? 256,
    loadTimeoutSeconds: props.loadTimeoutSeconds ?? 120,
    refreshIntervalSeconds: props.refreshIntervalSeconds ?? 10,
  };
  const q = config.maxQueuePerModel;
  if (!Number.isInteger(q) || q < 1 || q > MAX_QUEUE_PER_MODEL) {
    // at least 1: with 0 every request for a model that is not loaded would be refused, for good
    throw new Error(`maxQueuePerModel: expected an integer >= 1 and <= ${MAX_QUEUE_PER_MODEL}, got ${quote(props.maxQueuePerModel)}`);
  }
  seconds('loadTimeoutSeconds', config.loadTimeoutSeconds);
  seconds('refreshIntervalSeconds', config.refreshIntervalSeconds);
  return config;
}
