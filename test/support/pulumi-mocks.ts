/**
 * Shared Pulumi mocks for the cloud tests: realistic state per resource type (ARNs, ids, EKS endpoint,
 * OIDC issuer, certificate authority, node group autoscaling groups) and a recorder of every registered
 * resource with its type, name, inputs, parent URN, explicit dependencies and provider.
 *
 * Call `setupPulumiMocks()` BEFORE importing the program or the components (`await import(...)`), as
 * the Pulumi mocks require. No Pulumi CLI and no cloud are involved.
 */
import * as pulumi from '@pulumi/pulumi';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const OIDC_ID = 'EXAMPLED539D4633E53DE1B71EXAMPLE';
export const OIDC_ISSUER = `https://oidc.eks.${REGION}.amazonaws.com/id/${OIDC_ID}`;
export const CA_DATA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIC/mock\n-----END CERTIFICATE-----\n').toString('base64');

/** One resource the program registered. */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** URN of the parent, '' for a root resource. */
  readonly parent: string;
  /** URNs of the explicit and implicit dependencies the SDK sent. */
  readonly dependencies: readonly string[];
  /** Provider reference (`urn::id`), '' for the default provider. */
  readonly provider: string;
  readonly custom: boolean;
  /** Custom timeouts (`create`, `update`, `delete`), when set. */
  readonly customTimeouts?: { readonly create?: string; readonly update?: string; readonly delete?: string };
  /** The `retainOnDelete` resource option. */
  readonly retainOnDelete: boolean;
  /** A component implemented by its provider (e.g. `kubernetes:yaml/v2:ConfigFile`). */
  readonly remote: boolean;
}

/** One provider function call (invoke) the program made. */
export interface RecordedCall {
  readonly token: string;
  readonly inputs: Record<string, any>;
}

export interface PulumiMockOptions {
  /** Stack configuration, `namespace:key` → value, set before the program runs. */
  readonly config?: Record<string, string>;
  /** @default 'gpufleet' */
  readonly project?: string;
  /** @default 'test' */
  readonly stack?: string;
  /** Results of provider functions by token, overriding the built-in ones. */
  readonly calls?: Record<string, (inputs: any) => Record<string, any>>;
}

export interface PulumiMockRecorder {
  readonly resources: RecordedResource[];
  readonly calls: RecordedCall[];
  /** Every resource of this type (e.g. `aws:eks/nodeGroup:NodeGroup`). */
  ofType(type: string): RecordedResource[];
  /** The one resource of this type and name; throws listing the names otherwise. */
  get(type: string, name: string): RecordedResource;
  /** Direct children of the resource with this URN. */
  childrenOf(urn: string): RecordedResource[];
  /** True when `urn` is `ancestorUrn` or one of its descendants. */
  isDescendantOf(urn: string, ancestorUrn: string): boolean;
  /** Forget everything recorded so far. */
  reset(): void;
}

/** Registrations seen by every recorder, for `settle`. */
let registrations = 0;

function arnName(name: string): string {
  return name.replace(/[^A-Za-z0-9+=,.@_-]/g, '-').slice(0, 64);
}

/** The EKS resources' outputs (cluster, node group, add-on, Pod Identity association); undefined for other types. */
function eksState(
  type: string,
  name: string,
  inputs: Record<string, any>,
  base: Record<string, any>,
): { id: string; state: Record<string, any> } | undefined {
  switch (type) {
    case 'aws:eks/cluster:Cluster': {
      const clusterName = inputs.name ?? `${name}-eks1234`;
      return {
        id: clusterName,
        state: {
          ...base,
          name: clusterName,
          arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${clusterName}`,
          endpoint: `https://${OIDC_ID}.gr7.${REGION}.eks.amazonaws.com`,
          certificateAuthority: { data: CA_DATA },
          identities: [{ oidcs: [{ issuer: OIDC_ISSUER }] }],
          version: inputs.version ?? '1.33',
          status: 'ACTIVE',
          vpcConfig: { ...(inputs.vpcConfig ?? {}), clusterSecurityGroupId: 'sg-0cluster0000000001', vpcId: 'vpc-0123456789abcdef0' },
        },
      };
    }
    case 'aws:eks/nodeGroup:NodeGroup': {
      const ngName = inputs.nodeGroupName ?? `${name}-ng1234`;
      return {
        id: `${inputs.clusterName}:${ngName}`,
        state: {
          ...base,
          nodeGroupName: ngName,
          arn: `arn:aws:eks:${REGION}:${ACCOUNT}:nodegroup/${inputs.clusterName}/${ngName}/0ac7d2f4-aaaa-bbbb-cccc-000000000001`,
          status: 'ACTIVE',
          resources: [
            { autoscalingGroups: [{ name: `eks-${ngName}-0ac7d2f4-aaaa-bbbb-cccc-000000000001` }], remoteAccessSecurityGroupId: '' },
          ],
        },
      };
    }
    case 'aws:eks/addon:Addon':
      return {
        id: `${inputs.clusterName}:${inputs.addonName}`,
        state: {
          ...base,
          arn: `arn:aws:eks:${REGION}:${ACCOUNT}:addon/${inputs.clusterName}/${inputs.addonName}/1`,
          addonVersion: 'v1.3.8-eksbuild.2',
        },
      };
    case 'aws:eks/podIdentityAssociation:PodIdentityAssociation':
      return {
        id: `a-${arnName(name)}`,
        state: {
          ...base,
          associationArn: `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/${inputs.clusterName}/a-${arnName(name)}`,
          associationId: `a-${arnName(name)}`,
        },
      };
    default:
      return undefined;
  }
}

