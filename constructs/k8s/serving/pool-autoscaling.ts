/**
 * Autoscaling of a Triton pool on the request-weighted queue time of its servers: an HPA (autoscaling/v2) on the
 * prometheus-adapter metric `gpufleet_triton_queue_us_per_request`, or a KEDA ScaledObject with a Prometheus
 * trigger (which also scales cold tiers to zero). See prometheus-adapter-rules.ts for why the query is
 * request-weighted rather than the Triton chart's average of per-model ratios (triton-inference-server/server#8979).
 *
 * A pool serving decoupled models (the vLLM backend) scales on its engines' mean time to first token instead (or as
 * well, when it also serves other models): their Triton queue time stays near 0 however long the engine's queue grows.
 *
 * GPU-friendly behaviour: a new server needs a free slice and minutes to load its models, so scale-up is slow and
 * bounded (one pod per minute by default) and scale-down waits out a stabilization window (300 s by default).
 */
import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ScaledObject } from '../../../imports/keda-scaledobject-keda.sh';
import { TRITON_POOL_LABEL } from '../common/labels';
import { FIRST_TOKEN_US_METRIC, QUEUE_US_PER_REQUEST_METRIC, firstTokenQuery, requestWeightedQueueQuery } from './prometheus-adapter-rules';
import { TritonPool } from './triton-pool';

/** Prometheus that KEDA queries by default (kube-prometheus-stack's `prometheus-operated` Service). */
export const DEFAULT_PROMETHEUS_ADDRESS = 'http://prometheus-operated.monitoring.svc:9090';

/** Which autoscaler renders the policy. */
export type PoolAutoscalingEngine = 'keda' | 'hpa';

/**
 * A demand signal that does not come from the pool's own pods (router or gateway request rate for the pool's
 * models). A pool at zero replicas reports no queue time, so only such a signal can wake it.
 */
export interface PoolWakeTrigger {
  /** PromQL giving the demand, e.g. requests per second for the pool's models at the router. */
  readonly query: string;
  /** Demand one server takes (KEDA `AverageValue` target), > 0. */
  readonly threshold: number;
  /** The pool wakes when the demand exceeds this. @default 0 */
  readonly activationThreshold?: number;
}

/**
 * A wake query on the gpufleet router's metrics: requests answered for the pool's models per second (2 m rate)
 * plus requests the router holds waiting for one of them to load. Both parts count as 0 when absent, so demand
 * that only queues (the pool is at zero) still wakes it.
 */
export function routerWakeQuery(models: readonly string[]): string {
  if (models.length === 0) throw new Error('models: expected at least one model, got []');
  const sel = `model=~"${[...new Set(models)].sort().join('|')}"`;
  return (
    `(sum(rate(gpufleet_router_requests_total{${sel}}[2m])) or vector(0)) + ` +
    `(sum(gpufleet_router_queued_requests{${sel}}) or vector(0))`
  );
}

export interface PoolAutoscalingProps {
  /** The pool to scale. */
  readonly pool: TritonPool;
  /** Autoscaler. @default 'keda' */
  readonly engine?: PoolAutoscalingEngine;
  /** Fewest servers; 0 (scale to zero) needs the `keda` engine and a `wake` trigger. @default 1 */
  readonly minReplicas?: number;
  /** Most servers (slices of the pool's kind it may take), >= 1 and >= minReplicas. */
  readonly maxReplicas: number;
  /**
   * Target mean queue time of a request, in microseconds, > 0 (a serving platform derives it from the pool's models'
   * SLOs, latency-budget.ts).
   * @default 50000 (50 ms)
   */
  readonly targetQueueMicroseconds?: number;
  /**
   * Target mean time to first token of the pool's decoupled (vLLM) models, in microseconds, > 0 (a serving platform
   * derives it from their SLOs).
   * @default 500000 (0.5 s)
   */
  readonly targetFirstTokenMicroseconds?: number;
  /** Demand signal that wakes a pool from zero (KEDA only). @default - none */
  readonly wake?: PoolWakeTrigger;
  /** Prometheus server KEDA queries. @default DEFAULT_PROMETHEUS_ADDRESS */
  readonly prometheusAddress?: string;
  /** Name of a KEDA TriggerAuthentication for Prometheus. @default - none */
  readonly triggerAuthentication?: string;
  /** How long the recommendation must stay lower before the pool shrinks. @default Duration.seconds(300) */
  readonly scaleDownStabilization?: Duration;
  /** Pods added per minute at most, >= 1. @default 1 */
  readonly scaleUpPodsPerMinute?: number;
  /** KEDA: idle time before a pool with minReplicas 0 goes to zero. @default Duration.minutes(15) */
  readonly scaleToZeroAfter?: Duration;
  /** KEDA: how often the triggers are queried. @default Duration.seconds(30) */
  readonly pollingInterval?: Duration;
}

