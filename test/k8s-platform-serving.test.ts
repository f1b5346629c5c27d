import { ApiObject, Chart, JsonPatch, Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { collectFacts } from '../constructs/k8s/platform/platform-checks';
import { ServingPlatform } from '../constructs/k8s/platform/serving-platform';
import type { PlatformContext, Team } from '../constructs/k8s/teams/team-contract';
import { TritonPool } from '../constructs/k8s/serving/triton-pool';
import { MigLayout } from '../constructs/k8s/gpu/mig-layout';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { baseBuilder, h100Mixed, llmTeam, synthBuilt, visionTeam } from './k8s-platform-fixtures';
import { validateObjects } from './support/validate';
import { once } from './support/once';

const of = (objs: any[], kind: string, ns?: string) =>
  objs.filter((o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns));

/** The hand-written platform of the fixtures, built once for the `ServingPlatform (hand-written pools)…` blocks below. */
const handWritten = once(() => {
  let platform!: ServingPlatform;
  const objs = synthBuilt((chart) => {
    platform = baseBuilder().teams(visionTeam(), llmTeam()).build(chart, 'Platform');
  });
  return { platform, objs };
});

describe('ServingPlatform (hand-written pools): objects, GPU resources, quotas, scaling', () => {
  const { platform, objs } = handWritten();

  test('renders operator, MIG config, node pools, team namespaces and pools', () => {
    expect(of(objs, 'HelmRelease').map((o) => o.metadata.name)).toEqual(['gpu-operator']);
    expect(of(objs, 'NodePool').map((o) => o.metadata.name)).toEqual(['h100-mixed', 'h100-whole']);
    expect(of(objs, 'Namespace').map((o) => o.metadata.name)).toEqual(['gpu-operator', 'llm', 'vision']);
    expect(of(objs, 'Deployment').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'llm/llm-gpu',
      'vision/vision-1g',
      'vision/vision-3g',
    ]);
    const migParted = of(objs, 'ConfigMap').find((o) => o.metadata.name === 'gpufleet-mig-parted-config');
    expect(migParted.data['config.yaml']).toContain('h100-mixed:');
  });

  test('each pool requests exactly one GPU resource that its node pool layout provides, and names its models', () => {
    const facts = collectFacts(objs);
    const provided = new Map(facts.nodePools.map((n) => [n.name, n.resources]));
    expect(facts.pools.map((p) => [p.name, p.gpuResources, [...p.models].sort()])).toEqual([
      ['llm-gpu', { 'nvidia.com/gpu': 1 }, ['llama-7b']],
      ['vision-1g', { 'nvidia.com/mig-1g.10gb': 1 }, ['densenet', 'resnet50']],
      ['vision-3g', { 'nvidia.com/mig-3g.40gb': 1 }, ['yolo']],
    ]);
    expect(provided.get('h100-mixed')).toEqual(expect.arrayContaining(['nvidia.com/mig-1g.10gb', 'nvidia.com/mig-3g.40gb']));
    expect(provided.get('h100-whole')).toEqual(['nvidia.com/gpu']);
    const llm = of(objs, 'Deployment').find((d) => d.metadata.name === 'llm-gpu');
    const terms =
      llm.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions;
    expect(terms).toContainEqual({ key: 'nvidia.com/mig.config', operator: 'In', values: ['all-disabled'] });
    expect(platform.check()).toEqual([]);
  });

  test('team quotas list every GPU resource of the cluster, sized from the pools at their maximum', () => {
    const hard = (ns: string) => of(objs, 'ResourceQuota', ns)[0].spec.hard;
    expect(hard('vision')).toMatchObject({
      'requests.nvidia.com/gpu': 0,
      'requests.nvidia.com/mig-1g.10gb': 4, // keda maxReplicas 4
      'requests.nvidia.com/mig-2g.20gb': 0,
      'requests.nvidia.com/mig-3g.40gb': 1,
    });
    expect(hard('llm')).toMatchObject({
      'requests.nvidia.com/gpu': 2, // hpa maxReplicas 2
      'requests.nvidia.com/mig-1g.10gb': 0,
      'requests.nvidia.com/mig-2g.20gb': 0,
      'requests.nvidia.com/mig-3g.40gb': 0,
    });
    expect(hard('vision')).toMatchObject({ 'requests.cpu': '64', 'requests.memory': '256Gi', pods: 100 });
    expect(of(objs, 'RoleBinding', 'llm')[0].subjects[0].name).toBe('oidc:llm-engineers');
    expect(of(objs, 'RoleBinding', 'vision')[0].subjects[0].name).toBe('gpufleet:team:vision');
  });

  test('autoscaling: a ScaledObject for KEDA pools, an HPA and adapter rules for HPA pools, fixed pools keep replicas', () => {
    expect(of(objs, 'ScaledObject').map((o) => o.metadata.name)).toEqual(['vision-1g']);
    expect(of(objs, 'HorizontalPodAutoscaler').map((o) => o.metadata.name)).toEqual(['llm-gpu']);
    expect(of(objs, 'ConfigMap', 'monitoring').map((o) => o.metadata.name)).toEqual(['gpufleet-adapter-rules']);
    const fixed = of(objs, 'Deployment').find((d) => d.metadata.name === 'vision-3g');
    expect(fixed.spec.replicas).toBe(1);
    const scaled = of(objs, 'Deployment').find((d) => d.metadata.name === 'vision-1g');
    expect(scaled.spec.replicas).toBeUndefined();
  });
});

