/**
 * gpufleet: serve hundreds of ML models on shared NVIDIA GPUs on Kubernetes.
 *
 * The package root (`import { plan, ServingPlatform, GpuNodePool } from 'gpufleet'`): every name of
 * the catalog, fleet, planner and k8s (cdk8s) layers, flat, and each of those layers as a namespace
 * (`import { k8s } from 'gpufleet'`). No name is exported by two layers: `export *` of a name two
 * layers share is a type error here, so a clash cannot ship.
 *
 * The Pulumi components are `gpufleet/cloud` and the model router service is `gpufleet/runtime`; every
 * layer is also its own entry point (`gpufleet/catalog`, `gpufleet/fleet`, `gpufleet/planner`,
 * `gpufleet/k8s`). The root leaves the Pulumi layer out so that a cdk8s app or a planning script never
 * loads Pulumi (about a second at start-up, and a million lines of type declarations to compile).
 *
 * Layers (imports point down only): catalog → fleet → planner → k8s (cdk8s) / cloud (Pulumi) / runtime (router).
 */
export * from './catalog';
export * from './fleet';
export * from './planner';
export * from './k8s';
export * as catalog from './catalog';
export * as fleet from './fleet';
export * as planner from './planner';
export * as k8s from './k8s';
