/**
 * What the planner may buy: each fleet GPU type resolved against the catalog into its slice
 * sizes (MIG profiles or the whole GPU), price and node (instance) shape.
 */
import { findGpuType, findInstanceType, gpuTypeIds, INSTANCE_TYPES, pricePerGpuHour, wholeGpuSliceSize } from '../catalog';
import type { GpuType, InstanceType, MigProfile } from '../catalog';
import type { Fleet, FleetGpu } from '../fleet/types';
import { PlanError } from './plan-error';
import { compareText } from '../catalog/text-order';

/** One slice shape a GPU type offers: a MIG profile, or the whole GPU. */
export interface SliceShape {
  /** Catalog profile name, or `whole`. */
  readonly profile: string;
  /** Value of `ProfileEntry.slice` that applies to this shape (the catalog's whole-GPU size for `whole`). */
  readonly entrySlice: number;
  /** Fraction of the GPU's compute (1 for the whole GPU). */
  readonly computeFraction: number;
  /** Compute slices (for MIG), 7 for `whole`. */
  readonly computeSlices: number;
  /** Memory as the driver reports it (GiB). */
  readonly memoryGiB: number;
  /** Memory slices it occupies (0 for `whole`). */
  readonly memorySlices: number;
  /** Legal placement starts. */
  readonly starts: readonly number[];
  readonly maxInstances: number;
}

/** An instance type the planner may put GPUs of an option on. */
export interface NodeOption {
  /** EC2 instance type (a `<type>-node` placeholder when the catalog has none for the GPU). */
  readonly instanceType: string;
  readonly gpusPerNode: number;
  /** Price of one GPU on this instance (the fleet's price when it gives one). */
  readonly pricePerGpuHour: number;
}

/** Nodes of one instance type in a node mix. */
export interface NodeCount {
  readonly node: NodeOption;
  readonly count: number;
}

/** The cheapest whole nodes that carry a number of GPUs of one option. */
export interface NodeMix {
  /** Largest instance first. */
  readonly nodes: readonly NodeCount[];
  readonly costPerHour: number;
  readonly nodeCount: number;
}

/** A fleet GPU type, resolved. */
export interface GpuOption {
  readonly type: string;
  readonly gpu: GpuType;
  readonly mig: boolean;
  /** Cheapest price of one GPU over `nodeOptions` (what one more GPU costs at the margin). */
  readonly pricePerGpuHour: number;
  readonly priceKnown: boolean;
  /**
   * Instance types GPUs of this option may be bought on: the fleet's `instanceType` alone when it
   * names one, else the catalog's priced instances of the GPU (the cheapest of each GPU count).
   */
  readonly nodeOptions: readonly NodeOption[];
  /** Compute slices of the whole GPU (7 without MIG data, as the entries' `slice: 7` convention). */
  readonly computeSlices: number;
  readonly memorySlices: number;
  /** Slice shapes, largest memory first within a compute size, ordered by compute size. */
  readonly shapes: readonly SliceShape[];
  /** Position of the option in the fleet's `gpus` list. */
  readonly index: number;
}

function instancesOf(gpuType: string): InstanceType[] {
  return INSTANCE_TYPES.filter((i) => i.gpuType === gpuType);
}

/** Non-media MIG profiles a planner may use. */
export function usableMigProfiles(gpu: GpuType): MigProfile[] {
  return (gpu.mig?.profiles ?? []).filter((p) => !p.mediaExtensions && p.placements.length > 0);
}

/** Problems of a fleet GPU entry the planner cannot use (parseFleet rejects them first); [] when none. */
function gpuProblems(g: FleetGpu, index: number): string[] {
  if (!findGpuType(g.type)) return [`gpus[${index}].type: unknown gpu type "${g.type}", expected one of ${gpuTypeIds().join(', ')}`];
  if (g.instanceType !== undefined) {
    const inst = findInstanceType(g.instanceType);
    if (!inst || inst.gpuType !== g.type) {
      return [
        `gpus[${index}].instanceType: "${g.instanceType}" does not carry ${g.type} gpus, expected one of ${
          instancesOf(g.type)
            .map((i) => i.name)
            .join(', ') || '(none in the catalog)'
        }`,
      ];
    }
  }
  return [];
}

