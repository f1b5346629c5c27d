/**
 * The steps of a migration, generated round by round until the world is the target (`planMigration`): A. start the
 * target servers that have a slot, B. move each model's traffic to its target servers once they are all ready,
 * C. stop the servers that receive no traffic, D. re-cut or remove the empty nodes; when no round applies, E. start
 * temporary copies of the servers in the way. Each step records every model's capacity before and after it.
 */
import { gpusPerInstance } from './placement-entry';
import type { World } from './migration-world';
import type { Pairing, PlannedServer } from './migration-pairing';
import {
  COLD_ROUTE,
  type MigrationAction,
  type MigrationNode,
  type MigrationServer,
  type MigrationStep,
  type MigrationStepKind,
  type ModelCapacity,
  type RouteWeight,
} from './migration-types';

/** One migration being generated: the world its steps change, the target it moves to, the steps so far. */
export interface MigrationRun extends Pairing {
  /** The requests/s a model keeps at every step: its floor (`MigrationOptions.floors`, else `floor` × its demand). */
  readonly floorOf: (model: string) => number;
  readonly world: World;
  /** Every model of either plan or the fleet, sorted. */
  readonly models: string[];
  readonly demand: Map<string, number>;
  readonly coldAfter: Set<string>;
  /** Cache servers the cold route needs to count as capacity. */
  readonly coldNeed: number;
  /** Target servers by model. */
  readonly tgtOf: Map<string, PlannedServer[]>;
  /** Target servers not started yet. */
  readonly pending: Set<PlannedServer>;
  readonly removedNodes: string[];
  readonly recutDone: Set<string>;
  /** Per model, the capacity it must keep at the next step. */
  readonly need: Map<string, number>;
  readonly steps: MigrationStep[];
  readonly counts: { tempNodes: number; tempServers: number; gpusRecut: number };
}

/** The requests/s a model's routes can serve in the world now. */
export function capacityOf(run: MigrationRun, m: string): number {
  return run.world.capacity(m, run.coldNeed, run.demand.get(m) ?? 0);
}

/** Applies the actions as one step (none: no step), recording each model's capacity before and after and what it must keep. */
export function emitStep(run: MigrationRun, kind: MigrationStepKind, title: string, actions: MigrationAction[], waitFor: string[]): void {
  if (actions.length === 0) return;
  const { models, need, world } = run;
  const before = new Map(models.map((m) => [m, capacityOf(run, m)]));
  for (const a of actions) world.apply(a);
  const capacity: ModelCapacity[] = models.map((m) => {
    const after = capacityOf(run, m);
    const required = need.get(m)!;
    need.set(m, Math.min(run.floorOf(m), Math.max(required, after)));
    return { model: m, before: round(before.get(m)!), after: round(after), required: round(required), demand: run.demand.get(m) ?? 0 };
  });
  run.steps.push({ index: run.steps.length + 1, kind, title, actions, waitFor, capacity });
}

/**
 * A model's route weights in the target (to servers by planned rps, or the cold route); undefined while a target
 * server of it is not running.
 */
function targetWeights(run: MigrationRun, m: string): RouteWeight[] | undefined {
  const { world, worldId } = run;
  if (!run.demand.has(m)) return [];
  if (run.coldAfter.has(m)) return world.caches() >= run.coldNeed ? [{ server: COLD_ROUTE, weight: 1 }] : undefined;
  const ts = run.tgtOf.get(m) ?? [];
  if (ts.some((t) => !world.servers.has(worldId.get(t)!))) return undefined;
  const total = ts.reduce((a, t) => a + t.rps.get(m)!, 0);
  return ts.filter((t) => t.rps.get(m)! > 0).map((t) => ({ server: worldId.get(t)!, weight: t.rps.get(m)! / total }));
}

