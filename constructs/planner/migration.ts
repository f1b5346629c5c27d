/**
 * `planMigration(fleet, running, target)`: the ordered steps from the plan that runs to a new one (from
 * `replan`, whose node names mean the same machines), such that every model keeps its demand (or a floor) at
 * every step. New capacity comes first — nodes, then servers, ready before any traffic moves to them — then each
 * model's traffic moves at once to its new servers, and only servers that receive no traffic stop; a node is
 * re-cut or removed only once no server runs on it. Where a server must stop before its replacement can start
 * (its slice is needed, or its node is re-cut), a temporary copy of it starts elsewhere first — on a free slice,
 * else on a temporary node — and stops once its models reach their new servers.
 *
 * The result is checked by `checkMigration`, which shares no code with this generator.
 */
import type { Fleet } from '../fleet/types';
import { matchServers } from './plan-changes';
import { entryFor, gpusPerInstance, nodeDevices, serverKey } from './placement-entry';
import {
  COLD_ROUTE, type Migration, type MigrationAction, type MigrationNode, type MigrationServer, type MigrationStep,
  type MigrationStepKind, type ModelCapacity, type RouteWeight,
} from './migration-types';
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

interface PlannedServer { node: string; key: string; server: MigrationServer; rps: Map<string, number> }

