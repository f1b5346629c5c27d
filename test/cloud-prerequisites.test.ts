/**
 * Which custom-resource APIs a platform's objects need, what gpufleet installs where the cluster lacks them, and that
 * each pinned install really serves the kinds and versions gpufleet renders: checked against the upstream CRDs in
 * ../shared/crds (the same files every rendered object is validated against), whose release tags must be the
 * installs' (skipped, with the reason in the run's summary, when ../shared is absent).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { buildDefaultPlatform } from '../examples/default-platform';
import {
  clusterPrerequisites,
  planApiGroups,
  PREREQUISITE_API_GROUPS,
  PREREQUISITE_INSTALLS,
  prerequisitesAfter,
  type KubeObject,
} from '../constructs/cloud/prerequisite-installs';
import { describeIf } from './support/notes';

const SHARED_CRDS = path.resolve(__dirname, '..', '..', 'shared', 'crds');
const haveShared = fs.existsSync(path.join(SHARED_CRDS, 'SOURCES.md'));

const obj = (apiVersion: string, kind: string, name = 'x'): KubeObject => ({ apiVersion, kind, metadata: { name, namespace: 'ns' } });

describe("what the cluster has: the platform's prerequisites vocabulary, unset keys absent", () => {
  test('a fresh cluster has nothing; declared keys are kept', () => {
    expect(clusterPrerequisites()).toEqual({
      karpenterNodeOverlay: false,
      keda: false,
      gatewayApi: false,
      flux: false,
      metricsSources: [],
    });
    expect(clusterPrerequisites({ keda: true, prometheus: { namespace: 'observability' }, metricsSources: ['istio'] })).toEqual({
      karpenterNodeOverlay: false,
      prometheus: { namespace: 'observability' },
      keda: true,
      gatewayApi: false,
      flux: false,
      metricsSources: ['istio'],
    });
    // an explicit undefined is not a declaration (the platform's own default would make it present)
    expect(clusterPrerequisites({ prometheus: undefined }).prometheus).toBeUndefined();
    expect(() => clusterPrerequisites({ keda: 'yes' as unknown as boolean })).toThrow(
      'prerequisites.keda: expected true or false, got "yes"',
    );
  });

  test('the platform declares what the cluster has plus what an install makes whole; CRDs alone make nothing whole', () => {
    const has = clusterPrerequisites({ gatewayApi: true });
    expect(prerequisitesAfter(has, PREREQUISITE_INSTALLS)).toEqual({
      karpenterNodeOverlay: false,
      prometheus: false,
      prometheusAdapter: false,
      keda: true,
      gatewayApi: true,
      flux: false,
      metricsSources: [],
    });
    expect(
      prerequisitesAfter(
        clusterPrerequisites(),
        PREREQUISITE_INSTALLS.filter((i) => i.name !== 'keda'),
      ),
    ).toMatchObject({ prometheus: false, keda: false, gatewayApi: false });
  });
});

describe('planApiGroups', () => {
  const objects = [
    obj('v1', 'ConfigMap'),
    obj('apps/v1', 'Deployment'),
    obj('autoscaling/v2', 'HorizontalPodAutoscaler'),
    obj('monitoring.coreos.com/v1', 'ServiceMonitor'),
    obj('gateway.networking.k8s.io/v1', 'HTTPRoute'),
    obj('keda.sh/v1alpha1', 'ScaledObject'),
    obj('helm.toolkit.fluxcd.io/v2', 'HelmRelease'),
    obj('karpenter.sh/v1', 'NodePool'),
    obj('nvidia.com/v1', 'ClusterPolicy'),
    obj('serving.kserve.io/v1beta1', 'InferenceService'),
  ];

  test('a fresh cluster: the three installs, and the objects nothing would serve with the reason', () => {
    const plan = planApiGroups(objects, clusterPrerequisites());
    expect(plan.installs.map((i) => i.name)).toEqual(['prometheus-operator-crds', 'gateway-api', 'keda']);
    expect([...plan.missing].map(([o, reason]) => `${o.kind}: ${reason}`)).toEqual([
      'HelmRelease: needs Flux (API group helm.toolkit.fluxcd.io), which the cluster is not declared to have (prerequisites.flux) ' +
        'and gpufleet does not install',
      'NodePool: needs Karpenter (API group karpenter.sh), which the cluster is not declared to have ' +
        '(prerequisites.karpenterNodeOverlay) and gpufleet does not install',
      'ClusterPolicy: API group nvidia.com is not built into Kubernetes, and no CRD for it is among the objects, declared present ' +
        'or installed by gpufleet',
      'InferenceService: API group serving.kserve.io is not built into Kubernetes, and no CRD for it is among the objects, declared ' +
        'present or installed by gpufleet',
    ]);
  });

  test('what the cluster declares is neither installed nor missing; a group served otherwise is neither', () => {
    const plan = planApiGroups(
      objects,
      clusterPrerequisites({ keda: true, flux: true, karpenterNodeOverlay: true, prometheus: { namespace: 'monitoring' } }),
      undefined,
      new Set(['nvidia.com']),
    );
    expect(plan.installs.map((i) => i.name)).toEqual(['gateway-api']);
    expect([...plan.missing.keys()].map((o) => o.kind)).toEqual(['InferenceService']);
    // only what is among `available` is installed
    expect(planApiGroups(objects, clusterPrerequisites(), []).installs).toEqual([]);
    expect(planApiGroups(objects, clusterPrerequisites(), []).missing.size).toBe(7);
  });

  test('a kind whose CRD is among the objects needs nothing', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com' },
    };
    expect(planApiGroups([crd, obj('example.com/v1', 'Widget')], clusterPrerequisites()).missing.size).toBe(0);
    expect(planApiGroups([obj('example.com/v1', 'Widget')], clusterPrerequisites()).missing.size).toBe(1);
  });
});

/** API groups built into Kubernetes that the example renders (written out, not gpufleet's own list). */
const KUBERNETES_GROUPS = ['apps', 'batch', 'policy', 'autoscaling', 'rbac.authorization.k8s.io', 'networking.k8s.io'];

