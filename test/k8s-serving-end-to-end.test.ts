import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import * as YAML from 'yaml';
import {
  ModelRepository,
  ModelRouteTable,
  PoolAutoscaling,
  PrometheusAdapterRules,
  TritonModelConfig,
  TritonPool,
  routerWakeQuery,
} from '../constructs/k8s';
import { validateObjects } from './support/validate';

/** The docs/serving.md example, plus a cold tier and an HPA pool; `reverse` feeds every list in the other order. */
function platform(reverse: boolean): { app: App; objs: any[] } {
  const order = <T>(xs: T[]): T[] => (reverse ? [...xs].reverse() : xs);
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-serving-')) });
  const chart = new Chart(app, 'serving', { namespace: 'vision' });
  const repo = new ModelRepository(chart, 'Repository', {
    storage: ModelRepository.s3({
      bucket: 'acme-models',
      prefix: 'triton',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/triton-model-reader',
    }),
  });
  const configs = [
    new TritonModelConfig({
      name: 'resnet50',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 16,
      dynamicBatching: { preferredBatchSizes: [8, 16], maxQueueDelayMicroseconds: 100 },
    }),
    TritonModelConfig.fromHints('mobilenet-v3', { platform: 'onnxruntime_onnx' }, { batch: 16 }),
    TritonModelConfig.fromHints('bert-base', { platform: 'tensorrt_plan', maxBatchSize: 32 }, { batch: 8, instances: 2 }),
    TritonModelConfig.fromHints('t5-small', { platform: 'onnxruntime_onnx', maxBatchSize: 8 }, { batch: 4 }),
  ];
  for (const c of order(configs)) repo.addModel(c);
  const cnn = new TritonPool(chart, 'CnnPool', {
    name: 'cnn-1g',
    repository: repo,
    models: order(['resnet50', 'mobilenet-v3']),
    gpuType: 'H100-80GB',
    profile: '1g.10gb',
    migConfig: 'all-1g.10gb',
    replicas: 3,
    team: 'vision',
  });
  const cnn2 = new TritonPool(chart, 'Cnn2Pool', {
    name: 'cnn-2g',
    repository: repo,
    models: ['resnet50'],
    gpuType: 'H100-80GB',
    profile: '2g.20gb',
    migConfig: 'all-balanced',
    replicas: 1,
  });
  const bert = new TritonPool(chart, 'BertPool', {
    name: 'bert-3g',
    repository: repo,
    models: ['bert-base'],
    gpuType: 'H100-80GB',
    profile: '3g.40gb',
    migConfig: 'all-balanced',
    replicas: 2,
  });
  const cold = new TritonPool(chart, 'ColdPool', {
    name: 'cold',
    repository: repo,
    models: ['t5-small'],
    gpuType: 'H100-80GB',
    profile: '1g.10gb',
    migConfig: 'all-1g.10gb',
    replicas: 0,
  });
  new ModelRouteTable(chart, 'Routes', {
    pools: order([cnn, cnn2, bert, cold]),
    gateway: { name: 'inference', namespace: 'gateway-system' },
    models: repo.modelNames,
  });
  new PoolAutoscaling(chart, 'CnnScaling', { pool: cnn, maxReplicas: 6, targetQueueMicroseconds: 20_000 });
  new PoolAutoscaling(chart, 'BertScaling', { pool: bert, engine: 'hpa', minReplicas: 2, maxReplicas: 4 });
  new PoolAutoscaling(chart, 'ColdScaling', {
    pool: cold,
    minReplicas: 0,
    maxReplicas: 2,
    wake: { query: routerWakeQuery(cold.models), threshold: 20 },
  });
  new PrometheusAdapterRules(chart, 'AdapterRules', { namespace: 'monitoring' });
  app.synth();
  ModelRepository.writeAllConfigs(app, app.outdir);
  return { app, objs: chart.toJson() };
}

describe('serving constructs together', () => {
  test('render every object a served platform needs, each valid', () => {
    const { app, objs } = platform(false);
    const kinds = (k: string) =>
      objs
        .filter((o) => o.kind === k)
        .map((o) => o.metadata.name)
        .sort();
    expect(kinds('Deployment')).toEqual(['bert-3g', 'cnn-1g', 'cnn-2g', 'cold']);
    expect(kinds('Service')).toEqual(['bert-3g', 'cnn-1g', 'cnn-2g', 'cold']);
    expect(kinds('ServiceMonitor')).toEqual(['bert-3g', 'cnn-1g', 'cnn-2g', 'cold']);
    expect(kinds('PodDisruptionBudget')).toEqual(['bert-3g', 'cnn-1g', 'cnn-2g', 'cold']);
    expect(kinds('ScaledObject')).toEqual(['cnn-1g', 'cold']);
    expect(kinds('HorizontalPodAutoscaler')).toEqual(['bert-3g']);
    expect(kinds('HTTPRoute')).toEqual(['models']);
    expect(kinds('ServiceAccount')).toEqual(['triton-model-reader']);
    expect(kinds('ConfigMap')).toEqual(['gpufleet-adapter-rules']);
    // each Triton pod requests exactly one GPU slice
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      const limits = d.spec.template.spec.containers[0].resources.limits;
      expect(Object.keys(limits).filter((k) => k.startsWith('nvidia.com/'))).toHaveLength(1);
    }
    // every model has a config file and a route
    for (const m of ['bert-base', 'mobilenet-v3', 'resnet50', 't5-small']) {
      expect(fs.existsSync(path.join(app.outdir, 'model-repository', m, 'config.pbtxt'))).toBe(true);
    }
    const paths = objs
      .filter((o) => o.kind === 'HTTPRoute')
      .flatMap((r) => r.spec.rules.flatMap((x: any) => x.matches.map((m: any) => m.path.value)));
    expect(paths.sort()).toEqual(['/v2/models/bert-base', '/v2/models/mobilenet-v3', '/v2/models/resnet50', '/v2/models/t5-small']);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('inputs in another order render byte-identical manifests and configs', () => {
    const a = platform(false);
    const b = platform(true);
    expect(YAML.stringify(b.objs)).toBe(YAML.stringify(a.objs));
    const read = (app: App, m: string) => fs.readFileSync(path.join(app.outdir, 'model-repository', m, 'config.pbtxt'), 'utf8');
    for (const m of ['bert-base', 'mobilenet-v3', 'resnet50', 't5-small']) expect(read(b.app, m)).toBe(read(a.app, m));
  });
});
