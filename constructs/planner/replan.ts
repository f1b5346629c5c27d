/**
 * `replan(fleet, previous)`: a new plan for a fleet whose demand (or models) changed, starting from the plan
 * that runs. It keeps models, servers and layouts where they are unless moving them pays:
 *
 * 1. **stable** — the running plan repaired: a model whose demand grew first takes free time on the slices it
 *    already runs on, then slices that were free (spare slices, idle GPUs of its nodes: new servers), and only
 *    the rest gets new nodes, planned by `plan()` for that rest alone; a model whose demand fell gives up the
 *    servers it runs alone on while its others carry it, and needs less time on the rest. A server whose content
 *    must change (a model left the fleet, an entry no longer exists) is emptied and its models seated elsewhere.
 *    Then nodes are emptied where the hour saved is worth the models moved (`movedModelPrice`).
 * 2. **fresh** — `plan(fleet)` from scratch, its nodes mapped onto the running ones that keep most servers.
 *
 * The candidate with the least cost per hour + `movedModelPrice` × models moved + `recutGpuPrice` × GPUs re-cut
 * wins (ties: the stable one). An unchanged fleet gets the running plan back as it is.
 */
import { findGpuType } from '../catalog';
import type { Fleet, ModelSpec } from '../fleet/types';
import { baselines, lowerBound } from './bounds';
import { COLD_HIT_RATE, coldEntry } from './cold-tier';
import { diffPlans, type PlanChanges } from './plan-changes';
import { plan as planFleet } from './plan';
import { PlanError } from './plan-error';
import { candidatesOn, configContent, devicesOf, gpusPerInstance, nodePricePerHour, serverKey, sliceFacts } from './placement-entry';
import { foldInPlan } from './replan-merge';
import { mixedTypeFigures } from './type-figures';
import { runningPlanProblems } from './replan-input';
import {
  addResidual, ceil6, cloneState, dissolve, loadState, maxIndex, placementRoom, type IdleLayout, type Residual, seatOnFreeSlices, setRps, sliceFits,
  sliceShare, type WGpu, type WSlice, type WState,
} from './replan-state';
import type { Plan, PlanColdTier, PlanMigConfig, PlanOptions } from './types';
import { withTeamConsumption } from './team-consumption';

/** Options of `replan()`: those of `plan()` and the price of change. */
export interface ReplanOptions extends PlanOptions {
  /**
   * Savings per hour (USD) a re-plan must buy for each model it moves (a model whose traffic goes to a server it
   * did not run on). 0 moves freely, `Infinity` never moves a model to save cost.
   * @default 0.5
   */
  readonly movedModelPrice?: number;
  /** Savings per hour (USD) a re-plan must buy for each GPU it re-cuts in place. @default 1 */
  readonly recutGpuPrice?: number;
  /**
   * How a node gets another configuration: `replace` (a new node with the new layout; Karpenter node pools and
   * managed node groups) or `in-place` (the same node re-cut: cordon, drain, relabel).
   * @default 'replace'
   */
  readonly recut?: 'replace' | 'in-place';
}

/** A candidate a re-plan weighed. */
export interface ReplanCandidate {
  readonly basis: 'stable' | 'fresh';
  readonly costPerHour: number;
  readonly modelsMoved: number;
  readonly gpusRecut: number;
  /** costPerHour + movedModelPrice × modelsMoved + recutGpuPrice × gpusRecut. */
  readonly score: number;
}

/** The result of `replan()`. */
export interface Replan {
  readonly plan: Plan;
  readonly changes: PlanChanges;
  /** `unchanged`: the running plan as it is; `stable`: the running plan repaired; `fresh`: a new plan on the running nodes. */
  readonly basis: 'unchanged' | 'stable' | 'fresh';
  readonly candidates: readonly ReplanCandidate[];
}

export const DEFAULT_MOVED_MODEL_PRICE = 0.5;
export const DEFAULT_RECUT_GPU_PRICE = 1;

function checkOptions(o: ReplanOptions): string[] {
  const out: string[] = [];
  const price = (k: 'movedModelPrice' | 'recutGpuPrice'): void => {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) out.push(`${k}: expected a number >= 0 (USD per hour), got ${String(v)}`);
  };
  price('movedModelPrice');
  price('recutGpuPrice');
  if (o.recut !== undefined && o.recut !== 'replace' && o.recut !== 'in-place') out.push(`recut: expected "replace" or "in-place", got ${JSON.stringify(o.recut)}`);
  return out;
}

