/**
 * Least-privilege egress of Triton pods to an S3 model repository (issue: "egress open to any host on 443").
 * A NetworkPolicy's `ipBlock.cidr` is the only address form the Kubernetes API takes for destinations outside the
 * cluster (k8s.io/api networking/v1 types.go at v0.28.0, IPBlock), so the repository's allowed destinations are
 * CIDRs: the region's S3 endpoint ranges (a gateway endpoint's `com.amazonaws.<region>.s3` prefix list) and, with
 * IRSA, STS's. Without them the policy stays open on 443, as documented.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { parseFleet } from '../constructs/fleet';
import { parsePlatformFile, PlatformFileError, renderFleetPlatform } from '../constructs/k8s';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { plan } from '../constructs/planner';

const ROOT = path.resolve(__dirname, '..');
const fleet = parseFleet(fs.readFileSync(path.join(ROOT, 'test', 'cli-fixtures', 'small.fleet.yaml'), 'utf8'));
const planned = plan(fleet, { solver: 'none' });
const platformText = fs.readFileSync(path.join(ROOT, 'examples', 'platform.yaml'), 'utf8');
const withCidrs = platformText.replace('    region: us-east-1\n', '    region: us-east-1\n    egressCidrs: [52.216.0.0/15, 10.0.8.0/22]\n');

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: any };
function repositoryPolicies(text: string): Obj[] {
  const app = Testing.app();
  const { chart } = renderFleetPlatform(app, { fleet, plan: planned, platform: parsePlatformFile(text, 'p.yaml') });
  return (Testing.synth(chart) as Obj[]).filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-model-repository');
}

describe('repository egress of serving namespaces', () => {
  test('fails open by default: any address on 443 (no S3 ranges configured)', () => {
    const policies = repositoryPolicies(platformText);
    expect(policies.length).toBeGreaterThan(0);
    for (const p of policies)
      expect(p.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  });

  test('repository.s3.egressCidrs narrows every serving namespace to exactly those CIDRs on 443', () => {
    const policies = repositoryPolicies(withCidrs);
    expect(policies.length).toBeGreaterThan(0);
    const namespaces = new Set(policies.map((p) => p.metadata.namespace));
    expect(namespaces.size).toBe(policies.length);
    for (const p of policies) {
      expect(p.spec.egress).toEqual([
        {
          to: [{ ipBlock: { cidr: '10.0.8.0/22' } }, { ipBlock: { cidr: '52.216.0.0/15' } }],
          ports: [{ protocol: 'TCP', port: 443 }],
        },
      ]);
      expect(JSON.stringify(p.spec)).not.toContain('0.0.0.0/0');
    }
  });

  test('fails on a value that is not a CIDR, naming the path and the value', () => {
    expect(() => ModelRepository.s3({ bucket: 'models', region: 'us-east-1', egressCidrs: ['52.216.0.0/15', 's3.amazonaws.com'] })).toThrow(
      'storage.egressCidrs[1]: expected an IPv4 CIDR block such as 203.0.113.0/24, got "s3.amazonaws.com"',
    );
    expect(() => ModelRepository.s3({ bucket: 'models', region: 'us-east-1', egressCidrs: ['52.216.0.1/15'] })).toThrow(
      'storage.egressCidrs[0]: "52.216.0.1/15" has host bits set; the block is 52.216.0.0/15',
    );
    expect(() => ModelRepository.s3({ bucket: 'models', region: 'us-east-1', egressCidrs: ['2600:1f18::/32'] })).not.toThrow();
    expect(() => ModelRepository.s3({ bucket: 'models', region: 'us-east-1', egressCidrs: [] })).toThrow(
      'storage.egressCidrs: expected a non-empty list of CIDRs such as 52.216.0.0/15, got []',
    );
    expect(() => ModelRepository.s3({ bucket: 'models', region: 'us-east-1', egressCidrs: ['10.0.0.0/33'] })).toThrow(/egressCidrs\[0\]/);
    let problems: string[] = [];
    try {
      parsePlatformFile(withCidrs.replace('10.0.8.0/22', '10.0.8.0'), 'p.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(PlatformFileError);
      problems = (e as PlatformFileError).problems;
    }
    expect(problems.join('\n')).toContain('egressCidrs[1]: expected an IPv4 CIDR block such as 203.0.113.0/24, got "10.0.8.0"');
  });
});
