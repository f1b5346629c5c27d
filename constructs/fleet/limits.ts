/**
 * Upper bounds of the fleet file's numbers and lists (issue 14): every value gpufleet plans from is
 * bounded, so the work of reading, checking and planning any fleet that passes `validateFleet` is finite
 * and small. A value beyond a bound is one problem naming its path, the bound and the value received:
 *
 *     models[3].rps: expected a number > 0 and <= 1000000000, got 1000000000000
 *
 * The bounds sit far above any real fleet (the largest benchmarked fleet has 10,000 models); they exist so
 * that `rps: 1e300`, a million profile rows or a 50 MB key are refused at once instead of running the
 * planner out of memory. Demand is bounded twice: each number here, and the whole fleet by the GPUs it
 * needs at least (`MAX_PLAN_GPUS` in constructs/planner/bounds.ts, checked before any packing).
 */
export const FLEET_LIMITS = {
  /** Models in one fleet. */
  maxModels: 10_000,
  /** Profile rows of one model (5 slice sizes x 8 batches x 4 instance counts x 6 GPU types is 960). */
  maxProfilesPerModel: 1_000,
  /** Requests per second: `models[].rps`, `coldBelowRps`, `profiles[].throughput`, `throughputPerGpu`. */
  maxRps: 1e9,
  /** Milliseconds (one hour): `models[].latencySloMs`, `profiles[].latencyMs`. */
  maxLatencyMs: 3_600_000,
  /** GiB: `models[].memoryGiB`, `processOverheadGiB` (the largest GPU of the catalog has 180 GiB). */
  maxMemoryGiB: 1024,
  /** `profiles[].batch`. */
  maxBatch: 1_000_000,
  /** `profiles[].instances` (Triton `instance_group` count). */
  maxInstances: 1_000,
  /**
   * `triton.maxBatchSize`: Triton's `max_batch_size` is an int32 (model_config.proto, r25.08, in
   * ../shared/triton/).
   */
  maxBatchSize: 2_147_483_647,
  /** USD per GPU-hour: `gpus[].pricePerGpuHour`. */
  maxPricePerGpuHour: 10_000,
  /** Characters of `triton.platform` (Triton's platform and backend names are short identifiers). */
  maxPlatformChars: 64,
  /**
   * Unknown keys longer than this get no "did you mean" (a typo of a fleet key is never this long), so the
   * suggestion's edit distance stays a few thousand steps whatever the key.
   */
  maxSuggestKeyChars: 64,
  /** Problems listed one per line; beyond them one line counts the rest. */
  maxProblems: 50,
} as const;
