/**
 * The Triton model config (`config.pbtxt`) of a team's model in a serving platform: its platform or backend,
 * batching and instances, with a batching delay derived from its latency SLO (latency-budget.ts).
 */
import { maxQueueDelayMicroseconds } from '../serving/latency-budget';
import type { TeamModel } from './team-contract';
import { TRITON_PLATFORMS, TritonBackend, TritonModelConfig, TritonPlatform } from '../serving/triton-model-config';

/**
 * The Triton config of a team's model. Its batching delay is `m.maxQueueDelayMicroseconds`, else 10 % of its
 * queueing budget (latency-budget.ts) when it has an SLO, else 100 µs.
 */
export function modelConfig(team: string, m: TeamModel, latencyHeadroom = 0.5): TritonModelConfig {
  const where = `teams["${team}"].models["${m.name}"]`;
  const p = m.platform ?? 'onnxruntime_onnx';
  const isPlatform = (TRITON_PLATFORMS as readonly string[]).includes(p);
  const maxBatchSize = m.maxBatchSize ?? 8;
  const preferred = m.preferredBatchSizes;
  try {
    const queueDelay =
      m.latencySloMs === undefined ? 100 : maxQueueDelayMicroseconds({ latencySloMs: m.latencySloMs, latencyHeadroom }, `${where}`);
    return new TritonModelConfig({
      name: m.name,
      ...(isPlatform ? { platform: p as TritonPlatform } : { backend: p as TritonBackend }),
      maxBatchSize,
      // no kind: KIND_GPU, or KIND_MODEL for the vllm backend (TritonModelConfig's default, as its sample config)
      instanceGroups: [{ count: m.instances ?? 1 }],
      ...(maxBatchSize > 0
        ? {
            dynamicBatching: {
              ...(preferred && preferred.length > 0 ? { preferredBatchSizes: [...preferred] } : {}),
              maxQueueDelayMicroseconds: m.maxQueueDelayMicroseconds ?? queueDelay,
            },
          }
        : {}),
      ...(m.config ?? {}),
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
  }
}
