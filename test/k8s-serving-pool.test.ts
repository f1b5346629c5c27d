import { Chart, Duration, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { TritonModelConfig } from '../constructs/k8s/serving/triton-model-config';
import { TritonPool, TritonPoolProps } from '../constructs/k8s/serving/triton-pool';
import { validateObjects } from './support/validate';
import { parseTritonArgs, startTritonStandin } from '../constructs/runtime/standin';
import { request } from './support/triton-standin-procs';

type PoolInput = Omit<TritonPoolProps, 'repository'>;

function synth(props: Partial<PoolInput> = {}, chartNamespace?: string): { objs: any[]; pool: TritonPool; chart: Chart } {
  const app = Testing.app();
  const chart = new Chart(app, 'test', { namespace: chartNamespace });
  const repository = new ModelRepository(chart, 'Repo', {
    storage: ModelRepository.s3({
      bucket: 'acme-models',
      prefix: 'triton',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/triton',
    }),
  });
  const pool = new TritonPool(chart, 'Pool', {
    name: 'cnn-1g',
    namespace: 'vision',
    models: ['resnet50', 'efficientnet-b0', 'mobilenet-v3'],
    gpuType: 'H100-80GB',
    profile: '1g.10gb',
    migConfig: 'all-1g.10gb',
    replicas: 3,
    team: 'vision',
    repository,
    ...props,
  });
  return { objs: Testing.synth(chart), pool, chart };
}

const byKind = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);
const container = (objs: any[]) => byKind(objs, 'Deployment')[0].spec.template.spec.containers[0];

