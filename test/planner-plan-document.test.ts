/**
 * validatePlanDocument (constructs/planner/plan-document.ts): a saved plan is untrusted input. What the planner
 * writes passes unchanged; a mutated document either fails with problems naming path and value, or is
 * well-typed enough that verifyPlan and the report renderer run on it without throwing.
 */
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { buildPlanView } from '../bin/lib/plan-view';
import { renderReport } from '../bin/lib/html-report';
import { loadFleetFile } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { plan, verifyPlan } from '../constructs/planner';
import { validatePlanDocument } from '../constructs/planner/plan-document';
import { SMALL_FLEET } from './cli-fixtures/run-cli';
import { once } from './support/once';

const EXAMPLES = path.resolve(__dirname, '../examples');
/** What plan --json writes for the small CLI fleet, planned once for the file; each test parses its own copy to change. */
const smallPlanText = once(() => JSON.stringify(plan(loadFleetFile(SMALL_FLEET))));

describe('what plan --json writes passes', () => {
  test.each(fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.fleet.yaml')))('%s', (f) => {
    const doc = JSON.parse(JSON.stringify(plan(loadFleetFile(path.join(EXAMPLES, f)))));
    expect(validatePlanDocument(doc)).toEqual({ plan: doc, problems: [] });
  });

  test('a tight bound as DESIGN.md documents it passes; one with a wrong type does not', () => {
    const doc = JSON.parse(smallPlanText());
    doc.summary.tightBound = { gpus: 4.0, method: 'LP relaxation (HiGHS)', seconds: 0.4 };
    expect(validatePlanDocument(doc).problems).toEqual([]);
    doc.summary.tightBound.gpus = '4';
    expect(validatePlanDocument(doc).problems).toEqual(['summary.tightBound.gpus: expected a number in [0, 1e6], got "4"']);
  });
});

describe('fails on malformed documents', () => {
  test.each([
    [null, ['expected an object with fleet, gpus, summary, got null']],
    [[], ['expected an object with fleet, gpus, summary, got a list of 0']],
    [
      {},
      [
        'fleet: required, expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)',
        'gpus: required, expected a list of GPUs',
        'summary: required, expected an object with gpuCount, costPerHour, lowerBound, baselines',
      ],
    ],
    [
      {
        fleet: 'Bad_Name',
        gpus: {},
        summary: { gpuCount: 0, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
        extra: 1,
      },
      [
        'extra: unknown key; allowed: fleet, gpus, summary, nodes, migConfigs, cold',
        'fleet: expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters), got "Bad_Name"',
        'gpus: expected a list of GPUs, got an object',
      ],
    ],
  ])('%j', (doc, problems) => {
    expect(validatePlanDocument(doc)).toEqual({ problems });
  });

  test('fails on a key that is no identifier, quoting it bounded', () => {
    const doc = {
      fleet: 'x',
      gpus: [],
      summary: { gpuCount: 0, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
      ['k'.repeat(500)]: 1,
    };
    expect(validatePlanDocument(doc).problems).toEqual([
      `["${'k'.repeat(100)}…" (500 characters)]: unknown key; allowed: fleet, gpus, summary, nodes, migConfigs, cold`,
    ]);
  });

  test('fails on a duplicate GPU id and a cache slice on a GPU that does not exist', () => {
    const doc = JSON.parse(smallPlanText());
    doc.gpus.push(JSON.parse(JSON.stringify(doc.gpus[0])));
    doc.cold = {
      belowRps: 1,
      models: [],
      slices: [{ gpu: 'gpu-77', profile: '1g.10gb', start: 0 }],
      hitRateTarget: 0.9,
      cacheGiB: 0,
      gpusWithSeats: 0,
      gpusSaved: 0,
    };
    expect(validatePlanDocument(doc).problems).toEqual([
      `gpus[${doc.gpus.length - 1}].id: "gpu-0" is used by an earlier GPU; GPU ids are unique`,
      'cold.slices[0].gpu: "gpu-77" is no GPU id of gpus',
    ]);
  });

  test("a cold model's entry is optional (older documents) but, when given, a batch and an instance count", () => {
    const doc = JSON.parse(smallPlanText());
    const cold = (models: unknown[]) => ({
      belowRps: 1,
      models,
      slices: [],
      hitRateTarget: 0.9,
      cacheGiB: 0,
      gpusWithSeats: 0,
      gpusSaved: 0,
    });
    doc.cold = cold([
      { name: 'a', rps: 0.5 },
      { name: 'b', rps: 0.5, batch: 4, instances: 1 },
    ]);
    expect(validatePlanDocument(doc).problems).toEqual([]);
    doc.cold = cold([
      { name: 'a', rps: 0.5, batch: 4 },
      { name: 'b', rps: 0.5, batch: 0, instances: 1.5 },
    ]);
    expect(validatePlanDocument(doc).problems).toEqual([
      'cold.models[0].instances: required, expected an integer in [1, 2147483647]',
      'cold.models[1].batch: expected an integer in [1, 2147483647], got 0',
      'cold.models[1].instances: expected an integer in [1, 2147483647], got 1.5',
    ]);
  });
});

describe('mutated plans never crash a consumer', () => {
  const fleet: Fleet = loadFleetFile(SMALL_FLEET);
  const base = JSON.parse(smallPlanText());

  /** Every [container, key] of the document, for mutations. */
  function slots(
    x: unknown,
    out: [Record<string, unknown> | unknown[], string | number][] = [],
  ): [Record<string, unknown> | unknown[], string | number][] {
    if (Array.isArray(x))
      x.forEach((v, i) => {
        out.push([x, i]);
        slots(v, out);
      });
    else if (x && typeof x === 'object')
      for (const [k, v] of Object.entries(x)) {
        out.push([x as Record<string, unknown>, k]);
        slots(v, out);
      }
    return out;
  }
  const WEIRD: unknown[] = [null, 'str', '0.5', -1, 0, 1.5, 1e300, -0, true, [], {}, [null], 'x'.repeat(300), 2 ** 53, 7, 'gpu-0'];

  test('validator problems name a path; accepted documents go through verifyPlan and the renderer', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(WEIRD.length + 1)), { minLength: 1, maxLength: 3 }), (mutations) => {
        const doc = JSON.parse(JSON.stringify(base));
        for (const [at, what] of mutations) {
          const all = slots(doc);
          if (all.length === 0) break;
          const [container, key] = all[at % all.length];
          if (what === WEIRD.length) {
            if (Array.isArray(container)) container.splice(key as number, 1);
            else delete container[key as string];
          } else if (what === WEIRD.length + 1) {
            if (!Array.isArray(container)) container.surprise = 1;
          } else {
            (container as Record<string | number, unknown>)[key] = WEIRD[what];
          }
        }
        const { plan: checked, problems } = validatePlanDocument(doc);
        if (!checked) {
          expect(problems.length).toBeGreaterThan(0);
          for (const p of problems) {
            expect(p).toMatch(/^(\[|[A-Za-z]|\.\.\. and )/);
            expect(p.length).toBeLessThan(450);
          }
          return;
        }
        const broken = verifyPlan(fleet, checked);
        if (broken.length === 0) renderReport(buildPlanView(fleet, checked), { source: 'fuzz', version: '0' });
      }),
      { numRuns: 300, seed: 14 },
    );
  });
});
