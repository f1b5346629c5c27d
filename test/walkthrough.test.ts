/**
 * README "From zero to serving", run as written: every `npx gpufleet …` line of the section's shell blocks runs here
 * (in this process, `main` of bin/lib/main.ts, from the repository root, `build/` redirected to a temporary folder),
 * and the `pulumi` lines become the stack configuration the Pulumi program runs with under Pulumi's mocks. The
 * commands are read from the README, so the section cannot drift from what works.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { loadFleetFile } from '../constructs/fleet';
import { plan } from '../constructs/planner';
import { REPO, runCli, tempDir } from './cli-fixtures/run-cli';
import { settle, setupPulumiMocks, valueOf, type RecordedResource } from './support/pulumi-mocks';

const mocks = setupPulumiMocks({ stack: 'dev' });

/** The library's plan of a fleet file of the repository, planned once per file for this test file. */
const plans = new Map<string, ReturnType<typeof plan>>();
function libraryPlan(file: string): ReturnType<typeof plan> {
  if (!plans.has(file)) plans.set(file, plan(loadFleetFile(path.join(REPO, file))));
  return plans.get(file)!;
}

/** The shell lines of the README section `## From zero to serving`, comments removed. */
function walkthroughLines(): string[] {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## From zero to serving\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.length > 0);
}

/** API groups a fresh EKS cluster serves (Kubernetes 1.33, `kubectl api-resources`): written out, not gpufleet's list. */
const FRESH_CLUSTER_GROUPS = [
  'core',
  'apps',
  'batch',
  'policy',
  'autoscaling',
  'rbac.authorization.k8s.io',
  'networking.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
];
/** The API groups of the CRDs each pinned install brings (prometheus-operator-crds, gateway-api standard, keda chart). */
const SERVED_BY: Record<string, readonly string[]> = {
  'prometheus-operator-crds': ['monitoring.coreos.com'],
  'gateway-api': ['gateway.networking.k8s.io'],
  keda: ['keda.sh', 'eventing.keda.sh'],
};

describe('README "From zero to serving", every command', () => {
  const lines = walkthroughLines();
  const build = tempDir('gpufleet-walkthrough-');
  const args = (line: string) =>
    line
      .split(/\s+/)
      .slice(2)
      .map((a) => a.replace(/^build\//, `${build}/`).replace(/^build$/, build));

  test('the section has the steps plan, report, synth, check and pulumi up', () => {
    expect(lines.filter((l) => l.startsWith('npx gpufleet ')).map((l) => l.split(/\s+/)[2])).toEqual(['plan', 'report', 'synth', 'check']);
    expect(lines).toContain('pulumi up');
    expect(lines.every((l) => l.startsWith('npx gpufleet ') || l.startsWith('pulumi '))).toBe(true);
  });

  test('each gpufleet command exits 0 and writes what the section says', async () => {
    for (const line of lines.filter((l) => l.startsWith('npx gpufleet '))) {
      const r = await runCli(args(line));
      expect({
        line,
        code: r.code,
        stderr: r.stderr
          .split('\n')
          .filter((l) => !/^report written to /.test(l))
          .join('\n'),
      }).toEqual({ line, code: 0, stderr: '' });
    }
    const expected = JSON.parse(JSON.stringify(libraryPlan('examples/payments-and-vision.fleet.yaml')));
    expect(JSON.parse(fs.readFileSync(path.join(build, 'plan.json'), 'utf8'))).toEqual(expected);
    expect(fs.readFileSync(path.join(build, 'plan.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    expect(fs.readdirSync(path.join(build, 'platform')).sort()).toEqual(['gpufleet.k8s.yaml', 'model-repository', 'plan.json']);
    expect(JSON.parse(fs.readFileSync(path.join(build, 'platform', 'plan.json'), 'utf8'))).toEqual(expected);
    const objects = parseAllDocuments(fs.readFileSync(path.join(build, 'platform', 'gpufleet.k8s.yaml'), 'utf8')).map((d) => d.toJSON());
    expect(objects.filter((o) => o.kind === 'HTTPRoute').every((o) => o.spec.hostnames[0] === 'inference.example.com')).toBe(true);
  }, 180_000);

  test("pulumi up with the section's stack configuration: node groups of the plan, no object whose API is not installed", async () => {
    const config: Record<string, string> = {};
    let stack = '';
    for (const line of lines.filter((l) => l.startsWith('pulumi '))) {
      const w = line.split(/\s+/);
      if (w[1] === 'stack' && w[2] === 'init') stack = w[3];
      else if (w[1] === 'config' && w[2] === 'set') config[w[3]] = w[4];
      else expect(line).toBe('pulumi up');
    }
    expect(stack).toBe('dev');
    const { gpufleetProgram } = await import('../stacks/program');
    mocks.reset();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    let out: import('../stacks/program').ProgramOutputs;
    try {
      out = gpufleetProgram(config, { project: 'gpufleet', stack, organization: 'organization', rootDir: REPO });
      await valueOf(out.kubeconfig);
      await settle();
    } finally {
      warn.mockRestore();
    }
    const expected = libraryPlan(config['gpufleet:fleetFile']);
    const configs = new Map<string, number>();
    for (const n of expected.nodes ?? [])
      configs.set(`${n.migConfig} ${n.instanceType}`, (configs.get(`${n.migConfig} ${n.instanceType}`) ?? 0) + 1);
    const groups = mocks.ofType('aws:eks/nodeGroup:NodeGroup').filter((g) => g.inputs.labels?.['nvidia.com/mig.config'] !== undefined);
    expect(
      groups
        .map((g) => `${g.inputs.labels['nvidia.com/mig.config']} ${g.inputs.instanceTypes[0]} ${g.inputs.scalingConfig.desiredSize}`)
        .sort(),
    ).toEqual([...configs].map(([k, n]) => `${k} ${n}`).sort());
    const installed = new Set(out.prerequisiteInstalls.flatMap((i) => SERVED_BY[i.name] ?? []));
    const groupOf = (r: RecordedResource) => r.type.split(':')[1].split('/')[0];
    const kube = mocks.resources.filter(
      (r) =>
        r.custom &&
        r.type.startsWith('kubernetes:') &&
        r.type !== 'kubernetes:helm.sh/v3:Release' &&
        r.type !== 'kubernetes:yaml/v2:ConfigFile',
    );
    expect([...new Set(kube.map(groupOf))].filter((g) => !FRESH_CLUSTER_GROUPS.includes(g) && !installed.has(g))).toEqual([]);
    expect(mocks.ofType('kubernetes:keda.sh/v1alpha1:ScaledObject').length).toBeGreaterThan(0); // the platform file's scaling
  }, 180_000);
});
