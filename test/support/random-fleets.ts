/**
 * Random valid fleets for the planner's properties (issue 14): each seed gives one fleet, as a raw document
 * that passes `validateFleet` (so it is exactly what `gpufleet plan` would plan), mixing
 * - models with measured profiles (random families: throughput and latency rise with batch and instances,
 *   with noise; numbers written to 3 decimals, as a profiler's CSV would be), models with only
 *   `throughputPerGpu`, and models with profiles for one GPU type and `throughputPerGpu` for the others;
 * - one to three GPU types, MIG and whole, with and without a price per GPU;
 * - latency headrooms, process overheads, tight and loose SLOs, small and large memories;
 * - cold tiers (`coldBelowRps`) on about a third of the fleets.
 *
 * Deterministic (a seeded PRNG), used by test/planner-hardening.test.ts (a quick run) and by
 * bench/fleet-properties.bench.ts (2,000 fleets). `checkFleetProperties` is the property itself.
 */
import { validateFleet } from '../../constructs/fleet';
import type { Fleet } from '../../constructs/fleet/types';
import { baselines, PlanError, plan, verifyPlan } from '../../constructs/planner';
import type { Plan, PlanOptions } from '../../constructs/planner/types';
import { mulberry32 as rng } from '../../constructs/planner/random';

export { rng };

interface GpuChoice {
  type: string;
  mig?: boolean;
  sizes: number[];
  price?: number;
}

/** GPU types the fleets draw from; `sizes` are the slice sizes a profile row may name. */
const GPUS: GpuChoice[] = [
  { type: 'A100-80GB', sizes: [1, 2, 3, 4, 7] },
  { type: 'A100-40GB', sizes: [1, 2, 3, 4, 7] },
  { type: 'H100-80GB', sizes: [1, 2, 3, 4, 7] },
  { type: 'H100-94GB', sizes: [1, 2, 3, 4, 7], price: 4.5 },
  { type: 'H200-141GB', sizes: [1, 2, 3, 4, 7] },
  { type: 'A30', sizes: [1, 2, 4], price: 1.2 },
  { type: 'A100-80GB', mig: false, sizes: [7] },
  { type: 'H100-80GB', mig: false, sizes: [7] },
  { type: 'L4', sizes: [7] },
  { type: 'A10G', sizes: [7] },
  { type: 'L40S', sizes: [7] },
  { type: 'T4', sizes: [7] },
];

const round3 = (x: number): number => Math.max(0.001, Math.round(x * 1000) / 1000);

