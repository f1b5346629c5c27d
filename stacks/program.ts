/**
 * The gpufleet Pulumi program as a function (`stacks/index.ts` runs it and exports its outputs): `pulumi up` stands up
 * a whole platform on AWS from a fleet file.
 *
 * 1. read and check the stack configuration (`stacks/config.ts`) — every problem at once, before any resource;
 * 2. plan the fleet (`plan(fleet)`) and render the serving platform with cdk8s on the platform file
 *    (`gpufleet:platformFile`, through `renderFleetPlatform`, as `gpufleet synth` does; the stack's cluster, bucket and
 *    node image replace the file's, listed in `platformFileOverridden`), its
 *    prerequisites declaration saying what the cluster has (`gpufleet:prerequisites`) plus what gpufleet installs;
 * 3. decide, before anything is created, which custom-resource APIs the objects need: each one the cluster lacks is
 *    installed at a pinned version (Prometheus operator CRDs, Gateway API CRDs, KEDA) or its objects are left out —
 *    never a half-applied stack;
 * 4. create the EKS cluster → one GPU node group per node configuration of the plan → the model repository bucket
 *    and a read-only grant per Triton service account → the GPU operator Helm release → the prerequisite installs →
 *    the release of the cdk8s objects (`GpuPlatform`).
 *
 * A function, so that tests run it for several configurations in one process (no module reloading).
 */
import * as path from 'path';
import { Provider as AwsProvider } from '@pulumi/aws/provider';
import type { Region } from '@pulumi/aws/types/enums';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import {
  clusterPrerequisites,
  describeInstall,
  prerequisitesAfter,
  type PrerequisiteInstall,
} from '../constructs/cloud/prerequisite-installs';
import type { GpuClusterArgs } from '../constructs/cloud/gpu-cluster';
import { GpuPlatform } from '../constructs/cloud/gpu-platform';
import { modelRepositoryContents } from '../constructs/cloud/model-repository-contents';
import { clipLine, type Fleet, parseFleet, quote, readInputFile } from '../constructs/fleet';
import {
  loadPlatformFile,
  ModelRepository,
  type PlatformFile,
  type PlatformPrerequisites,
  renderFleetPlatform,
  type ServingPlatform,
} from '../constructs/k8s';
import { PlanError, plan as planFleet } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import {
  asRunError,
  problemsOf,
  publicEndpointWarning,
  readStackSettings,
  stackConfigError,
  type StackContext,
  type StackSettings,
} from './config';

/** The stack outputs (`pulumi stack output`). */
export interface ProgramOutputs {
  /** EKS cluster name. */
  readonly clusterName: pulumi.Output<string>;
  /** Kubeconfig (secret): `pulumi stack output kubeconfig --show-secrets > kubeconfig.json`. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Model repository bucket and Triton's `--model-repository`. */
  readonly bucketName: pulumi.Output<string>;
  readonly modelRepository: pulumi.Output<string>;
  /** IAM role of each Triton service account (`namespace/name` → role ARN). */
  readonly modelReaderRoles: pulumi.Output<Record<string, string>>;
  /** GPU node groups: pool → { instanceType, migConfig, nodes }. */
  readonly gpuNodeGroups: Record<string, unknown>;
  /** On-demand USD per hour of the plan's GPU nodes (catalog prices; control plane, system nodes, storage not included). */
  readonly costPerHour: number;
  /** The plan's summary (GPU count, lower bound, baselines). */
  readonly planSummary: Plan['summary'];
  /** Kubernetes objects of the rendered chart (each becomes a resource, except those skipped). */
  readonly chartObjectCount: number;
  /** Objects of the chart the release left out, and why. */
  readonly skippedObjects: readonly { apiVersion: string; kind: string; namespace?: string; name: string; reason: string }[];
  /** What gpufleet installs before the objects that need it (chart or manifest, pinned version, what it leaves to do). */
  readonly prerequisiteInstalls: readonly ReturnType<typeof describeInstall>[];
  /** The prerequisites the platform declares (its `gpufleet-prerequisites` ConfigMap): the cluster's plus gpufleet's. */
  readonly prerequisites: PlatformPrerequisites;
  /**
   * What the model repository must hold, by model: the `config.pbtxt` `pulumi up` uploads, the model files its owner
   * uploads, and the Triton pools (`namespace/name`) that become ready once they are there.
   */
  readonly modelRepositoryContents: Record<string, { config: string; upload: readonly string[]; note?: string; pools: readonly string[] }>;
  /** Objects applied without waiting for readiness: the Triton Deployments and their Services. */
  readonly notAwaited: readonly string[];
  /**
   * Settings of `gpufleet:platformFile` the stack decides instead (the cluster it creates or names, its bucket, the
   * node image of its AMI type), each with the file's value and the one used; empty without a platform file.
   */
  readonly platformFileOverridden: readonly string[];
}

