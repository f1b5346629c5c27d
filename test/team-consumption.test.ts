/**
 * Per-team consumption of a plan (constructs/planner/team-consumption.ts, docs/planner.md "Team consumption"):
 * a hand-computed fleet, the issue-12 fleet of 12 models and 3 teams (a saved plan, so the figures do not move
 * with the packer), the sums against the plan's GPUs and cost on live plans, the agreement of the planner's
 * "in shared pools" with the namespaces `ServingPlatform.fromPlan` renders, and the plan-document validator.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadFleetFile, parseFleet } from '../constructs/fleet';
import { planDeclaration } from '../constructs/k8s/platform/serving-platform-plan';
import { plan, sliceFraction, teamConsumption } from '../constructs/planner';
import { validatePlanDocument } from '../constructs/planner/plan-document';
import type { Plan, PlanTeamConsumption } from '../constructs/planner/types';

const FIXTURES = path.join(__dirname, 'cli-fixtures');
const THREE_TEAMS = path.join(FIXTURES, 'three-teams.fleet.yaml');
const THREE_TEAMS_PLAN = path.join(FIXTURES, 'three-teams.plan.json');

/** Σ teams + unassigned = GPUs; Σ teams + unassigned + idle node GPUs = cost (each figure rounded to 4 decimals). */
function expectSums(c: PlanTeamConsumption, p: Plan): void {
  const tol = (c.teams.length + 2) * 5e-5;
  const eq = c.teams.reduce((s, t) => s + t.gpuEquivalents, 0) + c.unassigned.gpuEquivalents;
  const cost = c.teams.reduce((s, t) => s + t.costPerHour, 0) + c.unassigned.costPerHour + c.idleNodeGpus.costPerHour;
  expect(Math.abs(eq - p.summary.gpuCount)).toBeLessThanOrEqual(tol);
  expect(Math.abs(cost - p.summary.costPerHour)).toBeLessThanOrEqual(tol + 1e-4);
  for (const t of c.teams) {
    expect(t.inSharedPools.gpuEquivalents).toBeLessThanOrEqual(t.gpuEquivalents + 1e-9);
    expect(Object.values(t.byGpuType).reduce((s, x) => s + x, 0)).toBeCloseTo(t.gpuEquivalents, 3);
  }
}

