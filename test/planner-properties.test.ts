import fc from 'fast-check';
import { lowerBound, plan, verifyPlan } from '../constructs/planner';
import { arbFleet, mixedFleet } from './planner-fixtures';

// These runs test the packing heuristics (solver: 'none', no HiGHS round trip per fleet); the tight
// bound and the neighbourhood repair have their own properties in planner-tight-bound.test.ts.
const HEURISTICS = { solver: 'none' } as const;

describe('planner properties', () => {
  test('1,000 random fleets: every plan passes verifyPlan and never reports fewer gpus than the lower bound', () => {
    fc.assert(fc.property(arbFleet, (fleet) => {
      const p = plan(fleet, { effort: 'fast', ...HEURISTICS });
      const errs = verifyPlan(fleet, p);
      if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
      return p.summary.gpuCount >= lowerBound(fleet) - 1e-9 && p.summary.gpuCount >= p.summary.lowerBound;
    }), { numRuns: 1000, seed: 4242 });
  });

  test('150 random fleets at full effort are valid too', () => {
    fc.assert(fc.property(arbFleet, (fleet) => {
      const p = plan(fleet, HEURISTICS);
      return verifyPlan(fleet, p).length === 0 && p.summary.gpuCount >= p.summary.lowerBound;
    }), { numRuns: 150, seed: 99 });
  });

  test('200 random fleets with a cold pool and a utilization target are valid too', () => {
    fc.assert(fc.property(arbFleet, fc.double({ min: 0.5, max: 200, noNaN: true }), fc.constantFrom(0.7, 0.9, 1), (fleet, below, target) => {
      const f = { ...fleet, coldBelowRps: Number(below.toFixed(2)) };
      const p = plan(f, { effort: 'fast', utilizationTarget: target, ...HEURISTICS });
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
      return JSON.stringify(plan(fleet, { effort: 'fast', ...HEURISTICS })) === JSON.stringify(plan(rotated, { effort: 'fast', ...HEURISTICS }));
    }), { numRuns: 60, seed: 3 });
  });
});
