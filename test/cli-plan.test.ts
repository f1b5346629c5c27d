/**
 * `gpufleet plan`: the CLI's `main` in-process (cli-fixtures/run-cli.ts; the compiled command in a
 * real process is test/cli-process.test.ts). --json prints exactly the plan document of
 * DESIGN.md (and the independent checker accepts it), --out writes it, the summary table shows
 * the headings and the plan's numbers.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadFleetFile } from '../constructs/fleet';
import { plan, verifyPlan } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import { describeIf } from './support/notes';
import { once } from './support/once';
import { type CliResult, REPO, runCli, SMALL_FLEET, tempDir } from './cli-fixtures/run-cli';

/** The library's plan of the small CLI fleet, planned once for the file (no test changes it): what the CLI must print. */
const libraryPlan = once(() => plan(loadFleetFile(SMALL_FLEET)));

/** Asserts the DESIGN.md shape of a plan document. */
function expectPlanShape(doc: any): void {
  expect(typeof doc.fleet).toBe('string');
  expect(Array.isArray(doc.gpus)).toBe(true);
  expect(doc.gpus.length).toBeGreaterThan(0);
  for (const g of doc.gpus) {
    expect(g).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        type: expect.any(String),
        node: expect.any(String),
        mig: expect.any(Boolean),
      }),
    );
    expect(g.slices.length).toBeGreaterThan(0);
    for (const s of g.slices) {
      expect(typeof s.profile).toBe('string');
      expect(Number.isInteger(s.start)).toBe(true);
      if (!g.mig) expect(s).toEqual(expect.objectContaining({ profile: 'whole', start: 0 }));
      for (const m of s.models) {
        expect(Object.keys(m).sort()).toEqual(['batch', 'instances', 'name', 'rps', 'share']);
        expect(m.share).toBeGreaterThan(0);
        expect(m.share).toBeLessThanOrEqual(1);
      }
    }
  }
  expect(doc.summary).toEqual(
    expect.objectContaining({
      gpuCount: doc.gpus.length,
      costPerHour: expect.any(Number),
      lowerBound: expect.any(Number),
      tightBound: {
        gpus: expect.any(Number),
        costPerHour: expect.any(Number),
        method: expect.stringMatching(/^(milp|milp-bound|lp|exact)$/),
        solver: expect.stringMatching(/^HiGHS /),
      },
      baselines: { dedicated: expect.any(Number), noMig: expect.any(Number) },
    }),
  );
  // the document is the same from run to run: no wall-clock time in it unless asked for
  expect(doc.summary.tightBound.seconds).toBeUndefined();
  expect(doc.summary.gpuCount).toBeGreaterThanOrEqual(doc.summary.tightBound.gpus);
  expect(doc.summary.tightBound.gpus).toBeGreaterThanOrEqual(Math.ceil(doc.summary.lowerBound - 1e-6));
}

describe('gpufleet plan --json', () => {
  let r: CliResult;
  const fleet = loadFleetFile(SMALL_FLEET);
  beforeAll(async () => {
    r = await runCli(['plan', SMALL_FLEET, '--json']);
  });

  test('prints only the plan document: 2-space JSON and a trailing newline, exit 0', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
  });

  test('has the DESIGN.md shape and places every model of the fleet', () => {
    const doc = JSON.parse(r.stdout);
    expectPlanShape(doc);
    expect(doc.fleet).toBe('payments-and-vision');
    const placed = new Set(doc.gpus.flatMap((g: any) => g.slices.flatMap((s: any) => s.models.map((m: any) => m.name))));
    expect([...placed].sort()).toEqual(fleet.models.map((m) => m.name).sort());
  });

  test('verifyPlan accepts it, and it is the library plan of the same fleet', () => {
    const doc = JSON.parse(r.stdout) as Plan;
    expect(verifyPlan(fleet, doc)).toEqual([]);
    expect(doc).toEqual(JSON.parse(JSON.stringify(libraryPlan())));
    expect(doc.summary.gpuCount).toBeGreaterThanOrEqual(Math.ceil(doc.summary.lowerBound - 1e-9));
  });
});