describe('team consumption, computed by hand', () => {
  // One H100 on a p5.48xlarge (8 GPUs, 7 of them idle), the fleet's price $7/GPU-hour.
  //   3g.40gb@4: a (team x) 0.5, b (team y) 0.25   -> a and b share a slice: their group spans x and y, shared
  //   1g.10gb@3: a 0.5
  //   2g.20gb@0: c (team y) 1.0                     -> c alone: y's own namespace
  //   1g.10gb@2: spare
  // x: a = 0.5 x 3/7 + 0.5 x 1/7 = 2/7;            all in shared pools
  // y: b = 0.25 x 3/7 = 3/28, c = 1 x 2/7 = 8/28;  3/28 in shared pools
  // unassigned: 1 - 8/28 - 11/28 = 9/28 (time of 3g@4 no share covers: 0.25 x 3/7; spare 1g: 1/7)
  // cost: x 2/7 x 7 = 2, y 11/28 x 7 = 2.75, unassigned 9/28 x 7 = 2.25; idle node GPUs 7 x 7 = 49; total 8 x 7 = 56
  const fleet = parseFleet(`
name: hand
gpus: [{ type: H100-80GB, pricePerGpuHour: 7, instanceType: p5.48xlarge }]
models:
  - { name: a, team: x, rps: 10, latencySloMs: 100, memoryGiB: 1, throughputPerGpu: 1000 }
  - { name: b, team: y, rps: 10, latencySloMs: 100, memoryGiB: 1, throughputPerGpu: 1000 }
  - { name: c, team: y, rps: 10, latencySloMs: 100, memoryGiB: 1, throughputPerGpu: 1000 }
`);
  const m = (name: string, share: number) => ({ name, batch: 1, instances: 1, share, rps: 5 });
  const hand: Plan = {
    fleet: 'hand',
    gpus: [
      {
        id: 'gpu-0',
        type: 'H100-80GB',
        node: 'node-0',
        mig: true,
        slices: [
          { profile: '2g.20gb', start: 0, models: [m('c', 1)] },
          { profile: '1g.10gb', start: 2, models: [] },
          { profile: '1g.10gb', start: 3, models: [m('a', 0.5)] },
          { profile: '3g.40gb', start: 4, models: [m('a', 0.5), m('b', 0.25)] },
        ],
      },
    ],
    nodes: [{ name: 'node-0', instanceType: 'p5.48xlarge', gpuType: 'H100-80GB', migConfig: 'h100-80gb-hand', gpus: ['gpu-0'] }],
    summary: { gpuCount: 1, costPerHour: 56, lowerBound: 0.1, baselines: { dedicated: 3, noMig: 1 } },
  };

  test('slice fractions are compute slices of the GPU: 3g = 3/7, 1g.20gb = 1/7, whole = 1', () => {
    expect(sliceFraction('H100-80GB', '3g.40gb')).toBeCloseTo(3 / 7, 12);
    expect(sliceFraction('H100-80GB', '1g.20gb')).toBeCloseTo(1 / 7, 12);
    expect(sliceFraction('L4', 'whole')).toBe(1);
    expect(() => sliceFraction('H100-80GB', '5g.50gb')).toThrow(
      'plan: slice profile "5g.50gb" is not a MIG profile of GPU type "H100-80GB" in the catalog',
    );
  });

  test('GPU-equivalents, cost, shared part, unassigned and idle node GPUs are the hand figures', () => {
    const c = teamConsumption(fleet, hand);
    expect(c).toEqual({
      teams: [
        {
          team: 'x',
          models: 1,
          rps: 10,
          gpuEquivalents: 0.2857,
          costPerHour: 2,
          inSharedPools: { gpuEquivalents: 0.2857, costPerHour: 2 },
          byGpuType: { 'H100-80GB': 0.2857 },
        },
        {
          team: 'y',
          models: 2,
          rps: 10,
          gpuEquivalents: 0.3929,
          costPerHour: 2.75,
          inSharedPools: { gpuEquivalents: 0.1071, costPerHour: 0.75 },
          byGpuType: { 'H100-80GB': 0.3929 },
        },
      ],
      unassigned: { gpuEquivalents: 0.3214, costPerHour: 2.25 },
      idleNodeGpus: { gpus: 7, costPerHour: 49 },
    });
    expectSums(c, hand);
  });

  test("without a fleet price a GPU costs its instance's catalog price per GPU (p5.48xlarge $55.04 / 8)", () => {
    const unpriced = { ...fleet, gpus: [{ ...fleet.gpus[0], pricePerGpuHour: undefined }] };
    const c = teamConsumption(unpriced, hand);
    expect(c.teams[0].costPerHour).toBeCloseTo((2 / 7) * 6.88, 4);
    expect(c.idleNodeGpus.costPerHour).toBeCloseTo(7 * 6.88, 4);
  });

  test('fails on a plan model that is not in the fleet, naming where', () => {
    const bad: Plan = { ...hand, gpus: [{ ...hand.gpus[0], slices: [{ profile: '2g.20gb', start: 0, models: [m('zz', 1)] }] }] };
    expect(() => teamConsumption(fleet, bad)).toThrow('plan.gpus[gpu-0]: model "zz" is not in fleet "hand"');
  });

  test('the same plan with its slices and models in another order gives the same figures', () => {
    const reversed: Plan = {
      ...hand,
      gpus: [{ ...hand.gpus[0], slices: [...hand.gpus[0].slices].reverse().map((s) => ({ ...s, models: [...s.models].reverse() })) }],
    };
    expect(JSON.stringify(teamConsumption({ ...fleet, models: [...fleet.models].reverse() }, reversed))).toBe(
      JSON.stringify(teamConsumption(fleet, hand)),
    );
  });
});

describe('issue 12: a 12-model, 3-team fleet where most models land in the shared namespace', () => {
  const fleet = loadFleetFile(THREE_TEAMS);
  // The plan `gpufleet plan test/cli-fixtures/three-teams.fleet.yaml --json` wrote (one H100 on a p5.4xlarge, $6.88/h);
  // read back, so the figures below do not move when the packer changes.
  const saved = JSON.parse(fs.readFileSync(THREE_TEAMS_PLAN, 'utf8'));

  test('the saved plan is a valid plan document, its teamConsumption included', () => {
    expect(validatePlanDocument(saved).problems).toEqual([]);
  });

  test('9 of 12 models are served from the shared namespace; payments and search have no pool of their own', () => {
    const d = planDeclaration(fleet, saved);
    const sharedModels = new Set(d.sharedPools.flatMap((p) => p.models));
    expect(sharedModels.size).toBe(9);
    expect(d.teams.map((t) => [t.name, (t.pools ?? []).length])).toEqual([
      ['payments', 0],
      ['search', 0],
      ['vision', 1],
    ]);
  });

  test("each team's figure: payments 0.3392 GPU-eq ($2.33/h), search 0.1422 ($0.98/h), vision 0.0971 ($0.67/h), sum = plan", () => {
    const c = teamConsumption(fleet, saved);
    // the plan document carries exactly these figures
    expect(saved.summary.teamConsumption).toEqual(c);
    // payments: fraud-scorer 0.923 + 1.0, txn-embedder 0.286, merchant-ner 0.115, chargeback-clf 0.05 of 1g slices (1/7 each)
    const byTeam = Object.fromEntries(c.teams.map((t) => [t.team, t]));
    expect(byTeam.payments).toMatchObject({
      models: 4,
      gpuEquivalents: 0.3392,
      costPerHour: 2.3335,
      inSharedPools: { gpuEquivalents: 0.3392, costPerHour: 2.3335 },
    });
    expect(byTeam.search).toMatchObject({
      models: 4,
      gpuEquivalents: 0.1422,
      costPerHour: 0.9785,
      inSharedPools: { gpuEquivalents: 0.1422, costPerHour: 0.9785 },
    });
    // vision: resnet50 in a shared pool (0.3125 of a 1g.20gb slice, 1/7), ocr-lite, face-embed and nsfw-filter in its own
    expect(byTeam.vision).toMatchObject({
      models: 4,
      gpuEquivalents: 0.0971,
      costPerHour: 0.6682,
      inSharedPools: { gpuEquivalents: 0.0446, costPerHour: 0.3071 },
    });
    // no team: the spare 1g.10gb@6 (1/7), the seventh compute slice the layout leaves unused (the 1g.20gb takes two memory
    // slices, so five 1g.10gb + one 1g.20gb use 6 of 7), and the time no share covers on the seated slices
    expect(c.unassigned).toEqual({ gpuEquivalents: 0.4215, costPerHour: 2.8997 });
    expect(c.idleNodeGpus).toEqual({ gpus: 0, costPerHour: 0 });
    expectSums(c, saved);
    // independently of the function: share x 1/7 summed over the plan's slices (every slice here is 1g)
    let payments = 0;
    for (const g of saved.gpus)
      for (const s of g.slices)
        for (const x of s.models) if (fleet.models.find((f) => f.name === x.name)!.team === 'payments') payments += x.share / 7;
    expect(byTeam.payments.gpuEquivalents).toBeCloseTo(payments, 4);
  });
});

