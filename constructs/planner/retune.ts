/**
 * Re-tuning a shared slice: to make room for one more model, the models already on the slice may
 * switch to other entries of their profile (e.g. a smaller batch: less latency for the neighbours,
 * more share of the slice). Small slices only (a few seats, exhaustive over their entries).
 */
import type { Candidate } from './entries';
import { ModelInput, roundShareUp, Seat, SliceState } from './pack';

/** Seats a slice may have for re-tuning to be tried. */
export const RETUNE_MAX_SEATS = 3;
const MAX_OPTIONS = 8;

/**
 * Places up to `want` rps of `input` on the slice by re-choosing the entries of its seats; applies
 * the best combination (most rps placed) and returns the rps placed and an undo, or 0 when no
 * combination takes at least `min` rps.
 */
export function retuneInto(
  sl: SliceState,
  byName: ReadonlyMap<string, ModelInput>,
  input: ModelInput,
  budget: number,
  want: number,
  min: number,
): { rps: number; undo: () => void } | undefined {
  if (sl.seats.length === 0 || sl.seats.length > RETUNE_MAX_SEATS) return undefined;
  const seats = sl.seats.slice();
  const options: Candidate[][] = seats.map((s) =>
    byName
      .get(s.model.name)!
      .cands[sl.shapeIndex].filter((c) => c.throughput >= s.rps)
      .slice(0, MAX_OPTIONS),
  );
  const mine = input.cands[sl.shapeIndex].slice(0, MAX_OPTIONS);
  if (mine.length === 0 || options.some((o) => o.length === 0)) return undefined;
  const minBudget = seats.reduce((b, s) => Math.min(b, s.budget), budget);
  const cap = sl.shape.memoryGiB + 1e-9;
  let best: { combo: Candidate[]; mine: Candidate; rps: number; share: number } | undefined;
  const combo: Candidate[] = [];
  const walk = (i: number, share: number, lat: number, mem: number): void => {
    if (share > 1 || lat > minBudget || mem > cap) return;
    if (i === seats.length) {
      for (const c of mine) {
        if (lat + c.latencyMs > minBudget || mem + c.memGiB > cap) continue;
        const rps = Math.min(want, Math.floor((1 - share - 2e-6) * c.throughput * 1e6) / 1e6);
        if (rps <= 0) continue;
        if (!best || rps > best.rps + 1e-9 || (Math.abs(rps - best.rps) <= 1e-9 && share < best.share - 1e-12)) {
          best = { combo: combo.slice(), mine: c, rps, share };
        }
      }
      return;
    }
    for (const c of options[i]) {
      combo.push(c);
      walk(i + 1, share + roundShareUp(seats[i].rps / c.throughput), lat + c.latencyMs, mem + c.memGiB);
      combo.pop();
    }
  };
  walk(0, 0, 0, sl.memory - seats.reduce((m, s) => m + s.cand.memGiB, 0));
  const b = best;
  if (!b || b.rps < min) return undefined;
  const old: Seat[] = seats;
  while (sl.seats.length > 0) sl.pop();
  seats.forEach((s, i) => sl.add({ ...s, cand: b.combo[i], share: roundShareUp(s.rps / b.combo[i].throughput) }));
  const rps = b.rps;
  sl.add({ model: input.model, budget, cand: b.mine, rps, share: roundShareUp(rps / b.mine.throughput) });
  if (sl.share > 1 + 1e-12) {
    while (sl.seats.length > 0) sl.pop();
    for (const s of old) sl.add(s);
    return undefined;
  }
  return {
    rps,
    undo: () => {
      while (sl.seats.length > 0) sl.pop();
      for (const s of old) sl.add(s);
    },
  };
}
