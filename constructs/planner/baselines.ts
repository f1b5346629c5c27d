/**
 * The two baselines DESIGN.md compares a plan with (`summary.baselines`), each the GPU count of a packing that
 * is itself a valid plan of the fleet's GPU type — so the planner can take the `noMig` packing as a candidate
 * and no plan ever uses more GPUs than either baseline of its own type (issue 14):
 *
 * - `dedicated`: per model, ceil(demand / the throughput of one replica) on the fleet's type where that is
 *   fewest, summed — each replica alone on its GPU. A replica is the model's best admissible entry on the slice
 *   that takes the whole GPU's compute (`whole`, or the full MIG profile such as 7g.80gb on a type the fleet cuts
 *   with MIG); a model with none there runs its highest-throughput admissible entry on a smaller slice, alone on
 *   the GPU (the rest of the GPU spare).
 * - `noMig`: the same type per model; the models with an entry on the whole-GPU slice share those slices
 *   (several models per Triton server, first fit decreasing under rules 3-5), the others run alone as in
 *   `dedicated`.
 */
import type { Fleet } from '../fleet/types';
import { Candidate, candidatesFor } from './entries';
import { GpuOption, resolveGpuOptions, withShapes } from './gpu-options';
import { GpuSpace, ReachTable } from './gpu-space';
import { packType, packVariant, ModelInput, PackResult, PackVariant, SliceState } from './pack';
import { PlanError } from './plan-error';

/** The noMig baseline's packing: largest demand first, first GPU it fits. */
const FIRST_FIT_DECREASING: PackVariant = packVariant({ order: 'need', fit: 'first', open: 'small' }, 'footprint', false, 0);

export interface Baselines {
  /** Whole GPUs per model replica, nothing shared. */
  readonly dedicated: number;
  /** Whole GPUs, several models per Triton server (first fit under the share, latency and memory rules). */
  readonly noMig: number;
}

/** Index of the option's shape that takes the whole GPU's compute: `whole`, or the full MIG profile; -1 if none. */
export function fullShapeIndex(opt: GpuOption): number {
  return opt.shapes.findIndex((sh) => sh.computeFraction === 1);
}

/** The highest-throughput admissible candidate on any shape (ties: the smaller shape, the earlier entry). */
function bestCandidate(cands: readonly (readonly Candidate[])[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const list of cands) for (const c of list) if (!best || c.throughput > best.throughput) best = c;
  return best;
}

/** One replica of a model in the baselines: on the whole-GPU slice (shared in `noMig`), else alone on a smaller one. */
function replicaOf(cands: readonly (readonly Candidate[])[], full: number): { cand: Candidate; shared: boolean } | undefined {
  const direct = full >= 0 ? cands[full][0] : undefined; // candidates are sorted by throughput, highest first
  if (direct) return { cand: direct, shared: true };
  const best = bestCandidate(cands);
  return best ? { cand: best, shared: false } : undefined;
}

/** The same GPUs and seats on the option itself (its shape indices and reach table). */
function onOption(opt: GpuOption, packed: PackResult, shapeIndex: (sl: SliceState) => number, overhead: number): PackResult {
  const reach = new ReachTable(opt);
  const gpus = new Map<GpuSpace, GpuSpace>();
  const slices: SliceState[] = [];
  for (const g of packed.gpus) gpus.set(g, new GpuSpace(opt, reach));
  for (const sl of packed.slices) {
    const g = gpus.get(sl.gpu)!;
    const si = shapeIndex(sl);
    g.place(opt.shapes[si], sl.start);
    const own = new SliceState(g, opt.shapes[si], sl.start, si, overhead);
    for (const seat of sl.seats) own.add(seat);
    slices.push(own);
  }
  return { gpus: [...gpus.values()], slices };
}

/**
 * The `noMig` baseline's packing of the models on one GPU type, as a plan of the option itself: the models with
 * an admissible entry on the whole-GPU slice packed first fit decreasing onto such slices, the others alone on
 * slices of their best entry's shape. The planner takes it when it needs fewer GPUs than its own packing.
 * Undefined when some model has no admissible entry on the type at all.
 */
