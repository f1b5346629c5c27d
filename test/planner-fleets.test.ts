import * as path from 'path';
import { loadFleetFile } from '../constructs/fleet';
import type { Fleet, ProfileEntry } from '../constructs/fleet/types';
import { nodeMix, resolveGpuOptions } from '../constructs/planner/gpu-options';
import { baselines, ESTIMATE_RULE, lowerBound, plan, verifyPlan } from '../constructs/planner';
import type { Plan } from '../constructs/planner';
import { fleetOf, mixedFleet, model, synthProfiles } from './planner-fixtures';

const l4 = (throughput: number, latencyMs: number, batch = 4): ProfileEntry => ({
  gpu: 'L4',
  slice: 7,
  batch,
  instances: 1,
  throughput,
  latencyMs,
});

/** Ten small models that meet a 200 ms SLO on an L4 (and on H100 MIG slices). */
function smallModels() {
  return Array.from({ length: 10 }, (_, i) => model(`small-${i}`, 40 + i, 200, 1, [l4(400, 20), ...synthProfiles('H100-80GB', 150)]));
}

const typesOf = (p: Plan, name: string): string[] => [
  ...new Set(p.gpus.filter((g) => g.slices.some((s) => s.models.some((m) => m.name === name))).map((g) => g.type)),
];

describe('multi-gpu-type cost choice', () => {
  const gpus = [
    { type: 'L4', mig: false },
    { type: 'H100-80GB', mig: true },
  ];

  test('a cheap L4 pool wins for small models that meet their SLO on it', () => {
    const fleet = fleetOf(smallModels(), gpus);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.gpus.every((g) => g.type === 'L4' && !g.mig && g.slices[0].profile === 'whole')).toBe(true);
    const h100Only = plan({ ...fleet, gpus: [gpus[1]] });
    expect(p.summary.costPerHour).toBeLessThan(h100Only.summary.costPerHour);
    // one L4 per g6.xlarge ($0.8048/h) is the cheapest L4 per GPU of the catalog
    expect(p.nodes!.every((n) => n.instanceType === 'g6.xlarge' && n.migConfig === 'all-disabled')).toBe(true);
    expect(p.summary.costPerHour).toBeCloseTo(p.gpus.length * 0.8048, 6);
  });

  test('a tight-SLO model still goes to MIG H100 and the plan is the cheapest of the alternatives', () => {
    // 8 ms SLO x 0.5 = 4 ms budget: the L4 entry (20 ms) is not admissible
    const tight = model('fraud-check', 300, 8, 2, [l4(900, 20), ...synthProfiles('H100-80GB', 1000)]);
    const fleet = fleetOf([...smallModels(), tight], gpus);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(typesOf(p, 'fraud-check')).toEqual(['H100-80GB']);
    expect(p.gpus.filter((g) => g.type === 'H100-80GB').every((g) => g.mig)).toBe(true);
    const h100Only = plan({ ...fleet, gpus: [gpus[1]] });
    expect(p.summary.costPerHour).toBeLessThanOrEqual(h100Only.summary.costPerHour);
  });

  test('with single-gpu H100 nodes the small models move to L4 and the tight one stays on H100', () => {
    const tight = model('fraud-check', 300, 8, 2, [l4(900, 20), ...synthProfiles('H100-80GB', 1000)]);
    // per L4 (0.80/h): four models (share 0.25 each); per H100 (6.88/h): about 18 models' worth
    const many = Array.from({ length: 40 }, (_, i) => model(`small-${i}`, 150, 200, 1, [l4(600, 20), ...synthProfiles('H100-80GB', 150)]));
    const mixed = [
      { type: 'L4', mig: false, instanceType: 'g6.xlarge' },
      { type: 'H100-80GB', mig: true, instanceType: 'p5.4xlarge' },
    ];
    const fleet = fleetOf([...many, tight], mixed);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(typesOf(p, 'fraud-check')).toEqual(['H100-80GB']);
    expect(typesOf(p, 'small-0')).toEqual(['L4']);
    expect(p.summary.costPerHour).toBeLessThan(plan({ ...fleet, gpus: [mixed[1]] }).summary.costPerHour);
  });

  test('fleet prices override the catalog', () => {
    const fleet = fleetOf(smallModels(), [
      { type: 'L4', mig: false, pricePerGpuHour: 100 },
      { type: 'H100-80GB', mig: true, pricePerGpuHour: 1 },
    ]);
    const p = plan(fleet);
    expect(p.gpus.every((g) => g.type === 'H100-80GB')).toBe(true);
    // 1 per GPU on any H100 instance: single-GPU p5.4xlarge nodes, no idle GPU paid for
    expect(p.nodes!.every((n) => n.instanceType === 'p5.4xlarge')).toBe(true);
    expect(p.summary.costPerHour).toBe(p.gpus.length);
  });
});

