/**
 * Stable re-planning (`replan`): from the running plan, keep servers and layouts where they are unless moving
 * them pays; report what changes; give an unchanged fleet its plan back byte for byte.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseFleet } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { plan, PlanError, replan, verifyPlan, type Plan } from '../constructs/planner';
import { fleetOf, mixedFleet, model, synthProfiles } from './planner-fixtures';
import { once } from './support/once';

const LONG_TAIL = parseFleet(fs.readFileSync(path.join(__dirname, '../examples/long-tail.fleet.yaml'), 'utf8'), 'long-tail.fleet.yaml');
const H = 'H100-80GB';
/**
 * The running plan of the long-tail example, planned once for the file (no test changes it). With effort `fast`:
 * on long-tail it is the default (`thorough`) plan byte for byte at a tenth of the CPU time; the re-plans the tests
 * check run with the default effort.
 */
const runningLongTail = once(() => plan(LONG_TAIL, { effort: 'fast' }));
/** The running plan of the mixed test fleet, planned once for the file (no test changes it). */
const runningMixed = once(() => plan(mixedFleet()));

/** The fleet with some models' demand multiplied. */
function scaled(fleet: Fleet, factors: Record<string, number>): Fleet {
  return { ...fleet, models: fleet.models.map((m) => (factors[m.name] ? { ...m, rps: Number((m.rps * factors[m.name]).toFixed(6)) } : m)) };
}

/** Per node: its servers' content (profile and models at their entries), sorted. */
function serversByNode(p: Plan): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const g of p.gpus) {
    for (const s of g.slices) {
      if (s.models.length === 0 && !s.cache) continue;
      out.set(
        g.node,
        [
          ...(out.get(g.node) ?? []),
          `${s.profile}:${s.cache ? 'cache' : s.models.map((m) => `${m.name}/${m.batch}x${m.instances}`).join(',')}`,
        ].sort(),
      );
    }
  }
  return out;
}

describe('replan on an unchanged fleet', () => {
  test.each([
    ['examples/long-tail.fleet.yaml', LONG_TAIL],
    ['the mixed test fleet', mixedFleet()],
  ])('%s: the running plan comes back unchanged, byte for byte', (_, fleet) => {
    const running = fleet === LONG_TAIL ? runningLongTail() : runningMixed();
    const text = JSON.stringify(running, null, 2);
    const r = replan(fleet, JSON.parse(text) as Plan);
    expect(r.basis).toBe('unchanged');
    expect(JSON.stringify(r.plan, null, 2)).toBe(text);
    expect(r.changes).toMatchObject({
      modelsMoved: [],
      serversStarted: 0,
      serversStopped: 0,
      gpusRecut: 0,
      nodesAdded: [],
      nodesRemoved: [],
    });
  });

  test('the same fleet with its models in another order is unchanged too', () => {
    const running = runningLongTail();
    const r = replan({ ...LONG_TAIL, models: [...LONG_TAIL.models].reverse() }, running);
    expect(r.basis).toBe('unchanged');
    expect(r.plan).toBe(running);
  });
});

describe('replan: examples/long-tail.fleet.yaml with two models at 3x their demand', () => {
  const running = runningLongTail();
  const next = scaled(LONG_TAIL, { 'fraud-scorer': 3, 'query-encoder': 3 });
  const r = replan(next, running);

  test('the new plan is valid and keeps every running server on its node', () => {
    expect(verifyPlan(next, r.plan)).toEqual([]);
    expect(r.basis).toBe('stable');
    const before = serversByNode(running);
    const after = serversByNode(r.plan);
    for (const [node, servers] of before) expect(after.get(node)).toEqual(servers);
    // the running node keeps its configuration (same layout, same name)
    expect(r.plan.nodes!.find((n) => n.name === 'node-0')!.migConfig).toBe(running.nodes![0].migConfig);
  });

  test('only the two grown models change: no model moves, no GPU is re-cut, new capacity on a new node', () => {
    expect(r.changes.modelsMoved).toEqual([]);
    expect(r.changes.modelsGrown).toEqual(['fraud-scorer', 'query-encoder']);
    expect(r.changes.gpusRecut).toBe(0);
    expect(r.changes.serversStopped).toBe(0);
    expect(r.changes.nodesAdded.length).toBeGreaterThan(0);
    // the running servers of the grown models serve at least what they served before
    const served = (p: Plan, m: string): number =>
      p.gpus
        .filter((g) => g.node === 'node-0')
        .reduce((a, g) => a + g.slices.reduce((b, s) => b + s.models.filter((x) => x.name === m).reduce((c, x) => c + x.rps, 0), 0), 0);
    expect(served(r.plan, 'fraud-scorer')).toBeGreaterThanOrEqual(served(running, 'fraud-scorer'));
  });

  test('the stable plan is weighed against a fresh plan, and the fresh one would move models', () => {
    expect(r.candidates.map((c) => c.basis)).toEqual(['stable', 'fresh']);
    const fresh = r.candidates.find((c) => c.basis === 'fresh')!;
    expect(fresh.modelsMoved).toBeGreaterThan(0);
    expect(r.candidates[0].score).toBeLessThanOrEqual(fresh.score);
  });

  // One more re-plan, of the same fleet with its models in reverse order: a re-plan that depended on anything but
  // its input (a clock, a random draw, iteration order) would differ from the first; order-independence on top
  test('deterministic: the same fleet with its models in another order gives the same plan, byte for byte', () => {
    expect(JSON.stringify(replan({ ...next, models: [...next.models].reverse() }, running).plan)).toBe(JSON.stringify(r.plan));
  });
});

