import type { Fleet } from '../constructs/fleet/types';
import { plan, verifyPlan } from '../constructs/planner';
import type { Plan } from '../constructs/planner';
import { fleetOf, model, synthProfiles } from './planner-fixtures';
import { once } from './support/once';

const G = 'A100-80GB';

/** Two busy models and sixty rarely used ones of 2 GiB each. */
function tailFleet(coldBelowRps?: number): Fleet {
  const models = [
    model('busy-a', 900, 100, 1.5, synthProfiles(G, 300)),
    model('busy-b', 500, 150, 1, synthProfiles(G, 200)),
    ...Array.from({ length: 60 }, (_, i) => model(`rare-${String(i).padStart(2, '0')}`, 0.2 + (i % 7) * 0.1, 80, 2, synthProfiles(G, 50))),
  ];
  return fleetOf(models, [{ type: G, mig: true }], coldBelowRps === undefined ? {} : { coldBelowRps });
}

// each fleet planned once for the file (a few seconds of solver time each); no test changes a plan it reads
const planCold = once(() => plan(tailFleet(1)));
const planSeated = once(() => plan(tailFleet()));

describe('cold pool (coldBelowRps)', () => {
  test('models below the threshold share cache slices instead of permanent seats, and the plan saves gpus', () => {
    const fleet = tailFleet(1);
    const p = planCold();
    expect(verifyPlan(fleet, p)).toEqual([]);
    const cold = p.cold!;
    expect(cold.belowRps).toBe(1);
    expect(cold.models).toHaveLength(60);
    expect(cold.slices.length).toBeGreaterThan(0);
    const seated = p.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name)));
    expect(seated.some((n) => n.startsWith('rare-'))).toBe(false);
    const cacheSlices = p.gpus.flatMap((g) => g.slices.filter((s) => s.cache));
    expect(cacheSlices).toHaveLength(cold.slices.length);
    expect(cacheSlices.every((s) => s.models.length === 0)).toBe(true);
    const seatedPlan = planSeated();
    expect(cold.gpusWithSeats).toBe(seatedPlan.summary.gpuCount);
    expect(cold.gpusSaved).toBe(seatedPlan.summary.gpuCount - p.summary.gpuCount);
    expect(cold.gpusSaved).toBeGreaterThan(0);
    expect(cold.cacheGiB).toBeLessThan(60 * 2);
    expect(p.summary.gpuCount).toBeGreaterThanOrEqual(p.summary.lowerBound);
    expect(p.summary.notes!.some((n) => n.startsWith('cold pool: 60 model(s) below 1 rps'))).toBe(true);
  });

  test('without coldBelowRps every model gets a seat and there is no cold pool', () => {
    const p = planSeated();
    expect(p.cold).toBeUndefined();
    expect(p.gpus.some((g) => g.slices.some((s) => s.cache))).toBe(false);
  });

  test('fails verification when a cold model is above the threshold or a cache slice carries models', () => {
    const fleet = tailFleet(1);
    const p = planCold();
    const lowered: Fleet = { ...fleet, coldBelowRps: 0.5 };
    expect(verifyPlan(lowered, p)).toContain('rule 6 (demand): cold model rare-04 has demand 0.6 rps, not below coldBelowRps 0.5');
    const g = p.gpus.findIndex((x) => x.slices.some((s) => s.cache));
    const broken: Plan = {
      ...p,
      gpus: p.gpus.map((x, i) => (i !== g ? x : { ...x, slices: x.slices.map((s) => (s.cache ? { ...s, models: [{ name: 'busy-a', batch: 1, instances: 1, share: 0, rps: 0 }] } : s)) })),
    };
    expect(verifyPlan(fleet, broken).some((e) => /^cold pool: gpu-\d+ slice .* is a cache slice and must carry no models, got busy-a$/.test(e))).toBe(true);
  });
});
