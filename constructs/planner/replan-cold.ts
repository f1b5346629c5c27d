/**
 * The cold tier of a repaired plan (`replan`'s stable candidate): which models the running plan's cache slices keep
 * serving, and at which entry.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import { COLD_HIT_RATE, coldEntry } from './cold-tier';
import { candidatesOn, sliceFacts } from './placement-entry';
import type { Plan } from './types';

export interface ColdDecision {
  readonly names: Set<string>;
  readonly cacheGiB: number;
  /** Per cold model, the entry it runs at on the cache slices (`coldEntry` on the first cache slice). */
  readonly entries: ReadonlyMap<string, { readonly batch: number; readonly instances: number }>;
}

/**
 * The cold tier of the new plan: the running one's cache slices keep serving the models still below
 * `coldBelowRps` that were cold (or are new), as many as the slices' time and memory allow (the busiest go warm
 * first). Undefined without a cold tier.
 */
export function decideCold(fleet: Fleet, previous: Plan): ColdDecision | undefined {
  const below = fleet.coldBelowRps;
  if (!previous.cold || below === undefined) return undefined;
  const warmBefore = new Set(previous.gpus.flatMap((g) => g.slices.flatMap((s) => s.models.map((m) => m.name))));
  const wasCold = new Set(previous.cold.models.map((m) => m.name));
  const caches = previous.gpus.flatMap((g) => g.slices.filter((s) => s.cache).map((s) => ({ gpuType: g.type, profile: s.profile })));
  if (caches.length === 0) return undefined;
  let cands = fleet.models
    .filter((m) => m.rps < below && (wasCold.has(m.name) || !warmBefore.has(m.name)))
    .sort((a, b) => b.rps - a.rps || (a.name < b.name ? -1 : 1));
  const room = caches.reduce((s, c) => s + (sliceFacts(c.gpuType, c.profile)?.memoryGiB ?? 0) - fleet.processOverheadGiB, 0);
  const sizing = (list: ModelSpec[]): number | undefined => {
    let time = 0;
    for (const m of list) {
      let thr = Infinity;
      for (const c of caches) thr = Math.min(thr, coldEntry(candidatesOn(fleet, m, c.gpuType, c.profile))?.throughput ?? 0);
      if (!(thr > 0)) return undefined;
      time += m.rps / thr;
    }
    if (time > caches.length + 1e-9) return undefined;
    const total = list.reduce((s, m) => s + m.rps, 0);
    let acc = 0;
    let gib = 0;
    let hits = 0;
    for (const m of list) {
      if (acc >= COLD_HIT_RATE * total - 1e-9 && hits > 0) break;
      gib += m.memoryGiB;
      acc += m.rps;
      hits++;
    }
    const cacheGiB = Math.round(gib * 1000) / 1000;
    return cacheGiB <= room + 1e-9 ? cacheGiB : undefined;
  };
  while (cands.length > 0) {
    const gib = sizing(cands);
    if (gib !== undefined) {
      const entries = new Map(
        cands.map((m) => {
          const e = coldEntry(candidatesOn(fleet, m, caches[0].gpuType, caches[0].profile))!;
          return [m.name, { batch: e.batch, instances: e.instances }];
        }),
      );
      return { names: new Set(cands.map((m) => m.name)), cacheGiB: gib, entries };
    }
    cands = cands.slice(1);
  }
  return undefined;
}
