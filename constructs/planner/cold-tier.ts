/**
 * Cold tier sizing (fleet `coldBelowRps`): models below the threshold get no permanent seat; the
 * model router loads them on demand into the cache servers (Triton on shared cache slices). The cache
 * holds the most requested cold models that together bring `COLD_HIT_RATE` of the cold demand (memory,
 * first-fit decreasing into slices), and has enough slices for all cold demand at each model's cold
 * entry there (`coldEntry`).
 */
import type { ModelSpec } from '../fleet/types';
import type { Candidate } from './entries';
import type { GpuOption } from './gpu-options';
import { GpuSpace, ReachTable } from './gpu-space';
import { footprint, PackResult, SliceState } from './pack';

/** Fraction of cold requests the cache is sized to find loaded. */
export const COLD_HIT_RATE = 0.95;

/**
 * The entry a cold model runs at on a cache slice, chosen from its admissible candidates there (highest
 * throughput first, `candidatesFor` / `candidatesOn` order): the first with one instance. The cache holds one
 * copy of each loaded model — the router counts `memoryGiB` once per model, as the cache is sized — so a
 * multi-instance entry is not one a cache server runs. Undefined when no one-instance entry is admissible: the
 * model cannot be cold on that slice shape. The plan records the choice (`plan.cold.models[].batch`, `instances`).
 */
export function coldEntry<C extends { readonly instances: number }>(candidates: readonly C[]): C | undefined {
  return candidates.find((c) => c.instances === 1);
}

export interface ColdInput {
  readonly model: ModelSpec;
  /** Candidates per option, per shape. */
  readonly cands: readonly (readonly (readonly Candidate[])[])[];
}

export interface ColdSizing {
  readonly option: number;
  readonly shapeIndex: number;
  readonly count: number;
  readonly cacheGiB: number;
}

/** Cheapest (price x GPU footprint x slices) option and shape on which every cold model has a cold entry (`coldEntry`). */
export function sizeColdTier(cold: readonly ColdInput[], opts: readonly GpuOption[], overhead: number): ColdSizing | undefined {
  const byDemand = cold.slice().sort((a, b) => b.model.rps - a.model.rps || (a.model.name < b.model.name ? -1 : 1));
  const total = byDemand.reduce((s, c) => s + c.model.rps, 0);
  let best: (ColdSizing & { cost: number }) | undefined;
  opts.forEach((opt, o) => {
    opt.shapes.forEach((shape, si) => {
      if (!cold.every((c) => coldEntry(c.cands[o][si]) !== undefined)) return;
      // hit set: most requested models covering the target share of cold demand
      const hit: number[] = [];
      let acc = 0;
      for (const c of byDemand) {
        if (acc >= COLD_HIT_RATE * total - 1e-9 && hit.length > 0) break;
        hit.push(c.model.memoryGiB);
        acc += c.model.rps;
      }
      const room = shape.memoryGiB - overhead;
      const bins: number[] = [];
      for (const m of hit.slice().sort((a, b) => b - a)) {
        const i = bins.findIndex((used) => used + m <= room + 1e-9);
        if (i >= 0) bins[i] += m;
        else bins.push(m);
      }
      const time = cold.reduce((s, c) => s + c.model.rps / coldEntry(c.cands[o][si])!.throughput, 0);
      const count = Math.max(1, bins.length, Math.ceil(time - 1e-9));
      const cost = opt.pricePerGpuHour * footprint(opt, shape) * count;
      if (!best || cost < best.cost - 1e-12) {
        best = { option: o, shapeIndex: si, count, cacheGiB: Math.round(hit.reduce((s, m) => s + m, 0) * 1000) / 1000, cost };
      }
    });
  });
  if (!best) return undefined;
  const { option, shapeIndex, count, cacheGiB } = best;
  return { option, shapeIndex, count, cacheGiB };
}

/** Places the cold tier's cache slices into free MIG space of the option's GPUs first, then on new GPUs. */
export function placeColdTier(opt: GpuOption, pack: PackResult | undefined, sizing: ColdSizing, overhead: number): PackResult {
  const gpus = pack ? pack.gpus.slice() : [];
  const slices = pack ? pack.slices.slice() : [];
  const reach = new ReachTable(opt);
  const shape = opt.shapes[sizing.shapeIndex];
  for (let k = 0; k < sizing.count; k++) {
    let g = gpus.find((x) => x.freeCompute > 0 && x.bestStart(shape) >= 0);
    if (!g) {
      g = new GpuSpace(opt, reach);
      gpus.push(g);
    }
    const start = g.bestStart(shape);
    g.place(shape, start);
    const sl = new SliceState(g, shape, start, sizing.shapeIndex, overhead);
    sl.cache = true;
    slices.push(sl);
  }
  return { gpus, slices };
}
