/**
 * An independent checker of a migration (`planMigration`): it rebuilds the world from the running plan on its
 * own, replays every action, and rejects any sequence that breaks the invariant —
 *
 * - every model's capacity (Σ over the servers its traffic is routed to of share × throughput, its entry looked
 *   up in the fleet here) stays at or above what it must keep: its demand or floor, capped by what it had when
 *   the migration started, and never below what it has reached since;
 * - traffic goes only to ready servers that serve the model, and no server gets more of a model than its share
 *   of the slice serves; a server stops only when no traffic is routed to it; a node is re-cut or removed only
 *   when no server runs on it (so no node is drained while it serves a model without a ready replacement);
 * - a server starts only on a free slice of its profile on a ready, uncordoned node, with an entry for each of
 *   its models that meets the time, latency and memory rules; a re-cut changes the layout and gives a legal one;
 * - each step states the capacity it produces; the end state is the target plan (which `verifyPlan` accepts),
 *   node by node, server by server, route by route.
 *
 * It shares no code with the generator or the re-planner: only the catalog, the fleet, the migration's data
 * types and `verifyPlan`, itself independent of the planner.
 *
 * This file builds the world before the first step and checks the end state; the world and its capacities are
 * `migration-check-world.ts`, the replay of each step's actions `migration-check-actions.ts`.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { COLD_ROUTE, type Migration } from './migration-types';
import type { Plan } from './types';
import { verifyPlan } from './verify-plan';
import { replayStep } from './migration-check-actions';
import {
  TOL,
  capacity,
  contentKey,
  demandOf,
  devicesOfNode,
  floorOf,
  fmt,
  layoutKey,
  serverContent,
  toCServer,
  type CNode,
  type CServer,
  type MigrationCheckOptions,
  type Replay,
  type Weights,
} from './migration-check-world';

export type { MigrationCheckOptions } from './migration-check-world';

/** Every violation of the migration's invariant (empty = the sequence is safe and ends at the target). */
export function checkMigration(
  fleet: Fleet,
  running: Plan,
  target: Plan,
  migration: Migration,
  options: MigrationCheckOptions = {},
): string[] {
  const out: string[] = [];
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  for (const p of verifyPlan(fleet, target)) out.push(`target plan: ${p}`);
  if (migration.fleet !== fleet.name) out.push(`migration.fleet: "${migration.fleet}", expected "${fleet.name}"`);

  // 1. the world before the first step, from the running plan
  const nodes = nodesBefore(running, migration, out);
  const servers = new Map<string, CServer>();
  const everUsed = new Set<string>();
  serversBefore(specs, running, migration, servers, everUsed, out);
  const routes = new Map<string, Weights>();
  const runRps = routesBefore(running, migration, servers, routes, out);
  const runCaches = running.gpus.reduce((a, g) => a + g.slices.filter((s) => s.cache).length, 0);
  const tgtCaches = target.gpus.reduce((a, g) => a + g.slices.filter((s) => s.cache).length, 0);
  const gpus = [...nodes.values()].reduce((a, n) => a + n.gpus.length, 0);
  const r: Replay = {
    fleet,
    specs,
    options,
    nodes,
    servers,
    everUsed,
    routes,
    coldModels: new Set([...(running.cold?.models ?? []), ...(target.cold?.models ?? [])].map((m) => m.name)),
    coldNeed: Math.max(1, Math.min(runCaches, tgtCaches)),
    knownConfigs: new Map(),
    allModels: [
      ...new Set([...runRps.keys(), ...(running.cold?.models ?? []).map((m) => m.name), ...fleet.models.map((m) => m.name)]),
    ].sort(),
    need: new Map(),
    gpus,
    peak: gpus,
    recutGpus: 0,
  };
  for (const m of r.allModels) r.need.set(m, Math.min(floorOf(r, m), capacity(r, m)));
  const gpusBefore = gpus;
  learnConfigurations(r, running, target, out);

  // 2. replay
  migration.steps.forEach((step, si) => replayStep(r, step, si + 1, out));

  // 3. the end state is the target
  endNodeProblems(r, target, out);
  const tgtRps = endServerProblems(r, target, out);
  endRouteProblems(r, target, tgtRps, out);
  const sum = migration.summary;
  const { peak, recutGpus } = r;
  if (
    sum.gpusBefore !== gpusBefore ||
    sum.gpusAfter !== r.gpus ||
    sum.peakGpus !== peak ||
    sum.extraGpus !== peak - Math.max(gpusBefore, r.gpus) ||
    sum.gpusRecut !== recutGpus
  ) {
    out.push(
      `summary: states GPUs ${sum.gpusBefore} → ${sum.gpusAfter}, peak ${sum.peakGpus}, ` +
        `extra ${sum.extraGpus}, re-cut ${sum.gpusRecut}; ` +
        `the replay gives ${gpusBefore} → ${r.gpus}, peak ${peak}, extra ${peak - Math.max(gpusBefore, r.gpus)}, re-cut ${recutGpus}`,
    );
  }
  if (sum.steps !== migration.steps.length) out.push(`summary: states ${sum.steps} steps, the migration has ${migration.steps.length}`);
  return out;
}

