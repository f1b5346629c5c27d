/**
 * Stack configuration (stacks/config.ts): defaults, and one failing case per key, all problems at once.
 */
import * as path from 'path';
import { DEFAULT_FLEET_FILE, readStackSettings, STACK_CONFIG_KEYS } from '../stacks/config';

const ROOT = path.resolve(__dirname, '..');
const ctx = { project: 'gpufleet', stack: 'dev', organization: 'acme', rootDir: ROOT };

describe('readStackSettings: values', () => {
  test('defaults: create cluster and bucket, AL2023, scale from zero, IRSA', () => {
    const s = readStackSettings({ 'aws:region': 'eu-west-1' }, ctx);
    expect(s).toMatchObject({
      region: 'eu-west-1',
      clusterName: 'gpufleet-dev',
      bucketPrefix: 'models',
      amiType: 'AL2023_x86_64_NVIDIA',
      gpuNodeMin: 0,
      workloadIdentity: 'irsa',
      excludeKinds: [],
      fleetFile: path.join(ROOT, DEFAULT_FLEET_FILE),
    });
    expect(s.existingClusterName).toBeUndefined();
    expect(s.existingBucket).toBeUndefined();
    expect(s.bucketName).toMatch(/^gpufleet-dev-models-[0-9a-f]{8}$/);
    // deterministic, and different for another stack or organization
    expect(readStackSettings({ 'aws:region': 'eu-west-1' }, ctx).bucketName).toBe(s.bucketName);
    expect(readStackSettings({ 'aws:region': 'eu-west-1' }, { ...ctx, organization: 'other' }).bucketName).not.toBe(s.bucketName);
  });

  test('existing cluster and bucket, explicit values', () => {
    const s = readStackSettings(
      {
        'gpufleet:region': 'us-west-2',
        'gpufleet:clusterName': 'prod',
        'gpufleet:kubeconfig': 'apiVersion: v1',
        'gpufleet:bucket': 'acme-models',
        'gpufleet:subnetIds': 'subnet-0a1b2c3d, subnet-0e1f2a3b',
        'gpufleet:gpuNodeMax': '4',
        'gpufleet:amiType': 'BOTTLEROCKET_x86_64_NVIDIA',
        'gpufleet:excludeKinds': 'monitoring.coreos.com/ServiceMonitor',
        'gpufleet:clusterAutoscaler': 'true',
        'other:key': 'ignored',
      },
      ctx,
    );
    expect(s).toMatchObject({
      existingClusterName: 'prod',
      clusterName: 'prod',
      kubeconfig: 'apiVersion: v1',
      existingBucket: 'acme-models',
      bucketName: 'acme-models',
      subnetIds: ['subnet-0a1b2c3d', 'subnet-0e1f2a3b'],
      gpuNodeMax: 4,
      amiType: 'BOTTLEROCKET_x86_64_NVIDIA',
      excludeKinds: ['monitoring.coreos.com/ServiceMonitor'],
      clusterAutoscaler: true,
    });
  });

  test('fails listing every problem at once', () => {
    let message = '';
    try {
      readStackSettings(
        {
          'gpufleet:region': 'us-east-1',
          'gpufleet:kubeconfig': 'x',
          'gpufleet:bucket': 'Bad_Bucket',
          'gpufleet:bucketName': 'other',
          'gpufleet:bucketPrefix': '/models/',
          'gpufleet:subnetIds': 'subnet-1',
          'gpufleet:kmsKeyArn': 'alias/x',
          'gpufleet:workloadIdentity': 'keys',
          'gpufleet:gpuNodeMin': '3',
          'gpufleet:gpuNodeMax': '2',
          'gpufleet:kubernetesVersion': 'latest',
          'gpufleet:clusterAutoscaler': 'yes',
          'gpufleet:excludeKinds': 'ServiceMonitor',
        },
        ctx,
      );
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'invalid stack configuration (11 problems):',
      '  - gpufleet:kubeconfig: only for an existing cluster (set gpufleet:clusterName too)',
      '  - gpufleet:kubernetesVersion: expected a Kubernetes minor version such as 1.33, got "latest"',
      '  - gpufleet:subnetIds: expected at least two comma-separated subnet ids (subnet-0123abcd...), got "subnet-1"',
      '  - gpufleet:bucket: expected an S3 bucket name (3-63 lowercase letters, digits, . and -), got "Bad_Bucket"',
      '  - gpufleet:bucketName: only for a created bucket, not allowed with gpufleet:bucket',
      "  - gpufleet:bucketPrefix: expected an S3 key prefix without leading or trailing '/' or '*', got \"/models/\"",
      '  - gpufleet:kmsKeyArn: expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/x"',
      '  - gpufleet:gpuNodeMax: expected >= gpufleet:gpuNodeMin (3), got 2',
      '  - gpufleet:workloadIdentity: expected irsa or pod-identity, got "keys"',
      '  - gpufleet:clusterAutoscaler: expected true or false, got "yes"',
      '  - gpufleet:excludeKinds: expected comma-separated <api group>/<Kind> such as monitoring.coreos.com/ServiceMonitor (core ' +
        'kinds: /ConfigMap), got "ServiceMonitor"',
    ]);
  });
});

