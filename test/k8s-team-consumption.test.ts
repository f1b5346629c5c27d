/**
 * Teams you can see on the cluster (docs/platform.md "Teams in shared pools"): the issue-12 fleet (12 models, 3 teams,
 * 9 models in the shared namespace) rendered from its saved plan. Shared Triton Deployments carry each team's
 * GPU-equivalents and cost; the shared namespace sums them; each team's Namespace and ResourceQuota say what the team
 * holds in shared pools, so a quota of 0 GPUs is never silent; and no team's quota is below what its own namespace runs.
 *
 * Kubernetes rules the objects must meet (kubernetes/kubernetes v1.28.0,
 * staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go ValidateAnnotations: keys are qualified names, all
 * annotations of an object at most 256 KiB (totalAnnotationSizeLimitB); pkg/util/validation/validation.go
 * IsQualifiedName / IsValidLabelValue: a label key is an optional DNS-1123 subdomain prefix (<= 253) and a name of
 * <= 63 characters matching ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]; a label value <= 63 of the same alphabet or empty).
 * A ResourceQuota counts the pods of its own namespace only (v1.28 staging/src/k8s.io/apiserver/pkg/admission/plugin/
 * resourcequota/controller.go: `e.quotaAccessor.GetQuotas(ns)` with the pod's namespace), which is why shared pools sit
 * outside team quotas.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { loadFleetFile } from '../constructs/fleet';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import { ServingPlatform } from '../constructs/k8s/platform/serving-platform';
import {
  CONSUMPTION_ANNOTATION,
  SERVED_TEAM_LABEL_PREFIX,
  TEAM_CONSUMPTION_ANNOTATION,
  TEAM_COST_ANNOTATION,
} from '../constructs/k8s/teams/team-consumption-annotations';
import type { Fleet } from '../constructs/fleet/types';
import type { Plan } from '../constructs/planner/types';
import { validateObjects } from './support/validate';

const FIXTURES = path.join(__dirname, 'cli-fixtures');
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isQualifiedKey(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  const prefix = parts.length === 2 ? parts[0] : undefined;
  return (
    name.length <= 63 && QUALIFIED_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix)))
  );
}

function render(fleet: Fleet, plan: Plan): any[] {
  const chart = Testing.chart();
  ServingPlatform.fromPlan(chart, 'Platform', {
    fleet,
    plan,
    cluster: { name: 'prod', nodeRole: 'KarpenterNodeRole-prod' },
    repository: ModelRepository.s3({ bucket: 'gpufleet-models', prefix: fleet.name, region: 'us-east-1' }),
  });
  return Testing.synth(chart);
}

/** The issue-12 fleet rendered from its saved plan, with a lookup of its objects by kind and namespace. */
function issue12Platform() {
  const fleet = loadFleetFile(path.join(FIXTURES, 'three-teams.fleet.yaml'));
  const plan: Plan = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'three-teams.plan.json'), 'utf8'));
  const objects = render(fleet, plan);
  const of = (kind: string, ns?: string) =>
    objects.filter(
      (o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns || (kind === 'Namespace' && o.metadata.name === ns)),
    );
  const tc = plan.summary.teamConsumption!;
  return { fleet, plan, objects, of, tc };
}

