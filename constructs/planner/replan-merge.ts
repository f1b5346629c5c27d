/**
 * Folds a plan of the residual demand (new nodes) into a re-plan's working state: new node names and GPU ids
 * after the running plan's, and each node configuration under the name of a running configuration with the
 * same content (so a layout keeps its name), else its own name — renamed only if a running configuration with
 * other content already uses it (a new name for new content).
 */
import type { Fleet } from '../fleet/types';
import { configContent, devicesOf, entryFor, gpusPerInstance } from './placement-entry';
import type { WState } from './replan-state';
import type { Plan, PlanMigConfig } from './types';

/** Adds the nodes and GPUs of `sub` to `state` (mutated and returned); registers new configurations in `configs`. */
export function foldInPlan(state: WState, configs: Map<string, PlanMigConfig>, sub: Plan, fleet?: Fleet): WState {
  const specs = new Map((fleet?.models ?? []).map((m) => [m.name, m]));
  const byContent = new Map<string, string>();
  for (const c of configs.values())
    byContent.set(configContent(c.gpuType, c.instanceType, devicesOf(c, gpusPerInstance(c.instanceType))), c.name);
  const rename = new Map<string, string>();
  for (const c of sub.migConfigs ?? []) {
    const content = configContent(c.gpuType, c.instanceType, devicesOf(c, gpusPerInstance(c.instanceType)));
    let name = byContent.get(content);
    if (!name) {
      name = c.name;
      for (let k = 2; configs.has(name); k++) name = `${c.name}-${k}`;
      configs.set(name, { ...c, name, nodes: 0 });
      byContent.set(content, name);
    }
    rename.set(c.name, name);
  }
  for (const n of sub.nodes ?? []) {
    const nodeName = `node-${state.nextNode++}`;
    const migConfig = n.migConfig === 'all-disabled' ? n.migConfig : (rename.get(n.migConfig) ?? n.migConfig);
    const cfg = configs.get(migConfig);
    const spare = gpusPerInstance(n.instanceType) - n.gpus.length;
    const idle =
      spare <= 0
        ? []
        : migConfig === 'all-disabled'
          ? Array.from({ length: spare }, () => [{ profile: 'whole', start: 0 }])
          : cfg && cfg.devices.length === 1
            ? Array.from({ length: spare }, () => cfg.devices[0])
            : [];
    state.nodes.push({ name: nodeName, instanceType: n.instanceType, gpuType: n.gpuType, migConfig, idle });
    for (const id of n.gpus) {
      const g = sub.gpus.find((x) => x.id === id)!;
      state.gpus.push({
        id: `gpu-${state.nextGpu++}`,
        type: g.type,
        node: nodeName,
        mig: g.mig,
        slices: g.slices.map((s) => ({
          profile: s.profile,
          start: s.start,
          cache: false,
          wasFree: true,
          blocked: false,
          fresh: s.models.length > 0,
          placements: s.models.map((m) => {
            const spec = specs.get(m.name);
            const e = spec ? entryFor(spec, g.type, s.profile, m.batch, m.instances) : undefined;
            return {
              name: m.name,
              batch: m.batch,
              instances: m.instances,
              share: m.share,
              rps: m.rps,
              throughput: e?.throughput ?? 0,
              latencyMs: e?.latencyMs ?? Infinity,
              memGiB: spec ? spec.memoryGiB * m.instances : Infinity,
            };
          }),
        })),
      });
    }
  }
  return state;
}
