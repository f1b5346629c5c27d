/**
 * The platform file (`platform.yaml`): what a fleet file does not say about where the fleet runs — the cluster and
 * its GPU nodes' IAM role and Karpenter node class, the model repository (S3 bucket + prefix, or a PVC), the gateway
 * and host names, the autoscaling engine, the cold tier's router, the namespaces, and which prerequisites the
 * cluster already has. `gpufleet synth`, the cdk8s app (`GPUFLEET_PLATFORM`) and the Pulumi program
 * (`gpufleet:platformFile`) read it with this one parser and render it with `renderFleetPlatform`.
 *
 * Checked like a fleet file: every problem at once, one line each naming its path and value
 * (`routes.hostnames[1]: expected a host name ..., got "Bad Host"`), unknown keys are errors with the nearest
 * allowed key, values quoted at most 100 characters (`quote`). Every key, its meaning and its default:
 * `PLATFORM_FILE_KEYS` (docs/platform-file.md is the same list, checked by a test).
 */
import { closest } from '../../fleet/checks';
import { FleetValidationError } from '../../fleet/errors';
import { dns1123LabelProblem } from '../../fleet/names';
import { readInputFile } from '../../fleet/input-file';
import { parseFleetDocument } from '../../fleet/parse';
import { quote, quoteKey } from '../../fleet/quote';
import { ModelRepository, type ModelRepositoryStorage } from '../serving/model-repository';
import { METRICS_SOURCES, type PlatformPrerequisites } from './platform-prerequisites';

/** A platform file that cannot be used; `problems` lists every reason, one line each. */
export class PlatformFileError extends FleetValidationError {
  constructor(source: string, problems: readonly string[]) {
    super(source, problems);
    this.name = 'PlatformFileError';
  }
}

/** The autoscaling of planned pools. */
export interface PlatformFileScaling {
  /** `keda`, `hpa` or `fixed` (the plan's replicas, no autoscaler). */
  readonly engine: 'keda' | 'hpa' | 'fixed';
  /** Replicas a pool may add above the plan's for bursts. */
  readonly extraReplicas: number;
  /** Seconds the recommendation must stay lower before a pool shrinks. */
  readonly scaleDownStabilizationSeconds?: number;
  /** Prometheus server KEDA queries (`http://...`). */
  readonly prometheusAddress?: string;
}

/** A parsed, checked platform file. Keys the file leaves out are absent (their defaults apply when rendering). */
export interface PlatformFile {
  /** Where the platform came from (the file name), for messages. */
  readonly source: string;
  readonly cluster?: { readonly name: string; readonly nodeRole: string };
  readonly nodeClass?: {
    readonly amiFamily?: 'al2023' | 'bottlerocket';
    readonly amiVersion?: string;
    readonly capacityTypes?: readonly ('on-demand' | 'spot' | 'reserved')[];
    readonly subnetSelectorTags?: Readonly<Record<string, string>>;
    readonly securityGroupSelectorTags?: Readonly<Record<string, string>>;
    readonly volumeSize?: string;
    readonly consolidateAfter?: string;
  };
  readonly gpuOperator?: {
    readonly nodeImage?: 'al2023-nvidia' | 'bottlerocket-nvidia' | 'generic';
    readonly migStrategy?: 'mixed' | 'single';
  };
  readonly repository?: ModelRepositoryStorage;
  readonly routes?: {
    readonly hostnames?: readonly string[];
    readonly gateway?: { readonly name: string; readonly namespace?: string; readonly sectionName?: string };
    readonly requestTimeoutSeconds?: number;
  };
  readonly scaling?: PlatformFileScaling;
  readonly coldTier?: {
    readonly image?: string;
    readonly maxQueuePerModel?: number;
    readonly loadTimeoutSeconds?: number;
    readonly refreshIntervalSeconds?: number;
  };
  readonly namespaces?: { readonly shared?: string; readonly gateway?: string; readonly monitoring?: string };
  /**
   * What the cluster already has, every key given (a key the file leaves out of `prerequisites` is absent);
   * undefined when the file has no `prerequisites` section.
   */
  readonly prerequisites?: PlatformPrerequisites;
}

