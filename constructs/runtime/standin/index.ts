/**
 * A stand-in for Triton Inference Server r25.08 in `--model-control-mode=explicit`: the backend of the router's tests,
 * of `npm run bench -- router` and of `gpufleet router --demo`. Each behaviour cites the Triton source it reproduces
 * (`triton-standin.ts`, `models.ts`, `grpc.ts`, `repository.ts`, `triton-args.ts`, `pbtxt.ts`).
 */
export { startTritonStandin } from './triton-standin';
export type { RunningStandin, StandinControl, StandinOptions, StandinStats } from './triton-standin';
export { ModelTable, TritonError, TTFT_BUCKETS } from './models';
export type { ModelReadyState, ModelStats, TritonCode } from './models';
export { LoadRequest } from './grpc';
export type { GrpcStats } from './grpc';
export type { ModelFiles, S3Call, S3Repository } from './repository';
export { parseTritonArgs } from './triton-args';
export type { TritonCommandLine } from './triton-args';
export { MODEL_CONFIG_PROTO, modelConfigErrors, modelConfigSchema, parseModelConfig } from './pbtxt';
export type { TextMessage } from './pbtxt';
