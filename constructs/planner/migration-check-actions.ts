/**
 * Each step of a migration replayed by `checkMigration`, action by action, in the checker's own world
 * (`migration-check-world.ts`): what is wrong with each action (a server started where no slice is free, traffic
 * routed to a server that does not serve the model, a node re-cut or removed while servers run on it), every model's
 * capacity after it against what the model must keep, and the capacities the step states.
 */
import { findInstanceType } from '../catalog';
import { COLD_ROUTE, type MigrationAction, type MigrationNode, type MigrationServer, type MigrationStep } from './migration-types';
import {
  TOL,
  cachesOf,
  capacity,
  entry,
  fmt,
  floorOf,
  layoutKey,
  legalLayout,
  slotOf,
  sortedJoin,
  toCServer,
  type Replay,
} from './migration-check-world';

const where = (step: number, kind: string, i: number, a: MigrationAction): string => {
  const node = 'node' in a && typeof a.node === 'string' ? ` ${a.node}` : '';
  const model = a.kind === 'route' ? ` ${a.model}` : '';
  const server = a.kind === 'stop-server' ? ` ${a.server}` : a.kind === 'start-server' ? ` ${a.server.id}` : '';
  return `step ${step} (${kind}) action ${i + 1} (${a.kind}${node}${model}${server})`;
};

/** Replays one step: each action's problems, every model's capacity after it, and the capacities the step states. */
export function replayStep(r: Replay, step: MigrationStep, sn: number, out: string[]): void {
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
    if (!c) {
      out.push(`step ${sn}: states no capacity for ${m}`);
      continue;
    }
    if (Math.abs(c.before - before.get(m)!) > TOL * Math.max(1, c.before) || Math.abs(c.after - after) > TOL * Math.max(1, c.after)) {
      out.push(
        `step ${sn}: states ${m} goes from ${fmt(c.before)} to ${fmt(c.after)} rps, ` +
          `the replay gives ${fmt(before.get(m)!)} to ${fmt(after)}`,
      );
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
        out.push(
          `${at}: ${m} sends ${fmt(w.weight * r.need.get(m)!)} rps to ${s.id}, ` +
            `more than its share ${fmt(s.shares.get(m) ?? 0)} x ${fmt(e.thr)} rps serves`,
        );
      }
    }
  }
}

/** Applies one action to the replay world; returns what is wrong with it. */
function apply(r: Replay, a: MigrationAction): string[] {
  switch (a.kind) {
    case 'add-node':
      return addNode(r, a.node);
    case 'cordon':
    case 'uncordon': {
      const n = r.nodes.get(a.node);
      if (!n) return [`no node ${a.node}`];
      n.cordoned = a.kind === 'cordon';
      return [];
    }
    case 'start-server':
      return startServer(r, a.server);
    case 'route':
      return route(r, a);
    case 'stop-server': {
      const p: string[] = [];
      if (!r.servers.get(a.server)) return [`no server ${a.server}`];
      for (const [m, ws] of r.routes) if (ws.some((w) => w.server === a.server)) p.push(`${m} still sends traffic to ${a.server}`);
      r.servers.delete(a.server);
      return p;
    }
    case 'recut':
      return recut(r, a);
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
  r.nodes.set(n.name, {
    name: n.name,
    instanceType: n.instanceType,
    gpuType: n.gpuType,
    migConfig: n.migConfig,
    gpus: n.gpus.map((d) => [...d]),
    cordoned: false,
    temporary: n.temporary === true,
  });
  r.gpus += n.gpus.length;
  return p;
}

/**
 * start-server: a new id, a free slice of its profile on a ready uncordoned node, entries that meet the share, latency
 * and memory rules.
 */
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
    if (!spec) {
      p.push(`model ${m.name} is not in the fleet`);
      continue;
    }
    const e = entry(spec, s.gpuType, s.profile, m.batch, m.instances);
    if (!e) {
      p.push(`${m.name} has no entry at batch ${m.batch}, instances ${m.instances} on ${s.gpuType} ${s.profile}`);
      continue;
    }
    c.models.set(m.name, { batch: m.batch, instances: m.instances, thr: e.thr });
    if (!(m.share >= 0 && m.share <= 1)) p.push(`${m.name} has share ${m.share}`);
    shares += m.share;
    lat += e.lat;
    mem += spec.memoryGiB * m.instances;
  }
  if (shares > 1 + 1e-9) p.push(`shares add up to ${fmt(shares)} > 1`);
  for (const m of s.models) {
    const spec = r.specs.get(m.name);
    if (spec && lat > r.fleet.latencyHeadroom * spec.latencySloMs + 1e-9)
      p.push(`${m.name} waits ${fmt(lat)} ms > ${r.fleet.latencyHeadroom} x SLO ${spec.latencySloMs} ms`);
  }
  if (s.models.length > 0 && mem > slot.memoryGiB + 1e-9) p.push(`models need ${fmt(mem)} GiB > ${fmt(slot.memoryGiB)} GiB of the slice`);
  r.servers.set(s.id, c);
  return p;
}

/**
 * route: weights adding up to 1, only to ready servers that serve the model (or the cold route, for a cold model);
 * shares within 1 per server.
 */
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
    r.routes.set(
      a.model,
      a.weights.map((w) => ({ ...w })),
    );
  }
  for (const x of a.shares ?? []) {
    const s = r.servers.get(x.server);
    if (!s || !s.models.has(a.model)) {
      p.push(`share on ${x.server}, which does not serve ${a.model}`);
      continue;
    }
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
