/**
 * The platform file (constructs/k8s/platform/platform-file.ts): parsed and checked with the fleet's discipline (every problem at
 * once, one line each with path and value, unknown keys with the nearest allowed one, values quoted at most 100
 * characters), mapped onto `ServingPlatform.fromPlan` (fleet-platform.ts), and documented key by key in
 * docs/platform-file.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import { parseFleet } from '../constructs/fleet';
import { fleetPlatformProps, parsePlatformFile, PLATFORM_FILE_KEYS, PlatformFileError, validatePlatformDocument } from '../constructs/k8s';
import type { Plan } from '../constructs/planner/types';

const ROOT = path.resolve(__dirname, '..');
const problems = (text: string): string[] => {
  try {
    parsePlatformFile(text, 'p.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(PlatformFileError);
    return (e as PlatformFileError).problems;
  }
  throw new Error('expected problems');
};

describe('the platform file: documented keys and the mapping to ServingPlatform', () => {
  test('every key is documented in docs/platform-file.md, and the docs list no other', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'platform-file.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Every key'));
    const documented = [...table.matchAll(/^\| `([a-zA-Z0-9.]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(PLATFORM_FILE_KEYS));
  });

  test('examples/platform.yaml parses into what it says', () => {
    const p = parsePlatformFile(fs.readFileSync(path.join(ROOT, 'examples', 'platform.yaml'), 'utf8'), 'examples/platform.yaml');
    expect(p).toEqual({
      source: 'examples/platform.yaml',
      cluster: { name: 'gpufleet', nodeRole: 'KarpenterNodeRole-gpufleet' },
      nodeClass: { amiFamily: 'al2023', capacityTypes: ['on-demand'], volumeSize: '200Gi' },
      repository: {
        kind: 's3',
        bucket: 'gpufleet-models',
        prefix: 'payments-and-vision',
        region: 'us-east-1',
        roleArn: 'arn:aws:iam::123456789012:role/gpufleet-model-reader',
      },
      routes: { hostnames: ['inference.example.com'], gateway: { name: 'inference', namespace: 'gateway-system' } },
      scaling: { engine: 'keda', extraReplicas: 1 },
      coldTier: { loadTimeoutSeconds: 120 },
    });
  });

  test('maps onto ServingPlatform.fromPlan props; a prerequisites section lists what the cluster has, the rest absent', () => {
    const fleet = parseFleet(
      'name: f\ngpus: [{ type: L4 }]\nmodels: [{ name: m, team: t, rps: 1, latencySloMs: 100, memoryGiB: 1, throughputPerGpu: 100 }]\n',
    );
    const file = parsePlatformFile(
      [
        'cluster: { name: prod, nodeRole: gpu-nodes }',
        'repository: { pvc: { claimName: models, subPath: triton } }',
        'routes: { requestTimeoutSeconds: 30 }',
        'scaling: { engine: hpa, extraReplicas: 2, scaleDownStabilizationSeconds: 60 }',
        'namespaces: { shared: shared-models, monitoring: observability }',
        'gpuOperator: { migStrategy: single }',
        'prerequisites: { keda: true, prometheus: { namespace: observability }, metricsSources: [istio] }',
      ].join('\n'),
    );
    const props = fleetPlatformProps({ fleet, plan: {} as Plan, platform: file });
    expect(props).toMatchObject({
      cluster: { name: 'prod', nodeRole: 'gpu-nodes' },
      repository: { kind: 'pvc', claimName: 'models', subPath: 'triton' },
      gpuOperator: { nodeImage: 'al2023-nvidia', migStrategy: 'single' },
      scaling: { kind: 'hpa', maxReplicas: 1 },
      extraReplicas: 2,
      sharedNamespace: 'shared-models',
      monitoringNamespace: 'observability',
      prerequisites: {
        karpenterNodeOverlay: false,
        prometheus: { namespace: 'observability' },
        prometheusAdapter: false,
        keda: true,
        gatewayApi: false,
        flux: false,
        metricsSources: ['istio'],
      },
    });
    expect((props.routes!.requestTimeout as Duration).toSeconds()).toBe(30);
    expect((props.scaling as { scaleDownStabilization: Duration }).scaleDownStabilization.toSeconds()).toBe(60);
    // overrides (the Pulumi stack) win over the file
    const over = fleetPlatformProps({ fleet, plan: {} as Plan, platform: file, overrides: { cluster: { name: 'stack', nodeRole: 'r' } } });
    expect(over.cluster).toEqual({ name: 'stack', nodeRole: 'r' });
  });
});

describe('the platform file: errors', () => {
  test('fails to render without cluster and repository, naming both', () => {
    const fleet = parseFleet(
      'name: f\ngpus: [{ type: L4 }]\nmodels: [{ name: m, team: t, rps: 1, latencySloMs: 100, memoryGiB: 1, throughputPerGpu: 100 }]\n',
    );
    expect(() => fleetPlatformProps({ fleet, plan: {} as Plan, platform: parsePlatformFile('routes: {}\n', 'p.yaml') })).toThrow(
      'p.yaml: 2 problems\np.yaml: cluster: required, expected { name, nodeRole } of the cluster the GPU nodes join\n' +
        'p.yaml: repository: required, expected { s3: { bucket, prefix, region } } or { pvc: { claimName } }',
    );
  });

  test('fails with one line per problem, every problem at once', () => {
    expect(
      problems(
        [
          'clustr: {}',
          'repository: { s3: { bucket: models, region: us-east-1 }, pvc: { claimName: x } }',
          'nodeClass: { capacityTypes: [spot, cheap], volumeSize: big, subnetSelectorTags: { tier: 1 } }',
          'scaling: { engine: fixed, extraReplicas: 1 }',
          'namespaces: { shared: Shared }',
          'coldTier: { maxQueuePerModel: 0 }',
        ].join('\n'),
      ),
    ).toEqual([
      'p.yaml: clustr: unknown key; did you mean "cluster"? allowed: cluster, nodeClass, gpuOperator, repository, routes, scaling, ' +
        'coldTier, namespaces, prerequisites',
      'p.yaml: nodeClass.capacityTypes[1]: expected one of on-demand, spot, reserved, got "cheap"',
      'p.yaml: nodeClass.subnetSelectorTags.tier: expected a string of at most 256 characters, got 1',
      'p.yaml: nodeClass.volumeSize: expected a storage quantity such as 200Gi, got "big"',
      'p.yaml: repository: expected exactly one of s3 or pvc, got both',
      'p.yaml: scaling.extraReplicas: only with engine keda or hpa, got engine fixed',
      'p.yaml: coldTier.maxQueuePerModel: expected an integer from 1 to 100000, got 0',
      expect.stringMatching(/^p\.yaml: namespaces\.shared: expected a DNS-1123 label .*got "Shared"$/),
    ]);
  });

  test('fails on YAML syntax with line and column, and on duplicate keys', () => {
    expect(problems('routes: { hostnames: [a\n')).toEqual([expect.stringMatching(/^p\.yaml:\d+:\d+: YAML syntax error: /)]);
    expect(problems('{"scaling": {"engine": "keda"}, "scaling": {"engine": "hpa"}}')).toEqual([
      expect.stringMatching(/^p\.yaml:1:\d+: scaling: duplicate key/),
    ]);
    expect(problems('- a\n- b\n')).toEqual([
      'p.yaml: expected a mapping with cluster, nodeClass, gpuOperator, repository, routes, scaling, coldTier, namespaces, ' +
        'prerequisites, got a list of 2',
    ]);
  });

  test('quotes at most 100 characters of a value', () => {
    const [line] = problems(`routes: { hostnames: ["${'X'.repeat(5000)}"] }\n`);
    expect(line.length).toBeLessThan(300);
    expect(line).toContain('(5000 characters)');
    // an image reference longer than distribution/reference allows is refused (quoted as the number it was replaced by)
    expect(problems(`coldTier: { image: "${'x'.repeat(5000)}" }\n`)).toEqual([
      expect.stringMatching(/^p\.yaml: coldTier\.image: expected a container image reference/),
    ]);
  });

  test('an empty document is a problem, not an empty platform', () => {
    expect(validatePlatformDocument(null, 'p.yaml').problems).toEqual([
      'expected a mapping with cluster, nodeClass, gpuOperator, repository, routes, scaling, coldTier, namespaces, prerequisites, ' +
        'got an empty document',
    ]);
  });
});
