/**
 * Per-model routing: clients see one endpoint and address models by name (Open Inference Protocol,
 * `/v2/models/<name>/infer`); each model's path goes to the Service of the pool that serves it.
 *
 * Gateway API mode renders `HTTPRoute`s (gateway.networking.k8s.io/v1) attached to a given Gateway. Models served
 * by the same pools with the same weights share one rule (one PathPrefix match per model), so hundreds of models
 * stay within the HTTPRoute limits (16 rules, 64 matches per rule, 128 matches per route), which are respected by
 * splitting into several routes. A model on two pools splits by weight (given, or proportional to replicas).
 *
 * Ingress mode (networking.k8s.io/v1, where no Gateway exists) renders one path per model. An Ingress can not
 * weight backends, so a model on several pools gets a Service of its own that selects every pod serving it
 * (traffic proportional to pods); explicit weights need Gateway API mode.
 *
 * Routes live in the namespace of their pools: a Gateway must allow routes from those namespaces
 * (`allowedRoutes.namespaces.from: All` or a selector). One model path routes into one namespace.
 */
import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { assertDnsLabel } from '../common/names';
import { TRITON_MODEL_LABEL_PREFIX } from '../common/labels';
import { TRITON_HTTP_PORT, TritonPool } from './triton-pool';

const GATEWAY_GROUP = 'gateway.networking.k8s.io' as const;
/** Limits of HTTPRoute v1 (maxItems of rules and matches, and the CEL limit on matches per route). */
export const HTTPROUTE_MAX_RULES = 16;
export const HTTPROUTE_MAX_MATCHES_PER_RULE = 64;
export const HTTPROUTE_MAX_MATCHES_PER_ROUTE = 128;

/** The Gateway routes attach to. */
export interface GatewayRef {
  /** Gateway name. */
  readonly name: string;
  /** Gateway namespace. @default - the route's namespace */
  readonly namespace?: string;
  /** Listener name. @default - every listener that allows the route */
  readonly sectionName?: string;
}

/** Ingress options (fallback mode). */
export interface ModelIngressOptions {
  /** `spec.ingressClassName`. @default - the cluster's default class */
  readonly className?: string;
  /** Annotations of the Ingress (controller settings such as body size or timeouts). @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A pool with an explicit traffic weight. */
export interface WeightedPool {
  readonly pool: TritonPool;
  /** Relative weight among the pools that serve the same model, integer >= 0. @default - the pool's replicas (at least 1) */
  readonly weight?: number;
}

export interface ModelRouteTableProps {
  /** Name of the routes (suffixed `-2`, `-3`, ... when one namespace needs several HTTPRoutes). @default 'models' */
  readonly name?: string;
  /** The pools whose models are routed. */
  readonly pools: readonly (TritonPool | WeightedPool)[];
  /** Gateway API mode: the Gateway the HTTPRoutes attach to. Exactly one of `gateway` and `ingress`. @default - none */
  readonly gateway?: GatewayRef;
  /** Ingress mode. Exactly one of `gateway` and `ingress`. @default - none */
  readonly ingress?: ModelIngressOptions;
  /** Host names the routes answer for. @default - any host (Ingress: at most one host) */
  readonly hostnames?: readonly string[];
  /** Models that must be routed (e.g. every model of the repository); one without a pool is an error. @default - the models of the pools */
  readonly models?: readonly string[];
  /**
   * Gateway API: per-model weights, model → pool name → integer weight >= 0 (e.g. the requests/s a plan sends each
   * pool), overriding the pool weight for that model. Every pool serving a listed model must be named.
   * @default - the pool weights
   */
  readonly modelWeights?: ReadonlyMap<string, ReadonlyMap<string, number>> | Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Gateway API: request timeout of every rule. @default - the Gateway implementation's default */
  readonly requestTimeout?: Duration;
}

/** Where one model's traffic goes. */
export interface ModelBackend {
  readonly pool: TritonPool;
  readonly weight: number;
}

/** Typed subset of the Gateway API HTTPRoute rule that gpufleet renders. */
interface HttpRouteRule {
  readonly matches: { readonly path: { readonly type: 'PathPrefix'; readonly value: string } }[];
  readonly backendRefs: {
    readonly group: '';
    readonly kind: 'Service';
    readonly name: string;
    readonly port: number;
    readonly weight?: number;
  }[];
  readonly timeouts?: { readonly request: string };
}

/** Typed subset of the Gateway API HTTPRoute spec that gpufleet renders (no cdk8s class exists for it). */
interface HttpRouteSpec {
  readonly parentRefs: {
    readonly group: typeof GATEWAY_GROUP;
    readonly kind: 'Gateway';
    readonly name: string;
    readonly namespace?: string;
    readonly sectionName?: string;
  }[];
  readonly hostnames?: string[];
  readonly rules: HttpRouteRule[];
}

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** HTTPRoutes (or Ingresses) that send each model's path to the pools serving it. */
export class ModelRouteTable extends Construct {
  public readonly name: string;
  public readonly mode: 'gateway' | 'ingress';
  /** The rendered HTTPRoutes (Gateway API mode) or Ingresses, in order. */
  public readonly routes: ApiObject[] = [];
  private readonly _backends = new Map<string, ModelBackend[]>();

