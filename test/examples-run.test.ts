/**
 * Every example does something visible when run, and none writes over another's output: each example's `main`
 * (what `npx ts-node --transpile-only examples/<name>.ts` runs) is called here in-process with its default output
 * folder moved under one temporary folder, and must print what it made and write only inside its own folder.
 * The planned platform is left out here: `test/k8s-platform-plan.test.ts` renders it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { main as defaultPlatform } from '../examples/default-platform';
import { main as gpuInfrastructure } from '../examples/gpu-infrastructure';
import { main as teamStack } from '../examples/team-stack';
import { tempDir } from './cli-fixtures/run-cli';

const ROOT = path.resolve(__dirname, '..');

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]))
    .sort();
}

describe('examples, run', () => {
  const dist = tempDir('gpufleet-examples-');
  const runs: Record<string, { lines: string[]; dir: string }> = {};

  beforeAll(() => {
    // each example's default output folder, as written in its source, re-rooted at the temporary dist/
    for (const [name, fn, folder] of [
      ['default-platform', defaultPlatform, 'default-platform'],
      ['gpu-infrastructure', gpuInfrastructure, 'gpu-infrastructure'],
      ['team-stack', teamStack, 'team-stack'],
    ] as const) {
      expect(fs.readFileSync(path.join(ROOT, 'examples', `${name}.ts`), 'utf8')).toContain(`path.join('dist', '${folder}')`);
      const dir = path.join(dist, folder);
      runs[name] = { lines: fn(dir), dir };
    }
  }, 120_000);

  test('each prints what it declares and where it wrote it', () => {
    expect(runs['gpu-infrastructure'].lines).toEqual([
      'GPU operator in namespace gpu-operator, MIG layouts: h100-balanced (1 x 3g.40gb + 1 x 2g.20gb + 2 x 1g.10gb), h100-1g-x7 (7 ' +
        'x 1g.10gb)',
      'node pool h100-mig: p5.48xlarge (H100-80GB), MIG layout h100-balanced, at most 2 nodes',
      'node pool l4-shared: g6.xlarge (L4), whole GPUs shared by device-plugin config l4-x4, at most 4 nodes',
      expect.stringMatching(new RegExp(`^wrote \\d+ objects to ${runs['gpu-infrastructure'].dir}/gpu-infrastructure\\.k8s\\.yaml$`)),
    ]);
    expect(runs['team-stack'].lines).toEqual(
      [
        'team search: pool search-3g (nvidia.com/mig-3g.40gb) serves bert-base, up to 2 replicas',
        'team vision: pool vision-1g (nvidia.com/mig-1g.10gb) serves mobilenet-v3, resnet50, up to 6 replicas',
        `wrote ${runs['team-stack'].dir}/platform.k8s.yaml and 3 config.pbtxt under ${runs['team-stack'].dir}/model-repository`,
      ].sort(),
    );
    const d = runs['default-platform'].lines;
    expect(d.filter((l) => l.startsWith('team ')).length).toBeGreaterThanOrEqual(8);
    expect(d[d.length - 1]).toMatch(/^wrote .*default-platform\.k8s\.yaml and \d+ config\.pbtxt under /);
  });

  test("each writes only inside its own folder, so none overwrites another's files", () => {
    expect(fs.readdirSync(dist).sort()).toEqual(['default-platform', 'gpu-infrastructure', 'team-stack']);
    expect(filesUnder(runs['gpu-infrastructure'].dir)).toEqual(['gpu-infrastructure.k8s.yaml']);
    expect(filesUnder(runs['team-stack'].dir)).toEqual([
      'model-repository/bert-base/config.pbtxt',
      'model-repository/mobilenet-v3/config.pbtxt',
      'model-repository/resnet50/config.pbtxt',
      'platform.k8s.yaml',
    ]);
    expect(filesUnder(runs['default-platform'].dir)).toContain('default-platform.k8s.yaml');
  });
});
