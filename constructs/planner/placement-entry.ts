/**
 * What a placement of a plan is worth under a fleet: the entry (throughput, latency) a model runs at on a
 * slice, the slices a node offers, and a plan's servers keyed by content. Used by the re-planner and the
 * migration generator (never by the migration checker, which has its own).
 */
import { findGpuType, findInstanceType, findMigProfile, wholeGpuSliceSize } from '../catalog';
import { throughputFigure } from '../fleet/throughput';
import type { Fleet, ModelSpec } from '../fleet/types';
import { ESTIMATE_DERATE } from './entries';
import { gpuPricePerHour } from './gpu-prices';
import type { Plan, PlanMigConfig, PlanNode, PlanSlice } from './types';

export interface SliceFacts {
  /** `ProfileEntry.slice` of the slice (compute slices; the whole GPU's size for `whole`). */
  readonly size: number;
  /** Fraction of the GPU's compute. */
  readonly fraction: number;
  /** Memory as the driver reports it (GiB). */
  readonly memoryGiB: number;
}

/** Size, compute fraction and memory of a slice of a GPU type; undefined for an unknown type or profile. */
export function sliceFacts(gpuType: string, profile: string): SliceFacts | undefined {
  const gpu = findGpuType(gpuType);
  if (!gpu) return undefined;
  if (profile === 'whole') return { size: wholeGpuSliceSize(gpu), fraction: 1, memoryGiB: gpu.memoryGiB };
  const p = findMigProfile(gpu, profile);
  if (!p || !gpu.mig) return undefined;
  return { size: p.computeSlices, fraction: p.computeSlices / gpu.mig.computeSlices, memoryGiB: p.memoryGiB };
}

export interface EntryFacts {
  readonly throughput: number;
  readonly latencyMs: number;
}

/**
 * The entry a model runs at on a slice at (batch, instances): its measured entry for the GPU type, or — when it
 * has none for the type — the documented estimate (batch 1, instances 1). Undefined when neither exists.
 */
export function entryFor(model: ModelSpec, gpuType: string, profile: string, batch: number, instances: number): EntryFacts | undefined {
  const facts = sliceFacts(gpuType, profile);
  if (!facts) return undefined;
  const own = model.profiles.filter((p) => p.gpu === gpuType);
  if (own.length > 0) {
    const e = own.find((p) => p.slice === facts.size && p.batch === batch && p.instances === instances);
    return e && e.throughput > 0 ? { throughput: e.throughput, latencyMs: e.latencyMs } : undefined;
  }
  const figure = throughputFigure(model, gpuType);
  if (figure !== undefined && batch === 1 && instances === 1) {
    const throughput = figure * facts.fraction * ESTIMATE_DERATE;
    return { throughput, latencyMs: 1000 / throughput };
  }
  return undefined;
}

/** An admissible entry of a model on a slice: within its latency budget and, alone, within the slice's memory. */
export interface SliceCandidate extends EntryFacts {
  readonly batch: number;
  readonly instances: number;
  readonly memGiB: number;
}

/** Admissible entries of a model on a slice, highest throughput first. */
export function candidatesOn(fleet: Fleet, model: ModelSpec, gpuType: string, profile: string): SliceCandidate[] {
  const facts = sliceFacts(gpuType, profile);
  if (!facts) return [];
  const budget = fleet.latencyHeadroom * model.latencySloMs;
  const room = facts.memoryGiB - fleet.processOverheadGiB;
  const own = model.profiles.filter((p) => p.gpu === gpuType);
  const raw: SliceCandidate[] = [];
  if (own.length > 0) {
    for (const p of own) {
      if (p.slice !== facts.size || !(p.throughput > 0)) continue;
      raw.push({
        batch: p.batch,
        instances: p.instances,
        throughput: p.throughput,
        latencyMs: p.latencyMs,
        memGiB: model.memoryGiB * p.instances,
      });
    }
  } else if (throughputFigure(model, gpuType) !== undefined) {
    const throughput = throughputFigure(model, gpuType)! * facts.fraction * ESTIMATE_DERATE;
    raw.push({ batch: 1, instances: 1, throughput, latencyMs: 1000 / throughput, memGiB: model.memoryGiB });
  }
  return raw
    .filter((c) => c.latencyMs <= budget && c.memGiB <= room + 1e-9)
    .sort(
      (a, b) =>
        b.throughput - a.throughput || a.latencyMs - b.latencyMs || a.memGiB - b.memGiB || a.batch - b.batch || a.instances - b.instances,
    );
}

/** GPUs of an instance type (the catalog's count; 1 for an instance the catalog does not know). */
export function gpusPerInstance(instanceType: string): number {
  return findInstanceType(instanceType)?.gpuCount ?? 1;
}

/**
 * Price per hour of one node: GPUs × the fleet's price per GPU of that type when it sets one, else the
 * catalog's price of the instance (0 when neither is known).
 */
export function nodePricePerHour(fleet: Fleet, gpuType: string, instanceType: string): number {
  return gpusPerInstance(instanceType) * (gpuPricePerHour(fleet, gpuType, instanceType) ?? 0);
}

/** Per GPU of a node: its slices' profiles (the node configuration's devices, or whole GPUs). */
export function nodeDevices(plan: Plan, node: PlanNode): string[][] {
  const gpus = gpusPerInstance(node.instanceType);
  const cfg = (plan.migConfigs ?? []).find((c) => c.name === node.migConfig && c.gpuType === node.gpuType);
  if (!cfg) {
    // whole GPUs, or a node whose configuration the plan does not list: its listed GPUs, the rest whole
    const listed = plan.gpus.filter((g) => g.node === node.name).map((g) => g.slices.map((s) => s.profile));
    const count = Math.max(gpus, listed.length);
    return Array.from({ length: count }, (_, i) => listed[i] ?? (node.migConfig === 'all-disabled' ? ['whole'] : []));
  }
  return devicesOf(cfg, Math.max(gpus, cfg.devices.length));
}

/** The devices of a configuration for a node of `gpus` GPUs (a single entry applies to every GPU). */
export function devicesOf(cfg: PlanMigConfig, gpus: number): string[][] {
  return Array.from({ length: gpus }, (_, i) => (cfg.devices[cfg.devices.length === 1 ? 0 : i] ?? []).map((s) => s.profile));
}

/** Content key of a slice's server: profile and models at their entries (shares left out), or the cache marker. */
export function serverKey(profile: string, slice: Pick<PlanSlice, 'models' | 'cache'>): string {
  if (slice.cache) return `${profile}|cache`;
  return `${profile}|${slice.models
    .map((m) => `${m.name}:${m.batch}x${m.instances}`)
    .sort()
    .join(',')}`;
}

/** Content key of a node's configuration: GPU type, instance type and per-GPU profile counts. */
export function configContent(gpuType: string, instanceType: string, devices: readonly (readonly string[])[]): string {
  return `${gpuType}|${instanceType}|${devices.map((d) => [...d].sort().join('+')).join('/')}`;
}