/** The custom-resource kinds (`group/version/Kind`) the default example platform renders: KEDA and HPA pools, monitors, routes, Flux. */
function renderedCustomKinds(): Set<string> {
  const { chart } = buildDefaultPlatform(new App());
  return new Set(
    chart
      .toJson()
      .map((o: KubeObject) => `${o.apiVersion}/${o.kind}`)
      .filter((k: string) => k.split('/').length === 3 && !KUBERNETES_GROUPS.includes(k.split('/')[0])),
  );
}

/** Served `group/version/Kind` of every CRD in a folder of ../shared/crds. */
function servedKinds(dir: string): Set<string> {
  const out = new Set<string>();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions ?? []) if (v.served) out.add(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`);
    }
  }
  return out;
}

describeIf(haveShared, `${SHARED_CRDS} is absent, so the installs' CRDs cannot be read`)(
  'each pinned install serves the kinds gpufleet renders',
  () => {
    /** Install → the ../shared/crds folder holding its upstream CRDs (none for the Gateway API). */
    const FOLDER: Record<string, string | undefined> = {
      'prometheus-operator-crds': 'prometheus-operator',
      keda: 'keda',
      'gateway-api': undefined,
    };

    test('the installs bring the upstream releases the reference CRDs come from', () => {
      const sources = fs.readFileSync(path.join(SHARED_CRDS, 'SOURCES.md'), 'utf8');
      for (const i of PREREQUISITE_INSTALLS) {
        if (FOLDER[i.name] === undefined) continue;
        const section = sources.split(/\n## /).find((s) => s.includes(`- Repo: https://github.com/${i.upstream.repository}\n`));
        expect(section).toBeDefined();
        expect(section).toContain(`- Tag: **${i.upstream.tag}**`);
      }
    });

    test("every custom-resource kind the platform renders in an install's API group is served by that install's CRDs", () => {
      const rendered = renderedCustomKinds();
      const checked: string[] = [];
      for (const i of PREREQUISITE_INSTALLS) {
        const folder = FOLDER[i.name];
        const kinds = [...rendered].filter((k) => i.groups.includes(k.split('/')[0]));
        if (folder === undefined) {
          // Gateway API v1.6.1 standard channel serves HTTPRoute at v1 (kubernetes-sigs/gateway-api v1.6.1
          // config/crd/standard/gateway.networking.k8s.io_httproutes.yaml: `name: v1`, `served: true`); no copy in ../shared.
          expect(kinds).toEqual(['gateway.networking.k8s.io/v1/HTTPRoute']);
          continue;
        }
        const served = servedKinds(path.join(SHARED_CRDS, folder));
        for (const k of kinds) {
          expect(served).toContain(k);
          checked.push(k);
        }
      }
      // the example renders both KEDA and Prometheus operator kinds, so neither check is empty
      expect(checked.sort()).toEqual(expect.arrayContaining(['keda.sh/v1alpha1/ScaledObject', 'monitoring.coreos.com/v1/ServiceMonitor']));
      // and every custom-resource group it renders is known to the prerequisites vocabulary (or the GPU operator's)
      expect([...rendered].filter((k) => !(k.split('/')[0] in PREREQUISITE_API_GROUPS) && !k.startsWith('nvidia.com/'))).toEqual([]);
    });
  },
);
