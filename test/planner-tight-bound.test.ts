/**
 * The tight bound (`summary.tightBound`) and the neighbourhood repair: the bound is never above a
 * plan that passes verifyPlan (the planner's, with or without the repair, and hand-made ones),
 * the repair only ever returns plans verifyPlan accepts, and both are deterministic.
 */
import fc from 'fast-check';
import type { Fleet } from '../constructs/fleet/types';
import { lowerBound, plan, tightBound, verifyPlan } from '../constructs/planner';
import type { Plan, PlanGpu } from '../constructs/planner';
import { candidatesFor } from '../constructs/planner/entries';
import { resolveGpuOptions } from '../constructs/planner/gpu-options';
import { GpuSpace, ReachTable } from '../constructs/planner/gpu-space';
import { repairPacking } from '../constructs/planner/lns-repair';
import { forgetSolverAnswers, LpBuilder, solveLp } from '../constructs/planner/lp-solver';
import { assemble } from '../constructs/planner/nodes';
import { budgetOf } from '../constructs/planner/entries';
import { SliceState } from '../constructs/planner/pack';
import { arbFleet, fleetOf, mixedFleet, model, synthProfiles } from './planner-fixtures';

const G = 'A100-80GB';

/**
 * A hand-made valid plan: every model alone on whole-GPU slices (7g.80gb on a MIG GPU, `whole`
 * without MIG) at its most productive admissible entry there, as many GPUs as its demand needs.
 * Undefined when some model has no such entry (or the fleet's first GPU type is not A100/H100).
 */