/** Realistic outputs per resource type; the inputs are echoed back first. */
function mockState(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
  const base = { ...inputs };
  const eks = eksState(type, name, inputs, base);
  if (eks) return eks;
  switch (type) {
    case 'aws:iam/role:Role': {
      const roleName = inputs.name ?? arnName(`${name}-7f3a2b1`);
      return {
        id: roleName,
        state: { ...base, name: roleName, arn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`, uniqueId: 'AROAEXAMPLE0000000001' },
      };
    }
    case 'aws:iam/policy:Policy':
      return { id: `arn:aws:iam::${ACCOUNT}:policy/${name}`, state: { ...base, arn: `arn:aws:iam::${ACCOUNT}:policy/${name}` } };
    case 'aws:iam/rolePolicy:RolePolicy':
      return { id: `${inputs.role}:${name}`, state: { ...base, name: inputs.name ?? name } };
    case 'aws:iam/openIdConnectProvider:OpenIdConnectProvider': {
      const host = String(inputs.url).replace(/^https:\/\//, '');
      const arn = `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}`;
      return { id: arn, state: { ...base, arn } };
    }
    case 'aws:s3/bucket:Bucket': {
      const bucket = inputs.bucket ?? `${name}-a1b2c3d`;
      return {
        id: bucket,
        state: {
          ...base,
          bucket,
          arn: `arn:aws:s3:::${bucket}`,
          bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com`,
          region: REGION,
        },
      };
    }
    case 'aws:autoscaling/tag:Tag':
      return { id: `${inputs.autoscalingGroupName},${inputs.tag?.key}`, state: base };
    case 'kubernetes:helm.sh/v3:Release':
      return {
        id: `${inputs.namespace ?? 'default'}/${inputs.name ?? name}`,
        state: {
          ...base,
          status: { name: inputs.name ?? name, namespace: inputs.namespace, status: 'deployed', version: inputs.version, revision: 1 },
        },
      };
    default: {
      if (type.startsWith('kubernetes:')) {
        const md = inputs.metadata ?? {};
        const id = md.namespace ? `${md.namespace}/${md.name ?? name}` : `${md.name ?? name}`;
        return { id, state: base };
      }
      if (type.startsWith('pulumi:providers:')) return { id: `${name}-provider-id`, state: base };
      return { id: `${name}-id`, state: { ...base, arn: `arn:aws:mock:${REGION}:${ACCOUNT}:${name}` } };
    }
  }
}

