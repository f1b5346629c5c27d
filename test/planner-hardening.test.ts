/**
 * No valid fleet crashes the planner, and no plan is worse than what it is compared with (issue 14):
 * - planner and checker agree on one tolerance (constructs/planner/tolerance.ts): the 3-model reproduction of the
 *   issue, where a full-share seat's rps was rounded up past its entry's throughput and `verifyPlan` rejected it;
 * - no plan uses more GPUs than the `noMig` or `dedicated` baseline of its own type: the baselines are packings
 *   that are themselves valid plans, and the planner takes the `noMig` packing when it is better;
 * - a cold tier is never worse than none: the planner plans both and keeps the better, and says so;
 * - demand beyond MAX_PLAN_GPUS GPUs is refused before any packing, with the figure;
 * - a quick property run over random fleets mixing measured profiles and `throughputPerGpu` estimates, several
 *   GPU types and cold tiers (2,000 of them in `npm run bench -- fleet-properties`).
 * The heuristics are the subject here, so the runs use `solver: 'none'` unless a case needs the repair.
 */
import { validateFleet } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { baselines, MAX_PLAN_GPUS, PlanError, plan, verifyPlan } from '../constructs/planner';
import { noMigPacking } from '../constructs/planner/baselines';
import { candidatesFor } from '../constructs/planner/entries';
import { resolveGpuOptions } from '../constructs/planner/gpu-options';
import { assemble } from '../constructs/planner/nodes';
import { atMost, PLAN_QUANTUM, RULE_EPSILON, seatRps } from '../constructs/planner/tolerance';
import type { Plan } from '../constructs/planner/types';
import { checkFleetProperties, randomFleet } from './support/random-fleets';

const HEURISTICS = { solver: 'none' } as const;

/** A fleet document validated as the CLI would (throws on a problem: these fixtures are valid fleets). */
function fleetOf(doc: Record<string, unknown>): Fleet {
  const { fleet, problems } = validateFleet(doc);
  if (!fleet) throw new Error(problems.join('\n'));
  return fleet;
}

/** Issue 14's reproduction: one H100-94GB, a measured model and two estimated ones. */
const ISSUE_FLEET = {
  name: 'issue-14-repro',
  gpus: [{ type: 'H100-94GB', pricePerGpuHour: 4 }],
  models: [
    {
      name: 'a',
      team: 't',
      rps: 2636.768,
      latencySloMs: 1000,
      memoryGiB: 1,
      throughputPerGpu: 1094.83,
      profiles: [{ gpu: 'H100-94GB', slice: 3, batch: 16, instances: 2, throughput: 5478.567, latencyMs: 8.395 }],
    },
    { name: 'b', team: 't', rps: 1.57, latencySloMs: 5.632, memoryGiB: 1, throughputPerGpu: 1373.22 },
    { name: 'c', team: 't', rps: 2513.636, latencySloMs: 19.401, memoryGiB: 1, throughputPerGpu: 593.9 },
  ],
};

describe('planner and checker agree on one tolerance', () => {
  // a full-share seat once served 135.748572 rps of 135.7485714
  test('the 3-model reproduction of issue 14 plans and passes verifyPlan', () => {
    const fleet = fleetOf(ISSUE_FLEET);
    // c's estimate on a 2g.24gb slice: 593.9 x 2/7 x 0.8 = 135.74857142857... rps; consolidation gave a seat
    // share 1 and the remaining demand rounded up to 6 decimals, 135.748572
    const p = plan(fleet, HEURISTICS);
    expect(verifyPlan(fleet, p)).toEqual([]);
    for (const g of p.gpus) {
      for (const s of g.slices) for (const m of s.models) expect(m.share).toBeLessThanOrEqual(1);
    }
  });

  test('seatRps writes a rounded-up demand within share x throughput, and leaves a real excess for the checker', () => {
    const thr = 593.9 * (2 / 7) * 0.8;
    expect(seatRps(135.748572, 1, thr)).toBe(thr);
    expect(atMost(seatRps(135.748572, 1, thr), 1 * thr)).toBe(true);
    expect(seatRps(100, 1, thr)).toBe(100);
    // more than one quantum over: not rounding, a planner bug verifyPlan must see
    expect(seatRps(thr + 2 * PLAN_QUANTUM, 1, thr)).toBe(thr + 2 * PLAN_QUANTUM);
    expect(atMost(1 + RULE_EPSILON / 2, 1)).toBe(true);
    expect(atMost(1 + 1e-6, 1)).toBe(false);
  });
});

