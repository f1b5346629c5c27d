/**
 * Profile entries a model may run at on a slice shape: its measured entries for the GPU type,
 * or — only when it has none for that type — the documented estimate from its `throughputPerGpu`
 * figure for that type. A type with neither gives no entry: the model is never placed there.
 */
import { FirstRows } from '../fleet/entry-key';
import { throughputFigure } from '../fleet/throughput';
import type { ModelSpec } from '../fleet/types';
import type { GpuOption, SliceShape } from './gpu-options';

/** Throughput of an estimated entry = throughputPerGpu x compute fraction x this derating. */
export const ESTIMATE_DERATE = 0.8;

/** The estimate rule, as stated in plan notes and docs/planner.md. */
export const ESTIMATE_RULE =
  'models without measured profiles for a gpu type are estimated from their throughputPerGpu figure for that type: ' +
  "on a slice with k of the gpu's C compute slices " +
  `(the whole gpu: k = C) throughput = throughputPerGpu x k/C x ${ESTIMATE_DERATE}, batch 1, instances 1, ` +
  'latency of one batch = 1000 / that throughput ms (one request at a time); measured profiles always win';

export interface Candidate {
  readonly shape: SliceShape;
  readonly batch: number;
  readonly instances: number;
  readonly throughput: number;
  readonly latencyMs: number;
  /** memoryGiB x instances. */
  readonly memGiB: number;
  readonly estimated: boolean;
}

/** Latency budget of a model: latencyHeadroom x SLO. */
export function budgetOf(model: ModelSpec, headroom: number): number {
  return model.latencySloMs * headroom;
}

const PER_GPU = new WeakMap<readonly (readonly Candidate[])[], number>();

/**
 * Best throughput per whole GPU over a model's candidates on every shape (throughput / compute fraction); 0 when none.
 * Computed once per candidate list (the type assignment and every mixing packing variant ask for it).
 */
export function bestThroughputPerGpu(perShape: readonly (readonly Candidate[])[]): number {
  let best = PER_GPU.get(perShape);
  if (best !== undefined) return best;
  best = 0;
  for (let i = 0; i < perShape.length; i++) {
    const list = perShape[i];
    for (let j = 0; j < list.length; j++) best = Math.max(best, list[j].throughput / list[j].shape.computeFraction);
  }
  PER_GPU.set(perShape, best);
  return best;
}

/** Whether the model is planned from the estimate on this GPU type. */
export function isEstimated(model: ModelSpec, opt: GpuOption): boolean {
  return !model.profiles.some((p) => p.gpu === opt.type) && throughputFigure(model, opt.type) !== undefined;
}

/**
 * A profile entry as the planner reads it. Measured entries are the fleet's own profile rows (not copied:
 * a 1,000-model fleet has ~160,000 of them); estimated ones are made from the throughput figure.
 */
export interface RawEntry {
  readonly slice: number;
  readonly batch: number;
  readonly instances: number;
  readonly throughput: number;
  readonly latencyMs: number;
  /** True for an estimate from `throughputPerGpu`; absent for a measured row. */
  readonly estimated?: boolean;
}

const RAW_CACHE = new WeakMap<ModelSpec, Map<string, readonly RawEntry[]>>();

/** Raw entries for a GPU type, deduplicated by (slice, batch, instances), first occurrence kept (cached per model object). */
export function rawEntries(model: ModelSpec, opt: GpuOption): readonly RawEntry[] {
  let perModel = RAW_CACHE.get(model);
  if (!perModel) {
    perModel = new Map();
    RAW_CACHE.set(model, perModel);
  }
  // measured rows do not depend on MIG (the baselines' whole-GPU option reuses the planner's); estimates do
  const key = isEstimated(model, opt) ? `${opt.type}/${opt.mig}` : opt.type;
  let hit = perModel.get(key);
  if (!hit) {
    hit = computeRawEntries(model, opt);
    perModel.set(key, hit);
  }
  return hit;
}

/** The table `computeRawEntries` finds repeated rows with, one model at a time (no Set per model). */
const FIRST_ROWS = new FirstRows();

function computeRawEntries(model: ModelSpec, opt: GpuOption): RawEntry[] {
  const out: RawEntry[] = [];
  if (isEstimated(model, opt)) {
    const seen = new Set<number>();
    for (const s of opt.shapes) {
      if (seen.has(s.entrySlice)) continue;
      seen.add(s.entrySlice);
      const throughput = throughputFigure(model, opt.type)! * s.computeFraction * ESTIMATE_DERATE;
      out.push({ slice: s.entrySlice, batch: 1, instances: 1, throughput, latencyMs: 1000 / throughput, estimated: true });
    }
    return out;
  }
  const seen = FIRST_ROWS;
  const rows = model.profiles;
  seen.reset(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const p = rows[j];
    if (p.gpu !== opt.type) continue;
    if (seen.firstOrAdd(0, p.slice, p.batch, p.instances, j) >= 0) continue;
    if (!(p.throughput > 0) || !(p.latencyMs >= 0)) continue;
    out.push(p);
  }
  return out;
}

