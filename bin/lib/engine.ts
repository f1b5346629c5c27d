/**
 * The CLI's link to the library: read and validate a fleet file, plan it, check the plan, and
 * compute the per-GPU-type figures the summary shows. Loaded lazily by the commands so that
 * `gpufleet --help` needs nothing but this folder.
 */
import { clipLine, InputFileError, parseFleet, quote, readInputFile } from '../../constructs/fleet';
import type { Fleet } from '../../constructs/fleet/types';
// the planner's modules themselves, not its index: `plan` then loads none of the migration and topology code
import { baselines } from '../../constructs/planner/baselines';
import { lowerBound } from '../../constructs/planner/bounds';
import { warmUpSolver } from '../../constructs/planner/lp-solver';
import { plan as planFleet } from '../../constructs/planner/plan';
import type * as PlanDocument from '../../constructs/planner/plan-document';
import { PlanError } from '../../constructs/planner/plan-error';
import { tightBound } from '../../constructs/planner/tight-bound';
import type { Plan } from '../../constructs/planner/types';
import { verifyPlan } from '../../constructs/planner/verify-plan';
import { CliInputError, problemsOf } from './errors';
import { raiseLimitHint } from './input-size';

/**
 * Reads a file for a command argument through the shared bounded reader: a regular file of at most
 * `maxBytes` (default 16 MiB, `MAX_INPUT_FILE_BYTES`; `--max-input-size`) of UTF-8 text, else an exit-2
 * error naming the argument and path (and, for a file over the limit, the flag that reads it).
 */
export function readInput(path: string, what: string, maxBytes?: number): string {
  try {
    return readInputFile(path, { what, raiseLimit: raiseLimitHint, ...(maxBytes !== undefined ? { maxBytes } : {}) });
  } catch (e) {
    if (e instanceof InputFileError) throw new CliInputError(e.problems);
    throw e;
  }
}

/**
 * Parses and validates a fleet file; its problems become one line each, exit code 2. Each line is
 * bounded (`clipLine`): a value echoed by a lower layer never prints more than a few hundred characters.
 */
export function loadFleet(path: string, maxBytes?: number): Fleet {
  // HiGHS compiles in its worker thread while the fleet file is read and checked here; this process
  // solves a few models and exits, so V8's baseline compiler is the faster choice (docs/planner.md)
  warmUpSolver({ baselineCompiler: true });
  const text = readInput(path, 'FLEET', maxBytes);
  try {
    return parseFleet(text, path);
  } catch (e) {
    const problems = problemsOf(e);
    if (problems) throw new CliInputError(problems.map((p) => clipLine(p)));
    throw e;
  }
}

/**
 * Plans the fleet and checks the result with the independent checker. A fleet the planner cannot
 * serve (`PlanError`: every model that fits no GPU, each with its path and why) is an input problem,
 * exit code 2, one line per problem; any other error, or a plan the checker rejects, is a bug in
 * gpufleet (exit code 1), never printed as if it were valid.
 */
export function planAndVerify(fleet: Fleet): Plan {
  let result: Plan;
  try {
    result = planFleet(fleet);
  } catch (e) {
    if (e instanceof PlanError) throw new CliInputError(e.problems.map((p) => `cannot plan fleet ${fleet.name}: ${p}`));
    throw e;
  }
  const problems = verifyPlan(fleet, result);
  if (problems.length > 0) {
    throw new Error(`the planner produced a plan that breaks the feasibility rules:\n${problems.join('\n')}`);
  }
  return result;
}

/**
 * Reads a saved plan document (`gpufleet plan --json`), checks every field's type and bounds
 * (`validatePlanDocument`) and then the plan against the fleet (`verifyPlan`); exit 2 with one line per
 * problem if it is malformed or does not fit.
 */
export function loadPlanFor(fleet: Fleet, path: string, maxBytes?: number): Plan {
  const text = readInput(path, '--plan', maxBytes);
  const where = `--plan ${quote(path)}`;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliInputError(clipLine(`${where}: not JSON (${(e as Error).message})`));
  }
  // loaded here: only `report --plan` reads a saved plan document
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { validatePlanDocument } = require('../../constructs/planner/plan-document') as typeof PlanDocument;
  const { plan: saved, problems: shape } = validatePlanDocument(doc);
  if (!saved) throw new CliInputError(shape.map((p) => `${where}: ${p}`));
  if (saved.fleet !== fleet.name) {
    throw new CliInputError(`${where}: fleet: expected ${quote(fleet.name)} (the fleet file's name), got ${quote(saved.fleet)}`);
  }
  const problems = verifyPlan(fleet, saved);
  if (problems.length > 0) throw new CliInputError(problems.map((p) => clipLine(`${where}: ${p}`)));
  return saved;
}

/** The figures of one GPU type when the plan uses several: bound and baselines for the models placed there. */
export interface TypeFigures {
  readonly lowerBound?: number;
  readonly tightBound?: number;
  readonly dedicated?: number;
  readonly noMig?: number;
}

/** Runs `figure`, leaving the figure out when the planner cannot compute it for this GPU type alone (a PlanError). */
function unlessUnservable(figure: () => unknown): void {
  try {
    figure();
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
  }
}

/**
 * Per GPU type: the bounds and baselines of the demand the plan puts on that type, computed
 * as for a fleet of only that type and those models with the rps placed there; the bounds come from the
 * plan's `summary.byType` when it has them (plans of fleets offering several types). Empty when the
 * fleet offers one GPU type: `buildPlanView` then shows the plan's own summary figures.
 */
export function typeFigures(fleet: Fleet, result: Plan): Map<string, TypeFigures> {
  const types = [...new Set(result.gpus.map((g) => g.type))].sort();
  const out = new Map<string, TypeFigures>();
  if (types.length === 1 && fleet.gpus.length === 1) return out;
  const planned = new Map((result.summary.byType ?? []).map((t) => [t.type, t]));
  for (const type of types) {
    const placed = new Map<string, number>();
    for (const g of result.gpus.filter((x) => x.type === type)) {
      for (const s of g.slices) for (const m of s.models) placed.set(m.name, (placed.get(m.name) ?? 0) + m.rps);
    }
    const sub: Fleet = {
      ...fleet,
      gpus: fleet.gpus.filter((g) => g.type === type),
      models: fleet.models.filter((m) => placed.has(m.name)).map((m) => ({ ...m, rps: placed.get(m.name)! })),
    };
    const figures: { lowerBound?: number; tightBound?: number; dedicated?: number; noMig?: number } = {};
    const known = planned.get(type);
    if (known) {
      // the planner computed them (the same sub-fleet, cold models on their cache slices' type)
      if (known.lowerBound !== undefined) figures.lowerBound = known.lowerBound;
      if (known.tightBound !== undefined) figures.tightBound = known.tightBound;
    } else {
      unlessUnservable(() => (figures.lowerBound = lowerBound(sub)));
      unlessUnservable(() => {
        const t = tightBound(sub);
        if (t.bound) figures.tightBound = t.bound.gpus;
      });
    }
    unlessUnservable(() => Object.assign(figures, baselines(sub)));
    out.set(type, figures);
  }
  return out;
}
