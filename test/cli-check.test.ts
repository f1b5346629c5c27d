/**
 * `gpufleet check DIR [--previous DIR]` in-process (`main`): over a directory of manifests written the way
 * `npm run synth` writes dist/ (multi-document YAML, plus the config.pbtxt files beside it), it prints one line per
 * finding and a summary line; exit 0 without findings, 1 with findings, 2 on bad input with nothing on stdout.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { main } from '../bin/lib/main';
import { clone, defaultObjects, find } from './check-fixtures';

function capture(): { out: () => string; err: () => string; restore: () => void } {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation(((s: any, cb?: any) => {
    out += String(s);
    if (typeof cb === 'function') cb();
    return true;
  }) as any);
  const e = jest.spyOn(process.stderr, 'write').mockImplementation(((s: any) => {
    err += String(s);
    return true;
  }) as any);
  return {
    out: () => out,
    err: () => err,
    restore: () => {
      o.mockRestore();
      e.mockRestore();
    },
  };
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  try {
    const code = await main(argv);
    return { code, out: c.out(), err: c.err() };
  } finally {
    c.restore();
  }
}

/** Writes objects as dist/ holds them: one multi-document YAML file and a model repository folder. */
function writeRendering(objects: readonly any[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-check-'));
  writeFileSync(join(dir, 'platform.k8s.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  mkdirSync(join(dir, 'model-repository', 'resnet50'), { recursive: true });
  writeFileSync(join(dir, 'model-repository', 'resnet50', 'config.pbtxt'), 'name: "resnet50"\n');
  dirs.push(dir);
  return dir;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const objects = defaultObjects();

describe('gpufleet check: a rendering that serves, findings, --previous', () => {
  test('a rendering that serves: exit 0 and the summary line', async () => {
    const r = await run(['check', writeRendering(objects)]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(
      new RegExp(
        /^gpufleet check: no findings \(8 GPU workload\(s\), 3 NodePool\(s\), 8 autoscaler\(s\), \d+ objects\): every GPU /.source +
          /pod gets a node and fits at minimum and maximum replicas\n$/.source,
      ),
    );
  });

  test('findings: exit 1, one line each naming the rule and the object, then the summary', async () => {
    const bad = clone(objects);
    const d = find(bad, 'Deployment', 'vision-1g')[0];
    d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions.push({
      key: 'nvidia.com/gpu.product',
      operator: 'In',
      values: ['NVIDIA-H100-80GB-HBM3'],
    });
    const r = await run(['check', writeRendering(bad)]);
    expect(r.code).toBe(1);
    const out = r.out.trimEnd().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^provisioning: Deployment vision\/vision-1g: requires node label "nvidia\.com\/gpu\.product"/);
    expect(out[1]).toMatch(/^gpufleet check: 1 finding\(s\) \(provisioning 1\) in 8 GPU workload\(s\)/);
  });

  test('--previous: a layout that changed content under the same name is a finding', async () => {
    const before = writeRendering(objects);
    const changed = clone(objects);
    const cm = find(changed, 'ConfigMap', 'gpufleet-mig-parted-config')[0];
    cm.data['config.yaml'] = cm.data['config.yaml'].replace('1g.10gb: 2', '1g.10gb: 1');
    const after = writeRendering(changed);
    expect((await run(['check', before, '--previous', before])).code).toBe(0);
    const r = await run(['check', after, '--previous', before]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('relayout: NodePool h100-mig: layout "h100-balanced" changed content under the same name');
  });
});

describe('gpufleet check: bad input (exit 2, one line each), help', () => {
  test.each([
    [['check', '/no/such/dir'], 'DIR "/no/such/dir": no such directory'],
    [['check'], 'missing'],
  ])('bad input %j: exit 2, the problem on stderr, nothing on stdout', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  test('bad input: a directory without manifests, a file, unparsable YAML', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gpufleet-check-'));
    dirs.push(empty);
    let r = await run(['check', empty]);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toContain('no .yaml, .yml or .json manifests in it');
    writeFileSync(join(empty, 'broken.yaml'), 'kind: ConfigMap\napiVersion: v1\nmetadata: [unclosed\n');
    r = await run(['check', empty]);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toMatch(/broken\.yaml:\d+: /);
    r = await run(['check', join(empty, 'broken.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('is a file, expected the directory of a rendering');
    r = await run(['check', writeRendering(objects), '--previous', '/no/such/previous']);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toContain('--previous "/no/such/previous": no such directory');
  });

  test('bad input is bounded: a FIFO named like a manifest, an alias bomb, a huge non-object, each one line (issue 14)', async () => {
    const dir = writeRendering(objects);
    // a FIFO would once block the read forever; the bounded reader refuses it from its type
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      levels.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    writeFileSync(join(dir, 'bomb.yaml'), `${levels.join('\n')}\n`);
    writeFileSync(join(dir, 'scalar.json'), JSON.stringify('s'.repeat(1_000_000)));
    const r = await run(['check', dir]);
    expect([r.code, r.out]).toEqual([2, '']);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/bomb\.yaml: YAML aliases: the document expands its aliases more than 100 times/),
      expect.stringMatching(/^manifest ".*pipe\.yaml": is a named pipe \(FIFO\), not a regular file/),
      expect.stringMatching(
        new RegExp(
          `scalar\\.json: document 1: expected a Kubernetes object with apiVersion and kind, got "${'s'.repeat(100)}…" \\(1000000 ` +
            `characters\\)$`,
        ),
      ),
    ]);
  });

  test('help names the command', async () => {
    const r = await run(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('gpufleet check DIR');
    expect((await run(['--help'])).out).toContain('check DIR [--previous DIR]');
  });
});
