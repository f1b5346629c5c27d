/**
 * What each team of a fleet consumes in a plan, computed once from the plan document (docs/planner.md
 * "Team consumption"): the plan summary's `teamConsumption`, the `gpufleet plan` teams table, the report's
 * Teams section and the annotations on shared Triton pools all read these figures.
 *
 * - A model's part of a slice is its `share` of the slice's time, as the plan records it.
 * - A slice is `computeSlices / the GPU's computeSlices` of its GPU (1 for a whole GPU): a 2g.20gb slice of an
 *   H100 is 2/7 of it.
 * - GPU-equivalents of a team = the sum over its models' seats of share × slice fraction. Cache slices of the
 *   cold tier have no shares: each is split between the cold models by their demand (requests/s).
 * - Cost per hour = GPU-equivalents × the price of one GPU of the node that carries the slice: the fleet's
 *   `pricePerGpuHour` when it gives one, else the catalog's on-demand price of the node's instance type divided
 *   by its GPUs (the price the planner costs the node at).
 * - What no team holds is `unassigned` (time of seated slices no model's share covers, spare slices, compute a
 *   MIG layout leaves unused), and `idleNodeGpus` the GPUs of partly used nodes (paid, not in `gpuCount`). So
 *   Σ teams + unassigned = `summary.gpuCount` in GPU-equivalents, and Σ teams + unassigned + idleNodeGpus =
 *   `summary.costPerHour` (up to the rounding of each figure to 4 decimals).
 * - `inSharedPools` is the part held in pools that serve several teams' models. Pools linked by a common model
 *   share a namespace (one route per model path), so the models that share a slice, transitively, form a group,
 *   and a group with models of several teams is served from the shared namespace (`serving-shared`); the cold
 *   pool is shared when its models belong to several teams. This is the rule `ServingPlatform.fromPlan` renders
 *   namespaces by (k8s/serving-platform-plan.ts); test/team-consumption.test.ts checks that both agree.
 *
 * Pure and deterministic: teams sorted by name, GPU types sorted, figures rounded to 4 decimals.
 */
import { findGpuType, findInstanceType, findMigProfile } from '../catalog';
import type { Fleet } from '../fleet/types';
import { declaredPricePerGpuHour, gpuPricePerHour } from './gpu-prices';
import type { Consumption, Plan, PlanGpu, PlanTeamConsumption, TeamConsumption } from './types';

/** One team's part of one slice (unrounded). */
export interface SliceTeamConsumption {
  readonly gpu: string;
  readonly start: number;
  /** Team → GPU-equivalents and cost of its models on this slice. */
  readonly teams: ReadonlyMap<string, Consumption>;
  /** True when the slice is served from the shared namespace (its model group spans several teams). */
  readonly shared: boolean;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Fraction of its GPU a slice is: compute slices of the profile / compute slices of the GPU; 1 for `whole`. */
export function sliceFraction(gpuType: string, profile: string): number {
  if (profile === 'whole') return 1;
  const gpu = findGpuType(gpuType);
  const p = gpu ? findMigProfile(gpu, profile) : undefined;
  if (!gpu?.mig || !p) throw new Error(`plan: slice profile "${profile}" is not a MIG profile of GPU type "${gpuType}" in the catalog`);
  return p.computeSlices / gpu.mig.computeSlices;
}

/** Price of one GPU per hour on each node of the plan, and each node's paid GPUs (the instance's GPU count). */
function nodePrices(fleet: Fleet, plan: Plan): Map<string, { price: number; paidGpus: number }> {
  const out = new Map<string, { price: number; paidGpus: number }>();
  const nodeGpus = new Map<string, number>();
  for (const g of plan.gpus) nodeGpus.set(g.node, (nodeGpus.get(g.node) ?? 0) + 1);
  for (const n of plan.nodes ?? []) {
    const instance = findInstanceType(n.instanceType);
    // the planner's node price (gpu-prices.ts): the fleet's price per GPU, else the instance's; 0 when neither is known
    const price = gpuPricePerHour(fleet, n.gpuType, n.instanceType) ?? 0;
    out.set(n.name, { price, paidGpus: Math.max(instance?.gpuCount ?? 0, n.gpus.length) });
  }
  for (const [node, count] of nodeGpus) {
    if (out.has(node)) continue;
    // a plan without nodes (hand-written): the fleet's price, else 0; every GPU its own node
    const gpuType = plan.gpus.find((g) => g.node === node)!.type;
    out.set(node, { price: declaredPricePerGpuHour(fleet, gpuType) ?? 0, paidGpus: count });
  }
  return out;
}

/** Models sharing a slice, transitively, form a group; a group with models of several teams is served from the shared namespace. */
function sharedModels(plan: Plan, teamOf: (model: string) => string): Set<string> {
  const parent = new Map<string, string>();
  const find = (m: string): string => {
    let r = m;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(m, r);
    return r;
  };
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      for (const m of s.models) if (!parent.has(m.name)) parent.set(m.name, m.name);
      for (const m of s.models.slice(1)) {
        const a = find(s.models[0].name);
        const b = find(m.name);
        if (a !== b) parent.set(a < b ? b : a, a < b ? a : b);
      }
    }
  }
  const teamsOfGroup = new Map<string, Set<string>>();
  for (const m of parent.keys()) {
    const root = find(m);
    teamsOfGroup.set(root, (teamsOfGroup.get(root) ?? new Set()).add(teamOf(m)));
  }
  return new Set([...parent.keys()].filter((m) => teamsOfGroup.get(find(m))!.size > 1));
}