describe('TritonPool scheduling and GPU resources', () => {
  test('requests exactly one MIG slice, selects the layout and the GPU by instance type, tolerates the GPU taint', () => {
    // GIVEN / WHEN a pool on H100 1g.10gb slices
    const { objs, pool } = synth();
    const d = byKind(objs, 'Deployment')[0];
    const c = container(objs);
    // THEN requests = limits = exactly one nvidia.com/mig-1g.10gb, and no other GPU resource
    expect(pool.gpuResource).toBe('nvidia.com/mig-1g.10gb');
    const gpuKeys = (r: Record<string, unknown>) => Object.keys(r).filter((k) => k.startsWith('nvidia.com/'));
    expect(gpuKeys(c.resources.requests)).toEqual(['nvidia.com/mig-1g.10gb']);
    expect(gpuKeys(c.resources.limits)).toEqual(['nvidia.com/mig-1g.10gb']);
    expect(c.resources.requests['nvidia.com/mig-1g.10gb']).toBe(1);
    expect(c.resources.limits['nvidia.com/mig-1g.10gb']).toBe(1);
    expect(c.resources.requests.cpu).toBe('2');
    expect(c.resources.requests.memory).toBe('8Gi');
    // Guaranteed QoS: limits equal requests
    expect(c.resources.limits).toEqual(c.resources.requests);
    expect(d.spec.replicas).toBe(3);
    const terms = d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms).toEqual([
      {
        matchExpressions: [
          // a label Karpenter and cluster-autoscaler know before launch, not GPU feature discovery's product label
          { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge', 'p5.4xlarge'] },
          { key: 'nvidia.com/mig.config', operator: 'In', values: ['all-1g.10gb'] },
        ],
      },
    ]);
    expect(d.spec.template.spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(d.spec.template.metadata.labels).toMatchObject({ 'gpufleet.io/triton-pool': 'cnn-1g', 'gpufleet.io/team': 'vision' });
  });

  test('a whole-GPU pool requests one nvidia.com/gpu', () => {
    const { objs } = synth({ name: 'llm', models: ['llama-7b'], profile: 'whole', migConfig: undefined, replicas: 1 });
    const c = container(objs);
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(Object.keys(c.resources.limits).filter((k) => k.startsWith('nvidia.com/'))).toEqual(['nvidia.com/gpu']);
    const exprs = byKind(objs, 'Deployment')[0].spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
      .nodeSelectorTerms[0].matchExpressions;
    expect(exprs.map((e: any) => e.key)).toEqual(['node.kubernetes.io/instance-type']);
  });

  test('with a node pool, the pods require its gpufleet.io/pool label and the layout, nothing written after boot', () => {
    const { objs } = synth({ nodePool: 'h100-mig' });
    const exprs = byKind(objs, 'Deployment')[0].spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
      .nodeSelectorTerms[0].matchExpressions;
    expect(exprs).toEqual([
      { key: 'gpufleet.io/pool', operator: 'In', values: ['h100-mig'] },
      { key: 'nvidia.com/mig.config', operator: 'In', values: ['all-1g.10gb'] },
    ]);
  });

  test('the single strategy requests nvidia.com/gpu, no product label (the device plugin renames it <product>-MIG-<profile>)', () => {
    const { objs } = synth({ migStrategy: 'single' });
    const c = container(objs);
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    const exprs = byKind(objs, 'Deployment')[0].spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
      .nodeSelectorTerms[0].matchExpressions;
    expect(exprs.map((e: any) => e.key)).toEqual(['node.kubernetes.io/instance-type', 'nvidia.com/mig.config']);
  });
});

describe('TritonPool Triton args and model loading', () => {
  test('args load each model (sorted) in explicit mode from the repository', () => {
    const { objs } = synth();
    const c = container(objs);
    expect(c.image).toBe('nvcr.io/nvidia/tritonserver:25.08-py3');
    expect(c.command).toEqual(['tritonserver']);
    expect(c.args).toEqual([
      '--model-repository=s3://acme-models/triton',
      '--model-control-mode=explicit',
      '--load-model=efficientnet-b0',
      '--load-model=mobilenet-v3',
      '--load-model=resnet50',
      '--http-port=8000',
      '--grpc-port=8001',
      '--metrics-port=8002',
    ]);
    // Triton reads them without error or deprecation warning, strict readiness on (Triton's default)
    expect(parseTritonArgs(c.args)).toMatchObject({
      errors: [],
      warnings: [],
      strictReadiness: true,
      modelControlMode: 'explicit',
      autoCompleteConfig: true,
    });
    const strict = container(synth({ autoCompleteConfig: false, extraArgs: ['--log-verbose=1'] }).objs);
    expect(strict.args.slice(-2)).toEqual(['--disable-auto-complete-config', '--log-verbose=1']);
    expect(parseTritonArgs(strict.args)).toMatchObject({ errors: [], warnings: [], autoCompleteConfig: false });
  });

  test('a pool that loads nothing at start: explicit mode, no --load-model, no per-model labels, labelled a cache pool', () => {
    // GIVEN / WHEN the same pool with loadModelsAtStart: false
    const { objs, pool } = synth({ loadModelsAtStart: false });
    const d = byKind(objs, 'Deployment')[0];
    const c = container(objs);
    // THEN Triton starts in explicit mode with no model loaded
    expect(pool.loadModelsAtStart).toBe(false);
    expect(c.args).toEqual([
      '--model-repository=s3://acme-models/triton',
      '--model-control-mode=explicit',
      '--http-port=8000',
      '--grpc-port=8001',
      '--metrics-port=8002',
      '--strict-readiness=false',
    ]);
    expect(c.args.filter((a: string) => a.startsWith('--load-model'))).toEqual([]);
    expect(pool.strictReadiness).toBe(false);
    // no per-model pod labels; the Deployment and its pods are marked as a cache pool
    const podLabels: Record<string, string> = d.spec.template.metadata.labels;
    expect(Object.keys(podLabels).filter((k) => k.startsWith('model.gpufleet.io/'))).toEqual([]);
    expect(podLabels['gpufleet.io/cache-pool']).toBe('true');
    expect(d.metadata.labels['gpufleet.io/cache-pool']).toBe('true');
    // the Service, budget and monitor are those of any pool: no cache label, same selector
    for (const kind of ['Service', 'PodDisruptionBudget', 'ServiceMonitor']) {
      expect(byKind(objs, kind)[0].metadata.labels['gpufleet.io/cache-pool']).toBeUndefined();
    }
    expect(byKind(objs, 'Service')[0].spec.selector).toEqual(pool.selectorLabels);
    // the models are still the pool's (sorted), for the image, the config digest and the platform checks
    expect(pool.models).toEqual(['efficientnet-b0', 'mobilenet-v3', 'resnet50']);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('a pool loads its models at start by default: one --load-model and one model label per model, no cache label', () => {
    for (const props of [{}, { loadModelsAtStart: true }]) {
      const { objs, pool } = synth(props);
      const d = byKind(objs, 'Deployment')[0];
      expect(pool.loadModelsAtStart).toBe(true);
      expect(container(objs).args.filter((a: string) => a.startsWith('--load-model='))).toEqual([
        '--load-model=efficientnet-b0',
        '--load-model=mobilenet-v3',
        '--load-model=resnet50',
      ]);
      expect(
        Object.keys(d.spec.template.metadata.labels)
          .filter((k) => k.startsWith('model.gpufleet.io/'))
          .sort(),
      ).toEqual(['model.gpufleet.io/efficientnet-b0', 'model.gpufleet.io/mobilenet-v3', 'model.gpufleet.io/resnet50']);
      expect(d.spec.template.metadata.labels['gpufleet.io/cache-pool']).toBeUndefined();
      expect(d.metadata.labels['gpufleet.io/cache-pool']).toBeUndefined();
    }
  });
});

describe('TritonPool pod spec: probes, security, volumes', () => {
  test('ports, probes sized for model load time, and the service account', () => {
    const { objs } = synth({ modelLoadTimeout: Duration.minutes(15) });
    const c = container(objs);
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8000, protocol: 'TCP' },
      { name: 'grpc', containerPort: 8001, protocol: 'TCP' },
      { name: 'metrics', containerPort: 8002, protocol: 'TCP' },
    ]);
    expect(c.startupProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBeGreaterThanOrEqual(15 * 60);
    expect(c.readinessProbe.httpGet.path).toBe('/v2/health/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/v2/health/live');
    // graceful stop: endpoints drop the pod before Triton drains, within the grace period
    expect(c.lifecycle.preStop.exec.command).toEqual(['sleep', '10']);
    expect(byKind(objs, 'Deployment')[0].spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(10 + 30);
    const spec = byKind(objs, 'Deployment')[0].spec.template.spec;
    expect(spec.serviceAccountName).toBe('triton-model-reader');
    expect(c.env).toContainEqual({ name: 'AWS_REGION', value: 'us-east-1' });
    // the default timeout is 10 minutes
    const d = container(synth().objs).startupProbe;
    expect(d.failureThreshold * d.periodSeconds).toBe(600);
  });

  test('runs as non-root with a read-only root filesystem and writable /tmp and /dev/shm', () => {
    const { objs } = synth({ shmSize: '2Gi' });
    const spec = byKind(objs, 'Deployment')[0].spec.template.spec;
    const c = spec.containers[0];
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'dshm', mountPath: '/dev/shm' },
    ]);
    expect(spec.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '50Gi' } },
      { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } },
    ]);
  });

  test('a PVC repository is mounted read-only', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test');
    const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models-efs' }) });
    new TritonPool(chart, 'Pool', { name: 'p', namespace: 'ml', repository, models: ['m'], gpuType: 'A100-80GB', profile: '3g.40gb' });
    const objs = Testing.synth(chart);
    const c = container(objs);
    expect(c.args[0]).toBe('--model-repository=/models');
    expect(c.volumeMounts).toContainEqual({ name: 'model-repository', mountPath: '/models', readOnly: true });
    expect(byKind(objs, 'Deployment')[0].spec.template.spec.serviceAccountName).toBeUndefined();
  });
});

