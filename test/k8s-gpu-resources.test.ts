import { ApiObject, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { addGpuLimits, gpuResourceName, gpuResources, gpuToleration, migResourceName } from '../constructs/k8s/gpu/gpu-resources';
import { validateObjects } from './support/validate';

describe('gpuResourceName', () => {
  test('mixed strategy names each MIG profile', () => {
    expect(gpuResourceName('A100-80GB', '1g.10gb', 'mixed')).toBe('nvidia.com/mig-1g.10gb');
    expect(gpuResourceName('H200-141GB', '3g.71gb')).toBe('nvidia.com/mig-3g.71gb');
  });

  test('+me becomes .me', () => {
    expect(gpuResourceName('H100-80GB', '1g.10gb+me', 'mixed')).toBe('nvidia.com/mig-1g.10gb.me');
    expect(migResourceName('1g.10gb+me')).toBe('nvidia.com/mig-1g.10gb.me');
  });

  test('whole GPUs and the single strategy are nvidia.com/gpu', () => {
    expect(gpuResourceName('L4', 'whole', 'mixed')).toBe('nvidia.com/gpu');
    expect(gpuResourceName('H100-80GB', 'whole', 'mixed')).toBe('nvidia.com/gpu');
    expect(gpuResourceName('H100-80GB', '1g.10gb', 'single')).toBe('nvidia.com/gpu');
  });

  test('fails for an unknown profile, naming the GPU and the valid profiles', () => {
    expect(() => gpuResourceName('A100-80GB', '1g.18gb', 'mixed')).toThrow(
      /unknown MIG profile "1g.18gb" for GPU type A100-80GB; valid: 1g\.10gb/,
    );
  });

  test('fails for a MIG profile on a GPU without MIG', () => {
    expect(() => gpuResourceName('L4', '1g.10gb', 'mixed')).toThrow(/L4 has no MIG profiles/);
  });

  test('fails for an unknown strategy', () => {
    expect(() => gpuResourceName('A100-80GB', '1g.10gb', 'none' as any)).toThrow('strategy: expected "mixed" or "single", got "none"');
  });
});

describe('gpuResources and addGpuLimits', () => {
  test('gpuResources gives limits usable in an L1 container spec, and the result validates', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new k8s.KubeDeployment(chart, 'Triton', {
      metadata: { name: 'triton' },
      spec: {
        selector: { matchLabels: { app: 'triton' } },
        template: {
          metadata: { labels: { app: 'triton' } },
          spec: {
            tolerations: [gpuToleration()],
            containers: [
              { name: 'triton', image: 'nvcr.io/nvidia/tritonserver:25.01-py3', resources: gpuResources('H100-80GB', '3g.40gb', 2) },
            ],
          },
        },
      },
    });
    // THEN
    const [deployment] = Testing.synth(chart);
    expect(deployment.spec.template.spec.containers[0].resources).toEqual({ limits: { 'nvidia.com/mig-3g.40gb': 2 } });
    expect(deployment.spec.template.spec.tolerations).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    ]);
    expect(validateObjects(Testing.synth(chart))).toEqual([]);
  });

  test('addGpuLimits patches a cdk8s-plus Deployment, keeping its cpu and memory limits', () => {
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'Triton', {
      containers: [{ image: 'nvcr.io/nvidia/tritonserver:25.01-py3', securityContext: { ensureNonRoot: false } }],
    });
    const name = addGpuLimits(deployment, { gpuType: 'A100-80GB', profile: '1g.10gb' });
    expect(name).toBe('nvidia.com/mig-1g.10gb');
    const obj = Testing.synth(chart).find((o) => o.kind === 'Deployment');
    const limits = obj.spec.template.spec.containers[0].resources.limits;
    expect(limits['nvidia.com/mig-1g.10gb']).toBe(1);
    expect(limits.cpu).toBeDefined();
    expect(validateObjects(Testing.synth(chart))).toEqual([]);
  });

  test('addGpuLimits patches a plain ApiObject with a number', () => {
    const chart = Testing.chart();
    const obj = new ApiObject(chart, 'Raw', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'raw' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '1' } } }] } } },
    });
    addGpuLimits(obj, { gpuType: 'L4', profile: 'whole', count: 2 });
    expect(Testing.synth(chart)[0].spec.template.spec.containers[0].resources.limits).toEqual({ cpu: '1', 'nvidia.com/gpu': 2 });
  });

  test('fails for a count below 1 or a bad container index', () => {
    expect(() => gpuResources('L4', 'whole', 0)).toThrow('count: expected an integer >= 1, got 0');
    const chart = Testing.chart();
    const deployment = new kplus.Deployment(chart, 'D', { containers: [{ image: 'x' }] });
    expect(() => addGpuLimits(deployment, { gpuType: 'L4', profile: 'whole', containerIndex: -1 })).toThrow(
      'containerIndex: expected an integer >= 0, got -1',
    );
  });
});
