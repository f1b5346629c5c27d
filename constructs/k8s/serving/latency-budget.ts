/**
 * How a model's latency SLO reaches its Triton config and its pool's autoscaler (docs/serving.md, "From the SLO to
 * the manifests").
 *
 * The fleet's feasibility rule 4 admits an entry when the model's batch latency plus one batch of each neighbour on
 * the slice fits in `latencyHeadroom × SLO`: that share is compute. What is left, `(1 − latencyHeadroom) × SLO`, is
 * the model's **queueing budget**: the time a request may wait in Triton's scheduler (for an instance, and for a batch
 * to fill), which Triton reports as `nv_inference_queue_duration_us`.
 *
 * - `max_queue_delay_microseconds` = 10 % of the queueing budget: at low load a request waits about that long for a
 *   batch to fill, so it must stay well below what the autoscaler tolerates.
 * - The pool's autoscaling target (mean queue time per request) = 20 % of the smallest queueing budget among the
 *   pool's models: the strictest model decides. Waiting times have a long tail (for exponential waits the 99th
 *   percentile is ln(100) ≈ 4.6 × the mean), so a mean of 20 % keeps the tail near the budget.
 * - A decoupled model (vLLM) has no visible queue time: its signal is the engine's mean time to first token, which
 *   also contains its prefill, budgeted by rule 4 under the headroom. Its target adds that compute share:
 *   `latencyHeadroom × SLO + 20 % × queueing budget`.
 */

/** Share of a model's queueing budget its dynamic-batching delay may take. */
export const BATCH_DELAY_SHARE = 0.1;
/** Share of the queueing budget the autoscaler keeps the mean queue time at. */
export const QUEUE_TARGET_SHARE = 0.2;

/** A model's latency objective, as the fleet (or a team declaration) states it. */
export interface LatencyObjective {
  /** Latency SLO, ms, > 0. */
  readonly latencySloMs: number;
  /** Share of the SLO left to compute (fleet `latencyHeadroom`), in (0, 1]. */
  readonly latencyHeadroom: number;
}

function check(o: LatencyObjective, where: string): void {
  if (typeof o.latencySloMs !== 'number' || !Number.isFinite(o.latencySloMs) || o.latencySloMs <= 0) {
    throw new Error(`${where}.latencySloMs: expected a number > 0, got ${JSON.stringify(o.latencySloMs)}`);
  }
  if (typeof o.latencyHeadroom !== 'number' || !(o.latencyHeadroom > 0 && o.latencyHeadroom <= 1)) {
    throw new Error(`${where}.latencyHeadroom: expected a number in (0, 1], got ${JSON.stringify(o.latencyHeadroom)}`);
  }
}

/** `(1 − latencyHeadroom) × SLO`, µs: what the feasibility rules leave for waiting. */
export function queueBudgetMicroseconds(o: LatencyObjective, where = 'model'): number {
  check(o, where);
  // to a thousandth of a µs, so that (1 − 0.8) × 20 ms is 4000 µs and not 3999.9999...
  return Math.round((1 - o.latencyHeadroom) * o.latencySloMs * 1e6) / 1000;
}

/** `dynamic_batching.max_queue_delay_microseconds` of a model: 10 % of its queueing budget, whole µs. */
export function maxQueueDelayMicroseconds(o: LatencyObjective, where = 'model'): number {
  return Math.floor(BATCH_DELAY_SHARE * queueBudgetMicroseconds(o, where));
}

/**
 * The mean queue time per request a pool's autoscaler keeps: 20 % of the smallest queueing budget of its models,
 * whole µs, at least 1 (a headroom of 1 leaves no waiting time: the pool scales out on any queueing).
 */
export function queueTargetMicroseconds(objectives: readonly LatencyObjective[], where = 'pool'): number {
  if (objectives.length === 0) throw new Error(`${where}: expected at least one model with a latency SLO, got none`);
  const budget = Math.min(...objectives.map((o, i) => queueBudgetMicroseconds(o, `${where}.models[${i}]`)));
  return Math.max(1, Math.floor(QUEUE_TARGET_SHARE * budget));
}

/**
 * The mean time to first token a pool of decoupled models keeps: for the strictest of its models,
 * `latencyHeadroom × SLO` (prefill, rule 4) + 20 % of its queueing budget, whole µs.
 */
export function firstTokenTargetMicroseconds(objectives: readonly LatencyObjective[], where = 'pool'): number {
  if (objectives.length === 0) throw new Error(`${where}: expected at least one model with a latency SLO, got none`);
  return Math.max(
    1,
    Math.floor(
      Math.min(
        ...objectives.map(
          (o, i) =>
            Math.round(o.latencyHeadroom * o.latencySloMs * 1e6) / 1000 +
            QUEUE_TARGET_SHARE * queueBudgetMicroseconds(o, `${where}.models[${i}]`),
        ),
      ),
    ),
  );
}
