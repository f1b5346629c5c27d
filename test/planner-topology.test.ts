/**
 * The plan's topology (constructs/planner/topology.ts), computed once and mapped by every renderer:
 * - the cdk8s node pools (Karpenter NodePools, the pool label the Triton pods require) and the Pulumi node groups
 *   (their `gpufleet.io/pool` label) of any plan carry the same names, by construction;
 * - a model split over several pools is weighted, in the rendered HTTPRoute, by the requests/s the plan sends each
 *   pool. Gateway API: a backend gets "weight/(sum of all weights in this BackendRefs list)" of the rule's requests;
 *   weights are integers 0..1,000,000, not percentages (kubernetes-sigs/gateway-api v1.6.1 apis/v1/shared_types.go
 *   BackendRef.Weight; the same text in @kubernetes-models/gateway-api v1/BackendRef.d.ts);
 * - no file under constructs/k8s, constructs/cloud or bin groups plan GPUs into node configurations or builds a
 *   pool name: they import the topology, not the planner's grouping.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative, resolve } from 'path';
import { Testing } from 'cdk8s';
import { GpuNodeGroup } from '../constructs/cloud/gpu-node-group';
import type { Fleet } from '../constructs/fleet/types';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { ServingPlatform } from '../constructs/k8s/platform/serving-platform';
import { ROUTE_WEIGHT_TOTAL, routeWeights, topologyOf } from '../constructs/planner/topology';
import type { Plan, PlanGpu, PlanNode } from '../constructs/planner/types';
import { mulberry32 as rng } from '../constructs/planner/random';

const cluster = { name: 'prod', nodeRole: 'KarpenterNodeRole-prod' };
const repository = ModelRepository.s3({ bucket: 'models', region: 'us-east-1' });

/**
 * A random plan and its fleet: H100-80GB GPUs cut into two 3g.40gb slices (one MIG configuration), whole H100s,
 * whole L4s on two instance sizes; 1-3 models per slice, demand log-uniform over 0.01..100 requests/s per seat (so a
 * model's split over pools is often very uneven), models of 1-3 teams.
 */
function randomPlan(seed: number): { fleet: Fleet; plan: Plan } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const names = Array.from({ length: 3 + Math.floor(r() * 6) }, (_, i) => `m${i}`);
  const teams = ['alpha', 'beta', 'gamma'].slice(0, 1 + Math.floor(r() * 3));
  const gpus: PlanGpu[] = [];
  const nodes: PlanNode[] = [];
  const kinds = [
    {
      type: 'H100-80GB',
      mig: true,
      instanceType: 'p5.48xlarge',
      migConfig: 'h100-80gb-3g3g',
      profiles: [
        ['3g.40gb', 0],
        ['3g.40gb', 4],
      ],
    },
    { type: 'H100-80GB', mig: false, instanceType: 'p5.48xlarge', migConfig: 'all-disabled', profiles: [['whole', 0]] },
    { type: 'L4', mig: false, instanceType: 'g6.xlarge', migConfig: 'all-disabled', profiles: [['whole', 0]] },
    { type: 'L4', mig: false, instanceType: 'g6.12xlarge', migConfig: 'all-disabled', profiles: [['whole', 0]] },
  ] as const;
  const unplaced = new Set(names);
  const count = 3 + Math.floor(r() * 6);
  for (let i = 0; i < count; i++) {
    const k = pick(kinds);
    const id = `gpu-${i}`;
    nodes.push({ name: `node-${i}`, instanceType: k.instanceType, gpuType: k.type, migConfig: k.migConfig, gpus: [id] });
    const slices = k.profiles.map(([profile, start]) => {
      const seated = new Set<string>();
      // leftovers first, so that every model is placed
      if (unplaced.size > 0 && (i >= count - 2 || r() < 0.5)) seated.add([...unplaced][0]);
      while (seated.size < 1 + Math.floor(r() * 3)) seated.add(pick(names));
      for (const m of seated) unplaced.delete(m);
      const models = [...seated]
        .sort()
        .map((name) => ({ name, batch: 4, instances: 1, share: 1 / seated.size, rps: Math.round(10 ** (4 * r() - 2) * 1e4) / 1e4 }));
      return { profile, start, models };
    });
    gpus.push({ id, type: k.type, node: `node-${i}`, mig: k.mig, slices });
  }
  // models still unplaced go onto the last slice
  const last = gpus[gpus.length - 1].slices[0] as unknown as { models: PlanGpu['slices'][number]['models'][number][] };
  for (const name of unplaced) last.models.push({ name, batch: 4, instances: 1, share: 0.1, rps: 1 });
  last.models.sort((a, b) => (a.name < b.name ? -1 : 1));
  const migNodes = nodes.filter((n) => n.migConfig !== 'all-disabled').length;
  const fleet: Fleet = {
    name: `random-${seed}`,
    latencyHeadroom: 0.5,
    processOverheadGiB: 0.6,
    gpus: [
      { type: 'H100-80GB', mig: true },
      { type: 'L4', mig: false },
    ],
    models: names.map((name) => ({ name, team: pick(teams), rps: 1, latencySloMs: 200, memoryGiB: 1, profiles: [] })),
  };
  const plan: Plan = {
    fleet: fleet.name,
    gpus,
    nodes,
    migConfigs:
      migNodes > 0
        ? [
            {
              name: 'h100-80gb-3g3g',
              gpuType: 'H100-80GB',
              instanceType: 'p5.48xlarge',
              nodes: migNodes,
              devices: [
                [
                  { profile: '3g.40gb', start: 0 },
                  { profile: '3g.40gb', start: 4 },
                ],
              ],
            },
          ]
        : [],
    summary: { gpuCount: gpus.length, costPerHour: 1, lowerBound: 1, baselines: { dedicated: 1, noMig: 1 } },
  };
  return { fleet, plan };
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