/** Re-plans `fleet` from the running plan `previous`; see the module comment. Throws `PlanError` for bad input. */
export function replan(fleet: Fleet, previous: Plan, options: ReplanOptions = {}): Replan {
  const problems = [...checkOptions(options), ...runningPlanProblems(fleet, previous)];
  if (problems.length > 0) throw new PlanError(problems);
  const { movedModelPrice = DEFAULT_MOVED_MODEL_PRICE, recutGpuPrice = DEFAULT_RECUT_GPU_PRICE, recut = 'replace', ...planOptions } = options;
  if (isUnchanged(fleet, previous)) {
    return { plan: previous, changes: diffPlans(previous, previous, fleet), basis: 'unchanged', candidates: [] };
  }
  const fresh = planFleet(fleet, planOptions);
  const score = (p: Plan, c: PlanChanges): number => p.summary.costPerHour + movedModelPrice * c.modelsMoved.length + recutGpuPrice * c.gpusRecut;
  const options2 = { movedModelPrice, planOptions };
  const found: { basis: 'stable' | 'fresh'; plan: Plan; changes: PlanChanges; score: number }[] = [];
  const stable = repair(fleet, previous, fresh, options2);
  if (stable) {
    const changes = diffPlans(previous, stable, fleet);
    found.push({ basis: 'stable', plan: stable, changes, score: score(stable, changes) });
  }
  const mapped = mapOntoRunning(previous, fresh, fleet, recut);
  const mappedChanges = diffPlans(previous, mapped, fleet);
  found.push({ basis: 'fresh', plan: mapped, changes: mappedChanges, score: score(mapped, mappedChanges) });
  let best = found[0];
  for (const f of found.slice(1)) if (f.score < best.score - 1e-9) best = f;
  return {
    plan: best.plan,
    changes: best.changes,
    basis: best.basis,
    candidates: found.map((f) => ({ basis: f.basis, costPerHour: f.plan.summary.costPerHour, modelsMoved: f.changes.modelsMoved.length, gpusRecut: f.changes.gpusRecut, score: Math.round(f.score * 1e4) / 1e4 })),
  };
}

/** Cost per hour of a plan's nodes under the fleet's prices. */
function nodesCost(fleet: Fleet, p: Plan): number {
  return Math.round((p.nodes ?? []).reduce((s, n) => s + nodePricePerHour(fleet, n.gpuType, n.instanceType), 0) * 1e4) / 1e4;
}

/**
 * The running plan still fits the fleet as it is: every model placed with exactly its demand (up to rounding),
 * the same cost, bound and baselines. Feasibility is the caller's `verifyPlan`-free check here: the placements'
 * entries, latency and memory are those `repair` would keep unchanged.
 */
function isUnchanged(fleet: Fleet, previous: Plan): boolean {
  const served = new Map<string, number>();
  for (const g of previous.gpus) for (const s of g.slices) for (const m of s.models) served.set(m.name, (served.get(m.name) ?? 0) + m.rps);
  for (const m of previous.cold?.models ?? []) served.set(m.name, (served.get(m.name) ?? 0) + m.rps);
  if (served.size !== fleet.models.length) return false;
  for (const m of fleet.models) {
    const got = served.get(m.name);
    if (got === undefined || got < m.rps * (1 - 1e-9) - 1e-9 || got > m.rps * (1 + 1e-9) + 1e-5 * (1 + countPlacements(previous, m.name))) return false;
  }
  if (previous.cold && (fleet.coldBelowRps === undefined || previous.cold.belowRps !== fleet.coldBelowRps)) return false;
  if (!previous.cold && fleet.coldBelowRps !== undefined && fleet.models.some((m) => m.rps < fleet.coldBelowRps!)) {
    // the fleet asks for a cold tier the running plan does not have: unchanged only if the plan never had one either way
    return false;
  }
  if (Math.abs(nodesCost(fleet, previous) - previous.summary.costPerHour) > 1e-4) return false;
  try {
    if (Math.abs(Math.round(lowerBound(fleet) * 1e4) / 1e4 - previous.summary.lowerBound) > 1e-9) return false;
    const b = baselines(fleet);
    if (b.dedicated !== previous.summary.baselines.dedicated || b.noMig !== previous.summary.baselines.noMig) return false;
  } catch (e) {
    if (e instanceof PlanError) return false;
    throw e;
  }
  // every placement still runs at an entry that exists, within latency and memory
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const state = loadState(previous, fleet, () => []);
  return state.gpus.every((g) => g.slices.every((s) => s.placements.every((p) => p.throughput > 0 && p.rps <= p.share * p.throughput * (1 + 1e-9) + 1e-9)
    && sliceShare(s) <= 1 + 1e-9 && sliceFits(fleet, g.type, s.profile, s.placements.map((p) => ({ name: p.name, latencyMs: p.latencyMs, memGiB: p.memGiB })))
    && s.placements.every((p) => specs.has(p.name))));
}

