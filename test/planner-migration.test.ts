/**
 * Migrations (`planMigration`) and their independent checker (`checkMigration`): the order of the steps, the
 * capacity every model keeps at each, what is re-cut, and the checker rejecting broken sequences.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseFleet } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import {
  checkMigration,
  plan,
  planMigration,
  replan,
  verifyPlan,
  type Migration,
  type MigrationAction,
  type Plan,
} from '../constructs/planner';
import { mapOntoRunning } from '../constructs/planner/replan-fresh';
import { fleetOf, model, synthProfiles } from './planner-fixtures';
import { mutations } from './migration-mutations';
import { once } from './support/once';

const LONG_TAIL = parseFleet(fs.readFileSync(path.join(__dirname, '../examples/long-tail.fleet.yaml'), 'utf8'), 'long-tail.fleet.yaml');
const H = 'H100-80GB';
/**
 * This file tests migrations between plans, not the plans' quality: they are planned with effort `fast`, about a
 * tenth of the CPU time of the default `thorough` on long-tail. On long-tail the fast plan is the default plan byte
 * for byte, and the fast re-plan differs from the default re-plan only in the cold tier's `gpusWithSeats` figure
 * (what the fleet would need without its cold tier), which no migration reads.
 */
const FAST = { effort: 'fast' } as const;
/** The running plan of the long-tail example, planned once for the file (no test changes it). */
const runningLongTail = once(() => plan(LONG_TAIL, FAST));

function scaled(fleet: Fleet, factors: Record<string, number>): Fleet {
  return { ...fleet, models: fleet.models.map((m) => (factors[m.name] ? { ...m, rps: Number((m.rps * factors[m.name]).toFixed(6)) } : m)) };
}

const kinds = (m: Migration): string[] => m.steps.map((s) => s.kind);
const actions = (m: Migration): { step: number; a: MigrationAction }[] =>
  m.steps.flatMap((s) => s.actions.map((a) => ({ step: s.index, a })));

/** Every step keeps every model at or above what it must keep (the figures the step states). */
function expectNoDip(m: Migration): void {
  for (const s of m.steps) for (const c of s.capacity) expect(c.after).toBeGreaterThanOrEqual(c.required * (1 - 1e-9));
}

describe('examples/long-tail.fleet.yaml, two models at 3x their demand', () => {
  const running = runningLongTail();
  const next = scaled(LONG_TAIL, { 'fraud-scorer': 3, 'query-encoder': 3 });
  const target = replan(next, running, FAST).plan;
  const m = planMigration(next, running, target);

  test('the checker accepts it: capacity first, then traffic; nothing stops, nothing is re-cut', () => {
    expect(checkMigration(next, running, target, m)).toEqual([]);
    expect(kinds(m)).toEqual(['add-nodes', 'start-servers', 'shift-traffic']);
    expect(actions(m).filter(({ a }) => a.kind === 'stop-server' || a.kind === 'recut' || a.kind === 'remove-node')).toEqual([]);
    expect(m.summary).toMatchObject({
      gpusRecut: 0,
      modelsMoved: 0,
      serversStopped: 0,
      extraGpus: 0,
      temporaryServers: 0,
      shortAtStart: 2,
      minHeadroom: 1,
    });
  });

  test('the grown models reach their demand when their traffic moves; no other model changes at any step', () => {
    const shift = m.steps.find((s) => s.kind === 'shift-traffic')!;
    for (const name of ['fraud-scorer', 'query-encoder']) {
      const c = shift.capacity.find((x) => x.model === name)!;
      expect(c.before).toBeLessThan(c.demand);
      expect(c.after).toBeGreaterThanOrEqual(c.demand);
    }
    for (const s of m.steps) {
      for (const c of s.capacity) if (!['fraud-scorer', 'query-encoder'].includes(c.model)) expect(c.after).toBe(c.before);
    }
    expect(m.summary.atDemandFromStep).toBe(shift.index);
    expectNoDip(m);
  });

  test('each step says what to wait for: new nodes partitioned, servers ready', () => {
    expect(m.steps[0].waitFor[0]).toMatch(/is Ready, nvidia\.com\/mig\.config=.+ and nvidia\.com\/mig\.config\.state=success$/);
    expect(m.steps[1].waitFor.every((w) => / is ready: .+ loaded$/.test(w))).toBe(true);
  });
});

