/** Small platforms for the platform and team tests. */
import { Chart, Testing } from 'cdk8s';
import { MigLayout } from '../constructs/k8s/gpu/mig-layout';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { PlatformBuilder } from '../constructs/k8s/platform/platform-builder';
import { ServingPlatform } from '../constructs/k8s/platform/serving-platform';
import type { Team } from '../constructs/k8s/teams/team-contract';

export const cluster = { name: 'prod', nodeRole: 'KarpenterNodeRole-prod' };

export const h100Mixed = () => MigLayout.fromProfiles('h100-mixed', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });

export function visionTeam(): Team {
  return {
    name: 'vision',
    models: [
      { name: 'resnet50', maxBatchSize: 16, preferredBatchSizes: [8, 16] },
      { name: 'densenet', maxBatchSize: 8 },
      { name: 'yolo', maxBatchSize: 4, instances: 2 },
    ],
    pools: [
      {
        name: 'vision-1g',
        slice: '1g.10gb',
        models: ['resnet50', 'densenet'],
        replicas: 2,
        scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 4 },
      },
      { name: 'vision-3g', slice: '3g.40gb', models: ['yolo'], replicas: 1 },
    ],
  };
}

export function llmTeam(): Team {
  return {
    name: 'llm',
    group: 'oidc:llm-engineers',
    models: [{ name: 'llama-7b', platform: 'vllm', maxBatchSize: 0 }],
    pools: [{ name: 'llm-gpu', slice: 'whole', models: ['llama-7b'], scaling: { kind: 'hpa', minReplicas: 1, maxReplicas: 2 } }],
  };
}

/** A builder with cluster, repository and node pools set. */
export function baseBuilder(): PlatformBuilder {
  return ServingPlatform.builder()
    .cluster(cluster)
    .repository(ModelRepository.s3({ bucket: 'models', prefix: 'prod', region: 'us-east-1' }))
    .nodePools({ name: 'h100-mixed', gpuType: 'H100-80GB', layout: h100Mixed() }, { name: 'h100-whole', gpuType: 'H100-80GB' });
}

export function synthBuilt(build: (chart: Chart) => unknown): any[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart);
}