/** Whether the model is routed as the target routes it, at the target's shares on its servers. */
function routedAsTarget(run: MigrationRun, m: string): boolean {
  const want = targetWeights(run, m);
  if (!want) return false;
  const have = run.world.routes.get(m) ?? [];
  return (
    want.length === have.length &&
    want.every((w) => have.some((h) => h.server === w.server && Math.abs(h.weight - w.weight) < 1e-12)) &&
    (run.tgtOf.get(m) ?? []).every((t) => {
      const id = run.worldId.get(t)!;
      return Math.abs((run.world.shares.get(id)?.get(m) ?? 0) - t.server.models.find((x) => x.name === m)!.share) <= 1e-12;
    })
  );
}

/** Emits steps round by round until the world is the target; when no step applies, copies the servers in the way. */
export function stepUntilTarget(run: MigrationRun): void {
  const limit = 4 * (run.runServers.length + run.tgtServers.length + run.runNodes.length + run.tgtNodes.size) + 20;
  for (let round = 0; ; round++) {
    if (round > limit) throw new Error('planMigration: no safe order found (a bug in gpufleet)');
    const started = startReadyServers(run);
    const shifted = shiftTrafficToTarget(run);
    const stopped = stopIdleServers(run);
    const recut = recutEmptyNodes(run);
    const removed = removeEmptyNodes(run);
    if (atTarget(run)) break;
    if (started || shifted || stopped || recut || removed) continue;
    copyServersInTheWay(run);
  }
}

/** A. Starts the target servers that have a slot on a ready, uncordoned node. */
function startReadyServers(run: MigrationRun): boolean {
  const { world, worldId, pending } = run;
  const starts: MigrationAction[] = [];
  for (const t of [...pending].sort((a, b) => (worldId.get(a)! < worldId.get(b)! ? -1 : 1))) {
    const n = world.nodes.get(t.node);
    if (
      !n ||
      n.cordoned ||
      world.free(t.node, t.server.profile) -
        starts.filter((s) => s.kind === 'start-server' && s.server.node === t.node && s.server.profile === t.server.profile).length <=
        0
    )
      continue;
    starts.push({ kind: 'start-server', server: t.server });
    pending.delete(t);
  }
  emitStep(run, 'start-servers', `start ${starts.length} server(s) and load their models`, starts, waitServers(starts));
  return starts.length > 0;
}

/** The share changes a model's kept servers need to reach the target. */
function shareUpdates(run: MigrationRun, m: string): { server: string; share: number }[] {
  const out: { server: string; share: number }[] = [];
  for (const t of run.tgtOf.get(m) ?? []) {
    const id = run.worldId.get(t)!;
    if (!run.keptIds.has(id)) continue;
    const share = t.server.models.find((x) => x.name === m)!.share;
    if (Math.abs((run.world.shares.get(id)?.get(m) ?? 0) - share) > 1e-12) out.push({ server: id, share });
  }
  return out;
}

/**
 * B. Moves each model's traffic to its target servers once they are all ready, share decreases first; a model whose
 * share increase does not fit its kept server yet waits for a later pass or round.
 */
function shiftTrafficToTarget(run: MigrationRun): boolean {
  const { world } = run;
  const routes: MigrationAction[] = [];
  const cand = run.models.filter((m) => !routedAsTarget(run, m) && targetWeights(run, m) !== undefined);
  const shareNext = new Map<string, Map<string, number>>();
  const sumShare = (id: string): number => {
    const cur = new Map(world.shares.get(id) ?? []);
    for (const [m, v] of shareNext.get(id) ?? []) cur.set(m, v);
    return [...cur.values()].reduce((a, b) => a + b, 0);
  };
  const delta = (m: string): number => shareUpdates(run, m).reduce((a, u) => a + u.share - (world.shares.get(u.server)?.get(m) ?? 0), 0);
  let left = cand;
  for (let pass = 0; pass < 3 && left.length > 0; pass++) {
    const next: string[] = [];
    for (const m of left.sort((a, b) => delta(a) - delta(b) || (a < b ? -1 : 1))) {
      const ups = shareUpdates(run, m);
      const fits = ups.every(
        (u) => sumShare(u.server) - (shareNext.get(u.server)?.get(m) ?? world.shares.get(u.server)?.get(m) ?? 0) + u.share <= 1 + 1e-9,
      );
      if (!fits) {
        next.push(m);
        continue;
      }
      for (const u of ups) shareNext.set(u.server, new Map([...(shareNext.get(u.server) ?? []), [m, u.share]]));
      routes.push({ kind: 'route', model: m, weights: targetWeights(run, m)!, ...(ups.length > 0 ? { shares: ups } : {}) });
    }
    left = next;
  }
  emitStep(run, 'shift-traffic', `route the traffic of ${routes.length} model(s) as the new plan does`, routes, [
    'the routes are accepted by the gateway and the old servers see no new requests',
  ]);
  return routes.length > 0;
}

