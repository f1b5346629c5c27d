/**
 * Consolidation after packing: tries to empty the least-loaded GPUs by moving their demand into
 * room left on the other GPUs — free share on existing slices (within their latency and memory
 * limits) and free MIG space for new slices — splitting a model's demand across slices if needed.
 * Every move is journaled and undone when a GPU cannot be emptied completely.
 */
import type { Candidate } from './entries';
import type { GpuOption, SliceShape } from './gpu-options';
import { GpuSpace, unplaceLast } from './gpu-space';
import { footprint, leastOf, ModelInput, PackResult, roundShareUp, roundUp6, SliceState } from './pack';
import { retuneInto } from './retune';
import { SlackIndex } from './slack-index';

type Undo = () => void;

function load(g: GpuSpace, slicesOf: Map<GpuSpace, SliceState[]>): number {
  return (slicesOf.get(g) ?? []).reduce((s, x) => s + x.share * x.shape.computeFraction, 0);
}

/** Largest demand (rps, rounded down to 6 decimals) the candidate can take on the slice, 0 if none. */
function room(sl: SliceState, c: Candidate, budget: number): number {
  if (sl.memory + c.memGiB > sl.shape.memoryGiB + 1e-9) return 0;
  if (sl.latency + c.latencyMs > Math.min(sl.budget, budget)) return 0;
  const free = 1 - sl.share - 2e-6;
  if (free <= 0) return 0;
  return Math.floor(free * c.throughput * 1e6) / 1e6;
}

/** Whether a model (by name) already has a seat on the slice. */
function serves(sl: SliceState, name: string): boolean {
  const seats = sl.seats;
  for (let i = 0; i < seats.length; i++) if (seats[i].model.name === name) return true;
  return false;
}

/**
 * Step 1 of emptying a GPU: moves as much of one model's demand as fits into free share on the
 * given slices (the lists in order; retuning a slice's entries first when allowed). Returns the demand left over.
 * Without retuning, `firstIndex` (when given) finds the slices of the first list, which are its slices without the
 * victim's.
 */
function fillFreeShare(
  targets: readonly (readonly SliceState[])[],
  byName: Map<string, ModelInput>,
  input: ModelInput,
  budget: number,
  remaining: number,
  retune: boolean,
  journal: Undo[],
  firstIndex?: { readonly index: SlackIndex; readonly victim: GpuSpace },
): number {
  const name = input.model.name;
  // without retuning, whose outcome does not depend on free share, latency or memory: the extremes of the model's
  // candidates per shape, to pass over slices none of them fits
  const least = retune ? undefined : leastOf(input);
  // the least demand worth moving to one slice (changes with `remaining`)
  let minUseful = Math.min(remaining, 0.01 * remaining + 1e-6);
  // the lists in order, without concatenating them (a break leaves one list; the next one breaks at once)
  for (let l = 0; l < targets.length; l++) {
    const list = targets[l];
    // the first list's slices through the index: only those where the model's least latency may fit, in order
    const index = l === 0 && least ? firstIndex?.index : undefined;
    const count = index ? index.candidates(least!.latencyMs) : list.length;
    for (let s = 0; s < count; s++) {
      if (remaining <= 1e-9) break;
      const sl = index ? index.slices[index.positions[s]] : list[s];
      if (index && sl.gpu === firstIndex!.victim) continue;
      // Without retuning, a slice that no candidate can use is passed over before its seats and candidates are
      // looked at (the same outcome as trying each candidate): when even the model's least latency or memory there
      // does not fit (room() makes these comparisons for each candidate; on the 1,000-model file 99% of the slices
      // that pass the share test fail on latency), or its free share cannot take a useful part of the demand even
      // at the model's fastest candidate there (every room() is at most free x throughput)
      if (least) {
        if (sl.latency + least.latencyMs[sl.shapeIndex] > Math.min(sl.budget, budget)) continue;
        if (sl.memory + least.memGiB[sl.shapeIndex] > sl.shape.memoryGiB + 1e-9) continue;
        if ((1 - sl.share - 2e-6) * least.throughput[sl.shapeIndex] < minUseful - 1e-9) continue;
      }
      if (serves(sl, name)) continue;
      let best: Candidate | undefined;
      let bestRoom = 0;
      const cands = input.cands[sl.shapeIndex];
      for (let j = 0; j < cands.length; j++) {
        const c = cands[j];
        const r = Math.min(remaining, room(sl, c, budget));
        if (r > bestRoom + 1e-9) {
          bestRoom = r;
          best = c;
        }
      }
      if (retune && bestRoom < remaining - 1e-9) {
        const t = retuneInto(sl, byName, input, budget, roundUp6(remaining), Math.max(minUseful, bestRoom + 1e-6));
        if (t) {
          journal.push(t.undo);
          remaining -= t.rps;
          minUseful = Math.min(remaining, 0.01 * remaining + 1e-6);
          continue;
        }
      }
      if (!best || bestRoom < minUseful) continue;
      const rps = bestRoom >= remaining - 1e-9 ? roundUp6(remaining) : bestRoom;
      const share = roundShareUp(rps / best.throughput);
      if (sl.share + share > 1 + 1e-12) continue;
      sl.add({ model: input.model, budget, cand: best, rps, share });
      journal.push(() => sl.pop());
      remaining -= rps;
      minUseful = Math.min(remaining, 0.01 * remaining + 1e-6);
    }
  }
  return remaining;
}