function countPlacements(p: Plan, name: string): number {
  return p.gpus.reduce((n, g) => n + g.slices.filter((s) => s.models.some((m) => m.name === name)).length, 0);
}

interface RepairOptions {
  readonly movedModelPrice: number;
  readonly planOptions: PlanOptions;
}

/** The configurations of a plan by name (whole-GPU nodes have none). */
function configsOf(p: Plan): Map<string, PlanMigConfig> {
  return new Map((p.migConfigs ?? []).map((c) => [c.name, c]));
}

/** The running plan's idle GPUs of a node (GPUs its instance has but the plan lists none for), with the layouts they are cut in. */
function idleLayoutsOf(previous: Plan, configs: ReadonlyMap<string, PlanMigConfig>): (nodeName: string) => IdleLayout[] {
  return (nodeName: string): IdleLayout[] => {
    const node = (previous.nodes ?? []).find((n) => n.name === nodeName)!;
    const listed = previous.gpus.filter((g) => g.node === nodeName);
    const spare = gpusPerInstance(node.instanceType) - listed.length;
    if (spare <= 0) return [];
    if (node.migConfig === 'all-disabled') return Array.from({ length: spare }, () => [{ profile: 'whole', start: 0 }]);
    const cfg = configs.get(node.migConfig);
    if (!cfg) return [];
    if (cfg.devices.length === 1) return Array.from({ length: spare }, () => cfg.devices[0]);
    // the configuration's devices that no listed GPU accounts for (by their profiles)
    const key = (d: readonly { profile: string }[]): string => d.map((s) => s.profile).sort().join('+');
    const left = [...cfg.devices];
    for (const g of listed) {
      const i = left.findIndex((d) => key(d) === key(g.slices));
      if (i >= 0) left.splice(i, 1);
    }
    return left.slice(0, spare);
  };
}