function mockCall(token: string, inputs: any): Record<string, any> {
  switch (token) {
    case 'aws:ec2/getSubnets:getSubnets':
      return {
        id: REGION,
        ids: ['subnet-0a000000000000001', 'subnet-0b000000000000002', 'subnet-0c000000000000003'],
        filters: inputs.filters,
      };
    case 'aws:eks/getCluster:getCluster':
      return {
        id: inputs.name,
        name: inputs.name,
        arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${inputs.name}`,
        endpoint: `https://${OIDC_ID}.gr7.${REGION}.eks.amazonaws.com`,
        certificateAuthorities: [{ data: CA_DATA }],
        identities: [{ oidcs: [{ issuer: OIDC_ISSUER }] }],
        version: '1.33',
        status: 'ACTIVE',
        vpcConfig: {
          subnetIds: ['subnet-0e000000000000001', 'subnet-0f000000000000002'],
          clusterSecurityGroupId: 'sg-0existing000000001',
          vpcId: 'vpc-0existing0000001',
        },
      };
    case 'aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider': {
      const host = String(inputs.url).replace(/^https:\/\//, '');
      return { arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}`, url: host, clientIdLists: ['sts.amazonaws.com'], thumbprintLists: [] };
    }
    case 'aws:s3/getBucket:getBucket':
      return { id: inputs.bucket, bucket: inputs.bucket, arn: `arn:aws:s3:::${inputs.bucket}`, region: REGION };
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: 'AIDAEXAMPLE', id: ACCOUNT };
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
    case 'aws:index/getRegion:getRegion':
      return { name: REGION, region: REGION, id: REGION };
    default:
      return inputs;
  }
}

/**
 * Installs the mocks (and the stack configuration) and returns the recorder. Call it once per test
 * file, before the program or the components are imported.
 */
export function setupPulumiMocks(options: PulumiMockOptions = {}): PulumiMockRecorder {
  const resources: RecordedResource[] = [];
  const calls: RecordedCall[] = [];
  if (options.config) pulumi.runtime.setAllConfig(options.config);

  void pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const { id, state } = mockState(args.type, args.name, args.inputs ?? {});
        return { id: args.id || id, state };
      },
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs });
        const custom = options.calls?.[args.token];
        return custom ? custom(args.inputs) : mockCall(args.token, args.inputs);
      },
    },
    options.project ?? 'gpufleet',
    options.stack ?? 'test',
    false,
    'organization',
  );

  // The mock monitor does not pass the parent or the dependencies to `newResource`; wrap its
  // registerResource to record them (same URN scheme as the mock monitor).
  const monitor: any = (pulumi.runtime as any).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: any, res: any) => void) => {
    const parent: string = req.getParent() ?? '';
    const type: string = req.getType();
    const name: string = req.getName();
    let qualified = type;
    if (parent) qualified = `${parent.split('::')[2].split('$').pop()}$${type}`;
    const urn = `urn:pulumi:${options.stack ?? 'test'}::${options.project ?? 'gpufleet'}::${qualified}::${name}`;
    const inputs = (pulumi.runtime as any).deserializeProperties(req.getObject());
    registrations += 1;
    resources.push({
      urn,
      type,
      name,
      inputs,
      parent,
      dependencies: req.getDependenciesList() ?? [],
      provider: req.getProvider() ?? '',
      custom: req.getCustom(),
      ...(req.getCustomtimeouts?.() ? { customTimeouts: req.getCustomtimeouts().toObject() } : {}),
      retainOnDelete: req.getRetainondelete?.() === true,
      remote: req.getRemote?.() === true,
    });
    return register(req, callback);
  };

  const byUrn = (urn: string) => resources.find((r) => r.urn === urn);
  return {
    resources,
    calls,
    ofType: (type) => resources.filter((r) => r.type === type),
    get(type, name) {
      const hits = resources.filter((r) => r.type === type && r.name === name);
      if (hits.length !== 1) {
        const names = resources.filter((r) => r.type === type).map((r) => r.name);
        throw new Error(`expected one ${type} named ${name}, found ${hits.length}; names: ${names.join(', ')}`);
      }
      return hits[0];
    },
    childrenOf: (urn) => resources.filter((r) => r.parent === urn),
    isDescendantOf(urn, ancestorUrn) {
      let current: string | undefined = urn;
      const seen = new Set<string>();
      while (current && !seen.has(current)) {
        if (current === ancestorUrn) return true;
        seen.add(current);
        current = byUrn(current)?.parent;
      }
      return false;
    },
    reset() {
      resources.length = 0;
      calls.length = 0;
    },
  };
}

/**
 * Waits until every pending registration and apply of the program has settled: the RPC queue is drained
 * and no new resource was registered for several rounds (resources created inside applies come late).
 */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require('@pulumi/pulumi/runtime/settings');
  let last = -1;
  let stable = 0;
  for (let round = 0; round < 200 && stable < 3; round++) {
    await settings.waitForRPCs();
    await new Promise((r) => setTimeout(r, 5));
    stable = registrations === last ? stable + 1 : 0;
    last = registrations;
  }
}

/** The value of an output (mocks are not a preview, so every value is known). */
export function valueOf<T>(output: pulumi.Input<T> | undefined): Promise<T> {
  return new Promise((resolve) =>
    pulumi.output(output as pulumi.Input<T>).apply((v) => {
      resolve(v as T);
      return v;
    }),
  );
}
