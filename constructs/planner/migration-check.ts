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
 */
import { findGpuType, findInstanceType, findMigProfile, placeProfiles, wholeGpuSliceSize } from '../catalog';
import { throughputFigure } from '../fleet/throughput';
import type { Fleet, ModelSpec } from '../fleet/types';
import { COLD_ROUTE, type Migration, type MigrationAction, type MigrationNode, type MigrationServer, type MigrationStep } from './migration-types';
import type { Plan } from './types';
import { verifyPlan } from './verify-plan';

const TOL = 1e-6;

/** Options the migration was made with (its floors). */
export interface MigrationCheckOptions {
  /** @default 1 */
  readonly floor?: number;
  readonly floors?: Readonly<Record<string, number>>;
}

interface Slot { size: number; fraction: number; memoryGiB: number }

function slotOf(gpuType: string, profile: string): Slot | undefined {
  const gpu = findGpuType(gpuType);
  if (!gpu) return undefined;
  if (profile === 'whole') return { size: wholeGpuSliceSize(gpu), fraction: 1, memoryGiB: gpu.memoryGiB };
  const p = findMigProfile(gpu, profile);
  if (!p || !gpu.mig) return undefined;
  return { size: p.computeSlices, fraction: p.computeSlices / gpu.mig.computeSlices, memoryGiB: p.memoryGiB };
}

/** Throughput and latency of a model at (batch, instances) on a slice: its own entry, or the estimate without entries. */
function entry(m: ModelSpec, gpuType: string, profile: string, batch: number, instances: number): { thr: number; lat: number } | undefined {
  const slot = slotOf(gpuType, profile);
  if (!slot) return undefined;
  const mine = m.profiles.filter((p) => p.gpu === gpuType);
  if (mine.length === 0) {
    const figure = throughputFigure(m, gpuType);
    if (figure === undefined || batch !== 1 || instances !== 1) return undefined;
    const thr = figure * slot.fraction * 0.8;
    return { thr, lat: 1000 / thr };
  }
  const e = mine.find((p) => p.slice === slot.size && p.batch === batch && p.instances === instances);
  return e ? { thr: e.throughput, lat: e.latencyMs } : undefined;
}

/** Per GPU of a plan node: the profiles of its slices (configuration devices, expanded to the instance's GPUs). */
function devicesOfNode(plan: Plan, name: string): string[][] | undefined {
  const n = (plan.nodes ?? []).find((x) => x.name === name);
  if (!n) return undefined;
  const listed = plan.gpus.filter((g) => g.node === name);
  const count = Math.max(findInstanceType(n.instanceType)?.gpuCount ?? 1, listed.length);
  if (n.migConfig === 'all-disabled') return Array.from({ length: count }, () => ['whole']);
  const c = (plan.migConfigs ?? []).find((x) => x.name === n.migConfig);
  if (!c) return undefined;
  return Array.from({ length: c.devices.length === 1 ? count : c.devices.length }, (_, i) => (c.devices.length === 1 ? c.devices[0] : c.devices[i]).map((s) => s.profile));
}

const sortedJoin = (xs: readonly string[]): string => [...xs].sort().join('+');
const layoutKey = (gpus: readonly (readonly string[])[]): string => gpus.map(sortedJoin).sort().join('/');
const contentKey = (s: { profile: string; models: readonly { name: string; batch: number; instances: number }[]; cache?: boolean }): string =>
  `${s.profile}|${s.cache ? 'cache' : s.models.map((m) => `${m.name}:${m.batch}x${m.instances}`).sort().join(',')}`;
const fmt = (x: number): string => String(Number(x.toPrecision(6)));

interface CNode { name: string; instanceType: string; gpuType: string; migConfig: string; gpus: string[][]; cordoned: boolean; temporary: boolean }
interface CServer { id: string; node: string; gpuType: string; profile: string; models: Map<string, { batch: number; instances: number; thr: number }>; shares: Map<string, number>; cache: boolean; temporary: boolean }

type Weights = { server: string; weight: number }[];

