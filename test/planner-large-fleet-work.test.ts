/**
 * The work `gpufleet plan` does on a large fleet (issue 13: 1,000 models in under a second) is cut without
 * changing any plan: these tests pin each shortcut to what it replaced.
 * - profile rows are read in place and candidates made only for the Pareto-kept entries: the candidates equal
 *   those of the straightforward algorithm (copy every admissible row, sort, prune);
 * - the bound's MILP is not built when it has too many integer columns: the count made without building it is
 *   the count of the built model;
 * - the bound's LP is solved without HiGHS presolve: the same optimum as with it;
 * - the CLI's engine loads only the planner modules `plan` needs;
 * - repeated profile rows are found with one reused table (`FirstRows`) instead of a Map or Set per model: the same
 *   first index per key as a Map.
 * Timings are not asserted here: the figures are printed by `npm run bench -- cli`.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import fc from 'fast-check';
import { entryKey, FirstRows } from '../constructs/fleet/entry-key';
import type { ModelSpec, ProfileEntry, SliceSize } from '../constructs/fleet/types';
import { Candidate, candidatesFor, rawEntries } from '../constructs/planner/entries';
import { resolveGpuOptions } from '../constructs/planner/gpu-options';
import { solveLp } from '../constructs/planner/lp-solver';
import { build, groupModels, integerColumns, withCost } from '../constructs/planner/tight-bound';
import { arbFleet, fleetOf, model } from './planner-fixtures';

const G = 'A100-80GB';
const opt = resolveGpuOptions(fleetOf([]))[0];

/** The candidates as the planner computed them before (every admissible row copied, sorted, then Pareto-pruned). */
function reference(m: ModelSpec, headroom: number, overhead: number): Candidate[][] {
  const budget = m.latencySloMs * headroom;
  const seen = new Set<string>();
  const rows: ProfileEntry[] = [];
  for (const p of m.profiles) {
    if (p.gpu !== G) continue;
    const key = `${p.slice}/${p.batch}/${p.instances}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (p.throughput > 0 && p.latencyMs >= 0) rows.push(p);
  }
  return opt.shapes.map((shape) => {
    const list: Candidate[] = rows
      .filter((e) => e.slice === shape.entrySlice && e.latencyMs <= budget && overhead + m.memoryGiB * e.instances <= shape.memoryGiB)
      .map((e) => ({ shape, ...e, memGiB: m.memoryGiB * e.instances, estimated: false }))
      .map(({ gpu: _gpu, slice: _slice, ...c }) => c);
    list.sort(
      (a, b) =>
        b.throughput - a.throughput || a.latencyMs - b.latencyMs || a.memGiB - b.memGiB || a.batch - b.batch || a.instances - b.instances,
    );
    const kept: Candidate[] = [];
    for (const c of list) if (!kept.some((k) => k.latencyMs <= c.latencyMs && k.memGiB <= c.memGiB)) kept.push(c);
    return kept;
  });
}

/** Profile rows with ties in throughput and latency, repeated (slice, batch, instances) keys, other GPUs and large batches. */
const arbRows: fc.Arbitrary<ProfileEntry[]> = fc.array(
  fc.record({
    gpu: fc.constantFrom(G, G, G, 'H100-80GB'),
    slice: fc.constantFrom<SliceSize>(1, 2, 3, 4, 7),
    batch: fc.constantFrom(1, 2, 8, 64, 70000),
    instances: fc.constantFrom(1, 2, 3, 2000),
    throughput: fc.constantFrom(0, 10, 50, 50, 120.5, 400),
    latencyMs: fc.constantFrom(1, 5, 5, 20, 80),
  }),
  { maxLength: 60 },
);

describe('candidates of a model', () => {
  test('are those of the straightforward algorithm (400 random profile tables, memory 0 included)', () => {
    fc.assert(
      fc.property(arbRows, fc.constantFrom(0, 0.5, 3, 40), fc.constantFrom(20, 60, 400), (rows, mem, slo) => {
        const m = model('m', 10, slo, mem, rows);
        expect(candidatesFor(m, opt, 0.5, 0.6)).toEqual(reference(m, 0.5, 0.6));
      }),
      { numRuns: 400, seed: 1313 },
    );
  });

  test("are read from the fleet's own profile rows (no copy per row), the first of a repeated entry kept", () => {
    const first = { gpu: G, slice: 1 as const, batch: 4, instances: 1, throughput: 100, latencyMs: 10 };
    const again = { ...first, throughput: 200 };
    const other = { ...first, batch: 8, throughput: 150, latencyMs: 18 };
    const m = model('m', 10, 100, 1, [first, again, other]);
    const raw = rawEntries(m, opt);
    expect(raw).toHaveLength(2);
    expect(raw[0]).toBe(first);
    expect(raw[1]).toBe(other);
    expect(candidatesFor(m, opt, 0.5, 0.6)[0].map((c) => [c.batch, c.throughput, c.estimated])).toEqual([
      [8, 150, false],
      [4, 100, false],
    ]);
  });
});

describe('repeated profile rows', () => {
  /** Rows of one model: tag (GPU type), slice, batch, instances; non-integer and huge values as a fleet built in code may have. */
  const arbKeys = fc.array(
    fc.tuple(
      fc.constantFrom(0, 1, 2),
      fc.constantFrom(1, 2, 7, 2.5, -1),
      fc.constantFrom(1, 2, 3, 64, 65535, 65536, 70000, 0.5),
      fc.constantFrom(1, 2, 1023, 1024, 5000),
    ),
    { maxLength: 200 },
  );

  test('FirstRows gives the first index per (tag, slice, batch, instances) as a Map would (300 runs of 1-4 models)', () => {
    const table = new FirstRows();
    fc.assert(
      fc.property(fc.array(fc.tuple(arbKeys, fc.constantFrom(0, 1, 10, 1000)), { minLength: 1, maxLength: 4 }), (models) => {
        // one table for every model in turn; `announced` below the row count sends the rest to its Map
        for (const [rows, announced] of models) {
          table.reset(Math.min(announced, rows.length));
          const reference = new Map<string, number>();
          rows.forEach(([tag, slice, batch, instances], j) => {
            const key = `${tag}|${String(entryKey(slice, batch, instances))}`;
            const want = reference.get(key) ?? -1;
            if (want < 0) reference.set(key, j);
            expect(table.firstOrAdd(tag, slice, batch, instances, j)).toBe(want);
          });
        }
      }),
      { numRuns: 300, seed: 2029 },
    );
  });
});

describe("the tight bound's model", () => {
  test('integerColumns counts the integer columns of the integral model without building it (40 random fleets, cold tiers too)', () => {
    fc.assert(
      fc.property(arbFleet, fc.boolean(), (fleet0, cold) => {
        const fleet = cold ? { ...fleet0, coldBelowRps: 50 } : fleet0;
        const opts = resolveGpuOptions(fleet);
        const models = fleet.models;
        const cands = models.map((m) => opts.map((o) => candidatesFor(m, o, fleet.latencyHeadroom, fleet.processOverheadGiB)));
        const groups = groupModels({ models, cands, opts, fleet });
        expect(integerColumns(groups, opts)).toBe(build(groups, opts, fleet.processOverheadGiB, true).integerCols);
      }),
      { numRuns: 40, seed: 99 },
    );
  });

  test('its LP has the same optimum with and without HiGHS presolve (the bound solves it without; 15 random fleets)', () => {
    fc.assert(
      fc.property(arbFleet, (fleet) => {
        const opts = resolveGpuOptions(fleet);
        const models = fleet.models;
        const cands = models.map((m) => opts.map((o) => candidatesFor(m, o, fleet.latencyHeadroom, fleet.processOverheadGiB)));
        const lp = withCost(build(groupModels({ models, cands, opts, fleet }), opts, fleet.processOverheadGiB, false), 'gpus', opts, false);
        const on = solveLp(lp);
        const off = solveLp(lp, { presolve: false });
        expect(off.status).toBe(on.status);
        if (on.status === 'optimal') expect(Math.abs(off.objective - on.objective)).toBeLessThanOrEqual(1e-6 * Math.max(1, on.objective));
      }),
      { numRuns: 15, seed: 7 },
    );
  });
});

describe('the CLI engine', () => {
  test('loads the planner modules plan() needs and none of the migration, replan or topology code', () => {
    // the compiled engine (lib/, built by the jest global setup), in a process of its own
    const engine = path.join(__dirname, '..', 'lib', 'bin', 'lib', 'engine.js');
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(engine)}); console.log(Object.keys(require.cache).map((f) => require('path').basename(f)).join('\\n'))`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const loaded = r.stdout.split('\n');
    expect(loaded).toEqual(expect.arrayContaining(['plan.js', 'tight-bound.js', 'verify-plan.js']));
    for (const f of ['migration.js', 'migration-check.js', 'replan.js', 'topology.js', 'plan-document.js']) expect(loaded).not.toContain(f);
  });
});
