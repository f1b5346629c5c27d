/**
 * The label and annotation keys gpufleet reads and writes, defined once: node labels of GPU node pools (set by
 * gpufleet, the GPU operator or GPU feature discovery), and labels and annotations of the team and serving objects.
 */

/** The node label gpufleet puts on every node of a pool: `gpufleet.io/pool=<pool name>`. */
export const POOL_LABEL = 'gpufleet.io/pool';
/** The node label that selects the mig-parted config (the MIG layout the GPU operator's MIG manager applies). */
export const MIG_CONFIG_LABEL = 'nvidia.com/mig.config';
/** The node label that selects the device-plugin config. */
export const DEVICE_PLUGIN_CONFIG_LABEL = 'nvidia.com/device-plugin.config';
/** The well-known node label of the EC2 instance type (kubelet; Karpenter and cluster-autoscaler know it before launch). */
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
/**
 * The node label GPU feature discovery sets to the GPU product name, after the node booted: never select GPU nodes by
 * it (Karpenter cannot launch a node for it; time-slicing appends `-SHARED`, the single MIG strategy `-MIG-<profile>`).
 */
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';
/** Label naming the owning team, on the team's Namespace and on its pools' objects. */
export const TEAM_LABEL = 'gpufleet.io/team';
/** Pod label naming the Triton pool (`gpufleet.io/pool` is the node pool's label on nodes). */
export const TRITON_POOL_LABEL = 'gpufleet.io/triton-pool';
/** Pod label prefix marking each model a pod serves: `model.gpufleet.io/<model>: "true"`. */
export const TRITON_MODEL_LABEL_PREFIX = 'model.gpufleet.io/';
/**
 * Label on the Deployment and pods of a Triton pool that loads no model at start (`loadModelsAtStart: false`):
 * a cache pool whose models a model router loads on demand.
 */
export const CACHE_POOL_LABEL = 'gpufleet.io/cache-pool';
/** Pod annotation holding a digest of a Triton pool's model configs. */
export const MODEL_CONFIGS_ANNOTATION = 'gpufleet.io/model-configs';
