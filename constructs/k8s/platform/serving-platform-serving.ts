/**
 * The serving side of a platform's pools: one `PoolAutoscaling` per autoscaled pool, the
 * prometheus-adapter rules HPAs read, and the per-model routes to the pools.
 */
import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  GatewayRef,
  HTTPROUTE_MAX_MATCHES_PER_ROUTE,
  HTTPROUTE_MAX_MATCHES_PER_RULE,
  ModelIngressOptions,
  ModelRouteTable,
  gatewayDuration,
} from '../serving/model-routes';
import { ROUTER_PORT } from '../serving/model-router';
import { byString } from '../common/order';
import { PoolAutoscaling } from '../serving/pool-autoscaling';
import { PrometheusAdapterRules } from '../serving/prometheus-adapter-rules';
import { LatencyObjective, firstTokenTargetMicroseconds, queueTargetMicroseconds } from '../serving/latency-budget';
import type { PoolScaling } from '../teams/team-contract';
import type { TritonPool } from '../serving/triton-pool';

/** Routing of the platform: Gateway API HTTPRoutes (default) or an Ingress per namespace. */
export interface PlatformRoutingOptions {
  /** Host names clients use. @default - any host */
  readonly hostnames?: readonly string[];
  /** The Gateway the HTTPRoutes attach to. @default { name: 'inference', namespace: <gatewayNamespace> } */
  readonly gateway?: GatewayRef;
  /** Render Ingresses instead of HTTPRoutes (clusters without Gateway API). @default - none: Gateway API */
  readonly ingress?: ModelIngressOptions;
  /** Request timeout of every HTTPRoute rule. @default - the Gateway implementation's default */
  readonly requestTimeout?: Duration;
  /** Name of the routes in each namespace. @default 'models' */
  readonly name?: string;
}

/**
 * @deprecated renamed `PlatformRoutingOptions` (one letter from `PlatformRouterOptions`, the model router's); kept so
 * existing code compiles.
 */
export type PlatformRoutesOptions = PlatformRoutingOptions;

/** A pool with its owner and scaling, as the platform created it. */
export interface ServedPool {
  readonly pool: TritonPool;
  readonly owner: string;
  readonly scaling: PoolScaling;
  readonly maxReplicas: number;
  /**
   * A cache pool of the model router: its `models` are loaded on demand by the router, and their paths
   * route to the router, not to the pool. @default false
   */
  readonly cache?: boolean;
}

/** The model router of a platform's cold models, as the routes see it. */
export interface RoutedRouter {
  /** Name of the router's Service. */
  readonly serviceName: string;
  /** Namespace of the router (and of its routes). */
  readonly namespace: string;
  /** Models whose paths go to the router. */
  readonly models: readonly string[];
}

export interface PlatformServingProps {
  /** The pools, sorted by name. */
  readonly pools: readonly ServedPool[];
  /**
   * model → pool → integer route weight (a plan's `routeWeights`: each pool's part of the model's planned requests/s);
   * absent = weight by replicas. @default - by replicas
   */
  readonly weights?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Namespace of the platform's shared objects. */
  readonly namespace: string;
  readonly gatewayNamespace: string;
  readonly monitoringNamespace: string;
  /** Namespace of prometheus-adapter, where its rules ConfigMap must sit. @default - monitoringNamespace */
  readonly adapterNamespace?: string;
  /** @default - see `PlatformRoutingOptions` */
  readonly routes?: PlatformRoutingOptions;
  /** Models that must be routed (every model of the repository). @default - the models of the pools */
  readonly models?: readonly string[];
  /** The model routers (one per namespace): their models' paths go to their Services. @default - none */
  readonly routers?: readonly RoutedRouter[];
  /**
   * The models' latency objectives: an autoscaled pool without explicit targets gets them from its models' SLOs
   * (latency-budget.ts). @default - none: PoolAutoscaling's defaults
   */
  readonly objectives?: ReadonlyMap<string, LatencyObjective>;
}