describe('ServingPlatform (hand-written pools): repository, order, validation', () => {
  const { platform, objs } = handWritten();

  test('the repository holds every team model with its Triton config', () => {
    expect(platform.repository.modelNames).toEqual(['densenet', 'llama-7b', 'resnet50', 'yolo']);
    const files = platform.repository.configFiles();
    expect(Object.keys(files)).toEqual([
      'model-repository/densenet/config.pbtxt',
      'model-repository/llama-7b/config.pbtxt',
      'model-repository/resnet50/config.pbtxt',
      'model-repository/yolo/config.pbtxt',
    ]);
    expect(files['model-repository/resnet50/config.pbtxt']).toContain('max_batch_size: 16');
    expect(files['model-repository/resnet50/config.pbtxt']).toMatch(/preferred_batch_size: \[ 8, 16 \]/);
    expect(files['model-repository/yolo/config.pbtxt']).toMatch(/count: 2/);
    expect(files['model-repository/llama-7b/config.pbtxt']).toContain('backend: "vllm"');
  });

  test('service accounts in team namespaces come after their Namespace', () => {
    const index = (kind: string, ns: string) =>
      objs.findIndex((o) => o.kind === kind && (kind === 'Namespace' ? o.metadata.name === ns : o.metadata.namespace === ns));
    for (const ns of ['llm', 'vision']) expect(index('ServiceAccount', ns)).toBeGreaterThan(index('Namespace', ns));
  });

  test('every object validates', () => {
    expect(validateObjects(objs)).toEqual([]);
  });

  test('output does not depend on the order teams, models and pools are declared in', () => {
    const reversed = (t: Team): Team => ({ ...t, models: [...t.models].reverse(), pools: [...(t.pools ?? [])].reverse() });
    const a = synthBuilt((chart) => baseBuilder().teams(visionTeam(), llmTeam()).build(chart, 'Platform'));
    const b = synthBuilt((chart) => baseBuilder().teams(reversed(llmTeam()), reversed(visionTeam())).build(chart, 'Platform'));
    expect(b.map((o) => stringify(o)).join('---\n')).toBe(a.map((o) => stringify(o)).join('---\n'));
  });
});