/** The world the checker replays the migration in, rebuilt from the running plan, and what it has seen so far. */
interface Replay {
  readonly fleet: Fleet;
  readonly specs: Map<string, ModelSpec>;
  readonly options: MigrationCheckOptions;
  readonly nodes: Map<string, CNode>;
  readonly servers: Map<string, CServer>;
  /** Every server id started so far (ids are never reused). */
  readonly everUsed: Set<string>;
  readonly routes: Map<string, Weights>;
  /** Models cold in either plan: the only ones the cold route may carry. */
  readonly coldModels: Set<string>;
  /** Cache servers the cold route needs to count as capacity. */
  readonly coldNeed: number;
  /** `<configuration>|<instance type>` → its layout, the same in both plans. */
  readonly knownConfigs: Map<string, string>;
  /** Every model of the running plan or the fleet, sorted. */
  readonly allModels: string[];
  /** Per model, the capacity it must keep. */
  readonly need: Map<string, number>;
  gpus: number;
  peak: number;
  recutGpus: number;
}

/** Every violation of the migration's invariant (empty = the sequence is safe and ends at the target). */
export function checkMigration(fleet: Fleet, running: Plan, target: Plan, migration: Migration, options: MigrationCheckOptions = {}): string[] {
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
    fleet, specs, options, nodes, servers, everUsed, routes,
    coldModels: new Set([...(running.cold?.models ?? []), ...(target.cold?.models ?? [])].map((m) => m.name)),
    coldNeed: Math.max(1, Math.min(runCaches, tgtCaches)),
    knownConfigs: new Map(),
    allModels: [...new Set([...runRps.keys(), ...(running.cold?.models ?? []).map((m) => m.name), ...fleet.models.map((m) => m.name)])].sort(),
    need: new Map(),
    gpus, peak: gpus, recutGpus: 0,
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
  if (sum.gpusBefore !== gpusBefore || sum.gpusAfter !== r.gpus || sum.peakGpus !== peak || sum.extraGpus !== peak - Math.max(gpusBefore, r.gpus) || sum.gpusRecut !== recutGpus) {
    out.push(`summary: states GPUs ${sum.gpusBefore} → ${sum.gpusAfter}, peak ${sum.peakGpus}, extra ${sum.extraGpus}, re-cut ${sum.gpusRecut}; the replay gives ${gpusBefore} → ${r.gpus}, peak ${peak}, extra ${peak - Math.max(gpusBefore, r.gpus)}, re-cut ${recutGpus}`);
  }
  if (sum.steps !== migration.steps.length) out.push(`summary: states ${sum.steps} steps, the migration has ${migration.steps.length}`);
  return out;
}

/** The running plan's nodes; the migration's `nodesBefore` must list exactly these. */
function nodesBefore(running: Plan, migration: Migration, out: string[]): Map<string, CNode> {
  const nodes = new Map<string, CNode>();
  for (const n of running.nodes ?? []) {
    const gpus = devicesOfNode(running, n.name);
    if (!gpus) { out.push(`running plan: node ${n.name} has configuration "${n.migConfig}", which it does not list`); continue; }
    nodes.set(n.name, { name: n.name, instanceType: n.instanceType, gpuType: n.gpuType, migConfig: n.migConfig, gpus, cordoned: false, temporary: false });
  }
  const stated = new Map(migration.nodesBefore.map((n) => [n.name, n]));
  for (const n of nodes.values()) {
    const s = stated.get(n.name);
    if (!s || s.migConfig !== n.migConfig || s.instanceType !== n.instanceType || layoutKey(s.gpus) !== layoutKey(n.gpus)) out.push(`nodesBefore: node ${n.name} is not as the running plan has it`);
  }
  if (stated.size !== nodes.size) out.push(`nodesBefore: ${stated.size} node(s), the running plan has ${nodes.size}`);
  return nodes;
}

/** Key of a plan slice's server: node, content and shares. */
const sliceServerKey = (node: string, s: { profile: string; models: readonly { name: string; batch: number; instances: number; share: number }[]; cache?: boolean }): string =>
  `${node}|${contentKey(s)}|${s.models.map((m) => `${m.name}=${m.share}`).sort().join(',')}`;

