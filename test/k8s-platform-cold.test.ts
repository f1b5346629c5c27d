/**
 * The cold tier of a planned platform (fleet `coldBelowRps`): cache pools in explicit model-control
 * mode with nothing loaded at start, a ModelRouter over their pods, cold model paths routed to the
 * router, network policies that let the router reach the cache pools, quotas that cover them.
 */
import { networkAllows } from './support/network-policy';
import { Testing } from 'cdk8s';
import { parse as parseYaml, stringify } from 'yaml';
import { getMigProfile } from '../constructs/catalog';
import { loadFleetFile } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { collectFacts } from '../constructs/k8s/platform/platform-facts';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { ServingPlatform } from '../constructs/k8s/platform/serving-platform';
import { planDeclaration } from '../constructs/k8s/platform/serving-platform-plan';
import { plan as planFleet, verifyPlan } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import { LONG_TAIL_FLEET_FILE, buildPlannedPlatform } from '../examples/planned-platform';
import { cluster } from './k8s-platform-fixtures';
import { validateObjects } from './support/validate';
import { once } from './support/once';

const repository = ModelRepository.s3({ bucket: 'models', region: 'us-east-1' });

/** Whether a LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) selects these labels. */
function selects(selector: any, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * Whether the policies of a default-deny namespace let `from` pods open TCP `port` on `to` pods (both in `ns`):
 * some Egress policy selecting `from` allows it to `to`, and some Ingress policy selecting `to` allows it from `from`.
 */
function allowed(objs: any[], ns: string, from: Record<string, string>, to: Record<string, string>, port: number): boolean {
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === ns);
  const portOk = (ports: any[] | undefined) => !ports || ports.some((p) => (p.protocol ?? 'TCP') === 'TCP' && p.port === port);
  const peerOk = (peers: any[] | undefined, labels: Record<string, string>) =>
    !peers || peers.some((p) => p.namespaceSelector === undefined && p.ipBlock === undefined && selects(p.podSelector, labels));
  const egress = policies.some(
    (p) =>
      p.spec.policyTypes.includes('Egress') &&
      selects(p.spec.podSelector, from) &&
      (p.spec.egress ?? []).some((r: any) => peerOk(r.to, to) && portOk(r.ports)),
  );
  const ingress = policies.some(
    (p) =>
      p.spec.policyTypes.includes('Ingress') &&
      selects(p.spec.podSelector, to) &&
      (p.spec.ingress ?? []).some((r: any) => peerOk(r.from, from) && portOk(r.ports)),
  );
  return egress && ingress;
}

/** Whether a policy of `ns` lets pods of namespace `fromNs` open TCP `port` on `to` pods. */
function allowedFromNamespace(objs: any[], ns: string, fromNs: string, to: Record<string, string>, port: number): boolean {
  return objs.some(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      o.metadata.namespace === ns &&
      o.spec.policyTypes.includes('Ingress') &&
      selects(o.spec.podSelector, to) &&
      (o.spec.ingress ?? []).some(
        (r: any) =>
          (r.from ?? []).some(
            (p: any) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === fromNs && p.podSelector === undefined,
          ) && (r.ports ?? []).some((p: any) => p.port === port),
      ),
  );
}

/** `/v2/models/<m>` path → `namespace/service` of every HTTPRoute backend (a path routed twice appears twice). */
function routedPaths(objs: any[]): [string, string][] {
  return objs
    .filter((o) => o.kind === 'HTTPRoute')
    .flatMap((r) =>
      r.spec.rules.flatMap((rule: any) =>
        rule.matches.flatMap((m: any) =>
          rule.backendRefs.map((b: any) => [m.path.value, `${r.metadata.namespace}/${b.name}`] as [string, string]),
        ),
      ),
    );
}

const podLabels = (objs: any[], ns: string, name: string): Record<string, string> =>
  objs.find((o) => o.kind === 'Deployment' && o.metadata.namespace === ns && o.metadata.name === name).spec.template.metadata.labels;

