/**
 * GPU nodes: the GPU operator, MIG layouts and mig-parted configs, device-plugin time-slicing, Karpenter GPU node pools,
 * GPU resource names. Public constructs, their props and types; helpers are imported from their files.
 */
export { GpuNodePool } from './gpu-node-pool';
export type { GpuNodeAmiFamily, CapacityType, GpuNodePoolProps } from './gpu-node-pool';
export { GPU_OPERATOR_CHART_VERSION, GPU_OPERATOR_IMAGE_COMPONENTS, gpuOperatorValues } from './gpu-operator-values';
export type {
  GpuNodeImage,
  HelmToleration,
  HelmImage,
  GpuOperatorImageComponent,
  GpuOperatorImages,
  GpuOperatorHelmValues,
  GpuOperatorValuesOptions,
} from './gpu-operator-values';
export { NVIDIA_HELM_REPOSITORY_URL, GpuOperator } from './gpu-operator';
export type { GpuOperatorProps } from './gpu-operator';
export {
  WHOLE_GPU_RESOURCE,
  GPU_TAINT,
  migResourceName,
  gpuResourceName,
  gpuResources,
  gpuToleration,
  addGpuLimits,
} from './gpu-resources';
export type { MigStrategy, GpuResourceLimits, AddGpuLimitsOptions } from './gpu-resources';
export { KARPENTER_WELL_KNOWN_LABELS } from './karpenter-requirements';
export type { LabelRequirement } from './karpenter-requirements';
export { MIG_ALL_DISABLED, MigConfig } from './mig-config';
export type { MigConfigProps, MigPartedDeviceConfig, MigPartedConfig } from './mig-config';
export { MigLayout } from './mig-layout';
export type { MigProfileCounts, MigDeviceInput, MigDeviceLayout, MigResourceCountOptions } from './mig-layout';
export {
  VM_MEMORY_OVERHEAD_PERCENT,
  GPU_NODE_MAX_PODS_RESERVED,
  GPU_NODE_KUBE_RESERVED_MEMORY_MIB,
  GPU_NODE_KUBE_RESERVED,
  EVICTION_HARD_MEMORY_MIB,
  DAEMONSET_ALLOWANCE,
} from './node-allocatable';
export type { CpuMemory, NodeAllocatableOptions } from './node-allocatable';
export { DEVICE_PLUGIN_NO_SHARING, TimeSlicingConfig } from './time-slicing-config';
export type { TimeSlicedResource, TimeSlicingOptions, TimeSlicingConfigProps, DevicePluginConfigFile } from './time-slicing-config';