function dedicatedPlan(fleet: Fleet): Plan | undefined {
  const g = fleet.gpus[0];
  if (g.type !== 'A100-80GB' && g.type !== 'H100-80GB') return undefined;
  const gpus: PlanGpu[] = [];
  for (const m of fleet.models) {
    const e = m.profiles
      .filter(
        (p) =>
          p.gpu === g.type &&
          p.slice === 7 &&
          p.latencyMs <= fleet.latencyHeadroom * m.latencySloMs &&
          fleet.processOverheadGiB + m.memoryGiB * p.instances <= (g.type === 'A100-80GB' ? 79 : 79.25),
      )
      .sort((a, b) => b.throughput - a.throughput)[0];
    if (!e) return undefined;
    let left = m.rps;
    while (left > 1e-9) {
      const rps = Math.min(left, e.throughput);
      const share = Math.min(1, Math.ceil((rps / e.throughput) * 1e6) / 1e6);
      gpus.push({
        id: `gpu-${gpus.length}`,
        type: g.type,
        node: `node-${gpus.length}`,
        mig: g.mig,
        slices: [
          {
            profile: g.mig ? '7g.80gb' : 'whole',
            start: 0,
            models: [{ name: m.name, batch: e.batch, instances: e.instances, share, rps }],
          },
        ],
      });
      left -= rps;
    }
  }
  return {
    fleet: fleet.name,
    gpus,
    summary: { gpuCount: gpus.length, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
  };
}

describe('the LP/MIP solver (HiGHS in a worker thread, answered synchronously)', () => {
  test('solves an LP and a MIP, reports an infeasible model, and gives LP duals', () => {
    // minimise x + y subject to x + 2y >= 3.5, 3x + y >= 2
    const b = new LpBuilder();
    const r1 = b.row(3.5, Infinity);
    const r2 = b.row(2, Infinity);
    b.col(
      1,
      0,
      Infinity,
      [
        [r1, 1],
        [r2, 3],
      ],
      true,
    );
    b.col(1, 0, Infinity, [
      [r1, 2],
      [r2, 1],
    ]);
    const lp = solveLp(b.build(false));
    expect(lp.status).toBe('optimal');
    expect(lp.objective).toBeCloseTo(1.8, 6);
    expect(lp.rowDuals).toHaveLength(2);
    const mip = solveLp(b.build(true));
    expect(mip.status).toBe('optimal');
    expect(mip.values[0]).toBe(0); // x integer: x = 0, y = 2 beats x = 1, y = 1.25
    expect(mip.objective).toBeCloseTo(2, 5);
    const bad = new LpBuilder();
    bad.col(1, 0, 1, [[bad.row(5, Infinity), 1]], true);
    expect(solveLp(bad.build(true)).status).toBe('infeasible');
  });

  test('a model solved before in the process is answered from its memo: the same model and options only', () => {
    // minimise x subject to x >= lo, built anew for each solve (new arrays, same bytes)
    const model = (lo: number) => {
      const b = new LpBuilder();
      b.col(1, 0, Infinity, [[b.row(lo, Infinity), 1]]);
      return b.build(false);
    };
    const first = solveLp(model(2.5));
    expect(first.objective).toBeCloseTo(2.5, 9);
    expect(solveLp(model(2.5))).toBe(first); // the kept answer itself
    const other = solveLp(model(2.75)); // one bound differs: solved
    expect(other).not.toBe(first);
    expect(other.objective).toBeCloseTo(2.75, 9);
    expect(solveLp(model(2.5), { maxIterations: 50 })).not.toBe(first); // other options: solved
    forgetSolverAnswers();
    const again = solveLp(model(2.5));
    expect(again).not.toBe(first);
    expect(again.objective).toBe(first.objective);
  });
});

describe('LpBuilder', () => {
  // zeros dropped, entries in order
  test('open/entry makes the same model as col with its pairs', () => {
    const pairs = new LpBuilder();
    const stream = new LpBuilder();
    for (const b of [pairs, stream]) {
      b.row(1, Infinity);
      b.row(-Infinity, 4);
      b.row(0, 0);
    }
    pairs.col(2, 0, Infinity, [
      [0, 1.5],
      [1, 0],
      [2, -3],
    ]);
    pairs.col(0, -Infinity, 7, [[1, 2]], true);
    stream.open(2, 0, Infinity);
    stream.entry(0, 1.5);
    stream.entry(1, 0);
    stream.entry(2, -3);
    stream.open(0, -Infinity, 7, true);
    stream.entry(1, 2);
    const a = pairs.build(true);
    expect(stream.build(true)).toEqual(a);
    expect(Array.from(a.starts)).toEqual([0, 2, 3]);
    expect(Array.from(a.indices)).toEqual([0, 2, 1]);
    expect(Array.from(a.values)).toEqual([1.5, -3, 2]);
    expect(Array.from(a.colLower)).toEqual([0, -1e30]);
    expect(Array.from(a.colUpper)).toEqual([1e30, 7]);
    expect(Array.from(a.rowLower)).toEqual([1, -1e30, 0]);
    expect(Array.from(a.rowUpper)).toEqual([1e30, 4, 0]);
    expect(Array.from(a.integrality!)).toEqual([0, 1]);
    expect(pairs.build(false).integrality).toBeUndefined();
  });

  test('a worker started with a warm-up solve answers as before: a model posted before HiGHS has loaded, and one after the warm-up', () => {
    const model = (lo: number) => {
      const b = new LpBuilder();
      b.col(1, 0, Infinity, [[b.row(lo, Infinity), 1]]);
      return b.build(false);
    };
    for (const early of [true, false]) {
      jest.isolateModules(() => {
        // a module registry of its own: its own solver worker, started here with the warm-up
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fresh = require('../constructs/planner/lp-solver') as typeof import('../constructs/planner/lp-solver');
        fresh.warmUpSolver({ warmUpSolve: true });
        // later: HiGHS has loaded and the warm-up has run (or is running) before the model comes
        if (!early) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
        const r = fresh.solveLp(model(early ? 1.25 : 3.5));
        expect(r.status).toBe('optimal');
        expect(r.objective).toBeCloseTo(early ? 1.25 : 3.5, 9);
        expect(fresh.solveLp(model(0.5), { presolve: false }).objective).toBeCloseTo(0.5, 9);
      });
    }
  });
});

describe('tight bound', () => {
  test("is never above the planner's plan, with or without the repair, nor below DESIGN.md's bound rounded up (30 random fleets)", () => {
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        const p = plan(fleet, { effort: 'fast', repairAttempts: 0 });
        const t = p.summary.tightBound!;
        if (!t) throw new Error(`no tight bound: ${(p.summary.notes ?? []).join('; ')}`);
        const heuristic = plan(fleet, { effort: 'fast', solver: 'none' });
        return (
          t.gpus <= p.summary.gpuCount &&
          t.gpus <= heuristic.summary.gpuCount &&
          t.gpus >= Math.ceil(lowerBound(fleet) - 1e-6) &&
          t.costPerHour <= p.summary.costPerHour + 1e-6
        );
      }),
      { numRuns: 30, seed: 1313 },
    );
  });

  test('is never above a hand-made valid plan (one model per whole-GPU slice; 40 random fleets)', () => {
    let checked = 0;
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        const hand = dedicatedPlan(fleet);
        fc.pre(hand !== undefined);
        expect(verifyPlan(fleet, hand)).toEqual([]);
        checked++;
        return tightBound(fleet).bound!.gpus <= hand.gpus.length;
      }),
      { numRuns: 40, seed: 77 },
    );
    expect(checked).toBeGreaterThan(5);
  });

  test('two models that each fill a whole GPU at their only entry: bound 2 = the plan', () => {
    const only = (speed: number) => [{ gpu: G, slice: 7 as const, batch: 8, instances: 1, throughput: speed, latencyMs: 20 }];
    const fleet = fleetOf([model('alpha', 1000, 100, 1, only(1000)), model('bravo', 500, 100, 1, only(500))]);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.gpuCount).toBe(2);
    expect(p.summary.tightBound).toEqual({
      gpus: 2,
      costPerHour: expect.any(Number),
      method: expect.any(String),
      solver: expect.stringMatching(/^HiGHS \d/),
    });
    // the latency rule alone forbids sharing a slice (20 + 20 ms > 0.5 x 60 ms): 2 slices of 7g, 2 GPUs
    const tight = fleetOf([model('alpha', 10, 60, 1, only(1000)), model('bravo', 10, 60, 1, only(500))]);
    expect(tightBound(tight).bound!.gpus).toBe(2);
    expect(lowerBound(tight)).toBeLessThan(1); // DESIGN.md's bound cannot see the latency rule
  });

  test('counts seats a slice cannot hold together: at most q - 1 seats above 1/q of their budget per slice', () => {
    const one = [{ gpu: G, slice: 1 as const, batch: 1, instances: 1, throughput: 1000, latencyMs: 30 }];
    // budget 0.5 x 100 ms = 50 ms; 30 ms is 0.6 of it: two on one slice wait 60 ms > 50 ms, so 8 models need 8 of
    // A100's 1g slices (7 per GPU): 2 GPUs. Without the cut the latency row allows 8 x 0.6 = 4.8 slices: 1 GPU.
    const halves = fleetOf(Array.from({ length: 8 }, (_, i) => model(`half-${i}`, 10, 100, 1, one)));
    const p = plan(halves);
    expect(verifyPlan(halves, p)).toEqual([]);
    expect(p.summary.gpuCount).toBe(2);
    expect(tightBound(halves).bound!.gpus).toBe(2);
    // 20 ms = 0.4 of the budget: two share a slice (40 ms), three do not (60 ms); 15 models need 8 slices: 2 GPUs
    const thirds = fleetOf(Array.from({ length: 15 }, (_, i) => model(`third-${i}`, 10, 100, 1, [{ ...one[0], latencyMs: 20 }])));
    const q = plan(thirds);
    expect(verifyPlan(thirds, q)).toEqual([]);
    expect(q.summary.gpuCount).toBe(2);
    expect(tightBound(thirds).bound!.gpus).toBe(2);
    // exactly half the budget (25 ms): two fit (50 ms <= 50 ms), so the cut must not count them — 14 models on 7 slices
    const exact = fleetOf(Array.from({ length: 14 }, (_, i) => model(`exact-${i}`, 10, 100, 1, [{ ...one[0], latencyMs: 25 }])));
    const r = plan(exact);
    expect(verifyPlan(exact, r)).toEqual([]);
    expect(r.summary.gpuCount).toBe(1);
    expect(tightBound(exact).bound!.gpus).toBe(1);
  });

  test('is the same for the fleet in any order, and has no wall-clock time unless asked', () => {
    const fleet = mixedFleet();
    const a = plan(fleet).summary.tightBound;
    const b = plan({ ...fleet, models: fleet.models.slice().reverse() }).summary.tightBound;
    expect(a).toEqual(b);
    expect(a!.seconds).toBeUndefined();
    const timed = plan(fleet, { timings: true }).summary.tightBound!;
    expect(timed.seconds).toBeGreaterThan(0);
    expect({ ...timed, seconds: undefined }).toEqual({ ...a, seconds: undefined });
  });

  test('solver: "none" plans without HiGHS and reports no tight bound', () => {
    const p = plan(mixedFleet(), { solver: 'none' });
    expect(p.summary.tightBound).toBeUndefined();
    expect(() => plan(mixedFleet(), { solver: 'glpk' as never })).toThrow('solver: expected "highs" or "none", got "glpk"');
    expect(() => plan(mixedFleet(), { repairAttempts: -1 })).toThrow('repairAttempts: expected an integer >= 0, got -1');
  });
});