export function noMigPacking(opt: GpuOption, inputs: readonly ModelInput[], headroom: number, overhead: number): PackResult | undefined {
  const full = fullShapeIndex(opt);
  const shared: ModelInput[] = [];
  const alone: ModelInput[] = [];
  for (const input of inputs) {
    const r = replicaOf(input.cands, full);
    if (!r) return undefined;
    if (r.shared) shared.push({ model: input.model, cands: [input.cands[full]] });
    else alone.push({ model: input.model, cands: opt.shapes.map((sh) => (sh === r.cand.shape ? [r.cand] : [])) });
  }
  const gpus: GpuSpace[] = [];
  const slices: SliceState[] = [];
  if (shared.length > 0) {
    const one = withShapes(opt, [opt.shapes[full]]);
    const packed = onOption(opt, packType(one, shared, headroom, overhead, FIRST_FIT_DECREASING), () => full, overhead);
    gpus.push(...packed.gpus);
    slices.push(...packed.slices);
  }
  for (const input of alone) {
    // each model on GPUs of its own: its replicas and remainder on slices of its one shape
    const packed = packType(opt, [input], headroom, overhead, FIRST_FIT_DECREASING);
    gpus.push(...packed.gpus);
    slices.push(...packed.slices);
  }
  return { gpus, slices };
}

/**
 * What the planner already computed for the same fleet, so that the baselines do not compute it again
 * (`plan()` passes it; the figures are the same with or without it).
 */
export interface BaselineReuse {
  /** The fleet's GPU options (`resolveGpuOptions(fleet)`). */
  readonly opts: readonly GpuOption[];
  /** `candidatesFor` of every model of `fleet.models`, in that order, per option. */
  readonly cands: readonly (readonly Candidate[][])[][];
  /**
   * `noMigPacking` GPU counts the planner computed: per option, the models packed (in order, with the
   * candidates of `cands`) and the GPUs it needed.
   */
  readonly noMig?: ReadonlyMap<GpuOption, readonly { readonly models: readonly ModelInput['model'][]; readonly gpus: number }[]>;
}

/** The GPU count of a noMig packing the planner made of exactly these inputs, if it made one. */
function knownNoMig(reuse: BaselineReuse | undefined, opt: GpuOption, inputs: readonly ModelInput[]): number | undefined {
  for (const known of reuse?.noMig?.get(opt) ?? []) {
    if (known.models.length === inputs.length && known.models.every((m, i) => m === inputs[i].model)) return known.gpus;
  }
  return undefined;
}

/**
 * `dedicated` and `noMig` of a fleet (see the top of this file). Throws a `PlanError` naming every model that has
 * no admissible entry on any of the fleet's GPU types.
 */
export function baselines(fleet: Fleet, reuse?: BaselineReuse): Baselines {
  const opts = reuse ? reuse.opts : resolveGpuOptions(fleet);
  const h = fleet.latencyHeadroom;
  const ov = fleet.processOverheadGiB;
  let dedicated = 0;
  const groups: ModelInput[][] = opts.map(() => []);
  const problems: string[] = [];
  fleet.models.forEach((m, mi) => {
    let bestN = Infinity;
    let bestOpt = -1;
    let bestCands: readonly Candidate[][] = [];
    opts.forEach((o, i) => {
      const cands = reuse ? reuse.cands[mi][i] : candidatesFor(m, o, h, ov);
      const r = replicaOf(cands, fullShapeIndex(o));
      if (!r) return;
      const n = Math.ceil(m.rps / r.cand.throughput - 1e-9);
      if (n < bestN) {
        bestN = n;
        bestOpt = i;
        bestCands = cands;
      }
    });
    if (bestOpt < 0) {
      problems.push(`models.${m.name}: fits no gpu of ${opts.map((o) => o.type).join(', ')} within its latency budget and memory`);
      return;
    }
    dedicated += bestN;
    groups[bestOpt].push({ model: m, cands: bestCands });
  });
  if (problems.length > 0) throw new PlanError(problems);
  let noMig = 0;
  opts.forEach((o, i) => {
    if (groups[i].length === 0) return;
    noMig += knownNoMig(reuse, o, groups[i]) ?? noMigPacking(o, groups[i], h, ov)!.gpus.length;
  });
  return { dedicated, noMig };
}