/** One random fleet document (valid: `validateFleet` accepts it). */
export function randomFleetDocument(seed: number): Record<string, unknown> {
  const r = rng(seed * 2654435761 + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const logUniform = (lo: number, hi: number): number => Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)));

  // 1-3 distinct GPU types (a type appears once in a fleet)
  const nGpus = r() < 0.55 ? 1 : r() < 0.7 ? 2 : 3;
  const chosen: GpuChoice[] = [];
  while (chosen.length < nGpus) {
    const g = pick(GPUS);
    if (!chosen.some((c) => c.type === g.type)) chosen.push(g);
  }
  const gpus = chosen.map((g) => ({
    type: g.type,
    ...(g.mig !== undefined ? { mig: g.mig } : {}),
    ...(g.price !== undefined ? { pricePerGpuHour: g.price } : r() < 0.2 ? { pricePerGpuHour: round3(logUniform(0.5, 12)) } : {}),
  }));

  const headroom = pick([0.3, 0.5, 0.5, 0.8, 1]);
  const overhead = pick([0, 0.6, 0.6, 1.5]);
  const nModels = 1 + Math.floor(r() * (r() < 0.8 ? 6 : 14));
  const models: Record<string, unknown>[] = [];
  for (let i = 0; i < nModels; i++) {
    const kind = r();
    const speed = logUniform(5, 3000); // requests/s of batch 1 on a whole GPU
    const memoryGiB = round3(r() < 0.85 ? logUniform(0.1, 6) : logUniform(6, 40));
    const profiled = kind < 0.45 ? chosen : kind < 0.7 ? [] : chosen.filter(() => r() < 0.5);
    const profiles: Record<string, unknown>[] = [];
    let fastest = Infinity;
    for (const g of profiled) {
      const whole = Math.max(...g.sizes);
      for (const slice of g.sizes) {
        if (r() < 0.25 && profiles.length > 0) continue; // not every slice measured
        for (const batch of [1, 2, 4, 8, 16, 32]) {
          if (r() < 0.4) continue;
          for (const instances of [1, 2, 3]) {
            if (instances > 1 && r() < 0.5) continue;
            const throughput = round3(
              speed *
                Math.pow(slice / whole, 0.85 + 0.2 * r()) *
                Math.pow(batch, 0.3 + 0.3 * r()) *
                (instances === 1 ? 1 : 1 + 0.1 * r()) *
                (0.8 + 0.4 * r()),
            );
            const latencyMs = round3(((1000 * batch * instances) / throughput) * (0.7 + 0.6 * r()));
            fastest = Math.min(fastest, latencyMs);
            profiles.push({ gpu: g.type, slice, batch, instances, throughput, latencyMs });
          }
        }
      }
    }
    const estimated = profiled.length < chosen.length || profiles.length === 0;
    const figure = estimated ? round3(speed * (0.6 + 0.8 * r())) : undefined;
    if (figure !== undefined) fastest = Math.min(fastest, 1000 / (figure * 0.8));
    // a figure (keyed by GPU type) for every offered type the model has no measured profile on
    const measured = new Set(profiles.map((p) => p.gpu));
    const throughputPerGpu =
      figure === undefined ? undefined : Object.fromEntries(chosen.filter((g) => !measured.has(g.type)).map((g) => [g.type, figure]));
    // the SLO: from a little above the fastest latency (few entries admissible) to very loose
    const sloMs = round3((fastest / headroom) * logUniform(1.05, 60));
    models.push({
      name: `m${i}`,
      team: pick(['vision', 'search', 'ads']),
      rps: round3(logUniform(0.01, r() < 0.15 ? 20000 : 3000)),
      latencySloMs: sloMs,
      memoryGiB,
      ...(profiles.length > 0 ? { profiles } : {}),
      ...(throughputPerGpu !== undefined ? { throughputPerGpu } : {}),
    });
  }
  const doc: Record<string, unknown> = { name: `random-${seed}`, latencyHeadroom: headroom, processOverheadGiB: overhead, gpus, models };
  if (r() < 0.35) {
    const rates = models.map((m) => m.rps as number).sort((a, b) => a - b);
    doc.coldBelowRps = round3(rates[Math.floor(r() * rates.length)] * (0.5 + r()));
  }
  return doc;
}

/** The fleet of a seed, validated (throws on a generator bug: a document `validateFleet` refuses). */
export function randomFleet(seed: number): Fleet {
  const { fleet, problems } = validateFleet(randomFleetDocument(seed));
  if (!fleet) throw new Error(`random fleet ${seed} is not valid: ${problems.slice(0, 3).join('; ')}`);
  return fleet;
}

/** The outcome of one fleet under the properties. */
export interface FleetOutcome {
  /** `plan` threw a `PlanError` (a fleet no GPU can serve, e.g. an SLO below every entry): not a failure. */
  readonly unplannable?: string;
  /** Any other exception from `plan`: a crash (exit 1 in the CLI). */
  readonly crash?: string;
  /** What `verifyPlan` rejects in the plan. */
  readonly rejected: readonly string[];
  /** Each way the plan is worse than a baseline of its own type, or than the same fleet without a cold tier. */
  readonly worse: readonly string[];
  readonly plan?: Plan;
}

/** GPUs of each type a plan uses. */
function gpusByType(p: Plan): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of p.gpus) out.set(g.type, (out.get(g.type) ?? 0) + 1);
  return out;
}