describe('node grouping', () => {
  function bigFleet(): Fleet {
    const g = 'A100-80GB';
    return fleetOf([
      model('ranker', 60000, 120, 2, synthProfiles(g, 400)),
      model('embedder', 40000, 150, 1.5, synthProfiles(g, 300)),
      model('ocr', 900, 300, 3, synthProfiles(g, 60)),
      model('tiny', 5, 400, 0.5, synthProfiles(g, 100)),
    ]);
  }

  test('groups gpus into 8-gpu p4de.24xlarge nodes, each described by one mig-parted config', () => {
    const fleet = bigFleet();
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    const nodes = p.nodes!;
    expect(p.gpus.length).toBeGreaterThan(8);
    expect(nodes).toHaveLength(Math.ceil(p.gpus.length / 8));
    for (const n of nodes) {
      expect(n.instanceType).toBe('p4de.24xlarge');
      expect(n.gpus.length).toBeGreaterThan(0);
      expect(n.gpus.length).toBeLessThanOrEqual(8);
      const cfg = p.migConfigs!.find((c) => c.name === n.migConfig)!;
      expect(cfg.name).toMatch(/^a100-80gb-[0-9a-f]{8}$/);
      expect([1, 8]).toContain(cfg.devices.length);
      n.gpus.forEach((id, i) => {
        const gpu = p.gpus.find((x) => x.id === id)!;
        expect(gpu.node).toBe(n.name);
        const device = cfg.devices.length === 1 ? cfg.devices[0] : cfg.devices[i];
        expect(gpu.slices.map((s) => ({ profile: s.profile, start: s.start }))).toEqual(device);
      });
    }
    expect(p.migConfigs!.reduce((s, c) => s + c.nodes, 0)).toBe(nodes.length);
    expect(p.summary.nodeConfigurations).toBe(p.migConfigs!.length);
    expect(p.summary.nodeConfigurations).toBeLessThanOrEqual(nodes.length);
    expect(p.summary.costPerHour).toBeCloseTo(nodes.length * 27.44705, 3);
  });

  test('gpu ids are numbered node by node', () => {
    const p = plan(bigFleet());
    const order = p.nodes!.flatMap((n) => n.gpus);
    expect(order).toEqual(p.gpus.map((g) => g.id));
    expect(p.gpus.map((g) => g.id)).toEqual(p.gpus.map((_, i) => `gpu-${i}`));
  });
});

describe('lower bound and baselines', () => {
  test('lower bound follows DESIGN.md: best admissible throughput per compute slice', () => {
    const g = 'A100-80GB';
    const entries: ProfileEntry[] = [
      { gpu: g, slice: 1, batch: 1, instances: 1, throughput: 100, latencyMs: 10 },
      { gpu: g, slice: 7, batch: 1, instances: 1, throughput: 500, latencyMs: 4 },
      { gpu: g, slice: 1, batch: 8, instances: 1, throughput: 400, latencyMs: 90 }, // not admissible: 90 > 0.5 x 100
    ];
    const fleet = fleetOf([model('a', 1400, 100, 1, entries)]);
    // best per compute slice: 100 (1g) > 500/7; 1400 / 100 / 7 = 2 gpus; memory 1 / 79 gpus
    expect(lowerBound(fleet)).toBeCloseTo(2, 9);
    const memFleet = fleetOf([model('a', 1, 100, 60, entries), model('b', 1, 100, 60, entries)]);
    expect(lowerBound(memFleet)).toBeCloseTo(120 / 79, 9);
    // dedicated: ceil(1400 / 500) whole gpus
    expect(baselines(fleet).dedicated).toBe(3);
  });

  test('a plan never reports fewer gpus than the bound', () => {
    for (const fleet of [mixedFleet(), fleetOf(smallModels(), [{ type: 'L4', mig: false }])]) {
      const p = plan(fleet);
      expect(p.summary.gpuCount).toBeGreaterThanOrEqual(p.summary.lowerBound);
      expect(p.summary.gpuCount).toBeGreaterThanOrEqual(Math.ceil(lowerBound(fleet) - 1e-9));
      expect(p.summary.baselines.noMig).toBeLessThanOrEqual(p.summary.baselines.dedicated);
    }
  });
});

