/**
 * gpufleet: serve hundreds of ML models on shared NVIDIA GPUs on Kubernetes.
 *
 * Layers (imports point down only): catalog → fleet → planner → k8s (cdk8s) / cloud (Pulumi) / runtime (router).
 * Each layer is a namespace here; import a layer directly (`gpufleet/constructs/k8s`) for flat names.
 */
export * as catalog from './catalog';
export * as fleet from './fleet';
export * as planner from './planner';
export * as k8s from './k8s';
export * as cloud from './cloud';
export * as runtime from './runtime';