/** One metric a pool scales on. */
export interface AutoscalingSignal {
  /** `queue-time` or `first-token`. */
  readonly name: 'queue-time' | 'first-token';
  /** Pool-wide PromQL (KEDA). */
  readonly query: string;
  /** The prometheus-adapter metric serving it per Service (HPA). */
  readonly adapterMetric: string;
  /** Target, µs. */
  readonly target: number;
}

/** HPA or KEDA ScaledObject of one TritonPool. */
export class PoolAutoscaling extends Construct {
  public readonly pool: TritonPool;
  public readonly engine: PoolAutoscalingEngine;
  public readonly minReplicas: number;
  public readonly maxReplicas: number;
  public readonly targetQueueMicroseconds: number;
  public readonly targetFirstTokenMicroseconds: number;
  /** The pool-wide request-weighted queue-time query (what KEDA evaluates; the adapter serves the same per Service). */
  public readonly query: string;
  /**
   * The signals the pool scales on: queue time when it serves a model that is not decoupled, time to first token when
   * it serves a decoupled one (both when it serves both; the autoscaler follows the larger recommendation).
   */
  public readonly signals: readonly AutoscalingSignal[];
  public readonly horizontalPodAutoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  public readonly scaledObject?: ScaledObject;

  public constructor(scope: Construct, id: string, props: PoolAutoscalingProps) {
    super(scope, id);
    const pool = props.pool;
    if (!(pool instanceof TritonPool)) {
      throw new Error(`pool: expected a TritonPool, got ${JSON.stringify(pool)}`);
    }
    this.pool = pool;
    const where = `pools.${pool.name}.autoscaling`;
    const engine = props.engine ?? 'keda';
    if (engine !== 'keda' && engine !== 'hpa') {
      throw new Error(`${where}.engine: expected keda or hpa, got ${JSON.stringify(props.engine)}`);
    }
    this.engine = engine;
    const { min, max } = checkedReplicaRange(where, props, engine);
    this.minReplicas = min;
    this.maxReplicas = max;
    this.targetQueueMicroseconds = checkedTarget(where, 'targetQueueMicroseconds', props.targetQueueMicroseconds, 50_000);
    this.targetFirstTokenMicroseconds = checkedTarget(where, 'targetFirstTokenMicroseconds', props.targetFirstTokenMicroseconds, 500_000);
    checkWakeTrigger(where, props.wake);
    const timing = checkedTiming(where, props);
    const address = props.prometheusAddress ?? DEFAULT_PROMETHEUS_ADDRESS;
    if (!/^https?:\/\/[^\s]+$/.test(address)) {
      throw new Error(`${where}.prometheusAddress: expected an http(s) URL, got ${JSON.stringify(props.prometheusAddress)}`);
    }
    if (pool.namespace === undefined) {
      throw new Error(`${where}: pool ${pool.name} has no namespace (set its namespace or the chart's); the queue query must name it`);
    }

    const selector = `namespace="${pool.namespace}",pod=~"${pool.podNamePattern}"`;
    this.query = requestWeightedQueueQuery(selector);
    this.signals = this.poolSignals(selector);
    pool.markAutoscaled(this.node.path);

    const metadata = {
      name: pool.name,
      namespace: pool.namespace,
      labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'autoscaling', [TRITON_POOL_LABEL]: pool.name },
    };
    const behavior = scalingBehavior(timing.podsPerMinute, timing.downWindow);
    if (engine === 'hpa') this.horizontalPodAutoscaler = this.renderHorizontalPodAutoscaler(metadata, behavior);
    else this.scaledObject = this.renderScaledObject(metadata, behavior, timing, address, props);
  }

  /**
   * Queue time when the pool serves a model that is not decoupled, time to first token when it serves a decoupled one
   * (the repository's configs say which models are decoupled; a model without a config counts as not decoupled).
   */
  private poolSignals(selector: string): AutoscalingSignal[] {
    const pool = this.pool;
    const decoupled = pool.models.filter((m) => pool.repository.hasModel(m) && pool.repository.model(m).decoupled);
    return [
      ...(decoupled.length < pool.models.length
        ? [
            {
              name: 'queue-time' as const,
              query: this.query,
              adapterMetric: QUEUE_US_PER_REQUEST_METRIC,
              target: this.targetQueueMicroseconds,
            },
          ]
        : []),
      ...(decoupled.length > 0
        ? [
            {
              name: 'first-token' as const,
              query: firstTokenQuery(selector),
              adapterMetric: FIRST_TOKEN_US_METRIC,
              target: this.targetFirstTokenMicroseconds,
            },
          ]
        : []),
    ];
  }

  /**
   * The HPA: an Object metric per signal on the pool's Service. The adapter sums both counters over every pod behind
   * it before dividing, so the HPA sees the pool's request-weighted queue time rather than an average of per-pod ratios.
   */
  private renderHorizontalPodAutoscaler(
    metadata: AutoscalerMetadata,
    behavior: k8s.HorizontalPodAutoscalerBehaviorV2,
  ): k8s.KubeHorizontalPodAutoscalerV2 {
    return new k8s.KubeHorizontalPodAutoscalerV2(this, 'Resource', {
      metadata,
      spec: {
        scaleTargetRef: scaleTargetRefOf(this.pool),
        minReplicas: this.minReplicas,
        maxReplicas: this.maxReplicas,
        metrics: this.signals.map((sig) => ({
          type: 'Object',
          object: {
            describedObject: { apiVersion: 'v1', kind: 'Service', name: this.pool.service.name },
            metric: { name: sig.adapterMetric },
            target: { type: 'Value', value: k8s.Quantity.fromNumber(sig.target) },
          },
        })),
        behavior,
      },
    });
  }

  /** The KEDA ScaledObject: a Prometheus trigger per signal, and the wake trigger when there is one. */
  private renderScaledObject(
    metadata: AutoscalerMetadata,
    behavior: k8s.HorizontalPodAutoscalerBehaviorV2,
    timing: AutoscalingTiming,
    address: string,
    props: PoolAutoscalingProps,
  ): ScaledObject {
    const auth = props.triggerAuthentication ? { authenticationRef: { name: props.triggerAuthentication } } : {};
    const wake = props.wake;
    return new ScaledObject(this, 'Resource', {
      metadata,
      spec: {
        scaleTargetRef: scaleTargetRefOf(this.pool),
        minReplicaCount: this.minReplicas,
        maxReplicaCount: this.maxReplicas,
        pollingInterval: timing.polling,
        cooldownPeriod: timing.cooldown,
        advanced: { horizontalPodAutoscalerConfig: { behavior } },
        triggers: [
          ...this.signals.map((sig) => ({
            type: 'prometheus',
            name: sig.name,
            // `Value`: the query is already a pool-wide mean, not a total to divide by the replica count.
            metricType: 'Value',
            metadata: {
              serverAddress: address,
              query: sig.query,
              threshold: String(sig.target),
              activationThreshold: '0',
              ignoreNullValues: 'true',
            },
            ...auth,
          })),
          ...(wake
            ? [
                {
                  type: 'prometheus',
                  name: 'wake',
                  metricType: 'AverageValue',
                  metadata: {
                    serverAddress: address,
                    query: wake.query,
                    threshold: String(wake.threshold),
                    activationThreshold: String(wake.activationThreshold ?? 0),
                    ignoreNullValues: 'true',
                  },
                  ...auth,
                },
              ]
            : []),
        ],
      },
    });
  }
}