describe('neighbourhood repair', () => {
  test('re-packs a wasteful packing (four GPUs, one small slice each) into one GPU that verifyPlan accepts', () => {
    const fleet = fleetOf(['alpha', 'bravo', 'charlie', 'delta'].map((n) => model(n, 20, 400, 1, synthProfiles(G, 100))));
    const opt = resolveGpuOptions(fleet)[0];
    const inputs = fleet.models.map((m) => ({ model: m, cands: candidatesFor(m, opt, fleet.latencyHeadroom, fleet.processOverheadGiB) }));
    const reach = new ReachTable(opt);
    const one = opt.shapes.findIndex((s) => s.profile === '1g.10gb');
    const gpus: GpuSpace[] = [];
    const slices: SliceState[] = [];
    for (const input of inputs) {
      const g = new GpuSpace(opt, reach);
      g.place(opt.shapes[one], 0);
      const sl = new SliceState(g, opt.shapes[one], 0, one, fleet.processOverheadGiB);
      const c = input.cands[one][input.cands[one].length - 1];
      sl.add({
        model: input.model,
        budget: budgetOf(input.model, fleet.latencyHeadroom),
        cand: c,
        rps: 20,
        share: Math.ceil((20 / c.throughput) * 1e6) / 1e6,
      });
      gpus.push(g);
      slices.push(sl);
    }
    const before = assemble([{ opt, pack: { gpus, slices } }]);
    const asPlan = (a: typeof before): Plan => ({
      fleet: fleet.name,
      gpus: a.gpus,
      summary: { gpuCount: a.gpus.length, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
    });
    expect(verifyPlan(fleet, asPlan(before))).toEqual([]);
    const { result, stats } = repairPacking(opt, { gpus, slices }, inputs, fleet, { target: 1, maxAttempts: 10 });
    expect(result.gpus).toHaveLength(1);
    expect(stats.improvements).toBeGreaterThan(0);
    expect(verifyPlan(fleet, asPlan(assemble([{ opt, pack: result }])))).toEqual([]);
  });

  test('never returns a plan verifyPlan rejects, and never a worse one (20 random fleets)', () => {
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        const without = plan(fleet, { effort: 'fast', repairAttempts: 0 });
        const p = plan(fleet, { effort: 'fast', repairAttempts: 4 });
        const errs = verifyPlan(fleet, p);
        if (errs.length > 0) throw new Error(errs.slice(0, 3).join('\n'));
        return p.summary.gpuCount <= without.summary.gpuCount && p.summary.gpuCount >= p.summary.tightBound!.gpus;
      }),
      { numRuns: 20, seed: 2024 },
    );
  });
});
