import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeIf } from './support/notes';
import { SHARED_CRDS_DIR, crdIndex, validateObjects, validateObjectsReport } from './support/validate';

const withShared = describeIf(fs.existsSync(SHARED_CRDS_DIR), `needs the reference CRDs, and ${SHARED_CRDS_DIR} is absent`);

const nodePool = (consolidationPolicy: string) => ({
  apiVersion: 'karpenter.sh/v1',
  kind: 'NodePool',
  metadata: { name: 'gpu' },
  spec: {
    disruption: { consolidationPolicy, consolidateAfter: '10m' },
    template: {
      spec: {
        nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' },
        requirements: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] }],
      },
    },
  },
});

describe('validateObjects: core kinds (kubernetes-models)', () => {
  test('accepts a valid ConfigMap and Namespace', () => {
    // GIVEN valid core objects
    const objs = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gpu-operator' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'gpu-operator' }, data: { a: 'b' } },
    ];
    // WHEN / THEN
    expect(validateObjects(objs)).toEqual([]);
  });

  test('fails on a ConfigMap whose data value is not a string', () => {
    const errors = validateObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 1 } }]);
    expect(errors).toEqual(['ConfigMap cfg (v1): /data/a must be string']);
  });

  test('fails on a kind kubernetes-models does not know', () => {
    const errors = validateObjects([{ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('kind: "Widget" is not a kind of v1');
  });

  test('fails on a Deployment with a non-integer replica count', () => {
    const errors = validateObjects([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: {
          replicas: 'two',
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
    ]);
    expect(errors.some((e) => e.includes('/spec/replicas'))).toBe(true);
  });

  test('fails on a name that is not a DNS-1123 subdomain', () => {
    const errors = validateObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } }]);
    expect(errors).toEqual(['ConfigMap Bad_Name (v1): /metadata/name expected a DNS-1123 subdomain, got "Bad_Name"']);
  });

  test('validates Gateway API HTTPRoutes with @kubernetes-models/gateway-api', () => {
    const route = (port: unknown) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r' },
      spec: { rules: [{ backendRefs: [{ name: 'svc', port }] }] },
    });
    expect(validateObjects([route(8000)])).toEqual([]);
    expect(validateObjects([route('http')])).toEqual([
      'HTTPRoute r (gateway.networking.k8s.io/v1): /spec/rules/0/backendRefs/0/port must be integer',
    ]);
  });
});

withShared('validateObjects: custom resources (CRDs in ../shared/crds)', () => {
  test('indexes the CRDs by group/version/kind, preferring the AWS provider Karpenter CRDs', () => {
    const index = crdIndex();
    expect(index.get('karpenter.sh/v1/NodePool')?.file).toContain('karpenter-provider-aws');
    expect(index.has('helm.toolkit.fluxcd.io/v2/HelmRelease')).toBe(true);
    expect(index.has('source.toolkit.fluxcd.io/v1/HelmRepository')).toBe(true);
    expect(index.has('karpenter.k8s.aws/v1/EC2NodeClass')).toBe(true);
    expect(index.has('karpenter.sh/v1alpha1/NodeOverlay')).toBe(true);
    expect(index.has('nvidia.com/v1/ClusterPolicy')).toBe(true);
  });

  test('accepts a valid NodePool', () => {
    expect(validateObjects([nodePool('WhenEmpty')])).toEqual([]);
  });

  test('fails on a NodePool with a consolidation policy outside the enum', () => {
    expect(validateObjects([nodePool('Sometimes')])).toEqual([
      'NodePool gpu (karpenter.sh/v1): /spec/disruption/consolidationPolicy must be equal to one of the allowed values (WhenEmpty, ' +
        'WhenEmptyOrUnderutilized, Balanced)',
    ]);
  });

  test('fails on a custom resource kind without a CRD', () => {
    const errors = validateObjects([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('no CRD for example.com/v1/Widget');
  });

  test('skips an allow-listed kind and says so', () => {
    const r = validateObjectsReport([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }], {
      allowUnvalidated: ['example.com/v1/Widget'],
    });
    expect(r.errors).toEqual([]);
    expect(r.unvalidated).toEqual([{ object: 'Widget w (example.com/v1)', reason: 'listed in allowUnvalidated by the test' }]);
  });
});

describe('validateObjects without ../shared', () => {
  test('skips custom resources with the reason and still validates core kinds', () => {
    const r = validateObjectsReport(
      [nodePool('Sometimes'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 1 } }],
      { crdsDir: '/nonexistent/crds' },
    );
    expect(r.errors).toEqual(['ConfigMap c (v1): /data/a must be string']);
    expect(r.unvalidated).toEqual([
      {
        object: 'NodePool gpu (karpenter.sh/v1)',
        reason: 'custom resource, and the CRDs to check it against (/nonexistent/crds) are absent',
      },
    ]);
  });

  test("validateObjects puts each unvalidated object and its reason in the run's summary notes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-notes-'));
    const saved = process.env.GPUFLEET_TEST_NOTES;
    process.env.GPUFLEET_TEST_NOTES = dir;
    try {
      expect(validateObjects([nodePool('WhenEmpty')], { crdsDir: '/nonexistent/crds' })).toEqual([]);
    } finally {
      process.env.GPUFLEET_TEST_NOTES = saved;
    }
    const lines = fs
      .readdirSync(dir)
      .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        file: 'test/k8s-gpu-validation.test.ts',
        kind: 'unvalidated',
        object: 'NodePool gpu (karpenter.sh/v1)',
        reason: 'custom resource, and the CRDs to check it against (/nonexistent/crds) are absent',
      },
    ]);
  });
});