/** Every key of the platform file: meaning and default (the reference in docs/platform-file.md). */
export const PLATFORM_FILE_KEYS: Readonly<Record<string, string>> = {
  'cluster.name':
    'EKS cluster name; Karpenter finds subnets and security groups by its `karpenter.sh/discovery` tag ' +
    '(required for `gpufleet synth` and the cdk8s app; the Pulumi stack sets it)',
  'cluster.nodeRole': 'IAM role name of the GPU nodes (EC2NodeClass `role`) (required with `cluster`)',
  'nodeClass.amiFamily': 'AMI family of the GPU nodes: al2023 or bottlerocket (default: al2023)',
  'nodeClass.amiVersion': 'AMI version of the Karpenter alias, e.g. v20260801 (default: latest; pin one in production)',
  'nodeClass.capacityTypes': 'Karpenter capacity types: on-demand, spot, reserved (default: [on-demand])',
  'nodeClass.subnetSelectorTags': "tags that select the nodes' subnets (default: karpenter.sh/discovery: <cluster.name>)",
  'nodeClass.securityGroupSelectorTags': "tags that select the nodes' security groups (default: karpenter.sh/discovery: <cluster.name>)",
  'nodeClass.volumeSize': "size of the nodes' image volume, e.g. 200Gi (default: 200Gi)",
  'nodeClass.consolidateAfter': 'how long a node stays empty before Karpenter removes it, e.g. 30m (default: 30m)',
  'gpuOperator.nodeImage':
    'node image the GPU operator configures for: al2023-nvidia, bottlerocket-nvidia or generic (default: al2023-nvidia)',
  'gpuOperator.migStrategy': 'MIG strategy of the device plugin: mixed or single (default: mixed)',
  'repository.s3.bucket':
    'S3 bucket of the model repository (one of repository.s3 or repository.pvc is required for `gpufleet synth`; the Pulumi stack sets it)',
  'repository.s3.prefix': 'key prefix of the repository, no leading or trailing / (default: the bucket root)',
  'repository.s3.region': 'AWS region of the bucket, e.g. us-east-1 (required with s3)',
  'repository.s3.roleArn': 'IAM role Triton assumes through IRSA (default: none, EKS Pod Identity provides credentials)',
  'repository.s3.serviceAccountName': 'service account Triton runs as (default: triton-model-reader)',
  'repository.s3.egressCidrs':
    'the only CIDRs Triton pods may reach on 443 for S3 (and STS with IRSA), ' +
    "e.g. the region's S3 prefix-list CIDRs (default: any address on 443)",
  'repository.pvc.claimName': 'a ReadOnlyMany PersistentVolumeClaim present in every namespace a pool runs in',
  'repository.pvc.subPath': 'directory inside the volume that holds the repository (default: the volume root)',
  'routes.hostnames': 'host names clients use (default: any host)',
  'routes.gateway.name': 'the Gateway the HTTPRoutes attach to (default: inference)',
  'routes.gateway.namespace': 'its namespace (default: namespaces.gateway)',
  'routes.gateway.sectionName': 'its listener (default: every listener that allows the routes)',
  'routes.requestTimeoutSeconds': "request timeout of every route rule, seconds (default: the Gateway implementation's)",
  'scaling.engine': "autoscaler of the planned pools: keda, hpa or fixed (default: fixed, the plan's replicas)",
  'scaling.extraReplicas': "replicas a pool may add above the plan's for bursts, with keda or hpa (default: 0)",
  'scaling.scaleDownStabilizationSeconds': 'seconds the recommendation stays lower before a pool shrinks (default: 300)',
  'scaling.prometheusAddress': 'Prometheus server KEDA queries (default: http://prometheus-operated.monitoring.svc:9090)',
  'coldTier.image': "model router image of the cold tier (fleet coldBelowRps) (default: gpufleet's router image)",
  'coldTier.maxQueuePerModel': 'requests that may wait for one model to load (default: 256)',
  'coldTier.loadTimeoutSeconds': 'longest wait for one load, seconds (default: 120)',
  'coldTier.refreshIntervalSeconds': "how often the router reads each backend's repository index, seconds (default: 10)",
  'namespaces.shared': "namespace of pools serving several teams' models (default: serving-shared)",
  'namespaces.gateway': 'namespace of the Gateway (default: gateway-system)',
  'namespaces.monitoring': 'namespace of Prometheus (default: monitoring)',
  'prerequisites.karpenterNodeOverlay': 'Karpenter runs with --feature-gates NodeOverlay=true: true or false',
  'prerequisites.prometheus': "the Prometheus operator: {namespace: <ns>} of the Prometheus that scrapes gpufleet's monitors, or false",
  'prerequisites.prometheusAdapter': 'prometheus-adapter: {namespace: <ns>}, or false',
  'prerequisites.keda': 'KEDA: true or false',
  'prerequisites.gatewayApi': 'a Gateway API implementation with the Gateway the routes name: true or false',
  'prerequisites.flux': "Flux helm-controller and source-controller (the GPU operator's HelmRelease): true or false",
  'prerequisites.metricsSources': `other metrics sources autoscalers may query: ${Object.keys(METRICS_SOURCES).sort().join(', ')}`,
};

