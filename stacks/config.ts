/**
 * Stack configuration of the Pulumi program (`stacks/index.ts`), read from the `gpufleet:*` keys
 * (`pulumi config set gpufleet:<key> <value>`). `readStackSettings` checks every key first and throws one
 * error listing every problem, so a bad configuration stops the program before any resource exists.
 */
import * as path from 'path';
import { RunError } from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';
import { clusterPrerequisites, PREREQUISITE_KEYS } from '../constructs/cloud/prerequisite-installs';
import { MAX_PUBLIC_ACCESS_CIDRS, publicAccessCidrsProblems } from '../constructs/cloud/gpu-cluster';
import { GPU_AMI_TYPES, type GpuAmiType } from '../constructs/cloud/gpu-node-group';
import { S3_KEY_PREFIX, type WorkloadIdentityMechanism } from '../constructs/cloud/model-repository-bucket';
import { EXCLUDE_KIND } from '../constructs/cloud/platform-release';
import { checkInputFile, MAX_INPUT_FILE_BYTES } from '../constructs/fleet/input-file';
import { clipLine, quote, quoteKey } from '../constructs/fleet/quote';
import { METRICS_SOURCES, type PlatformPrerequisites } from '../constructs/k8s/platform/platform-prerequisites';

/** The fleet file planned when `gpufleet:fleetFile` is not set (relative to the repository root). */
export const DEFAULT_FLEET_FILE = 'examples/payments-and-vision.fleet.yaml';

/**
 * Upper bound of `gpuNodeMin` and `gpuNodeMax`: a sanity bound (a value such as 1e20 is a typo, not a plan),
 * far above EKS's default quota of 450 nodes per managed node group (adjustable, EKS service quotas).
 */
export const MAX_GPU_NODES_PER_GROUP = 10_000;

/** Every key the program reads, with its meaning (also the list of allowed keys). */
export const STACK_CONFIG_KEYS: Readonly<Record<string, string>> = {
  region: 'AWS region, e.g. us-east-1 (default: aws:region)',
  clusterName: 'name of an existing EKS cluster to deploy into (default: create a cluster)',
  kubeconfig: 'kubeconfig of the existing cluster, set with --secret (default: generated, aws eks get-token)',
  newClusterName: 'name of the cluster to create (default: gpufleet-<stack>)',
  kubernetesVersion: 'Kubernetes version of a created cluster (default: 1.33)',
  subnetIds: "comma-separated subnet ids (default: the default VPC's default-for-AZ subnets, or the existing cluster's)",
  fleetFile:
    'fleet file to plan, relative to the repository root; ' +
    `a regular file of at most ${MAX_INPUT_FILE_BYTES / 1024 / 1024} MiB (default: ${DEFAULT_FLEET_FILE})`,
  platformFile:
    'platform file (docs/platform-file.md), relative to the repository root: ' +
    'routes, scaling, cold tier, node class, namespaces and what the cluster has; ' +
    "its cluster and repository are the stack's (default: none, the platform's defaults)",
  bucket: 'name of an existing model repository bucket (default: create one)',
  bucketName: 'name of the bucket to create (default: gpufleet-<stack>-models-<hash of org/project/stack/region>)',
  bucketPrefix: 'key prefix of the model repository (default: models)',
  kmsKeyArn: "KMS key of the bucket's SSE-KMS encryption (default: SSE-S3)",
  amiType: 'AMI type of the GPU nodes: AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA (default: AL2023_x86_64_NVIDIA)',
  gpuNodeMin: `minimum size of every GPU node group, 0 to ${MAX_GPU_NODES_PER_GROUP} (default: 0, scale from zero)`,
  gpuNodeMax: `maximum size of every GPU node group, 1 to ${MAX_GPU_NODES_PER_GROUP} (default: the plan's node count)`,
  endpointPublicAccess:
    'public API endpoint of a created cluster: true or false; with false, Pulumi must run inside the VPC (default: true)',
  publicAccessCidrs:
    `comma-separated IPv4 CIDR blocks that may reach the public API endpoint of a created cluster, at most ${MAX_PUBLIC_ACCESS_CIDRS}; ` +
    'include where Pulumi runs (default: 0.0.0.0/0, any address, with a warning)',
  workloadIdentity: 'how Triton gets AWS credentials: irsa or pod-identity (default: irsa)',
  clusterAutoscaler: 'install the cluster-autoscaler: true or false (default: true for a created cluster, false for an existing one)',
  excludeKinds:
    'comma-separated <api group>/<Kind> of chart objects not to apply, e.g. monitoring.coreos.com/ServiceMonitor (default: none)',
  prerequisites:
    "what the cluster already has, in the platform's prerequisites vocabulary, " +
    'e.g. {"keda": true, "prometheus": {"namespace": "monitoring"}}; ' +
    'a key not set is absent, and gpufleet installs what its objects need (default: nothing, a fresh cluster)',
};