/** Where the program runs: `StackContext` from `pulumi.getProject()` / `getStack()` / `getOrganization()`. */
export type ProgramContext = StackContext;

/** The platform rendered with a prerequisites declaration. */
interface Rendering {
  readonly platform: ServingPlatform;
  readonly objects: Record<string, any>[];
}

/** What the stack decides instead of the platform file: its cluster, its bucket, its node image, MIG strategy mixed. */
type StackOverrides = {
  cluster: { name: string; nodeRole: string };
  repository: ReturnType<typeof ModelRepository.s3>;
  gpuOperator: { nodeImage: 'bottlerocket-nvidia' | 'al2023-nvidia'; migStrategy: 'mixed' };
  monitoringNamespace?: string;
};

/** The platform rendered with the prerequisites it declares, and what gpufleet installs for its objects. */
interface SettledRendering extends Rendering {
  readonly declared: PlatformPrerequisites;
  readonly installs: readonly PrerequisiteInstall[];
}

/**
 * Runs the program for the raw configuration (`pulumi.runtime.allConfig()`); throws a `pulumi.RunError` listing the
 * problems before any resource when the configuration, the fleet or the platform is wrong.
 */
export function gpufleetProgram(raw: Readonly<Record<string, string>>, ctx: ProgramContext): ProgramOutputs {
  const settings = readStackSettings(raw, ctx);

  // Plan and render before any resource exists: a fleet or chart error stops the program here.
  const fleet = readFleet(settings);
  const platformFile = readPlatformFile(settings);
  const thePlan = planOf(fleet, settings);
  const nodeRoleName = `${settings.clusterName}-gpu-nodes`.slice(0, 64);
  const clusterHas = platformFile.prerequisites ?? settings.clusterHas;
  const overrides = stackOverrides(settings, platformFile, nodeRoleName);
  const platformFileOverridden = settings.platformFile === undefined ? [] : overriddenSettings(platformFile, overrides);
  for (const line of platformFileOverridden) void pulumi.log.warn(`gpufleet:platformFile: ${line}`);
  const { platform, objects, declared } = renderWithPrerequisites(fleet, thePlan, platformFile, overrides, settings);

  const awsProvider = new AwsProvider('aws', { region: settings.region as Region });
  const endpointWarning = publicEndpointWarning(settings);
  if (endpointWarning !== undefined) void pulumi.log.warn(endpointWarning);
  const gpufleet = asRunError(
    'invalid platform arguments',
    () =>
      new GpuPlatform(
        'gpufleet',
        {
          plan: thePlan,
          objects,
          operatorValues: platform.gpuOperator.values,
          cluster: clusterArgs(settings, ctx, nodeRoleName),
          nodeGroups: { amiType: settings.amiType, minSize: settings.gpuNodeMin, maxSize: settings.gpuNodeMax },
          bucket:
            settings.existingBucket !== undefined
              ? { existingBucketName: settings.existingBucket, prefix: settings.bucketPrefix, kmsKeyArn: settings.kmsKeyArn }
              : {
                  bucketName: settings.bucketName,
                  prefix: settings.bucketPrefix,
                  kmsKeyArn: settings.kmsKeyArn,
                  tags: { 'gpufleet.io/stack': ctx.stack },
                },
          modelReaderServiceAccount: platform.repository.serviceAccountName,
          // The typed Triton configs of the platform go to <prefix>/<model>/config.pbtxt; the model files are uploaded separately.
          modelConfigs: platform.repository.models.map((m) => ({ name: m.name, pbtxt: m.toPbtxt() })),
          workloadIdentity: settings.workloadIdentity,
          excludeKinds: settings.excludeKinds,
          clusterHas,
          clusterAutoscaler: settings.clusterAutoscaler,
        },
        { providers: [awsProvider] },
      ),
  );

  return {
    clusterName: gpufleet.cluster.clusterName,
    kubeconfig: gpufleet.cluster.kubeconfig,
    bucketName: gpufleet.bucket.bucketName,
    modelRepository: gpufleet.bucket.repositoryUri,
    modelReaderRoles: pulumi.all(
      Object.fromEntries(gpufleet.grants.map((g) => [`${g.serviceAccount.namespace}/${g.serviceAccount.name}`, g.roleArn])),
    ),
    gpuNodeGroups: Object.fromEntries(
      gpufleet.nodeGroups.map((g) => [
        g.pool,
        {
          instanceType: g.instanceType,
          migConfig: g.migConfig,
          minSize: g.minSize,
          desiredSize: g.desiredSize,
          maxSize: g.maxSize,
          resources: g.resources,
        },
      ]),
    ),
    costPerHour: gpufleet.costPerHour,
    planSummary: thePlan.summary,
    chartObjectCount: objects.length,
    skippedObjects: gpufleet.release.skipped.map((s) => ({ ...s })),
    prerequisiteInstalls: gpufleet.prerequisites.installs.map(describeInstall),
    prerequisites: declared,
    modelRepositoryContents: repositoryContents(platform, settings),
    notAwaited: gpufleet.release.notAwaited,
    platformFileOverridden,
  };
}

