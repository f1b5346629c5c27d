import * as ec2 from '@pulumi/aws/ec2';
import * as eks from '@pulumi/aws/eks';
import * as iam from '@pulumi/aws/iam';
import { Provider as KubernetesProvider } from '@pulumi/kubernetes/provider';
import * as pulumi from '@pulumi/pulumi';
import { ipv4CidrProblem } from '../fleet/names';
import { quote } from '../fleet/quote';
import { POOL_LABEL } from '../k8s/common/labels';
import { stableJson } from './iam-documents';
import { keepOutOfValueWalks } from './value-walks';

/** What a workload identity (IRSA or EKS Pod Identity) needs to know about a cluster. */
export interface WorkloadIdentityProvider {
  readonly clusterName: pulumi.Output<string>;
  /** Issuer URL of the cluster's OIDC identity provider (`https://oidc.eks.<region>.amazonaws.com/id/<id>`). */
  readonly oidcIssuerUrl: pulumi.Output<string>;
  /** ARN of the IAM OIDC provider for IRSA; undefined when the cluster uses Pod Identity only. */
  readonly oidcProviderArn?: pulumi.Output<string>;
}

/** What a node group needs to join a cluster. */
export interface NodeGroupHost {
  readonly clusterName: pulumi.Output<string>;
  /** IAM role of the nodes. */
  readonly nodeRoleArn: pulumi.Output<string>;
  /** Subnets the nodes run in. */
  readonly subnetIds: pulumi.Output<string[]>;
  /** Resources the nodes need before they can join (the node role's policy attachments). */
  readonly nodeRoleDependencies: readonly pulumi.Resource[];
}

/** Size and instance type of the system node group (cluster add-ons, GPU operator, routers). */
export interface SystemNodeGroupOptions {
  /** @default 'm6i.xlarge' */
  readonly instanceType?: pulumi.Input<string>;
  /** @default 2 */
  readonly minSize?: number;
  /** @default 4 */
  readonly maxSize?: number;
  /** @default - minSize */
  readonly desiredSize?: number;
  /** Root volume GiB. @default 50 */
  readonly diskSize?: number;
}

export interface GpuClusterArgs {
  /**
   * Name of an existing EKS cluster to use instead of creating one. gpufleet then creates only the
   * node IAM role (for its GPU node groups) and the Kubernetes provider.
   * @default - a new cluster is created
   */
  readonly existingClusterName?: pulumi.Input<string>;
  /**
   * Kubeconfig of the existing cluster (kept secret).
   * @default - built from the cluster's endpoint and CA, authenticating with `aws eks get-token`
   */
  readonly kubeconfig?: pulumi.Input<string>;
  /**
   * ARN of the existing cluster's IAM OIDC provider (IRSA).
   * @default - created for a new cluster; for an existing cluster looked up by its issuer URL
   */
  readonly oidcProviderArn?: pulumi.Input<string>;
  /**
   * Use IRSA: create (new cluster) or look up (existing cluster) the IAM OIDC provider. Turn off for an
   * existing cluster without one whose workloads use EKS Pod Identity only.
   * @default true
   */
  readonly irsa?: boolean;
  /** Name of the new cluster. @default - auto-named by Pulumi from the component name */
  readonly clusterName?: pulumi.Input<string>;
  /**
   * Name of the node IAM role (e.g. so that cdk8s Karpenter EC2NodeClasses can name it).
   * @default - auto-named by Pulumi
   */
  readonly nodeRoleName?: pulumi.Input<string>;
  /** Kubernetes version of the new cluster. @default '1.33' */
  readonly version?: pulumi.Input<string>;
  /** Subnets of the control plane and the nodes. @default - the default VPC's default-for-AZ subnets */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** AWS region, used by the generated kubeconfig's `aws eks get-token`. @default - the AWS CLI's own default */
  readonly region?: pulumi.Input<string>;
  /**
   * Public API endpoint of the new cluster. With `false` the API server answers only inside the cluster's VPC
   * (the private endpoint, always on): Pulumi, kubectl and CI must then run in the VPC or reach it through a VPN,
   * peering or a bastion, since the Kubernetes provider applies the platform through the API server.
   * @default true
   */
  readonly endpointPublicAccess?: boolean;
  /**
   * IPv4 CIDR blocks that may reach the public API endpoint (EKS `publicAccessCidrs`), at most
   * `MAX_PUBLIC_ACCESS_CIDRS` (EKS quota "Public endpoint access CIDR ranges per cluster", not adjustable).
   * They must include the address Pulumi runs from. Nodes are not affected: the private endpoint is on, so
   * they reach the API server inside the VPC. Not allowed with `endpointPublicAccess: false`.
   * @default ['0.0.0.0/0'] - any address (EKS's own default); set it to your CI runners' and operators' ranges
   */
  readonly publicAccessCidrs?: readonly string[];
  /** @default - 2 to 4 m6i.xlarge nodes */
  readonly systemNodeGroup?: SystemNodeGroupOptions;
  /** Tags of every AWS resource the component creates. @default - no tags */
  readonly tags?: Record<string, string>;
}