/**
 * Step 2 of emptying a GPU: places the rest of one model's demand on new slices in free MIG space
 * of the other GPUs, lowest footprint per rps first. Returns false when some demand finds no room.
 */
function openNewSlices(
  opt: GpuOption,
  gpus: readonly GpuSpace[],
  victim: GpuSpace,
  input: ModelInput,
  budget: number,
  remaining: number,
  overhead: number,
  opened: SliceState[],
  journal: Undo[],
): boolean {
  while (remaining > 1e-9) {
    let pick: { g: GpuSpace; shapeIndex: number; start: number; c: Candidate; score: number } | undefined;
    const cands = input.cands;
    for (let shapeIndex = 0; shapeIndex < cands.length; shapeIndex++) {
      const list = cands[shapeIndex];
      // the first GPU (not the victim, with free compute) with a legal start for the candidate's shape: the GPUs do not
      // change while one slice is picked, so it is looked for once per shape, when a candidate first needs it
      let fitShape: SliceShape | undefined;
      let fitGpu: GpuSpace | undefined;
      let fitStart = -1;
      for (let j = 0; j < list.length; j++) {
        const c = list[j];
        const rps = Math.min(remaining, c.throughput);
        const fullness = Math.max(rps / c.throughput, c.latencyMs / budget, (overhead + c.memGiB) / c.shape.memoryGiB);
        const score = (footprint(opt, c.shape) * fullness) / rps; // GPU footprint used per rps served, lower is better
        if (pick && score >= pick.score - 1e-12) continue;
        if (c.shape !== fitShape) {
          fitShape = c.shape;
          fitGpu = undefined;
          fitStart = -1;
          for (let k = 0; k < gpus.length; k++) {
            const g = gpus[k];
            if (g === victim || g.freeCompute <= 0) continue;
            const start = g.bestStart(c.shape);
            if (start >= 0) {
              fitGpu = g;
              fitStart = start;
              break;
            }
          }
        }
        if (fitGpu) pick = { g: fitGpu, shapeIndex, start: fitStart, c, score };
      }
    }
    if (!pick) return false;
    const p = pick;
    p.g.place(p.c.shape, p.start);
    const sl = new SliceState(p.g, p.c.shape, p.start, p.shapeIndex, overhead);
    opened.push(sl);
    journal.push(() => {
      unplaceLast(p.g);
      opened.splice(opened.indexOf(sl), 1);
    });
    const rps = remaining <= p.c.throughput ? Math.min(roundUp6(remaining), p.c.throughput) : p.c.throughput;
    const share = rps >= p.c.throughput ? 1 : roundShareUp(rps / p.c.throughput);
    sl.add({ model: input.model, budget, cand: p.c, rps, share });
    journal.push(() => sl.pop());
    remaining -= rps;
  }
  return true;
}