describe('models without profiles', () => {
  test('are estimated from throughputPerGpu, and the plan says so', () => {
    const fleet = fleetOf([
      model('measured', 100, 200, 1, synthProfiles('A100-80GB', 200), { throughputPerGpu: { 'A100-80GB': 99999 } }),
      model('guessed', 50, 500, 1, [], { throughputPerGpu: { 'A100-80GB': 700 } }),
    ]);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    const note = p.summary.notes!.find((n) => n.startsWith('estimated'))!;
    expect(note).toContain('guessed on A100-80GB');
    expect(note).not.toContain('measured on');
    expect(note).toContain(ESTIMATE_RULE);
    const seat = p.gpus.flatMap((g) => g.slices.flatMap((s) => s.models)).find((m) => m.name === 'guessed')!;
    expect([seat.batch, seat.instances]).toEqual([1, 1]);
  });

  test('fails for a model with neither profiles nor throughputPerGpu', () => {
    const fleet = fleetOf([model('blank', 5, 100, 1, [])]);
    expect(() => plan(fleet)).toThrow(
      'models.blank: no profile entry meets latency <= 0.5 x 100 ms and memory 1 GiB + 0.6 GiB overhead on A100-80GB (no profiles ' +
        'and no throughputPerGpu figure for A100-80GB)',
    );
  });
});

describe('utilization target', () => {
  test('keeps headroom on every slice and still serves the real demand', () => {
    const fleet = mixedFleet();
    const full = plan(fleet);
    const p = plan(fleet, { utilizationTarget: 0.8 });
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.gpuCount).toBeGreaterThanOrEqual(full.summary.gpuCount);
    expect(p.summary.lowerBound).toBe(full.summary.lowerBound);
    expect(p.summary.notes![0]).toMatch(/^utilization target 0.8: every slice is planned to at most 80% of its measured throughput/);
    // the shares reserve at least demand / 0.8 of each entry's time
    const alpha = p.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.filter((m) => m.name === 'alpha')));
    expect(alpha.reduce((s, m) => s + m.rps, 0)).toBeGreaterThanOrEqual(1200 - 1e-6);
    for (const g of p.gpus) for (const s of g.slices) expect(s.models.reduce((x, m) => x + m.share, 0)).toBeLessThanOrEqual(1 + 1e-9);
    const spec = fleet.models.find((m) => m.name === 'alpha')!;
    for (const g of p.gpus) {
      for (const s of g.slices) {
        for (const m of s.models.filter((x) => x.name === 'alpha')) {
          const size = Number(s.profile[0]);
          const e = spec.profiles.find((x) => x.slice === size && x.batch === m.batch && x.instances === m.instances)!;
          expect(m.rps).toBeLessThanOrEqual(0.8 * m.share * e.throughput + 1e-6);
        }
      }
    }
  });

  test('fails on a utilization target outside (0, 1]', () => {
    expect(() => plan(mixedFleet(), { utilizationTarget: 1.2 })).toThrow('utilizationTarget: expected a number > 0 and <= 1, got 1.2');
    expect(() => plan(mixedFleet(), { utilizationTarget: 0 })).toThrow('utilizationTarget: expected a number > 0 and <= 1, got 0');
  });
});

