/**
 * Turns packed GPUs into the plan document's GPUs, nodes and mig-parted node configurations:
 * free MIG space becomes spare slices (so layouts are canonical), GPUs with the same layout are
 * grouped into the same nodes, and each distinct node layout is one named configuration, named by
 * its content (`migConfigName`).
 */
import { createHash } from 'crypto';
import type { PlanGpu, PlanMigConfig, PlanModel, PlanNode, PlanSlice } from './types';
import { nodeMix } from './gpu-options';
import type { GpuOption, NodeOption } from './gpu-options';
import { GpuSpace, maximalLayouts } from './gpu-space';
import type { PackResult, SliceState } from './pack';
import { seatRps } from './tolerance';
import { compareText } from '../catalog/text-order';

export interface TypeResult {
  readonly opt: GpuOption;
  readonly pack: PackResult;
}

export interface Assembled {
  readonly gpus: PlanGpu[];
  readonly nodes: PlanNode[];
  readonly migConfigs: PlanMigConfig[];
  readonly nodeConfigurations: number;
  readonly costPerHour: number;
  readonly idleGpus: number;
}

interface DraftGpu {
  slices: PlanSlice[];
  key: string;
}

function planSlice(s: SliceState, profile: string, start: number): PlanSlice {
  return s.cache ? { profile, start, models: [], cache: true } : { profile, start, models: planModel(s) };
}

/** The seats of a slice as the plan writes them; each seat's rps within its share (`seatRps`, tolerance.ts). */
function planModel(s: SliceState): PlanModel[] {
  return s.seats
    .map((x) => ({
      name: x.model.name,
      batch: x.cand.batch,
      instances: x.cand.instances,
      share: x.share,
      rps: seatRps(x.rps, x.share, x.cand.throughput),
    }))
    .sort((a, b) => compareText(a.name, b.name));
}

const msKey = (profiles: readonly string[]): string => profiles.slice().sort().join('+');

/** True when multiset `small` is contained in multiset `big` (both sorted lists of names). */
function contains(big: readonly string[], small: readonly string[]): boolean {
  const count = new Map<string, number>();
  for (const b of big) count.set(b, (count.get(b) ?? 0) + 1);
  for (const x of small) {
    const n = count.get(x) ?? 0;
    if (n === 0) return false;
    count.set(x, n - 1);
  }
  return true;
}

/**
 * MIG GPUs: each GPU's slices are re-placed on a canonical maximal layout that contains them —
 * the one most GPUs of the plan already have — and its free space becomes spare (empty) slices.
 * Slices can move between starts freely (a model does not care where its slice starts), so the
 * number of distinct layouts, and with it of node configurations, stays small.
 */
function draftsOf(r: TypeResult, spare: boolean): DraftGpu[] {
  const byGpu = new Map<GpuSpace, SliceState[]>();
  for (const g of r.pack.gpus) byGpu.set(g, []);
  for (const s of r.pack.slices) byGpu.get(s.gpu)!.push(s);
  if (!spare || !r.opt.mig) {
    return r.pack.gpus.map((g) => {
      const slices: PlanSlice[] = byGpu.get(g)!.map((s) => planSlice(s, s.shape.profile, s.start));
      slices.sort((a, b) => a.start - b.start);
      return { slices, key: slices.map((s) => `${s.profile}@${s.start}`).join(',') };
    });
  }
  const layouts = maximalLayouts(r.opt);
  const layoutMs = layouts.map((l) => l.map((p) => p.shape.profile).sort());
  const firstByMs = new Map<string, number>();
  layoutMs.forEach((ms, i) => {
    const k = msKey(ms);
    if (!firstByMs.has(k)) firstByMs.set(k, i);
  });
  const current = r.pack.gpus.map((g) =>
    byGpu
      .get(g)!
      .map((s) => s.shape.profile)
      .sort(),
  );
  const freq = new Map<string, number>();
  for (const ms of current) {
    const k = msKey(ms);
    if (firstByMs.has(k)) freq.set(k, (freq.get(k) ?? 0) + 1);
  }
  return r.pack.gpus.map((g, gi) => {
    let pick = -1;
    let pickFreq = -1;
    for (const [k, li] of firstByMs) {
      if (!contains(layoutMs[li], current[gi])) continue;
      const f = freq.get(k) ?? 0;
      const better =
        f > pickFreq ||
        (f === pickFreq && (layoutMs[li].length < layoutMs[pick].length || (layoutMs[li].length === layoutMs[pick].length && li < pick)));
      if (better) {
        pick = li;
        pickFreq = f;
      }
    }
    const own = byGpu
      .get(g)!
      .slice()
      .sort((a, b) => a.start - b.start);
    const slices: PlanSlice[] = layouts[pick].map((p) => {
      const idx = own.findIndex((s) => s.shape.profile === p.shape.profile);
      if (idx < 0) return { profile: p.shape.profile, start: p.start, models: [] };
      const [s] = own.splice(idx, 1);
      return planSlice(s, p.shape.profile, p.start);
    });
    return { slices, key: slices.map((s) => `${s.profile}@${s.start}`).join(',') };
  });
}

