/**
 * One MIG slice being packed (its seats: models, rps, share of the slice) and the share rounding of the packer;
 * shared by pack.ts and layout-fill.ts.
 */
import type { ModelSpec } from '../fleet/types';
import type { Candidate } from './entries';
import type { SliceShape } from './gpu-options';
import type { GpuSpace } from './gpu-space';

/** Share quantum: shares are rounded up to a multiple of it, so rule 3 holds on the printed numbers. */
export const SHARE_QUANTUM = 1e-6;

export function roundShareUp(x: number): number {
  return Math.ceil(x / SHARE_QUANTUM - 1e-6) / (1 / SHARE_QUANTUM);
}

/** Rounds a demand up to 6 decimals (plan documents stay readable, demand is still covered). */
export function roundUp6(x: number): number {
  return Math.ceil(x * 1e6 - 1e-6) / 1e6;
}

export interface ModelInput {
  readonly model: ModelSpec;
  /** Candidates per shape index of the option. */
  readonly cands: readonly (readonly Candidate[])[];
}

export interface Seat {
  readonly model: ModelSpec;
  /** Latency budget of the model (headroom x SLO). */
  readonly budget: number;
  readonly cand: Candidate;
  readonly rps: number;
  readonly share: number;
}

export class SliceState {
  public readonly seats: Seat[] = [];
  public share = 0;
  public latency = 0;
  public budget = Infinity;
  public memory: number;
  /** A cache slice of the cold tier (no seats; the router loads cold models into it). */
  public cache = false;
  constructor(
    public readonly gpu: GpuSpace,
    public readonly shape: SliceShape,
    public readonly start: number,
    public readonly shapeIndex: number,
    overhead: number,
  ) {
    this.memory = overhead;
  }

  /** Fullness after adding the candidate (max of share and latency fraction), or -1 when it does not fit. */
  fit(c: Candidate, share: number, budget: number): number {
    const s = this.share + share;
    if (s > 1 + 1e-12) return -1;
    const b = Math.min(this.budget, budget);
    const l = this.latency + c.latencyMs;
    if (l > b) return -1;
    if (this.memory + c.memGiB > this.shape.memoryGiB + 1e-9) return -1;
    return Math.max(s, b > 0 ? l / b : 1, (this.memory + c.memGiB) / this.shape.memoryGiB);
  }

  add(seat: Seat): void {
    this.seats.push(seat);
    this.share += seat.share;
    this.latency += seat.cand.latencyMs;
    this.budget = Math.min(this.budget, seat.budget);
    this.memory += seat.cand.memGiB;
  }

  /** Removes the last seat added (undo of `add`). */
  pop(): void {
    const seat = this.seats.pop()!;
    this.share -= seat.share;
    this.latency -= seat.cand.latencyMs;
    this.memory -= seat.cand.memGiB;
    this.budget = this.seats.reduce((b, x) => Math.min(b, x.budget), Infinity);
    if (this.seats.length === 0) {
      this.share = 0;
      this.latency = 0;
    }
  }
}
