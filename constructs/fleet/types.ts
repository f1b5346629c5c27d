/**
 * The fleet file of DESIGN.md as TypeScript types. `parseFleet` turns YAML/JSON into a
 * `Fleet` with every default resolved; `FleetInput` is what a user may write.
 */

/** Compute slices of a MIG instance: 1, 2, 3, 4 or 7 (7 = the whole GPU). */
export type SliceSize = 1 | 2 | 3 | 4 | 7;

/** One measured configuration of a model on a slice size of a GPU type. */
export interface ProfileEntry {
  /** Catalog GPU id. */
  readonly gpu: string;
  /** Compute slices of the MIG instance (7 = whole GPU). */
  readonly slice: SliceSize;
  /** Batch size. */
  readonly batch: number;
  /** Model instances (Triton `instance_group` count). */
  readonly instances: number;
  /** Requests per second of the whole instance at this batch and instance count. */
  readonly throughput: number;
  /** Time of one batch in milliseconds. */
  readonly latencyMs: number;
}

/** Optional Triton model-config hints. */
export interface TritonHints {
  /** e.g. `onnxruntime_onnx`, `tensorrt_plan`, `pytorch_libtorch`, `python`, `vllm`. */
  readonly platform?: string;
  readonly maxBatchSize?: number;
}

/** A GPU type the planner may use. */
export interface FleetGpu {
  /** Catalog id. */
  readonly type: string;
  /** Whether to partition with MIG. @default - true where the GPU supports MIG */
  readonly mig: boolean;
  /**
   * Price per GPU-hour (USD). After `parseFleet` it is set when the file gives it, or when the file
   * names an `instanceType` (its price divided by its GPU count). The file must give it when the
   * catalog has no price (e.g. A30, or instance type p5e.48xlarge). When given, it is the price of
   * one GPU on whatever instance type carries it.
   * @default - the price per GPU of the instance type carrying it (the planner's choice, or `instanceType`)
   */
  readonly pricePerGpuHour?: number;
  /**
   * EC2 instance type that carries these GPUs; must carry this GPU type. When given, the planner
   * uses only this instance type.
   * @default - none: the planner chooses, per plan, the catalog's priced instance types of this GPU
   * whose whole nodes cost least for the GPUs it needs (e.g. 2 H100 → 2 × p5.4xlarge, 8 → 1 × p5.48xlarge)
   */
  readonly instanceType?: string;
}

export interface ModelSpec {
  /** DNS-1123 label, unique in the fleet. */
  readonly name: string;
  /** Owning team, DNS-1123 label. */
  readonly team: string;
  /** Demand in requests per second, > 0. */
  readonly rps: number;
  /** Latency SLO in milliseconds, > 0. */
  readonly latencySloMs: number;
  /** GPU memory of one model instance in GiB, > 0. */
  readonly memoryGiB: number;
  /** Measured profile entries; may be empty. */
  readonly profiles: readonly ProfileEntry[];
  /**
   * Requests/s on one whole GPU, per catalog GPU type (`{ 'H100-80GB': 900, L4: 140 }`), for GPU types the
   * model has no measured profile for. A model is planned only on the fleet's GPU types for which it
   * has profile entries or a figure here. In a fleet file a bare number is accepted when the fleet
   * offers exactly one GPU type (it becomes that type's figure); `parseFleet` always resolves a map.
   * @default - no figures: the model is planned only where it has profiles
   */
  readonly throughputPerGpu?: Readonly<Record<string, number>>;
  readonly triton?: TritonHints;
}

/** A parsed and validated fleet, defaults resolved. */
export interface Fleet {
  readonly name: string;
  /** @default 0.5 */
  readonly latencyHeadroom: number;
  /** @default 0.6 */
  readonly processOverheadGiB: number;
  readonly gpus: readonly FleetGpu[];
  readonly models: readonly ModelSpec[];
  /** Models below this demand (rps) are served cold through the router; absent = none. */
  readonly coldBelowRps?: number;
}
