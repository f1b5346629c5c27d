import { getRegionOutput } from '@pulumi/aws/getRegion';
import * as pulumi from '@pulumi/pulumi';
import type { GpuOperatorHelmValues } from '../k8s/gpu/gpu-operator-values';
import type { PlatformPrerequisites, ResolvedPrerequisites } from '../k8s/platform/platform-prerequisites';
import type { Plan } from '../planner/types';
import { ClusterAutoscaler } from './cluster-autoscaler';
import { ClusterPrerequisites } from './cluster-prerequisites';
import { clusterPrerequisites, planApiGroups, type PrerequisiteInstall } from './prerequisite-installs';
import { GpuCluster, GpuClusterArgs } from './gpu-cluster';
import { GpuNodeGroup, GpuNodeGroupOptions } from './gpu-node-group';
import { GpuOperatorRelease } from './gpu-operator-release';
import {
  ModelRepositoryBucket,
  ModelRepositoryBucketArgs,
  ModelRepositoryGrant,
  ServiceAccountRef,
  WorkloadIdentityMechanism,
} from './model-repository-bucket';
import { KubeObject, PlatformRelease, releaseSkips } from './platform-release';
import { keepOutOfValueWalks } from './value-walks';
import { nodesNeededAtMaximum } from '../k8s/check/check-rendering';
import { compareText } from '../catalog/text-order';

export interface GpuPlatformArgs {
  /** The plan (`plan(fleet)`): one GPU node group per `plan.migConfigs` entry; its cost is exported. */
  readonly plan: Plan;
  /** The Kubernetes objects of the cdk8s serving platform: `chart.toJson()`. */
  readonly objects: readonly KubeObject[];
  /** The GPU operator's Helm values: the chart's `ServingPlatform.gpuOperator.values` (the same object). */
  readonly operatorValues: GpuOperatorHelmValues;
  /** The cluster (new or existing). @default - a new cluster with default settings */
  readonly cluster?: GpuClusterArgs;
  /** Options of every GPU node group. @default - AL2023 NVIDIA, min 0, max and desired = the plan's nodes */
  readonly nodeGroups?: GpuNodeGroupOptions;
  /** The model repository bucket (new or existing). @default - a new bucket, prefix 'models' */
  readonly bucket?: ModelRepositoryBucketArgs;
  /**
   * Name of the service accounts Triton reads the repository as; each ServiceAccount of this name in
   * the objects gets a read-only grant (and, with IRSA, the role annotation).
   * @default 'triton-model-reader'
   */
  readonly modelReaderServiceAccount?: string;
  /** @default 'irsa' */
  readonly workloadIdentity?: WorkloadIdentityMechanism;
  /**
   * Triton model configs to upload to `<prefix>/<model>/config.pbtxt` (e.g. `ServingPlatform.repository.models`
   * mapped to `{ name, pbtxt: m.toPbtxt() }`).
   * @default []
   */
  readonly modelConfigs?: readonly { readonly name: string; readonly pbtxt: string }[];
  /** Kinds of the objects to leave out (`PlatformReleaseArgs.excludeKinds`). @default [] */
  readonly excludeKinds?: readonly string[];
  /**
   * What the cluster already has, in the platform's prerequisites vocabulary (`{ keda: true, prometheus: { namespace:
   * 'monitoring' } }`); a key that is not set is absent. For every custom-resource API group the objects use and the
   * cluster lacks, the platform installs the upstream chart or manifest at a pinned version (`PREREQUISITE_INSTALLS`:
   * Prometheus operator CRDs, Gateway API CRDs, KEDA) before the objects, or leaves the objects out (`release.skipped`).
   * @default {} - a fresh cluster: nothing
   */
  readonly clusterHas?: PlatformPrerequisites;
  /**
   * Install the cluster-autoscaler (Helm, IRSA) that scales the GPU node groups, from zero too.
   * @default - true for a created cluster, false for an existing one (which usually runs its own)
   */
  readonly clusterAutoscaler?: boolean;
}

/** Namespace of the GPU operator's Helm release. */
const GPU_OPERATOR_NAMESPACE = 'gpu-operator';

/**
 * A whole gpufleet platform on AWS, in dependency order: the EKS cluster → one GPU node group per node
 * configuration of the plan → the model repository bucket and a read-only grant per Triton service
 * account → the GPU operator Helm release → the release of the cdk8s platform objects.
 * Everything is checked before the first resource is registered.
 */
