import { getGpuType } from './gpu-types';
import { GENERATED_INSTANCE_TYPES } from './generated/instance-types.generated';
import type { InstanceType } from './types';
import { compareText } from './text-order';

/** Every EC2 GPU instance type of the catalog. */
export const INSTANCE_TYPES: readonly InstanceType[] = GENERATED_INSTANCE_TYPES;

const BY_NAME = new Map(INSTANCE_TYPES.map((i) => [i.name, i]));

const byCountThenName = (a: InstanceType, b: InstanceType): number =>
  a.gpuCount - b.gpuCount || a.vcpu - b.vcpu || compareText(a.name, b.name);

/** Instance types carrying this GPU type, sorted by GPU count, then vCPUs, then name. Throws for an unknown GPU id. */
export function instanceTypesFor(gpuTypeId: string): InstanceType[] {
  getGpuType(gpuTypeId);
  return INSTANCE_TYPES.filter((i) => i.gpuType === gpuTypeId).sort(byCountThenName);
}

/** The instance type of this name, or undefined. */
export function findInstanceType(name: string): InstanceType | undefined {
  return BY_NAME.get(name);
}

/** The instance type of this name; throws listing the known names otherwise. */
export function getInstanceType(name: string): InstanceType {
  const i = BY_NAME.get(name);
  if (!i) {
    throw new Error(`unknown instance type "${name}"; known: ${[...BY_NAME.keys()].sort().join(', ')}`);
  }
  return i;
}

/** Price per GPU-hour of an instance, undefined when the catalog has no price for it. */
export function pricePerGpuHour(instance: InstanceType): number | undefined {
  return instance.onDemandUsdPerHour === undefined ? undefined : instance.onDemandUsdPerHour / instance.gpuCount;
}

/**
 * The priced instance with the most GPUs of this type (p5.48xlarge for H100-80GB); a tie goes to the
 * cheapest per GPU, then the name. Undefined when no instance of this GPU has a price.
 */
export function defaultInstanceType(gpuTypeId: string): InstanceType | undefined {
  const priced = instanceTypesFor(gpuTypeId).filter((i) => i.onDemandUsdPerHour !== undefined);
  priced.sort((a, b) => b.gpuCount - a.gpuCount || pricePerGpuHour(a)! - pricePerGpuHour(b)! || compareText(a.name, b.name));
  return priced[0];
}

/** The default instance's price divided by its GPU count, or undefined when none is priced. */
export function defaultPricePerGpuHour(gpuTypeId: string): number | undefined {
  const i = defaultInstanceType(gpuTypeId);
  return i ? pricePerGpuHour(i) : undefined;
}