function teamLookup(fleet: Fleet): (model: string, where: string) => string {
  const teams = new Map(fleet.models.map((m) => [m.name, m.team]));
  return (model, where) => {
    const t = teams.get(model);
    if (t === undefined) throw new Error(`${where}: model "${model}" is not in fleet "${fleet.name}"`);
    return t;
  };
}

/**
 * Each seated or cache slice of the plan with every team's part of it (unrounded), in plan order. Spare slices
 * (no models, no cache) are left out: no team holds them.
 */
export function sliceConsumption(fleet: Fleet, plan: Plan): SliceTeamConsumption[] {
  const lookup = teamLookup(fleet);
  const prices = nodePrices(fleet, plan);
  const shared = sharedModels(plan, (m) => lookup(m, 'plan.gpus'));
  const cold = plan.cold?.models ?? [];
  const coldRps = cold.reduce((s, m) => s + m.rps, 0);
  const coldTeams = new Set(cold.map((m) => lookup(m.name, 'plan.cold.models')));
  const out: SliceTeamConsumption[] = [];
  for (const g of plan.gpus) {
    const price = prices.get(g.node)!.price;
    g.slices.forEach((s, j) => {
      const fraction = sliceFraction(g.type, s.profile);
      const teams = new Map<string, { gpuEquivalents: number; costPerHour: number }>();
      const add = (team: string, eq: number) => {
        const t = teams.get(team) ?? { gpuEquivalents: 0, costPerHour: 0 };
        t.gpuEquivalents += eq;
        t.costPerHour += eq * price;
        teams.set(team, t);
      };
      if (s.cache) {
        for (const m of cold) add(lookup(m.name, 'plan.cold.models'), coldRps > 0 ? (fraction * m.rps) / coldRps : fraction / cold.length);
        if (teams.size > 0) out.push({ gpu: g.id, start: s.start, teams, shared: coldTeams.size > 1 });
        return;
      }
      if (s.models.length === 0) return;
      for (const m of s.models) add(lookup(m.name, `plan.gpus[${g.id}].slices[${j}]`), m.share * fraction);
      out.push({ gpu: g.id, start: s.start, teams, shared: shared.has(s.models[0].name) });
    });
  }
  return out;
}

/** Per-team consumption of a plan (see the file comment for the rules). */
export function teamConsumption(fleet: Fleet, plan: Plan): PlanTeamConsumption {
  const lookup = teamLookup(fleet);
  const prices = nodePrices(fleet, plan);
  const gpuById = new Map<string, PlanGpu>(plan.gpus.map((g) => [g.id, g]));
  const acc = new Map<
    string,
    { models: Set<string>; rps: number; eq: number; cost: number; sharedEq: number; sharedCost: number; byType: Map<string, number> }
  >();
  const entry = (team: string) => {
    let a = acc.get(team);
    if (!a) acc.set(team, (a = { models: new Set(), rps: 0, eq: 0, cost: 0, sharedEq: 0, sharedCost: 0, byType: new Map() }));
    return a;
  };
  for (const g of plan.gpus) {
    for (const s of g.slices) {
      for (const m of s.models) {
        const a = entry(lookup(m.name, `plan.gpus[${g.id}]`));
        a.models.add(m.name);
        a.rps += m.rps;
      }
    }
  }
  for (const m of plan.cold?.models ?? []) {
    const a = entry(lookup(m.name, 'plan.cold.models'));
    a.models.add(m.name);
    a.rps += m.rps;
  }
  let heldEq = 0;
  let heldCost = 0;
  for (const s of sliceConsumption(fleet, plan)) {
    const type = gpuById.get(s.gpu)!.type;
    for (const [team, c] of s.teams) {
      const a = entry(team);
      a.eq += c.gpuEquivalents;
      a.cost += c.costPerHour;
      a.byType.set(type, (a.byType.get(type) ?? 0) + c.gpuEquivalents);
      if (s.shared) {
        a.sharedEq += c.gpuEquivalents;
        a.sharedCost += c.costPerHour;
      }
      heldEq += c.gpuEquivalents;
      heldCost += c.costPerHour;
    }
  }
  let gpuCost = 0;
  for (const g of plan.gpus) gpuCost += prices.get(g.node)!.price;
  let idleGpus = 0;
  let idleCost = 0;
  const nodeGpus = new Map<string, number>();
  for (const g of plan.gpus) nodeGpus.set(g.node, (nodeGpus.get(g.node) ?? 0) + 1);
  for (const [node, { price, paidGpus }] of prices) {
    const idle = paidGpus - (nodeGpus.get(node) ?? 0);
    idleGpus += idle;
    idleCost += idle * price;
  }
  const teams = [...acc.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([team, a]): TeamConsumption => ({
      team,
      models: a.models.size,
      rps: round4(a.rps),
      gpuEquivalents: round4(a.eq),
      costPerHour: round4(a.cost),
      inSharedPools: { gpuEquivalents: round4(a.sharedEq), costPerHour: round4(a.sharedCost) },
      byGpuType: Object.fromEntries(
        [...a.byType.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([t, v]) => [t, round4(v)]),
      ),
    }));
  return {
    teams,
    unassigned: { gpuEquivalents: round4(Math.max(0, plan.gpus.length - heldEq)), costPerHour: round4(Math.max(0, gpuCost - heldCost)) },
    idleNodeGpus: { gpus: idleGpus, costPerHour: round4(idleCost) },
  };
}

/** The plan with `summary.teamConsumption` computed from its GPUs, nodes and cold tier. */
export function withTeamConsumption(fleet: Fleet, plan: Plan): Plan {
  return { ...plan, summary: { ...plan.summary, teamConsumption: teamConsumption(fleet, plan) } };
}
