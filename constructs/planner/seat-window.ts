/**
 * The shared slices the packer seats remainders on (pack.ts, `seatRemainders`), in insertion order, with the figures
 * its first tests read kept beside them in typed arrays: free share, latency, latency budget, memory and memory limit
 * of each slice. A 1,000-model fleet visits ~160,000 slices this way and passes over all but ~2% of them on these
 * tests; reading numbers from typed arrays costs a fraction of the property loads through each slice and its shape.
 * The figures are the same doubles the slice would give (computed by the same expressions), so every test decides as
 * it would on the slice.
 */
import type { SliceState } from './slice-state';

export class SeatWindow {
  /** The slices, oldest first; `length` of them are in use. */
  readonly slices: SliceState[] = [];
  length = 0;
  /** `1 - share` of each slice. */
  readonly free: Float64Array;
  readonly latency: Float64Array;
  readonly budget: Float64Array;
  readonly memory: Float64Array;
  /** `shape.memoryGiB + 1e-9`: the memory a slice may hold. */
  readonly memoryLimit: Float64Array;
  readonly shapeIndex: Int32Array;

  /** A window for at most `capacity` slices. */
  constructor(capacity: number) {
    this.free = new Float64Array(capacity);
    this.latency = new Float64Array(capacity);
    this.budget = new Float64Array(capacity);
    this.memory = new Float64Array(capacity);
    this.memoryLimit = new Float64Array(capacity);
    this.shapeIndex = new Int32Array(capacity);
  }

  /** Empties the window (its capacity is kept). */
  clear(): void {
    this.length = 0;
  }

  /** Appends a slice (the newest). */
  push(sl: SliceState): void {
    const i = this.length++;
    this.slices[i] = sl;
    this.memoryLimit[i] = sl.shape.memoryGiB + 1e-9;
    this.shapeIndex[i] = sl.shapeIndex;
    this.refresh(i);
  }

  /** Reads again the figures of the slice at `i` (after a seat was added to it). */
  refresh(i: number): void {
    const sl = this.slices[i];
    this.free[i] = 1 - sl.share;
    this.latency[i] = sl.latency;
    this.budget[i] = sl.budget;
    this.memory[i] = sl.memory;
  }

  /** Removes the slice at `i`; the newer ones move down by one (the order of the rest is kept). */
  removeAt(i: number): void {
    const end = this.length;
    this.slices.splice(i, 1);
    this.free.copyWithin(i, i + 1, end);
    this.latency.copyWithin(i, i + 1, end);
    this.budget.copyWithin(i, i + 1, end);
    this.memory.copyWithin(i, i + 1, end);
    this.memoryLimit.copyWithin(i, i + 1, end);
    this.shapeIndex.copyWithin(i, i + 1, end);
    this.length = end - 1;
  }
}