describe('node size', () => {
  const H100 = { type: 'H100-80GB', mig: true };
  const optH100 = () => resolveGpuOptions(fleetOf([], [H100]))[0];
  const mixOf = (n: number) => nodeMix(optH100(), n).nodes.map((x) => `${x.count} x ${x.node.instanceType}`);

  test('whole nodes of least cost for the gpus needed: 2 → 2 × p5.4xlarge, 8 → 1 × p5.48xlarge, 9 → 8 + 1', () => {
    expect(mixOf(1)).toEqual(['1 x p5.4xlarge']);
    expect(mixOf(2)).toEqual(['2 x p5.4xlarge']);
    expect(nodeMix(optH100(), 2).costPerHour).toBeCloseTo(13.76, 9);
    expect(mixOf(7)).toEqual(['7 x p5.4xlarge']);
    // 8: same cost as 8 × p5.4xlarge, fewer nodes
    expect(mixOf(8)).toEqual(['1 x p5.48xlarge']);
    expect(mixOf(9)).toEqual(['1 x p5.48xlarge', '1 x p5.4xlarge']);
    expect(nodeMix(optH100(), 9).costPerHour).toBeCloseTo(55.04 + 6.88, 9);
    expect(mixOf(16)).toEqual(['2 x p5.48xlarge']);
    // L4: one GPU per g6.xlarge is the cheapest per GPU, whatever the count
    const l4opt = resolveGpuOptions(fleetOf([], [{ type: 'L4', mig: false }]))[0];
    expect(nodeMix(l4opt, 8).nodes.map((x) => `${x.count} x ${x.node.instanceType}`)).toEqual(['8 x g6.xlarge']);
  });

  test('an explicit instanceType binds; an explicit price is the price per gpu on any instance', () => {
    const bound = resolveGpuOptions(fleetOf([], [{ ...H100, instanceType: 'p5.48xlarge' }]))[0];
    expect(nodeMix(bound, 2).nodes.map((x) => `${x.count} x ${x.node.instanceType}`)).toEqual(['1 x p5.48xlarge']);
    expect(nodeMix(bound, 2).costPerHour).toBeCloseTo(55.04, 9);
    const priced = resolveGpuOptions(fleetOf([], [{ ...H100, pricePerGpuHour: 2 }]))[0];
    expect(nodeMix(priced, 3).costPerHour).toBe(6);
    expect(nodeMix(priced, 8).nodes.map((x) => `${x.count} x ${x.node.instanceType}`)).toEqual(['1 x p5.48xlarge']);
  });

  test('the H100 example: its 2 gpus on 2 × p5.4xlarge ($13.76/h), configs and nodes name that instance', () => {
    const fleet = loadFleetFile(path.resolve(__dirname, '../examples/payments-and-vision-h100.fleet.yaml'));
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.gpuCount).toBe(2);
    expect(p.summary.costPerHour).toBe(13.76);
    expect(p.nodes!.map((n) => [n.instanceType, n.gpus.length])).toEqual([
      ['p5.4xlarge', 1],
      ['p5.4xlarge', 1],
    ]);
    expect(p.migConfigs!.every((c) => c.instanceType === 'p5.4xlarge' && c.devices.length === 1)).toBe(true);
    expect(p.summary.notes!.some((n) => n.includes('idle'))).toBe(false);
    // the user's choice of instance still binds
    const bound = plan({ ...fleet, gpus: [{ type: 'H100-80GB', mig: true, instanceType: 'p5.48xlarge', pricePerGpuHour: 6.88 }] });
    expect(bound.nodes!.map((n) => n.instanceType)).toEqual(['p5.48xlarge']);
    expect(bound.summary.costPerHour).toBe(55.04);
    expect(bound.summary.notes!.some((n) => n.startsWith('6 gpu(s) of partly used nodes are idle'))).toBe(true);
  });

  test('9 gpus: one p5.48xlarge and one p5.4xlarge, each instance type its own node configuration', () => {
    const g = 'H100-80GB';
    // whole-gpu demand only: 9 gpus of one layout
    const fleet = fleetOf(
      [model('big', 9 * 1000 - 1, 1000, 10, [{ gpu: g, slice: 7, batch: 1, instances: 1, throughput: 1000, latencyMs: 1 }])],
      [{ type: g, mig: true }],
    );
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.gpuCount).toBe(9);
    expect(p.nodes!.map((n) => [n.instanceType, n.gpus.length])).toEqual([
      ['p5.48xlarge', 8],
      ['p5.4xlarge', 1],
    ]);
    expect(p.summary.costPerHour).toBe(61.92);
    expect(p.migConfigs!.map((c) => [c.instanceType, c.nodes])).toEqual([
      ['p5.48xlarge', 1],
      ['p5.4xlarge', 1],
    ]);
    expect(new Set(p.migConfigs!.map((c) => c.name)).size).toBe(2);
    expect(p.summary.nodeConfigurations).toBe(2);
  });

  test('the gpu-type choice uses the same node cost: one p5.4xlarge beats 9 l4 on g6.xlarge', () => {
    // on L4 the demand needs 9 gpus (9 × 0.8048 = 7.24/h); on H100 one gpu (6.88/h). With 8-gpu H100
    // nodes ($55.04/h) L4 would win; with the planner's node choice, H100 does.
    const g = 'H100-80GB';
    const m = model('detector', 8500, 1000, 2, [
      l4(1000, 20, 1),
      { gpu: g, slice: 7, batch: 1, instances: 1, throughput: 9000, latencyMs: 1 },
    ]);
    const fleet = fleetOf(
      [m],
      [
        { type: 'L4', mig: false },
        { type: g, mig: false },
      ],
    );
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.gpus.map((x) => x.type)).toEqual([g]);
    expect(p.nodes!.map((n) => n.instanceType)).toEqual(['p5.4xlarge']);
    expect(p.summary.costPerHour).toBe(6.88);
    const l4Only = plan({ ...fleet, gpus: [fleet.gpus[0]] });
    expect(l4Only.summary.gpuCount).toBe(9);
    expect(l4Only.summary.costPerHour).toBeCloseTo(9 * 0.8048, 6);
  });
});

