/**
 * Node configurations are named by their content. The MIG manager acts only when the value of `nvidia.com/mig.config`
 * changes (and re-cuts a node whose layout differs from its label when its pod restarts), and Karpenter drifts a
 * node only when its NodePool's template changes (FIDELITY.md; NVIDIA/mig-parted v0.15.0, gpu-operator#262,
 * kubernetes-sigs/karpenter v1.14.1 pkg/apis/v1/nodepool.go): new content under an old name is a re-cut nothing
 * coordinates. So a re-plan must give a new name to exactly the configurations whose content changed.
 */
import { join } from 'path';
import { loadFleetFile } from '../constructs/fleet';
import type { Fleet } from '../constructs/fleet/types';
import { checkRendering, formatFinding } from '../constructs/k8s/check/check-rendering';
import { migConfigName, plan as planFleet } from '../constructs/planner';
import type { Plan, PlanMigConfig } from '../constructs/planner/types';
import { plannedObjects } from './check-fixtures';

/** What mig-parted applies: the instance type and each GPU's profile counts (starts do not matter). */
const content = (c: PlanMigConfig) => JSON.stringify({ it: c.instanceType, d: c.devices.map((d) => d.map((s) => s.profile).sort()) });

function tripled(fleet: Fleet, models: readonly string[]): Fleet {
  return { ...fleet, models: fleet.models.map((m) => (models.includes(m.name) ? { ...m, rps: m.rps * 3 } : m)) };
}

describe('node configurations are named by content', () => {
  const fleet = loadFleetFile(join(__dirname, '../examples/long-tail.fleet.yaml'));
  const before = planFleet(fleet);
  const after = planFleet(tripled(fleet, ['fraud-scorer', 'query-encoder']));

  test('re-planning long-tail with two models at 3× demand renames exactly the configurations whose content changed', () => {
    const oldByName = new Map(before.migConfigs!.map((c) => [c.name, content(c)]));
    const oldByContent = new Map(before.migConfigs!.map((c) => [content(c), c.name]));
    let renamed = 0;
    for (const c of after.migConfigs!) {
      const previous = oldByContent.get(content(c));
      if (previous !== undefined) {
        expect(c.name).toBe(previous); // same content, same name
      } else {
        expect(oldByName.has(c.name)).toBe(false); // new content, a name no old configuration had
        renamed++;
      }
    }
    expect(renamed).toBeGreaterThan(0);
    for (const c of [...before.migConfigs!, ...after.migConfigs!]) expect(c.name).toMatch(/^h100-80gb-[0-9a-f]{8}$/);
  });

  test('gpufleet check --previous is clean on that pair of renderings', () => {
    const a = plannedObjects(fleet, before).objects;
    const b = plannedObjects(tripled(fleet, ['fraud-scorer', 'query-encoder']), after).objects;
    expect(checkRendering(b, { previous: a }).findings.map(formatFinding)).toEqual([]);
    expect(checkRendering(a, { previous: b }).findings.map(formatFinding)).toEqual([]);
  });

  test("fails: positional names (gpufleet-<gpu>-<i>) put a re-plan's new content under the old name; check --previous says so", () => {
    // the naming the planner used before: configurations numbered in order
    const positional = (p: Plan): Plan => {
      const rename = new Map(p.migConfigs!.map((c, i) => [c.name, `gpufleet-${c.gpuType.toLowerCase()}-${i}`]));
      return {
        ...p,
        migConfigs: p.migConfigs!.map((c) => ({ ...c, name: rename.get(c.name)! })),
        nodes: p.nodes!.map((n) => ({ ...n, migConfig: rename.get(n.migConfig) ?? n.migConfig })),
      };
    };
    const a = plannedObjects(fleet, positional(before)).objects;
    const b = plannedObjects(tripled(fleet, ['fraud-scorer', 'query-encoder']), positional(after)).objects;
    const found = checkRendering(b, { previous: a }).findings.map(formatFinding);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(
        /^relayout: NodePool gpufleet-h100-80gb-0: layout "gpufleet-h100-80gb-0" changed content under the same name \(was /.source +
          /all: .*, now all: .*\): the MIG manager re-cuts nodes only when nvidia\.com\/mig\.config changes/.source,
      ),
    );
  });

  test('the same fleet planned again (or declared in another order) keeps every name', () => {
    const again = planFleet({ ...fleet, models: [...fleet.models].reverse() });
    expect(again.migConfigs!.map((c) => c.name).sort()).toEqual(before.migConfigs!.map((c) => c.name).sort());
  });
});

describe('migConfigName', () => {
  const slices = (...profiles: string[]) => profiles.map((profile, i) => ({ profile, start: i }));

  test('is a function of the instance type and the per-device profile counts only', () => {
    const a = migConfigName('A100-80GB', 'p4de.24xlarge', [slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')]);
    // where slices start and in which order they are listed is not content (mig-parted takes counts)
    expect(
      migConfigName('A100-80GB', 'p4de.24xlarge', [
        [
          { profile: '1g.10gb', start: 6 },
          { profile: '1g.10gb', start: 5 },
          { profile: '2g.20gb', start: 0 },
          { profile: '3g.40gb', start: 4 },
        ],
      ]),
    ).toBe(a);
    // every GPU alike, listed once or per device: the same layout
    expect(migConfigName('A100-80GB', 'p4de.24xlarge', Array(8).fill(slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')))).toBe(a);
    expect(a).toMatch(/^a100-80gb-[0-9a-f]{8}$/);
  });

  test('gives different content a different name', () => {
    const names = [
      migConfigName('A100-80GB', 'p4de.24xlarge', [slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')]),
      migConfigName('A100-80GB', 'p4de.24xlarge', [slices('3g.40gb', '2g.20gb', '2g.20gb')]),
      migConfigName('H100-80GB', 'p5.48xlarge', [slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')]),
      migConfigName('H100-80GB', 'p5.4xlarge', [slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')]),
      migConfigName('A100-80GB', 'p4de.24xlarge', [
        slices('7g.80gb'),
        ...Array(7).fill(slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')),
      ]),
      migConfigName('A100-80GB', 'p4de.24xlarge', [
        ...Array(7).fill(slices('3g.40gb', '2g.20gb', '1g.10gb', '1g.10gb')),
        slices('7g.80gb'),
      ]),
    ];
    expect(new Set(names).size).toBe(names.length);
  });
});