/** The plan of a packing of one option: its GPUs as the planner assembles them. */
function planOfNoMig(fleet: Fleet): { plan: Plan; gpus: number } {
  const [opt] = resolveGpuOptions(fleet);
  const models = [...fleet.models].sort((a, b) => (a.name < b.name ? -1 : 1));
  const inputs = models.map((m) => ({ model: m, cands: candidatesFor(m, opt, fleet.latencyHeadroom, fleet.processOverheadGiB) }));
  const pack = noMigPacking(opt, inputs, fleet.latencyHeadroom, fleet.processOverheadGiB)!;
  const asm = assemble([{ opt, pack }]);
  return {
    gpus: pack.gpus.length,
    plan: {
      fleet: fleet.name,
      gpus: asm.gpus,
      summary: { gpuCount: asm.gpus.length, costPerHour: asm.costPerHour, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
    },
  };
}

describe('no plan is worse than the baselines of its own type', () => {
  test('a plan that was above the noMig baseline (74 GPUs against 73) takes the noMig packing', () => {
    // found by the random-fleet property (seed 832, reduced): the packing variants put the estimated model on
    // 4g + 3g layouts, first fit decreasing on whole-GPU slices needs one GPU less
    const fleet = fleetOf({
      name: 'above-no-mig',
      latencyHeadroom: 0.5,
      processOverheadGiB: 0.6,
      gpus: [{ type: 'H100-80GB' }],
      models: [
        {
          name: 'm2',
          team: 'vision',
          rps: 10.44,
          latencySloMs: 1655.35,
          memoryGiB: 0.366,
          profiles: [
            { gpu: 'H100-80GB', slice: 4, batch: 8, instances: 1, throughput: 13.344, latencyMs: 609.836 },
            { gpu: 'H100-80GB', slice: 7, batch: 8, instances: 1, throughput: 25.764, latencyMs: 384.791 },
          ],
        },
        { name: 'm3', team: 'vision', rps: 1775.423, latencySloMs: 957.104, memoryGiB: 0.878, throughputPerGpu: 30.576 },
      ],
    });
    const p = plan(fleet, HEURISTICS);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.baselines).toEqual({ dedicated: 74, noMig: 73 });
    expect(p.summary.gpuCount).toBeLessThanOrEqual(73);
  });

  test('the noMig baseline counts a valid plan: a model without a whole-GPU entry runs alone on its slice, not beside others', () => {
    // m0 has only a 3g entry (18.3 ms, within its 56.6 ms budget alone, not beside m2's 67.5 ms batch on a 3g
    // slice); m2 needs 48.745 GPUs of compute and 11.2 GiB per instance, so no 1g slice. The old baseline put m0's
    // 3g entry on a whole GPU shared with m2 (49 GPUs), which rule 2 forbids: with m0 alone on a 3g slice,
    // m2 has at most 49 x 7 - 3 = 340 compute slices for the 341.2 it needs, so every valid plan has 50 GPUs.
    const fleet = fleetOf({
      name: 'fallback-entry',
      latencyHeadroom: 0.5,
      processOverheadGiB: 0.6,
      gpus: [{ type: 'A100-80GB', pricePerGpuHour: 0.622 }],
      models: [
        {
          name: 'm0',
          team: 'vision',
          rps: 0.011,
          latencySloMs: 113.251,
          memoryGiB: 9.605,
          profiles: [{ gpu: 'A100-80GB', slice: 3, batch: 1, instances: 1, throughput: 59.975, latencyMs: 18.315 }],
        },
        { name: 'm2', team: 'search', rps: 1684.151, latencySloMs: 641.978, memoryGiB: 10.6, throughputPerGpu: 43.187 },
      ],
    });
    const p = plan(fleet, HEURISTICS);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(baselines(fleet)).toEqual({ dedicated: 50, noMig: 50 });
    expect(p.summary.gpuCount).toBeLessThanOrEqual(p.summary.baselines.noMig);
    const nomig = planOfNoMig(fleet);
    expect(nomig.gpus).toBe(50);
    expect(verifyPlan(fleet, nomig.plan)).toEqual([]);
  });

  test("the noMig packing is a valid plan with exactly the baseline's GPUs, on 40 random single-type fleets", () => {
    let checked = 0;
    for (let seed = 1; checked < 40 && seed < 400; seed++) {
      const fleet = randomFleet(seed);
      if (fleet.gpus.length !== 1) continue;
      const warm: Fleet = { ...fleet, coldBelowRps: undefined };
      delete (warm as { coldBelowRps?: number }).coldBelowRps;
      let b: { noMig: number };
      try {
        b = baselines(warm);
      } catch (e) {
        if (e instanceof PlanError) continue;
        throw e;
      }
      const nomig = planOfNoMig(warm);
      expect({ seed, problems: verifyPlan(warm, nomig.plan) }).toEqual({ seed, problems: [] });
      expect({ seed, gpus: nomig.gpus }).toEqual({ seed, gpus: b.noMig });
      checked++;
    }
    expect(checked).toBe(40);
  });
});