export class GpuPlatform extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:GpuPlatform';

  /** Every problem of the args (plan node configurations, objects, operator ConfigMaps), none created. */
  public static problems(args: GpuPlatformArgs): string[] {
    const problems: string[] = [];
    if (!args.plan || typeof args.plan !== 'object') return [`plan: expected a plan, got ${JSON.stringify(args.plan)}`];
    problems.push(...GpuNodeGroup.argsFromPlan(args.plan, { ...args.nodeGroups, nodesNeeded: GpuPlatform.nodesNeeded(args) }).problems);
    // The operator's values must fit the NVIDIA AMI of the GPU nodes (driver and toolkit preinstalled;
    // Bottlerocket also runs its own device plugin): a mismatch installs a second driver or device plugin.
    const ami = args.nodeGroups?.amiType ?? 'AL2023_x86_64_NVIDIA';
    const v = args.operatorValues;
    if (v?.driver?.enabled || v?.toolkit?.enabled) {
      problems.push(
        `operatorValues: driver.enabled and toolkit.enabled must be false on ${ami} nodes (the AMI ships them), ` +
          `got driver ${v.driver?.enabled}, toolkit ${v.toolkit?.enabled}; ` +
          "render the GPU operator with nodeImage 'al2023-nvidia' or 'bottlerocket-nvidia'",
      );
    }
    if (ami === 'BOTTLEROCKET_x86_64_NVIDIA' && v?.devicePlugin?.enabled) {
      problems.push(
        'operatorValues: devicePlugin.enabled must be false on BOTTLEROCKET_x86_64_NVIDIA nodes (they run their own device plugin), ' +
          "got true; render the GPU operator with nodeImage 'bottlerocket-nvidia'",
      );
    }
    try {
      clusterPrerequisites(args.clusterHas);
    } catch (e) {
      problems.push(`clusterHas: ${(e as Error).message}`);
    }
    const autoscaler = args.clusterAutoscaler ?? args.cluster?.existingClusterName === undefined;
    if (args.cluster?.irsa === false && autoscaler) {
      problems.push('clusterAutoscaler: the cluster-autoscaler needs IRSA, but cluster.irsa is false (set clusterAutoscaler: false)');
    }
    if (args.cluster?.irsa === false && (args.workloadIdentity ?? 'irsa') === 'irsa') {
      problems.push("workloadIdentity: 'irsa' needs cluster.irsa, which is false (use 'pod-identity')");
    }
    if (!Array.isArray(args.objects) || args.objects.length === 0) {
      problems.push(
        `objects: expected the non-empty array of chart.toJson(), got ${Array.isArray(args.objects) ? '[]' : typeof args.objects}`,
      );
    } else {
      if (GpuPlatform.modelReaders(args).length === 0) {
        problems.push(
          `objects: no ServiceAccount named ${JSON.stringify(args.modelReaderServiceAccount ?? 'triton-model-reader')} ` +
            '(modelReaderServiceAccount), so no Triton pool could read the model repository',
        );
      }
      for (const cm of GpuOperatorRelease.referencedConfigMaps(args.operatorValues)) {
        if (!args.objects.some((o) => o?.kind === 'ConfigMap' && o.metadata?.name === cm.name && o.metadata?.namespace === cm.namespace)) {
          problems.push(
            `objects: the GPU operator's ${cm.valuesKey} names ConfigMap ${cm.namespace}/${cm.name}, which is not among the objects`,
          );
        }
      }
    }
    return problems;
  }

  /**
   * Nodes each pool's GPU pods need at their maximum replicas (from the objects' autoscalers and pod requests, by the
   * device plugin's resources per node): the node groups' maxSize is at least this, so the cluster-autoscaler can
   * place every pod the HPAs and ScaledObjects may ask for.
   */
  public static nodesNeeded(args: Pick<GpuPlatformArgs, 'objects'>): Map<string, number> {
    return Array.isArray(args.objects) ? nodesNeededAtMaximum(args.objects) : new Map();
  }

  /** The Triton service accounts of the objects, sorted by namespace and name. */
  public static modelReaders(args: Pick<GpuPlatformArgs, 'objects' | 'modelReaderServiceAccount'>): ServiceAccountRef[] {
    const name = args.modelReaderServiceAccount ?? 'triton-model-reader';
    return args.objects
      .filter(
        (o) =>
          o?.kind === 'ServiceAccount' && o.apiVersion === 'v1' && o.metadata?.name === name && typeof o.metadata?.namespace === 'string',
      )
      .map((o) => ({ namespace: o.metadata.namespace as string, name }))
      .sort((a, b) => compareText(a.namespace, b.namespace));
  }

  /**
   * The installs the objects need on a cluster that has `args.clusterHas` (pure: what `new GpuPlatform(...)` will
   * install, for a program that renders its platform's prerequisites declaration first).
   */
  public static prerequisiteInstalls(
    args: Pick<GpuPlatformArgs, 'objects' | 'clusterHas' | 'excludeKinds'>,
  ): readonly PrerequisiteInstall[] {
    const has = clusterPrerequisites(args.clusterHas);
    const skip = releaseSkips(args.objects, {
      operatorNamespace: GPU_OPERATOR_NAMESPACE,
      skipKarpenterObjects: true,
      excludeKinds: args.excludeKinds ?? [],
    });
    return planApiGroups(
      args.objects.filter((o) => !skip.has(o)),
      has,
      undefined,
      new Set(['nvidia.com']),
    ).installs;
  }

  private static check(args: GpuPlatformArgs): Record<string, never> {
    const problems = GpuPlatform.problems(args);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return {};
  }

  public readonly cluster: GpuCluster;
  public readonly nodeGroups: readonly GpuNodeGroup[];
  public readonly bucket: ModelRepositoryBucket;
  public readonly grants: readonly ModelRepositoryGrant[];
  public readonly operator: GpuOperatorRelease;
  /** The cluster-autoscaler, when installed. */
  public readonly clusterAutoscaler?: ClusterAutoscaler;
  public readonly release: PlatformRelease;
  /** What the cluster has (`clusterHas`, unset keys absent). */
  public readonly clusterHas: ResolvedPrerequisites;
  /** The prerequisite installs (CRDs, KEDA) the objects need and the cluster lacks. */
  public readonly prerequisites: ClusterPrerequisites;
  /** On-demand USD per hour of the plan's GPU nodes. */
  public readonly costPerHour: number;

  constructor(name: string, args: GpuPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered, the component included.
    super(GpuPlatform.TYPE, name, GpuPlatform.check(args), opts);
    this.costPerHour = args.plan.summary.costPerHour;
    this.cluster = new GpuCluster(`${name}-cluster`, args.cluster ?? {}, { parent: this });
    this.nodeGroups = GpuNodeGroup.fromPlan(
      `${name}-gpu`,
      args.plan,
      { ...args.nodeGroups, cluster: this.cluster, nodesNeeded: GpuPlatform.nodesNeeded(args) },
      { parent: this },
    );
    if (args.clusterAutoscaler ?? args.cluster?.existingClusterName === undefined) {
      this.clusterAutoscaler = new ClusterAutoscaler(
        `${name}-cluster-autoscaler`,
        {
          cluster: this.cluster,
          provider: this.cluster.provider,
          region: args.cluster?.region ?? getRegionOutput({}, { parent: this }).region,
        },
        { parent: this },
      );
    }
    this.bucket = new ModelRepositoryBucket(`${name}-models`, args.bucket ?? {}, { parent: this });
    this.bucket.putModelConfigs(args.modelConfigs ?? []);
    const mechanism = args.workloadIdentity ?? 'irsa';
    this.grants = GpuPlatform.modelReaders(args).map((sa) => this.bucket.grantRead(sa, this.cluster, { mechanism }));
    this.operator = new GpuOperatorRelease(
      `${name}-gpu-operator`,
      { values: args.operatorValues, provider: this.cluster.provider, namespace: GPU_OPERATOR_NAMESPACE },
      { parent: this },
    );
    this.clusterHas = clusterPrerequisites(args.clusterHas);
    // After the system nodes (the provider waits for them), before any object of the API groups they serve.
    this.prerequisites = new ClusterPrerequisites(
      `${name}-prerequisites`,
      {
        installs: GpuPlatform.prerequisiteInstalls(args),
        provider: this.cluster.provider,
      },
      { parent: this },
    );
    this.release = new PlatformRelease(
      `${name}-platform`,
      {
        objects: args.objects,
        provider: this.cluster.provider,
        operatorRelease: this.operator,
        nodeGroups: this.nodeGroups,
        serviceAccountRoles:
          mechanism === 'irsa'
            ? this.grants.map((g) => ({ namespace: g.serviceAccount.namespace, name: g.serviceAccount.name, roleArn: g.roleArn }))
            : [],
        excludeKinds: args.excludeKinds,
        clusterApis: { clusterHas: this.clusterHas, installed: this.prerequisites },
        waitFor: this.grants.flatMap((g) => (g.podIdentityAssociation ? [g.podIdentityAssociation] : [])),
      },
      { parent: this },
    );
    this.registerOutputs({
      clusterName: this.cluster.clusterName,
      kubeconfig: this.cluster.kubeconfig,
      bucketName: this.bucket.bucketName,
      roleArns: this.grants.map((g) => g.roleArn),
      costPerHour: this.costPerHour,
    });
    keepOutOfValueWalks(this, [
      'cluster',
      'nodeGroups',
      'bucket',
      'grants',
      'operator',
      'clusterAutoscaler',
      'release',
      'clusterHas',
      'prerequisites',
      'costPerHour',
    ]);
  }
}
