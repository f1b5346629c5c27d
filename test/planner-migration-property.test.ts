/**
 * Property: for random fleets and random demand changes (models growing, shrinking, leaving, joining; several GPU
 * types, whole GPUs, estimated models, cold tiers, in-place re-cuts), every re-plan passes verifyPlan and every
 * migration the generator writes passes the independent checker — and the checker rejects the same migrations
 * broken by hand (a checker that accepts everything proves nothing).
 */
import fc from 'fast-check';
import type { Fleet, FleetGpu, ModelSpec, SliceSize } from '../constructs/fleet/types';
import { checkMigration, plan, planMigration, replan, verifyPlan, type Migration } from '../constructs/planner';
import { fleetOf, model, synthProfiles } from './planner-fixtures';
import { mutations } from './migration-mutations';
import { propertyRuns } from './support/property-runs';

// `npm test` runs the first cases of each seeded property; `npm run bench -- properties` runs them all
const RUNS = { checked: propertyRuns(16, 60), broken: propertyRuns(12, 40) };

const GPU_CHOICES: FleetGpu[][] = [
  [{ type: 'A100-80GB', mig: true }],
  [{ type: 'H100-80GB', mig: true }],
  [{ type: 'A100-80GB', mig: false }],
  [
    { type: 'L4', mig: false },
    { type: 'H100-80GB', mig: true },
  ],
  [{ type: 'A30', mig: true }],
];

const sizesOf = (gpu: FleetGpu): SliceSize[] => (gpu.type === 'L4' ? [7] : gpu.type === 'A30' ? [1, 2, 4] : [1, 2, 3, 4, 7]);

interface Case {
  fleet: Fleet;
  next: Fleet;
  options: { movedModelPrice?: number; recut?: 'replace' | 'in-place' };
}

const arbModel = fc.record({
  speed: fc.integer({ min: 10, max: 600 }),
  rps: fc.double({ min: 0.5, max: 2500, noNaN: true }),
  sloFactor: fc.double({ min: 3, max: 40, noNaN: true }),
  memoryGiB: fc.double({ min: 0.1, max: 5, noNaN: true }),
  estimated: fc.boolean(),
  team: fc.constantFrom('vision', 'search', 'ads'),
});

type ArbModel = { speed: number; rps: number; sloFactor: number; memoryGiB: number; estimated: boolean; team: string };

function spec(name: string, m: ArbModel, gpus: FleetGpu[], headroom: number): ModelSpec {
  const profiles = m.estimated
    ? []
    : gpus.flatMap((g) => synthProfiles(g.type, m.speed, { sizes: sizesOf(g), batches: [1, 4, 16], instances: [1] }));
  const slo = (1000 / (m.estimated ? m.speed * 0.8 : m.speed)) * (m.sloFactor / headroom);
  return model(name, Number(m.rps.toFixed(3)), Number(slo.toFixed(3)) + 0.001, Number(m.memoryGiB.toFixed(2)), profiles, {
    team: m.team,
    ...(m.estimated ? { throughputPerGpu: Object.fromEntries(gpus.map((g) => [g.type, m.speed * 7])) } : {}),
  });
}

/** A fleet, and the same fleet a week later: some demands ×0.2–×3, maybe one model gone and one new. */
const arbCase: fc.Arbitrary<Case> = fc
  .record({
    gpus: fc.integer({ min: 0, max: GPU_CHOICES.length - 1 }),
    headroom: fc.constantFrom(0.5, 0.8),
    cold: fc.option(fc.constantFrom(1, 5), { nil: undefined }),
    models: fc.array(arbModel, { minLength: 2, maxLength: 7 }),
    factors: fc.array(fc.option(fc.double({ min: 0.2, max: 3, noNaN: true }), { nil: undefined }), { minLength: 7, maxLength: 7 }),
    drop: fc.option(fc.nat({ max: 6 }), { nil: undefined }),
    add: fc.option(arbModel, { nil: undefined }),
    price: fc.constantFrom(undefined, 0),
    recut: fc.constantFrom<'replace' | 'in-place'>('replace', 'in-place'),
  })
  .map((c) => {
    const gpus = GPU_CHOICES[c.gpus];
    const specs = c.models.map((m, i) => spec(`m${i}`, m, gpus, c.headroom));
    const fleet = fleetOf(specs, gpus, { latencyHeadroom: c.headroom, ...(c.cold !== undefined ? { coldBelowRps: c.cold } : {}) });
    let models = specs.map((m, i) =>
      c.factors[i] === undefined ? m : { ...m, rps: Number(Math.max(0.5, m.rps * c.factors[i]).toFixed(3)) },
    );
    if (c.drop !== undefined && c.drop < models.length && models.length > 2) models = models.filter((_, i) => i !== c.drop);
    if (c.add) models = [...models, spec('newcomer', c.add, gpus, c.headroom)];
    return {
      fleet,
      next: { ...fleet, models },
      options: { ...(c.price !== undefined ? { movedModelPrice: c.price } : {}), recut: c.recut },
    };
  });

/** Plans, re-plans and migrates a case; undefined when the first fleet cannot be planned at all. */
function migrate(c: Case): { running: ReturnType<typeof plan>; target: ReturnType<typeof plan>; migration: Migration } | undefined {
  let running;
  try {
    running = plan(c.fleet, { effort: 'fast' });
  } catch {
    return undefined; // a random fleet no GPU type can serve: nothing to migrate from
  }
  const r = replan(c.next, running, { ...c.options, effort: 'fast' });
  const errs = verifyPlan(c.next, r.plan);
  if (errs.length > 0) throw new Error(`replan: ${errs.slice(0, 3).join('\n')}`);
  return { running, target: r.plan, migration: planMigration(c.next, running, r.plan) };
}

describe('migration properties', () => {
  test('random fleets and demand changes: every generated migration passes the checker', () => {
    let migrations = 0;
    let nonEmpty = 0;
    fc.assert(
      fc.property(arbCase, (c) => {
        const m = migrate(c);
        if (!m) return true;
        migrations++;
        if (m.migration.steps.length > 0) nonEmpty++;
        const problems = checkMigration(c.next, m.running, m.target, m.migration);
        if (problems.length > 0) throw new Error(problems.slice(0, 5).join('\n'));
        return true;
      }),
      { numRuns: RUNS.checked, seed: 1515 },
    );
    // the property ran on real migrations, not only on fleets that could not be planned
    expect(migrations).toBeGreaterThan((RUNS.checked * 2) / 3);
    expect(nonEmpty).toBeGreaterThan(RUNS.checked * 0.4);
  });

  test('the checker rejects every generated migration broken by hand', () => {
    let rejected = 0;
    fc.assert(
      fc.property(arbCase, fc.nat(), (c, pick) => {
        const m = migrate(c);
        if (!m || m.migration.steps.length === 0) return true;
        const applicable = mutations.map((mu) => ({ mu, broken: mu.apply(m.migration, c.next) })).filter((x) => x.broken !== undefined);
        if (applicable.length === 0) return true;
        const { mu, broken } = applicable[pick % applicable.length];
        const problems = checkMigration(c.next, m.running, m.target, broken!);
        if (problems.length === 0) throw new Error(`mutation "${mu.name}" passed the checker`);
        rejected++;
        return true;
      }),
      { numRuns: RUNS.broken, seed: 2929 },
    );
    expect(rejected).toBeGreaterThan(RUNS.broken * 0.375);
  });
});
