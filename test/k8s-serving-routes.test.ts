import { Chart, Duration, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { ModelRouteTable, ModelRouteTableProps, gatewayDuration } from '../constructs/k8s/serving/model-routes';
import { TritonPool } from '../constructs/k8s/serving/triton-pool';
import { validateObjects } from './support/validate';

interface PoolSpec {
  readonly name: string;
  readonly models: string[];
  readonly replicas?: number;
  readonly namespace?: string;
}

const POOLS: PoolSpec[] = [
  { name: 'cnn-1g', models: ['resnet50', 'mobilenet-v3'], replicas: 3 },
  { name: 'cnn-2g', models: ['resnet50', 'efficientnet-b4'], replicas: 1 },
  { name: 'bert-3g', models: ['bert-base', 'distilbert'], replicas: 2 },
];

function build(specs: PoolSpec[], routes: (pools: TritonPool[]) => Partial<ModelRouteTableProps> = () => ({})) {
  const chart = new Chart(Testing.app(), 'test');
  const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
  const pools = specs.map(
    (s) =>
      new TritonPool(chart, `Pool-${s.name}`, {
        name: s.name,
        namespace: s.namespace ?? 'serving',
        repository,
        models: s.models,
        replicas: s.replicas ?? 1,
        gpuType: 'H100-80GB',
        profile: '1g.10gb',
      }),
  );
  const r = new ModelRouteTable(chart, 'Routes', { pools, gateway: { name: 'inference', namespace: 'gateway-system' }, ...routes(pools) });
  const objs = Testing.synth(chart);
  return { chart, pools, routes: r, objs, routeObjs: objs.filter((o) => o.kind === 'HTTPRoute' || o.kind === 'Ingress') };
}

const pathOf = (m: string) => ({ path: { type: 'PathPrefix', value: `/v2/models/${m}` } });

describe('ModelRouteTable (Gateway API): rules and weights', () => {
  test('one HTTPRoute per namespace, a rule per backend set, a model on two pools split by replicas', () => {
    // GIVEN three pools, resnet50 on cnn-1g (3 replicas) and cnn-2g (1 replica)
    const { routeObjs, routes } = build(POOLS);
    // THEN one HTTPRoute attached to the Gateway
    expect(routeObjs).toHaveLength(1);
    const route = routeObjs[0];
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.metadata).toMatchObject({ name: 'models', namespace: 'serving' });
    expect(route.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'inference', namespace: 'gateway-system' },
    ]);
    // AND rules in a deterministic order (by first model), each model's path to its pool(s)
    expect(route.spec.rules).toEqual([
      { matches: [pathOf('bert-base'), pathOf('distilbert')], backendRefs: [{ group: '', kind: 'Service', name: 'bert-3g', port: 8000 }] },
      { matches: [pathOf('efficientnet-b4')], backendRefs: [{ group: '', kind: 'Service', name: 'cnn-2g', port: 8000 }] },
      { matches: [pathOf('mobilenet-v3')], backendRefs: [{ group: '', kind: 'Service', name: 'cnn-1g', port: 8000 }] },
      {
        matches: [pathOf('resnet50')],
        backendRefs: [
          { group: '', kind: 'Service', name: 'cnn-1g', port: 8000, weight: 3 },
          { group: '', kind: 'Service', name: 'cnn-2g', port: 8000, weight: 1 },
        ],
      },
    ]);
    expect(routes.routedModels).toEqual(['bert-base', 'distilbert', 'efficientnet-b4', 'mobilenet-v3', 'resnet50']);
    expect(routes.backendsOf('resnet50').map((b) => [b.pool.name, b.weight])).toEqual([
      ['cnn-1g', 3],
      ['cnn-2g', 1],
    ]);
  });

  test('explicit weights override replicas; hostnames, listener and timeout are rendered', () => {
    const { routeObjs } = build(POOLS, (pools) => ({
      pools: [{ pool: pools[0], weight: 1 }, { pool: pools[1], weight: 4 }, pools[2]],
      gateway: { name: 'inference', sectionName: 'http' },
      hostnames: ['models.example.com'],
      requestTimeout: Duration.seconds(120),
    }));
    const route = routeObjs[0];
    expect(route.spec.hostnames).toEqual(['models.example.com']);
    expect(route.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'inference', sectionName: 'http' },
    ]);
    const resnet = route.spec.rules.find((r: any) => r.matches[0].path.value === '/v2/models/resnet50');
    expect(resnet.backendRefs.map((b: any) => [b.name, b.weight])).toEqual([
      ['cnn-1g', 1],
      ['cnn-2g', 4],
    ]);
    expect(resnet.timeouts).toEqual({ request: '2m' });
    expect(validateObjects(routeObjs)).toEqual([]);
    expect(gatewayDuration(3_723_004)).toBe('1h2m3s4ms');
    expect(gatewayDuration(1500)).toBe('1s500ms');
  });

  test('per-model weights override pool weights for that model only', () => {
    // GIVEN resnet50 and a second shared model, a plan that sends resnet50 mostly to cnn-2g
    const specs = [
      { name: 'cnn-1g', models: ['resnet50', 'vgg16'], replicas: 3 },
      { name: 'cnn-2g', models: ['resnet50', 'vgg16'], replicas: 1 },
    ];
    const weights = new Map([
      [
        'resnet50',
        new Map([
          ['cnn-1g', 10],
          ['cnn-2g', 90],
        ]),
      ],
    ]);
    const { routeObjs, routes } = build(specs, () => ({ modelWeights: weights }));
    // THEN resnet50 splits 10/90 in a rule of its own, vgg16 keeps the replica weights 3/1
    const rules = routeObjs[0].spec.rules.map((r: any) => [
      r.matches.map((m: any) => m.path.value),
      r.backendRefs.map((b: any) => `${b.name}=${b.weight}`),
    ]);
    expect(rules).toEqual([
      [['/v2/models/resnet50'], ['cnn-1g=10', 'cnn-2g=90']],
      [['/v2/models/vgg16'], ['cnn-1g=3', 'cnn-2g=1']],
    ]);
    expect(routes.backendsOf('resnet50').map((b) => b.weight)).toEqual([10, 90]);
    // a plain object works too
    const again = build(specs, () => ({ modelWeights: { resnet50: { 'cnn-1g': 10, 'cnn-2g': 90 } } })).routeObjs;
    expect(YAML.stringify(again)).toBe(YAML.stringify(routeObjs));
  });
});

