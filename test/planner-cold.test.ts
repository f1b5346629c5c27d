import type { Fleet } from '../constructs/fleet/types';
import { plan, verifyPlan } from '../constructs/planner';
import type { Plan } from '../constructs/planner';
import { candidatesOn } from '../constructs/planner/placement-entry';
import { topologyOf } from '../constructs/planner/topology';
import { fleetOf, model, synthProfiles } from './planner-fixtures';
import { once } from './support/once';

const G = 'A100-80GB';

/**
 * Rarely used models in the tail: enough that their cache slices (3g.40gb, where a two-instance entry is the fastest
 * candidate) save GPUs over a seat each (1 of 3 GPUs with 36; 3 of 5 with 60), few enough to plan in about a second
 * of CPU (60 take 6 to 7 s, most of it in the solver).
 */
const RARE = 36;

/** Two busy models and RARE rarely used ones of 2 GiB each. */
function tailFleet(coldBelowRps?: number): Fleet {
  const models = [
    model('busy-a', 900, 100, 1.5, synthProfiles(G, 300)),
    model('busy-b', 500, 150, 1, synthProfiles(G, 200)),
    ...Array.from({ length: RARE }, (_, i) =>
      model(`rare-${String(i).padStart(2, '0')}`, 0.2 + (i % 7) * 0.1, 80, 2, synthProfiles(G, 50)),
    ),
  ];
  return fleetOf(models, [{ type: G, mig: true }], coldBelowRps === undefined ? {} : { coldBelowRps });
}

// each fleet planned once for the file; no test changes a plan it reads. This file tests the cold tier, not the
// packing effort: `effort: 'fast'` gives both fleets the plan the default effort gives, byte for byte (checked when
// it was introduced), in a fifth of the CPU (the default's exact seat-set stage took 3 to 4 s on the cold fleet)
const FAST = { effort: 'fast' } as const;
const planCold = once(() => plan(tailFleet(1), FAST));
const planSeated = once(() => plan(tailFleet(), FAST));

describe('cold tier (coldBelowRps)', () => {
  test('models below the threshold share cache slices instead of permanent seats, and the plan saves gpus', () => {
    const fleet = tailFleet(1);
    const p = planCold();
    expect(verifyPlan(fleet, p)).toEqual([]);
    const cold = p.cold!;
    expect(cold.belowRps).toBe(1);
    expect(cold.models).toHaveLength(RARE);
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
    expect(cold.cacheGiB).toBeLessThan(RARE * 2);
    expect(p.summary.gpuCount).toBeGreaterThanOrEqual(p.summary.lowerBound);
    expect(p.summary.notes!.some((n) => n.startsWith(`cold tier: ${RARE} model(s) below 1 rps`))).toBe(true);
  });

  test('without coldBelowRps every model gets a seat and there is no cold tier', () => {
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
      gpus: p.gpus.map((x, i) =>
        i !== g
          ? x
          : {
              ...x,
              slices: x.slices.map((s) => (s.cache ? { ...s, models: [{ name: 'busy-a', batch: 1, instances: 1, share: 0, rps: 0 }] } : s)),
            },
      ),
    };
    expect(
      verifyPlan(fleet, broken).some((e) => /^cold tier: gpu-\d+ slice .* is a cache slice and must carry no models, got busy-a$/.test(e)),
    ).toBe(true);
  });
});

describe('the cold entry: chosen by the planner, recorded in the plan, read by the topology', () => {
  const fleet = tailFleet(1);
  const p = planCold();
  const cache = p.cold!.slices[0];
  const cacheType = p.gpus.find((g) => g.id === cache.gpu)!.type;

  test('each cold model records the highest-throughput admissible entry with one instance, though a two-instance entry is faster', () => {
    for (const cm of p.cold!.models) {
      const spec = fleet.models.find((m) => m.name === cm.name)!;
      const cands = candidatesOn(fleet, spec, cacheType, cache.profile);
      // synthProfiles: a two-instance entry has 1.15x the throughput, so the fastest candidate is not the one a cache server runs
      expect(cands[0].instances).toBe(2);
      const one = cands.filter((c) => c.instances === 1)[0];
      expect({ batch: cm.batch, instances: cm.instances }).toEqual({ batch: one.batch, instances: one.instances });
    }
  });

  test('the topology renders the recorded entry, not one it chooses', () => {
    const name = p.cold!.models[0].name;
    const spec = fleet.models.find((m) => m.name === name)!;
    const slice = spec.profiles.find(
      (e) => e.instances === 1 && e.batch === 1 && e.slice === topologyOf(fleet, p).cold!.models[0].entry!.slice,
    )!;
    // a plan recording another admissible one-instance entry (batch 1) is rendered at that entry
    const other: Plan = {
      ...p,
      cold: { ...p.cold!, models: p.cold!.models.map((m) => (m.name === name ? { ...m, batch: 1, instances: 1 } : m)) },
    };
    expect(topologyOf(fleet, other).cold!.models.find((m) => m.name === name)!.entry).toEqual(slice);
  });

  test('a saved plan without the recorded entries (written before) renders and verifies as one with them', () => {
    const older: Plan = { ...p, cold: { ...p.cold!, models: p.cold!.models.map((m) => ({ name: m.name, rps: m.rps })) } };
    expect(verifyPlan(fleet, older)).toEqual([]);
    expect(topologyOf(fleet, older).cold).toEqual(topologyOf(fleet, p).cold);
  });

  test('fails verification when the recorded entry is not in the profile table, runs two instances, or misses the latency rule', () => {
    const withEntry = (batch: number, instances: number): Plan => ({
      ...p,
      cold: { ...p.cold!, models: p.cold!.models.map((m, i) => (i === 0 ? { ...m, batch, instances } : m)) },
    });
    const name = p.cold!.models[0].name;
    const where = new RegExp(
      `^rule 2 \\(configurations\\): gpu-\\d+ slice ${cache.profile.replace('.', '\\.')}@\\d+: cold model ${name} at batch 3 x 1 ` +
        `instance\\(s\\) is no entry of its profile table`,
    );
    expect(verifyPlan(fleet, withEntry(3, 1)).some((e) => where.test(e))).toBe(true);
    expect(verifyPlan(fleet, withEntry(1, 2))).toContain(
      `rule 2 (configurations): cold model ${name} at batch 1 x 2 instance(s): a cache slice holds one copy of each loaded model, ` +
        `expected instances 1`,
    );
    // batch 16 on a 1g slice: latency 1000 x 16 / (50 x 16^0.35) = 121 ms > 0.5 x 80 ms
    expect(
      verifyPlan(fleet, withEntry(16, 1)).some(
        (e) => e.startsWith('rule 4 (latency): ') && e.includes(`cold model ${name} at batch 16 x 1 instance(s): latency`),
      ),
    ).toBe(true);
    expect(() => topologyOf(fleet, withEntry(3, 1))).toThrow(
      `plan.cold.models[${name}]: batch 3 x 1 instance(s) is no entry of the model's profiles on ${cacheType} slice ${cache.profile}`,
    );
  });
});
