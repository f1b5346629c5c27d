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

  constructor(public readonly opt: GpuOption, private readonly reach: ReachTable) {}

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

/**
 * Fills a GPU's free space with spare (empty) slices: largest shapes first, each at the start that
 * keeps the most compute reachable. Returns the shapes added.
 */
export function fillSpare(space: GpuSpace): PlacedShape[] {
  const added: PlacedShape[] = [];
  if (!space.opt.mig) return added;
  const shapes = space.opt.shapes.slice().sort((a, b) => b.computeSlices - a.computeSlices || a.memorySlices - b.memorySlices || a.profile.localeCompare(b.profile));
  let progress = true;
  while (progress) {
    progress = false;
    for (const shape of shapes) {
      const s = space.bestStart(shape);
      if (s < 0) continue;
      // only add it if the GPU still reaches as much compute as before
      space.place(shape, s);
      added.push({ shape, start: s });
      progress = true;
      break;
    }
  }
  return added;
}