/** The running plan's nodes; the migration's `nodesBefore` must list exactly these. */
function nodesBefore(running: Plan, migration: Migration, out: string[]): Map<string, CNode> {
  const nodes = new Map<string, CNode>();
  for (const n of running.nodes ?? []) {
    const gpus = devicesOfNode(running, n.name);
    if (!gpus) {
      out.push(`running plan: node ${n.name} has configuration "${n.migConfig}", which it does not list`);
      continue;
    }
    nodes.set(n.name, {
      name: n.name,
      instanceType: n.instanceType,
      gpuType: n.gpuType,
      migConfig: n.migConfig,
      gpus,
      cordoned: false,
      temporary: false,
    });
  }
  const stated = new Map(migration.nodesBefore.map((n) => [n.name, n]));
  for (const n of nodes.values()) {
    const s = stated.get(n.name);
    if (!s || s.migConfig !== n.migConfig || s.instanceType !== n.instanceType || layoutKey(s.gpus) !== layoutKey(n.gpus))
      out.push(`nodesBefore: node ${n.name} is not as the running plan has it`);
  }
  if (stated.size !== nodes.size) out.push(`nodesBefore: ${stated.size} node(s), the running plan has ${nodes.size}`);
  return nodes;
}

/** Key of a plan slice's server: node, content and shares. */
const sliceServerKey = (
  node: string,
  s: { profile: string; models: readonly { name: string; batch: number; instances: number; share: number }[]; cache?: boolean },
): string =>
  `${node}|${contentKey(s)}|${s.models
    .map((m) => `${m.name}=${m.share}`)
    .sort()
    .join(',')}`;

/** The migration's `serversBefore`, into `servers`; each must run in the running plan, and every server of it be listed. */
function serversBefore(
  specs: ReadonlyMap<string, ModelSpec>,
  running: Plan,
  migration: Migration,
  servers: Map<string, CServer>,
  everUsed: Set<string>,
  out: string[],
): void {
  const planSlices = new Map<string, number>();
  for (const g of running.gpus)
    for (const s of g.slices)
      if (s.models.length > 0 || s.cache) planSlices.set(sliceServerKey(g.node, s), (planSlices.get(sliceServerKey(g.node, s)) ?? 0) + 1);
  for (const s of migration.serversBefore) {
    const k = sliceServerKey(s.node, s);
    const n = planSlices.get(k) ?? 0;
    if (n === 0)
      out.push(
        `serversBefore: ${s.id} on ${s.node} (${s.profile}: ${s.models.map((m) => m.name).join(', ') || 'cache'}) ` +
          'does not run in the running plan',
      );
    else planSlices.set(k, n - 1);
    servers.set(s.id, toCServer(specs, s));
    everUsed.add(s.id);
  }
  for (const [k, n] of planSlices)
    if (n > 0) out.push(`serversBefore: a server of the running plan is missing (${k.split('|').slice(0, 3).join(' ')})`);
}

