/**
 * The gpufleet Pulumi program (`Pulumi.yaml` → `main: stacks/index.ts`): `pulumi up` stands up a whole
 * platform on AWS from a fleet file.
 *
 * 1. read and check the stack configuration (`stacks/config.ts`) — every problem at once, before any resource;
 * 2. plan the fleet (`plan(fleet)`) and render the serving platform with cdk8s (`ServingPlatform.fromPlan`);
 * 3. create the EKS cluster → one GPU node group per node configuration of the plan → the model repository
 *    bucket and a read-only grant per Triton service account → the GPU operator Helm release → the release of
 *    the cdk8s objects (`GpuPlatform`).
 *
 * The exports below are the stack outputs (`pulumi stack output`).
 */
import * as path from 'path';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { App, Chart } from 'cdk8s';
import { GpuPlatform } from '../constructs/cloud/gpu-platform';
import { clipLine, type Fleet, parseFleet, quote, readInputFile } from '../constructs/fleet';
import { ModelRepository, ServingPlatform } from '../constructs/k8s';
import { PlanError, plan as planFleet } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import { asRunError, problemsOf, publicEndpointWarning, readStackSettings, stackConfigError } from './config';

function organization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return 'organization'; // older engines do not report it
  }
}

const settings = readStackSettings(pulumi.runtime.allConfig(), {
  project: pulumi.getProject(),
  stack: pulumi.getStack(),
  organization: organization(),
  rootDir: path.resolve(__dirname, '..'),
});

// Plan and render before any resource exists: a fleet or chart error stops the program here. The fleet file is
// read through the bounded reader (a regular file of at most 16 MiB), and every problem line quotes at most
// 100 characters of a value: a wrong fleetFile (say /etc/passwd) never prints its content.
let fleet: Fleet;
try {
  fleet = parseFleet(readInputFile(settings.fleetFile, { what: 'gpufleet:fleetFile' }), settings.fleetFile);
} catch (e) {
  const problems = problemsOf(e);
  if (!problems) throw e;
  throw stackConfigError(problems.map((p) => clipLine(p.startsWith('gpufleet:fleetFile ') ? p : `gpufleet:fleetFile: ${p}`)));
}
// A fleet no GPU type can serve (PlanError: one line per model, with its path and why) is an input error; anything
// else the planner throws is a bug and keeps its stack.
let thePlan: Plan;
try {
  thePlan = planFleet(fleet);
} catch (e) {
  if (!(e instanceof PlanError)) throw e;
  throw new pulumi.RunError(`cannot plan fleet ${fleet.name} of gpufleet:fleetFile ${quote(settings.fleetFile)} `
    + `(${e.problems.length} problem${e.problems.length > 1 ? 's' : ''}):\n  - ${e.problems.map((p) => clipLine(p)).join('\n  - ')}`);
}
const nodeRoleName = `${settings.clusterName}-gpu-nodes`.slice(0, 64);

const app = new App();
const chart = new Chart(app, 'gpufleet');
const platform = ServingPlatform.fromPlan(chart, 'Platform', {
  cluster: { name: settings.clusterName, nodeRole: nodeRoleName },
  repository: ModelRepository.s3({ bucket: settings.bucketName, prefix: settings.bucketPrefix, region: settings.region }),
  gpuOperator: {
    nodeImage: settings.amiType === 'BOTTLEROCKET_x86_64_NVIDIA' ? 'bottlerocket-nvidia' : 'al2023-nvidia',
    migStrategy: 'mixed',
  },
  fleet,
  plan: thePlan,
});
const chartErrors = chart.node.findAll().flatMap((c) => c.node.validate().map((m) => `[${c.node.path}] ${m}`));
if (chartErrors.length > 0) throw new pulumi.RunError(`the serving platform chart is invalid:\n  - ${chartErrors.map((m) => clipLine(m)).join('\n  - ')}`);
const objects = chart.toJson();

const awsProvider = new aws.Provider('aws', { region: settings.region as aws.Region });
const endpointWarning = publicEndpointWarning(settings);
if (endpointWarning !== undefined) pulumi.log.warn(endpointWarning);

const gpufleet = asRunError('invalid platform arguments', () => new GpuPlatform('gpufleet', {
  plan: thePlan,
  objects,
  operatorValues: platform.gpuOperator.values,
  cluster: settings.existingClusterName !== undefined
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
      tags: { 'gpufleet.io/stack': pulumi.getStack() },
    },
  nodeGroups: { amiType: settings.amiType, minSize: settings.gpuNodeMin, maxSize: settings.gpuNodeMax },
  bucket: settings.existingBucket !== undefined
    ? { existingBucketName: settings.existingBucket, prefix: settings.bucketPrefix, kmsKeyArn: settings.kmsKeyArn }
    : { bucketName: settings.bucketName, prefix: settings.bucketPrefix, kmsKeyArn: settings.kmsKeyArn, tags: { 'gpufleet.io/stack': pulumi.getStack() } },
  modelReaderServiceAccount: platform.repository.serviceAccountName,
  // The typed Triton configs of the platform go to <prefix>/<model>/config.pbtxt; the model files are uploaded separately.
  modelConfigs: platform.repository.models.map((m) => ({ name: m.name, pbtxt: m.toPbtxt() })),
  workloadIdentity: settings.workloadIdentity,
  excludeKinds: settings.excludeKinds,
  clusterAutoscaler: settings.clusterAutoscaler,
}, { providers: [awsProvider] }));

/** EKS cluster name. */
export const clusterName = gpufleet.cluster.clusterName;
/** Kubeconfig (secret): `pulumi stack output kubeconfig --show-secrets > kubeconfig.json`. */
export const kubeconfig = gpufleet.cluster.kubeconfig;
/** Model repository bucket and Triton's `--model-repository`. */
export const bucketName = gpufleet.bucket.bucketName;
export const modelRepository = gpufleet.bucket.repositoryUri;
/** IAM role of each Triton service account (`namespace/name` → role ARN). */
export const modelReaderRoles = pulumi.all(Object.fromEntries(gpufleet.grants.map((g) => [`${g.serviceAccount.namespace}/${g.serviceAccount.name}`, g.roleArn])));
/** GPU node groups: pool → { instanceType, migConfig, nodes }. */
export const gpuNodeGroups = Object.fromEntries(gpufleet.nodeGroups.map((g) => [g.pool, {
  instanceType: g.instanceType, migConfig: g.migConfig, minSize: g.minSize, desiredSize: g.desiredSize, maxSize: g.maxSize, resources: g.resources,
}]));
/** On-demand USD per hour of the plan's GPU nodes (catalog prices; control plane, system nodes, storage not included). */
export const costPerHour = gpufleet.costPerHour;
/** The plan's summary (GPU count, lower bound, baselines). */
export const planSummary = thePlan.summary;
/** Kubernetes objects of the rendered chart (each becomes a resource, except those skipped). */
export const chartObjectCount = objects.length;
/** Objects of the chart the release left out, and why. */
export const skippedObjects = gpufleet.release.skipped.map((s) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}: ${s.reason}`);