describe('readStackSettings: existing clusters, prerequisites, documented keys', () => {
  test('fails on options of a created cluster given with an existing one', () => {
    expect(() =>
      readStackSettings(
        {
          'gpufleet:region': 'us-east-1',
          'gpufleet:clusterName': 'prod',
          'gpufleet:newClusterName': 'x',
          'gpufleet:kubernetesVersion': '1.33',
        },
        ctx,
      ),
    ).toThrow(
      'invalid stack configuration (2 problems):\n  - gpufleet:newClusterName: only for a created cluster, not allowed with ' +
        'gpufleet:clusterName\n' +
        '  - gpufleet:kubernetesVersion: only for a created cluster, not allowed with gpufleet:clusterName',
    );
  });

  test("gpufleet:prerequisites: what the cluster already has, in the platform's vocabulary; unset means a fresh cluster", () => {
    expect(readStackSettings({ 'aws:region': 'eu-west-1' }, ctx).clusterHas).toEqual({});
    // `pulumi config set --path gpufleet:prerequisites.keda true` stores a map; the program reads it as JSON
    expect(
      readStackSettings(
        {
          'aws:region': 'eu-west-1',
          'gpufleet:prerequisites': '{"keda":true,"prometheus":{"namespace":"observability"},"metricsSources":["istio"]}',
        },
        ctx,
      ).clusterHas,
    ).toEqual({ keda: true, prometheus: { namespace: 'observability' }, metricsSources: ['istio'] });
    // a plain `pulumi config set gpufleet:prerequisites` with YAML works too
    expect(
      readStackSettings({ 'aws:region': 'eu-west-1', 'gpufleet:prerequisites': 'gatewayApi: true\nflux: false' }, ctx).clusterHas,
    ).toEqual({ gatewayApi: true, flux: false });
    expect(() =>
      readStackSettings(
        {
          'aws:region': 'eu-west-1',
          'gpufleet:prerequisites': '{"prometheus":{"namespace":"monitoring","port":9090},"prometheusAdapter":{"namespace":"Bad_NS"}}',
        },
        ctx,
      ),
    ).toThrow(
      'invalid stack configuration (2 problems):\n  - gpufleet:prerequisites.prometheus.port: unknown key; allowed: namespace\n' +
        '  - gpufleet:prerequisites.prometheusAdapter.namespace: ',
    );
    expect(() => readStackSettings({ 'aws:region': 'eu-west-1', 'gpufleet:prerequisites': '[true]' }, ctx)).toThrow(
      'gpufleet:prerequisites: expected a mapping such as {"keda": true, "gatewayApi": true, "prometheus": {"namespace": ' +
        '"monitoring"}}, got "[true]"',
    );
  });

  test('every key is documented', () => {
    for (const [key, doc] of Object.entries(STACK_CONFIG_KEYS)) expect(doc.length).toBeGreaterThan(10 + key.length / 10);
  });
});
