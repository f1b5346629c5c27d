/**
 * An independent checker of a plan against the six feasibility rules of DESIGN.md. It shares no
 * code with the planner (only the catalog, and the tolerance both agree on: `RULE_EPSILON` of
 * tolerance.ts), so a planner bug cannot hide behind a shared helper.
 */
import { checkLayout, findGpuType, findMigProfile, wholeGpuSliceSize } from '../catalog';
import { throughputFigure } from '../fleet/throughput';
import type { Fleet, ModelSpec } from '../fleet/types';
import { RULE_EPSILON } from './tolerance';
import type { Plan, PlanModel } from './types';
import { compareText } from '../catalog/text-order';

/** Slack of every comparison: the planner writes its plans within it (tolerance.ts). */
const EPS = RULE_EPSILON;

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))));

interface Entry {
  throughput: number;
  latencyMs: number;
}

/**
 * The entry a model runs at on a slice: the first entry of its profile table with this GPU type,
 * slice size, batch and instances; for a model with no entries for the GPU type but a
 * `throughputPerGpu` figure for it, the documented estimate (batch 1, instances 1, throughput = that figure
 * x computeFraction x 0.8, latency = 1000 / throughput ms). Undefined when neither applies.
 */
function entryOf(m: ModelSpec, gpuType: string, size: number, fraction: number, pm: PlanModel): Entry | undefined {
  // one pass over the rows, none copied: the first of the GPU type's rows that matches, if it has any
  let own = false;
  for (let i = 0; i < m.profiles.length; i++) {
    const p = m.profiles[i];
    if (p.gpu !== gpuType) continue;
    own = true;
    if (p.slice === size && p.batch === pm.batch && p.instances === pm.instances)
      return { throughput: p.throughput, latencyMs: p.latencyMs };
  }
  if (own) return undefined;
  const figure = throughputFigure(m, gpuType);
  if (figure !== undefined && pm.batch === 1 && pm.instances === 1) {
    const throughput = figure * fraction * 0.8;
    return { throughput, latencyMs: 1000 / throughput };
  }
  return undefined;
}

/** Best admissible (latency, memory) throughput of a model on a slice, or the estimate; 0 when none. */
function bestThroughput(fleet: Fleet, m: ModelSpec, gpuType: string, size: number, fraction: number, memory: number): number {
  const own = m.profiles.filter((p) => p.gpu === gpuType);
  if (own.length === 0) return (throughputFigure(m, gpuType) ?? 0) * fraction * 0.8;
  return own
    .filter(
      (p) =>
        p.slice === size &&
        p.latencyMs <= fleet.latencyHeadroom * m.latencySloMs &&
        fleet.processOverheadGiB + m.memoryGiB * p.instances <= memory + EPS,
    )
    .reduce((b, p) => Math.max(b, p.throughput), 0);
}

interface CacheSlice {
  where: string;
  gpuType: string;
  size: number;
  fraction: number;
  memory: number;
}

/**
 * What the checks of one plan share: the fleet's models by name, the rps served per model so far, the cache slices seen, the
 * problems found.
 */
interface Verification {
  readonly fleet: Fleet;
  readonly plan: Plan;
  readonly models: Map<string, ModelSpec>;
  readonly served: Map<string, number>;
  readonly caches: CacheSlice[];
  readonly out: string[];
}

type PlanGpu = Plan['gpus'][number];
type PlanSlice = PlanGpu['slices'][number];
type CatalogGpu = NonNullable<ReturnType<typeof findGpuType>>;
/** A slice's compute size (in the profile tables' units), fraction of the GPU and memory. */
interface SliceGeometry {
  size: number;
  fraction: number;
  memory: number;
}

