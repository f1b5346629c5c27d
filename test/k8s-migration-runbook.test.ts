/**
 * The runbook of a migration: each step as what a cluster applies, with the condition to wait for. The
 * assertions encode how the consumers behave:
 * - Karpenter v1.14.1: a NodeClaim carries an ownerReference to its NodePool (BlockOwnerDeletion,
 *   pkg/controllers/provisioning/scheduling/nodeclaimtemplate.go), so deleting a NodePool garbage-collects its
 *   NodeClaims; a Node with a deletion timestamp is drained and terminated by the termination controller
 *   (pkg/controllers/node/termination/controller.go) — `kubectl delete nodepool|node` removes capacity gracefully;
 * - Kubernetes ReplicaSet scale-down deletes pods with the lower `controller.kubernetes.io/pod-deletion-cost`
 *   first (KEP-2255, beta and on by default since 1.22; pkg/controller/controller_utils.go ActivePodsWithRanks);
 *   a Deployment applied under an existing name with another pod template is rolled (its pods restart);
 * - the MIG manager (mig-parted v0.15.0, ../shared/FIDELITY.md) reports a finished re-cut as the node label
 *   `nvidia.com/mig.config.state=success`; gpufleet's relayout script accepts only layouts it knows.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseFleet } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { checkRendering, formatFinding, migrationRunbook, planDeclaration, renderRunbookText } from '../constructs/k8s';
import { relayoutScript } from '../constructs/k8s/gpu/mig-config-relayout';
import { plan, planMigration, replan, type Plan } from '../constructs/planner';
import { mapOntoRunning } from '../constructs/planner/replan';
import { plannedObjects } from './check-fixtures';
import { fleetOf, model, synthProfiles } from './planner-fixtures';

const LONG_TAIL = parseFleet(fs.readFileSync(path.join(__dirname, '../examples/long-tail.fleet.yaml'), 'utf8'), 'long-tail.fleet.yaml');
const H = 'H100-80GB';

function scaled(fleet: Fleet, factors: Record<string, number>): Fleet {
  return { ...fleet, models: fleet.models.map((m) => (factors[m.name] ? { ...m, rps: Number((m.rps * factors[m.name]).toFixed(6)) } : m)) };
}

/** Pool name → its content (slice and models) in a rendering. */
function poolContents(fleet: Fleet, p: Plan): Map<string, string> {
  const d = planDeclaration(fleet, p);
  const out = new Map<string, string>();
  for (const t of d.teams) for (const x of t.pools ?? []) out.set(x.name, `${x.nodePool}|${x.slice}|${[...x.models].sort().join(',')}`);
  for (const x of d.sharedPools) out.set(x.name, `${x.nodePool}|${x.slice}|${[...x.models].sort().join(',')}`);
  return out;
}

