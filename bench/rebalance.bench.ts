/**
 * Rebalance benchmarks (`npm run bench -- rebalance`): re-plan a running fleet after a demand change and
 * migrate to the new plan; every migration is replayed by the independent checker. Figures per scenario: models
 * whose demand changed, models moved (traffic to a server they did not run on), servers started and stopped, GPUs
 * re-cut, GPUs held during the migration beyond before/after, steps, lowest headroom, cost, time.
 *
 * 1. examples/long-tail.fleet.yaml with fraud-scorer and query-encoder at 3x their demand;
 * 2. a 300-model Zipf long tail on A100-80GB (ParvaGPU profiles from ../shared when present, else the synthetic
 *    family of planner.bench.ts) with 10% of its models at ±50% demand (seeded);
 * 3. the same after a demand drop (10% of models at -50%);
 * each on the Karpenter path (layout changes replace nodes), in place with moves free (a fresh plan mapped onto
 * the running nodes when it is cheaper, re-cut in place), and — for comparison — the migration to a plan made
 * from scratch, mapped onto the running nodes and re-cut in place.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parseFleet } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { checkMigration, diffPlans, plan, planMigration, replan, verifyPlan, type Plan, type ReplanOptions } from '../constructs/planner';
import { forgetSolverAnswers } from '../constructs/planner/lp-solver';
import { mapOntoRunning } from '../constructs/planner/replan-fresh';
import { loadParva, syntheticFamily, zipfFleet } from './planner.bench';
import { mulberry32 as rng } from '../constructs/planner/random';

function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ')).join('\n');
}

/** `fraction` of the models (seeded) get demand × (1 ± change); returns the fleet and the changed names. */
function perturb(fleet: Fleet, fraction: number, change: number, seed: number, onlyDown = false): { fleet: Fleet; changed: Set<string> } {
  const r = rng(seed);
  const n = Math.round(fleet.models.length * fraction);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(r() * fleet.models.length));
  const changed = new Set<string>();
  const models = fleet.models.map((m, i) => {
    if (!picked.has(i)) return m;
    changed.add(m.name);
    const up = !onlyDown && r() < 0.5;
    return { ...m, rps: Number((m.rps * (up ? 1 + change : 1 - change)).toFixed(3)) };
  });
  return { fleet: { ...fleet, models }, changed };
}

function scenario(
  name: string,
  before: Fleet,
  after: Fleet,
  changed: Set<string>,
  running: Plan,
  options: ReplanOptions | 'scratch',
  path: string,
): (string | number)[] {
  forgetSolverAnswers(); // times the solves, not the process's memo of earlier answers
  const t0 = process.hrtime.bigint();
  // 'scratch': what a plan from scratch costs to reach, mapped onto the running nodes and re-cut in place
  const r = options === 'scratch' ? scratch(after, running) : replan(after, running, options);
  const t1 = process.hrtime.bigint();
  const m = planMigration(after, running, r.plan);
  const t2 = process.hrtime.bigint();
  const problems = [...verifyPlan(after, r.plan), ...checkMigration(after, running, r.plan, m)];
  const s = m.summary;
  const outside = r.changes.modelsMoved.filter((x) => !changed.has(x)).length;
  return [
    name,
    path,
    before.models.length,
    changed.size,
    r.basis,
    s.modelsMoved,
    outside,
    s.serversStarted,
    s.serversStopped,
    s.gpusRecut,
    `${s.gpusBefore}->${s.gpusAfter}`,
    s.extraGpus,
    s.steps,
    s.minHeadroom.toFixed(3),
    `${r.changes.costPerHourBefore.toFixed(2)}->${r.changes.costPerHourAfter.toFixed(2)}`,
    problems.length === 0 ? 'yes' : `NO (${problems.length})`,
    (Number(t1 - t0) / 1e6).toFixed(0),
    (Number(t2 - t1) / 1e6).toFixed(0),
  ];
}

function scratch(after: Fleet, running: Plan): { plan: Plan; basis: string; changes: ReturnType<typeof diffPlans> } {
  const p = mapOntoRunning(running, plan(after), after, 'in-place');
  return { plan: p, basis: 'scratch', changes: diffPlans(running, p, after) };
}

export async function run(): Promise<void> {
  const rows: (string | number)[][] = [
    [
      'scenario',
      'path',
      'models',
      'changed',
      'basis',
      'moved',
      'moved-unchanged',
      'started',
      'stopped',
      're-cut GPUs',
      'GPUs',
      'extra GPUs',
      'steps',
      'min headroom',
      'cost/h',
      'checked',
      'replan ms',
      'migration ms',
    ],
  ];
  const cases: { name: string; before: Fleet; after: Fleet; changed: Set<string> }[] = [];

  const longTail = parseFleet(readFileSync(join(__dirname, '../examples/long-tail.fleet.yaml'), 'utf8'), 'long-tail.fleet.yaml');
  const grown = new Set(['fraud-scorer', 'query-encoder']);
  cases.push({
    name: 'long-tail 2 models x3',
    before: longTail,
    after: { ...longTail, models: longTail.models.map((m) => (grown.has(m.name) ? { ...m, rps: m.rps * 3 } : m)) },
    changed: grown,
  });

  const parva = loadParva();
  const zipf = zipfFleet(300, 0.9, parva ?? syntheticFamily(), 307, 100);
  const updown = perturb(zipf, 0.1, 0.5, 42);
  cases.push({ name: 'zipf-300 10% ±50%', before: zipf, after: updown.fleet, changed: updown.changed });
  const down = perturb(zipf, 0.1, 0.5, 43, true);
  cases.push({ name: 'zipf-300 10% -50%', before: zipf, after: down.fleet, changed: down.changed });

  for (const c of cases) {
    const running = plan(c.before);
    rows.push(scenario(c.name, c.before, c.after, c.changed, running, {}, 'karpenter'));
    rows.push(
      scenario(
        c.name,
        c.before,
        c.after,
        c.changed,
        running,
        { movedModelPrice: 0, recutGpuPrice: 0, recut: 'in-place' },
        'in-place, moves free',
      ),
    );
    rows.push(scenario(c.name, c.before, c.after, c.changed, running, 'scratch', 'from scratch, in place'));
  }
  console.log(
    '\nrebalance — 300-model fleet: Zipf alpha 0.9 on A100-80GB, ' +
      `${parva ? 'ParvaGPU profiles (../shared)' : 'SYNTHETIC profiles (../shared absent)'}; changes seeded`,
  );
  console.log(table(rows));
  console.log(
    'from scratch: plan() of the new fleet mapped onto the running nodes (what re-planning from scratch costs to apply), for comparison',
  );
  console.log(
    'moved: models whose traffic goes to a server they did not run on; moved-unchanged: of those, models whose demand did not change',
  );
  console.log(
    'extra GPUs: GPUs held at the peak of the migration beyond max(before, after) (temporary nodes, overlap of old and new nodes)',
  );
  console.log(
    'min headroom: lowest capacity / what a model must keep, over all steps and models (>= 1: never below); ' +
      'checked: verifyPlan + checkMigration',
  );
}
