/**
 * Serving: Triton pools and model configs, the model repository, per-model routes, the model router, pool autoscaling.
 * Public constructs, their props and types; helpers are imported from their files.
 */
export { BATCH_DELAY_SHARE, QUEUE_TARGET_SHARE } from './latency-budget';
export type { LatencyObjective } from './latency-budget';
export { MODEL_REPOSITORY_MOUNT_PATH, IRSA_ROLE_ANNOTATION, ModelRepository } from './model-repository';
export type {
  ModelRepositoryS3Options,
  ModelRepositoryPvcOptions,
  ModelRepositoryStorage,
  ModelRepositoryProps,
  ModelRepositoryBinding,
} from './model-repository';
export {
  ROUTER_IMAGE_VERSION,
  DEFAULT_ROUTER_IMAGE,
  ROUTER_PORT,
  ROUTER_ADMIN_LISTEN,
  ROUTER_CONFIG_PATH,
  ModelRouter,
} from './model-router';
export type { ModelRouterModel, ModelRouterPool, ModelRouterProps, RenderedRouterConfig } from './model-router';
export { HTTPROUTE_MAX_RULES, HTTPROUTE_MAX_MATCHES_PER_RULE, HTTPROUTE_MAX_MATCHES_PER_ROUTE, ModelRouteTable } from './model-routes';
export type { GatewayRef, ModelIngressOptions, WeightedPool, ModelRouteTableProps, ModelBackend } from './model-routes';
export { DEFAULT_PROMETHEUS_ADDRESS, routerWakeQuery, PoolAutoscaling } from './pool-autoscaling';
export type { PoolAutoscalingEngine, PoolWakeTrigger, PoolAutoscalingProps, AutoscalingSignal } from './pool-autoscaling';
export {
  TRITON_QUEUE_DURATION_METRIC,
  TRITON_REQUEST_SUCCESS_METRIC,
  QUEUE_US_PER_REQUEST_METRIC,
  QUEUE_RATE_WINDOW,
  VLLM_FIRST_TOKEN_METRIC,
  FIRST_TOKEN_US_METRIC,
  PrometheusAdapterRules,
} from './prometheus-adapter-rules';
export type { PrometheusAdapterRule, PrometheusAdapterRulesProps } from './prometheus-adapter-rules';
export { TRITON_PLATFORMS, TRITON_BACKENDS, TRITON_DATA_TYPES, TritonModelConfig } from './triton-model-config';
export type {
  TritonPlatform,
  TritonBackend,
  TritonDataType,
  TritonTensor,
  TritonInstanceKind,
  TritonInstanceGroup,
  TritonDynamicBatching,
  TritonVersionPolicy,
  TritonWarmupInput,
  TritonWarmup,
  TritonModelConfigProps,
  TritonModelConfigFromHintsOptions,
} from './triton-model-config';
export {
  DEFAULT_TRITON_IMAGE,
  TRITON_VLLM_IMAGE,
  TRITON_HTTP_PORT,
  TRITON_GRPC_PORT,
  TRITON_METRICS_PORT,
  MAX_POOL_NAME_LENGTH,
  TritonPool,
} from './triton-pool';
export type { TritonPoolResources, TritonPoolDisruption, TritonPoolProps } from './triton-pool';