describe('ServingPlatform errors: placement, models, names of pools', () => {
  const build = (...teams: Team[]) =>
    baseBuilder()
      .teams(...teams)
      .build(Testing.chart(), 'Platform');

  test('fails when no node pool layout provides a pool slice', () => {
    const team = { ...visionTeam(), pools: [{ name: 'vision-4g', slice: '4g.40gb', models: ['resnet50'] }] };
    expect(() => build(team)).toThrow(
      'pool "vision-4g" requests nvidia.com/mig-4g.40gb, but no node pool\'s layout provides it (layouts: h100-mixed: 3g.40gb, ' +
        '2g.20gb, 1g.10gb; h100-whole: whole GPUs)',
    );
  });

  test('fails when the named node pool does not provide the slice', () => {
    const team = { ...visionTeam(), pools: [{ name: 'vision-1g', slice: '1g.10gb', models: ['resnet50'], nodePool: 'h100-whole' }] };
    expect(() => build(team)).toThrow(
      'pool "vision-1g" requests nvidia.com/mig-1g.10gb, but node pool "h100-whole"\'s layout does not provide it (h100-whole: whole GPUs)',
    );
  });

  test('fails when a pool names an undeclared node pool', () => {
    const team = { ...visionTeam(), pools: [{ name: 'vision-1g', slice: '1g.10gb', models: ['resnet50'], nodePool: 'a100' }] };
    expect(() => build(team)).toThrow(
      'teams["vision"].pools[0].nodePool: pool "vision-1g" names node pool "a100", which is not declared (node pools: h100-mixed, ' +
        'h100-whole)',
    );
  });

  test('fails when a pool loads a model its team does not declare', () => {
    const team = { ...visionTeam(), pools: [{ name: 'vision-1g', slice: '1g.10gb', models: ['resnet50', 'llama-7b'] }] };
    expect(() => build(team, llmTeam())).toThrow(
      'teams["vision"].pools[0].models: pool "vision-1g" loads model "llama-7b", which belongs to team "llm"',
    );
    const unknown = { ...visionTeam(), pools: [{ name: 'vision-1g', slice: '1g.10gb', models: ['bert'] }] };
    expect(() => build(unknown)).toThrow(
      'teams["vision"].pools[0].models: pool "vision-1g" loads model "bert", but no team declares it (team "vision" has densenet, ' +
        'resnet50, yolo)',
    );
  });

  test('fails when two teams declare the same model', () => {
    const other: Team = { name: 'search', models: [{ name: 'resnet50' }] };
    expect(() => build(visionTeam(), other)).toThrow(
      'teams["vision"].models: model "resnet50" is already declared by team "search"; model names are unique across the platform',
    );
  });

  test('fails when two pools share a name', () => {
    const other: Team = { name: 'search', models: [{ name: 'bert' }], pools: [{ name: 'vision-3g', slice: '3g.40gb', models: ['bert'] }] };
    expect(() => build(visionTeam(), other)).toThrow('teams["vision"].pools[1].name: pool "vision-3g" is declared more than once');
  });

  test('fails on an invalid model config, naming the team and model', () => {
    const team: Team = { name: 'search', models: [{ name: 'bert', maxBatchSize: 4, preferredBatchSizes: [8] }] };
    expect(() => build(team)).toThrow(/^teams\["search"\]\.models\["bert"\]: /);
  });
});

describe('ServingPlatform errors: cross-tree checks, names, missing parts', () => {
  const build = (...teams: Team[]) =>
    baseBuilder()
      .teams(...teams)
      .build(Testing.chart(), 'Platform');

  test('fails (cross-tree) when a pool added later does not tolerate the GPU taint', () => {
    const team: Team = {
      ...visionTeam(),
      setup(ctx: PlatformContext) {
        const pool = ctx.platform.pools.get('vision-3g')!.pool;
        ApiObject.of(pool.deployment).addJsonPatch(JsonPatch.replace('/spec/template/spec/tolerations', []));
      },
    };
    expect(() => build(team)).toThrow(
      'pool "vision-3g" does not tolerate taint nvidia.com/gpu=true:NoSchedule of node pool "h100-mixed" (tolerations: none)',
    );
  });

  test('fails (cross-tree) when a pool added by a team hook exceeds the team quota or loads an unknown model', () => {
    const team: Team = {
      ...visionTeam(),
      setup(ctx: PlatformContext, ns) {
        const platform = ctx.platform;
        new TritonPool(ctx.scope, 'Extra', {
          name: 'vision-extra',
          repository: platform.repository,
          models: ['mobilenet'],
          gpuType: 'H100-80GB',
          profile: '3g.40gb',
          migConfig: 'h100-mixed',
          namespace: ns.namespaceName,
          replicas: 2,
        });
      },
    };
    expect(() => build(team)).toThrow(
      [
        'serving platform "test/Platform" is inconsistent:',
        '- pool "vision-extra" loads model "mobilenet", but the model repository has no model "mobilenet" (repository: densenet, ' +
          'resnet50, yolo)',
        '- team "vision" (namespace vision) quota allows 1 nvidia.com/mig-3g.40gb, but its pools may request 3 (vision-3g: 1 × 1, ' +
          'vision-extra: 2 × 1)',
      ].join('\n'),
    );
  });

  test('fails (cross-tree) when a team fixes a CPU quota below what its pools request', () => {
    const team: Team = { ...visionTeam(), quota: { cpu: '8' } };
    expect(() => build(team)).toThrow(
      'team "vision" (namespace vision) quota allows requests.cpu 8, but its pools may request 10 (vision-1g: 4 × 2, vision-3g: 1 × 2)',
    );
  });

  test('fails on team, model, pool or node pool names that are not DNS-1123 labels, naming the path', () => {
    expect(() => build({ ...visionTeam(), name: 'Vision' })).toThrow(/^teams\[0\]\.name: expected a DNS-1123 label .*got "Vision"$/);
    expect(() => build({ ...visionTeam(), models: [{ name: 'ResNet_50' }] })).toThrow(
      /^teams\["vision"\]\.models\[0\]\.name: expected a DNS-1123 label/,
    );
    expect(() => build({ ...visionTeam(), pools: [{ name: 'vision.1g', slice: '1g.10gb', models: ['resnet50'] }] })).toThrow(
      /^teams\["vision"\]\.pools\[0\]\.name: expected a DNS-1123 label/,
    );
    expect(() => baseBuilder().nodePools({ name: 'H100', gpuType: 'H100-80GB' }).build(Testing.chart(), 'P')).toThrow(
      /^nodePools\[2\]\.name: expected a DNS-1123 label/,
    );
  });

  test('fails without a cluster or a repository', () => {
    expect(() => ServingPlatform.builder().teams(visionTeam()).build(Testing.chart(), 'P')).toThrow(
      'cluster: expected { name, nodeRole } of the EKS cluster, got undefined',
    );
  });
});