/** Whether a kept candidate has at most this latency and memory (the list is in throughput order: at least this throughput). */
function dominated(kept: readonly Candidate[], latencyMs: number, memGiB: number): boolean {
  for (let i = 0; i < kept.length; i++) if (kept[i].latencyMs <= latencyMs && kept[i].memGiB <= memGiB) return true;
  return false;
}

/** The order of `candidatesFor`'s rows: throughput descending, then latency, memory (mem x instances), batch, instances ascending. */
function compareRows(a: RawEntry, b: RawEntry, mem: number): number {
  return (
    b.throughput - a.throughput ||
    a.latencyMs - b.latencyMs ||
    mem * a.instances - mem * b.instances ||
    a.batch - b.batch ||
    a.instances - b.instances
  );
}

/** Lists up to this long are sorted in place by insertion (no comparator call through `Array.prototype.sort`, no work array). */
const INSERTION_SORT_MAX = 64;

/**
 * Sorts rows by `compareRows`, stably: a short list (one slice size of one model, ~30 rows in a measured table) by
 * insertion, a longer one with `Array.prototype.sort` (stable too, so both give the same order).
 */
function sortRows(list: RawEntry[], mem: number): void {
  if (list.length > INSERTION_SORT_MAX) {
    list.sort((a, b) => compareRows(a, b, mem));
    return;
  }
  for (let i = 1; i < list.length; i++) {
    const e = list[i];
    let j = i - 1;
    // moves past the rows that sort after e only (a tie stays before it: stable); written for speed, the throughputs
    // (compareRows' first key) compared here, compareRows called only where they do not decide (equal)
    while (j >= 0) {
      const d = e.throughput - list[j].throughput;
      if (!(d > 0 || (!(d < 0) && compareRows(list[j], e, mem) > 0))) break;
      list[j + 1] = list[j];
      j--;
    }
    list[j + 1] = e;
  }
}

/** Slice sizes below this are looked up by index in `candidatesFor`. */
const SMALL_SLICE = 32;
const NO_ROWS: readonly RawEntry[] = [];

/**
 * Admissible candidates of a model on every shape of a GPU type: latency <= budget and the
 * model alone fits the shape's memory. Pareto-pruned per shape (no other entry has at least the
 * throughput, at most the latency and at most the memory), ordered by throughput descending.
 */
export function candidatesFor(model: ModelSpec, opt: GpuOption, headroom: number, overheadGiB: number): Candidate[][] {
  const budget = budgetOf(model, headroom);
  const mem = model.memoryGiB;
  // admissible rows by slice size, in one pass over the rows: indexed by the size when it is a small integer (all
  // sizes of the catalog's GPUs), in a map otherwise
  const bySmallSlice: (RawEntry[] | undefined)[] = [];
  let bySlice: Map<number, RawEntry[]> | undefined;
  const raw = rawEntries(model, opt);
  for (let j = 0; j < raw.length; j++) {
    const e = raw[j];
    if (e.latencyMs > budget) continue;
    const slice = e.slice;
    if (Number.isInteger(slice) && slice >= 0 && slice < SMALL_SLICE) {
      const list = bySmallSlice[slice];
      if (list) list.push(e);
      else bySmallSlice[slice] = [e];
    } else {
      bySlice ??= new Map();
      const list = bySlice.get(slice);
      if (list) list.push(e);
      else bySlice.set(slice, [e]);
    }
  }
  // one list per shape, in indexed loops: this runs once per model, before the code is optimised
  const shapes = opt.shapes;
  const out: Candidate[][] = [];
  for (let k = 0; k < shapes.length; k++) {
    const shape = shapes[k];
    const list: RawEntry[] = [];
    const size = shape.entrySlice;
    const admissible = (Number.isInteger(size) && size >= 0 && size < SMALL_SLICE ? bySmallSlice[size] : bySlice?.get(size)) ?? NO_ROWS;
    for (let j = 0; j < admissible.length; j++) {
      const e = admissible[j];
      if (overheadGiB + mem * e.instances > shape.memoryGiB) continue;
      list.push(e);
    }
    // throughput descending, then latency, memory (mem x instances), batch, instances ascending; Candidates are made only for the kept
    sortRows(list, mem);
    const kept: Candidate[] = [];
    for (let j = 0; j < list.length; j++) {
      const e = list[j];
      const memGiB = mem * e.instances;
      if (dominated(kept, e.latencyMs, memGiB)) continue;
      kept.push({
        shape,
        batch: e.batch,
        instances: e.instances,
        throughput: e.throughput,
        latencyMs: e.latencyMs,
        memGiB,
        estimated: e.estimated === true,
      });
    }
    out.push(kept);
  }
  return out;
}
