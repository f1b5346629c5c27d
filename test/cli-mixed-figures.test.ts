/**
 * A fleet whose plan uses two GPU types (cli-fixtures/mixed-types.fleet.yaml: 3 L4 + 1 H100): GPU counts of
 * different types are never compared with one bound. Per GPU type the plan's GPUs are measured against the
 * bounds of the demand it placed on that type; across types the plan's cost against the cheapest cost bound.
 * Checked in the plan document (`plan --json`, and `validatePlanDocument` reading it back), the summary
 * table (`plan`) and the HTML report (`report`), on the printed figures.
 */
import * as path from 'path';
import { loadFleetFile } from '../constructs/fleet';
import { replan, verifyPlan } from '../constructs/planner';
import { validatePlanDocument } from '../constructs/planner/plan-document';
import type { Plan } from '../constructs/planner/types';
import { FIXTURES, runCli } from './cli-fixtures/run-cli';
import { once } from './support/once';

const MIXED = path.join(FIXTURES, 'mixed-types.fleet.yaml');
/** Catalog on-demand prices (us-east-1): g6.xlarge carries 1 L4, p5.4xlarge 1 H100-80GB. */
const G6_XLARGE = 0.8048;
const P5_4XLARGE = 6.88;

/** The mixed fleet's plan document, table and report from the CLI, once for the `a plan over two GPU types…` blocks below. */
const mixed = once(async () => {
  const json = await runCli(['plan', MIXED, '--json']);
  expect(json.stderr).toBe('');
  const doc: Plan = JSON.parse(json.stdout);
  const table = (await runCli(['plan', MIXED])).stdout;
  const html = (await runCli(['report', MIXED, '--out', '-'])).stdout;
  return { doc, table, html };
});

describe('a plan over two GPU types: the plan document', () => {
  let doc: Plan;
  beforeAll(async () => ({ doc } = await mixed()));

  test('the plan uses both types: 3 L4 (g6.xlarge) and 1 H100 (p5.4xlarge), and passes the checker', () => {
    expect(verifyPlan(loadFleetFile(MIXED), doc)).toEqual([]);
    expect(doc.gpus.filter((g) => g.type === 'L4')).toHaveLength(3);
    expect(doc.gpus.filter((g) => g.type === 'H100-80GB')).toHaveLength(1);
    expect(doc.summary.costPerHour).toBeCloseTo(3 * G6_XLARGE + P5_4XLARGE, 4);
  });

  test('plan document: per GPU type its GPUs, cost, lower and tight bound and the ratio; across types the cost bound', () => {
    const s = doc.summary;
    expect(s.byType).toEqual([
      { type: 'L4', gpus: 3, costPerHour: 2.4144, lowerBound: expect.any(Number), tightBound: 3, ratio: 1 },
      { type: 'H100-80GB', gpus: 1, costPerHour: 6.88, lowerBound: expect.any(Number), tightBound: 1, ratio: 1 },
    ]);
    // DESIGN.md's bound of the L4 demand: 10 small models, 1625 rps at 600 rps per L4 (batch 4, 20 ms)
    expect(s.byType![0].lowerBound).toBeCloseTo(1625 / 600, 4);
    // the per-type costs add up to the plan's cost
    expect(s.byType!.reduce((x, t) => x + t.costPerHour, 0)).toBeCloseTo(s.costPerHour, 4);
    // fraud-check runs only on H100 (its 6 ms budget excludes the L4's 20 ms): any plan buys at least one p5.4xlarge
    expect(s.tightBound!.costPerHour).toBeGreaterThanOrEqual(P5_4XLARGE);
    expect(s.costLowerBound).toBeGreaterThan(0);
    expect(s.costLowerBound!).toBeLessThanOrEqual(s.tightBound!.costPerHour);
    expect(s.costRatio).toBeCloseTo(s.costPerHour / s.tightBound!.costPerHour, 3);
    // the document reads back through the saved-plan validator
    expect(validatePlanDocument(JSON.parse(JSON.stringify(doc))).problems).toEqual([]);
  });

  test('fails a saved plan whose per-type figures are malformed', () => {
    const bad = JSON.parse(JSON.stringify(doc));
    bad.summary.byType[0].ratio = 'high';
    bad.summary.byType[1].colour = 'red';
    bad.summary.costRatio = -1;
    expect(validatePlanDocument(bad).problems).toEqual([
      'summary.costRatio: expected a number in [0, 1e9], got -1',
      'summary.byType[0].ratio: expected a number in [0, 1e9], got "high"',
      'summary.byType[1].colour: unknown key; allowed: type, gpus, costPerHour, lowerBound, tightBound, ratio',
    ]);
  });
});

