/**
 * What the planner may buy: each fleet GPU type resolved against the catalog into its slice
 * sizes (MIG profiles or the whole GPU), price and node (instance) shape.
 */
import {
  defaultInstanceType, findGpuType, findInstanceType, gpuTypeIds, INSTANCE_TYPES, pricePerGpuHour, wholeGpuSliceSize,
} from '../catalog';
import type { GpuType, InstanceType, MigProfile } from '../catalog';
import type { Fleet, FleetGpu } from '../fleet/types';

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

/** A fleet GPU type, resolved. */
export interface GpuOption {
  readonly type: string;
  readonly gpu: GpuType;
  readonly mig: boolean;
  readonly pricePerGpuHour: number;
  readonly priceKnown: boolean;
  readonly instanceType: string;
  readonly gpusPerNode: number;
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

export function resolveGpuOption(g: FleetGpu, index: number): GpuOption {
  const gpu = findGpuType(g.type);
  if (!gpu) {
    throw new Error(`gpus[${index}].type: unknown gpu type "${g.type}", expected one of ${gpuTypeIds().join(', ')}`);
  }
  const mig = g.mig && gpu.mig !== undefined && usableMigProfiles(gpu).length > 0;
  let inst: InstanceType | undefined;
  if (g.instanceType !== undefined) {
    inst = findInstanceType(g.instanceType);
    if (!inst || inst.gpuType !== g.type) {
      throw new Error(`gpus[${index}].instanceType: "${g.instanceType}" does not carry ${g.type} gpus, expected one of ${instancesOf(g.type).map((i) => i.name).join(', ') || '(none in the catalog)'}`);
    }
  } else {
    inst = defaultInstanceType(g.type) ?? instancesOf(g.type).sort((a, b) => b.gpuCount - a.gpuCount || a.name.localeCompare(b.name))[0];
  }
  let price = g.pricePerGpuHour;
  if (price === undefined && inst) price = pricePerGpuHour(inst);
  const computeSlices = mig ? gpu.mig!.computeSlices : 7;
  const shapes: SliceShape[] = [];
  if (mig) {
    for (const p of usableMigProfiles(gpu)) {
      shapes.push({
        profile: p.name,
        entrySlice: p.computeSlices,
        computeFraction: p.computeSlices / gpu.mig!.computeSlices,
        computeSlices: p.computeSlices,
        memoryGiB: p.memoryGiB,
        memorySlices: p.memorySlices,
        starts: p.placements.map((x) => x.start).sort((a, b) => a - b),
        maxInstances: p.maxInstances,
      });
    }
    shapes.sort((a, b) => a.computeSlices - b.computeSlices || a.memorySlices - b.memorySlices || a.profile.localeCompare(b.profile));
  } else {
    shapes.push({ profile: 'whole', entrySlice: wholeGpuSliceSize(gpu), computeFraction: 1, computeSlices: 7, memoryGiB: gpu.memoryGiB, memorySlices: 0, starts: [0], maxInstances: 1 });
  }
  return {
    type: g.type,
    gpu,
    mig,
    pricePerGpuHour: price ?? 0,
    priceKnown: price !== undefined,
    instanceType: inst?.name ?? `${g.type.toLowerCase()}-node`,
    gpusPerNode: inst?.gpuCount ?? 1,
    computeSlices,
    memorySlices: mig ? gpu.mig!.memorySlices : 0,
    shapes,
    index,
  };
}

export function resolveGpuOptions(fleet: Fleet): GpuOption[] {
  if (fleet.gpus.length === 0) throw new Error('gpus: expected at least one gpu type, got none');
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