describe('replan: demand falls on one GPU per node (H100 on p5.4xlarge)', () => {
  const fleet = fleetOf(
    [
      model('alpha', 6000, 100, 1.5, synthProfiles(H, 300)),
      model('bravo', 90, 200, 0.8, synthProfiles(H, 120)),
      model('charlie', 400, 80, 1.0, synthProfiles(H, 500)),
    ],
    [{ type: H, mig: true }],
  );
  const running = plan(fleet);
  const next = scaled(fleet, { alpha: 0.25 });

  test('with the default price, a node is emptied: the hour saved pays for the models moved', () => {
    const r = replan(next, running);
    expect(verifyPlan(next, r.plan)).toEqual([]);
    expect(r.plan.summary.costPerHour).toBeLessThan(running.summary.costPerHour);
    expect(r.changes.nodesRemoved).toHaveLength(1);
    expect(r.changes.modelsMoved.length).toBeGreaterThan(0);
  });

  test('with moves priced out, nothing moves: alpha only gives up servers it runs alone on', () => {
    const r = replan(next, running, { movedModelPrice: Infinity });
    expect(verifyPlan(next, r.plan)).toEqual([]);
    expect(r.changes.modelsMoved).toEqual([]);
    expect(r.changes.modelsShrunk).toEqual(['alpha']);
    expect(r.changes.serversStarted).toBe(0);
    expect(r.changes.serversStopped).toBeGreaterThan(0);
    expect(r.changes.nodesRemoved).toEqual([]);
  });
});

describe('replan: models join and leave', () => {
  const fleet = mixedFleet();
  const running = runningMixed();

  test('a new model gets a seat without moving any running model', () => {
    const next = { ...fleet, models: [...fleet.models, model('golf', 250, 150, 1.2, synthProfiles('A100-80GB', 200))] };
    const r = replan(next, running);
    expect(verifyPlan(next, r.plan)).toEqual([]);
    expect(r.changes.modelsAdded).toEqual(['golf']);
    expect(r.changes.modelsMoved).toEqual([]);
  });

  test('a model that leaves is gone; only models that shared a server with it move', () => {
    const gone = 'echo';
    const neighbours = new Set(
      running.gpus.flatMap((g) =>
        g.slices.filter((s) => s.models.some((m) => m.name === gone)).flatMap((s) => s.models.map((m) => m.name)),
      ),
    );
    const next = { ...fleet, models: fleet.models.filter((m) => m.name !== gone) };
    const r = replan(next, running, { movedModelPrice: Infinity });
    expect(verifyPlan(next, r.plan)).toEqual([]);
    expect(r.changes.modelsRemoved).toEqual([gone]);
    for (const m of r.changes.modelsMoved) expect(neighbours.has(m)).toBe(true);
  });
});

describe('replan input', () => {
  const running = runningMixed();

  test('fails for the plan of another fleet, naming both', () => {
    expect(() => replan({ ...mixedFleet(), name: 'other' }, running)).toThrow(PlanError);
    expect(() => replan({ ...mixedFleet(), name: 'other' }, running)).toThrow(
      'fleet: the running plan is of fleet "test-fleet", the fleet is "other"',
    );
  });

  test('fails for a negative price and an unknown re-cut mode', () => {
    expect(() => replan(mixedFleet(), running, { movedModelPrice: -1 })).toThrow(
      'movedModelPrice: expected a number >= 0 (USD per hour), got -1',
    );
    expect(() => replan(mixedFleet(), running, { recut: 'sideways' as 'replace' })).toThrow(
      'recut: expected "replace" or "in-place", got "sideways"',
    );
  });

  test('fails for a running plan whose GPU names a node it does not list', () => {
    const broken: Plan = { ...running, gpus: running.gpus.map((g, i) => (i === 0 ? { ...g, node: 'node-99' } : g)) };
    expect(() => replan(mixedFleet(), broken)).toThrow(`gpus[${running.gpus[0].id}].node: "node-99" is not a node of the plan`);
  });
});
