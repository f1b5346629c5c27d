/**
 * The world `checkMigration` replays a migration in, built on its own from the catalog and the fleet: nodes and their
 * layouts, servers with each model's throughput from its entry looked up here, route weights, and each model's
 * capacity (Σ over its routes of share × throughput). It shares no code with the generator's world
 * (`migration-world.ts`).
 */
import { findGpuType, findInstanceType, findMigProfile, placeProfiles, wholeGpuSliceSize } from '../catalog';
import { throughputFigure } from '../fleet/throughput';
import type { Fleet, ModelSpec } from '../fleet/types';
import { COLD_ROUTE, type MigrationServer } from './migration-types';
import type { Plan } from './types';

export const TOL = 1e-6;

/** Options the migration was made with (its floors). */
export interface MigrationCheckOptions {
  /** @default 1 */
  readonly floor?: number;
  readonly floors?: Readonly<Record<string, number>>;
}

interface Slot {
  size: number;
  fraction: number;
  memoryGiB: number;
}

export function slotOf(gpuType: string, profile: string): Slot | undefined {
  const gpu = findGpuType(gpuType);
  if (!gpu) return undefined;
  if (profile === 'whole') return { size: wholeGpuSliceSize(gpu), fraction: 1, memoryGiB: gpu.memoryGiB };
  const p = findMigProfile(gpu, profile);
  if (!p || !gpu.mig) return undefined;
  return { size: p.computeSlices, fraction: p.computeSlices / gpu.mig.computeSlices, memoryGiB: p.memoryGiB };
}

/** Throughput and latency of a model at (batch, instances) on a slice: its own entry, or the estimate without entries. */
export function entry(
  m: ModelSpec,
  gpuType: string,
  profile: string,
  batch: number,
  instances: number,
): { thr: number; lat: number } | undefined {
  const slot = slotOf(gpuType, profile);
  if (!slot) return undefined;
  const mine = m.profiles.filter((p) => p.gpu === gpuType);
  if (mine.length === 0) {
    const figure = throughputFigure(m, gpuType);
    if (figure === undefined || batch !== 1 || instances !== 1) return undefined;
    const thr = figure * slot.fraction * 0.8;
    return { thr, lat: 1000 / thr };
  }
  const e = mine.find((p) => p.slice === slot.size && p.batch === batch && p.instances === instances);
  return e ? { thr: e.throughput, lat: e.latencyMs } : undefined;
}

/** Per GPU of a plan node: the profiles of its slices (configuration devices, expanded to the instance's GPUs). */
export function devicesOfNode(plan: Plan, name: string): string[][] | undefined {
  const n = (plan.nodes ?? []).find((x) => x.name === name);
  if (!n) return undefined;
  const listed = plan.gpus.filter((g) => g.node === name);
  const count = Math.max(findInstanceType(n.instanceType)?.gpuCount ?? 1, listed.length);
  if (n.migConfig === 'all-disabled') return Array.from({ length: count }, () => ['whole']);
  const c = (plan.migConfigs ?? []).find((x) => x.name === n.migConfig);
  if (!c) return undefined;
  return Array.from({ length: c.devices.length === 1 ? count : c.devices.length }, (_, i) =>
    (c.devices.length === 1 ? c.devices[0] : c.devices[i]).map((s) => s.profile),
  );
}

export const sortedJoin = (xs: readonly string[]): string => [...xs].sort().join('+');
export const layoutKey = (gpus: readonly (readonly string[])[]): string => gpus.map(sortedJoin).sort().join('/');
export const contentKey = (s: {
  profile: string;
  models: readonly { name: string; batch: number; instances: number }[];
  cache?: boolean;
}): string =>
  `${s.profile}|${
    s.cache
      ? 'cache'
      : s.models
          .map((m) => `${m.name}:${m.batch}x${m.instances}`)
          .sort()
          .join(',')
  }`;
export const fmt = (x: number): string => String(Number(x.toPrecision(6)));