/**
 * The fleet file, read through the bounded reader (a regular file of at most 16 MiB); every problem line quotes at
 * most 100 characters of a value: a wrong fleetFile (say /etc/passwd) never prints its content.
 */
function readFleet(settings: StackSettings): Fleet {
  try {
    return parseFleet(readInputFile(settings.fleetFile, { what: 'gpufleet:fleetFile' }), settings.fleetFile);
  } catch (e) {
    const problems = problemsOf(e);
    if (!problems) throw e;
    throw stackConfigError(problems.map((p) => clipLine(p.startsWith('gpufleet:fleetFile ') ? p : `gpufleet:fleetFile: ${p}`)));
  }
}

/** The platform file (gpufleet:platformFile): read through the same bounded reader and parser as `gpufleet synth`. */
function readPlatformFile(settings: StackSettings): PlatformFile {
  if (settings.platformFile === undefined) return { source: 'gpufleet:platformFile' };
  let platformFile: PlatformFile;
  try {
    platformFile = loadPlatformFile(settings.platformFile, 'gpufleet:platformFile');
  } catch (e) {
    const problems = problemsOf(e);
    if (!problems) throw e;
    throw stackConfigError(problems.map((p) => clipLine(p.startsWith('gpufleet:platformFile ') ? p : `gpufleet:platformFile: ${p}`)));
  }
  if (platformFile.prerequisites && settings.prerequisitesSet) {
    throw stackConfigError([
      `gpufleet:prerequisites: set, and gpufleet:platformFile ${quote(settings.platformFile)} lists prerequisites too; ` +
        'say what the cluster has in one of them',
    ]);
  }
  return platformFile;
}

/**
 * The fleet's plan. A fleet no GPU type can serve (PlanError: one line per model, with its path and why) is an input
 * error; anything else the planner throws is a bug and keeps its stack.
 */
function planOf(fleet: Fleet, settings: StackSettings): Plan {
  try {
    return planFleet(fleet);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    throw new pulumi.RunError(
      `cannot plan fleet ${fleet.name} of gpufleet:fleetFile ${quote(settings.fleetFile)} ` +
        `(${e.problems.length} problem${e.problems.length > 1 ? 's' : ''}):\n  - ${e.problems.map((p) => clipLine(p)).join('\n  - ')}`,
    );
  }
}