/**
 * examples/long-tail.fleet.yaml planned and rendered once, for the `…rendered with its cold tier` blocks below. Planned
 * with `effort: 'fast'`, which gives this fleet the default effort's plan byte for byte (checked when it was introduced)
 * in a fifth of the CPU: these tests are about the rendering of its cold tier, not the packing effort.
 */
const FAST = { effort: 'fast' } as const;
const longTail = once(() => {
  const fleet = loadFleetFile(LONG_TAIL_FLEET_FILE);
  const app = Testing.app();
  const { chart, platform, plan } = buildPlannedPlatform(app, 'long-tail', { fleetFile: LONG_TAIL_FLEET_FILE, planOptions: FAST });
  const objs: any[] = chart.toJson();
  const cold = plan.cold!;
  const coldNames = cold.models.map((m) => m.name).sort();
  const router = platform.coldPool!.router;
  const ns = router.namespace!;
  const cachePools = [...platform.pools.values()].filter((p) => p.cache);
  return { fleet, platform, plan, objs, cold, coldNames, router, ns, cachePools };
});

describe('examples/long-tail.fleet.yaml rendered with its cold tier: plan, cache pools, model configs', () => {
  const { fleet, platform, plan, objs, cold, coldNames, ns, cachePools } = longTail();

  test('the plan is valid, most models are cold, and the cold tier saves gpus', () => {
    expect(verifyPlan(fleet, plan)).toEqual([]);
    expect(fleet.models.length).toBeGreaterThanOrEqual(30);
    expect(coldNames.length).toBeGreaterThan(fleet.models.length / 2);
    expect(cold.gpusSaved).toBeGreaterThan(0);
  });

  test('cache slices become fixed Triton pools per slice kind, replicas = cache slices, nothing loaded at start', () => {
    const slicesByKind = new Map<string, number>();
    for (const s of cold.slices) slicesByKind.set(s.profile, (slicesByKind.get(s.profile) ?? 0) + 1);
    expect(new Map(cachePools.map((p) => [p.pool.profile, p.pool.replicas]))).toEqual(slicesByKind);
    for (const { pool, scaling, maxReplicas } of cachePools) {
      expect(pool.namespace).toBe(ns);
      expect(scaling).toEqual({ kind: 'fixed' });
      expect(maxReplicas).toBe(pool.replicas);
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === pool.name);
      expect(d.spec.replicas).toBe(pool.replicas);
      const args: string[] = d.spec.template.spec.containers[0].args;
      expect(args).toContain('--model-control-mode=explicit');
      expect(args.filter((a) => a.startsWith('--load-model='))).toEqual([]);
      expect(Object.keys(d.spec.template.metadata.labels).filter((k) => k.startsWith('model.gpufleet.io/'))).toEqual([]);
      expect(pool.loadModelsAtStart).toBe(false);
      expect(d.metadata.labels['gpufleet.io/cache-pool']).toBe('true');
      expect(d.spec.template.metadata.labels['gpufleet.io/cache-pool']).toBe('true');
      expect(
        objs.some((o) => ['ScaledObject', 'HorizontalPodAutoscaler'].includes(o.kind) && o.spec.scaleTargetRef.name === pool.name),
      ).toBe(false);
    }
    // seated pools still load their models and autoscale
    for (const { pool } of [...platform.pools.values()].filter((p) => !p.cache)) {
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === pool.name);
      expect(d.spec.template.spec.containers[0].args.filter((a: string) => a.startsWith('--load-model='))).toEqual(
        pool.models.map((m) => `--load-model=${m}`),
      );
      expect(pool.loadModelsAtStart).toBe(true);
      expect(d.spec.template.metadata.labels['gpufleet.io/cache-pool']).toBeUndefined();
      expect(pool.models.some((m) => coldNames.includes(m))).toBe(false);
    }
  });

  test('every cold model has its config.pbtxt in the repository, one instance', () => {
    expect(platform.repository.modelNames).toEqual(fleet.models.map((m) => m.name).sort());
    for (const m of coldNames) expect(platform.repository.model(m).instanceGroups[0].count).toBe(1);
    // batch of the best admissible entry on the cache slice (snippet-summarizer: batch 1 only)
    expect(platform.repository.model('snippet-summarizer').maxBatchSize).toBe(1);
    expect(platform.repository.model('kyc-face-match').dynamicBatching?.preferredBatchSizes).toEqual([8]);
  });
});