  public constructor(scope: Construct, id: string, props: ModelRouteTableProps) {
    super(scope, id);
    this.name = props.name ?? 'models';
    assertDnsLabel('name', this.name);
    if ((props.gateway === undefined) === (props.ingress === undefined)) {
      throw new Error(`routes: expected exactly one of gateway and ingress, got ${props.gateway === undefined ? 'neither' : 'both'}`);
    }
    this.mode = props.gateway ? 'gateway' : 'ingress';
    if (props.gateway) {
      assertDnsLabel('gateway.name', props.gateway.name);
      if (props.gateway.namespace !== undefined) assertDnsLabel('gateway.namespace', props.gateway.namespace);
    }
    const hostnames = [...(props.hostnames ?? [])].sort();
    hostnames.forEach((h, i) => {
      if (!HOSTNAME.test(h) || h.length > 253) throw new Error(`hostnames[${i}]: expected a DNS host name, got ${JSON.stringify(h)}`);
    });
    if (props.requestTimeout !== undefined) {
      const ms = props.requestTimeout.toMilliseconds({ integral: false });
      if (!Number.isInteger(ms) || ms < 1) throw new Error(`requestTimeout: expected whole milliseconds >= 1, got ${ms}ms`);
      if (this.mode === 'ingress')
        throw new Error('requestTimeout: an Ingress has no portable timeout; set it with ingress.annotations, got a requestTimeout');
    }
    if (this.mode === 'ingress' && hostnames.length > 1) {
      throw new Error(`hostnames: ingress mode takes at most one host, got ${hostnames.length}`);
    }
    this.addPoolBackends(props.pools);
    this.applyModelWeights(toNestedMap(props.modelWeights));
    this.checkBackends(props.models ?? []);
    this.renderRoutes(props, hostnames);
  }

  /** Each pool's models as its backends (weight: the given one, else its replicas); a pool given twice is an error. */
  private addPoolBackends(pools: ModelRouteTableProps['pools']): void {
    if (!Array.isArray(pools) || pools.length === 0) {
      throw new Error(`pools: expected at least one pool, got ${JSON.stringify(pools)}`);
    }
    const seenPools = new Map<string, number>();
    (pools as ModelRouteTableProps['pools']).forEach((entry, i) => {
      const wp: WeightedPool = entry instanceof TritonPool ? { pool: entry } : entry;
      if (!(wp.pool instanceof TritonPool)) throw new Error(`pools[${i}]: expected a TritonPool, got ${JSON.stringify(entry)}`);
      const key = `${wp.pool.namespace ?? ''}/${wp.pool.name}`;
      if (seenPools.has(key)) {
        throw new Error(
          `pools[${i}]: duplicate route: pool ${JSON.stringify(wp.pool.name)} is already routed as pools[${seenPools.get(key)}]`,
        );
      }
      seenPools.set(key, i);
      if (wp.weight !== undefined) {
        if (this.mode === 'ingress') {
          throw new Error(`pools[${i}].weight: an Ingress can not weight backends; use gateway mode, got weight ${wp.weight}`);
        }
        if (!Number.isInteger(wp.weight) || wp.weight < 0 || wp.weight > 1_000_000) {
          throw new Error(`pools[${i}].weight: expected an integer in 0..1000000, got ${JSON.stringify(wp.weight)}`);
        }
      }
      const weight = wp.weight ?? Math.max(wp.pool.replicas, 1);
      for (const m of wp.pool.models) {
        const list = this._backends.get(m) ?? [];
        const other = list.find((b) => b.pool.namespace !== wp.pool.namespace);
        if (other) {
          throw new Error(
            `pools[${i}]: duplicate route: model ${JSON.stringify(m)} is served in namespace ${JSON.stringify(wp.pool.namespace ?? '')} ` +
              `(pool ${wp.pool.name}) and ${JSON.stringify(other.pool.namespace ?? '')} (pool ${other.pool.name}); ` +
              'one model path routes into one namespace',
          );
        }
        list.push({ pool: wp.pool, weight });
        this._backends.set(m, list);
      }
    });
  }