describe('karpenter path: examples/long-tail.fleet.yaml, two models at 3x', () => {
  const running = plan(LONG_TAIL);
  const next = scaled(LONG_TAIL, { 'fraud-scorer': 3, 'query-encoder': 3 });
  const target = replan(next, running).plan;
  const m = planMigration(next, running, target);
  const rb = migrationRunbook(next, running, target, m);

  test('one runbook step per migration step', () => {
    expect(rb.steps.map((s) => [s.index, s.kind])).toEqual(m.steps.map((s) => [s.index, s.kind]));
  });

  test('new capacity: the NodePool of the new layout, then wait until its nodes report the layout applied', () => {
    const newCfg = target.nodes!.find((n) => !running.nodes!.some((r) => r.name === n.name))!.migConfig;
    expect(running.migConfigs!.some((c) => c.name === newCfg)).toBe(false);
    const add = rb.steps[0];
    expect(add.operations[0].text).toMatch(new RegExp(`^NodePool ${newCfg}: apply it from the target rendering`));
    expect(add.waitFor[0].command).toBe(
      `kubectl wait node -l nvidia.com/mig.config=${newCfg} ` +
        `--for=jsonpath='{.metadata.labels.nvidia\\.com/mig\\.config\\.state}'=success --timeout=20m`,
    );
  });

  test('new pools never take the name of a running pool of other content (that would roll its pods)', () => {
    const runningPools = poolContents(LONG_TAIL, running);
    const created = rb.steps
      .flatMap((s) => s.operations)
      .map((o) => /^create (\S+)\/(\S+) with/.exec(o.text))
      .filter((x): x is RegExpExecArray => !!x);
    expect(created.length).toBe(2);
    for (const c of created) expect(runningPools.has(c[2])).toBe(false);
  });

  test('each new pool is waited for until every replica is ready', () => {
    const start = rb.steps[1];
    expect(start.waitFor.map((w) => w.command)).toEqual(
      start.operations.map(
        (o) => `kubectl -n serving-shared rollout status deployment/${/^create \S+\/(\S+) with/.exec(o.text)![1]} --timeout=30m`,
      ),
    );
  });

  test('the target rendering passes gpufleet check against the running one: no layout changed content under its name', () => {
    // checkRendering (issue 9) is independent of the re-planner: rule `relayout` compares the two renderings' NodePools
    const before = plannedObjects(LONG_TAIL, running).objects;
    const after = plannedObjects(next, target).objects;
    const r = checkRendering(after, { previous: before });
    expect(r.findings.map(formatFinding)).toEqual([]);
  });

  test('the text form lists each step, its commands and what to wait for', () => {
    const text = renderRunbookText(rb);
    expect(text).toMatch(/^1\. add 1 node\(s\) with their layouts\n {3}- NodePool /);
    expect(text).toContain('   wait: every node labelled nvidia.com/mig.config=');
    expect(text).toMatch(/^3\. route the traffic of 2 model\(s\) as the new plan does$/m);
  });
});

