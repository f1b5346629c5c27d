import { Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { getMigProfile } from '../constructs/catalog';
import { validateConfig } from '../constructs/runtime/config';
import { DEFAULT_ROUTER_IMAGE, ModelRouter, ModelRouterProps } from '../constructs/k8s/serving/model-router';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { TritonPool } from '../constructs/k8s/serving/triton-pool';
import { validateObjects } from './support/validate';

function setup(routerProps: Partial<ModelRouterProps> = {}, poolModels = ['resnet50']): { chart: Chart; router: ModelRouter } {
  const chart = Testing.chart();
  const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
  const small = new TritonPool(chart, 'Small', {
    name: 'cache-1g',
    namespace: 'serving',
    repository,
    models: poolModels,
    gpuType: 'A100-80GB',
    profile: '1g.10gb',
    replicas: 3,
  });
  const large = new TritonPool(chart, 'Large', {
    name: 'cache-3g',
    namespace: 'serving',
    repository,
    models: poolModels,
    gpuType: 'A100-80GB',
    profile: '3g.40gb',
  });
  const router = new ModelRouter(chart, 'Router', {
    namespace: 'serving',
    pools: [large, { pool: small }],
    models: [
      { name: 'resnet50', memoryGiB: 1 },
      { name: 'bert-large', memoryGiB: 2, pinned: true },
      { name: 'llama-3b', memoryGiB: 12 },
    ],
    ...routerProps,
  });
  return { chart, router };
}

const mem = (profile: string): number => getMigProfile('A100-80GB', profile).memoryGiB;
const round = (x: number): number => Math.round(x * 1000) / 1000;
const byKind = (objs: any[], kind: string): any[] => objs.filter((o) => o.kind === kind);

describe('ModelRouter rendering', () => {
  test('renders a Deployment, Service, ConfigMap and one headless Service per pool, all valid', () => {
    // GIVEN two Triton pools and three models
    const { chart } = setup();
    // WHEN synthesized
    const objs = Testing.synth(chart);
    const mine = objs.filter(
      (o: any) =>
        o.metadata.labels?.['app.kubernetes.io/part-of'] === 'gpufleet' &&
        String(o.metadata.labels?.['app.kubernetes.io/component']).startsWith('model-router'),
    );
    // THEN
    expect(mine.map((o: any) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/model-router-config',
      'Deployment/model-router',
      'Service/cache-1g-pods',
      'Service/cache-3g-pods',
      'Service/model-router',
      'ServiceMonitor/model-router',
    ]);
    expect(validateObjects(objs)).toEqual([]);
    const headless = objs.find((o: any) => o.kind === 'Service' && o.metadata.name === 'cache-1g-pods');
    expect(headless.spec).toEqual({
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/instance': 'cache-1g', 'app.kubernetes.io/name': 'triton' },
      ports: [
        { name: 'http', port: 8000, targetPort: 8000, protocol: 'TCP' },
        { name: 'grpc', port: 8001, targetPort: 8001, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
      ],
    });
  });

  test('renders a router config the router accepts, budgets from slice sizes minus process overhead', () => {
    const { chart, router } = setup();
    const cm = byKind(Testing.synth(chart), 'ConfigMap').find((o) => o.metadata.name === 'model-router-config');
    const doc = parse(cm.data['router.yaml']);
    expect(doc).toEqual(router.config);
    const cfg = validateConfig(doc);
    expect(cfg.backends).toEqual([
      // the driver-reported memory of A100-80GB 1g.10gb and 3g.40gb (catalog), minus 0.6
      {
        name: 'cache-1g',
        url: 'http://cache-1g-pods.serving.svc.cluster.local:8000',
        memoryGiB: round(mem('1g.10gb') - 0.6),
        discover: 'dns',
        grpcPort: 8001,
      },
      {
        name: 'cache-3g',
        url: 'http://cache-3g-pods.serving.svc.cluster.local:8000',
        memoryGiB: round(mem('3g.40gb') - 0.6),
        discover: 'dns',
        grpcPort: 8001,
      },
    ]);
    // inference on all interfaces of the pod (its Service); state and control on the pod's loopback only
    expect(cfg.admin).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(cfg.models.map((m) => m.name)).toEqual(['bert-large', 'llama-3b', 'resnet50']);
    expect(cfg.models.find((m) => m.name === 'bert-large')!.pinned).toBe(true);
    expect(cfg).toMatchObject({ host: '0.0.0.0', port: 8000, maxQueuePerModel: 256, loadTimeoutSeconds: 120, refreshIntervalSeconds: 10 });
  });
});

describe('ModelRouter pod spec, options, determinism', () => {
  test('runs non-root with a read-only root filesystem, probes on the health endpoints, the config mounted', () => {
    const { chart } = setup();
    const dep = byKind(Testing.synth(chart), 'Deployment').find((o) => o.metadata.name === 'model-router');
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe(DEFAULT_ROUTER_IMAGE);
    expect(DEFAULT_ROUTER_IMAGE).toMatch(/^ghcr\.io\/[a-z0-9-]+\/gpufleet-router:\d+\.\d+\.\d+$/);
    expect(c.args).toEqual(['--config', '/etc/gpufleet-router/router.yaml', '--log-level', 'info']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/v2/health/live', port: 'http' });
    expect(c.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/gpufleet-router', readOnly: true }]);
    expect(pod.volumes).toEqual([{ name: 'config', configMap: { name: 'model-router-config' } }]);
    expect(dep.spec.template.metadata.annotations['gpufleet.io/router-config-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('takes an image, an explicit budget and tuning', () => {
    const chart = Testing.chart();
    const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
    const pool = new TritonPool(chart, 'P', {
      name: 'p',
      namespace: 'ml',
      repository,
      models: ['a'],
      gpuType: 'A100-80GB',
      profile: '1g.10gb',
    });
    const router = new ModelRouter(chart, 'R', {
      name: 'edge',
      namespace: 'ml',
      image: 'registry.example.com/router:1.2.3',
      pools: [{ pool, memoryGiB: 8 }],
      models: [{ name: 'a', memoryGiB: 1 }],
      maxQueuePerModel: 32,
      loadTimeoutSeconds: 30,
      refreshIntervalSeconds: 5,
      serviceMonitor: false,
    });
    expect(router.config).toMatchObject({
      backends: [{ name: 'p', memoryGiB: 8 }],
      maxQueuePerModel: 32,
      loadTimeoutSeconds: 30,
      refreshIntervalSeconds: 5,
    });
    expect(router.url).toBe('http://edge.ml.svc.cluster.local:8000');
    const objs = Testing.synth(chart);
    expect(byKind(objs, 'Deployment').find((o) => o.metadata.name === 'edge').spec.template.spec.containers[0].image).toBe(
      'registry.example.com/router:1.2.3',
    );
    expect(byKind(objs, 'ServiceMonitor').map((o) => o.metadata.name)).not.toContain('edge');
  });

  test('is deterministic whatever the order of pools and models', () => {
    const a = setup();
    const chart = Testing.chart();
    const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
    const small = new TritonPool(chart, 'Small', {
      name: 'cache-1g',
      namespace: 'serving',
      repository,
      models: ['resnet50'],
      gpuType: 'A100-80GB',
      profile: '1g.10gb',
      replicas: 3,
    });
    const large = new TritonPool(chart, 'Large', {
      name: 'cache-3g',
      namespace: 'serving',
      repository,
      models: ['resnet50'],
      gpuType: 'A100-80GB',
      profile: '3g.40gb',
    });
    const b = new ModelRouter(chart, 'Router', {
      namespace: 'serving',
      pools: [small, large],
      models: [
        { name: 'llama-3b', memoryGiB: 12 },
        { name: 'bert-large', memoryGiB: 2, pinned: true },
        { name: 'resnet50', memoryGiB: 1 },
      ],
    });
    expect(stringifyCm(b)).toBe(stringifyCm(a.router));
  });
});

describe('ModelRouter fails on bad props', () => {
  test('fails on a model larger than every pool budget', () => {
    expect(() =>
      setup({
        models: [
          { name: 'resnet50', memoryGiB: 1 },
          { name: 'huge', memoryGiB: 40 },
        ],
      }),
    ).toThrow(`models[1].memoryGiB: "huge" needs 40 GiB, more than the largest pool budget ${round(mem('3g.40gb') - 0.6)} GiB`);
  });

  test('fails when a pool loads a model at start that the router does not list', () => {
    expect(() => setup({}, ['resnet50', 'yolo'])).toThrow(
      'pools[0]: pool "cache-3g" loads model "yolo" at start but models does not list it (its GPU memory would not be counted); add ' +
        'it to models',
    );
  });

  test('fails on a duplicate model', () => {
    expect(() =>
      setup({
        models: [
          { name: 'resnet50', memoryGiB: 1 },
          { name: 'resnet50', memoryGiB: 2 },
        ],
      }),
    ).toThrow('models[1].name: "resnet50" is already used by models[0]');
  });

  test('fails on a non-positive model memory', () => {
    expect(() => setup({ models: [{ name: 'resnet50', memoryGiB: 0 }] })).toThrow('models[0].memoryGiB: expected a number > 0, got 0');
  });

  test('fails on no pools', () => {
    expect(() => setup({ pools: [] })).toThrow('pools: expected at least one TritonPool, got []');
  });

  test('fails on a budget above the slice memory', () => {
    const chart = Testing.chart();
    const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
    const pool = new TritonPool(chart, 'P', {
      name: 'p',
      namespace: 'ml',
      repository,
      models: ['a'],
      gpuType: 'A100-80GB',
      profile: '1g.10gb',
    });
    expect(() => new ModelRouter(chart, 'R', { pools: [{ pool, memoryGiB: 12 }], models: [{ name: 'a', memoryGiB: 1 }] })).toThrow(
      `pools[0].memoryGiB: expected at most the slice memory ${mem('1g.10gb')} GiB (1g.10gb of A100-80GB), got 12`,
    );
  });

  test('fails on an invalid name', () => {
    expect(() => setup({ name: 'Model_Router' })).toThrow(/^name: /);
  });

  test('fails on settings the router would refuse or mis-arm: an empty queue, a timer Node cannot hold (issue 14)', () => {
    expect(() => setup({ maxQueuePerModel: 0 })).toThrow('maxQueuePerModel: expected an integer >= 1 and <= 1000000, got 0');
    // above 2^31 - 1 ms Node arms the timer with 1 ms (lib/internal/timers.js): every load would time out at once
    expect(() => setup({ loadTimeoutSeconds: 3_000_000 })).toThrow(
      'loadTimeoutSeconds: expected a number > 0 and <= 2147483 (seconds a Node timer can hold), got 3000000',
    );
  });

  test('fails on an image that is not pinned by tag or digest; a digest is kept as given', () => {
    expect(() => setup({ image: 'ghcr.io/gpufleet/gpufleet-router' })).toThrow(
      /^image: expected a pinned image reference: .*\(is not pinned: give a tag/,
    );
    const digest = `ghcr.io/gpufleet/gpufleet-router@sha256:${'0'.repeat(64)}`;
    expect(setup({ image: digest }).router.image).toBe(digest);
  });
});

function stringifyCm(r: ModelRouter): string {
  return r.configMap.toJson().data['router.yaml'];
}
