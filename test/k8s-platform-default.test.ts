/**
 * The default example platform (what `npm run synth` writes to dist/), checked object by object.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { collectFacts } from '../constructs/k8s/platform/platform-checks';
import { buildDefaultPlatform } from '../examples/default-platform';
import { validateObjects } from './support/validate';

const app = Testing.app();
const { chart, platform } = buildDefaultPlatform(app);
const objs: any[] = chart.toJson();
const of = (kind: string, ns?: string) => objs.filter((o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns));
/** The Triton Deployments (the search team's model router is a Deployment too). */
const deployments = of('Deployment').filter((d) => d.spec.template.spec.containers[0].name === 'triton');
const teams = ['assistant', 'search', 'vision'];

describe('default example platform: teams, pools, models', () => {
  test('is realistic: 3 teams, 10+ models, MIG 1g/2g/3g slices of H100-80GB, an LLM on a whole GPU, S3 repository', () => {
    expect([...platform.teams.keys()]).toEqual(teams);
    expect(platform.repository.modelNames.length).toBeGreaterThanOrEqual(10);
    expect(platform.repository.url).toBe('s3://gpufleet-models/prod');
    const resources = new Set(
      deployments.map((d) => Object.keys(d.spec.template.spec.containers[0].resources.limits).find((k) => k.startsWith('nvidia.com/'))),
    );
    for (const r of ['nvidia.com/mig-1g.10gb', 'nvidia.com/mig-2g.20gb', 'nvidia.com/mig-3g.40gb', 'nvidia.com/gpu'])
      expect(resources).toContain(r);
    const llm = deployments.find((d) => d.spec.template.spec.containers[0].args.includes('--load-model=llama-2-7b-chat'));
    expect(llm.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(platform.check()).toEqual([]);
  });

  test('each Triton Deployment requests exactly one GPU/MIG resource that a node pool it selects provides', () => {
    const facts = collectFacts(objs);
    expect(facts.pools.length).toBe(deployments.length);
    expect(facts.pools.length).toBe(8);
    for (const pool of facts.pools) {
      const requested = Object.entries(pool.gpuResources);
      expect(requested).toHaveLength(1);
      expect(requested[0][1]).toBe(1);
      const providers = facts.nodePools.filter((np) => np.resources.includes(requested[0][0]));
      expect(providers.length).toBeGreaterThan(0);
    }
    // the MIG pools select the layout their node pool carries
    const migParted = parseYaml(
      of('ConfigMap', 'gpu-operator').find((c) => c.metadata.name === 'gpufleet-mig-parted-config').data['config.yaml'],
    );
    expect(Object.keys(migParted['mig-configs'])).toEqual(['all-disabled', 'h100-balanced']);
    expect(migParted['mig-configs']['h100-balanced'][0]['mig-devices']).toEqual({ '1g.10gb': 2, '2g.20gb': 1, '3g.40gb': 1 });
  });

  test('args name exactly the models placed in each pool', () => {
    for (const [name, { pool, cache }] of platform.pools) {
      const d = deployments.find((x) => x.metadata.name === name);
      const loaded = d.spec.template.spec.containers[0].args
        .filter((a: string) => a.startsWith('--load-model='))
        .map((a: string) => a.slice('--load-model='.length));
      // a cache pool loads nothing at start: its router loads its models on demand
      expect(loaded).toEqual(cache ? [] : [...pool.models]);
      expect(d.spec.template.spec.containers[0].args).toContain('--model-control-mode=explicit');
      expect(d.spec.template.spec.containers[0].args).toContain('--model-repository=s3://gpufleet-models/prod');
    }
  });

  test('each model has a config.pbtxt under dist/model-repository/<model>/', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-default-'));
    try {
      ModelRepository.writeAllConfigs(app, outdir);
      for (const m of platform.repository.modelNames) {
        const text = fs.readFileSync(path.join(outdir, 'model-repository', m, 'config.pbtxt'), 'utf8');
        expect(text).toContain(`name: "${m}"`);
        // the vLLM model lets its backend place the engine (its sample config); every other model is on the GPU
        expect(text).toContain(m === 'llama-2-7b-chat' ? 'kind: KIND_MODEL' : 'kind: KIND_GPU');
      }
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('default example platform: scaling, quotas, pod security', () => {
  test('each pool has Service + ServiceMonitor + PDB + an HPA or ScaledObject with the request-weighted query', () => {
    const adapter = parseYaml(of('ConfigMap', 'monitoring')[0].data['config.yaml']);
    expect(adapter.rules[0].metricsQuery).toMatch(
      /sum\(rate\(nv_inference_queue_duration_us\{.*\}\[1m\]\)\) by \(.*\) \/ sum\(rate\(nv_inference_request_success\{.*\}\[1m\]\)\)/,
    );
    for (const d of deployments) {
      const { name, namespace } = d.metadata;
      const find = (kind: string) => objs.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
      expect(find('Service')).toBeDefined();
      expect(find('ServiceMonitor')).toBeDefined();
      expect(find('PodDisruptionBudget')).toBeDefined();
      const so = objs.find((o) => o.kind === 'ScaledObject' && o.spec.scaleTargetRef.name === name && o.metadata.namespace === namespace);
      const hpa = objs.find(
        (o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === name && o.metadata.namespace === namespace,
      );
      expect(Boolean(so) !== Boolean(hpa)).toBe(true);
      const vllm = name === 'assistant-llm';
      if (so) {
        const signal = so.spec.triggers.find((t: any) => t.name === (vllm ? 'first-token' : 'queue-time'));
        const sel = `namespace="${namespace}",pod=~"${name}-[a-z0-9]+-[a-z0-9]+"`;
        expect(signal.metadata.query).toBe(
          vllm
            ? `(sum(rate(vllm:time_to_first_token_seconds_sum{${sel}}[1m])) * 1000000 / ` +
                `sum(rate(vllm:time_to_first_token_seconds_count{${sel}}[1m])) >= 0) or vector(0)`
            : `(sum(rate(nv_inference_queue_duration_us{${sel}}[1m])) / ` +
                `sum(rate(nv_inference_request_success{${sel}}[1m])) >= 0) or vector(0)`,
        );
        // a decoupled (vLLM) pool does not scale on Triton's queue time, which its backlog never moves
        expect(so.spec.triggers.some((t: any) => t.name === 'queue-time')).toBe(!vllm);
      } else {
        expect(JSON.stringify(hpa.spec.metrics)).toContain('gpufleet_triton_queue_us_per_request');
      }
    }
    // the cold tier scales to zero and wakes on the router's own metrics (scraped by its ServiceMonitor), not on a
    // metric of something the platform does not install
    const cold = objs.find((o) => o.kind === 'ScaledObject' && o.metadata.name === 'search-cold');
    expect(cold.spec.minReplicaCount).toBe(0);
    const wake = cold.spec.triggers.find((t: any) => t.name === 'wake');
    expect(wake.metadata.query).toBe(
      '(sum(rate(gpufleet_router_requests_total{model=~"t5-small|xlm-roberta"}[2m])) or vector(0)) + ' +
        '(sum(gpufleet_router_queued_requests{model=~"t5-small|xlm-roberta"}) or vector(0))',
    );
    expect(
      objs.find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === 'model-router' && o.metadata.namespace === 'search'),
    ).toBeDefined();
    expect(JSON.stringify(objs)).not.toContain('istio');
  });

  test('each team has Namespace + ResourceQuota with GPU/MIG keys + NetworkPolicies + RBAC', () => {
    for (const t of teams) {
      expect(of('Namespace').find((n) => n.metadata.name === t).metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      const hard = of('ResourceQuota', t)[0].spec.hard;
      for (const key of [
        'requests.nvidia.com/gpu',
        'requests.nvidia.com/mig-1g.10gb',
        'requests.nvidia.com/mig-2g.20gb',
        'requests.nvidia.com/mig-3g.40gb',
      ]) {
        expect(hard[key]).toEqual(expect.any(Number));
      }
      expect(of('NetworkPolicy', t).map((n) => n.metadata.name)).toContain('default-deny');
      expect(of('Role', t)).toHaveLength(1);
      expect(of('RoleBinding', t)).toHaveLength(1);
    }
    // quotas are sized from the pools at their maximum
    expect(of('ResourceQuota', 'vision')[0].spec.hard['requests.nvidia.com/mig-1g.10gb']).toBe(8);
    expect(of('ResourceQuota', 'search')[0].spec.hard['requests.nvidia.com/mig-1g.10gb']).toBe(6 + 2);
    expect(of('ResourceQuota', 'assistant')[0].spec.hard['requests.nvidia.com/gpu']).toBe(3 + 4);
  });

  test('Triton pods meet the Pod Security "restricted" profile their team namespaces enforce', () => {
    const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
    for (const d of deployments) {
      const ns = of('Namespace').find((n) => n.metadata.name === d.metadata.namespace);
      expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      expect(pod.hostNetwork ?? false).toBe(false);
      for (const v of pod.volumes ?? [])
        expect(
          Object.keys(v)
            .filter((k) => k !== 'name')
            .every((k) => allowedVolumes.includes(k)),
        ).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
        expect(c.securityContext.privileged ?? false).toBe(false);
      }
    }
  });
});

describe('default example platform: routes, validation, determinism', () => {
  test('routes cover every model, each to the pool that serves it', () => {
    const routed = new Map<string, string>();
    for (const r of of('HTTPRoute')) {
      expect(r.spec.parentRefs[0]).toMatchObject({ kind: 'Gateway', name: 'inference', namespace: 'gateway-system' });
      expect(r.spec.hostnames).toEqual(['inference.example.com']);
      for (const rule of r.spec.rules) {
        for (const m of rule.matches)
          routed.set(m.path.value.replace('/v2/models/', ''), rule.backendRefs.map((b: any) => b.name).join(','));
      }
    }
    expect([...routed.keys()].sort()).toEqual(platform.repository.modelNames);
    // a cache pool's models go to its namespace's model router, the others to their pool
    for (const [name, { pool, cache }] of platform.pools)
      for (const m of pool.models) expect(routed.get(m)).toBe(cache ? 'model-router' : name);
  });

  test('every object validates against the Kubernetes 1.28 schemas and the CRDs', () => {
    expect(validateObjects(objs)).toEqual([]);
  });

  test('teams, models and pools declared in reverse order synthesize byte-identical YAML', () => {
    const synthTo = (reversed: boolean): string => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-det-'));
      const a = new App({ outdir });
      buildDefaultPlatform(a, 'default-platform', { reversed });
      a.synth();
      const text = fs.readFileSync(path.join(outdir, 'default-platform.k8s.yaml'), 'utf8');
      fs.rmSync(outdir, { recursive: true, force: true });
      return text;
    };
    const forward = synthTo(false);
    expect(forward.length).toBeGreaterThan(10_000);
    expect(synthTo(true)).toBe(forward);
  });
});
