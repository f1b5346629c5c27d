import fc from 'fast-check';
import type { Fleet, FleetGpu, ModelSpec, SliceSize } from '../constructs/fleet/types';
import { lowerBound, plan, verifyPlan } from '../constructs/planner';
import { fleetOf, mixedFleet, model, synthProfiles } from './planner-fixtures';

const GPU_CHOICES: FleetGpu[][] = [
  [{ type: 'A100-80GB', mig: true }],
  [{ type: 'H100-80GB', mig: true }],
  [{ type: 'A100-80GB', mig: false }],
  [{ type: 'L4', mig: false }, { type: 'H100-80GB', mig: true }],
  [{ type: 'A30', mig: true }],
];

const sizesOf = (gpu: FleetGpu): SliceSize[] => (gpu.type === 'L4' ? [7] : gpu.type === 'A30' ? [1, 2, 4] : [1, 2, 3, 4, 7]);

/** Small random fleets: 1-6 models, measured (synthetic) or estimated, random rates, SLOs and memory. */
const arbFleet: fc.Arbitrary<Fleet> = fc.record({
  gpus: fc.integer({ min: 0, max: GPU_CHOICES.length - 1 }),
  headroom: fc.constantFrom(0.45, 0.5, 0.8),
  models: fc.array(fc.record({
    speed: fc.integer({ min: 5, max: 600 }),
    rps: fc.double({ min: 0.05, max: 3000, noNaN: true }),
    sloFactor: fc.double({ min: 2.2, max: 40, noNaN: true }),
    memoryGiB: fc.double({ min: 0.1, max: 6, noNaN: true }),
    estimated: fc.boolean(),
  }), { minLength: 1, maxLength: 6 }),
}).map(({ gpus, headroom, models }) => {
  const fleetGpus = GPU_CHOICES[gpus];
  const specs: ModelSpec[] = models.map((m, i) => {
    const profiles = m.estimated ? [] : fleetGpus.flatMap((g) => synthProfiles(g.type, m.speed, { sizes: sizesOf(g), batches: [1, 4, 16], instances: [1, 2] }));
    // batch-1 latency on the smallest slice is 1000 / speed ms (estimated: 1000 / (speed x 7 x 1/7 x 0.8))
    const slo = (1000 / (m.estimated ? m.speed * 0.8 : m.speed)) * (m.sloFactor / headroom);
    return model(`m${i}`, Number(m.rps.toFixed(3)), Number(slo.toFixed(3)) + 0.001, Number(m.memoryGiB.toFixed(2)), profiles,
      m.estimated ? { throughputPerGpu: m.speed * 7 } : {});
  });
  return fleetOf(specs, fleetGpus, { latencyHeadroom: headroom });
});

describe('planner properties', () => {
  test('1,000 random fleets: every plan passes verifyPlan and never reports fewer gpus than the lower bound', () => {
    fc.assert(fc.property(arbFleet, (fleet) => {
      const p = plan(fleet, { effort: 'fast' });
      const errs = verifyPlan(fleet, p);
      if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
      return p.summary.gpuCount >= lowerBound(fleet) - 1e-9 && p.summary.gpuCount >= p.summary.lowerBound;
    }), { numRuns: 1000, seed: 4242 });
  });

  test('150 random fleets at full effort are valid too', () => {
    fc.assert(fc.property(arbFleet, (fleet) => {
      const p = plan(fleet);
      return verifyPlan(fleet, p).length === 0 && p.summary.gpuCount >= p.summary.lowerBound;
    }), { numRuns: 150, seed: 99 });
  });

  test('200 random fleets with a cold pool and a utilization target are valid too', () => {
    fc.assert(fc.property(arbFleet, fc.double({ min: 0.5, max: 200, noNaN: true }), fc.constantFrom(0.7, 0.9, 1), (fleet, below, target) => {
      const f = { ...fleet, coldBelowRps: Number(below.toFixed(2)) };
      const p = plan(f, { effort: 'fast', utilizationTarget: target });
      const errs = verifyPlan(f, p);
      if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
      return p.summary.gpuCount >= p.summary.lowerBound;
    }), { numRuns: 200, seed: 11 });
  });

  test('the same fleet in any model order gives the identical plan', () => {
    const fleet = mixedFleet();
    const base = JSON.stringify(plan(fleet));
    fc.assert(fc.property(fc.shuffledSubarray(fleet.models.slice(), { minLength: fleet.models.length, maxLength: fleet.models.length }), (models) => {
      return JSON.stringify(plan({ ...fleet, models })) === base;
    }), { numRuns: 20, seed: 7 });
    const reversed = { ...fleet, models: fleet.models.slice().reverse() };
    expect(JSON.stringify(plan(reversed))).toBe(base);
  });

  test('random fleets in shuffled order give identical plans', () => {
    fc.assert(fc.property(arbFleet, fc.integer({ min: 1, max: 1000 }), (fleet, k) => {
      const rotated = { ...fleet, models: [...fleet.models.slice(k % fleet.models.length), ...fleet.models.slice(0, k % fleet.models.length)].reverse() };
      return JSON.stringify(plan(fleet, { effort: 'fast' })) === JSON.stringify(plan(rotated, { effort: 'fast' }));
    }), { numRuns: 60, seed: 3 });
  });
});
