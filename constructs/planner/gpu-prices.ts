/**
 * What a plan's GPUs cost, by one rule: a GPU on a node of an instance type costs the fleet's `pricePerGpuHour`
 * for its GPU type when the fleet declares one (the first declaration of the type that gives a price), else the
 * catalog's on-demand price of the instance divided by its GPUs. The planner costs nodes by it (`nodePricePerHour`),
 * team consumption prices compute by it, and the CLI's tables and report show these figures instead of pricing on
 * their own. Pure: no I/O.
 */
import { defaultPricePerGpuHour, findGpuType, findInstanceType, pricePerGpuHour } from '../catalog';
import type { Fleet } from '../fleet/types';

/** The fleet's declared price per GPU-hour of a GPU type, if it gives one. */
export function declaredPricePerGpuHour(fleet: Fleet, gpuType: string): number | undefined {
  return fleet.gpus.find((g) => g.type === gpuType && g.pricePerGpuHour !== undefined)?.pricePerGpuHour;
}

/**
 * Price of one GPU per hour on a node of `instanceType`: the fleet's declared price for the GPU type, else the
 * catalog's instance price per GPU; undefined when neither is known.
 */
export function gpuPricePerHour(fleet: Fleet, gpuType: string, instanceType: string | undefined): number | undefined {
  const declared = declaredPricePerGpuHour(fleet, gpuType);
  if (declared !== undefined) return declared;
  const instance = instanceType === undefined ? undefined : findInstanceType(instanceType);
  return instance ? pricePerGpuHour(instance) : undefined;
}

/** A node of a plan as pricing sees it: its GPU type, instance type (when known) and the GPUs paid with it. */
export interface PricedNode {
  readonly gpuType: string;
  readonly instanceType?: string;
  /** GPUs paid for with the node: the plan's GPUs on it plus those it leaves idle. */
  readonly paidGpus: number;
}

/** The price of a GPU type in a plan, and what its nodes cost. */
export interface GpuTypePrice {
  /**
   * One GPU per hour: the fleet's declared price, else the price on the type's first node with a catalog-priced
   * instance type, else the catalog's default instance of the type. Undefined when none is known.
   */
  readonly pricePerGpuHour?: number;
  /**
   * `paidGpus` GPUs of the type per hour: each node's paid GPUs at its own price (`gpuPricePerHour`), the GPUs on no
   * listed node at `pricePerGpuHour`. Undefined without a price.
   */
  readonly costPerHour?: number;
}

/** The price of a GPU type over the plan's nodes, `paidGpus` of its GPUs paid for in all. */
export function gpuTypePrice(fleet: Fleet, gpuType: string, nodes: readonly PricedNode[], paidGpus: number): GpuTypePrice {
  const own = nodes.filter((n) => n.gpuType === gpuType);
  const declared = declaredPricePerGpuHour(fleet, gpuType);
  const instance = own.find((n) => n.instanceType)?.instanceType;
  const price =
    declared ?? gpuPricePerHour(fleet, gpuType, instance) ?? (findGpuType(gpuType) ? defaultPricePerGpuHour(gpuType) : undefined);
  if (price === undefined) return {};
  if (declared !== undefined) return { pricePerGpuHour: price, costPerHour: price * paidGpus };
  let cost = 0;
  let counted = 0;
  for (const n of own) {
    cost += (gpuPricePerHour(fleet, gpuType, n.instanceType) ?? price) * n.paidGpus;
    counted += n.paidGpus;
  }
  return { pricePerGpuHour: price, costPerHour: cost + price * Math.max(0, paidGpus - counted) };
}