const SECTIONS = ['cluster', 'nodeClass', 'gpuOperator', 'repository', 'routes', 'scaling', 'coldTier', 'namespaces', 'prerequisites'];
const PREREQUISITE_KEYS = [
  'karpenterNodeOverlay',
  'prometheus',
  'prometheusAdapter',
  'keda',
  'gatewayApi',
  'flux',
  'metricsSources',
] as const;
const HOSTNAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/;
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const CLUSTER = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const AMI_VERSION = /^(latest|v\d{8})$/;
const TAG_KEY = /^[\w.:/=+@ -]{1,128}$/;
const IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** distribution/reference: a name of at most 255 characters, `:` and a tag of at most 128, `@sha256:` and 64 hex digits. */
const MAX_IMAGE_CHARS = 255 + 1 + 128 + 8 + 64;
const URL = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/;

/** Collects problems while reading one document. */
class Reader {
  public readonly problems: string[] = [];

  required(path: string, expected: string): undefined {
    this.problems.push(`${path}: required, expected ${expected}`);
    return undefined;
  }

  add(path: string, expected: string, value: unknown): undefined {
    this.problems.push(`${path}: expected ${expected}, got ${quote(value)}`);
    return undefined;
  }

  /** A mapping with only `allowed` keys (unknown ones reported with the nearest allowed key). */
  section(path: string, value: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return this.add(path, 'a mapping', value);
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      const near = closest(key, allowed);
      this.problems.push(
        `${path ? `${path}.` : ''}${quoteKey(key)}: unknown key; ${near ? `did you mean "${near}"? ` : ''}allowed: ${allowed.join(', ')}`,
      );
    }
    return obj;
  }

  string(path: string, value: unknown, re: RegExp, expected: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && re.test(value)) return value;
    return this.add(path, expected, value);
  }

  label(path: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    const problem = dns1123LabelProblem(path, value);
    if (problem) this.problems.push(problem);
    return problem ? undefined : (value as string);
  }

  int(path: string, value: unknown, min: number, max: number): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    return this.add(path, `an integer from ${min} to ${max}`, value);
  }

  bool(path: string, value: unknown): boolean | undefined {
    if (value === undefined || typeof value === 'boolean') return value;
    return this.add(path, 'true or false', value);
  }

  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): T | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    return this.add(path, `one of ${allowed.join(', ')}`, value);
  }

  list<T>(path: string, value: unknown, item: (p: string, v: unknown) => T | undefined): T[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.add(path, 'a list', value);
    const before = this.problems.length;
    const out = value.map((v, i) => item(`${path}[${i}]`, v));
    return this.problems.length > before ? undefined : (out as T[]);
  }

  tags(path: string, value: unknown): Record<string, string> | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) {
      return this.add(path, 'a non-empty mapping of tag → value', value);
    }
    const before = this.problems.length;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!TAG_KEY.test(k))
        this.problems.push(`${path}.${quoteKey(k)}: expected a tag key of 1-128 letters, digits, spaces and _.:/=+-@, got ${quote(k)}`);
      if (typeof v !== 'string' || v.length > 256) this.add(`${path}.${quoteKey(k)}`, 'a string of at most 256 characters', v);
    }
    return this.problems.length > before ? undefined : (value as Record<string, string>);
  }

  /** Runs a construct's own check; its message (`storage.bucket: expected ...`) is re-rooted at `path`. */
  construct<T>(path: string, prefix: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      const message = (e as Error).message;
      this.problems.push(message.startsWith(`${prefix}.`) ? `${path}.${message.slice(prefix.length + 1)}` : `${path}: ${message}`);
      return undefined;
    }
  }
}

