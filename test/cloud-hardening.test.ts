/**
 * The Pulumi path refuses bad input the way `pulumi up` shows best (issue 14): as a `pulumi.RunError`, which
 * the Node.js language host prints as its message alone ("Always hide the stack for RunErrors",
 * @pulumi/pulumi v3.248.0 `cmd/run/run.js`), where a plain Error is printed with its stack trace. Every
 * numeric setting is bounded, values are quoted to at most 100 characters, the fleet file goes through the
 * bounded reader, and the EKS public endpoint takes a CIDR list or can be closed. The whole program's bad-input
 * runs (a fleet file that is no fleet, a fleet no GPU can serve) and its CIDR blocks are in cloud-stack.test.ts.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { settle, setupPulumiMocks } from './support/pulumi-mocks';

const mocks = setupPulumiMocks({ stack: 'dev' });
const ROOT = path.resolve(__dirname, '..');
const ctx = { project: 'gpufleet', stack: 'dev', organization: 'acme', rootDir: ROOT };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-cloud-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Config = typeof import('../stacks/config');
let config: Config;
let pulumi: typeof import('@pulumi/pulumi');
beforeAll(async () => {
  pulumi = await import('@pulumi/pulumi');
  config = await import('../stacks/config');
});

/** The error readStackSettings throws for `raw` (fails the test when it throws none). */
function settingsError(raw: Record<string, string>): Error {
  try {
    config.readStackSettings({ 'gpufleet:region': 'us-east-1', ...raw }, ctx);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected an error for ${JSON.stringify(raw).slice(0, 200)}`);
}

/** The problem lines of a stack configuration error. */
function problemLines(e: Error): string[] {
  expect(e.message).toMatch(/^invalid stack configuration \(\d+ problems?\):\n/);
  return e.message
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^ {2}- /, ''));
}

describe('stack configuration errors: RunError, bounds, long values, input files', () => {
  test('fails with a pulumi.RunError (printed without a stack trace), not a plain Error', () => {
    const e = settingsError({ 'gpufleet:region': 'moon-1' });
    expect(pulumi.RunError.isInstance(e)).toBe(true);
    expect(problemLines(e)).toEqual(['gpufleet:region: expected an AWS region such as us-east-1, got "moon-1"']);
  });

  test('fails on GPU node bounds beyond 10000, however they are written', () => {
    const e = settingsError({ 'gpufleet:gpuNodeMax': '100000000000000000000', 'gpufleet:gpuNodeMin': '10001' });
    expect(problemLines(e)).toEqual([
      'gpufleet:gpuNodeMin: expected an integer from 0 to 10000, got "10001"',
      'gpufleet:gpuNodeMax: expected an integer from 1 to 10000, got "100000000000000000000"',
    ]);
    expect(problemLines(settingsError({ 'gpufleet:gpuNodeMax': '1e20' }))).toEqual([
      'gpufleet:gpuNodeMax: expected an integer from 1 to 10000, got "1e20"',
    ]);
    expect(config.readStackSettings({ 'gpufleet:region': 'us-east-1', 'gpufleet:gpuNodeMax': '10000' }, ctx).gpuNodeMax).toBe(10000);
  });

  test('fails on long values and keys with bounded quotes', () => {
    const e = settingsError({
      'gpufleet:region': 'r'.repeat(100_000),
      [`gpufleet:${'k'.repeat(5000)}`]: 'v',
      'gpufleet:bucket': 'B'.repeat(3000),
    });
    const lines = problemLines(e);
    expect(lines).toEqual([
      expect.stringMatching(/^gpufleet:\["k{100}…" \(5000 characters\)\]: unknown key; allowed: /),
      `gpufleet:region: expected an AWS region such as us-east-1, got "${'r'.repeat(100)}…" (100000 characters)`,
      `gpufleet:bucket: expected an S3 bucket name (3-63 lowercase letters, digits, . and -), got "${'B'.repeat(100)}…" (3000 characters)`,
    ]);
    expect(e.message.length).toBeLessThan(1500);
  });

  test('fails on a fleetFile that is a folder, a device or over 16 MiB, before reading it', () => {
    const big = path.join(tmp, 'big.fleet.yaml');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 16 * 1024 * 1024 + 1);
    const at = (p: string) => `gpufleet:fleetFile: ${JSON.stringify(p)}`;
    expect(problemLines(settingsError({ 'gpufleet:fleetFile': tmp }))).toEqual([`${at(tmp)}: is a directory, expected a file`]);
    expect(problemLines(settingsError({ 'gpufleet:fleetFile': big }))).toEqual([
      `${at(big)}: is 16 MiB, more than the 16 MiB gpufleet reads from an input file`,
    ]);
    if (process.platform !== 'win32') {
      expect(problemLines(settingsError({ 'gpufleet:fleetFile': '/dev/zero' }))).toEqual([
        `${at('/dev/zero')}: is a character device, not a regular file; gpufleet reads only regular files`,
      ]);
      const fifo = path.join(tmp, 'fleet.fifo');
      execFileSync('mkfifo', [fifo]);
      expect(problemLines(settingsError({ 'gpufleet:fleetFile': fifo }))).toEqual([
        `${at(fifo)}: is a named pipe (FIFO), not a regular file; gpufleet reads only regular files`,
      ]);
    }
  });
});

describe('stack configuration: the public endpoint settings', () => {
  test('the public endpoint: CIDR blocks, or closed', () => {
    const s = config.readStackSettings(
      { 'gpufleet:region': 'us-east-1', 'gpufleet:publicAccessCidrs': '203.0.113.0/24, 198.51.100.7/32' },
      ctx,
    );
    expect(s).toMatchObject({ endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24', '198.51.100.7/32'] });
    expect(config.readStackSettings({ 'gpufleet:region': 'us-east-1', 'gpufleet:endpointPublicAccess': 'false' }, ctx)).toMatchObject({
      endpointPublicAccess: false,
      publicAccessCidrs: undefined,
    });
    expect(config.readStackSettings({ 'gpufleet:region': 'us-east-1' }, ctx)).toMatchObject({
      endpointPublicAccess: true,
      publicAccessCidrs: undefined,
    });
  });

  test('fails on bad public endpoint settings, each block named', () => {
    expect(
      problemLines(
        settingsError({
          'gpufleet:publicAccessCidrs': '203.0.113.5/24,10.0.0.0/33,2001:db8::/32,010.1.1.1/8,203.0.113.0/24,203.0.113.0/24',
          'gpufleet:endpointPublicAccess': 'yes',
        }),
      ),
    ).toEqual([
      'gpufleet:endpointPublicAccess: expected true or false, got "yes"',
      'gpufleet:publicAccessCidrs[0]: "203.0.113.5/24" has host bits set; the block is 203.0.113.0/24',
      'gpufleet:publicAccessCidrs[1]: expected an IPv4 CIDR block such as 203.0.113.0/24, got "10.0.0.0/33"',
      'gpufleet:publicAccessCidrs[2]: expected an IPv4 CIDR block such as 203.0.113.0/24, got "2001:db8::/32"',
      'gpufleet:publicAccessCidrs[3]: expected an IPv4 CIDR block such as 203.0.113.0/24, got "010.1.1.1/8"',
      'gpufleet:publicAccessCidrs[5]: "203.0.113.0/24" is listed twice',
    ]);
    const many = Array.from({ length: 41 }, (_, i) => `198.51.${i}.0/24`).join(',');
    expect(problemLines(settingsError({ 'gpufleet:publicAccessCidrs': many }))).toEqual([
      'gpufleet:publicAccessCidrs: expected at most 40 CIDR blocks (the EKS quota per cluster), got 41',
    ]);
    expect(
      problemLines(settingsError({ 'gpufleet:publicAccessCidrs': '203.0.113.0/24', 'gpufleet:endpointPublicAccess': 'false' })),
    ).toEqual([
      'gpufleet:publicAccessCidrs: not allowed with gpufleet:endpointPublicAccess false (there is no public endpoint to restrict)',
    ]);
    expect(problemLines(settingsError({ 'gpufleet:clusterName': 'prod', 'gpufleet:publicAccessCidrs': '203.0.113.0/24' }))).toEqual([
      'gpufleet:publicAccessCidrs: only for a created cluster, not allowed with gpufleet:clusterName',
    ]);
  });
});

describe('asRunError (the program wraps component construction in it)', () => {
  test("turns gpufleet's validation errors into RunErrors and leaves bugs alone", () => {
    const run = (e: Error) => {
      try {
        config.asRunError('invalid platform arguments', () => {
          throw e;
        });
      } catch (x) {
        return x as Error;
      }
      throw new Error('expected a throw');
    };
    const plain = run(new Error(`GpuNodeGroup g: minSize: expected an integer >= 0, got ${'9'.repeat(5000)}`));
    expect(pulumi.RunError.isInstance(plain)).toBe(true);
    expect(plain.message).toMatch(
      /^invalid platform arguments: GpuNodeGroup g: minSize: expected an integer >= 0, got 9+… \(\d+ more characters\)$/,
    );
    const withProblems = run(Object.assign(new Error('x'), { problems: ['a: bad', 'b: bad'] }));
    expect(withProblems.message).toBe('invalid platform arguments (2 problems):\n  - a: bad\n  - b: bad');
    const bug = new TypeError("cannot read properties of undefined (reading 'slices')");
    expect(run(bug)).toBe(bug); // keeps its class and stack
    expect(config.asRunError('x', () => 42)).toBe(42);
  });
});

describe('the EKS public endpoint', () => {
  let cloud: typeof import('../constructs/cloud');
  beforeAll(async () => {
    cloud = await import('../constructs/cloud');
  });
  beforeEach(() => mocks.reset());

  const vpcConfig = async () => {
    await settle();
    return mocks.get('aws:eks/cluster:Cluster', 'gf-eks').inputs.vpcConfig;
  };

  test("is explicit in the cluster: open to 0.0.0.0/0 by default (EKS's default), private endpoint on", async () => {
    new cloud.GpuCluster('gf', { clusterName: 'c' });
    expect(await vpcConfig()).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ['0.0.0.0/0'] });
  });

  test('takes CIDR blocks, or is closed (private endpoint only)', async () => {
    new cloud.GpuCluster('gf', { clusterName: 'c', publicAccessCidrs: ['203.0.113.0/24'] });
    expect(await vpcConfig()).toMatchObject({
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ['203.0.113.0/24'],
    });
    mocks.reset();
    new cloud.GpuCluster('gf', { clusterName: 'c', endpointPublicAccess: false });
    const closed = await vpcConfig();
    expect(closed).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: false });
    expect(closed.publicAccessCidrs).toBeUndefined();
  });

  test('fails on bad blocks with a RunError listing each, before any resource', () => {
    let error: unknown;
    try {
      new cloud.GpuCluster('gf', { clusterName: 'c', publicAccessCidrs: ['203.0.113.0/24', '1.2.3.4/8', 'any'] });
    } catch (e) {
      error = e;
    }
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      'GpuCluster gf: publicAccessCidrs[1]: "1.2.3.4/8" has host bits set; the block is 1.0.0.0/8; ' +
        'publicAccessCidrs[2]: expected an IPv4 CIDR block such as 203.0.113.0/24, got "any"',
    );
    expect(
      () => new cloud.GpuCluster('gf', { clusterName: 'c', endpointPublicAccess: false, publicAccessCidrs: ['203.0.113.0/24'] }),
    ).toThrow('publicAccessCidrs: not allowed with endpointPublicAccess: false');
    expect(() => new cloud.GpuCluster('gf', { existingClusterName: 'prod', publicAccessCidrs: ['203.0.113.0/24'] })).toThrow(
      'publicAccessCidrs: only for a new cluster, not allowed with existingClusterName',
    );
    expect(mocks.resources).toEqual([]);
  });

  test("the stack warns when a created cluster's endpoint stays open to any address", () => {
    const settings = (raw: Record<string, string>) => config.readStackSettings({ 'gpufleet:region': 'us-east-1', ...raw }, ctx);
    expect(config.publicEndpointWarning(settings({}))).toMatch(
      new RegExp(
        /^the EKS API endpoint is public and open to any address \(0\.0\.0\.0\/0\): restrict it with `pulumi config set /.source +
          /gpufleet:publicAccessCidrs/.source,
      ),
    );
    expect(config.publicEndpointWarning(settings({ 'gpufleet:publicAccessCidrs': '0.0.0.0/0' }))).toBeUndefined(); // an explicit choice
    expect(config.publicEndpointWarning(settings({ 'gpufleet:endpointPublicAccess': 'false' }))).toBeUndefined();
    expect(config.publicEndpointWarning(settings({ 'gpufleet:clusterName': 'prod' }))).toBeUndefined();
  });
});
