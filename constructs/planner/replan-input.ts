/**
 * What a running plan must be for a re-plan and a migration to start from it: a plan of the same fleet whose
 * GPUs, nodes and node configurations agree with each other (each GPU on a listed node of its type, each node's
 * configuration listed, each MIG GPU cut as its node's configuration says, at legal placements). Whether it
 * still serves the new fleet's demand is what the re-plan changes, so that is not checked here.
 */
import { checkLayout, findGpuType } from '../catalog';
import type { Fleet } from '../fleet/types';
import { devicesOf, gpusPerInstance } from './placement-entry';
import type { Plan } from './types';

const profileSet = (profiles: readonly string[]): string => [...profiles].sort().join('+');

/** Every inconsistency of the running plan, one line each (empty = usable). */
export function runningPlanProblems(fleet: Fleet, previous: Plan): string[] {
  const out: string[] = [];
  if (previous.fleet !== fleet.name) out.push(`fleet: the running plan is of fleet "${previous.fleet}", the fleet is "${fleet.name}"`);
  const nodes = previous.nodes ?? [];
  if (previous.gpus.length > 0 && nodes.length === 0) {
    out.push('nodes: the running plan lists no nodes; plan it with gpufleet plan, which writes them');
    return out;
  }
  const nodeByName = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) {
    if (nodeByName.has(n.name)) out.push(`nodes: node "${n.name}" is listed more than once`);
    nodeByName.set(n.name, n);
  }
  const configs = new Map((previous.migConfigs ?? []).map((c) => [c.name, c]));
  const gpuIds = new Set<string>();
  for (const g of previous.gpus) {
    if (gpuIds.has(g.id)) out.push(`gpus: gpu id "${g.id}" is used more than once`);
    gpuIds.add(g.id);
    const n = nodeByName.get(g.node);
    if (!n) {
      out.push(`gpus[${g.id}].node: "${g.node}" is not a node of the plan`);
      continue;
    }
    if (n.gpuType !== g.type) out.push(`gpus[${g.id}].type: ${g.type}, but its node ${n.name} carries ${n.gpuType}`);
    if (!n.gpus.includes(g.id)) out.push(`nodes[${n.name}].gpus: does not list ${g.id}, which names it as its node`);
    const gpu = findGpuType(g.type);
    if (!gpu) {
      out.push(`gpus[${g.id}].type: unknown GPU type "${g.type}"`);
      continue;
    }
    const starts = new Set<number>();
    for (const s of g.slices) {
      if (starts.has(s.start)) out.push(`gpus[${g.id}]: two slices start at ${s.start}`);
      starts.add(s.start);
    }
    if (g.mig) {
      for (const p of checkLayout(
        gpu,
        g.slices.map((s) => ({ profile: s.profile, start: s.start })),
      ))
        out.push(`gpus[${g.id}]: ${p}`);
      const cfg = configs.get(n.migConfig);
      if (!cfg) out.push(`nodes[${n.name}].migConfig: "${n.migConfig}" is not in migConfigs`);
      else {
        const allowed = new Set(devicesOf(cfg, gpusPerInstance(cfg.instanceType)).map(profileSet));
        if (!allowed.has(profileSet(g.slices.map((s) => s.profile)))) {
          out.push(
            `gpus[${g.id}]: cut ${profileSet(g.slices.map((s) => s.profile))}, which no device of its node's configuration ${cfg.name} has`,
          );
        }
      }
    } else if (n.migConfig !== 'all-disabled' || g.slices.length !== 1 || g.slices[0].profile !== 'whole') {
      out.push(`gpus[${g.id}]: a GPU without MIG has one slice "whole" on a node with migConfig "all-disabled"`);
    }
  }
  for (const n of nodes) {
    for (const id of n.gpus) if (!gpuIds.has(id)) out.push(`nodes[${n.name}].gpus: "${id}" is not a GPU of the plan`);
    const most = gpusPerInstance(n.instanceType);
    if (n.gpus.length > most && most > 1) out.push(`nodes[${n.name}]: ${n.gpus.length} GPUs on ${n.instanceType}, which has ${most}`);
    if (n.migConfig !== 'all-disabled') {
      const cfg = configs.get(n.migConfig);
      if (cfg && (cfg.gpuType !== n.gpuType || cfg.instanceType !== n.instanceType)) {
        out.push(
          `nodes[${n.name}]: configuration ${cfg.name} is for ${cfg.gpuType} on ${cfg.instanceType}, ` +
            `the node is ${n.gpuType} on ${n.instanceType}`,
        );
      }
    }
  }
  if (previous.cold && !previous.gpus.some((g) => g.slices.some((s) => s.cache)))
    out.push('cold: the running plan has a cold tier but no cache slice');
  return out;
}
