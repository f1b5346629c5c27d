/**
 * The serving side of a platform's pools: one `PoolAutoscaling` per autoscaled pool, the
 * prometheus-adapter rules HPAs read, and the per-model routes to the pools.
 */
import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { GatewayRef, ModelIngressOptions, ModelRoutes } from './model-routes';
import { PoolAutoscaling } from './pool-autoscaling';
import { PrometheusAdapterRules } from './prometheus-adapter-rules';
import type { PoolScaling } from './team-contract';
import type { TritonPool } from './triton-pool';


/** Routing of the platform: Gateway API HTTPRoutes (default) or an Ingress per namespace. */
export interface PlatformRoutesOptions {
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

/** A pool with its owner and scaling, as the platform created it. */
export interface ServedPool {
  readonly pool: TritonPool;
  readonly owner: string;
  readonly scaling: PoolScaling;
  readonly maxReplicas: number;
}

export interface PlatformServingProps {
  /** The pools, sorted by name. */
  readonly pools: readonly ServedPool[];
  /** model → pool → weight (requests/s the plan sends); absent = weight by replicas. @default - by replicas */
  readonly weights?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Namespace of the platform's shared objects. */
  readonly namespace: string;
  readonly gatewayNamespace: string;
  readonly monitoringNamespace: string;
  /** @default - see `PlatformRoutesOptions` */
  readonly routes?: PlatformRoutesOptions;
  /** Models that must be routed (every model of the repository). @default - the models of the pools */
  readonly models?: readonly string[];
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
  public readonly routes?: ModelRoutes;

  constructor(scope: Construct, id: string, props: PlatformServingProps) {
    super(scope, id);
    const autoscaling = new Map<string, PoolAutoscaling>();
    for (const { pool, scaling } of props.pools) {
      if (scaling.kind === 'fixed') continue;
      const { kind, ...rest } = scaling;
      autoscaling.set(pool.name, new PoolAutoscaling(this, `Autoscaling-${pool.name}`, { ...rest, pool, engine: kind }));
    }
    this.autoscaling = autoscaling;
    if ([...autoscaling.values()].some((a) => a.engine === 'hpa')) {
      this.adapterRules = new PrometheusAdapterRules(this, 'AdapterRules', { namespace: props.monitoringNamespace });
    }

    const weights = new Map<string, Map<string, number>>();
    for (const { pool } of props.pools) {
      for (const model of pool.models) {
        const w = props.weights?.get(model)?.get(pool.name) ?? pool.replicas;
        const m = weights.get(model) ?? new Map<string, number>();
        m.set(pool.name, w);
        weights.set(model, m);
      }
    }
    this.routeWeights = new Map(
      [...weights.keys()].sort().map((m) => [m, new Map([...weights.get(m)!.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))]),
    );

    if (props.pools.length === 0) return;
    const routes = props.routes ?? {};
    // HTTPRoute weights are integers: a planned pool's weight is the requests/s the plan sends it, rounded (at least 1).
    const poolWeight = (pool: TritonPool): number | undefined => {
      if (!props.weights || routes.ingress) return undefined;
      // Weights are per pool: take them from the models whose traffic is split across pools.
      const split = pool.models.filter((m) => (props.weights!.get(m)?.size ?? 0) > 1);
      const ws = split.map((m) => props.weights!.get(m)!.get(pool.name)).filter((w): w is number => w !== undefined);
      return ws.length === 0 ? undefined : Math.max(1, Math.round(Math.max(...ws)));
    };
    this.routes = new ModelRoutes(this, 'Routes', {
      name: routes.name,
      pools: props.pools.map(({ pool }) => {
        const weight = poolWeight(pool);
        return weight === undefined ? pool : { pool, weight };
      }),
      ...(routes.ingress ? { ingress: routes.ingress } : { gateway: routes.gateway ?? { name: 'inference', namespace: props.gatewayNamespace } }),
      hostnames: routes.hostnames,
      requestTimeout: routes.requestTimeout,
      models: props.models,
    });
  }
}