describe('an unchanged fleet', () => {
  test('gives an empty migration', () => {
    const running = runningLongTail();
    const r = replan(LONG_TAIL, running);
    const m = planMigration(LONG_TAIL, running, r.plan);
    expect(m.steps).toEqual([]);
    expect(m.summary).toMatchObject({ steps: 0, serversStarted: 0, serversStopped: 0, nodesAdded: 0, nodesRemoved: 0, extraGpus: 0 });
    expect(checkMigration(LONG_TAIL, running, r.plan, m)).toEqual([]);
  });
});

describe('a demand drop (H100, one GPU per node)', () => {
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

  test.each([
    ['moves priced out', Infinity],
    ['the default price (a node is emptied)', undefined],
  ])('%s: capacity is removed only after traffic has moved', (_, price) => {
    const target = replan(next, running, price === undefined ? {} : { movedModelPrice: price }).plan;
    const m = planMigration(next, running, target);
    expect(checkMigration(next, running, target, m)).toEqual([]);
    expect(m.summary.serversStopped).toBeGreaterThan(0);
    // every stopped server had its last route removed in an earlier step
    const routed = new Map<string, number>();
    for (const { step, a } of actions(m)) {
      if (a.kind === 'route') for (const w of a.weights) routed.set(w.server, step);
      if (a.kind === 'stop-server') {
        const lastRouteAway = m.steps.filter((s) => s.index < step && s.kind === 'shift-traffic').map((s) => s.index);
        expect(lastRouteAway.length).toBeGreaterThan(0);
        expect(
          actions(m).some(({ step: at, a: b }) => at >= step && b.kind === 'route' && b.weights.some((w) => w.server === a.server)),
        ).toBe(false);
      }
    }
    // nodes go last, once empty
    const removeAt = m.steps.filter((s) => s.kind === 'remove-nodes').map((s) => s.index);
    const stopAt = m.steps.filter((s) => s.kind === 'stop-servers').map((s) => s.index);
    for (const r of removeAt) expect(r).toBeGreaterThan(Math.max(...stopAt));
    expectNoDip(m);
    expect(m.summary.minHeadroom).toBeGreaterThanOrEqual(1);
  });
});

/** Four models on one H100 node; alpha's demand triples and a fresh plan is mapped onto the running node, re-cut in place. */
const inPlaceRecut = once(() => {
  const fleet = fleetOf(
    [
      model('alpha', 900, 100, 1.5, synthProfiles(H, 300)),
      model('bravo', 300, 200, 0.8, synthProfiles(H, 120)),
      model('charlie', 400, 80, 1.0, synthProfiles(H, 500)),
      model('delta', 60, 300, 2.0, synthProfiles(H, 60)),
    ],
    [{ type: H, mig: true }],
  );
  const running = plan(fleet);
  const next = scaled(fleet, { alpha: 3 });
  const target = mapOntoRunning(running, plan(next), next, 'in-place');
  return { running, next, target, migration: planMigration(next, running, target) };
});

describe('an in-place re-cut (a fresh plan mapped onto the running node)', () => {
  const { running, next, target, migration: m } = inPlaceRecut();

  test('the target re-cuts node-0 under a new configuration name', () => {
    expect(verifyPlan(next, target)).toEqual([]);
    const before = running.nodes![0];
    const after = target.nodes!.find((n) => n.name === before.name)!;
    expect(after.migConfig).not.toBe(before.migConfig);
  });

  test('cordon, temporary copies ready and routed, old servers stopped, re-cut, wait for success, then back', () => {
    expect(checkMigration(next, running, target, m)).toEqual([]);
    const at = (kind: string): number => m.steps.find((s) => s.kind === kind)!.index;
    expect(at('cordon')).toBeLessThan(at('recut'));
    const recut = m.steps.find((s) => s.kind === 'recut')!;
    expect(recut.waitFor).toEqual(['node node-0: nvidia.com/mig.config.state=success']);
    // nothing runs on the node when it is re-cut: every server on it stopped before
    const onNode = new Set(m.serversBefore.filter((s) => s.node === 'node-0').map((s) => s.id));
    const stoppedBefore = new Set(
      actions(m)
        .filter(({ step, a }) => step < recut.index && a.kind === 'stop-server')
        .map(({ a }) => (a as { server: string }).server),
    );
    for (const id of onNode) expect(stoppedBefore.has(id)).toBe(true);
    expect(m.summary).toMatchObject({ nodesRecut: 1, gpusRecut: 1, temporaryNodes: 1 });
    expect(m.summary.extraGpus).toBe(1);
    expectNoDip(m);
  });
});