/** Per model, its planned rps per `<node>|<content>` server of a plan. */
function rpsByServer(plan: Plan): Map<string, Map<string, number>> {
  const byModel = new Map<string, Map<string, number>>();
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      for (const m of s.models)
        byModel.set(
          m.name,
          new Map([
            ...(byModel.get(m.name) ?? []),
            [`${g.node}|${contentKey(s)}`, (byModel.get(m.name)?.get(`${g.node}|${contentKey(s)}`) ?? 0) + m.rps],
          ]),
        );
    }
  }
  return byModel;
}

/**
 * The migration's `routesBefore`, into `routes`; they must split each model's traffic as the running plan does.
 * Returns the running plan's rps by server.
 */
function routesBefore(
  running: Plan,
  migration: Migration,
  servers: ReadonlyMap<string, CServer>,
  routes: Map<string, Weights>,
  out: string[],
): Map<string, Map<string, number>> {
  const runRps = rpsByServer(running);
  for (const r of migration.routesBefore)
    routes.set(
      r.model,
      r.weights.map((w) => ({ ...w })),
    );
  for (const m of running.cold?.models ?? []) {
    const ws = routes.get(m.name) ?? [];
    if (ws.length !== 1 || ws[0].server !== COLD_ROUTE)
      out.push(`routesBefore: ${m.name} is cold in the running plan but is not routed to the cold tier`);
  }
  for (const [m, byServer] of runRps) {
    const total = [...byServer.values()].reduce((a, b) => a + b, 0);
    const ws = routes.get(m) ?? [];
    const got = new Map<string, number>();
    for (const w of ws) {
      const s = servers.get(w.server);
      if (s) got.set(`${s.node}|${serverContent(s)}`, (got.get(`${s.node}|${serverContent(s)}`) ?? 0) + w.weight);
    }
    for (const [k, rps] of byServer)
      if (total > 0 && Math.abs((got.get(k) ?? 0) - rps / total) > 1e-6)
        out.push(
          `routesBefore: ${m} sends ${fmt(got.get(k) ?? 0)} of its traffic to ${k.split('|')[0]}, the running plan ${fmt(rps / total)}`,
        );
  }
  return runRps;
}

/** The configurations of both plans and their layouts, into `r.knownConfigs`: a name means one content in both plans. */
function learnConfigurations(r: Replay, running: Plan, target: Plan, out: string[]): void {
  // a layout's name means one content in both plans (a new layout under an old name is a re-cut nobody coordinates)
  const knownConfigs = r.knownConfigs;
  for (const p of [running, target]) {
    for (const n of p.nodes ?? []) {
      const d = devicesOfNode(p, n.name);
      if (!d || n.migConfig === 'all-disabled') continue;
      const k = `${n.migConfig}|${n.instanceType}`;
      const had = knownConfigs.get(k);
      if (had !== undefined && had !== layoutKey(d))
        out.push(`configuration ${n.migConfig}: the plans give it two layouts (${had} and ${layoutKey(d)}): new content needs a new name`);
      knownConfigs.set(k, had ?? layoutKey(d));
    }
  }
  for (const p of [running, target])
    for (const n of p.nodes ?? [])
      if (n.migConfig === 'all-disabled') knownConfigs.set(`${n.migConfig}|${n.instanceType}`, layoutKey(devicesOfNode(p, n.name) ?? []));
}