const MANAGED_POLICY = 'arn:aws:iam::aws:policy';

function assumeRole(service: string): string {
  return stableJson({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
}

/** A kubeconfig (JSON) that authenticates with `aws eks get-token`; it holds no credentials. */
export function eksKubeconfig(clusterName: string, endpoint: string, caData: string, region?: string): string {
  const args = ['eks', 'get-token', '--cluster-name', clusterName, '--output', 'json', ...(region ? ['--region', region] : [])];
  return stableJson({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: endpoint, 'certificate-authority-data': caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    'current-context': clusterName,
    users: [
      {
        name: clusterName,
        user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args, interactiveMode: 'Never' } },
      },
    ],
  });
}

/** EKS quota "Public endpoint access CIDR ranges per cluster" (default 40, not adjustable; EKS service quotas). */
export const MAX_PUBLIC_ACCESS_CIDRS = 40;

/** The public-endpoint CIDR list EKS uses when none is given: any IPv4 address. */
export const OPEN_TO_THE_INTERNET = ['0.0.0.0/0'] as const;

export { ipv4CidrProblem };

/** Problems of a public-endpoint CIDR list (each block, duplicates, the EKS quota). */
export function publicAccessCidrsProblems(path: string, cidrs: readonly unknown[]): string[] {
  const out: string[] = [];
  if (cidrs.length === 0) out.push(`${path}: expected at least one CIDR block (to close the public endpoint, turn it off)`);
  if (cidrs.length > MAX_PUBLIC_ACCESS_CIDRS) {
    out.push(`${path}: expected at most ${MAX_PUBLIC_ACCESS_CIDRS} CIDR blocks (the EKS quota per cluster), got ${cidrs.length}`);
  }
  const seen = new Set<unknown>();
  cidrs.slice(0, MAX_PUBLIC_ACCESS_CIDRS + 1).forEach((c, i) => {
    const p = ipv4CidrProblem(`${path}[${i}]`, c);
    if (p) out.push(p);
    else if (seen.has(c)) out.push(`${path}[${i}]: ${quote(c)} is listed twice`);
    seen.add(c);
  });
  return out;
}

function checkSize(path: string, value: number | undefined, min: number, problems: string[]): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    problems.push(`${path}: expected an integer >= ${min}, got ${quote(value)}`);
  }
}

/**
 * An EKS cluster for gpufleet — or an existing one, given its name — with:
 * - the cluster IAM role and API access entries (`authenticationMode: API`, the creator is admin),
 * - a system managed node group (AL2023) for add-ons, the GPU operator and the routers,
 * - the IAM OIDC provider (IRSA) and the EKS Pod Identity agent add-on,
 * - the node IAM role shared by gpufleet's GPU node groups,
 * - a `@pulumi/kubernetes` provider bound to the cluster's kubeconfig.
 */
export class GpuCluster extends pulumi.ComponentResource implements WorkloadIdentityProvider, NodeGroupHost {
  public static readonly TYPE = 'gpufleet:cloud:GpuCluster';

  public readonly clusterName: pulumi.Output<string>;
  public readonly endpoint: pulumi.Output<string>;
  public readonly certificateAuthorityData: pulumi.Output<string>;
  public readonly oidcIssuerUrl: pulumi.Output<string>;
  /** ARN of the IAM OIDC provider (IRSA); undefined with `irsa: false`. */
  public readonly oidcProviderArn?: pulumi.Output<string>;
  public readonly nodeRoleArn: pulumi.Output<string>;
  public readonly subnetIds: pulumi.Output<string[]>;
  /** Kubeconfig of the cluster, marked secret. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Kubernetes provider bound to the cluster. */
  public readonly provider: KubernetesProvider;
  /** True when the cluster was created by this component. */
  public readonly created: boolean;
  /** The created cluster (undefined for an existing one). */
  public readonly cluster?: eks.Cluster;
  /** The system node group (created cluster only). */
  public readonly systemNodeGroup?: eks.NodeGroup;
  /** The node role of the GPU node groups. */
  public readonly nodeRole: iam.Role;
  /** The node role's managed policy attachments (worker, CNI, registry read-only). */
  public readonly nodeRoleDependencies: readonly pulumi.Resource[];

