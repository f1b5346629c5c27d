/**
 * Shared by the k8s constructs: well-known labels and annotations, container image references. Public constructs, their
 * props and types; helpers are imported from their files.
 */
export { IMAGE_PATH_MAX_CHARS } from './image-reference';
export type { ImageReference, ParsedImageReference } from './image-reference';
export {
  POOL_LABEL,
  MIG_CONFIG_LABEL,
  DEVICE_PLUGIN_CONFIG_LABEL,
  INSTANCE_TYPE_LABEL,
  GPU_PRODUCT_LABEL,
  TEAM_LABEL,
  TRITON_POOL_LABEL,
  TRITON_MODEL_LABEL_PREFIX,
  CACHE_POOL_LABEL,
  MODEL_CONFIGS_ANNOTATION,
} from './labels';
