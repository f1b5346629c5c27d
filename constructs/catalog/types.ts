/**
 * Types of the gpufleet catalog: GPU types, their MIG profiles and the EC2 instances that carry them.
 * The values live in generated modules beside this file (see `scripts/generate-catalog.ts`);
 * each generated table names its source.
 */

/** A placement of a MIG GPU instance on the memory-slice axis, as `nvidia-smi mig -lgipp` prints it. */
export interface MigPlacement {
  /** First memory slice. */
  readonly start: number;
  /** Number of memory slices. */
  readonly size: number;
}

/** One MIG GPU-instance profile of a GPU type (e.g. `1g.10gb` on A100-80GB). */
export interface MigProfile {
  /** Profile name as the driver and device plugin print it, e.g. `3g.40gb` or `1g.10gb+me`. */
  readonly name: string;
  /** Profile id of `nvidia-smi mig -lgip`, where one was observed. */
  readonly profileId?: number;
  /** Compute slices (GPCs): 1, 2, 3, 4 or 7. */
  readonly computeSlices: number;
  /** Memory slices the instance occupies on the placement axis. */
  readonly memorySlices: number;
  /** GPU memory the driver gives the instance (the `Memory GiB` column of `nvidia-smi mig -lgip`). */
  readonly memoryGiB: number;
  /** Streaming multiprocessors, where observed. */
  readonly smCount?: number;
  /** Maximum number of instances of this profile on one GPU. */
  readonly maxInstances: number;
  /** Legal placements. */
  readonly placements: readonly MigPlacement[];
  /** True for media-extension profiles (`+me`): only one per GPU, not used by the planner. */
  readonly mediaExtensions: boolean;
}

/** MIG geometry of a GPU type. */
export interface MigSpec {
  /** Compute slices of the whole GPU (7 on A100/H100/H200, 4 on A30). */
  readonly computeSlices: number;
  /** Memory slices of the whole GPU (8 on A100/H100/H200, 4 on A30). */
  readonly memorySlices: number;
  /** Every profile the GPU offers. */
  readonly profiles: readonly MigProfile[];
  /** The mig-parted `all-balanced` layout for this GPU: profile name → count. */
  readonly allBalanced?: Readonly<Record<string, number>>;
  /**
   * Profiles the GPU has but the catalog leaves out because no driver-reported memory or no
   * placements were found for them (never guessed). They are not in `profiles`.
   */
  readonly omittedProfiles?: readonly OmittedMigProfile[];
}

/** A MIG profile the hardware offers but the catalog cannot use, and why. */
export interface OmittedMigProfile {
  readonly name: string;
  readonly reason: string;
}

/** A GPU type the planner and constructs know. */
export interface GpuType {
  /** Catalog id used in fleet files, e.g. `A100-80GB`, `H200-141GB`, `L4`. */
  readonly id: string;
  /** Human-readable name. */
  readonly displayName: string;
  /** Values of the `nvidia.com/gpu.product` node label (GPU feature discovery). */
  readonly productLabels: readonly string[];
  /** PCI device ids as mig-parted's `device-filter` expects them (e.g. `0x233010DE`). */
  readonly pciDeviceIds: readonly string[];
  /** Usable GPU memory of the whole (unpartitioned) GPU in GiB. */
  readonly memoryGiB: number;
  /** Where `memoryGiB` comes from (nvidia-smi total, largest MIG profile, or the EC2 API value). */
  readonly memoryGiBSource?: string;
  /** MIG geometry; absent for GPUs without MIG (L4, L40S, A10G, T4). */
  readonly mig?: MigSpec;
  /**
   * Set when the hardware supports MIG but the catalog has no usable MIG data for it
   * (e.g. B200: no driver-reported memory or placements); the GPU is then used whole only.
   */
  readonly migUnavailableReason?: string;
  /** Where the facts come from. */
  readonly sources: readonly string[];
}

/** An EC2 instance type with GPUs. */
export interface InstanceType {
  /** EC2 name, e.g. `p5.48xlarge`. */
  readonly name: string;
  /** Catalog GPU id, e.g. `H100-80GB`. */
  readonly gpuType: string;
  /**
   * GPU name as the EC2 API reports it (`A100`, `H100`, `L4`); Karpenter labels nodes with it lowercased
   * (`karpenter.k8s.aws/instance-gpu-name`).
   */
  readonly gpuName: string;
  /** GPUs per instance. */
  readonly gpuCount: number;
  /** GPU memory per GPU in GiB as the EC2 API reports it. */
  readonly gpuMemoryGiB: number;
  /** The same in MiB (`karpenter.k8s.aws/instance-gpu-memory`). */
  readonly gpuMemoryMiB: number;
  readonly vcpu: number;
  readonly memoryGiB: number;
  /** On-demand price in USD per hour for the whole instance, where known. */
  readonly onDemandUsdPerHour?: number;
  /** Region of the price. */
  readonly priceRegion?: string;
  /** Where the facts come from. */
  readonly sources: readonly string[];
}

/** One MIG instance placed on a GPU. */
export interface SlicePlacement {
  /** Profile name, e.g. `3g.40gb`. */
  readonly profile: string;
  /** Start on the memory-slice axis. */
  readonly start: number;
}