describe('TritonPool objects and naming', () => {
  test('Service, ServiceMonitor and PodDisruptionBudget select the pool pods', () => {
    const { objs, pool } = synth({ serviceMonitorLabels: { release: 'kube-prometheus-stack' } });
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/triton-model-reader',
      'Deployment/cnn-1g',
      'Service/cnn-1g',
      'PodDisruptionBudget/cnn-1g',
      'ServiceMonitor/cnn-1g',
    ]);
    for (const o of objs) expect(o.metadata.namespace).toBe('vision');
    const svc = byKind(objs, 'Service')[0];
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.selector).toEqual(pool.selectorLabels);
    expect(svc.spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ['http', 8000],
      ['grpc', 8001],
      ['metrics', 8002],
    ]);
    const sm = byKind(objs, 'ServiceMonitor')[0];
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    expect(sm.spec.selector.matchLabels).toEqual(pool.selectorLabels);
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    const pdb = byKind(objs, 'PodDisruptionBudget')[0];
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: pool.selectorLabels } });
    expect(byKind(synth({ disruption: { minAvailable: 2 } }).objs, 'PodDisruptionBudget')[0].spec.minAvailable).toBe(2);
    expect(byKind(synth({ serviceMonitor: false }).objs, 'ServiceMonitor')).toEqual([]);
  });

  test('every object validates against the Kubernetes 1.28 schemas and the CRDs', () => {
    expect(validateObjects(synth().objs)).toEqual([]);
  });

  test('models given in another order render byte-identical YAML', () => {
    const a = synth().objs;
    const b = synth({ models: ['mobilenet-v3', 'resnet50', 'efficientnet-b0'] }).objs;
    expect(YAML.stringify(b)).toBe(YAML.stringify(a));
  });

  test('the namespace defaults to the chart namespace; an autoscaled pool leaves replicas out', () => {
    const { objs, pool } = synth({ namespace: undefined }, 'team-a');
    expect(pool.namespace).toBe('team-a');
    expect(byKind(objs, 'Deployment')[0].spec.replicas).toBe(3);
    pool.markAutoscaled('test');
    expect(Testing.synth(Chart.of(pool)).find((o: any) => o.kind === 'Deployment').spec.replicas).toBeUndefined();
    expect(() => pool.markAutoscaled('again')).toThrow(
      'pools.cnn-1g: already autoscaled; a pool takes one PoolAutoscaling, got a second from again',
    );
  });

  test('the pod name pattern does not match a pool whose name extends this one', () => {
    const { pool } = synth({ name: 'bert' });
    const re = new RegExp(`^${pool.podNamePattern}$`);
    expect(re.test('bert-7d9f8c6b5d-x2k4q')).toBe(true);
    expect(re.test('bert-large-7d9f8c6b5d-x2k4q')).toBe(false);
  });
});