/** The validated settings. */
export interface StackSettings {
  readonly region: string;
  /** Existing cluster to use; undefined → create `newClusterName`. */
  readonly existingClusterName?: string;
  readonly kubeconfig?: string;
  /** Name of the cluster (existing or created). */
  readonly clusterName: string;
  readonly kubernetesVersion?: string;
  readonly subnetIds?: string[];
  /** Absolute path of the fleet file. */
  readonly fleetFile: string;
  /** Absolute path of the platform file, if one is set. */
  readonly platformFile?: string;
  /** `gpufleet:prerequisites` is set (then the platform file may not list prerequisites too). */
  readonly prerequisitesSet: boolean;
  /** Existing bucket to use; undefined → create `bucketName`. */
  readonly existingBucket?: string;
  /** Name of the bucket (existing or created). */
  readonly bucketName: string;
  readonly bucketPrefix: string;
  readonly kmsKeyArn?: string;
  readonly amiType: GpuAmiType;
  readonly gpuNodeMin: number;
  readonly gpuNodeMax?: number;
  readonly workloadIdentity: WorkloadIdentityMechanism;
  readonly excludeKinds: string[];
  /** What the cluster already has (`gpufleet:prerequisites`); keys not set are absent. */
  readonly clusterHas: PlatformPrerequisites;
  readonly clusterAutoscaler?: boolean;
  /** Public API endpoint of a created cluster (undefined for an existing one). */
  readonly endpointPublicAccess?: boolean;
  /** CIDR blocks of the public endpoint of a created cluster; undefined = EKS's default, any address. */
  readonly publicAccessCidrs?: string[];
}

/**
 * The stack configuration is wrong: a `pulumi.RunError`, which `pulumi up` prints as its message alone,
 * without a stack trace (@pulumi/pulumi v3.248.0 `cmd/run/run.js`: "Always hide the stack for RunErrors").
 */
export function stackConfigError(problems: readonly string[]): RunError {
  return new RunError(
    `invalid stack configuration (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  - ${problems.join('\n  - ')}`,
  );
}

/**
 * The warning `pulumi up` shows for a created cluster whose public API endpoint stays open to any address
 * (no `publicAccessCidrs`, `endpointPublicAccess` not false); undefined otherwise.
 */
export function publicEndpointWarning(settings: StackSettings): string | undefined {
  if (settings.existingClusterName !== undefined || settings.endpointPublicAccess === false || settings.publicAccessCidrs !== undefined)
    return undefined;
  return (
    'the EKS API endpoint is public and open to any address (0.0.0.0/0): restrict it with ' +
    '`pulumi config set gpufleet:publicAccessCidrs <your CIDR blocks>` ' +
    'or close it with `gpufleet:endpointPublicAccess false` (docs/cloud.md)'
  );
}

/** The problem lines of a validation error (FleetValidationError, InputFileError, PlanError), else undefined. */
export function problemsOf(e: unknown): string[] | undefined {
  const problems = e instanceof Error ? (e as { problems?: unknown }).problems : undefined;
  return Array.isArray(problems) && problems.length > 0 && problems.every((p) => typeof p === 'string') ? problems : undefined;
}

/**
 * Runs `fn`; a validation error becomes a `RunError` (its message alone, no stack trace). gpufleet
 * throws plain `Error`s (or errors carrying `problems`) for bad input; any other class (TypeError, ...) is a
 * bug and keeps its stack.
 */