/** What the stack owns: the cluster it creates or names, its bucket, the node image of its AMI type, MIG strategy mixed. */
function stackOverrides(settings: StackSettings, platformFile: PlatformFile, nodeRoleName: string): StackOverrides {
  const has = clusterPrerequisites(platformFile.prerequisites ?? settings.clusterHas);
  const nodeImage: 'bottlerocket-nvidia' | 'al2023-nvidia' =
    settings.amiType === 'BOTTLEROCKET_x86_64_NVIDIA' ? 'bottlerocket-nvidia' : 'al2023-nvidia';
  return {
    cluster: { name: settings.clusterName, nodeRole: nodeRoleName },
    // the bucket is the stack's; the egress CIDRs of the file (the region's S3 and STS ranges) still apply to it
    repository: ModelRepository.s3({
      bucket: settings.bucketName,
      prefix: settings.bucketPrefix,
      region: settings.region,
      ...(platformFile.repository?.kind === 's3' && platformFile.repository.egressCidrs
        ? { egressCidrs: platformFile.repository.egressCidrs }
        : {}),
    }),
    gpuOperator: { nodeImage, migStrategy: 'mixed' as const },
    // A Prometheus the cluster has in another namespace: the team network policies let it scrape from there.
    ...(has.prometheus ? { monitoringNamespace: has.prometheus.namespace } : {}),
  };
}

/** The serving platform rendered with cdk8s with a prerequisites declaration; throws a RunError when the chart is invalid. */
function renderPlatform(
  fleet: Fleet,
  thePlan: Plan,
  platformFile: PlatformFile,
  overrides: StackOverrides,
  prerequisites: PlatformPrerequisites,
): Rendering {
  const app = new App();
  const { chart, platform } = asRunError('invalid platform', () =>
    renderFleetPlatform(app, {
      fleet,
      plan: thePlan,
      platform: platformFile,
      overrides: { ...overrides, prerequisites },
    }),
  );
  const chartErrors = chart.node.findAll().flatMap((c) => c.node.validate().map((m) => `[${c.node.path}] ${m}`));
  if (chartErrors.length > 0)
    throw new pulumi.RunError(`the serving platform chart is invalid:\n  - ${chartErrors.map((m) => clipLine(m)).join('\n  - ')}`);
  return { platform, objects: chart.toJson() };
}

/**
 * The platform declares what the cluster has plus what gpufleet installs, and what gpufleet installs depends on the
 * objects: render with what the cluster has, and again in the rare case an install completes a prerequisite (KEDA
 * for ScaledObjects), so the rendered declaration is what the cluster will have.
 */
function renderWithPrerequisites(
  fleet: Fleet,
  thePlan: Plan,
  platformFile: PlatformFile,
  overrides: StackOverrides,
  settings: StackSettings,
): SettledRendering {
  const clusterHas = platformFile.prerequisites ?? settings.clusterHas;
  const has = clusterPrerequisites(clusterHas);
  const installsFor = (objects: Record<string, any>[]): readonly PrerequisiteInstall[] =>
    asRunError('invalid platform arguments', () =>
      GpuPlatform.prerequisiteInstalls({ objects, clusterHas, excludeKinds: settings.excludeKinds }),
    );
  let declared = prerequisitesAfter(has, []);
  // KEDA pools (platform file `scaling.engine: keda`) on a cluster without KEDA: their ScaledObjects make gpufleet
  // install KEDA, so the first rendering assumes it; the check below renders again if the installs say otherwise.
  if (platformFile.scaling?.engine === 'keda' && !declared.keda) declared = { ...declared, keda: true };
  let rendering = renderPlatform(fleet, thePlan, platformFile, overrides, declared);
  let installs = installsFor(rendering.objects);
  const after = prerequisitesAfter(has, installs);
  if (JSON.stringify(after) !== JSON.stringify(declared)) {
    declared = after;
    rendering = renderPlatform(fleet, thePlan, platformFile, overrides, declared);
    installs = installsFor(rendering.objects);
  }
  return { ...rendering, declared, installs };
}