describe('a demand drop that empties a node', () => {
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
  const target = replan(next, running).plan;
  const m = planMigration(next, running, target);

  test('karpenter: cordon first, remove the node by deleting it (or its NodePool when no node of that layout remains)', () => {
    const rb = migrationRunbook(next, running, target, m);
    expect(rb.steps[0].operations.every((o) => /^kubectl cordon "\$NODE_node_\d+"$/.test(o.command ?? ''))).toBe(true);
    const remove = rb.steps.find((s) => s.kind === 'remove-nodes')!;
    const leaving = running.nodes!.find((n) => !target.nodes!.some((t) => t.name === n.name))!;
    const layoutRemains = target.nodes!.some((n) => n.migConfig === leaving.migConfig);
    expect(remove.operations[0].command).toBe(
      layoutRemains ? `kubectl delete node "$NODE_${leaving.name.replace('-', '_')}"` : `kubectl delete nodepool ${leaving.migConfig}`,
    );
    expect(remove.waitFor[0].command).toBe(`kubectl wait --for=delete node/"$NODE_${leaving.name.replace('-', '_')}" --timeout=30m`);
    // the notes say which cluster node each plan node is
    expect(
      rb.notes.some((n) =>
        n.startsWith(
          `$NODE_${leaving.name.replace('-', '_')}: plan node ${leaving.name}, a p5.4xlarge labelled ` +
            `nvidia.com/mig.config=${leaving.migConfig}`,
        ),
      ),
    ).toBe(true);
  });

  test('a pool that shrinks (not deleted): its pods on the leaving node are marked to go first, then it is scaled', () => {
    const onlyShrink = replan(next, running, { movedModelPrice: Infinity }).plan;
    const mm = planMigration(next, running, onlyShrink);
    const rb = migrationRunbook(next, running, onlyShrink, mm);
    const stop = rb.steps.find((s) => s.kind === 'stop-servers')!;
    const ops = stop.operations.map((o) => o.command ?? '');
    const scaled = ops.map((c, i) => ({ c, i })).filter((x) => / scale deployment\//.test(x.c));
    expect(scaled.length).toBeGreaterThan(0);
    for (const { c, i } of scaled) {
      const pool = /deployment\/(\S+) /.exec(c)![1];
      const mark = ops.findIndex((x) => x.includes(`annotate pod -l gpufleet.io/triton-pool=${pool} `));
      expect(mark).toBeGreaterThanOrEqual(0);
      expect(mark).toBeLessThan(i);
      expect(ops[mark]).toMatch(
        /--field-selector spec\.nodeName="\$NODE_node_\d+" controller\.kubernetes\.io\/pod-deletion-cost=-1000 --overwrite$/,
      );
    }
  });

  test('node groups: the leaving instance is terminated by id with the desired size decremented', () => {
    const rb = migrationRunbook(next, running, target, m, { path: 'node-groups' });
    const remove = rb.steps.find((s) => s.kind === 'remove-nodes')!;
    expect(remove.operations[0].command).toMatch(
      /^aws autoscaling terminate-instance-in-auto-scaling-group --should-decrement-desired-capacity --instance-id /,
    );
  });
});

describe('in-place path: a node re-cut with the relayout procedure', () => {
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
  const m = planMigration(next, running, target);
  const rb = migrationRunbook(next, running, target, m, { path: 'in-place' });

  test('the re-cut runs relayout.sh with a layout the script knows, and waits for state=success', () => {
    const recut = rb.steps.find((s) => s.kind === 'recut')!;
    const cfg = target.nodes!.find((n) => n.name === 'node-0')!.migConfig;
    expect(recut.operations[0].command).toBe(`relayout.sh "$NODE_node_0" ${cfg}`);
    expect(relayoutScript(target.migConfigs!.map((c) => c.name))).toContain(
      `KNOWN_LAYOUTS="${target.migConfigs!.map((c) => c.name).join(' ')}"`,
    );
    expect(recut.waitFor[0].command).toBe(
      `kubectl wait node/"$NODE_node_0" --for=jsonpath='{.metadata.labels.nvidia\\.com/mig\\.config\\.state}'=success --timeout=20m`,
    );
  });

  test('everything on the node has moved before: the temporary pools are ready and routed, the old pools deleted', () => {
    const at = (kind: string): number => rb.steps.find((s) => s.kind === kind)!.index;
    expect(at('start-servers')).toBeLessThan(at('recut'));
    const stop = rb.steps.find((s) => s.kind === 'stop-servers')!;
    expect(stop.index).toBeLessThan(at('recut'));
    expect(stop.operations.every((o) => o.text.startsWith('delete '))).toBe(true);
  });

  test('the target rendering numbers pools by position: new pools whose target name is a running pool get a content suffix', () => {
    const runningPools = poolContents(fleet, running);
    const targetPools = poolContents(next, target);
    const clashing = [...targetPools].filter(([name, content]) => runningPools.has(name) && runningPools.get(name) !== content);
    expect(clashing.length).toBeGreaterThan(0);
    const created = rb.steps
      .flatMap((s) => s.operations)
      .map((o) => /^create team-a\/(\S+) with/.exec(o.text)?.[1])
      .filter((x): x is string => !!x);
    for (const name of created) {
      expect(runningPools.has(name)).toBe(false);
      expect(name).toMatch(/^team-a-1g-\d+-[0-9a-f]{6}$/);
    }
    expect(
      rb.notes.filter((n) =>
        new RegExp(
          /is a running pool of other content: the runbook creates it as team-a\/team-a-1g-\d+-[0-9a-f]{6} \(pool names /.source +
            /are numbered by position\)$/.source,
        ).test(n),
      ).length,
    ).toBe(created.length);
    expect(rb.notes).toContain(
      'do not apply the target rendering whole: it gives running pools other content under their names, which restarts them; apply ' +
        'these steps',
    );
  });

  test('on the karpenter path a re-cut in place is flagged', () => {
    const k = migrationRunbook(next, running, target, m);
    expect(k.notes.some((n) => n.includes('is re-cut in place; on the karpenter path a new layout is usually a new NodePool'))).toBe(true);
  });

  test('fails for an unknown path', () => {
    expect(() => migrationRunbook(next, running, target, m, { path: 'manual' as 'karpenter' })).toThrow(
      'path: expected "karpenter", "node-groups" or "in-place", got "manual"',
    );
  });
});
