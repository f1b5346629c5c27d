/**
 * The stable candidate of a re-plan: the running plan repaired for the new fleet (see `replan.ts`). Servers whose
 * content must change are emptied; each warm model grows into free time of its slices or shrinks; the rest is seated
 * on slices that were free, then on new nodes planned for the rest alone; then nodes are emptied where the hour saved
 * is worth the models moved.
 */
import { findGpuType } from '../catalog';
import type { Fleet, ModelSpec } from '../fleet/types';
import { plan as planFleet } from './plan';
import { gpusPerInstance, nodePricePerHour, sliceFacts } from './placement-entry';
import { decideCold } from './replan-cold';
import { toPlan } from './replan-document';
import { foldInPlan } from './replan-merge';
import {
  addResidual,
  ceil6,
  cloneState,
  dissolve,
  loadState,
  placementRoom,
  type IdleLayout,
  type Residual,
  seatOnFreeSlices,
  setRps,
  sliceFits,
  sliceShare,
  type WGpu,
  type WSlice,
  type WState,
} from './replan-state';
import type { Plan, PlanMigConfig, PlanOptions } from './types';

export interface RepairOptions {
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
    const key = (d: readonly { profile: string }[]): string =>
      d
        .map((s) => s.profile)
        .sort()
        .join('+');
    const left = [...cfg.devices];
    for (const g of listed) {
      const i = left.findIndex((d) => key(d) === key(g.slices));
      if (i >= 0) left.splice(i, 1);
    }
    return left.slice(0, spare);
  };
}

/** The running plan repaired for the new fleet (see the module comment); undefined when it cannot be. */
export function repair(fleet: Fleet, previous: Plan, fresh: Plan, o: RepairOptions): Plan | undefined {
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
        if (!cold || leaving.has(g.node)) {
          s.cache = false;
          s.blocked = true;
        }
        continue;
      }
      if (s.placements.length === 0) continue;
      if (leaving.has(g.node)) {
        dissolve(s, residual, warm);
        continue;
      }
      const keep = s.placements.filter((p) => warm(p.name));
      if (keep.length === 0) {
        s.placements = [];
        s.blocked = true;
        continue;
      }
      const fits =
        keep.length === s.placements.length &&
        keep.every((p) => p.throughput > 0) &&
        sliceFits(
          fleet,
          g.type,
          s.profile,
          keep.map((p) => ({ name: p.name, latencyMs: p.latencyMs, memGiB: p.memGiB })),
        );
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
    const sub: Fleet = {
      ...fleet,
      coldBelowRps: undefined,
      models: [...residual.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, rps]) => ({ ...specs.get(name)!, rps: ceil6(rps) })),
    };
    merged = foldInPlan(state, configs, planFleet(sub, o.planOptions), fleet);
  }
  for (const n of leaving) removeNode(merged, n);

  // 4. empty nodes go; then nodes whose hour saved pays for the models moved off them
  for (const n of [...merged.nodes])
    if (!merged.gpus.some((g) => g.node === n.name && g.slices.some((s) => s.placements.length > 0 || s.cache))) removeNode(merged, n.name);
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
  const alone = have
    .filter((x) => x.s.placements.length === 1)
    .sort(
      (a, b) =>
        (fill.get(a.g.node) ?? 0) - (fill.get(b.g.node) ?? 0) ||
        a.p.rps - b.p.rps ||
        (a.g.id < b.g.id ? -1 : a.g.id > b.g.id ? 1 : a.s.start - b.s.start),
    );
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
  const byRoom = have
    .map((x) => ({ x, room: placementRoom(x.s, x.p, t) - x.p.rps }))
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
  for (const g of previous.gpus)
    for (const s of g.slices) for (const m of s.models) ranFrom.set(g.node, new Set([...(ranFrom.get(g.node) ?? []), m.name]));
  let current = state;
  const fill = nodeFill(current);
  const order = [...current.nodes].sort(
    (a, b) =>
      (fill.get(a.name) ?? 0) / gpusPerInstance(a.instanceType) - (fill.get(b.name) ?? 0) / gpusPerInstance(b.instanceType) ||
      (a.name < b.name ? -1 : 1),
  );
  for (const node of order) {
    if (current.gpus.some((g) => g.node === node.name && g.slices.some((s) => s.cache))) continue;
    const saving = nodePricePerHour(fleet, node.gpuType, node.instanceType);
    const onNode = new Set(
      current.gpus.filter((g) => g.node === node.name).flatMap((g) => g.slices.flatMap((s) => s.placements.map((p) => p.name))),
    );
    const moved = [...onNode].filter((m) => ranFrom.get(node.name)?.has(m)).length;
    if (saving <= price * moved + 1e-9) continue;
    const trial = cloneState(current);
    const res: Residual = new Map();
    for (const g of trial.gpus)
      if (g.node === node.name)
        for (const s of g.slices) {
          for (const p of s.placements) addResidual(res, p.name, p.rps);
          s.placements = [];
        }
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
