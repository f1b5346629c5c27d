import { GENERATED_GPU_TYPES } from './generated/gpu-types.generated';
import type { GpuType, MigProfile } from './types';
import { compareText } from './text-order';

/** Every GPU type of the catalog, in catalog order (MIG GPUs first, then whole-GPU types). */
export const GPU_TYPES: readonly GpuType[] = GENERATED_GPU_TYPES;

const BY_ID = new Map(GPU_TYPES.map((g) => [g.id, g]));

/** Catalog ids, sorted. */
export function gpuTypeIds(): string[] {
  return GPU_TYPES.map((g) => g.id).sort();
}

/** The GPU type with this id, or undefined. */
export function findGpuType(id: string): GpuType | undefined {
  return BY_ID.get(id);
}

/** The GPU type with this id; throws `unknown GPU type "X"; known: ...` otherwise. */
export function getGpuType(id: string): GpuType {
  const g = BY_ID.get(id);
  if (!g) throw new Error(`unknown GPU type "${id}"; known: ${gpuTypeIds().join(', ')}`);
  return g;
}

/** Resolves a GPU type or its id. */
export function resolveGpuType(gpu: GpuType | string): GpuType {
  return typeof gpu === 'string' ? getGpuType(gpu) : gpu;
}

/** True when the catalog has usable MIG profiles for this GPU type. */
export function supportsMig(gpu: GpuType | string): boolean {
  const g = resolveGpuType(gpu);
  return !!g.mig && g.mig.profiles.length > 0;
}

/** The MIG profile of this name, or undefined (also for GPUs without MIG). */
export function findMigProfile(gpu: GpuType | string, name: string): MigProfile | undefined {
  return resolveGpuType(gpu).mig?.profiles.find((p) => p.name === name);
}

/** The MIG profile of this name; throws naming the GPU, the profile and the valid names. */
export function getMigProfile(gpu: GpuType | string, name: string): MigProfile {
  const g = resolveGpuType(gpu);
  const p = findMigProfile(g, name);
  if (p) return p;
  if (!g.mig) {
    throw new Error(
      `unknown MIG profile "${name}" for GPU type ${g.id}: ${g.id} has no MIG profiles` +
        (g.migUnavailableReason ? ` (${g.migUnavailableReason})` : ''),
    );
  }
  const omitted = g.mig.omittedProfiles?.find((o) => o.name === name);
  const valid = g.mig.profiles.map((x) => x.name).join(', ');
  if (omitted) {
    throw new Error(`MIG profile "${name}" of GPU type ${g.id} is not usable: ${omitted.reason}; valid: ${valid}`);
  }
  throw new Error(`unknown MIG profile "${name}" for GPU type ${g.id}; valid: ${valid}`);
}

/**
 * The canonical profile for a compute size: not `+me`, fewest memory slices (then name).
 * On A100-80GB: 1 → 1g.10gb, 2 → 2g.20gb, 3 → 3g.40gb, 4 → 4g.40gb, 7 → 7g.80gb.
 * Undefined when the GPU has no MIG profile of that size.
 */
export function profileForSliceSize(gpu: GpuType | string, computeSlices: number): MigProfile | undefined {
  const g = resolveGpuType(gpu);
  const candidates = (g.mig?.profiles ?? [])
    .filter((p) => !p.mediaExtensions && p.computeSlices === computeSlices)
    .sort((a, b) => a.memorySlices - b.memorySlices || compareText(a.name, b.name));
  return candidates[0];
}

/**
 * Compute-slice sizes a fleet profile entry may name for this GPU, ascending. For a MIG GPU the sizes
 * of its usable profiles (A30: 1, 2, 4); for a GPU used whole, only 7 (the whole GPU).
 */
export function sliceSizesOf(gpu: GpuType | string): number[] {
  const g = resolveGpuType(gpu);
  if (!supportsMig(g)) return [7];
  return [...new Set(g.mig!.profiles.filter((p) => !p.mediaExtensions).map((p) => p.computeSlices))].sort((a, b) => a - b);
}

/** The slice size that means "the whole GPU": the GPU's compute slices under MIG (4 on A30), else 7. */
export function wholeGpuSliceSize(gpu: GpuType | string): number {
  const g = resolveGpuType(gpu);
  return supportsMig(g) ? g.mig!.computeSlices : 7;
}
