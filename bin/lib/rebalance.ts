/**
 * `gpufleet rebalance --from RUNNING_PLAN.json FLEET`: re-plans the fleet from the plan that runs (`replan`),
 * computes the ordered migration to the new plan (`planMigration`), proves it with the independent checker
 * (`checkMigration`) and prints it as a runbook for the chosen path. A migration the checker rejects is never
 * printed: it is an internal error (exit 1). `report --from` draws the same migration (migration-report.ts).
 */
import * as path from 'path';
import { clipLine, quote } from '../../constructs/fleet';
import type { Fleet } from '../../constructs/fleet/types';
import { migrationRunbook, renderRunbookText, type Runbook, type RunbookPath } from '../../constructs/k8s/platform/migration-runbook';
import {
  checkMigration,
  planMigration,
  PlanError,
  replan,
  verifyPlan,
  type Migration,
  type Plan,
  type Replan,
} from '../../constructs/planner';
import { validatePlanDocument } from '../../constructs/planner/plan-document';
import { runningPlanProblems } from '../../constructs/planner/replan-input';
import { type ParsedArgs } from './args';
import { loadFleet, readInput } from './engine';
import { inputLimit } from './input-size';
import { CliInputError, EXIT_OK } from './errors';
import { num, usd } from './format';
import { checkOutputFile, writeOutputFile, writeStdout } from './output';

const PATHS: readonly RunbookPath[] = ['karpenter', 'node-groups', 'in-place'];

/** Everything a rebalance computes, checked. */
export interface RebalanceResult {
  readonly fleet: Fleet;
  readonly running: Plan;
  readonly replan: Replan;
  readonly migration: Migration;
  readonly runbook: Runbook;
  readonly path: RunbookPath;
}

interface RebalanceFlags {
  readonly path: RunbookPath;
  readonly floor?: number;
  readonly movedModelPrice?: number;
  readonly recutGpuPrice?: number;
  /** `--max-input-size`, for the fleet and the running plan; undefined: 16 MiB. */
  readonly maxInputBytes?: number;
}

function numberFlag(args: ParsedArgs, name: string, ok: (x: number) => boolean, expected: string, command: string): number | undefined {
  const v = args.flags[name];
  if (v === undefined) return undefined;
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(x) || !ok(x))
    throw new CliInputError(`--${name}: expected ${expected}, got ${quote(String(v))}`, { usage: true, command });
  return x;
}

/** The flags of `rebalance` and `report --from`, checked before any work. */
export function rebalanceFlags(args: ParsedArgs, command: string): RebalanceFlags {
  const p = args.flags.path;
  if (p !== undefined && (typeof p !== 'string' || !(PATHS as readonly string[]).includes(p))) {
    throw new CliInputError(`--path: expected one of ${PATHS.join(', ')}, got ${quote(String(p))}`, { usage: true, command });
  }
  return {
    path: (p as RunbookPath | undefined) ?? 'karpenter',
    floor: numberFlag(args, 'floor', (x) => x > 0 && x <= 1, 'a number > 0 and <= 1', command),
    movedModelPrice: numberFlag(args, 'move-price', (x) => x >= 0, 'a number >= 0 (USD per hour)', command),
    recutGpuPrice: numberFlag(args, 'recut-price', (x) => x >= 0, 'a number >= 0 (USD per hour)', command),
    maxInputBytes: inputLimit(args, command),
  };
}

/** Reads the running plan: a well-formed plan document of this fleet whose nodes, GPUs and layouts agree. */
export function loadRunningPlan(fleet: Fleet, file: string, maxBytes?: number): Plan {
  const where = `--from ${quote(file)}`;
  const text = readInput(file, '--from', maxBytes);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliInputError(clipLine(`${where}: not JSON (${(e as Error).message})`));
  }
  const { plan: running, problems } = validatePlanDocument(doc);
  if (!running) throw new CliInputError(problems.map((p) => clipLine(`${where}: ${p}`)));
  const bad = runningPlanProblems(fleet, running);
  if (bad.length > 0) throw new CliInputError(bad.map((p) => clipLine(`${where}: ${p}`)));
  return running;
}

/** Re-plans, migrates and checks; a fleet the planner cannot serve is an input error, a rejected migration a bug. */
export function rebalance(fleetPath: string, fromPath: string, flags: RebalanceFlags): RebalanceResult {
  const fleet = loadFleet(fleetPath, flags.maxInputBytes);
  const running = loadRunningPlan(fleet, fromPath, flags.maxInputBytes);
  let r: Replan;
  try {
    r = replan(fleet, running, {
      recut: flags.path === 'in-place' ? 'in-place' : 'replace',
      ...(flags.movedModelPrice !== undefined ? { movedModelPrice: flags.movedModelPrice } : {}),
      ...(flags.recutGpuPrice !== undefined ? { recutGpuPrice: flags.recutGpuPrice } : {}),
    });
  } catch (e) {
    if (e instanceof PlanError) throw new CliInputError(e.problems.map((p) => clipLine(`cannot re-plan fleet ${fleet.name}: ${p}`)));
    throw e;
  }
  const invalid = verifyPlan(fleet, r.plan);
  if (invalid.length > 0) throw new Error(`the re-planner produced a plan that breaks the feasibility rules:\n${invalid.join('\n')}`);
  const options = flags.floor !== undefined ? { floor: flags.floor } : {};
  const migration = planMigration(fleet, running, r.plan, options);
  const problems = checkMigration(fleet, running, r.plan, migration, options);
  if (problems.length > 0) throw new Error(`the migration breaks its invariant; not printed:\n${problems.slice(0, 20).join('\n')}`);
  const runbook = migrationRunbook(fleet, running, r.plan, migration, { path: flags.path });
  return { fleet, running, replan: r, migration, runbook, path: flags.path };
}

