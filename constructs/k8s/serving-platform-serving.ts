/**
 * The serving side of a platform's pools: one `PoolAutoscaling` per autoscaled pool, the
 * prometheus-adapter rules HPAs read, and the per-model routes to the pools.
 */
import { Construct } from 'constructs';
import { PoolAutoscaling } from './pool-autoscaling';
import { PrometheusAdapterRules } from './prometheus-adapter-rules';
import type { PoolScaling } from './team-contract';
import type { TritonPool } from './triton-pool';

/** Routing of the platform. */
export interface PlatformRoutesOptions {
  /** Hostname clients use. @default - any host */
  readonly hostname?: string;
  /** Gateway API Gateway the routes attach to (`namespace/name` or `name` in the gateway namespace). @default 'inference' */
  readonly gateway?: string;
  /** Render an Ingress instead of Gateway API HTTPRoutes. @default false */
  readonly ingress?: boolean;
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
}

/** Autoscaling, metrics rules and routes of a platform's pools. */
export class PlatformServing extends Construct {
  /** Autoscaling by pool name. */
  public readonly autoscaling: ReadonlyMap<string, PoolAutoscaling>;
  /** prometheus-adapter rules, when some pool scales with an HPA. */
  public readonly adapterRules?: PrometheusAdapterRules;
  /** model → pool name → weight, models and pools sorted. */
  public readonly routeWeights: ReadonlyMap<string, ReadonlyMap<string, number>>;

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
  }
}