  /** Throws listing every problem of the args; returns the (empty) component inputs. */
  private static check(name: string, args: GpuClusterArgs): Record<string, never> {
    const problems: string[] = [];
    const sys = args.systemNodeGroup ?? {};
    checkSize('systemNodeGroup.minSize', sys.minSize, 1, problems);
    checkSize('systemNodeGroup.maxSize', sys.maxSize, 1, problems);
    checkSize('systemNodeGroup.desiredSize', sys.desiredSize, 1, problems);
    checkSize('systemNodeGroup.diskSize', sys.diskSize, 20, problems);
    const minSize = sys.minSize ?? 2;
    const maxSize = sys.maxSize ?? Math.max(4, minSize);
    const desiredSize = sys.desiredSize ?? minSize;
    if (problems.length === 0 && !(minSize <= desiredSize && desiredSize <= maxSize)) {
      problems.push(`systemNodeGroup: expected minSize <= desiredSize <= maxSize, got ${minSize} <= ${desiredSize} <= ${maxSize}`);
    }
    const existing = args.existingClusterName !== undefined;
    if (existing) {
      for (const key of ['clusterName', 'version', 'systemNodeGroup', 'endpointPublicAccess', 'publicAccessCidrs'] as const) {
        if (args[key] !== undefined) problems.push(`${key}: only for a new cluster, not allowed with existingClusterName`);
      }
    } else if (args.kubeconfig !== undefined) {
      problems.push('kubeconfig: only for an existing cluster (existingClusterName), a new cluster gets a generated one');
    }
    if (args.irsa === false && args.oidcProviderArn !== undefined) {
      problems.push('oidcProviderArn: not allowed with irsa: false');
    }
    if (args.endpointPublicAccess !== undefined && typeof args.endpointPublicAccess !== 'boolean') {
      problems.push(`endpointPublicAccess: expected true or false, got ${quote(args.endpointPublicAccess)}`);
    }
    if (args.publicAccessCidrs !== undefined && !existing) {
      if (args.endpointPublicAccess === false) {
        problems.push('publicAccessCidrs: not allowed with endpointPublicAccess: false (there is no public endpoint to restrict)');
      } else if (!Array.isArray(args.publicAccessCidrs)) {
        problems.push(`publicAccessCidrs: expected a list of IPv4 CIDR blocks, got ${quote(args.publicAccessCidrs)}`);
      } else {
        problems.push(...publicAccessCidrsProblems('publicAccessCidrs', args.publicAccessCidrs));
      }
    }
    // A RunError: `pulumi up` prints its message alone, without a stack trace (@pulumi/pulumi cmd/run/run.js).
    if (problems.length > 0) throw new pulumi.RunError(`GpuCluster ${name}: ${problems.join('; ')}`);
    return {};
  }

  constructor(name: string, args: GpuClusterArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered, the component included.
    super(GpuCluster.TYPE, name, GpuCluster.check(name, args), opts);
    this.created = args.existingClusterName === undefined;
    const { role, policies } = nodeRoleOf(this, name, args);
    this.nodeRole = role;
    this.nodeRoleArn = role.arn;
    this.nodeRoleDependencies = policies;

    const c = this.created ? newCluster(this, name, args, role, policies) : existingCluster(this, args);
    this.clusterName = c.clusterName;
    this.endpoint = c.endpoint;
    this.certificateAuthorityData = c.certificateAuthorityData;
    this.oidcIssuerUrl = c.oidcIssuerUrl;
    this.subnetIds = c.subnetIds;
    this.oidcProviderArn = c.oidcProviderArn;
    this.cluster = c.cluster;
    this.systemNodeGroup = c.systemNodeGroup;
    this.kubeconfig = pulumi.secret(c.kubeconfig);
    this.provider = new KubernetesProvider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        enableServerSideApply: true,
      },
      {
        parent: this,
        // A new cluster is usable by workloads only once the system nodes run CoreDNS and the CNI.
        dependsOn: this.systemNodeGroup ? [this.systemNodeGroup] : [],
      },
    );
    this.registerOutputs({
      clusterName: this.clusterName,
      endpoint: this.endpoint,
      oidcIssuerUrl: this.oidcIssuerUrl,
      oidcProviderArn: this.oidcProviderArn,
      nodeRoleArn: this.nodeRoleArn,
      kubeconfig: this.kubeconfig,
    });
    keepOutOfValueWalks(this, [
      'clusterName',
      'endpoint',
      'certificateAuthorityData',
      'oidcIssuerUrl',
      'oidcProviderArn',
      'nodeRoleArn',
      'subnetIds',
      'kubeconfig',
      'provider',
      'created',
      'cluster',
      'systemNodeGroup',
      'nodeRole',
      'nodeRoleDependencies',
    ]);
  }
}