/** The migration's `serversBefore`, into `servers`; each must run in the running plan, and every server of it be listed. */
function serversBefore(specs: ReadonlyMap<string, ModelSpec>, running: Plan, migration: Migration, servers: Map<string, CServer>, everUsed: Set<string>, out: string[]): void {
  const planSlices = new Map<string, number>();
  for (const g of running.gpus) for (const s of g.slices) if (s.models.length > 0 || s.cache) planSlices.set(sliceServerKey(g.node, s), (planSlices.get(sliceServerKey(g.node, s)) ?? 0) + 1);
  for (const s of migration.serversBefore) {
    const k = sliceServerKey(s.node, s);
    const n = planSlices.get(k) ?? 0;
    if (n === 0) out.push(`serversBefore: ${s.id} on ${s.node} (${s.profile}: ${s.models.map((m) => m.name).join(', ') || 'cache'}) does not run in the running plan`);
    else planSlices.set(k, n - 1);
    servers.set(s.id, toCServer(specs, s));
    everUsed.add(s.id);
  }
  for (const [k, n] of planSlices) if (n > 0) out.push(`serversBefore: a server of the running plan is missing (${k.split('|').slice(0, 3).join(' ')})`);
}

/** Per model, its planned rps per `<node>|<content>` server of a plan. */
function rpsByServer(plan: Plan): Map<string, Map<string, number>> {
  const byModel = new Map<string, Map<string, number>>();
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      for (const m of s.models) byModel.set(m.name, new Map([...(byModel.get(m.name) ?? []), [`${g.node}|${contentKey(s)}`, (byModel.get(m.name)?.get(`${g.node}|${contentKey(s)}`) ?? 0) + m.rps]]));
    }
  }
  return byModel;
}

/** The migration's `routesBefore`, into `routes`; they must split each model's traffic as the running plan does. Returns the running plan's rps by server. */
function routesBefore(running: Plan, migration: Migration, servers: ReadonlyMap<string, CServer>, routes: Map<string, Weights>, out: string[]): Map<string, Map<string, number>> {
  const runRps = rpsByServer(running);
  for (const r of migration.routesBefore) routes.set(r.model, r.weights.map((w) => ({ ...w })));
  for (const m of running.cold?.models ?? []) {
    const ws = routes.get(m.name) ?? [];
    if (ws.length !== 1 || ws[0].server !== COLD_ROUTE) out.push(`routesBefore: ${m.name} is cold in the running plan but is not routed to the cold tier`);
  }
  for (const [m, byServer] of runRps) {
    const total = [...byServer.values()].reduce((a, b) => a + b, 0);
    const ws = routes.get(m) ?? [];
    const got = new Map<string, number>();
    for (const w of ws) {
      const s = servers.get(w.server);
      if (s) got.set(`${s.node}|${serverContent(s)}`, (got.get(`${s.node}|${serverContent(s)}`) ?? 0) + w.weight);
    }
    for (const [k, rps] of byServer) if (total > 0 && Math.abs((got.get(k) ?? 0) - rps / total) > 1e-6) out.push(`routesBefore: ${m} sends ${fmt(got.get(k) ?? 0)} of its traffic to ${k.split('|')[0]}, the running plan ${fmt(rps / total)}`);
  }
  return runRps;
}

const cachesOf = (r: Replay): number => [...r.servers.values()].filter((s) => s.cache).length;
const demandOf = (r: Replay, m: string): number => r.specs.get(m)?.rps ?? 0;
const floorOf = (r: Replay, m: string): number => (r.specs.has(m) ? r.options.floors?.[m] ?? demandOf(r, m) * (r.options.floor ?? 1) : 0);

/** A model's capacity now: Σ over its routes of share × throughput (the cold route: its demand, once enough caches run). */
function capacity(r: Replay, m: string): number {
  let c = 0;
  for (const w of r.routes.get(m) ?? []) {
    if (w.server === COLD_ROUTE) { if (cachesOf(r) >= r.coldNeed) c += demandOf(r, m); continue; }
    const s = r.servers.get(w.server);
    const e = s?.models.get(m);
    if (s && e) c += (s.shares.get(m) ?? 0) * e.thr;
  }
  return c;
}

