/**
 * The running and the target plan as a migration sees them: their nodes and servers (one per slice that serves
 * models, or cache slice), paired so that a server both plans run in the same place keeps its running id, and the
 * world as the running plan leaves it before the first step.
 */
import { matchServers } from './plan-changes';
import { nodeDevices, serverKey } from './placement-entry';
import type { World } from './migration-world';
import { COLD_ROUTE, type MigrationNode, type MigrationServer, type RouteWeight } from './migration-types';
import type { Plan } from './types';

/** A server of a plan: where it runs, its key for pairing, and the rps each of its models serves there. */
export interface PlannedServer {
  node: string;
  key: string;
  server: MigrationServer;
  rps: Map<string, number>;
}

/** Servers of a plan: one per slice that serves models, or cache slice; ids `<gpu>@<start>`. */
export function planServers(plan: Plan, idOf: (gpu: string, start: number) => string): PlannedServer[] {
  const out: PlannedServer[] = [];
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      const models = [...s.models]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((m) => ({ name: m.name, batch: m.batch, instances: m.instances, share: m.share }));
      out.push({
        node: g.node,
        key: serverKey(s.profile, s),
        server: { id: idOf(g.id, s.start), node: g.node, gpuType: g.type, profile: s.profile, models, ...(s.cache ? { cache: true } : {}) },
        rps: new Map(s.models.map((m) => [m.name, m.rps])),
      });
    }
  }
  return out;
}

export function planNodes(plan: Plan): MigrationNode[] {
  return (plan.nodes ?? []).map((n) => ({
    name: n.name,
    instanceType: n.instanceType,
    gpuType: n.gpuType,
    migConfig: n.migConfig,
    gpus: nodeDevices(plan, n),
  }));
}

const sameLayout = (a: MigrationNode, b: MigrationNode): boolean =>
  a.migConfig === b.migConfig &&
  a.instanceType === b.instanceType &&
  JSON.stringify(a.gpus.map((d) => [...d].sort())) === JSON.stringify(b.gpus.map((d) => [...d].sort()));

/** The two plans' nodes and servers, paired: kept servers keep their running id, new ones get a fresh one. */
export interface Pairing {
  readonly runNodes: MigrationNode[];
  readonly tgtNodes: Map<string, MigrationNode>;
  readonly runServers: PlannedServer[];
  readonly tgtServers: PlannedServer[];
  /** Nodes of both plans whose layout changes: re-cut in place once empty. */
  readonly recutNodes: string[];
  /** Target servers that do not run yet. */
  readonly onlyB: PlannedServer[];
  /** Target server → its id in the world (kept servers keep their running id). */
  readonly worldId: Map<PlannedServer, string>;
  /** Running servers the target keeps. */
  readonly keptIds: Set<string>;
  /** A server id not used yet, from `base`. */
  readonly uniqueId: (base: string) => string;
}

/**
 * The nodes and servers of both plans, paired: servers on nodes re-cut in place are never kept (a node must be
 * empty to be re-cut); the others are matched by node and slot.
 */
export function pairServers(running: Plan, target: Plan): Pairing {
  const runNodes = planNodes(running);
  const tgtNodes = new Map(planNodes(target).map((n) => [n.name, n]));
  const used = new Set<string>();
  const runServers = planServers(running, (g, s) => {
    const id = `${g}@${s}`;
    used.add(id);
    return id;
  });
  const uniqueId = (base: string): string => {
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}~${k}`;
    used.add(id);
    return id;
  };
  const tgtServers = planServers(target, (g, s) => `${g}@${s}`);
  // a node re-cut in place keeps none of its servers: it must be empty to be re-cut
  const recutNodes = runNodes.filter((n) => tgtNodes.has(n.name) && !sameLayout(n, tgtNodes.get(n.name)!)).map((n) => n.name);
  const onRecut = (s: PlannedServer): boolean => recutNodes.includes(s.node);
  const matched = matchServers(
    runServers.filter((s) => !onRecut(s)),
    tgtServers.filter((s) => !onRecut(s)),
  );
  const kept = matched.kept;
  const onlyB = [...matched.onlyB, ...tgtServers.filter(onRecut)];
  // target server → world id (kept servers keep their running id)
  const worldId = new Map<PlannedServer, string>();
  for (const [r, t] of kept) worldId.set(t, r.server.id);
  for (const t of onlyB) {
    const id = uniqueId(t.server.id);
    worldId.set(t, id);
    t.server = { ...t.server, id };
  }
  const keptIds = new Set(kept.map(([r]) => r.server.id));
  return { runNodes, tgtNodes, runServers, tgtServers, recutNodes, onlyB, worldId, keptIds, uniqueId };
}

/**
 * The world as the running plan leaves it: its nodes, its servers, each model routed by its planned rps (cold models
 * to the cold route).
 */
export function loadRunningPlan(
  world: World,
  runNodes: readonly MigrationNode[],
  runServers: readonly PlannedServer[],
  models: readonly string[],
  coldBefore: ReadonlySet<string>,
): void {
  for (const n of runNodes) world.apply({ kind: 'add-node', node: n });
  for (const s of runServers) world.apply({ kind: 'start-server', server: s.server });
  for (const m of models) {
    const ws = runServers.filter((s) => s.rps.has(m));
    const total = ws.reduce((a, s) => a + s.rps.get(m)!, 0);
    const weights: RouteWeight[] = ws.filter((s) => s.rps.get(m)! > 0).map((s) => ({ server: s.server.id, weight: s.rps.get(m)! / total }));
    if (coldBefore.has(m)) weights.push({ server: COLD_ROUTE, weight: 1 });
    if (weights.length > 0) world.apply({ kind: 'route', model: m, weights });
  }
  world.peak = world.gpus;
}