/** C. Stops the servers that are not in the target and receive no traffic (keeping the cache servers the cold route needs). */
function stopIdleServers(run: MigrationRun): boolean {
  const { world, keptIds, worldId } = run;
  const stops: MigrationAction[] = [];
  let caches = world.caches();
  const coldRouted = [...world.routes.values()].some((ws) => ws.some((w) => w.server === COLD_ROUTE));
  for (const s of [...world.servers.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (keptIds.has(s.id) || [...worldId.values()].includes(s.id) || world.routedTo(s.id)) continue;
    if (s.cache && coldRouted && caches - 1 < run.coldNeed) continue;
    if (s.cache) caches--;
    stops.push({ kind: 'stop-server', server: s.id });
  }
  emitStep(run, 'stop-servers', `stop ${stops.length} server(s) that no longer receive traffic`, stops, [
    'the pods are gone and their slices free',
  ]);
  return stops.length > 0;
}

const emptyNode = (world: World, n: string): boolean => ![...world.servers.values()].some((s) => s.node === n);

/** D. Re-cuts the empty cordoned nodes in place to their target layout, then uncordons them. */
function recutEmptyNodes(run: MigrationRun): boolean {
  const { world, recutDone } = run;
  const recuts = run.recutNodes.filter((n) => !recutDone.has(n) && emptyNode(world, n));
  if (recuts.length === 0) return false;
  const actions: MigrationAction[] = recuts.map((n) => {
    const t = run.tgtNodes.get(n)!;
    const before = world.nodes.get(n)!.node.gpus;
    run.counts.gpusRecut += t.gpus.filter((d, i) => [...d].sort().join('+') !== [...(before[i] ?? [])].sort().join('+')).length;
    return { kind: 'recut', node: n, migConfig: t.migConfig, gpus: t.gpus };
  });
  emitStep(
    run,
    'recut',
    `re-cut ${recuts.length} empty node(s) in place`,
    actions,
    recuts.map((n) => `node ${n}: nvidia.com/mig.config.state=success`),
  );
  emitStep(
    run,
    'uncordon',
    `uncordon the re-cut node(s)`,
    recuts.map((node) => ({ kind: 'uncordon', node })),
    [],
  );
  for (const n of recuts) recutDone.add(n);
  return true;
}

/** D. Removes the empty nodes that leave, and the empty temporary nodes once no temporary server or pending start needs them. */
function removeEmptyNodes(run: MigrationRun): boolean {
  const { world, pending } = run;
  const leave = [...world.nodes.keys()]
    .filter(
      (n) =>
        (run.removedNodes.includes(n) || n.startsWith('temp-')) &&
        emptyNode(world, n) &&
        !(n.startsWith('temp-') && (pending.size > 0 || [...world.servers.values()].some((s) => s.temporary))),
    )
    .sort();
  if (leave.length === 0) return false;
  const cordons: MigrationAction[] = leave.filter((n) => !world.nodes.get(n)!.cordoned).map((node) => ({ kind: 'cordon', node }));
  emitStep(
    run,
    'remove-nodes',
    `remove ${leave.length} empty node(s)`,
    [...cordons, ...leave.map((node): MigrationAction => ({ kind: 'remove-node', node }))],
    leave.map((n) => `node ${n} is gone`),
  );
  return true;
}

/** Whether the world is the target: every server started, node re-cut, leaving node gone, model routed as planned. */
function atTarget(run: MigrationRun): boolean {
  const { world, worldId } = run;
  return (
    run.pending.size === 0 &&
    run.recutNodes.every((n) => run.recutDone.has(n)) &&
    [...world.nodes.keys()].every((n) => run.tgtNodes.has(n)) &&
    run.models.every((m) => routedAsTarget(run, m)) &&
    [...world.servers.keys()].every((id) => [...worldId.values()].includes(id))
  );
}

/**
 * E. Stuck: starts temporary copies of the servers in the way, on free slices elsewhere or a temporary node, and
 * moves their traffic to them.
 */
function copyServersInTheWay(run: MigrationRun): void {
  const { world, pending, recutNodes, recutDone } = run;
  const blockers = blocking(
    world,
    [...pending],
    recutNodes.filter((n) => !recutDone.has(n)),
    new Set([...run.worldId.values()]),
    run.keptIds,
  );
  if (blockers.length === 0) throw new Error('planMigration: no safe order found (a bug in gpufleet)');
  const copies: MigrationAction[] = [];
  const addNodes: MigrationAction[] = [];
  const reserved = new Map<string, number>();
  for (const x of blockers) {
    const host = hostForCopy(run, x, addNodes, reserved);
    reserved.set(`${host}|${x.profile}`, (reserved.get(`${host}|${x.profile}`) ?? 0) + 1);
    run.counts.tempServers++;
    // the copy serves the models still in the fleet, at the shares the original has now
    const models = x.models
      .filter((m) => run.demand.has(m.name))
      .map((m) => ({ ...m, share: world.shares.get(x.id)?.get(m.name) ?? m.share }));
    copies.push({ kind: 'start-server', server: { ...x, models, id: run.uniqueId(`${x.id}~temp`), node: host, temporary: true } });
  }
  emitStep(
    run,
    'add-nodes',
    `add ${addNodes.length} temporary node(s) for the servers in the way`,
    addNodes,
    waitNodes(addNodes.map((a) => (a as { node: MigrationNode }).node)),
  );
  emitStep(run, 'start-servers', `start ${copies.length} temporary copy(ies) of the servers in the way`, copies, waitServers(copies));
  const reroute = routesToCopies(run, blockers, copies);
  emitStep(run, 'shift-traffic', `move the traffic of ${reroute.length} model(s) to the temporary copies`, reroute, [
    'the routes are accepted by the gateway and the old servers see no new requests',
  ]);
}

/**
 * The node a copy of server `x` starts on: an uncordoned node that stays, with a free slot of its profile, else a
 * temporary node added in this step with a slot left, else a new temporary node (pushed to `addNodes`) laid out as
 * the node of its GPU type with the most such slots.
 */
function hostForCopy(run: MigrationRun, x: MigrationServer, addNodes: MigrationAction[], reserved: ReadonlyMap<string, number>): string {
  const { world, pending } = run;
  const avoid = new Set([...run.recutNodes.filter((n) => !run.recutDone.has(n)), ...run.removedNodes]);
  const slot = (node: string): number =>
    world.free(node, x.profile) -
    (reserved.get(`${node}|${x.profile}`) ?? 0) -
    [...pending].filter((t) => t.node === node && t.server.profile === x.profile).length;
  const host = [...world.nodes.values()]
    .filter((n) => !n.cordoned && !avoid.has(n.node.name) && n.node.gpuType === x.gpuType && slot(n.node.name) > 0)
    .map((n) => n.node.name)
    .sort()[0];
  if (host) return host;
  const tempName = addNodes
    .map((a) => (a as { node: MigrationNode }).node)
    .find((n) => n.gpuType === x.gpuType && tempSlots(n, x.profile) - (reserved.get(`${n.name}|${x.profile}`) ?? 0) > 0)?.name;
  if (tempName) return tempName;
  const like = [...world.nodes.values()]
    .map((n) => n.node)
    .concat([...run.tgtNodes.values()])
    .filter((n) => n.gpuType === x.gpuType && tempSlots(n, x.profile) > 0)
    .sort((a, b) => tempSlots(b, x.profile) - tempSlots(a, x.profile) || (a.name < b.name ? -1 : 1))[0];
  const node: MigrationNode = {
    name: `temp-${++run.counts.tempNodes}`,
    instanceType: like.instanceType,
    gpuType: like.gpuType,
    migConfig: like.migConfig,
    gpus: like.gpus,
    temporary: true,
  };
  addNodes.push({ kind: 'add-node', node });
  return node.name;
}

/** Each model routed to a server in the way, routed to its copy instead, weights by capacity (share x throughput). */
function routesToCopies(run: MigrationRun, blockers: readonly MigrationServer[], copies: readonly MigrationAction[]): MigrationAction[] {
  const { world, demand } = run;
  const reroute: MigrationAction[] = [];
  for (const m of run.models) {
    const ws = world.routes.get(m);
    if (!ws || !ws.some((w) => blockers.some((b) => b.id === w.server))) continue;
    const ids = ws.map((w) => {
      const i = blockers.findIndex((b) => b.id === w.server);
      return i < 0 ? w.server : (copies[i] as { server: MigrationServer }).server.id;
    });
    const capOfServer = (id: string): number => {
      if (id === COLD_ROUTE) return demand.get(m) ?? 0;
      const s = world.servers.get(id)!;
      return (world.shares.get(id)?.get(m) ?? 0) * world.thr(m, s);
    };
    const total = ids.reduce((a, id) => a + capOfServer(id), 0);
    const weights =
      total > 0
        ? ids.map((id) => ({ server: id, weight: capOfServer(id) / total })).filter((w) => w.weight > 0)
        : ids.map((id) => ({ server: id, weight: 1 / ids.length }));
    reroute.push({ kind: 'route', model: m, weights });
  }
  return reroute;
}

/** Slices of a profile a node of this layout offers. */
function tempSlots(n: MigrationNode, profile: string): number {
  return n.gpus.reduce((a, d) => a + d.filter((p) => p === profile).length, 0);
}

/**
 * The running servers in the way: on a node still to be re-cut (the first such node only: one at a time), or
 * holding a slot of a profile a pending target server needs on its node.
 */
function blocking(
  world: World,
  pending: PlannedServer[],
  recut: string[],
  targetIds: Set<string>,
  keptIds: Set<string>,
): MigrationServer[] {
  const out = new Map<string, MigrationServer>();
  const movable = (s: MigrationServer): boolean => !keptIds.has(s.id) && !s.temporary;
  const first = recut.sort()[0];
  if (first) for (const s of world.servers.values()) if (s.node === first && movable(s)) out.set(s.id, s);
  for (const t of pending) {
    if (world.nodes.get(t.node)?.cordoned) continue;
    const deficit =
      pending.filter((p) => p.node === t.node && p.server.profile === t.server.profile).length - world.free(t.node, t.server.profile);
    if (deficit <= 0) continue;
    const there = [...world.servers.values()]
      .filter((s) => s.node === t.node && s.profile === t.server.profile && movable(s) && !targetIds.has(s.id))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const s of there.slice(0, deficit)) out.set(s.id, s);
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function waitNodes(nodes: readonly MigrationNode[]): string[] {
  return nodes.map((n) =>
    n.migConfig === 'all-disabled'
      ? `node ${n.name} is Ready and advertises ${gpuCount(n)} nvidia.com/gpu`
      : `node ${n.name} is Ready, nvidia.com/mig.config=${n.migConfig} and nvidia.com/mig.config.state=success`,
  );
}

function gpuCount(n: MigrationNode): number {
  return n.gpus.length || gpusPerInstance(n.instanceType);
}

function waitServers(actions: readonly MigrationAction[]): string[] {
  return actions.flatMap((a) => {
    if (a.kind !== 'start-server') return [];
    const loaded = a.server.cache ? ' (cache: no model loaded at start)' : `: ${a.server.models.map((m) => m.name).join(', ')} loaded`;
    return [`server ${a.server.id} on ${a.server.node} (${a.server.profile}) is ready${loaded}`];
  });
}
