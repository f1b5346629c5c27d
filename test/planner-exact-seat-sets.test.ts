/**
 * The exact seat-set stage (constructs/planner/exact-seat-sets.ts): its proof never claims more
 * GPUs than a valid plan uses (the planner's heuristic plan, a hand-made one), the plans it
 * re-packs pass verifyPlan, and it sees GPUs that the tight bound's relaxation cannot.
 */
import fc from 'fast-check';
import type { Fleet, ProfileEntry } from '../constructs/fleet/types';
import { plan, tightBound, verifyPlan } from '../constructs/planner';
import type { Plan, PlanGpu } from '../constructs/planner';
import { budgetOf, candidatesFor } from '../constructs/planner/entries';
import { enumerateSeatSets, provesNoFewer } from '../constructs/planner/exact-seat-sets';
import { resolveGpuOptions } from '../constructs/planner/gpu-options';
import type { Item } from '../constructs/planner/pattern-model';
import { arbFleet, fleetOf, model } from './planner-fixtures';

const G = 'A100-80GB';
const WHOLE = [{ type: G, mig: false }];

function itemsOf(fleet: Fleet): { opt: ReturnType<typeof resolveGpuOptions>[number]; items: Item[] } {
  const opt = resolveGpuOptions(fleet)[0];
  const items = [...fleet.models]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((m): Item => ({
      input: { model: m, cands: candidatesFor(m, opt, fleet.latencyHeadroom, fleet.processOverheadGiB) },
      rps: m.rps,
      budget: budgetOf(m, fleet.latencyHeadroom),
    }));
  return { opt, items };
}