/**
 * The properties of issue 14 on one fleet:
 * 1. `plan` never throws anything but a `PlanError`;
 * 2. `verifyPlan` accepts the plan;
 * 3. per GPU type the plan uses, no more GPUs than the `noMig` and `dedicated` baselines of the models it
 *    places on that type, on that type alone (the fleet's summary baselines when it has one type);
 * 4. with a cold tier: the plan costs no more than the fleet planned without one, and `cold.gpusSaved` /
 *    `cold.gpusWithSeats` are that plan's figures.
 */
export function checkFleetProperties(fleet: Fleet, options: PlanOptions = {}): FleetOutcome {
  let p: Plan;
  try {
    p = plan(fleet, options);
  } catch (e) {
    if (e instanceof PlanError) return { unplannable: e.problems[0], rejected: [], worse: [] };
    return {
      crash: e instanceof Error ? `${e.name}: ${e.message.split('\n').slice(0, 3).join(' | ')}` : String(e),
      rejected: [],
      worse: [],
    };
  }
  const rejected = verifyPlan(fleet, p);
  const worse: string[] = [];
  // 3. baselines per type, for the warm models placed on it (cold models have no seat)
  const placedOn = new Map<string, Map<string, number>>();
  for (const g of p.gpus) {
    for (const s of g.slices) {
      for (const m of s.models) {
        const at = placedOn.get(g.type) ?? new Map<string, number>();
        at.set(m.name, (at.get(m.name) ?? 0) + m.rps);
        placedOn.set(g.type, at);
      }
    }
  }
  const cacheGpus = new Set(p.gpus.filter((g) => g.slices.some((s) => s.cache)).map((g) => g.id));
  for (const [type, count] of gpusByType(p)) {
    const placed = placedOn.get(type);
    if (!placed) continue;
    const own = fleet.models.filter((m) => placed.has(m.name));
    // every placement of a model on this type, with its whole demand (the planner never splits a model over types)
    if (own.some((m) => placed.get(m.name)! < m.rps * (1 - 1e-9) - 1e-9)) continue;
    const sub: Fleet = { ...fleet, gpus: fleet.gpus.filter((g) => g.type === type), models: own };
    delete (sub as { coldBelowRps?: number }).coldBelowRps;
    let b: { dedicated: number; noMig: number };
    try {
      b = baselines(sub);
    } catch (e) {
      if (e instanceof PlanError) continue; // no whole-GPU entry for some model: no baseline to compare with
      throw e;
    }
    const warmGpus =
      count -
      p.gpus.filter((g) => g.type === type && cacheGpus.has(g.id) && g.slices.every((s) => s.cache || s.models.length === 0)).length;
    if (warmGpus > b.noMig) worse.push(`${type}: ${warmGpus} gpus > noMig baseline ${b.noMig}`);
    if (warmGpus > b.dedicated) worse.push(`${type}: ${warmGpus} gpus > dedicated baseline ${b.dedicated}`);
  }
  // 4. a cold tier is never worse than none
  if (fleet.coldBelowRps !== undefined) {
    const warm: Fleet = { ...fleet };
    delete (warm as { coldBelowRps?: number }).coldBelowRps;
    const q = plan(warm, options);
    if (p.summary.costPerHour > q.summary.costPerHour + 1e-9) {
      worse.push(`cold tier: $${p.summary.costPerHour}/h > $${q.summary.costPerHour}/h without it`);
    }
    if (p.cold) {
      if (p.cold.gpusWithSeats !== q.summary.gpuCount)
        worse.push(`cold.gpusWithSeats ${p.cold.gpusWithSeats} != ${q.summary.gpuCount} gpus of the plan without a cold tier`);
      if (p.cold.gpusSaved !== Math.max(0, q.summary.gpuCount - p.summary.gpuCount)) {
        worse.push(`cold.gpusSaved ${p.cold.gpusSaved} != ${q.summary.gpuCount} - ${p.summary.gpuCount}`);
      }
    }
  }
  return { rejected, worse, plan: p };
}
