import { baselines, lowerBound, plan, verifyPlan } from '../constructs/planner';
import { fleetOf, mixedFleet, model, synthProfiles } from './planner-fixtures';

describe('plan', () => {
  test('plans a mixed fleet into a valid plan no smaller than the lower bound', () => {
    const fleet = mixedFleet();
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.fleet).toBe('test-fleet');
    expect(p.summary.gpuCount).toBe(p.gpus.length);
    expect(p.summary.gpuCount).toBeGreaterThanOrEqual(p.summary.lowerBound);
    expect(p.summary.lowerBound).toBeCloseTo(lowerBound(fleet), 3);
    expect(p.summary.baselines).toEqual(baselines(fleet));
    expect(p.summary.gpuCount).toBeLessThanOrEqual(p.summary.baselines.dedicated);
  });

  test('fails when a model meets its latency budget on no gpu type', () => {
    const fleet = fleetOf([model('slow', 10, 1, 1, synthProfiles('A100-80GB', 10))]);
    expect(() => plan(fleet)).toThrow(/models\.slow: no profile entry meets latency <= 0.5 x 1 ms/);
  });
});