describe('ServingPlatform options: checks at synth, routes, repository', () => {
  test('checks run again at synth: a change after build that breaks the platform fails app.synth()', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'platform');
    const platform = baseBuilder().teams(visionTeam()).build(chart, 'Platform');
    ApiObject.of(platform.pools.get('vision-1g')!.pool.deployment).addJsonPatch(JsonPatch.replace('/spec/template/spec/tolerations', []));
    expect(() => app.synth()).toThrow(
      /pool "vision-1g" does not tolerate taint nvidia\.com\/gpu=true:NoSchedule of node pool "h100-mixed"/,
    );
  });

  test('ingress routing instead of Gateway API', () => {
    const objs = synthBuilt((chart) =>
      baseBuilder()
        .routes({ ingress: { className: 'nginx' }, hostnames: ['models.example.com'] })
        .teams(visionTeam())
        .build(chart, 'P'),
    );
    expect(of(objs, 'HTTPRoute')).toEqual([]);
    const ingress = of(objs, 'Ingress', 'vision')[0];
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.rules[0].host).toBe('models.example.com');
    expect(ingress.spec.rules[0].http.paths.map((p: any) => p.path)).toEqual([
      '/v2/models/densenet',
      '/v2/models/resnet50',
      '/v2/models/yolo',
    ]);
  });

  test('a PVC repository needs no egress to 443; pools mount the claim', () => {
    const objs = synthBuilt((chart) =>
      baseBuilder()
        .repository(ModelRepository.pvc({ claimName: 'models' }))
        .teams(visionTeam())
        .build(chart, 'P'),
    );
    expect(of(objs, 'NetworkPolicy', 'vision').map((n) => n.metadata.name)).not.toContain('allow-model-repository');
    const d = of(objs, 'Deployment', 'vision')[0];
    expect(d.spec.template.spec.volumes).toContainEqual({
      name: 'model-repository',
      persistentVolumeClaim: { claimName: 'models', readOnly: true },
    });
  });
});

