/**
 * `planMigration(fleet, running, target)`: the ordered steps from the plan that runs to a new one (from
 * `replan`, whose node names mean the same machines), such that every model keeps its demand (or a floor) at
 * every step. New capacity comes first — nodes, then servers, ready before any traffic moves to them — then each
 * model's traffic moves at once to its new servers, and only servers that receive no traffic stop; a node is
 * re-cut or removed only once no server runs on it. Where a server must stop before its replacement can start
 * (its slice is needed, or its node is re-cut), a temporary copy of it starts elsewhere first — on a free slice,
 * else on a temporary node — and stops once its models reach their new servers.
 *
 * The plans are paired in `migration-pairing.ts`, the steps generated round by round in `migration-steps.ts`, on
 * the simulated cluster of `migration-world.ts`. The result is checked by `checkMigration`, which shares no code
 * with this generator.
 */
import type { Fleet } from '../fleet/types';
import { World } from './migration-world';
import { loadRunningPlan, pairServers, type PlannedServer } from './migration-pairing';
import { capacityOf, emitStep, round, stepUntilTarget, waitNodes, type MigrationRun } from './migration-steps';
import type { Migration, MigrationServer, MigrationStep } from './migration-types';
import type { Plan } from './types';

/** Options of `planMigration`. */
export interface MigrationOptions {
  /**
   * Fraction of its demand every model keeps at every step, 0 < floor <= 1: 0.8 lets a model dip to 80% while its
   * traffic moves (fewer temporary servers).
   * @default 1
   */
  readonly floor?: number;
  /** Per model, the requests/s it keeps at every step (at most its demand); overrides `floor` for that model. @default - none */
  readonly floors?: Readonly<Record<string, number>>;
}

