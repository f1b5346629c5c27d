import { Chart, Duration, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { PoolAutoscaling, PoolAutoscalingProps, routerWakeQuery } from '../constructs/k8s/serving/pool-autoscaling';
import {
  PrometheusAdapterRules,
  adapterFirstTokenMetricsQuery,
  adapterQueueMetricsQuery,
  requestWeightedQueueQuery,
} from '../constructs/k8s/serving/prometheus-adapter-rules';
import { TritonPool } from '../constructs/k8s/serving/triton-pool';
import { validateObjects } from './support/validate';

const CNN_QUERY =
  '(sum(rate(nv_inference_queue_duration_us{namespace="vision",pod=~"cnn-1g-[a-z0-9]+-[a-z0-9]+"}[1m])) / ' +
  'sum(rate(nv_inference_request_success{namespace="vision",pod=~"cnn-1g-[a-z0-9]+-[a-z0-9]+"}[1m])) >= 0) or vector(0)';

function setup(props: Partial<PoolAutoscalingProps> = {}, poolNamespace: string | null = 'vision') {
  const chart = new Chart(Testing.app(), 'test');
  const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
  const pool = new TritonPool(chart, 'Pool', {
    name: 'cnn-1g',
    namespace: poolNamespace ?? undefined,
    repository,
    models: ['resnet50', 'efficientnet-b0'],
    gpuType: 'H100-80GB',
    profile: '1g.10gb',
    replicas: 2,
  });
  const scaling = new PoolAutoscaling(chart, 'Scaling', { pool, maxReplicas: 6, ...props });
  return { chart, pool, scaling, objs: Testing.synth(chart) };
}

const one = (objs: any[], kind: string) => {
  const found = objs.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('request-weighted queue query', () => {
  test('pins the pool query: sums over every model and pod before dividing', () => {
    const { scaling } = setup();
    expect(scaling.query).toBe(CNN_QUERY);
    // not the Triton chart's average of per-model ratios
    expect(scaling.query).not.toMatch(/avg\(/);
    expect(requestWeightedQueueQuery('namespace="a"')).toBe(
      '(sum(rate(nv_inference_queue_duration_us{namespace="a"}[1m])) / sum(rate(nv_inference_request_success{namespace="a"}[1m])) ' +
        '>= 0) or vector(0)',
    );
  });

  test('pins the prometheus-adapter metrics query', () => {
    expect(adapterQueueMetricsQuery()).toBe(
      '(sum(rate(nv_inference_queue_duration_us{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>) / ' +
        'sum(rate(nv_inference_request_success{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>) >= 0) or ' +
        '(sum(rate(nv_inference_queue_duration_us{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>) * 0)',
    );
  });

  test('with N models, one busy, the weighted query reports the true queue time where the ratio average reports 1/N', () => {
    // GIVEN per-model rates of one server: one busy model, three idle ones (queue µs/s, requests/s)
    const models = [
      { queue: 400 * 20_000, success: 400 }, // 20 ms per request
      { queue: 0, success: 0 },
      { queue: 0, success: 0 },
      { queue: 0, success: 0 },
    ];
    // WHEN both ways are evaluated as PromQL would
    const weighted = models.reduce((s, m) => s + m.queue, 0) / models.reduce((s, m) => s + m.success, 0);
    const chartStyle = models.map((m) => m.queue / (1 + m.success)).reduce((s, x) => s + x, 0) / models.length;
    // THEN the weighted mean is the real 20 ms; the average of ratios is about 4x lower
    expect(weighted).toBe(20_000);
    expect(chartStyle).toBeLessThan(weighted / 3.9);
  });
});

describe('PoolAutoscaling with KEDA', () => {
  test('KEDA: ScaledObject with a prometheus trigger on the pinned query, Value metric, GPU-friendly behavior', () => {
    const { objs, pool } = setup({ targetQueueMicroseconds: 30_000 });
    const so = one(objs, 'ScaledObject');
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.metadata).toMatchObject({ name: 'cnn-1g', namespace: 'vision' });
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'cnn-1g' });
    expect(so.spec.minReplicaCount).toBe(1);
    expect(so.spec.maxReplicaCount).toBe(6);
    expect(so.spec.triggers).toEqual([
      {
        type: 'prometheus',
        name: 'queue-time',
        metricType: 'Value',
        metadata: {
          serverAddress: 'http://prometheus-operated.monitoring.svc:9090',
          query: CNN_QUERY,
          threshold: '30000',
          activationThreshold: '0',
          ignoreNullValues: 'true',
        },
      },
    ]);
    const b = so.spec.advanced.horizontalPodAutoscalerConfig.behavior;
    expect(b.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
    expect(b.scaleUp.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 60 }]);
    // the autoscaler owns the replica count
    expect(pool.autoscaled).toBe(true);
    expect(one(objs, 'Deployment').spec.replicas).toBeUndefined();
    expect(validateObjects(objs)).toEqual([]);
  });

  test('KEDA scale-to-zero: minReplicaCount 0 with a wake trigger and an activation threshold', () => {
    const { objs } = setup({
      minReplicas: 0,
      wake: { query: 'sum(rate(gpufleet_router_requests_total{pool="cnn-1g"}[2m]))', threshold: 50, activationThreshold: 0.1 },
      scaleToZeroAfter: Duration.minutes(30),
    });
    const so = one(objs, 'ScaledObject');
    expect(so.spec.minReplicaCount).toBe(0);
    expect(so.spec.cooldownPeriod).toBe(1800);
    expect(so.spec.triggers[1]).toEqual({
      type: 'prometheus',
      name: 'wake',
      metricType: 'AverageValue',
      metadata: {
        serverAddress: 'http://prometheus-operated.monitoring.svc:9090',
        query: 'sum(rate(gpufleet_router_requests_total{pool="cnn-1g"}[2m]))',
        threshold: '50',
        activationThreshold: '0.1',
        ignoreNullValues: 'true',
      },
    });
    expect(validateObjects(objs)).toEqual([]);
  });

  test('routerWakeQuery: demand for the pool models at the router, answered or queued', () => {
    const { pool } = setup();
    expect(routerWakeQuery(pool.models)).toBe(
      '(sum(rate(gpufleet_router_requests_total{model=~"efficientnet-b0|resnet50"}[2m])) or vector(0)) + ' +
        '(sum(gpufleet_router_queued_requests{model=~"efficientnet-b0|resnet50"}) or vector(0))',
    );
    expect(() => routerWakeQuery([])).toThrow('models: expected at least one model, got []');
  });
});