/** Every violation of rules 1-6 in the plan (empty = valid), each naming gpu, slice, model and numbers. */
export function verifyPlan(fleet: Fleet, plan: Plan): string[] {
  const v: Verification = { fleet, plan, models: new Map(fleet.models.map((m) => [m.name, m])), served: new Map(), caches: [], out: [] };
  const { out } = v;
  const ids = new Set<string>();
  for (const gpu of plan.gpus) {
    if (ids.has(gpu.id)) out.push(`${gpu.id}: gpu id used more than once`);
    ids.add(gpu.id);
    const catalog = layoutProblems(v, gpu);
    if (!catalog) continue;
    for (const slice of gpu.slices) {
      const geometry = sliceGeometry(gpu, catalog, slice);
      if (!geometry) continue; // reported by rule 1
      const where = `${gpu.id} slice ${slice.profile}@${slice.start}`;
      if (slice.cache) cacheSliceProblems(v, where, gpu.type, slice, geometry);
      else sliceProblems(v, where, gpu.type, slice, geometry);
    }
  }
  if (plan.cold) checkCold(fleet, plan, v.caches, v.models, v.served, out);
  for (const m of [...fleet.models].sort((a, b) => compareText(a.name, b.name))) {
    const got = v.served.get(m.name);
    if (got === undefined) out.push(`rule 6 (demand): model ${m.name} is not placed (demand ${fmt(m.rps)} rps)`);
    else if (got < m.rps * (1 - EPS) - EPS)
      out.push(`rule 6 (demand): model ${m.name} is served ${fmt(got)} rps < demand ${fmt(m.rps)} rps`);
  }
  if (plan.summary.gpuCount !== plan.gpus.length) {
    out.push(`summary.gpuCount: ${plan.summary.gpuCount}, but the plan lists ${plan.gpus.length} gpus`);
  }
  return out;
}

/**
 * Rule 1 on one GPU: a type of the fleet, used with MIG as the fleet uses it, a legal layout. Returns its catalog entry, or
 * undefined when its slices cannot be checked.
 */
function layoutProblems(v: Verification, gpu: PlanGpu): CatalogGpu | undefined {
  const { fleet, out } = v;
  const catalog = findGpuType(gpu.type);
  const allowed = fleet.gpus.filter((g) => g.type === gpu.type);
  if (!catalog || allowed.length === 0) {
    out.push(
      `rule 1 (layout): ${gpu.id}: gpu type "${gpu.type}" is not among the fleet's gpus (${fleet.gpus.map((g) => g.type).join(', ')})`,
    );
    return undefined;
  }
  if (gpu.mig) {
    if (!allowed.some((g) => g.mig) || !catalog.mig) {
      out.push(`rule 1 (layout): ${gpu.id}: partitioned with MIG, but the fleet uses ${gpu.type} without MIG`);
      return undefined;
    }
    for (const p of checkLayout(
      catalog,
      gpu.slices.map((s) => ({ profile: s.profile, start: s.start })),
    )) {
      out.push(`rule 1 (layout): ${gpu.id}: ${p}`);
    }
  } else {
    if (!allowed.some((g) => !g.mig)) out.push(`rule 1 (layout): ${gpu.id}: used whole, but the fleet partitions ${gpu.type} with MIG`);
    if (gpu.slices.length !== 1 || gpu.slices[0].profile !== 'whole' || gpu.slices[0].start !== 0) {
      out.push(
        `rule 1 (layout): ${gpu.id}: a gpu without MIG has exactly one slice "whole" at start 0, ` +
          `got ${gpu.slices.map((s) => `${s.profile}@${s.start}`).join(', ') || 'none'}`,
      );
    }
  }
  return catalog;
}

/** The slice's size, fraction and memory from the catalog; undefined for a MIG profile the GPU does not have. */
function sliceGeometry(gpu: PlanGpu, catalog: CatalogGpu, slice: PlanSlice): SliceGeometry | undefined {
  if (!gpu.mig) return { size: wholeGpuSliceSize(catalog), fraction: 1, memory: catalog.memoryGiB };
  const prof = findMigProfile(catalog, slice.profile);
  if (!prof) return undefined;
  return { size: prof.computeSlices, fraction: prof.computeSlices / catalog.mig!.computeSlices, memory: prof.memoryGiB };
}

/** A cache slice belongs to the cold tier and carries no models; it is kept for the cold tier's checks. */
function cacheSliceProblems(v: Verification, where: string, gpuType: string, slice: PlanSlice, g: SliceGeometry): void {
  if (!v.plan.cold) v.out.push(`cold tier: ${where} is a cache slice, but the plan has no cold tier`);
  if (slice.models.length > 0)
    v.out.push(`cold tier: ${where} is a cache slice and must carry no models, got ${slice.models.map((x) => x.name).join(', ')}`);
  v.caches.push({ where, gpuType, size: g.size, fraction: g.fraction, memory: g.memory });
}