/** Autoscaling, metrics rules and routes of a platform's pools. */
export class PlatformServing extends Construct {
  /** Autoscaling by pool name. */
  public readonly autoscaling: ReadonlyMap<string, PoolAutoscaling>;
  /** prometheus-adapter rules, when some pool scales with an HPA. */
  public readonly adapterRules?: PrometheusAdapterRules;
  /** model → pool name → weight, models and pools sorted. */
  public readonly routeWeights: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** The per-model routes, when there is a pool. */
  public readonly routes?: ModelRouteTable;
  /** HTTPRoutes (or the Ingress) sending the router's models to the router, in order. @default - none */
  public readonly routerRoutes: ApiObject[] = [];

  constructor(scope: Construct, id: string, props: PlatformServingProps) {
    super(scope, id);
    const autoscaling = new Map<string, PoolAutoscaling>();
    for (const { pool, scaling } of props.pools) {
      if (scaling.kind === 'fixed') continue;
      const { kind, ...rest } = scaling;
      autoscaling.set(
        pool.name,
        new PoolAutoscaling(this, `Autoscaling-${pool.name}`, { ...sloTargets(pool, props.objectives), ...rest, pool, engine: kind }),
      );
    }
    this.autoscaling = autoscaling;
    if ([...autoscaling.values()].some((a) => a.engine === 'hpa')) {
      // prometheus-adapter reads `rules.existing` from its own namespace only
      this.adapterRules = new PrometheusAdapterRules(this, 'AdapterRules', {
        namespace: props.adapterNamespace ?? props.monitoringNamespace,
      });
    }

    const routerModels = new Set((props.routers ?? []).flatMap((r) => r.models));
    const cacheModels = new Set(props.pools.filter((p) => p.cache).flatMap((p) => p.pool.models));
    for (const m of [...cacheModels].sort()) {
      if (!routerModels.has(m))
        throw new Error(
          `router.models: model "${m}" of a cache pool is not routed to the router ` +
            `(router models: ${[...routerModels].sort().join(', ') || 'none'})`,
        );
    }
    const seated = props.pools.filter((p) => !p.cache);
    const weights = new Map<string, Map<string, number>>();
    for (const { pool } of seated) {
      for (const model of pool.models) {
        const w = props.weights?.get(model)?.get(pool.name) ?? pool.replicas;
        const m = weights.get(model) ?? new Map<string, number>();
        m.set(pool.name, w);
        weights.set(model, m);
      }
    }
    this.routeWeights = new Map(
      [...weights.keys()].sort(byString).map((m) => [m, new Map([...weights.get(m)!.entries()].sort(([a], [b]) => byString(a, b)))]),
    );

    const routes = props.routes ?? {};
    for (const r of [...(props.routers ?? [])].sort((a, b) => byString(a.namespace, b.namespace))) {
      this.routerRoutes.push(...renderRouterRoutes(this, r, routes, props.gatewayNamespace));
    }
    if (seated.length === 0) return;
    this.routes = new ModelRouteTable(this, 'Routes', {
      name: routes.name,
      pools: seated.map(({ pool }) => pool),
      // per model: a model split over pools goes to each in proportion to the demand the plan sends it there
      ...(props.weights && !routes.ingress ? { modelWeights: splitWeights(this.routeWeights) } : {}),
      ...(routes.ingress
        ? { ingress: routes.ingress }
        : { gateway: routes.gateway ?? { name: 'inference', namespace: props.gatewayNamespace } }),
      hostnames: routes.hostnames,
      requestTimeout: routes.requestTimeout,
      models: props.models?.filter((m) => !routerModels.has(m)),
    });
  }
}

/** The weights of the models served by several pools (a model on one pool takes all its traffic there). */
function splitWeights(weights: ReadonlyMap<string, ReadonlyMap<string, number>>): Map<string, ReadonlyMap<string, number>> {
  return new Map([...weights.entries()].filter(([, pools]) => pools.size > 1));
}

/**
 * The autoscaling targets a pool's models' SLOs give (latency-budget.ts): the queue-time target from its models that
 * are not decoupled, the time-to-first-token target from its decoupled (vLLM) models; only for models with an SLO.
 */
