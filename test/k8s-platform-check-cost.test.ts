/**
 * What rendering costs: the cross-tree checks serialise only the kinds they read, once per check, and still catch a
 * change made after the build; `synthesizeFleet` counts its objects without rendering the chart once more.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, JsonPatch, Testing } from 'cdk8s';
import { parseFleet } from '../constructs/fleet';
import { loadPlatformFile, MANIFEST_FILE, synthesizeFleet } from '../constructs/k8s';
import { CHECKED_KINDS, collectFacts } from '../constructs/k8s/platform/platform-facts';
import { plan } from '../constructs/planner';
import { baseBuilder, llmTeam, visionTeam } from './k8s-platform-fixtures';

const REPO = path.resolve(__dirname, '..');

/** Runs `run` and counts the serialisations (`toJson()`) of each object it makes, through a spy on the real method. */
function serialisations<T>(run: () => T): { value: T; counts: Map<ApiObject, number> } {
  const spy = jest.spyOn(ApiObject.prototype, 'toJson');
  try {
    const value = run();
    const counts = new Map<ApiObject, number>();
    for (const o of spy.mock.contexts as ApiObject[]) counts.set(o, (counts.get(o) ?? 0) + 1);
    return { value, counts };
  } finally {
    spy.mockRestore();
  }
}

describe('the cross-tree checks: what they serialise', () => {
  test('serialise each object of a kind they read once per check, and no other object', () => {
    const chart = Testing.chart();
    const platform = baseBuilder().teams(visionTeam(), llmTeam()).build(chart, 'Platform');
    const objects = chart.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c));
    const { value: problems, counts: calls } = serialisations(() => platform.check());
    expect(problems).toEqual([]);
    const checked = objects.filter((o) => CHECKED_KINDS.has(o.kind));
    const skipped = objects.filter((o) => !CHECKED_KINDS.has(o.kind));
    expect(checked.length).toBeGreaterThan(0);
    expect(skipped.map((o) => o.kind)).toEqual(expect.arrayContaining(['Service', 'NetworkPolicy']));
    expect(checked.every((o) => calls.get(o) === 1)).toBe(true);
    expect(skipped.filter((o) => calls.has(o)).map((o) => o.node.path)).toEqual([]);
  });

  test('reading only those kinds collects the same facts as reading every object', () => {
    const chart = Testing.chart();
    baseBuilder().teams(visionTeam(), llmTeam()).build(chart, 'Platform');
    const all = Testing.synth(chart);
    const facts = collectFacts(all);
    expect(facts.pools.length).toBeGreaterThan(0);
    expect(facts.quotas.length).toBeGreaterThan(0);
    expect(collectFacts(all.filter((o: { kind: string }) => CHECKED_KINDS.has(o.kind)))).toEqual(facts);
    // a kind outside the set is not read: a Deployment relabelled to another kind is no pool
    const renamed = all.map((o: { kind: string }) => (o.kind === 'Deployment' ? { ...o, kind: 'Unchecked' } : o));
    expect(collectFacts(renamed).pools).toEqual([]);
  });

  test('fails (cross-tree) at synth when an object is changed after the build passed its check', () => {
    const chart = Testing.chart();
    const platform = baseBuilder().teams(visionTeam(), llmTeam()).build(chart, 'Platform');
    expect(platform.check()).toEqual([]);
    ApiObject.of(platform.pools.get('vision-3g')!.pool.deployment).addJsonPatch(JsonPatch.replace('/spec/template/spec/tolerations', []));
    expect(() => Testing.synth(chart)).toThrow(
      'pool "vision-3g" does not tolerate taint nvidia.com/gpu=true:NoSchedule of node pool "h100-mixed"',
    );
  });
});

describe('synthesizeFleet: the object count', () => {
  test('equals the objects written and the chart rendered, without rendering the chart for it', () => {
    const fleet = parseFleet(fs.readFileSync(path.join(REPO, 'examples/payments-and-vision.fleet.yaml'), 'utf8'));
    const platform = loadPlatformFile(path.join(REPO, 'examples/platform.yaml'), '--platform');
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpufleet-count-'));
    try {
      const app = new App({ outdir });
      const planned = plan(fleet, { effort: 'fast' }); // the count is what is tested, not the plan
      const { value: result, counts: seen } = serialisations(() => synthesizeFleet({ fleet, plan: planned, platform, outdir, app }));
      // an object of a kind the checks do not read is serialised once, to be written (before: twice, or four times
      // with the count); the checks' kinds also at the build's check and the synth's validation (a pool's Deployment
      // also when its requests are read for the team's quota)
      const unchecked = [...seen].filter(([o]) => !CHECKED_KINDS.has(o.kind));
      expect(new Set(unchecked.map(([o]) => o.kind)).size).toBeGreaterThan(5);
      expect(unchecked.filter(([, n]) => n !== 1).map(([o, n]) => [o.node.path, n])).toEqual([]);
      const written = fs.readFileSync(path.join(outdir, MANIFEST_FILE), 'utf8').split(/^apiVersion:/m).length - 1;
      expect(result.objectCount).toBeGreaterThan(50);
      expect(result.objectCount).toBe(written);
      expect(result.objectCount).toBe(app.charts[0].toJson().length);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
