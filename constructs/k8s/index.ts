export * from './team-namespace';
export * from './team-contract';
export * from './platform-checks';
export * from './triton-model-config';
export * from './model-repository';
export * from './triton-pool';
export * from './gpu-resources';
export * from './mig-layout';
export * from './mig-config';
export * from './mig-config-relayout';
export * from './time-slicing-config';
export * from './gpu-operator-values';
export * from './gpu-operator';
export * from './gpu-node-pool';
export * from './names';
// the node-pool labels are also defined by triton-pool (same values); the node pool's definitions win
export { POOL_LABEL, MIG_CONFIG_LABEL } from './gpu-node-pool';
export * from './prometheus-adapter-rules';
export * from './pool-autoscaling';