/** The running plan repaired for the new fleet (see the module comment); undefined when it cannot be. */
function repair(fleet: Fleet, previous: Plan, fresh: Plan, o: RepairOptions): Plan | undefined {
  const t = o.planOptions.utilizationTarget ?? 1;
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const configs = configsOf(previous);
  const idleOf = idleLayoutsOf(previous, configs);
  const state = loadState(previous, fleet, idleOf);
  const residual: Residual = new Map();
  const offered = new Set(fleet.gpus.map((g) => `${g.type}/${g.mig && findGpuType(g.type)?.mig !== undefined}`));
  const leaving = new Set(state.nodes.filter((n) => !offered.has(`${n.gpuType}/${n.migConfig !== 'all-disabled'}`)).map((n) => n.name));

  const cold = decideCold(fleet, previous);
  const warm = (name: string): boolean => specs.has(name) && !(cold?.names.has(name) ?? false);

  // 1. servers whose content must change are emptied; cache slices go when the cold tier does
  for (const g of state.gpus) {
    for (const s of g.slices) {
      if (s.cache) {
        if (!cold || leaving.has(g.node)) { s.cache = false; s.blocked = true; }
        continue;
      }
      if (s.placements.length === 0) continue;
      if (leaving.has(g.node)) { dissolve(s, residual, warm); continue; }
      const keep = s.placements.filter((p) => warm(p.name));
      if (keep.length === 0) { s.placements = []; s.blocked = true; continue; }
      const fits = keep.length === s.placements.length && keep.every((p) => p.throughput > 0)
        && sliceFits(fleet, g.type, s.profile, keep.map((p) => ({ name: p.name, latencyMs: p.latencyMs, memGiB: p.memGiB })));
      if (!fits) dissolve(s, residual, warm);
    }
  }
  if (cold && !state.gpus.some((g) => g.slices.some((s) => s.cache))) return undefined;

  // 2. each warm model's demand: grow into free time of its slices, or shrink
  const fill = nodeFill(state);
  for (const m of [...fleet.models].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!warm(m.name)) continue;
    const have = placementsOf(state, m.name);
    // what emptied servers carried is part of the demand the model's remaining servers do not cover
    residual.delete(m.name);
    const served = have.reduce((a, x) => a + x.p.rps, 0);
    if (served > m.rps + 1e-9) shrink(have, m, served, fill, t);
    else addResidual(residual, m.name, grow(have, m.rps - served, t));
  }

  // 3. the rest on slices that were free, then on new nodes planned for the rest alone
  seatOnFreeSlices(state, fleet, residual, t, (n) => !leaving.has(n));
  let merged = state;
  if (residual.size > 0) {
    const sub: Fleet = { ...fleet, coldBelowRps: undefined, models: [...residual.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, rps]) => ({ ...specs.get(name)!, rps: ceil6(rps) })) };
    merged = foldInPlan(state, configs, planFleet(sub, o.planOptions), fleet);
  }
  for (const n of leaving) removeNode(merged, n);

  // 4. empty nodes go; then nodes whose hour saved pays for the models moved off them
  for (const n of [...merged.nodes]) if (!merged.gpus.some((g) => g.node === n.name && g.slices.some((s) => s.placements.length > 0 || s.cache))) removeNode(merged, n.name);
  merged = consolidate(merged, fleet, previous, o.movedModelPrice, t);

  return toPlan(merged, configs, fleet, previous, fresh, cold, t);
}

/** Placements of a model (on slices that still serve), with their slices. */
function placementsOf(state: WState, name: string): { g: WGpu; s: WSlice; p: WSlice['placements'][number] }[] {
  const out: { g: WGpu; s: WSlice; p: WSlice['placements'][number] }[] = [];
  for (const g of state.gpus) for (const s of g.slices) for (const p of s.placements) if (p.name === name) out.push({ g, s, p });
  return out;
}

/** Share of a node's compute its servers hold (to prefer emptying the least used nodes). */
function nodeFill(state: WState): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of state.gpus) {
    for (const s of g.slices) {
      const f = sliceFacts(g.type, s.profile)?.fraction ?? 0;
      out.set(g.node, (out.get(g.node) ?? 0) + (s.cache ? f : sliceShare(s) * f));
    }
  }
  return out;
}

/** Demand fell: stop servers the model runs alone on (least used nodes first) while the rest carry it, then scale the rest down. */
function shrink(have: ReturnType<typeof placementsOf>, m: ModelSpec, served: number, fill: Map<string, number>, t: number): void {
  const alone = have.filter((x) => x.s.placements.length === 1)
    .sort((a, b) => (fill.get(a.g.node) ?? 0) - (fill.get(b.g.node) ?? 0) || a.p.rps - b.p.rps || (a.g.id < b.g.id ? -1 : a.g.id > b.g.id ? 1 : a.s.start - b.s.start));
  const stopped = new Set<WSlice>();
  for (const x of alone) {
    if (served - x.p.rps >= m.rps - 1e-9 && have.length - stopped.size > 1) {
      served -= x.p.rps;
      stopped.add(x.s);
      x.s.placements = [];
      x.s.blocked = true;
    }
  }
  const rest = have.filter((x) => !stopped.has(x.s));
  const factor = m.rps / served;
  for (const x of rest) setRps(x.s, x.p, x.p.rps * factor, t);
}