describe('team consumption on the rendered platform (issue 12 fleet)', () => {
  const { fleet, plan, objects, of, tc } = issue12Platform();

  test('every object is schema-valid; every label and annotation key is a qualified name, values within limits', () => {
    expect(validateObjects(objects)).toEqual([]);
    for (const o of objects) {
      for (const key of Object.keys(o.metadata.labels ?? {})) expect([key, isQualifiedKey(key)]).toEqual([key, true]);
      for (const key of Object.keys(o.metadata.annotations ?? {})) expect([key, isQualifiedKey(key)]).toEqual([key, true]);
      const size = Object.entries(o.metadata.annotations ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
      expect(size).toBeLessThanOrEqual(256 * 1024);
    }
  });

  test('each shared Deployment carries its teams\' GPU-equivalents and cost; they sum to each team\'s "in shared pools"', () => {
    const shared = of('Deployment', 'serving-shared').filter((d) => d.metadata.annotations?.[TEAM_CONSUMPTION_ANNOTATION]);
    expect(shared.map((d) => d.metadata.name).sort()).toEqual(['shared-1g-1', 'shared-1g-2', 'shared-1g-3', 'shared-1g-4']);
    const sum = new Map<string, { eq: number; cost: number }>();
    for (const d of shared) {
      const eq = JSON.parse(d.metadata.annotations[TEAM_CONSUMPTION_ANNOTATION]);
      const cost = JSON.parse(d.metadata.annotations[TEAM_COST_ANNOTATION]);
      expect(Object.keys(eq)).toEqual(Object.keys(eq).sort());
      expect(Object.keys(cost)).toEqual(Object.keys(eq));
      // one label per team the pool serves, and only those
      const labelled = Object.keys(d.metadata.labels)
        .filter((k) => k.startsWith(SERVED_TEAM_LABEL_PREFIX))
        .map((k) => k.slice(SERVED_TEAM_LABEL_PREFIX.length));
      expect(labelled.sort()).toEqual(Object.keys(eq));
      for (const t of Object.keys(eq)) sum.set(t, { eq: (sum.get(t)?.eq ?? 0) + eq[t], cost: (sum.get(t)?.cost ?? 0) + cost[t] });
    }
    for (const t of tc.teams) {
      expect(sum.get(t.team)?.eq ?? 0).toBeCloseTo(t.inSharedPools.gpuEquivalents, 3);
      expect(sum.get(t.team)?.cost ?? 0).toBeCloseTo(t.inSharedPools.costPerHour, 3);
    }
    // the pool of resnet50, chargeback-clf and reranker: 0.3125/7 vision, 0.05/7 payments, 0.5/7 search
    const mixed = shared.find((d) => JSON.parse(d.metadata.annotations[TEAM_CONSUMPTION_ANNOTATION]).vision !== undefined)!;
    expect(mixed.metadata.annotations[TEAM_CONSUMPTION_ANNOTATION]).toBe('{"payments":0.0071,"search":0.0714,"vision":0.0446}');
    expect(mixed.metadata.annotations[TEAM_COST_ANNOTATION]).toBe('{"payments":0.0491,"search":0.4914,"vision":0.3071}');
  });

  test('the shared namespace and its quota carry the per-team totals', () => {
    const ns = of('Namespace', 'serving-shared')[0];
    const quota = of('ResourceQuota', 'serving-shared')[0];
    const expected = JSON.stringify(Object.fromEntries(tc.teams.map((t) => [t.team, t.inSharedPools.gpuEquivalents])));
    for (const o of [ns, quota]) {
      const got = JSON.parse(o.metadata.annotations[TEAM_CONSUMPTION_ANNOTATION]);
      for (const [t, v] of Object.entries(JSON.parse(expected))) expect(got[t]).toBeCloseTo(v as number, 3);
    }
  });

  test('a team with a GPU quota of 0 runs no GPU pod in its namespace, and its quota says what it holds in serving-shared', () => {
    for (const team of ['payments', 'search']) {
      const quota = of('ResourceQuota', team)[0];
      const gpuKeys = Object.keys(quota.spec.hard).filter((k) => k.startsWith('requests.nvidia.com/'));
      expect(gpuKeys.length).toBeGreaterThan(0);
      for (const k of gpuKeys) expect([k, quota.spec.hard[k]]).toEqual([k, 0]);
      expect(of('Deployment', team)).toEqual([]);
      const c = JSON.parse(quota.metadata.annotations[CONSUMPTION_ANNOTATION]);
      const t = tc.teams.find((x) => x.team === team)!;
      expect(c).toEqual({
        costPerHour: t.costPerHour,
        gpuEquivalents: t.gpuEquivalents,
        inSharedPools: { ...t.inSharedPools, namespace: 'serving-shared' },
      });
      expect(c.inSharedPools.gpuEquivalents).toBeGreaterThan(0);
      expect(of('Namespace', team)[0].metadata.annotations[CONSUMPTION_ANNOTATION]).toBe(
        quota.metadata.annotations[CONSUMPTION_ANNOTATION],
      );
    }
  });

  test("no namespace's GPU quota is below what its own Deployments may request (replicas x one slice)", () => {
    for (const ns of of('ResourceQuota').map((q) => q.metadata.namespace as string)) {
      const hard = of('ResourceQuota', ns)[0].spec.hard;
      const requested = new Map<string, number>();
      for (const d of of('Deployment', ns)) {
        for (const c of d.spec.template.spec.containers) {
          for (const [r, v] of Object.entries(c.resources?.limits ?? {})) {
            if (r.startsWith('nvidia.com/')) requested.set(r, (requested.get(r) ?? 0) + Number(v) * d.spec.replicas);
          }
        }
      }
      for (const [r, n] of requested) expect(Number(hard[`requests.${r}`])).toBeGreaterThanOrEqual(n);
    }
    // vision runs its own pool: its quota grants its slice
    expect(Number(of('ResourceQuota', 'vision')[0].spec.hard['requests.nvidia.com/mig-1g.10gb'])).toBeGreaterThanOrEqual(1);
  });

  test("the annotations are byte-identical with the fleet's models in reverse order", () => {
    const again = render({ ...fleet, models: [...fleet.models].reverse() }, plan);
    const pick = (os: any[]) =>
      os.map((o) => JSON.stringify([o.kind, o.metadata.namespace, o.metadata.name, o.metadata.annotations ?? {}, o.metadata.labels ?? {}]));
    expect(pick(again)).toEqual(pick(objects));
  });
});