/** Profile name → count of one GPU's slices, profiles sorted by name. */
function profileCounts(slices: readonly { readonly profile: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of slices.map((s) => s.profile).sort()) counts[p] = (counts[p] ?? 0) + 1;
  return counts;
}

/**
 * The name of a node configuration, from its content alone: `<gpu type>-<8 hex digits>`, the digits the
 * start of the SHA-256 of the instance type and the per-device MIG profile counts (one entry when every GPU
 * of the node is alike). mig-parted takes counts, not placements, so two layouts that differ only in where
 * their slices start are the same configuration.
 *
 * The name is the value of `nvidia.com/mig.config`. The MIG manager re-cuts a node only when that value
 * changes (NVIDIA/mig-parted v0.15.0; gpu-operator#262), so new content must come with a new name: a
 * re-plan keeps the name of every configuration whose content it keeps and gives every other one a new name.
 */
export function migConfigName(
  gpuType: string,
  instanceType: string,
  devices: readonly (readonly { readonly profile: string; readonly start?: number }[])[],
): string {
  const counts = devices.map(profileCounts);
  const alike = counts.every((c) => JSON.stringify(c) === JSON.stringify(counts[0]));
  const content = JSON.stringify({ gpuType, instanceType, devices: alike ? ['all', counts[0]] : counts });
  return `${gpuType.toLowerCase()}-${createHash('sha256').update(content).digest('hex').slice(0, 8)}`;
}

/** Assembles all GPU types (in fleet order); GPU ids are numbered node by node. */
export function assemble(results: readonly TypeResult[], spare = true): Assembled {
  const gpus: PlanGpu[] = [];
  const nodes: PlanNode[] = [];
  const migConfigs: PlanMigConfig[] = [];
  let nodeConfigurations = 0;
  let cost = 0;
  let idle = 0;
  for (const r of results) {
    const drafts = draftsOf(r, spare);
    if (drafts.length === 0) continue;
    const freq = new Map<string, number>();
    for (const d of drafts) freq.set(d.key, (freq.get(d.key) ?? 0) + 1);
    const ordered = drafts
      .map((d, i) => ({ d, i }))
      .sort((a, b) => freq.get(b.d.key)! - freq.get(a.d.key)! || (a.d.key < b.d.key ? -1 : a.d.key > b.d.key ? 1 : 0) || a.i - b.i)
      .map((x) => x.d);
    const configByKey = new Map<string, PlanMigConfig>();
    const typeConfigs: PlanMigConfig[] = [];
    const instanceTypes = new Set<string>();
    // the cheapest whole nodes for these GPUs, largest instance first; the last node may be partly used
    const slots: NodeOption[] = [];
    for (const x of nodeMix(r.opt, ordered.length).nodes) for (let k = 0; k < x.count; k++) slots.push(x.node);
    let next = 0;
    for (const node of slots) {
      const per = node.gpusPerNode;
      const members = ordered.slice(next, next + per);
      next += per;
      if (members.length === 0) continue;
      idle += per - members.length;
      instanceTypes.add(node.instanceType);
      const nodeName = `node-${nodes.length}`;
      const ids: string[] = [];
      for (const d of members) {
        const id = `gpu-${gpus.length}`;
        ids.push(id);
        gpus.push({ id, type: r.opt.type, node: nodeName, mig: r.opt.mig, slices: d.slices });
      }
      let configName = 'all-disabled';
      if (r.opt.mig) {
        const layouts = members.map((d) => d.slices.map((s) => ({ profile: s.profile, start: s.start })));
        // idle GPUs of a partly used node take the node's first layout
        while (layouts.length < per) layouts.push(layouts[0]);
        // GPUs with the same profile counts are alike for mig-parted, wherever their slices start
        const alike = layouts.every((l) => JSON.stringify(profileCounts(l)) === JSON.stringify(profileCounts(layouts[0])));
        const devices = alike ? [layouts[0]] : layouts;
        // each instance type is its own node configuration (one node pool each), named by its content
        const name = migConfigName(r.opt.type, node.instanceType, devices);
        let cfg = configByKey.get(name);
        if (!cfg) {
          cfg = { name, gpuType: r.opt.type, instanceType: node.instanceType, devices, nodes: 0 };
          configByKey.set(name, cfg);
          typeConfigs.push(cfg);
        }
        (cfg as { nodes: number }).nodes += 1;
        configName = cfg.name;
      }
      nodes.push({ name: nodeName, instanceType: node.instanceType, gpuType: r.opt.type, migConfig: configName, gpus: ids });
      cost += per * node.pricePerGpuHour;
    }
    migConfigs.push(...typeConfigs);
    nodeConfigurations += r.opt.mig ? typeConfigs.length : instanceTypes.size;
  }
  return { gpus, nodes, migConfigs, nodeConfigurations, costPerHour: Math.round(cost * 1e4) / 1e4, idleGpus: idle };
}