/**
 * Rules 2-5 on one serving slice: each model at an entry of its profile, within its share, the shares within 1, everyone's
 * latency budget and the slice's memory.
 */
function sliceProblems(v: Verification, where: string, gpuType: string, slice: PlanSlice, g: SliceGeometry): void {
  const { fleet, out } = v;
  let shares = 0;
  let latency = 0;
  let mem = fleet.processOverheadGiB;
  const placed: { pm: PlanModel; m: ModelSpec }[] = [];
  for (const pm of slice.models) {
    const m = v.models.get(pm.name);
    if (!m) {
      out.push(`rule 2 (configurations): ${where}: model "${pm.name}" is not in the fleet`);
      continue;
    }
    v.served.set(pm.name, (v.served.get(pm.name) ?? 0) + pm.rps);
    mem += m.memoryGiB * pm.instances;
    shares += pm.share;
    if (!(pm.share >= 0) || !(pm.rps >= 0))
      out.push(`rule 3 (time): ${where}: ${pm.name} has share ${pm.share} and rps ${pm.rps}, expected numbers >= 0`);
    const e = entryOf(m, gpuType, g.size, g.fraction, pm);
    if (!e) {
      out.push(
        `rule 2 (configurations): ${where}: ${pm.name} runs at batch ${pm.batch}, instances ${pm.instances}, ` +
          `which is no entry of its ${gpuType} profile for slice ${g.size}` +
          (m.profiles.some((p) => p.gpu === gpuType)
            ? ''
            : throughputFigure(m, gpuType) === undefined
              ? ` (it has neither profiles nor a throughputPerGpu figure for ${gpuType})`
              : ' (nor the estimate: batch 1, instances 1)'),
      );
      continue;
    }
    if (pm.rps > pm.share * e.throughput * (1 + EPS) + EPS) {
      out.push(
        `rule 3 (time): ${where}: ${pm.name} serves ${fmt(pm.rps)} rps > ` +
          `share ${fmt(pm.share)} x throughput ${fmt(e.throughput)} = ${fmt(pm.share * e.throughput)}`,
      );
    }
    latency += e.latencyMs;
    placed.push({ pm, m });
  }
  if (shares > 1 + EPS) out.push(`rule 3 (time): ${where}: shares add up to ${fmt(shares)} > 1`);
  for (const { m } of placed) {
    const budget = fleet.latencyHeadroom * m.latencySloMs;
    if (latency > budget + EPS) {
      out.push(
        `rule 4 (latency): ${where}: ${m.name} waits ${fmt(latency)} ms (its batch plus its neighbours') > ` +
          `${fleet.latencyHeadroom} x SLO ${fmt(m.latencySloMs)} ms = ${fmt(budget)} ms`,
      );
    }
  }
  if (slice.models.length > 0 && mem > g.memory + EPS) {
    out.push(
      `rule 5 (memory): ${where}: ${fmt(fleet.processOverheadGiB)} GiB overhead + models need ${fmt(mem)} GiB > ` +
        `${fmt(g.memory)} GiB of the slice`,
    );
  }
}