/** Servers of a plan: one per slice that serves models, or cache slice; ids `<gpu>@<start>`. */
function planServers(plan: Plan, idOf: (gpu: string, start: number) => string): PlannedServer[] {
  const out: PlannedServer[] = [];
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      const models = [...s.models].sort((a, b) => (a.name < b.name ? -1 : 1)).map((m) => ({ name: m.name, batch: m.batch, instances: m.instances, share: m.share }));
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

function planNodes(plan: Plan): MigrationNode[] {
  return (plan.nodes ?? []).map((n) => ({ name: n.name, instanceType: n.instanceType, gpuType: n.gpuType, migConfig: n.migConfig, gpus: nodeDevices(plan, n) }));
}

const sameLayout = (a: MigrationNode, b: MigrationNode): boolean =>
  a.migConfig === b.migConfig && a.instanceType === b.instanceType
  && JSON.stringify(a.gpus.map((d) => [...d].sort())) === JSON.stringify(b.gpus.map((d) => [...d].sort()));

function checkOptions(fleet: Fleet, o: MigrationOptions): string[] {
  const out: string[] = [];
  if (o.floor !== undefined && !(typeof o.floor === 'number' && o.floor > 0 && o.floor <= 1)) out.push(`floor: expected a number > 0 and <= 1, got ${String(o.floor)}`);
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  for (const [name, v] of Object.entries(o.floors ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const m = specs.get(name);
    if (!m) out.push(`floors.${name}: not a model of fleet ${fleet.name}`);
    else if (!(typeof v === 'number' && v >= 0 && v <= m.rps)) out.push(`floors.${name}: expected a number >= 0 and <= its demand ${m.rps}, got ${String(v)}`);
  }
  return out;
}

/** The requests/s a model keeps at every step (its floor). */
export function floorOf(fleet: Fleet, o: MigrationOptions, model: string): number {
  const spec = fleet.models.find((m) => m.name === model);
  if (!spec) return 0;
  return o.floors?.[model] ?? spec.rps * (o.floor ?? 1);
}

class World {
  readonly nodes = new Map<string, { node: MigrationNode; cordoned: boolean }>();
  readonly servers = new Map<string, MigrationServer>();
  readonly routes = new Map<string, RouteWeight[]>();
  readonly shares = new Map<string, Map<string, number>>();
  gpus = 0;
  peak = 0;

  constructor(private readonly fleet: Fleet) {}

  private readonly thrCache = new Map<string, number>();
  thr(model: string, s: MigrationServer): number {
    const k = `${model}|${s.id}`;
    let v = this.thrCache.get(k);
    if (v === undefined) {
      const spec = this.fleet.models.find((m) => m.name === model);
      const sm = s.models.find((m) => m.name === model);
      v = spec && sm ? entryFor(spec, s.gpuType, s.profile, sm.batch, sm.instances)?.throughput ?? 0 : 0;
      this.thrCache.set(k, v);
    }
    return v;
  }

  caches(): number {
    return [...this.servers.values()].filter((s) => s.cache).length;
  }

  capacity(model: string, coldNeed: number, demand: number): number {
    let c = 0;
    for (const w of this.routes.get(model) ?? []) {
      if (w.server === COLD_ROUTE) { c += this.caches() >= coldNeed ? demand : 0; continue; }
      const s = this.servers.get(w.server);
      if (s) c += (this.shares.get(s.id)?.get(model) ?? 0) * this.thr(model, s);
    }
    return c;
  }

  free(node: string, profile: string): number {
    const n = this.nodes.get(node);
    if (!n) return 0;
    const total = n.node.gpus.reduce((a, d) => a + d.filter((p) => p === profile).length, 0);
    const used = [...this.servers.values()].filter((s) => s.node === node && s.profile === profile).length;
    return total - used;
  }

  apply(a: MigrationAction): void {
    switch (a.kind) {
      case 'add-node': this.nodes.set(a.node.name, { node: a.node, cordoned: false }); this.gpus += a.node.gpus.length; break;
      case 'cordon': this.nodes.get(a.node)!.cordoned = true; break;
      case 'uncordon': this.nodes.get(a.node)!.cordoned = false; break;
      case 'start-server':
        this.servers.set(a.server.id, a.server);
        this.shares.set(a.server.id, new Map(a.server.models.map((m) => [m.name, m.share])));
        break;
      case 'route':
        if (a.weights.length === 0) this.routes.delete(a.model);
        else this.routes.set(a.model, [...a.weights]);
        for (const x of a.shares ?? []) this.shares.get(x.server)!.set(a.model, x.share);
        break;
      case 'stop-server': this.servers.delete(a.server); this.shares.delete(a.server); break;
      case 'recut': { const n = this.nodes.get(a.node)!; n.node = { ...n.node, migConfig: a.migConfig, gpus: a.gpus }; break; }
      case 'remove-node': this.gpus -= this.nodes.get(a.node)!.node.gpus.length; this.nodes.delete(a.node); break;
    }
    this.peak = Math.max(this.peak, this.gpus);
  }

  routedTo(server: string): boolean {
    for (const ws of this.routes.values()) if (ws.some((w) => w.server === server)) return true;
    return false;
  }
}

/** The migration from `running` to `target` for `fleet`; throws when no safe order is found (a bug). */
export function planMigration(fleet: Fleet, running: Plan, target: Plan, options: MigrationOptions = {}): Migration {
  const problems = checkOptions(fleet, options);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const world = new World(fleet);
  const runNodes = planNodes(running);
  const tgtNodes = new Map(planNodes(target).map((n) => [n.name, n]));
  const used = new Set<string>();
  const runServers = planServers(running, (g, s) => { const id = `${g}@${s}`; used.add(id); return id; });
  const uniqueId = (base: string): string => { let id = base; for (let k = 2; used.has(id); k++) id = `${base}~${k}`; used.add(id); return id; };
  const tgtServers = planServers(target, (g, s) => `${g}@${s}`);
  // a node re-cut in place keeps none of its servers: it must be empty to be re-cut
  const recutNodes = runNodes.filter((n) => tgtNodes.has(n.name) && !sameLayout(n, tgtNodes.get(n.name)!)).map((n) => n.name);
  const onRecut = (s: PlannedServer): boolean => recutNodes.includes(s.node);
  const matched = matchServers(runServers.filter((s) => !onRecut(s)), tgtServers.filter((s) => !onRecut(s)));
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

  for (const n of runNodes) world.apply({ kind: 'add-node', node: n });
  for (const s of runServers) world.apply({ kind: 'start-server', server: s.server });
  const coldBefore = new Set((running.cold?.models ?? []).map((m) => m.name));
  const coldAfter = new Set((target.cold?.models ?? []).map((m) => m.name));
  const models = [...new Set([...runServers.flatMap((s) => [...s.rps.keys()]), ...coldBefore, ...fleet.models.map((m) => m.name)])].sort();
  for (const m of models) {
    const ws = runServers.filter((s) => s.rps.has(m));
    const total = ws.reduce((a, s) => a + s.rps.get(m)!, 0);
    const weights: RouteWeight[] = ws.filter((s) => s.rps.get(m)! > 0).map((s) => ({ server: s.server.id, weight: s.rps.get(m)! / total }));
    if (coldBefore.has(m)) weights.push({ server: COLD_ROUTE, weight: 1 });
    if (weights.length > 0) world.apply({ kind: 'route', model: m, weights });
  }
  world.peak = world.gpus;
  const nodesBefore = runNodes;
  const serversBefore = runServers.map((s) => s.server);
  const routesBefore = models.filter((m) => world.routes.has(m)).map((m) => ({ model: m, weights: world.routes.get(m)! }));
  const gpusBefore = world.gpus;

  const demand = new Map(fleet.models.map((m) => [m.name, m.rps]));
  const runCaches = runServers.filter((s) => s.server.cache).length;
  const tgtCaches = tgtServers.filter((s) => s.server.cache).length;
  const coldNeed = Math.max(1, Math.min(runCaches, tgtCaches));
  const capOf = (m: string): number => world.capacity(m, coldNeed, demand.get(m) ?? 0);
  const capAtStart = new Map(models.map((m) => [m, capOf(m)]));
  const need = new Map(models.map((m) => [m, Math.min(floorOf(fleet, options, m), capAtStart.get(m)!)]));

  const steps: MigrationStep[] = [];
  const emit = (kind: MigrationStepKind, title: string, actions: MigrationAction[], waitFor: string[]): void => {
    if (actions.length === 0) return;
    const before = new Map(models.map((m) => [m, capOf(m)]));
    for (const a of actions) world.apply(a);
    const capacity: ModelCapacity[] = models.map((m) => {
      const after = capOf(m);
      const required = need.get(m)!;
      need.set(m, Math.min(floorOf(fleet, options, m), Math.max(required, after)));
      return { model: m, before: round(before.get(m)!), after: round(after), required: round(required), demand: demand.get(m) ?? 0 };
    });
    steps.push({ index: steps.length + 1, kind, title, actions, waitFor, capacity });
  };

  // target servers by model, final weights
  const pending = new Set(onlyB);
  const tgtOf = new Map<string, PlannedServer[]>();
  for (const t of tgtServers) for (const m of t.rps.keys()) tgtOf.set(m, [...(tgtOf.get(m) ?? []), t]);
  const removedNodes = runNodes.filter((n) => !tgtNodes.has(n.name)).map((n) => n.name);
  const recutDone = new Set<string>();
  let tempNodes = 0;
  let tempServers = 0;
  let gpusRecut = 0;

  emit('cordon', 'cordon the nodes that leave or are re-cut: no new server lands there', [...removedNodes, ...recutNodes].sort().map((node) => ({ kind: 'cordon', node })), []);
  const added = [...tgtNodes.values()].filter((n) => !world.nodes.has(n.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  emit('add-nodes', `add ${added.length} node(s) with their layouts`, added.map((node) => ({ kind: 'add-node', node })), waitNodes(added));

  const isFinal = (m: string, ws: readonly RouteWeight[] | undefined): boolean => {
    const want = finalWeights(m);
    if (!want) return false;
    const have = ws ?? [];
    return want.length === have.length && want.every((w) => have.some((h) => h.server === w.server && Math.abs(h.weight - w.weight) < 1e-12))
      && (tgtOf.get(m) ?? []).every((t) => {
        const id = worldId.get(t)!;
        return Math.abs((world.shares.get(id)?.get(m) ?? 0) - t.server.models.find((x) => x.name === m)!.share) <= 1e-12;
      });
  };
  function finalWeights(m: string): RouteWeight[] | undefined {
    if (!demand.has(m)) return [];
    if (coldAfter.has(m)) return world.caches() >= coldNeed ? [{ server: COLD_ROUTE, weight: 1 }] : undefined;
    const ts = tgtOf.get(m) ?? [];
    if (ts.some((t) => !world.servers.has(worldId.get(t)!))) return undefined;
    const total = ts.reduce((a, t) => a + t.rps.get(m)!, 0);
    return ts.filter((t) => t.rps.get(m)! > 0).map((t) => ({ server: worldId.get(t)!, weight: t.rps.get(m)! / total }));
  }

  for (let round = 0; ; round++) {
    if (round > 4 * (runServers.length + tgtServers.length + runNodes.length + tgtNodes.size) + 20) {
      throw new Error('planMigration: no safe order found (a bug in gpufleet)');
    }
    let progress = false;
    // A. start target servers that have a slot on a ready, uncordoned node
    const starts: MigrationAction[] = [];
    for (const t of [...pending].sort((a, b) => (worldId.get(a)! < worldId.get(b)! ? -1 : 1))) {
      const n = world.nodes.get(t.node);
      if (!n || n.cordoned || world.free(t.node, t.server.profile) - starts.filter((s) => s.kind === 'start-server' && s.server.node === t.node && s.server.profile === t.server.profile).length <= 0) continue;
      starts.push({ kind: 'start-server', server: t.server });
      pending.delete(t);
    }
    if (starts.length > 0) {
      emit('start-servers', `start ${starts.length} server(s) and load their models`, starts, waitServers(starts));
      progress = true;
    }
    // B. move each model's traffic to its new servers once they are all ready (share decreases first)
    const routes: MigrationAction[] = [];
    const cand = models.filter((m) => !isFinal(m, world.routes.get(m)) && finalWeights(m) !== undefined);
    const shareNext = new Map<string, Map<string, number>>();
    const sumShare = (id: string): number => {
      const cur = new Map(world.shares.get(id) ?? []);
      for (const [m, v] of shareNext.get(id) ?? []) cur.set(m, v);
      return [...cur.values()].reduce((a, b) => a + b, 0);
    };
    const updatesOf = (m: string): { server: string; share: number }[] => {
      const out: { server: string; share: number }[] = [];
      for (const t of tgtOf.get(m) ?? []) {
        const id = worldId.get(t)!;
        if (!keptIds.has(id)) continue;
        const share = t.server.models.find((x) => x.name === m)!.share;
        if (Math.abs((world.shares.get(id)?.get(m) ?? 0) - share) > 1e-12) out.push({ server: id, share });
      }
      return out;
    };
    let left = cand;
    for (let pass = 0; pass < 3 && left.length > 0; pass++) {
      const next: string[] = [];
      for (const m of left.sort((a, b) => delta(a) - delta(b) || (a < b ? -1 : 1))) {
        const ups = updatesOf(m);
        const fits = ups.every((u) => sumShare(u.server) - (shareNext.get(u.server)?.get(m) ?? world.shares.get(u.server)?.get(m) ?? 0) + u.share <= 1 + 1e-9);
        if (!fits) { next.push(m); continue; }
        for (const u of ups) shareNext.set(u.server, new Map([...(shareNext.get(u.server) ?? []), [m, u.share]]));
        routes.push({ kind: 'route', model: m, weights: finalWeights(m)!, ...(ups.length > 0 ? { shares: ups } : {}) });
      }
      left = next;
    }
    function delta(m: string): number {
      return updatesOf(m).reduce((a, u) => a + u.share - (world.shares.get(u.server)?.get(m) ?? 0), 0);
    }
    if (routes.length > 0) {
      emit('shift-traffic', `route the traffic of ${routes.length} model(s) as the new plan does`, routes, ['the routes are accepted by the gateway and the old servers see no new requests']);
      progress = true;
    }
    // C. stop servers that are not in the target and receive no traffic
    const stops: MigrationAction[] = [];
    let caches = world.caches();
    const coldRouted = [...world.routes.values()].some((ws) => ws.some((w) => w.server === COLD_ROUTE));
    for (const s of [...world.servers.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (keptIds.has(s.id) || [...worldId.values()].includes(s.id) || world.routedTo(s.id)) continue;
      if (s.cache && coldRouted && caches - 1 < coldNeed) continue;
      if (s.cache) caches--;
      stops.push({ kind: 'stop-server', server: s.id });
    }
    if (stops.length > 0) {
      emit('stop-servers', `stop ${stops.length} server(s) that no longer receive traffic`, stops, ['the pods are gone and their slices free']);
      progress = true;
    }
    // D. nodes: re-cut the empty cordoned ones, remove the empty leaving ones
    const emptyNode = (n: string): boolean => ![...world.servers.values()].some((s) => s.node === n);
    const recuts = recutNodes.filter((n) => !recutDone.has(n) && emptyNode(n));
    if (recuts.length > 0) {
      const actions: MigrationAction[] = recuts.map((n) => {
        const t = tgtNodes.get(n)!;
        const before = world.nodes.get(n)!.node.gpus;
        gpusRecut += t.gpus.filter((d, i) => [...d].sort().join('+') !== [...(before[i] ?? [])].sort().join('+')).length;
        return { kind: 'recut', node: n, migConfig: t.migConfig, gpus: t.gpus };
      });
      emit('recut', `re-cut ${recuts.length} empty node(s) in place`, actions, recuts.map((n) => `node ${n}: nvidia.com/mig.config.state=success`));
      emit('uncordon', `uncordon the re-cut node(s)`, recuts.map((node) => ({ kind: 'uncordon', node })), []);
      for (const n of recuts) recutDone.add(n);
      progress = true;
    }
    const leave = [...world.nodes.keys()].filter((n) => (removedNodes.includes(n) || n.startsWith('temp-')) && emptyNode(n)
      && !(n.startsWith('temp-') && (pending.size > 0 || [...world.servers.values()].some((s) => s.temporary)))).sort();
    if (leave.length > 0) {
      const cordons: MigrationAction[] = leave.filter((n) => !world.nodes.get(n)!.cordoned).map((node) => ({ kind: 'cordon', node }));
      emit('remove-nodes', `remove ${leave.length} empty node(s)`, [...cordons, ...leave.map((node): MigrationAction => ({ kind: 'remove-node', node }))], leave.map((n) => `node ${n} is gone`));
      progress = true;
    }
    const done = pending.size === 0 && recutNodes.every((n) => recutDone.has(n)) && [...world.nodes.keys()].every((n) => tgtNodes.has(n))
      && models.every((m) => isFinal(m, world.routes.get(m))) && [...world.servers.keys()].every((id) => [...worldId.values()].includes(id));
    if (done) break;
    if (progress) continue;
    // E. stuck: temporary copies of the servers in the way, on free slices elsewhere or a temporary node
    const blockers = blocking(world, [...pending], recutNodes.filter((n) => !recutDone.has(n)), new Set([...worldId.values()]), keptIds);
    if (blockers.length === 0) throw new Error('planMigration: no safe order found (a bug in gpufleet)');
    const copies: MigrationAction[] = [];
    const addNodes: MigrationAction[] = [];
    const reserved = new Map<string, number>();
    for (const x of blockers) {
      const avoid = new Set([...recutNodes.filter((n) => !recutDone.has(n)), ...removedNodes]);
      const slot = (node: string): number => world.free(node, x.profile) - (reserved.get(`${node}|${x.profile}`) ?? 0)
        - [...pending].filter((t) => t.node === node && t.server.profile === x.profile).length;
      let host = [...world.nodes.values()].filter((n) => !n.cordoned && !avoid.has(n.node.name) && n.node.gpuType === x.gpuType && slot(n.node.name) > 0)
        .map((n) => n.node.name).sort()[0];
      if (!host) {
        const tempName = addNodes.map((a) => (a as { node: MigrationNode }).node).find((n) => n.gpuType === x.gpuType && tempSlots(n, x.profile) - (reserved.get(`${n.name}|${x.profile}`) ?? 0) > 0)?.name;
        if (tempName) host = tempName;
        else {
          const like = [...world.nodes.values()].map((n) => n.node).concat([...tgtNodes.values()]).filter((n) => n.gpuType === x.gpuType && tempSlots(n, x.profile) > 0)
            .sort((a, b) => tempSlots(b, x.profile) - tempSlots(a, x.profile) || (a.name < b.name ? -1 : 1))[0];
          const node: MigrationNode = { name: `temp-${++tempNodes}`, instanceType: like.instanceType, gpuType: like.gpuType, migConfig: like.migConfig, gpus: like.gpus, temporary: true };
          addNodes.push({ kind: 'add-node', node });
          host = node.name;
        }
      }
      reserved.set(`${host}|${x.profile}`, (reserved.get(`${host}|${x.profile}`) ?? 0) + 1);
      tempServers++;
      // the copy serves the models still in the fleet, at the shares the original has now
      const models = x.models.filter((m) => demand.has(m.name)).map((m) => ({ ...m, share: world.shares.get(x.id)?.get(m.name) ?? m.share }));
      copies.push({ kind: 'start-server', server: { ...x, models, id: uniqueId(`${x.id}~temp`), node: host, temporary: true } });
    }
    emit('add-nodes', `add ${addNodes.length} temporary node(s) for the servers in the way`, addNodes, waitNodes(addNodes.map((a) => (a as { node: MigrationNode }).node)));
    emit('start-servers', `start ${copies.length} temporary copy(ies) of the servers in the way`, copies, waitServers(copies));
    // each model routed to a server in the way now goes to its copy instead, weights by capacity (share x throughput)
    const reroute: MigrationAction[] = [];
    for (const m of models) {
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
      const weights = total > 0 ? ids.map((id) => ({ server: id, weight: capOfServer(id) / total })).filter((w) => w.weight > 0) : ids.map((id) => ({ server: id, weight: 1 / ids.length }));
      reroute.push({ kind: 'route', model: m, weights });
    }
    emit('shift-traffic', `move the traffic of ${reroute.length} model(s) to the temporary copies`, reroute, ['the routes are accepted by the gateway and the old servers see no new requests']);
  }

  const summary = {
    steps: steps.length,
    modelsMoved: movedModels(steps, serversBefore, demand),
    modelsAdded: fleet.models.filter((m) => !runServers.some((s) => s.rps.has(m.name)) && !coldBefore.has(m.name)).length,
    modelsRemoved: models.filter((m) => !demand.has(m)).length,
    serversStarted: steps.reduce((a, s) => a + s.actions.filter((x) => x.kind === 'start-server').length, 0),
    serversStopped: steps.reduce((a, s) => a + s.actions.filter((x) => x.kind === 'stop-server').length, 0),
    temporaryServers: tempServers,
    nodesAdded: added.length,
    nodesRemoved: removedNodes.length,
    temporaryNodes: tempNodes,
    nodesRecut: recutNodes.length,
    gpusRecut,
    gpusBefore,
    gpusAfter: world.gpus,
    peakGpus: world.peak,
    extraGpus: world.peak - Math.max(gpusBefore, world.gpus),
    ...demandFigures(steps, models.map((m) => ({ m, before: capAtStart.get(m)!, demand: demand.get(m) ?? 0 }))),
  };
  return { fleet: fleet.name, floor: options.floor ?? 1, nodesBefore, serversBefore, routesBefore, steps, summary };
}

/** Slices of a profile a node of this layout offers. */
function tempSlots(n: MigrationNode, profile: string): number {
  return n.gpus.reduce((a, d) => a + d.filter((p) => p === profile).length, 0);
}

/**
 * The running servers in the way: on a node still to be re-cut (the first such node only: one at a time), or
 * holding a slot of a profile a pending target server needs on its node.
 */
function blocking(world: World, pending: PlannedServer[], recut: string[], targetIds: Set<string>, keptIds: Set<string>): MigrationServer[] {
  const out = new Map<string, MigrationServer>();
  const movable = (s: MigrationServer): boolean => !keptIds.has(s.id) && !s.temporary;
  const first = recut.sort()[0];
  if (first) for (const s of world.servers.values()) if (s.node === first && movable(s)) out.set(s.id, s);
  for (const t of pending) {
    if (world.nodes.get(t.node)?.cordoned) continue;
    const deficit = pending.filter((p) => p.node === t.node && p.server.profile === t.server.profile).length - world.free(t.node, t.server.profile);
    if (deficit <= 0) continue;
    const there = [...world.servers.values()].filter((s) => s.node === t.node && s.profile === t.server.profile && movable(s) && !targetIds.has(s.id))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const s of there.slice(0, deficit)) out.set(s.id, s);
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Models still in the fleet whose traffic leaves a running server for a server they did not run on. */
function movedModels(steps: readonly MigrationStep[], before: readonly MigrationServer[], demand: Map<string, number>): number {
  const ranOn = new Map<string, Set<string>>();
  for (const s of before) for (const m of s.models) ranOn.set(m.name, new Set([...(ranOn.get(m.name) ?? []), s.id]));
  const moved = new Set<string>();
  for (const st of steps) {
    for (const a of st.actions) {
      if (a.kind !== 'route' || !demand.has(a.model) || !ranOn.has(a.model)) continue;
      if (a.weights.some((w) => !ranOn.get(a.model)!.has(w.server)) && [...ranOn.get(a.model)!].some((id) => !a.weights.some((w) => w.server === id))) moved.add(a.model);
    }
  }
  return moved.size;
}

function demandFigures(steps: readonly MigrationStep[], start: { m: string; before: number; demand: number }[]): { minHeadroom: number; shortAtStart: number; atDemandFromStep: number } {
  let min = Infinity;
  for (const s of steps) for (const c of s.capacity) if (c.required > 0) min = Math.min(min, c.after / c.required);
  const short = (cap: number, demand: number): boolean => cap < demand * (1 - 1e-6) - 1e-6;
  const shortAtStart = start.filter((x) => short(x.before, x.demand)).length;
  let last = shortAtStart > 0 ? 0 : -1;
  for (const s of steps) if (s.capacity.some((c) => short(c.after, c.demand))) last = s.index;
  return { minHeadroom: Number.isFinite(min) ? round(min) : 1, shortAtStart, atDemandFromStep: last < 0 ? 0 : last + 1 };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function waitNodes(nodes: readonly MigrationNode[]): string[] {
  return nodes.map((n) => (n.migConfig === 'all-disabled'
    ? `node ${n.name} is Ready and advertises ${gpuCount(n)} nvidia.com/gpu`
    : `node ${n.name} is Ready, nvidia.com/mig.config=${n.migConfig} and nvidia.com/mig.config.state=success`));
}

function gpuCount(n: MigrationNode): number {
  return n.gpus.length || gpusPerInstance(n.instanceType);
}

function waitServers(actions: readonly MigrationAction[]): string[] {
  return actions.flatMap((a) => (a.kind === 'start-server'
    ? [`server ${a.server.id} on ${a.server.node} (${a.server.profile}) is ready${a.server.cache ? ' (cache: no model loaded at start)' : `: ${a.server.models.map((m) => m.name).join(', ')} loaded`}`]
    : []));
}
