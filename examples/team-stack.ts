import { App, Chart } from 'cdk8s';
import { MigLayout, ModelRepository, ServingPlatform, Team } from '../constructs/k8s';

const vision: Team = {
  name: 'vision',
  models: [{ name: 'resnet50', maxBatchSize: 32, preferredBatchSizes: [8, 16] }, { name: 'mobilenet-v3', maxBatchSize: 64 }],
  pools: [{ name: 'vision-1g', slice: '1g.10gb', models: ['resnet50', 'mobilenet-v3'], replicas: 2,
    scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 6 } }],
};
const search: Team = {
  name: 'search',
  models: [{ name: 'bert-base', platform: 'tensorrt_plan', maxBatchSize: 32 }],
  pools: [{ name: 'search-3g', slice: '3g.40gb', models: ['bert-base'], replicas: 2 }],
};

export function buildTeamStack(app: App): ServingPlatform {
  return ServingPlatform.builder()
    .cluster({ name: 'prod', nodeRole: 'KarpenterNodeRole-prod' })
    .nodePools({ name: 'h100-mig', gpuType: 'H100-80GB',
      layout: MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }) })
    .repository(ModelRepository.s3({ bucket: 'acme-models', prefix: 'triton', region: 'us-east-1' }))
    .teams(vision, search)
    .build(new Chart(app, 'platform'), 'Platform');
}

if (require.main === module) {
  const app = new App();
  buildTeamStack(app);
  app.synth();
  ModelRepository.writeAllConfigs(app, app.outdir);
}