describe('PoolAutoscaling with the HPA and the adapter rules', () => {
  test('HPA: autoscaling/v2 on the adapter metric of the pool Service, bounded and slow', () => {
    const { objs } = setup({ engine: 'hpa', minReplicas: 2, scaleDownStabilization: Duration.minutes(10), scaleUpPodsPerMinute: 2 });
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(6);
    expect(hpa.spec.metrics).toEqual([
      {
        type: 'Object',
        object: {
          describedObject: { apiVersion: 'v1', kind: 'Service', name: 'cnn-1g' },
          metric: { name: 'gpufleet_triton_queue_us_per_request' },
          target: { type: 'Value', value: 50000 },
        },
      },
    ]);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(600);
    expect(hpa.spec.behavior.scaleUp.policies).toEqual([{ type: 'Pods', value: 2, periodSeconds: 60 }]);
    expect(objs.filter((o) => o.kind === 'ScaledObject')).toEqual([]);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('PrometheusAdapterRules: a ConfigMap whose config.yaml serves the metric for pods and services', () => {
    const chart = Testing.chart();
    new PrometheusAdapterRules(chart, 'Rules');
    const objs = Testing.synth(chart);
    const cm = one(objs, 'ConfigMap');
    expect(cm.metadata).toMatchObject({ name: 'gpufleet-adapter-rules', namespace: 'monitoring' });
    const config = YAML.parse(cm.data['config.yaml']);
    expect(config).toEqual({ rules: PrometheusAdapterRules.rules() });
    expect(config.rules).toHaveLength(2);
    expect(config.rules[0]).toEqual({
      seriesQuery: 'nv_inference_queue_duration_us{namespace!="",pod!=""}',
      resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' }, service: { resource: 'service' } } },
      name: { matches: '^nv_inference_queue_duration_us$', as: 'gpufleet_triton_queue_us_per_request' },
      metricsQuery: adapterQueueMetricsQuery(),
    });
    // decoupled (vLLM) pools: the engine's time to first token, in µs
    expect(config.rules[1]).toEqual({
      seriesQuery: 'vllm:time_to_first_token_seconds_count{namespace!="",pod!=""}',
      resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' }, service: { resource: 'service' } } },
      name: { matches: '^vllm:time_to_first_token_seconds_count$', as: 'gpufleet_vllm_first_token_us_per_request' },
      metricsQuery: adapterFirstTokenMetricsQuery(),
    });
    expect(validateObjects(objs)).toEqual([]);
  });
});

describe('PoolAutoscaling fails on bad props', () => {
  test('fails when minReplicas exceeds maxReplicas', () => {
    expect(() => setup({ minReplicas: 7, maxReplicas: 6 })).toThrow(
      'pools.cnn-1g.autoscaling.minReplicas: expected at most maxReplicas (6), got 7',
    );
  });

  test('fails for a target <= 0', () => {
    expect(() => setup({ targetQueueMicroseconds: 0 })).toThrow(
      'pools.cnn-1g.autoscaling.targetQueueMicroseconds: expected a number > 0, got 0',
    );
    expect(() => setup({ targetQueueMicroseconds: -5 })).toThrow(
      'pools.cnn-1g.autoscaling.targetQueueMicroseconds: expected a number > 0, got -5',
    );
  });

  test('fails for maxReplicas below 1', () => {
    expect(() => setup({ maxReplicas: 0 })).toThrow('pools.cnn-1g.autoscaling.maxReplicas: expected an integer >= 1, got 0');
  });

  test('fails for scale-to-zero with an HPA or without a wake trigger', () => {
    expect(() => setup({ engine: 'hpa', minReplicas: 0 })).toThrow(/^pools\.cnn-1g\.autoscaling\.minReplicas: 0 needs engine keda/);
    expect(() => setup({ minReplicas: 0 })).toThrow(/^pools\.cnn-1g\.autoscaling\.wake: minReplicas 0 needs a wake trigger/);
  });

  test('fails for an invalid wake trigger', () => {
    expect(() => setup({ minReplicas: 0, wake: { query: 'up', threshold: 0 } })).toThrow(
      'pools.cnn-1g.autoscaling.wake.threshold: expected a number > 0, got 0',
    );
    expect(() => setup({ wake: { query: ' ', threshold: 1 } })).toThrow(
      'pools.cnn-1g.autoscaling.wake.query: expected a PromQL expression, got " "',
    );
  });

  test('fails for fractional or too short intervals', () => {
    expect(() => setup({ pollingInterval: Duration.millis(500) })).toThrow(
      'pools.cnn-1g.autoscaling.pollingInterval: expected whole seconds >= 1, got 0.5s',
    );
    expect(() => setup({ scaleDownStabilization: Duration.hours(2) })).toThrow(
      'pools.cnn-1g.autoscaling.scaleDownStabilization: expected 0 to 3600 whole seconds, got 7200s',
    );
    expect(() => setup({ scaleUpPodsPerMinute: 0 })).toThrow(
      'pools.cnn-1g.autoscaling.scaleUpPodsPerMinute: expected an integer >= 1, got 0',
    );
  });

  test('fails for a pool without a namespace and for a second autoscaler on one pool', () => {
    expect(() => setup({}, null)).toThrow(/^pools\.cnn-1g\.autoscaling: pool cnn-1g has no namespace/);
    const { chart, pool } = setup();
    expect(() => new PoolAutoscaling(chart, 'Again', { pool, maxReplicas: 3 })).toThrow(/already autoscaled/);
  });
});