/** Demand grew by `more`: take free time of the model's slices (most room first); returns what is left. */
function grow(have: ReturnType<typeof placementsOf>, more: number, t: number): number {
  const byRoom = have.map((x) => ({ x, room: placementRoom(x.s, x.p, t) - x.p.rps }))
    .sort((a, b) => b.room - a.room || (a.x.g.id < b.x.g.id ? -1 : a.x.g.id > b.x.g.id ? 1 : a.x.s.start - b.x.s.start));
  for (const { x, room } of byRoom) {
    if (more <= 1e-9) break;
    if (room <= 1e-6) continue;
    const before = x.p.rps;
    setRps(x.s, x.p, before + Math.min(room, more), t);
    more -= x.p.rps - before;
  }
  return more > 1e-9 ? more : 0;
}

function removeNode(state: WState, name: string): void {
  state.nodes = state.nodes.filter((n) => n.name !== name);
  state.gpus = state.gpus.filter((g) => g.node !== name);
}

/**
 * Empties nodes (least used first) whose servers fit elsewhere — free time of the same models' other servers,
 * free slices of other nodes — when the node's price per hour is more than `price` × the running models moved.
 */
function consolidate(state: WState, fleet: Fleet, previous: Plan, price: number, t: number): WState {
  const ranFrom = new Map<string, Set<string>>();
  for (const g of previous.gpus) for (const s of g.slices) for (const m of s.models) ranFrom.set(g.node, new Set([...(ranFrom.get(g.node) ?? []), m.name]));
  let current = state;
  const fill = nodeFill(current);
  const order = [...current.nodes].sort((a, b) => (fill.get(a.name) ?? 0) / gpusPerInstance(a.instanceType) - (fill.get(b.name) ?? 0) / gpusPerInstance(b.instanceType) || (a.name < b.name ? -1 : 1));
  for (const node of order) {
    if (current.gpus.some((g) => g.node === node.name && g.slices.some((s) => s.cache))) continue;
    const saving = nodePricePerHour(fleet, node.gpuType, node.instanceType);
    const onNode = new Set(current.gpus.filter((g) => g.node === node.name).flatMap((g) => g.slices.flatMap((s) => s.placements.map((p) => p.name))));
    const moved = [...onNode].filter((m) => ranFrom.get(node.name)?.has(m)).length;
    if (saving <= price * moved + 1e-9) continue;
    const trial = cloneState(current);
    const res: Residual = new Map();
    for (const g of trial.gpus) if (g.node === node.name) for (const s of g.slices) { for (const p of s.placements) addResidual(res, p.name, p.rps); s.placements = []; }
    removeNode(trial, node.name);
    for (const [name, rps] of [...res]) {
      const left = grow(placementsOf(trial, name), rps, t);
      if (left > 0) res.set(name, left);
      else res.delete(name);
    }
    seatOnFreeSlices(trial, fleet, res, t);
    if (res.size === 0) current = trial;
  }
  return current;
}

interface ColdDecision {
  readonly names: Set<string>;
  readonly cacheGiB: number;
  /** Per cold model, the entry it runs at on the cache slices (`coldEntry` on the first cache slice). */
  readonly entries: ReadonlyMap<string, { readonly batch: number; readonly instances: number }>;
}

/**
 * The cold tier of the new plan: the running one's cache slices keep serving the models still below
 * `coldBelowRps` that were cold (or are new), as many as the slices' time and memory allow (the busiest go warm
 * first). Undefined without a cold tier.
 */
