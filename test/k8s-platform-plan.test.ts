/**
 * A platform rendered from a plan: node pools per node configuration, Triton pools grouped by
 * (slice kind, model set), model configs from the chosen entries, routes and quotas from the pools.
 */
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { parseFleet } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { collectFacts } from '../constructs/k8s/platform/platform-checks';
import { ServingPlatform } from '../constructs/k8s/platform/serving-platform';
import { planDeclaration } from '../constructs/k8s/platform/serving-platform-plan';
import { plan as planFleet } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import { cluster } from './k8s-platform-fixtures';
import { validateObjects } from './support/validate';
import { once } from './support/once';
import { buildPlannedPlatform } from '../examples/planned-platform';

const FLEET = `
name: demo
gpus:
  - type: H100-80GB
models:
  - name: resnet50
    team: vision
    rps: 900
    latencySloMs: 100
    memoryGiB: 1.0
    triton: { platform: onnxruntime_onnx, maxBatchSize: 32 }
    profiles:
      - { gpu: H100-80GB, slice: 1, batch: 8, instances: 2, throughput: 400, latencyMs: 20 }
      - { gpu: H100-80GB, slice: 2, batch: 16, instances: 2, throughput: 800, latencyMs: 20 }
  - { name: densenet, team: vision, rps: 50, latencySloMs: 150, memoryGiB: 1.2, throughputPerGpu: 1500 }
  - { name: mobilenet, team: vision, rps: 20, latencySloMs: 100, memoryGiB: 0.5, throughputPerGpu: 5000 }
  - { name: bert-base, team: search, rps: 200, latencySloMs: 80, memoryGiB: 1.5, throughputPerGpu: 1200 }
  - { name: distilbert, team: search, rps: 30, latencySloMs: 80, memoryGiB: 0.8, throughputPerGpu: 2400 }
  - name: llama-7b
    team: llm
    rps: 4
    latencySloMs: 4000
    memoryGiB: 30
    throughputPerGpu: 6
    triton: { platform: vllm, maxBatchSize: 0 }
`;

const repository = ModelRepository.s3({ bucket: 'models', region: 'us-east-1' });

function render(fleet: Fleet, plan: Plan) {
  const chart = Testing.chart();
  const platform = ServingPlatform.fromPlan(chart, 'Platform', {
    cluster,
    repository,
    fleet,
    plan,
    scaling: { kind: 'keda', maxReplicas: 4 },
  });
  return { platform, objs: Testing.synth(chart) };
}

/** The fleet above planned and rendered once, for the `ServingPlatform.fromPlan (planner output)…` blocks below. */
const planned = once(() => {
  const fleet = parseFleet(FLEET);
  const plan = planFleet(fleet);
  const { platform, objs } = render(fleet, plan);
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  return { fleet, plan, platform, objs, of };
});