describe('throughput figures per GPU type', () => {
  // single-GPU nodes of both types: 40 small models are cheaper on L4s than on H100 slices
  const gpus = [
    { type: 'L4', mig: false, instanceType: 'g6.xlarge' },
    { type: 'H100-80GB', mig: true, instanceType: 'p5.4xlarge' },
  ];
  const seatsOf = (p: Plan, name: string) =>
    p.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.filter((m) => m.name === name).map((m) => ({ gpu: g, slice: s, m }))));
  const withFigures = (figures: Record<string, number>): Fleet =>
    fleetOf(
      [
        ...Array.from({ length: 40 }, (_, i) => model(`small-${i}`, 150, 200, 1, [l4(600, 20), ...synthProfiles('H100-80GB', 150)])),
        model('h100-only', 60, 300, 0.7, [], { throughputPerGpu: figures }),
      ],
      gpus,
    );

  test('a model with a figure only for H100 is never placed on L4, though the rest of the fleet goes to the cheaper L4s', () => {
    const fleet = withFigures({ 'H100-80GB': 900 });
    const p = plan(fleet, { solver: 'none' });
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(typesOf(p, 'h100-only')).toEqual(['H100-80GB']);
    expect(typesOf(p, 'small-0')).toEqual(['L4']);
    // planned from its H100 figure: batch 1, one instance, 900 x k/7 x 0.8 rps per slice of k compute slices
    for (const { slice, m } of seatsOf(p, 'h100-only')) {
      expect([m.batch, m.instances]).toEqual([1, 1]);
      const k = Number(/^(\d)g\./.exec(slice.profile)![1]);
      expect(m.rps).toBeLessThanOrEqual(m.share * 900 * (k / 7) * 0.8 + 1e-6);
    }
    expect(p.summary.notes!.join('\n')).toContain('h100-only on H100-80GB');
    expect(p.summary.notes!.join('\n')).not.toContain('h100-only on L4');
  });

  test('control: the same model with a figure for L4 too is placed on L4, at the L4 figure', () => {
    const fleet = withFigures({ 'H100-80GB': 900, L4: 140 });
    const p = plan(fleet, { solver: 'none' });
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(typesOf(p, 'h100-only')).toEqual(['L4']);
    const served = seatsOf(p, 'h100-only');
    expect(served.reduce((s, x) => s + x.m.rps, 0)).toBeCloseTo(60, 6);
    // 140 x 0.8 = 112 rps on a whole L4: 60 rps needs more than half of one
    for (const { m } of served) expect(m.rps).toBeLessThanOrEqual(m.share * 112 + 1e-6);
    expect(served.reduce((s, x) => s + x.m.share, 0)).toBeGreaterThanOrEqual(60 / 112 - 1e-9);

    // the independent checker rejects that placement for the model whose only figure is for H100
    const problems = verifyPlan(withFigures({ 'H100-80GB': 900 }), p);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(
            /^rule 2 \(configurations\): .*h100-only runs at batch 1, instances 1, which is no entry of its L4 profile for /.source +
              /slice 7 \(it has neither profiles nor a throughputPerGpu figure for L4\)$/.source,
          ),
        ),
      ]),
    );
  });

  test('fails for a model with figures for no type the fleet offers (a Fleet built in code, not parsed)', () => {
    const fleet = fleetOf([model('a100-only', 5, 300, 1, [], { throughputPerGpu: { 'A100-80GB': 900 } })], gpus);
    expect(() => plan(fleet, { solver: 'none' })).toThrow(
      'models.a100-only: no profile entry meets latency <= 0.5 x 300 ms and memory 1 GiB + 0.6 GiB overhead on L4, H100-80GB ' +
        '(no profiles and no throughputPerGpu figure for L4 or H100-80GB)',
    );
  });
});