function decideCold(fleet: Fleet, previous: Plan): ColdDecision | undefined {
  const below = fleet.coldBelowRps;
  if (!previous.cold || below === undefined) return undefined;
  const warmBefore = new Set(previous.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name))));
  const wasCold = new Set(previous.cold.models.map((m) => m.name));
  const caches = previous.gpus.flatMap((g) => g.slices.filter((s) => s.cache).map((s) => ({ gpuType: g.type, profile: s.profile })));
  if (caches.length === 0) return undefined;
  let cands = fleet.models.filter((m) => m.rps < below && (wasCold.has(m.name) || !warmBefore.has(m.name)))
    .sort((a, b) => b.rps - a.rps || (a.name < b.name ? -1 : 1));
  const room = caches.reduce((s, c) => s + (sliceFacts(c.gpuType, c.profile)?.memoryGiB ?? 0) - fleet.processOverheadGiB, 0);
  const sizing = (list: ModelSpec[]): number | undefined => {
    let time = 0;
    for (const m of list) {
      let thr = Infinity;
      for (const c of caches) thr = Math.min(thr, coldEntry(candidatesOn(fleet, m, c.gpuType, c.profile))?.throughput ?? 0);
      if (!(thr > 0)) return undefined;
      time += m.rps / thr;
    }
    if (time > caches.length + 1e-9) return undefined;
    const total = list.reduce((s, m) => s + m.rps, 0);
    let acc = 0;
    let gib = 0;
    let hits = 0;
    for (const m of list) {
      if (acc >= COLD_HIT_RATE * total - 1e-9 && hits > 0) break;
      gib += m.memoryGiB;
      acc += m.rps;
      hits++;
    }
    const cacheGiB = Math.round(gib * 1000) / 1000;
    return cacheGiB <= room + 1e-9 ? cacheGiB : undefined;
  };
  while (cands.length > 0) {
    const gib = sizing(cands);
    if (gib !== undefined) {
      const entries = new Map(cands.map((m) => {
        const e = coldEntry(candidatesOn(fleet, m, caches[0].gpuType, caches[0].profile))!;
        return [m.name, { batch: e.batch, instances: e.instances }];
      }));
      return { names: new Set(cands.map((m) => m.name)), cacheGiB: gib, entries };
    }
    cands = cands.slice(1);
  }
  return undefined;
}

/** The plan document of a repaired state; bounds and baselines are the fresh plan's (the same fleet). */
function toPlan(state: WState, configs: Map<string, PlanMigConfig>, fleet: Fleet, previous: Plan, fresh: Plan, cold: ColdDecision | undefined, t: number): Plan {
  const gpus = state.gpus
    .filter((g) => g.slices.some((s) => s.placements.length > 0 || s.cache))
    .map((g) => ({
      id: g.id, type: g.type, node: g.node, mig: g.mig,
      slices: [...g.slices].sort((a, b) => a.start - b.start).map((s) => (s.cache
        ? { profile: s.profile, start: s.start, models: [], cache: true }
        : { profile: s.profile, start: s.start, models: [...s.placements].sort((a, b) => (a.name < b.name ? -1 : 1)).map((p) => ({ name: p.name, batch: p.batch, instances: p.instances, share: p.share, rps: p.rps })) })),
    }));
  const nodes = state.nodes
    .map((n) => ({ name: n.name, instanceType: n.instanceType, gpuType: n.gpuType, migConfig: n.migConfig, gpus: gpus.filter((g) => g.node === n.name).map((g) => g.id) }))
    .filter((n) => n.gpus.length > 0);
  const used = new Map<string, number>();
  for (const n of nodes) if (n.migConfig !== 'all-disabled') used.set(n.migConfig, (used.get(n.migConfig) ?? 0) + 1);
  const migConfigs = [...configs.values()].filter((c) => used.has(c.name)).map((c) => ({ ...c, nodes: used.get(c.name)! }));
  const costPerHour = Math.round(nodes.reduce((s, n) => s + nodePricePerHour(fleet, n.gpuType, n.instanceType), 0) * 1e4) / 1e4;
  const wholeTypes = new Map<string, Set<string>>();
  for (const n of nodes) if (n.migConfig === 'all-disabled') wholeTypes.set(n.gpuType, new Set([...(wholeTypes.get(n.gpuType) ?? []), n.instanceType]));
  const nodeConfigurations = migConfigs.length + [...wholeTypes.values()].reduce((s, x) => s + x.size, 0);
  let coldTier: PlanColdTier | undefined;
  if (cold) {
    const slices = gpus.flatMap((g) => g.slices.filter((s) => s.cache).map((s) => ({ gpu: g.id, profile: s.profile, start: s.start })));
    const withSeats = fresh.cold?.gpusWithSeats ?? previous.cold!.gpusWithSeats;
    coldTier = {
      belowRps: fleet.coldBelowRps!,
      models: fleet.models.filter((m) => cold.names.has(m.name)).map((m) => ({ name: m.name, rps: m.rps, ...cold.entries.get(m.name)! })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      slices,
      hitRateTarget: previous.cold!.hitRateTarget,
      cacheGiB: cold.cacheGiB,
      gpusWithSeats: withSeats,
      gpusSaved: Math.max(0, withSeats - gpus.length),
    };
  }
  const kept = diffKept(previous, gpus);
  const notes = [
    `stable re-plan of the running plan: ${kept.kept} server(s) kept where they run, ${kept.started} new, ${kept.stopped} stopped; `
      + '`gpufleet rebalance` gives the checked migration',
    ...(t < 1 ? [`utilization target ${t}: new shares are planned to at most ${Math.round(t * 1000) / 10}% of measured throughput`] : []),
    ...estimatedNote(fleet, gpus),
  ];
  const idle = nodes.reduce((s, n) => s + Math.max(0, gpusPerInstance(n.instanceType) - n.gpus.length), 0);
  if (idle > 0) notes.push(`${idle} gpu(s) of partly used nodes are idle but paid for (costPerHour counts whole nodes)`);
  // the teams' consumption of the new GPUs, not of the fresh plan's
  return withTeamConsumption(fleet, {
    fleet: fleet.name,
    gpus,
    nodes,
    migConfigs,
    ...(coldTier ? { cold: coldTier } : {}),
    summary: {
      ...fresh.summary, gpuCount: gpus.length, costPerHour,
      // several GPU types: the figures of this plan, not of the fresh one (the cost bounds are the fleet's)
      ...mixedTypeFigures(fleet, { ...fresh.summary, gpus, nodes, ...(coldTier ? { cold: coldTier } : {}), costPerHour }, fresh.summary.tightBound !== undefined),
      nodeConfigurations, notes,
    },
  });
}

function diffKept(previous: Plan, gpus: Plan['gpus']): { kept: number; started: number; stopped: number } {
  const key = (node: string, profile: string, s: Plan['gpus'][number]['slices'][number]): string => `${node}|${serverKey(profile, s)}`;
  const before = new Map<string, number>();
  for (const g of previous.gpus) for (const s of g.slices) if (s.models.length > 0 || s.cache) before.set(key(g.node, s.profile, s), (before.get(key(g.node, s.profile, s)) ?? 0) + 1);
  let kept = 0;
  let started = 0;
  for (const g of gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      const k = key(g.node, s.profile, s);
      const n = before.get(k) ?? 0;
      if (n > 0) { kept++; before.set(k, n - 1); } else started++;
    }
  }
  return { kept, started, stopped: [...before.values()].reduce((a, b) => a + b, 0) };
}