describe('ServingPlatform.fromPlan (planner output): node pools, pools, model configs', () => {
  const { fleet, plan, platform, of } = planned();

  test('one node pool per node configuration, its layout (per-device entries) in the MIG config', () => {
    expect(
      of('NodePool')
        .map((n) => n.metadata.name)
        .sort(),
    ).toEqual(plan.migConfigs!.map((c) => c.name).sort());
    const migParted = of('ConfigMap').find((c) => c.metadata.name === 'gpufleet-mig-parted-config').data['config.yaml'];
    for (const c of plan.migConfigs!) {
      expect(migParted).toContain(`${c.name}:`);
      const np = of('NodePool').find((n) => n.metadata.name === c.name);
      expect(np.spec.template.metadata.labels['nvidia.com/mig.config']).toBe(c.name);
    }
  });

  test('pools group slices by (slice kind, model set); replicas = slices holding that set', () => {
    const expected = new Map<string, number>();
    for (const g of plan.gpus) {
      for (const s of g.slices) {
        if (s.models.length === 0) continue;
        const key = `${s.profile}:${s.models
          .map((m) => m.name)
          .sort()
          .join(',')}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    const actual = new Map<string, number>();
    for (const { pool, scaling } of platform.pools.values()) {
      actual.set(`${pool.profile}:${pool.models.join(',')}`, pool.replicas);
      expect(scaling).toMatchObject({ kind: 'keda', minReplicas: pool.replicas });
    }
    expect(actual).toEqual(expected);
    for (const d of of('Deployment')) {
      const p = platform.pools.get(d.metadata.name)!.pool;
      const args = d.spec.template.spec.containers[0].args.filter((a: string) => a.startsWith('--load-model='));
      expect(args).toEqual(p.models.map((m) => `--load-model=${m}`));
    }
  });

  test('model configs take instance_group count and batch sizes from the chosen entries', () => {
    const entries = plan.gpus.flatMap((g) => g.slices.flatMap((s) => s.models)).filter((m) => m.name === 'resnet50');
    const busiest = [...entries].sort((a, b) => b.rps - a.rps)[0];
    const config = platform.repository.model('resnet50');
    expect(config.maxBatchSize).toBe(32);
    expect(config.instanceGroups[0].count).toBe(busiest.instances);
    expect(config.dynamicBatching?.preferredBatchSizes).toEqual([...new Set(entries.map((e) => e.batch))].sort((a, b) => a - b));
    expect(platform.repository.model('llama-7b').backend).toBe('vllm');
    expect(platform.repository.modelNames).toEqual(fleet.models.map((m) => m.name).sort());
  });
});

describe('ServingPlatform.fromPlan (planner output): namespaces, routes, quotas, determinism', () => {
  const { fleet, plan, platform, objs } = planned();

  test('pools sharing a model share a namespace; mixed-team pools go to the shared namespace', () => {
    const nsOf = new Map<string, Set<string>>();
    for (const { pool } of platform.pools.values()) {
      for (const m of pool.models) nsOf.set(m, new Set([...(nsOf.get(m) ?? []), pool.namespace!]));
      const teamsOfPool = new Set(pool.models.map((m) => fleet.models.find((x) => x.name === m)!.team));
      if (teamsOfPool.size > 1) expect(pool.namespace).toBe('serving-shared');
    }
    for (const set of nsOf.values()) expect(set.size).toBe(1);
  });

  test.each([
    ['every model seated', undefined],
    ['a cold tier (coldBelowRps: 25)', 25],
  ])('routes cover every model exactly once; quotas cover the pools at their maximum: %s', (_, coldBelowRps) => {
    const f: Fleet = coldBelowRps === undefined ? fleet : { ...fleet, coldBelowRps };
    const p = coldBelowRps === undefined ? plan : planFleet(f);
    const r = coldBelowRps === undefined ? { platform, objs } : render(f, p);
    const kind = (k: string) => r.objs.filter((o) => o.kind === k);
    const routes = kind('HTTPRoute').flatMap((route) =>
      route.spec.rules.flatMap((rule: any) =>
        rule.matches.map((m: any) => [m.path.value, `${route.metadata.namespace}/${rule.backendRefs.map((b: any) => b.name).join(',')}`]),
      ),
    );
    const routed = routes.map(([path]) => path);
    expect(routed.sort()).toEqual(f.models.map((m) => `/v2/models/${m.name}`).sort());
    const cold = (p.cold?.models ?? []).map((m) => m.name);
    if (coldBelowRps !== undefined) {
      expect(cold.length).toBeGreaterThan(0);
      const router = r.platform.coldPool!.router;
      for (const m of cold)
        expect(routes.filter(([path]) => path === `/v2/models/${m}`)).toEqual([
          [`/v2/models/${m}`, `${router.namespace}/${router.service.name}`],
        ]);
    }
    const facts = collectFacts(r.objs);
    for (const q of facts.quotas) {
      const demand = facts.pools.filter((x) => x.namespace === q.namespace).reduce((s, x) => s + x.maxReplicas, 0);
      const granted = Object.entries(q.hard)
        .filter(([k]) => k.startsWith('requests.nvidia.com/'))
        .reduce((s, [, v]) => s + v, 0);
      expect(granted).toBe(demand);
    }
    expect(r.platform.check()).toEqual([]);
  });

  test('every object validates', () => {
    expect(validateObjects(objs)).toEqual([]);
  });

  test('the same fleet with models in reverse order renders byte-identical YAML', () => {
    const reversed = { ...fleet, models: [...fleet.models].reverse() };
    const again = render(reversed, planFleet(reversed)).objs;
    expect(again.map((o) => stringify(o)).join('---\n')).toBe(objs.map((o) => stringify(o)).join('---\n'));
  });
});

/** A hand-made plan of a three-model fleet, for the `planDeclaration (hand-made plan)…` blocks below. */
const handMade = once(() => {
  const fleet: Fleet = {
    name: 'mini',
    latencyHeadroom: 0.5,
    processOverheadGiB: 0.6,
    gpus: [
      { type: 'H100-80GB', mig: true },
      { type: 'L4', mig: false },
    ],
    models: [
      { name: 'a', team: 'x', rps: 10, latencySloMs: 100, memoryGiB: 1, profiles: [] },
      { name: 'b', team: 'y', rps: 10, latencySloMs: 100, memoryGiB: 1, profiles: [] },
      { name: 'c', team: 'y', rps: 10, latencySloMs: 100, memoryGiB: 1, profiles: [] },
    ],
  };
  const slice = (profile: string, start: number, ...models: [string, number][]) => ({
    profile,
    start,
    models: models.map(([name, rps]) => ({ name, batch: 4, instances: 1, share: 0.5, rps })),
  });
  const plan: Plan = {
    fleet: 'mini',
    gpus: [
      {
        id: 'gpu-0',
        type: 'H100-80GB',
        node: 'node-0',
        mig: true,
        slices: [slice('3g.40gb', 0, ['a', 6], ['b', 10]), slice('3g.40gb', 4, ['a', 4], ['b', 0.1])],
      },
      { id: 'gpu-1', type: 'L4', node: 'node-1', mig: false, slices: [slice('whole', 0, ['c', 10])] },
    ],
    nodes: [
      { name: 'node-0', instanceType: 'p5.48xlarge', gpuType: 'H100-80GB', migConfig: 'h100-3g', gpus: ['gpu-0'] },
      { name: 'node-1', instanceType: 'g6.xlarge', gpuType: 'L4', migConfig: 'all-disabled', gpus: ['gpu-1'] },
    ],
    migConfigs: [
      {
        name: 'h100-3g',
        gpuType: 'H100-80GB',
        instanceType: 'p5.48xlarge',
        devices: [
          [
            { profile: '3g.40gb', start: 0 },
            { profile: '3g.40gb', start: 4 },
          ],
        ],
        nodes: 1,
      },
    ],
    summary: { gpuCount: 2, costPerHour: 1, lowerBound: 1, baselines: { dedicated: 3, noMig: 2 } },
  };
  return { fleet, slice, plan };
});

describe('planDeclaration (hand-made plan): pools, rendering, plan checks', () => {
  const { fleet, plan, slice } = handMade();

  test('node pools for MIG configurations and for whole GPUs the plan lists no config for', () => {
    const d = planDeclaration(fleet, plan);
    expect(d.nodePools.map((n) => [n.name, n.gpuType, n.instanceType, n.layout?.name ?? null, n.plannedNodes])).toEqual([
      ['h100-3g', 'H100-80GB', 'p5.48xlarge', 'h100-3g', 1],
      ['l4-whole', 'L4', 'g6.xlarge', null, 1],
    ]);
  });

  test('slices with the same model set form one pool; a mixed-team pool is shared; weights are the planned rps', () => {
    const d = planDeclaration(fleet, plan);
    expect(d.sharedPools).toEqual([
      {
        name: 'shared-3g',
        slice: '3g.40gb',
        models: ['a', 'b'],
        replicas: 2,
        nodePool: 'h100-3g',
        scaling: { kind: 'fixed' },
        teams: ['x', 'y'],
        // each team: 2 slices x share 0.5 x 3/7 of the GPU = 0.4286 GPU-equivalents, at p5.48xlarge's $55.04 / 8 per GPU-hour
        consumption: { x: { gpuEquivalents: 0.4286, costPerHour: 2.9486 }, y: { gpuEquivalents: 0.4286, costPerHour: 2.9486 } },
      },
    ]);
    expect(d.teams.map((t) => [t.name, (t.pools ?? []).map((p) => [p.name, p.slice, p.models, p.replicas, p.nodePool])])).toEqual([
      ['x', []],
      ['y', [['y-gpu', 'whole', ['c'], 1, 'l4-whole']]],
    ]);
    expect(d.teams[1].models.map((m) => [m.name, m.maxBatchSize, m.preferredBatchSizes, m.instances])).toEqual([
      ['b', 4, [4], 1],
      ['c', 4, [4], 1],
    ]);
    expect([...d.weights.get('a')!]).toEqual([['shared-3g', 10]]);
  });

  test('renders to a consistent platform with a time-slicing-free L4 pool', () => {
    const chart = Testing.chart();
    const p = ServingPlatform.fromPlan(chart, 'P', { cluster, repository, fleet, plan });
    expect([...p.pools.keys()].sort()).toEqual(['shared-3g', 'y-gpu']);
    expect(p.pools.get('y-gpu')!.pool.gpuResource).toBe('nvidia.com/gpu');
    expect(p.check()).toEqual([]);
  });

  test('a node pool may grow to at least the planned nodes', () => {
    const bigger: Plan = { ...plan, migConfigs: [{ ...plan.migConfigs![0], nodes: 5 }] };
    const chart = Testing.chart();
    ServingPlatform.fromPlan(chart, 'P', { cluster, repository, fleet, plan: bigger });
    const pools = Testing.synth(chart).filter((o) => o.kind === 'NodePool');
    // the limit is on CPU (a NodeOverlay can not change it): nodes × the instance's vCPUs
    const limit = (name: string) => pools.find((p) => p.metadata.name === name).spec.limits.cpu;
    expect(limit('h100-3g')).toBe(5 * 192); // p5.48xlarge: 192 vCPUs
    expect(limit('l4-whole')).toBe(2 * 4); // g6.xlarge: 4 vCPUs, the default of 2 nodes
  });

  test('fails on a plan for another fleet', () => {
    expect(() => planDeclaration({ ...fleet, name: 'other' }, plan)).toThrow('plan.fleet: the plan is for fleet "mini", got fleet "other"');
  });

  test('fails when a planned team also declares pools', () => {
    expect(() =>
      planDeclaration(fleet, plan, [{ name: 'x', models: [], pools: [{ name: 'p', slice: '1g.10gb', models: ['a'] }] }]),
    ).toThrow(
      'teams["x"].pools: a planned platform places models by its plan, got 1 hand-written pool(s); remove them or render without a plan',
    );
  });

  test('fails on a model the fleet does not have, or a fleet model the plan does not place', () => {
    const extra: Plan = { ...plan, gpus: [plan.gpus[0], { ...plan.gpus[1], slices: [slice('whole', 0, ['c', 10], ['z', 1])] }] };
    expect(() => planDeclaration(fleet, extra)).toThrow('plan.gpus[gpu-1]: model "z" is not in fleet "mini"');
    const missing: Plan = { ...plan, gpus: [plan.gpus[0], { ...plan.gpus[1], slices: [] }] };
    expect(() => planDeclaration(fleet, missing)).toThrow('plan: model(s) c of fleet "mini" are not placed on any slice');
  });

  test('fails on a node configuration missing from plan.migConfigs', () => {
    const broken: Plan = { ...plan, migConfigs: [] };
    expect(() => planDeclaration(fleet, broken)).toThrow('plan.nodes[node-0].migConfig: "h100-3g" is not in plan.migConfigs ()');
  });
});

describe('planDeclaration (hand-made plan): node instance types', () => {
  const { fleet, plan, slice } = handMade();

  test("node pools take the plan's instance types, also a smaller one than the catalog default", () => {
    const small: Plan = {
      ...plan,
      nodes: [{ ...plan.nodes![0], instanceType: 'p5.4xlarge' }, plan.nodes![1]],
      migConfigs: [{ ...plan.migConfigs![0], instanceType: 'p5.4xlarge' }],
    };
    expect(planDeclaration(fleet, small).nodePools.map((n) => [n.name, n.instanceType, n.instanceTypes])).toEqual([
      ['h100-3g', 'p5.4xlarge', undefined],
      ['l4-whole', 'g6.xlarge', undefined],
    ]);
    const chart = Testing.chart();
    ServingPlatform.fromPlan(chart, 'P', { cluster, repository, fleet, plan: small });
    const instanceTypes = (name: string) =>
      Testing.synth(chart)
        .find((o) => o.kind === 'NodePool' && o.metadata.name === name)
        .spec.template.spec.requirements.find((r: any) => r.key === 'node.kubernetes.io/instance-type').values;
    expect(instanceTypes('h100-3g')).toEqual(['p5.4xlarge']);
    expect(instanceTypes('l4-whole')).toEqual(['g6.xlarge']);
  });

  test('whole-GPU nodes of one GPU type on several instance sizes: one node pool with every size the plan uses', () => {
    const two: Plan = {
      ...plan,
      gpus: [...plan.gpus, { id: 'gpu-2', type: 'L4', node: 'node-2', mig: false, slices: [slice('whole', 0, ['c', 1])] }],
      nodes: [...plan.nodes!, { name: 'node-2', instanceType: 'g6.12xlarge', gpuType: 'L4', migConfig: 'all-disabled', gpus: ['gpu-2'] }],
    };
    const l4 = planDeclaration(fleet, two).nodePools.find((n) => n.name === 'l4-whole')!;
    expect([l4.instanceType, l4.instanceTypes, l4.plannedNodes]).toEqual([undefined, ['g6.12xlarge', 'g6.xlarge'], 2]);
    const chart = Testing.chart();
    ServingPlatform.fromPlan(chart, 'P', { cluster, repository, fleet, plan: two });
    const np = Testing.synth(chart).find((o) => o.kind === 'NodePool' && o.metadata.name === 'l4-whole');
    expect(np.spec.template.spec.requirements.find((r: any) => r.key === 'node.kubernetes.io/instance-type').values).toEqual([
      'g6.12xlarge',
      'g6.xlarge',
    ]);
  });

  test('fails on a plan without nodes, or a node configuration or node without its instance type', () => {
    expect(() => planDeclaration(fleet, { ...plan, nodes: undefined })).toThrow(
      "plan.nodes: expected the plan's nodes with their instance types (and plan.migConfigs for MIG nodes), got null; plan the " +
        'fleet with gpufleet plan',
    );
    expect(() => planDeclaration(fleet, { ...plan, nodes: [] })).toThrow(/^plan\.nodes: expected the plan's nodes .*got \[\]/);
    const noConfigType: Plan = { ...plan, migConfigs: [{ ...plan.migConfigs![0], instanceType: '' }] };
    expect(() => planDeclaration(fleet, noConfigType)).toThrow(
      'plan.migConfigs[h100-3g].instanceType: expected the EC2 instance type of node configuration "h100-3g", got ""',
    );
    const noNodeType: Plan = { ...plan, nodes: [plan.nodes![0], { ...plan.nodes![1], instanceType: undefined as unknown as string }] };
    expect(() => planDeclaration(fleet, noNodeType)).toThrow(
      'plan.nodes[node-1].instanceType: expected the EC2 instance type of the node (node configuration "all-disabled"), got null',
    );
  });

  test('fails on a node pool given both instanceType and instanceTypes', () => {
    const extra = { name: 'l4-extra', gpuType: 'L4', instanceType: 'g6.xlarge', instanceTypes: ['g6.xlarge', 'g6.2xlarge'] };
    expect(() => ServingPlatform.fromPlan(Testing.chart(), 'P', { cluster, repository, fleet, plan, nodePools: [extra] })).toThrow(
      'nodePools["l4-extra"].instanceTypes: give instanceType or instanceTypes, not both, got "g6.xlarge" and ["g6.xlarge","g6.2xlarge"]',
    );
  });

  test('fails on a MIG node on another instance type than its node configuration', () => {
    const mismatch: Plan = { ...plan, nodes: [{ ...plan.nodes![0], instanceType: 'p5.4xlarge' }, plan.nodes![1]] };
    expect(() => planDeclaration(fleet, mismatch)).toThrow(
      'plan.nodes[node-0].instanceType: node configuration "h100-3g" is for p5.48xlarge, got p5.4xlarge',
    );
  });

  test('fails on team settings for a team the fleet does not have', () => {
    expect(() => planDeclaration(fleet, plan, [{ name: 'w', models: [] }])).toThrow(
      'teams["w"]: fleet "mini" has no model of team "w" (teams: x, y)',
    );
  });
});

describe('examples/planned-platform.ts (a fleet file planned and rendered)', () => {
  const app = Testing.app();
  const { chart, platform, plan } = buildPlannedPlatform(app);
  const objs: any[] = chart.toJson();

  test('renders every model of the fleet, consistent and valid', () => {
    const fleetModels = plan.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name)));
    expect(platform.repository.modelNames).toEqual([...new Set(fleetModels)].sort());
    expect(objs.filter((o) => o.kind === 'NodePool').length).toBe(plan.summary.nodeConfigurations);
    expect(platform.check()).toEqual([]);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('autoscaled planned pools start at the plan and may add the extra replica', () => {
    for (const { pool, scaling, maxReplicas } of platform.pools.values()) {
      expect(scaling).toMatchObject({ kind: 'keda', minReplicas: pool.replicas });
      expect(maxReplicas).toBe(pool.replicas + 1);
    }
  });
});