describe('examples/long-tail.fleet.yaml rendered with its cold tier: router, routes, network policies', () => {
  const { fleet, platform, objs, coldNames, router, ns, cachePools } = longTail();

  test('the router config lists the cold models with their memory, and each cache pool as a DNS backend with its budget', () => {
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${router.name}-config`);
    const config = parseYaml(cm.data['router.yaml']);
    expect(config.models).toEqual(coldNames.map((name) => ({ name, memoryGiB: fleet.models.find((m) => m.name === name)!.memoryGiB })));
    expect(config.backends).toEqual(
      cachePools.map(({ pool }) => ({
        name: pool.name,
        url: `http://${pool.name}-pods.${ns}.svc.cluster.local:8000`,
        memoryGiB: Math.round((getMigProfile(pool.gpuType, pool.profile).memoryGiB - fleet.processOverheadGiB) * 1000) / 1000,
        discover: 'dns',
        grpcPort: 8001,
      })),
    );
    expect(config.admin).toBe('127.0.0.1:9001');
    for (const { pool } of cachePools) {
      const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === `${pool.name}-pods`);
      expect(svc.metadata.namespace).toBe(ns);
      expect(svc.spec.clusterIP).toBe('None');
      expect(selects({ matchLabels: svc.spec.selector }, podLabels(objs, ns, pool.name))).toBe(true);
    }
  });

  test('cold models route to the router, warm models to their pools; every model is routed exactly once', () => {
    const paths = routedPaths(objs);
    expect(paths.map(([p]) => p).sort()).toEqual(fleet.models.map((m) => `/v2/models/${m.name}`).sort());
    const to = new Map(paths);
    for (const m of coldNames) expect(to.get(`/v2/models/${m}`)).toBe(`${ns}/${router.service.name}`);
    for (const m of fleet.models.filter((x) => !coldNames.includes(x.name))) {
      const pool = [...platform.pools.values()].find((p) => !p.cache && p.pool.models.includes(m.name))!.pool;
      expect(to.get(`/v2/models/${m.name}`)).toBe(`${pool.namespace}/${pool.service.name}`);
    }
    const routerRoute = objs.find((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'models-router');
    expect(routerRoute.metadata.namespace).toBe(ns);
    expect(routerRoute.spec.hostnames).toEqual(['inference.example.com']);
  });

  test('network policies: the router reaches the cache pools, the gateway and Prometheus reach the router', () => {
    const routerPod = podLabels(objs, ns, router.name);
    for (const { pool } of cachePools) {
      expect(allowed(objs, ns, routerPod, podLabels(objs, ns, pool.name), 8000)).toBe(true);
      // nothing else in the namespace is opened to the router, nor the cache pools to other pods
      const seated = [...platform.pools.values()].find((p) => !p.cache && p.pool.namespace === ns);
      if (seated) expect(allowed(objs, ns, routerPod, podLabels(objs, ns, seated.pool.name), 8000)).toBe(false);
    }
    expect(allowedFromNamespace(objs, ns, 'gateway-system', routerPod, 8000)).toBe(true);
    expect(allowedFromNamespace(objs, ns, 'monitoring', routerPod, 8000)).toBe(true);
  });

  test("network policies (Kubernetes semantics): only the router reaches the cache pods' Triton ports, repository API included", () => {
    const routerPod = { namespace: ns, labels: podLabels(objs, ns, router.name) };
    const gateway = { namespace: 'gateway-system', labels: { app: 'envoy' } };
    const prometheus = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
    const seated = [...platform.pools.values()].find((p) => !p.cache);
    for (const { pool } of cachePools) {
      const cache = { namespace: ns, labels: podLabels(objs, ns, pool.name) };
      // the router: HTTP (inference, index, unload) and gRPC (RepositoryModelLoad)
      expect([8000, 8001].map((port) => networkAllows(objs, routerPod, cache, port))).toEqual([true, true]);
      // nobody else: the gateway, another pod of the namespace, another namespace's pool
      expect([8000, 8001].map((port) => networkAllows(objs, gateway, cache, port))).toEqual([false, false]);
      const neighbour = { namespace: ns, labels: { 'app.kubernetes.io/name': 'debug' } };
      expect(networkAllows(objs, neighbour, cache, 8000)).toBe(false);
      if (seated)
        expect(
          networkAllows(
            objs,
            { namespace: seated.pool.namespace!, labels: podLabels(objs, seated.pool.namespace!, seated.pool.name) },
            cache,
            8000,
          ),
        ).toBe(false);
      // Prometheus still scrapes Triton's metrics port
      expect(networkAllows(objs, prometheus, cache, 8002)).toBe(true);
    }
    // the gateway still reaches the router and the seated pools
    expect(networkAllows(objs, gateway, routerPod, 8000)).toBe(true);
    if (seated)
      expect(
        networkAllows(
          objs,
          gateway,
          { namespace: seated.pool.namespace!, labels: podLabels(objs, seated.pool.namespace!, seated.pool.name) },
          8000,
        ),
      ).toBe(true);
  });
});