type AutoscalerMetadata = { name: string; namespace: string; labels: Record<string, string> };

/** Scale-up rate and the time windows, in whole seconds. */
interface AutoscalingTiming {
  readonly podsPerMinute: number;
  readonly downWindow: number;
  readonly polling: number;
  readonly cooldown: number;
}

function scaleTargetRefOf(pool: TritonPool): { apiVersion: string; kind: string; name: string } {
  return { apiVersion: 'apps/v1', kind: 'Deployment', name: pool.name };
}

/** Scale up by at most `podsPerMinute` a minute, down by one pod per two minutes after the stabilization window. */
function scalingBehavior(podsPerMinute: number, downWindow: number): k8s.HorizontalPodAutoscalerBehaviorV2 {
  return {
    scaleUp: {
      stabilizationWindowSeconds: 60,
      selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: podsPerMinute, periodSeconds: 60 }],
    },
    scaleDown: {
      stabilizationWindowSeconds: downWindow,
      selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }],
    },
  };
}

/** Minimum and maximum replicas; scale-to-zero needs KEDA and a wake trigger, and a wake trigger needs KEDA. */
function checkedReplicaRange(where: string, props: PoolAutoscalingProps, engine: PoolAutoscalingEngine): { min: number; max: number } {
  const min = props.minReplicas ?? 1;
  const max = props.maxReplicas;
  if (!Number.isInteger(min) || min < 0)
    throw new Error(`${where}.minReplicas: expected an integer >= 0, got ${JSON.stringify(props.minReplicas)}`);
  if (!Number.isInteger(max) || max < 1) throw new Error(`${where}.maxReplicas: expected an integer >= 1, got ${JSON.stringify(max)}`);
  if (min > max) throw new Error(`${where}.minReplicas: expected at most maxReplicas (${max}), got ${min}`);
  if (min === 0 && engine === 'hpa') {
    throw new Error(`${where}.minReplicas: 0 needs engine keda (HPA scale-to-zero is an alpha feature gate), got engine hpa`);
  }
  if (min === 0 && props.wake === undefined) {
    throw new Error(
      `${where}.wake: minReplicas 0 needs a wake trigger ` +
        '(a pool at zero replicas reports no queue time, so the queue metric alone never wakes it), got none',
    );
  }
  if (props.wake !== undefined && engine === 'hpa') {
    throw new Error(`${where}.wake: a wake trigger needs engine keda, got engine hpa`);
  }
  return { min, max };
}

