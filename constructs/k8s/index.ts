export * from './team-namespace';
export * from './team-contract';
export * from './platform-checks';
export * from './triton-model-config';
export * from './model-repository';
export * from './triton-pool';
export * from './prometheus-adapter-rules';
export * from './pool-autoscaling';
