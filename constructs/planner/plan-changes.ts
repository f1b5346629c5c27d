/**
 * What changes between a running plan and a new one, counted as the cluster sees it: a node is the same node
 * when it keeps its name; a server (one Triton process on one slice) is kept when a server with the same
 * content (profile, models at their batch and instance counts) stays on the same node — shares and rps may
 * change, which only re-weights routes. Kubernetes does not pin a pod to a GPU or a placement start, so neither
 * counts.
 */
import type { Fleet } from '../fleet/types';
import { nodeDevices, serverKey } from './placement-entry';
import type { Plan } from './types';

/** What a re-plan changes (`replan().changes`). */
export interface PlanChanges {
  /** Models still in the fleet that lose a server they ran on and gain one they did not (their traffic moves). */
  readonly modelsMoved: readonly string[];
  /** Models that only lose servers (the rest of their servers carry them). */
  readonly modelsShrunk: readonly string[];
  /** Models that only gain servers. */
  readonly modelsGrown: readonly string[];
  /** Models whose servers stay and whose rps change (route weights only). */
  readonly modelsReweighted: readonly string[];
  readonly modelsAdded: readonly string[];
  readonly modelsRemoved: readonly string[];
  /** Servers (slices) whose content is new on their node, and servers that stop. */
  readonly serversStarted: number;
  readonly serversStopped: number;
  readonly serversKept: number;
  /** Nodes that keep their name but change configuration (re-cut in place), and their GPUs. */
  readonly nodesRecut: readonly string[];
  readonly gpusRecut: number;
  readonly nodesAdded: readonly string[];
  readonly nodesRemoved: readonly string[];
  readonly costPerHourBefore: number;
  readonly costPerHourAfter: number;
}

interface Server {
  node: string;
  key: string;
  models: Map<string, number>;
}

function serversOf(plan: Plan): Server[] {
  const out: Server[] = [];
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      out.push({ node: g.node, key: serverKey(s.profile, s), models: new Map(s.models.map((m) => [m.name, m.rps])) });
    }
  }
  return out;
}

/** Matches servers of `a` and `b` by (node, content); returns the unmatched of each and the matched pairs. */
export function matchServers<T extends { node: string; key: string }>(
  a: readonly T[],
  b: readonly T[],
): { kept: [T, T][]; onlyA: T[]; onlyB: T[] } {
  const pool = new Map<string, T[]>();
  for (const s of b) {
    const k = `${s.node}\u0000${s.key}`;
    pool.set(k, [...(pool.get(k) ?? []), s]);
  }
  const kept: [T, T][] = [];
  const onlyA: T[] = [];
  for (const s of a) {
    const list = pool.get(`${s.node}\u0000${s.key}`);
    if (list && list.length > 0) kept.push([s, list.shift()!]);
    else onlyA.push(s);
  }
  const onlyB = [...pool.values()].flat();
  return { kept, onlyA, onlyB };
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** The changes from `before` to `after` for `fleet` (the new fleet). */
export function diffPlans(before: Plan, after: Plan, fleet: Fleet): PlanChanges {
  const recut = recutNodes(before, after);
  // a node re-cut in place keeps none of its servers
  const a = serversOf(before).map((s) => (recut.has(s.node) ? { ...s, key: `${s.key}|before-recut` } : s));
  const b = serversOf(after);
  const { kept, onlyA, onlyB } = matchServers(a, b);
  const inFleet = new Set(fleet.models.map((m) => m.name));
  const modelsOf = (p: Plan): Set<string> =>
    new Set([...p.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name))), ...(p.cold?.models ?? []).map((m) => m.name)]);
  const beforeModels = modelsOf(before);
  const afterModels = modelsOf(after);
  const coldBefore = new Set((before.cold?.models ?? []).map((m) => m.name));
  const coldAfter = new Set((after.cold?.models ?? []).map((m) => m.name));
  const lost = new Set(onlyA.flatMap((s) => [...s.models.keys()]));
  const gained = new Set(onlyB.flatMap((s) => [...s.models.keys()]));
  for (const m of coldBefore) if (!coldAfter.has(m)) lost.add(m);
  for (const m of coldAfter) if (!coldBefore.has(m)) gained.add(m);
  const moved: string[] = [];
  const shrunk: string[] = [];
  const grown: string[] = [];
  for (const m of inFleet) {
    if (!beforeModels.has(m)) continue;
    if (lost.has(m) && gained.has(m)) moved.push(m);
    else if (lost.has(m)) shrunk.push(m);
    else if (gained.has(m)) grown.push(m);
  }
  const reweighted = [...inFleet].filter(
    (m) =>
      beforeModels.has(m) &&
      !lost.has(m) &&
      !gained.has(m) &&
      kept.some(([x, y]) => x.models.has(m) && Math.abs((x.models.get(m) ?? 0) - (y.models.get(m) ?? 0)) > 1e-9),
  );
  const nodesA = new Map((before.nodes ?? []).map((n) => [n.name, n]));
  const nodesB = new Map((after.nodes ?? []).map((n) => [n.name, n]));
  const gpusRecut = [...recut.values()].reduce((x, n) => x + n, 0);
  return {
    modelsMoved: sorted(moved),
    modelsShrunk: sorted(shrunk),
    modelsGrown: sorted(grown),
    modelsReweighted: sorted(reweighted),
    modelsAdded: sorted([...afterModels].filter((m) => !beforeModels.has(m))),
    modelsRemoved: sorted([...beforeModels].filter((m) => !afterModels.has(m))),
    serversStarted: onlyB.length,
    serversStopped: onlyA.length,
    serversKept: kept.length,
    nodesRecut: sorted(recut.keys()),
    gpusRecut,
    nodesAdded: sorted([...nodesB.keys()].filter((n) => !nodesA.has(n))),
    nodesRemoved: sorted([...nodesA.keys()].filter((n) => !nodesB.has(n))),
    costPerHourBefore: before.summary.costPerHour,
    costPerHourAfter: after.summary.costPerHour,
  };
}

/** Nodes that keep their name with another layout (re-cut in place) → GPUs whose layout changes. */
function recutNodes(before: Plan, after: Plan): Map<string, number> {
  const nodesA = new Map((before.nodes ?? []).map((n) => [n.name, n]));
  const out = new Map<string, number>();
  const key = (d: readonly string[]): string => [...d].sort().join('+');
  for (const n of after.nodes ?? []) {
    const o = nodesA.get(n.name);
    if (!o) continue;
    const da = nodeDevices(before, o);
    const db = nodeDevices(after, n);
    const changed =
      o.migConfig !== n.migConfig ||
      o.instanceType !== n.instanceType ||
      da.length !== db.length ||
      da.some((d, i) => key(d) !== key(db[i]));
    if (changed) out.set(n.name, db.filter((d, i) => key(d) !== key(da[i] ?? [])).length);
  }
  return out;
}