/** Checks a platform document (already parsed from YAML or JSON); returns the platform or every problem. */
export function validatePlatformDocument(doc: unknown, source = 'platform'): { platform?: PlatformFile; problems: string[] } {
  const r = new Reader();
  if (doc === null || doc === undefined) return { problems: [`expected a mapping with ${SECTIONS.join(', ')}, got an empty document`] };
  if (typeof doc !== 'object' || Array.isArray(doc))
    return { problems: [`expected a mapping with ${SECTIONS.join(', ')}, got ${quote(doc)}`] };
  const top = r.section('', doc, SECTIONS);
  if (!top) return { problems: r.problems };
  // each section in file order, so the problems come in that order
  const cluster = readCluster(r, top);
  const nodeClass = readNodeClass(r, top);
  const gpuOperator = readGpuOperator(r, top);
  const repository = readRepository(r, top);
  const routes = readRoutes(r, top);
  const scaling = readScaling(r, top);
  const coldTier = readColdTier(r, top);
  const namespaces = readNamespaces(r, top);
  const prerequisites = readPrerequisites(r, top);
  if (r.problems.length > 0) return { problems: r.problems };
  const platform: PlatformFile = prune({
    source,
    cluster,
    nodeClass,
    gpuOperator,
    repository,
    routes,
    scaling,
    coldTier,
    namespaces,
    prerequisites,
  });
  return { platform, problems: [] };
}

type Section = Record<string, unknown>;

/** `cluster`: the EKS cluster's name and the GPU nodes' IAM role, both required. */
function readCluster(r: Reader, top: Section): PlatformFile['cluster'] {
  const c = r.section('cluster', top.cluster, ['name', 'nodeRole']);
  if (!c) return undefined;
  const name =
    c.name === undefined
      ? r.required('cluster.name', 'an EKS cluster name')
      : r.string('cluster.name', c.name, CLUSTER, 'an EKS cluster name (1-100 letters, digits, - and _)');
  const nodeRole =
    c.nodeRole === undefined
      ? r.required('cluster.nodeRole', 'the IAM role name of the GPU nodes')
      : r.string('cluster.nodeRole', c.nodeRole, ROLE_NAME, 'an IAM role name (1-64 letters, digits and +=,.@_-)');
  return name && nodeRole ? { name, nodeRole } : undefined;
}

/** `nodeClass`: AMI, capacity types, subnet and security-group tags, volume size, consolidation delay. */
function readNodeClass(r: Reader, top: Section): PlatformFile['nodeClass'] {
  const nc = r.section('nodeClass', top.nodeClass, [
    'amiFamily',
    'amiVersion',
    'capacityTypes',
    'subnetSelectorTags',
    'securityGroupSelectorTags',
    'volumeSize',
    'consolidateAfter',
  ]);
  return (
    nc && {
      amiFamily: r.oneOf('nodeClass.amiFamily', nc.amiFamily, ['al2023', 'bottlerocket'] as const),
      amiVersion: r.string('nodeClass.amiVersion', nc.amiVersion, AMI_VERSION, 'latest or a version such as v20260801'),
      capacityTypes: r.list('nodeClass.capacityTypes', nc.capacityTypes, (p, v) =>
        r.oneOf(p, v, ['on-demand', 'spot', 'reserved'] as const),
      ),
      subnetSelectorTags: r.tags('nodeClass.subnetSelectorTags', nc.subnetSelectorTags),
      securityGroupSelectorTags: r.tags('nodeClass.securityGroupSelectorTags', nc.securityGroupSelectorTags),
      volumeSize: r.string('nodeClass.volumeSize', nc.volumeSize, QUANTITY, 'a storage quantity such as 200Gi'),
      consolidateAfter: r.string('nodeClass.consolidateAfter', nc.consolidateAfter, GO_DURATION, 'a duration such as 30m or 1h30m'),
    }
  );
}

/** `gpuOperator`: the node image and the MIG strategy. */
function readGpuOperator(r: Reader, top: Section): PlatformFile['gpuOperator'] {
  const go = r.section('gpuOperator', top.gpuOperator, ['nodeImage', 'migStrategy']);
  return (
    go && {
      nodeImage: r.oneOf('gpuOperator.nodeImage', go.nodeImage, ['al2023-nvidia', 'bottlerocket-nvidia', 'generic'] as const),
      migStrategy: r.oneOf('gpuOperator.migStrategy', go.migStrategy, ['mixed', 'single'] as const),
    }
  );
}

