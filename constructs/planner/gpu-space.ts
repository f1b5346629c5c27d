/**
 * Free space of one GPU on the MIG memory-slice axis: where a profile can still be placed, and
 * which start keeps the most compute reachable for later slices.
 */
import type { GpuOption, SliceShape } from './gpu-options';

export interface PlacedShape {
  readonly shape: SliceShape;
  readonly start: number;
}

/** Occupancy of one GPU. */
export class GpuSpace {
  public mask = 0;
  public usedCompute = 0;
  public readonly placed: PlacedShape[] = [];
  private readonly counts = new Map<string, number>();

  constructor(
    public readonly opt: GpuOption,
    private readonly reach: ReachTable,
  ) {}

  /** Compute slices still free (0 for a used non-MIG GPU). */
  get freeCompute(): number {
    if (!this.opt.mig) return this.placed.length > 0 ? 0 : 7;
    return this.opt.computeSlices - this.usedCompute;
  }

  /** Best legal start for the shape, or -1. Prefers the start that keeps the most compute reachable, then the highest start. */
  bestStart(shape: SliceShape): number {
    if (!this.opt.mig) return this.placed.length === 0 ? 0 : -1;
    if (this.usedCompute + shape.computeSlices > this.opt.computeSlices) return -1;
    if ((this.counts.get(shape.profile) ?? 0) >= shape.maxInstances) return -1;
    let best = -1;
    let bestReach = -1;
    for (const s of shape.starts) {
      const bits = rangeMask(s, shape.memorySlices);
      if (this.mask & bits) continue;
      const r = this.reach.reachable(this.mask | bits, this.usedCompute + shape.computeSlices);
      if (r > bestReach || (r === bestReach && s > best)) {
        best = s;
        bestReach = r;
      }
    }
    return best;
  }

  removeCount(profile: string): void {
    this.counts.set(profile, (this.counts.get(profile) ?? 1) - 1);
  }

  place(shape: SliceShape, start: number): void {
    if (this.opt.mig) {
      this.mask |= rangeMask(start, shape.memorySlices);
      this.usedCompute += shape.computeSlices;
    } else {
      this.usedCompute = 7;
    }
    this.counts.set(shape.profile, (this.counts.get(shape.profile) ?? 0) + 1);
    this.placed.push({ shape, start });
  }
}

/** Removes the last placed shape (undo of `place`). */
export function unplaceLast(space: GpuSpace): void {
  const p = space.placed.pop()!;
  space.removeCount(p.shape.profile);
  if (space.opt.mig) {
    space.mask &= ~rangeMask(p.start, p.shape.memorySlices);
    space.usedCompute -= p.shape.computeSlices;
  } else {
    space.usedCompute = 0;
  }
}

export function rangeMask(start: number, size: number): number {
  return ((1 << size) - 1) << start;
}

/** Max compute reachable from an occupancy (mask, used compute), memoised per GPU type. */
export class ReachTable {
  private readonly memo = new Map<number, number>();
  constructor(private readonly opt: GpuOption) {}

  reachable(mask: number, used: number): number {
    const key = mask * 16 + used;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    let best = used;
    for (const shape of this.opt.shapes) {
      if (used + shape.computeSlices > this.opt.computeSlices) continue;
      for (const s of shape.starts) {
        const bits = rangeMask(s, shape.memorySlices);
        if (mask & bits) continue;
        const r = this.reachable(mask | bits, used + shape.computeSlices);
        if (r > best) best = r;
      }
    }
    this.memo.set(key, best);
    return best;
  }
}

const LAYOUT_CACHE = new Map<string, PlacedShape[][]>();

/**
 * Every maximal MIG layout of a GPU type (no further shape fits), each as shapes with starts,
 * deduplicated; shapes ordered by start. Cached per GPU type.
 */
export function maximalLayouts(opt: GpuOption): PlacedShape[][] {
  const key = `${opt.type}/${opt.mig}`;
  const hit = LAYOUT_CACHE.get(key);
  if (hit) return hit;
  const out: PlacedShape[][] = [];
  const seen = new Set<string>();
  if (!opt.mig) {
    out.push([{ shape: opt.shapes[0], start: 0 }]);
  } else {
    const cur: PlacedShape[] = [];
    const walk = (mask: number, used: number): void => {
      let extended = false;
      for (const shape of opt.shapes) {
        if (used + shape.computeSlices > opt.computeSlices) continue;
        if (cur.filter((p) => p.shape === shape).length >= shape.maxInstances) continue;
        for (const s of shape.starts) {
          const bits = rangeMask(s, shape.memorySlices);
          if (mask & bits) continue;
          extended = true;
          cur.push({ shape, start: s });
          const k = cur
            .map((p) => `${p.shape.profile}@${p.start}`)
            .sort()
            .join(',');
          if (!seen.has(`partial:${k}`)) {
            seen.add(`partial:${k}`);
            walk(mask | bits, used + shape.computeSlices);
          }
          cur.pop();
        }
      }
      if (!extended) {
        const sorted = cur.slice().sort((a, b) => a.start - b.start);
        const k = sorted.map((p) => `${p.shape.profile}@${p.start}`).join(',');
        if (!seen.has(k)) {
          seen.add(k);
          out.push(sorted);
        }
      }
    };
    walk(0, 0);
  }
  LAYOUT_CACHE.set(key, out);
  return out;
}