describe('ModelRouteTable (Gateway API): weight errors, namespaces, limits, determinism', () => {
  test('fails for per-model weights that do not match the pools', () => {
    const specs = [
      { name: 'cnn-1g', models: ['resnet50'] },
      { name: 'cnn-2g', models: ['resnet50'] },
    ];
    expect(() => build(specs, () => ({ modelWeights: { bert: { 'cnn-1g': 1 } } }))).toThrow(
      'modelWeights.bert: model "bert" is routed to no pool',
    );
    expect(() => build(specs, () => ({ modelWeights: { resnet50: { 'cnn-1g': 1, other: 2 } } }))).toThrow(
      'modelWeights.resnet50.other: pool "other" does not serve resnet50 (served by cnn-1g, cnn-2g)',
    );
    expect(() => build(specs, () => ({ modelWeights: { resnet50: { 'cnn-1g': 1 } } }))).toThrow(
      'modelWeights.resnet50.cnn-2g: expected a weight for every pool serving resnet50, got none',
    );
    expect(() => build(specs, () => ({ modelWeights: { resnet50: { 'cnn-1g': 1.5, 'cnn-2g': 1 } } }))).toThrow(
      'modelWeights.resnet50.cnn-1g: expected an integer in 0..1000000, got 1.5',
    );
    expect(() =>
      build(specs, () => ({ gateway: undefined, ingress: {}, modelWeights: { resnet50: { 'cnn-1g': 1, 'cnn-2g': 1 } } })),
    ).toThrow('modelWeights: an Ingress can not weight backends; use gateway mode, got weights for resnet50');
  });

  test('pools in two namespaces get an HTTPRoute each', () => {
    const { routeObjs } = build([
      { name: 'vision', models: ['resnet50'], namespace: 'team-vision' },
      { name: 'nlp', models: ['bert-base'], namespace: 'team-nlp' },
    ]);
    expect(routeObjs.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual(['team-nlp/models', 'team-vision/models']);
  });

  test('many models stay within the HTTPRoute limits by splitting into several routes', () => {
    // GIVEN 20 pools with 10 models each: 20 rules of 10 matches
    const specs = Array.from({ length: 20 }, (_, p) => ({
      name: `pool-${String(p).padStart(2, '0')}`,
      models: Array.from({ length: 10 }, (_, m) => `model-${String(p).padStart(2, '0')}-${m}`),
    }));
    const { routeObjs, routes } = build(specs);
    // THEN every route has <= 16 rules and <= 128 matches, and all 200 models are routed exactly once
    expect(routeObjs.map((r) => r.metadata.name)).toEqual(['models', 'models-2']);
    for (const r of routeObjs) {
      expect(r.spec.rules.length).toBeLessThanOrEqual(16);
      expect(r.spec.rules.reduce((s: number, x: any) => s + x.matches.length, 0)).toBeLessThanOrEqual(128);
    }
    const paths = routeObjs.flatMap((r) => r.spec.rules.flatMap((x: any) => x.matches.map((m: any) => m.path.value)));
    expect(paths).toHaveLength(200);
    expect(new Set(paths).size).toBe(200);
    expect(routes.routedModels).toHaveLength(200);
    expect(validateObjects(routeObjs)).toEqual([]);
  });

  test('pools given in another order render byte-identical YAML', () => {
    const a = build(POOLS).routeObjs;
    const b = build([...POOLS].reverse().map((p) => ({ ...p, models: [...p.models].reverse() }))).routeObjs;
    expect(YAML.stringify(b)).toBe(YAML.stringify(a));
  });

  test('every object validates (HTTPRoute against the Gateway API schema)', () => {
    expect(validateObjects(build(POOLS).objs)).toEqual([]);
  });
});

describe('ModelRouteTable (Gateway API): fails on bad routes', () => {
  test('fails for a model routed to no pool', () => {
    expect(() => build(POOLS, () => ({ models: ['resnet50', 'llama-7b'] }))).toThrow(
      'models[1]: model "llama-7b" is routed to no pool (pools serve bert-base, distilbert, efficientnet-b4, mobilenet-v3, resnet50)',
    );
  });

  test('fails for a duplicate route: a pool given twice, or a model in two namespaces', () => {
    expect(() => build(POOLS, (pools) => ({ pools: [pools[0], { pool: pools[0], weight: 2 }] }))).toThrow(
      'pools[1]: duplicate route: pool "cnn-1g" is already routed as pools[0]',
    );
    expect(() =>
      build([
        { name: 'a', models: ['resnet50'], namespace: 'team-a' },
        { name: 'b', models: ['resnet50'], namespace: 'team-b' },
      ]),
    ).toThrow(/^pools\[1\]: duplicate route: model "resnet50" is served in namespace "team-b" \(pool b\) and "team-a" \(pool a\)/);
  });

  test('fails for a request timeout that is not whole milliseconds, or in ingress mode', () => {
    expect(() => build(POOLS, () => ({ requestTimeout: Duration.millis(0.5) }))).toThrow(
      'requestTimeout: expected whole milliseconds >= 1, got 0.5ms',
    );
    expect(() => build(POOLS, () => ({ gateway: undefined, ingress: {}, requestTimeout: Duration.seconds(30) }))).toThrow(
      'requestTimeout: an Ingress has no portable timeout; set it with ingress.annotations, got a requestTimeout',
    );
  });

  test('fails without exactly one of gateway and ingress, and for bad weights', () => {
    expect(() => build(POOLS, () => ({ gateway: undefined }))).toThrow('routes: expected exactly one of gateway and ingress, got neither');
    expect(() => build(POOLS, () => ({ ingress: {} }))).toThrow('routes: expected exactly one of gateway and ingress, got both');
    expect(() => build(POOLS, (pools) => ({ pools: [{ pool: pools[0], weight: -1 }] }))).toThrow(
      'pools[0].weight: expected an integer in 0..1000000, got -1',
    );
    expect(() => build(POOLS, (pools) => ({ pools: [{ pool: pools[0], weight: 0 }] }))).toThrow(/has weight 0 on every pool/);
  });
});

describe('ModelRouteTable (Ingress fallback)', () => {
  test('one Ingress per namespace with a Prefix path per model; a split model gets a Service selecting its pods', () => {
    const { routeObjs, objs, pools } = build(POOLS, () => ({
      gateway: undefined,
      ingress: { className: 'nginx' },
      hostnames: ['models.example.com'],
    }));
    expect(routeObjs).toHaveLength(1);
    const ing = routeObjs[0];
    expect(ing.apiVersion).toBe('networking.k8s.io/v1');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.rules).toHaveLength(1);
    expect(ing.spec.rules[0].host).toBe('models.example.com');
    expect(
      ing.spec.rules[0].http.paths.map((p: any) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.number]),
    ).toEqual([
      ['/v2/models/bert-base', 'Prefix', 'bert-3g', 8000],
      ['/v2/models/distilbert', 'Prefix', 'bert-3g', 8000],
      ['/v2/models/efficientnet-b4', 'Prefix', 'cnn-2g', 8000],
      ['/v2/models/mobilenet-v3', 'Prefix', 'cnn-1g', 8000],
      ['/v2/models/resnet50', 'Prefix', 'model-resnet50', 8000],
    ]);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'model-resnet50');
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'triton', 'model.gpufleet.io/resnet50': 'true' });
    // both pools' pods carry the model label, the third pool's do not
    const podLabels = (name: string) => objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name).spec.template.metadata.labels;
    expect(podLabels('cnn-1g')['model.gpufleet.io/resnet50']).toBe('true');
    expect(podLabels('cnn-2g')['model.gpufleet.io/resnet50']).toBe('true');
    expect(podLabels('bert-3g')['model.gpufleet.io/resnet50']).toBeUndefined();
    expect(pools).toHaveLength(3);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('fails for explicit weights or several hosts in ingress mode', () => {
    expect(() => build(POOLS, (pools) => ({ gateway: undefined, ingress: {}, pools: [{ pool: pools[0], weight: 2 }] }))).toThrow(
      'pools[0].weight: an Ingress can not weight backends; use gateway mode, got weight 2',
    );
    expect(() => build(POOLS, () => ({ gateway: undefined, ingress: {}, hostnames: ['a.example.com', 'b.example.com'] }))).toThrow(
      'hostnames: ingress mode takes at most one host, got 2',
    );
  });
});