/** `repository`: exactly one of s3 and pvc, checked by `ModelRepository.s3` / `.pvc`. */
function readRepository(r: Reader, top: Section): ModelRepositoryStorage | undefined {
  let repository: ModelRepositoryStorage | undefined;
  const repo = r.section('repository', top.repository, ['s3', 'pvc']);
  if (repo) {
    if ((repo.s3 === undefined) === (repo.pvc === undefined)) {
      r.problems.push(`repository: expected exactly one of s3 or pvc, got ${repo.s3 === undefined ? 'neither' : 'both'}`);
    } else if (repo.s3 !== undefined) {
      const s3 = r.section('repository.s3', repo.s3, ['bucket', 'prefix', 'region', 'roleArn', 'serviceAccountName', 'egressCidrs']);
      if (s3) repository = r.construct('repository.s3', 'storage', () => ModelRepository.s3(s3 as never));
    } else {
      const pvc = r.section('repository.pvc', repo.pvc, ['claimName', 'subPath']);
      if (pvc) repository = r.construct('repository.pvc', 'storage', () => ModelRepository.pvc(pvc as never));
    }
  }
  return repository;
}

/** `routes`: host names, the Gateway, the request timeout. */
function readRoutes(r: Reader, top: Section): PlatformFile['routes'] {
  const rt = r.section('routes', top.routes, ['hostnames', 'gateway', 'requestTimeoutSeconds']);
  if (!rt) return undefined;
  const gw = r.section('routes.gateway', rt.gateway, ['name', 'namespace', 'sectionName']);
  const gatewayName =
    gw && (gw.name === undefined ? r.required('routes.gateway.name', "the Gateway's name") : r.label('routes.gateway.name', gw.name));
  return {
    hostnames: r.list('routes.hostnames', rt.hostnames, (p, v) =>
      r.string(p, v, HOSTNAME, 'a host name such as inference.example.com (lowercase, optionally *.)'),
    ),
    gateway:
      gw && gatewayName
        ? {
            name: gatewayName,
            namespace: r.label('routes.gateway.namespace', gw.namespace),
            sectionName: r.label('routes.gateway.sectionName', gw.sectionName),
          }
        : undefined,
    requestTimeoutSeconds: r.int('routes.requestTimeoutSeconds', rt.requestTimeoutSeconds, 1, 86_400),
  };
}

/** `scaling`: the engine, and (keda or hpa only) extra replicas, scale-down stabilization, Prometheus address (keda only). */
function readScaling(r: Reader, top: Section): PlatformFileScaling | undefined {
  const sc = r.section('scaling', top.scaling, ['engine', 'extraReplicas', 'scaleDownStabilizationSeconds', 'prometheusAddress']);
  if (!sc) return undefined;
  const engine =
    sc.engine === undefined
      ? r.required('scaling.engine', 'one of keda, hpa, fixed')
      : r.oneOf('scaling.engine', sc.engine, ['keda', 'hpa', 'fixed'] as const);
  const extraReplicas = r.int('scaling.extraReplicas', sc.extraReplicas, 0, 1000);
  const scaleDownStabilizationSeconds = r.int('scaling.scaleDownStabilizationSeconds', sc.scaleDownStabilizationSeconds, 0, 3600);
  const prometheusAddress = r.string('scaling.prometheusAddress', sc.prometheusAddress, URL, 'an http:// or https:// URL');
  if (engine === 'fixed') {
    for (const k of ['extraReplicas', 'scaleDownStabilizationSeconds', 'prometheusAddress'] as const) {
      if (sc[k] !== undefined) r.problems.push(`scaling.${k}: only with engine keda or hpa, got engine fixed`);
    }
  }
  if (engine === 'hpa' && sc.prometheusAddress !== undefined)
    r.problems.push('scaling.prometheusAddress: only with engine keda (an HPA reads prometheus-adapter), got engine hpa');
  return engine ? { engine, extraReplicas: extraReplicas ?? 0, scaleDownStabilizationSeconds, prometheusAddress } : undefined;
}