function sloTargets(
  pool: TritonPool,
  objectives: ReadonlyMap<string, LatencyObjective> | undefined,
): { targetQueueMicroseconds?: number; targetFirstTokenMicroseconds?: number } {
  if (!objectives) return {};
  const decoupled = (m: string): boolean => pool.repository.hasModel(m) && pool.repository.model(m).decoupled;
  const of = (ms: readonly string[]): LatencyObjective[] =>
    ms.map((m) => objectives.get(m)).filter((o): o is LatencyObjective => o !== undefined);
  const queue = of(pool.models.filter((m) => !decoupled(m)));
  const firstToken = of(pool.models.filter(decoupled));
  return {
    ...(queue.length > 0 ? { targetQueueMicroseconds: queueTargetMicroseconds(queue, `pools.${pool.name}`) } : {}),
    ...(firstToken.length > 0 ? { targetFirstTokenMicroseconds: firstTokenTargetMicroseconds(firstToken, `pools.${pool.name}`) } : {}),
  };
}

/**
 * Routes of the router's models: every `/v2/models/<name>` path to the router's Service (port 8000).
 * Gateway API: HTTPRoutes `<name>-router` (`-2`, ... beyond 128 paths) in the router's namespace; Ingress:
 * one Ingress `<name>-router` there.
 */
function renderRouterRoutes(
  scope: Construct,
  router: RoutedRouter,
  options: PlatformRoutingOptions,
  gatewayNamespace: string,
): ApiObject[] {
  const models = [...new Set(router.models)].sort();
  if (models.length === 0) return [];
  const base = `${options.name ?? 'models'}-router`;
  const labels = { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'routing' };
  const hostnames = [...(options.hostnames ?? [])].sort();
  if (options.ingress) {
    return [
      new k8s.KubeIngress(scope, `RouterIngress-${router.namespace}`, {
        metadata: {
          name: base,
          namespace: router.namespace,
          labels,
          ...(options.ingress.annotations ? { annotations: { ...options.ingress.annotations } } : {}),
        },
        spec: {
          ...(options.ingress.className ? { ingressClassName: options.ingress.className } : {}),
          rules: [
            {
              ...(hostnames[0] ? { host: hostnames[0] } : {}),
              http: {
                paths: models.map((m) => ({
                  path: `/v2/models/${m}`,
                  pathType: 'Prefix',
                  backend: { service: { name: router.serviceName, port: { number: ROUTER_PORT } } },
                })),
              },
            },
          ],
        },
      }),
    ];
  }
  const gateway = options.gateway ?? { name: 'inference', namespace: gatewayNamespace };
  const out: ApiObject[] = [];
  for (let r = 0; r * HTTPROUTE_MAX_MATCHES_PER_ROUTE < models.length; r++) {
    const chunk = models.slice(r * HTTPROUTE_MAX_MATCHES_PER_ROUTE, (r + 1) * HTTPROUTE_MAX_MATCHES_PER_ROUTE);
    const rules = [];
    for (let i = 0; i < chunk.length; i += HTTPROUTE_MAX_MATCHES_PER_RULE) {
      rules.push({
        matches: chunk
          .slice(i, i + HTTPROUTE_MAX_MATCHES_PER_RULE)
          .map((m) => ({ path: { type: 'PathPrefix', value: `/v2/models/${m}` } })),
        backendRefs: [{ group: '', kind: 'Service', name: router.serviceName, port: ROUTER_PORT }],
        ...(options.requestTimeout ? { timeouts: { request: gatewayDuration(options.requestTimeout.toMilliseconds()) } } : {}),
      });
    }
    out.push(
      new ApiObject(scope, `RouterRoute-${router.namespace}-${r}`, {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: r === 0 ? base : `${base}-${r + 1}`, namespace: router.namespace, labels },
        spec: {
          parentRefs: [
            {
              group: 'gateway.networking.k8s.io',
              kind: 'Gateway',
              name: gateway.name,
              ...(gateway.namespace ? { namespace: gateway.namespace } : {}),
              ...(gateway.sectionName ? { sectionName: gateway.sectionName } : {}),
            },
          ],
          ...(hostnames.length > 0 ? { hostnames } : {}),
          rules,
        },
      }),
    );
  }
  return out;
}