function rendered(fleet: Fleet, plan: Plan): any[] {
  const chart = Testing.chart();
  ServingPlatform.fromPlan(chart, 'P', { cluster, repository, fleet, plan });
  return Testing.synth(chart);
}

/** Per model, pool (HTTPRoute backend Service) → weight, from the rendered HTTPRoutes; one-backend rules give weight 1. */
function renderedWeights(objects: readonly any[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const route of objects.filter((o) => o.kind === 'HTTPRoute')) {
    for (const rule of route.spec.rules) {
      for (const match of rule.matches) {
        const model = String(match.path.value).replace('/v2/models/', '');
        // Gateway API: an unset weight defaults to 1
        out.set(model, new Map(rule.backendRefs.map((b: any) => [b.name, b.weight ?? 1])));
      }
    }
  }
  return out;
}

/** Per model, pool → requests/s the plan sends there, read from the plan's slices and the rendered pools' models. */
function plannedSplit(plan: Plan, objects: readonly any[]): Map<string, Map<string, number>> {
  // a rendered pool's Deployment carries its GPU resource and its models' names in the Triton args; match the plan's
  // slices by the topology instead would test the topology against itself, so the pool of a slice is found by the
  // set of models each pool's Deployment loads
  const loads = (d: any): string[] =>
    d.spec.template.spec.containers[0].args
      .filter((a: string) => a.startsWith('--load-model='))
      .map((a: string) => a.slice('--load-model='.length))
      .sort();
  const pools = objects
    .filter((o) => o.kind === 'Deployment' && o.metadata.labels?.['gpufleet.io/triton-pool'])
    .map((d) => ({ name: d.metadata.labels['gpufleet.io/triton-pool'] as string, models: loads(d).join(',') }));
  const out = new Map<string, Map<string, number>>();
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      const key = s.models
        .map((m) => m.name)
        .sort()
        .join(',');
      const candidates = pools.filter((p) => p.models === key);
      for (const m of s.models) {
        const w = out.get(m.name) ?? new Map<string, number>();
        // several pools may load the same model set (different slice kinds or node pools): split by their names later
        const pool = candidates.length === 1 ? candidates[0].name : `${key}@${g.type}/${s.profile}`;
        w.set(pool, (w.get(pool) ?? 0) + m.rps);
        out.set(m.name, w);
      }
    }
  }
  return out;
}