export function resolveGpuOption(g: FleetGpu, index: number): GpuOption {
  const problems = gpuProblems(g, index);
  if (problems.length > 0) throw new PlanError(problems);
  const gpu = findGpuType(g.type)!;
  const mig = g.mig && gpu.mig !== undefined && usableMigProfiles(gpu).length > 0;
  let insts: InstanceType[];
  if (g.instanceType !== undefined) {
    insts = [findInstanceType(g.instanceType)!];
  } else {
    const all = instancesOf(g.type);
    const priced = all.filter((i) => pricePerGpuHour(i) !== undefined);
    insts = priced.length > 0 ? priced : all;
  }
  const explicit = g.pricePerGpuHour;
  // per GPU count, the cheapest instance (then the name): a dearer one of the same size never wins
  const bySize = new Map<number, NodeOption>();
  for (const i of insts) {
    const p = explicit ?? pricePerGpuHour(i);
    const o: NodeOption = { instanceType: i.name, gpusPerNode: i.gpuCount, pricePerGpuHour: p ?? 0 };
    const had = bySize.get(i.gpuCount);
    if (
      !had ||
      o.pricePerGpuHour < had.pricePerGpuHour - 1e-12 ||
      (Math.abs(o.pricePerGpuHour - had.pricePerGpuHour) <= 1e-12 && o.instanceType < had.instanceType)
    )
      bySize.set(i.gpuCount, o);
  }
  const priceKnown = explicit !== undefined || insts.some((i) => pricePerGpuHour(i) !== undefined);
  const nodeOptions = [...bySize.values()].sort((a, b) => b.gpusPerNode - a.gpusPerNode);
  if (nodeOptions.length === 0)
    nodeOptions.push({ instanceType: `${g.type.toLowerCase()}-node`, gpusPerNode: 1, pricePerGpuHour: explicit ?? 0 });
  const price = Math.min(...nodeOptions.map((o) => o.pricePerGpuHour));
  const computeSlices = mig ? gpu.mig.computeSlices : 7;
  const shapes: SliceShape[] = [];
  if (mig) {
    for (const p of usableMigProfiles(gpu)) {
      shapes.push({
        profile: p.name,
        entrySlice: p.computeSlices,
        computeFraction: p.computeSlices / gpu.mig.computeSlices,
        computeSlices: p.computeSlices,
        memoryGiB: p.memoryGiB,
        memorySlices: p.memorySlices,
        starts: p.placements.map((x) => x.start).sort((a, b) => a - b),
        maxInstances: p.maxInstances,
      });
    }
    shapes.sort((a, b) => a.computeSlices - b.computeSlices || a.memorySlices - b.memorySlices || compareText(a.profile, b.profile));
  } else {
    shapes.push({
      profile: 'whole',
      entrySlice: wholeGpuSliceSize(gpu),
      computeFraction: 1,
      computeSlices: 7,
      memoryGiB: gpu.memoryGiB,
      memorySlices: 0,
      starts: [0],
      maxInstances: 1,
    });
  }
  return {
    type: g.type,
    gpu,
    mig,
    pricePerGpuHour: price,
    priceKnown,
    nodeOptions,
    computeSlices,
    memorySlices: mig ? gpu.mig.memorySlices : 0,
    shapes,
    index,
  };
}

/**
 * The option with other slice shapes. Written as the same object literal as `resolveGpuOption`'s (same keys, same
 * order), not as a spread copy: V8 then gives both one hidden class, and code optimised for the fleet's options is
 * not deoptimised by this one.
 */
export function withShapes(opt: GpuOption, shapes: readonly SliceShape[]): GpuOption {
  return {
    type: opt.type,
    gpu: opt.gpu,
    mig: opt.mig,
    pricePerGpuHour: opt.pricePerGpuHour,
    priceKnown: opt.priceKnown,
    nodeOptions: opt.nodeOptions,
    computeSlices: opt.computeSlices,
    memorySlices: opt.memorySlices,
    shapes,
    index: opt.index,
  };
}

export function resolveGpuOptions(fleet: Fleet): GpuOption[] {
  if (fleet.gpus.length === 0) throw new PlanError(['gpus: expected at least one gpu type, got none']);
  const problems = fleet.gpus.flatMap((g, i) => gpuProblems(g, i));
  if (problems.length > 0) throw new PlanError(problems);
  const seen = new Set<string>();
  const out: GpuOption[] = [];
  fleet.gpus.forEach((g, i) => {
    const key = `${g.type}/${g.mig}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(resolveGpuOption(g, i));
  });
  return out;
}

const MICRO = 1e6;
const mixMemo = new WeakMap<GpuOption, { cost: number[]; nodes: number[]; pick: number[] }>();

/**
 * The cheapest whole nodes carrying `gpus` GPUs of an option (several instance types may mix):
 * least cost per hour, then fewest nodes, then the larger instance. E.g. 2 H100 → 2 × p5.4xlarge
 * ($13.76/h), 8 → 1 × p5.48xlarge, 9 → 1 × p5.48xlarge + 1 × p5.4xlarge.
 */
export function nodeMix(opt: GpuOption, gpus: number): NodeMix {
  const n = Math.max(0, Math.ceil(gpus - 1e-9));
  const ns = opt.nodeOptions;
  let t = mixMemo.get(opt);
  if (!t) {
    t = { cost: [0], nodes: [0], pick: [-1] };
    mixMemo.set(opt, t);
  }
  // f(g): cheapest nodes carrying at least g GPUs, in integer micro-dollars (exact ties)
  for (let g = t.cost.length; g <= n; g++) {
    let bc = Infinity;
    let bn = Infinity;
    let bp = -1;
    ns.forEach((o, k) => {
      const prev = Math.max(0, g - o.gpusPerNode);
      const c = t.cost[prev] + Math.round(o.pricePerGpuHour * o.gpusPerNode * MICRO);
      const nn = t.nodes[prev] + 1;
      if (c < bc || (c === bc && nn < bn)) {
        bc = c;
        bn = nn;
        bp = k;
      }
    });
    t.cost.push(bc);
    t.nodes.push(bn);
    t.pick.push(bp);
  }
  const counts = ns.map(() => 0);
  for (let g = n; g > 0; g = Math.max(0, g - ns[t.pick[g]].gpusPerNode)) counts[t.pick[g]]++;
  const nodes = ns.map((node, k) => ({ node, count: counts[k] })).filter((x) => x.count > 0);
  const cost = nodes.reduce((s, x) => s + x.count * x.node.gpusPerNode * x.node.pricePerGpuHour, 0);
  return { nodes, costPerHour: cost, nodeCount: t.nodes[n] };
}
