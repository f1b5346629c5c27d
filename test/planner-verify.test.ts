import type { Fleet } from '../constructs/fleet/types';
import { verifyPlan } from '../constructs/planner';
import type { Plan, PlanModel, PlanSlice } from '../constructs/planner';
import { fleetOf, model } from './planner-fixtures';

const G = 'A100-80GB';
const entries = [
  { gpu: G, slice: 1 as const, batch: 1, instances: 1, throughput: 100, latencyMs: 10 },
  { gpu: G, slice: 1 as const, batch: 4, instances: 1, throughput: 200, latencyMs: 20 },
  { gpu: G, slice: 2 as const, batch: 1, instances: 1, throughput: 190, latencyMs: 9 },
];

function fleet(overrides: { slo?: number; mem?: number } = {}): Fleet {
  return fleetOf([
    model('alpha', 50, overrides.slo ?? 100, overrides.mem ?? 1, entries),
    model('bravo', 50, overrides.slo ?? 100, overrides.mem ?? 1, entries),
  ]);
}

const seat = (name: string, share = 0.5, rps = 50, batch = 1, instances = 1): PlanModel => ({ name, batch, instances, share, rps });

function planWith(slices: PlanSlice[]): Plan {
  return {
    fleet: 'test-fleet',
    gpus: [{ id: 'gpu-0', type: G, node: 'node-0', mig: true, slices }],
    summary: { gpuCount: 1, costPerHour: 27.45, lowerBound: 0.15, baselines: { dedicated: 2, noMig: 1 } },
  };
}

const valid = (): Plan => planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha'), seat('bravo')] }]);

describe('verifyPlan: a valid plan; rules 1-3 (layout, configurations, time)', () => {
  test('accepts a valid hand-written plan', () => {
    expect(verifyPlan(fleet(), valid())).toEqual([]);
  });

  test('fails rule 1 on an illegal placement start', () => {
    const p = planWith([{ profile: '4g.40gb', start: 4, models: [seat('alpha', 0.3, 50), seat('bravo', 0.3, 50)] }]);
    const errs = verifyPlan(fleet(), p);
    expect(errs.some((e) => /^rule 1 \(layout\): gpu-0: .*4g\.40gb cannot start at 4/.test(e))).toBe(true);
  });

  test('fails rule 1 on overlapping slices', () => {
    const p = planWith([
      { profile: '2g.20gb', start: 0, models: [seat('alpha', 0.3, 50)] },
      { profile: '1g.10gb', start: 1, models: [seat('bravo')] },
    ]);
    expect(verifyPlan(fleet(), p).some((e) => e.startsWith('rule 1 (layout): gpu-0:') && /overlaps/.test(e))).toBe(true);
  });

  test('fails rule 1 on a gpu type the fleet does not offer', () => {
    const p = valid();
    const broken: Plan = { ...p, gpus: [{ ...p.gpus[0], type: 'H100-80GB' }] };
    expect(verifyPlan(fleet(), broken)).toContain(
      'rule 1 (layout): gpu-0: gpu type "H100-80GB" is not among the fleet\'s gpus (A100-80GB)',
    );
  });

  test('fails rule 2 on a batch that is no profile entry', () => {
    const p = planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha', 0.5, 50, 8), seat('bravo')] }]);
    expect(verifyPlan(fleet(), p)).toContain(
      'rule 2 (configurations): gpu-0 slice 1g.10gb@0: alpha runs at batch 8, instances 1, which is no entry of its A100-80GB ' +
        'profile for slice 1',
    );
  });

  test('fails rule 2 on a model that is not in the fleet', () => {
    const p = planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha'), seat('bravo'), seat('ghost', 0, 0)] }]);
    expect(verifyPlan(fleet(), p)).toContain('rule 2 (configurations): gpu-0 slice 1g.10gb@0: model "ghost" is not in the fleet');
  });

  test('fails rule 3 when shares add up to more than 1', () => {
    const p = planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha', 0.62), seat('bravo', 0.5)] }]);
    expect(verifyPlan(fleet(), p)).toContain('rule 3 (time): gpu-0 slice 1g.10gb@0: shares add up to 1.12 > 1');
  });

  test('fails rule 3 when a model serves more than its share of the entry', () => {
    const p = planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha', 0.4, 50), seat('bravo')] }]);
    expect(verifyPlan(fleet(), p)).toContain('rule 3 (time): gpu-0 slice 1g.10gb@0: alpha serves 50 rps > share 0.4 x throughput 100 = 40');
  });
});