export interface CNode {
  name: string;
  instanceType: string;
  gpuType: string;
  migConfig: string;
  gpus: string[][];
  cordoned: boolean;
  temporary: boolean;
}
export interface CServer {
  id: string;
  node: string;
  gpuType: string;
  profile: string;
  models: Map<string, { batch: number; instances: number; thr: number }>;
  shares: Map<string, number>;
  cache: boolean;
  temporary: boolean;
}

export type Weights = { server: string; weight: number }[];

/** The world the checker replays the migration in, rebuilt from the running plan, and what it has seen so far. */
export interface Replay {
  readonly fleet: Fleet;
  readonly specs: Map<string, ModelSpec>;
  readonly options: MigrationCheckOptions;
  readonly nodes: Map<string, CNode>;
  readonly servers: Map<string, CServer>;
  /** Every server id started so far (ids are never reused). */
  readonly everUsed: Set<string>;
  readonly routes: Map<string, Weights>;
  /** Models cold in either plan: the only ones the cold route may carry. */
  readonly coldModels: Set<string>;
  /** Cache servers the cold route needs to count as capacity. */
  readonly coldNeed: number;
  /** `<configuration>|<instance type>` → its layout, the same in both plans. */
  readonly knownConfigs: Map<string, string>;
  /** Every model of the running plan or the fleet, sorted. */
  readonly allModels: string[];
  /** Per model, the capacity it must keep. */
  readonly need: Map<string, number>;
  gpus: number;
  peak: number;
  recutGpus: number;
}

export const cachesOf = (r: Replay): number => [...r.servers.values()].filter((s) => s.cache).length;
export const demandOf = (r: Replay, m: string): number => r.specs.get(m)?.rps ?? 0;
export const floorOf = (r: Replay, m: string): number =>
  r.specs.has(m) ? (r.options.floors?.[m] ?? demandOf(r, m) * (r.options.floor ?? 1)) : 0;

/** A model's capacity now: Σ over its routes of share × throughput (the cold route: its demand, once enough caches run). */
export function capacity(r: Replay, m: string): number {
  let c = 0;
  for (const w of r.routes.get(m) ?? []) {
    if (w.server === COLD_ROUTE) {
      if (cachesOf(r) >= r.coldNeed) c += demandOf(r, m);
      continue;
    }
    const s = r.servers.get(w.server);
    const e = s?.models.get(m);
    if (s && e) c += (s.shares.get(m) ?? 0) * e.thr;
  }
  return c;
}

/** Why a layout is not legal on the GPU type (undefined: it is). */
export function legalLayout(gpuType: string, layout: readonly (readonly string[])[]): string | undefined {
  const gpu = findGpuType(gpuType);
  if (!gpu) return `unknown GPU type ${gpuType}`;
  for (const d of layout) {
    if (d.length === 1 && d[0] === 'whole') continue;
    try {
      if (!placeProfiles(gpu, d)) return `${sortedJoin(d)} is no legal MIG layout of ${gpuType}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return undefined;
}

/** A migration server as the checker sees it: each model's throughput from its entry looked up in the fleet here. */
export function toCServer(specs: ReadonlyMap<string, ModelSpec>, s: MigrationServer): CServer {
  const models = new Map<string, { batch: number; instances: number; thr: number }>();
  for (const m of s.models) {
    const spec = specs.get(m.name);
    const e = spec ? entry(spec, s.gpuType, s.profile, m.batch, m.instances) : undefined;
    models.set(m.name, { batch: m.batch, instances: m.instances, thr: e?.thr ?? 0 });
  }
  return {
    id: s.id,
    node: s.node,
    gpuType: s.gpuType,
    profile: s.profile,
    models,
    shares: new Map(s.models.map((m) => [m.name, m.share])),
    cache: s.cache === true,
    temporary: s.temporary === true,
  };
}

export function serverContent(s: CServer): string {
  return `${s.profile}|${
    s.cache
      ? 'cache'
      : [...s.models.entries()]
          .map(([n, m]) => `${n}:${m.batch}x${m.instances}`)
          .sort()
          .join(',')
  }`;
}