function estimatedNote(fleet: Fleet, gpus: Plan['gpus']): string[] {
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const est = new Set<string>();
  for (const g of gpus) for (const s of g.slices) for (const m of s.models) if (!specs.get(m.name)!.profiles.some((p) => p.gpu === g.type)) est.add(`${m.name} on ${g.type}`);
  if (est.size === 0) return [];
  const names = [...est].sort();
  return [`estimated (no measured profile): ${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}; see docs/planner.md for the rule`];
}

/** The fresh plan's configurations named as running ones of the same content; new content never takes a running name. */
function configNamesOnRunning(previous: Plan, fresh: Plan): { migConfigs: PlanMigConfig[]; configName: Map<string, string> } {
  const running = new Map<string, string>();
  for (const c of previous.migConfigs ?? []) running.set(configContent(c.gpuType, c.instanceType, devicesOf(c, gpusPerInstance(c.instanceType))), c.name);
  const taken2 = new Set((previous.migConfigs ?? []).map((c) => c.name));
  const configName = new Map<string, string>();
  const migConfigs = (fresh.migConfigs ?? []).map((c) => {
    let name = running.get(configContent(c.gpuType, c.instanceType, devicesOf(c, gpusPerInstance(c.instanceType))));
    if (!name) {
      name = c.name;
      for (let k = 2; taken2.has(name); k++) name = `${c.name}-${k}`;
    }
    taken2.add(name);
    configName.set(c.name, name);
    return { ...c, name };
  });
  return { migConfigs, configName };
}

/**
 * A fresh plan with its nodes renamed onto the running ones (same GPU and instance type; with `replace`, also
 * the same configuration) that keep the most servers; other nodes get new names. GPUs of a mapped node take
 * the running node's GPU ids.
 */