describe('examples/long-tail.fleet.yaml rendered with its cold tier: quotas, checks, determinism, ingress', () => {
  const { fleet, platform, plan, objs, coldNames, router, ns, cachePools } = longTail();

  test('quotas cover the cache pools and the router; the cross-tree checks pass', () => {
    const facts = collectFacts(objs);
    const quota = facts.quotas.find((q) => q.namespace === ns)!;
    for (const { pool } of cachePools) {
      const inNs = facts.pools.filter((p) => p.namespace === ns && p.gpuResources[pool.gpuResource]);
      expect(quota.hard[`requests.${pool.gpuResource}`]).toBe(inNs.reduce((s, p) => s + p.maxReplicas, 0));
    }
    const pods = facts.pools.filter((p) => p.namespace === ns).reduce((s, p) => s + p.maxReplicas, 0);
    expect(quota.hard.pods).toBeGreaterThanOrEqual(pods + 1);
    expect(platform.check()).toEqual([]);
  });

  test('the model-in-repository check covers the cold models', () => {
    const without = platform.repository.modelNames.filter((m) => m !== 'image-captioner');
    expect(platform.check({ repositoryModels: without })).toEqual([
      `router "${router.name}" (namespace ${ns}) loads model "image-captioner" on demand, but the model repository has no model ` +
        `"image-captioner" (repository: ${without.join(', ')})`,
    ]);
  });

  test('every object validates', () => {
    expect(validateObjects(objs)).toEqual([]);
  });

  test('the same fleet with models in reverse order renders byte-identical YAML', () => {
    const render = (f: Fleet, p: Plan) => {
      const c = Testing.chart();
      ServingPlatform.fromPlan(c, 'Platform', {
        cluster,
        repository,
        fleet: f,
        plan: p,
        scaling: { kind: 'keda', maxReplicas: 1 },
        extraReplicas: 1,
      });
      return Testing.synth(c)
        .map((o) => stringify(o))
        .join('---\n');
    };
    // the fleet as declared with its plan above (examples/planned-platform.ts), and reversed, planned again (the
    // planner's order-independence at the default effort: test/planner-properties.test.ts, "the same fleet in any
    // model order")
    const yaml = render(fleet, plan);
    expect(yaml).toContain('models-router');
    const reversed = { ...fleet, models: [...fleet.models].reverse() };
    expect(render(reversed, planFleet(reversed, FAST))).toBe(yaml);
  });

  test('ingress mode: one Ingress sends the cold models to the router', () => {
    const c = Testing.chart();
    ServingPlatform.fromPlan(c, 'Platform', { cluster, repository, fleet, plan, routes: { ingress: { className: 'nginx' } } });
    const ingresses = Testing.synth(c).filter((o) => o.kind === 'Ingress');
    const routerIngress = ingresses.find((i) => i.metadata.name === 'models-router');
    expect(routerIngress.metadata.namespace).toBe(ns);
    const paths = routerIngress.spec.rules[0].http.paths;
    expect(paths.map((p: any) => p.path)).toEqual(coldNames.map((m) => `/v2/models/${m}`));
    expect(new Set(paths.map((p: any) => p.backend.service.name))).toEqual(new Set(['model-router']));
    const all = ingresses.flatMap((i) => i.spec.rules[0].http.paths.map((p: any) => p.path)).sort();
    expect(all).toEqual(fleet.models.map((m) => `/v2/models/${m.name}`).sort());
  });
});