/** End: the nodes are the target's, each with its configuration and layout, none cordoned. */
function endNodeProblems(r: Replay, target: Plan, out: string[]): void {
  const want = new Map<string, CNode>();
  for (const n of target.nodes ?? []) {
    const d = devicesOfNode(target, n.name);
    if (d)
      want.set(n.name, {
        name: n.name,
        instanceType: n.instanceType,
        gpuType: n.gpuType,
        migConfig: n.migConfig,
        gpus: d,
        cordoned: false,
        temporary: false,
      });
  }
  for (const n of r.nodes.values()) {
    const w = want.get(n.name);
    if (!w) out.push(`end: node ${n.name} is still there; the target has no such node`);
    else if (w.migConfig !== n.migConfig || w.instanceType !== n.instanceType || layoutKey(w.gpus) !== layoutKey(n.gpus))
      out.push(`end: node ${n.name} runs ${n.migConfig}, the target ${w.migConfig}`);
    if (n.cordoned) out.push(`end: node ${n.name} is still cordoned`);
  }
  for (const n of want.keys()) if (!r.nodes.has(n)) out.push(`end: node ${n} of the target is missing`);
}

/** End: the servers are the target's (node, content, shares), none missing, none left over. Returns the target's rps by server. */
function endServerProblems(r: Replay, target: Plan, out: string[]): Map<string, Map<string, number>> {
  const tgtServers = new Map<string, number>();
  for (const g of target.gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      const k = sliceServerKey(g.node, s);
      tgtServers.set(k, (tgtServers.get(k) ?? 0) + 1);
    }
  }
  for (const s of r.servers.values()) {
    const k = `${s.node}|${serverContent(s)}|${[...s.models.keys()]
      .map((m) => `${m}=${s.shares.get(m)}`)
      .sort()
      .join(',')}`;
    const n = tgtServers.get(k) ?? 0;
    if (n === 0)
      out.push(`end: server ${s.id} on ${s.node} (${serverContent(s)}) is not in the target${s.temporary ? ' (temporary)' : ''}`);
    else tgtServers.set(k, n - 1);
  }
  for (const [k, n] of tgtServers)
    if (n > 0) out.push(`end: ${n} server(s) of the target are missing (${k.split('|').slice(0, 3).join(' ')})`);
  return rpsByServer(target);
}

/** End: each model routed as the target splits it (cold ones to the cold route, removed ones nowhere), at its demand. */
function endRouteProblems(r: Replay, target: Plan, tgtRps: ReadonlyMap<string, Map<string, number>>, out: string[]): void {
  const targetCold = new Set((target.cold?.models ?? []).map((m) => m.name));
  for (const m of r.allModels) {
    const ws = r.routes.get(m) ?? [];
    if (!r.specs.has(m)) {
      if (ws.length > 0) out.push(`end: ${m} left the fleet but still has routes`);
      continue;
    }
    if (targetCold.has(m)) {
      if (ws.length !== 1 || ws[0].server !== COLD_ROUTE) out.push(`end: ${m} is cold in the target but is not routed to the cold tier`);
      continue;
    }
    const byServer = tgtRps.get(m) ?? new Map<string, number>();
    const total = [...byServer.values()].reduce((a, b) => a + b, 0);
    const got = new Map<string, number>();
    for (const w of ws) {
      const s = r.servers.get(w.server);
      const k = s ? `${s.node}|${serverContent(s)}` : w.server;
      got.set(k, (got.get(k) ?? 0) + w.weight);
    }
    for (const k of new Set([...byServer.keys(), ...got.keys()])) {
      const wantW = total > 0 ? (byServer.get(k) ?? 0) / total : 0;
      if (Math.abs((got.get(k) ?? 0) - wantW) > 1e-6)
        out.push(
          `end: ${m} sends ${fmt(got.get(k) ?? 0)} of its traffic to ${k.split('|')[0]} ` +
            `(${k.split('|').slice(1).join(' ')}), the target ${fmt(wantW)}`,
        );
    }
    if (capacity(r, m) < demandOf(r, m) * (1 - TOL) - TOL)
      out.push(`end: ${m} has ${fmt(capacity(r, m))} rps of capacity < its demand ${fmt(demandOf(r, m))}`);
  }
}