/** The cold tier: its models are below coldBelowRps, fit every cache slice, and their demand fits the cache slices' time. */
function checkCold(
  fleet: Fleet,
  plan: Plan,
  caches: CacheSlice[],
  models: Map<string, ModelSpec>,
  served: Map<string, number>,
  out: string[],
): void {
  const cold = plan.cold!;
  const below = fleet.coldBelowRps;
  if (below === undefined) out.push('cold tier: the plan has a cold tier, but the fleet sets no coldBelowRps');
  const listed = new Set(cold.slices.map((s) => `${s.gpu} slice ${s.profile}@${s.start}`));
  for (const c of caches) if (!listed.has(c.where)) out.push(`cold tier: ${c.where} is a cache slice missing from cold.slices`);
  for (const k of listed)
    if (!caches.some((c) => c.where === k)) out.push(`cold tier: cold.slices lists ${k}, which is no cache slice of the plan`);
  if (caches.length === 0 && cold.models.length > 0) out.push(`cold tier: ${cold.models.length} cold model(s) but no cache slice`);
  let time = 0;
  for (const cm of cold.models) {
    const m = models.get(cm.name);
    if (!m) {
      out.push(`rule 2 (configurations): cold model "${cm.name}" is not in the fleet`);
      continue;
    }
    if (below === undefined || m.rps >= below)
      out.push(`rule 6 (demand): cold model ${m.name} has demand ${fmt(m.rps)} rps, not below coldBelowRps ${below ?? '(unset)'}`);
    served.set(m.name, (served.get(m.name) ?? 0) + cm.rps);
    if (cm.batch !== undefined && cm.instances !== undefined) {
      time += recordedColdEntryTime(
        fleet,
        m,
        { name: cm.name, batch: cm.batch, instances: cm.instances, rps: cm.rps, share: 0 },
        caches,
        out,
      );
      continue;
    }
    // a plan document written before the planner recorded the cold entry: the best admissible one
    let thr = Infinity;
    for (const c of caches) {
      if (fleet.processOverheadGiB + m.memoryGiB > c.memory + EPS) {
        out.push(
          `rule 5 (memory): ${c.where}: cold model ${m.name} needs ${fmt(fleet.processOverheadGiB)} + ${fmt(m.memoryGiB)} GiB > ` +
            `${fmt(c.memory)} GiB of the cache slice`,
        );
      }
      thr = Math.min(thr, bestThroughput(fleet, m, c.gpuType, c.size, c.fraction, c.memory));
    }
    if (caches.length > 0 && !(thr > 0))
      out.push(`rule 2 (configurations): cold model ${m.name} has no admissible entry on its cache slices`);
    else if (caches.length > 0) time += cm.rps / thr;
  }
  if (time > caches.length + EPS)
    out.push(`rule 3 (time): cold tier: cold demand needs ${fmt(time)} slices of time > ${caches.length} cache slice(s)`);
  const room = caches.reduce((s, c) => s + c.memory - fleet.processOverheadGiB, 0);
  if (cold.cacheGiB > room + EPS)
    out.push(`rule 5 (memory): cold tier: cache of ${fmt(cold.cacheGiB)} GiB > ${fmt(room)} GiB free on its cache slices`);
}

/**
 * The cold entry the plan records for a cold model (`cold.models[].batch`, `instances`), checked on every cache
 * slice: an entry of its profile table for the slice (rule 2), within its latency budget (rule 4: a cache server
 * runs one loaded model's batch at a time), one instance (the cache holds one copy of each loaded model) that fits
 * the slice (rule 5). Returns the slices of time its demand takes (rule 3), at the slowest cache slice.
 */
function recordedColdEntryTime(fleet: Fleet, m: ModelSpec, pm: PlanModel, caches: readonly CacheSlice[], out: string[]): number {
  const at = `cold model ${m.name} at batch ${pm.batch} x ${pm.instances} instance(s)`;
  if (pm.instances !== 1)
    out.push(`rule 2 (configurations): ${at}: a cache slice holds one copy of each loaded model, expected instances 1`);
  let thr = Infinity;
  for (const c of caches) {
    const e = entryOf(m, c.gpuType, c.size, c.fraction, pm);
    if (!e) {
      out.push(
        `rule 2 (configurations): ${c.where}: ${at} is no entry of its profile table (nor its estimate) ` +
          `for ${c.gpuType} slice size ${c.size}`,
      );
      thr = 0;
      continue;
    }
    if (e.latencyMs > fleet.latencyHeadroom * m.latencySloMs + EPS) {
      out.push(
        `rule 4 (latency): ${c.where}: ${at}: latency ${fmt(e.latencyMs)} ms > ` +
          `${fmt(fleet.latencyHeadroom)} x SLO ${fmt(m.latencySloMs)} ms`,
      );
    }
    if (fleet.processOverheadGiB + m.memoryGiB * pm.instances > c.memory + EPS) {
      out.push(
        `rule 5 (memory): ${c.where}: ${at} needs ${fmt(fleet.processOverheadGiB)} + ${fmt(m.memoryGiB * pm.instances)} GiB > ` +
          `${fmt(c.memory)} GiB of the cache slice`,
      );
    }
    thr = Math.min(thr, e.throughput);
  }
  return caches.length > 0 && thr > 0 ? pm.rps / thr : 0;
}
