/**
 * The fresh candidate of a re-plan: `plan(fleet)` from scratch, its nodes renamed onto the running ones that keep the
 * most servers, its configurations named as running ones of the same content (new content never takes a running
 * name), so that a node name means the same machine in both plans.
 */
import type { Fleet } from '../fleet/types';
import { configContent, devicesOf, gpusPerInstance, nodePricePerHour, serverKey } from './placement-entry';
import { maxIndex } from './replan-state';
import { mixedTypeFigures } from './type-figures';
import type { Plan, PlanMigConfig } from './types';
import { withTeamConsumption } from './team-consumption';

/** Cost per hour of a plan's nodes under the fleet's prices. */
export function nodesCost(fleet: Fleet, p: Plan): number {
  return Math.round((p.nodes ?? []).reduce((s, n) => s + nodePricePerHour(fleet, n.gpuType, n.instanceType), 0) * 1e4) / 1e4;
}

/** The fresh plan's configurations named as running ones of the same content; new content never takes a running name. */
function configNamesOnRunning(previous: Plan, fresh: Plan): { migConfigs: PlanMigConfig[]; configName: Map<string, string> } {
  const running = new Map<string, string>();
  for (const c of previous.migConfigs ?? [])
    running.set(configContent(c.gpuType, c.instanceType, devicesOf(c, gpusPerInstance(c.instanceType))), c.name);
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
  const serversOn = (p: Plan, node: string): string[] =>
    p.gpus
      .filter((g) => g.node === node)
      .flatMap((g) => g.slices.filter((s) => s.models.length > 0 || s.cache).map((s) => serverKey(s.profile, s)));
  const contentOf = (p: Plan, n: { gpuType: string; instanceType: string; migConfig: string }): string => {
    const cfg = (p.migConfigs ?? []).find((c) => c.name === n.migConfig);
    return cfg
      ? configContent(n.gpuType, n.instanceType, devicesOf(cfg, gpusPerInstance(n.instanceType)))
      : `${n.gpuType}|${n.instanceType}|whole`;
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
      for (const k of fs) {
        const n = pool.get(k) ?? 0;
        if (n > 0) {
          common++;
          pool.set(k, n - 1);
        }
      }
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
  let nextNode =
    maxIndex(
      prevNodes.map((n) => n.name),
      'node-',
    ) + 1;
  for (const f of freshNodes) if (!nameOf.has(f.name)) nameOf.set(f.name, `node-${nextNode++}`);
  const prevGpuIds = new Map(prevNodes.map((n) => [n.name, [...n.gpus]]));
  let nextGpu =
    maxIndex(
      previous.gpus.map((g) => g.id),
      'gpu-',
    ) + 1;
  const gpuId = new Map<string, string>();
  for (const f of freshNodes) {
    const reuse = prevGpuIds.get(nameOf.get(f.name)!) ?? [];
    for (const id of f.gpus) gpuId.set(id, reuse.shift() ?? `gpu-${nextGpu++}`);
  }
  const { migConfigs, configName } = configNamesOnRunning(previous, fresh);
  const gpus = fresh.gpus.map((g) => ({ ...g, id: gpuId.get(g.id) ?? g.id, node: nameOf.get(g.node) ?? g.node }));
  const nodes = freshNodes.map((n) => ({
    ...n,
    name: nameOf.get(n.name)!,
    migConfig: configName.get(n.migConfig) ?? n.migConfig,
    gpus: n.gpus.map((id) => gpuId.get(id) ?? id),
  }));
  const cold = fresh.cold ? { ...fresh.cold, slices: fresh.cold.slices.map((s) => ({ ...s, gpu: gpuId.get(s.gpu) ?? s.gpu })) } : undefined;
  const keptByName = nameOf.size - [...nameOf.values()].filter((v) => !prevNodes.some((p) => p.name === v)).length;
  const note = `fresh plan mapped onto the running nodes: ${keptByName} of ${freshNodes.length} node(s) kept by name`;
  return withTeamConsumption(fleet, {
    ...fresh,
    gpus,
    nodes,
    migConfigs,
    ...(cold ? { cold } : {}),
    summary: {
      ...fresh.summary,
      costPerHour: nodesCost(fleet, { ...fresh, nodes }),
      ...mixedTypeFigures(
        fleet,
        { ...fresh.summary, gpus, nodes, ...(cold ? { cold } : {}), costPerHour: nodesCost(fleet, { ...fresh, nodes }) },
        fresh.summary.tightBound !== undefined,
      ),
      notes: [note, ...(fresh.summary.notes ?? [])],
    },
  });
}
