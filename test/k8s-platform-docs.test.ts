/**
 * docs/platform.md shows examples/team-stack.ts verbatim, and that stack builds a consistent platform.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { buildTeamStack } from '../examples/team-stack';
import { validateObjects } from './support/validate';

const root = path.resolve(__dirname, '..');

describe('team stack example', () => {
  test('docs/platform.md contains examples/team-stack.ts verbatim', () => {
    const doc = fs.readFileSync(path.join(root, 'docs', 'platform.md'), 'utf8');
    const example = fs.readFileSync(path.join(root, 'examples', 'team-stack.ts'), 'utf8');
    expect(doc).toContain('```ts\n' + example + '```');
  });

  test('the team stack builds: two teams, their pools, quotas and routes', () => {
    const app = Testing.app();
    const platform = buildTeamStack(app);
    const objs: any[] = app.charts[0].toJson();
    expect([...platform.teams.keys()]).toEqual(['search', 'vision']);
    expect(objs.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['search-3g', 'vision-1g']);
    expect(
      objs.find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === 'vision').spec.hard['requests.nvidia.com/mig-1g.10gb'],
    ).toBe(6);
    expect(objs.filter((o) => o.kind === 'HTTPRoute')).toHaveLength(2);
    expect(platform.check()).toEqual([]);
    expect(validateObjects(objs)).toEqual([]);
  });
});
