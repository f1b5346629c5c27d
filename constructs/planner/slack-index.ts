/**
 * The slices consolidation may move demand into, ordered per slice shape by latency slack (latency budget minus
 * latency), so that the free-share step (consolidate.ts) visits only the slices where a model's least latency on that
 * shape may still fit instead of every slice: on the 1,000-model file about 90% of the visits failed on latency.
 *
 * Slack only shrinks while slices are packed (a seat adds latency and can only lower the budget), and an undone seat
 * restores it up to rounding, so the slack taken when the index is made stays an upper bound: a slice left out
 * (slack below the least latency by more than 1e-6 ms) is one the exact latency test would pass over too. The slices
 * that are kept are given back in their order in the list, and are tested as before.
 */
import type { SliceState } from './slice-state';

/** Margin (ms) between the least latency and a slice's slack under which the slice is left out. */
const SLACK_MARGIN = 1e-6;

export class SlackIndex {
  /** Per shape index, the positions of its slices in `slices`, largest slack first. */
  private readonly byShape: Int32Array[] = [];
  /** Per shape index, the slacks in the same order. */
  private readonly slackByShape: Float64Array[] = [];
  /** The positions `candidates` returns (the first `n` of them). */
  readonly positions: Int32Array;

  constructor(readonly slices: readonly SliceState[]) {
    const lists: number[][] = [];
    const slack = new Float64Array(slices.length);
    for (let i = 0; i < slices.length; i++) {
      const sl = slices[i];
      slack[i] = sl.budget - sl.latency;
      (lists[sl.shapeIndex] ??= []).push(i);
    }
    for (let si = 0; si < lists.length; si++) {
      const list = lists[si] ?? [];
      list.sort((a, b) => slack[b] - slack[a] || a - b);
      this.byShape.push(Int32Array.from(list));
      this.slackByShape.push(Float64Array.from(list, (i) => slack[i]));
    }
    this.positions = new Int32Array(slices.length);
  }

  /**
   * Writes to `positions`, in increasing order, the positions of the slices whose shape's least latency
   * (`leastLatency[shape]`) may still fit their slack; returns how many.
   */
  candidates(leastLatency: readonly number[]): number {
    let n = 0;
    for (let si = 0; si < this.byShape.length; si++) {
      const at = this.byShape[si];
      const slack = this.slackByShape[si];
      const need = leastLatency[si] - SLACK_MARGIN;
      for (let k = 0; k < at.length && !(slack[k] < need); k++) this.positions[n++] = at[k];
    }
    this.positions.subarray(0, n).sort();
    return n;
  }
}
