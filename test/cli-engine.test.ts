/**
 * How the CLI tells a fleet the planner cannot serve (`PlanError`, exit 2) from a bug in the
 * planner (any other error, exit 1): by the error's class, never by its message.
 */
import type { Fleet } from '../constructs/fleet/types';
import { PlanError } from '../constructs/planner';
import { planAndVerify } from '../bin/lib/engine';
import { CliInputError } from '../bin/lib/errors';

const thrown: { error?: unknown } = {};
// the engine imports plan() from its module (bin/lib/engine.ts loads no more of the planner than `plan` needs)
jest.mock('../constructs/planner/plan', () => {
  const actual = jest.requireActual('../constructs/planner/plan');
  return {
    ...actual,
    plan: () => {
      throw thrown.error;
    },
  };
});

const fleet = { name: 'f', latencyHeadroom: 0.5, processOverheadGiB: 0.6, gpus: [], models: [] } as Fleet;

function caught(): unknown {
  try {
    planAndVerify(fleet);
  } catch (e) {
    return e;
  }
  throw new Error('expected planAndVerify to throw');
}

describe('planAndVerify', () => {
  test('fails with an input error (exit 2), one line per problem, for a PlanError', () => {
    thrown.error = new PlanError(['models.a: no profile entry meets latency', 'models.b: no profile entry meets latency']);
    const e = caught();
    expect(e).toBeInstanceOf(CliInputError);
    expect((e as CliInputError).problems).toEqual([
      'cannot plan fleet f: models.a: no profile entry meets latency',
      'cannot plan fleet f: models.b: no profile entry meets latency',
    ]);
  });

  test('fails as an internal error (exit 1) for a plain Error, even one whose message names a model path', () => {
    const bug = new Error('models.a: remaining demand 3 rps fits no slice of A100-80GB');
    thrown.error = bug;
    const e = caught();
    expect(e).toBe(bug);
    expect(e).not.toBeInstanceOf(CliInputError);
  });
});