function asPlan(fleet: Fleet, gpus: PlanGpu[]): Plan {
  return {
    fleet: fleet.name,
    gpus,
    summary: { gpuCount: gpus.length, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
  };
}

/**
 * heavy: 80 ms of a 100 ms budget, 100 rps per GPU, 150 rps of demand (two GPUs of time; two heavy
 * seats never share a GPU); light: 30 ms, 50 rps — it cannot wait behind heavy (110 ms > 100 ms), so
 * it needs a third GPU. The relaxation counts 1.5 + 0.5 GPUs of time and 0.8 + 0.8 + 0.3 of latency:
 * 2 GPUs.
 */
function heavyAndLight(): Fleet {
  const entry = (latencyMs: number): ProfileEntry[] => [{ gpu: G, slice: 7, batch: 4, instances: 1, throughput: 100, latencyMs }];
  return fleetOf([model('heavy', 150, 200, 1, entry(80)), model('light', 50, 200, 1, entry(30))], WHOLE);
}

describe('exact seat-set stage', () => {
  test('proves the third GPU the relaxation cannot see, and the plan that uses it is valid', () => {
    const fleet = heavyAndLight();
    expect(tightBound(fleet).bound!.gpus).toBe(2);
    const { opt, items } = itemsOf(fleet);
    const sets = enumerateSeatSets(opt, items, fleet.processOverheadGiB, 100)!;
    // maximal sets: heavy alone, light alone (heavy + light wait 110 ms; light + light is one model twice)
    expect(sets.map((s) => s.seats.map((x) => items[x.item].input.model.name).join('+')).sort()).toEqual(['heavy', 'light']);
    expect(provesNoFewer(opt, items, sets, 3, 100)).toBe(true);
    expect(provesNoFewer(opt, items, sets, 4, 100)).toBe(false);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.gpuCount).toBe(3);
    expect(p.summary.tightBound).toEqual({
      gpus: 3,
      costPerHour: expect.any(Number),
      method: 'exact',
      solver: expect.stringMatching(/^HiGHS /),
    });
    // off: the relaxation's bound
    expect(plan(fleet, { exactSeatSets: 0 }).summary.tightBound!.gpus).toBe(2);
    expect(() => plan(fleet, { exactSeatSets: 1.5 })).toThrow('exactSeatSets: expected an integer >= 0, got 1.5');
  });

  test('gives up beyond its budget of seat sets', () => {
    const fleet = heavyAndLight();
    const { opt, items } = itemsOf(fleet);
    expect(enumerateSeatSets(opt, items, fleet.processOverheadGiB, 1)).toBeUndefined();
    // one set allowed: the stage does not run, the relaxation's bound stays
    expect(plan(fleet, { exactSeatSets: 1 }).summary.tightBound!.method).not.toBe('exact');
  });

  test('never proves more GPUs than a valid plan uses, and its plans pass verifyPlan (random one-type fleets)', () => {
    let proofsChecked = 0;
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        fc.pre(fleet.gpus.length === 1);
        const { opt, items } = itemsOf(fleet);
        const sets = enumerateSeatSets(opt, items, fleet.processOverheadGiB, 400);
        fc.pre(sets !== undefined);
        // valid plans: the packing heuristics alone, and the exact stage's own
        const heuristic = plan(fleet, { effort: 'fast', solver: 'none' });
        expect(verifyPlan(fleet, heuristic)).toEqual([]);
        const exact = plan(fleet, { effort: 'fast', exactSeatSets: 400 });
        const errs = verifyPlan(fleet, exact);
        if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
        for (const gpus of [heuristic.summary.gpuCount, exact.summary.gpuCount]) {
          // a valid plan with `gpus` GPUs exists: "none with fewer than gpus + 1" must not be proven
          expect(provesNoFewer(opt, items, sets, gpus + 1, 200)).toBe(false);
          proofsChecked++;
        }
        expect(exact.summary.gpuCount).toBeLessThanOrEqual(heuristic.summary.gpuCount);
        expect(exact.summary.tightBound!.gpus).toBeLessThanOrEqual(exact.summary.gpuCount);
        expect(exact.summary.tightBound!.gpus).toBeLessThanOrEqual(heuristic.summary.gpuCount);
        // a hand-made valid plan: every model alone on its own GPUs, as many as its demand needs at its best entry
        const hand = handMade(fleet);
        if (hand) {
          expect(verifyPlan(fleet, hand)).toEqual([]);
          expect(exact.summary.tightBound!.gpus).toBeLessThanOrEqual(hand.gpus.length);
          expect(provesNoFewer(opt, items, sets, hand.gpus.length + 1, 200)).toBe(false);
        }
        return true;
      }),
      { numRuns: 10, seed: 1313 },
    );
    expect(proofsChecked).toBeGreaterThan(6);
  });
});

/**
 * Every model alone on whole GPUs (7g.80gb with MIG, whole without) at its most productive admissible entry; undefined
 * when one has none.
 */
function handMade(fleet: Fleet): Plan | undefined {
  const g = fleet.gpus[0];
  if (g.type !== 'A100-80GB' && g.type !== 'H100-80GB') return undefined;
  const memory = g.type === 'A100-80GB' ? 79 : 79.25;
  const gpus: PlanGpu[] = [];
  for (const m of fleet.models) {
    const e = m.profiles
      .filter(
        (p) =>
          p.gpu === g.type &&
          p.slice === 7 &&
          p.latencyMs <= fleet.latencyHeadroom * m.latencySloMs &&
          fleet.processOverheadGiB + m.memoryGiB * p.instances <= memory,
      )
      .sort((a, b) => b.throughput - a.throughput)[0];
    if (!e) return undefined;
    for (let left = m.rps; left > 1e-9;) {
      const rps = Math.min(left, e.throughput);
      gpus.push({
        id: `gpu-${gpus.length}`,
        type: g.type,
        node: `node-${gpus.length}`,
        mig: g.mig,
        slices: [
          {
            profile: g.mig ? '7g.80gb' : 'whole',
            start: 0,
            models: [
              {
                name: m.name,
                batch: e.batch,
                instances: e.instances,
                share: Math.min(1, Math.ceil((rps / e.throughput) * 1e6) / 1e6),
                rps,
              },
            ],
          },
        ],
      });
      left -= rps;
    }
  }
  return asPlan(fleet, gpus);
}