/** The GpuCluster arguments: the existing cluster the settings name, or the one the stack creates. */
function clusterArgs(settings: StackSettings, ctx: ProgramContext, nodeRoleName: string): GpuClusterArgs {
  return settings.existingClusterName !== undefined
    ? {
        existingClusterName: settings.existingClusterName,
        // Look the OIDC provider up only where IRSA is used (an existing cluster may have none).
        irsa: settings.workloadIdentity === 'irsa' || settings.clusterAutoscaler === true,
        kubeconfig: settings.kubeconfig === undefined ? undefined : pulumi.secret(settings.kubeconfig),
        subnetIds: settings.subnetIds,
        nodeRoleName,
        region: settings.region,
      }
    : {
        clusterName: settings.clusterName,
        version: settings.kubernetesVersion,
        subnetIds: settings.subnetIds,
        nodeRoleName,
        region: settings.region,
        endpointPublicAccess: settings.endpointPublicAccess,
        publicAccessCidrs: settings.publicAccessCidrs,
        tags: { 'gpufleet.io/stack': ctx.stack },
      };
}

/** What the model repository must hold, by model, with the Triton pools (`namespace/name`) that serve it. */
function repositoryContents(platform: ServingPlatform, settings: StackSettings): ProgramOutputs['modelRepositoryContents'] {
  const repositoryUri = `s3://${settings.bucketName}/${settings.bucketPrefix}`;
  const poolsOf = new Map<string, string[]>();
  for (const { pool } of platform.pools.values()) {
    for (const m of pool.models) poolsOf.set(m, [...(poolsOf.get(m) ?? []), `${pool.namespace ?? 'default'}/${pool.name}`].sort());
  }
  return Object.fromEntries(
    Object.entries(modelRepositoryContents(platform.repository.models, repositoryUri)).map(([m, c]) => [
      m,
      { ...c, pools: poolsOf.get(m) ?? [] },
    ]),
  );
}

/** The platform file's settings the stack replaces, as `cluster.name: "a" in the file, "b" used (the stack's cluster)`. */
function overriddenSettings(
  file: PlatformFile,
  used: {
    cluster: { name: string; nodeRole: string };
    repository: ReturnType<typeof ModelRepository.s3>;
    gpuOperator: { nodeImage: string; migStrategy: string };
    monitoringNamespace?: string;
  },
): string[] {
  const out: string[] = [];
  const note = (key: string, given: unknown, value: unknown, why: string) => {
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(value))
      out.push(`${key}: ${quote(given)} in the file, ${quote(value)} used (${why})`);
  };
  note('cluster.name', file.cluster?.name, used.cluster.name, "the stack's cluster");
  note('cluster.nodeRole', file.cluster?.nodeRole, used.cluster.nodeRole, "the role of the stack's GPU node groups");
  const repo = file.repository;
  if (repo?.kind === 'pvc') {
    out.push(
      `repository.pvc: ${quote(repo.claimName)} in the file, ` +
        `the stack's S3 bucket ${quote(used.repository.kind === 's3' ? used.repository.bucket : '')} used`,
    );
  } else if (repo?.kind === 's3' && used.repository.kind === 's3') {
    note('repository.s3.bucket', repo.bucket, used.repository.bucket, 'gpufleet:bucket or the bucket the stack creates');
    note('repository.s3.prefix', repo.prefix ?? '', used.repository.prefix, 'gpufleet:bucketPrefix');
    note('repository.s3.region', repo.region, used.repository.region, 'gpufleet:region');
    note('repository.s3.roleArn', repo.roleArn, undefined, 'the stack grants each Triton service account its own role');
    note('repository.s3.serviceAccountName', repo.serviceAccountName, undefined, 'the stack names the service accounts it grants');
  }
  note('gpuOperator.nodeImage', file.gpuOperator?.nodeImage, used.gpuOperator.nodeImage, 'gpufleet:amiType');
  note(
    'gpuOperator.migStrategy',
    file.gpuOperator?.migStrategy,
    used.gpuOperator.migStrategy,
    "the node groups' MIG resources are the mixed strategy's",
  );
  if (used.monitoringNamespace !== undefined)
    note('namespaces.monitoring', file.namespaces?.monitoring, used.monitoringNamespace, 'the namespace of the Prometheus the cluster has');
  return out;
}

/** The repository root (the program's files are relative to it). */
export const ROOT_DIR = path.resolve(__dirname, '..');