describe('a cold tier is never worse than none', () => {
  const COLD = {
    name: 'cold-worse',
    latencyHeadroom: 1,
    processOverheadGiB: 1.5,
    gpus: [{ type: 'L4' }],
    coldBelowRps: 93.553,
    models: [
      { name: 'm0', team: 'search', rps: 126.41, latencySloMs: 11.206, memoryGiB: 2.172, throughputPerGpu: 2218.136 },
      { name: 'm1', team: 'search', rps: 1.972, latencySloMs: 7.155, memoryGiB: 5.279, throughputPerGpu: 419.093 },
    ],
  };

  test('a cold tier that needs a second L4 (once reported as 0 GPUs saved) falls back to seats and says so', () => {
    const fleet = fleetOf(COLD);
    const p = plan(fleet, HEURISTICS);
    const seated = plan({ ...fleet, coldBelowRps: undefined }, HEURISTICS);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(seated.summary.gpuCount).toBe(1);
    expect(p.summary.gpuCount).toBe(1);
    expect(p.summary.costPerHour).toBe(seated.summary.costPerHour);
    expect(p.cold).toBeUndefined();
    expect(p.summary.notes).toContain(
      'cold tier: not used; 1 model(s) below coldBelowRps 93.553 keep a permanent seat, because the plan with ' +
        "the cold tier's 1 cache slice(s) needs 2 GPU(s) at $1.6096/h and the plan with a seat for each 1 at $0.8048/h",
    );
  });
});

describe('demand is bounded before planning', () => {
  const one = (rps: number, extra: Record<string, unknown> = {}): Fleet => ({
    name: 'big',
    latencyHeadroom: 0.5,
    processOverheadGiB: 0.6,
    gpus: [{ type: 'H100-80GB', mig: true }],
    models: [{ name: 'm', team: 't', rps, latencySloMs: 100, memoryGiB: 1, profiles: [], throughputPerGpu: { 'H100-80GB': 1000 } }],
    ...extra,
  });

  test('fails rps 1e12 (once: the heap ran out after a minute) with the GPUs it would need, before any packing', () => {
    // best admissible throughput per GPU: 1000 x 0.8 (the estimate) = 800 rps
    expect(() => plan(one(1e12))).toThrow(PlanError);
    expect(() => plan(one(1e12))).toThrow(
      'models[0].rps: 1000000000000 rps needs at least 1,250,000,000 GPUs (800 rps per H100-80GB GPU ' +
        'at its most efficient admissible entry, every compute slice busy); a plan has at most 10,000 GPUs',
    );
    expect(() => plan(one(1e8))).toThrow(/^models\[0\]\.rps: 100000000 rps needs at least 125,000 GPUs/);
  });

  test('fails a fleet whose models fit alone but not together, naming the largest; counts the utilization target', () => {
    const models = [0, 1, 2].map((i) => ({
      name: `m${i}`,
      team: 't',
      rps: 3_000_000,
      latencySloMs: 100,
      memoryGiB: 1,
      profiles: [],
      throughputPerGpu: { 'H100-80GB': 1000 },
    }));
    const fleet: Fleet = { ...one(1), models };
    expect(() => plan(fleet)).toThrow(
      "models: the fleet's demand needs at least 11,250 GPUs (each model at its most efficient admissible entry, " +
        'every compute slice busy); a plan has at most 10,000 GPUs; the largest: models[0] (m0) 3,750, models[1] (m1) 3,750, ' +
        'models[2] (m2) 3,750',
    );
    expect(MAX_PLAN_GPUS).toBe(10_000);
    // 7,500 GPUs plan within the limit at utilization 1, not at 0.5
    expect(() => plan(one(6_000_000), { utilizationTarget: 0.5 })).toThrow(/needs at least 15,000 GPUs at utilization target 0\.5/);
  });
});

describe('random fleets: no crash, no rejected plan, nothing worse than a baseline or than no cold tier', () => {
  // `npm run bench -- fleet-properties` runs 2,000, and 200 as the CLI plans them
  test('40 random fleets at effort fast: measured and estimated models, 1-3 GPU types, cold tiers', () => {
    const failures: string[] = [];
    let planned = 0;
    for (let seed = 0; seed < 40; seed++) {
      const o = checkFleetProperties(randomFleet(seed), { ...HEURISTICS, effort: 'fast' });
      if (o.crash) failures.push(`seed ${seed}: crash: ${o.crash}`);
      if (o.rejected.length > 0) failures.push(`seed ${seed}: rejected: ${o.rejected[0]}`);
      if (o.worse.length > 0) failures.push(`seed ${seed}: worse: ${o.worse[0]}`);
      if (o.plan) planned++;
    }
    expect(failures).toEqual([]);
    expect(planned).toBeGreaterThan(30);
  });
});
