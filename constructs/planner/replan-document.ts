/**
 * The plan document of a repaired state (`replan`'s stable candidate): GPUs, nodes, the configurations they use, the
 * cold tier, cost, and notes that say how many servers stay where they run.
 */
import type { Fleet } from '../fleet/types';
import { gpusPerInstance, nodePricePerHour, serverKey } from './placement-entry';
import type { ColdDecision } from './replan-cold';
import type { WState } from './replan-state';
import { mixedTypeFigures } from './type-figures';
import type { Plan, PlanColdTier, PlanMigConfig } from './types';
import { withTeamConsumption } from './team-consumption';

/** The plan document of a repaired state; bounds and baselines are the fresh plan's (the same fleet). */
export function toPlan(
  state: WState,
  configs: Map<string, PlanMigConfig>,
  fleet: Fleet,
  previous: Plan,
  fresh: Plan,
  cold: ColdDecision | undefined,
  t: number,
): Plan {
  const gpus = state.gpus
    .filter((g) => g.slices.some((s) => s.placements.length > 0 || s.cache))
    .map((g) => ({
      id: g.id,
      type: g.type,
      node: g.node,
      mig: g.mig,
      slices: [...g.slices]
        .sort((a, b) => a.start - b.start)
        .map((s) =>
          s.cache
            ? { profile: s.profile, start: s.start, models: [], cache: true }
            : {
                profile: s.profile,
                start: s.start,
                models: [...s.placements]
                  .sort((a, b) => (a.name < b.name ? -1 : 1))
                  .map((p) => ({ name: p.name, batch: p.batch, instances: p.instances, share: p.share, rps: p.rps })),
              },
        ),
    }));
  const nodes = state.nodes
    .map((n) => ({
      name: n.name,
      instanceType: n.instanceType,
      gpuType: n.gpuType,
      migConfig: n.migConfig,
      gpus: gpus.filter((g) => g.node === n.name).map((g) => g.id),
    }))
    .filter((n) => n.gpus.length > 0);
  const used = new Map<string, number>();
  for (const n of nodes) if (n.migConfig !== 'all-disabled') used.set(n.migConfig, (used.get(n.migConfig) ?? 0) + 1);
  const migConfigs = [...configs.values()].filter((c) => used.has(c.name)).map((c) => ({ ...c, nodes: used.get(c.name)! }));
  const costPerHour = Math.round(nodes.reduce((s, n) => s + nodePricePerHour(fleet, n.gpuType, n.instanceType), 0) * 1e4) / 1e4;
  const wholeTypes = new Map<string, Set<string>>();
  for (const n of nodes)
    if (n.migConfig === 'all-disabled') wholeTypes.set(n.gpuType, new Set([...(wholeTypes.get(n.gpuType) ?? []), n.instanceType]));
  const nodeConfigurations = migConfigs.length + [...wholeTypes.values()].reduce((s, x) => s + x.size, 0);
  let coldTier: PlanColdTier | undefined;
  if (cold) {
    const slices = gpus.flatMap((g) => g.slices.filter((s) => s.cache).map((s) => ({ gpu: g.id, profile: s.profile, start: s.start })));
    const withSeats = fresh.cold?.gpusWithSeats ?? previous.cold!.gpusWithSeats;
    coldTier = {
      belowRps: fleet.coldBelowRps!,
      models: fleet.models
        .filter((m) => cold.names.has(m.name))
        .map((m) => ({ name: m.name, rps: m.rps, ...cold.entries.get(m.name)! }))
        .sort((a, b) => (a.name < b.name ? -1 : 1)),
      slices,
      hitRateTarget: previous.cold!.hitRateTarget,
      cacheGiB: cold.cacheGiB,
      gpusWithSeats: withSeats,
      gpusSaved: Math.max(0, withSeats - gpus.length),
    };
  }
  const kept = diffKept(previous, gpus);
  const notes = [
    `stable re-plan of the running plan: ${kept.kept} server(s) kept where they run, ${kept.started} new, ${kept.stopped} stopped; ` +
      '`gpufleet rebalance` gives the checked migration',
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
      ...fresh.summary,
      gpuCount: gpus.length,
      costPerHour,
      // several GPU types: the figures of this plan, not of the fresh one (the cost bounds are the fleet's)
      ...mixedTypeFigures(
        fleet,
        { ...fresh.summary, gpus, nodes, ...(coldTier ? { cold: coldTier } : {}), costPerHour },
        fresh.summary.tightBound !== undefined,
      ),
      nodeConfigurations,
      notes,
    },
  });
}

function diffKept(previous: Plan, gpus: Plan['gpus']): { kept: number; started: number; stopped: number } {
  const key = (node: string, profile: string, s: Plan['gpus'][number]['slices'][number]): string => `${node}|${serverKey(profile, s)}`;
  const before = new Map<string, number>();
  for (const g of previous.gpus)
    for (const s of g.slices)
      if (s.models.length > 0 || s.cache) before.set(key(g.node, s.profile, s), (before.get(key(g.node, s.profile, s)) ?? 0) + 1);
  let kept = 0;
  let started = 0;
  for (const g of gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      const k = key(g.node, s.profile, s);
      const n = before.get(k) ?? 0;
      if (n > 0) {
        kept++;
        before.set(k, n - 1);
      } else started++;
    }
  }
  return { kept, started, stopped: [...before.values()].reduce((a, b) => a + b, 0) };
}

function estimatedNote(fleet: Fleet, gpus: Plan['gpus']): string[] {
  const specs = new Map(fleet.models.map((m) => [m.name, m]));
  const est = new Set<string>();
  for (const g of gpus)
    for (const s of g.slices)
      for (const m of s.models) if (!specs.get(m.name)!.profiles.some((p) => p.gpu === g.type)) est.add(`${m.name} on ${g.type}`);
  if (est.size === 0) return [];
  const names = [...est].sort();
  return [
    `estimated (no measured profile): ${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}; ` +
      'see docs/planner.md for the rule',
  ];
}