describe('team consumption of live plans', () => {
  const fleets: [string, string][] = [
    ['the 12-model, 3-team fleet (MIG H100)', THREE_TEAMS],
    ['payments-and-vision (whole L4s)', path.join(__dirname, '..', 'examples', 'payments-and-vision.fleet.yaml')],
    ['the CLI test fleet (A100 and L4, estimated models)', path.join(FIXTURES, 'small.fleet.yaml')],
    ['long-tail (a cold tier: cache slices split by cold demand)', path.join(__dirname, '..', 'examples', 'long-tail.fleet.yaml')],
  ];
  test.each(fleets)(
    '%s: the plan carries it, it sums to the plan\'s GPUs and cost, and "in shared pools" is what fromPlan renders shared',
    (_name, file) => {
      const fleet = loadFleetFile(file);
      const p = plan(fleet, { solver: 'none' });
      expect(p.summary.teamConsumption).toEqual(teamConsumption(fleet, p));
      expect(validatePlanDocument(JSON.parse(JSON.stringify(p))).problems).toEqual([]);
      expectSums(p.summary.teamConsumption!, p);
      const d = planDeclaration(fleet, p);
      const sharedByTeam = new Map<string, number>();
      for (const pool of d.sharedPools) {
        for (const [team, c] of Object.entries(pool.consumption ?? {}))
          sharedByTeam.set(team, (sharedByTeam.get(team) ?? 0) + c.gpuEquivalents);
      }
      for (const t of p.summary.teamConsumption!.teams)
        expect(t.inSharedPools.gpuEquivalents).toBeCloseTo(sharedByTeam.get(t.team) ?? 0, 3);
    },
  );
});

describe('plan document: summary.teamConsumption', () => {
  const saved = JSON.parse(fs.readFileSync(THREE_TEAMS_PLAN, 'utf8'));
  const withTc = (tc: unknown) => ({ ...saved, summary: { ...saved.summary, teamConsumption: tc } });

  test('fails on bad figures and unknown keys, one line per problem naming the path', () => {
    const tc = saved.summary.teamConsumption;
    const bad = {
      ...tc,
      teams: [
        { ...tc.teams[0], gpuEquivalents: -1, colour: 'red' },
        { ...tc.teams[1], team: 'Search' },
        { ...tc.teams[0], byGpuType: { 'H100-80GB': '0.3' } },
      ],
      idleNodeGpus: { gpus: 0.5, costPerHour: 0 },
    };
    expect(validatePlanDocument(withTc(bad)).problems).toEqual([
      'summary.teamConsumption.teams[0].colour: unknown key; allowed: gpuEquivalents, costPerHour, team, models, rps, ' +
        'inSharedPools, byGpuType',
      'summary.teamConsumption.teams[0].gpuEquivalents: expected a number in [0, 1e6], got -1',
      'summary.teamConsumption.teams[1].team: expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters), ' +
        'got "Search"',
      'summary.teamConsumption.teams[2].team: "payments" is listed by an earlier entry; teams are listed once',
      'summary.teamConsumption.teams[2].byGpuType.H100-80GB: expected a number in [0, 1e6], got "0.3"',
      'summary.teamConsumption.idleNodeGpus.gpus: expected an integer in [0, 1e6], got 0.5',
    ]);
  });

  test("a plan document without it (DESIGN.md's fields only) is still valid", () => {
    const { teamConsumption: _drop, ...summary } = saved.summary;
    expect(validatePlanDocument({ ...saved, summary }).problems).toEqual([]);
  });
});