describe('ServingPlatform options: node pools, models served, MIG strategy, quota headroom', () => {
  test('time-sliced whole-GPU node pools and explicit node pools for whole-GPU pools', () => {
    const team: Team = {
      name: 'embed',
      models: [{ name: 'bge-small' }],
      pools: [{ name: 'embed-l4', slice: 'whole', nodePool: 'l4', models: ['bge-small'], replicas: 3 }],
    };
    const objs = synthBuilt((chart) =>
      baseBuilder().nodePools({ name: 'l4', gpuType: 'L4', instanceType: 'g6.xlarge', timeSlicing: 4 }).teams(team).build(chart, 'P'),
    );
    const l4 = collectFacts(objs).nodePools.find((n) => n.name === 'l4')!;
    expect(l4.labels['nvidia.com/device-plugin.config']).toBe('l4-x4');
    expect(l4.layout).toBe('whole GPUs (gpu time-sliced ×4)');
    expect(of(objs, 'Deployment', 'embed')[0].spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
  });

  test('fails when a whole-GPU pool fits several node pools and names none', () => {
    const team: Team = {
      name: 'embed',
      models: [{ name: 'bge-small' }],
      pools: [{ name: 'embed-gpu', slice: 'whole', models: ['bge-small'] }],
    };
    expect(() => baseBuilder().nodePools({ name: 'h100-whole-2', gpuType: 'H100-80GB' }).teams(team).build(Testing.chart(), 'P')).toThrow(
      'teams["embed"].pools[0].nodePool: pool "embed-gpu" (slice whole) fits node pools h100-whole, h100-whole-2; name one with nodePool',
    );
  });

  test('fails on time-slicing a MIG node pool, or a node pool declared twice', () => {
    expect(() =>
      baseBuilder().nodePools({ name: 'bad', gpuType: 'H100-80GB', layout: h100Mixed(), timeSlicing: 2 }).build(Testing.chart(), 'P'),
    ).toThrow('nodePools["bad"].timeSlicing: time-slicing applies to whole GPUs, but the pool has MIG layout "h100-mixed"');
    expect(() => baseBuilder().nodePools({ name: 'h100-whole', gpuType: 'H100-80GB' }).build(Testing.chart(), 'P')).toThrow(
      'nodePools: node pool "h100-whole" is declared more than once',
    );
  });

  test('fails when a declared model is served by no pool', () => {
    const team: Team = { ...visionTeam(), models: [...visionTeam().models, { name: 'unused' }] };
    expect(() => baseBuilder().teams(team).build(Testing.chart(), 'P')).toThrow(
      'teams["vision"].models: model "unused" is served by no pool (pools of team "vision": vision-1g, vision-3g); add it to a pool ' +
        'or remove it',
    );
  });

  test('single MIG strategy: MIG slices and whole GPUs both request nvidia.com/gpu, on their own node pools', () => {
    const team: Team = {
      name: 'vision',
      models: [{ name: 'resnet50' }, { name: 'llama-7b' }],
      pools: [
        { name: 'vision-1g', slice: '1g.10gb', models: ['resnet50'] },
        { name: 'vision-gpu', slice: 'whole', models: ['llama-7b'] },
      ],
    };
    const chart = Testing.chart();
    const platform = ServingPlatform.builder()
      .cluster({ name: 'prod', nodeRole: 'KarpenterNodeRole-prod' })
      .gpuOperator({ migStrategy: 'single' })
      .repository(ModelRepository.s3({ bucket: 'models', region: 'us-east-1' }))
      .nodePools(
        { name: 'h100-1g', gpuType: 'H100-80GB', layout: MigLayout.fromProfiles('h100-1g', 'H100-80GB', { '1g.10gb': 7 }) },
        { name: 'h100-whole', gpuType: 'H100-80GB' },
      )
      .teams(team)
      .build(chart, 'P');
    expect(platform.pools.get('vision-1g')!.pool.gpuResource).toBe('nvidia.com/gpu');
    expect(platform.pools.get('vision-1g')!.pool.migConfig).toBe('h100-1g');
    expect(platform.pools.get('vision-gpu')!.pool.migConfig).toBe('all-disabled');
    expect(of(Testing.synth(chart), 'ResourceQuota', 'vision')[0].spec.hard['requests.nvidia.com/gpu']).toBe(2);
  });

  test('team quota headroom adds to what the pools need', () => {
    const team: Team = { ...visionTeam(), quota: { gpus: { 'nvidia.com/mig-1g.10gb': 2 } } };
    const objs = synthBuilt((chart) => baseBuilder().teams(team).build(chart, 'P'));
    expect(of(objs, 'ResourceQuota', 'vision')[0].spec.hard['requests.nvidia.com/mig-1g.10gb']).toBe(4 + 2);
  });
});