/** A fleet of one hot and two cold models on one H100, and a hand-made plan: two 1g cache slices beside a 3g slice of the hot model. */
function handMadeColdTier() {
  const fleet: Fleet = {
    name: 'tail',
    latencyHeadroom: 0.5,
    processOverheadGiB: 0.6,
    coldBelowRps: 1,
    gpus: [{ type: 'H100-80GB', mig: true }],
    models: [
      { name: 'hot', team: 'x', rps: 100, latencySloMs: 100, memoryGiB: 1, profiles: [] },
      {
        name: 'rare-a',
        team: 'y',
        rps: 0.2,
        latencySloMs: 500,
        memoryGiB: 2,
        profiles: [
          { gpu: 'H100-80GB', slice: 1, batch: 4, instances: 2, throughput: 80, latencyMs: 40 },
          { gpu: 'H100-80GB', slice: 1, batch: 2, instances: 1, throughput: 50, latencyMs: 30 },
        ],
      },
      { name: 'rare-b', team: 'y', rps: 0.1, latencySloMs: 500, memoryGiB: 3, profiles: [], throughputPerGpu: { 'H100-80GB': 100 } },
    ],
  };
  const hot = { profile: '3g.40gb', start: 4, models: [{ name: 'hot', batch: 4, instances: 1, share: 0.5, rps: 100 }] };
  const cache = (start: number) => ({ profile: '1g.10gb', start, models: [], cache: true });
  const plan: Plan = {
    fleet: 'tail',
    gpus: [{ id: 'gpu-0', type: 'H100-80GB', node: 'node-0', mig: true, slices: [cache(0), cache(1), hot] }],
    nodes: [{ name: 'node-0', instanceType: 'p5.48xlarge', gpuType: 'H100-80GB', migConfig: 'h100-tail', gpus: ['gpu-0'] }],
    migConfigs: [
      {
        name: 'h100-tail',
        gpuType: 'H100-80GB',
        instanceType: 'p5.48xlarge',
        devices: [
          [
            { profile: '1g.10gb', start: 0 },
            { profile: '1g.10gb', start: 1 },
            { profile: '3g.40gb', start: 4 },
          ],
        ],
        nodes: 1,
      },
    ],
    cold: {
      belowRps: 1,
      models: [
        { name: 'rare-b', rps: 0.1 },
        { name: 'rare-a', rps: 0.2 },
      ],
      slices: [
        { gpu: 'gpu-0', profile: '1g.10gb', start: 0 },
        { gpu: 'gpu-0', profile: '1g.10gb', start: 1 },
      ],
      hitRateTarget: 0.95,
      cacheGiB: 5,
      gpusWithSeats: 1,
      gpusSaved: 0,
    },
    summary: { gpuCount: 1, costPerHour: 1, lowerBound: 0.2, baselines: { dedicated: 3, noMig: 1 } },
  };
  return { fleet, plan, hot, cache };
}

