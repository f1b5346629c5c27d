import fc from 'fast-check';
import { lowerBound, plan, verifyPlan } from '../constructs/planner';
import { arbFleet, mixedFleet } from './planner-fixtures';
import { count, propertyRuns } from './support/property-runs';

// These runs test the packing heuristics (solver: 'none', no HiGHS round trip per fleet); the tight
// bound and the neighbourhood repair have their own properties in planner-tight-bound.test.ts.
const HEURISTICS = { solver: 'none' } as const;
// `npm test` runs the first cases of each seeded property; `npm run bench -- properties` runs them all
const RUNS = {
  fast: propertyRuns(250, 1000),
  full: propertyRuns(40, 150),
  cold: propertyRuns(60, 200),
  orders: propertyRuns(10, 20),
  rotated: 60,
};

describe('planner properties', () => {
  test(`${count(RUNS.fast)} random fleets: every plan passes verifyPlan and never reports fewer gpus than the lower bound`, () => {
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        const p = plan(fleet, { effort: 'fast', ...HEURISTICS });
        const errs = verifyPlan(fleet, p);
        if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
        return p.summary.gpuCount >= lowerBound(fleet) - 1e-9 && p.summary.gpuCount >= p.summary.lowerBound;
      }),
      { numRuns: RUNS.fast, seed: 4242 },
    );
  });

  test(`${RUNS.full} random fleets at full effort are valid too`, () => {
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        const p = plan(fleet, HEURISTICS);
        return verifyPlan(fleet, p).length === 0 && p.summary.gpuCount >= p.summary.lowerBound;
      }),
      { numRuns: RUNS.full, seed: 99 },
    );
  });

  test(`${RUNS.cold} random fleets with a cold tier and a utilization target are valid too`, () => {
    fc.assert(
      fc.property(arbFleet, fc.double({ min: 0.5, max: 200, noNaN: true }), fc.constantFrom(0.7, 0.9, 1), (fleet, below, target) => {
        const f = { ...fleet, coldBelowRps: Number(below.toFixed(2)) };
        const p = plan(f, { effort: 'fast', utilizationTarget: target, ...HEURISTICS });
        const errs = verifyPlan(f, p);
        if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
        return p.summary.gpuCount >= p.summary.lowerBound;
      }),
      { numRuns: RUNS.cold, seed: 11 },
    );
  });

  test(`the same fleet in any model order (${RUNS.orders} shuffles and the reverse) gives the identical plan`, () => {
    const fleet = mixedFleet();
    const base = JSON.stringify(plan(fleet));
    fc.assert(
      fc.property(
        fc.shuffledSubarray(fleet.models.slice(), { minLength: fleet.models.length, maxLength: fleet.models.length }),
        (models) => {
          return JSON.stringify(plan({ ...fleet, models })) === base;
        },
      ),
      { numRuns: RUNS.orders, seed: 7 },
    );
    const reversed = { ...fleet, models: fleet.models.slice().reverse() };
    expect(JSON.stringify(plan(reversed))).toBe(base);
  });

  test('random fleets in shuffled order give identical plans', () => {
    fc.assert(
      fc.property(arbFleet, fc.integer({ min: 1, max: 1000 }), (fleet, k) => {
        const rotated = {
          ...fleet,
          models: [...fleet.models.slice(k % fleet.models.length), ...fleet.models.slice(0, k % fleet.models.length)].reverse(),
        };
        return (
          JSON.stringify(plan(fleet, { effort: 'fast', ...HEURISTICS })) ===
          JSON.stringify(plan(rotated, { effort: 'fast', ...HEURISTICS }))
        );
      }),
      { numRuns: RUNS.rotated, seed: 3 },
    );
  });
});