export function asRunError<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (RunError.isInstance(e)) throw e;
    const problems = problemsOf(e);
    if (problems)
      throw new RunError(
        `${what} (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  - ${problems.map((p) => clipLine(p)).join('\n  - ')}`,
      );
    if (e instanceof Error && e.constructor === Error)
      throw new RunError(
        `${what}: ${e.message
          .split('\n')
          .map((l) => clipLine(l))
          .join('\n')}`,
      );
    throw e;
  }
}

/** Where the program runs. */
export interface StackContext {
  readonly project: string;
  readonly stack: string;
  /** Pulumi organization, part of the default bucket name. @default 'organization' */
  readonly organization?: string;
  /** Repository root, for relative fleet files. */
  readonly rootDir: string;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const CLUSTER = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const VERSION = /^1\.\d{2}$/;
const KMS = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

/** A short stable hash (FNV-1a, hex) for default names. */
function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The `gpufleet:` keys being read, and every problem found so far. */
interface ConfigReading {
  /** The `gpufleet:` keys, by key without the namespace. */
  readonly cfg: Record<string, string>;
  readonly raw: Readonly<Record<string, string>>;
  readonly ctx: StackContext;
  readonly problems: string[];
}

/** Records `gpufleet:<key>: expected <expected>, got <value>`. */
function bad(r: ConfigReading, key: string, expected: string): void {
  r.problems.push(`gpufleet:${key}: expected ${expected}, got ${quote(r.cfg[key])}`);
}

/**
 * Validates the raw configuration (`namespace:key` → value, e.g. from `pulumi.runtime.allConfig()`)
 * and returns the settings, or throws one error that lists every problem.
 */
export function readStackSettings(raw: Readonly<Record<string, string>>, ctx: StackContext): StackSettings {
  const problems: string[] = [];
  const r: ConfigReading = { cfg: gpufleetKeys(raw, problems), raw, ctx, problems };
  const region = readRegion(r);
  const cluster = readCluster(r);
  const files = readInputFiles(r);
  const bucket = readBucket(r, region);
  const nodes = readNodeGroups(r);
  const access = readAccess(r, cluster.existingClusterName);
  const excludeKinds = (r.cfg.excludeKinds ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  const badKinds = excludeKinds.filter((k) => !EXCLUDE_KIND.test(k));
  if (badKinds.length > 0)
    bad(r, 'excludeKinds', 'comma-separated <api group>/<Kind> such as monitoring.coreos.com/ServiceMonitor (core kinds: /ConfigMap)');
  const clusterHas = readClusterHas(r.cfg.prerequisites, problems);

  if (problems.length > 0) throw stackConfigError(problems);
  return {
    region: region!,
    existingClusterName: cluster.existingClusterName,
    kubeconfig: r.cfg.kubeconfig,
    clusterName: cluster.existingClusterName ?? cluster.newClusterName,
    kubernetesVersion: r.cfg.kubernetesVersion,
    subnetIds: cluster.subnetIds,
    fleetFile: files.fleetFile,
    platformFile: files.platformFile,
    prerequisitesSet: r.cfg.prerequisites !== undefined,
    existingBucket: bucket.existingBucket,
    bucketName: bucket.bucketName,
    bucketPrefix: bucket.bucketPrefix,
    kmsKeyArn: r.cfg.kmsKeyArn,
    amiType: nodes.amiType,
    gpuNodeMin: nodes.gpuNodeMin,
    gpuNodeMax: nodes.gpuNodeMax,
    workloadIdentity: access.workloadIdentity,
    excludeKinds,
    clusterHas,
    clusterAutoscaler: access.clusterAutoscaler,
    endpointPublicAccess: cluster.existingClusterName === undefined ? (access.endpointPublicAccess ?? true) : undefined,
    publicAccessCidrs: access.publicAccessCidrs,
  };
}

/** The `gpufleet:` keys of the raw configuration (other namespaces are ignored); an unknown key is a problem. */
function gpufleetKeys(raw: Readonly<Record<string, string>>, problems: string[]): Record<string, string> {
  const cfg: Record<string, string> = {};
  for (const [fullKey, value] of Object.entries(raw)) {
    const [ns, key] = fullKey.includes(':')
      ? [fullKey.slice(0, fullKey.indexOf(':')), fullKey.slice(fullKey.indexOf(':') + 1)]
      : ['', fullKey];
    if (ns !== 'gpufleet') continue;
    if (!Object.prototype.hasOwnProperty.call(STACK_CONFIG_KEYS, key)) {
      problems.push(`gpufleet:${quoteKey(key)}: unknown key; allowed: ${Object.keys(STACK_CONFIG_KEYS).sort().join(', ')}`);
      continue;
    }
    cfg[key] = value;
  }
  return cfg;
}

/** `gpufleet:region`, or `aws:region`: required. */
function readRegion(r: ConfigReading): string | undefined {
  const region = r.cfg.region ?? r.raw['aws:region'];
  if (region === undefined) {
    r.problems.push('gpufleet:region: required (or aws:region), e.g. `pulumi config set gpufleet:region us-east-1`');
  } else if (!REGION.test(region)) {
    r.problems.push(`gpufleet:region: expected an AWS region such as us-east-1, got ${quote(region)}`);
  }
  return region;
}

/** The cluster: an existing one (`clusterName`, `kubeconfig`) or a created one (`newClusterName`, `kubernetesVersion`), and its subnets. */
function readCluster(r: ConfigReading): { existingClusterName?: string; newClusterName: string; subnetIds?: string[] } {
  const { cfg, problems } = r;
  const existingClusterName = cfg.clusterName;
  if (existingClusterName !== undefined && !CLUSTER.test(existingClusterName))
    bad(r, 'clusterName', 'an EKS cluster name (1-100 letters, digits, - and _)');
  if (existingClusterName !== undefined) {
    for (const key of ['newClusterName', 'kubernetesVersion', 'endpointPublicAccess', 'publicAccessCidrs']) {
      if (cfg[key] !== undefined) problems.push(`gpufleet:${key}: only for a created cluster, not allowed with gpufleet:clusterName`);
    }
  } else if (cfg.kubeconfig !== undefined) {
    problems.push('gpufleet:kubeconfig: only for an existing cluster (set gpufleet:clusterName too)');
  }
  const newClusterName = cfg.newClusterName ?? `gpufleet-${r.ctx.stack}`.slice(0, 100);
  if (cfg.newClusterName !== undefined && !CLUSTER.test(cfg.newClusterName))
    bad(r, 'newClusterName', 'an EKS cluster name (1-100 letters, digits, - and _)');
  if (cfg.kubernetesVersion !== undefined && !VERSION.test(cfg.kubernetesVersion))
    bad(r, 'kubernetesVersion', 'a Kubernetes minor version such as 1.33');
  if (cfg.kubeconfig !== undefined && cfg.kubeconfig.trim() === '') bad(r, 'kubeconfig', 'a kubeconfig (YAML or JSON)');

  let subnetIds: string[] | undefined;
  if (cfg.subnetIds !== undefined) {
    subnetIds = cfg.subnetIds
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const wrong = subnetIds.filter((s) => !SUBNET.test(s));
    if (subnetIds.length < 2 || wrong.length > 0) bad(r, 'subnetIds', 'at least two comma-separated subnet ids (subnet-0123abcd...)');
  }
  return { existingClusterName, newClusterName, subnetIds };
}

/**
 * The fleet file (default `DEFAULT_FLEET_FILE`) and the platform file, resolved against the project; type and size checked,
 * nothing read.
 */
function readInputFiles(r: ConfigReading): { fleetFile: string; platformFile?: string } {
  const { cfg, ctx, problems } = r;
  const fleetRel = cfg.fleetFile ?? DEFAULT_FLEET_FILE;
  const fleetFile = path.resolve(ctx.rootDir, fleetRel);
  // Type and size only (nothing is read here): a folder, FIFO, device or file over 16 MiB is refused.
  const fileProblem = checkInputFile(fleetFile, { what: 'gpufleet:fleetFile' });
  if (fileProblem !== undefined) {
    problems.push(
      `gpufleet:fleetFile: ${quote(fleetRel)}${fleetFile === fleetRel ? '' : ` (resolved to ${quote(fleetFile)})`}: ${fileProblem.reason}`,
    );
  }

  let platformFile: string | undefined;
  if (cfg.platformFile !== undefined) {
    platformFile = path.resolve(ctx.rootDir, cfg.platformFile);
    const problem = checkInputFile(platformFile, { what: 'gpufleet:platformFile' });
    if (problem !== undefined) {
      problems.push(
        `gpufleet:platformFile: ${quote(cfg.platformFile)}` +
          `${platformFile === cfg.platformFile ? '' : ` (resolved to ${quote(platformFile)})`}: ${problem.reason}`,
      );
    }
  }
  return { fleetFile, platformFile };
}

/**
 * The model repository bucket: an existing one (`bucket`) or a created one (`bucketName`, default named after the stack),
 * its prefix and KMS key.
 */
function readBucket(r: ConfigReading, region: string | undefined): { existingBucket?: string; bucketName: string; bucketPrefix: string } {
  const { cfg, ctx, problems } = r;
  const existingBucket = cfg.bucket;
  if (existingBucket !== undefined && (!BUCKET.test(existingBucket) || existingBucket.includes('..')))
    bad(r, 'bucket', 'an S3 bucket name (3-63 lowercase letters, digits, . and -)');
  if (existingBucket !== undefined && cfg.bucketName !== undefined)
    problems.push('gpufleet:bucketName: only for a created bucket, not allowed with gpufleet:bucket');
  if (cfg.bucketName !== undefined && (!BUCKET.test(cfg.bucketName) || cfg.bucketName.includes('..')))
    bad(r, 'bucketName', 'an S3 bucket name (3-63 lowercase letters, digits, . and -)');
  const defaultBucket =
    `gpufleet-${ctx.stack}`
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .slice(0, 36)
      .replace(/-+$/, '') + `-models-${shortHash(`${ctx.organization ?? 'organization'}/${ctx.project}/${ctx.stack}/${region ?? ''}`)}`;
  const bucketPrefix = cfg.bucketPrefix ?? 'models';
  if (!S3_KEY_PREFIX.test(bucketPrefix)) bad(r, 'bucketPrefix', "an S3 key prefix without leading or trailing '/' or '*'");
  if (cfg.kmsKeyArn !== undefined && !KMS.test(cfg.kmsKeyArn))
    bad(r, 'kmsKeyArn', 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
  return { existingBucket, bucketName: existingBucket ?? cfg.bucketName ?? defaultBucket, bucketPrefix };
}

/** The GPU node groups: AMI type and the size bounds of each group. */
function readNodeGroups(r: ConfigReading): { amiType: GpuAmiType; gpuNodeMin: number; gpuNodeMax?: number } {
  const { cfg } = r;
  const amiType = (cfg.amiType ?? 'AL2023_x86_64_NVIDIA') as GpuAmiType;
  if (!GPU_AMI_TYPES.includes(amiType)) bad(r, 'amiType', GPU_AMI_TYPES.join(' or '));

  const int = (key: string, min: number, max: number): number | undefined => {
    if (cfg[key] === undefined) return undefined;
    const n = Number(cfg[key]);
    if (!/^\d{1,15}$/.test(cfg[key].trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      bad(r, key, `an integer from ${min} to ${max}`);
      return undefined;
    }
    return n;
  };
  const gpuNodeMin = int('gpuNodeMin', 0, MAX_GPU_NODES_PER_GROUP) ?? 0;
  const gpuNodeMax = int('gpuNodeMax', 1, MAX_GPU_NODES_PER_GROUP);
  if (gpuNodeMax !== undefined && gpuNodeMax < gpuNodeMin) {
    r.problems.push(`gpufleet:gpuNodeMax: expected >= gpufleet:gpuNodeMin (${gpuNodeMin}), got ${gpuNodeMax}`);
  }
  return { amiType, gpuNodeMin, gpuNodeMax };
}

/** Workload identity, the cluster autoscaler, and the public API endpoint of a created cluster with its CIDR blocks. */
function readAccess(
  r: ConfigReading,
  existingClusterName: string | undefined,
): {
  workloadIdentity: WorkloadIdentityMechanism;
  clusterAutoscaler?: boolean;
  endpointPublicAccess?: boolean;
  publicAccessCidrs?: string[];
} {
  const { cfg, problems } = r;
  const workloadIdentity = (cfg.workloadIdentity ?? 'irsa') as WorkloadIdentityMechanism;
  if (workloadIdentity !== 'irsa' && workloadIdentity !== 'pod-identity') bad(r, 'workloadIdentity', 'irsa or pod-identity');

  let clusterAutoscaler: boolean | undefined;
  if (cfg.clusterAutoscaler !== undefined) {
    if (cfg.clusterAutoscaler !== 'true' && cfg.clusterAutoscaler !== 'false') bad(r, 'clusterAutoscaler', 'true or false');
    clusterAutoscaler = cfg.clusterAutoscaler === 'true';
  }
  let endpointPublicAccess: boolean | undefined;
  if (cfg.endpointPublicAccess !== undefined) {
    if (cfg.endpointPublicAccess !== 'true' && cfg.endpointPublicAccess !== 'false') bad(r, 'endpointPublicAccess', 'true or false');
    else endpointPublicAccess = cfg.endpointPublicAccess === 'true';
  }
  let publicAccessCidrs: string[] | undefined;
  if (cfg.publicAccessCidrs !== undefined && existingClusterName === undefined) {
    publicAccessCidrs = cfg.publicAccessCidrs.split(',').map((c) => c.trim());
    if (endpointPublicAccess === false) {
      problems.push(
        'gpufleet:publicAccessCidrs: not allowed with gpufleet:endpointPublicAccess false (there is no public endpoint to restrict)',
      );
    } else {
      problems.push(...publicAccessCidrsProblems('gpufleet:publicAccessCidrs', publicAccessCidrs));
    }
  }
  return { workloadIdentity, clusterAutoscaler, endpointPublicAccess, publicAccessCidrs };
}

const PREREQUISITES_EXAMPLE = '{"keda": true, "gatewayApi": true, "prometheus": {"namespace": "monitoring"}}';

/**
 * `gpufleet:prerequisites`: a mapping in the platform's prerequisites vocabulary (JSON, as `pulumi config set --path
 * gpufleet:prerequisites.keda true` stores it, or YAML); each problem goes to `problems`, naming the key.
 */
function readClusterHas(raw: string | undefined, problems: string[]): PlatformPrerequisites {
  if (raw === undefined) return {};
  let doc: unknown;
  try {
    doc = parseYaml(raw);
  } catch {
    doc = undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(`gpufleet:prerequisites: expected a mapping such as ${PREREQUISITES_EXAMPLE}, got ${quote(raw)}`);
    return {};
  }
  const entries = Object.entries(doc as Record<string, unknown>);
  const before = problems.length;
  for (const [key, value] of entries) {
    if (!(PREREQUISITE_KEYS as readonly string[]).includes(key)) {
      problems.push(`gpufleet:prerequisites.${quoteKey(key)}: unknown key; allowed: ${PREREQUISITE_KEYS.join(', ')}`);
      continue;
    }
    if (
      (key === 'prometheus' || key === 'prometheusAdapter') &&
      value !== false &&
      (value === null || typeof value !== 'object' || Array.isArray(value))
    ) {
      problems.push(`gpufleet:prerequisites.${key}: expected {"namespace": <namespace>} or false, got ${quote(value)}`);
      continue;
    }
    if ((key === 'prometheus' || key === 'prometheusAdapter') && value !== false) {
      const extra = Object.keys(value as object).filter((k) => k !== 'namespace');
      if (extra.length > 0) {
        problems.push(`gpufleet:prerequisites.${key}.${quoteKey(extra[0])}: unknown key; allowed: namespace`);
        continue;
      }
    }
    if (key === 'metricsSources') {
      if (!Array.isArray(value)) {
        problems.push(`gpufleet:prerequisites.metricsSources: expected a list such as ["istio"], got ${quote(value)}`);
      } else {
        value.forEach((v, i) => {
          if (typeof v !== 'string' || !Object.prototype.hasOwnProperty.call(METRICS_SOURCES, v)) {
            problems.push(
              `gpufleet:prerequisites.metricsSources[${i}]: ` +
                `expected one of ${Object.keys(METRICS_SOURCES).sort().join(', ')}, got ${quote(v)}`,
            );
          }
        });
      }
      continue;
    }
    try {
      clusterPrerequisites({ [key]: value });
    } catch (e) {
      problems.push(clipLine(`gpufleet:${(e as Error).message}`));
    }
  }
  return problems.length > before ? {} : Object.fromEntries(entries);
}