  /** Per-model weights (gateway mode): one integer weight for every pool serving the model, replacing the pools' own. */
  private applyModelWeights(modelWeights: Map<string, Map<string, number>>): void {
    if (modelWeights.size > 0 && this.mode === 'ingress') {
      throw new Error(
        `modelWeights: an Ingress can not weight backends; use gateway mode, got weights for ${[...modelWeights.keys()].sort().join(', ')}`,
      );
    }
    for (const m of [...modelWeights.keys()].sort()) {
      const list = this._backends.get(m);
      if (list === undefined) throw new Error(`modelWeights.${m}: model ${JSON.stringify(m)} is routed to no pool`);
      const ws = modelWeights.get(m)!;
      for (const pool of [...ws.keys()].sort()) {
        if (!list.some((b) => b.pool.name === pool)) {
          throw new Error(
            `modelWeights.${m}.${pool}: pool ${JSON.stringify(pool)} does not serve ${m} (served by ${list
              .map((b) => b.pool.name)
              .sort()
              .join(', ')})`,
          );
        }
      }
      this._backends.set(
        m,
        list.map((b) => {
          const w = ws.get(b.pool.name);
          if (w === undefined) {
            throw new Error(`modelWeights.${m}.${b.pool.name}: expected a weight for every pool serving ${m}, got none`);
          }
          if (!Number.isInteger(w) || w < 0 || w > 1_000_000) {
            throw new Error(`modelWeights.${m}.${b.pool.name}: expected an integer in 0..1000000, got ${JSON.stringify(w)}`);
          }
          return { pool: b.pool, weight: w };
        }),
      );
    }
  }

  /** Backends sorted by pool; every model has a weight > 0 somewhere; every model asked for is routed. */
  private checkBackends(models: readonly string[]): void {
    for (const [m, list] of this._backends) {
      list.sort((a, b) => (a.pool.name < b.pool.name ? -1 : a.pool.name > b.pool.name ? 1 : 0));
      if (list.every((b) => b.weight === 0)) {
        throw new Error(
          `pools: model ${JSON.stringify(m)} has weight 0 on every pool ` +
            `(${list.map((b) => b.pool.name).join(', ')}); give one a weight > 0`,
        );
      }
    }
    models.forEach((m, i) => {
      if (!this._backends.has(m)) {
        throw new Error(`models[${i}]: model ${JSON.stringify(m)} is routed to no pool (pools serve ${this.routedModels.join(', ')})`);
      }
    });
  }

