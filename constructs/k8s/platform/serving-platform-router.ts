/**
 * The cold tier of a planned platform: a `ModelRouter` over the cache pools (Triton in explicit
 * model-control mode with nothing loaded at start), and the NetworkPolicies a default-deny team
 * namespace needs for it: router → cache pods (HTTP 8000 for inference and the repository index, gRPC 8001 for
 * loads), cache pods ← router on those ports, Prometheus → router metrics. Only the router reaches the cache pods'
 * Triton ports: the namespace's `allow-from-gateway` leaves out pods labelled `gpufleet.io/cache-pool`, so the
 * repository API (load, unload) of a cache pod is the router's alone. The gateway reaches the router through
 * `allow-from-gateway`.
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ModelRouter, ModelRouterModel, ModelRouterProps, ROUTER_PORT } from '../serving/model-router';
import { byString } from '../common/order';
import { TRITON_GRPC_PORT, TRITON_HTTP_PORT, TritonPool } from '../serving/triton-pool';

/** Settings of the router a planned platform deploys for its cold models. */
export type PlatformRouterOptions = Partial<
  Pick<
    ModelRouterProps,
    'name' | 'image' | 'maxQueuePerModel' | 'loadTimeoutSeconds' | 'refreshIntervalSeconds' | 'cpu' | 'memory' | 'serviceMonitor'
  >
>;

export interface PlatformRouterProps extends PlatformRouterOptions {
  /** Namespace of the router: the namespace of the cache pools. */
  readonly namespace: string;
  /** The cache pools (their pods become the router's backends), in one namespace. */
  readonly pools: readonly TritonPool[];
  /** The models the router loads on demand. */
  readonly models: readonly ModelRouterModel[];
  /** GPU memory Triton takes besides its models (the fleet's `processOverheadGiB`), GiB. */
  readonly processOverheadGiB: number;
  /** Namespace of Prometheus (scrapes the router's `/metrics` on its HTTP port). */
  readonly monitoringNamespace: string;
}

/** A `ModelRouter` over cache pools, with the NetworkPolicies that let it reach them. */
export class PlatformRouter extends Construct {
  public readonly router: ModelRouter;
  /** NetworkPolicies: router egress to the cache pods, cache-pod ingress from the router, metrics ingress. */
  public readonly networkPolicies: readonly k8s.KubeNetworkPolicy[];

  constructor(scope: Construct, id: string, props: PlatformRouterProps) {
    super(scope, id);
    if (props.pools.length === 0) throw new Error(`router.pools: expected at least one cache pool, got none`);
    const pools = [...props.pools].sort((a, b) => byString(a.name, b.name));
    for (const p of pools) {
      if (p.namespace !== props.namespace) {
        throw new Error(
          `router.pools: cache pool "${p.name}" is in namespace "${p.namespace ?? ''}", ` +
            `expected the router's namespace "${props.namespace}"`,
        );
      }
    }
    const { namespace, pools: _pools, models, processOverheadGiB, monitoringNamespace, ...options } = props;
    this.router = new ModelRouter(this, 'Router', {
      ...options,
      namespace,
      pools,
      models: [...models].map((m) => ({ ...m, pinned: false })).sort((a, b) => byString(a.name, b.name)),
      processOverheadGiB,
    });

    // the router's pod selector, as its Deployment renders it
    const routerPods: k8s.LabelSelector = {
      matchLabels: { ...(this.router.deployment.toJson() as { spec: { selector: k8s.LabelSelector } }).spec.selector.matchLabels },
    };
    const cachePods: k8s.LabelSelector = {
      matchLabels: { 'app.kubernetes.io/name': 'triton' },
      matchExpressions: [{ key: 'app.kubernetes.io/instance', operator: 'In', values: pools.map((p) => p.name) }],
    };
    const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    const name = this.router.name;
    const labels = { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'model-router' };
    this.networkPolicies = [
      new k8s.KubeNetworkPolicy(this, 'RouterToCache', {
        metadata: { name: `${name}-to-cache`, namespace, labels },
        spec: {
          podSelector: routerPods,
          policyTypes: ['Egress'],
          egress: [{ to: [{ podSelector: cachePods }], ports: [tcp(TRITON_HTTP_PORT), tcp(TRITON_GRPC_PORT)] }],
        },
      }),
      new k8s.KubeNetworkPolicy(this, 'CacheFromRouter', {
        metadata: { name: `cache-from-${name}`, namespace, labels },
        spec: {
          podSelector: cachePods,
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: routerPods }], ports: [tcp(TRITON_HTTP_PORT), tcp(TRITON_GRPC_PORT)] }],
        },
      }),
      new k8s.KubeNetworkPolicy(this, 'Metrics', {
        metadata: { name: `${name}-from-prometheus`, namespace, labels },
        spec: {
          podSelector: routerPods,
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': monitoringNamespace } } }],
              ports: [tcp(ROUTER_PORT)],
            },
          ],
        },
      }),
    ];
  }
}