export function mapOntoRunning(previous: Plan, fresh: Plan, fleet: Fleet, recut: 'replace' | 'in-place'): Plan {
  const prevNodes = previous.nodes ?? [];
  const freshNodes = fresh.nodes ?? [];
  const serversOn = (p: Plan, node: string): string[] => p.gpus.filter((g) => g.node === node).flatMap((g) => g.slices.filter((s) => s.models.length > 0 || s.cache).map((s) => serverKey(s.profile, s)));
  const contentOf = (p: Plan, n: { gpuType: string; instanceType: string; migConfig: string }): string => {
    const cfg = (p.migConfigs ?? []).find((c) => c.name === n.migConfig);
    return cfg ? configContent(n.gpuType, n.instanceType, devicesOf(cfg, gpusPerInstance(n.instanceType))) : `${n.gpuType}|${n.instanceType}|whole`;
  };
  const pairs: { f: string; p: string; score: number }[] = [];
  for (const f of freshNodes) {
    const fs = serversOn(fresh, f.name);
    for (const p of prevNodes) {
      if (p.gpuType !== f.gpuType || p.instanceType !== f.instanceType) continue;
      const same = contentOf(fresh, f) === contentOf(previous, p);
      if (!same && recut === 'replace') continue;
      const ps = serversOn(previous, p.name);
      const pool = new Map<string, number>();
      for (const k of ps) pool.set(k, (pool.get(k) ?? 0) + 1);
      let common = 0;
      for (const k of fs) { const n = pool.get(k) ?? 0; if (n > 0) { common++; pool.set(k, n - 1); } }
      pairs.push({ f: f.name, p: p.name, score: common * 2 + (same ? 1 : 0) });
    }
  }
  pairs.sort((a, b) => b.score - a.score || (a.f < b.f ? -1 : a.f > b.f ? 1 : a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  const nameOf = new Map<string, string>();
  const taken = new Set<string>();
  for (const x of pairs) {
    if (nameOf.has(x.f) || taken.has(x.p)) continue;
    nameOf.set(x.f, x.p);
    taken.add(x.p);
  }
  let nextNode = maxIndex(prevNodes.map((n) => n.name), 'node-') + 1;
  for (const f of freshNodes) if (!nameOf.has(f.name)) nameOf.set(f.name, `node-${nextNode++}`);
  const prevGpuIds = new Map(prevNodes.map((n) => [n.name, [...n.gpus]]));
  let nextGpu = maxIndex(previous.gpus.map((g) => g.id), 'gpu-') + 1;
  const gpuId = new Map<string, string>();
  for (const f of freshNodes) {
    const reuse = prevGpuIds.get(nameOf.get(f.name)!) ?? [];
    for (const id of f.gpus) gpuId.set(id, reuse.shift() ?? `gpu-${nextGpu++}`);
  }
  const { migConfigs, configName } = configNamesOnRunning(previous, fresh);
  const gpus = fresh.gpus.map((g) => ({ ...g, id: gpuId.get(g.id) ?? g.id, node: nameOf.get(g.node) ?? g.node }));
  const nodes = freshNodes.map((n) => ({ ...n, name: nameOf.get(n.name)!, migConfig: configName.get(n.migConfig) ?? n.migConfig, gpus: n.gpus.map((id) => gpuId.get(id) ?? id) }));
  const cold = fresh.cold ? { ...fresh.cold, slices: fresh.cold.slices.map((s) => ({ ...s, gpu: gpuId.get(s.gpu) ?? s.gpu })) } : undefined;
  const note = `fresh plan mapped onto the running nodes: ${nameOf.size - [...nameOf.values()].filter((v) => !prevNodes.some((p) => p.name === v)).length} of ${freshNodes.length} node(s) kept by name`;
  return withTeamConsumption(fleet, {
    ...fresh,
    gpus,
    nodes,
    migConfigs,
    ...(cold ? { cold } : {}),
    summary: {
      ...fresh.summary, costPerHour: nodesCost(fleet, { ...fresh, nodes }),
      ...mixedTypeFigures(fleet, { ...fresh.summary, gpus, nodes, ...(cold ? { cold } : {}), costPerHour: nodesCost(fleet, { ...fresh, nodes }) }, fresh.summary.tightBound !== undefined),
      notes: [note, ...(fresh.summary.notes ?? [])],
    },
  });
}
