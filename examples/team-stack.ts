/**
 * A platform stack that reads like a list of teams (README "A team stack").
 *
 * Run: `npx ts-node --transpile-only examples/team-stack.ts [OUTDIR]` (default dist/team-stack/, its own folder: the
 * default example's dist/ files stay as they are): prints the teams and pools and writes the manifests there.
 */
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { MigLayout, ModelRepository, ServingPlatform, Team } from '../constructs/k8s';

const vision: Team = {
  name: 'vision',
  models: [
    { name: 'resnet50', maxBatchSize: 32, preferredBatchSizes: [8, 16] },
    { name: 'mobilenet-v3', maxBatchSize: 64 },
  ],
  pools: [
    {
      name: 'vision-1g',
      slice: '1g.10gb',
      models: ['resnet50', 'mobilenet-v3'],
      replicas: 2,
      scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 6 },
    },
  ],
};
const search: Team = {
  name: 'search',
  models: [{ name: 'bert-base', platform: 'tensorrt_plan', maxBatchSize: 32 }],
  pools: [{ name: 'search-3g', slice: '3g.40gb', models: ['bert-base'], replicas: 2 }],
};

export function buildTeamStack(app: App): ServingPlatform {
  return ServingPlatform.builder()
    .cluster({ name: 'prod', nodeRole: 'KarpenterNodeRole-prod' })
    .nodePools({
      name: 'h100-mig',
      gpuType: 'H100-80GB',
      layout: MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }),
    })
    .repository(ModelRepository.s3({ bucket: 'acme-models', prefix: 'triton', region: 'us-east-1' }))
    .teams(vision, search)
    .build(new Chart(app, 'platform'), 'Platform');
}

/** Writes the example into `outdir` (manifests and config.pbtxt files); returns the lines it prints. */
export function main(outdir: string = path.join('dist', 'team-stack')): string[] {
  const app = new App({ outdir });
  const platform = buildTeamStack(app);
  app.synth();
  const configs = ModelRepository.writeAllConfigs(app, app.outdir);
  return [
    ...[...platform.pools.values()].map(
      ({ pool, owner, maxReplicas }) =>
        `team ${owner}: pool ${pool.name} (${pool.gpuResource}) serves ${pool.models.join(', ')}, up to ${maxReplicas} replicas`,
    ),
    `wrote ${path.join(outdir, 'platform.k8s.yaml')} and ${configs.length} config.pbtxt under ${path.join(outdir, 'model-repository')}`,
  ];
}

if (require.main === module) {
  for (const line of main(process.argv[2])) console.log(line);
}