describe('planDeclaration with a cold tier (hand-made plan)', () => {
  const { fleet, plan, hot, cache } = handMadeColdTier();

  test("cold models of one team: the cache pool and the router live in that team's namespace", () => {
    const d = planDeclaration(fleet, plan);
    expect(d.cold).toEqual({
      owner: 'y',
      pools: ['y-cache-1g'],
      models: [
        { name: 'rare-a', memoryGiB: 2 },
        { name: 'rare-b', memoryGiB: 3 },
      ],
      processOverheadGiB: 0.6,
    });
    const y = d.teams.find((t) => t.name === 'y')!;
    expect(y.pools).toEqual([
      {
        name: 'y-cache-1g',
        slice: '1g.10gb',
        models: ['rare-a', 'rare-b'],
        replicas: 2,
        nodePool: 'h100-tail',
        scaling: { kind: 'fixed' },
      },
    ]);
    // one instance, batch of the best one-instance admissible entry; no entry on the slice: batch-1 estimate
    expect(y.models.map((m) => [m.name, m.maxBatchSize, m.preferredBatchSizes, m.instances])).toEqual([
      ['rare-a', 2, [2], 1],
      ['rare-b', 8, undefined, 1],
    ]);

    const c = Testing.chart();
    const p = ServingPlatform.fromPlan(c, 'P', {
      cluster,
      repository,
      fleet,
      plan,
      router: { name: 'tail-router', loadTimeoutSeconds: 300 },
    });
    expect(p.coldPool!.router.namespace).toBe('y');
    expect(p.coldPool!.router.config.loadTimeoutSeconds).toBe(300);
    expect(p.check()).toEqual([]);
    const objs = Testing.synth(c);
    expect(routedPaths(objs)).toEqual(
      expect.arrayContaining([
        ['/v2/models/rare-a', 'y/tail-router'],
        ['/v2/models/rare-b', 'y/tail-router'],
      ]),
    );
    expect(validateObjects(objs)).toEqual([]);
  });

  test('fails when the plan has cold models but no cache slice', () => {
    const broken: Plan = { ...plan, gpus: [{ ...plan.gpus[0], slices: [hot] }] };
    expect(() => planDeclaration(fleet, broken)).toThrow(
      'plan.cold: 2 cold model(s) (rare-a, rare-b) but no cache slice (cache: true) in plan.gpus',
    );
  });

  test('fails when a cold model is also placed on a slice', () => {
    const twice: Plan = {
      ...plan,
      gpus: [
        {
          ...plan.gpus[0],
          slices: [
            cache(0),
            cache(1),
            { ...hot, models: [...hot.models, { name: 'rare-a', batch: 2, instances: 1, share: 0.1, rps: 0.2 }] },
          ],
        },
      ],
    };
    expect(() => planDeclaration(fleet, twice)).toThrow(
      'plan.cold.models: model "rare-a" is cold (served through the router) but also placed on a slice; a model is either cold or seated',
    );
  });

  test('fails on a cache slice in a plan without a cold tier, or a cold model the fleet does not have', () => {
    const { cold: _cold, ...noCold } = plan;
    expect(() => planDeclaration(fleet, noCold as Plan)).toThrow(
      'plan.gpus[gpu-0]: slice 1g.10gb@0 is a cache slice, but the plan has no cold tier (plan.cold)',
    );
    const unknown: Plan = { ...plan, cold: { ...plan.cold!, models: [...plan.cold!.models, { name: 'ghost', rps: 0.1 }] } };
    expect(() => planDeclaration(fleet, unknown)).toThrow('plan.cold.models: model "ghost" is not in fleet "tail"');
  });
});