/** What the component exposes of its cluster, new or existing. */
interface ClusterOutputs {
  readonly clusterName: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly certificateAuthorityData: pulumi.Output<string>;
  readonly oidcIssuerUrl: pulumi.Output<string>;
  readonly subnetIds: pulumi.Output<string[]>;
  readonly oidcProviderArn?: pulumi.Output<string>;
  /** Not yet secret. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly cluster?: eks.Cluster;
  readonly systemNodeGroup?: eks.NodeGroup;
}

/** The GPU nodes' IAM role and its managed policy attachments (worker, CNI, registry read-only). */
function nodeRoleOf(parent: pulumi.Resource, name: string, args: GpuClusterArgs): { role: iam.Role; policies: iam.RolePolicyAttachment[] } {
  const role = new iam.Role(
    `${name}-node-role`,
    {
      name: args.nodeRoleName,
      assumeRolePolicy: assumeRole('ec2.amazonaws.com'),
      description: 'gpufleet: EKS worker nodes',
      tags: args.tags,
    },
    { parent },
  );
  const policies = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'].map(
    (p) => new iam.RolePolicyAttachment(`${name}-node-${p}`, { role: role.name, policyArn: `${MANAGED_POLICY}/${p}` }, { parent }),
  );
  return { role, policies };
}

/**
 * An existing cluster, looked up by name: its endpoint, issuer, subnets, IRSA provider (given or looked up) and kubeconfig
 * (given or generated).
 */
function existingCluster(parent: pulumi.Resource, args: GpuClusterArgs): ClusterOutputs {
  const found = eks.getClusterOutput({ name: args.existingClusterName! }, { parent });
  const clusterName = found.name;
  const endpoint = found.endpoint;
  const certificateAuthorityData = found.certificateAuthorities.apply((c) => c[0].data);
  const oidcIssuerUrl = found.identities.apply((i) => i[0].oidcs[0].issuer);
  const subnetIds = args.subnetIds !== undefined ? pulumi.output(args.subnetIds) : found.vpcConfig.subnetIds;
  const oidcProviderArn =
    args.irsa === false
      ? undefined
      : args.oidcProviderArn !== undefined
        ? pulumi.output(args.oidcProviderArn)
        : iam.getOpenIdConnectProviderOutput({ url: oidcIssuerUrl }, { parent }).arn;
  const kubeconfig =
    args.kubeconfig !== undefined
      ? pulumi.output(args.kubeconfig)
      : pulumi.all([clusterName, endpoint, certificateAuthorityData, args.region]).apply(([n, e, ca, r]) => eksKubeconfig(n, e, ca, r));
  return { clusterName, endpoint, certificateAuthorityData, oidcIssuerUrl, subnetIds, oidcProviderArn, kubeconfig };
}