describe('TritonPool rollout and image', () => {
  test('a change to a model config changes the pod template (rolls the pool)', () => {
    const render = (maxBatchSize: number, extra = false) => {
      const chart = new Chart(Testing.app(), 'test');
      const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
      const pool = new TritonPool(chart, 'Pool', {
        name: 'p',
        namespace: 'ml',
        repository,
        models: ['resnet50'],
        gpuType: 'H100-80GB',
        profile: '1g.10gb',
      });
      // configs added after the pool still count
      repository.addModel(new TritonModelConfig({ name: 'resnet50', platform: 'onnxruntime_onnx', maxBatchSize }));
      if (extra) repository.addModel(new TritonModelConfig({ name: 'other', platform: 'onnxruntime_onnx' }));
      expect(pool.models).toEqual(['resnet50']);
      return Testing.synth(chart).find((o: any) => o.kind === 'Deployment').spec.template.metadata.annotations['gpufleet.io/model-configs'];
    };
    expect(render(8)).toMatch(/^[0-9a-f]{16}$/);
    expect(render(8)).toBe(render(8));
    expect(render(16)).not.toBe(render(8));
    // a model of another pool does not roll this one
    expect(render(8, true)).toBe(render(8));
    // without configs in the repository there is no annotation
    expect(byKind(synth().objs, 'Deployment')[0].spec.template.metadata.annotations).toBeUndefined();
  });

  test('a pool serving a vLLM model defaults to the vLLM image; an explicit image wins', () => {
    const render = (image?: string) => {
      const chart = new Chart(Testing.app(), 'test');
      const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
      const pool = new TritonPool(chart, 'Pool', {
        name: 'llm',
        namespace: 'ml',
        repository,
        models: ['llama-7b'],
        gpuType: 'H100-80GB',
        profile: 'whole',
        image,
      });
      repository.addModel(new TritonModelConfig({ name: 'llama-7b', backend: 'vllm' }));
      return { pool, image: container(Testing.synth(chart)).image };
    };
    const auto = render();
    expect(auto.image).toBe('nvcr.io/nvidia/tritonserver:25.08-vllm-python-py3');
    expect(auto.pool.image).toBe(auto.image);
    expect(render('registry.example.com/triton:custom').image).toBe('registry.example.com/triton:custom');
    expect(() => synth({ image: 'bad image' })).toThrow(
      /^pools\.cnn-1g\.image: expected a pinned image reference: .*, got "bad image" \(is not a valid image reference\)$/,
    );
    // an untagged image runs whatever :latest is when the node pulls it
    expect(() => synth({ image: 'registry.example.com/triton' })).toThrow(/^pools\.cnn-1g\.image: .*\(is not pinned: give a tag/);
    const digest = `registry.example.com/triton@sha256:${'a'.repeat(64)}`;
    expect(render(digest).image).toBe(digest);
  });
});

describe('TritonPool fails on bad props', () => {
  test('fails with no models', () => {
    expect(() => synth({ models: [] })).toThrow('pools.cnn-1g.models: expected at least one model, got []');
  });

  test('fails with a duplicate model', () => {
    expect(() => synth({ models: ['resnet50', 'resnet50'] })).toThrow('pools.cnn-1g.models[1]: duplicate model "resnet50"');
  });

  test('fails with negative replicas', () => {
    expect(() => synth({ replicas: -1 })).toThrow('pools.cnn-1g.replicas: expected an integer >= 0, got -1');
  });

  test('fails with bad names', () => {
    expect(() => synth({ name: 'CNN_pool' })).toThrow(/^name: expected a DNS-1123 label.*got "CNN_pool"$/);
    expect(() => synth({ name: 'a'.repeat(41) })).toThrow(/^name: expected at most 40 characters/);
    expect(() => synth({ models: ['ResNet'] })).toThrow(/^pools\.cnn-1g\.models\[0\]: expected a DNS-1123 label/);
    expect(() => synth({ migConfig: 'All Balanced' })).toThrow(
      /^pools\.cnn-1g\.migConfig: expected 1-63 lowercase letters.*got "All Balanced"$/,
    );
  });

  test('fails for a profile the GPU does not have, and an unknown GPU type', () => {
    expect(() => synth({ profile: '1g.5gb' })).toThrow(/^pools\.cnn-1g\.profile: .*"1g\.5gb".*H100-80GB/);
    expect(() => synth({ gpuType: 'Z100' })).toThrow(/^pools\.cnn-1g\.gpuType: unknown GPU type "Z100"/);
    expect(() => synth({ migStrategy: 'none' as any })).toThrow('pools.cnn-1g.migStrategy: expected mixed or single, got "none"');
  });

  test('fails for invalid resource quantities', () => {
    expect(() => synth({ resources: { memory: '8 GB' } })).toThrow(
      'pools.cnn-1g.resources.memory: expected a positive Kubernetes quantity such as 500m, 2 or 8Gi, got "8 GB"',
    );
    expect(() => synth({ shmSize: '0' })).toThrow(/^pools\.cnn-1g\.shmSize: expected a positive Kubernetes quantity/);
  });
});

describe('TritonPool readiness of the rendered args (stand-in)', () => {
  test("a cache pool's Triton stays ready through a failed load; a pool that loads at start reports it", async () => {
    // The rendered args, read as Triton r25.08 reads them, drive the stand-in's /v2/health/ready
    // (core src/server.cc InferenceServer::IsReady under --strict-readiness).
    const cacheArgs = container(synth({ loadModelsAtStart: false }).objs).args;
    const seatedArgs = container(synth().objs).args;
    const servers = await Promise.all(
      [cacheArgs, seatedArgs].map((args) => startTritonStandin({ args, models: { broken: 1 }, failLoads: ['broken'] })),
    );
    try {
      const ready: number[] = [];
      for (const s of servers) {
        expect((await request(s.url, 'POST', '/v2/repository/models/broken/load')).status).toBe(400);
        ready.push((await request(s.url, 'GET', '/v2/health/ready')).status);
        expect(s.warnings).toEqual([]);
      }
      // the cache pod stays in its Service's endpoints (the router's DNS); strict readiness would drop it for good
      expect(ready).toEqual([200, 400]);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

describe('TritonPool fails on bad loading props', () => {
  test('fails when loadModelsAtStart is not a boolean', () => {
    expect(() => synth({ loadModelsAtStart: 'no' as any })).toThrow('pools.cnn-1g.loadModelsAtStart: expected true or false, got "no"');
  });

  test('fails for args the pool owns and a too short load timeout', () => {
    expect(() => synth({ extraArgs: ['--load-model=x'] })).toThrow(
      'pools.cnn-1g.extraArgs[0]: --load-model is set by the pool, got "--load-model=x"',
    );
    expect(() => synth({ extraArgs: ['--strict-readiness=true'] })).toThrow(
      'pools.cnn-1g.extraArgs[0]: --strict-readiness is set by the pool, got "--strict-readiness=true"',
    );
    expect(() => synth({ extraArgs: ['--strict-model-config=false'] })).toThrow(
      'pools.cnn-1g.extraArgs[0]: --strict-model-config is set by the pool, got "--strict-model-config=false"',
    );
    expect(() => synth({ strictReadiness: 'no' as any })).toThrow('pools.cnn-1g.strictReadiness: expected true or false, got "no"');
    expect(() => synth({ modelLoadTimeout: Duration.seconds(5) })).toThrow(
      'pools.cnn-1g.modelLoadTimeout: expected at least 10 seconds, got 5s',
    );
  });
});