  /** The routes of each namespace (in sorted order): HTTPRoutes in gateway mode, an Ingress otherwise. */
  private renderRoutes(props: ModelRouteTableProps, hostnames: string[]): void {
    const byNamespace = new Map<string, string[]>();
    for (const m of this.routedModels) {
      const ns = this._backends.get(m)![0].pool.namespace ?? '';
      byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), m]);
    }
    for (const ns of [...byNamespace.keys()].sort()) {
      const models = byNamespace.get(ns)!;
      if (this.mode === 'gateway') this.renderHttpRoutes(ns, models, props.gateway!, hostnames, props.requestTimeout);
      else this.renderIngress(ns, models, props.ingress!, hostnames[0]);
    }
  }

  /** Every routed model, sorted. */
  public get routedModels(): string[] {
    return [...this._backends.keys()].sort();
  }

  /** The pools (and weights) a model's traffic goes to, sorted by pool name; empty when it is not routed. */
  public backendsOf(model: string): ModelBackend[] {
    return [...(this._backends.get(model) ?? [])];
  }

  private routeName(i: number): string {
    const n = i === 0 ? this.name : `${this.name}-${i + 1}`;
    assertDnsLabel('name', n);
    return n;
  }

  private renderHttpRoutes(ns: string, models: string[], gateway: GatewayRef, hostnames: string[], timeout?: Duration): void {
    // One rule per distinct backend set; its matches are the models that share it (sorted).
    const groups = new Map<string, { backends: ModelBackend[]; models: string[] }>();
    for (const m of models) {
      const backends = this._backends.get(m)!;
      const key = backends.map((b) => `${b.pool.name}:${b.weight}`).join(',');
      const g = groups.get(key) ?? { backends, models: [] };
      g.models.push(m);
      groups.set(key, g);
    }
    const rules: HttpRouteRule[] = [];
    for (const g of [...groups.values()].sort((a, b) => (a.models[0] < b.models[0] ? -1 : 1))) {
      for (let i = 0; i < g.models.length; i += HTTPROUTE_MAX_MATCHES_PER_RULE) {
        rules.push({
          matches: g.models
            .slice(i, i + HTTPROUTE_MAX_MATCHES_PER_RULE)
            .map((m) => ({ path: { type: 'PathPrefix', value: `/v2/models/${m}` } })),
          backendRefs: g.backends.map((b) => ({
            group: '',
            kind: 'Service',
            name: b.pool.service.name,
            port: TRITON_HTTP_PORT,
            ...(g.backends.length > 1 ? { weight: b.weight } : {}),
          })),
          ...(timeout ? { timeouts: { request: gatewayDuration(timeout.toMilliseconds()) } } : {}),
        });
      }
    }
    if (rules.some((r) => r.backendRefs.length > 16)) {
      throw new Error(
        `pools: a model is served by more than 16 pools in namespace ${JSON.stringify(ns)}; an HTTPRoute rule takes at most 16 backends`,
      );
    }
    // Pack rules into routes within the HTTPRoute limits.
    const chunks: HttpRouteRule[][] = [];
    let current: HttpRouteRule[] = [];
    let matches = 0;
    for (const r of rules) {
      if (current.length === HTTPROUTE_MAX_RULES || matches + r.matches.length > HTTPROUTE_MAX_MATCHES_PER_ROUTE) {
        chunks.push(current);
        current = [];
        matches = 0;
      }
      current.push(r);
      matches += r.matches.length;
    }
    chunks.push(current);
    chunks.forEach((chunkRules, i) => {
      const name = this.routeName(i);
      const spec: HttpRouteSpec = {
        parentRefs: [
          {
            group: GATEWAY_GROUP,
            kind: 'Gateway',
            name: gateway.name,
            ...(gateway.namespace ? { namespace: gateway.namespace } : {}),
            ...(gateway.sectionName ? { sectionName: gateway.sectionName } : {}),
          },
        ],
        ...(hostnames.length > 0 ? { hostnames } : {}),
        rules: chunkRules,
      };
      this.routes.push(
        new ApiObject(this, `HTTPRoute-${ns || 'default'}-${i}`, {
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: 'HTTPRoute',
          metadata: {
            name,
            ...(ns ? { namespace: ns } : {}),
            labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'routing' },
          },
          spec,
        }),
      );
    });
  }

  private renderIngress(ns: string, models: string[], options: ModelIngressOptions, host: string | undefined): void {
    const paths: k8s.HttpIngressPath[] = [];
    for (const m of models) {
      const backends = this._backends.get(m)!;
      let serviceName = backends[0].pool.service.name;
      if (backends.length > 1) {
        // A Service of the model: every pod serving it, whatever its pool (traffic proportional to pods).
        serviceName = `model-${m}`;
        if (serviceName.length > 63) {
          throw new Error(
            `models: model ${JSON.stringify(m)} is on several pools and its Service name ${serviceName} exceeds 63 characters; ` +
              'use gateway mode',
          );
        }
        new k8s.KubeService(this, `ModelService-${ns || 'default'}-${m}`, {
          metadata: {
            name: serviceName,
            ...(ns ? { namespace: ns } : {}),
            labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'routing' },
          },
          spec: {
            type: 'ClusterIP',
            selector: { 'app.kubernetes.io/name': 'triton', [`${TRITON_MODEL_LABEL_PREFIX}${m}`]: 'true' },
            ports: [{ name: 'http', port: TRITON_HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
          },
        });
      }
      paths.push({
        path: `/v2/models/${m}`,
        pathType: 'Prefix',
        backend: { service: { name: serviceName, port: { number: TRITON_HTTP_PORT } } },
      });
    }
    this.routes.push(
      new k8s.KubeIngress(this, `Ingress-${ns || 'default'}`, {
        metadata: {
          name: this.name,
          ...(ns ? { namespace: ns } : {}),
          labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'routing' },
          ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
        },
        spec: {
          ...(options.className ? { ingressClassName: options.className } : {}),
          rules: [{ ...(host ? { host } : {}), http: { paths } }],
        },
      }),
    );
  }
}

function toNestedMap(
  w: ReadonlyMap<string, ReadonlyMap<string, number>> | Readonly<Record<string, Readonly<Record<string, number>>>> | undefined,
): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  if (w === undefined) return out;
  const entries: [string, ReadonlyMap<string, number> | Readonly<Record<string, number>>][] =
    w instanceof Map
      ? [...(w as ReadonlyMap<string, ReadonlyMap<string, number>>).entries()]
      : Object.entries(w as Readonly<Record<string, Readonly<Record<string, number>>>>);
  for (const [model, inner] of entries) {
    out.set(
      model,
      new Map(
        inner instanceof Map ? [...(inner as ReadonlyMap<string, number>).entries()] : Object.entries(inner as Record<string, number>),
      ),
    );
  }
  return out;
}

/** A Gateway API Duration (`1h2m3s4ms`; each component at most 5 digits) from whole milliseconds. */
export function gatewayDuration(ms: number): string {
  const parts: [number, string][] = [
    [Math.floor(ms / 3_600_000), 'h'],
    [Math.floor((ms % 3_600_000) / 60_000), 'm'],
    [Math.floor((ms % 60_000) / 1000), 's'],
    [ms % 1000, 'ms'],
  ];
  const out = parts
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join('');
  return out || '0s';
}