describe('the checker rejects broken sequences', () => {
  // the in-place re-cut above: its migration, broken by hand (the mutations copy it, never change it)
  const { running, next, target, migration: good } = inPlaceRecut();
  const check = (m: Migration): string[] => checkMigration(next, running, target, m);
  const mutated = (name: string): Migration => {
    const mu = mutations.find((x) => x.name === name)!;
    const m = mu.apply(good, next);
    if (!m) throw new Error(`mutation "${name}" does not apply`);
    return m;
  };

  test.each([
    ['stop a server before its traffic has moved', /still sends traffic to gpu-0@/],
    ['route traffic to a server before it has started', /no ready server /],
    ['leave out a server start', /no ready server |server\(s\) of the target are missing/],
    ['leave out the new nodes', /no node temp-1/],
    ['re-cut a node while it still serves', /servers still run on node-0/],
    ['state more capacity than a step produces', /states .+ goes from .+ the replay gives/],
    ['start a new server with half the share the plan gives a model', /more than its share|capacity < |is not in the target/],
    ['leave out a route change', /sends .+ of its traffic to|capacity </],
    ['remove a node that was never cordoned', /is removed without being cordoned/],
  ])('%s', (name, message) => {
    const problems = check(mutated(name));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(message);
  });

  test('fails for a re-cut that does not change the layout (no GPU needs re-cutting)', () => {
    const c = JSON.parse(JSON.stringify(good)) as Migration;
    const recut = c.steps.find((s) => s.kind === 'recut')!;
    const a = recut.actions[0] as Extract<MigrationAction, { kind: 'recut' }>;
    // re-cut the node a second time, to the layout it already has
    (c.steps as Migration['steps'][number][]).splice(recut.index, 0, { ...recut, index: recut.index + 1, actions: [{ ...a }] });
    const renumbered = { ...c, steps: c.steps.map((s, i) => ({ ...s, index: i + 1 })) };
    expect(check(renumbered).join('\n')).toMatch(/\(recut node-0\): the layout does not change: no GPU needs re-cutting/);
  });

  test('fails when the target plan is not valid for the fleet', () => {
    const bad: Plan = {
      ...target,
      gpus: target.gpus.map((g, i) =>
        i === 0 ? { ...g, slices: g.slices.map((s) => ({ ...s, models: s.models.map((x) => ({ ...x, share: x.share * 3 })) })) } : g,
      ),
    };
    expect(
      checkMigration(next, running, bad, planMigration(next, running, bad)).some((p) => p.startsWith('target plan: rule 3 (time)')),
    ).toBe(true);
  });

  test('fails for a layout name reused for other content', () => {
    const cfg = target.migConfigs!.find((c) => target.nodes!.some((n) => n.name === 'node-0' && n.migConfig === c.name))!;
    const renamed: Plan = {
      ...target,
      nodes: target.nodes!.map((n) => (n.migConfig === cfg.name ? { ...n, migConfig: running.nodes![0].migConfig } : n)),
      migConfigs: target.migConfigs!.map((c) => (c.name === cfg.name ? { ...c, name: running.nodes![0].migConfig } : c)),
    };
    expect(checkMigration(next, running, renamed, planMigration(next, running, renamed)).join('\n')).toMatch(
      /configuration \S+: the plans give it two layouts .+ new content needs a new name/,
    );
  });
});

describe('migration options', () => {
  const running = runningLongTail();
  test("fail for a floor out of range and a floor above a model's demand", () => {
    expect(() => planMigration(LONG_TAIL, running, running, { floor: 1.5 })).toThrow('floor: expected a number > 0 and <= 1, got 1.5');
    expect(() => planMigration(LONG_TAIL, running, running, { floors: { 'fraud-scorer': 5000 } })).toThrow(
      'floors.fraud-scorer: expected a number >= 0 and <= its demand 1800, got 5000',
    );
    expect(() => planMigration(LONG_TAIL, running, running, { floors: { nope: 1 } })).toThrow(
      'floors.nope: not a model of fleet long-tail',
    );
  });
});
