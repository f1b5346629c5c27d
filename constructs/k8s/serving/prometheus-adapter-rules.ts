/**
 * The autoscaling signal of Triton pools and the prometheus-adapter rule that serves it to HPAs.
 *
 * Why request-weighted: Triton reports queue time per model (`nv_inference_queue_duration_us`, cumulative
 * microseconds, and `nv_inference_request_success`, a request counter, one series per model and version).
 * The Triton chart's reference adapter rule (`avg_time_queue_us`) takes the ratio per model series and then
 * averages the ratios: `avg(delta(queue_us[30s]) / (1 + delta(success[30s]))) by (pod)`. With N models loaded in
 * one server of which one is busy, the average divides the busy model's queue time by about N, so a pool of many
 * models under-reports its queue time about N-fold and scales out too late (triton-inference-server/server#8979).
 * gpufleet sums both counters over every model (and every pod of the pool) before dividing: the mean queue time of a
 * request, weighted by requests.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as YAML from 'yaml';
import { assertDnsLabel } from '../common/names';

/** Triton's cumulative queue-time counter (microseconds), per model. */
export const TRITON_QUEUE_DURATION_METRIC = 'nv_inference_queue_duration_us';
/** Triton's successful-request counter, per model. */
export const TRITON_REQUEST_SUCCESS_METRIC = 'nv_inference_request_success';
/** Name under which the adapter serves the request-weighted queue time (microseconds per request). */
export const QUEUE_US_PER_REQUEST_METRIC = 'gpufleet_triton_queue_us_per_request';
/** Rate window of the queries. */
export const QUEUE_RATE_WINDOW = '1m';
/**
 * The vLLM engine's time-to-first-token histogram (seconds), per model; exported by the vllm backend only with
 * `REPORT_CUSTOM_METRICS` (vllm_backend r25.08 `src/utils/metrics.py`), on Triton's metrics port.
 */
export const VLLM_FIRST_TOKEN_METRIC = 'vllm:time_to_first_token_seconds';
/** Name under which the adapter serves the mean time to first token of a decoupled (vLLM) pool (microseconds). */
export const FIRST_TOKEN_US_METRIC = 'gpufleet_vllm_first_token_us_per_request';

/**
 * The request-weighted mean queue time (µs per request) over every series `selector` matches:
 * `sum(rate(queue_us{sel}[1m])) / sum(rate(success{sel}[1m]))`.
 *
 * An idle pool has 0/0 = NaN, which the adapter can not serve and which KEDA before kedacore/keda#7522 turned
 * into a huge negative number: `>= 0` drops NaN and `or vector(0)` reports an idle (or absent) pool as 0.
 *
 * @param selector PromQL label matchers without braces, e.g. `namespace="vision",pod=~"cnn-1g-[a-z0-9]+-[a-z0-9]+"`
 */
export function requestWeightedQueueQuery(selector: string): string {
  const w = QUEUE_RATE_WINDOW;
  return (
    `(sum(rate(${TRITON_QUEUE_DURATION_METRIC}{${selector}}[${w}])) / ` +
    `sum(rate(${TRITON_REQUEST_SUCCESS_METRIC}{${selector}}[${w}])) >= 0) or vector(0)`
  );
}

/**
 * The mean time to first token (µs) of a decoupled backend's requests over every series `selector` matches:
 * `sum(rate(..._sum)) × 10^6 / sum(rate(..._count))`. A decoupled model's `execute()` hands each request to its engine
 * and returns, so Triton's queue time stays near 0 whatever the engine's backlog (vllm_backend r25.08 `src/model.py`
 * execute); the time to first token contains the wait in the engine's queue and grows with it.
 */
export function firstTokenQuery(selector: string): string {
  const w = QUEUE_RATE_WINDOW;
  return (
    `(sum(rate(${VLLM_FIRST_TOKEN_METRIC}_sum{${selector}}[${w}])) * 1000000 / ` +
    `sum(rate(${VLLM_FIRST_TOKEN_METRIC}_count{${selector}}[${w}])) >= 0) or vector(0)`
  );
}