/** A target value, a number > 0. */
function checkedTarget(where: string, field: string, given: number | undefined, fallback: number): number {
  const target = given ?? fallback;
  if (typeof target !== 'number' || !Number.isFinite(target) || target <= 0) {
    throw new Error(`${where}.${field}: expected a number > 0, got ${JSON.stringify(given)}`);
  }
  return target;
}

/** The wake trigger's query, threshold and activation threshold. */
function checkWakeTrigger(where: string, wake: PoolWakeTrigger | undefined): void {
  if (wake === undefined) return;
  if (typeof wake.query !== 'string' || wake.query.trim().length === 0) {
    throw new Error(`${where}.wake.query: expected a PromQL expression, got ${JSON.stringify(wake.query)}`);
  }
  if (typeof wake.threshold !== 'number' || !Number.isFinite(wake.threshold) || wake.threshold <= 0) {
    throw new Error(`${where}.wake.threshold: expected a number > 0, got ${JSON.stringify(wake.threshold)}`);
  }
  const a = wake.activationThreshold ?? 0;
  if (typeof a !== 'number' || !Number.isFinite(a) || a < 0) {
    throw new Error(`${where}.wake.activationThreshold: expected a number >= 0, got ${JSON.stringify(wake.activationThreshold)}`);
  }
}

/** Scale-up rate, scale-down stabilization, polling interval and scale-to-zero cooldown, checked. */
function checkedTiming(where: string, props: PoolAutoscalingProps): AutoscalingTiming {
  const podsPerMinute = props.scaleUpPodsPerMinute ?? 1;
  if (!Number.isInteger(podsPerMinute) || podsPerMinute < 1) {
    throw new Error(`${where}.scaleUpPodsPerMinute: expected an integer >= 1, got ${JSON.stringify(props.scaleUpPodsPerMinute)}`);
  }
  const downWindow = (props.scaleDownStabilization ?? Duration.seconds(300)).toSeconds({ integral: false });
  if (!Number.isInteger(downWindow) || downWindow < 0 || downWindow > 3600) {
    throw new Error(`${where}.scaleDownStabilization: expected 0 to 3600 whole seconds, got ${downWindow}s`);
  }
  const polling = (props.pollingInterval ?? Duration.seconds(30)).toSeconds({ integral: false });
  if (!Number.isInteger(polling) || polling < 1) {
    throw new Error(`${where}.pollingInterval: expected whole seconds >= 1, got ${polling}s`);
  }
  const cooldown = (props.scaleToZeroAfter ?? Duration.minutes(15)).toSeconds({ integral: false });
  if (!Number.isInteger(cooldown) || cooldown < 0) {
    throw new Error(`${where}.scaleToZeroAfter: expected whole seconds >= 0, got ${cooldown}s`);
  }
  return { podsPerMinute, downWindow, polling, cooldown };
}