function checkOptions(fleet: Fleet, o: MigrationOptions): string[] {
  const out: string[] = [];
  if (o.floor !== undefined && !(typeof o.floor === 'number' && o.floor > 0 && o.floor <= 1))
    out.push(`floor: expected a number > 0 and <= 1, got ${String(o.floor)}`);
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  for (const [name, v] of Object.entries(o.floors ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const m = specs.get(name);
    if (!m) out.push(`floors.${name}: not a model of fleet ${fleet.name}`);
    else if (!(typeof v === 'number' && v >= 0 && v <= m.rps))
      out.push(`floors.${name}: expected a number >= 0 and <= its demand ${m.rps}, got ${String(v)}`);
  }
  return out;
}

/** The requests/s a model keeps at every step (its floor). */
function floorOf(fleet: Fleet, o: MigrationOptions, model: string): number {
  const spec = fleet.models.find((m) => m.name === model);
  if (!spec) return 0;
  return o.floors?.[model] ?? spec.rps * (o.floor ?? 1);
}

/** The migration from `running` to `target` for `fleet`; throws when no safe order is found (a bug). */
export function planMigration(fleet: Fleet, running: Plan, target: Plan, options: MigrationOptions = {}): Migration {
  const problems = checkOptions(fleet, options);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const pairing = pairServers(running, target);
  const { runNodes, runServers, tgtServers, tgtNodes, recutNodes } = pairing;
  const world = new World(fleet);
  const coldBefore = new Set((running.cold?.models ?? []).map((m) => m.name));
  const models = [...new Set([...runServers.flatMap((s) => [...s.rps.keys()]), ...coldBefore, ...fleet.models.map((m) => m.name)])].sort();
  loadRunningPlan(world, runNodes, runServers, models, coldBefore);
  const serversBefore = runServers.map((s) => s.server);
  const routesBefore = models.filter((m) => world.routes.has(m)).map((m) => ({ model: m, weights: world.routes.get(m)! }));
  const gpusBefore = world.gpus;

  const runCaches = runServers.filter((s) => s.server.cache).length;
  const tgtCaches = tgtServers.filter((s) => s.server.cache).length;
  const tgtOf = new Map<string, PlannedServer[]>();
  for (const t of tgtServers) for (const m of t.rps.keys()) tgtOf.set(m, [...(tgtOf.get(m) ?? []), t]);
  const run: MigrationRun = {
    ...pairing,
    world,
    models,
    floorOf: (m) => floorOf(fleet, options, m),
    demand: new Map(fleet.models.map((m) => [m.name, m.rps])),
    coldAfter: new Set((target.cold?.models ?? []).map((m) => m.name)),
    coldNeed: Math.max(1, Math.min(runCaches, tgtCaches)),
    tgtOf,
    pending: new Set(pairing.onlyB),
    removedNodes: runNodes.filter((n) => !tgtNodes.has(n.name)).map((n) => n.name),
    recutDone: new Set(),
    need: new Map(),
    steps: [],
    counts: { tempNodes: 0, tempServers: 0, gpusRecut: 0 },
  };
  const capAtStart = new Map(models.map((m) => [m, capacityOf(run, m)]));
  for (const m of models) run.need.set(m, Math.min(floorOf(fleet, options, m), capAtStart.get(m)!));

  emitStep(
    run,
    'cordon',
    'cordon the nodes that leave or are re-cut: no new server lands there',
    [...run.removedNodes, ...recutNodes].sort().map((node) => ({ kind: 'cordon', node })),
    [],
  );
  const added = [...tgtNodes.values()].filter((n) => !world.nodes.has(n.name)).sort((x, y) => (x.name < y.name ? -1 : 1));
  emitStep(
    run,
    'add-nodes',
    `add ${added.length} node(s) with their layouts`,
    added.map((node) => ({ kind: 'add-node', node })),
    waitNodes(added),
  );
  stepUntilTarget(run);

  const { steps, demand, counts } = run;
  const summary = {
    steps: steps.length,
    modelsMoved: movedModels(steps, serversBefore, demand),
    modelsAdded: fleet.models.filter((m) => !runServers.some((s) => s.rps.has(m.name)) && !coldBefore.has(m.name)).length,
    modelsRemoved: models.filter((m) => !demand.has(m)).length,
    serversStarted: steps.reduce((x, s) => x + s.actions.filter((y) => y.kind === 'start-server').length, 0),
    serversStopped: steps.reduce((x, s) => x + s.actions.filter((y) => y.kind === 'stop-server').length, 0),
    temporaryServers: counts.tempServers,
    nodesAdded: added.length,
    nodesRemoved: run.removedNodes.length,
    temporaryNodes: counts.tempNodes,
    nodesRecut: recutNodes.length,
    gpusRecut: counts.gpusRecut,
    gpusBefore,
    gpusAfter: world.gpus,
    peakGpus: world.peak,
    extraGpus: world.peak - Math.max(gpusBefore, world.gpus),
    ...demandFigures(
      steps,
      models.map((m) => ({ m, before: capAtStart.get(m)!, demand: demand.get(m) ?? 0 })),
    ),
  };
  return { fleet: fleet.name, floor: options.floor ?? 1, nodesBefore: runNodes, serversBefore, routesBefore, steps, summary };
}

/** Models still in the fleet whose traffic leaves a running server for a server they did not run on. */
function movedModels(steps: readonly MigrationStep[], before: readonly MigrationServer[], demand: Map<string, number>): number {
  const ranOn = new Map<string, Set<string>>();
  for (const s of before) for (const m of s.models) ranOn.set(m.name, new Set([...(ranOn.get(m.name) ?? []), s.id]));
  const moved = new Set<string>();
  for (const st of steps) {
    for (const a of st.actions) {
      if (a.kind !== 'route' || !demand.has(a.model) || !ranOn.has(a.model)) continue;
      if (
        a.weights.some((w) => !ranOn.get(a.model)!.has(w.server)) &&
        [...ranOn.get(a.model)!].some((id) => !a.weights.some((w) => w.server === id))
      )
        moved.add(a.model);
    }
  }
  return moved.size;
}

function demandFigures(
  steps: readonly MigrationStep[],
  start: { m: string; before: number; demand: number }[],
): { minHeadroom: number; shortAtStart: number; atDemandFromStep: number } {
  let min = Infinity;
  for (const s of steps) for (const c of s.capacity) if (c.required > 0) min = Math.min(min, c.after / c.required);
  const short = (cap: number, demand: number): boolean => cap < demand * (1 - 1e-6) - 1e-6;
  const shortAtStart = start.filter((x) => short(x.before, x.demand)).length;
  let last = shortAtStart > 0 ? 0 : -1;
  for (const s of steps) if (s.capacity.some((c) => short(c.after, c.demand))) last = s.index;
  return { minHeadroom: Number.isFinite(min) ? round(min) : 1, shortAtStart, atDemandFromStep: last < 0 ? 0 : last + 1 };
}
