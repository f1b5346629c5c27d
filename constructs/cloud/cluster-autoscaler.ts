import * as iam from '@pulumi/aws/iam';
import { Provider as KubernetesProvider } from '@pulumi/kubernetes/provider';
import * as helm from '@pulumi/kubernetes/helm/v3';
import * as pulumi from '@pulumi/pulumi';
import { quote } from '../fleet/quote';
import { assertImageReference } from '../k8s/common/image-reference';
import { POOL_LABEL } from '../k8s/common/labels';
import { irsaTrustPolicy, policyDocument, stableJson } from './iam-documents';
import type { WorkloadIdentityProvider } from './gpu-cluster';

/** The chart and image gpufleet pins (image minor = the cluster's Kubernetes minor). */
export const CLUSTER_AUTOSCALER_DEFAULTS = {
  chart: 'cluster-autoscaler',
  version: '9.56.0',
  repository: 'https://kubernetes.github.io/autoscaler',
  imageTag: 'v1.33.1',
  /** The chart's default `image.repository` (values.yaml of chart 9.56.0). */
  imageRepository: 'registry.k8s.io/autoscaling/cluster-autoscaler',
  namespace: 'kube-system',
  serviceAccount: 'cluster-autoscaler',
} as const;

export interface ClusterAutoscalerArgs {
  /** The cluster (IRSA: needs its OIDC provider). */
  readonly cluster: WorkloadIdentityProvider;
  /** Kubernetes provider of the cluster. */
  readonly provider: KubernetesProvider;
  /** AWS region of the Auto Scaling groups. */
  readonly region: pulumi.Input<string>;
  /** Chart version. @default '9.56.0' */
  readonly version?: string;
  /** Image tag; keep its minor equal to the cluster's Kubernetes minor. @default 'v1.33.1' */
  readonly imageTag?: string;
  /**
   * Digest the image is pinned to (`sha256:` and 64 lowercase hex digits): the node then pulls exactly that image,
   * whatever the tag points to later. The chart renders `image: "<repository>:<tag>"` (templates/deployment.yaml
   * of cluster-autoscaler chart 9.56.0, kubernetes/autoscaler), so the digest rides in the tag value:
   * `registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.1@sha256:...`, where the digest decides what is pulled.
   * @default - pinned by tag only
   */
  readonly imageDigest?: string;
  /** Node selector of the autoscaler pod (keep it off the GPU nodes it scales). @default { 'gpufleet.io/pool': 'system' } */
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

/**
 * The IAM policy of the cluster-autoscaler (as the autoscaler's AWS provider documents it): scaling and
 * terminating only Auto Scaling groups tagged `k8s.io/cluster-autoscaler/<cluster>: owned`; read-only
 * describe calls (which IAM supports only on `*`) for the node templates and instance types.
 */
export function clusterAutoscalerPolicy(clusterName: string) {
  return policyDocument([
    {
      Sid: 'ScaleOwnedGroups',
      Effect: 'Allow',
      Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
      Resource: '*',
      Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: 'owned' } },
    },
    {
      Sid: 'DescribeGroups',
      Effect: 'Allow',
      Action: [
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeLaunchConfigurations',
        'autoscaling:DescribeScalingActivities',
        'autoscaling:DescribeTags',
        'ec2:DescribeImages',
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeLaunchTemplateVersions',
        'ec2:GetInstanceTypesFromInstanceRequirements',
        'eks:DescribeNodegroup',
      ],
      Resource: '*',
    },
  ]);
}

/**
 * The Kubernetes cluster-autoscaler (Helm chart from kubernetes.github.io/autoscaler) with an IRSA role,
 * discovering the node groups by their `k8s.io/cluster-autoscaler/enabled` and `<cluster>: owned` tags and
 * scaling GPU node groups up from zero by their node-template tags (MIG resources, labels, taint).
 */
export class ClusterAutoscaler extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:ClusterAutoscaler';

  public readonly role: iam.Role;
  public readonly release: helm.Release;

  constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(ClusterAutoscaler.TYPE, name, ClusterAutoscaler.check(args), opts);
    const d = CLUSTER_AUTOSCALER_DEFAULTS;
    const sa = { namespace: d.namespace, name: d.serviceAccount };
    this.role = new iam.Role(
      `${name}-role`,
      {
        description: 'gpufleet: cluster-autoscaler (IRSA)',
        assumeRolePolicy: pulumi
          .all([args.cluster.oidcProviderArn!, args.cluster.oidcIssuerUrl])
          .apply(([arn, issuer]) => stableJson(irsaTrustPolicy(arn, issuer, sa))),
      },
      { parent: this },
    );
    const policy = new iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: args.cluster.clusterName.apply((c) => stableJson(clusterAutoscalerPolicy(c))),
      },
      { parent: this },
    );
    this.release = new helm.Release(
      `${name}-release`,
      {
        name: 'cluster-autoscaler',
        chart: d.chart,
        version: args.version ?? d.version,
        repositoryOpts: { repo: d.repository },
        namespace: d.namespace,
        values: {
          cloudProvider: 'aws',
          awsRegion: args.region,
          autoDiscovery: { clusterName: args.cluster.clusterName },
          image: { tag: `${args.imageTag ?? d.imageTag}${args.imageDigest !== undefined ? `@${args.imageDigest}` : ''}` },
          rbac: { serviceAccount: { create: true, name: d.serviceAccount, annotations: { 'eks.amazonaws.com/role-arn': this.role.arn } } },
          extraArgs: { 'balance-similar-node-groups': true, expander: 'least-waste', 'skip-nodes-with-local-storage': false },
          nodeSelector: { ...(args.nodeSelector ?? { [POOL_LABEL]: 'system' }) },
        },
      },
      {
        parent: this,
        provider: args.provider,
        // Without its policy the autoscaler starts, fails every AWS call and crash-loops.
        dependsOn: [policy],
      },
    );
    this.registerOutputs({ roleArn: this.role.arn });
  }

  private static check(args: ClusterAutoscalerArgs): Record<string, never> {
    if (!args.cluster?.oidcProviderArn) {
      throw new Error('cluster: the cluster-autoscaler authenticates with IRSA and needs a cluster with an OIDC provider, got none');
    }
    if (args.imageTag !== undefined && !/^v1\.\d+\.\d+$/.test(args.imageTag)) {
      throw new Error(`imageTag: expected v1.<minor>.<patch>, got ${JSON.stringify(args.imageTag)}`);
    }
    if (args.imageDigest !== undefined && (typeof args.imageDigest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(args.imageDigest))) {
      throw new Error(`imageDigest: expected sha256: and 64 lowercase hex digits, got ${quote(args.imageDigest)}`);
    }
    // the reference the chart renders, checked as the kubelet parses it
    const d = CLUSTER_AUTOSCALER_DEFAULTS;
    assertImageReference(
      'imageTag',
      `${d.imageRepository}:${args.imageTag ?? d.imageTag}${args.imageDigest !== undefined ? `@${args.imageDigest}` : ''}`,
    );
    return {};
  }
}
