import { Chart, Testing } from 'cdk8s';
import * as fc from 'fast-check';
import * as YAML from 'yaml';
import { ModelRepository } from '../constructs/k8s/serving/model-repository';
import {
  HTTPROUTE_MAX_MATCHES_PER_ROUTE,
  HTTPROUTE_MAX_MATCHES_PER_RULE,
  HTTPROUTE_MAX_RULES,
  ModelRouteTable,
} from '../constructs/k8s/serving/model-routes';
import { TritonPool } from '../constructs/k8s/serving/triton-pool';

/** Pools as [replicas, model indexes]; model i is named m<i>. */
const poolsArb = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.uniqueArray(fc.integer({ min: 0, max: 149 }), { minLength: 1, maxLength: 60 })),
  { minLength: 1, maxLength: 8 },
);

function render(pools: [number, number[]][], order: number[]): any[] {
  const chart = new Chart(Testing.app(), 'test');
  const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
  const built = order.map((p) => {
    const [replicas, models] = pools[p];
    return new TritonPool(chart, `Pool${p}`, {
      name: `pool-${p}`,
      namespace: 'serving',
      repository,
      replicas,
      models: models.map((m) => `m${m}`),
      gpuType: 'H100-80GB',
      profile: '1g.10gb',
    });
  });
  new ModelRouteTable(chart, 'Routes', { pools: built, gateway: { name: 'inference' } });
  return Testing.synth(chart).filter((o) => o.kind === 'HTTPRoute');
}

describe('ModelRouteTable properties', () => {
  test('every model is routed exactly once, to exactly its pools, within the HTTPRoute limits, in any input order', () => {
    fc.assert(
      fc.property(poolsArb, (pools) => {
        const forward = pools.map((_, i) => i);
        const routes = render(pools, forward);
        // expected: model -> sorted pool names
        const expected = new Map<string, string[]>();
        pools.forEach(([, models], p) =>
          models.forEach((m) => expected.set(`m${m}`, [...(expected.get(`m${m}`) ?? []), `pool-${p}`].sort())),
        );
        const seen = new Map<string, string[]>();
        for (const r of routes) {
          expect(r.spec.rules.length).toBeLessThanOrEqual(HTTPROUTE_MAX_RULES);
          expect(r.spec.rules.reduce((s: number, x: any) => s + x.matches.length, 0)).toBeLessThanOrEqual(HTTPROUTE_MAX_MATCHES_PER_ROUTE);
          for (const rule of r.spec.rules) {
            expect(rule.matches.length).toBeLessThanOrEqual(HTTPROUTE_MAX_MATCHES_PER_RULE);
            for (const m of rule.matches) {
              const model = m.path.value.replace('/v2/models/', '');
              expect(seen.has(model)).toBe(false);
              seen.set(
                model,
                rule.backendRefs.map((b: any) => b.name),
              );
              if (rule.backendRefs.length > 1) {
                // replica-proportional weights (at least 1)
                for (const b of rule.backendRefs) expect(b.weight).toBe(Math.max(pools[Number(b.name.split('-')[1])][0], 1));
              }
            }
          }
        }
        expect(new Map([...seen.entries()].sort())).toEqual(new Map([...expected.entries()].sort()));
        // determinism: reversed pool order renders the same YAML
        expect(YAML.stringify(render(pools, [...forward].reverse()))).toBe(YAML.stringify(routes));
      }),
      { numRuns: 25, seed: 20261129 },
    );
  });
});