/** Why a layout is not legal on the GPU type (undefined: it is). */
function legalLayout(gpuType: string, layout: readonly (readonly string[])[]): string | undefined {
  const gpu = findGpuType(gpuType);
  if (!gpu) return `unknown GPU type ${gpuType}`;
  for (const d of layout) {
    if (d.length === 1 && d[0] === 'whole') continue;
    try {
      if (!placeProfiles(gpu, d)) return `${sortedJoin(d)} is no legal MIG layout of ${gpuType}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return undefined;
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
      if (had !== undefined && had !== layoutKey(d)) out.push(`configuration ${n.migConfig}: the plans give it two layouts (${had} and ${layoutKey(d)}): new content needs a new name`);
      knownConfigs.set(k, had ?? layoutKey(d));
    }
  }
  for (const p of [running, target]) for (const n of p.nodes ?? []) if (n.migConfig === 'all-disabled') knownConfigs.set(`${n.migConfig}|${n.instanceType}`, layoutKey(devicesOfNode(p, n.name) ?? []));
}

/** Where an action is, for its problems: `step 3 (shift-traffic) action 2 (route fraud-scorer)`. */
const where = (step: number, kind: string, i: number, a: MigrationAction): string =>
  `step ${step} (${kind}) action ${i + 1} (${a.kind}${'node' in a && typeof a.node === 'string' ? ` ${a.node}` : ''}${a.kind === 'route' ? ` ${a.model}` : ''}${a.kind === 'stop-server' ? ` ${a.server}` : ''}${a.kind === 'start-server' ? ` ${a.server.id}` : ''})`;

/** Replays one step: each action's problems, every model's capacity after it, and the capacities the step states. */
function replayStep(r: Replay, step: MigrationStep, sn: number, out: string[]): void {
  if (step.index !== sn) out.push(`step ${sn}: index ${step.index}, expected ${sn}`);
  const before = new Map(r.allModels.map((m) => [m, capacity(r, m)]));
  step.actions.forEach((a, ai) => {
    const at = where(sn, step.kind, ai, a);
    for (const p of apply(r, a)) out.push(`${at}: ${p}`);
    r.peak = Math.max(r.peak, r.gpus);
    capacityProblems(r, a, at, out);
  });
  const claims = new Map(step.capacity.map((c) => [c.model, c]));
  for (const m of r.allModels) {
    const c = claims.get(m);
    const after = capacity(r, m);
    if (!c) { out.push(`step ${sn}: states no capacity for ${m}`); continue; }
    if (Math.abs(c.before - before.get(m)!) > TOL * Math.max(1, c.before) || Math.abs(c.after - after) > TOL * Math.max(1, c.after)) {
      out.push(`step ${sn}: states ${m} goes from ${fmt(c.before)} to ${fmt(c.after)} rps, the replay gives ${fmt(before.get(m)!)} to ${fmt(after)}`);
    }
  }
}

/** After an action: every model keeps what it must; routes set by the action send no server more of a model than its share serves. */
function capacityProblems(r: Replay, a: MigrationAction, at: string, out: string[]): void {
  const routed = new Set(a.kind === 'route' ? [a.model] : []);
  for (const m of r.allModels) {
    const c = capacity(r, m);
    const req = r.need.get(m)!;
    if (c < req * (1 - TOL) - TOL) out.push(`${at}: ${m} has ${fmt(c)} rps of capacity < ${fmt(req)} rps it must keep`);
    r.need.set(m, Math.min(floorOf(r, m), Math.max(req, c)));
    if (!routed.has(m)) continue;
    for (const w of r.routes.get(m) ?? []) {
      if (w.server === COLD_ROUTE) continue;
      const s = r.servers.get(w.server);
      const e = s?.models.get(m);
      if (s && e && w.weight * r.need.get(m)! > (s.shares.get(m) ?? 0) * e.thr * (1 + TOL) + TOL) {
        out.push(`${at}: ${m} sends ${fmt(w.weight * r.need.get(m)!)} rps to ${s.id}, more than its share ${fmt(s.shares.get(m) ?? 0)} x ${fmt(e.thr)} rps serves`);
      }
    }
  }
}

/** Applies one action to the replay world; returns what is wrong with it. */
function apply(r: Replay, a: MigrationAction): string[] {
  switch (a.kind) {
    case 'add-node': return addNode(r, a.node);
    case 'cordon':
    case 'uncordon': {
      const n = r.nodes.get(a.node);
      if (!n) return [`no node ${a.node}`];
      n.cordoned = a.kind === 'cordon';
      return [];
    }
    case 'start-server': return startServer(r, a.server);
    case 'route': return route(r, a);
    case 'stop-server': {
      const p: string[] = [];
      if (!r.servers.get(a.server)) return [`no server ${a.server}`];
      for (const [m, ws] of r.routes) if (ws.some((w) => w.server === a.server)) p.push(`${m} still sends traffic to ${a.server}`);
      r.servers.delete(a.server);
      return p;
    }
    case 'recut': return recut(r, a);
    case 'remove-node': {
      const p: string[] = [];
      const n = r.nodes.get(a.node);
      if (!n) return [`no node ${a.node}`];
      const still = [...r.servers.values()].filter((s) => s.node === a.node).map((s) => s.id);
      if (still.length > 0) p.push(`servers still run on ${a.node}: ${still.join(', ')}`);
      // an uncordoned node takes new pods: it could not be counted empty
      if (!n.cordoned) p.push(`node ${a.node} is removed without being cordoned`);
      r.gpus -= n.gpus.length;
      r.nodes.delete(a.node);
      return p;
    }
    default:
      return [`unknown action ${(a as { kind: string }).kind}`];
  }
}

/** add-node: a new name, a legal layout of the instance's GPU count, under a configuration name the plans give that layout. */
function addNode(r: Replay, n: MigrationNode): string[] {
  const p: string[] = [];
  if (r.nodes.has(n.name)) return [`node ${n.name} already exists`];
  const bad = legalLayout(n.gpuType, n.gpus);
  if (bad) p.push(bad);
  const count = findInstanceType(n.instanceType)?.gpuCount;
  if (count !== undefined && n.gpus.length !== count) p.push(`${n.instanceType} has ${count} GPUs, the node lists ${n.gpus.length}`);
  const known = r.knownConfigs.get(`${n.migConfig}|${n.instanceType}`);
  if (known === undefined) p.push(`configuration ${n.migConfig} on ${n.instanceType} is in neither plan`);
  else if (known !== layoutKey(n.gpus)) p.push(`configuration ${n.migConfig} has other content in the plans than this node's layout`);
  r.nodes.set(n.name, { name: n.name, instanceType: n.instanceType, gpuType: n.gpuType, migConfig: n.migConfig, gpus: n.gpus.map((d) => [...d]), cordoned: false, temporary: n.temporary === true });
  r.gpus += n.gpus.length;
  return p;
}

/** start-server: a new id, a free slice of its profile on a ready uncordoned node, entries that meet the share, latency and memory rules. */
function startServer(r: Replay, s: MigrationServer): string[] {
  const p: string[] = [];
  if (r.everUsed.has(s.id)) return [`server id ${s.id} is already used`];
  r.everUsed.add(s.id);
  const n = r.nodes.get(s.node);
  if (!n) return [`no node ${s.node}`];
  if (n.cordoned) p.push(`node ${s.node} is cordoned`);
  if (n.gpuType !== s.gpuType) p.push(`node ${s.node} carries ${n.gpuType}, the server wants ${s.gpuType}`);
  const total = n.gpus.reduce((x, d) => x + d.filter((q) => q === s.profile).length, 0);
  const usedHere = [...r.servers.values()].filter((x) => x.node === s.node && x.profile === s.profile).length;
  if (usedHere >= total) p.push(`no free ${s.profile} slice on ${s.node} (${usedHere} of ${total} used)`);
  const slot = slotOf(s.gpuType, s.profile);
  if (!slot) return [...p, `unknown slice ${s.profile} of ${s.gpuType}`];
  if (s.cache && s.models.length > 0) p.push('a cache server carries no models');
  let shares = 0;
  let lat = 0;
  let mem = r.fleet.processOverheadGiB;
  const c = toCServer(r.specs, s);
  for (const m of s.models) {
    const spec = r.specs.get(m.name);
    if (!spec) { p.push(`model ${m.name} is not in the fleet`); continue; }
    const e = entry(spec, s.gpuType, s.profile, m.batch, m.instances);
    if (!e) { p.push(`${m.name} has no entry at batch ${m.batch}, instances ${m.instances} on ${s.gpuType} ${s.profile}`); continue; }
    c.models.set(m.name, { batch: m.batch, instances: m.instances, thr: e.thr });
    if (!(m.share >= 0 && m.share <= 1)) p.push(`${m.name} has share ${m.share}`);
    shares += m.share;
    lat += e.lat;
    mem += spec.memoryGiB * m.instances;
  }
  if (shares > 1 + 1e-9) p.push(`shares add up to ${fmt(shares)} > 1`);
  for (const m of s.models) {
    const spec = r.specs.get(m.name);
    if (spec && lat > r.fleet.latencyHeadroom * spec.latencySloMs + 1e-9) p.push(`${m.name} waits ${fmt(lat)} ms > ${r.fleet.latencyHeadroom} x SLO ${spec.latencySloMs} ms`);
  }
  if (s.models.length > 0 && mem > slot.memoryGiB + 1e-9) p.push(`models need ${fmt(mem)} GiB > ${fmt(slot.memoryGiB)} GiB of the slice`);
  r.servers.set(s.id, c);
  return p;
}

/** route: weights adding up to 1, only to ready servers that serve the model (or the cold route, for a cold model); shares within 1 per server. */
function route(r: Replay, a: Extract<MigrationAction, { kind: 'route' }>): string[] {
  const p: string[] = [];
  if (a.weights.length === 0) {
    if (r.specs.has(a.model)) p.push(`${a.model} is in the fleet and would get no route`);
    r.routes.delete(a.model);
  } else {
    let sum = 0;
    for (const w of a.weights) {
      sum += w.weight;
      if (!(w.weight > 0)) p.push(`weight ${w.weight} for ${w.server}`);
      if (w.server === COLD_ROUTE) {
        if (!r.coldModels.has(a.model)) p.push(`${a.model} is cold in neither plan`);
        if (cachesOf(r) === 0) p.push('no cache server is ready for the cold tier');
        continue;
      }
      const s = r.servers.get(w.server);
      if (!s) p.push(`no ready server ${w.server}`);
      else if (!s.models.has(a.model)) p.push(`server ${w.server} does not serve ${a.model}`);
    }
    if (Math.abs(sum - 1) > 1e-9) p.push(`weights add up to ${fmt(sum)}, expected 1`);
    r.routes.set(a.model, a.weights.map((w) => ({ ...w })));
  }
  for (const x of a.shares ?? []) {
    const s = r.servers.get(x.server);
    if (!s || !s.models.has(a.model)) { p.push(`share on ${x.server}, which does not serve ${a.model}`); continue; }
    s.shares.set(a.model, x.share);
    const total = [...s.shares.values()].reduce((u, v) => u + v, 0);
    if (!(x.share >= 0) || total > 1 + 1e-9) p.push(`shares on ${x.server} add up to ${fmt(total)} > 1`);
  }
  return p;
}

/** recut: an empty cordoned node, to a legal layout that changes, named as the target names it. */
function recut(r: Replay, a: Extract<MigrationAction, { kind: 'recut' }>): string[] {
  const p: string[] = [];
  const n = r.nodes.get(a.node);
  if (!n) return [`no node ${a.node}`];
  if (!n.cordoned) p.push(`node ${a.node} is not cordoned`);
  const still = [...r.servers.values()].filter((s) => s.node === a.node).map((s) => s.id);
  if (still.length > 0) p.push(`servers still run on ${a.node}: ${still.join(', ')}`);
  const bad = legalLayout(n.gpuType, a.gpus);
  if (bad) p.push(bad);
  if (a.gpus.length !== n.gpus.length) p.push(`the node has ${n.gpus.length} GPUs, the re-cut gives ${a.gpus.length} layouts`);
  const changed = a.gpus.filter((d, i) => sortedJoin(d) !== sortedJoin(n.gpus[i] ?? [])).length;
  if (changed === 0 && a.migConfig === n.migConfig) p.push('the layout does not change: no GPU needs re-cutting');
  const known = r.knownConfigs.get(`${a.migConfig}|${n.instanceType}`);
  if (known !== layoutKey(a.gpus)) p.push(`configuration ${a.migConfig} is not the target's for this layout`);
  r.recutGpus += changed;
  n.migConfig = a.migConfig;
  n.gpus = a.gpus.map((d) => [...d]);
  return p;
}

/** End: the nodes are the target's, each with its configuration and layout, none cordoned. */
function endNodeProblems(r: Replay, target: Plan, out: string[]): void {
  const want = new Map<string, CNode>();
  for (const n of target.nodes ?? []) {
    const d = devicesOfNode(target, n.name);
    if (d) want.set(n.name, { name: n.name, instanceType: n.instanceType, gpuType: n.gpuType, migConfig: n.migConfig, gpus: d, cordoned: false, temporary: false });
  }
  for (const n of r.nodes.values()) {
    const w = want.get(n.name);
    if (!w) out.push(`end: node ${n.name} is still there; the target has no such node`);
    else if (w.migConfig !== n.migConfig || w.instanceType !== n.instanceType || layoutKey(w.gpus) !== layoutKey(n.gpus)) out.push(`end: node ${n.name} runs ${n.migConfig}, the target ${w.migConfig}`);
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
    const k = `${s.node}|${serverContent(s)}|${[...s.models.keys()].map((m) => `${m}=${s.shares.get(m)}`).sort().join(',')}`;
    const n = tgtServers.get(k) ?? 0;
    if (n === 0) out.push(`end: server ${s.id} on ${s.node} (${serverContent(s)}) is not in the target${s.temporary ? ' (temporary)' : ''}`);
    else tgtServers.set(k, n - 1);
  }
  for (const [k, n] of tgtServers) if (n > 0) out.push(`end: ${n} server(s) of the target are missing (${k.split('|').slice(0, 3).join(' ')})`);
  return rpsByServer(target);
}

/** End: each model routed as the target splits it (cold ones to the cold route, removed ones nowhere), at its demand. */
function endRouteProblems(r: Replay, target: Plan, tgtRps: ReadonlyMap<string, Map<string, number>>, out: string[]): void {
  const targetCold = new Set((target.cold?.models ?? []).map((m) => m.name));
  for (const m of r.allModels) {
    const ws = r.routes.get(m) ?? [];
    if (!r.specs.has(m)) { if (ws.length > 0) out.push(`end: ${m} left the fleet but still has routes`); continue; }
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
      if (Math.abs((got.get(k) ?? 0) - wantW) > 1e-6) out.push(`end: ${m} sends ${fmt(got.get(k) ?? 0)} of its traffic to ${k.split('|')[0]} (${k.split('|').slice(1).join(' ')}), the target ${fmt(wantW)}`);
    }
    if (capacity(r, m) < demandOf(r, m) * (1 - TOL) - TOL) out.push(`end: ${m} has ${fmt(capacity(r, m))} rps of capacity < its demand ${fmt(demandOf(r, m))}`);
  }
}

/** A migration server as the checker sees it: each model's throughput from its entry looked up in the fleet here. */
function toCServer(specs: ReadonlyMap<string, ModelSpec>, s: MigrationServer): CServer {
  const models = new Map<string, { batch: number; instances: number; thr: number }>();
  for (const m of s.models) {
    const spec = specs.get(m.name);
    const e = spec ? entry(spec, s.gpuType, s.profile, m.batch, m.instances) : undefined;
    models.set(m.name, { batch: m.batch, instances: m.instances, thr: e?.thr ?? 0 });
  }
  return { id: s.id, node: s.node, gpuType: s.gpuType, profile: s.profile, models, shares: new Map(s.models.map((m) => [m.name, m.share])), cache: s.cache === true, temporary: s.temporary === true };
}

function serverContent(s: CServer): string {
  return `${s.profile}|${s.cache ? 'cache' : [...s.models.entries()].map(([n, m]) => `${n}:${m.batch}x${m.instances}`).sort().join(',')}`;
}