describe('topologyOf: names and route weights of random plans', () => {
  test.each(SEEDS)('random plan %i: the cdk8s node pools and the Pulumi node groups carry the same names', (seed) => {
    const { fleet, plan } = randomPlan(seed);
    const objects = rendered(fleet, plan);
    const nodePools = objects
      .filter((o) => o.kind === 'NodePool')
      .map((o) => o.metadata.name)
      .sort();
    // the pool label each Triton pod requires of its node
    const required = [
      ...new Set(
        objects
          .filter((o) => o.kind === 'Deployment')
          .flatMap((d) =>
            (d.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).flatMap(
              (t: any) => t.matchExpressions.filter((e: any) => e.key === 'gpufleet.io/pool').flatMap((e: any) => e.values as string[]),
            ),
          ),
      ),
    ].sort();
    expect(required.length).toBeGreaterThan(0);
    const { groups, problems } = GpuNodeGroup.argsFromPlan(plan);
    expect(problems).toEqual([]);
    const groupLabels = [...new Set(groups.map((g) => g.poolLabel ?? g.pool))].sort();
    expect(groupLabels).toEqual(nodePools);
    for (const pool of required) expect(nodePools).toContain(pool);
    // every node the plan lists is in exactly one group of its node pool, on its instance type
    expect(groups.reduce((s, g) => s + (g.desiredSize ?? 0), 0)).toBe(plan.nodes!.length);
  });

  test("random plans: each split model's rendered route weights are within 1% of the plan's split", () => {
    let checked = 0;
    for (const seed of SEEDS) {
      const { fleet, plan } = randomPlan(seed);
      const objects = rendered(fleet, plan);
      const weights = renderedWeights(objects);
      const split = plannedSplit(plan, objects);
      for (const [model, rps] of split) {
        if (rps.size < 2 || [...rps.keys()].some((k) => k.includes('@'))) continue;
        const w = weights.get(model)!;
        expect([...w.keys()].sort()).toEqual([...rps.keys()].sort());
        const totalW = [...w.values()].reduce((a, b) => a + b, 0);
        const totalR = [...rps.values()].reduce((a, b) => a + b, 0);
        for (const [pool, r] of rps) {
          const planned = r / totalR;
          const got = w.get(pool)! / totalW;
          // within 1% of the planned share, or within the integer resolution for shares too small for that
          expect(Math.abs(got - planned)).toBeLessThanOrEqual(Math.max(0.01 * planned, 1 / ROUTE_WEIGHT_TOTAL));
        }
        checked++;
      }
    }
    // the random plans split many models over pools
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

describe('topologyOf: route weights per model, totals, order', () => {
  test('fails before the fix: a model planned at 63.6 : 0.39 rps over two pools was weighted 64 : 8 (per pool, not per model)', () => {
    // pool x-3g-1 serves a and b; pool x-3g-2 serves a and c; c also runs on L4s: the second pool's weight used to be
    // the largest demand of its split models there (c, 8 rps), sending a's traffic 64 : 8 instead of 63.6 : 0.39
    const fleet: Fleet = {
      name: 'skew',
      latencyHeadroom: 0.5,
      processOverheadGiB: 0.6,
      gpus: [
        { type: 'H100-80GB', mig: true },
        { type: 'L4', mig: false },
      ],
      models: ['a', 'b', 'c'].map((name) => ({ name, team: 'x', rps: 1, latencySloMs: 200, memoryGiB: 1, profiles: [] })),
    };
    const seat = (name: string, rps: number) => ({ name, batch: 4, instances: 1, share: 0.4, rps });
    const plan: Plan = {
      fleet: 'skew',
      gpus: [
        {
          id: 'gpu-0',
          type: 'H100-80GB',
          node: 'node-0',
          mig: true,
          slices: [
            { profile: '3g.40gb', start: 0, models: [seat('a', 63.6), seat('b', 20)] },
            { profile: '3g.40gb', start: 4, models: [seat('a', 0.39), seat('c', 8)] },
          ],
        },
        { id: 'gpu-1', type: 'L4', node: 'node-1', mig: false, slices: [{ profile: 'whole', start: 0, models: [seat('c', 30)] }] },
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
    const w = renderedWeights(rendered(fleet, plan));
    const a = w.get('a')!;
    expect([...a.keys()]).toEqual(['x-3g-1', 'x-3g-2']);
    const share = a.get('x-3g-2')! / (a.get('x-3g-1')! + a.get('x-3g-2')!);
    expect(share).toBeCloseTo(0.39 / 63.99, 4);
    expect(Object.fromEntries(a)).toEqual({ 'x-3g-1': 9939, 'x-3g-2': 61 });
    expect(Object.fromEntries(w.get('c')!)).toEqual({ 'x-3g-2': 2105, 'x-gpu': 7895 });
  });

  test('route weights add up to ROUTE_WEIGHT_TOTAL, at least 1 per pool, within 1/ROUTE_WEIGHT_TOTAL of each share', () => {
    const r = rng(99);
    const problems: string[] = [];
    for (let i = 0; i < 500; i++) {
      const rps = new Map(Array.from({ length: 2 + Math.floor(r() * 5) }, (_, j) => [`p${j}`, 10 ** (6 * r() - 3)] as [string, number]));
      const w = routeWeights(rps);
      const total = [...rps.values()].reduce((a, b) => a + b, 0);
      const sum = [...w.values()].reduce((a, b) => a + b, 0);
      // the sum is the total, raised only by pools lifted to weight 1
      if (sum < ROUTE_WEIGHT_TOTAL || sum > ROUTE_WEIGHT_TOTAL + rps.size) problems.push(`case ${i}: sum ${sum}`);
      for (const [p, x] of rps) {
        const wp = w.get(p)!;
        if (!Number.isInteger(wp) || wp < 1 || wp > 1_000_000) problems.push(`case ${i}: ${p} weight ${wp}`);
        if (Math.abs(wp / sum - x / total) > (1 + rps.size) / ROUTE_WEIGHT_TOTAL)
          problems.push(`case ${i}: ${p} share ${wp / sum} for ${x / total}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('the same plan with its GPUs listed in another order gives the same topology', () => {
    const { fleet, plan } = randomPlan(3);
    const a = topologyOf(fleet, plan);
    const b = topologyOf({ ...fleet, models: [...fleet.models].reverse() }, { ...plan, nodes: [...plan.nodes!].reverse() });
    expect(b.nodePools).toEqual(a.nodePools);
    expect(b.servers).toEqual(a.servers);
    expect([...b.routeWeights]).toEqual([...a.routeWeights]);
  });
});

describe('renderers map the topology', () => {
  const root = resolve(__dirname, '..');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((e) => {
      const p = join(dir, e);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  const files = ['constructs/k8s', 'constructs/cloud', 'bin'].flatMap((d) => walk(join(root, d)));

  test("no file under constructs/k8s, constructs/cloud or bin imports the planner's grouping internals", () => {
    // the planner's node assembly (nodes.ts: assemble, migConfigName) and packing are the planner's own; renderers
    // read the plan's node pools, server groups and names from topology.ts
    const internals = /from\s+['"][./]*\/?(?:constructs\/)?planner\/(nodes|pack|layout-fill|gpu-space|gpu-options|consolidate)['"]/;
    const offenders = files.filter((f) => internals.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  test('no file under constructs/k8s, constructs/cloud or bin builds a pool name, groups GPUs or nodes into configurations, prices', () => {
    const patterns: [string, RegExp][] = [
      // the DNS-label rule (topology.ts dnsLabel)
      ['a DNS-label rule', /replace\(\/\[\^a-z0-9-\]\+\/g/],
      // whole-GPU pool names and cloud group names
      ['a `-whole` pool name', /`\$\{[^}]+\}-whole`/],
      // `<owner>-<tag>` pool names and `-cache-` names of the cold tier
      ['a cache pool name', /-cache-\$\{/],
      // grouping plan nodes or GPUs by their node configuration
      ['a node configuration key', /\$\{[^}]*migConfig[^}]*\}\|/],
      ['plan.nodes grouped', /for \(const \w+ of plan\.nodes/],
      // GPUs or node configurations walked to group them, or nodes grouped by their configuration
      ['plan GPUs grouped by type or layout', /(?:plan|p)\.gpus\b[^\n]*\.set\(`?(?:\$\{)?\w+\.(?:type|slices)\b/],
      ['plan.migConfigs walked to group', /for \(const \w+ of \(?(?:plan|p)\.migConfigs\b/],
      ['nodes grouped by configuration', /\.migConfig \?\? `/],
      // the slice tag of a pool name (`1g` of `1g.10gb`, topology.ts tagOf) and the DNS-label rule called to name
      ['a slice tag', /\.split\('\.'\)\[0\]/],
      ['a derived name', /\bdnsLabel\(/],
      // a name made from a hash (topology.ts contentSuffixedPoolName, nodes.ts migConfigName)
      ['a hashed name', /\bname\b[^\n]*createHash\(/],
      // prices: the planner's gpu-prices.ts is the one rule (fleet price, else the catalog instance's)
      ['a price rule', /\b(?:pricePerGpuHour|defaultPricePerGpuHour)\(|\bonDemandUsdPerHour\b|\.pricePerGpuHour\s*\?\?/],
    ];
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const [what, re] of patterns) if (re.test(text)) offenders.push(`${relative(root, f)}: ${what}`);
    }
    expect(offenders).toEqual([]);
  });
});