/** A new cluster: control plane, IRSA provider (unless `irsa: false`), system node group, Pod Identity agent, kubeconfig. */
function newCluster(
  parent: pulumi.Resource,
  name: string,
  args: GpuClusterArgs,
  nodeRole: iam.Role,
  nodePolicies: iam.RolePolicyAttachment[],
): ClusterOutputs {
  const tags = args.tags;
  const subnetIds =
    args.subnetIds !== undefined
      ? pulumi.output(args.subnetIds)
      : ec2.getSubnetsOutput({ filters: [{ name: 'default-for-az', values: ['true'] }] }, { parent }).ids;
  const cluster = controlPlane(parent, name, args, subnetIds);
  const certificateAuthorityData = cluster.certificateAuthority.apply((c) => c.data ?? '');
  const oidcIssuerUrl = cluster.identities.apply((i) => i[0].oidcs[0].issuer);
  const oidcProviderArn =
    args.irsa === false
      ? undefined
      : new iam.OpenIdConnectProvider(
          `${name}-oidc`,
          {
            url: oidcIssuerUrl,
            clientIdLists: ['sts.amazonaws.com'],
            tags,
          },
          { parent },
        ).arn;
  const systemNodeGroup = systemNodeGroupOf(parent, name, args, cluster, nodeRole, nodePolicies, subnetIds);
  new eks.Addon(
    `${name}-pod-identity-agent`,
    {
      clusterName: cluster.name,
      addonName: 'eks-pod-identity-agent',
      resolveConflictsOnCreate: 'OVERWRITE',
      tags,
    },
    {
      parent,
      // The agent is a DaemonSet: the add-on only becomes ACTIVE once nodes exist.
      dependsOn: [systemNodeGroup],
    },
  );
  const kubeconfig = pulumi
    .all([cluster.name, cluster.endpoint, certificateAuthorityData, args.region])
    .apply(([n, e, ca, r]) => eksKubeconfig(n, e, ca, r));
  return {
    clusterName: cluster.name,
    endpoint: cluster.endpoint,
    certificateAuthorityData,
    oidcIssuerUrl,
    subnetIds,
    oidcProviderArn,
    kubeconfig,
    cluster,
    systemNodeGroup,
  };
}

/**
 * The EKS control plane and its IAM role: private endpoint always on, the public one as the args allow, API authentication,
 * control-plane logs.
 */
function controlPlane(parent: pulumi.Resource, name: string, args: GpuClusterArgs, subnetIds: pulumi.Output<string[]>): eks.Cluster {
  const tags = args.tags;
  const clusterRole = new iam.Role(
    `${name}-cluster-role`,
    {
      assumeRolePolicy: assumeRole('eks.amazonaws.com'),
      description: 'gpufleet: EKS control plane',
      tags,
    },
    { parent },
  );
  const clusterPolicy = new iam.RolePolicyAttachment(
    `${name}-cluster-AmazonEKSClusterPolicy`,
    {
      role: clusterRole.name,
      policyArn: `${MANAGED_POLICY}/AmazonEKSClusterPolicy`,
    },
    { parent },
  );
  return new eks.Cluster(
    `${name}-eks`,
    {
      name: args.clusterName,
      version: args.version ?? '1.33',
      roleArn: clusterRole.arn,
      // The private endpoint is always on: nodes reach the API server inside the VPC, whatever the public side allows.
      vpcConfig: {
        subnetIds,
        endpointPrivateAccess: true,
        endpointPublicAccess: args.endpointPublicAccess ?? true,
        // Explicit, so the posture shows in `pulumi preview` (EKS's own default is 0.0.0.0/0).
        publicAccessCidrs: args.endpointPublicAccess === false ? undefined : [...(args.publicAccessCidrs ?? OPEN_TO_THE_INTERNET)],
      },
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
      enabledClusterLogTypes: ['api', 'audit', 'authenticator'],
      tags,
    },
    {
      parent,
      // The control plane needs its role's policy while it is created and deleted.
      dependsOn: [clusterPolicy],
    },
  );
}

/** The system node group (cluster add-ons, GPU operator, routers), sized by `systemNodeGroup`. */
function systemNodeGroupOf(
  parent: pulumi.Resource,
  name: string,
  args: GpuClusterArgs,
  cluster: eks.Cluster,
  nodeRole: iam.Role,
  nodePolicies: iam.RolePolicyAttachment[],
  subnetIds: pulumi.Output<string[]>,
): eks.NodeGroup {
  const sys = args.systemNodeGroup ?? {};
  const minSize = sys.minSize ?? 2;
  const maxSize = sys.maxSize ?? Math.max(4, minSize);
  const desiredSize = sys.desiredSize ?? minSize;
  return new eks.NodeGroup(
    `${name}-system`,
    {
      clusterName: cluster.name,
      nodeRoleArn: nodeRole.arn,
      subnetIds,
      amiType: 'AL2023_x86_64_STANDARD',
      instanceTypes: [sys.instanceType ?? 'm6i.xlarge'],
      diskSize: sys.diskSize ?? 50,
      scalingConfig: { minSize, maxSize, desiredSize },
      labels: { [POOL_LABEL]: 'system' },
      tags: args.tags,
    },
    {
      parent,
      // Nodes cannot join without the worker, CNI and registry policies on their role.
      dependsOn: nodePolicies,
      ignoreChanges: ['scalingConfig.desiredSize'],
    },
  );
}