export function consolidate(
  opt: GpuOption,
  res: PackResult,
  inputs: readonly ModelInput[],
  overhead: number,
  maxAttempts: number,
  retune = false,
): PackResult {
  const byName = new Map(inputs.map((i) => [i.model.name, i]));
  let gpus = res.gpus.slice();
  let slices = res.slices.slice();
  const tried = new Set<GpuSpace>();
  let attempts = 0;
  // without retuning, the slices by latency slack (made again when a GPU is emptied and the slices change)
  let index = retune ? undefined : new SlackIndex(slices);
  while (attempts < maxAttempts && gpus.length > 1) {
    // each GPU's load: its slices' share x compute fraction, added in the slices' order (the same sums as `load`), in
    // one pass without a list per GPU
    const loads = new Map<GpuSpace, number>();
    for (let i = 0; i < slices.length; i++) {
      const s = slices[i];
      loads.set(s.gpu, (loads.get(s.gpu) ?? 0) + s.share * s.shape.computeFraction);
    }
    // the least-loaded GPU not tried yet, the later one of equal loads (what sorting by load, then by
    // index descending, would put first; one pass, no sort)
    let victim: GpuSpace | undefined;
    let least = Infinity;
    for (let i = 0; i < gpus.length; i++) {
      if (tried.has(gpus[i])) continue;
      const l = loads.get(gpus[i]) ?? 0;
      if (victim === undefined || l <= least) {
        victim = gpus[i];
        least = l;
      }
    }
    if (victim === undefined) break;
    tried.add(victim);
    attempts++;
    // in one pass over the slices: the other GPUs' slices, and each model's demand on the victim and the latency
    // budget of its first seat there
    const need = new Map<string, number>();
    const budgets = new Map<string, number>();
    const others: SliceState[] = [];
    for (let i = 0; i < slices.length; i++) {
      const s = slices[i];
      if (s.gpu !== victim) {
        others.push(s);
        continue;
      }
      for (let j = 0; j < s.seats.length; j++) {
        const seat = s.seats[j];
        const name = seat.model.name;
        need.set(name, (need.get(name) ?? 0) + seat.rps);
        if (!budgets.has(name)) budgets.set(name, seat.budget);
      }
    }
    const journal: Undo[] = [];
    const opened: SliceState[] = [];
    let ok = true;
    const names = [...need.keys()].sort((a, b) => need.get(b)! - need.get(a)! || (a < b ? -1 : 1));
    for (const name of names) {
      const input = byName.get(name)!;
      const budget = budgets.get(name)!;
      // 1. free share on existing slices of other GPUs (not already serving this model)
      const remaining = fillFreeShare(
        [others, opened],
        byName,
        input,
        budget,
        need.get(name)!,
        retune,
        journal,
        index && { index, victim },
      );
      // 2. new slices in free MIG space of other GPUs
      ok = openNewSlices(opt, gpus, victim, input, budget, remaining, overhead, opened, journal);
      if (!ok) break;
    }
    if (!ok) {
      for (let i = journal.length - 1; i >= 0; i--) journal[i]();
      continue;
    }
    gpus = gpus.filter((g) => g !== victim);
    slices = [...others, ...opened];
    if (index) index = new SlackIndex(slices);
    tried.clear();
  }
  return { gpus, slices };
}

/**
 * Re-packs the demand of the k least-loaded GPUs from scratch (every packing variant) and keeps
 * the result when it needs fewer GPUs. Repeats while it helps.
 */
export function repackTail(
  res: PackResult,
  inputs: readonly ModelInput[],
  pack: (inputs: ModelInput[]) => PackResult[],
  maxK = 3,
): PackResult {
  const byName = new Map(inputs.map((i) => [i.model.name, i]));
  let gpus = res.gpus.slice();
  let slices = res.slices.slice();
  let improved = true;
  while (improved) {
    improved = false;
    for (let k = 2; k <= Math.min(maxK, gpus.length) && !improved; k++) {
      const slicesOf = new Map<GpuSpace, SliceState[]>();
      for (const g of gpus) slicesOf.set(g, []);
      for (const s of slices) slicesOf.get(s.gpu)!.push(s);
      const victims = new Set(
        gpus
          .map((g, i) => ({ g, i, l: load(g, slicesOf) }))
          .sort((a, b) => a.l - b.l || b.i - a.i)
          .slice(0, k)
          .map((x) => x.g),
      );
      const need = new Map<string, number>();
      for (const g of victims)
        for (const s of slicesOf.get(g)!)
          for (const seat of s.seats) need.set(seat.model.name, (need.get(seat.model.name) ?? 0) + seat.rps);
      const sub: ModelInput[] = [...need.keys()].sort().map((name) => {
        const input = byName.get(name)!;
        return { model: { ...input.model, rps: need.get(name)! }, cands: input.cands };
      });
      let best: PackResult | undefined;
      for (const r of pack(sub)) if (!best || r.gpus.length < best.gpus.length) best = r;
      if (best && best.gpus.length < k) {
        gpus = [...gpus.filter((g) => !victims.has(g)), ...best.gpus];
        slices = [...slices.filter((s) => !victims.has(s.gpu)), ...best.slices];
        improved = true;
      }
    }
  }
  return { gpus, slices };
}