describe('gpufleet plan --out', () => {
  test('--json --out writes the document to a new folder and prints nothing', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'nested', 'deeper', 'plan.json');
    const r = await runCli(['plan', SMALL_FLEET, '--json', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const text = fs.readFileSync(out, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const doc = JSON.parse(text);
    expectPlanShape(doc);
    expect(verifyPlan(loadFleetFile(SMALL_FLEET), doc)).toEqual([]);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['plan.json']);
  });

  test('--out without --json writes the document and prints the summary', async () => {
    const out = path.join(tempDir(), 'plan.json');
    const r = await runCli(['plan', SMALL_FLEET, '--out=' + out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('GPU type');
    expect(r.stdout).toContain(`plan document written to ${out}`);
    expectPlanShape(JSON.parse(fs.readFileSync(out, 'utf8')));
  });
});

describe('gpufleet plan (summary table)', () => {
  let r: CliResult;
  let doc: Plan;
  beforeAll(async () => {
    r = await runCli(['plan', SMALL_FLEET]);
    doc = libraryPlan();
  });

  test('exit 0, nothing on stderr', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('shows the headings of every section', () => {
    for (const h of [
      'GPU type',
      'GPUs',
      'slices (by profile)',
      'models',
      'compute',
      'memory',
      'cost/h',
      'tight bound',
      'vs dedicated',
      'vs noMig',
      'node configs',
      'node configurations',
      'teams',
      'GPU equivalents',
    ]) {
      expect(r.stdout).toContain(h);
    }
  });

  test("shows the plan's numbers: GPUs, cost, bound, baselines, profiles, configs, teams", () => {
    const s = doc.summary;
    expect(r.stdout).toContain(`fleet payments-and-vision: ${s.gpuCount} GPU`);
    expect(r.stdout).toContain(`$${s.costPerHour.toFixed(2)}/h`);
    // the fleet offers A100-80GB and L4: the plan is compared on cost, each GPU type with its own bounds
    const cost = Math.max(s.tightBound!.costPerHour, s.costLowerBound!);
    expect(r.stdout).toMatch(new RegExp(`^cost bound\\s+-\\s+\\$${cost.toFixed(2)}\\s`, 'm'));
    expect(s.byType!.length).toBeGreaterThan(0);
    for (const t of s.byType!) {
      expect(r.stdout).toMatch(new RegExp(`^${t.type}\\s+${t.gpus}\\b.*\\s${Number(t.lowerBound!.toFixed(2))}\\s+${t.tightBound}\\s`, 'm'));
    }
    expect(r.stdout).not.toMatch(/^tight bound\s+\d/m);
    expect(r.stdout).toMatch(new RegExp(`dedicated\\s+${s.baselines.dedicated}\\s`));
    expect(r.stdout).toMatch(new RegExp(`noMig\\s+${s.baselines.noMig}\\s`));
    const profiles = new Set(doc.gpus.flatMap((g) => g.slices.map((x) => x.profile)));
    for (const p of profiles) expect(r.stdout).toContain(p);
    for (const c of doc.migConfigs ?? []) expect(r.stdout).toContain(c.name);
    for (const t of ['ads', 'payments', 'search', 'vision']) expect(r.stdout).toMatch(new RegExp(`^${t}\\s+\\d`, 'm'));
  });
});

const examplesDir = path.join(REPO, 'examples');
const exampleFleets = fs.existsSync(examplesDir)
  ? fs
      .readdirSync(examplesDir)
      .filter((f) => f.endsWith('.fleet.yaml'))
      .sort()
  : [];
describeIf(exampleFleets.length > 0, 'no examples/*.fleet.yaml in the repository')('gpufleet plan --json on the example fleets', () => {
  test.each(exampleFleets.length > 0 ? exampleFleets : ['none'])('%s: a plan verifyPlan accepts', async (file) => {
    const f = path.join(examplesDir, file);
    const r = await runCli(['plan', f, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectPlanShape(doc);
    expect(verifyPlan(loadFleetFile(f), doc)).toEqual([]);
  });
});
