/**
 * The CLI's link to the library: read and validate a fleet file, plan it, check the plan, and
 * compute the per-GPU-type figures the summary shows. Loaded lazily by the commands so that
 * `gpufleet --help` needs nothing but this folder.
 */
import * as fs from 'fs';
import { parseFleet } from '../../constructs/fleet';
import type { Fleet } from '../../constructs/fleet/types';
import { baselines, lowerBound, PlanError, plan as planFleet, tightBound, verifyPlan, warmUpSolver } from '../../constructs/planner';
import type { Plan } from '../../constructs/planner/types';
import { CliInputError, problemsOf } from './errors';

/** Reads a file for a command argument; unreadable → exit-2 error naming the argument and path. */
export function readInput(path: string, what: string): string {
  try {
    if (fs.statSync(path).isDirectory()) throw new CliInputError(`${what} "${path}": is a directory, expected a file`);
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof CliInputError) throw e;
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message);
    throw new CliInputError(`${what} "${path}": cannot read the file (${reason})`);
  }
}

/** Parses and validates a fleet file; its problems become one line each, exit code 2. */
export function loadFleet(path: string): Fleet {
  // HiGHS compiles in its worker thread while the fleet file is read and checked here; this process
  // solves a few models and exits, so V8's baseline compiler is the faster choice (docs/planner.md)
  warmUpSolver({ baselineCompiler: true });
  const text = readInput(path, 'FLEET');
  try {
    return parseFleet(text, path);
  } catch (e) {
    const problems = problemsOf(e);
    if (problems) throw new CliInputError(problems);
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

/** Reads a saved plan document (`gpufleet plan --json`) and checks it against the fleet; exit 2 if it does not fit. */
export function loadPlanFor(fleet: Fleet, path: string): Plan {
  const text = readInput(path, '--plan');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliInputError(`--plan "${path}": not JSON (${(e as Error).message})`);
  }
  const shape = planShapeProblems(doc);
  if (shape.length > 0) throw new CliInputError(shape.map((p) => `--plan "${path}": ${p}`));
  const saved = doc as Plan;
  if (saved.fleet !== fleet.name) {
    throw new CliInputError(`--plan "${path}": fleet: expected "${fleet.name}" (the fleet file's name), got "${saved.fleet}"`);
  }
  const problems = verifyPlan(fleet, saved);
  if (problems.length > 0) throw new CliInputError(problems.map((p) => `--plan "${path}": ${p}`));
  return saved;
}

/** The figures of one GPU type when the plan uses several: bound and baselines for the models placed there. */
export interface TypeFigures {
  readonly lowerBound?: number;
  readonly tightBound?: number;
  readonly dedicated?: number;
  readonly noMig?: number;
}

/**
 * Per GPU type: the bounds and baselines of the demand the plan puts on that type, computed
 * as for a fleet of only that type and those models with the rps placed there. Empty when the
 * fleet offers one GPU type: `buildPlanView` then shows the plan's own summary figures.
 */
export function typeFigures(fleet: Fleet, result: Plan): Map<string, TypeFigures> {
  const types = [...new Set(result.gpus.map((g) => g.type))].sort();
  const out = new Map<string, TypeFigures>();
  if (types.length === 1 && fleet.gpus.length === 1) return out;
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
    try { figures.lowerBound = lowerBound(sub); } catch (e) { if (!(e instanceof PlanError)) throw e; /* not computable for this type alone */ }
    try {
      const t = tightBound(sub);
      if (t.bound) figures.tightBound = t.bound.gpus;
    } catch (e) { if (!(e instanceof PlanError)) throw e; /* not computable for this type alone */ }
    try { Object.assign(figures, baselines(sub)); } catch (e) { if (!(e instanceof PlanError)) throw e; /* not computable for this type alone */ }
    out.set(type, figures);
  }
  return out;
}

/** Structural problems of a plan document (enough to render it safely). */
function planShapeProblems(doc: unknown): string[] {
  const out: string[] = [];
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return ['expected a plan document (an object), got ' + kind(doc)];
  const d = doc as Record<string, unknown>;
  if (typeof d.fleet !== 'string') out.push(`fleet: expected a string, got ${kind(d.fleet)}`);
  if (!Array.isArray(d.gpus)) out.push(`gpus: expected an array, got ${kind(d.gpus)}`);
  else {
    d.gpus.forEach((g, i) => {
      const gg = g as Record<string, unknown> | null;
      if (!gg || typeof gg !== 'object') { out.push(`gpus[${i}]: expected an object, got ${kind(g)}`); return; }
      for (const k of ['id', 'type', 'node']) if (typeof gg[k] !== 'string') out.push(`gpus[${i}].${k}: expected a string, got ${kind(gg[k])}`);
      if (!Array.isArray(gg.slices)) out.push(`gpus[${i}].slices: expected an array, got ${kind(gg.slices)}`);
      else {
        gg.slices.forEach((s, j) => {
          const ss = s as Record<string, unknown> | null;
          if (!ss || typeof ss !== 'object' || !Array.isArray(ss.models) || typeof ss.profile !== 'string' || typeof ss.start !== 'number') {
            out.push(`gpus[${i}].slices[${j}]: expected { profile, start, models[] }`);
          }
        });
      }
    });
  }
  const s = d.summary as Record<string, unknown> | undefined;
  if (!s || typeof s !== 'object') out.push(`summary: expected an object, got ${kind(d.summary)}`);
  else {
    for (const k of ['gpuCount', 'costPerHour', 'lowerBound']) if (typeof s[k] !== 'number') out.push(`summary.${k}: expected a number, got ${kind(s[k])}`);
    const b = s.baselines as Record<string, unknown> | undefined;
    if (!b || typeof b.dedicated !== 'number' || typeof b.noMig !== 'number') out.push('summary.baselines: expected { dedicated, noMig } numbers');
  }
  return out;
}

function kind(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x === undefined) return 'nothing';
  return typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}