describe('verifyPlan: rules 4-6 (latency, memory, demand), GPUs without MIG, estimated models', () => {
  test("fails rule 4 when neighbours' batches exceed the latency budget", () => {
    // budget 0.5 x 50 ms = 25 ms; alpha at batch 4 (20 ms) + bravo at batch 1 (10 ms) = 30 ms
    const p = planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha', 0.25, 50, 4), seat('bravo')] }]);
    const errs = verifyPlan(fleet({ slo: 50 }), p);
    expect(errs).toContain(
      "rule 4 (latency): gpu-0 slice 1g.10gb@0: alpha waits 30 ms (its batch plus its neighbours') > 0.5 x SLO 50 ms = 25 ms",
    );
    expect(errs).toHaveLength(2);
  });

  test('fails rule 5 when models and the process overhead exceed the slice memory', () => {
    const errs = verifyPlan(fleet({ mem: 4.6 }), valid());
    expect(errs).toContain('rule 5 (memory): gpu-0 slice 1g.10gb@0: 0.6 GiB overhead + models need 9.8 GiB > 9.5 GiB of the slice');
  });

  test('fails rule 6 when a model is missing or under-served', () => {
    const p = planWith([{ profile: '1g.10gb', start: 0, models: [seat('alpha', 0.45, 45)] }]);
    const errs = verifyPlan(fleet(), p);
    expect(errs).toContain('rule 6 (demand): model alpha is served 45 rps < demand 50 rps');
    expect(errs).toContain('rule 6 (demand): model bravo is not placed (demand 50 rps)');
  });

  test('fails when a gpu without MIG has anything but one whole slice', () => {
    const f = fleetOf(
      [model('alpha', 10, 100, 1, [{ gpu: 'L4', slice: 7, batch: 1, instances: 1, throughput: 100, latencyMs: 10 }])],
      [{ type: 'L4', mig: false }],
    );
    const p: Plan = {
      fleet: 'test-fleet',
      gpus: [
        {
          id: 'gpu-0',
          type: 'L4',
          node: 'node-0',
          mig: false,
          slices: [{ profile: '1g.10gb', start: 0, models: [seat('alpha', 0.1, 10)] }],
        },
      ],
      summary: { gpuCount: 1, costPerHour: 1, lowerBound: 0.1, baselines: { dedicated: 1, noMig: 1 } },
    };
    expect(verifyPlan(f, p)).toContain('rule 1 (layout): gpu-0: a gpu without MIG has exactly one slice "whole" at start 0, got 1g.10gb@0');
  });

  test('accepts the estimate for a model without profiles and rejects other configurations for it', () => {
    const f = fleetOf([model('est', 10, 1000, 1, [], { throughputPerGpu: { 'A100-80GB': 700 } })]);
    // 1g of 7: 700 x 1/7 x 0.8 = 80 rps, latency 12.5 ms
    const ok = planWith([{ profile: '1g.10gb', start: 0, models: [seat('est', 0.125, 10)] }]);
    expect(verifyPlan(f, ok)).toEqual([]);
    const bad = planWith([{ profile: '1g.10gb', start: 0, models: [seat('est', 0.125, 10, 4)] }]);
    expect(verifyPlan(f, bad)[0]).toMatch(/^rule 2 \(configurations\): .*est runs at batch 4.*\(nor the estimate: batch 1, instances 1\)$/);
  });
});