/** The JSON document of `rebalance --json`. */
export function rebalanceDocument(x: RebalanceResult): unknown {
  return {
    fleet: x.fleet.name,
    checked: true,
    basis: x.replan.basis,
    changes: x.replan.changes,
    candidates: x.replan.candidates,
    migration: x.migration,
    runbook: x.runbook,
    plan: x.replan.plan,
  };
}

export async function runRebalance(args: ParsedArgs): Promise<number> {
  const from = args.flags.from;
  if (typeof from !== 'string')
    throw new CliInputError('missing --from RUNNING_PLAN: the plan that runs now (gpufleet plan --json)', {
      usage: true,
      command: 'rebalance',
    });
  const flags = rebalanceFlags(args, 'rebalance');
  const fleetPath = args.positionals.FLEET;
  const out = args.flags.out;
  if (out === '-')
    throw new CliInputError('--out: "-" is not a file; use --json to print the migration on stdout', { usage: true, command: 'rebalance' });
  if (typeof out === 'string') checkOutputFile(out, { inputs: [fleetPath, from] });
  const x = rebalance(fleetPath, from, flags);
  if (typeof out === 'string') writeOutputFile(out, JSON.stringify(x.replan.plan, null, 2) + '\n', { inputs: [fleetPath, from] });
  if (args.flags.json) {
    await writeStdout(JSON.stringify(rebalanceDocument(x), null, 2) + '\n');
    return EXIT_OK;
  }
  await writeStdout(renderRebalanceText(x, path.basename(fleetPath)) + (typeof out === 'string' ? `\nnew plan written to ${out}\n` : ''));
  return EXIT_OK;
}

/** The readable form: what changes, the figures, then the runbook with each step's capacity changes. */
export function renderRebalanceText(x: RebalanceResult, source: string): string {
  const { migration: m, replan: r } = x;
  const s = m.summary;
  const c = r.changes;
  const lines: string[] = [];
  const basis =
    r.basis === 'unchanged'
      ? 'unchanged: the running plan fits the fleet as it is'
      : r.basis === 'stable'
        ? 'stable re-plan of the running plan'
        : 'fresh plan mapped onto the running nodes';
  lines.push(`rebalance ${x.fleet.name} (${source}): ${basis}; migration checked, ${s.steps} step(s), path ${x.path}`);
  lines.push(
    `  cost per hour ${usd(c.costPerHourBefore)} -> ${usd(c.costPerHourAfter)}; GPUs ${s.gpusBefore} -> ${s.gpusAfter}, ` +
      `at most ${s.peakGpus} during the migration (${s.extraGpus} extra)`,
  );
  lines.push(
    `  models moved ${s.modelsMoved}, grown ${c.modelsGrown.length}, shrunk ${c.modelsShrunk.length}, ` +
      `re-weighted ${c.modelsReweighted.length}, added ${c.modelsAdded.length}, removed ${c.modelsRemoved.length}`,
  );
  lines.push(
    `  servers started ${s.serversStarted} (${s.temporaryServers} temporary), stopped ${s.serversStopped}; ` +
      `nodes added ${s.nodesAdded}, removed ${s.nodesRemoved}, temporary ${s.temporaryNodes}; GPUs re-cut ${s.gpusRecut}`,
  );
  const floor = m.floor < 1 ? `${num(m.floor * 100, 1)}% of its demand` : 'its demand';
  lines.push(
    `  every model keeps ${floor} (or what it had, if less) at every step: checked` +
      (s.shortAtStart > 0 ? `; ${s.shortAtStart} model(s) run below their new demand until step ${s.atDemandFromStep}` : ''),
  );
  if (m.steps.length === 0) {
    lines.push('', 'nothing to do: the running plan already serves the fleet.');
    return lines.join('\n') + '\n';
  }
  lines.push('', `steps (${x.path}):`);
  const text = renderRunbookText(x.runbook).split('\n');
  // interleave each step's capacity changes after its runbook block
  const caps = new Map(m.steps.map((st) => [st.index, st.capacity.filter((k) => Math.abs(k.after - k.before) > 1e-9)]));
  let step = 0;
  for (const line of text) {
    const head = /^(\d+)\. /.exec(line);
    if (head) {
      flushCaps(step);
      step = Number(head[1]);
    } else if (line === '' || line === 'notes:') {
      flushCaps(step);
      step = 0;
    }
    if (line !== '' || lines[lines.length - 1] !== '') lines.push(line);
  }
  flushCaps(step);
  return lines.join('\n').replace(/\n+$/, '') + '\n';

  function flushCaps(at: number): void {
    const list = caps.get(at);
    if (!list || list.length === 0) return;
    const shown = list.slice(0, 8).map((k) => `${k.model} ${num(k.before, 1)} -> ${num(k.after, 1)} rps (demand ${num(k.demand, 1)})`);
    lines.push(`   capacity: ${shown.join('; ')}${list.length > 8 ? `; and ${list.length - 8} more` : ''}`);
    caps.delete(at);
  }
}