describe('a plan over two GPU types: the table, the report, a re-plan', () => {
  let doc: Plan;
  let table = '';
  let html = '';
  beforeAll(async () => ({ doc, table, html } = await mixed()));

  test('summary table: each type against its own bound, the total on cost, no GPU ratio across types', () => {
    const s = doc.summary;
    const cost = s.tightBound!.costPerHour;
    const ratio = Number((s.costPerHour / cost).toFixed(2));
    // GPU type  GPUs  slices  models  compute  memory  cost/h  lower bound  tight bound  against the bound
    expect(table).toMatch(/^H100-80GB +1 +.* \$6\.88 +0\.15 +1 +optimal: equals the bound /m);
    expect(table).toMatch(/^L4 +3 +3x whole +10 .* \$2\.41 +2\.71 +3 +optimal: equals the bound /m);
    expect(table).toMatch(new RegExp(`^total +4 +7 slices +12 .* \\$9\\.29 +- +- +cost: ${ratio}x the bound `, 'm'));
    expect(table).toContain('against the cost bound and the baselines');
    expect(table).toMatch(
      new RegExp(
        `^cost bound +- +\\$${cost.toFixed(2)} +${ratio}x the bound's cost \\(\\$${(s.costPerHour - cost).toFixed(2)}/h above\\)$`,
        'm',
      ),
    );
    // the old reading: 4 GPUs against the bound's GPUs of whatever types (here 2) — "2x the bound"
    expect(s.tightBound!.gpus).toBeLessThan(s.gpuCount);
    expect(table).not.toContain(`${Number((s.gpuCount / s.tightBound!.gpus).toFixed(2))}x the bound`);
    expect(table).not.toMatch(/^tight bound +\d/m);
  });

  test('HTML report: the same figures, and a per-type chart instead of one GPU count against the bound', () => {
    const s = doc.summary;
    const cost = s.tightBound!.costPerHour;
    const ratio = Number((s.costPerHour / cost).toFixed(2));
    expect(html).toContain(`<div class="k-note">H100-80GB 1: optimal: equals the bound; L4 3: optimal: equals the bound</div>`);
    expect(html).toContain(`at least $${cost.toFixed(2)} with any GPU types: ${ratio}x the bound&#39;s cost`);
    expect(html).toMatch(
      /<td><b>L4<\/b><\/td>.*?<td class="n">\$2\.41<\/td><td class="n">2\.71<\/td><td class="n">3<\/td><td>optimal: equals the bound<\/td>/,
    );
    expect(html).toContain(`<td class="n">-</td><td class="n">-</td><td>cost: ${ratio}x the bound</td>`);
    expect(html).toContain('<title>L4 bound: 3 L4 (no packing of its demand uses fewer)</title>');
    expect(html).toContain('<title>H100-80GB plan: 1 H100-80GB, $6.88/h</title>');
    expect(html).not.toContain(`tight bound ${s.tightBound!.gpus}:`);
    expect(html).not.toContain(`${Number((s.gpuCount / s.tightBound!.gpus).toFixed(2))}x the bound`);
  });

  test('a re-plan (demand tripled on two models) carries the figures of its own GPUs, not of the fresh plan it started from', () => {
    const fleet = loadFleetFile(MIXED);
    const next = {
      ...fleet,
      models: fleet.models.map((m) => (m.name === 'small-0' || m.name === 'small-1' ? { ...m, rps: m.rps * 3 } : m)),
    };
    const r = replan(next, doc, { solver: 'none' });
    expect(r.basis).not.toBe('unchanged');
    const s = r.plan.summary;
    for (const type of ['L4', 'H100-80GB']) {
      const t = s.byType!.find((x) => x.type === type)!;
      expect(t.gpus).toBe(r.plan.gpus.filter((g) => g.type === type).length);
    }
    expect(s.byType!.reduce((x, t) => x + t.costPerHour, 0)).toBeCloseTo(s.costPerHour, 4);
    const cheapest = Math.max(s.costLowerBound!, s.tightBound?.costPerHour ?? 0);
    expect(s.costRatio).toBeCloseTo(s.costPerHour / cheapest, 3);
  });
});