/** The prometheus-adapter `metricsQuery` of the time-to-first-token signal, grouped by the object asked about. */
export function adapterFirstTokenMetricsQuery(): string {
  const w = QUEUE_RATE_WINDOW;
  const sum = `sum(rate(${VLLM_FIRST_TOKEN_METRIC}_sum{<<.LabelMatchers>>}[${w}])) by (<<.GroupBy>>)`;
  const count = `sum(rate(${VLLM_FIRST_TOKEN_METRIC}_count{<<.LabelMatchers>>}[${w}])) by (<<.GroupBy>>)`;
  return `(${sum} * 1000000 / ${count} >= 0) or (${count} * 0)`;
}

/**
 * The prometheus-adapter `metricsQuery` template of the same signal, grouped by the object the HPA asks about
 * (a pod, or a Service: every pod behind it). An idle group reports 0 instead of NaN.
 */
export function adapterQueueMetricsQuery(): string {
  const w = QUEUE_RATE_WINDOW;
  const queue = `sum(rate(${TRITON_QUEUE_DURATION_METRIC}{<<.LabelMatchers>>}[${w}])) by (<<.GroupBy>>)`;
  const success = `sum(rate(${TRITON_REQUEST_SUCCESS_METRIC}{<<.LabelMatchers>>}[${w}])) by (<<.GroupBy>>)`;
  return `(${queue} / ${success} >= 0) or (${queue} * 0)`;
}

/** One prometheus-adapter discovery rule (the `rules:` entries of its config). */
export interface PrometheusAdapterRule {
  readonly seriesQuery: string;
  readonly resources: { readonly overrides: Readonly<Record<string, { readonly resource: string }>> };
  readonly name: { readonly matches: string; readonly as: string };
  readonly metricsQuery: string;
}

export interface PrometheusAdapterRulesProps {
  /** ConfigMap name; point the prometheus-adapter chart's `rules.existing` at it. @default 'gpufleet-adapter-rules' */
  readonly name?: string;
  /** Namespace of prometheus-adapter. @default 'monitoring' */
  readonly namespace?: string;
}

/**
 * A ConfigMap holding prometheus-adapter's `config.yaml` with the rules that serve
 * `gpufleet_triton_queue_us_per_request` (and, for decoupled vLLM pools, `gpufleet_vllm_first_token_us_per_request`)
 * for pods, Services and namespaces. For a Helm-managed adapter either
 * point `rules.existing` at this ConfigMap or put `PrometheusAdapterRules.rules()` into `rules.custom`.
 */
export class PrometheusAdapterRules extends Construct {
  /** The adapter rules, for `rules.custom` of the prometheus-adapter chart. */
  public static rules(): PrometheusAdapterRule[] {
    return [
      {
        seriesQuery: `${TRITON_QUEUE_DURATION_METRIC}{namespace!="",pod!=""}`,
        resources: {
          overrides: {
            namespace: { resource: 'namespace' },
            pod: { resource: 'pod' },
            service: { resource: 'service' },
          },
        },
        name: { matches: `^${TRITON_QUEUE_DURATION_METRIC}$`, as: QUEUE_US_PER_REQUEST_METRIC },
        metricsQuery: adapterQueueMetricsQuery(),
      },
      {
        seriesQuery: `${VLLM_FIRST_TOKEN_METRIC}_count{namespace!="",pod!=""}`,
        resources: {
          overrides: {
            namespace: { resource: 'namespace' },
            pod: { resource: 'pod' },
            service: { resource: 'service' },
          },
        },
        name: { matches: `^${VLLM_FIRST_TOKEN_METRIC}_count$`, as: FIRST_TOKEN_US_METRIC },
        metricsQuery: adapterFirstTokenMetricsQuery(),
      },
    ];
  }

  public readonly name: string;
  public readonly namespace: string;
  public readonly configMap: k8s.KubeConfigMap;

  public constructor(scope: Construct, id: string, props: PrometheusAdapterRulesProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'gpufleet-adapter-rules';
    this.namespace = props.namespace ?? Chart.of(this).namespace ?? 'monitoring';
    assertDnsLabel('name', this.name);
    assertDnsLabel('namespace', this.namespace);
    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/part-of': 'gpufleet', 'app.kubernetes.io/component': 'autoscaling' },
      },
      data: { 'config.yaml': YAML.stringify({ rules: PrometheusAdapterRules.rules() }, { lineWidth: 0 }) },
    });
  }
}