/** `coldTier`: the router image, queue length per model, load timeout, refresh interval. */
function readColdTier(r: Reader, top: Section): PlatformFile['coldTier'] {
  const ct = r.section('coldTier', top.coldTier, ['image', 'maxQueuePerModel', 'loadTimeoutSeconds', 'refreshIntervalSeconds']);
  return (
    ct && {
      // distribution/reference: a name of at most 255 characters, a tag of at most 128, a sha256 digest
      image:
        typeof ct.image === 'string' && ct.image.length > MAX_IMAGE_CHARS
          ? r.add('coldTier.image', `a container image reference of at most ${MAX_IMAGE_CHARS} characters`, ct.image)
          : r.string('coldTier.image', ct.image, IMAGE, 'a container image reference such as ghcr.io/acme/gpufleet-router:0.1.0'),
      maxQueuePerModel: r.int('coldTier.maxQueuePerModel', ct.maxQueuePerModel, 1, 100_000),
      loadTimeoutSeconds: r.int('coldTier.loadTimeoutSeconds', ct.loadTimeoutSeconds, 1, 3600),
      refreshIntervalSeconds: r.int('coldTier.refreshIntervalSeconds', ct.refreshIntervalSeconds, 1, 3600),
    }
  );
}

/** `namespaces`: shared, gateway and monitoring namespaces. */
function readNamespaces(r: Reader, top: Section): PlatformFile['namespaces'] {
  const ns = r.section('namespaces', top.namespaces, ['shared', 'gateway', 'monitoring']);
  return (
    ns && {
      shared: r.label('namespaces.shared', ns.shared),
      gateway: r.label('namespaces.gateway', ns.gateway),
      monitoring: r.label('namespaces.monitoring', ns.monitoring),
    }
  );
}

/** `prerequisites`: what the cluster has; a key left out is absent. */
function readPrerequisites(r: Reader, top: Section): PlatformPrerequisites | undefined {
  const pr = r.section('prerequisites', top.prerequisites, PREREQUISITE_KEYS);
  if (!pr) return undefined;
  const withNamespace = (key: 'prometheus' | 'prometheusAdapter'): { namespace: string } | false => {
    const v = pr[key];
    if (v === undefined || v === false) return false;
    const m = r.section(`prerequisites.${key}`, v, ['namespace']);
    if (!m) return false;
    const namespace =
      m.namespace === undefined
        ? r.required(`prerequisites.${key}.namespace`, 'a namespace')
        : r.label(`prerequisites.${key}.namespace`, m.namespace);
    return namespace ? { namespace } : false;
  };
  // A key left out is absent: the file lists what the cluster has.
  return {
    karpenterNodeOverlay: r.bool('prerequisites.karpenterNodeOverlay', pr.karpenterNodeOverlay) ?? false,
    prometheus: withNamespace('prometheus'),
    prometheusAdapter: withNamespace('prometheusAdapter'),
    keda: r.bool('prerequisites.keda', pr.keda) ?? false,
    gatewayApi: r.bool('prerequisites.gatewayApi', pr.gatewayApi) ?? false,
    flux: r.bool('prerequisites.flux', pr.flux) ?? false,
    metricsSources:
      r.list('prerequisites.metricsSources', pr.metricsSources, (p, v) => r.oneOf(p, v, Object.keys(METRICS_SOURCES).sort())) ?? [],
  };
}

/** `obj` without undefined members (recursively in plain mappings), so the parsed file says only what was written. */
function prune<T>(obj: T): T {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) if (v !== undefined) out[k] = prune(v);
  return out as T;
}

/** Parses and checks a platform file's text (YAML or JSON); throws `PlatformFileError` listing every problem. */
export function parsePlatformFile(text: string, source = 'platform'): PlatformFile {
  let doc: unknown;
  try {
    doc = parseFleetDocument(text, source);
  } catch (e) {
    throw new PlatformFileError(source, (e as FleetValidationError).problems ?? [(e as Error).message]);
  }
  const { platform, problems } = validatePlatformDocument(doc, source);
  if (!platform)
    throw new PlatformFileError(
      source,
      problems.map((p) => `${source}: ${p}`),
    );
  return platform;
}

/**
 * Reads (bounded: a regular file of at most 16 MiB of UTF-8, `readInputFile`), parses and checks a platform file.
 * An unreadable file throws `InputFileError`, a wrong one `PlatformFileError`; both carry `problems`.
 */
export function loadPlatformFile(path: string, what = 'PLATFORM'): PlatformFile {
  return parsePlatformFile(readInputFile(path, { what }), path);
}
